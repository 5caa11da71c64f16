package sqlshared

import (
	"context"
	"fmt"
	"strings"

	"koyomi.dev/koyomi/internal/store"
)

// Virtual calendars, groups and memberships.

// groupOwnerPrefix marks a virtual calendar owned by a group.
const groupOwnerPrefix = "group:"

// StringList stores a list of strings in one column, as a dialect can
// (PostgreSQL as text[], SQLite as a JSON array).
type StringList interface {
	// Encode returns the stored form of list, never NULL.
	Encode(list []string) (any, error)
	// Decoder returns a destination to scan the column into, and the
	// function that reads the list from it once scanned; none reads back
	// as nil, like Collection.Components.
	Decoder() (dest any, decode func() ([]string, error))
}

// checkOwner reports whether a virtual calendar's owner (a user, or
// "group:NAME") exists, so that no calendar outlives the cascade that would
// delete it. With the dialect's KeyShare it also keeps the owner from being
// deleted until this transaction ends: no foreign key can follow owner, so
// that lock is what stops a concurrent DeleteUser or DeleteGroup on another
// node from missing a calendar created alongside it (the delete waits for
// us, and its later DELETE of the owner's calendars sees ours).
func (t Tx) checkOwner(ctx context.Context, owner string) (bool, error) {
	if group, ok := strings.CutPrefix(owner, groupOwnerPrefix); ok {
		return t.exists(ctx, `SELECT 1 FROM groups WHERE name = ?`+t.KeyShare, group)
	}
	return t.exists(ctx, `SELECT 1 FROM users WHERE name = ?`+t.KeyShare, owner)
}

// CreateVirtualCalendar implements store.VirtualCalendars.
func (t Tx) CreateVirtualCalendar(ctx context.Context, vc *store.VirtualCalendar) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("create virtual calendar %s/%s", vc.Owner, vc.Name)
	ok, err := t.checkOwner(ctx, vc.Owner)
	if err != nil {
		return t.errorf("%s: %w", what, err)
	}
	if !ok {
		return t.errorf("%s: owner: %w", what, store.ErrNotFound)
	}
	shared, err := t.Lists.Encode(vc.SharedWith)
	if err != nil {
		return t.errorf("%s: %w", what, err)
	}
	now := t.now()
	var id int64
	if t.NextID != nil {
		if id, err = t.NextID(ctx, "virtual_calendars"); err != nil {
			return t.errorf("%s: %w", what, err)
		}
		_, err = t.Q.Exec(ctx, `INSERT INTO virtual_calendars
		(id, owner, name, display_name, color, definition, shared_with, version, created_us, modified_us)
		VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
			id, vc.Owner, vc.Name, vc.DisplayName, vc.Color, nonNil(vc.Definition), shared, micros(now), micros(now))
	} else {
		id, err = t.returning(ctx, `INSERT INTO virtual_calendars
		(owner, name, display_name, color, definition, shared_with, version, created_us, modified_us)
		VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?) RETURNING id`,
			vc.Owner, vc.Name, vc.DisplayName, vc.Color, nonNil(vc.Definition), shared, micros(now), micros(now))
	}
	if v, _ := t.violated(err); v == UniqueViolation {
		return t.errorf("%s: %w", what, store.ErrExists)
	}
	if err != nil {
		return t.errorf("%s: %w", what, err)
	}
	vc.ID = id
	vc.Version = 1
	vc.Created = now
	vc.Modified = now
	return nil
}

const virtualCalendarColumns = `id, owner, name, display_name, color, definition, shared_with, version, created_us, modified_us`

func (t Tx) scanVirtualCalendar(r Rows) (*store.VirtualCalendar, error) {
	var vc store.VirtualCalendar
	var created, modified *int64
	shared, decode := t.Lists.Decoder()
	if err := r.Scan(&vc.ID, &vc.Owner, &vc.Name, &vc.DisplayName, &vc.Color, &vc.Definition, shared,
		&vc.Version, &created, &modified); err != nil {
		return nil, err
	}
	var err error
	if vc.SharedWith, err = decode(); err != nil {
		return nil, fmt.Errorf("shared_with: %w", err)
	}
	vc.Definition = nonNil(vc.Definition)
	vc.Created = fromNullMicros(created)
	vc.Modified = fromNullMicros(modified)
	return &vc, nil
}

// GetVirtualCalendar implements store.VirtualCalendars.
func (t Tx) GetVirtualCalendar(ctx context.Context, owner, name string) (*store.VirtualCalendar, error) {
	vc, err := first(ctx, t, t.scanVirtualCalendar,
		`SELECT `+virtualCalendarColumns+` FROM virtual_calendars WHERE owner = ? AND name = ?`, owner, name)
	if err != nil {
		return nil, t.errorf("virtual calendar %s/%s: %w", owner, name, err)
	}
	return vc, nil
}

// GetVirtualCalendarByID implements store.VirtualCalendars.
func (t Tx) GetVirtualCalendarByID(ctx context.Context, id int64) (*store.VirtualCalendar, error) {
	vc, err := first(ctx, t, t.scanVirtualCalendar,
		`SELECT `+virtualCalendarColumns+` FROM virtual_calendars WHERE id = ?`, id)
	if err != nil {
		return nil, t.errorf("virtual calendar %d: %w", id, err)
	}
	return vc, nil
}

// ListVirtualCalendars implements store.VirtualCalendars.
func (t Tx) ListVirtualCalendars(ctx context.Context) ([]*store.VirtualCalendar, error) {
	vcs, err := collect(ctx, t, t.scanVirtualCalendar,
		`SELECT `+virtualCalendarColumns+` FROM virtual_calendars ORDER BY owner, name`)
	if err != nil {
		return nil, t.errorf("list virtual calendars: %w", err)
	}
	return vcs, nil
}

// UpdateVirtualCalendar implements store.VirtualCalendars. version =
// version + 1 is evaluated on the row as locked, so concurrent updates on
// other nodes each get their own version.
func (t Tx) UpdateVirtualCalendar(ctx context.Context, vc *store.VirtualCalendar) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("update virtual calendar %d", vc.ID)
	shared, err := t.Lists.Encode(vc.SharedWith)
	if err != nil {
		return t.errorf("%s: %w", what, err)
	}
	now := t.now()
	version, err := t.returning(ctx, `UPDATE virtual_calendars SET display_name = ?, color = ?, definition = ?,
		shared_with = ?, version = version + 1, modified_us = ? WHERE id = ? RETURNING version`,
		vc.DisplayName, vc.Color, nonNil(vc.Definition), shared, micros(now), vc.ID)
	if err != nil {
		return t.errorf("%s: %w", what, err)
	}
	vc.Version = version
	vc.Modified = now
	return nil
}

// DeleteVirtualCalendar implements store.VirtualCalendars.
func (t Tx) DeleteVirtualCalendar(ctx context.Context, id int64) error {
	if err := t.writable(); err != nil {
		return err
	}
	n, err := t.Q.Exec(ctx, `DELETE FROM virtual_calendars WHERE id = ?`, id)
	return t.expectRow(n, err, fmt.Sprintf("delete virtual calendar %d", id))
}

// DropVirtualCalendarsOf is the cascade the foreign keys cannot do, for
// DeleteUser and DeleteGroup: owner is a user name or "group:NAME". Called
// after the owner's row is deleted (and so locked): a CreateVirtualCalendar
// that locked the owner first has committed by then, and this statement
// sees its row.
func (t Tx) DropVirtualCalendarsOf(ctx context.Context, owner string) error {
	if _, err := t.Q.Exec(ctx, `DELETE FROM virtual_calendars WHERE owner = ?`, owner); err != nil {
		return t.errorf("delete virtual calendars of %s: %w", owner, err)
	}
	return nil
}

// Groups.

// CreateGroup implements store.Groups.
func (t Tx) CreateGroup(ctx context.Context, g *store.Group) error {
	if err := t.writable(); err != nil {
		return err
	}
	if g.Created.IsZero() {
		g.Created = t.now()
	}
	g.Created = truncate(g.Created)
	_, err := t.Q.Exec(ctx, `INSERT INTO groups (name, display_name, keep_past, created_us) VALUES (?, ?, ?, ?)`,
		g.Name, g.DisplayName, g.KeepPast, nullMicros(g.Created))
	if v, _ := t.violated(err); v == UniqueViolation {
		return t.errorf("create group %q: %w", g.Name, store.ErrExists)
	}
	if err != nil {
		return t.errorf("create group %q: %w", g.Name, err)
	}
	return nil
}

const groupColumns = `name, display_name, keep_past, created_us`

func scanGroup(r Rows) (*store.Group, error) {
	var g store.Group
	var created *int64
	err := r.Scan(&g.Name, &g.DisplayName, &g.KeepPast, &created)
	g.Created = fromNullMicros(created)
	return &g, err
}

// GetGroup implements store.Groups.
func (t Tx) GetGroup(ctx context.Context, name string) (*store.Group, error) {
	g, err := first(ctx, t, scanGroup, `SELECT `+groupColumns+` FROM groups WHERE name = ?`, name)
	if err != nil {
		return nil, t.errorf("group %q: %w", name, err)
	}
	return g, nil
}

// ListGroups implements store.Groups.
func (t Tx) ListGroups(ctx context.Context) ([]*store.Group, error) {
	groups, err := collect(ctx, t, scanGroup, `SELECT `+groupColumns+` FROM groups ORDER BY name`)
	if err != nil {
		return nil, t.errorf("list groups: %w", err)
	}
	return groups, nil
}

// UpdateGroup implements store.Groups.
func (t Tx) UpdateGroup(ctx context.Context, g *store.Group) error {
	if err := t.writable(); err != nil {
		return err
	}
	n, err := t.Q.Exec(ctx, `UPDATE groups SET display_name = ?, keep_past = ? WHERE name = ?`,
		g.DisplayName, g.KeepPast, g.Name)
	return t.expectRow(n, err, fmt.Sprintf("update group %q", g.Name))
}

// DeleteGroup implements store.Groups.
func (t Tx) DeleteGroup(ctx context.Context, name string) error {
	if err := t.writable(); err != nil {
		return err
	}
	// Memberships go by ON DELETE CASCADE.
	n, err := t.Q.Exec(ctx, `DELETE FROM groups WHERE name = ?`, name)
	if err := t.expectRow(n, err, fmt.Sprintf("delete group %q", name)); err != nil {
		return err
	}
	if err := t.DropGrantee(ctx, "group:"+name); err != nil {
		return err
	}
	return t.DropVirtualCalendarsOf(ctx, groupOwnerPrefix+name)
}

// Memberships.

// PutMembership implements store.Groups.
func (t Tx) PutMembership(ctx context.Context, m *store.Membership) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("put membership of %q in %q", m.User, m.Group)
	if err := t.checkReference(ctx, what, "group", `SELECT 1 FROM groups WHERE name = ?`, m.Group); err != nil {
		return err
	}
	if err := t.checkReference(ctx, what, "user", `SELECT 1 FROM users WHERE name = ?`, m.User); err != nil {
		return err
	}
	joined, left := truncate(m.Joined), truncate(m.Left)
	_, err := t.Q.Exec(ctx, `INSERT INTO memberships (group_name, user_name, joined_us, left_us, contributions, admin)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (group_name, user_name) DO UPDATE SET joined_us = excluded.joined_us,
			left_us = excluded.left_us, contributions = excluded.contributions, admin = excluded.admin`,
		m.Group, m.User, nullMicros(joined), nullMicros(left), nonNil(m.Contributions), m.Admin)
	switch v, constraint := t.violated(err); {
	case v == ForeignKeyViolation && constraint == "memberships_group_fkey":
		return t.errorf("%s: group: %w", what, store.ErrNotFound)
	case v == ForeignKeyViolation && constraint != "":
		return t.errorf("%s: user: %w", what, store.ErrNotFound)
	case err != nil:
		return t.errorf("%s: %w", what, err)
	}
	m.Joined, m.Left = joined, left
	return nil
}

const membershipColumns = `group_name, user_name, joined_us, left_us, contributions, admin`

func (t Tx) listMemberships(ctx context.Context, what, query, arg string) ([]*store.Membership, error) {
	ms, err := collect(ctx, t, func(r Rows) (*store.Membership, error) {
		var m store.Membership
		var joined, left *int64
		err := r.Scan(&m.Group, &m.User, &joined, &left, &m.Contributions, &m.Admin)
		m.Joined = fromNullMicros(joined)
		m.Left = fromNullMicros(left)
		m.Contributions = nonNil(m.Contributions)
		return &m, err
	}, query, arg)
	if err != nil {
		return nil, t.errorf("%s: %w", what, err)
	}
	return ms, nil
}

// Memberships implements store.Groups.
func (t Tx) Memberships(ctx context.Context, group string) ([]*store.Membership, error) {
	return t.listMemberships(ctx, fmt.Sprintf("memberships of group %q", group),
		`SELECT `+membershipColumns+` FROM memberships WHERE group_name = ? ORDER BY user_name`, group)
}

// UserMemberships implements store.Groups.
func (t Tx) UserMemberships(ctx context.Context, user string) ([]*store.Membership, error) {
	return t.listMemberships(ctx, fmt.Sprintf("memberships of user %q", user),
		`SELECT `+membershipColumns+` FROM memberships WHERE user_name = ? ORDER BY group_name`, user)
}

// DeleteMembership implements store.Groups.
func (t Tx) DeleteMembership(ctx context.Context, group, user string) error {
	if err := t.writable(); err != nil {
		return err
	}
	n, err := t.Q.Exec(ctx, `DELETE FROM memberships WHERE group_name = ? AND user_name = ?`, group, user)
	return t.expectRow(n, err, fmt.Sprintf("delete membership of %q in %q", user, group))
}
