package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

func testRollbackOnError(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := seed(t, s)
	put(t, s, c.ID, "keep.ics", "keep", "K")
	errBoom := errors.New("boom")
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateUser(ctx, &store.User{Name: "ghost"}); err != nil {
			return err
		}
		if _, err := tx.PutObject(ctx, &store.Object{CollectionID: c.ID, Name: "ghost.ics", Data: []byte("G")}, store.PutOptions{}); err != nil {
			return err
		}
		if err := tx.DeleteObject(ctx, c.ID, "keep.ics", ""); err != nil {
			return err
		}
		if err := tx.SetProperty(ctx, "u:ghost/principal", "urn:x", "p", []byte("<p/>")); err != nil {
			return err
		}
		return fmt.Errorf("failing on purpose: %w", errBoom)
	})
	wantErr(t, "Update", err, errBoom)

	view(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.GetUser(ctx, "ghost")
		wantErr(t, "GetUser(rolled back)", err, store.ErrNotFound)
		_, err = tx.GetObject(ctx, c.ID, "ghost.ics")
		wantErr(t, "GetObject(rolled back)", err, store.ErrNotFound)
		if _, err := tx.GetObject(ctx, c.ID, "keep.ics"); err != nil {
			t.Errorf("rolled back delete took effect: %v", err)
		}
		props, err := tx.Properties(ctx, "u:ghost/principal")
		if err != nil || len(props) != 0 {
			t.Errorf("rolled back property: %v, %v", props, err)
		}
		changes, err := tx.Changes(ctx, c.ID, 1)
		if err != nil || len(changes) != 0 {
			t.Errorf("rolled back changes logged: %v, %v", changes, err)
		}
		return nil
	})
	if got := getCollection(t, s, c.ID); got.Revision != 1 {
		t.Errorf("revision after rollback = %d, want 1", got.Revision)
	}

	// A panicking callback must not leave the transaction (or the single
	// writer) behind.
	func() {
		defer func() { _ = recover() }()
		_ = s.Update(ctx, func(tx store.Tx) error {
			if err := tx.CreateUser(ctx, &store.User{Name: "panic"}); err != nil {
				return err
			}
			panic("callback panics")
		})
	}()
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.GetUser(ctx, "panic")
		wantErr(t, "GetUser after panicking Update", err, store.ErrNotFound)
		return nil
	})
}

func testWritesInViewFail(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := seed(t, s)
	existing := put(t, s, c.ID, "a.ics", "a", "A")
	writes := []struct {
		name string
		fn   func(tx store.Tx) error
	}{
		{"CreateUser", func(tx store.Tx) error { return tx.CreateUser(ctx, &store.User{Name: "bob"}) }},
		{"UpdateUser", func(tx store.Tx) error { return tx.UpdateUser(ctx, &store.User{Name: "alice", DisplayName: "X"}) }},
		{"DeleteUser", func(tx store.Tx) error { return tx.DeleteUser(ctx, "alice") }},
		{"CreateCollection", func(tx store.Tx) error {
			return tx.CreateCollection(ctx, &store.Collection{Owner: "alice", Name: "new", Kind: store.KindPlain})
		}},
		{"UpdateCollection", func(tx store.Tx) error {
			return tx.UpdateCollection(ctx, &store.Collection{ID: c.ID, DisplayName: "X"})
		}},
		{"RenameCollection", func(tx store.Tx) error { return tx.RenameCollection(ctx, c.ID, "alice", "renamed") }},
		{"DeleteCollection", func(tx store.Tx) error { return tx.DeleteCollection(ctx, c.ID) }},
		{"PutObject", func(tx store.Tx) error {
			_, err := tx.PutObject(ctx, &store.Object{CollectionID: c.ID, Name: "b.ics", Data: []byte("B")}, store.PutOptions{})
			return err
		}},
		{"DeleteObject", func(tx store.Tx) error { return tx.DeleteObject(ctx, c.ID, "a.ics", "") }},
		{"SetProperty", func(tx store.Tx) error { return tx.SetProperty(ctx, "c:1", "urn:x", "p", []byte("<p/>")) }},
		{"RemoveProperty", func(tx store.Tx) error { return tx.RemoveProperty(ctx, "c:1", "urn:x", "p") }},
		{"CopyProperties", func(tx store.Tx) error { return tx.CopyProperties(ctx, "c:1", "c:2") }},
		{"DeleteProperties", func(tx store.Tx) error { return tx.DeleteProperties(ctx, "c:1") }},
		{"AcquireLease", func(tx store.Tx) error {
			_, err := tx.AcquireLease(ctx, "job", "node", time.Minute, at(3, 1, 0, 0))
			return err
		}},
		{"ReleaseLease", func(tx store.Tx) error { return tx.ReleaseLease(ctx, "job", "node") }},
		{"ReplaceLocks", func(tx store.Tx) error { return tx.ReplaceLocks(ctx, []store.LockRecord{{Token: "t", Root: "/p"}}) }},
	}
	for _, w := range writes {
		if err := s.View(ctx, w.fn); err == nil {
			t.Errorf("%s inside View succeeded", w.name)
		}
	}
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.GetCollectionByID(ctx, c.ID)
		if err != nil {
			return err
		}
		if got.Name != "cal" || got.DisplayName != "" || got.Revision != 1 {
			t.Errorf("collection changed by View: %+v", got)
		}
		o, err := tx.GetObject(ctx, c.ID, "a.ics")
		if err != nil || o.ETag != existing.ETag {
			t.Errorf("object changed by View: %v, %v", o, err)
		}
		users, err := tx.ListUsers(ctx)
		if err != nil || len(users) != 1 {
			t.Errorf("users changed by View: %d, %v", len(users), err)
		}
		locks, err := tx.Locks(ctx)
		if err != nil || len(locks) != 0 {
			t.Errorf("locks changed by View: %+v, %v", locks, err)
		}
		return nil
	})
	if !acquire(t, s, "job", "other", time.Minute, at(3, 1, 0, 0)) {
		t.Error("lease taken by AcquireLease inside View")
	}
}

func testConcurrentUpdates(t *testing.T, s store.Store) {
	const writers, perWriter = 8, 50
	c := seed(t, s)
	ctx := t.Context()

	// A reader runs alongside, and must always see a consistent state:
	// as many live objects as the revision says were written.
	stop := make(chan struct{})
	readerErr := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				readerErr <- nil
				return
			default:
			}
			err := s.View(ctx, func(tx store.Tx) error {
				col, err := tx.GetCollectionByID(ctx, c.ID)
				if err != nil {
					return err
				}
				objs, err := tx.ListObjects(ctx, c.ID, false)
				if err != nil {
					return err
				}
				if int64(len(objs)) != col.Revision {
					return fmt.Errorf("snapshot has %d objects at revision %d", len(objs), col.Revision)
				}
				return nil
			})
			if err != nil {
				readerErr <- err
				return
			}
		}
	}()

	var wg sync.WaitGroup
	writerErrs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				name := fmt.Sprintf("w%d-%d.ics", w, i)
				err := s.Update(ctx, func(tx store.Tx) error {
					_, err := tx.PutObject(ctx, &store.Object{CollectionID: c.ID, Name: name, UID: name, Data: []byte(name)}, store.PutOptions{})
					return err
				})
				if err != nil {
					writerErrs <- fmt.Errorf("%s: %w", name, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	close(writerErrs)
	for err := range writerErrs {
		t.Error(err)
	}
	if err := <-readerErr; err != nil {
		t.Errorf("concurrent reader: %v", err)
	}
	if t.Failed() {
		t.FailNow()
	}

	const total = writers * perWriter
	if got := getCollection(t, s, c.ID); got.Revision != total {
		t.Errorf("revision = %d, want %d", got.Revision, total)
	}
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		objs, err := tx.ListObjects(ctx, c.ID, false)
		if err != nil {
			return err
		}
		if len(objs) != total {
			t.Errorf("%d objects, want %d", len(objs), total)
		}
		changes, err := tx.Changes(ctx, c.ID, 0)
		if err != nil {
			return err
		}
		var revs []int64
		for _, ch := range changes {
			revs = append(revs, ch.Revision)
		}
		want := make([]int64, total)
		for i := range want {
			want[i] = int64(i + 1)
		}
		if !slices.Equal(revs, want) {
			t.Errorf("revisions are not unique and gapless 1..%d: %v", total, revs)
		}
		return nil
	})
}

func testCancellation(t *testing.T, s store.Store) {
	c := seed(t, s)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	called := false
	err := s.Update(cancelled, func(tx store.Tx) error {
		called = true
		_, err := tx.PutObject(cancelled, &store.Object{CollectionID: c.ID, Name: "a.ics", Data: []byte("A")}, store.PutOptions{})
		return err
	})
	wantErr(t, "Update with a cancelled context", err, context.Canceled)
	err = s.View(cancelled, func(tx store.Tx) error {
		_, err := tx.GetCollectionByID(cancelled, c.ID)
		return err
	})
	wantErr(t, "View with a cancelled context", err, context.Canceled)

	// Cancelled while the callback runs: the callback's work must not commit.
	ctx, cancel := context.WithCancel(t.Context())
	err = s.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.PutObject(ctx, &store.Object{CollectionID: c.ID, Name: "b.ics", Data: []byte("B")}, store.PutOptions{}); err != nil {
			return err
		}
		cancel()
		return nil
	})
	if err == nil {
		t.Error("Update cancelled during the callback committed without error")
	}
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		objs, err := tx.ListObjects(ctx, c.ID, false)
		if len(objs) != 0 {
			t.Errorf("objects committed despite cancellation (callback ran: %v): %v", called, objectNames(objs))
		}
		return err
	})
	if got := getCollection(t, s, c.ID); got.Revision != 0 {
		t.Errorf("revision after cancelled updates = %d", got.Revision)
	}
}

func testTxAfterCallback(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	var leaked store.Tx
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		leaked = tx
		return nil
	})
	if err := leaked.CreateUser(ctx, &store.User{Name: "late"}); err == nil {
		t.Error("write through a finished Update's Tx succeeded")
	}
	if _, err := leaked.GetUser(ctx, "alice"); err == nil {
		t.Error("read through a finished Update's Tx succeeded")
	}
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		leaked = tx
		_, err := tx.GetUser(ctx, "late")
		wantErr(t, "GetUser(late)", err, store.ErrNotFound)
		return nil
	})
	if _, err := leaked.ListUsers(ctx); err == nil {
		t.Error("read through a finished View's Tx succeeded")
	}
}
