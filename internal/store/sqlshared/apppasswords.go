package sqlshared

import (
	"context"
	"fmt"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// App passwords.

// CreateAppPassword implements store.AppPasswords.
func (t Tx) CreateAppPassword(ctx context.Context, p *store.AppPassword) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("create app password of %q", p.User)
	if err := t.checkReference(ctx, what, "user", `SELECT 1 FROM users WHERE name = ?`, p.User); err != nil {
		return err
	}
	created, lastUsed, revoked := t.now(), truncate(p.LastUsed), truncate(p.Revoked)
	id, err := t.returning(ctx, `INSERT INTO app_passwords (user_name, label, hash, created_us, last_used_us, revoked_us)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, p.User, p.Label, p.Hash, micros(created), nullMicros(lastUsed),
		nullMicros(revoked))
	if v, _ := t.violated(err); v == ForeignKeyViolation {
		return t.errorf("%s: user: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return t.errorf("%s: %w", what, err)
	}
	p.ID, p.Created, p.LastUsed, p.Revoked = id, created, lastUsed, revoked
	return nil
}

// AppPasswords implements store.AppPasswords.
func (t Tx) AppPasswords(ctx context.Context, user string) ([]*store.AppPassword, error) {
	ps, err := collect(ctx, t, func(r Rows) (*store.AppPassword, error) {
		var p store.AppPassword
		var created, used, revoked *int64
		err := r.Scan(&p.ID, &p.User, &p.Label, &p.Hash, &created, &used, &revoked)
		p.Created = fromNullMicros(created)
		p.LastUsed = fromNullMicros(used)
		p.Revoked = fromNullMicros(revoked)
		return &p, err
	}, `SELECT id, user_name, label, hash, created_us, last_used_us, revoked_us
		FROM app_passwords WHERE user_name = ? ORDER BY id`, user)
	if err != nil {
		return nil, t.errorf("app passwords of %q: %w", user, err)
	}
	return ps, nil
}

// DeleteAppPassword implements store.AppPasswords.
func (t Tx) DeleteAppPassword(ctx context.Context, user string, id int64) error {
	if err := t.writable(); err != nil {
		return err
	}
	n, err := t.Q.Exec(ctx, `DELETE FROM app_passwords WHERE user_name = ? AND id = ?`, user, id)
	return t.expectRow(n, err, fmt.Sprintf("delete app password %d of %q", id, user))
}

// TouchAppPassword implements store.AppPasswords.
func (t Tx) TouchAppPassword(ctx context.Context, id int64, at time.Time) error {
	if err := t.writable(); err != nil {
		return err
	}
	n, err := t.Q.Exec(ctx, `UPDATE app_passwords SET last_used_us = ? WHERE id = ?`, nullMicros(truncate(at)), id)
	return t.expectRow(n, err, fmt.Sprintf("touch app password %d", id))
}

// RevokeAppPassword implements store.AppPasswords.
func (t Tx) RevokeAppPassword(ctx context.Context, user string, id int64, at time.Time) error {
	if err := t.writable(); err != nil {
		return err
	}
	n, err := t.Q.Exec(ctx, `UPDATE app_passwords SET revoked_us = ? WHERE user_name = ? AND id = ? AND revoked_us IS NULL`,
		micros(truncate(at)), user, id)
	return t.expectRow(n, err, fmt.Sprintf("revoke app password %d of %q", id, user))
}
