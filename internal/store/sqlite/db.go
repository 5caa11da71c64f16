// Package sqlite is Koyomi's embedded store: an implementation of
// store.Store on a single SQLite database file (pure Go driver, no cgo).
//
// It owns the schema and its migrations, the single-writer discipline SQLite
// needs, and the translation between store types and rows. It must not know
// about HTTP, WebDAV paths beyond treating them as opaque keys, or iCalendar
// syntax: callers hand it bytes and already-extracted index fields.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"koyomi.dev/koyomi/internal/store"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// FileName is the name of the database file inside the data directory.
const FileName = "koyomi.db"

// Options tune Open. The zero value is usable.
type Options struct {
	// Logger receives migration and lifecycle messages; nil discards them.
	Logger *slog.Logger
	// BusyTimeout is how long a connection waits for another process's lock
	// before failing with SQLITE_BUSY. Zero means 5s.
	BusyTimeout time.Duration
	// ReadConns caps the pool of read connections. Zero means
	// max(4, GOMAXPROCS).
	ReadConns int
	// Now is the clock used for Created and Modified stamps; nil means
	// time.Now. Tests inject a fixed clock.
	Now func() time.Time
	// MustExist refuses to create a store: Open fails with
	// store.ErrNoStore when dir or its database file does not exist.
	MustExist bool
}

// DB is an open SQLite store. It is safe for concurrent use.
//
// Writes go through a pool of exactly one connection whose transactions start
// with BEGIN IMMEDIATE: Update calls queue inside database/sql (honouring
// their contexts) instead of racing for SQLite's write lock and failing with
// SQLITE_BUSY half-way through. Reads use a separate pool of read-only
// connections that, thanks to WAL, run alongside the writer.
type DB struct {
	path   string
	writer *sql.DB
	reader *sql.DB
	log    *slog.Logger
	now    func() time.Time
	// stmts are the prepared forms of the statements of object writes
	// and lookups, by pool and query (see tx.prepared).
	stmts sync.Map
}

var (
	_ store.Store           = (*DB)(nil)
	_ store.SchemaVersioner = (*DB)(nil)
)

// Open opens (creating if needed, unless opts.MustExist) the database
// koyomi.db in dir and brings its schema up to date.
func Open(ctx context.Context, dir string, opts Options) (*DB, error) {
	path := filepath.Join(dir, FileName)
	if opts.MustExist {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist", store.ErrNoStore, path)
		} else if err != nil {
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create data directory: %w", err)
	}
	db := &DB{path: path, log: opts.Logger, now: opts.Now}
	if db.log == nil {
		db.log = slog.New(slog.DiscardHandler)
	}
	if db.now == nil {
		db.now = time.Now
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = 5 * time.Second
	}

	var err error
	db.writer, err = sql.Open("sqlite", dsn(path, busy, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.writer.SetMaxOpenConns(1)
	db.writer.SetMaxIdleConns(1)
	db.writer.SetConnMaxLifetime(0)
	db.writer.SetConnMaxIdleTime(0)

	if opts.MustExist {
		var tables int
		err := db.writer.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'`).Scan(&tables)
		if err == nil && tables == 0 {
			err = fmt.Errorf("%w: %s holds no Koyomi schema", store.ErrNoStore, path)
		}
		if err != nil {
			db.writer.Close()
			return nil, err
		}
	}
	// The schema must exist (and the file be in WAL mode) before a read-only
	// connection touches it.
	if err := db.Migrate(ctx); err != nil {
		db.writer.Close()
		return nil, err
	}

	db.reader, err = sql.Open("sqlite", dsn(path, busy, true))
	if err != nil {
		db.writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := opts.ReadConns
	if n <= 0 {
		n = max(4, runtime.GOMAXPROCS(0))
	}
	db.reader.SetMaxOpenConns(n)
	db.reader.SetMaxIdleConns(n)
	if err := db.reader.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := db.prepare(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// dsn builds the driver's connection string. synchronous=FULL makes every
// acknowledged commit durable across power loss, not only across process
// crashes as NORMAL would in WAL mode; a client that got "201 Created" must
// not lose its event. The cost is one fsync of the WAL per Update.
func dsn(path string, busy time.Duration, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(busy.Milliseconds(), 10)+")")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(FULL)")
	if readOnly {
		q.Set("_query_only", "1")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Set("_txlock", "immediate")
	}
	u := url.URL{Scheme: "file", Opaque: (&url.URL{Path: path}).EscapedPath(), RawQuery: q.Encode()}
	return u.String()
}

// Close closes both connection pools.
func (db *DB) Close() error {
	var errs []error
	db.stmts.Range(func(_, v any) bool {
		errs = append(errs, v.(*sql.Stmt).Close())
		return true
	})
	if db.reader != nil {
		errs = append(errs, db.reader.Close())
	}
	if db.writer != nil {
		errs = append(errs, db.writer.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// View runs fn in a read-only transaction: one consistent snapshot of the
// database, taken at its first read.
func (db *DB) View(ctx context.Context, fn func(store.Tx) error) error {
	sqlTx, err := db.reader.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin read: %w", err)
	}
	defer sqlTx.Rollback()
	return fn(db.newTx(sqlTx, true))
}

// Update runs fn in a read-write transaction and commits it when fn returns
// nil. Updates are serialised; fn must not call Update on the same DB (it
// would wait for itself).
func (db *DB) Update(ctx context.Context, fn func(store.Tx) error) error {
	sqlTx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin write: %w", err)
	}
	// Rolls back when fn fails or panics; a no-op after Commit.
	defer sqlTx.Rollback()
	if err := fn(db.newTx(sqlTx, false)); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}
