package domain

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// Contribution is what one member adds to a group calendar: one of their
// calendars, at a visibility level.
type Contribution struct {
	Calendar string `json:"calendar"`
	Level    string `json:"level"`
}

// GroupOwner is the Owner of a group's virtual calendars.
func GroupOwner(group string) string { return "group:" + group }

// CreateGroup adds a group. keepPast is the policy on leaving: members who
// leave keep read access to what ended before they left, or lose all.
func (s *Service) CreateGroup(ctx context.Context, name, displayName string, keepPast bool) error {
	if Principal(ctx) != "" {
		return fmt.Errorf("%w: only administrators manage groups", ErrForbidden)
	}
	if !ValidUserName(name) {
		return fmt.Errorf("%w: group name %q (use letters, digits and . _ @ + -)", ErrInvalidName, name)
	}
	if displayName == "" {
		displayName = name
	}
	g := &store.Group{Name: name, DisplayName: displayName, KeepPast: keepPast, Created: s.opts.Clock().UTC()}
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateGroup(ctx, g); err != nil {
			return err
		}
		// Every group has a calendar: the union of its members'
		// contributions, shared with the group itself.
		def, _ := json.Marshal(storedDefinition{Node: VCNode{Group: name}})
		return tx.CreateVirtualCalendar(ctx, &store.VirtualCalendar{Owner: GroupOwner(name), Name: "calendar",
			DisplayName: displayName, Definition: def, SharedWith: []string{"group:" + name}})
	}))
}

// DeleteGroup removes a group, its calendar and its memberships (the
// members' own calendars are untouched).
func (s *Service) DeleteGroup(ctx context.Context, name string) error {
	if Principal(ctx) != "" {
		return fmt.Errorf("%w: only administrators manage groups", ErrForbidden)
	}
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteGroup(ctx, name); err != nil {
			return err
		}
		return unshare(ctx, tx, "group:"+name)
	}))
}

// Groups lists all groups.
func (s *Service) Groups(ctx context.Context) ([]*store.Group, error) {
	var out []*store.Group
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.ListGroups(ctx)
		return err
	})
	return out, mapStoreErr(err)
}

// Members lists a group's memberships, past ones included.
func (s *Service) Members(ctx context.Context, group string) ([]*store.Membership, error) {
	var out []*store.Membership
	err := s.store.View(ctx, func(tx store.Tx) error {
		if _, err := tx.GetGroup(ctx, group); err != nil {
			return err
		}
		var err error
		out, err = tx.Memberships(ctx, group)
		return err
	})
	return out, mapStoreErr(err)
}

// AddMember makes user a member of group (again, if they had left),
// contributing the given calendars; an administrator or the user may do it.
func (s *Service) AddMember(ctx context.Context, group, user string, contribs []Contribution) error {
	if err := authorize(ctx, user); err != nil {
		return err
	}
	for _, c := range contribs {
		if _, err := ParseLevel(c.Level); err != nil {
			return err
		}
	}
	data, err := json.Marshal(contribs)
	if err != nil {
		return err
	}
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error {
		for _, c := range contribs {
			coll, err := tx.GetCollection(ctx, user, c.Calendar)
			if err != nil || coll.Kind != store.KindCalendar {
				return fmt.Errorf("%w: %s has no calendar %q to contribute", ErrNotFound, user, c.Calendar)
			}
		}
		return tx.PutMembership(ctx, &store.Membership{Group: group, User: user, Joined: s.opts.Clock().UTC(), Contributions: data})
	}))
}

// SetContributions changes what a current member contributes.
func (s *Service) SetContributions(ctx context.Context, group, user string, contribs []Contribution) error {
	if err := authorize(ctx, user); err != nil {
		return err
	}
	for _, c := range contribs {
		if _, err := ParseLevel(c.Level); err != nil {
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
// decides what of the group calendar they still see.
func (s *Service) RemoveMember(ctx context.Context, group, user string) error {
	if err := authorize(ctx, user); err != nil {
		return err
	}
	now := s.opts.Clock().UTC()
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error {
		ms, err := tx.Memberships(ctx, group)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if m.User == user && m.Left.IsZero() {
				m.Left = now
				return tx.PutMembership(ctx, m)
			}
		}
		return fmt.Errorf("%w: %s is not a member of %s", store.ErrNotFound, user, group)
	}))
}

// activeMember reports whether m is current at t.
func activeMember(m *store.Membership, t time.Time) bool { return m.Left.IsZero() || t.Before(m.Left) }
