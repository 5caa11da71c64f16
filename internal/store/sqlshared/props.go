package sqlshared

import (
	"context"
	"strings"

	"koyomi.dev/koyomi/internal/store"
)

// PropertySubtree returns the condition, and its arguments, that selects a
// key and every key below it without LIKE (whose wildcards, and ASCII case
// folding in SQLite, would misfire on keys containing % or _ or differing
// only in case): base itself, and every key k with base+"/" <= k < base+"0"
// ('0' follows '/' in byte order, which both stores' key columns sort by:
// SQLite's BINARY, PostgreSQL's "C" collation). A trailing slash on prefix
// is ignored, so "c:1" and "c:1/" name the same subtree. The stores' tests
// check that it is answered from the index.
func PropertySubtree(prefix string) (cond string, args []any) {
	base := strings.TrimSuffix(prefix, "/")
	return `(key = ? OR (key >= ? AND key < ?))`, []any{base, base + "/", base + "0"}
}

// SetProperty implements store.Properties.
func (t Tx) SetProperty(ctx context.Context, key, namespace, local string, xml []byte) error {
	if err := t.writable(); err != nil {
		return err
	}
	_, err := t.Q.Exec(ctx, `INSERT INTO properties (key, namespace, local, xml) VALUES (?, ?, ?, ?)
		ON CONFLICT (key, namespace, local) DO UPDATE SET xml = excluded.xml`, key, namespace, local, nonNil(xml))
	if err != nil {
		return t.errorf("set property {%s}%s on %s: %w", namespace, local, key, err)
	}
	return nil
}

// RemoveProperty implements store.Properties.
func (t Tx) RemoveProperty(ctx context.Context, key, namespace, local string) error {
	if err := t.writable(); err != nil {
		return err
	}
	_, err := t.Q.Exec(ctx, `DELETE FROM properties WHERE key = ? AND namespace = ? AND local = ?`,
		key, namespace, local)
	if err != nil {
		return t.errorf("remove property {%s}%s on %s: %w", namespace, local, key, err)
	}
	return nil
}

// Properties implements store.Properties.
func (t Tx) Properties(ctx context.Context, key string) ([]store.Property, error) {
	props, err := collect(ctx, t, func(r Rows) (*store.Property, error) {
		var p store.Property
		return &p, r.Scan(&p.Namespace, &p.Local, &p.XML)
	}, `SELECT namespace, local, xml FROM properties WHERE key = ? ORDER BY namespace, local`, key)
	if err != nil {
		return nil, t.errorf("properties of %s: %w", key, err)
	}
	var out []store.Property
	for _, p := range props {
		out = append(out, *p)
	}
	return out, nil
}

// CopyProperties implements store.Properties. The WHERE clause also keeps
// SQLite from reading ON CONFLICT as the ON of a join.
func (t Tx) CopyProperties(ctx context.Context, fromKey, toKey string) error {
	if err := t.writable(); err != nil {
		return err
	}
	_, err := t.Q.Exec(ctx, `INSERT INTO properties (key, namespace, local, xml)
		SELECT ?, namespace, local, xml FROM properties WHERE key = ?
		ON CONFLICT (key, namespace, local) DO UPDATE SET xml = excluded.xml`, toKey, fromKey)
	if err != nil {
		return t.errorf("copy properties %s to %s: %w", fromKey, toKey, err)
	}
	return nil
}

// DeleteProperties implements store.Properties.
func (t Tx) DeleteProperties(ctx context.Context, prefix string) error {
	if err := t.writable(); err != nil {
		return err
	}
	cond, args := PropertySubtree(prefix)
	if _, err := t.Q.Exec(ctx, `DELETE FROM properties WHERE `+cond, args...); err != nil {
		return t.errorf("delete properties under %s: %w", prefix, err)
	}
	return nil
}
