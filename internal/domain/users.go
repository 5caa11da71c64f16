package domain

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"koyomi.dev/koyomi/internal/auth"
	"koyomi.dev/koyomi/internal/store"
)

// CreateUser adds an account with a password.
func (s *Service) CreateUser(ctx context.Context, name, password, email string) error {
	if !ValidUserName(name) {
		return fmt.Errorf("%w: %q (use letters, digits and . _ @ + -, up to 64 characters)", ErrInvalidName, name)
	}
	if err := s.checkPassword(password); err != nil {
		return err
	}
	if err := checkEmail(email); err != nil {
		return err
	}
	hash, err := auth.HashPassword(password, s.opts.PasswordParams)
	if err != nil {
		return err
	}
	u := &store.User{Name: name, DisplayName: name, Email: email, PasswordHash: hash, Created: s.opts.Clock().UTC()}
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error {
		if err := emailFree(ctx, tx, name, email); err != nil {
			return err
		}
		if err := userInTrash(ctx, tx, name); err != nil {
			return err
		}
		return tx.CreateUser(ctx, u)
	}))
}

// checkPassword refuses a new password that is empty or shorter than the
// minimum length.
func (s *Service) checkPassword(password string) error {
	if password == "" {
		return fmt.Errorf("%w: empty password", ErrInvalidName)
	}
	if n := utf8.RuneCountInString(password); n < s.opts.MinPasswordLength {
		return &InvalidError{Field: "password", Err: fmt.Errorf("%w: %d characters, at least %d",
			ErrPasswordTooShort, n, s.opts.MinPasswordLength)}
	}
	return nil
}

// SetPassword replaces a user's password.
func (s *Service) SetPassword(ctx context.Context, name, password string) error {
	if err := s.checkPassword(password); err != nil {
		return err
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
	if displayName == "" {
		return fmt.Errorf("%w: empty display name", ErrInvalidName)
	}
	if err := CheckLabel("display name", displayName); err != nil {
		return err
	}
	return s.updateUser(ctx, name, func(_ store.Tx, u *store.User) error {
		u.DisplayName = displayName
		return nil
	})
}

// SetPhone changes the telephone number a user's card in the directory
// address book shows ("" removes it), by the user or the system.
func (s *Service) SetPhone(ctx context.Context, name, phone string) error {
	if err := CheckLabel("phone", phone); err != nil {
		return err
	}
	return s.updateUser(ctx, name, func(_ store.Tx, u *store.User) error {
		u.Phone = phone
		return nil
	})
}

// SetEmail changes a user's e-mail address ("" removes it): what their
// principal gives as calendar-user-address-set, their directory card
// shows, and sharing by address finds. No two users may have one address
// (compared without case), or shares addressed to one could reach the
// other.
func (s *Service) SetEmail(ctx context.Context, name, email string) error {
	if err := checkEmail(email); err != nil {
		return err
	}
	return s.updateUser(ctx, name, func(tx store.Tx, u *store.User) error {
		if err := emailFree(ctx, tx, name, email); err != nil {
			return err
		}
		u.Email = email
		return nil
	})
}

// checkEmail refuses an address that is no single-line label or has no
// "@" between a local part and a domain.
func checkEmail(email string) error {
	if err := CheckLabel("email", email); err != nil {
		return err
	}
	if local, domain, ok := strings.Cut(email, "@"); email != "" && (!ok || local == "" || domain == "" || strings.ContainsAny(email, " <>")) {
		return &InvalidError{Field: "email", Err: fmt.Errorf("%w: %q is no e-mail address", ErrInvalidName, email)}
	}
	return nil
}

// emailFree refuses email when a user other than name has it.
func emailFree(ctx context.Context, tx store.Users, name, email string) error {
	if email == "" {
		return nil
	}
	users, err := tx.ListUsers(ctx)
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.Name != name && strings.EqualFold(u.Email, email) {
			return &InvalidError{Field: "email", Err: fmt.Errorf("%w: another user has the address %q", ErrConflict, email)}
		}
	}
	return nil
}

// updateUser changes user name's record with fn, by the user or the
// system.
func (s *Service) updateUser(ctx context.Context, name string, fn func(store.Tx, *store.User) error) error {
	if err := authorize(ctx, name); err != nil {
		return err
	}
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error {
		u, err := tx.GetUser(ctx, name)
		if err != nil {
			return err
		}
		if err := fn(tx, u); err != nil {
			return err
		}
		return tx.UpdateUser(ctx, u)
	}))
}

// DeleteUser moves a user and everything they own, dead properties
// included, into the trash, from where RestoreUser brings them back. While
// they are there, the name cannot be used again.
//
// The store deletes with the user: collections (objects, grants, sharees'
// settings, public links, connectors with items, runs and conflicts), app
// passwords, memberships (with contributions), delegations both ways,
// grants and settings of others' collections, their virtual calendars
// (with others' subscriptions and the links to them), their own
// subscriptions and sync state; unshare removes them from others' virtual
// calendars. snapshotUser keeps all of it but what docs/trash.md lists as
// not restored (runs, conflicts, their virtual calendars' links and
// properties, others' subscriptions to them, sync state).
func (s *Service) DeleteUser(ctx context.Context, name string) error {
	if err := authorize(ctx, name); err != nil {
		return err
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		snap, size, err := snapshotUser(ctx, tx, name)
		if err != nil {
			return err
		}
		if err := s.addTrash(ctx, tx, store.TrashItem{Owner: name, Kind: store.TrashUser, Name: name, Size: size}, snap); err != nil {
			return err
		}
		// What the store deletes with the user, listed first: the dead
		// properties keyed by their IDs go by hand.
		keys, err := userPropertyPrefixes(ctx, tx, name)
		if err != nil {
			return err
		}
		if err := tx.DeleteUser(ctx, name); err != nil {
			return err
		}
		if err := unshare(ctx, tx, "user:"+name); err != nil {
			return err
		}
		for _, k := range keys {
			if err := tx.DeleteProperties(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return mapStoreErr(err)
	}
	// The homes' provisioning marks went with their properties: a user
	// made again under the name is provisioned again.
	for _, k := range UserKeys(name) {
		s.homes.Delete(k.key)
	}
	return nil
}

// userPropertyPrefixes returns the keys under which the dead properties of
// everything a user has lie: their principal and homes, their collections
// (with the objects), their virtual calendars (with every viewer's
// properties) and their own properties of the virtual calendars they see.
func userPropertyPrefixes(ctx context.Context, tx store.Tx, name string) ([]string, error) {
	keys := []string{store.UserKeyPrefix(name)}
	colls, err := tx.ListCollections(ctx, name)
	if err != nil {
		return nil, err
	}
	for _, c := range colls {
		keys = append(keys, store.CollectionKey(c.ID))
	}
	vcs, err := ownedVCIDs(ctx, tx, name)
	if err != nil {
		return nil, err
	}
	for _, id := range vcs {
		keys = append(keys, store.VCKeyPrefix(id))
	}
	// A viewer's own properties of a virtual calendar are set with their
	// subscription to it (see the tree's PROPPATCH of a view).
	subs, err := tx.ViewSubscriptions(ctx, name)
	if err != nil {
		return nil, err
	}
	for _, sub := range subs {
		keys = append(keys, VCKey(sub.VC, name).key)
	}
	return keys, nil
}

// ownedVCIDs returns the IDs of the virtual calendars of owner (a user
// name or GroupOwner).
func ownedVCIDs(ctx context.Context, tx store.Tx, owner string) ([]int64, error) {
	all, err := tx.ListVirtualCalendars(ctx)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, vc := range all {
		if vc.Owner == owner {
			ids = append(ids, vc.ID)
		}
	}
	return ids, nil
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
