package sqlite

import (
	"context"
	"fmt"
	"strings"

	"koyomi.dev/koyomi/internal/store"
)

// subtree returns the bounds that select a key and every key below it
// without LIKE (whose wildcards and ASCII case folding would misfire on
// keys containing % or _ or differing only in case): base itself, base+"/",
// and every key k with base+"/" <= k < base+"0" ('0' follows '/' in byte
// order). A trailing slash on prefix is ignored, so "c:1" and "c:1/" name
// the same subtree.
func subtree(prefix string) (base, lo, hi string) {
	base = strings.TrimSuffix(prefix, "/")
	return base, base + "/", base + "0"
}

const inSubtree = `(key = ?1 OR (key >= ?2 AND key < ?3))`

func (t *tx) SetProperty(ctx context.Context, key, namespace, local string, xml []byte) error {
	if err := t.writable(); err != nil {
		return err
	}
	if xml == nil {
		xml = []byte{}
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO properties (key, namespace, local, xml) VALUES (?, ?, ?, ?)
		ON CONFLICT (key, namespace, local) DO UPDATE SET xml = excluded.xml`, key, namespace, local, xml)
	if err != nil {
		return fmt.Errorf("sqlite: set property {%s}%s on %s: %w", namespace, local, key, err)
	}
	return nil
}

func (t *tx) RemoveProperty(ctx context.Context, key, namespace, local string) error {
	if err := t.writable(); err != nil {
		return err
	}
	_, err := t.tx.ExecContext(ctx, `DELETE FROM properties WHERE key = ? AND namespace = ? AND local = ?`,
		key, namespace, local)
	if err != nil {
		return fmt.Errorf("sqlite: remove property {%s}%s on %s: %w", namespace, local, key, err)
	}
	return nil
}

func (t *tx) Properties(ctx context.Context, key string) ([]store.Property, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT namespace, local, xml FROM properties WHERE key = ?
		ORDER BY namespace, local`, key)
	if err != nil {
		return nil, fmt.Errorf("sqlite: properties of %s: %w", key, err)
	}
	defer rows.Close()
	var props []store.Property
	for rows.Next() {
		var p store.Property
		if err := rows.Scan(&p.Namespace, &p.Local, &p.XML); err != nil {
			return nil, fmt.Errorf("sqlite: properties of %s: %w", key, err)
		}
		props = append(props, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: properties of %s: %w", key, err)
	}
	return props, nil
}

func (t *tx) CopyProperties(ctx context.Context, fromKey, toKey string) error {
	if err := t.writable(); err != nil {
		return err
	}
	_, err := t.tx.ExecContext(ctx, `INSERT OR REPLACE INTO properties (key, namespace, local, xml)
		SELECT ?, namespace, local, xml FROM properties WHERE key = ?`, toKey, fromKey)
	if err != nil {
		return fmt.Errorf("sqlite: copy properties %s to %s: %w", fromKey, toKey, err)
	}
	return nil
}

func (t *tx) DeleteProperties(ctx context.Context, prefix string) error {
	if err := t.writable(); err != nil {
		return err
	}
	base, lo, hi := subtree(prefix)
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM properties WHERE `+inSubtree, base, lo, hi); err != nil {
		return fmt.Errorf("sqlite: delete properties under %s: %w", prefix, err)
	}
	return nil
}
