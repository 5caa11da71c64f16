package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// The statements of object writes and lookups, prepared once (see
// preparedQueries).
const (
	findUIDQuery     = `SELECT name FROM objects WHERE collection_id = ? AND uid = ? LIMIT 1`
	currentETagQuery = `SELECT etag FROM objects WHERE collection_id = ? AND name = ?`
	uidHolderQuery   = `SELECT name, href FROM objects WHERE collection_id = ? AND uid = ? AND name <> ? LIMIT 1`
	putObjectQuery   = `INSERT INTO objects (collection_id, name, etag, content_type, uid, component,
			data, size, modified, has_span, span_start, span_end, recurring, indexed_until, href)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (collection_id, name) DO UPDATE SET etag = excluded.etag,
			content_type = excluded.content_type, uid = excluded.uid, component = excluded.component,
			data = excluded.data, size = excluded.size, modified = excluded.modified,
			has_span = excluded.has_span, span_start = excluded.span_start, span_end = excluded.span_end,
			recurring = excluded.recurring, indexed_until = excluded.indexed_until
		RETURNING id, href`
	deleteOccurrencesQuery = `DELETE FROM occurrences WHERE object_id = ?`
	insertOccurrenceQuery  = `INSERT INTO occurrences (object_id, collection_id, start_us, end_us, recurring)
		VALUES (?, ?, ?, ?, ?)`
	bumpRevisionQuery = `UPDATE collections SET revision = revision + 1, modified = ?
		WHERE id = ? RETURNING revision`
	insertChangeQuery = `INSERT INTO changes (collection_id, name, revision, deleted, href) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (collection_id, name) DO UPDATE SET revision = excluded.revision, deleted = excluded.deleted,
			href = excluded.href`
	revisionQuery = `SELECT revision FROM collections WHERE id = ?`
)

// ETag is the entity tag the store assigns to data: the first 128 bits of
// its SHA-256, in hex. Equal bytes give equal tags, on every node and across
// restarts.
func ETag(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}

func objectColumns(withData bool) string {
	data := "NULL"
	if withData {
		data = "data"
	}
	return `id, collection_id, name, etag, content_type, uid, component, ` + data + `, size, modified,
		has_span, span_start, span_end, recurring, indexed_until, href`
}

// scanObject reads one row selected with objectColumns and returns the
// object with its row id (used to attach occurrences).
func scanObject(row interface{ Scan(...any) error }, withData bool) (int64, *store.Object, error) {
	var (
		id                                         int64
		o                                          store.Object
		modified, spanStart, spanEnd, indexedUntil sql.NullInt64
		hasSpan, recurring                         bool
	)
	if err := row.Scan(&id, &o.CollectionID, &o.Name, &o.ETag, &o.ContentType, &o.UID, &o.Component, &o.Data,
		&o.Size, &modified, &hasSpan, &spanStart, &spanEnd, &recurring, &indexedUntil, &o.Href); err != nil {
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
	o.Recurring = recurring
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
	rows, err := t.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		objs []*store.Object
		byID = map[int64]*store.Object{}
		ids  []int64
	)
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
	rows.Close()
	if withOccurrences && len(ids) > 0 {
		if err := t.loadOccurrences(ctx, ids, byID); err != nil {
			return nil, err
		}
	}
	return objs, nil
}

func (t *tx) loadOccurrences(ctx context.Context, ids []int64, byID map[int64]*store.Object) error {
	idList, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT object_id, start_us, end_us FROM occurrences
		WHERE object_id IN (SELECT value FROM json_each(?)) ORDER BY object_id, start_us, end_us`, string(idList))
	if err != nil {
		return fmt.Errorf("occurrences: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, start, end int64
		if err := rows.Scan(&id, &start, &end); err != nil {
			return fmt.Errorf("occurrences: %w", err)
		}
		o := byID[id]
		o.Occurrences = append(o.Occurrences, store.Period{
			Start: time.UnixMicro(start).UTC(),
			End:   time.UnixMicro(end).UTC(),
		})
	}
	return rows.Err()
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
		`SELECT `+objectColumns(true)+` FROM objects WHERE collection_id = ? AND name = ?`, collectionID, name)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get object %d/%s: %w", collectionID, name, err)
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("sqlite: object %d/%s: %w", collectionID, name, store.ErrNotFound)
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
	nameList, err := json.Marshal(names)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get objects: %w", err)
	}
	objs, err := t.queryObjectsOcc(ctx, true, withOccurrences, `SELECT `+objectColumns(true)+` FROM objects
		WHERE collection_id = ? AND name IN (SELECT value FROM json_each(?))`, collectionID, string(nameList))
	if err != nil {
		return nil, fmt.Errorf("sqlite: get objects of %d: %w", collectionID, err)
	}
	return objs, nil
}

func (t *tx) ListObjects(ctx context.Context, collectionID int64, withData bool) ([]*store.Object, error) {
	return t.listObjects(ctx, collectionID, withData, withData)
}

// listQuery lists a collection in name order; without data it is answered
// from the covering index objects_list (migration 8).
func listQuery(withData bool) string {
	return `SELECT ` + objectColumns(withData) + ` FROM objects WHERE collection_id = ? ORDER BY name`
}

// ListObjectsData is ListObjects with data but without the occurrences,
// which a query or an export never reads.
func (t *tx) ListObjectsData(ctx context.Context, collectionID int64) ([]*store.Object, error) {
	return t.listObjects(ctx, collectionID, true, false)
}

func (t *tx) listObjects(ctx context.Context, collectionID int64, withData, withOccurrences bool) ([]*store.Object, error) {
	objs, err := t.queryObjectsOcc(ctx, withData, withOccurrences, listQuery(withData), collectionID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list objects of %d: %w", collectionID, err)
	}
	return objs, nil
}

// rangeQuery selects the candidates of FindObjectsInRange as a union of
// index lookups, one per way an object can match, each bounded on both
// sides so that a query reads about as many rows as it returns, not the
// collection. Parameters: collection id, range start, range end, range start
// minus longPeriod (microseconds; unbounded ends are replaced by the extreme
// integers so every comparison stays an index range).
//
// A period [s, e) overlaps [start, end) when s < end and e > start; a
// zero-length period (s = e) overlaps when start <= s < end, as RFC 4791
// §9.9 has it for events without duration. A period no longer than
// longPeriod that overlaps therefore starts at or after start − longPeriod:
// spans and occurrences that short are read by a range of their start.
// Longer ones, and spans without end, are few and sit in partial indexes
// keyed by their end (migration 4), read from the range start on; their
// conditions are spelled here exactly as in the indexes, which is what lets
// SQLite use them, and a unary + keeps the planner from reading those
// branches by the start index instead, whose range is unbounded below.
//
// Occurrences only count for recurring objects; the occurrence rows carry
// that flag, so they are matched without a join.
const rangeQuery = `
SELECT %s FROM objects WHERE id IN (
	SELECT o.id FROM objects o
	WHERE o.collection_id = ?1 AND o.span_start IS NULL
UNION
	SELECT o.id FROM objects o
	WHERE o.collection_id = ?1 AND o.span_start >= ?4 AND o.span_start < ?3 AND o.has_span = 1 AND o.recurring = 0
	  AND (o.span_end > ?2 OR (o.span_end = o.span_start AND o.span_start >= ?2))
UNION
	SELECT o.id FROM objects o
	WHERE o.collection_id = ?1 AND o.span_end > ?2 AND +o.span_start < ?3
	  AND o.recurring = 0 AND o.has_span = 1 AND (o.span_end IS NULL OR o.span_end - o.span_start > 86400000000)
UNION
	SELECT o.id FROM objects o
	WHERE o.collection_id = ?1 AND o.span_end IS NULL AND +o.span_start < ?3
	  AND o.recurring = 0 AND o.has_span = 1 AND (o.span_end IS NULL OR o.span_end - o.span_start > 86400000000)
UNION
	SELECT oc.object_id FROM occurrences oc
	WHERE oc.collection_id = ?1 AND oc.start_us >= ?4 AND oc.start_us < ?3 AND oc.recurring = 1
	  AND (oc.end_us > ?2 OR (oc.end_us = oc.start_us AND oc.start_us >= ?2))
UNION
	SELECT oc.object_id FROM occurrences oc
	WHERE oc.collection_id = ?1 AND oc.end_us > ?2 AND +oc.start_us < ?3
	  AND oc.recurring = 1 AND oc.end_us - oc.start_us > 86400000000
UNION
	SELECT o.id FROM objects o
	WHERE o.collection_id = ?1 AND o.indexed_until < ?3 AND +o.span_start < ?3 AND o.has_span = 1
	  AND o.recurring = 1 AND o.indexed_until IS NOT NULL
	  AND (o.span_end IS NULL OR o.span_end > ?2 OR (o.span_end = o.span_start AND o.span_start >= ?2))
)`

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
		return nil, fmt.Errorf("sqlite: find objects of %d in range: %w", collectionID, err)
	}
	// Sorted here rather than by ORDER BY, which would copy every row's
	// data through SQLite's sorter.
	slices.SortFunc(objs, func(a, b *store.Object) int { return strings.Compare(a.Name, b.Name) })
	return objs, nil
}

// recurringStartingQuery reads the occurrence rows starting in a range by
// the covering index and the objects they belong to by their key.
const recurringStartingQuery = `
SELECT o.name FROM objects o WHERE o.id IN (
	SELECT oc.object_id FROM occurrences oc
	WHERE oc.collection_id = ?1 AND oc.recurring = 1 AND oc.start_us >= ?2 AND oc.start_us < ?3)`

func (t *tx) RecurringStartingIn(ctx context.Context, collectionID int64, start, end time.Time) ([]string, error) {
	rs, re := rangeBounds(start, end)
	rows, err := t.tx.QueryContext(ctx, recurringStartingQuery, collectionID, rs, re)
	if err != nil {
		return nil, fmt.Errorf("sqlite: recurring objects of %d starting in range: %w", collectionID, err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("sqlite: recurring objects of %d starting in range: %w", collectionID, err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: recurring objects of %d starting in range: %w", collectionID, err)
	}
	return names, nil
}

func (t *tx) FindObjectByUID(ctx context.Context, collectionID int64, uid string) (string, error) {
	if uid == "" {
		return "", fmt.Errorf("sqlite: empty uid: %w", store.ErrNotFound)
	}
	var name string
	err := t.queryRow(ctx, findUIDQuery,
		collectionID, uid).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("sqlite: uid %q in %d: %w", uid, collectionID, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: find uid %q in %d: %w", uid, collectionID, err)
	}
	return name, nil
}

// currentETag returns the ETag of an existing object, or "" and false.
func (t *tx) currentETag(ctx context.Context, collectionID int64, name string) (string, bool, error) {
	var etag string
	err := t.queryRow(ctx, currentETagQuery,
		collectionID, name).Scan(&etag)
	if errors.Is(err, sql.ErrNoRows) {
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
		return false, fmt.Errorf("sqlite: %s: empty name", what)
	}
	if _, err := t.collectionRevision(ctx, o.CollectionID); err != nil {
		return false, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	etag, exists, err := t.currentETag(ctx, o.CollectionID, o.Name)
	if err != nil {
		return false, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if opts.IfNoneMatch && exists {
		return false, fmt.Errorf("sqlite: %s: object exists: %w", what, store.ErrConflict)
	}
	if ifMatchFails(opts.IfMatch, etag, exists) {
		return false, fmt.Errorf("sqlite: %s: etag %q does not match: %w", what, opts.IfMatch, store.ErrConflict)
	}
	if o.UID != "" {
		var holder, holderHref string
		err := t.queryRow(ctx, uidHolderQuery,
			o.CollectionID, o.UID, o.Name).Scan(&holder, &holderHref)
		switch {
		case err == nil:
			return false, fmt.Errorf("sqlite: %s: %w", what, &store.UIDConflictError{UID: o.UID, Name: holder, Href: holderHref})
		case !errors.Is(err, sql.ErrNoRows):
			return false, fmt.Errorf("sqlite: %s: %w", what, err)
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
		spanStart, spanEnd = sql.NullInt64{}, sql.NullInt64{}
	}

	var id int64
	// A replaced object keeps its href: the spelling it was created with.
	err = t.queryRow(ctx, putObjectQuery,
		o.CollectionID, o.Name, o.ETag, o.ContentType, o.UID, o.Component, o.Data, o.Size, micros(o.Modified),
		hasSpan, spanStart, spanEnd, o.Recurring, micros(o.IndexedUntil), o.Href).Scan(&id, &o.Href)
	if err != nil {
		return false, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if err := t.replaceOccurrences(ctx, id, o); err != nil {
		return false, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if err := t.logChange(ctx, o.CollectionID, o.Name, o.Href, false); err != nil {
		return false, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return !exists, nil
}

func (t *tx) replaceOccurrences(ctx context.Context, objectID int64, o *store.Object) error {
	if _, err := t.exec(ctx, deleteOccurrencesQuery, objectID); err != nil {
		return fmt.Errorf("occurrences: %w", err)
	}
	if len(o.Occurrences) == 0 {
		return nil
	}
	stmt, err := t.prepared(ctx, insertOccurrenceQuery)
	if err != nil {
		return fmt.Errorf("occurrences: %w", err)
	}
	for i, p := range o.Occurrences {
		p.Start, p.End = truncate(p.Start), truncate(p.End)
		o.Occurrences[i] = p
		if _, err := stmt.ExecContext(ctx, objectID, o.CollectionID, p.Start.UnixMicro(), p.End.UnixMicro(), o.Recurring); err != nil {
			return fmt.Errorf("occurrences: %w", err)
		}
	}
	return nil
}

// logChange bumps the collection's revision and records it as name's latest
// change.
func (t *tx) logChange(ctx context.Context, collectionID int64, name, href string, deleted bool) error {
	var rev int64
	err := t.queryRow(ctx, bumpRevisionQuery, micros(t.now()), collectionID).Scan(&rev)
	if err != nil {
		return fmt.Errorf("bump revision: %w", err)
	}
	_, err = t.exec(ctx, insertChangeQuery,
		collectionID, name, rev, deleted, href)
	if err != nil {
		return fmt.Errorf("log change: %w", err)
	}
	return nil
}

func (t *tx) collectionRevision(ctx context.Context, collectionID int64) (int64, error) {
	var rev int64
	err := t.queryRow(ctx, revisionQuery, collectionID).Scan(&rev)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("collection %d: %w", collectionID, store.ErrNotFound)
	}
	return rev, err
}

func (t *tx) DeleteObject(ctx context.Context, collectionID int64, name, ifMatch string) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("delete object %d/%s", collectionID, name)
	etag, exists, err := t.currentETag(ctx, collectionID, name)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if !exists {
		return fmt.Errorf("sqlite: %s: %w", what, store.ErrNotFound)
	}
	if ifMatchFails(ifMatch, etag, exists) {
		return fmt.Errorf("sqlite: %s: etag %q does not match: %w", what, ifMatch, store.ErrConflict)
	}
	var href string
	if err := t.tx.QueryRowContext(ctx, `DELETE FROM objects WHERE collection_id = ? AND name = ? RETURNING href`,
		collectionID, name).Scan(&href); err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if err := t.logChange(ctx, collectionID, name, href, true); err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return nil
}

func (t *tx) Changes(ctx context.Context, collectionID int64, since int64) ([]store.Change, error) {
	what := fmt.Sprintf("changes of %d since %d", collectionID, since)
	rev, err := t.collectionRevision(ctx, collectionID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if since < 0 || since > rev {
		return nil, fmt.Errorf("sqlite: %s: unknown revision: %w", what, store.ErrNotFound)
	}
	query := `SELECT name, href, revision, deleted FROM changes WHERE collection_id = ? AND revision > ? ORDER BY revision`
	if since == 0 {
		query = `SELECT name, href, revision, deleted FROM changes WHERE collection_id = ? AND revision > ? AND deleted = 0 ORDER BY revision`
	}
	rows, err := t.tx.QueryContext(ctx, query, collectionID, since)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	defer rows.Close()
	var changes []store.Change
	for rows.Next() {
		var c store.Change
		if err := rows.Scan(&c.Name, &c.Href, &c.Revision, &c.Deleted); err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", what, err)
		}
		changes = append(changes, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return changes, nil
}
