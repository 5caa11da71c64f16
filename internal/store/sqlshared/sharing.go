package sqlshared

import (
	"context"
	"fmt"
	"strings"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// Schema is the sharing tables' DDL in both dialects; each store's
// migration runs it (with its own integer type for IDs).
func Schema(idType string) string {
	return `
CREATE TABLE grants (
	collection_id ` + idType + ` NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
	grantee       TEXT NOT NULL,
	level         TEXT NOT NULL,
	created       BIGINT NOT NULL,
	PRIMARY KEY (collection_id, grantee)
);
CREATE INDEX grants_grantee ON grants (grantee, collection_id);

CREATE TABLE share_settings (
	collection_id ` + idType + ` NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
	username      TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
	display_name  TEXT NOT NULL DEFAULT '',
	color         TEXT NOT NULL DEFAULT '',
	sort_order    INTEGER NOT NULL DEFAULT 0,
	hidden        INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (collection_id, username)
);
CREATE INDEX share_settings_user ON share_settings (username);

CREATE TABLE delegates (
	owner     TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
	delegate  TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
	can_write INTEGER NOT NULL DEFAULT 0,
	created   BIGINT NOT NULL,
	PRIMARY KEY (owner, delegate)
);
CREATE INDEX delegates_delegate ON delegates (delegate, owner);

CREATE TABLE public_links (
	token         TEXT PRIMARY KEY,
	owner         TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
	collection_id ` + idType + ` REFERENCES collections(id) ON DELETE CASCADE,
	vc_id         ` + idType + ` REFERENCES virtual_calendars(id) ON DELETE CASCADE,
	created       BIGINT NOT NULL
);
CREATE INDEX public_links_owner ON public_links (owner, created);

ALTER TABLE users ADD COLUMN phone TEXT NOT NULL DEFAULT '';
`
}

// DropGrantee deletes every grant to grantee ("user:NAME" or
// "group:NAME"), for DeleteUser and DeleteGroup.
func (t Tx) DropGrantee(ctx context.Context, grantee string) error {
	if _, err := t.Q.Exec(ctx, `DELETE FROM grants WHERE grantee = ?`, grantee); err != nil {
		return t.errorf("drop grants to %s: %w", grantee, err)
	}
	return nil
}

func (t Tx) collectionExists(ctx context.Context, id int64) (bool, error) {
	return t.exists(ctx, `SELECT 1 FROM collections WHERE id = ?`, id)
}

func (t Tx) userExists(ctx context.Context, name string) (bool, error) {
	return t.exists(ctx, `SELECT 1 FROM users WHERE name = ?`, name)
}

// PutGrant implements store.Sharing.
func (t Tx) PutGrant(ctx context.Context, g *store.Grant) error {
	if err := t.writable(); err != nil {
		return err
	}
	ok, err := t.collectionExists(ctx, g.CollectionID)
	if err != nil {
		return t.errorf("put grant: %w", err)
	}
	if !ok {
		return t.errorf("put grant on collection %d: %w", g.CollectionID, store.ErrNotFound)
	}
	created, err := t.upsertCreated(ctx, `INSERT INTO grants (collection_id, grantee, level, created) VALUES (?, ?, ?, ?)
		ON CONFLICT (collection_id, grantee) DO UPDATE SET level = excluded.level
		RETURNING created`, g.CollectionID, g.Grantee, g.Level, micros(t.now()))
	if err != nil {
		return t.errorf("put grant on %d to %s: %w", g.CollectionID, g.Grantee, err)
	}
	g.Created = created
	return nil
}

// upsertCreated runs an INSERT … ON CONFLICT DO UPDATE … RETURNING created
// and returns the row's creation time: the new one, or the one the row kept.
// One statement, so that concurrent first writes of a key do not both
// insert (a unique violation on PostgreSQL at READ COMMITTED).
func (t Tx) upsertCreated(ctx context.Context, query string, args ...any) (time.Time, error) {
	created, err := collect(ctx, t, func(r Rows) (*int64, error) {
		var us int64
		return &us, r.Scan(&us)
	}, query, args...)
	if err != nil {
		return time.Time{}, err
	}
	if len(created) != 1 {
		return time.Time{}, fmt.Errorf("upsert returned %d rows, want 1", len(created))
	}
	return fromMicros(*created[0]), nil
}

// DeleteGrant implements store.Sharing.
func (t Tx) DeleteGrant(ctx context.Context, collectionID int64, grantee string) error {
	if err := t.writable(); err != nil {
		return err
	}
	n, err := t.Q.Exec(ctx, `DELETE FROM grants WHERE collection_id = ? AND grantee = ?`, collectionID, grantee)
	return t.expectRow(n, err, "delete grant to "+grantee)
}

func scanGrant(r Rows) (*store.Grant, error) {
	var g store.Grant
	var created int64
	if err := r.Scan(&g.CollectionID, &g.Grantee, &g.Level, &created); err != nil {
		return nil, err
	}
	g.Created = fromMicros(created)
	return &g, nil
}

const grantColumns = `collection_id, grantee, level, created`

// Grants implements store.Sharing.
func (t Tx) Grants(ctx context.Context, collectionID int64) ([]*store.Grant, error) {
	gs, err := collect(ctx, t, scanGrant, `SELECT `+grantColumns+` FROM grants WHERE collection_id = ? ORDER BY grantee`, collectionID)
	if err != nil {
		return nil, t.errorf("grants on %d: %w", collectionID, err)
	}
	return gs, nil
}

// GrantsTo implements store.Sharing.
func (t Tx) GrantsTo(ctx context.Context, grantees []string) ([]*store.Grant, error) {
	if len(grantees) == 0 {
		return nil, nil
	}
	args := make([]any, len(grantees))
	for i, g := range grantees {
		args[i] = g
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(grantees)), ", ")
	gs, err := collect(ctx, t, scanGrant, `SELECT `+grantColumns+` FROM grants WHERE grantee IN (`+marks+`) ORDER BY collection_id, grantee`, args...)
	if err != nil {
		return nil, t.errorf("grants to %v: %w", grantees, err)
	}
	return gs, nil
}

func (t Tx) shareSettings(ctx context.Context, where string, args ...any) ([]*store.ShareSettings, error) {
	return collect(ctx, t, func(r Rows) (*store.ShareSettings, error) {
		var s store.ShareSettings
		var hidden int
		err := r.Scan(&s.CollectionID, &s.User, &s.DisplayName, &s.Color, &s.Order, &hidden)
		s.Hidden = hidden != 0
		return &s, err
	}, `SELECT collection_id, username, display_name, color, sort_order, hidden
		FROM share_settings WHERE `+where+` ORDER BY collection_id`, args...)
}

// GetShareSettings implements store.Sharing.
func (t Tx) GetShareSettings(ctx context.Context, collectionID int64, user string) (*store.ShareSettings, error) {
	ss, err := t.shareSettings(ctx, `collection_id = ? AND username = ?`, collectionID, user)
	if err != nil {
		return nil, t.errorf("share settings of %s for %d: %w", user, collectionID, err)
	}
	if len(ss) == 0 {
		return nil, t.errorf("share settings of %s for %d: %w", user, collectionID, store.ErrNotFound)
	}
	return ss[0], nil
}

// UserShareSettings implements store.Sharing.
func (t Tx) UserShareSettings(ctx context.Context, user string) ([]*store.ShareSettings, error) {
	ss, err := t.shareSettings(ctx, `username = ?`, user)
	if err != nil {
		return nil, t.errorf("share settings of %s: %w", user, err)
	}
	return ss, nil
}

// PutShareSettings implements store.Sharing.
func (t Tx) PutShareSettings(ctx context.Context, s *store.ShareSettings) error {
	if err := t.writable(); err != nil {
		return err
	}
	ok, err := t.collectionExists(ctx, s.CollectionID)
	if err == nil && ok {
		ok, err = t.userExists(ctx, s.User)
	}
	if err != nil {
		return t.errorf("put share settings: %w", err)
	}
	if !ok {
		return t.errorf("put share settings of %s for %d: %w", s.User, s.CollectionID, store.ErrNotFound)
	}
	_, err = t.Q.Exec(ctx, `INSERT INTO share_settings (collection_id, username, display_name, color, sort_order, hidden)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (collection_id, username) DO UPDATE SET display_name = excluded.display_name,
			color = excluded.color, sort_order = excluded.sort_order, hidden = excluded.hidden`,
		s.CollectionID, s.User, s.DisplayName, s.Color, s.Order, boolInt(s.Hidden))
	if err != nil {
		return t.errorf("put share settings: %w", err)
	}
	return nil
}

// PutDelegate implements store.Sharing.
func (t Tx) PutDelegate(ctx context.Context, d *store.Delegate) error {
	if err := t.writable(); err != nil {
		return err
	}
	ok, err := t.userExists(ctx, d.Owner)
	if err == nil && ok {
		ok, err = t.userExists(ctx, d.Delegate)
	}
	if err != nil {
		return t.errorf("put delegate: %w", err)
	}
	if !ok {
		return t.errorf("put delegate %s of %s: %w", d.Delegate, d.Owner, store.ErrNotFound)
	}
	created, err := t.upsertCreated(ctx, `INSERT INTO delegates (owner, delegate, can_write, created) VALUES (?, ?, ?, ?)
		ON CONFLICT (owner, delegate) DO UPDATE SET can_write = excluded.can_write
		RETURNING created`, d.Owner, d.Delegate, boolInt(d.Write), micros(t.now()))
	if err != nil {
		return t.errorf("put delegate %s of %s: %w", d.Delegate, d.Owner, err)
	}
	d.Created = created
	return nil
}

// DeleteDelegate implements store.Sharing.
func (t Tx) DeleteDelegate(ctx context.Context, owner, delegate string) error {
	if err := t.writable(); err != nil {
		return err
	}
	n, err := t.Q.Exec(ctx, `DELETE FROM delegates WHERE owner = ? AND delegate = ?`, owner, delegate)
	return t.expectRow(n, err, "delete delegate "+delegate+" of "+owner)
}

func (t Tx) delegates(ctx context.Context, where string, args ...any) ([]*store.Delegate, error) {
	order := "delegate"
	if strings.HasPrefix(where, "delegate") {
		order = "owner"
	}
	return collect(ctx, t, func(r Rows) (*store.Delegate, error) {
		var d store.Delegate
		var w int
		var created int64
		err := r.Scan(&d.Owner, &d.Delegate, &w, &created)
		d.Write, d.Created = w != 0, fromMicros(created)
		return &d, err
	}, `SELECT owner, delegate, can_write, created FROM delegates WHERE `+where+` ORDER BY `+order, args...)
}

// Delegates implements store.Sharing.
func (t Tx) Delegates(ctx context.Context, owner string) ([]*store.Delegate, error) {
	ds, err := t.delegates(ctx, `owner = ?`, owner)
	if err != nil {
		return nil, t.errorf("delegates of %s: %w", owner, err)
	}
	return ds, nil
}

// DelegatorsOf implements store.Sharing.
func (t Tx) DelegatorsOf(ctx context.Context, user string) ([]*store.Delegate, error) {
	ds, err := t.delegates(ctx, `delegate = ?`, user)
	if err != nil {
		return nil, t.errorf("delegators of %s: %w", user, err)
	}
	return ds, nil
}

// CreatePublicLink implements store.Sharing.
func (t Tx) CreatePublicLink(ctx context.Context, l *store.PublicLink) error {
	if err := t.writable(); err != nil {
		return err
	}
	ok, err := t.userExists(ctx, l.Owner)
	if err == nil && ok && l.CollectionID != 0 {
		ok, err = t.collectionExists(ctx, l.CollectionID)
	}
	if err == nil && ok && l.VCID != 0 {
		ok, err = t.exists(ctx, `SELECT 1 FROM virtual_calendars WHERE id = ?`, l.VCID)
	}
	if err != nil {
		return t.errorf("create public link: %w", err)
	}
	if !ok || (l.CollectionID == 0) == (l.VCID == 0) {
		return t.errorf("create public link for %s: %w", l.Owner, store.ErrNotFound)
	}
	// A used token is found by the insert itself, so that two links
	// created at once with one token cannot both pass a lookup.
	created := t.now()
	n, err := t.Q.Exec(ctx, `INSERT INTO public_links (token, owner, collection_id, vc_id, created) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (token) DO NOTHING`,
		l.Token, l.Owner, nullID(l.CollectionID), nullID(l.VCID), micros(created))
	if err != nil {
		return t.errorf("create public link: %w", err)
	}
	if n == 0 {
		return t.errorf("create public link: %w", store.ErrExists)
	}
	l.Created = created
	return nil
}

func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func (t Tx) publicLinks(ctx context.Context, where string, arg any) ([]*store.PublicLink, error) {
	return collect(ctx, t, func(r Rows) (*store.PublicLink, error) {
		var l store.PublicLink
		var coll, vc *int64
		var created int64
		if err := r.Scan(&l.Token, &l.Owner, &coll, &vc, &created); err != nil {
			return nil, err
		}
		if coll != nil {
			l.CollectionID = *coll
		}
		if vc != nil {
			l.VCID = *vc
		}
		l.Created = fromMicros(created)
		return &l, nil
	}, `SELECT token, owner, collection_id, vc_id, created FROM public_links WHERE `+where+` ORDER BY created, token`, arg)
}

// GetPublicLink implements store.Sharing.
func (t Tx) GetPublicLink(ctx context.Context, token string) (*store.PublicLink, error) {
	ls, err := t.publicLinks(ctx, `token = ?`, token)
	if err != nil {
		return nil, t.errorf("public link: %w", err)
	}
	if len(ls) == 0 {
		return nil, t.errorf("public link: %w", store.ErrNotFound)
	}
	return ls[0], nil
}

// PublicLinks implements store.Sharing.
func (t Tx) PublicLinks(ctx context.Context, owner string) ([]*store.PublicLink, error) {
	ls, err := t.publicLinks(ctx, `owner = ?`, owner)
	if err != nil {
		return nil, t.errorf("public links of %s: %w", owner, err)
	}
	return ls, nil
}

// DeletePublicLink implements store.Sharing.
func (t Tx) DeletePublicLink(ctx context.Context, token string) error {
	if err := t.writable(); err != nil {
		return err
	}
	n, err := t.Q.Exec(ctx, `DELETE FROM public_links WHERE token = ?`, token)
	return t.expectRow(n, err, "delete public link")
}
