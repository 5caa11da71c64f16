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

// Connectors, their item mappings, run history, conflicts and permissions.
//
// Conventions both stores follow where store.go is silent: Secret and
// conflict Data read back non-nil, nil stored as empty, like Object.Data.
// Times are truncated to microseconds, read back in UTC and written back to
// the caller; Interval round-trips to the nanosecond. The "newest" run or
// conflict is the one added last (highest ID), whatever its times say.
// PutConnectorItem, AddConnectorRun and AddConnectorConflict answer
// ErrNotFound for an unknown connector; UpdateConnector answers it for an
// unknown CollectionID, and UpdateConnectorRun when ID and ConnectorID do
// not name one run. A ConnectorConflict's Created is kept when given and set
// to now otherwise, like User.Created. Lists that find nothing are empty.

// connectorFixture creates users alice and bob, with calendars alice/cal,
// alice/other and bob/cal, and returns the calendars in that order.
func connectorFixture(t *testing.T, s store.Store) (aliceCal, aliceOther, bobCal *store.Collection) {
	t.Helper()
	aliceCal = &store.Collection{Owner: "alice", Name: "cal", Kind: store.KindCalendar}
	aliceOther = &store.Collection{Owner: "alice", Name: "other", Kind: store.KindCalendar}
	bobCal = &store.Collection{Owner: "bob", Name: "cal", Kind: store.KindCalendar}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, u := range []string{"alice", "bob"} {
			if err := tx.CreateUser(ctx, &store.User{Name: u}); err != nil {
				return err
			}
		}
		for _, c := range []*store.Collection{aliceCal, aliceOther, bobCal} {
			if err := tx.CreateCollection(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	return aliceCal, aliceOther, bobCal
}

// oddTime is an instant with nanoseconds, outside UTC: what the store keeps
// of it is oddTime.UTC().Truncate(time.Microsecond).
func oddTime(day int) time.Time {
	return time.Date(2026, 3, day, 5, 6, 7, 891234567, time.FixedZone("X", 3600))
}

// stored is what a store keeps of t.
func stored(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

func createConnector(t *testing.T, s store.Store, c *store.Connector) {
	t.Helper()
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.CreateConnector(ctx, c) })
}

func getConnector(t *testing.T, s store.Store, id int64) *store.Connector {
	t.Helper()
	var c *store.Connector
	view(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		c, err = tx.GetConnector(ctx, id)
		return err
	})
	return c
}

// sameConnector compares field by field: Secret as bytes (nil and empty
// told apart), times by instant and location.
func sameConnector(t *testing.T, what string, got, want *store.Connector) {
	t.Helper()
	if got.ID != want.ID || got.Owner != want.Owner || got.Name != want.Name ||
		got.CollectionID != want.CollectionID || got.Kind != want.Kind || got.URL != want.URL ||
		got.Username != want.Username || !bytes.Equal(got.Secret, want.Secret) ||
		(got.Secret == nil) != (want.Secret == nil) || got.AuthType != want.AuthType ||
		got.Direction != want.Direction || got.Policy != want.Policy || got.Interval != want.Interval ||
		got.Enabled != want.Enabled || got.State != want.State || got.Reason != want.Reason ||
		!sameTime(got.NextRun, want.NextRun) || !sameTime(got.LastRun, want.LastRun) ||
		!sameTime(got.LastOK, want.LastOK) || got.Failures != want.Failures || got.SyncToken != want.SyncToken ||
		got.CTag != want.CTag || !sameTime(got.Created, want.Created) || !sameTime(got.Modified, want.Modified) {
		t.Errorf("%s:\n got %s\nwant %s", what, describeConnector(got), describeConnector(want))
	}
}

func describeConnector(c *store.Connector) string {
	return fmt.Sprintf("%+v (Secret nil %v)", *c, c.Secret == nil)
}

func connectorIDs(cs []*store.Connector) []int64 {
	ids := make([]int64, 0, len(cs))
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

func listConnectors(t *testing.T, s store.Store, owner string) []int64 {
	t.Helper()
	var ids []int64
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		cs, err := tx.ListConnectors(ctx, owner)
		ids = connectorIDs(cs)
		return err
	})
	return ids
}

// failing runs each fn in its own Update (a failed statement may end the
// transaction) and wants target from it.
func failing(t *testing.T, s store.Store, target error, calls map[string]func(ctx context.Context, tx store.Tx) error) {
	t.Helper()
	for name, fn := range calls {
		ctx := t.Context()
		wantErr(t, name, s.Update(ctx, func(tx store.Tx) error { return fn(ctx, tx) }), target)
	}
}

// testConnectors covers creation, reading, listing by owner and in all,
// deletion, and the errors for unknown owners, collections and ids.
func testConnectors(t *testing.T, s store.Store) {
	aliceCal, aliceOther, bobCal := connectorFixture(t, s)

	full := &store.Connector{
		Owner: "alice", Name: "Work", CollectionID: aliceCal.ID, Kind: "caldav",
		URL: "https://dav.example.org/cal/work/", Username: "alice@example.org",
		Secret: []byte{0, 1, 0xfe, 0xff, 'x', 0}, AuthType: "basic", Direction: "two-way", Policy: "recent",
		Interval: time.Hour + 2*time.Minute + 3*time.Second + 123456789*time.Nanosecond,
		Enabled:  true, State: "idle", Reason: "backing off after 503",
		NextRun: oddTime(5), LastRun: oddTime(4), LastOK: oddTime(3), Failures: 2,
		SyncToken: "http://example.org/sync/17", CTag: `"ctag-9"`,
		// The store sets these itself.
		ID: 999, Created: oddTime(1), Modified: oddTime(2),
	}
	bare := &store.Connector{Owner: "bob", CollectionID: bobCal.ID}
	feed := &store.Connector{Owner: "alice", Name: "Holidays", CollectionID: aliceOther.ID, Kind: "ics",
		URL: "https://example.org/holidays.ics", Secret: []byte{}, Direction: "pull", Interval: 24 * time.Hour}
	for _, c := range []*store.Connector{full, bare, feed} {
		createConnector(t, s, c)
	}
	if full.ID == 999 || full.ID == 0 || bare.ID <= full.ID || feed.ID <= bare.ID {
		t.Errorf("ids %d, %d, %d: want assigned, increasing", full.ID, bare.ID, feed.ID)
	}
	if full.Created.IsZero() || full.Created.Equal(stored(oddTime(1))) || !full.Modified.Equal(full.Created) ||
		full.Created.Location() != time.UTC {
		t.Errorf("Created %v, Modified %v: want now, equal, in UTC", full.Created, full.Modified)
	}
	if !full.NextRun.Equal(stored(oddTime(5))) || full.NextRun.Location() != time.UTC {
		t.Errorf("NextRun written back as %v, want %v in UTC", full.NextRun, stored(oddTime(5)))
	}

	want := *full
	want.NextRun, want.LastRun, want.LastOK = stored(oddTime(5)), stored(oddTime(4)), stored(oddTime(3))
	sameConnector(t, "GetConnector(full)", getConnector(t, s, full.ID), &want)
	wantBare := *bare
	wantBare.Secret = []byte{}
	sameConnector(t, "GetConnector(bare)", getConnector(t, s, bare.ID), &wantBare)
	sameConnector(t, "GetConnector(feed)", getConnector(t, s, feed.ID), feed)

	if got := listConnectors(t, s, "alice"); !slices.Equal(got, []int64{full.ID, feed.ID}) {
		t.Errorf("ListConnectors(alice) = %v, want %v", got, []int64{full.ID, feed.ID})
	}
	if got := listConnectors(t, s, "bob"); !slices.Equal(got, []int64{bare.ID}) {
		t.Errorf("ListConnectors(bob) = %v, want %v", got, []int64{bare.ID})
	}
	if got := listConnectors(t, s, ""); !slices.Equal(got, []int64{full.ID, bare.ID, feed.ID}) {
		t.Errorf("ListConnectors(all) = %v, want %v", got, []int64{full.ID, bare.ID, feed.ID})
	}
	if got := listConnectors(t, s, "nobody"); len(got) != 0 {
		t.Errorf("ListConnectors(nobody) = %v, want none", got)
	}
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		// Listed connectors carry every field, like GetConnector's.
		all, err := tx.ListConnectors(ctx, "")
		if err != nil {
			return err
		}
		if len(all) == 3 {
			sameConnector(t, "ListConnectors(all)[0]", all[0], &want)
		}
		_, err = tx.GetConnector(ctx, feed.ID+1000)
		wantErr(t, "GetConnector(unknown)", err, store.ErrNotFound)
		return nil
	})

	failing(t, s, store.ErrNotFound, map[string]func(ctx context.Context, tx store.Tx) error{
		"CreateConnector(unknown owner)": func(ctx context.Context, tx store.Tx) error {
			return tx.CreateConnector(ctx, &store.Connector{Owner: "nobody", CollectionID: aliceCal.ID})
		},
		"CreateConnector(unknown collection)": func(ctx context.Context, tx store.Tx) error {
			return tx.CreateConnector(ctx, &store.Connector{Owner: "alice", CollectionID: bobCal.ID + 1000})
		},
		"DeleteConnector(unknown)": func(ctx context.Context, tx store.Tx) error {
			return tx.DeleteConnector(ctx, feed.ID+1000)
		},
	})
	if got := listConnectors(t, s, ""); len(got) != 3 {
		t.Errorf("after failed creations: %d connectors, want 3", len(got))
	}

	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteConnector(ctx, full.ID) })
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.GetConnector(ctx, full.ID)
		wantErr(t, "GetConnector(deleted)", err, store.ErrNotFound)
		return nil
	})
	failing(t, s, store.ErrNotFound, map[string]func(ctx context.Context, tx store.Tx) error{
		"DeleteConnector(deleted)": func(ctx context.Context, tx store.Tx) error { return tx.DeleteConnector(ctx, full.ID) },
	})
	if got := listConnectors(t, s, ""); !slices.Equal(got, []int64{bare.ID, feed.ID}) {
		t.Errorf("ListConnectors(all) after delete = %v, want %v", got, []int64{bare.ID, feed.ID})
	}
}

// testConnectorUpdate changes every field twice, so that each one goes from
// set to zero or back, and checks that Owner, ID and Created stay.
func testConnectorUpdate(t *testing.T, s store.Store) {
	aliceCal, aliceOther, bobCal := connectorFixture(t, s)
	c := &store.Connector{
		Owner: "alice", Name: "A", CollectionID: aliceCal.ID, Kind: "caldav", URL: "https://a.example/",
		Username: "ua", Secret: []byte("sa"), AuthType: "basic", Direction: "two-way", Policy: "remote",
		Interval: 15 * time.Minute, Enabled: true, State: "idle", Reason: "",
		NextRun: oddTime(5), Failures: 0, SyncToken: "", CTag: "",
	}
	createConnector(t, s, c)
	created := c.Created
	other := &store.Connector{Owner: "bob", Name: "B", CollectionID: bobCal.ID}
	createConnector(t, s, other)

	steps := []store.Connector{{
		// Every field differs from the created one; times go to zero or
		// from zero.
		Name: "B", CollectionID: aliceOther.ID, Kind: "ics", URL: "https://b.example/feed.ics",
		Username: "", Secret: []byte{0xff, 0, 0xfe}, AuthType: "bearer", Direction: "pull", Policy: "local",
		Interval: 36*time.Hour + time.Nanosecond, Enabled: false, State: "disabled", Reason: "HTTP 401 from remote",
		NextRun: time.Time{}, LastRun: oddTime(6), LastOK: oddTime(7), Failures: 7,
		SyncToken: "tok-1", CTag: "ctag-1",
	}, {
		// And back: every field differs again.
		Name: "", CollectionID: aliceCal.ID, Kind: "caldav", URL: "https://c.example/",
		Username: "uc", Secret: nil, AuthType: "basic", Direction: "push", Policy: "recent",
		Interval: 0, Enabled: true, State: "running", Reason: "",
		NextRun: oddTime(8), LastRun: time.Time{}, LastOK: time.Time{}, Failures: 0,
		SyncToken: "", CTag: "",
	}}
	for i, step := range steps {
		u := step
		u.ID = c.ID
		// Not stored by UpdateConnector.
		u.Owner, u.Created = "bob", oddTime(1)
		update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpdateConnector(ctx, &u) })
		if u.Modified.Before(created) || u.Modified.Location() != time.UTC {
			t.Errorf("step %d: Modified written back as %v, want in UTC, not before Created %v", i, u.Modified, created)
		}
		if !u.LastRun.Equal(stored(step.LastRun)) {
			t.Errorf("step %d: LastRun written back as %v, want %v", i, u.LastRun, stored(step.LastRun))
		}
		want := step
		want.ID, want.Owner, want.Created, want.Modified = c.ID, "alice", created, u.Modified
		want.NextRun, want.LastRun, want.LastOK = stored(step.NextRun), stored(step.LastRun), stored(step.LastOK)
		if want.Secret == nil {
			want.Secret = []byte{}
		}
		sameConnector(t, fmt.Sprintf("GetConnector after update %d", i), getConnector(t, s, c.ID), &want)
	}
	before := getConnector(t, s, c.ID)

	failing(t, s, store.ErrNotFound, map[string]func(ctx context.Context, tx store.Tx) error{
		"UpdateConnector(unknown id)": func(ctx context.Context, tx store.Tx) error {
			return tx.UpdateConnector(ctx, &store.Connector{ID: other.ID + 1000, CollectionID: aliceCal.ID})
		},
		"UpdateConnector(unknown collection)": func(ctx context.Context, tx store.Tx) error {
			u := *before
			u.CollectionID, u.Name = bobCal.ID+1000, "moved"
			return tx.UpdateConnector(ctx, &u)
		},
	})
	sameConnector(t, "GetConnector after failed updates", getConnector(t, s, c.ID), before)
	sameConnector(t, "the other connector", getConnector(t, s, other.ID), func() *store.Connector {
		w := *other
		w.Secret = []byte{}
		return &w
	}())
}

// testConnectorItems covers creating, replacing, ordering and deleting item
// mappings, per connector.
func testConnectorItems(t *testing.T, s store.Store) {
	aliceCal, _, bobCal := connectorFixture(t, s)
	a := &store.Connector{Owner: "alice", CollectionID: aliceCal.ID}
	b := &store.Connector{Owner: "bob", CollectionID: bobCal.ID}
	createConnector(t, s, a)
	createConnector(t, s, b)

	items := func(id int64) []store.ConnectorItem {
		t.Helper()
		var got []store.ConnectorItem
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			its, err := tx.ConnectorItems(ctx, id)
			for _, it := range its {
				got = append(got, *it)
			}
			return err
		})
		return got
	}
	item := func(id int64, uid, n string) store.ConnectorItem {
		return store.ConnectorItem{ConnectorID: id, UID: uid, LocalName: uid + ".ics", LocalETag: "l" + n,
			RemoteHref: "/remote/" + uid + ".ics", RemoteETag: `"r` + n + `"`}
	}
	// Inserted out of order; UIDs order by bytes (upper case first).
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, it := range []store.ConnectorItem{
			item(a.ID, "b", "1"), item(a.ID, "a", "1"), item(a.ID, "C", "1"), item(b.ID, "a", "9"),
		} {
			if err := tx.PutConnectorItem(ctx, &it); err != nil {
				return err
			}
		}
		return nil
	})
	if got, want := items(a.ID), []store.ConnectorItem{item(a.ID, "C", "1"), item(a.ID, "a", "1"), item(a.ID, "b", "1")}; !slices.Equal(got, want) {
		t.Errorf("ConnectorItems(a) = %+v, want %+v", got, want)
	}

	// Replacing keeps one row per UID; deleting an absent UID, or in an
	// unknown connector, is no error.
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		replaced := store.ConnectorItem{ConnectorID: a.ID, UID: "a", LocalName: "", LocalETag: "l2",
			RemoteHref: "/elsewhere/a.ics", RemoteETag: ""}
		if err := tx.PutConnectorItem(ctx, &replaced); err != nil {
			return err
		}
		if err := tx.DeleteConnectorItem(ctx, a.ID, "b"); err != nil {
			return err
		}
		if err := tx.DeleteConnectorItem(ctx, a.ID, "zz"); err != nil {
			return err
		}
		return tx.DeleteConnectorItem(ctx, b.ID+1000, "a")
	})
	want := []store.ConnectorItem{item(a.ID, "C", "1"),
		{ConnectorID: a.ID, UID: "a", LocalETag: "l2", RemoteHref: "/elsewhere/a.ics"}}
	if got := items(a.ID); !slices.Equal(got, want) {
		t.Errorf("ConnectorItems(a) after replace and delete = %+v, want %+v", got, want)
	}
	if got, want := items(b.ID), []store.ConnectorItem{item(b.ID, "a", "9")}; !slices.Equal(got, want) {
		t.Errorf("ConnectorItems(b) = %+v, want %+v (untouched by a's changes)", got, want)
	}
	if got := items(b.ID + 1000); len(got) != 0 {
		t.Errorf("ConnectorItems(unknown) = %+v, want none", got)
	}
	failing(t, s, store.ErrNotFound, map[string]func(ctx context.Context, tx store.Tx) error{
		"PutConnectorItem(unknown connector)": func(ctx context.Context, tx store.Tx) error {
			return tx.PutConnectorItem(ctx, &store.ConnectorItem{ConnectorID: b.ID + 1000, UID: "x"})
		},
	})
}

func connectorRuns(t *testing.T, s store.Store, id int64, limit int) []store.ConnectorRun {
	t.Helper()
	var got []store.ConnectorRun
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		runs, err := tx.ConnectorRuns(ctx, id, limit)
		for _, r := range runs {
			if !r.Started.IsZero() && r.Started.Location() != time.UTC || !r.Ended.IsZero() && r.Ended.Location() != time.UTC {
				t.Errorf("run %d: times %v, %v not in UTC", r.ID, r.Started, r.Ended)
			}
			got = append(got, *r)
		}
		return err
	})
	return got
}

// sameRuns compares runs field by field, times by instant.
func sameRuns(t *testing.T, what string, got []store.ConnectorRun, want ...store.ConnectorRun) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		g, w := got[i], want[i]
		ok = g.Started.Equal(w.Started) && g.Ended.Equal(w.Ended)
		g.Started, g.Ended, w.Started, w.Ended = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		ok = ok && g == w
	}
	if !ok {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// testConnectorRuns covers adding, updating and listing a connector's run
// history, newest first, with and without a limit.
func testConnectorRuns(t *testing.T, s store.Store) {
	aliceCal, _, bobCal := connectorFixture(t, s)
	a := &store.Connector{Owner: "alice", CollectionID: aliceCal.ID}
	b := &store.Connector{Owner: "bob", CollectionID: bobCal.ID}
	createConnector(t, s, a)
	createConnector(t, s, b)

	first := &store.ConnectorRun{ConnectorID: a.ID, Started: oddTime(1), Ended: oddTime(1).Add(time.Second),
		Node: "n1", Status: "ok", PulledCreated: 1, PulledUpdated: 2, PulledDeleted: 3,
		PushedCreated: 4, PushedUpdated: 5, PushedDeleted: 6, Conflicts: 7}
	second := &store.ConnectorRun{ConnectorID: a.ID, Started: oddTime(2), Ended: oddTime(2).Add(time.Minute),
		Node: "n2", Status: "error", RemoteStatus: 503, Error: "remote unavailable"}
	// Added last but started earlier: still the newest.
	third := &store.ConnectorRun{ConnectorID: a.ID, Started: oddTime(1).Add(-time.Hour), Node: "n1", Status: "running"}
	others := &store.ConnectorRun{ConnectorID: b.ID, Started: oddTime(3), Status: "ok"}
	for _, r := range []*store.ConnectorRun{first, second, third, others} {
		update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.AddConnectorRun(ctx, r) })
	}
	if first.ID == 0 || second.ID <= first.ID || third.ID <= second.ID {
		t.Errorf("ids %d, %d, %d: want assigned, increasing", first.ID, second.ID, third.ID)
	}
	if !first.Started.Equal(stored(oddTime(1))) || first.Started.Location() != time.UTC || !third.Ended.IsZero() {
		t.Errorf("times written back as %v and %v, want %v in UTC and zero", first.Started, third.Ended, stored(oddTime(1)))
	}

	sameRuns(t, "ConnectorRuns(a, 0)", connectorRuns(t, s, a.ID, 0), *third, *second, *first)
	sameRuns(t, "ConnectorRuns(a, -1)", connectorRuns(t, s, a.ID, -1), *third, *second, *first)
	sameRuns(t, "ConnectorRuns(a, 2)", connectorRuns(t, s, a.ID, 2), *third, *second)
	sameRuns(t, "ConnectorRuns(a, 1)", connectorRuns(t, s, a.ID, 1), *third)
	sameRuns(t, "ConnectorRuns(a, 10)", connectorRuns(t, s, a.ID, 10), *third, *second, *first)
	sameRuns(t, "ConnectorRuns(b, 0)", connectorRuns(t, s, b.ID, 0), *others)
	if got := connectorRuns(t, s, b.ID+1000, 0); len(got) != 0 {
		t.Errorf("ConnectorRuns(unknown) = %+v, want none", got)
	}

	// Every field of the running run changes, the ID stays.
	finished := store.ConnectorRun{ID: third.ID, ConnectorID: a.ID, Started: oddTime(9), Ended: oddTime(10),
		Node: "n3", Status: "retry", PulledCreated: 11, PulledUpdated: 12, PulledDeleted: 13,
		PushedCreated: 14, PushedUpdated: 15, PushedDeleted: 16, Conflicts: 17, RemoteStatus: 429,
		Error: "rate limited"}
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpdateConnectorRun(ctx, &finished) })
	if !finished.Ended.Equal(stored(oddTime(10))) || finished.Ended.Location() != time.UTC {
		t.Errorf("Ended written back as %v, want %v in UTC", finished.Ended, stored(oddTime(10)))
	}
	// And back to zero values.
	cleared := store.ConnectorRun{ID: second.ID, ConnectorID: a.ID}
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpdateConnectorRun(ctx, &cleared) })
	sameRuns(t, "ConnectorRuns(a) after updates", connectorRuns(t, s, a.ID, 0), finished, cleared, *first)
	sameRuns(t, "ConnectorRuns(b) after a's updates", connectorRuns(t, s, b.ID, 0), *others)

	failing(t, s, store.ErrNotFound, map[string]func(ctx context.Context, tx store.Tx) error{
		"UpdateConnectorRun(unknown id)": func(ctx context.Context, tx store.Tx) error {
			return tx.UpdateConnectorRun(ctx, &store.ConnectorRun{ID: others.ID + 1000, ConnectorID: a.ID})
		},
		"UpdateConnectorRun(another connector's run)": func(ctx context.Context, tx store.Tx) error {
			return tx.UpdateConnectorRun(ctx, &store.ConnectorRun{ID: others.ID, ConnectorID: a.ID, Status: "x"})
		},
		"AddConnectorRun(unknown connector)": func(ctx context.Context, tx store.Tx) error {
			return tx.AddConnectorRun(ctx, &store.ConnectorRun{ConnectorID: b.ID + 1000})
		},
	})
	sameRuns(t, "ConnectorRuns(b) after failed updates", connectorRuns(t, s, b.ID, 0), *others)
}

func connectorConflicts(t *testing.T, s store.Store, id int64) []*store.ConnectorConflict {
	t.Helper()
	var got []*store.ConnectorConflict
	view(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		got, err = tx.ConnectorConflicts(ctx, id)
		return err
	})
	return got
}

// sameConflicts compares field by field: Data as bytes (nil and empty told
// apart), Created by instant and location.
func sameConflicts(t *testing.T, what string, got []*store.ConnectorConflict, want ...*store.ConnectorConflict) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		g, w := got[i], want[i]
		ok = g.ID == w.ID && g.ConnectorID == w.ConnectorID && g.RunID == w.RunID && g.UID == w.UID &&
			g.Side == w.Side && bytes.Equal(g.Data, w.Data) && (g.Data == nil) == (w.Data == nil) &&
			sameTime(g.Created, w.Created)
	}
	if !ok {
		t.Errorf("%s:\n got %s\nwant %s", what, describeConflicts(got), describeConflicts(want))
	}
}

func describeConflicts(cs []*store.ConnectorConflict) string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%+v (Data nil %v)", *c, c.Data == nil))
	}
	return fmt.Sprint(out)
}

// testConnectorConflicts covers keeping losing versions, newest first, per
// connector.
func testConnectorConflicts(t *testing.T, s store.Store) {
	aliceCal, _, bobCal := connectorFixture(t, s)
	a := &store.Connector{Owner: "alice", CollectionID: aliceCal.ID}
	b := &store.Connector{Owner: "bob", CollectionID: bobCal.ID}
	createConnector(t, s, a)
	createConnector(t, s, b)
	run := &store.ConnectorRun{ConnectorID: a.ID, Status: "ok"}
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.AddConnectorRun(ctx, run) })

	older := &store.ConnectorConflict{ConnectorID: a.ID, RunID: run.ID, UID: "u1", Side: "remote",
		Data: []byte("BEGIN:VCALENDAR\r\n\x00\xff"), Created: oddTime(2)}
	// No Created: the store stamps now. An earlier Created than older's
	// does not make it older: it was added last.
	stamped := &store.ConnectorConflict{ConnectorID: a.ID, RunID: run.ID, UID: "u2", Side: "local"}
	backdated := &store.ConnectorConflict{ConnectorID: a.ID, UID: "u1", Side: "local", Data: []byte("v"), Created: oddTime(1)}
	others := &store.ConnectorConflict{ConnectorID: b.ID, UID: "u1", Side: "remote", Data: []byte("b")}
	for _, c := range []*store.ConnectorConflict{older, stamped, backdated, others} {
		update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.AddConnectorConflict(ctx, c) })
	}
	if older.ID == 0 || stamped.ID <= older.ID || backdated.ID <= stamped.ID {
		t.Errorf("ids %d, %d, %d: want assigned, increasing", older.ID, stamped.ID, backdated.ID)
	}
	if !older.Created.Equal(stored(oddTime(2))) || older.Created.Location() != time.UTC {
		t.Errorf("Created written back as %v, want %v in UTC", older.Created, stored(oddTime(2)))
	}
	if stamped.Created.IsZero() || stamped.Created.Location() != time.UTC {
		t.Errorf("Created of a conflict added without one = %v, want now in UTC", stamped.Created)
	}

	wantStamped := *stamped
	wantStamped.Data = []byte{}
	sameConflicts(t, "ConnectorConflicts(a)", connectorConflicts(t, s, a.ID), backdated, &wantStamped, older)
	sameConflicts(t, "ConnectorConflicts(b)", connectorConflicts(t, s, b.ID), others)
	if got := connectorConflicts(t, s, b.ID+1000); len(got) != 0 {
		t.Errorf("ConnectorConflicts(unknown) = %s, want none", describeConflicts(got))
	}
	failing(t, s, store.ErrNotFound, map[string]func(ctx context.Context, tx store.Tx) error{
		"AddConnectorConflict(unknown connector)": func(ctx context.Context, tx store.Tx) error {
			return tx.AddConnectorConflict(ctx, &store.ConnectorConflict{ConnectorID: b.ID + 1000, UID: "x"})
		},
	})
}

func connectorPermissions(t *testing.T, s store.Store) []store.ConnectorPermission {
	t.Helper()
	var got []store.ConnectorPermission
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		ps, err := tx.ConnectorPermissions(ctx)
		for _, p := range ps {
			got = append(got, *p)
		}
		return err
	})
	return got
}

// testConnectorPermissions covers setting, replacing, ordering and deleting
// permissions.
func testConnectorPermissions(t *testing.T, s store.Store) {
	if got := connectorPermissions(t, s); len(got) != 0 {
		t.Errorf("ConnectorPermissions of an empty store = %+v, want none", got)
	}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, p := range []store.ConnectorPermission{
			{Subject: "user:bob", Allowed: true},
			{Subject: "*", Allowed: false},
			{Subject: "group:team", Allowed: true},
			{Subject: "user:Alice", Allowed: false},
		} {
			if err := tx.SetConnectorPermission(ctx, &p); err != nil {
				return err
			}
		}
		return nil
	})
	// Subjects order by bytes: "*" < "g" < "u", and "A" < "b".
	want := []store.ConnectorPermission{
		{Subject: "*", Allowed: false},
		{Subject: "group:team", Allowed: true},
		{Subject: "user:Alice", Allowed: false},
		{Subject: "user:bob", Allowed: true},
	}
	if got := connectorPermissions(t, s); !slices.Equal(got, want) {
		t.Errorf("ConnectorPermissions = %+v, want %+v", got, want)
	}

	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.SetConnectorPermission(ctx, &store.ConnectorPermission{Subject: "*", Allowed: true}); err != nil {
			return err
		}
		if err := tx.SetConnectorPermission(ctx, &store.ConnectorPermission{Subject: "user:bob", Allowed: false}); err != nil {
			return err
		}
		if err := tx.DeleteConnectorPermission(ctx, "group:team"); err != nil {
			return err
		}
		return tx.DeleteConnectorPermission(ctx, "group:nobody")
	})
	want = []store.ConnectorPermission{
		{Subject: "*", Allowed: true},
		{Subject: "user:Alice", Allowed: false},
		{Subject: "user:bob", Allowed: false},
	}
	if got := connectorPermissions(t, s); !slices.Equal(got, want) {
		t.Errorf("ConnectorPermissions after replace and delete = %+v, want %+v", got, want)
	}
}

// connectorWithHistory creates a connector with one item, one run and one
// conflict.
func connectorWithHistory(t *testing.T, s store.Store, owner string, collectionID int64) *store.Connector {
	t.Helper()
	c := &store.Connector{Owner: owner, CollectionID: collectionID, Name: owner}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.CreateConnector(ctx, c); err != nil {
			return err
		}
		if err := tx.PutConnectorItem(ctx, &store.ConnectorItem{ConnectorID: c.ID, UID: "u"}); err != nil {
			return err
		}
		run := &store.ConnectorRun{ConnectorID: c.ID, Status: "ok"}
		if err := tx.AddConnectorRun(ctx, run); err != nil {
			return err
		}
		return tx.AddConnectorConflict(ctx, &store.ConnectorConflict{ConnectorID: c.ID, RunID: run.ID, UID: "u"})
	})
	return c
}

// history counts a connector's items, runs and conflicts.
func history(t *testing.T, s store.Store, id int64) (items, runs, conflicts int) {
	t.Helper()
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		its, err := tx.ConnectorItems(ctx, id)
		if err != nil {
			return err
		}
		rs, err := tx.ConnectorRuns(ctx, id, 0)
		if err != nil {
			return err
		}
		cs, err := tx.ConnectorConflicts(ctx, id)
		items, runs, conflicts = len(its), len(rs), len(cs)
		return err
	})
	return items, runs, conflicts
}

// testConnectorCascades checks that DeleteConnector, DeleteCollection and
// DeleteUser take connectors and their history with them, and nothing else.
func testConnectorCascades(t *testing.T, s store.Store) {
	aliceCal, aliceOther, bobCal := connectorFixture(t, s)
	onCal := connectorWithHistory(t, s, "alice", aliceCal.ID)
	onOther := connectorWithHistory(t, s, "alice", aliceOther.ID)
	// bob's connector on alice's calendar goes with the calendar, though
	// bob stays.
	bobsOnOther := connectorWithHistory(t, s, "bob", aliceOther.ID)
	bobs := connectorWithHistory(t, s, "bob", bobCal.ID)
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.SetConnectorPermission(ctx, &store.ConnectorPermission{Subject: "user:alice", Allowed: true})
	})

	gone := func(what string, cs ...*store.Connector) {
		t.Helper()
		for _, c := range cs {
			if i, r, k := history(t, s, c.ID); i+r+k != 0 {
				t.Errorf("%s: connector %d left %d items, %d runs, %d conflicts", what, c.ID, i, r, k)
			}
			view(t, s, func(ctx context.Context, tx store.Tx) error {
				_, err := tx.GetConnector(ctx, c.ID)
				wantErr(t, fmt.Sprintf("%s: GetConnector(%d)", what, c.ID), err, store.ErrNotFound)
				return nil
			})
		}
	}
	kept := func(what string, cs ...*store.Connector) {
		t.Helper()
		var want []int64
		for _, c := range cs {
			want = append(want, c.ID)
			if i, r, k := history(t, s, c.ID); i != 1 || r != 1 || k != 1 {
				t.Errorf("%s: connector %d has %d items, %d runs, %d conflicts, want 1 of each", what, c.ID, i, r, k)
			}
		}
		if got := listConnectors(t, s, ""); !slices.Equal(got, want) {
			t.Errorf("%s: connectors %v, want %v", what, got, want)
		}
	}

	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteConnector(ctx, onCal.ID) })
	gone("after DeleteConnector", onCal)
	kept("after DeleteConnector", onOther, bobsOnOther, bobs)

	// A failed delete cascades nothing: the Update rolls back.
	ctx := t.Context()
	errBoom := errors.New("boom")
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteUser(ctx, "bob"); err != nil {
			return err
		}
		if err := tx.DeleteCollection(ctx, aliceOther.ID); err != nil {
			return err
		}
		return errBoom
	})
	wantErr(t, "failing Update", err, errBoom)
	kept("after a rolled-back delete", onOther, bobsOnOther, bobs)

	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteCollection(ctx, aliceOther.ID) })
	gone("after DeleteCollection", onOther, bobsOnOther)
	kept("after DeleteCollection", bobs)

	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteUser(ctx, "bob") })
	gone("after DeleteUser", bobs)
	kept("after DeleteUser")
	// A new bob starts without the old one's connectors.
	users(t, s, "bob")
	if got := listConnectors(t, s, "bob"); len(got) != 0 {
		t.Errorf("connectors of a new bob = %v, want none", got)
	}
	// Permissions name subjects, not rows: they are the administrators' to
	// remove.
	if got := connectorPermissions(t, s); len(got) != 1 {
		t.Errorf("permissions after the deletes = %+v, want the one set", got)
	}
}

// connectorState is everything the connector part of the store holds about
// one connector, for before/after comparisons.
type connectorState struct {
	connector   *store.Connector
	items       []store.ConnectorItem
	runs        []store.ConnectorRun
	conflicts   []*store.ConnectorConflict
	permissions []store.ConnectorPermission
	all         []int64
}

func readConnectorState(t *testing.T, s store.Store, id int64) connectorState {
	t.Helper()
	st := connectorState{
		connector:   getConnector(t, s, id),
		runs:        connectorRuns(t, s, id, 0),
		conflicts:   connectorConflicts(t, s, id),
		permissions: connectorPermissions(t, s),
		all:         listConnectors(t, s, ""),
	}
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		its, err := tx.ConnectorItems(ctx, id)
		for _, it := range its {
			st.items = append(st.items, *it)
		}
		return err
	})
	return st
}

func sameConnectorState(t *testing.T, what string, got, want connectorState) {
	t.Helper()
	sameConnector(t, what+": connector", got.connector, want.connector)
	if !slices.Equal(got.items, want.items) {
		t.Errorf("%s: items %+v, want %+v", what, got.items, want.items)
	}
	sameRuns(t, what+": runs", got.runs, want.runs...)
	sameConflicts(t, what+": conflicts", got.conflicts, want.conflicts...)
	if !slices.Equal(got.permissions, want.permissions) {
		t.Errorf("%s: permissions %+v, want %+v", what, got.permissions, want.permissions)
	}
	if !slices.Equal(got.all, want.all) {
		t.Errorf("%s: connectors %v, want %v", what, got.all, want.all)
	}
}

// connectorWrites returns one call of every connector write, each of which
// succeeds on the fixture of testConnectorRollback and
// testConnectorWritesInViewFail and changes what readConnectorState reads.
func connectorWrites(c *store.Connector, run *store.ConnectorRun, otherCollection int64) []struct {
	name string
	fn   func(ctx context.Context, tx store.Tx) error
} {
	return []struct {
		name string
		fn   func(ctx context.Context, tx store.Tx) error
	}{
		{"CreateConnector", func(ctx context.Context, tx store.Tx) error {
			return tx.CreateConnector(ctx, &store.Connector{Owner: "alice", CollectionID: c.CollectionID})
		}},
		{"UpdateConnector", func(ctx context.Context, tx store.Tx) error {
			u := *c
			u.Name, u.CollectionID, u.Secret, u.Enabled, u.Interval = "changed", otherCollection, []byte("new"), !c.Enabled, time.Second
			return tx.UpdateConnector(ctx, &u)
		}},
		{"PutConnectorItem(new)", func(ctx context.Context, tx store.Tx) error {
			return tx.PutConnectorItem(ctx, &store.ConnectorItem{ConnectorID: c.ID, UID: "new"})
		}},
		{"PutConnectorItem(replace)", func(ctx context.Context, tx store.Tx) error {
			return tx.PutConnectorItem(ctx, &store.ConnectorItem{ConnectorID: c.ID, UID: "u", LocalETag: "changed"})
		}},
		{"DeleteConnectorItem", func(ctx context.Context, tx store.Tx) error {
			return tx.DeleteConnectorItem(ctx, c.ID, "u")
		}},
		{"AddConnectorRun", func(ctx context.Context, tx store.Tx) error {
			return tx.AddConnectorRun(ctx, &store.ConnectorRun{ConnectorID: c.ID, Status: "running"})
		}},
		{"UpdateConnectorRun", func(ctx context.Context, tx store.Tx) error {
			u := *run
			u.Status, u.Ended, u.Error = "error", at(6, 1, 0, 0), "changed"
			return tx.UpdateConnectorRun(ctx, &u)
		}},
		{"AddConnectorConflict", func(ctx context.Context, tx store.Tx) error {
			return tx.AddConnectorConflict(ctx, &store.ConnectorConflict{ConnectorID: c.ID, UID: "new", Data: []byte("x")})
		}},
		{"SetConnectorPermission(new)", func(ctx context.Context, tx store.Tx) error {
			return tx.SetConnectorPermission(ctx, &store.ConnectorPermission{Subject: "*", Allowed: true})
		}},
		{"SetConnectorPermission(replace)", func(ctx context.Context, tx store.Tx) error {
			return tx.SetConnectorPermission(ctx, &store.ConnectorPermission{Subject: "user:alice", Allowed: false})
		}},
		{"DeleteConnectorPermission", func(ctx context.Context, tx store.Tx) error {
			return tx.DeleteConnectorPermission(ctx, "user:alice")
		}},
		{"DeleteConnector", func(ctx context.Context, tx store.Tx) error { return tx.DeleteConnector(ctx, c.ID) }},
	}
}

// connectorWriteFixture creates a connector with an item, a run, a
// conflict and a permission, and returns the connector, the run and
// another calendar of its owner.
func connectorWriteFixture(t *testing.T, s store.Store) (*store.Connector, *store.ConnectorRun, int64) {
	t.Helper()
	aliceCal, aliceOther, _ := connectorFixture(t, s)
	c := &store.Connector{Owner: "alice", Name: "c", CollectionID: aliceCal.ID, Secret: []byte("s"),
		Enabled: true, Interval: time.Minute, NextRun: at(3, 1, 9, 0)}
	run := &store.ConnectorRun{Started: at(3, 1, 9, 0), Status: "ok"}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.CreateConnector(ctx, c); err != nil {
			return err
		}
		if err := tx.PutConnectorItem(ctx, &store.ConnectorItem{ConnectorID: c.ID, UID: "u", LocalETag: "e"}); err != nil {
			return err
		}
		run.ConnectorID = c.ID
		if err := tx.AddConnectorRun(ctx, run); err != nil {
			return err
		}
		if err := tx.AddConnectorConflict(ctx, &store.ConnectorConflict{ConnectorID: c.ID, RunID: run.ID, UID: "u",
			Side: "local", Data: []byte("d")}); err != nil {
			return err
		}
		return tx.SetConnectorPermission(ctx, &store.ConnectorPermission{Subject: "user:alice", Allowed: true})
	})
	return c, run, aliceOther.ID
}

// testConnectorRollback: every connector write inside an Update that fails
// leaves nothing behind, each on its own and all together.
func testConnectorRollback(t *testing.T, s store.Store) {
	ctx := t.Context()
	c, run, other := connectorWriteFixture(t, s)
	before := readConnectorState(t, s, c.ID)
	errBoom := errors.New("boom")
	writes := connectorWrites(c, run, other)
	for _, w := range writes {
		err := s.Update(ctx, func(tx store.Tx) error {
			if err := w.fn(ctx, tx); err != nil {
				return fmt.Errorf("the write itself failed: %w", err)
			}
			return errBoom
		})
		wantErr(t, w.name+" in a failing Update", err, errBoom)
		sameConnectorState(t, "after a rolled-back "+w.name, readConnectorState(t, s, c.ID), before)
	}
	err := s.Update(ctx, func(tx store.Tx) error {
		for _, w := range writes {
			if err := w.fn(ctx, tx); err != nil {
				return fmt.Errorf("%s: %w", w.name, err)
			}
		}
		return errBoom
	})
	wantErr(t, "every write in a failing Update", err, errBoom)
	sameConnectorState(t, "after every write rolled back", readConnectorState(t, s, c.ID), before)

	// The same writes committed do change the state, so the comparisons
	// above can fail.
	for _, w := range writes {
		update(t, s, func(ctx context.Context, tx store.Tx) error { return w.fn(ctx, tx) })
	}
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.GetConnector(ctx, c.ID)
		wantErr(t, "GetConnector after the writes committed", err, store.ErrNotFound)
		return nil
	})
}

// testConnectorWritesInViewFail: every connector write fails inside View,
// where it would succeed inside Update, and changes nothing.
func testConnectorWritesInViewFail(t *testing.T, s store.Store) {
	ctx := t.Context()
	c, run, other := connectorWriteFixture(t, s)
	before := readConnectorState(t, s, c.ID)
	for _, w := range connectorWrites(c, run, other) {
		if err := s.View(ctx, func(tx store.Tx) error { return w.fn(ctx, tx) }); err == nil {
			t.Errorf("%s inside View succeeded", w.name)
		}
	}
	sameConnectorState(t, "after writes in View", readConnectorState(t, s, c.ID), before)
}
