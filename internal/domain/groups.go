package domain

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// Contribution is what one member adds to a group calendar: one of their
// calendars, at a visibility level, and optionally the title of its busy
// blocks (a template as FilterDef.BusyLabel; default "{category|Busy}
// ({owner})").
type Contribution struct {
	Calendar  string `json:"calendar"`
	Level     string `json:"level"`
	BusyLabel string `json:"busy_label,omitempty"`
}

// check validates a contribution's level and label.
func (c Contribution) check() error {
	if _, err := ParseLevel(c.Level); err != nil {
		return err
	}
	return CheckLabel("busy_label", c.BusyLabel)
}

// GroupOwner is the Owner of a group's virtual calendars.
func GroupOwner(group string) string { return "group:" + group }

// Who may do what with a group: the system anything; a current
// administrator of the group anything; any other current member list its
// members, set their own contribution and leave. To anyone else the group
// does not exist, so that its name, members and calendar are not revealed.

// groupNeed is what an action on a group asks of the context's user.
type groupNeed int

const (
	needMember groupNeed = iota // a current member
	needAdmin                   // a current administrator
)

// groupState is a group and its memberships (past ones included), read
// inside the transaction that acts on them.
type groupState struct {
	group   *store.Group
	members []*store.Membership
}

// current returns user's current membership, or nil.
func (g *groupState) current(user string) *store.Membership {
	for _, m := range g.members {
		if m.User == user && m.Left.IsZero() {
			return m
		}
	}
	return nil
}

// soleAdmin reports whether user is the group's only current
// administrator, and whether other current members remain.
func (g *groupState) soleAdmin(user string) (sole, othersRemain bool) {
	sole = g.current(user) != nil && g.current(user).Admin
	for _, m := range g.members {
		if m.User == user || !m.Left.IsZero() {
			continue
		}
		othersRemain = true
		if m.Admin {
			sole = false
		}
	}
	return sole, othersRemain
}

func errNoGroup(name string) error { return fmt.Errorf("%w: no group %s", ErrNotFound, name) }

// openGroup reads group for an action that needs access; action says, in a
// refusal, what only administrators may do.
func openGroup(ctx context.Context, tx store.Tx, name string, need groupNeed, action string) (*groupState, error) {
	g, err := tx.GetGroup(ctx, name)
	if isNotFound(err) {
		return nil, errNoGroup(name)
	}
	if err != nil {
		return nil, err
	}
	ms, err := tx.Memberships(ctx, name)
	if err != nil {
		return nil, err
	}
	gs := &groupState{group: g, members: ms}
	p := Principal(ctx)
	if p == "" {
		return gs, nil
	}
	m := gs.current(p)
	if m == nil {
		return nil, errNoGroup(name) // said as for a missing group
	}
	if need == needAdmin && !m.Admin {
		return nil, fmt.Errorf("%w: only administrators of %s may %s", ErrForbidden, name, action)
	}
	return gs, nil
}

// lastAdminError refuses to leave a group without an administrator.
func lastAdminError(user, group string) error {
	return fmt.Errorf("%w: %s is the last administrator of %s; make another member an administrator first",
		ErrConflict, user, group)
}

// CreateGroup adds a group. keepPast is the policy on leaving: members who
// leave keep read access to what ended before they left, or lose all.
//
// A signed-in user who creates a group becomes its first member and
// administrator, contributing nothing until they choose to. The system
// creates groups with no members, or with admins as their administrators;
// a user's admins join them as administrators.
func (s *Service) CreateGroup(ctx context.Context, name, displayName string, keepPast bool, admins ...string) error {
	if !ValidUserName(name) {
		return fmt.Errorf("%w: group name %q (use letters, digits and . _ @ + -)", ErrInvalidName, name)
	}
	if err := CheckLabel("displayname", displayName); err != nil {
		return err
	}
	if displayName == "" {
		displayName = name
	}
	creator := Principal(ctx)
	if creator != "" && !slices.Contains(admins, creator) {
		admins = append([]string{creator}, admins...)
	}
	now := s.opts.Clock().UTC()
	g := &store.Group{Name: name, DisplayName: displayName, KeepPast: keepPast, Created: now}
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error {
		if creator != "" {
			// Whatever is already shared with group:NAME would go to the
			// group's members, chosen by whoever made it: only the system
			// may create a group that calendars wait for.
			shared, err := sharedWith(ctx, tx, "group:"+name)
			if err != nil {
				return err
			}
			if shared {
				return fmt.Errorf("%w: the group name %q is taken", ErrExists, name)
			}
		}
		if err := tx.CreateGroup(ctx, g); err != nil {
			return err
		}
		// Every group has a calendar: the union of its members'
		// contributions, shared with the group itself.
		def, _ := json.Marshal(storedDefinition{Node: VCNode{Group: name}})
		if err := tx.CreateVirtualCalendar(ctx, &store.VirtualCalendar{Owner: GroupOwner(name), Name: "calendar",
			DisplayName: displayName, Definition: def, SharedWith: []string{"group:" + name}}); err != nil {
			return err
		}
		for _, a := range admins {
			if err := requireUser(ctx, tx, a, "make "+a+" an administrator"); err != nil {
				return err
			}
			if err := tx.PutMembership(ctx, &store.Membership{Group: name, User: a, Joined: now,
				Contributions: []byte("[]"), Admin: true}); err != nil {
				return err
			}
		}
		return nil
	}))
}

// sharedWith reports whether any virtual calendar is shared with share.
func sharedWith(ctx context.Context, tx store.VirtualCalendars, share string) (bool, error) {
	vcs, err := tx.ListVirtualCalendars(ctx)
	if err != nil {
		return false, err
	}
	for _, vc := range vcs {
		if slices.Contains(vc.SharedWith, share) {
			return true, nil
		}
	}
	return false, nil
}

// requireUser refuses a user name that names no one; doing says what for.
func requireUser(ctx context.Context, tx store.Users, user, doing string) error {
	_, err := tx.GetUser(ctx, user)
	if isNotFound(err) {
		return fmt.Errorf("%w: cannot %s: no such user", ErrInvalidName, doing)
	}
	return err
}

// GroupChange changes a group's settings; nil fields stay as they are.
type GroupChange struct {
	DisplayName *string
	// KeepPast is the policy on leaving (see CreateGroup); a change applies
	// to those who left before it too.
	KeepPast *bool
}

// UpdateGroup changes a group's settings; its administrators may.
func (s *Service) UpdateGroup(ctx context.Context, name string, c GroupChange) (*store.Group, error) {
	if c.DisplayName != nil {
		if err := CheckLabel("displayname", *c.DisplayName); err != nil {
			return nil, err
		}
	}
	var g *store.Group
	err := s.store.Update(ctx, func(tx store.Tx) error {
		gs, err := openGroup(ctx, tx, name, needAdmin, "change its settings")
		if err != nil {
			return err
		}
		g = gs.group
		if c.DisplayName != nil {
			g.DisplayName = *c.DisplayName
			if g.DisplayName == "" {
				g.DisplayName = name
			}
		}
		if c.KeepPast != nil {
			g.KeepPast = *c.KeepPast
		}
		if err := tx.UpdateGroup(ctx, g); err != nil {
			return err
		}
		// The group calendar carries the name; storing it anew also
		// changes its version, so that every view of it (and the ETags
		// and sync tokens that depend on what those who left still see)
		// starts afresh.
		vc, err := tx.GetVirtualCalendar(ctx, GroupOwner(name), "calendar")
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		vc.DisplayName = g.DisplayName
		return tx.UpdateVirtualCalendar(ctx, vc)
	})
	return g, mapStoreErr(err)
}

// DeleteGroup removes a group, its calendar and its memberships (the
// members' own calendars are untouched); its administrators may.
func (s *Service) DeleteGroup(ctx context.Context, name string) error {
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := openGroup(ctx, tx, name, needAdmin, "delete it"); err != nil {
			return err
		}
		vcs, err := ownedVCIDs(ctx, tx, GroupOwner(name))
		if err != nil {
			return err
		}
		if err := tx.DeleteGroup(ctx, name); err != nil {
			return err
		}
		for _, id := range vcs {
			if err := tx.DeleteProperties(ctx, store.VCKeyPrefix(id)); err != nil {
				return err
			}
		}
		return unshare(ctx, tx, "group:"+name)
	}))
}

// Groups lists the groups the context's user currently belongs to, or
// every group for the system.
func (s *Service) Groups(ctx context.Context) ([]*store.Group, error) {
	var out []*store.Group
	err := s.store.View(ctx, func(tx store.Tx) error {
		p := Principal(ctx)
		if p == "" {
			var err error
			out, err = tx.ListGroups(ctx)
			return err
		}
		ms, err := tx.UserMemberships(ctx, p)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if !m.Left.IsZero() {
				continue
			}
			g, err := tx.GetGroup(ctx, m.Group)
			if err != nil {
				return err
			}
			out = append(out, g)
		}
		return nil
	})
	return out, mapStoreErr(err)
}

// Group returns one group; its current members may see it.
func (s *Service) Group(ctx context.Context, name string) (*store.Group, error) {
	var g *store.Group
	err := s.store.View(ctx, func(tx store.Tx) error {
		gs, err := openGroup(ctx, tx, name, needMember, "")
		if err == nil {
			g = gs.group
		}
		return err
	})
	return g, mapStoreErr(err)
}

// Members lists a group's memberships, past ones included; its current
// members may.
func (s *Service) Members(ctx context.Context, group string) ([]*store.Membership, error) {
	var out []*store.Membership
	err := s.store.View(ctx, func(tx store.Tx) error {
		gs, err := openGroup(ctx, tx, group, needMember, "")
		if err == nil {
			out = gs.members
		}
		return err
	})
	return out, mapStoreErr(err)
}

// NewMember is someone to add to a group.
type NewMember struct {
	User  string
	Admin bool
	// Contributions are the member's to choose: only the system sets them
	// on someone's behalf.
	Contributions []Contribution
}

// AddMember makes user a member of group (again, if they had left) who
// does not administer it; see AddGroupMember.
func (s *Service) AddMember(ctx context.Context, group, user string, contribs []Contribution) error {
	return s.AddGroupMember(ctx, group, NewMember{User: user, Contributions: contribs})
}

// AddGroupMember makes m.User a current member of group: a new one, or
// again one who had left. The group's administrators may; the user must
// exist and not be a current member already.
func (s *Service) AddGroupMember(ctx context.Context, group string, m NewMember) error {
	for _, c := range m.Contributions {
		if err := c.check(); err != nil {
			return err
		}
	}
	if m.Contributions == nil {
		m.Contributions = []Contribution{}
	}
	data, err := json.Marshal(m.Contributions)
	if err != nil {
		return err
	}
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error {
		gs, err := openGroup(ctx, tx, group, needAdmin, "add members")
		if err != nil {
			return err
		}
		if Principal(ctx) != "" && len(m.Contributions) > 0 {
			return fmt.Errorf("%w: members choose what they contribute themselves", ErrForbidden)
		}
		if err := requireUser(ctx, tx, m.User, "add "+m.User+" to "+group); err != nil {
			return err
		}
		if gs.current(m.User) != nil {
			return fmt.Errorf("%w: %s is already a member of %s", ErrExists, m.User, group)
		}
		for _, c := range m.Contributions {
			coll, err := tx.GetCollection(ctx, m.User, c.Calendar)
			if err != nil || coll.Kind != store.KindCalendar {
				return fmt.Errorf("%w: %s has no calendar %q to contribute", ErrNotFound, m.User, c.Calendar)
			}
		}
		return tx.PutMembership(ctx, &store.Membership{Group: group, User: m.User, Joined: s.opts.Clock().UTC(),
			Contributions: data, Admin: m.Admin})
	}))
}

// SetMemberAdmin makes a current member an administrator of group, or no
// longer one; the group's administrators may. The last administrator
// stays one until they name another.
func (s *Service) SetMemberAdmin(ctx context.Context, group, user string, admin bool) error {
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error {
		gs, err := openGroup(ctx, tx, group, needAdmin, "name administrators")
		if err != nil {
			return err
		}
		m := gs.current(user)
		if m == nil {
			return fmt.Errorf("%w: %s is not a member of %s", ErrNotFound, user, group)
		}
		if m.Admin == admin {
			return nil
		}
		if sole, _ := gs.soleAdmin(user); sole {
			return lastAdminError(user, group)
		}
		m.Admin = admin
		return tx.PutMembership(ctx, m)
	}))
}

// SetContributions changes what a current member contributes.
func (s *Service) SetContributions(ctx context.Context, group, user string, contribs []Contribution) error {
	if err := authorize(ctx, user); err != nil {
		return err
	}
	for _, c := range contribs {
		if err := c.check(); err != nil {
			return err
		}
	}
	var current *store.Membership
	err := s.store.View(ctx, func(tx store.Tx) error {
		for _, c := range contribs {
			coll, err := tx.GetCollection(ctx, user, c.Calendar)
			if err != nil || coll.Kind != store.KindCalendar {
				return fmt.Errorf("%w: %s has no calendar %q to contribute", ErrNotFound, user, c.Calendar)
			}
		}
		ms, err := tx.UserMemberships(ctx, user)
		for _, m := range ms {
			if m.Group == group && m.Left.IsZero() {
				current = m
			}
		}
		return err
	})
	if err != nil {
		return mapStoreErr(err)
	}
	if current == nil {
		return fmt.Errorf("%w: %s is not a member of %s", ErrNotFound, user, group)
	}
	data, err := json.Marshal(contribs)
	if err != nil {
		return err
	}
	current.Contributions = data
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error { return tx.PutMembership(ctx, current) }))
}

// RemoveMember records that user left group now; the group's policy then
// decides what of the group calendar they still see. A member may leave;
// the group's administrators may remove anyone. The last administrator
// may leave only as the last member.
func (s *Service) RemoveMember(ctx context.Context, group, user string) error {
	need := needAdmin
	if Principal(ctx) == user {
		need = needMember
	}
	now := s.opts.Clock().UTC()
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error {
		gs, err := openGroup(ctx, tx, group, need, "remove members")
		if err != nil {
			return err
		}
		m := gs.current(user)
		if m == nil {
			return fmt.Errorf("%w: %s is not a member of %s", ErrNotFound, user, group)
		}
		if sole, othersRemain := gs.soleAdmin(user); sole && othersRemain {
			return lastAdminError(user, group)
		}
		m.Left, m.Admin = now, false
		return tx.PutMembership(ctx, m)
	}))
}

// activeMember reports whether m is current at t.
func activeMember(m *store.Membership, t time.Time) bool { return m.Left.IsZero() || t.Before(m.Left) }
