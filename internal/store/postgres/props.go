package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"koyomi.dev/koyomi/internal/store"
)

// subtree returns the bounds that select a key and every key below it
// without LIKE (whose wildcards would misfire on keys containing % or _):
// base itself, and every key k with base+"/" <= k < base+"0" ('0' follows
// '/' in byte order, which the "C" collation of the key column follows). A
// trailing slash on prefix is ignored, so "c:1" and "c:1/" name the same
// subtree.
func subtree(prefix string) (base, lo, hi string) {
	base = strings.TrimSuffix(prefix, "/")
	return base, base + "/", base + "0"
}

// inSubtree selects the rows of a subtree; $1, $2, $3 are subtree's results.
const inSubtree = `(key = $1 OR (key >= $2 AND key < $3))`

func (t *tx) SetProperty(ctx context.Context, key, namespace, local string, xml []byte) error {
	if err := t.writable(); err != nil {
		return err
	}
	if xml == nil {
		xml = []byte{}
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO properties (key, namespace, local, xml) VALUES ($1, $2, $3, $4)
		ON CONFLICT (key, namespace, local) DO UPDATE SET xml = excluded.xml`, key, namespace, local, xml)
	if err != nil {
		return fmt.Errorf("postgres: set property {%s}%s on %s: %w", namespace, local, key, err)
	}
	return nil
}

func (t *tx) RemoveProperty(ctx context.Context, key, namespace, local string) error {
	if err := t.writable(); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `DELETE FROM properties WHERE key = $1 AND namespace = $2 AND local = $3`,
		key, namespace, local)
	if err != nil {
		return fmt.Errorf("postgres: remove property {%s}%s on %s: %w", namespace, local, key, err)
	}
	return nil
}

func (t *tx) Properties(ctx context.Context, key string) ([]store.Property, error) {
	rows, err := t.tx.Query(ctx, `SELECT namespace, local, xml FROM properties WHERE key = $1
		ORDER BY namespace, local`, key)
	if err != nil {
		return nil, fmt.Errorf("postgres: properties of %s: %w", key, err)
	}
	var p store.Property
	var props []store.Property
	_, err = pgx.ForEachRow(rows, []any{&p.Namespace, &p.Local, &p.XML}, func() error {
		props = append(props, store.Property{Namespace: p.Namespace, Local: p.Local, XML: p.XML})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: properties of %s: %w", key, err)
	}
	return props, nil
}

func (t *tx) CopyProperties(ctx context.Context, fromKey, toKey string) error {
	if err := t.writable(); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO properties (key, namespace, local, xml)
		SELECT $1, namespace, local, xml FROM properties WHERE key = $2
		ON CONFLICT (key, namespace, local) DO UPDATE SET xml = excluded.xml`, toKey, fromKey)
	if err != nil {
		return fmt.Errorf("postgres: copy properties %s to %s: %w", fromKey, toKey, err)
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
