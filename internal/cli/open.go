package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"

	"koyomi.dev/koyomi/internal/config"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/postgres"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

// Stores are created only on purpose: serve, migrate and init create the
// store they are pointed at; every other command opens an existing one
// and refuses a missing one, so that a typo in --data or a command run from
// another directory does not quietly start an empty installation.

// openExisting opens the store cfg names, which must exist, and says on
// standard error which store that is.
func openExisting(ctx context.Context, env Env, cfg config.Config) (store.Store, error) {
	return openNamed(ctx, env, storeURL(cfg), "", cfg.NewLogger(env.Stderr), true)
}

// openCreating opens the store cfg names, creating it (and bringing its
// schema up to date) when there is none, and says on standard error which
// store that is.
func openCreating(ctx context.Context, env Env, cfg config.Config) (store.Store, error) {
	return openNamed(ctx, env, storeURL(cfg), "", cfg.NewLogger(env.Stderr), false)
}

// storeURL is the store cfg names: its store URL, or the SQLite store in
// its data directory.
func storeURL(cfg config.Config) string {
	if cfg.Store != "" {
		return cfg.Store
	}
	return "sqlite:" + cfg.Data
}

// openNamed opens the store named by u (see openURL) after saying on
// standard error which store it is; role, when not empty, says what the
// command uses it as ("source"). A missing store is refused when
// mustExist, with what to do about it.
func openNamed(ctx context.Context, env Env, u, role string, logger *slog.Logger, mustExist bool) (store.Store, error) {
	where := describeStore(u)
	if role != "" {
		fmt.Fprintf(env.Stderr, "koyomi: using %s as the %s\n", where, role)
	} else {
		fmt.Fprintf(env.Stderr, "koyomi: using %s\n", where)
	}
	st, err := openURL(ctx, u, logger, mustExist)
	if errors.Is(err, store.ErrNoStore) {
		detail := strings.TrimPrefix(err.Error(), store.ErrNoStore.Error()+": ")
		other := "pass --data DIR or --store URL"
		if role != "" {
			other = "check --from"
		}
		return nil, &noStoreError{err: err, msg: fmt.Sprintf("no store at %s (%s); run \"koyomi init\" to create one there, "+
			"or %s to use an existing one", where, detail, other)}
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

// noStoreError is the refusal of a missing store: what was looked at and
// what to do, wrapping store.ErrNoStore.
type noStoreError struct {
	msg string
	err error
}

func (e *noStoreError) Error() string { return e.msg }
func (e *noStoreError) Unwrap() error { return e.err }

// openURL opens a store named by a URL: postgres://... (or postgresql://)
// for PostgreSQL, sqlite:DIR for the embedded store in DIR. With
// mustExist it creates nothing and answers store.ErrNoStore when there is
// no store.
func openURL(ctx context.Context, u string, logger *slog.Logger, mustExist bool) (store.Store, error) {
	// Each branch returns a nil Store, not a nil *DB in one, on error.
	switch {
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		db, err := postgres.Open(ctx, u, postgres.Options{Logger: logger, MustExist: mustExist})
		if err != nil {
			return nil, err
		}
		return db, nil
	case strings.HasPrefix(u, "sqlite:"):
		dir := sqliteDir(u)
		if dir == "" {
			return nil, errors.New("sqlite: store URL needs a directory, e.g. sqlite:./koyomi-data")
		}
		// Absolute, so that what a refusal names is the place looked at
		// whatever directory the command ran in.
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		db, err := sqlite.Open(ctx, dir, sqlite.Options{Logger: logger, MustExist: mustExist})
		if err != nil {
			return nil, err
		}
		return db, nil
	}
	return nil, fmt.Errorf("unknown store %q: use postgres://... or sqlite:DIR", u)
}

// sqliteDir is the directory of a sqlite:DIR URL.
func sqliteDir(u string) string {
	return strings.TrimPrefix(strings.TrimPrefix(u, "sqlite:"), "//")
}

// describeStore names a store for messages: a SQLite store by its
// directory made absolute (a relative one depends on where the command
// ran), any other by its URL without the password.
func describeStore(u string) string {
	if strings.HasPrefix(u, "sqlite:") {
		dir := sqliteDir(u)
		if abs, err := filepath.Abs(dir); err == nil && dir != "" {
			return abs
		}
		return dir
	}
	return redactStore(u)
}

// redactStore hides a password in a store URL for logs.
func redactStore(u string) string {
	if p, err := url.Parse(u); err == nil && p.User != nil {
		if _, has := p.User.Password(); has {
			p.User = url.UserPassword(p.User.Username(), "xxxxx")
		}
		return p.String()
	}
	return u
}
