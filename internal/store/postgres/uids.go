package postgres

import (
	"context"
	"fmt"

	"koyomi.dev/koyomi/internal/store"
)

// GetObjectsByUID implements store.UIDReader.
func (t *tx) GetObjectsByUID(ctx context.Context, collectionID int64, uids []string) ([]*store.Object, error) {
	if len(uids) == 0 {
		return nil, nil
	}
	objs, err := t.queryObjectsOcc(ctx, true, false, `SELECT `+objectColumns(true)+` FROM objects
		WHERE collection_id = $1 AND uid <> '' AND uid = ANY($2)`, collectionID, uids)
	if err != nil {
		return nil, fmt.Errorf("postgres: get objects of %d by uid: %w", collectionID, err)
	}
	return objs, nil
}
