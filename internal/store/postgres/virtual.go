package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

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

// sharedWith returns the stored form of VirtualCalendar.SharedWith: never
// NULL. None reads back as nil, like Collection.Components.
func sharedWith(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// lockOwner checks that a virtual calendar's owner (a user, or "group:NAME")
// exists and keeps it from being deleted until this transaction ends. No
// foreign key can follow owner, so this lock is what stops a concurrent
// DeleteUser or DeleteGroup from missing a calendar created alongside it:
// the delete waits for us, and its later DELETE of the owner's calendars
// sees ours.
func (t *tx) lockOwner(ctx context.Context, owner string) (bool, error) {
	query, key := `SELECT 1 FROM users WHERE name = $1 FOR KEY SHARE`, owner
	if group, ok := strings.CutPrefix(owner, groupOwnerPrefix); ok {
		query, key = `SELECT 1 FROM groups WHERE name = $1 FOR KEY SHARE`, group
	}
	var one int
	err := t.tx.QueryRow(ctx, query, key).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func (t *tx) CreateVirtualCalendar(ctx context.Context, vc *store.VirtualCalendar) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("create virtual calendar %s/%s", vc.Owner, vc.Name)
	ok, err := t.lockOwner(ctx, vc.Owner)
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	if !ok {
		return fmt.Errorf("postgres: %s: owner: %w", what, store.ErrNotFound)
	}
	now := truncate(t.now())
	var id int64
	err = t.tx.QueryRow(ctx, `INSERT INTO virtual_calendars
		(owner, name, display_name, color, definition, shared_with, version, created_us, modified_us)
		VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7) RETURNING id`,
		vc.Owner, vc.Name, vc.DisplayName, vc.Color, nonNil(vc.Definition), sharedWith(vc.SharedWith),
		micros(now)).Scan(&id)
	if code, _ := pgCode(err); code == uniqueViolation {
		return fmt.Errorf("postgres: %s: %w", what, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	vc.ID = id
	vc.Version = 1
	vc.Created = now
	vc.Modified = now
	return nil
}

const virtualCalendarColumns = `id, owner, name, display_name, color, definition, shared_with, version, created_us, modified_us`

func scanVirtualCalendar(row pgx.Row) (*store.VirtualCalendar, error) {
	var vc store.VirtualCalendar
	var created, modified *int64
	if err := row.Scan(&vc.ID, &vc.Owner, &vc.Name, &vc.DisplayName, &vc.Color, &vc.Definition, &vc.SharedWith,
		&vc.Version, &created, &modified); err != nil {
		return nil, err
	}
	if len(vc.SharedWith) == 0 {
		vc.SharedWith = nil
	}
	vc.Definition = nonNil(vc.Definition)
	vc.Created = fromMicros(created)
	vc.Modified = fromMicros(modified)
	return &vc, nil
}

func (t *tx) GetVirtualCalendar(ctx context.Context, owner, name string) (*store.VirtualCalendar, error) {
	vc, err := scanVirtualCalendar(t.tx.QueryRow(ctx,
		`SELECT `+virtualCalendarColumns+` FROM virtual_calendars WHERE owner = $1 AND name = $2`, owner, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: virtual calendar %s/%s: %w", owner, name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get virtual calendar %s/%s: %w", owner, name, err)
	}
	return vc, nil
}

func (t *tx) GetVirtualCalendarByID(ctx context.Context, id int64) (*store.VirtualCalendar, error) {
	vc, err := scanVirtualCalendar(t.tx.QueryRow(ctx,
		`SELECT `+virtualCalendarColumns+` FROM virtual_calendars WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: virtual calendar %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get virtual calendar %d: %w", id, err)
	}
	return vc, nil
}

func (t *tx) ListVirtualCalendars(ctx context.Context) ([]*store.VirtualCalendar, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+virtualCalendarColumns+` FROM virtual_calendars ORDER BY owner, name`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list virtual calendars: %w", err)
	}
	vcs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*store.VirtualCalendar, error) {
		return scanVirtualCalendar(row)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list virtual calendars: %w", err)
	}
	return vcs, nil
}

func (t *tx) UpdateVirtualCalendar(ctx context.Context, vc *store.VirtualCalendar) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("update virtual calendar %d", vc.ID)
	now := truncate(t.now())
	// version = version + 1 is evaluated on the row as locked, so
	// concurrent updates on other nodes each get their own version.
	var version int64
	err := t.tx.QueryRow(ctx, `UPDATE virtual_calendars SET display_name = $1, color = $2, definition = $3,
		shared_with = $4, version = version + 1, modified_us = $5 WHERE id = $6 RETURNING version`,
		vc.DisplayName, vc.Color, nonNil(vc.Definition), sharedWith(vc.SharedWith), micros(now), vc.ID).Scan(&version)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	vc.Version = version
	vc.Modified = now
	return nil
}

func (t *tx) DeleteVirtualCalendar(ctx context.Context, id int64) error {
	if err := t.writable(); err != nil {
		return err
	}
	tag, err := t.tx.Exec(ctx, `DELETE FROM virtual_calendars WHERE id = $1`, id)
	return expectOneRow(tag, err, fmt.Sprintf("delete virtual calendar %d", id))
}

// deleteOwnedVirtualCalendars is the cascade the foreign keys cannot do:
// owner is a user name or "group:NAME". Called after the owner's row is
// deleted (and so locked): a CreateVirtualCalendar that locked the owner
// first has committed by then, and this statement sees its row.
func (t *tx) deleteOwnedVirtualCalendars(ctx context.Context, owner string) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM virtual_calendars WHERE owner = $1`, owner); err != nil {
		return fmt.Errorf("postgres: delete virtual calendars of %s: %w", owner, err)
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
	_, err := t.tx.Exec(ctx, `INSERT INTO groups (name, display_name, keep_past, created_us) VALUES ($1, $2, $3, $4)`,
		g.Name, g.DisplayName, g.KeepPast, micros(g.Created))
	if code, _ := pgCode(err); code == uniqueViolation {
		return fmt.Errorf("postgres: create group %q: %w", g.Name, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("postgres: create group %q: %w", g.Name, err)
	}
	return nil
}

const groupColumns = `name, display_name, keep_past, created_us`

func scanGroup(row pgx.Row) (*store.Group, error) {
	var g store.Group
	var created *int64
	if err := row.Scan(&g.Name, &g.DisplayName, &g.KeepPast, &created); err != nil {
		return nil, err
	}
	g.Created = fromMicros(created)
	return &g, nil
}

func (t *tx) GetGroup(ctx context.Context, name string) (*store.Group, error) {
	g, err := scanGroup(t.tx.QueryRow(ctx, `SELECT `+groupColumns+` FROM groups WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: group %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get group %q: %w", name, err)
	}
	return g, nil
}

func (t *tx) ListGroups(ctx context.Context) ([]*store.Group, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+groupColumns+` FROM groups ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list groups: %w", err)
	}
	groups, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*store.Group, error) { return scanGroup(row) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list groups: %w", err)
	}
	return groups, nil
}

func (t *tx) UpdateGroup(ctx context.Context, g *store.Group) error {
	if err := t.writable(); err != nil {
		return err
	}
	tag, err := t.tx.Exec(ctx, `UPDATE groups SET display_name = $1, keep_past = $2 WHERE name = $3`,
		g.DisplayName, g.KeepPast, g.Name)
	return expectOneRow(tag, err, fmt.Sprintf("update group %q", g.Name))
}

func (t *tx) DeleteGroup(ctx context.Context, name string) error {
	if err := t.writable(); err != nil {
		return err
	}
	// Memberships go by ON DELETE CASCADE.
	tag, err := t.tx.Exec(ctx, `DELETE FROM groups WHERE name = $1`, name)
	if err := expectOneRow(tag, err, fmt.Sprintf("delete group %q", name)); err != nil {
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
	joined, left := truncate(m.Joined), truncate(m.Left)
	// The foreign keys, not prior lookups, detect a missing group or user:
	// they also hold when either is being deleted by another node right now.
	_, err := t.tx.Exec(ctx, `INSERT INTO memberships (group_name, user_name, joined_us, left_us, contributions, admin)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (group_name, user_name) DO UPDATE SET joined_us = excluded.joined_us,
			left_us = excluded.left_us, contributions = excluded.contributions, admin = excluded.admin`,
		m.Group, m.User, micros(joined), micros(left), nonNil(m.Contributions), m.Admin)
	switch code, constraint := pgCode(err); {
	case code == foreignKeyViolation && constraint == "memberships_group_fkey":
		return fmt.Errorf("postgres: %s: group: %w", what, store.ErrNotFound)
	case code == foreignKeyViolation:
		return fmt.Errorf("postgres: %s: user: %w", what, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	m.Joined, m.Left = joined, left
	return nil
}

const membershipColumns = `group_name, user_name, joined_us, left_us, contributions, admin`

func (t *tx) listMemberships(ctx context.Context, what, query, arg string) ([]*store.Membership, error) {
	rows, err := t.tx.Query(ctx, query, arg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	ms, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*store.Membership, error) {
		var m store.Membership
		var joined, left *int64
		if err := row.Scan(&m.Group, &m.User, &joined, &left, &m.Contributions, &m.Admin); err != nil {
			return nil, err
		}
		m.Joined = fromMicros(joined)
		m.Left = fromMicros(left)
		m.Contributions = nonNil(m.Contributions)
		return &m, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	return ms, nil
}

func (t *tx) Memberships(ctx context.Context, group string) ([]*store.Membership, error) {
	return t.listMemberships(ctx, fmt.Sprintf("memberships of group %q", group),
		`SELECT `+membershipColumns+` FROM memberships WHERE group_name = $1 ORDER BY user_name`, group)
}

func (t *tx) UserMemberships(ctx context.Context, user string) ([]*store.Membership, error) {
	return t.listMemberships(ctx, fmt.Sprintf("memberships of user %q", user),
		`SELECT `+membershipColumns+` FROM memberships WHERE user_name = $1 ORDER BY group_name`, user)
}

func (t *tx) DeleteMembership(ctx context.Context, group, user string) error {
	if err := t.writable(); err != nil {
		return err
	}
	tag, err := t.tx.Exec(ctx, `DELETE FROM memberships WHERE group_name = $1 AND user_name = $2`, group, user)
	return expectOneRow(tag, err, fmt.Sprintf("delete membership of %q in %q", user, group))
}
