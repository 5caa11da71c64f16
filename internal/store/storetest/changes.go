package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

func testChanges(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := seed(t, s)
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		changes, err := tx.Changes(ctx, c.ID, 0)
		if err != nil || len(changes) != 0 {
			t.Errorf("Changes(0) of an empty collection = %v, %v", changes, err)
		}
		return nil
	})

	put(t, s, c.ID, "a", "a", "a1")                                                                           // 1
	put(t, s, c.ID, "b", "b", "b1")                                                                           // 2
	put(t, s, c.ID, "c", "c", "c1")                                                                           // 3
	put(t, s, c.ID, "a", "a", "a2")                                                                           // 4
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteObject(ctx, c.ID, "b", "") }) // 5
	put(t, s, c.ID, "a", "a", "a3")                                                                           // 6
	put(t, s, c.ID, "d", "d", "d1")                                                                           // 7
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteObject(ctx, c.ID, "d", "") }) // 8

	tests := []struct {
		since int64
		want  []store.Change
	}{
		{0, []store.Change{{Name: "c", Revision: 3}, {Name: "a", Revision: 6}}},
		{1, []store.Change{{Name: "c", Revision: 3}, {Name: "b", Revision: 5, Deleted: true},
			{Name: "a", Revision: 6}, {Name: "d", Revision: 8, Deleted: true}}},
		{3, []store.Change{{Name: "b", Revision: 5, Deleted: true}, {Name: "a", Revision: 6},
			{Name: "d", Revision: 8, Deleted: true}}},
		{6, []store.Change{{Name: "d", Revision: 8, Deleted: true}}},
		{7, []store.Change{{Name: "d", Revision: 8, Deleted: true}}},
		{8, nil},
	}
	for _, tt := range tests {
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.Changes(ctx, c.ID, tt.since)
			if err != nil {
				t.Errorf("Changes(%d): %v", tt.since, err)
				return nil
			}
			if len(got) != len(tt.want) || (len(got) > 0 && !slices.Equal(got, tt.want)) {
				t.Errorf("Changes(%d) = %+v, want %+v", tt.since, got, tt.want)
			}
			return nil
		})
	}

	for _, since := range []int64{9, 1000} {
		err := s.View(ctx, func(tx store.Tx) error {
			_, err := tx.Changes(ctx, c.ID, since)
			return err
		})
		wantErr(t, "Changes beyond the current revision", err, store.ErrNotFound)
	}
	err := s.View(ctx, func(tx store.Tx) error {
		_, err := tx.Changes(ctx, c.ID+1000, 0)
		return err
	})
	wantErr(t, "Changes of a missing collection", err, store.ErrNotFound)

	// A name deleted and created again is live, at its newest revision.
	put(t, s, c.ID, "b", "b", "b2") // 9
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.Changes(ctx, c.ID, 4)
		want := []store.Change{{Name: "a", Revision: 6}, {Name: "d", Revision: 8, Deleted: true}, {Name: "b", Revision: 9}}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("Changes(4) = %+v, %v; want %+v", got, err, want)
		}
		return nil
	})
}

// putFixture stores objects in a collection, each named by its UID and
// holding "data of NAME".
func putFixture(ctx context.Context, tx store.Tx, collectionID int64, objs []*store.Object) error {
	for _, o := range objs {
		o.CollectionID = collectionID
		o.UID = o.Name
		o.Data = []byte("data of " + o.Name)
		if _, err := tx.PutObject(ctx, o, store.PutOptions{}); err != nil {
			return err
		}
	}
	return nil
}

// rangeFixture is the object set of the time-range tests.
func rangeFixture(collectionID int64) []*store.Object {
	hour := func(t time.Time) store.Period { return store.Period{Start: t, End: t.Add(time.Hour)} }
	return []*store.Object{
		// A task without dates: in every range.
		{Name: "nospan", Component: "VTODO"},
		{Name: "single", SpanStart: at(1, 10, 10, 0), SpanEnd: at(1, 10, 11, 0)},
		// Zero duration: RFC 4791 matches it when start <= DTSTART < end.
		{Name: "instant", SpanStart: at(1, 12, 9, 0), SpanEnd: at(1, 12, 9, 0)},
		// Weekly three times, fully indexed.
		{Name: "weekly", Recurring: true, SpanStart: at(1, 5, 10, 0), SpanEnd: at(1, 19, 11, 0),
			Occurrences: []store.Period{hour(at(1, 5, 10, 0)), hour(at(1, 12, 10, 0)), hour(at(1, 19, 10, 0))}},
		// Weekly forever, indexed until February 10.
		{Name: "forever", Recurring: true, SpanStart: at(1, 20, 10, 0), IndexedUntil: at(2, 10, 0, 0),
			Occurrences: []store.Period{hour(at(1, 20, 10, 0)), hour(at(1, 27, 10, 0)), hour(at(2, 3, 10, 0))}},
		// Not recurring yet without end (e.g. an open-ended span).
		{Name: "openended", SpanStart: at(3, 1, 0, 0)},
	}
}

func testFindObjectsInRange(t *testing.T, s store.Store) {
	c := seed(t, s)
	other := &store.Collection{Owner: "alice", Name: "other", Kind: store.KindCalendar}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.CreateCollection(ctx, other); err != nil {
			return err
		}
		// Overlaps everything, but lives in another collection.
		if _, err := tx.PutObject(ctx, &store.Object{CollectionID: other.ID, Name: "elsewhere", Data: []byte("x")}, store.PutOptions{}); err != nil {
			return err
		}
		return putFixture(ctx, tx, c.ID, rangeFixture(c.ID))
	})

	var zero time.Time
	tests := []struct {
		name       string
		start, end time.Time
		want       []string
	}{
		{"day of single", at(1, 10, 0, 0), at(1, 11, 0, 0), []string{"nospan", "single"}},
		{"touching the end of single", at(1, 10, 11, 0), at(1, 10, 12, 0), []string{"nospan"}},
		{"touching the start of single", at(1, 10, 9, 0), at(1, 10, 10, 0), []string{"nospan"}},
		{"inside single", at(1, 10, 10, 15), at(1, 10, 10, 30), []string{"nospan", "single"}},
		{"instant at start", at(1, 12, 9, 0), at(1, 12, 9, 30), []string{"instant", "nospan"}},
		{"instant at end", at(1, 12, 8, 0), at(1, 12, 9, 0), []string{"nospan"}},
		{"weekly occurrence", at(1, 12, 10, 30), at(1, 12, 10, 45), []string{"nospan", "weekly"}},
		{"between weekly occurrences", at(1, 13, 0, 0), at(1, 14, 0, 0), []string{"nospan"}},
		{"forever indexed occurrence", at(1, 27, 10, 0), at(1, 27, 12, 0), []string{"forever", "nospan"}},
		{"forever between occurrences", at(1, 28, 0, 0), at(1, 29, 0, 0), []string{"nospan"}},
		{"forever up to index end", at(2, 9, 0, 0), at(2, 10, 0, 0), []string{"nospan"}},
		{"forever past index end", at(2, 9, 0, 0), at(2, 10, 0, 1), []string{"forever", "nospan"}},
		{"forever beyond index", at(2, 20, 0, 0), at(2, 21, 0, 0), []string{"forever", "nospan"}},
		{"open ended", at(3, 5, 0, 0), at(3, 6, 0, 0), []string{"forever", "nospan", "openended"}},
		{"before everything", at(1, 1, 0, 0), at(1, 2, 0, 0), []string{"nospan"}},
		{"unbounded", zero, zero, []string{"forever", "instant", "nospan", "openended", "single", "weekly"}},
		{"unbounded start", zero, at(1, 11, 0, 0), []string{"nospan", "single", "weekly"}},
		{"unbounded end", at(2, 20, 0, 0), zero, []string{"forever", "nospan", "openended"}},
		{"unbounded end after weekly", at(1, 19, 11, 0), zero, []string{"forever", "nospan", "openended"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			view(t, s, func(ctx context.Context, tx store.Tx) error {
				objs, err := tx.FindObjectsInRange(ctx, c.ID, tt.start, tt.end)
				if err != nil {
					return err
				}
				names := objectNames(objs)
				slices.Sort(names)
				if !slices.Equal(names, tt.want) {
					t.Errorf("FindObjectsInRange(%v, %v) = %v, want %v", tt.start, tt.end, names, tt.want)
				}
				for _, o := range objs {
					if string(o.Data) != "data of "+o.Name {
						t.Errorf("%s: data %q", o.Name, o.Data)
					}
				}
				return nil
			})
		})
	}
	testRangeEdges(t, s, c.Owner)
}

// testRecurringStartingIn checks the names of recurring objects with an
// occurrence starting in a range: by start only (an occurrence that merely
// overlaps does not count), start inclusive, end exclusive, each name once,
// recurring objects of this collection only.
func testRecurringStartingIn(t *testing.T, s store.Store) {
	c := seed(t, s)
	other := &store.Collection{Owner: "alice", Name: "other", Kind: store.KindCalendar}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.CreateCollection(ctx, other); err != nil {
			return err
		}
		elsewhere := &store.Object{CollectionID: other.ID, Name: "elsewhere", UID: "elsewhere", Data: []byte("x"), Recurring: true,
			SpanStart: at(1, 12, 10, 0), SpanEnd: at(1, 12, 11, 0), Occurrences: []store.Period{{Start: at(1, 12, 10, 0), End: at(1, 12, 11, 0)}}}
		if _, err := tx.PutObject(ctx, elsewhere, store.PutOptions{}); err != nil {
			return err
		}
		// A single object handed occurrence rows is still not recurring.
		fixture := append(rangeFixture(c.ID), &store.Object{Name: "singlerows", SpanStart: at(1, 12, 10, 0), SpanEnd: at(1, 12, 11, 0),
			Occurrences: []store.Period{{Start: at(1, 12, 10, 0), End: at(1, 12, 11, 0)}}})
		return putFixture(ctx, tx, c.ID, fixture)
	})
	names := func(start, end time.Time) []string {
		var got []string
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			var err error
			got, err = tx.RecurringStartingIn(ctx, c.ID, start, end)
			return err
		})
		slices.Sort(got)
		return got
	}
	var zero time.Time
	tests := []struct {
		name       string
		start, end time.Time
		want       []string
	}{
		{"occurrence starts at the range start", at(1, 12, 10, 0), at(1, 12, 10, 30), []string{"weekly"}},
		{"occurrence only overlaps", at(1, 12, 10, 1), at(1, 12, 12, 0), nil},
		{"occurrence starts at the range end", at(1, 12, 9, 0), at(1, 12, 10, 0), nil},
		{"two series", at(1, 19, 0, 0), at(1, 21, 0, 0), []string{"forever", "weekly"}},
		{"unbounded", zero, zero, []string{"forever", "weekly"}},
		{"unbounded start", zero, at(1, 6, 0, 0), []string{"weekly"}},
		{"unbounded end", at(1, 20, 0, 0), zero, []string{"forever"}},
		{"nothing starts", at(1, 13, 0, 0), at(1, 14, 0, 0), nil},
	}
	for _, tt := range tests {
		if got := names(tt.start, tt.end); !slices.Equal(got, tt.want) {
			t.Errorf("%s: RecurringStartingIn(%v, %v) = %v, want %v", tt.name, tt.start, tt.end, got, tt.want)
		}
	}
	// Replacing the series by a single event drops its occurrences.
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.PutObject(ctx, &store.Object{CollectionID: c.ID, Name: "weekly", UID: "weekly", Data: []byte("single now"),
			SpanStart: at(1, 12, 10, 0), SpanEnd: at(1, 12, 11, 0)}, store.PutOptions{})
		return err
	})
	if got := names(zero, zero); !slices.Equal(got, []string{"forever"}) {
		t.Errorf("after the series became a single event: %v, want [forever]", got)
	}
}

// testReindex checks that replacing an object replaces its index rows.
func testReindex(t *testing.T, s store.Store) {
	c := seed(t, s)
	find := func(start, end time.Time) []string {
		var names []string
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			objs, err := tx.FindObjectsInRange(ctx, c.ID, start, end)
			names = objectNames(objs)
			return err
		})
		return names
	}
	putObject := func(o *store.Object) {
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.PutObject(ctx, o, store.PutOptions{})
			return err
		})
	}
	putObject(&store.Object{CollectionID: c.ID, Name: "r", Data: []byte("1"), Recurring: true,
		SpanStart: at(1, 1, 10, 0), SpanEnd: at(1, 8, 11, 0),
		Occurrences: []store.Period{{Start: at(1, 1, 10, 0), End: at(1, 1, 11, 0)}, {Start: at(1, 8, 10, 0), End: at(1, 8, 11, 0)}}})
	if got := find(at(1, 1, 0, 0), at(1, 2, 0, 0)); !slices.Equal(got, []string{"r"}) {
		t.Fatalf("before reindex: %v", got)
	}
	// The first instance is excluded now: its index row must go.
	putObject(&store.Object{CollectionID: c.ID, Name: "r", Data: []byte("2"), Recurring: true,
		SpanStart: at(1, 8, 10, 0), SpanEnd: at(1, 8, 11, 0),
		Occurrences: []store.Period{{Start: at(1, 8, 10, 0), End: at(1, 8, 11, 0)}}})
	if got := find(at(1, 1, 0, 0), at(1, 2, 0, 0)); len(got) != 0 {
		t.Errorf("stale occurrence still matches: %v", got)
	}
	if got := find(at(1, 8, 0, 0), at(1, 9, 0, 0)); !slices.Equal(got, []string{"r"}) {
		t.Errorf("after reindex: %v", got)
	}
	// No longer recurring, moved to March.
	putObject(&store.Object{CollectionID: c.ID, Name: "r", Data: []byte("3"), SpanStart: at(3, 1, 0, 0), SpanEnd: at(3, 1, 1, 0)})
	if got := find(at(1, 8, 0, 0), at(1, 9, 0, 0)); len(got) != 0 {
		t.Errorf("old span still matches: %v", got)
	}
	var o *store.Object
	view(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		o, err = tx.GetObject(ctx, c.ID, "r")
		return err
	})
	if o.Recurring || len(o.Occurrences) != 0 || !o.SpanStart.Equal(at(3, 1, 0, 0)) {
		t.Errorf("after rewrite: Recurring=%v Occurrences=%v SpanStart=%v", o.Recurring, o.Occurrences, o.SpanStart)
	}
}
