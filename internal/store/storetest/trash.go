package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// testTrash covers adding, reading, listing (without payloads), sizing,
// deleting and purging trash items, which outlive their owner.
func testTrash(t *testing.T, s store.Store) {
	day := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	old := &store.TrashItem{Owner: "alice", Kind: store.TrashObject, Name: "work/a.ics", CollectionID: 7,
		Size: 10, Deleted: day, DeletedBy: "bob", Payload: []byte("old")}
	recent := &store.TrashItem{Owner: "alice", Kind: store.TrashCollection, Name: "work", Size: 32,
		Deleted: day.Add(48 * time.Hour), Payload: []byte("recent")}
	other := &store.TrashItem{Owner: "carol", Kind: store.TrashUser, Name: "carol", Size: 5,
		Deleted: day.Add(time.Hour), Payload: []byte{}}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, it := range []*store.TrashItem{old, recent, other} {
			if err := tx.AddTrash(ctx, it); err != nil {
				return err
			}
		}
		return nil
	})
	if old.ID == 0 || recent.ID <= old.ID || other.ID <= recent.ID {
		t.Errorf("ids %d %d %d: want assigned and increasing", old.ID, recent.ID, other.ID)
	}
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.GetTrash(ctx, old.ID)
		if err != nil {
			return err
		}
		if got.Owner != "alice" || got.Kind != store.TrashObject || got.Name != "work/a.ics" || got.CollectionID != 7 ||
			got.Size != 10 || !got.Deleted.Equal(day) || got.DeletedBy != "bob" || !bytes.Equal(got.Payload, []byte("old")) {
			t.Errorf("GetTrash = %+v, want the item as added", got)
		}
		list, err := tx.ListTrash(ctx, "alice")
		if err != nil {
			return err
		}
		if len(list) != 2 || list[0].ID != old.ID || list[1].ID != recent.ID || list[0].Payload != nil {
			t.Errorf("ListTrash(alice) = %+v, want old then recent, without payloads", list)
		}
		all, err := tx.ListTrash(ctx, "")
		if err != nil {
			return err
		}
		if len(all) != 3 {
			t.Errorf("ListTrash(\"\") has %d items, want 3", len(all))
		}
		items, size, err := tx.TrashSize(ctx)
		if err != nil {
			return err
		}
		if items != 3 || size != 47 {
			t.Errorf("TrashSize = %d items, %d bytes; want 3, 47", items, size)
		}
		if _, err := tx.GetTrash(ctx, other.ID+100); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetTrash(unknown) = %v, want ErrNotFound", err)
		}
		if err := tx.AddTrash(ctx, &store.TrashItem{Owner: "x"}); err == nil {
			t.Error("AddTrash in a View succeeded")
		}
		return nil
	})
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.RetargetTrash(ctx, 7, 9) })
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.GetTrash(ctx, old.ID)
		if err == nil && got.CollectionID != 9 {
			t.Errorf("after RetargetTrash(7, 9) the item names collection %d", got.CollectionID)
		}
		return err
	})
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		n, err := tx.PurgeTrash(ctx, day.Add(2*time.Hour))
		if err != nil {
			return err
		}
		if n != 2 {
			t.Errorf("PurgeTrash removed %d, want 2 (old and other)", n)
		}
		if err := tx.DeleteTrash(ctx, recent.ID); err != nil {
			return err
		}
		if err := tx.DeleteTrash(ctx, recent.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second DeleteTrash = %v, want ErrNotFound", err)
		}
		items, size, err := tx.TrashSize(ctx)
		if err != nil {
			return err
		}
		if items != 0 || size != 0 {
			t.Errorf("TrashSize after purge = %d, %d; want 0, 0", items, size)
		}
		return nil
	})
}
