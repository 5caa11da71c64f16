// Package postgres is Koyomi's networked store: an implementation of
// store.Store on PostgreSQL, for deployments where several server nodes
// share one database.
//
// It owns the schema and its migrations, the locking that keeps concurrent
// writers on different nodes correct, and the translation between store types
// and rows. It must not know about HTTP, WebDAV paths beyond treating them as
// opaque keys, or iCalendar syntax: callers hand it bytes and
// already-extracted index fields.
//
// Concurrency: Update runs at READ COMMITTED and serialises the writes that
// need it with row locks rather than with SERIALIZABLE isolation, so a
// callback never has to be re-run. Every member change (PutObject,
// DeleteObject) first locks its collection's row (SELECT ... FOR UPDATE);
// writers to one collection therefore queue, each sees the others' committed
// work once it holds the lock, revisions are gapless and unique, and
// If-Match/If-None-Match and UID checks cannot race. Uniqueness that spans
// rows nobody locks (user names, collection names, UIDs) is backed by unique
// indexes. View runs in a read-only REPEATABLE READ transaction: one snapshot.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"koyomi.dev/koyomi/internal/store"
)

// Options tune Open. The zero value is usable.
type Options struct {
	// Logger receives migration and lifecycle messages; nil discards them.
	Logger *slog.Logger
	// Now is the clock used for Created and Modified stamps; nil means
	// time.Now. Tests inject a fixed clock.
	Now func() time.Time
	// MaxConns caps the connection pool. Zero keeps the driver's default
	// (the greater of 4 and the number of CPUs) or a pool_max_conns given in
	// the DSN.
	MaxConns int
	// MustExist refuses to create a store: Open fails with
	// store.ErrNoStore when the database holds no Koyomi schema (no
	// schema_version table).
	MustExist bool
}

// DB is an open PostgreSQL store. It is safe for concurrent use, and several
// DBs (in one process or on several nodes) may share one database.
type DB struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	now  func() time.Time
}

var (
	_ store.Store           = (*DB)(nil)
	_ store.SchemaVersioner = (*DB)(nil)
)

// Open connects to the database named by dsn (a postgres:// URL or a
// keyword/value string, as libpq accepts) and brings its schema up to date.
// The DSN may also carry the driver's pool settings (pool_max_conns, ...)
// and default_query_exec_mode; behind a transaction-pooling proxy such as
// PgBouncer, default_query_exec_mode=exec avoids server-side prepared
// statements, which such proxies cannot follow from one transaction to the
// next.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The error may quote the DSN, password included; do not wrap it.
		return nil, errors.New("postgres: invalid connection string")
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = int32(opts.MaxConns)
	}
	// pgx prepares each statement once per connection, and after five
	// runs PostgreSQL may keep one generic plan for it. Planned while a
	// table was empty or never analyzed (a new installation, or autovacuum
	// off), that plan scans the whole table, and keeps scanning it as the
	// table grows: an import of 20,000 events into a new database took
	// 104 s with generic plans, 30 s with custom ones. A DSN may still set
	// plan_cache_mode itself.
	if _, set := cfg.ConnConfig.RuntimeParams["plan_cache_mode"]; !set {
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	db := &DB{log: opts.Logger, now: opts.Now}
	if db.log == nil {
		db.log = slog.New(slog.DiscardHandler)
	}
	if db.now == nil {
		db.now = time.Now
	}
	db.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := db.pool.Ping(ctx); err != nil {
		db.pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Database, err)
	}
	if opts.MustExist {
		var exists bool
		if err := db.pool.QueryRow(ctx, `SELECT to_regclass('schema_version') IS NOT NULL`).Scan(&exists); err != nil {
			db.pool.Close()
			return nil, fmt.Errorf("postgres: look for the schema: %w", err)
		}
		if !exists {
			db.pool.Close()
			return nil, fmt.Errorf("%w: database %s on %s has no Koyomi schema", store.ErrNoStore, cfg.ConnConfig.Database, cfg.ConnConfig.Host)
		}
	}
	if err := db.Migrate(ctx); err != nil {
		db.pool.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the connection pool, waiting for connections in use to be
// returned.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// rollbackTimeout bounds the rollback of an abandoned transaction, which runs
// even when the caller's context has ended.
const rollbackTimeout = 5 * time.Second

// rollback ends tx if it is still open. It runs detached from ctx: a
// cancelled request must still release its locks promptly rather than leave
// the connection to be torn down.
func rollback(ctx context.Context, tx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	_ = tx.Rollback(ctx) // after Commit this is a no-op returning ErrTxClosed
}

// View runs fn in a read-only transaction over one consistent snapshot.
func (db *DB) View(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: begin read: %w", err)
	}
	pgTx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("postgres: begin read: %w", err)
	}
	defer rollback(ctx, pgTx)
	return fn(db.newTx(pgTx, true))
}

// Update runs fn in a read-write transaction and commits it when fn returns
// nil. fn runs exactly once; see the package comment for how concurrent
// Updates are kept apart.
func (db *DB) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: begin write: %w", err)
	}
	pgTx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadWrite})
	if err != nil {
		return fmt.Errorf("postgres: begin write: %w", err)
	}
	// Rolls back when fn fails or panics.
	defer rollback(ctx, pgTx)
	if err := fn(db.newTx(pgTx, false)); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	if err := pgTx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}
