// Package sqlshared holds the SQL that the SQLite and PostgreSQL stores run
// alike. Statements are written once, with ? placeholders, against a small
// Querier that each store adapts its transaction to (PostgreSQL's rewrites
// the placeholders to $1, $2 …). A concept whose statements agree in both
// dialects lives here once instead of twice; what differs (schema,
// migrations, index tricks, error codes) stays with each store.
//
// The schema the statements expect is created by each store's migrations:
// times are integer unix microseconds, NULL for the zero time where a
// column allows it. Booleans are passed and scanned as Go bools, which
// SQLite keeps as integers and PostgreSQL as booleans, except in the
// sharing tables, whose integer columns both stores share.
package sqlshared

import (
	"context"
	"errors"
	"fmt"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// Querier runs statements in one transaction.
type Querier interface {
	// Exec runs a statement and returns how many rows it changed.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// Query runs a query; the caller closes the rows.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
}

// Rows is a result set.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// Tx implements the store concepts kept here on one transaction.
type Tx struct {
	Q Querier
	// Name prefixes error messages ("sqlite", "postgres").
	Name     string
	ReadOnly bool
	Now      func() time.Time
	// Violated classifies the error of a failed statement: the kind of
	// constraint it broke and, where the dialect reports it, the
	// constraint's name.
	Violated func(err error) (v Violation, constraint string)
	// CheckReferences makes writes look up the rows they refer to before
	// writing, to say which one is missing. A dialect that names the
	// foreign key a write violated (PostgreSQL) leaves it false: the key
	// itself answers, which also holds while another node deletes the row.
	CheckReferences bool
	// KeyShare is appended to a SELECT of the rows a write depends on
	// without a foreign key, to keep them from being deleted until the
	// transaction ends: PostgreSQL's " FOR KEY SHARE". SQLite, with one
	// writer at a time, needs none.
	KeyShare string
	// Lists stores lists of strings.
	Lists StringList
	// NextID, when set, gives the ID of a new row of a table whose IDs a
	// sync token names (virtual_calendars), so that no ID is given twice;
	// nil leaves it to the database (an identity column never gives one
	// again).
	NextID func(ctx context.Context, table string) (int64, error)
}

// Violation is the kind of constraint a failed statement broke.
type Violation int

const (
	NoViolation Violation = iota
	UniqueViolation
	ForeignKeyViolation
)

// ErrReadOnly is returned by write methods of a read-only transaction.
var ErrReadOnly = errors.New("write in a read-only transaction")

func (t Tx) writable() error {
	if t.ReadOnly {
		return fmt.Errorf("%s: %w", t.Name, ErrReadOnly)
	}
	return nil
}

func (t Tx) errorf(format string, args ...any) error {
	return fmt.Errorf(t.Name+": "+format, args...)
}

func (t Tx) now() time.Time { return t.Now().UTC().Truncate(time.Microsecond) }

func micros(at time.Time) int64 { return at.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullMicros is the stored form of a time that may be zero: NULL (nil) for
// the zero time.
func nullMicros(at time.Time) *int64 {
	if at.IsZero() {
		return nil
	}
	us := at.UnixMicro()
	return &us
}

// fromNullMicros is the inverse of nullMicros; it always yields UTC.
func fromNullMicros(us *int64) time.Time {
	if us == nil {
		return time.Time{}
	}
	return fromMicros(*us)
}

// truncate drops what the database cannot keep, so values handed back to
// the caller equal the ones a later read returns.
func truncate(at time.Time) time.Time {
	if at.IsZero() {
		return time.Time{}
	}
	return at.UTC().Truncate(time.Microsecond)
}

// nonNil returns b, or an empty slice for nil: opaque bytes are stored NOT
// NULL and read back non-nil, like Object.Data.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// exists reports whether query (a SELECT 1 …) finds a row.
func (t Tx) exists(ctx context.Context, query string, args ...any) (bool, error) {
	rows, err := t.Q.Query(ctx, query, args...)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	found := rows.Next()
	return found, rows.Err()
}

// collect runs query and reads every row with scan.
func collect[T any](ctx context.Context, t Tx, scan func(Rows) (*T, error), query string, args ...any) ([]*T, error) {
	rows, err := t.Q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// first runs query and reads its first row with scan; no row is
// store.ErrNotFound.
func first[T any](ctx context.Context, t Tx, scan func(Rows) (*T, error), query string, args ...any) (*T, error) {
	rows, err := t.Q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, store.ErrNotFound
	}
	return scan(rows)
}

// returning runs a statement that returns one integer (INSERT … RETURNING
// id, UPDATE … RETURNING version); no row is store.ErrNotFound.
func (t Tx) returning(ctx context.Context, query string, args ...any) (int64, error) {
	id, err := first(ctx, t, func(r Rows) (*int64, error) {
		var id int64
		return &id, r.Scan(&id)
	}, query, args...)
	if err != nil {
		return 0, err
	}
	return *id, nil
}

// checkReference looks up a row that a write refers to, where the dialect
// asks for it (CheckReferences): query (a SELECT 1 …) finding nothing is
// ErrNotFound naming role, the missing row.
func (t Tx) checkReference(ctx context.Context, what, role, query string, args ...any) error {
	if !t.CheckReferences {
		return nil
	}
	ok, err := t.exists(ctx, query, args...)
	if err != nil {
		return t.errorf("%s: %w", what, err)
	}
	if !ok {
		return t.errorf("%s: %s: %w", what, role, store.ErrNotFound)
	}
	return nil
}

// violated classifies err (see Tx.Violated).
func (t Tx) violated(err error) (Violation, string) {
	if err == nil || t.Violated == nil {
		return NoViolation, ""
	}
	return t.Violated(err)
}

// expectRow turns "no row changed" into ErrNotFound.
func (t Tx) expectRow(n int64, err error, what string) error {
	if err != nil {
		return t.errorf("%s: %w", what, err)
	}
	if n == 0 {
		return t.errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}
