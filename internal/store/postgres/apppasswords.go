package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"koyomi.dev/koyomi/internal/store"
)

// App passwords.

func (t *tx) CreateAppPassword(ctx context.Context, p *store.AppPassword) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("create app password of %q", p.User)
	created := t.now().Truncate(time.Microsecond)
	lastUsed := truncate(p.LastUsed)
	// The foreign key, not a prior lookup, detects a missing user: it also
	// holds when the user is being deleted by another node right now.
	var id int64
	err := t.tx.QueryRow(ctx, `INSERT INTO app_passwords (user_name, label, hash, created_us, last_used_us)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		p.User, p.Label, p.Hash, micros(created), micros(lastUsed)).Scan(&id)
	if code, _ := pgCode(err); code == foreignKeyViolation {
		return fmt.Errorf("postgres: %s: user: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	p.ID, p.Created, p.LastUsed = id, created, lastUsed
	return nil
}

func (t *tx) AppPasswords(ctx context.Context, user string) ([]*store.AppPassword, error) {
	what := fmt.Sprintf("app passwords of %q", user)
	rows, err := t.tx.Query(ctx, `SELECT id, user_name, label, hash, created_us, last_used_us
		FROM app_passwords WHERE user_name = $1 ORDER BY id`, user)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	ps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*store.AppPassword, error) {
		var p store.AppPassword
		var created, used *int64
		if err := row.Scan(&p.ID, &p.User, &p.Label, &p.Hash, &created, &used); err != nil {
			return nil, err
		}
		p.Created = fromMicros(created)
		p.LastUsed = fromMicros(used)
		return &p, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	if len(ps) == 0 {
		return nil, nil
	}
	return ps, nil
}

func (t *tx) DeleteAppPassword(ctx context.Context, user string, id int64) error {
	if err := t.writable(); err != nil {
		return err
	}
	tag, err := t.tx.Exec(ctx, `DELETE FROM app_passwords WHERE user_name = $1 AND id = $2`, user, id)
	return expectOneRow(tag, err, fmt.Sprintf("delete app password %d of %q", id, user))
}

func (t *tx) TouchAppPassword(ctx context.Context, id int64, at time.Time) error {
	if err := t.writable(); err != nil {
		return err
	}
	tag, err := t.tx.Exec(ctx, `UPDATE app_passwords SET last_used_us = $1 WHERE id = $2`, micros(truncate(at)), id)
	return expectOneRow(tag, err, fmt.Sprintf("touch app password %d", id))
}
