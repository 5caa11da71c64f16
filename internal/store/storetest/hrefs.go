package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"koyomi.dev/koyomi/internal/store"
)

// testObjectHref: an object keeps the Href it was created with, through
// replacements with another, in every read and in its change log entry,
// also once deleted; a new object under the name starts afresh.
func testObjectHref(t *testing.T, s store.Store) {
	c := seed(t, s)
	putHref := func(href, uid, data string) *store.Object {
		t.Helper()
		o := &store.Object{CollectionID: c.ID, Name: "a@b.ics", Href: href, UID: uid, Data: []byte(data)}
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.PutObject(ctx, o, store.PutOptions{})
			return err
		})
		return o
	}
	if o := putHref("a%40b.ics", "u", "1"); o.Href != "a%40b.ics" {
		t.Errorf("created: Href = %q", o.Href)
	}
	if o := putHref("", "u", "2"); o.Href != "a%40b.ics" {
		t.Errorf("replaced: Href written back = %q, want the one it was created with", o.Href)
	}
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.GetObject(ctx, c.ID, "a@b.ics")
		if err != nil || got.Href != "a%40b.ics" {
			t.Errorf("GetObject: %+v, %v", got, err)
		}
		for _, withData := range []bool{false, true} {
			objs, err := tx.ListObjects(ctx, c.ID, withData)
			if err != nil || len(objs) != 1 || objs[0].Href != "a%40b.ics" {
				t.Errorf("ListObjects(withData %v): %v", withData, err)
			}
		}
		objs, err := tx.GetObjects(ctx, c.ID, []string{"a@b.ics"})
		if err != nil || len(objs) != 1 || objs[0].Href != "a%40b.ics" {
			t.Errorf("GetObjects: %v", err)
		}
		changes, err := tx.Changes(ctx, c.ID, 0)
		if want := []store.Change{{Name: "a@b.ics", Href: "a%40b.ics", Revision: 2}}; err != nil || !slices.Equal(changes, want) {
			t.Errorf("Changes(0) = %+v, %v; want %+v", changes, err, want)
		}
		return nil
	})

	err := s.Update(t.Context(), func(tx store.Tx) error {
		_, err := tx.PutObject(t.Context(), &store.Object{CollectionID: c.ID, Name: "other.ics", UID: "u", Data: []byte("x")}, store.PutOptions{})
		return err
	})
	var conflict *store.UIDConflictError
	if !errors.As(err, &conflict) || conflict.Href != "a%40b.ics" {
		t.Errorf("UID conflict: %v, want the holder's Href", err)
	}

	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteObject(ctx, c.ID, "a@b.ics", "") })
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		changes, err := tx.Changes(ctx, c.ID, 2)
		if want := []store.Change{{Name: "a@b.ics", Href: "a%40b.ics", Revision: 3, Deleted: true}}; err != nil || !slices.Equal(changes, want) {
			t.Errorf("tombstone: Changes(2) = %+v, %v; want %+v", changes, err, want)
		}
		return nil
	})
	if o := putHref("", "u", "3"); o.Href != "" {
		t.Errorf("created again: Href = %q, want none", o.Href)
	}
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		changes, err := tx.Changes(ctx, c.ID, 3)
		if want := []store.Change{{Name: "a@b.ics", Revision: 4}}; err != nil || !slices.Equal(changes, want) {
			t.Errorf("created again: Changes(3) = %+v, %v; want %+v", changes, err, want)
		}
		return nil
	})
}
