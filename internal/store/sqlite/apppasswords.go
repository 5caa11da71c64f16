package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// App passwords.

func (t *tx) CreateAppPassword(ctx context.Context, p *store.AppPassword) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("create app password of %q", p.User)
	// Checked before the insert to answer ErrNotFound rather than a
	// constraint failure; the foreign key stands behind the check.
	ok, err := t.userExists(ctx, p.User)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if !ok {
		return fmt.Errorf("sqlite: %s: user: %w", what, store.ErrNotFound)
	}
	created := t.now().Truncate(time.Microsecond)
	res, err := t.tx.ExecContext(ctx, `INSERT INTO app_passwords (user_name, label, hash, created_us, last_used_us)
		VALUES (?, ?, ?, ?, ?)`, p.User, p.Label, p.Hash, micros(created), micros(truncate(p.LastUsed)))
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	p.ID = id
	p.Created = created
	p.LastUsed = truncate(p.LastUsed)
	return nil
}

func (t *tx) AppPasswords(ctx context.Context, user string) ([]*store.AppPassword, error) {
	what := fmt.Sprintf("app passwords of %q", user)
	rows, err := t.tx.QueryContext(ctx, `SELECT id, user_name, label, hash, created_us, last_used_us
		FROM app_passwords WHERE user_name = ? ORDER BY id`, user)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	defer rows.Close()
	var ps []*store.AppPassword
	for rows.Next() {
		var p store.AppPassword
		var created, used sql.NullInt64
		if err := rows.Scan(&p.ID, &p.User, &p.Label, &p.Hash, &created, &used); err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", what, err)
		}
		p.Created = fromMicros(created)
		p.LastUsed = fromMicros(used)
		ps = append(ps, &p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return ps, nil
}

func (t *tx) DeleteAppPassword(ctx context.Context, user string, id int64) error {
	if err := t.writable(); err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `DELETE FROM app_passwords WHERE user_name = ? AND id = ?`, user, id)
	return expectOneRow(res, err, fmt.Sprintf("delete app password %d of %q", id, user))
}

func (t *tx) TouchAppPassword(ctx context.Context, id int64, at time.Time) error {
	if err := t.writable(); err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE app_passwords SET last_used_us = ? WHERE id = ?`, micros(truncate(at)), id)
	return expectOneRow(res, err, fmt.Sprintf("touch app password %d", id))
}
