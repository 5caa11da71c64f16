package storetest

import (
	"context"
	"fmt"
	"testing"

	"koyomi.dev/koyomi/internal/store"
)

// viewFixture creates users alice and bob and a virtual calendar of
// alice's shared with bob, and returns its ID.
func viewFixture(t *testing.T, s store.Store) int64 {
	t.Helper()
	users(t, s, "alice", "bob")
	vc := &store.VirtualCalendar{Owner: "alice", Name: "v", Definition: []byte(`{}`), SharedWith: []string{"user:bob"}}
	createVirtual(t, s, vc)
	return vc.ID
}

func testViewSubscriptions(t *testing.T, s store.Store) {
	ctx := t.Context()
	id := viewFixture(t, s)
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.GetViewSubscription(ctx, id, "bob")
		wantErr(t, "GetViewSubscription before any", err, store.ErrNotFound)
		return nil
	})
	sub := &store.ViewSubscription{VC: id, Viewer: "bob", DisplayName: "アリス (家族)", Color: "#FF0000FF", Order: 3, Hidden: true, Subscribed: true}
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.PutViewSubscription(ctx, sub) })
	// Replaced whole.
	sub2 := &store.ViewSubscription{VC: id, Viewer: "bob", Color: "#00FF00", Subscribed: false}
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.PutViewSubscription(ctx, sub2) })
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.GetViewSubscription(ctx, id, "bob")
		if err != nil {
			return err
		}
		if *got != *sub2 {
			t.Errorf("GetViewSubscription = %+v, want %+v", *got, *sub2)
		}
		list, err := tx.ViewSubscriptions(ctx, "bob")
		if err != nil {
			return err
		}
		if len(list) != 1 || *list[0] != *sub2 {
			t.Errorf("ViewSubscriptions(bob) = %v, want the one", list)
		}
		if list, _ := tx.ViewSubscriptions(ctx, "alice"); len(list) != 0 {
			t.Errorf("ViewSubscriptions(alice) = %d, want none", len(list))
		}
		return nil
	})
	for _, bad := range []*store.ViewSubscription{{VC: id + 100, Viewer: "bob"}, {VC: id, Viewer: "nobody"}} {
		err := s.Update(ctx, func(tx store.Tx) error { return tx.PutViewSubscription(ctx, bad) })
		wantErr(t, fmt.Sprintf("PutViewSubscription(%d, %s)", bad.VC, bad.Viewer), err, store.ErrNotFound)
	}
	// Rows go with the viewer and with the virtual calendar.
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteUser(ctx, "bob") })
	users(t, s, "bob")
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.GetViewSubscription(ctx, id, "bob")
		wantErr(t, "subscription of a deleted viewer", err, store.ErrNotFound)
		return nil
	})
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.PutViewSubscription(ctx, sub) })
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteVirtualCalendar(ctx, id) })
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		list, err := tx.ViewSubscriptions(ctx, "bob")
		if len(list) != 0 {
			t.Errorf("subscriptions outlive their virtual calendar: %v", list)
		}
		return err
	})
}

func testViewSyncLog(t *testing.T, s store.Store) {
	ctx := t.Context()
	id := viewFixture(t, s)
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.GetViewSyncState(ctx, id, "bob")
		wantErr(t, "GetViewSyncState before any", err, store.ErrNotFound)
		return nil
	})
	when := at(3, 1, 10, 0)
	record := func(rev int64, members ...*store.ViewMember) {
		t.Helper()
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.RecordViewSync(ctx, &store.ViewSyncState{VC: id, Viewer: "bob", Key: fmt.Sprintf("k%d", rev),
				Sources: fmt.Sprintf("1-%d", rev), Revision: rev}, members)
		})
	}
	record(1, &store.ViewMember{Name: "b.ics", ETag: "e1", Revision: 1, FirstSeen: 1, Modified: when},
		&store.ViewMember{Name: "a.ics", ETag: "e2", Revision: 1, FirstSeen: 1, Modified: when})
	record(2, &store.ViewMember{Name: "a.ics", Revision: 2, FirstSeen: 1, Deleted: true, Modified: when.Add(1)})
	record(3)
	names := func(ms []*store.ViewMember) string {
		out := ""
		for _, m := range ms {
			out += fmt.Sprintf("%s@%d/%d/%v/%s ", m.Name, m.Revision, m.FirstSeen, m.Deleted, m.ETag)
		}
		return out
	}
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		st, err := tx.GetViewSyncState(ctx, id, "bob")
		if err != nil {
			return err
		}
		if st.Key != "k3" || st.Sources != "1-3" || st.Revision != 3 {
			t.Errorf("GetViewSyncState = %+v", *st)
		}
		all, err := tx.ViewMembers(ctx, id, "bob", 0)
		if err != nil {
			return err
		}
		if got, want := names(all), "b.ics@1/1/false/e1 a.ics@2/1/true/ "; got != want {
			t.Errorf("ViewMembers(0) = %q, want %q", got, want)
		}
		if len(all) == 2 && !sameTime(all[0].Modified, when) {
			t.Errorf("Modified = %v, want %v", all[0].Modified, when)
		}
		since1, err := tx.ViewMembers(ctx, id, "bob", 1)
		if got, want := names(since1), "a.ics@2/1/true/ "; got != want {
			t.Errorf("ViewMembers(1) = %q, want %q", got, want)
		}
		if other, _ := tx.ViewMembers(ctx, id, "alice", 0); len(other) != 0 {
			t.Errorf("another viewer's log has %d entries", len(other))
		}
		return err
	})
	err := s.Update(ctx, func(tx store.Tx) error {
		return tx.RecordViewSync(ctx, &store.ViewSyncState{VC: id, Viewer: "nobody", Revision: 1}, nil)
	})
	wantErr(t, "RecordViewSync for an unknown viewer", err, store.ErrNotFound)
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteVirtualCalendar(ctx, id) })
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		if ms, _ := tx.ViewMembers(ctx, id, "bob", 0); len(ms) != 0 {
			t.Errorf("the sync log outlives its virtual calendar: %d entries", len(ms))
		}
		return nil
	})
}
