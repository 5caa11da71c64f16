package storetest

import (
	"context"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// testAppPasswords covers creation, listing order, touching and deletion,
// and the errors for unknown users and ids.
func testAppPasswords(t *testing.T, s store.Store) {
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.CreateUser(ctx, &store.User{Name: "alice"}); err != nil {
			return err
		}
		return tx.CreateUser(ctx, &store.User{Name: "bob"})
	})

	phone := &store.AppPassword{User: "alice", Label: "phone", Hash: "aa"}
	laptop := &store.AppPassword{User: "alice", Label: "laptop", Hash: "bb"}
	tablet := &store.AppPassword{User: "bob", Label: "tablet", Hash: "cc"}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, p := range []*store.AppPassword{phone, laptop, tablet} {
			if err := tx.CreateAppPassword(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
	if phone.ID == 0 || laptop.ID <= phone.ID || tablet.ID == laptop.ID {
		t.Errorf("ids phone=%d laptop=%d tablet=%d: want assigned, increasing, distinct", phone.ID, laptop.ID, tablet.ID)
	}
	if phone.Created.IsZero() || !phone.LastUsed.IsZero() {
		t.Errorf("created %v, last used %v: want Created set and LastUsed zero", phone.Created, phone.LastUsed)
	}

	view(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.AppPasswords(ctx, "alice")
		if err != nil {
			return err
		}
		if len(got) != 2 {
			t.Fatalf("AppPasswords(alice) = %d entries, want 2", len(got))
		}
		for i, want := range []*store.AppPassword{phone, laptop} {
			g := got[i]
			if g.ID != want.ID || g.User != "alice" || g.Label != want.Label || g.Hash != want.Hash ||
				!g.Created.Equal(want.Created) || !g.LastUsed.IsZero() {
				t.Errorf("AppPasswords(alice)[%d] = %+v, want %+v", i, g, want)
			}
		}
		none, err := tx.AppPasswords(ctx, "nobody")
		if err != nil {
			return err
		}
		if len(none) != 0 {
			t.Errorf("AppPasswords(nobody) = %v, want none", none)
		}
		return nil
	})

	used := time.Date(2026, 3, 4, 5, 6, 7, 891234567, time.FixedZone("X", 3600))
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.TouchAppPassword(ctx, laptop.ID, used); err != nil {
			return err
		}
		return tx.DeleteAppPassword(ctx, "alice", phone.ID)
	})
	// Each failing call in its own Update: a failed statement may end the
	// transaction.
	failures := []struct {
		name string
		fn   func(ctx context.Context, tx store.Tx) error
	}{
		{"TouchAppPassword(unknown id)", func(ctx context.Context, tx store.Tx) error {
			return tx.TouchAppPassword(ctx, tablet.ID+1000, used)
		}},
		{"CreateAppPassword(unknown user)", func(ctx context.Context, tx store.Tx) error {
			return tx.CreateAppPassword(ctx, &store.AppPassword{User: "nobody", Label: "x", Hash: "dd"})
		}},
		// Another user's id is not found: a user revokes only their own.
		{"DeleteAppPassword(bob's id as alice)", func(ctx context.Context, tx store.Tx) error {
			return tx.DeleteAppPassword(ctx, "alice", tablet.ID)
		}},
		{"DeleteAppPassword(deleted)", func(ctx context.Context, tx store.Tx) error {
			return tx.DeleteAppPassword(ctx, "alice", phone.ID)
		}},
	}
	for _, f := range failures {
		ctx := t.Context()
		wantErr(t, f.name, s.Update(ctx, func(tx store.Tx) error { return f.fn(ctx, tx) }), store.ErrNotFound)
	}

	view(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.AppPasswords(ctx, "alice")
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].ID != laptop.ID {
			t.Fatalf("AppPasswords(alice) after delete = %v, want only %d", got, laptop.ID)
		}
		want := used.UTC().Truncate(time.Microsecond)
		if !got[0].LastUsed.Equal(want) || got[0].LastUsed.Location() != time.UTC {
			t.Errorf("LastUsed = %v, want %v in UTC", got[0].LastUsed, want)
		}
		bobs, err := tx.AppPasswords(ctx, "bob")
		if err != nil {
			return err
		}
		if len(bobs) != 1 || bobs[0].ID != tablet.ID {
			t.Errorf("AppPasswords(bob) = %v, want only %d", bobs, tablet.ID)
		}
		return nil
	})
}

// testAppPasswordCascade checks that DeleteUser takes the user's app
// passwords with it and leaves other users' alone.
func testAppPasswordCascade(t *testing.T, s store.Store) {
	var bobs *store.AppPassword
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, u := range []string{"alice", "bob"} {
			if err := tx.CreateUser(ctx, &store.User{Name: u}); err != nil {
				return err
			}
			p := &store.AppPassword{User: u, Label: "phone", Hash: u}
			if err := tx.CreateAppPassword(ctx, p); err != nil {
				return err
			}
			bobs = p
		}
		return tx.DeleteUser(ctx, "alice")
	})
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		// A new alice starts without the old one's passwords.
		if err := tx.CreateUser(ctx, &store.User{Name: "alice"}); err != nil {
			return err
		}
		got, err := tx.AppPasswords(ctx, "alice")
		if err != nil {
			return err
		}
		if len(got) != 0 {
			t.Errorf("AppPasswords(alice) after DeleteUser = %v, want none", got)
		}
		got, err = tx.AppPasswords(ctx, "bob")
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].ID != bobs.ID {
			t.Errorf("AppPasswords(bob) = %v, want only %d", got, bobs.ID)
		}
		return nil
	})
}

// testAppPasswordWritesInViewFail checks that the writing methods refuse a
// read-only transaction and change nothing.
func testAppPasswordWritesInViewFail(t *testing.T, s store.Store) {
	p := &store.AppPassword{User: "alice", Label: "phone", Hash: "aa"}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.CreateUser(ctx, &store.User{Name: "alice"}); err != nil {
			return err
		}
		return tx.CreateAppPassword(ctx, p)
	})
	writes := []struct {
		name string
		fn   func(ctx context.Context, tx store.Tx) error
	}{
		{"CreateAppPassword", func(ctx context.Context, tx store.Tx) error {
			return tx.CreateAppPassword(ctx, &store.AppPassword{User: "alice", Label: "x", Hash: "bb"})
		}},
		{"DeleteAppPassword", func(ctx context.Context, tx store.Tx) error {
			return tx.DeleteAppPassword(ctx, "alice", p.ID)
		}},
		{"TouchAppPassword", func(ctx context.Context, tx store.Tx) error {
			return tx.TouchAppPassword(ctx, p.ID, at(3, 1, 9, 0))
		}},
	}
	for _, w := range writes {
		ctx := t.Context()
		if err := s.View(ctx, func(tx store.Tx) error { return w.fn(ctx, tx) }); err == nil {
			t.Errorf("%s in View: no error", w.name)
		}
	}
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.AppPasswords(ctx, "alice")
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].ID != p.ID || !got[0].LastUsed.IsZero() {
			t.Errorf("AppPasswords(alice) after writes in View = %+v, want the one untouched", got)
		}
		return nil
	})
}

// testAppPasswordRevoke checks that a revoked app password stays listed with
// its revocation time, cannot be revoked twice, and that a user revokes
// only their own.
func testAppPasswordRevoke(t *testing.T, s store.Store) {
	phone := &store.AppPassword{User: "alice", Label: "phone", Hash: "aa"}
	tablet := &store.AppPassword{User: "bob", Label: "tablet", Hash: "bb"}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, u := range []string{"alice", "bob"} {
			if err := tx.CreateUser(ctx, &store.User{Name: u}); err != nil {
				return err
			}
		}
		if err := tx.CreateAppPassword(ctx, phone); err != nil {
			return err
		}
		return tx.CreateAppPassword(ctx, tablet)
	})
	if !phone.Revoked.IsZero() {
		t.Errorf("new app password Revoked = %v, want zero", phone.Revoked)
	}
	when := time.Date(2026, 3, 4, 5, 6, 7, 891234567, time.UTC)
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.RevokeAppPassword(ctx, "alice", phone.ID, when)
	})
	for _, f := range []struct {
		name string
		fn   func(ctx context.Context, tx store.Tx) error
	}{
		{"RevokeAppPassword(revoked)", func(ctx context.Context, tx store.Tx) error {
			return tx.RevokeAppPassword(ctx, "alice", phone.ID, when)
		}},
		{"RevokeAppPassword(bob's id as alice)", func(ctx context.Context, tx store.Tx) error {
			return tx.RevokeAppPassword(ctx, "alice", tablet.ID, when)
		}},
	} {
		ctx := t.Context()
		wantErr(t, f.name, s.Update(ctx, func(tx store.Tx) error { return f.fn(ctx, tx) }), store.ErrNotFound)
	}
	if err := s.View(t.Context(), func(tx store.Tx) error {
		return tx.RevokeAppPassword(t.Context(), "bob", tablet.ID, when)
	}); err == nil {
		t.Error("RevokeAppPassword in View: no error")
	}
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.AppPasswords(ctx, "alice")
		if err != nil {
			return err
		}
		if len(got) != 1 || !got[0].Revoked.Equal(when.Truncate(time.Microsecond)) {
			t.Errorf("AppPasswords(alice) after revoke = %+v, want the one, revoked at %v", got, when)
		}
		bobs, err := tx.AppPasswords(ctx, "bob")
		if err != nil {
			return err
		}
		if len(bobs) != 1 || !bobs[0].Revoked.IsZero() {
			t.Errorf("AppPasswords(bob) = %+v, want the tablet not revoked", bobs)
		}
		return nil
	})
}
