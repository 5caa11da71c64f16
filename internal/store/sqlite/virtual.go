package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"koyomi.dev/koyomi/internal/store"
)

// Virtual calendars, groups and memberships.

// groupOwnerPrefix marks a virtual calendar owned by a group.
const groupOwnerPrefix = "group:"

// nonNil returns b, or an empty slice for nil: opaque bytes are stored NOT
// NULL and read back non-nil, like Object.Data.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// encodeSharedWith returns the stored form of VirtualCalendar.SharedWith: a
// JSON array, "[]" for none. JSON keeps every entry intact whatever
// characters a name holds.
func encodeSharedWith(s []string) (string, error) {
	if len(s) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(s)
	return string(b), err
}

// decodeSharedWith is the inverse of encodeSharedWith; none reads back as
// nil, like Collection.Components.
func decodeSharedWith(s string) ([]string, error) {
	var list []string
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		return nil, fmt.Errorf("shared_with: %w", err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list, nil
}

func (t *tx) groupExists(ctx context.Context, name string) (bool, error) {
	var one int
	err := t.tx.QueryRowContext(ctx, `SELECT 1 FROM groups WHERE name = ?`, name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// ownerExists reports whether a virtual calendar's owner (a user, or
// "group:NAME") exists, so that no calendar outlives the cascade that would
// delete it.
func (t *tx) ownerExists(ctx context.Context, owner string) (bool, error) {
	if group, ok := strings.CutPrefix(owner, groupOwnerPrefix); ok {
		return t.groupExists(ctx, group)
	}
	return t.userExists(ctx, owner)
}

func (t *tx) CreateVirtualCalendar(ctx context.Context, vc *store.VirtualCalendar) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("create virtual calendar %s/%s", vc.Owner, vc.Name)
	ok, err := t.ownerExists(ctx, vc.Owner)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if !ok {
		return fmt.Errorf("sqlite: %s: owner: %w", what, store.ErrNotFound)
	}
	shared, err := encodeSharedWith(vc.SharedWith)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	now := truncate(t.now())
	var id int64
	err = t.tx.QueryRowContext(ctx, `INSERT INTO virtual_calendars
		(owner, name, display_name, color, definition, shared_with, version, created_us, modified_us)
		VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?) RETURNING id`,
		vc.Owner, vc.Name, vc.DisplayName, vc.Color, nonNil(vc.Definition), shared, micros(now), micros(now)).Scan(&id)
	if isUniqueViolation(err) {
		return fmt.Errorf("sqlite: %s: %w", what, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	vc.ID = id
	vc.Version = 1
	vc.Created = now
	vc.Modified = now
	return nil
}

const virtualCalendarColumns = `id, owner, name, display_name, color, definition, shared_with, version, created_us, modified_us`

func scanVirtualCalendar(row interface{ Scan(...any) error }) (*store.VirtualCalendar, error) {
	var vc store.VirtualCalendar
	var shared string
	var created, modified sql.NullInt64
	if err := row.Scan(&vc.ID, &vc.Owner, &vc.Name, &vc.DisplayName, &vc.Color, &vc.Definition, &shared,
		&vc.Version, &created, &modified); err != nil {
		return nil, err
	}
	var err error
	if vc.SharedWith, err = decodeSharedWith(shared); err != nil {
		return nil, err
	}
	vc.Definition = nonNil(vc.Definition)
	vc.Created = fromMicros(created)
	vc.Modified = fromMicros(modified)
	return &vc, nil
}

func (t *tx) GetVirtualCalendar(ctx context.Context, owner, name string) (*store.VirtualCalendar, error) {
	vc, err := scanVirtualCalendar(t.tx.QueryRowContext(ctx,
		`SELECT `+virtualCalendarColumns+` FROM virtual_calendars WHERE owner = ? AND name = ?`, owner, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: virtual calendar %s/%s: %w", owner, name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get virtual calendar %s/%s: %w", owner, name, err)
	}
	return vc, nil
}

func (t *tx) GetVirtualCalendarByID(ctx context.Context, id int64) (*store.VirtualCalendar, error) {
	vc, err := scanVirtualCalendar(t.tx.QueryRowContext(ctx,
		`SELECT `+virtualCalendarColumns+` FROM virtual_calendars WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: virtual calendar %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get virtual calendar %d: %w", id, err)
	}
	return vc, nil
}

func (t *tx) ListVirtualCalendars(ctx context.Context) ([]*store.VirtualCalendar, error) {
	rows, err := t.tx.QueryContext(ctx,
		`SELECT `+virtualCalendarColumns+` FROM virtual_calendars ORDER BY owner, name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list virtual calendars: %w", err)
	}
	defer rows.Close()
	var vcs []*store.VirtualCalendar
	for rows.Next() {
		vc, err := scanVirtualCalendar(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list virtual calendars: %w", err)
		}
		vcs = append(vcs, vc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list virtual calendars: %w", err)
	}
	return vcs, nil
}

func (t *tx) UpdateVirtualCalendar(ctx context.Context, vc *store.VirtualCalendar) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("update virtual calendar %d", vc.ID)
	shared, err := encodeSharedWith(vc.SharedWith)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	now := truncate(t.now())
	var version int64
	err = t.tx.QueryRowContext(ctx, `UPDATE virtual_calendars SET display_name = ?, color = ?, definition = ?,
		shared_with = ?, version = version + 1, modified_us = ? WHERE id = ? RETURNING version`,
		vc.DisplayName, vc.Color, nonNil(vc.Definition), shared, micros(now), vc.ID).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	vc.Version = version
	vc.Modified = now
	return nil
}

func (t *tx) DeleteVirtualCalendar(ctx context.Context, id int64) error {
	if err := t.writable(); err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `DELETE FROM virtual_calendars WHERE id = ?`, id)
	return expectOneRow(res, err, fmt.Sprintf("delete virtual calendar %d", id))
}

// deleteOwnedVirtualCalendars is the cascade the foreign keys cannot do:
// owner is a user name or "group:NAME".
func (t *tx) deleteOwnedVirtualCalendars(ctx context.Context, owner string) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM virtual_calendars WHERE owner = ?`, owner); err != nil {
		return fmt.Errorf("sqlite: delete virtual calendars of %s: %w", owner, err)
	}
	return nil
}

// Groups.

func (t *tx) CreateGroup(ctx context.Context, g *store.Group) error {
	if err := t.writable(); err != nil {
		return err
	}
	if g.Created.IsZero() {
		g.Created = t.now()
	}
	g.Created = truncate(g.Created)
	_, err := t.tx.ExecContext(ctx, `INSERT INTO groups (name, display_name, keep_past, created_us) VALUES (?, ?, ?, ?)`,
		g.Name, g.DisplayName, g.KeepPast, micros(g.Created))
	if isUniqueViolation(err) {
		return fmt.Errorf("sqlite: create group %q: %w", g.Name, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create group %q: %w", g.Name, err)
	}
	return nil
}

const groupColumns = `name, display_name, keep_past, created_us`

func scanGroup(row interface{ Scan(...any) error }) (*store.Group, error) {
	var g store.Group
	var created sql.NullInt64
	if err := row.Scan(&g.Name, &g.DisplayName, &g.KeepPast, &created); err != nil {
		return nil, err
	}
	g.Created = fromMicros(created)
	return &g, nil
}

func (t *tx) GetGroup(ctx context.Context, name string) (*store.Group, error) {
	g, err := scanGroup(t.tx.QueryRowContext(ctx, `SELECT `+groupColumns+` FROM groups WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: group %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get group %q: %w", name, err)
	}
	return g, nil
}

func (t *tx) ListGroups(ctx context.Context) ([]*store.Group, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+groupColumns+` FROM groups ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list groups: %w", err)
	}
	defer rows.Close()
	var groups []*store.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list groups: %w", err)
		}
		groups = append(groups, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list groups: %w", err)
	}
	return groups, nil
}

func (t *tx) UpdateGroup(ctx context.Context, g *store.Group) error {
	if err := t.writable(); err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE groups SET display_name = ?, keep_past = ? WHERE name = ?`,
		g.DisplayName, g.KeepPast, g.Name)
	return expectOneRow(res, err, fmt.Sprintf("update group %q", g.Name))
}

func (t *tx) DeleteGroup(ctx context.Context, name string) error {
	if err := t.writable(); err != nil {
		return err
	}
	// Memberships go by ON DELETE CASCADE.
	res, err := t.tx.ExecContext(ctx, `DELETE FROM groups WHERE name = ?`, name)
	if err := expectOneRow(res, err, fmt.Sprintf("delete group %q", name)); err != nil {
		return err
	}
	if err := t.DropGrantee(ctx, "group:"+name); err != nil {
		return err
	}
	return t.deleteOwnedVirtualCalendars(ctx, groupOwnerPrefix+name)
}

// Memberships.

func (t *tx) PutMembership(ctx context.Context, m *store.Membership) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("put membership of %q in %q", m.User, m.Group)
	// Checked before the insert to say which one is missing; the foreign
	// keys stand behind the checks.
	ok, err := t.groupExists(ctx, m.Group)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if !ok {
		return fmt.Errorf("sqlite: %s: group: %w", what, store.ErrNotFound)
	}
	if ok, err = t.userExists(ctx, m.User); err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if !ok {
		return fmt.Errorf("sqlite: %s: user: %w", what, store.ErrNotFound)
	}
	m.Joined = truncate(m.Joined)
	m.Left = truncate(m.Left)
	_, err = t.tx.ExecContext(ctx, `INSERT INTO memberships (group_name, user_name, joined_us, left_us, contributions, admin)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (group_name, user_name) DO UPDATE SET joined_us = excluded.joined_us,
			left_us = excluded.left_us, contributions = excluded.contributions, admin = excluded.admin`,
		m.Group, m.User, micros(m.Joined), micros(m.Left), nonNil(m.Contributions), m.Admin)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return nil
}

const membershipColumns = `group_name, user_name, joined_us, left_us, contributions, admin`

func (t *tx) listMemberships(ctx context.Context, what, query string, arg string) ([]*store.Membership, error) {
	rows, err := t.tx.QueryContext(ctx, query, arg)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	defer rows.Close()
	var ms []*store.Membership
	for rows.Next() {
		var m store.Membership
		var joined, left sql.NullInt64
		if err := rows.Scan(&m.Group, &m.User, &joined, &left, &m.Contributions, &m.Admin); err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", what, err)
		}
		m.Joined = fromMicros(joined)
		m.Left = fromMicros(left)
		m.Contributions = nonNil(m.Contributions)
		ms = append(ms, &m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return ms, nil
}

func (t *tx) Memberships(ctx context.Context, group string) ([]*store.Membership, error) {
	return t.listMemberships(ctx, fmt.Sprintf("memberships of group %q", group),
		`SELECT `+membershipColumns+` FROM memberships WHERE group_name = ? ORDER BY user_name`, group)
}

func (t *tx) UserMemberships(ctx context.Context, user string) ([]*store.Membership, error) {
	return t.listMemberships(ctx, fmt.Sprintf("memberships of user %q", user),
		`SELECT `+membershipColumns+` FROM memberships WHERE user_name = ? ORDER BY group_name`, user)
}

func (t *tx) DeleteMembership(ctx context.Context, group, user string) error {
	if err := t.writable(); err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `DELETE FROM memberships WHERE group_name = ? AND user_name = ?`, group, user)
	return expectOneRow(res, err, fmt.Sprintf("delete membership of %q in %q", user, group))
}
