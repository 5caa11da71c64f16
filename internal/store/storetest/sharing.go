package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// Sharing: grants, sharees' settings, delegates and public links.
//
// Grantees and user names order by bytes, as other names do: the fixtures
// mix cases so that an ordering by a linguistic collation shows.

// collections creates owner's calendars with the given names, in order,
// and returns them.
func collections(t *testing.T, s store.Store, owner string, names ...string) []*store.Collection {
	t.Helper()
	var cs []*store.Collection
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, n := range names {
			c := &store.Collection{Owner: owner, Name: n, Kind: store.KindCalendar}
			if err := tx.CreateCollection(ctx, c); err != nil {
				return err
			}
			cs = append(cs, c)
		}
		return nil
	})
	return cs
}

func putGrants(t *testing.T, s store.Store, gs ...*store.Grant) {
	t.Helper()
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, g := range gs {
			if err := tx.PutGrant(ctx, g); err != nil {
				return err
			}
		}
		return nil
	})
}

// describeGrants lists grants as "collection grantee level; ", naming
// each collection of colls by its Name and any other by its ID.
func describeGrants(gs []*store.Grant, colls ...*store.Collection) string {
	var b strings.Builder
	for _, g := range gs {
		coll := fmt.Sprint(g.CollectionID)
		for _, c := range colls {
			if c.ID == g.CollectionID {
				coll = c.Name
			}
		}
		fmt.Fprintf(&b, "%s %s %s; ", coll, g.Grantee, g.Level)
	}
	return b.String()
}

func grantsOn(t *testing.T, s store.Store, collectionID int64) []*store.Grant {
	t.Helper()
	var gs []*store.Grant
	view(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		gs, err = tx.Grants(ctx, collectionID)
		return err
	})
	return gs
}

func grantsTo(t *testing.T, s store.Store, grantees ...string) []*store.Grant {
	t.Helper()
	var gs []*store.Grant
	view(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		gs, err = tx.GrantsTo(ctx, grantees)
		return err
	})
	return gs
}

// testGrants covers creating and replacing grants, both listings and
// their order, deletion, and the errors for unknown collections and
// grants.
func testGrants(t *testing.T, s store.Store) {
	ctx := t.Context()
	users(t, s, "alice", "bob")
	cs := collections(t, s, "alice", "cal", "work")
	cal, work := cs[0], cs[1]
	if cal.ID > work.ID {
		cal, work = work, cal // GrantsTo orders by ID
	}

	bob := &store.Grant{CollectionID: cal.ID, Grantee: "user:bob", Level: "read"}
	putGrants(t, s, bob,
		&store.Grant{CollectionID: cal.ID, Grantee: "group:team", Level: "read-write"},
		&store.Grant{CollectionID: cal.ID, Grantee: "*", Level: "free-busy"},
		&store.Grant{CollectionID: cal.ID, Grantee: "user:Zoe", Level: "read"},
		&store.Grant{CollectionID: work.ID, Grantee: "user:bob", Level: "admin"},
		&store.Grant{CollectionID: work.ID, Grantee: "group:Team", Level: "read"},
	)
	if bob.Created.IsZero() || bob.Created.Location() != time.UTC {
		t.Errorf("PutGrant set Created %v, want a UTC time", bob.Created)
	}
	got := grantsOn(t, s, cal.ID)
	want := "cal * free-busy; cal group:team read-write; cal user:Zoe read; cal user:bob read; "
	if d := describeGrants(got, cal); d != want {
		t.Errorf("Grants(cal) = %q, want %q", d, want)
	}
	for _, g := range got {
		if g.Grantee == "user:bob" && !sameTime(g.Created, bob.Created) {
			t.Errorf("Grants(cal) read Created %v back, want %v", g.Created, bob.Created)
		}
	}

	// A replacement changes the level and keeps the grant's age.
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.PutGrant(ctx, &store.Grant{CollectionID: cal.ID, Grantee: "user:bob", Level: "read-write"})
	})
	got = grantsTo(t, s, "user:bob")
	if d, want := describeGrants(got, cal, work), "cal user:bob read-write; work user:bob admin; "; d != want {
		t.Errorf("GrantsTo(user:bob) after replacing = %q, want %q", d, want)
	}
	for _, g := range got {
		if g.CollectionID == cal.ID && !sameTime(g.Created, bob.Created) {
			t.Errorf("replaced grant has Created %v, want the first one's %v", g.Created, bob.Created)
		}
	}

	// Several grantees: by collection, then grantee; unknown ones add
	// nothing.
	got = grantsTo(t, s, "user:bob", "group:team", "group:Team", "*", "user:nobody")
	want = "cal * free-busy; cal group:team read-write; cal user:bob read-write; work group:Team read; work user:bob admin; "
	if d := describeGrants(got, cal, work); d != want {
		t.Errorf("GrantsTo(several) = %q, want %q", d, want)
	}
	if got := grantsTo(t, s); len(got) != 0 {
		t.Errorf("GrantsTo() = %q, want none", describeGrants(got))
	}
	if got := grantsTo(t, s, "user:nobody"); len(got) != 0 {
		t.Errorf("GrantsTo(user:nobody) = %q, want none", describeGrants(got))
	}
	if got := grantsOn(t, s, work.ID+100); len(got) != 0 {
		t.Errorf("Grants(unknown collection) = %q, want none", describeGrants(got))
	}

	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteGrant(ctx, cal.ID, "group:team") })
	want = "cal * free-busy; cal user:Zoe read; cal user:bob read-write; "
	if d := describeGrants(grantsOn(t, s, cal.ID), cal); d != want {
		t.Errorf("Grants(cal) after DeleteGrant = %q, want %q", d, want)
	}
	// Each failing call in its own Update: a failed statement may end the
	// transaction.
	failures := []struct {
		name string
		fn   func(ctx context.Context, tx store.Tx) error
	}{
		{"PutGrant(unknown collection)", func(ctx context.Context, tx store.Tx) error {
			return tx.PutGrant(ctx, &store.Grant{CollectionID: work.ID + 100, Grantee: "user:bob", Level: "read"})
		}},
		{"DeleteGrant(deleted)", func(ctx context.Context, tx store.Tx) error {
			return tx.DeleteGrant(ctx, cal.ID, "group:team")
		}},
		{"DeleteGrant(grantee of another collection)", func(ctx context.Context, tx store.Tx) error {
			return tx.DeleteGrant(ctx, work.ID, "*")
		}},
		{"DeleteGrant(unknown collection)", func(ctx context.Context, tx store.Tx) error {
			return tx.DeleteGrant(ctx, work.ID+100, "user:bob")
		}},
	}
	for _, f := range failures {
		wantErr(t, f.name, s.Update(ctx, func(tx store.Tx) error { return f.fn(ctx, tx) }), store.ErrNotFound)
	}
	if got := grantsOn(t, s, work.ID); len(got) != 2 {
		t.Errorf("Grants(work) after failed writes = %q, want both", describeGrants(got))
	}
}

func getShareSettings(t *testing.T, s store.Store, collectionID int64, user string) (*store.ShareSettings, error) {
	t.Helper()
	var got *store.ShareSettings
	ctx := t.Context()
	err := s.View(ctx, func(tx store.Tx) (err error) {
		got, err = tx.GetShareSettings(ctx, collectionID, user)
		return err
	})
	return got, err
}

func userShareSettings(t *testing.T, s store.Store, user string) []*store.ShareSettings {
	t.Helper()
	var got []*store.ShareSettings
	view(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		got, err = tx.UserShareSettings(ctx, user)
		return err
	})
	return got
}

// testShareSettings covers a sharee's own settings: absent until put,
// replaced whole, listed by user, and refused for an unknown collection or
// user.
func testShareSettings(t *testing.T, s store.Store) {
	ctx := t.Context()
	users(t, s, "alice", "bob", "carol")
	cs := collections(t, s, "alice", "cal", "work")
	cal, work := cs[0], cs[1]
	if cal.ID > work.ID {
		cal, work = work, cal // UserShareSettings orders by ID
	}
	_, err := getShareSettings(t, s, cal.ID, "bob")
	wantErr(t, "GetShareSettings before any", err, store.ErrNotFound)

	// No grant is needed: grants may come and go.
	first := &store.ShareSettings{CollectionID: cal.ID, User: "bob", DisplayName: "アリスの予定", Color: "#FF0000FF", Order: 3, Hidden: true}
	onWork := &store.ShareSettings{CollectionID: work.ID, User: "bob", Order: -1}
	carols := &store.ShareSettings{CollectionID: cal.ID, User: "carol", DisplayName: "Alice"}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, ss := range []*store.ShareSettings{onWork, first, carols} {
			if err := tx.PutShareSettings(ctx, ss); err != nil {
				return err
			}
		}
		return nil
	})
	got, err := getShareSettings(t, s, cal.ID, "bob")
	if err != nil {
		t.Fatalf("GetShareSettings: %v", err)
	}
	if *got != *first {
		t.Errorf("GetShareSettings = %+v, want %+v", *got, *first)
	}

	// Replaced whole: what the new settings leave empty is empty.
	second := &store.ShareSettings{CollectionID: cal.ID, User: "bob", Color: "#00FF00"}
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.PutShareSettings(ctx, second) })
	if got, err := getShareSettings(t, s, cal.ID, "bob"); err != nil || *got != *second {
		t.Errorf("GetShareSettings after replacing = %+v, %v; want %+v", got, err, *second)
	}
	list := userShareSettings(t, s, "bob")
	if len(list) != 2 || *list[0] != *second || *list[1] != *onWork {
		t.Errorf("UserShareSettings(bob) = %+v, want %+v then %+v", list, *second, *onWork)
	}
	if list := userShareSettings(t, s, "alice"); len(list) != 0 {
		t.Errorf("UserShareSettings(alice) = %+v, want none", list)
	}

	for _, bad := range []*store.ShareSettings{
		{CollectionID: work.ID + 100, User: "bob", DisplayName: "x"},
		{CollectionID: cal.ID, User: "nobody", DisplayName: "x"},
	} {
		err := s.Update(ctx, func(tx store.Tx) error { return tx.PutShareSettings(ctx, bad) })
		wantErr(t, fmt.Sprintf("PutShareSettings(%d, %s)", bad.CollectionID, bad.User), err, store.ErrNotFound)
	}
	_, err = getShareSettings(t, s, work.ID, "carol")
	wantErr(t, "GetShareSettings(work, carol)", err, store.ErrNotFound)
	if got, err := getShareSettings(t, s, cal.ID, "carol"); err != nil || *got != *carols {
		t.Errorf("GetShareSettings(cal, carol) = %+v, %v; want %+v", got, err, *carols)
	}

	// They outlive a grant: it may come back.
	putGrants(t, s, &store.Grant{CollectionID: cal.ID, Grantee: "user:carol", Level: "read"})
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteGrant(ctx, cal.ID, "user:carol") })
	if got, err := getShareSettings(t, s, cal.ID, "carol"); err != nil || *got != *carols {
		t.Errorf("GetShareSettings(cal, carol) after a grant came and went = %+v, %v; want %+v", got, err, *carols)
	}
}

// describeDelegates lists delegates as "owner>delegate write".
func describeDelegates(ds []*store.Delegate) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "%s>%s %v; ", d.Owner, d.Delegate, d.Write)
	}
	return b.String()
}

func delegatesOf(t *testing.T, s store.Store, owner string) string {
	t.Helper()
	var ds []*store.Delegate
	view(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		ds, err = tx.Delegates(ctx, owner)
		return err
	})
	return describeDelegates(ds)
}

func delegatorsOf(t *testing.T, s store.Store, user string) string {
	t.Helper()
	var ds []*store.Delegate
	view(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		ds, err = tx.DelegatorsOf(ctx, user)
		return err
	})
	return describeDelegates(ds)
}

// testDelegates covers putting, replacing and deleting delegates, both
// listings and their order, and the errors for unknown users and
// delegates.
func testDelegates(t *testing.T, s store.Store) {
	ctx := t.Context()
	users(t, s, "alice", "bob", "carol", "Dave")
	first := &store.Delegate{Owner: "alice", Delegate: "carol"}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, d := range []*store.Delegate{
			first,
			{Owner: "alice", Delegate: "bob", Write: true},
			{Owner: "alice", Delegate: "Dave"},
			{Owner: "bob", Delegate: "carol", Write: true},
			{Owner: "Dave", Delegate: "carol"},
		} {
			if err := tx.PutDelegate(ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
	if first.Created.IsZero() || first.Created.Location() != time.UTC {
		t.Errorf("PutDelegate set Created %v, want a UTC time", first.Created)
	}
	if got, want := delegatesOf(t, s, "alice"), "alice>Dave false; alice>bob true; alice>carol false; "; got != want {
		t.Errorf("Delegates(alice) = %q, want %q", got, want)
	}
	if got, want := delegatorsOf(t, s, "carol"), "Dave>carol false; alice>carol false; bob>carol true; "; got != want {
		t.Errorf("DelegatorsOf(carol) = %q, want %q", got, want)
	}
	if got := delegatesOf(t, s, "carol"); got != "" {
		t.Errorf("Delegates(carol) = %q, want none", got)
	}
	if got := delegatorsOf(t, s, "nobody"); got != "" {
		t.Errorf("DelegatorsOf(nobody) = %q, want none", got)
	}

	// Replaced: carol may now write for alice.
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.PutDelegate(ctx, &store.Delegate{Owner: "alice", Delegate: "carol", Write: true})
	})
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteDelegate(ctx, "alice", "bob") })
	if got, want := delegatesOf(t, s, "alice"), "alice>Dave false; alice>carol true; "; got != want {
		t.Errorf("Delegates(alice) after replacing and deleting = %q, want %q", got, want)
	}
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		ds, err := tx.Delegates(ctx, "alice")
		if err != nil {
			return err
		}
		for _, d := range ds {
			if d.Created.IsZero() || d.Created.Location() != time.UTC {
				t.Errorf("Delegates(alice) read Created %v back, want a UTC time", d.Created)
			}
		}
		return nil
	})

	failures := []struct {
		name string
		fn   func(ctx context.Context, tx store.Tx) error
	}{
		{"PutDelegate(unknown owner)", func(ctx context.Context, tx store.Tx) error {
			return tx.PutDelegate(ctx, &store.Delegate{Owner: "nobody", Delegate: "bob"})
		}},
		{"PutDelegate(unknown delegate)", func(ctx context.Context, tx store.Tx) error {
			return tx.PutDelegate(ctx, &store.Delegate{Owner: "alice", Delegate: "nobody"})
		}},
		{"DeleteDelegate(deleted)", func(ctx context.Context, tx store.Tx) error {
			return tx.DeleteDelegate(ctx, "alice", "bob")
		}},
		{"DeleteDelegate(the other way round)", func(ctx context.Context, tx store.Tx) error {
			return tx.DeleteDelegate(ctx, "carol", "bob")
		}},
	}
	for _, f := range failures {
		wantErr(t, f.name, s.Update(ctx, func(tx store.Tx) error { return f.fn(ctx, tx) }), store.ErrNotFound)
	}
	if got, want := delegatorsOf(t, s, "carol"), "Dave>carol false; alice>carol true; bob>carol true; "; got != want {
		t.Errorf("DelegatorsOf(carol) after failed writes = %q, want %q", got, want)
	}
}

func createPublicLinks(t *testing.T, s store.Store, ls ...*store.PublicLink) {
	t.Helper()
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, l := range ls {
			if err := tx.CreatePublicLink(ctx, l); err != nil {
				return err
			}
		}
		return nil
	})
}

func getPublicLink(t *testing.T, s store.Store, token string) (*store.PublicLink, error) {
	t.Helper()
	var l *store.PublicLink
	ctx := t.Context()
	err := s.View(ctx, func(tx store.Tx) (err error) {
		l, err = tx.GetPublicLink(ctx, token)
		return err
	})
	return l, err
}

func publicLinksOf(t *testing.T, s store.Store, owner string) []*store.PublicLink {
	t.Helper()
	var ls []*store.PublicLink
	view(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		ls, err = tx.PublicLinks(ctx, owner)
		return err
	})
	return ls
}

func tokens(ls []*store.PublicLink) []string {
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.Token)
	}
	return out
}

// samePublicLink compares every field, Created by instant and location.
func samePublicLink(t *testing.T, what string, got, want *store.PublicLink) {
	t.Helper()
	if got.Token != want.Token || got.Owner != want.Owner || got.CollectionID != want.CollectionID ||
		got.VCID != want.VCID || !sameTime(got.Created, want.Created) {
		t.Errorf("%s = %+v, want %+v", what, *got, *want)
	}
}

// testPublicLinks covers creating, reading, listing and deleting public
// links, and the errors for a used token, unknown owners and targets, and
// links that name both targets or neither.
func testPublicLinks(t *testing.T, s store.Store) {
	ctx := t.Context()
	users(t, s, "alice", "bob")
	cal := collections(t, s, "alice", "cal")[0]
	vc := &store.VirtualCalendar{Owner: "alice", Name: "v", Definition: []byte(`{}`)}
	createVirtual(t, s, vc)

	// Created in separate transactions, in the opposite order to their
	// tokens; two more in one transaction, where Created may tie.
	onCal := &store.PublicLink{Token: "tok-Z", Owner: "alice", CollectionID: cal.ID}
	onVC := &store.PublicLink{Token: "tok-Y", Owner: "alice", VCID: vc.ID}
	more := []*store.PublicLink{
		{Token: "tok-b", Owner: "alice", CollectionID: cal.ID},
		{Token: "tok-a", Owner: "alice", VCID: vc.ID},
	}
	bobs := &store.PublicLink{Token: "tok-bob", Owner: "bob", CollectionID: collections(t, s, "bob", "bcal")[0].ID}
	createPublicLinks(t, s, onCal)
	createPublicLinks(t, s, onVC)
	createPublicLinks(t, s, more[0], more[1], bobs)
	all := append([]*store.PublicLink{onCal, onVC}, more...)
	for _, l := range all {
		if l.Created.IsZero() || l.Created.Location() != time.UTC {
			t.Errorf("CreatePublicLink(%s) set Created %v, want a UTC time", l.Token, l.Created)
		}
	}

	got, err := getPublicLink(t, s, "tok-Y")
	if err != nil {
		t.Fatalf("GetPublicLink: %v", err)
	}
	samePublicLink(t, "GetPublicLink(tok-Y)", got, onVC)
	want := slices.Clone(all)
	slices.SortStableFunc(want, func(a, b *store.PublicLink) int {
		return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.Token, b.Token))
	})
	list := publicLinksOf(t, s, "alice")
	if !slices.Equal(tokens(list), tokens(want)) {
		t.Errorf("PublicLinks(alice) = %v, want %v (by Created, then Token)", tokens(list), tokens(want))
	} else {
		for i := range list {
			samePublicLink(t, fmt.Sprintf("PublicLinks(alice)[%d]", i), list[i], want[i])
		}
	}
	if list := publicLinksOf(t, s, "carol"); len(list) != 0 {
		t.Errorf("PublicLinks(carol) = %v, want none", tokens(list))
	}

	err = s.Update(ctx, func(tx store.Tx) error {
		return tx.CreatePublicLink(ctx, &store.PublicLink{Token: "tok-Y", Owner: "bob", CollectionID: bobs.CollectionID})
	})
	wantErr(t, "CreatePublicLink(used token)", err, store.ErrExists)
	for _, bad := range []struct {
		name string
		link store.PublicLink
	}{
		{"unknown owner", store.PublicLink{Owner: "nobody", CollectionID: cal.ID}},
		{"unknown collection", store.PublicLink{Owner: "alice", CollectionID: cal.ID + 100}},
		{"unknown virtual calendar", store.PublicLink{Owner: "alice", VCID: vc.ID + 100}},
		{"both targets", store.PublicLink{Owner: "alice", CollectionID: cal.ID, VCID: vc.ID}},
		{"no target", store.PublicLink{Owner: "alice"}},
	} {
		l := bad.link
		l.Token = "tok-new"
		err := s.Update(ctx, func(tx store.Tx) error { return tx.CreatePublicLink(ctx, &l) })
		wantErr(t, "CreatePublicLink("+bad.name+")", err, store.ErrNotFound)
	}
	_, err = getPublicLink(t, s, "tok-new")
	wantErr(t, "GetPublicLink(refused)", err, store.ErrNotFound)

	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeletePublicLink(ctx, "tok-Z") })
	_, err = getPublicLink(t, s, "tok-Z")
	wantErr(t, "GetPublicLink(deleted)", err, store.ErrNotFound)
	err = s.Update(ctx, func(tx store.Tx) error { return tx.DeletePublicLink(ctx, "tok-Z") })
	wantErr(t, "DeletePublicLink(deleted)", err, store.ErrNotFound)
	left := slices.DeleteFunc(slices.Clone(want), func(l *store.PublicLink) bool { return l == onCal })
	if got, want := tokens(publicLinksOf(t, s, "alice")), tokens(left); !slices.Equal(got, want) {
		t.Errorf("PublicLinks(alice) after delete = %v, want %v", got, want)
	}
	if got := tokens(publicLinksOf(t, s, "bob")); !slices.Equal(got, []string{"tok-bob"}) {
		t.Errorf("PublicLinks(bob) = %v, want [tok-bob]", got)
	}
}

// testSharingCascades checks that deleting a collection, a virtual
// calendar or a group takes the grants, settings and public links that
// name it, and nothing else.
func testSharingCascades(t *testing.T, s store.Store) {
	users(t, s, "alice", "bob")
	groups(t, s, "team", "teams")
	cs := collections(t, s, "alice", "cal", "work")
	cal, work := cs[0], cs[1]
	vc := &store.VirtualCalendar{Owner: "alice", Name: "v", Definition: []byte(`{}`)}
	teamVC := &store.VirtualCalendar{Owner: "group:team", Name: "t", Definition: []byte(`{}`)}
	createVirtual(t, s, vc)
	createVirtual(t, s, teamVC)
	for _, c := range []*store.Collection{cal, work} {
		putGrants(t, s,
			&store.Grant{CollectionID: c.ID, Grantee: "user:bob", Level: "read"},
			&store.Grant{CollectionID: c.ID, Grantee: "group:team", Level: "read"},
			&store.Grant{CollectionID: c.ID, Grantee: "group:teams", Level: "read"},
			&store.Grant{CollectionID: c.ID, Grantee: "user:team", Level: "read"},
		)
	}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, c := range []*store.Collection{cal, work} {
			if err := tx.PutShareSettings(ctx, &store.ShareSettings{CollectionID: c.ID, User: "bob", Color: "#000000"}); err != nil {
				return err
			}
		}
		return nil
	})
	createPublicLinks(t, s,
		&store.PublicLink{Token: "cal", Owner: "alice", CollectionID: cal.ID},
		&store.PublicLink{Token: "work", Owner: "alice", CollectionID: work.ID},
		&store.PublicLink{Token: "vc", Owner: "alice", VCID: vc.ID},
		&store.PublicLink{Token: "team-vc", Owner: "alice", VCID: teamVC.ID},
	)

	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteCollection(ctx, cal.ID) })
	if got := grantsOn(t, s, cal.ID); len(got) != 0 {
		t.Errorf("grants outlive their collection: %q", describeGrants(got))
	}
	if got := grantsTo(t, s, "user:bob"); len(got) != 1 || got[0].CollectionID != work.ID {
		t.Errorf("GrantsTo(user:bob) after deleting cal = %q, want only the one on work", describeGrants(got))
	}
	_, err := getShareSettings(t, s, cal.ID, "bob")
	wantErr(t, "share settings of a deleted collection", err, store.ErrNotFound)
	if _, err := getShareSettings(t, s, work.ID, "bob"); err != nil {
		t.Errorf("share settings of another collection: %v", err)
	}

	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteVirtualCalendar(ctx, vc.ID) })
	if got, want := tokens(publicLinksOf(t, s, "alice")), []string{"work", "team-vc"}; !sameSet(got, want) {
		t.Errorf("public links after deleting cal and vc = %v, want %v", got, want)
	}

	// A group takes the grants to it and its virtual calendars' links;
	// grants to a group or user of a similar name stay.
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteGroup(ctx, "team") })
	groups(t, s, "team")
	if got := grantsTo(t, s, "group:team"); len(got) != 0 {
		t.Errorf("grants outlive their group: %q", describeGrants(got))
	}
	want := "work group:teams read; work user:bob read; work user:team read; "
	if got := describeGrants(grantsOn(t, s, work.ID), work); got != want {
		t.Errorf("Grants(work) after DeleteGroup(team) = %q, want %q", got, want)
	}
	if got, want := tokens(publicLinksOf(t, s, "alice")), []string{"work"}; !slices.Equal(got, want) {
		t.Errorf("public links after deleting the group = %v, want %v", got, want)
	}
}

// sameSet reports whether a and b hold the same strings in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// testSharingUserCascades checks that deleting a user takes the rows that
// name them as grantee, owner, sharee and delegate, and leaves those of
// users and groups with similar names; a new user of the same name starts
// with none of them.
func testSharingUserCascades(t *testing.T, s store.Store) {
	users(t, s, "alice", "bob", "bobby", "carol")
	groups(t, s, "bob")
	cal := collections(t, s, "alice", "cal")[0]
	bcal := collections(t, s, "bob", "bcal")[0]
	putGrants(t, s,
		&store.Grant{CollectionID: cal.ID, Grantee: "user:bob", Level: "read"},
		&store.Grant{CollectionID: cal.ID, Grantee: "user:bobby", Level: "read"},
		&store.Grant{CollectionID: cal.ID, Grantee: "group:bob", Level: "read"},
		&store.Grant{CollectionID: bcal.ID, Grantee: "user:alice", Level: "read"},
		&store.Grant{CollectionID: bcal.ID, Grantee: "user:carol", Level: "read"},
	)
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, ss := range []*store.ShareSettings{
			{CollectionID: cal.ID, User: "bob", DisplayName: "bob's"},
			{CollectionID: cal.ID, User: "bobby", DisplayName: "bobby's"},
			{CollectionID: bcal.ID, User: "alice", DisplayName: "alice's"},
		} {
			if err := tx.PutShareSettings(ctx, ss); err != nil {
				return err
			}
		}
		for _, d := range []*store.Delegate{
			{Owner: "alice", Delegate: "bob"}, {Owner: "alice", Delegate: "bobby"},
			{Owner: "bob", Delegate: "carol"}, {Owner: "alice", Delegate: "carol"},
		} {
			if err := tx.PutDelegate(ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
	createPublicLinks(t, s,
		&store.PublicLink{Token: "alice-cal", Owner: "alice", CollectionID: cal.ID},
		&store.PublicLink{Token: "bob-bcal", Owner: "bob", CollectionID: bcal.ID},
	)

	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteUser(ctx, "bob") })
	users(t, s, "bob")

	// As grantee and as owner of bcal.
	want := "cal group:bob read; cal user:bobby read; "
	if got := describeGrants(grantsOn(t, s, cal.ID), cal); got != want {
		t.Errorf("Grants(cal) after DeleteUser(bob) = %q, want %q", got, want)
	}
	if got := grantsTo(t, s, "user:bob", "user:alice", "user:carol"); len(got) != 0 {
		t.Errorf("grants to bob or on bob's calendar outlive him: %q", describeGrants(got))
	}
	// As sharee, and the settings of others on bob's calendar.
	_, err := getShareSettings(t, s, cal.ID, "bob")
	wantErr(t, "share settings of a deleted user", err, store.ErrNotFound)
	if list := userShareSettings(t, s, "alice"); len(list) != 0 {
		t.Errorf("alice's settings for bob's calendar outlive it: %+v", list)
	}
	if list := userShareSettings(t, s, "bobby"); len(list) != 1 || list[0].DisplayName != "bobby's" {
		t.Errorf("UserShareSettings(bobby) = %+v, want bobby's", list)
	}
	// As delegate and as owner of delegates.
	if got, want := delegatesOf(t, s, "alice"), "alice>bobby false; alice>carol false; "; got != want {
		t.Errorf("Delegates(alice) after DeleteUser(bob) = %q, want %q", got, want)
	}
	if got, want := delegatorsOf(t, s, "carol"), "alice>carol false; "; got != want {
		t.Errorf("DelegatorsOf(carol) after DeleteUser(bob) = %q, want %q", got, want)
	}
	if got := delegatorsOf(t, s, "bob") + delegatesOf(t, s, "bob"); got != "" {
		t.Errorf("the new bob inherits delegates: %q", got)
	}
	// As owner of public links.
	if got := tokens(publicLinksOf(t, s, "bob")); len(got) != 0 {
		t.Errorf("bob's public links outlive him: %v", got)
	}
	_, err = getPublicLink(t, s, "bob-bcal")
	wantErr(t, "GetPublicLink(bob-bcal)", err, store.ErrNotFound)
	if got := tokens(publicLinksOf(t, s, "alice")); !slices.Equal(got, []string{"alice-cal"}) {
		t.Errorf("PublicLinks(alice) = %v, want [alice-cal]", got)
	}
}

// testSharingWritesInViewFail checks that the writing methods refuse a
// read-only transaction and change nothing.
func testSharingWritesInViewFail(t *testing.T, s store.Store) {
	users(t, s, "alice", "bob")
	cal := collections(t, s, "alice", "cal")[0]
	putGrants(t, s, &store.Grant{CollectionID: cal.ID, Grantee: "user:bob", Level: "read"})
	settings := &store.ShareSettings{CollectionID: cal.ID, User: "bob", DisplayName: "Alice"}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.PutShareSettings(ctx, settings); err != nil {
			return err
		}
		return tx.PutDelegate(ctx, &store.Delegate{Owner: "alice", Delegate: "bob"})
	})
	createPublicLinks(t, s, &store.PublicLink{Token: "tok", Owner: "alice", CollectionID: cal.ID})

	writes := []struct {
		name string
		fn   func(ctx context.Context, tx store.Tx) error
	}{
		{"PutGrant", func(ctx context.Context, tx store.Tx) error {
			return tx.PutGrant(ctx, &store.Grant{CollectionID: cal.ID, Grantee: "user:bob", Level: "admin"})
		}},
		{"DeleteGrant", func(ctx context.Context, tx store.Tx) error { return tx.DeleteGrant(ctx, cal.ID, "user:bob") }},
		{"PutShareSettings", func(ctx context.Context, tx store.Tx) error {
			return tx.PutShareSettings(ctx, &store.ShareSettings{CollectionID: cal.ID, User: "bob", Hidden: true})
		}},
		{"PutDelegate", func(ctx context.Context, tx store.Tx) error {
			return tx.PutDelegate(ctx, &store.Delegate{Owner: "alice", Delegate: "bob", Write: true})
		}},
		{"DeleteDelegate", func(ctx context.Context, tx store.Tx) error { return tx.DeleteDelegate(ctx, "alice", "bob") }},
		{"CreatePublicLink", func(ctx context.Context, tx store.Tx) error {
			return tx.CreatePublicLink(ctx, &store.PublicLink{Token: "new", Owner: "alice", CollectionID: cal.ID})
		}},
		{"DeletePublicLink", func(ctx context.Context, tx store.Tx) error { return tx.DeletePublicLink(ctx, "tok") }},
	}
	for _, w := range writes {
		ctx := t.Context()
		if err := s.View(ctx, func(tx store.Tx) error { return w.fn(ctx, tx) }); err == nil {
			t.Errorf("%s in View: no error", w.name)
		}
	}

	if got, want := describeGrants(grantsOn(t, s, cal.ID), cal), "cal user:bob read; "; got != want {
		t.Errorf("Grants after writes in View = %q, want %q", got, want)
	}
	if got, err := getShareSettings(t, s, cal.ID, "bob"); err != nil || *got != *settings {
		t.Errorf("share settings after writes in View = %+v, %v; want %+v", got, err, *settings)
	}
	if got, want := delegatesOf(t, s, "alice"), "alice>bob false; "; got != want {
		t.Errorf("Delegates after writes in View = %q, want %q", got, want)
	}
	if got := tokens(publicLinksOf(t, s, "alice")); !slices.Equal(got, []string{"tok"}) {
		t.Errorf("public links after writes in View = %v, want [tok]", got)
	}
}

// testConcurrentSharingWrites has several writers, each in its own Update,
// put the same grant, the same share settings and the same delegate, and
// create a public link with the same token, all at once, so that the first
// writes of a key race. Every put succeeds and leaves one row, and every
// writer is told the same Created; exactly one link is created and the
// others are refused with ErrExists. Several rounds, each on keys not yet
// written, make the race likelier.
func testConcurrentSharingWrites(t *testing.T, s store.Store) {
	const writers, rounds = 8, 4
	users(t, s, "alice")
	cal := collections(t, s, "alice", "cal")[0]
	for round := range rounds {
		sharee := fmt.Sprintf("sharee%d", round)
		users(t, s, sharee)

		grants := make([]*store.Grant, writers)
		for w, err := range race(t, s, writers, func(ctx context.Context, tx store.Tx, w int) error {
			grants[w] = &store.Grant{CollectionID: cal.ID, Grantee: "user:" + sharee, Level: []string{"read", "read-write"}[w%2]}
			return tx.PutGrant(ctx, grants[w])
		}) {
			if err != nil {
				t.Errorf("round %d, writer %d: PutGrant: %v", round, w, err)
			}
		}
		if got := grantsTo(t, s, "user:"+sharee); len(got) != 1 {
			t.Errorf("round %d: grants to %s = %q, want one", round, sharee, describeGrants(got, cal))
		}

		for w, err := range race(t, s, writers, func(ctx context.Context, tx store.Tx, w int) error {
			return tx.PutShareSettings(ctx, &store.ShareSettings{CollectionID: cal.ID, User: sharee, DisplayName: fmt.Sprint(w)})
		}) {
			if err != nil {
				t.Errorf("round %d, writer %d: PutShareSettings: %v", round, w, err)
			}
		}
		if list := userShareSettings(t, s, sharee); len(list) != 1 {
			t.Errorf("round %d: share settings of %s = %+v, want one", round, sharee, list)
		}

		delegates := make([]*store.Delegate, writers)
		for w, err := range race(t, s, writers, func(ctx context.Context, tx store.Tx, w int) error {
			delegates[w] = &store.Delegate{Owner: "alice", Delegate: sharee, Write: w%2 == 1}
			return tx.PutDelegate(ctx, delegates[w])
		}) {
			if err != nil {
				t.Errorf("round %d, writer %d: PutDelegate: %v", round, w, err)
			}
		}
		if got := delegatorsOf(t, s, sharee); strings.Count(got, ";") != 1 {
			t.Errorf("round %d: DelegatorsOf(%s) = %q, want one", round, sharee, got)
		}

		if t.Failed() {
			t.FailNow()
		}
		for w := 1; w < writers; w++ {
			if !sameTime(grants[w].Created, grants[0].Created) {
				t.Errorf("round %d: PutGrant told writer %d Created %v, writer 0 %v", round, w, grants[w].Created, grants[0].Created)
			}
			if !sameTime(delegates[w].Created, delegates[0].Created) {
				t.Errorf("round %d: PutDelegate told writer %d Created %v, writer 0 %v", round, w, delegates[w].Created, delegates[0].Created)
			}
		}

		token := fmt.Sprintf("tok-%d", round)
		created := 0
		for w, err := range race(t, s, writers, func(ctx context.Context, tx store.Tx, w int) error {
			return tx.CreatePublicLink(ctx, &store.PublicLink{Token: token, Owner: "alice", CollectionID: cal.ID})
		}) {
			switch {
			case err == nil:
				created++
			case !errors.Is(err, store.ErrExists):
				t.Errorf("round %d, writer %d: CreatePublicLink: %v, want nil or ErrExists", round, w, err)
			}
		}
		if created != 1 {
			t.Errorf("round %d: %d writers created public link %s, want 1", round, created, token)
		}
	}
}

// race runs fn for writers writers at once, each in its own Update, and
// returns their errors by writer.
func race(t *testing.T, s store.Store, writers int, fn func(ctx context.Context, tx store.Tx, w int) error) []error {
	ctx := t.Context()
	errs := make([]error, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-start
			errs[w] = s.Update(ctx, func(tx store.Tx) error { return fn(ctx, tx, w) })
		})
	}
	close(start)
	wg.Wait()
	return errs
}
