package storecopy

import "fmt"

// maxGap bounds the placeholders made to keep one ID: a source whose IDs
// jump further than that gets new IDs rather than a long detour.
const maxGap = 10000

// idKeeper tries to give the items of one kind in the destination the IDs
// they had in the source, because some of those IDs are part of URLs
// (a virtual calendar's CalDAV collection, a connector in the JSON API).
// The contract lets the store assign IDs; both stores assign them in
// ascending sequence, so creating items in source ID order into an empty
// table, with a placeholder standing in for every ID the source no longer
// uses, yields the same IDs. Placeholders are deleted again in the same
// transaction. Every assigned ID is checked, so a store that numbers
// otherwise (or a PostgreSQL sequence already advanced by an earlier,
// failed copy) costs only the renumbering, which is reported.
type idKeeper struct {
	what       string // kind of item, for the report
	last       int64  // the last ID the destination assigned to this kind
	renumbered []string
}

// create makes the item that had ID want in the source: it calls
// placeholder until the destination's next ID should be want, then create
// for the item itself. It returns the item's ID and the placeholders'
// IDs, which the caller deletes before its transaction ends.
func (k *idKeeper) create(want int64, label string, create, placeholder func() (int64, error)) (int64, []int64, error) {
	var gaps []int64
	if want-k.last-1 <= maxGap {
		for k.last+1 < want {
			id, err := placeholder()
			if err != nil {
				return 0, gaps, fmt.Errorf("placeholder for %s %s: %w", k.what, label, err)
			}
			gaps = append(gaps, id)
			if id <= k.last {
				break // not numbered in sequence: placeholders cannot help
			}
			k.last = id
		}
	}
	got, err := create()
	if err != nil {
		return 0, gaps, err
	}
	k.last = max(k.last, got)
	if got != want {
		k.renumbered = append(k.renumbered, fmt.Sprintf("%s %s: ID %d could not be kept, it is now %d", k.what, label, want, got))
	}
	return got, gaps, nil
}
