package domain

import (
	"context"
	"errors"
	"regexp"
	"testing"

	"koyomi.dev/koyomi/internal/auth"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

func TestAppPasswords(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := New(st, Options{PasswordParams: auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 16}})
	for _, u := range []string{"alice", "bob"} {
		if err := s.CreateUser(ctx, u, "password1", ""); err != nil {
			t.Fatal(err)
		}
	}

	secret, p, err := s.CreateAppPassword(ctx, "alice", " phone ")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^([a-z2-7]{4}-){9}[a-z2-7]{4}$`).MatchString(secret) {
		t.Errorf("secret %q: want ten dash-separated groups of four base32 letters", secret)
	}
	if p.Label != "phone" || p.Hash != auth.AppPasswordHash(secret) || p.ID == 0 {
		t.Errorf("stored %+v", p)
	}
	other, _, err := s.CreateAppPassword(ctx, "alice", "laptop")
	if err != nil || other == secret {
		t.Fatalf("second secret %q, err %v: want a different one", other, err)
	}
	if _, _, err := s.CreateAppPassword(ctx, "alice", "  "); !errors.Is(err, ErrInvalidName) {
		t.Errorf("empty label: err %v, want ErrInvalidName", err)
	}
	if _, _, err := s.CreateAppPassword(ctx, "carol", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown user: err %v, want ErrNotFound", err)
	}

	// Another user may neither see, create nor revoke alice's.
	asBob := WithPrincipal(ctx, "bob")
	if _, err := s.AppPasswords(asBob, "alice"); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob lists alice's: err %v", err)
	}
	if _, _, err := s.CreateAppPassword(asBob, "alice", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob creates alice's: err %v", err)
	}
	if err := s.RevokeAppPassword(asBob, "alice", p.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob revokes alice's: err %v", err)
	}
	if err := s.RevokeAppPassword(asBob, "bob", p.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob revokes alice's id as his own: err %v", err)
	}

	list, err := s.AppPasswords(WithPrincipal(ctx, "alice"), "alice")
	if err != nil || len(list) != 2 || list[0].ID != p.ID {
		t.Fatalf("AppPasswords = %v, %v", list, err)
	}
	if err := s.RevokeAppPassword(WithPrincipal(ctx, "alice"), "alice", p.ID); err != nil {
		t.Fatal(err)
	}
	hashes, err := s.LookupAppPasswords(ctx, "alice")
	if err != nil || len(hashes) != 2 || hashes[0].Hash != p.Hash || !hashes[0].Revoked || hashes[1].Revoked {
		t.Errorf("after revoke: %v, %v; want the revoked one flagged", hashes, err)
	}
	if active, err := s.AppPasswords(WithPrincipal(ctx, "alice"), "alice"); err != nil || len(active) != 1 || active[0].ID == p.ID {
		t.Errorf("AppPasswords after revoke = %v, %v; want only the one in use", active, err)
	}
	if err := s.RevokeAppPassword(WithPrincipal(ctx, "alice"), "alice", p.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoking twice: err %v, want ErrNotFound", err)
	}
	if err := s.AppPasswordUsed(ctx, p.ID, s.Now()); err != nil {
		t.Errorf("recording use of a revoked password: %v", err)
	}
	if none, err := s.AppPasswordHashes(ctx, "carol"); err != nil || len(none) != 0 {
		t.Errorf("unknown user: %v, %v", none, err)
	}
	if _, err := s.AppPasswords(ctx, "carol"); !errors.Is(err, ErrNotFound) {
		t.Errorf("listing an unknown user's: err %v, want ErrNotFound", err)
	}
}
