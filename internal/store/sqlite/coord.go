package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// Leases and the WebDAV lock set. The single writer connection already
// serialises every Update, so a Locks/ReplaceLocks cycle needs no lock of
// its own here.

func (t *tx) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error) {
	if err := t.writable(); err != nil {
		return false, err
	}
	nowUS := now.UnixMicro()
	// The update only happens when the lease is ours or has run out; when it
	// is skipped, RETURNING yields no row.
	var one int
	err := t.tx.QueryRowContext(ctx, `INSERT INTO leases (name, holder, expires_us) VALUES (?1, ?2, ?3)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_us = excluded.expires_us
		WHERE leases.holder = excluded.holder OR leases.expires_us <= ?4
		RETURNING 1`, name, holder, now.Add(ttl).UnixMicro(), nowUS).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlite: acquire lease %q for %q: %w", name, holder, err)
	}
	return true, nil
}

func (t *tx) ReleaseLease(ctx context.Context, name, holder string) error {
	if err := t.writable(); err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder); err != nil {
		return fmt.Errorf("sqlite: release lease %q for %q: %w", name, holder, err)
	}
	return nil
}

func (t *tx) Locks(ctx context.Context) ([]store.LockRecord, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT token, root, infinite, exclusive, owner, principal, timeout_us, expires_us
		FROM dav_locks ORDER BY token`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read locks: %w", err)
	}
	defer rows.Close()
	var locks []store.LockRecord
	for rows.Next() {
		var l store.LockRecord
		var timeoutUS int64
		var expires sql.NullInt64
		if err := rows.Scan(&l.Token, &l.Root, &l.Infinite, &l.Exclusive, &l.Owner, &l.Principal, &timeoutUS, &expires); err != nil {
			return nil, fmt.Errorf("sqlite: read locks: %w", err)
		}
		if l.Owner == nil {
			l.Owner = []byte{}
		}
		l.Timeout = time.Duration(timeoutUS) * time.Microsecond
		l.Expires = fromMicros(expires)
		locks = append(locks, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read locks: %w", err)
	}
	return locks, nil
}

func (t *tx) ReplaceLocks(ctx context.Context, locks []store.LockRecord) error {
	if err := t.writable(); err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM dav_locks`); err != nil {
		return fmt.Errorf("sqlite: replace locks: %w", err)
	}
	for _, l := range locks {
		owner := l.Owner
		if owner == nil {
			owner = []byte{}
		}
		_, err := t.tx.ExecContext(ctx, `INSERT INTO dav_locks
			(token, root, infinite, exclusive, owner, principal, timeout_us, expires_us)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			l.Token, l.Root, l.Infinite, l.Exclusive, owner, l.Principal, l.Timeout.Microseconds(), micros(l.Expires))
		if isUniqueViolation(err) {
			return fmt.Errorf("sqlite: replace locks: token %q twice: %w", l.Token, store.ErrExists)
		}
		if err != nil {
			return fmt.Errorf("sqlite: replace locks: %w", err)
		}
	}
	return nil
}
