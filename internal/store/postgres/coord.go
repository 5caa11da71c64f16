package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"koyomi.dev/koyomi/internal/store"
)

// lockSetLock is the key of the transaction-scoped advisory lock that
// serialises read-modify-write cycles of the WebDAV lock set across
// connections and nodes ("davlck" in ASCII). It differs from migrationLock.
const lockSetLock int64 = 0x6461766c636b

func (t *tx) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error) {
	if err := t.writable(); err != nil {
		return false, err
	}
	// One statement, so it is atomic across nodes: a concurrent insert of
	// the same name waits for ours, then re-checks the WHERE against the
	// row we committed and updates nothing, so RETURNING yields no row.
	var one int
	err := t.tx.QueryRow(ctx, `INSERT INTO leases (name, holder, expires_us) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_us = excluded.expires_us
		WHERE leases.holder = excluded.holder OR leases.expires_us <= $4
		RETURNING 1`, name, holder, now.Add(ttl).UnixMicro(), now.UnixMicro()).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("postgres: acquire lease %q for %q: %w", name, holder, err)
	}
	return true, nil
}

func (t *tx) ReleaseLease(ctx context.Context, name, holder string) error {
	if err := t.writable(); err != nil {
		return err
	}
	if _, err := t.tx.Exec(ctx, `DELETE FROM leases WHERE name = $1 AND holder = $2`, name, holder); err != nil {
		return fmt.Errorf("postgres: release lease %q for %q: %w", name, holder, err)
	}
	return nil
}

// lockLockSet takes the lock-set lock for the rest of the transaction. It is
// reentrant, so Locks and ReplaceLocks may both call it. At READ COMMITTED
// every later statement sees what the previous holder committed, as
// PostgreSQL makes a commit visible before it releases the committer's locks.
func (t *tx) lockLockSet(ctx context.Context) error {
	if _, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockSetLock); err != nil {
		return fmt.Errorf("postgres: lock the lock set: %w", err)
	}
	return nil
}

func (t *tx) Locks(ctx context.Context) ([]store.LockRecord, error) {
	// A View only reads its snapshot; an Update is about to write the set
	// back and must hold it until it commits.
	if !t.readOnly {
		if err := t.lockLockSet(ctx); err != nil {
			return nil, err
		}
	}
	rows, err := t.tx.Query(ctx, `SELECT token, root, infinite, exclusive, owner, principal, timeout_us, expires_us
		FROM dav_locks ORDER BY token`)
	if err != nil {
		return nil, fmt.Errorf("postgres: read locks: %w", err)
	}
	locks, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.LockRecord, error) {
		var l store.LockRecord
		var timeoutUS int64
		var expires *int64
		err := row.Scan(&l.Token, &l.Root, &l.Infinite, &l.Exclusive, &l.Owner, &l.Principal, &timeoutUS, &expires)
		if l.Owner == nil {
			l.Owner = []byte{}
		}
		l.Timeout = time.Duration(timeoutUS) * time.Microsecond
		l.Expires = fromMicros(expires)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: read locks: %w", err)
	}
	return locks, nil
}

func (t *tx) ReplaceLocks(ctx context.Context, locks []store.LockRecord) error {
	if err := t.writable(); err != nil {
		return err
	}
	// A caller that replaces the set without reading it first is serialised
	// all the same.
	if err := t.lockLockSet(ctx); err != nil {
		return err
	}
	if _, err := t.tx.Exec(ctx, `DELETE FROM dav_locks`); err != nil {
		return fmt.Errorf("postgres: replace locks: %w", err)
	}
	for _, l := range locks {
		owner := l.Owner
		if owner == nil {
			owner = []byte{}
		}
		_, err := t.tx.Exec(ctx, `INSERT INTO dav_locks
			(token, root, infinite, exclusive, owner, principal, timeout_us, expires_us)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			l.Token, l.Root, l.Infinite, l.Exclusive, owner, l.Principal, l.Timeout.Microseconds(), micros(l.Expires))
		if code, _ := pgCode(err); code == uniqueViolation {
			return fmt.Errorf("postgres: replace locks: token %q twice: %w", l.Token, store.ErrExists)
		}
		if err != nil {
			return fmt.Errorf("postgres: replace locks: %w", err)
		}
	}
	return nil
}
