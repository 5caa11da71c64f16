package storetest

import (
	"context"
	"slices"
	"testing"

	"koyomi.dev/koyomi/internal/store"
)

func testGetObjectsByUID(t *testing.T, s store.Store) {
	c := seed(t, s)
	put(t, s, c.ID, "a.ics", "uid-a", "A")
	put(t, s, c.ID, "b.ics", "uid-b", "B")
	put(t, s, c.ID, "c.ics", "uid-c", "C")
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		r, ok := tx.(store.UIDReader)
		if !ok {
			t.Fatal("the Tx is not a store.UIDReader")
		}
		objs, err := r.GetObjectsByUID(ctx, c.ID, []string{"uid-c", "uid-a", "nope", ""})
		if err != nil {
			return err
		}
		names := objectNames(objs)
		slices.Sort(names)
		if !slices.Equal(names, []string{"a.ics", "c.ics"}) {
			t.Errorf("GetObjectsByUID = %v, want a.ics and c.ics", names)
		}
		for _, o := range objs {
			if len(o.Data) == 0 || o.ETag == "" || o.UID == "" {
				t.Errorf("GetObjectsByUID: %s lacks data, ETag or UID", o.Name)
			}
		}
		if objs, err := r.GetObjectsByUID(ctx, c.ID+1000, []string{"uid-a"}); err != nil || len(objs) != 0 {
			t.Errorf("GetObjectsByUID of another collection = %d objects, %v", len(objs), err)
		}
		return nil
	})
}
