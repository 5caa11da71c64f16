package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"koyomi.dev/koyomi/internal/store"
)

// Viewers' subscriptions to virtual calendars and their sync logs.

// viewForeignKey turns a foreign key violation on a view table into
// ErrNotFound naming what is missing.
func viewForeignKey(err error, what string) error {
	switch code, constraint := pgCode(err); {
	case code == foreignKeyViolation && strings.HasSuffix(constraint, "_vc_fkey"):
		return fmt.Errorf("postgres: %s: virtual calendar: %w", what, store.ErrNotFound)
	case code == foreignKeyViolation:
		return fmt.Errorf("postgres: %s: viewer: %w", what, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	return nil
}

const subscriptionColumns = `vc_id, viewer, display_name, color, sort_order, hidden, subscribed`

func scanSubscription(row pgx.Row) (*store.ViewSubscription, error) {
	var s store.ViewSubscription
	if err := row.Scan(&s.VC, &s.Viewer, &s.DisplayName, &s.Color, &s.Order, &s.Hidden, &s.Subscribed); err != nil {
		return nil, err
	}
	return &s, nil
}

func (t *tx) GetViewSubscription(ctx context.Context, vc int64, viewer string) (*store.ViewSubscription, error) {
	s, err := scanSubscription(t.tx.QueryRow(ctx,
		`SELECT `+subscriptionColumns+` FROM vc_subscriptions WHERE vc_id = $1 AND viewer = $2`, vc, viewer))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: subscription of %q to %d: %w", viewer, vc, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: subscription of %q to %d: %w", viewer, vc, err)
	}
	return s, nil
}

func (t *tx) PutViewSubscription(ctx context.Context, s *store.ViewSubscription) error {
	if err := t.writable(); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO vc_subscriptions (`+subscriptionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (vc_id, viewer) DO UPDATE SET display_name = excluded.display_name, color = excluded.color,
			sort_order = excluded.sort_order, hidden = excluded.hidden, subscribed = excluded.subscribed`,
		s.VC, s.Viewer, s.DisplayName, s.Color, s.Order, s.Hidden, s.Subscribed)
	return viewForeignKey(err, fmt.Sprintf("put subscription of %q to %d", s.Viewer, s.VC))
}

func (t *tx) ViewSubscriptions(ctx context.Context, viewer string) ([]*store.ViewSubscription, error) {
	what := fmt.Sprintf("subscriptions of %q", viewer)
	rows, err := t.tx.Query(ctx, `SELECT `+subscriptionColumns+` FROM vc_subscriptions WHERE viewer = $1 ORDER BY vc_id`, viewer)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*store.ViewSubscription, error) { return scanSubscription(row) })
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	return out, nil
}

func (t *tx) GetViewSyncState(ctx context.Context, vc int64, viewer string) (*store.ViewSyncState, error) {
	st := store.ViewSyncState{VC: vc, Viewer: viewer}
	err := t.tx.QueryRow(ctx, `SELECT key, sources, revision FROM vc_sync_state WHERE vc_id = $1 AND viewer = $2`,
		vc, viewer).Scan(&st.Key, &st.Sources, &st.Revision)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: sync state of %q in %d: %w", viewer, vc, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: sync state of %q in %d: %w", viewer, vc, err)
	}
	return &st, nil
}

func (t *tx) ViewMembers(ctx context.Context, vc int64, viewer string, since int64) ([]*store.ViewMember, error) {
	what := fmt.Sprintf("sync log of %q in %d", viewer, vc)
	rows, err := t.tx.Query(ctx, `SELECT name, etag, revision, first_seen, deleted, modified_us FROM vc_sync_members
		WHERE vc_id = $1 AND viewer = $2 AND revision > $3 ORDER BY revision, name`, vc, viewer, since)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*store.ViewMember, error) {
		var m store.ViewMember
		var modified *int64
		if err := row.Scan(&m.Name, &m.ETag, &m.Revision, &m.FirstSeen, &m.Deleted, &modified); err != nil {
			return nil, err
		}
		m.Modified = fromMicros(modified)
		return &m, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	return out, nil
}

func (t *tx) RecordViewSync(ctx context.Context, st *store.ViewSyncState, changed []*store.ViewMember) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("record sync log of %q in %d", st.Viewer, st.VC)
	_, err := t.tx.Exec(ctx, `INSERT INTO vc_sync_state (vc_id, viewer, key, sources, revision) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (vc_id, viewer) DO UPDATE SET key = excluded.key, sources = excluded.sources, revision = excluded.revision`,
		st.VC, st.Viewer, st.Key, st.Sources, st.Revision)
	if err := viewForeignKey(err, what); err != nil {
		return err
	}
	for _, m := range changed {
		m.Modified = truncate(m.Modified)
		if _, err := t.tx.Exec(ctx, `INSERT INTO vc_sync_members (vc_id, viewer, name, etag, revision, first_seen, deleted, modified_us)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (vc_id, viewer, name) DO UPDATE SET etag = excluded.etag, revision = excluded.revision,
				first_seen = excluded.first_seen, deleted = excluded.deleted, modified_us = excluded.modified_us`,
			st.VC, st.Viewer, m.Name, m.ETag, m.Revision, m.FirstSeen, m.Deleted, micros(m.Modified)); err != nil {
			return fmt.Errorf("postgres: %s: %s: %w", what, m.Name, err)
		}
	}
	return nil
}
