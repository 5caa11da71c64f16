package domain

import (
	"context"
	"errors"
	"fmt"

	"koyomi.dev/koyomi/internal/auth"
	"koyomi.dev/koyomi/internal/store"
)

// CreateUser adds an account with a password.
func (s *Service) CreateUser(ctx context.Context, name, password, email string) error {
	if !ValidUserName(name) {
		return fmt.Errorf("%w: %q (use letters, digits and . _ @ + -, up to 64 characters)", ErrInvalidName, name)
	}
	if password == "" {
		return fmt.Errorf("%w: empty password", ErrInvalidName)
	}
	if err := CheckLabel("email", email); err != nil {
		return err
	}
	hash, err := auth.HashPassword(password, s.opts.PasswordParams)
	if err != nil {
		return err
	}
	u := &store.User{Name: name, DisplayName: name, Email: email, PasswordHash: hash, Created: s.opts.Clock().UTC()}
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error { return tx.CreateUser(ctx, u) }))
}

// SetPassword replaces a user's password.
func (s *Service) SetPassword(ctx context.Context, name, password string) error {
	if password == "" {
		return fmt.Errorf("%w: empty password", ErrInvalidName)
	}
	if err := authorize(ctx, name); err != nil {
		return err
	}
	hash, err := auth.HashPassword(password, s.opts.PasswordParams)
	if err != nil {
		return err
	}
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error {
		u, err := tx.GetUser(ctx, name)
		if err != nil {
			return err
		}
		u.PasswordHash = hash
		return tx.UpdateUser(ctx, u)
	}))
}

// SetDisplayName changes the name a user is shown by (in labels of their
// busy time, principal properties), by the user or the system.
func (s *Service) SetDisplayName(ctx context.Context, name, displayName string) error {
	if err := authorize(ctx, name); err != nil {
		return err
	}
	if displayName == "" {
		return fmt.Errorf("%w: empty display name", ErrInvalidName)
	}
	if err := CheckLabel("display name", displayName); err != nil {
		return err
	}
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error {
		u, err := tx.GetUser(ctx, name)
		if err != nil {
			return err
		}
		u.DisplayName = displayName
		return tx.UpdateUser(ctx, u)
	}))
}

// SetPhone changes the telephone number a user's card in the directory
// address book shows ("" removes it), by the user or the system.
func (s *Service) SetPhone(ctx context.Context, name, phone string) error {
	if err := authorize(ctx, name); err != nil {
		return err
	}
	if err := CheckLabel("phone", phone); err != nil {
		return err
	}
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error {
		u, err := tx.GetUser(ctx, name)
		if err != nil {
			return err
		}
		u.Phone = phone
		return tx.UpdateUser(ctx, u)
	}))
}

// DeleteUser removes a user and everything they own.
func (s *Service) DeleteUser(ctx context.Context, name string, homePaths []string) error {
	if err := authorize(ctx, name); err != nil {
		return err
	}
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteUser(ctx, name); err != nil {
			return err
		}
		if err := unshare(ctx, tx, "user:"+name); err != nil {
			return err
		}
		for _, p := range homePaths {
			if err := tx.DeleteProperties(ctx, p); err != nil {
				return err
			}
		}
		return nil
	}))
}

// Users lists all accounts.
func (s *Service) Users(ctx context.Context) ([]*store.User, error) {
	var users []*store.User
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		users, err = tx.ListUsers(ctx)
		return err
	})
	return users, mapStoreErr(err)
}

// User returns one account (without access check beyond authorize).
func (s *Service) User(ctx context.Context, name string) (*store.User, error) {
	if err := authorize(ctx, name); err != nil {
		return nil, err
	}
	var u *store.User
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		u, err = tx.GetUser(ctx, name)
		return err
	})
	return u, mapStoreErr(err)
}

// PasswordHash implements auth.UserLookup.
func (s *Service) PasswordHash(ctx context.Context, name string) (string, error) {
	var hash string
	err := s.store.View(ctx, func(tx store.Tx) error {
		u, err := tx.GetUser(ctx, name)
		if err != nil {
			return err
		}
		hash = u.PasswordHash
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("%w: %s", auth.ErrNoSuchUser, name)
	}
	return hash, err
}

// unshare removes a share (user:NAME or group:NAME) from every virtual
// calendar, so that a user or group created later under the same name does
// not inherit what was shared with the one deleted.
func unshare(ctx context.Context, tx store.Tx, share string) error {
	vcs, err := tx.ListVirtualCalendars(ctx)
	if err != nil {
		return err
	}
	for _, vc := range vcs {
		kept := vc.SharedWith[:0:0]
		for _, sh := range vc.SharedWith {
			if sh != share {
				kept = append(kept, sh)
			}
		}
		if len(kept) != len(vc.SharedWith) {
			vc.SharedWith = kept
			if err := tx.UpdateVirtualCalendar(ctx, vc); err != nil {
				return err
			}
		}
	}
	return nil
}
