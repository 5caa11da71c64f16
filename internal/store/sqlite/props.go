package sqlite

import (
	"context"
	"fmt"
	"strings"

	"koyomi.dev/koyomi/internal/store"
)

// subtree returns the bounds that select a path and everything below it
// without LIKE (whose wildcards and ASCII case folding would misfire on
// paths containing % or _ or differing only in case): base itself, base+"/",
// and every path p with base+"/" <= p < base+"0" ('0' follows '/' in byte
// order). A trailing slash on prefix is ignored, so "/a/b" and "/a/b/" name
// the same subtree.
func subtree(prefix string) (base, lo, hi string) {
	base = strings.TrimSuffix(prefix, "/")
	return base, base + "/", base + "0"
}

const inSubtree = `(path = ?1 OR (path >= ?2 AND path < ?3))`

func (t *tx) SetProperty(ctx context.Context, path, namespace, local string, xml []byte) error {
	if err := t.writable(); err != nil {
		return err
	}
	if xml == nil {
		xml = []byte{}
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO properties (path, namespace, local, xml) VALUES (?, ?, ?, ?)
		ON CONFLICT (path, namespace, local) DO UPDATE SET xml = excluded.xml`, path, namespace, local, xml)
	if err != nil {
		return fmt.Errorf("sqlite: set property {%s}%s on %s: %w", namespace, local, path, err)
	}
	return nil
}

func (t *tx) RemoveProperty(ctx context.Context, path, namespace, local string) error {
	if err := t.writable(); err != nil {
		return err
	}
	_, err := t.tx.ExecContext(ctx, `DELETE FROM properties WHERE path = ? AND namespace = ? AND local = ?`,
		path, namespace, local)
	if err != nil {
		return fmt.Errorf("sqlite: remove property {%s}%s on %s: %w", namespace, local, path, err)
	}
	return nil
}

func (t *tx) Properties(ctx context.Context, path string) ([]store.Property, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT namespace, local, xml FROM properties WHERE path = ?
		ORDER BY namespace, local`, path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: properties of %s: %w", path, err)
	}
	defer rows.Close()
	var props []store.Property
	for rows.Next() {
		var p store.Property
		if err := rows.Scan(&p.Namespace, &p.Local, &p.XML); err != nil {
			return nil, fmt.Errorf("sqlite: properties of %s: %w", path, err)
		}
		props = append(props, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: properties of %s: %w", path, err)
	}
	return props, nil
}

func (t *tx) MoveProperties(ctx context.Context, oldPrefix, newPrefix string) error {
	if err := t.writable(); err != nil {
		return err
	}
	base, lo, hi := subtree(oldPrefix)
	newBase := strings.TrimSuffix(newPrefix, "/")
	// OR REPLACE: properties already at the destination give way, as the
	// resource they described is being overwritten.
	_, err := t.tx.ExecContext(ctx, `UPDATE OR REPLACE properties SET path = ?4 || substr(path, length(?1) + 1)
		WHERE `+inSubtree, base, lo, hi, newBase)
	if err != nil {
		return fmt.Errorf("sqlite: move properties %s to %s: %w", oldPrefix, newPrefix, err)
	}
	return nil
}

func (t *tx) CopyProperties(ctx context.Context, fromPath, toPath string) error {
	if err := t.writable(); err != nil {
		return err
	}
	_, err := t.tx.ExecContext(ctx, `INSERT OR REPLACE INTO properties (path, namespace, local, xml)
		SELECT ?, namespace, local, xml FROM properties WHERE path = ?`, toPath, fromPath)
	if err != nil {
		return fmt.Errorf("sqlite: copy properties %s to %s: %w", fromPath, toPath, err)
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
