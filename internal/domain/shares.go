package domain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"koyomi.dev/koyomi/internal/store"
)

// Share is a collection someone else owns as it appears to a principal it
// is shared with: in their own home, under Mount, at Level, with their own
// settings.
type Share struct {
	Coll  *store.Collection
	Level Level
	// Mount is the name it appears under in the sharee's home.
	Mount string
	// Settings are the sharee's own; nil until they change one.
	Settings *store.ShareSettings
	// Delegated: the access comes from being the owner's delegate.
	Delegated bool
}

// DisplayName is the sharee's name for the share, or the owner's.
func (sh *Share) DisplayName() string {
	if sh.Settings != nil && sh.Settings.DisplayName != "" {
		return sh.Settings.DisplayName
	}
	return sh.Coll.DisplayName
}

// Color is the sharee's colour for the share, or the owner's.
func (sh *Share) Color() string {
	if sh.Settings != nil && sh.Settings.Color != "" {
		return sh.Settings.Color
	}
	return sh.Coll.Color
}

// Order is the sharee's order for the share, or the owner's.
func (sh *Share) Order() int {
	if sh.Settings != nil && sh.Settings.Order != 0 {
		return sh.Settings.Order
	}
	return sh.Coll.Order
}

// Hidden reports whether the sharee hid the share.
func (sh *Share) Hidden() bool { return sh.Settings != nil && sh.Settings.Hidden }

// MountName is the name a collection shared with someone appears under in
// their home: "<name>_shared_by_<owner>" (user names hold no "_", so the
// name is never another share's).
func MountName(c *store.Collection) string {
	return strings.ReplaceAll(c.Name, "/", "_") + ShareMarker + c.Owner
}

// ShareMarker is in every mount name and in no name of a user's own
// collection that can be shared.
const ShareMarker = "_shared_by_"

// SharedWith lists the collections others share with user (directly,
// through a group, with everyone, or as a delegate), ordered by owner and
// name. Only user and the system may ask.
func (s *Service) SharedWith(ctx context.Context, user string) ([]*Share, error) {
	if err := authorize(ctx, user); err != nil {
		return nil, err
	}
	var out []*Share
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = sharesOf(ctx, tx, user)
		return err
	})
	return out, mapStoreErr(err)
}

func sharesOf(ctx context.Context, tx store.Tx, user string) ([]*Share, error) {
	groups, err := currentGroups(ctx, tx, user)
	if err != nil {
		return nil, err
	}
	grantees := []string{granteeUser + user, GranteeEveryone}
	for g := range groups {
		grantees = append(grantees, granteeGroup+g)
	}
	grants, err := tx.GrantsTo(ctx, grantees)
	if err != nil {
		return nil, err
	}
	ids := map[int64]bool{}
	var colls []*store.Collection
	for _, g := range grants {
		if ids[g.CollectionID] {
			continue
		}
		c, err := tx.GetCollectionByID(ctx, g.CollectionID)
		if err != nil {
			if isNotFound(err) {
				continue
			}
			return nil, err
		}
		ids[c.ID] = true
		colls = append(colls, c)
	}
	delegators, err := tx.DelegatorsOf(ctx, user)
	if err != nil {
		return nil, err
	}
	delegated := map[int64]bool{}
	for _, d := range delegators {
		cs, err := tx.ListCollections(ctx, d.Owner)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			if c.Kind != store.KindCalendar {
				continue
			}
			delegated[c.ID] = true
			if !ids[c.ID] {
				ids[c.ID] = true
				colls = append(colls, c)
			}
		}
	}
	var out []*Share
	for _, c := range colls {
		if c.Owner == user || c.Kind == store.KindPlain {
			continue
		}
		level, err := accessOf(ctx, tx, user, c)
		if err != nil {
			return nil, err
		}
		if level == LevelNone {
			continue
		}
		out = append(out, &Share{Coll: c, Level: level, Mount: MountName(c), Delegated: delegated[c.ID]})
	}
	if len(out) > 0 {
		all, err := tx.UserShareSettings(ctx, user)
		if err != nil {
			return nil, err
		}
		settings := make(map[int64]*store.ShareSettings, len(all))
		for _, ss := range all {
			settings[ss.CollectionID] = ss
		}
		for _, sh := range out {
			sh.Settings = settings[sh.Coll.ID]
		}
	}
	slices.SortFunc(out, func(a, b *Share) int {
		return strings.Compare(a.Coll.Owner+"/"+a.Coll.Name, b.Coll.Owner+"/"+b.Coll.Name)
	})
	return out, nil
}

// SharedCollection returns the share user sees under mount in their home;
// ErrNotFound when there is none.
func (s *Service) SharedCollection(ctx context.Context, user, mount string) (*Share, error) {
	if !strings.Contains(mount, ShareMarker) {
		return nil, fmt.Errorf("%w: no share %q", ErrNotFound, mount)
	}
	shares, err := s.SharedWith(ctx, user)
	if err != nil {
		return nil, err
	}
	for _, sh := range shares {
		if sh.Mount == mount {
			return sh, nil
		}
	}
	return nil, fmt.Errorf("%w: no share %q", ErrNotFound, mount)
}

// ShareChange is a change to a sharee's own settings; nil fields stay.
type ShareChange struct {
	Personal
	Hidden *bool
}

// SetShareSettings changes user's own settings for a share; the owner's
// stay as they are.
func (s *Service) SetShareSettings(ctx context.Context, user string, sh *Share, ch ShareChange) error {
	if err := authorize(ctx, user); err != nil {
		return err
	}
	next := store.ShareSettings{CollectionID: sh.Coll.ID, User: user}
	if sh.Settings != nil {
		next = *sh.Settings
	}
	ch.apply(&next.DisplayName, &next.Color, &next.Order)
	if ch.Hidden != nil {
		next.Hidden = *ch.Hidden
	}
	if err := CheckLabel("displayname", next.DisplayName); err != nil {
		return err
	}
	if err := CheckLabel("color", next.Color); err != nil {
		return err
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		level, err := accessOf(ctx, tx, user, sh.Coll)
		if err != nil {
			return err
		}
		if err := check(level, ActFreeBusy, sh.Coll); err != nil {
			return err
		}
		return tx.PutShareSettings(ctx, &next)
	})
	if err == nil {
		sh.Settings = &next
	}
	return mapStoreErr(err)
}

// Grants lists who c is shared with; its owner and its admins may ask.
func (s *Service) Grants(ctx context.Context, c *store.Collection) ([]*store.Grant, error) {
	var out []*store.Grant
	err := s.store.View(ctx, func(tx store.Tx) error {
		if _, err := authorizeCollTx(ctx, tx, c, ActShare); err != nil {
			return err
		}
		var err error
		out, err = tx.Grants(ctx, c.ID)
		return err
	})
	return out, mapStoreErr(err)
}

// ValidGrantee checks a grantee's form: "user:NAME", "group:NAME" or "*".
func ValidGrantee(g string) error {
	if g == GranteeEveryone {
		return nil
	}
	if name, ok := cutPrefix(g, granteeUser); ok && ValidUserName(name) {
		return nil
	}
	if name, ok := cutPrefix(g, granteeGroup); ok && name != "" {
		return nil
	}
	return &InvalidError{Field: "grantee", Err: fmt.Errorf("%w: grantee %q (want user:NAME, group:NAME or *)", ErrInvalidName, g)}
}

// Share grants grantee level on c. The owner grants any level; an admin
// up to read-write, and cannot change another admin's grant. Free-busy
// applies to calendars only; the grantee must exist and not be the owner.
func (s *Service) Share(ctx context.Context, c *store.Collection, grantee string, level Level) (*store.Grant, error) {
	if err := ValidGrantee(grantee); err != nil {
		return nil, err
	}
	if level <= LevelNone || level >= LevelOwner {
		return nil, &InvalidError{Field: "level", Err: fmt.Errorf("%w: level %s cannot be granted", ErrInvalidName, level)}
	}
	if level == LevelFreeBusy && c.Kind != store.KindCalendar {
		return nil, &InvalidError{Field: "level", Err: fmt.Errorf("%w: free-busy applies to calendars only", ErrInvalidName)}
	}
	if c.Kind == store.KindPlain {
		return nil, &InvalidError{Field: "collection", Err: fmt.Errorf("%w: only calendars and address books can be shared", ErrInvalidName)}
	}
	g := &store.Grant{CollectionID: c.ID, Grantee: grantee, Level: level.String()}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		mine, err := authorizeCollTx(ctx, tx, c, ActShare)
		if err != nil {
			return err
		}
		if err := mayChangeGrant(ctx, tx, c, grantee, mine, level); err != nil {
			return err
		}
		if err := granteeExists(ctx, tx, c, grantee); err != nil {
			return err
		}
		if err := tx.PutGrant(ctx, g); err != nil {
			return err
		}
		// Shared with them by name: a share they had hidden shows again.
		user, byName := strings.CutPrefix(grantee, granteeUser)
		if !byName {
			return nil
		}
		st, err := tx.GetShareSettings(ctx, c.ID, user)
		if isNotFound(err) || err == nil && !st.Hidden {
			return nil
		} else if err != nil {
			return err
		}
		st.Hidden = false
		return tx.PutShareSettings(ctx, st)
	})
	if err != nil {
		return nil, mapStoreErr(err)
	}
	return g, nil
}

// mayChangeGrant: an admin grants at most read-write and leaves other
// admins' grants alone.
func mayChangeGrant(ctx context.Context, tx store.Tx, c *store.Collection, grantee string, mine, level Level) error {
	if mine >= LevelOwner {
		return nil
	}
	if level >= LevelAdmin {
		return &ForbiddenError{Action: ActManage, What: "granting admin on " + c.Name}
	}
	grants, err := tx.Grants(ctx, c.ID)
	if err != nil {
		return err
	}
	for _, g := range grants {
		if g.Grantee == grantee && g.Level == LevelAdmin.String() {
			return &ForbiddenError{Action: ActManage, What: "changing an admin's grant on " + c.Name}
		}
	}
	return nil
}

func granteeExists(ctx context.Context, tx store.Tx, c *store.Collection, grantee string) error {
	if name, ok := cutPrefix(grantee, granteeUser); ok {
		if name == c.Owner {
			return &InvalidError{Field: "grantee", Err: fmt.Errorf("%w: the owner holds every right already", ErrConflict)}
		}
		if _, err := tx.GetUser(ctx, name); err != nil {
			if isNotFound(err) {
				return &InvalidError{Field: "grantee", Err: fmt.Errorf("%w: no user %q", ErrNotFound, name)}
			}
			return err
		}
	}
	if name, ok := cutPrefix(grantee, granteeGroup); ok {
		if _, err := tx.GetGroup(ctx, name); err != nil {
			if isNotFound(err) {
				return &InvalidError{Field: "grantee", Err: fmt.Errorf("%w: no group %q", ErrNotFound, name)}
			}
			return err
		}
	}
	return nil
}

// Unshare revokes grantee's grant on c. The owner and admins may; a user
// may also give up a grant made to them ("user:" + their name), which is
// how a sharee removes a share from their home.
func (s *Service) Unshare(ctx context.Context, c *store.Collection, grantee string) error {
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error {
		p := Principal(ctx)
		if p == "" || grantee != granteeUser+p {
			mine, err := authorizeCollTx(ctx, tx, c, ActShare)
			if err != nil {
				return err
			}
			if err := mayChangeGrant(ctx, tx, c, grantee, mine, LevelNone); err != nil {
				return err
			}
		}
		return tx.DeleteGrant(ctx, c.ID, grantee)
	}))
}

// LeaveShare takes a share out of the context's principal's home: it
// gives up the grant made to them by name; a share they hold through a
// group, everyone or a delegation, which only its owner can take away, is
// hidden for them instead (SetShareSettings with Hidden unhides it).
// hidden reports which was done.
func (s *Service) LeaveShare(ctx context.Context, sh *Share) (hidden bool, err error) {
	user := Principal(ctx)
	err = s.Unshare(ctx, sh.Coll, granteeUser+user)
	gaveUp := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return false, err
	}
	// Still shared with them some other way?
	if _, err := s.SharedCollection(ctx, user, sh.Mount); err != nil {
		if gaveUp && errors.Is(err, ErrNotFound) {
			return false, nil
		}
		return false, err
	}
	yes := true
	return true, s.SetShareSettings(ctx, user, sh, ShareChange{Hidden: &yes})
}

// Delegates lists owner's delegates (members of their calendar proxy
// groups); owner and the system may ask.
func (s *Service) Delegates(ctx context.Context, owner string) ([]*store.Delegate, error) {
	if err := authorize(ctx, owner); err != nil {
		return nil, err
	}
	var out []*store.Delegate
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.Delegates(ctx, owner)
		return err
	})
	return out, mapStoreErr(err)
}

// DelegatorsOf lists the owners who made user their delegate.
func (s *Service) DelegatorsOf(ctx context.Context, user string) ([]*store.Delegate, error) {
	var out []*store.Delegate
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.DelegatorsOf(ctx, user)
		return err
	})
	return out, mapStoreErr(err)
}

// SetDelegate makes delegate a member of owner's calendar-proxy-write
// (write) or calendar-proxy-read group; only owner and the system may.
func (s *Service) SetDelegate(ctx context.Context, owner, delegate string, write bool) error {
	if err := authorize(ctx, owner); err != nil {
		return err
	}
	if delegate == owner {
		return &InvalidError{Field: "delegate", Err: fmt.Errorf("%w: a user cannot be their own delegate", ErrConflict)}
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.GetUser(ctx, delegate); err != nil {
			if isNotFound(err) {
				return &InvalidError{Field: "delegate", Err: fmt.Errorf("%w: no user %q", ErrNotFound, delegate)}
			}
			return err
		}
		return tx.PutDelegate(ctx, &store.Delegate{Owner: owner, Delegate: delegate, Write: write})
	})
	return mapStoreErr(err)
}

// RemoveDelegate takes delegate out of owner's proxy groups.
func (s *Service) RemoveDelegate(ctx context.Context, owner, delegate string) error {
	if err := authorize(ctx, owner); err != nil {
		return err
	}
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error {
		return tx.DeleteDelegate(ctx, owner, delegate)
	}))
}

// CollectionByID returns a collection the context may at least see busy
// time of, with the context's level.
func (s *Service) CollectionByID(ctx context.Context, id int64) (*store.Collection, Level, error) {
	var c *store.Collection
	var level Level
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		if c, err = tx.GetCollectionByID(ctx, id); err != nil {
			return err
		}
		level, err = authorizeCollTx(ctx, tx, c, ActFreeBusy)
		return err
	})
	return c, level, mapStoreErr(err)
}
