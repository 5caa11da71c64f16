package storetest

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// testDataReader checks the optional store.DataReader: it answers
// GetObject and GetObjects exactly, less the occurrences.
func testDataReader(t *testing.T, s store.Store) {
	ctx := t.Context()
	day := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := &store.Collection{Owner: "alice", Name: "cal", Kind: store.KindCalendar}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.CreateUser(ctx, &store.User{Name: "alice"}); err != nil {
			return err
		}
		if err := tx.CreateCollection(ctx, c); err != nil {
			return err
		}
		for _, o := range []*store.Object{
			{CollectionID: c.ID, Name: "r.ics", UID: "r", Component: "VEVENT", Data: []byte("R"), Recurring: true,
				SpanStart: day, SpanEnd: day.AddDate(0, 0, 2).Add(time.Hour), IndexedUntil: day.AddDate(1, 0, 0),
				Occurrences: []store.Period{{Start: day, End: day.Add(time.Hour)}, {Start: day.AddDate(0, 0, 2), End: day.AddDate(0, 0, 2).Add(time.Hour)}}},
			{CollectionID: c.ID, Name: "s.ics", UID: "s", Component: "VEVENT", Data: []byte("S"),
				SpanStart: day, SpanEnd: day.Add(time.Hour)},
		} {
			if _, err := tx.PutObject(ctx, o, store.PutOptions{}); err != nil {
				return err
			}
		}
		return nil
	})
	err := s.View(ctx, func(tx store.Tx) error {
		r, ok := tx.(store.DataReader)
		if !ok {
			t.Fatal("the store does not implement store.DataReader (both Koyomi stores do; GET and multiget use it)")
		}
		for _, name := range []string{"r.ics", "s.ics"} {
			full, err := tx.GetObject(ctx, c.ID, name)
			if err != nil {
				return err
			}
			data, err := r.GetObjectData(ctx, c.ID, name)
			if err != nil {
				return err
			}
			sameButOccurrences(t, name, full, data)
		}
		if _, err := r.GetObjectData(ctx, c.ID, "missing.ics"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetObjectData(missing) = %v, want ErrNotFound", err)
		}
		names := []string{"s.ics", "missing.ics", "r.ics"}
		full, err := tx.GetObjects(ctx, c.ID, names)
		if err != nil {
			return err
		}
		data, err := r.GetObjectsData(ctx, c.ID, names)
		if err != nil {
			return err
		}
		if len(full) != 2 || len(data) != 2 {
			t.Fatalf("GetObjects found %d, GetObjectsData %d, want 2 each", len(full), len(data))
		}
		byName := map[string]*store.Object{}
		for _, o := range full {
			byName[o.Name] = o
		}
		for _, o := range data {
			sameButOccurrences(t, o.Name, byName[o.Name], o)
		}
		listed, err := r.ListObjectsData(ctx, c.ID)
		if err != nil {
			return err
		}
		if len(listed) != 2 || listed[0].Name != "r.ics" || listed[1].Name != "s.ics" {
			t.Fatalf("ListObjectsData = %v, want [r.ics s.ics]", objectNames(listed))
		}
		for _, o := range listed {
			sameButOccurrences(t, o.Name, byName[o.Name], o)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func sameButOccurrences(t *testing.T, name string, full, data *store.Object) {
	t.Helper()
	if full == nil || data == nil {
		t.Fatalf("%s: full %v, data %v", name, full, data)
	}
	if len(data.Occurrences) != 0 {
		t.Errorf("%s: read without occurrences has %d", name, len(data.Occurrences))
	}
	if name == "r.ics" && len(full.Occurrences) != 2 {
		t.Errorf("%s: GetObject has %d occurrences, want 2", name, len(full.Occurrences))
	}
	f, d := *full, *data
	f.Occurrences, d.Occurrences = nil, nil
	if !bytes.Equal(f.Data, d.Data) {
		t.Errorf("%s: data %q, want %q", name, d.Data, f.Data)
	}
	f.Data, d.Data = nil, nil
	if !reflect.DeepEqual(f, d) {
		t.Errorf("%s: read without occurrences = %+v\nwant %+v", name, d, f)
	}
}
