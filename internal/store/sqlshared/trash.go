package sqlshared

import (
	"context"
	"fmt"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// TrashSchema is the DDL of the trash, with the dialect's types of an
// auto-assigned ID, of indexed text (compared byte by byte) and of bytes. owner is a plain name, not a reference:
// a user in the trash has no row in users.
func TrashSchema(idColumn, textType, blobType string) string {
	return `
CREATE TABLE trash (
	id            ` + idColumn + `,
	owner         ` + textType + ` NOT NULL,
	kind          TEXT NOT NULL,
	name          TEXT NOT NULL,
	collection_id BIGINT NOT NULL DEFAULT 0,
	size          BIGINT NOT NULL DEFAULT 0,
	deleted_us    BIGINT NOT NULL,
	deleted_by    TEXT NOT NULL DEFAULT '',
	payload       ` + blobType + ` NOT NULL
);
CREATE INDEX trash_owner ON trash (owner, id);
CREATE INDEX trash_deleted ON trash (deleted_us);
`
}

// AddTrash implements store.Trash.
func (t Tx) AddTrash(ctx context.Context, it *store.TrashItem) error {
	if err := t.writable(); err != nil {
		return err
	}
	deleted := truncate(it.Deleted)
	if deleted.IsZero() {
		deleted = t.now()
	}
	id, err := t.returning(ctx, `INSERT INTO trash (owner, kind, name, collection_id, size, deleted_us, deleted_by, payload)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, it.Owner, string(it.Kind), it.Name, it.CollectionID, it.Size,
		micros(deleted), it.DeletedBy, nonNil(it.Payload))
	if err != nil {
		return t.errorf("add %s %q of %q to the trash: %w", it.Kind, it.Name, it.Owner, err)
	}
	it.ID, it.Deleted = id, deleted
	return nil
}

const trashColumns = `id, owner, kind, name, collection_id, size, deleted_us, deleted_by`

func scanTrash(r Rows, withPayload bool) (*store.TrashItem, error) {
	var it store.TrashItem
	var kind string
	var deleted int64
	dest := []any{&it.ID, &it.Owner, &kind, &it.Name, &it.CollectionID, &it.Size, &deleted, &it.DeletedBy}
	if withPayload {
		dest = append(dest, &it.Payload)
	}
	err := r.Scan(dest...)
	it.Kind, it.Deleted = store.TrashKind(kind), fromMicros(deleted)
	return &it, err
}

// GetTrash implements store.Trash.
func (t Tx) GetTrash(ctx context.Context, id int64) (*store.TrashItem, error) {
	it, err := first(ctx, t, func(r Rows) (*store.TrashItem, error) { return scanTrash(r, true) },
		`SELECT `+trashColumns+`, payload FROM trash WHERE id = ?`, id)
	if err != nil {
		return nil, t.errorf("trash item %d: %w", id, err)
	}
	return it, nil
}

// ListTrash implements store.Trash.
func (t Tx) ListTrash(ctx context.Context, owner string) ([]*store.TrashItem, error) {
	scan := func(r Rows) (*store.TrashItem, error) { return scanTrash(r, false) }
	var items []*store.TrashItem
	var err error
	if owner == "" {
		items, err = collect(ctx, t, scan, `SELECT `+trashColumns+` FROM trash ORDER BY id`)
	} else {
		items, err = collect(ctx, t, scan, `SELECT `+trashColumns+` FROM trash WHERE owner = ? ORDER BY id`, owner)
	}
	if err != nil {
		return nil, t.errorf("trash of %q: %w", owner, err)
	}
	return items, nil
}

// DeleteTrash implements store.Trash.
func (t Tx) DeleteTrash(ctx context.Context, id int64) error {
	if err := t.writable(); err != nil {
		return err
	}
	n, err := t.Q.Exec(ctx, `DELETE FROM trash WHERE id = ?`, id)
	return t.expectRow(n, err, fmt.Sprintf("delete trash item %d", id))
}

// RetargetTrash implements store.Trash.
func (t Tx) RetargetTrash(ctx context.Context, from, to int64) error {
	if err := t.writable(); err != nil {
		return err
	}
	if _, err := t.Q.Exec(ctx, `UPDATE trash SET collection_id = ? WHERE collection_id = ?`, to, from); err != nil {
		return t.errorf("retarget the trash of collection %d: %w", from, err)
	}
	return nil
}

// PurgeTrash implements store.Trash.
func (t Tx) PurgeTrash(ctx context.Context, before time.Time) (int64, error) {
	if err := t.writable(); err != nil {
		return 0, err
	}
	n, err := t.Q.Exec(ctx, `DELETE FROM trash WHERE deleted_us < ?`, micros(before))
	if err != nil {
		return 0, t.errorf("purge the trash: %w", err)
	}
	return n, nil
}

// TrashSize implements store.Trash.
func (t Tx) TrashSize(ctx context.Context) (items, bytes int64, err error) {
	rows, err := t.Q.Query(ctx, `SELECT count(*), CAST(coalesce(sum(size), 0) AS BIGINT) FROM trash`)
	if err != nil {
		return 0, 0, t.errorf("trash size: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		err = rows.Scan(&items, &bytes)
	}
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		return 0, 0, t.errorf("trash size: %w", err)
	}
	return items, bytes, nil
}
