package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

	"koyomi.dev/koyomi/internal/store"
)

// GetObjectsByUID implements store.UIDReader through the index objects_uid.
func (t *tx) GetObjectsByUID(ctx context.Context, collectionID int64, uids []string) ([]*store.Object, error) {
	if len(uids) == 0 {
		return nil, nil
	}
	list, err := json.Marshal(uids)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get objects by uid: %w", err)
	}
	objs, err := t.queryObjectsOcc(ctx, true, false, `SELECT `+objectColumns(true)+` FROM objects
		WHERE collection_id = ? AND uid <> '' AND uid IN (SELECT value FROM json_each(?))`, collectionID, string(list))
	if err != nil {
		return nil, fmt.Errorf("sqlite: get objects of %d by uid: %w", collectionID, err)
	}
	return objs, nil
}
