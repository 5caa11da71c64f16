package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"koyomi.dev/koyomi/internal/store"
)

// Viewers' subscriptions to virtual calendars and their sync logs.

// viewRowsExist checks that a virtual calendar and a viewer exist, to say
// which is missing; the foreign keys stand behind the check.
func (t *tx) viewRowsExist(ctx context.Context, vc int64, viewer, what string) error {
	var one int
	err := t.tx.QueryRowContext(ctx, `SELECT 1 FROM virtual_calendars WHERE id = ?`, vc).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %s: virtual calendar: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	ok, err := t.userExists(ctx, viewer)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if !ok {
		return fmt.Errorf("sqlite: %s: viewer: %w", what, store.ErrNotFound)
	}
	return nil
}

const subscriptionColumns = `vc_id, viewer, display_name, color, sort_order, hidden, subscribed`

func scanSubscription(row interface{ Scan(...any) error }) (*store.ViewSubscription, error) {
	var s store.ViewSubscription
	if err := row.Scan(&s.VC, &s.Viewer, &s.DisplayName, &s.Color, &s.Order, &s.Hidden, &s.Subscribed); err != nil {
		return nil, err
	}
	return &s, nil
}

func (t *tx) GetViewSubscription(ctx context.Context, vc int64, viewer string) (*store.ViewSubscription, error) {
	s, err := scanSubscription(t.tx.QueryRowContext(ctx,
		`SELECT `+subscriptionColumns+` FROM vc_subscriptions WHERE vc_id = ? AND viewer = ?`, vc, viewer))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: subscription of %q to %d: %w", viewer, vc, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: subscription of %q to %d: %w", viewer, vc, err)
	}
	return s, nil
}

func (t *tx) PutViewSubscription(ctx context.Context, s *store.ViewSubscription) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("put subscription of %q to %d", s.Viewer, s.VC)
	if err := t.viewRowsExist(ctx, s.VC, s.Viewer, what); err != nil {
		return err
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO vc_subscriptions (`+subscriptionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (vc_id, viewer) DO UPDATE SET display_name = excluded.display_name, color = excluded.color,
			sort_order = excluded.sort_order, hidden = excluded.hidden, subscribed = excluded.subscribed`,
		s.VC, s.Viewer, s.DisplayName, s.Color, s.Order, s.Hidden, s.Subscribed)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return nil
}

func (t *tx) ViewSubscriptions(ctx context.Context, viewer string) ([]*store.ViewSubscription, error) {
	what := fmt.Sprintf("subscriptions of %q", viewer)
	rows, err := t.tx.QueryContext(ctx, `SELECT `+subscriptionColumns+` FROM vc_subscriptions WHERE viewer = ? ORDER BY vc_id`, viewer)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	defer rows.Close()
	var out []*store.ViewSubscription
	for rows.Next() {
		s, err := scanSubscription(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", what, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return out, nil
}

func (t *tx) GetViewSyncState(ctx context.Context, vc int64, viewer string) (*store.ViewSyncState, error) {
	st := store.ViewSyncState{VC: vc, Viewer: viewer}
	err := t.tx.QueryRowContext(ctx, `SELECT key, sources, revision FROM vc_sync_state WHERE vc_id = ? AND viewer = ?`,
		vc, viewer).Scan(&st.Key, &st.Sources, &st.Revision)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: sync state of %q in %d: %w", viewer, vc, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: sync state of %q in %d: %w", viewer, vc, err)
	}
	return &st, nil
}

func (t *tx) ViewMembers(ctx context.Context, vc int64, viewer string, since int64) ([]*store.ViewMember, error) {
	what := fmt.Sprintf("sync log of %q in %d", viewer, vc)
	rows, err := t.tx.QueryContext(ctx, `SELECT name, etag, revision, first_seen, deleted, modified_us FROM vc_sync_members
		WHERE vc_id = ? AND viewer = ? AND revision > ? ORDER BY revision, name`, vc, viewer, since)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	defer rows.Close()
	var out []*store.ViewMember
	for rows.Next() {
		var m store.ViewMember
		var modified sql.NullInt64
		if err := rows.Scan(&m.Name, &m.ETag, &m.Revision, &m.FirstSeen, &m.Deleted, &modified); err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", what, err)
		}
		m.Modified = fromMicros(modified)
		out = append(out, &m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return out, nil
}

func (t *tx) RecordViewSync(ctx context.Context, st *store.ViewSyncState, changed []*store.ViewMember) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("record sync log of %q in %d", st.Viewer, st.VC)
	if err := t.viewRowsExist(ctx, st.VC, st.Viewer, what); err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO vc_sync_state (vc_id, viewer, key, sources, revision) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (vc_id, viewer) DO UPDATE SET key = excluded.key, sources = excluded.sources, revision = excluded.revision`,
		st.VC, st.Viewer, st.Key, st.Sources, st.Revision); err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	for _, m := range changed {
		m.Modified = truncate(m.Modified)
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO vc_sync_members (vc_id, viewer, name, etag, revision, first_seen, deleted, modified_us)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (vc_id, viewer, name) DO UPDATE SET etag = excluded.etag, revision = excluded.revision,
				first_seen = excluded.first_seen, deleted = excluded.deleted, modified_us = excluded.modified_us`,
			st.VC, st.Viewer, m.Name, m.ETag, m.Revision, m.FirstSeen, m.Deleted, micros(m.Modified)); err != nil {
			return fmt.Errorf("sqlite: %s: %s: %w", what, m.Name, err)
		}
	}
	return nil
}
