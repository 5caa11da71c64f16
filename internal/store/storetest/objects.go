package storetest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

func testObjects(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := seed(t, s)
	data := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:one\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	o := &store.Object{CollectionID: c.ID, Name: "one.ics", ContentType: "text/calendar", UID: "one",
		Component: "VEVENT", Data: []byte(data), Recurring: true,
		SpanStart: at(1, 5, 10, 0), SpanEnd: at(1, 19, 11, 0),
		Occurrences: []store.Period{
			{Start: at(1, 5, 10, 0), End: at(1, 5, 11, 0)},
			{Start: at(1, 12, 10, 0), End: at(1, 12, 11, 0)},
			{Start: at(1, 19, 10, 0), End: at(1, 19, 11, 0)},
		}}
	var created bool
	update(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		created, err = tx.PutObject(ctx, o, store.PutOptions{})
		return err
	})
	if !created {
		t.Error("first PutObject reported created = false")
	}
	if o.ETag == "" || strings.ContainsAny(o.ETag, `"`) || o.Size != int64(len(data)) || o.Modified.IsZero() {
		t.Errorf("PutObject left ETag=%q Size=%d Modified=%v", o.ETag, o.Size, o.Modified)
	}
	firstETag := o.ETag

	view(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.GetObject(ctx, c.ID, "one.ics")
		if err != nil {
			return err
		}
		if got.CollectionID != c.ID || got.Name != o.Name || got.ETag != o.ETag || got.ContentType != o.ContentType ||
			got.UID != o.UID || got.Component != o.Component || !bytes.Equal(got.Data, o.Data) ||
			got.Size != o.Size || !got.Modified.Equal(o.Modified) || !got.SpanStart.Equal(o.SpanStart) ||
			!got.SpanEnd.Equal(o.SpanEnd) || !got.Recurring || !got.IndexedUntil.IsZero() {
			t.Errorf("GetObject = %+v\nwant %+v", got, o)
		}
		if !slices.EqualFunc(got.Occurrences, o.Occurrences, func(a, b store.Period) bool {
			return a.Start.Equal(b.Start) && a.End.Equal(b.End)
		}) {
			t.Errorf("Occurrences = %v, want %v", got.Occurrences, o.Occurrences)
		}
		for _, tm := range []time.Time{got.Modified, got.SpanStart, got.SpanEnd} {
			if tm.Location() != time.UTC {
				t.Errorf("time %v is not UTC", tm)
			}
		}
		_, err = tx.GetObject(ctx, c.ID, "missing.ics")
		wantErr(t, "GetObject(missing)", err, store.ErrNotFound)
		name, err := tx.FindObjectByUID(ctx, c.ID, "one")
		if err != nil || name != "one.ics" {
			t.Errorf("FindObjectByUID = %q, %v", name, err)
		}
		_, err = tx.FindObjectByUID(ctx, c.ID, "nope")
		wantErr(t, "FindObjectByUID(missing)", err, store.ErrNotFound)
		return nil
	})

	// The same bytes again: not created, same ETag, but still a change.
	o2 := &store.Object{CollectionID: c.ID, Name: "one.ics", UID: "one", Data: []byte(data)}
	update(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		created, err = tx.PutObject(ctx, o2, store.PutOptions{})
		return err
	})
	if created || o2.ETag != firstETag {
		t.Errorf("re-put of same bytes: created=%v ETag=%q, want false and %q", created, o2.ETag, firstETag)
	}
	o3 := put(t, s, c.ID, "one.ics", "one", data+"X")
	if o3.ETag == firstETag {
		t.Error("ETag did not change with the content")
	}
	put(t, s, c.ID, "two.ics", "two", "TWO")
	put(t, s, c.ID, "three.vcf", "", "")
	if got := getCollection(t, s, c.ID); got.Revision != 5 {
		t.Errorf("revision after 5 puts = %d", got.Revision)
	}

	view(t, s, func(ctx context.Context, tx store.Tx) error {
		objs, err := tx.GetObjects(ctx, c.ID, []string{"two.ics", "missing", "one.ics"})
		if err != nil {
			return err
		}
		names := objectNames(objs)
		slices.Sort(names)
		if !slices.Equal(names, []string{"one.ics", "two.ics"}) {
			t.Errorf("GetObjects = %v", names)
		}
		for _, o := range objs {
			if len(o.Data) == 0 {
				t.Errorf("GetObjects(%s) returned no data", o.Name)
			}
		}
		objs, err = tx.GetObjects(ctx, c.ID, nil)
		if err != nil || len(objs) != 0 {
			t.Errorf("GetObjects(nil) = %v, %v", objectNames(objs), err)
		}

		objs, err = tx.ListObjects(ctx, c.ID, false)
		if err != nil {
			return err
		}
		names = objectNames(objs)
		slices.Sort(names)
		if !slices.Equal(names, []string{"one.ics", "three.vcf", "two.ics"}) {
			t.Errorf("ListObjects = %v", names)
		}
		for _, o := range objs {
			if o.Data != nil || len(o.Occurrences) != 0 || o.ETag == "" {
				t.Errorf("ListObjects(withData=false) %s: Data=%q Occurrences=%d ETag=%q", o.Name, o.Data, len(o.Occurrences), o.ETag)
			}
		}
		objs, err = tx.ListObjects(ctx, c.ID, true)
		if err != nil {
			return err
		}
		for _, o := range objs {
			if o.Name == "two.ics" && string(o.Data) != "TWO" {
				t.Errorf("ListObjects(withData=true) two.ics data = %q", o.Data)
			}
			if o.Name == "three.vcf" && (o.Data == nil || o.Size != 0) {
				t.Errorf("empty object: Data=%v Size=%d, want non-nil empty data", o.Data, o.Size)
			}
		}
		return nil
	})

	err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteObject(ctx, c.ID, "missing", "") })
	wantErr(t, "DeleteObject(missing)", err, store.ErrNotFound)
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteObject(ctx, c.ID, "two.ics", "") })
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.GetObject(ctx, c.ID, "two.ics")
		wantErr(t, "GetObject(deleted)", err, store.ErrNotFound)
		_, err = tx.FindObjectByUID(ctx, c.ID, "two")
		wantErr(t, "FindObjectByUID(deleted)", err, store.ErrNotFound)
		return nil
	})
	if got := getCollection(t, s, c.ID); got.Revision != 6 {
		t.Errorf("revision after delete = %d, want 6", got.Revision)
	}
	err = s.Update(ctx, func(tx store.Tx) error {
		_, err := tx.PutObject(ctx, &store.Object{CollectionID: c.ID + 1000, Name: "x.ics", Data: []byte("x")}, store.PutOptions{})
		return err
	})
	if err == nil {
		t.Error("PutObject into a missing collection succeeded")
	}
}

func testObjectPreconditions(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := seed(t, s)
	existing := put(t, s, c.ID, "a.ics", "a", "A1")

	tests := []struct {
		name    string
		object  string
		opts    store.PutOptions
		wantErr error
		created bool
	}{
		{"IfNoneMatch on existing", "a.ics", store.PutOptions{IfNoneMatch: true}, store.ErrConflict, false},
		{"IfMatch wrong etag", "a.ics", store.PutOptions{IfMatch: "0123"}, store.ErrConflict, false},
		{"IfMatch on missing", "b.ics", store.PutOptions{IfMatch: existing.ETag}, store.ErrConflict, false},
		{"IfNoneMatch on missing", "b.ics", store.PutOptions{IfNoneMatch: true}, nil, true},
		{"IfMatch right etag", "a.ics", store.PutOptions{IfMatch: existing.ETag}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := getCollection(t, s, c.ID).Revision
			var created bool
			err := s.Update(ctx, func(tx store.Tx) (err error) {
				created, err = tx.PutObject(ctx, &store.Object{CollectionID: c.ID, Name: tt.object,
					UID: strings.TrimSuffix(tt.object, ".ics"), Data: []byte(tt.name)}, tt.opts)
				return err
			})
			if tt.wantErr != nil {
				wantErr(t, "PutObject", err, tt.wantErr)
				if after := getCollection(t, s, c.ID).Revision; after != before {
					t.Errorf("failed PutObject moved revision %d -> %d", before, after)
				}
				return
			}
			if err != nil {
				t.Fatalf("PutObject: %v", err)
			}
			if created != tt.created {
				t.Errorf("created = %v, want %v", created, tt.created)
			}
		})
	}

	var current string
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		o, err := tx.GetObject(ctx, c.ID, "a.ics")
		if o != nil {
			current = o.ETag
		}
		return err
	})
	err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteObject(ctx, c.ID, "a.ics", existing.ETag) })
	wantErr(t, "DeleteObject with a stale ETag", err, store.ErrConflict)
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteObject(ctx, c.ID, "a.ics", current) })
}

func testUIDConflict(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := seed(t, s)
	other := &store.Collection{Owner: "alice", Name: "other", Kind: store.KindCalendar}
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.CreateCollection(ctx, other) })
	put(t, s, c.ID, "holder.ics", "shared-uid", "1")

	err := s.Update(ctx, func(tx store.Tx) error {
		_, err := tx.PutObject(ctx, &store.Object{CollectionID: c.ID, Name: "intruder.ics", UID: "shared-uid", Data: []byte("2")}, store.PutOptions{})
		return err
	})
	wantErr(t, "PutObject with a taken UID", err, store.ErrUIDConflict)
	var conflict *store.UIDConflictError
	if !errors.As(err, &conflict) {
		t.Fatalf("error %v does not carry *UIDConflictError", err)
	}
	if conflict.Name != "holder.ics" || conflict.UID != "shared-uid" {
		t.Errorf("UIDConflictError = %+v", conflict)
	}

	// Rewriting the holder itself, another collection, and empty UIDs are fine.
	put(t, s, c.ID, "holder.ics", "shared-uid", "3")
	put(t, s, other.ID, "x.ics", "shared-uid", "4")
	put(t, s, c.ID, "e1.vcf", "", "5")
	put(t, s, c.ID, "e2.vcf", "", "6")
	// Once the holder changes its UID, the old one is free.
	put(t, s, c.ID, "holder.ics", "new-uid", "7")
	put(t, s, c.ID, "intruder.ics", "shared-uid", "8")
}
