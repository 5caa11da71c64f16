package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"koyomi.dev/koyomi/internal/store"
)

// subtree returns the bounds that select a path and everything below it
// without LIKE (whose wildcards would misfire on paths containing % or _):
// base itself, and every path p with base+"/" <= p < base+"0" ('0' follows
// '/' in byte order, which the "C" collation of the path column follows). A
// trailing slash on prefix is ignored, so "/a/b" and "/a/b/" name the same
// subtree.
func subtree(prefix string) (base, lo, hi string) {
	base = strings.TrimSuffix(prefix, "/")
	return base, base + "/", base + "0"
}

// inSubtree selects the rows of a subtree; $1, $2, $3 are subtree's results.
const inSubtree = `(path = $1 OR (path >= $2 AND path < $3))`

func (t *tx) SetProperty(ctx context.Context, path, namespace, local string, xml []byte) error {
	if err := t.writable(); err != nil {
		return err
	}
	if xml == nil {
		xml = []byte{}
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO properties (path, namespace, local, xml) VALUES ($1, $2, $3, $4)
		ON CONFLICT (path, namespace, local) DO UPDATE SET xml = excluded.xml`, path, namespace, local, xml)
	if err != nil {
		return fmt.Errorf("postgres: set property {%s}%s on %s: %w", namespace, local, path, err)
	}
	return nil
}

func (t *tx) RemoveProperty(ctx context.Context, path, namespace, local string) error {
	if err := t.writable(); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `DELETE FROM properties WHERE path = $1 AND namespace = $2 AND local = $3`,
		path, namespace, local)
	if err != nil {
		return fmt.Errorf("postgres: remove property {%s}%s on %s: %w", namespace, local, path, err)
	}
	return nil
}

func (t *tx) Properties(ctx context.Context, path string) ([]store.Property, error) {
	rows, err := t.tx.Query(ctx, `SELECT namespace, local, xml FROM properties WHERE path = $1
		ORDER BY namespace, local`, path)
	if err != nil {
		return nil, fmt.Errorf("postgres: properties of %s: %w", path, err)
	}
	var p store.Property
	var props []store.Property
	_, err = pgx.ForEachRow(rows, []any{&p.Namespace, &p.Local, &p.XML}, func() error {
		props = append(props, store.Property{Namespace: p.Namespace, Local: p.Local, XML: p.XML})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: properties of %s: %w", path, err)
	}
	return props, nil
}

func (t *tx) MoveProperties(ctx context.Context, oldPrefix, newPrefix string) error {
	if err := t.writable(); err != nil {
		return err
	}
	base, lo, hi := subtree(oldPrefix)
	newBase := strings.TrimSuffix(newPrefix, "/")
	// Properties already at the destination give way, as the resource they
	// described is being overwritten; then the subtree is re-keyed. Two
	// statements, because a unique index is checked row by row.
	_, err := t.tx.Exec(ctx, `DELETE FROM properties d USING properties s
		WHERE (s.path = $1 OR (s.path >= $2 AND s.path < $3))
		  AND d.path = $4::text || substr(s.path, length($1) + 1)
		  AND d.namespace = s.namespace AND d.local = s.local
		  AND NOT (d.path = $1 OR (d.path >= $2 AND d.path < $3))`, base, lo, hi, newBase)
	if err != nil {
		return fmt.Errorf("postgres: move properties %s to %s: %w", oldPrefix, newPrefix, err)
	}
	_, err = t.tx.Exec(ctx, `UPDATE properties SET path = $4::text || substr(path, length($1) + 1)
		WHERE `+inSubtree, base, lo, hi, newBase)
	if err != nil {
		return fmt.Errorf("postgres: move properties %s to %s: %w", oldPrefix, newPrefix, err)
	}
	return nil
}

func (t *tx) CopyProperties(ctx context.Context, fromPath, toPath string) error {
	if err := t.writable(); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO properties (path, namespace, local, xml)
		SELECT $1, namespace, local, xml FROM properties WHERE path = $2
		ON CONFLICT (path, namespace, local) DO UPDATE SET xml = excluded.xml`, toPath, fromPath)
	if err != nil {
		return fmt.Errorf("postgres: copy properties %s to %s: %w", fromPath, toPath, err)
	}
	return nil
}

func (t *tx) DeleteProperties(ctx context.Context, prefix string) error {
	if err := t.writable(); err != nil {
		return err
	}
	base, lo, hi := subtree(prefix)
	if _, err := t.tx.Exec(ctx, `DELETE FROM properties WHERE `+inSubtree, base, lo, hi); err != nil {
		return fmt.Errorf("postgres: delete properties under %s: %w", prefix, err)
	}
	return nil
}
