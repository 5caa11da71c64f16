package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"koyomi.dev/koyomi/internal/store"
)

// ETag is the entity tag the store assigns to data: the first 128 bits of
// its SHA-256, in hex. It must stay identical to the SQLite store's, so that
// tags survive a migration between the two and every node agrees.
func ETag(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}

func objectColumns(withData bool) string {
	data := "NULL::bytea"
	if withData {
		data = "data"
	}
	return `id, collection_id, name, etag, content_type, uid, component, ` + data + `, size, modified,
		has_span, span_start, span_end, recurring, indexed_until, href`
}

// scanObject reads one row selected with objectColumns and returns the
// object with its row id (used to attach occurrences).
func scanObject(row pgx.Row, withData bool) (int64, *store.Object, error) {
	var (
		id                                         int64
		o                                          store.Object
		modified, spanStart, spanEnd, indexedUntil *int64
		hasSpan                                    bool
	)
	if err := row.Scan(&id, &o.CollectionID, &o.Name, &o.ETag, &o.ContentType, &o.UID, &o.Component, &o.Data,
		&o.Size, &modified, &hasSpan, &spanStart, &spanEnd, &o.Recurring, &indexedUntil, &o.Href); err != nil {
		return 0, nil, err
	}
	if withData && o.Data == nil {
		o.Data = []byte{}
	}
	o.Modified = fromMicros(modified)
	if hasSpan {
		o.SpanStart = fromMicros(spanStart)
		o.SpanEnd = fromMicros(spanEnd)
	}
	o.IndexedUntil = fromMicros(indexedUntil)
	return id, &o, nil
}

// queryObjects runs a query selecting objectColumns(withData) and, when
// withData, attaches each object's occurrences.
func (t *tx) queryObjects(ctx context.Context, withData bool, query string, args ...any) ([]*store.Object, error) {
	return t.queryObjectsOcc(ctx, withData, withData, query, args...)
}

// queryObjectsOcc is queryObjects with the loading of occurrences chosen
// apart from the data's.
func (t *tx) queryObjectsOcc(ctx context.Context, withData, withOccurrences bool, query string, args ...any) ([]*store.Object, error) {
	rows, err := t.tx.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var (
		objs []*store.Object
		byID = map[int64]*store.Object{}
		ids  []int64
	)
	defer rows.Close()
	for rows.Next() {
		id, o, err := scanObject(rows, withData)
		if err != nil {
			return nil, err
		}
		objs = append(objs, o)
		byID[id] = o
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close() // frees the connection for the occurrence query
	if withOccurrences && len(ids) > 0 {
		if err := t.loadOccurrences(ctx, ids, byID); err != nil {
			return nil, err
		}
	}
	return objs, nil
}

func (t *tx) loadOccurrences(ctx context.Context, ids []int64, byID map[int64]*store.Object) error {
	rows, err := t.tx.Query(ctx, `SELECT object_id, start_us, end_us FROM occurrences
		WHERE object_id = ANY($1) ORDER BY object_id, start_us, end_us`, ids)
	if err != nil {
		return fmt.Errorf("occurrences: %w", err)
	}
	var id, start, end int64
	_, err = pgx.ForEachRow(rows, []any{&id, &start, &end}, func() error {
		o := byID[id]
		o.Occurrences = append(o.Occurrences, store.Period{
			Start: time.UnixMicro(start).UTC(),
			End:   time.UnixMicro(end).UTC(),
		})
		return nil
	})
	if err != nil {
		return fmt.Errorf("occurrences: %w", err)
	}
	return nil
}

func (t *tx) GetObject(ctx context.Context, collectionID int64, name string) (*store.Object, error) {
	return t.getObject(ctx, collectionID, name, true)
}

// GetObjectData is GetObject without the object's occurrences, which
// requests for an object's bytes never read.
func (t *tx) GetObjectData(ctx context.Context, collectionID int64, name string) (*store.Object, error) {
	return t.getObject(ctx, collectionID, name, false)
}

func (t *tx) getObject(ctx context.Context, collectionID int64, name string, withOccurrences bool) (*store.Object, error) {
	objs, err := t.queryObjectsOcc(ctx, true, withOccurrences,
		`SELECT `+objectColumns(true)+` FROM objects WHERE collection_id = $1 AND name = $2`, collectionID, name)
	if err != nil {
		return nil, fmt.Errorf("postgres: get object %d/%s: %w", collectionID, name, err)
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("postgres: object %d/%s: %w", collectionID, name, store.ErrNotFound)
	}
	return objs[0], nil
}

func (t *tx) GetObjects(ctx context.Context, collectionID int64, names []string) ([]*store.Object, error) {
	return t.getObjects(ctx, collectionID, names, true)
}

// GetObjectsData is GetObjects without the objects' occurrences: a
// multiget of a hundred events would otherwise read a thousand occurrence
// rows for each open-ended daily one among them.
func (t *tx) GetObjectsData(ctx context.Context, collectionID int64, names []string) ([]*store.Object, error) {
	return t.getObjects(ctx, collectionID, names, false)
}

func (t *tx) getObjects(ctx context.Context, collectionID int64, names []string, withOccurrences bool) ([]*store.Object, error) {
	if len(names) == 0 {
		return nil, nil
	}
	objs, err := t.queryObjectsOcc(ctx, true, withOccurrences, `SELECT `+objectColumns(true)+` FROM objects
		WHERE collection_id = $1 AND name = ANY($2)`, collectionID, names)
	if err != nil {
		return nil, fmt.Errorf("postgres: get objects of %d: %w", collectionID, err)
	}
	return objs, nil
}

func (t *tx) ListObjects(ctx context.Context, collectionID int64, withData bool) ([]*store.Object, error) {
	return t.listObjects(ctx, collectionID, withData, withData)
}

// ListObjectsData is ListObjects with data but without the occurrences,
// which a query or an export never reads.
func (t *tx) ListObjectsData(ctx context.Context, collectionID int64) ([]*store.Object, error) {
	return t.listObjects(ctx, collectionID, true, false)
}

func (t *tx) listObjects(ctx context.Context, collectionID int64, withData, withOccurrences bool) ([]*store.Object, error) {
	objs, err := t.queryObjectsOcc(ctx, withData, withOccurrences, `SELECT `+objectColumns(withData)+` FROM objects
		WHERE collection_id = $1 ORDER BY name`, collectionID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list objects of %d: %w", collectionID, err)
	}
	return objs, nil
}

// rangeQuery selects the candidates of FindObjectsInRange as a union of
// index lookups, one per way an object can match, each bounded on both
// sides so that a query reads about as many rows as it returns, not the
// collection. Parameters: collection id, range start, range end, range start
// minus longPeriod (microseconds; unbounded ends are replaced by the extreme
// integers so every comparison stays an index range). The outer
// collection_id term lets the planner read the collection's objects by the
// (collection_id, name) index, already in name order, rather than join the
// candidates against the whole table.
//
// A period [s, e) overlaps [start, end) when s < end and e > start; a
// zero-length period (s = e) overlaps when start <= s < end, as RFC 4791
// §9.9 has it for events without duration. A period no longer than
// longPeriod that overlaps therefore starts at or after start − longPeriod:
// spans and occurrences that short are read by a range of their start.
// Longer ones, and spans without end, are few and sit in partial indexes
// keyed by their end (migration 4), read from the range start on; their
// conditions are spelled here exactly as in the indexes, so that the
// planner can prove them whatever the parameters.
//
// Occurrences only count for recurring objects; the occurrence rows carry
// that flag, so they are matched without a join.
const rangeQuery = `
SELECT %s FROM objects WHERE collection_id = $1 AND id IN (
	SELECT o.id FROM objects o
	WHERE o.collection_id = $1 AND o.span_start IS NULL
UNION
	SELECT o.id FROM objects o
	WHERE o.collection_id = $1 AND o.span_start >= $4 AND o.span_start < $3 AND o.has_span AND NOT o.recurring
	  AND (o.span_end > $2 OR (o.span_end = o.span_start AND o.span_start >= $2))
UNION
	SELECT o.id FROM objects o
	WHERE o.collection_id = $1 AND o.span_end > $2 AND o.span_start < $3
	  AND NOT o.recurring AND o.has_span AND (o.span_end IS NULL OR o.span_end - o.span_start > 86400000000)
UNION
	SELECT o.id FROM objects o
	WHERE o.collection_id = $1 AND o.span_end IS NULL AND o.span_start < $3
	  AND NOT o.recurring AND o.has_span AND (o.span_end IS NULL OR o.span_end - o.span_start > 86400000000)
UNION
	SELECT oc.object_id FROM occurrences oc
	WHERE oc.collection_id = $1 AND oc.start_us >= $4 AND oc.start_us < $3 AND oc.recurring
	  AND (oc.end_us > $2 OR (oc.end_us = oc.start_us AND oc.start_us >= $2))
UNION
	SELECT oc.object_id FROM occurrences oc
	WHERE oc.collection_id = $1 AND oc.end_us > $2 AND oc.start_us < $3
	  AND oc.recurring AND oc.end_us - oc.start_us > 86400000000
UNION
	SELECT o.id FROM objects o
	WHERE o.collection_id = $1 AND o.indexed_until < $3 AND o.span_start < $3 AND o.has_span
	  AND o.recurring AND o.indexed_until IS NOT NULL
	  AND (o.span_end IS NULL OR o.span_end > $2 OR (o.span_end = o.span_start AND o.span_start >= $2))
) ORDER BY name`

// longPeriod is the longest span or occurrence (in microseconds) that
// rangeQuery finds by its start: one day, so that every timed and all-day
// event of a single day is read by the start indexes and a query reads at
// most a day of them before its range. It is written out in migration 4's
// partial indexes and in rangeQuery, which must agree with it.
const longPeriod = int64(24 * time.Hour / time.Microsecond)

func rangeBounds(start, end time.Time) (int64, int64) {
	rs, re := int64(math.MinInt64), int64(math.MaxInt64)
	if !start.IsZero() {
		rs = start.UnixMicro()
	}
	if !end.IsZero() {
		re = end.UnixMicro()
	}
	return rs, re
}

// earliestShortStart is rs − longPeriod, held at the smallest integer
// rather than wrapping around.
func earliestShortStart(rs int64) int64 {
	if rs < math.MinInt64+longPeriod {
		return math.MinInt64
	}
	return rs - longPeriod
}

func (t *tx) FindObjectsInRange(ctx context.Context, collectionID int64, start, end time.Time) ([]*store.Object, error) {
	rs, re := rangeBounds(start, end)
	// Callers evaluate the candidates' data and never read their
	// occurrences, which for an open-ended daily event are a thousand rows.
	objs, err := t.queryObjectsOcc(ctx, true, false, fmt.Sprintf(rangeQuery, objectColumns(true)),
		collectionID, rs, re, earliestShortStart(rs))
	if err != nil {
		return nil, fmt.Errorf("postgres: find objects of %d in range: %w", collectionID, err)
	}
	return objs, nil
}

// recurringStartingQuery reads the occurrence rows starting in a range by
// the covering index and the objects they belong to by their key.
const recurringStartingQuery = `
SELECT o.name FROM objects o WHERE o.id IN (
	SELECT oc.object_id FROM occurrences oc
	WHERE oc.collection_id = $1 AND oc.recurring AND oc.start_us >= $2 AND oc.start_us < $3)`

func (t *tx) RecurringStartingIn(ctx context.Context, collectionID int64, start, end time.Time) ([]string, error) {
	rs, re := rangeBounds(start, end)
	rows, err := t.tx.Query(ctx, recurringStartingQuery, collectionID, rs, re)
	if err != nil {
		return nil, fmt.Errorf("postgres: recurring objects of %d starting in range: %w", collectionID, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: recurring objects of %d starting in range: %w", collectionID, err)
	}
	return names, nil
}

// The uid <> '' term in UID lookups is redundant for non-empty UIDs but lets
// the planner use the partial index objects_uid even with a generic plan.

func (t *tx) FindObjectByUID(ctx context.Context, collectionID int64, uid string) (string, error) {
	if uid == "" {
		return "", fmt.Errorf("postgres: empty uid: %w", store.ErrNotFound)
	}
	var name string
	err := t.tx.QueryRow(ctx, `SELECT name FROM objects WHERE collection_id = $1 AND uid = $2 AND uid <> ''`,
		collectionID, uid).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("postgres: uid %q in %d: %w", uid, collectionID, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("postgres: find uid %q in %d: %w", uid, collectionID, err)
	}
	return name, nil
}

// lockForMemberChange locks the collection's row until the transaction ends
// and returns the current ETag of the named object, if it exists. Every
// member change takes this lock first, so that changes to one collection
// are serialised across connections and nodes: the revision bump, the
// precondition and the UID check all see the latest committed state.
//
// The lock and the read are two statements on purpose. READ COMMITTED takes
// a fresh snapshot per statement, so the second one, run once the lock is
// granted, sees what the previous holder committed. A single
// "SELECT ... JOIN objects ... FOR UPDATE OF c" would not: after waiting for
// the lock, PostgreSQL re-reads only the locked row and keeps the joined
// object row from the snapshot taken before the wait, a stale ETag that would
// let a conditional write overwrite a concurrent one.
func (t *tx) lockForMemberChange(ctx context.Context, collectionID int64, name string) (etag string, exists bool, err error) {
	var one int
	err = t.tx.QueryRow(ctx, `SELECT 1 FROM collections WHERE id = $1 FOR UPDATE`, collectionID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, fmt.Errorf("collection %d: %w", collectionID, store.ErrNotFound)
	}
	if err != nil {
		return "", false, fmt.Errorf("lock collection: %w", err)
	}
	err = t.tx.QueryRow(ctx, `SELECT etag FROM objects WHERE collection_id = $1 AND name = $2`,
		collectionID, name).Scan(&etag)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return etag, true, nil
}

// ifMatchFails applies an If-Match precondition. "*" (any current
// representation) is accepted so callers may pass the header through.
func ifMatchFails(ifMatch, etag string, exists bool) bool {
	if ifMatch == "" {
		return false
	}
	if !exists {
		return true
	}
	return ifMatch != "*" && ifMatch != etag
}

func (t *tx) PutObject(ctx context.Context, o *store.Object, opts store.PutOptions) (bool, error) {
	if err := t.writable(); err != nil {
		return false, err
	}
	what := fmt.Sprintf("put object %d/%s", o.CollectionID, o.Name)
	if o.Name == "" {
		return false, fmt.Errorf("postgres: %s: empty name", what)
	}
	etag, exists, err := t.lockForMemberChange(ctx, o.CollectionID, o.Name)
	if err != nil {
		return false, fmt.Errorf("postgres: %s: %w", what, err)
	}
	if opts.IfNoneMatch && exists {
		return false, fmt.Errorf("postgres: %s: object exists: %w", what, store.ErrConflict)
	}
	if ifMatchFails(opts.IfMatch, etag, exists) {
		return false, fmt.Errorf("postgres: %s: etag %q does not match: %w", what, opts.IfMatch, store.ErrConflict)
	}
	if o.UID != "" {
		var holder, holderHref string
		err := t.tx.QueryRow(ctx, `SELECT name, href FROM objects
			WHERE collection_id = $1 AND uid = $2 AND uid <> '' AND name <> $3`,
			o.CollectionID, o.UID, o.Name).Scan(&holder, &holderHref)
		switch {
		case err == nil:
			return false, fmt.Errorf("postgres: %s: %w", what, &store.UIDConflictError{UID: o.UID, Name: holder, Href: holderHref})
		case !errors.Is(err, pgx.ErrNoRows):
			return false, fmt.Errorf("postgres: %s: %w", what, err)
		}
	}

	if o.Data == nil {
		o.Data = []byte{}
	}
	o.ETag = ETag(o.Data)
	o.Size = int64(len(o.Data))
	o.Modified = truncate(t.now())
	o.SpanStart, o.SpanEnd, o.IndexedUntil = truncate(o.SpanStart), truncate(o.SpanEnd), truncate(o.IndexedUntil)
	hasSpan := !o.SpanStart.IsZero()
	spanStart, spanEnd := micros(o.SpanStart), micros(o.SpanEnd)
	if !hasSpan {
		spanStart, spanEnd = nil, nil
	}

	var id int64
	// A replaced object keeps its href: the spelling it was created with.
	err = t.tx.QueryRow(ctx, `INSERT INTO objects (collection_id, name, etag, content_type, uid, component,
			data, size, modified, has_span, span_start, span_end, recurring, indexed_until, href)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (collection_id, name) DO UPDATE SET etag = excluded.etag,
			content_type = excluded.content_type, uid = excluded.uid, component = excluded.component,
			data = excluded.data, size = excluded.size, modified = excluded.modified,
			has_span = excluded.has_span, span_start = excluded.span_start, span_end = excluded.span_end,
			recurring = excluded.recurring, indexed_until = excluded.indexed_until
		RETURNING id, href`,
		o.CollectionID, o.Name, o.ETag, o.ContentType, o.UID, o.Component, o.Data, o.Size, micros(o.Modified),
		hasSpan, spanStart, spanEnd, o.Recurring, micros(o.IndexedUntil), o.Href).Scan(&id, &o.Href)
	if code, constraint := pgCode(err); code == uniqueViolation && constraint == "objects_uid" {
		// Unreachable while every writer takes the collection lock; kept so
		// that a violation still reads as what it is.
		return false, fmt.Errorf("postgres: %s: %w", what, &store.UIDConflictError{UID: o.UID})
	}
	if err != nil {
		return false, fmt.Errorf("postgres: %s: %w", what, err)
	}
	if err := t.replaceOccurrences(ctx, id, exists, o); err != nil {
		return false, fmt.Errorf("postgres: %s: %w", what, err)
	}
	if err := t.logChange(ctx, o.CollectionID, o.Name, o.Href, false); err != nil {
		return false, fmt.Errorf("postgres: %s: %w", what, err)
	}
	return !exists, nil
}

// replaceOccurrences stores o's occurrences under objectID, dropping the
// previous ones when the object existed before.
func (t *tx) replaceOccurrences(ctx context.Context, objectID int64, existed bool, o *store.Object) error {
	if existed {
		if _, err := t.tx.Exec(ctx, `DELETE FROM occurrences WHERE object_id = $1`, objectID); err != nil {
			return fmt.Errorf("occurrences: %w", err)
		}
	}
	if len(o.Occurrences) == 0 {
		return nil
	}
	starts := make([]int64, len(o.Occurrences))
	ends := make([]int64, len(o.Occurrences))
	for i, p := range o.Occurrences {
		p.Start, p.End = truncate(p.Start), truncate(p.End)
		o.Occurrences[i] = p
		starts[i], ends[i] = p.Start.UnixMicro(), p.End.UnixMicro()
	}
	// One statement for all occurrences, however many the index holds.
	_, err := t.tx.Exec(ctx, `INSERT INTO occurrences (object_id, collection_id, start_us, end_us, recurring)
		SELECT $1, $2, s, e, $5 FROM unnest($3::bigint[], $4::bigint[]) AS u(s, e)`,
		objectID, o.CollectionID, starts, ends, o.Recurring)
	if err != nil {
		return fmt.Errorf("occurrences: %w", err)
	}
	return nil
}

// logChange bumps the collection's revision and records it as name's latest
// change. The caller holds the collection's row lock.
func (t *tx) logChange(ctx context.Context, collectionID int64, name, href string, deleted bool) error {
	_, err := t.tx.Exec(ctx, `WITH bumped AS (
			UPDATE collections SET revision = revision + 1, modified = $4 WHERE id = $1 RETURNING revision
		)
		INSERT INTO changes (collection_id, name, revision, deleted, href) SELECT $1, $2, revision, $3, $5 FROM bumped
		ON CONFLICT (collection_id, name) DO UPDATE SET revision = excluded.revision, deleted = excluded.deleted,
			href = excluded.href`,
		collectionID, name, deleted, micros(t.now()), href)
	if err != nil {
		return fmt.Errorf("log change: %w", err)
	}
	return nil
}

func (t *tx) DeleteObject(ctx context.Context, collectionID int64, name, ifMatch string) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("delete object %d/%s", collectionID, name)
	etag, exists, err := t.lockForMemberChange(ctx, collectionID, name)
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	if !exists {
		return fmt.Errorf("postgres: %s: %w", what, store.ErrNotFound)
	}
	if ifMatchFails(ifMatch, etag, exists) {
		return fmt.Errorf("postgres: %s: etag %q does not match: %w", what, ifMatch, store.ErrConflict)
	}
	var href string
	if err := t.tx.QueryRow(ctx, `DELETE FROM objects WHERE collection_id = $1 AND name = $2 RETURNING href`,
		collectionID, name).Scan(&href); err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	if err := t.logChange(ctx, collectionID, name, href, true); err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	return nil
}

func (t *tx) Changes(ctx context.Context, collectionID int64, since int64) ([]store.Change, error) {
	what := fmt.Sprintf("changes of %d since %d", collectionID, since)
	var rev int64
	err := t.tx.QueryRow(ctx, `SELECT revision FROM collections WHERE id = $1`, collectionID).Scan(&rev)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: %s: collection: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	if since < 0 || since > rev {
		return nil, fmt.Errorf("postgres: %s: unknown revision: %w", what, store.ErrNotFound)
	}
	query := `SELECT name, href, revision, deleted FROM changes
		WHERE collection_id = $1 AND revision > $2 ORDER BY revision`
	if since == 0 {
		query = `SELECT name, href, revision, deleted FROM changes
			WHERE collection_id = $1 AND revision > $2 AND NOT deleted ORDER BY revision`
	}
	rows, err := t.tx.Query(ctx, query, collectionID, since)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	var c store.Change
	var changes []store.Change
	_, err = pgx.ForEachRow(rows, []any{&c.Name, &c.Href, &c.Revision, &c.Deleted}, func() error {
		changes = append(changes, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	return changes, nil
}
