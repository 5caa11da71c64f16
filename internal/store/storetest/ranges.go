package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// rangeEdgeFixture holds periods that a store reading time ranges by index
// bounds could miss or wrongly include: long ones that started well before
// the range, periods ending exactly at its start, zero-length ones at its
// start, open-ended spans, and occurrences of an object that does not
// recur. Stores may treat short and long periods differently, so lengths
// sit on both sides of a day, the usual dividing line.
func rangeEdgeFixture() []*store.Object {
	period := func(start time.Time, d time.Duration) store.Period {
		return store.Period{Start: start, End: start.Add(d)}
	}
	const day = 24 * time.Hour
	return []*store.Object{
		{Name: "nospan", Component: "VTODO"},
		// Thirty days, in May.
		{Name: "month", SpanStart: at(5, 1, 0, 0), SpanEnd: at(5, 31, 0, 0)},
		// Twice, three days each time.
		{Name: "longocc", Recurring: true, SpanStart: at(6, 1, 0, 0), SpanEnd: at(6, 11, 0, 0),
			Occurrences: []store.Period{period(at(6, 1, 0, 0), 3*day), period(at(6, 8, 0, 0), 3*day)}},
		{Name: "meeting", SpanStart: at(7, 1, 9, 0), SpanEnd: at(7, 1, 10, 0)},
		{Name: "instant", SpanStart: at(7, 2, 9, 0), SpanEnd: at(7, 2, 9, 0)},
		{Name: "allday", SpanStart: at(7, 10, 0, 0), SpanEnd: at(7, 11, 0, 0)},
		{Name: "daylong", SpanStart: at(7, 20, 0, 0), SpanEnd: at(7, 21, 1, 0)},
		// Recurring, with a long occurrence and an index stopping in August.
		{Name: "series", Recurring: true, SpanStart: at(7, 25, 0, 0), IndexedUntil: at(8, 15, 0, 0),
			Occurrences: []store.Period{period(at(7, 25, 0, 0), 2*day), period(at(8, 8, 0, 0), 2*day)}},
		// No end.
		{Name: "forever", SpanStart: at(8, 1, 0, 0)},
		// Does not recur: its span counts, its occurrences do not.
		{Name: "notrecurring", SpanStart: at(9, 1, 10, 0), SpanEnd: at(9, 1, 11, 0),
			Occurrences: []store.Period{period(at(9, 15, 10, 0), time.Hour), period(at(9, 16, 0, 0), 3*day)}},
	}
}

// testRangeEdges runs FindObjectsInRange against rangeEdgeFixture in a new
// calendar of owner.
func testRangeEdges(t *testing.T, s store.Store, owner string) {
	c := &store.Collection{Owner: owner, Name: "edges", Kind: store.KindCalendar}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.CreateCollection(ctx, c); err != nil {
			return err
		}
		return putFixture(ctx, tx, c.ID, rangeEdgeFixture())
	})

	var zero time.Time
	tests := []struct {
		name       string
		start, end time.Time
		want       []string
	}{
		{"weeks into a month-long event", at(5, 20, 0, 0), at(5, 21, 0, 0), []string{"month", "nospan"}},
		{"last hours of a month-long event", at(5, 30, 12, 0), at(5, 31, 12, 0), []string{"month", "nospan"}},
		{"month-long event ends at range start", at(5, 31, 0, 0), at(6, 1, 0, 0), []string{"nospan"}},
		{"long occurrence started days before", at(6, 3, 12, 0), at(6, 3, 13, 0), []string{"longocc", "nospan"}},
		{"long occurrence ends at range start", at(6, 4, 0, 0), at(6, 5, 0, 0), []string{"nospan"}},
		{"between long occurrences", at(6, 5, 0, 0), at(6, 7, 0, 0), []string{"nospan"}},
		{"second long occurrence", at(6, 10, 23, 0), at(6, 12, 0, 0), []string{"longocc", "nospan"}},
		{"event ends at range start", at(7, 1, 10, 0), at(7, 1, 11, 0), []string{"nospan"}},
		{"zero-length event at range start", at(7, 2, 9, 0), at(7, 2, 9, 1), []string{"instant", "nospan"}},
		{"zero-length event at range end", at(7, 2, 8, 0), at(7, 2, 9, 0), []string{"nospan"}},
		{"last minute of a whole day", at(7, 10, 23, 59), at(7, 11, 0, 0), []string{"allday", "nospan"}},
		{"whole day ends at range start", at(7, 11, 0, 0), at(7, 12, 0, 0), []string{"nospan"}},
		{"last hour of a 25-hour event", at(7, 21, 0, 30), at(7, 21, 0, 45), []string{"daylong", "nospan"}},
		{"25-hour event ends at range start", at(7, 21, 1, 0), at(7, 22, 0, 0), []string{"nospan"}},
		{"second day of a two-day occurrence", at(7, 26, 12, 0), at(7, 26, 13, 0), []string{"nospan", "series"}},
		{"between indexed occurrences", at(8, 1, 0, 0), at(8, 2, 0, 0), []string{"forever", "nospan"}},
		{"beyond the series' index", at(9, 20, 0, 0), at(9, 21, 0, 0), []string{"forever", "nospan", "series"}},
		{"open-ended span months later", at(12, 1, 0, 0), at(12, 2, 0, 0), []string{"forever", "nospan", "series"}},
		{"open-ended span not yet begun", at(7, 31, 0, 0), at(8, 1, 0, 0), []string{"nospan"}},
		{"span of a non-recurring object", at(9, 1, 0, 0), at(9, 2, 0, 0), []string{"forever", "nospan", "notrecurring", "series"}},
		{"occurrences of a non-recurring object", at(9, 15, 0, 0), at(9, 17, 0, 0), []string{"forever", "nospan", "series"}},
		{"unbounded start", zero, at(6, 2, 0, 0), []string{"longocc", "month", "nospan"}},
		{"unbounded end", at(7, 21, 0, 30), zero, []string{"daylong", "forever", "nospan", "notrecurring", "series"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := findNames(t, s, c.ID, tt.start, tt.end); !slices.Equal(got, tt.want) {
				t.Errorf("FindObjectsInRange(%v, %v) = %v, want %v", tt.start, tt.end, got, tt.want)
			}
		})
	}

	// Whether occurrences count follows the object's latest write.
	flip := &store.Object{CollectionID: c.ID, Name: "flip", UID: "flip", Data: []byte("flip"),
		SpanStart: at(10, 1, 10, 0), SpanEnd: at(10, 1, 11, 0),
		Occurrences: []store.Period{{Start: at(10, 5, 10, 0), End: at(10, 5, 11, 0)}}}
	for _, recurring := range []bool{false, true, false} {
		flip.Recurring = recurring
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.PutObject(ctx, flip, store.PutOptions{})
			return err
		})
		got := findNames(t, s, c.ID, at(10, 5, 0, 0), at(10, 6, 0, 0))
		if found := slices.Contains(got, "flip"); found != recurring {
			t.Errorf("rewritten with Recurring %v: found by its occurrence = %v", recurring, found)
		}
	}
}

// findNames returns the sorted names FindObjectsInRange returns.
func findNames(t *testing.T, s store.Store, collectionID int64, start, end time.Time) []string {
	t.Helper()
	var names []string
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		objs, err := tx.FindObjectsInRange(ctx, collectionID, start, end)
		names = objectNames(objs)
		return err
	})
	slices.Sort(names)
	return names
}
