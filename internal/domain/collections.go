package domain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"koyomi.dev/koyomi/internal/store"
)

// Components every new calendar accepts unless told otherwise.
var defaultComponents = []string{"VEVENT", "VTODO"}

// Names of the collections created for each user on first use.
const (
	DefaultCalendarName    = "default"
	DefaultAddressBookName = "contacts"
)

var provisionMarker = store.Property{Namespace: "urn:koyomi:internal", Local: "provisioned"}

// EnsureHome gives a user the default collection of a home (a calendar
// for events and tasks, or an address book) the first time they are seen,
// so that clients unable to create collections work at once. It is done once
// per home (recorded as a property of the home), so a user who deletes the
// default collection does not get it back. Nodes racing to provision one
// home are fine: the loser retries and finds the work done.
func (s *Service) EnsureHome(ctx context.Context, user string, kind store.Kind) error {
	home := HomeKey(user, kind)
	if _, ok := s.homes.Load(home.key); ok {
		return nil
	}
	var err error
	for range 2 {
		if err = s.store.Update(ctx, func(tx store.Tx) error { return provision(ctx, tx, user, kind) }); !errors.Is(err, store.ErrExists) {
			break
		}
	}
	if err != nil {
		return mapStoreErr(err)
	}
	s.homes.Store(home.key, true)
	return nil
}

func provision(ctx context.Context, tx store.Tx, user string, kind store.Kind) error {
	home := HomeKey(user, kind)
	props, err := tx.Properties(ctx, home.key)
	if err != nil {
		return err
	}
	for _, p := range props {
		if p.Namespace == provisionMarker.Namespace && p.Local == provisionMarker.Local {
			return nil
		}
	}
	colls, err := tx.ListCollections(ctx, user)
	if err != nil {
		return err
	}
	c := &store.Collection{Owner: user, Name: DefaultCalendarName, Kind: store.KindCalendar,
		DisplayName: "Calendar", Components: slices.Clone(defaultComponents)}
	if kind == store.KindAddressBook {
		c = &store.Collection{Owner: user, Name: DefaultAddressBookName, Kind: store.KindAddressBook, DisplayName: "Contacts"}
	}
	needed := true
	for _, existing := range colls {
		// A collection of the kind already exists, or the name is taken.
		if existing.Kind == kind || existing.Name == c.Name {
			needed = false
		}
	}
	if needed {
		if err := tx.CreateCollection(ctx, c); err != nil {
			return err
		}
	}
	return tx.SetProperty(ctx, home.key, provisionMarker.Namespace, provisionMarker.Local,
		[]byte(`<provisioned xmlns="urn:koyomi:internal">1</provisioned>`))
}

// ValidCollectionName reports whether name (a relative path of one or more
// segments) can name a collection.
func ValidCollectionName(name string) bool {
	if name == "" || len(name) > 512 || !utf8.ValidString(name) || strings.Contains(name, ShareMarker) {
		return false
	}
	for _, seg := range strings.Split(name, "/") {
		if !validSegment(seg) {
			return false
		}
	}
	return true
}

func validSegment(seg string) bool {
	if seg == "" || seg == "." || seg == ".." || len(seg) > 255 || !utf8.ValidString(seg) {
		return false
	}
	for _, r := range seg {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' {
			return false
		}
	}
	return true
}

// IsInternalProperty reports whether a dead property is Koyomi's own
// bookkeeping, hidden from clients.
func IsInternalProperty(namespace string) bool { return namespace == provisionMarker.Namespace }

// Collections lists owner's collections.
func (s *Service) Collections(ctx context.Context, owner string) ([]*store.Collection, error) {
	if err := authorize(ctx, owner); err != nil {
		return nil, err
	}
	var out []*store.Collection
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.ListCollections(ctx, owner)
		return err
	})
	return out, mapStoreErr(err)
}

// Collection returns owner's collection name.
func (s *Service) Collection(ctx context.Context, owner, name string) (*store.Collection, error) {
	if err := authorize(ctx, owner); err != nil {
		return nil, err
	}
	var c *store.Collection
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		c, err = tx.GetCollection(ctx, owner, name)
		return err
	})
	return c, mapStoreErr(err)
}

// CreateCollection creates c with dead properties after checking its name
// and place: a nested collection needs an existing plain parent; calendars
// and address books hold no collections.
func (s *Service) CreateCollection(ctx context.Context, c *store.Collection, dead []PropChange) error {
	if err := authorize(ctx, c.Owner); err != nil {
		return err
	}
	if !ValidCollectionName(c.Name) {
		return fmt.Errorf("%w: collection name %q", ErrInvalidName, c.Name)
	}
	if err := checkReservedName(c.Kind, c.Name); err != nil {
		return err
	}
	if err := CheckCollectionText(nil, c); err != nil {
		return err
	}
	if c.Kind == store.KindCalendar && len(c.Components) == 0 {
		c.Components = slices.Clone(defaultComponents)
	}
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error {
		if i := strings.LastIndexByte(c.Name, '/'); i >= 0 {
			parent, err := tx.GetCollection(ctx, c.Owner, c.Name[:i])
			if err != nil {
				return fmt.Errorf("%w: parent collection does not exist", ErrConflict)
			}
			if parent.Kind != store.KindPlain {
				return fmt.Errorf("%w: a %s cannot contain collections", ErrForbidden, parent.Kind)
			}
		}
		if err := tx.CreateCollection(ctx, c); err != nil {
			return err
		}
		return applyDead(ctx, tx, CollectionKey(c), dead)
	}))
}

// PropChange is one dead property instruction: set (the XML value) or
// remove. Changes apply in order, so a remove followed by a set of one
// property leaves it set.
type PropChange struct {
	store.Property
	Remove bool
}

// PatchCollection stores c's descriptive fields and applies dead property
// changes to it, atomically.
func (s *Service) PatchCollection(ctx context.Context, c *store.Collection, changes []PropChange) error {
	if _, err := s.authorizeColl(ctx, c, ActManage); err != nil {
		return err
	}
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error {
		if c.ID != 0 {
			if err := tx.UpdateCollection(ctx, c); err != nil {
				return err
			}
		}
		return applyDead(ctx, tx, CollectionKey(c), changes)
	}))
}

// PatchProperties applies dead property changes to what k names, for its
// owner.
func (s *Service) PatchProperties(ctx context.Context, k PropKey, changes []PropChange) error {
	if err := authorize(ctx, k.owner); err != nil {
		return err
	}
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error {
		return applyDead(ctx, tx, k, changes)
	}))
}

func applyDead(ctx context.Context, tx store.Properties, k PropKey, changes []PropChange) error {
	for _, c := range changes {
		var err error
		if c.Remove {
			err = tx.RemoveProperty(ctx, k.key, c.Namespace, c.Local)
		} else {
			err = tx.SetProperty(ctx, k.key, c.Namespace, c.Local, c.XML)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// CollectionProperties returns the client-visible dead properties of a
// collection c, or of its object name when name is set, to whoever may
// read c.
func (s *Service) CollectionProperties(ctx context.Context, c *store.Collection, name string) ([]store.Property, error) {
	if _, err := s.authorizeColl(ctx, c, ActFreeBusy); err != nil {
		return nil, err
	}
	k := CollectionKey(c)
	if name != "" {
		k = ObjectKey(c, name)
	}
	return s.properties(ctx, k)
}

// ObjectProperties returns the client-visible dead properties of c's
// object name to whoever reads c: a free-busy sharee sees busy blocks, not
// what clients keep beside the objects, and gets none.
func (s *Service) ObjectProperties(ctx context.Context, c *store.Collection, name string) ([]store.Property, error) {
	level, err := s.authorizeColl(ctx, c, ActFreeBusy)
	if err != nil || level < LevelRead {
		return nil, err
	}
	return s.properties(ctx, ObjectKey(c, name))
}

// Properties returns the client-visible dead properties of what k names,
// to its owner.
func (s *Service) Properties(ctx context.Context, k PropKey) ([]store.Property, error) {
	if err := authorize(ctx, k.owner); err != nil {
		return nil, err
	}
	return s.properties(ctx, k)
}

func (s *Service) properties(ctx context.Context, k PropKey) ([]store.Property, error) {
	var props []store.Property
	err := s.store.View(ctx, func(tx store.Tx) error {
		all, err := tx.Properties(ctx, k.key)
		for _, p := range all {
			if !IsInternalProperty(p.Namespace) {
				props = append(props, p)
			}
		}
		return err
	})
	return props, mapStoreErr(err)
}

// nested returns c and the collections below it, parents first.
func nested(ctx context.Context, tx store.Collections, c *store.Collection) ([]*store.Collection, error) {
	all, err := tx.ListCollections(ctx, c.Owner)
	if err != nil {
		return nil, err
	}
	out := []*store.Collection{c}
	for _, o := range all {
		if strings.HasPrefix(o.Name, c.Name+"/") {
			out = append(out, o)
		}
	}
	slices.SortFunc(out[1:], func(a, b *store.Collection) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// DeleteCollection moves c and the collections below it, with their
// objects, dead properties, shares and connectors, into its owner's trash.
func (s *Service) DeleteCollection(ctx context.Context, c *store.Collection) error {
	if _, err := s.authorizeColl(ctx, c, ActManage); err != nil {
		return err
	}
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error {
		return s.trashCollectionTx(ctx, tx, c)
	}))
}

func deleteCollectionTx(ctx context.Context, tx store.Tx, c *store.Collection) error {
	colls, err := nested(ctx, tx, c)
	if err != nil {
		return err
	}
	for i := len(colls) - 1; i >= 0; i-- {
		if err := tx.DeleteCollection(ctx, colls[i].ID); err != nil {
			return err
		}
		if err := tx.DeleteProperties(ctx, store.CollectionKey(colls[i].ID)); err != nil {
			return err
		}
	}
	return nil
}

// CopyMoveCollection copies or moves c (and what is below it) to owner's
// collection dstName, replacing an existing one, which goes to the trash,
// when overwrite is set.
// Dead properties go with what they belong to: a move keeps the
// collections' IDs and so their keys; a copy copies them to the new ones.
func (s *Service) CopyMoveCollection(ctx context.Context, c *store.Collection, dstName string, move, overwrite bool) (created bool, err error) {
	if _, err := s.authorizeColl(ctx, c, ActManage); err != nil {
		return false, err
	}
	if !ValidCollectionName(dstName) {
		return false, fmt.Errorf("%w: collection name %q", ErrInvalidName, dstName)
	}
	if err := checkReservedName(c.Kind, dstName); err != nil {
		return false, err
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if i := strings.LastIndexByte(dstName, '/'); i >= 0 {
			parent, err := tx.GetCollection(ctx, c.Owner, dstName[:i])
			if err != nil {
				return fmt.Errorf("%w: destination parent does not exist", ErrConflict)
			}
			if parent.Kind != store.KindPlain {
				return fmt.Errorf("%w: a %s cannot contain collections", ErrForbidden, parent.Kind)
			}
		}
		existing, err := tx.GetCollection(ctx, c.Owner, dstName)
		switch {
		case err == nil:
			if !overwrite {
				return fmt.Errorf("%w: destination exists", ErrPrecondition)
			}
			// Replaced as a DELETE would (RFC 4918 9.9.3): into the trash.
			if err := s.trashCollectionTx(ctx, tx, existing); err != nil {
				return err
			}
		case isNotFound(err):
			created = true
		default:
			return err
		}
		colls, err := nested(ctx, tx, c)
		if err != nil {
			return err
		}
		for _, sc := range colls {
			newName := dstName + strings.TrimPrefix(sc.Name, c.Name)
			if move {
				if err := tx.RenameCollection(ctx, sc.ID, c.Owner, newName); err != nil {
					return err
				}
				continue
			}
			nc := *sc
			nc.ID, nc.Name, nc.Revision = 0, newName, 0
			if err := tx.CreateCollection(ctx, &nc); err != nil {
				return err
			}
			if err := tx.CopyProperties(ctx, CollectionKey(sc).key, CollectionKey(&nc).key); err != nil {
				return err
			}
			objs, err := tx.ListObjects(ctx, sc.ID, true)
			if err != nil {
				return err
			}
			for _, o := range objs {
				full, err := tx.GetObject(ctx, sc.ID, o.Name)
				if err != nil {
					return err
				}
				full.CollectionID = nc.ID
				if _, err := tx.PutObject(ctx, full, store.PutOptions{}); err != nil {
					return err
				}
				if err := tx.CopyProperties(ctx, ObjectKey(sc, o.Name).key, ObjectKey(&nc, o.Name).key); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return created, mapStoreErr(err)
}
