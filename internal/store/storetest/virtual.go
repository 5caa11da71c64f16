package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// Virtual calendars, groups and memberships.
//
// Conventions both stores follow where store.go is silent: opaque bytes
// (Definition, Contributions) read back non-nil, nil stored as empty, like
// Object.Data; an empty SharedWith reads back nil, like
// Collection.Components. CreateVirtualCalendar requires its owner (a user,
// or "group:NAME" for a group) to exist, as CreateCollection does, so that
// no calendar outlives the cascade meant to delete it. Membership times are
// stored as given (zero stays zero), truncated to microseconds and written
// back to the caller.

// users creates users with the given names.
func users(t *testing.T, s store.Store, names ...string) {
	t.Helper()
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, n := range names {
			if err := tx.CreateUser(ctx, &store.User{Name: n}); err != nil {
				return err
			}
		}
		return nil
	})
}

// groups creates groups with the given names.
func groups(t *testing.T, s store.Store, names ...string) {
	t.Helper()
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, n := range names {
			if err := tx.CreateGroup(ctx, &store.Group{Name: n}); err != nil {
				return err
			}
		}
		return nil
	})
}

// createVirtual creates vc in its own Update.
func createVirtual(t *testing.T, s store.Store, vc *store.VirtualCalendar) {
	t.Helper()
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.CreateVirtualCalendar(ctx, vc) })
}

func putMembership(t *testing.T, s store.Store, m *store.Membership) {
	t.Helper()
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.PutMembership(ctx, m) })
}

// sameVirtualCalendar compares field by field: Definition as bytes,
// SharedWith exactly (nil and empty are told apart), times by instant and
// location.
func sameVirtualCalendar(t *testing.T, what string, got, want *store.VirtualCalendar) {
	t.Helper()
	if got.ID != want.ID || got.Owner != want.Owner || got.Name != want.Name ||
		got.DisplayName != want.DisplayName || got.Color != want.Color ||
		!bytes.Equal(got.Definition, want.Definition) || (got.Definition == nil) != (want.Definition == nil) ||
		!slices.Equal(got.SharedWith, want.SharedWith) || (got.SharedWith == nil) != (want.SharedWith == nil) ||
		got.Version != want.Version || !sameTime(got.Created, want.Created) || !sameTime(got.Modified, want.Modified) {
		t.Errorf("%s:\n got %s\nwant %s", what, describeVirtual(got), describeVirtual(want))
	}
}

func describeVirtual(vc *store.VirtualCalendar) string {
	return fmt.Sprintf("{ID:%d Owner:%q Name:%q DisplayName:%q Color:%q Definition:%q (nil %v) SharedWith:%q (nil %v) Version:%d Created:%v Modified:%v}",
		vc.ID, vc.Owner, vc.Name, vc.DisplayName, vc.Color, vc.Definition, vc.Definition == nil,
		vc.SharedWith, vc.SharedWith == nil, vc.Version, vc.Created, vc.Modified)
}

// sameTime is Equal, plus: both zero or neither, and non-zero ones in UTC.
func sameTime(got, want time.Time) bool {
	if got.IsZero() || want.IsZero() {
		return got.IsZero() && want.IsZero()
	}
	return got.Equal(want) && got.Location() == time.UTC
}

func getVirtual(t *testing.T, s store.Store, id int64) *store.VirtualCalendar {
	t.Helper()
	var vc *store.VirtualCalendar
	view(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		vc, err = tx.GetVirtualCalendarByID(ctx, id)
		return err
	})
	return vc
}

func testVirtualCalendars(t *testing.T, s store.Store) {
	ctx := t.Context()
	users(t, s, "alice", "bob", "Zoe")
	groups(t, s, "team")

	// Definition is opaque bytes, not necessarily text.
	def := []byte("{\"sources\":[1,2]}\x00\xff")
	work := &store.VirtualCalendar{Owner: "alice", Name: "work", DisplayName: "Work", Color: "#FF0000FF",
		Definition: def, SharedWith: []string{"user:bob", "group:team", "user:bob"}}
	createVirtual(t, s, work)
	if work.ID == 0 || work.Version != 1 || work.Created.IsZero() || !work.Modified.Equal(work.Created) ||
		work.Created.Location() != time.UTC || work.Created.Nanosecond()%1000 != 0 {
		t.Errorf("CreateVirtualCalendar left ID=%d Version=%d Created=%v Modified=%v; want an ID, version 1, equal UTC microsecond times",
			work.ID, work.Version, work.Created, work.Modified)
	}
	// Nil Definition and SharedWith; the same name for another owner; a
	// group's calendar; names whose byte order differs from a
	// case-insensitive one.
	bare := &store.VirtualCalendar{Owner: "alice", Name: "Home"}
	bobs := &store.VirtualCalendar{Owner: "bob", Name: "work", SharedWith: []string{}, Definition: []byte{}}
	team := &store.VirtualCalendar{Owner: "group:team", Name: "all", Definition: []byte(`{}`), SharedWith: []string{"group:team"}}
	zoes := &store.VirtualCalendar{Owner: "Zoe", Name: "z"}
	for _, vc := range []*store.VirtualCalendar{bare, bobs, team, zoes} {
		createVirtual(t, s, vc)
	}
	ids := map[int64]bool{}
	for _, vc := range []*store.VirtualCalendar{work, bare, bobs, team, zoes} {
		if ids[vc.ID] {
			t.Errorf("ID %d assigned twice", vc.ID)
		}
		ids[vc.ID] = true
	}

	// What a read returns: the stored conventions applied.
	wantRead := func(vc *store.VirtualCalendar) *store.VirtualCalendar {
		w := *vc
		if w.Definition == nil {
			w.Definition = []byte{}
		}
		if len(w.SharedWith) == 0 {
			w.SharedWith = nil
		}
		return &w
	}
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, want := range []*store.VirtualCalendar{work, bare, bobs, team, zoes} {
			got, err := tx.GetVirtualCalendar(ctx, want.Owner, want.Name)
			if err != nil {
				return err
			}
			sameVirtualCalendar(t, "GetVirtualCalendar("+want.Owner+"/"+want.Name+")", got, wantRead(want))
			got, err = tx.GetVirtualCalendarByID(ctx, want.ID)
			if err != nil {
				return err
			}
			sameVirtualCalendar(t, fmt.Sprintf("GetVirtualCalendarByID(%d)", want.ID), got, wantRead(want))
		}
		_, err := tx.GetVirtualCalendar(ctx, "alice", "missing")
		wantErr(t, "GetVirtualCalendar(missing)", err, store.ErrNotFound)
		_, err = tx.GetVirtualCalendar(ctx, "carol", "work")
		wantErr(t, "GetVirtualCalendar(other owner)", err, store.ErrNotFound)
		_, err = tx.GetVirtualCalendarByID(ctx, work.ID+1000)
		wantErr(t, "GetVirtualCalendarByID(missing)", err, store.ErrNotFound)

		all, err := tx.ListVirtualCalendars(ctx)
		if err != nil {
			return err
		}
		var keys []string
		for _, vc := range all {
			keys = append(keys, vc.Owner+"/"+vc.Name)
		}
		// Byte order: upper case before lower case.
		want := []string{"Zoe/z", "alice/Home", "alice/work", "bob/work", "group:team/all"}
		if !slices.Equal(keys, want) {
			t.Errorf("ListVirtualCalendars = %v, want %v", keys, want)
		}
		if len(all) == len(want) {
			sameVirtualCalendar(t, "ListVirtualCalendars[alice/work]", all[2], wantRead(work))
		}
		return nil
	})

	creates := []struct {
		what   string
		vc     *store.VirtualCalendar
		target error
	}{
		{"same owner and name", &store.VirtualCalendar{Owner: "alice", Name: "work"}, store.ErrExists},
		{"same group owner and name", &store.VirtualCalendar{Owner: "group:team", Name: "all"}, store.ErrExists},
		{"unknown user", &store.VirtualCalendar{Owner: "carol", Name: "x"}, store.ErrNotFound},
		{"unknown group", &store.VirtualCalendar{Owner: "group:band", Name: "x"}, store.ErrNotFound},
		{"user name as group", &store.VirtualCalendar{Owner: "group:alice", Name: "x"}, store.ErrNotFound},
		{"group name as user", &store.VirtualCalendar{Owner: "team", Name: "x"}, store.ErrNotFound},
	}
	for _, c := range creates {
		err := s.Update(ctx, func(tx store.Tx) error { return tx.CreateVirtualCalendar(ctx, c.vc) })
		wantErr(t, "CreateVirtualCalendar("+c.what+")", err, c.target)
	}

	// Update: the descriptive fields change, owner and name do not, the
	// version goes up by one and comes back in vc, Modified moves on.
	time.Sleep(2 * time.Millisecond)
	changed := &store.VirtualCalendar{ID: work.ID, Owner: "bob", Name: "renamed", DisplayName: "Work 2",
		Color: "#00FF00FF", Definition: []byte(`{"v":2}`), SharedWith: []string{"user:Zoe"},
		Version: 40, Created: at(1, 1, 0, 0)}
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpdateVirtualCalendar(ctx, changed) })
	if changed.Version != 2 {
		t.Errorf("UpdateVirtualCalendar wrote back Version %d, want 2 (the stored version plus one)", changed.Version)
	}
	if !changed.Modified.After(work.Modified) {
		t.Errorf("UpdateVirtualCalendar wrote back Modified %v, want later than %v", changed.Modified, work.Modified)
	}
	want := &store.VirtualCalendar{ID: work.ID, Owner: "alice", Name: "work", DisplayName: "Work 2",
		Color: "#00FF00FF", Definition: []byte(`{"v":2}`), SharedWith: []string{"user:Zoe"},
		Version: 2, Created: work.Created, Modified: changed.Modified}
	sameVirtualCalendar(t, "after UpdateVirtualCalendar", getVirtual(t, s, work.ID), want)

	// Emptied: empty Definition reads back empty, empty SharedWith nil.
	emptied := &store.VirtualCalendar{ID: work.ID, SharedWith: []string{}}
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpdateVirtualCalendar(ctx, emptied) })
	want = &store.VirtualCalendar{ID: work.ID, Owner: "alice", Name: "work", Definition: []byte{},
		Version: 3, Created: work.Created, Modified: emptied.Modified}
	sameVirtualCalendar(t, "after emptying UpdateVirtualCalendar", getVirtual(t, s, work.ID), want)
	if emptied.Version != 3 {
		t.Errorf("second update wrote back Version %d, want 3", emptied.Version)
	}
	// Other calendars are untouched.
	sameVirtualCalendar(t, "bob/work after updating alice/work", getVirtual(t, s, bobs.ID), wantRead(bobs))

	// A failed Update takes its version bump back with it.
	errBoom := errors.New("boom")
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.UpdateVirtualCalendar(ctx, &store.VirtualCalendar{ID: work.ID, DisplayName: "lost"}); err != nil {
			return err
		}
		return errBoom
	})
	wantErr(t, "failing Update", err, errBoom)
	if got := getVirtual(t, s, work.ID); got.Version != 3 || got.DisplayName != "" {
		t.Errorf("after a rolled-back update: Version %d, DisplayName %q; want 3, \"\"", got.Version, got.DisplayName)
	}

	err = s.Update(ctx, func(tx store.Tx) error {
		return tx.UpdateVirtualCalendar(ctx, &store.VirtualCalendar{ID: work.ID + 1000})
	})
	wantErr(t, "UpdateVirtualCalendar(missing)", err, store.ErrNotFound)

	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteVirtualCalendar(ctx, work.ID) })
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.GetVirtualCalendarByID(ctx, work.ID)
		wantErr(t, "GetVirtualCalendarByID(deleted)", err, store.ErrNotFound)
		_, err = tx.GetVirtualCalendar(ctx, "alice", "work")
		wantErr(t, "GetVirtualCalendar(deleted)", err, store.ErrNotFound)
		all, err := tx.ListVirtualCalendars(ctx)
		if len(all) != 4 {
			t.Errorf("%d virtual calendars after deleting one of 5", len(all))
		}
		return err
	})
	err = s.Update(ctx, func(tx store.Tx) error { return tx.DeleteVirtualCalendar(ctx, work.ID) })
	wantErr(t, "DeleteVirtualCalendar(deleted)", err, store.ErrNotFound)

	// The name is free again, and a new calendar gets a new ID and starts
	// over at version 1.
	again := &store.VirtualCalendar{Owner: "alice", Name: "work"}
	createVirtual(t, s, again)
	if again.ID == work.ID || again.Version != 1 {
		t.Errorf("recreated alice/work: ID %d (old %d), Version %d; want a new ID and version 1", again.ID, work.ID, again.Version)
	}
}

func testGroups(t *testing.T, s store.Store) {
	ctx := t.Context()
	given := time.Date(2025, 3, 4, 5, 6, 7, 891234567, time.UTC)
	band := &store.Group{Name: "band", DisplayName: "The Band", KeepPast: true, Created: given}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, g := range []*store.Group{band, {Name: "Zeta"}, {Name: "alpha"}} {
			if err := tx.CreateGroup(ctx, g); err != nil {
				return err
			}
		}
		return nil
	})
	if want := given.Truncate(time.Microsecond); !band.Created.Equal(want) {
		t.Errorf("CreateGroup wrote back Created %v, want %v (truncated to microseconds)", band.Created, want)
	}

	view(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.GetGroup(ctx, "band")
		if err != nil {
			return err
		}
		if *got != *band {
			t.Errorf("GetGroup = %+v, want %+v", got, band)
		}
		alpha, err := tx.GetGroup(ctx, "alpha")
		if err != nil {
			return err
		}
		if alpha.Created.IsZero() || alpha.Created.Location() != time.UTC || alpha.KeepPast || alpha.DisplayName != "" {
			t.Errorf("alpha = %+v, want a UTC creation time set by the store and nothing else", alpha)
		}
		_, err = tx.GetGroup(ctx, "missing")
		wantErr(t, "GetGroup(missing)", err, store.ErrNotFound)

		all, err := tx.ListGroups(ctx)
		if err != nil {
			return err
		}
		var names []string
		for _, g := range all {
			names = append(names, g.Name)
		}
		if want := []string{"Zeta", "alpha", "band"}; !slices.Equal(names, want) {
			t.Errorf("ListGroups = %v, want %v (byte order)", names, want)
		}
		return nil
	})

	err := s.Update(ctx, func(tx store.Tx) error { return tx.CreateGroup(ctx, &store.Group{Name: "band"}) })
	wantErr(t, "CreateGroup(duplicate)", err, store.ErrExists)

	update(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.UpdateGroup(ctx, &store.Group{Name: "band", DisplayName: "Band II", KeepPast: false, Created: at(1, 1, 0, 0)})
	})
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.GetGroup(ctx, "band")
		if err != nil {
			return err
		}
		want := store.Group{Name: "band", DisplayName: "Band II", KeepPast: false, Created: band.Created}
		if *got != want {
			t.Errorf("after UpdateGroup: %+v, want %+v (Created must not change)", got, want)
		}
		return nil
	})
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.UpdateGroup(ctx, &store.Group{Name: "alpha", KeepPast: true})
	})
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.GetGroup(ctx, "alpha")
		if err == nil && !got.KeepPast {
			t.Error("UpdateGroup did not set KeepPast")
		}
		return err
	})
	err = s.Update(ctx, func(tx store.Tx) error { return tx.UpdateGroup(ctx, &store.Group{Name: "missing"}) })
	wantErr(t, "UpdateGroup(missing)", err, store.ErrNotFound)

	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteGroup(ctx, "band") })
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.GetGroup(ctx, "band")
		wantErr(t, "GetGroup(deleted)", err, store.ErrNotFound)
		all, err := tx.ListGroups(ctx)
		if len(all) != 2 {
			t.Errorf("%d groups after deleting one of 3", len(all))
		}
		return err
	})
	err = s.Update(ctx, func(tx store.Tx) error { return tx.DeleteGroup(ctx, "band") })
	wantErr(t, "DeleteGroup(deleted)", err, store.ErrNotFound)
	// The name can be used again.
	groups(t, s, "band")
}

// sameMemberships compares lists in order, field by field.
func sameMemberships(t *testing.T, what string, got []*store.Membership, want []store.Membership) {
	t.Helper()
	describe := func(ms []store.Membership) string {
		var b bytes.Buffer
		for _, m := range ms {
			fmt.Fprintf(&b, "\n  {%s %s Joined:%v Left:%v Contributions:%q (nil %v) Admin:%v}",
				m.Group, m.User, m.Joined, m.Left, m.Contributions, m.Contributions == nil, m.Admin)
		}
		return b.String()
	}
	flat := make([]store.Membership, 0, len(got))
	for _, m := range got {
		flat = append(flat, *m)
	}
	equal := len(flat) == len(want)
	for i := 0; equal && i < len(flat); i++ {
		g, w := flat[i], want[i]
		equal = g.Group == w.Group && g.User == w.User && sameTime(g.Joined, w.Joined) && sameTime(g.Left, w.Left) &&
			bytes.Equal(g.Contributions, w.Contributions) && g.Contributions != nil && g.Admin == w.Admin
	}
	if !equal {
		t.Errorf("%s: got%s\nwant (Contributions never nil)%s", what, describe(flat), describe(want))
	}
}

func listMemberships(t *testing.T, s store.Store, group, user string) []*store.Membership {
	t.Helper()
	var ms []*store.Membership
	view(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		if group != "" {
			ms, err = tx.Memberships(ctx, group)
		} else {
			ms, err = tx.UserMemberships(ctx, user)
		}
		return err
	})
	return ms
}

func testMemberships(t *testing.T, s store.Store) {
	ctx := t.Context()
	users(t, s, "alice", "bob", "Carol")
	groups(t, s, "team", "band", "Choir")

	t1, t2 := at(1, 10, 9, 0), at(2, 20, 17, 30)
	// Nanoseconds: the store keeps microseconds and writes them back.
	fine := t2.Add(123456789 * time.Nanosecond)
	bob := &store.Membership{Group: "team", User: "bob", Joined: t1, Contributions: []byte(`{"calendars":[7]}`), Admin: true}
	alice := &store.Membership{Group: "team", User: "alice", Joined: t1, Left: fine}
	for _, m := range []*store.Membership{
		bob, alice,
		{Group: "team", User: "Carol", Joined: t2, Contributions: []byte{}},
		{Group: "band", User: "alice", Contributions: []byte{0, 0xff}},
		{Group: "Choir", User: "alice", Joined: t2},
	} {
		putMembership(t, s, m)
	}
	if want := fine.Truncate(time.Microsecond); !alice.Left.Equal(want) || !alice.Joined.Equal(t1) {
		t.Errorf("PutMembership wrote back Joined %v, Left %v; want %v, %v", alice.Joined, alice.Left, t1, want)
	}

	sameMemberships(t, "Memberships(team)", listMemberships(t, s, "team", ""), []store.Membership{
		{Group: "team", User: "Carol", Joined: t2, Contributions: []byte{}},
		{Group: "team", User: "alice", Joined: t1, Left: alice.Left, Contributions: []byte{}},
		{Group: "team", User: "bob", Joined: t1, Contributions: []byte(`{"calendars":[7]}`), Admin: true},
	})
	sameMemberships(t, "UserMemberships(alice)", listMemberships(t, s, "", "alice"), []store.Membership{
		{Group: "Choir", User: "alice", Joined: t2, Contributions: []byte{}},
		{Group: "band", User: "alice", Contributions: []byte{0, 0xff}},
		{Group: "team", User: "alice", Joined: t1, Left: alice.Left, Contributions: []byte{}},
	})
	if got := listMemberships(t, s, "nobody", ""); len(got) != 0 {
		t.Errorf("Memberships of an unknown group = %d entries, want none", len(got))
	}
	if got := listMemberships(t, s, "", "nobody"); len(got) != 0 {
		t.Errorf("UserMemberships of an unknown user = %d entries, want none", len(got))
	}

	// PutMembership replaces: bob leaves, alice comes back (Left cleared).
	putMembership(t, s, &store.Membership{Group: "team", User: "bob", Joined: t1, Left: t2, Contributions: []byte(`[]`)})
	putMembership(t, s, &store.Membership{Group: "team", User: "alice", Joined: t2})
	sameMemberships(t, "Memberships(team) after replacing", listMemberships(t, s, "team", ""), []store.Membership{
		{Group: "team", User: "Carol", Joined: t2, Contributions: []byte{}},
		{Group: "team", User: "alice", Joined: t2, Contributions: []byte{}},
		{Group: "team", User: "bob", Joined: t1, Left: t2, Contributions: []byte(`[]`)},
	})

	puts := []struct {
		what string
		m    store.Membership
	}{
		{"unknown group", store.Membership{Group: "orchestra", User: "alice", Joined: t1}},
		{"unknown user", store.Membership{Group: "team", User: "dave", Joined: t1}},
		{"both unknown", store.Membership{Group: "orchestra", User: "dave"}},
		{"group name case", store.Membership{Group: "Team", User: "alice"}},
		{"user name case", store.Membership{Group: "team", User: "Alice"}},
	}
	for _, p := range puts {
		err := s.Update(ctx, func(tx store.Tx) error { return tx.PutMembership(ctx, &p.m) })
		wantErr(t, "PutMembership("+p.what+")", err, store.ErrNotFound)
	}
	if got := listMemberships(t, s, "team", ""); len(got) != 3 {
		t.Errorf("Memberships(team) = %d entries after refused puts, want 3", len(got))
	}

	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteMembership(ctx, "team", "bob") })
	sameMemberships(t, "UserMemberships(bob) after DeleteMembership", listMemberships(t, s, "", "bob"), nil)
	if got := listMemberships(t, s, "team", ""); len(got) != 2 {
		t.Errorf("Memberships(team) = %d entries after deleting one of 3", len(got))
	}
	for _, gu := range [][2]string{{"team", "bob"}, {"band", "bob"}, {"nothing", "alice"}} {
		err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteMembership(ctx, gu[0], gu[1]) })
		wantErr(t, fmt.Sprintf("DeleteMembership(%s, %s)", gu[0], gu[1]), err, store.ErrNotFound)
	}
}

// testVirtualCascades: DeleteUser takes the user's virtual calendars and
// memberships with it, DeleteGroup the group's; nothing else. A user and a
// group share the name "bob", so a cascade keyed on the bare name would
// show.
func testVirtualCascades(t *testing.T, s store.Store) {
	users(t, s, "alice", "bob")
	groups(t, s, "team", "bob")
	for _, vc := range []*store.VirtualCalendar{
		{Owner: "alice", Name: "a"},
		{Owner: "bob", Name: "b"},
		{Owner: "group:team", Name: "t"},
		{Owner: "group:bob", Name: "g"},
	} {
		createVirtual(t, s, vc)
	}
	for _, m := range []*store.Membership{
		{Group: "team", User: "alice"}, {Group: "team", User: "bob"},
		{Group: "bob", User: "alice"}, {Group: "bob", User: "bob"},
	} {
		putMembership(t, s, m)
	}
	// A collection of the user bob, which DeleteGroup("bob") must leave alone.
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.CreateCollection(ctx, &store.Collection{Owner: "bob", Name: "b", Kind: store.KindCalendar})
	})

	remaining := func(what string, want ...string) {
		t.Helper()
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			all, err := tx.ListVirtualCalendars(ctx)
			var keys []string
			for _, vc := range all {
				keys = append(keys, vc.Owner+"/"+vc.Name)
			}
			if !slices.Equal(keys, want) {
				t.Errorf("%s: virtual calendars %v, want %v", what, keys, want)
			}
			return err
		})
	}
	members := func(what, group string, want ...string) {
		t.Helper()
		var names []string
		for _, m := range listMemberships(t, s, group, "") {
			names = append(names, m.User)
		}
		if !slices.Equal(names, want) {
			t.Errorf("%s: members of %s %v, want %v", what, group, names, want)
		}
	}

	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteUser(ctx, "alice") })
	remaining("after DeleteUser(alice)", "bob/b", "group:bob/g", "group:team/t")
	members("after DeleteUser(alice)", "team", "bob")
	members("after DeleteUser(alice)", "bob", "bob")
	if got := listMemberships(t, s, "", "alice"); len(got) != 0 {
		t.Errorf("after DeleteUser(alice): %d memberships of alice left", len(got))
	}

	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteGroup(ctx, "bob") })
	remaining("after DeleteGroup(bob)", "bob/b", "group:team/t")
	members("after DeleteGroup(bob)", "team", "bob")
	members("after DeleteGroup(bob)", "bob")
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.GetUser(ctx, "bob")
		if err != nil {
			t.Errorf("user bob after DeleteGroup(bob): %v", err)
		}
		_, err = tx.GetCollection(ctx, "bob", "b")
		if err != nil {
			t.Errorf("bob's collection after DeleteGroup(bob): %v", err)
		}
		return nil
	})

	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteUser(ctx, "bob") })
	remaining("after DeleteUser(bob)", "group:team/t")
	members("after DeleteUser(bob)", "team")
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteGroup(ctx, "team") })
	remaining("after DeleteGroup(team)")

	// A failed delete cascades nothing: the Update rolls back.
	users(t, s, "carol")
	groups(t, s, "band")
	createVirtual(t, s, &store.VirtualCalendar{Owner: "carol", Name: "c"})
	createVirtual(t, s, &store.VirtualCalendar{Owner: "group:band", Name: "b"})
	putMembership(t, s, &store.Membership{Group: "band", User: "carol"})
	ctx := t.Context()
	errBoom := errors.New("boom")
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteUser(ctx, "carol"); err != nil {
			return err
		}
		if err := tx.DeleteGroup(ctx, "band"); err != nil {
			return err
		}
		return errBoom
	})
	wantErr(t, "failing Update", err, errBoom)
	remaining("after a rolled-back delete", "carol/c", "group:band/b")
	members("after a rolled-back delete", "band", "carol")
}

// testVirtualWritesInViewFail: every write of this part of the contract
// fails inside View, on rows where it would succeed inside Update, and
// changes nothing.
func testVirtualWritesInViewFail(t *testing.T, s store.Store) {
	ctx := t.Context()
	users(t, s, "alice")
	groups(t, s, "team")
	vc := &store.VirtualCalendar{Owner: "alice", Name: "v", DisplayName: "V", Definition: []byte("{}")}
	createVirtual(t, s, vc)
	putMembership(t, s, &store.Membership{Group: "team", User: "alice", Joined: at(1, 1, 0, 0)})

	writes := []struct {
		name string
		fn   func(tx store.Tx) error
	}{
		{"CreateVirtualCalendar", func(tx store.Tx) error {
			return tx.CreateVirtualCalendar(ctx, &store.VirtualCalendar{Owner: "alice", Name: "w"})
		}},
		{"UpdateVirtualCalendar", func(tx store.Tx) error {
			return tx.UpdateVirtualCalendar(ctx, &store.VirtualCalendar{ID: vc.ID, DisplayName: "X"})
		}},
		{"DeleteVirtualCalendar", func(tx store.Tx) error { return tx.DeleteVirtualCalendar(ctx, vc.ID) }},
		{"CreateGroup", func(tx store.Tx) error { return tx.CreateGroup(ctx, &store.Group{Name: "band"}) }},
		{"UpdateGroup", func(tx store.Tx) error {
			return tx.UpdateGroup(ctx, &store.Group{Name: "team", DisplayName: "X", KeepPast: true})
		}},
		{"DeleteGroup", func(tx store.Tx) error { return tx.DeleteGroup(ctx, "team") }},
		{"PutMembership", func(tx store.Tx) error {
			return tx.PutMembership(ctx, &store.Membership{Group: "team", User: "alice", Left: at(2, 1, 0, 0)})
		}},
		{"DeleteMembership", func(tx store.Tx) error { return tx.DeleteMembership(ctx, "team", "alice") }},
		{"DeleteUser", func(tx store.Tx) error { return tx.DeleteUser(ctx, "alice") }},
	}
	for _, w := range writes {
		if err := s.View(ctx, w.fn); err == nil {
			t.Errorf("%s inside View succeeded", w.name)
		}
	}
	sameVirtualCalendar(t, "virtual calendar after writes in View", getVirtual(t, s, vc.ID), vc)
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		all, err := tx.ListVirtualCalendars(ctx)
		if err != nil || len(all) != 1 {
			t.Errorf("virtual calendars changed by View: %d, %v", len(all), err)
		}
		gs, err := tx.ListGroups(ctx)
		if err != nil || len(gs) != 1 || gs[0].DisplayName != "" || gs[0].KeepPast {
			t.Errorf("groups changed by View: %+v, %v", gs, err)
		}
		return nil
	})
	sameMemberships(t, "memberships after writes in View", listMemberships(t, s, "team", ""), []store.Membership{
		{Group: "team", User: "alice", Joined: at(1, 1, 0, 0), Contributions: []byte{}},
	})
}
