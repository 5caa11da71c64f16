package store

import "context"

// UIDReader is an optional capability of a Tx: reading, in one query, the
// objects of a collection that carry any of some UIDs, with their data but
// without their occurrences. A view made of several calendars asks it to
// show an event held by more than one of them once. Both implementations
// provide it; callers discover it with a type assertion.
type UIDReader interface {
	GetObjectsByUID(ctx context.Context, collectionID int64, uids []string) ([]*Object, error)
}
