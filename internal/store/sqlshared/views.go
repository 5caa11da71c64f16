package sqlshared

import (
	"context"
	"fmt"
	"strings"

	"koyomi.dev/koyomi/internal/store"
)

// Viewers' subscriptions to virtual calendars and their sync logs.

// checkViewRows looks up a virtual calendar and a viewer before a write
// that refers to both, where the dialect asks for it (CheckReferences).
func (t Tx) checkViewRows(ctx context.Context, vc int64, viewer, what string) error {
	if err := t.checkReference(ctx, what, "virtual calendar", `SELECT 1 FROM virtual_calendars WHERE id = ?`, vc); err != nil {
		return err
	}
	return t.checkReference(ctx, what, "viewer", `SELECT 1 FROM users WHERE name = ?`, viewer)
}

// viewWriteError turns a foreign key violation on a view table into
// ErrNotFound naming what is missing.
func (t Tx) viewWriteError(err error, what string) error {
	switch v, constraint := t.violated(err); {
	case v == ForeignKeyViolation && strings.HasSuffix(constraint, "_vc_fkey"):
		return t.errorf("%s: virtual calendar: %w", what, store.ErrNotFound)
	case v == ForeignKeyViolation && constraint != "":
		return t.errorf("%s: viewer: %w", what, store.ErrNotFound)
	case err != nil:
		return t.errorf("%s: %w", what, err)
	}
	return nil
}

const subscriptionColumns = `vc_id, viewer, display_name, color, sort_order, hidden, subscribed`

func scanSubscription(r Rows) (*store.ViewSubscription, error) {
	var s store.ViewSubscription
	return &s, r.Scan(&s.VC, &s.Viewer, &s.DisplayName, &s.Color, &s.Order, &s.Hidden, &s.Subscribed)
}

// GetViewSubscription implements store.Views.
func (t Tx) GetViewSubscription(ctx context.Context, vc int64, viewer string) (*store.ViewSubscription, error) {
	s, err := first(ctx, t, scanSubscription,
		`SELECT `+subscriptionColumns+` FROM vc_subscriptions WHERE vc_id = ? AND viewer = ?`, vc, viewer)
	if err != nil {
		return nil, t.errorf("subscription of %q to %d: %w", viewer, vc, err)
	}
	return s, nil
}

// PutViewSubscription implements store.Views.
func (t Tx) PutViewSubscription(ctx context.Context, s *store.ViewSubscription) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("put subscription of %q to %d", s.Viewer, s.VC)
	if err := t.checkViewRows(ctx, s.VC, s.Viewer, what); err != nil {
		return err
	}
	_, err := t.Q.Exec(ctx, `INSERT INTO vc_subscriptions (`+subscriptionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (vc_id, viewer) DO UPDATE SET display_name = excluded.display_name, color = excluded.color,
			sort_order = excluded.sort_order, hidden = excluded.hidden, subscribed = excluded.subscribed`,
		s.VC, s.Viewer, s.DisplayName, s.Color, s.Order, s.Hidden, s.Subscribed)
	return t.viewWriteError(err, what)
}

// ViewSubscriptions implements store.Views.
func (t Tx) ViewSubscriptions(ctx context.Context, viewer string) ([]*store.ViewSubscription, error) {
	out, err := collect(ctx, t, scanSubscription,
		`SELECT `+subscriptionColumns+` FROM vc_subscriptions WHERE viewer = ? ORDER BY vc_id`, viewer)
	if err != nil {
		return nil, t.errorf("subscriptions of %q: %w", viewer, err)
	}
	return out, nil
}

// GetViewSyncState implements store.Views.
func (t Tx) GetViewSyncState(ctx context.Context, vc int64, viewer string) (*store.ViewSyncState, error) {
	st, err := first(ctx, t, func(r Rows) (*store.ViewSyncState, error) {
		st := store.ViewSyncState{VC: vc, Viewer: viewer}
		return &st, r.Scan(&st.Key, &st.Sources, &st.Revision)
	}, `SELECT key, sources, revision FROM vc_sync_state WHERE vc_id = ? AND viewer = ?`, vc, viewer)
	if err != nil {
		return nil, t.errorf("sync state of %q in %d: %w", viewer, vc, err)
	}
	return st, nil
}

// ViewMembers implements store.Views.
func (t Tx) ViewMembers(ctx context.Context, vc int64, viewer string, since int64) ([]*store.ViewMember, error) {
	out, err := collect(ctx, t, func(r Rows) (*store.ViewMember, error) {
		var m store.ViewMember
		var modified *int64
		err := r.Scan(&m.Name, &m.ETag, &m.Revision, &m.FirstSeen, &m.Deleted, &modified)
		m.Modified = fromNullMicros(modified)
		return &m, err
	}, `SELECT name, etag, revision, first_seen, deleted, modified_us FROM vc_sync_members
		WHERE vc_id = ? AND viewer = ? AND revision > ? ORDER BY revision, name`, vc, viewer, since)
	if err != nil {
		return nil, t.errorf("sync log of %q in %d: %w", viewer, vc, err)
	}
	return out, nil
}

// RecordViewSync implements store.Views.
func (t Tx) RecordViewSync(ctx context.Context, st *store.ViewSyncState, changed []*store.ViewMember) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("record sync log of %q in %d", st.Viewer, st.VC)
	if err := t.checkViewRows(ctx, st.VC, st.Viewer, what); err != nil {
		return err
	}
	_, err := t.Q.Exec(ctx, `INSERT INTO vc_sync_state (vc_id, viewer, key, sources, revision) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (vc_id, viewer) DO UPDATE SET key = excluded.key, sources = excluded.sources, revision = excluded.revision`,
		st.VC, st.Viewer, st.Key, st.Sources, st.Revision)
	if err := t.viewWriteError(err, what); err != nil {
		return err
	}
	for _, m := range changed {
		m.Modified = truncate(m.Modified)
		if _, err := t.Q.Exec(ctx, `INSERT INTO vc_sync_members (vc_id, viewer, name, etag, revision, first_seen, deleted, modified_us)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (vc_id, viewer, name) DO UPDATE SET etag = excluded.etag, revision = excluded.revision,
				first_seen = excluded.first_seen, deleted = excluded.deleted, modified_us = excluded.modified_us`,
			st.VC, st.Viewer, m.Name, m.ETag, m.Revision, m.FirstSeen, m.Deleted, nullMicros(m.Modified)); err != nil {
			return t.errorf("%s: %s: %w", what, m.Name, err)
		}
	}
	return nil
}
