package domain

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"koyomi.dev/koyomi/internal/store"
)

// Principals as other users see them. Every signed-in user may read
// another's profile (name, display name, e-mail, phone): sharing,
// delegation, invitations and the directory address book all need to name
// people. Passwords, homes and data stay their owner's.

// Profile returns a user's profile without their password hash.
func (s *Service) Profile(ctx context.Context, name string) (*store.User, error) {
	var u *store.User
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		u, err = tx.GetUser(ctx, name)
		return err
	})
	if err != nil {
		return nil, mapStoreErr(err)
	}
	return publicProfile(u), nil
}

func publicProfile(u *store.User) *store.User {
	p := *u
	p.PasswordHash = ""
	return &p
}

// Profiles lists every user's profile, ordered by name.
func (s *Service) Profiles(ctx context.Context) ([]*store.User, error) {
	var out []*store.User
	err := s.store.View(ctx, func(tx store.Tx) error {
		users, err := tx.ListUsers(ctx)
		for _, u := range users {
			out = append(out, publicProfile(u))
		}
		return err
	})
	return out, mapStoreErr(err)
}

// UserByEmail returns the profile of the user with e-mail address addr
// (compared without case).
func (s *Service) UserByEmail(ctx context.Context, addr string) (*store.User, error) {
	users, err := s.Profiles(ctx)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		if u.Email != "" && strings.EqualFold(u.Email, addr) {
			return u, nil
		}
	}
	return nil, fmt.Errorf("%w: no user with address %q", ErrNotFound, addr)
}

// SetDelegates makes users the members of one of owner's proxy groups
// (write: calendar-proxy-write, else calendar-proxy-read), replacing its
// members; a user moved from the other group leaves it.
func (s *Service) SetDelegates(ctx context.Context, owner string, write bool, users []string) error {
	if err := authorize(ctx, owner); err != nil {
		return err
	}
	if slices.Contains(users, owner) {
		return &InvalidError{Field: "delegate", Err: fmt.Errorf("%w: a user cannot be their own delegate", ErrConflict)}
	}
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error {
		current, err := tx.Delegates(ctx, owner)
		if err != nil {
			return err
		}
		for _, d := range current {
			if d.Write == write && !slices.Contains(users, d.Delegate) {
				if err := tx.DeleteDelegate(ctx, owner, d.Delegate); err != nil {
					return err
				}
			}
		}
		for _, u := range users {
			if _, err := tx.GetUser(ctx, u); err != nil {
				if isNotFound(err) {
					return &InvalidError{Field: "delegate", Err: fmt.Errorf("%w: no user %q", ErrNotFound, u)}
				}
				return err
			}
			if err := tx.PutDelegate(ctx, &store.Delegate{Owner: owner, Delegate: u, Write: write}); err != nil {
				return err
			}
		}
		return nil
	}))
}

// GroupsOf lists the groups user currently belongs to, ordered by name;
// user and the system may ask.
func (s *Service) GroupsOf(ctx context.Context, user string) ([]string, error) {
	if err := authorize(ctx, user); err != nil {
		return nil, err
	}
	var out []string
	err := s.store.View(ctx, func(tx store.Tx) error {
		groups, err := currentGroups(ctx, tx, user)
		for g := range groups {
			out = append(out, g)
		}
		return err
	})
	slices.Sort(out)
	return out, mapStoreErr(err)
}
