package domain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// DefaultTrashRetention is how long deleted things stay in the trash when
// Options.TrashRetention is not set: 30 days.
const DefaultTrashRetention = 720 * time.Hour

// TrashConflictError is why an item of the trash cannot be restored: what
// it would come back as is taken, or where it would go is gone.
type TrashConflictError struct {
	ID     int64
	Reason string
}

func (e *TrashConflictError) Error() string {
	return fmt.Sprintf("trash item %d cannot be restored: %s", e.ID, e.Reason)
}

func (e *TrashConflictError) Unwrap() error { return ErrConflict }

// UserInTrashError is the answer to making a user whose name a user in the
// trash still holds.
type UserInTrashError struct{ Name string }

func (e *UserInTrashError) Error() string {
	return fmt.Sprintf("user %s is in the trash; bring them back with `koyomi user restore %s`, "+
		"or free the name with `koyomi trash purge %s`", e.Name, e.Name, e.Name)
}

func (e *UserInTrashError) Unwrap() error { return ErrExists }

// trashedObject is an object as the trash keeps it: the client's bytes,
// how it was named, and its dead properties. It is indexed again when it
// comes back.
type trashedObject struct {
	Name        string           `json:"name"`
	Href        string           `json:"href,omitempty"`
	ContentType string           `json:"content_type"`
	Data        []byte           `json:"data"`
	Props       []store.Property `json:"props,omitempty"`
}

// trashedCollection is a collection as the trash keeps it, with what goes
// with it. It names no IDs: a restored collection gets new ones.
type trashedCollection struct {
	Collection store.Collection      `json:"collection"`
	Props      []store.Property      `json:"props,omitempty"`
	Objects    []trashedObject       `json:"objects,omitempty"`
	Grants     []store.Grant         `json:"grants,omitempty"`
	Links      []store.PublicLink    `json:"links,omitempty"`
	Connectors []trashedConnector    `json:"connectors,omitempty"`
	Settings   []store.ShareSettings `json:"settings,omitempty"`
}

type trashedConnector struct {
	Connector store.Connector       `json:"connector"`
	Items     []store.ConnectorItem `json:"items,omitempty"`
}

// trashedUser is a whole account: its row (password hash included), its
// own properties, app passwords, group memberships, delegates and every
// collection, parents first.
type trashedUser struct {
	User         store.User                  `json:"user"`
	Props        map[string][]store.Property `json:"props,omitempty"` // by key
	AppPasswords []store.AppPassword         `json:"app_passwords,omitempty"`
	Memberships  []store.Membership          `json:"memberships,omitempty"`
	Delegates    []store.Delegate            `json:"delegates,omitempty"`
	// GrantsTo are the shares others gave the user, Settings the user's
	// own names for them; VCs the user's virtual calendars.
	GrantsTo []store.Grant         `json:"grants_to,omitempty"`
	Settings []store.ShareSettings `json:"settings,omitempty"`
	// SharedColls names the collections GrantsTo and Settings refer to
	// ("owner/name", by ID), so that a restore can tell that the
	// collection of that ID is still the one shared (sharedCollID).
	SharedColls map[int64]string        `json:"shared_colls,omitempty"`
	VCs         []store.VirtualCalendar `json:"vcs,omitempty"`
	Collections []trashedCollection     `json:"collections,omitempty"`
	// DelegatedBy are the delegations others made to the user, SharedVCs
	// the virtual calendars of others shared with them, Subscriptions
	// their subscriptions to others' virtual calendars with their own
	// properties of each (by key).
	DelegatedBy   []store.Delegate            `json:"delegated_by,omitempty"`
	SharedVCs     []sharedVC                  `json:"shared_vcs,omitempty"`
	Subscriptions []store.ViewSubscription    `json:"subscriptions,omitempty"`
	ViewProps     map[string][]store.Property `json:"view_props,omitempty"`
}

// sharedVC names a virtual calendar of another that was shared with a
// trashed user; it comes back only if it is still the same one.
type sharedVC struct {
	ID    int64  `json:"id"`
	Owner string `json:"owner"`
	Name  string `json:"name"`
}

// trashObjectTx moves the object name of c, which the caller has checked
// may be deleted, into its owner's trash.
func (s *Service) trashObjectTx(ctx context.Context, tx store.Tx, c *store.Collection, name, ifMatch string) error {
	// The occurrences are not kept: the object is indexed afresh when it
	// comes back.
	o, err := getObjectData(ctx, tx, c.ID, name)
	if err != nil {
		return err
	}
	props, err := tx.Properties(ctx, ObjectKey(c, name).key)
	if err != nil {
		return err
	}
	if err := tx.DeleteObject(ctx, c.ID, name, ifMatch); err != nil {
		return err
	}
	if err := tx.DeleteProperties(ctx, ObjectKey(c, name).key); err != nil {
		return err
	}
	return s.addTrash(ctx, tx, store.TrashItem{Owner: c.Owner, Kind: store.TrashObject, Name: c.Name + "/" + name,
		CollectionID: c.ID, Size: int64(len(o.Data))},
		trashedObject{Name: o.Name, Href: o.Href, ContentType: o.ContentType, Data: o.Data, Props: props})
}

// addTrash puts it in the trash with payload, its snapshot, as deleted now
// by the caller.
func (s *Service) addTrash(ctx context.Context, tx store.Tx, it store.TrashItem, payload any) error {
	data, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	it.Deleted, it.DeletedBy, it.Payload = s.opts.Clock(), Principal(ctx), data
	return tx.AddTrash(ctx, &it)
}

// snapshotCollection reads c with everything that goes with it.
func snapshotCollection(ctx context.Context, tx store.Tx, c *store.Collection) (trashedCollection, int64, error) {
	tc := trashedCollection{Collection: *c}
	var size int64
	var err error
	if tc.Props, err = tx.Properties(ctx, store.CollectionKey(c.ID)); err != nil {
		return tc, 0, err
	}
	objs, err := listObjects(ctx, tx, c.ID, true)
	if err != nil {
		return tc, 0, err
	}
	for _, o := range objs {
		props, err := tx.Properties(ctx, store.ObjectKey(c.ID, o.Name))
		if err != nil {
			return tc, 0, err
		}
		tc.Objects = append(tc.Objects, trashedObject{Name: o.Name, Href: o.Href, ContentType: o.ContentType, Data: o.Data, Props: props})
		size += int64(len(o.Data))
	}
	grants, err := tx.Grants(ctx, c.ID)
	if err != nil {
		return tc, 0, err
	}
	for _, g := range grants {
		tc.Grants = append(tc.Grants, *g)
		if user, ok := strings.CutPrefix(g.Grantee, "user:"); ok {
			st, err := tx.GetShareSettings(ctx, c.ID, user)
			if err == nil {
				tc.Settings = append(tc.Settings, *st)
			} else if !errors.Is(err, store.ErrNotFound) {
				return tc, 0, err
			}
		}
	}
	links, err := tx.PublicLinks(ctx, c.Owner)
	if err != nil {
		return tc, 0, err
	}
	for _, l := range links {
		if l.CollectionID == c.ID {
			tc.Links = append(tc.Links, *l)
		}
	}
	conns, err := tx.ListConnectors(ctx, c.Owner)
	if err != nil {
		return tc, 0, err
	}
	for _, cn := range conns {
		if cn.CollectionID != c.ID {
			continue
		}
		items, err := tx.ConnectorItems(ctx, cn.ID)
		if err != nil {
			return tc, 0, err
		}
		t := trashedConnector{Connector: *cn}
		for _, it := range items {
			t.Items = append(t.Items, *it)
		}
		tc.Connectors = append(tc.Connectors, t)
	}
	return tc, size, nil
}

// snapshotCollections reads colls (parents first) with what goes with each.
func snapshotCollections(ctx context.Context, tx store.Tx, colls []*store.Collection) ([]trashedCollection, int64, error) {
	var out []trashedCollection
	var size int64
	for _, c := range colls {
		tc, n, err := snapshotCollection(ctx, tx, c)
		if err != nil {
			return nil, 0, fmt.Errorf("collection %s/%s: %w", c.Owner, c.Name, err)
		}
		out = append(out, tc)
		size += n
	}
	return out, size, nil
}

// restoreCollections makes the collections of a snapshot again, under new
// IDs, with their objects (each logged as a new change), properties,
// grants, sharees' settings, public links and connectors. A grant,
// setting or link that names someone gone is left out.
func (s *Service) restoreCollections(ctx context.Context, tx store.Tx, colls []trashedCollection) error {
	for _, tc := range colls {
		c := tc.Collection
		c.ID, c.Revision = 0, 0
		if err := tx.CreateCollection(ctx, &c); err != nil {
			return fmt.Errorf("collection %s/%s: %w", c.Owner, c.Name, err)
		}
		// Objects deleted from it before it was can come back into it.
		if err := tx.RetargetTrash(ctx, tc.Collection.ID, c.ID); err != nil {
			return err
		}
		if err := setProps(ctx, tx, store.CollectionKey(c.ID), tc.Props); err != nil {
			return err
		}
		for _, to := range tc.Objects {
			if err := s.restoreObject(ctx, tx, &c, to); err != nil {
				return fmt.Errorf("object %s/%s: %w", c.Name, to.Name, err)
			}
		}
		for _, g := range tc.Grants {
			g.CollectionID = c.ID
			if err := tx.PutGrant(ctx, &g); err != nil {
				return err
			}
		}
		for _, st := range tc.Settings {
			st.CollectionID = c.ID
			if err := tx.PutShareSettings(ctx, &st); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		for _, l := range tc.Links {
			l.CollectionID = c.ID
			if err := tx.CreatePublicLink(ctx, &l); err != nil && !errors.Is(err, store.ErrExists) {
				return err
			}
		}
		for _, tcn := range tc.Connectors {
			cn := tcn.Connector
			cn.ID, cn.CollectionID = 0, c.ID
			if err := tx.CreateConnector(ctx, &cn); err != nil {
				return fmt.Errorf("connector %q: %w", cn.Name, err)
			}
			for _, it := range tcn.Items {
				it.ConnectorID = cn.ID
				if err := tx.PutConnectorItem(ctx, &it); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// restoreObject puts a trashed object back into c, indexed afresh: the
// put logs it as a change, so clients see it come back through sync.
func (s *Service) restoreObject(ctx context.Context, tx store.Tx, c *store.Collection, to trashedObject) error {
	o, err := s.prepare(c, to.Name, to.Data, to.ContentType)
	if err != nil {
		return err
	}
	o.Href = to.Href
	if _, err := tx.PutObject(ctx, o, store.PutOptions{IfNoneMatch: true}); err != nil {
		return err
	}
	return setProps(ctx, tx, store.ObjectKey(c.ID, to.Name), to.Props)
}

func setProps(ctx context.Context, tx store.Properties, key string, props []store.Property) error {
	for _, p := range props {
		if err := tx.SetProperty(ctx, key, p.Namespace, p.Local, p.XML); err != nil {
			return err
		}
	}
	return nil
}

// trashCollectionTx moves c and the collections below it into its owner's
// trash as one item.
func (s *Service) trashCollectionTx(ctx context.Context, tx store.Tx, c *store.Collection) error {
	colls, err := nested(ctx, tx, c)
	if err != nil {
		return err
	}
	snap, size, err := snapshotCollections(ctx, tx, colls)
	if err != nil {
		return err
	}
	if err := deleteCollectionTx(ctx, tx, c); err != nil {
		return err
	}
	return s.addTrash(ctx, tx, store.TrashItem{Owner: c.Owner, Kind: store.TrashCollection, Name: c.Name, Size: size}, snap)
}

// snapshotUser reads a whole account for the trash.
func snapshotUser(ctx context.Context, tx store.Tx, name string) (*trashedUser, int64, error) {
	u, err := tx.GetUser(ctx, name)
	if err != nil {
		return nil, 0, err
	}
	tu := &trashedUser{User: *u, Props: map[string][]store.Property{}}
	for _, k := range store.UserKeys(name) {
		props, err := tx.Properties(ctx, k)
		if err != nil {
			return nil, 0, err
		}
		if len(props) > 0 {
			tu.Props[k] = props
		}
	}
	pws, err := tx.AppPasswords(ctx, name)
	if err != nil {
		return nil, 0, err
	}
	for _, p := range pws {
		tu.AppPasswords = append(tu.AppPasswords, *p)
	}
	ms, err := tx.UserMemberships(ctx, name)
	if err != nil {
		return nil, 0, err
	}
	for _, m := range ms {
		tu.Memberships = append(tu.Memberships, *m)
	}
	ds, err := tx.Delegates(ctx, name)
	if err != nil {
		return nil, 0, err
	}
	for _, d := range ds {
		tu.Delegates = append(tu.Delegates, *d)
	}
	grants, err := tx.GrantsTo(ctx, []string{"user:" + name})
	if err != nil {
		return nil, 0, err
	}
	for _, g := range grants {
		tu.GrantsTo = append(tu.GrantsTo, *g)
	}
	settings, err := tx.UserShareSettings(ctx, name)
	if err != nil {
		return nil, 0, err
	}
	for _, st := range settings {
		tu.Settings = append(tu.Settings, *st)
	}
	tu.SharedColls = map[int64]string{}
	for _, id := range sharedCollIDs(tu) {
		c, err := tx.GetCollectionByID(ctx, id)
		if err != nil {
			return nil, 0, err
		}
		tu.SharedColls[id] = c.Owner + "/" + c.Name
	}
	vcs, err := tx.ListVirtualCalendars(ctx)
	if err != nil {
		return nil, 0, err
	}
	for _, vc := range vcs {
		if vc.Owner == name {
			tu.VCs = append(tu.VCs, *vc)
		} else if slices.Contains(vc.SharedWith, "user:"+name) {
			tu.SharedVCs = append(tu.SharedVCs, sharedVC{ID: vc.ID, Owner: vc.Owner, Name: vc.Name})
		}
	}
	delegators, err := tx.DelegatorsOf(ctx, name)
	if err != nil {
		return nil, 0, err
	}
	for _, d := range delegators {
		tu.DelegatedBy = append(tu.DelegatedBy, *d)
	}
	subs, err := tx.ViewSubscriptions(ctx, name)
	if err != nil {
		return nil, 0, err
	}
	tu.ViewProps = map[string][]store.Property{}
	for _, sub := range subs {
		tu.Subscriptions = append(tu.Subscriptions, *sub)
		k := VCKey(sub.VC, name).key
		props, err := tx.Properties(ctx, k)
		if err != nil {
			return nil, 0, err
		}
		if len(props) > 0 {
			tu.ViewProps[k] = props
		}
	}
	colls, err := tx.ListCollections(ctx, name)
	if err != nil {
		return nil, 0, err
	}
	slices.SortFunc(colls, func(a, b *store.Collection) int { return strings.Compare(a.Name, b.Name) })
	var size int64
	tu.Collections, size, err = snapshotCollections(ctx, tx, colls)
	return tu, size, err
}

// restoreUser makes a trashed account again, and returns what of it
// could not come back: memberships of groups, delegations and shares whose
// other side is gone. Its virtual calendars come back under new IDs; a
// virtual calendar of another shared with the user is shared again, which
// raises its version.
func (s *Service) restoreUser(ctx context.Context, tx store.Tx, tu *trashedUser) (notes []string, err error) {
	u := tu.User
	if err := tx.CreateUser(ctx, &u); err != nil {
		return nil, err
	}
	// gone notes a part whose other side is no more, and passes any other
	// error on.
	gone := func(err error, format string, args ...any) error {
		if errors.Is(err, store.ErrNotFound) {
			notes = append(notes, fmt.Sprintf(format, args...))
			return nil
		}
		return err
	}
	for k, props := range tu.Props {
		if err := setProps(ctx, tx, k, props); err != nil {
			return nil, err
		}
	}
	for _, p := range tu.AppPasswords {
		p.ID = 0
		if err := tx.CreateAppPassword(ctx, &p); err != nil {
			return nil, err
		}
	}
	for _, m := range tu.Memberships {
		if err := gone(tx.PutMembership(ctx, &m), "membership of group %s (and its contributions): the group is gone", m.Group); err != nil {
			return nil, err
		}
	}
	for _, d := range tu.Delegates {
		if err := gone(tx.PutDelegate(ctx, &d), "%s as a delegate: the user is gone", d.Delegate); err != nil {
			return nil, err
		}
	}
	for _, d := range tu.DelegatedBy {
		if err := gone(tx.PutDelegate(ctx, &d), "delegate of %s: the user is gone", d.Owner); err != nil {
			return nil, err
		}
	}
	if err := s.restoreCollections(ctx, tx, tu.Collections); err != nil {
		return nil, err
	}
	for _, g := range tu.GrantsTo {
		id, found, err := sharedCollID(ctx, tx, tu, g.CollectionID)
		if err != nil {
			return nil, err
		}
		if !found {
			notes = append(notes, fmt.Sprintf("a share of %s: that collection is gone (or was copied under another ID); share it again", tu.sharedCollName(g.CollectionID)))
			continue
		}
		g.CollectionID = id
		if err := gone(tx.PutGrant(ctx, &g), "a share of %s: the collection is gone", tu.sharedCollName(g.CollectionID)); err != nil {
			return nil, err
		}
	}
	for _, st := range tu.Settings {
		id, found, err := sharedCollID(ctx, tx, tu, st.CollectionID)
		if err != nil {
			return nil, err
		}
		if !found {
			continue
		}
		st.CollectionID = id
		if err := tx.PutShareSettings(ctx, &st); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	vcIDs := map[int64]int64{}
	for _, vc := range tu.VCs {
		old := vc.ID
		vc.ID = 0
		if err := tx.CreateVirtualCalendar(ctx, &vc); errors.Is(err, store.ErrExists) {
			notes = append(notes, fmt.Sprintf("virtual calendar %s: the name is taken", vc.Name))
			continue
		} else if err != nil {
			return nil, fmt.Errorf("virtual calendar %s: %w", vc.Name, err)
		}
		vcIDs[old] = vc.ID
	}
	for _, sh := range tu.SharedVCs {
		vc, err := tx.GetVirtualCalendarByID(ctx, sh.ID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (vc.Owner != sh.Owner || vc.Name != sh.Name)) {
			notes = append(notes, fmt.Sprintf("the share of virtual calendar %s/%s: it is gone", sh.Owner, sh.Name))
			continue
		}
		if err != nil {
			return nil, err
		}
		if share := "user:" + u.Name; !slices.Contains(vc.SharedWith, share) {
			vc.SharedWith = append(vc.SharedWith, share)
			if err := tx.UpdateVirtualCalendar(ctx, vc); err != nil {
				return nil, err
			}
		}
	}
	for _, sub := range tu.Subscriptions {
		old := sub.VC
		if id, ok := vcIDs[old]; ok {
			sub.VC = id
		}
		if err := gone(tx.PutViewSubscription(ctx, &sub), "the subscription to virtual calendar %d: it is gone", old); err != nil {
			return nil, err
		}
		if props := tu.ViewProps[VCKey(old, u.Name).key]; len(props) > 0 {
			if err := setProps(ctx, tx, VCKey(sub.VC, u.Name).key, props); err != nil {
				return nil, err
			}
		}
	}
	return notes, nil
}

// userInTrash reports a user of that name in the trash as a
// *UserInTrashError.
func userInTrash(ctx context.Context, tx store.Trash, name string) error {
	items, err := tx.ListTrash(ctx, name)
	if err != nil {
		return err
	}
	for _, it := range items {
		if it.Kind == store.TrashUser {
			return &UserInTrashError{Name: name}
		}
	}
	return nil
}

// Trash lists owner's trash, oldest first, without payloads. Only the
// owner (and the system) may read it; an owner who is neither a user nor
// in the trash is ErrNotFound.
func (s *Service) Trash(ctx context.Context, owner string) ([]*store.TrashItem, error) {
	if err := authorize(ctx, owner); err != nil {
		return nil, err
	}
	var items []*store.TrashItem
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		if items, err = tx.ListTrash(ctx, owner); err != nil {
			return err
		}
		// A user in the trash has one; anyone else must exist.
		if slices.ContainsFunc(items, func(it *store.TrashItem) bool { return it.Kind == store.TrashUser }) {
			return nil
		}
		_, err = tx.GetUser(ctx, owner)
		return err
	})
	if err != nil {
		return nil, mapStoreErr(err)
	}
	expired := s.opts.Clock().Add(-s.opts.TrashRetention)
	return slices.DeleteFunc(items, func(it *store.TrashItem) bool { return it.Deleted.Before(expired) }), nil
}

// trashItem reads item id of owner's trash. Another user's item, one
// that has outlived the retention, and a user item asked for by anyone
// but the system are not found.
func (s *Service) trashItem(ctx context.Context, tx store.Tx, owner string, id int64) (*store.TrashItem, error) {
	if err := authorize(ctx, owner); err != nil {
		return nil, err
	}
	it, err := tx.GetTrash(ctx, id)
	if err != nil {
		return nil, err
	}
	if it.Owner != owner || it.Deleted.Before(s.opts.Clock().Add(-s.opts.TrashRetention)) ||
		(it.Kind == store.TrashUser && Principal(ctx) != "") {
		return nil, fmt.Errorf("%w: trash item %d of %s", ErrNotFound, id, owner)
	}
	return it, nil
}

// RestoreTrash brings item id of owner's trash back and returns it: an
// object into the collection it was deleted from (a *TrashConflictError
// when that collection is gone, or its name or UID is taken again), a
// collection under its name, a user with everything they had.
func (s *Service) RestoreTrash(ctx context.Context, owner string, id int64) (*store.TrashItem, error) {
	it, _, err := s.restoreTrash(ctx, owner, id)
	return it, err
}

// restoreTrash is RestoreTrash that also returns what of a user could not
// come back (see restoreUser).
func (s *Service) restoreTrash(ctx context.Context, owner string, id int64) (*store.TrashItem, []string, error) {
	var it *store.TrashItem
	var notes []string
	err := s.store.Update(ctx, func(tx store.Tx) error {
		notes = nil
		var err error
		if it, err = s.trashItem(ctx, tx, owner, id); err != nil {
			return err
		}
		switch it.Kind {
		case store.TrashObject:
			err = s.restoreTrashedObject(ctx, tx, it)
		case store.TrashCollection:
			err = s.restoreTrashedCollection(ctx, tx, it)
		case store.TrashUser:
			notes, err = s.restoreTrashedUser(ctx, tx, it)
		default:
			err = fmt.Errorf("trash item %d: unknown kind %q", it.ID, it.Kind)
		}
		if err != nil {
			return err
		}
		return tx.DeleteTrash(ctx, it.ID)
	})
	if err != nil {
		return nil, nil, mapStoreErr(err)
	}
	it.Payload = nil
	return it, notes, nil
}

func (s *Service) restoreTrashedObject(ctx context.Context, tx store.Tx, it *store.TrashItem) error {
	var to trashedObject
	if err := json.Unmarshal(it.Payload, &to); err != nil {
		return fmt.Errorf("trash item %d: %w", it.ID, err)
	}
	coll, _, _ := strings.Cut(it.Name, "/")
	// The collection may be in the trash while another under its name, or
	// even its ID (SQLite reuses the highest), has been made since.
	in, err := trashedCollectionOf(ctx, tx, it)
	if err != nil {
		return err
	}
	if in != nil {
		reason := fmt.Sprintf("the collection %s it was in was deleted; restore that collection (trash item %d) first, "+
			"and this item goes back into it", coll, in.ID)
		if _, err := tx.GetCollection(ctx, it.Owner, coll); err == nil {
			reason += fmt.Sprintf(" (the %s there now is another collection, made since)", coll)
		}
		return &TrashConflictError{ID: it.ID, Reason: reason}
	}
	c, err := tx.GetCollectionByID(ctx, it.CollectionID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.Owner != it.Owner) {
		return &TrashConflictError{ID: it.ID, Reason: fmt.Sprintf("the collection %s it was in was deleted, and is no longer in the trash", coll)}
	}
	if err != nil {
		return err
	}
	if _, err := tx.GetObject(ctx, c.ID, to.Name); err == nil {
		return &TrashConflictError{ID: it.ID, Reason: fmt.Sprintf("%s/%s exists again", c.Name, to.Name)}
	}
	err = s.restoreObject(ctx, tx, c, to)
	var uc *store.UIDConflictError
	if errors.As(err, &uc) {
		return &TrashConflictError{ID: it.ID, Reason: fmt.Sprintf("its UID %s is held by %s/%s", uc.UID, c.Name, uc.Name)}
	}
	return err
}

// trashedCollectionOf returns the collection item of the trash that holds
// the collection the object item it was deleted from, or nil.
func trashedCollectionOf(ctx context.Context, tx store.Tx, it *store.TrashItem) (*store.TrashItem, error) {
	items, err := tx.ListTrash(ctx, it.Owner)
	if err != nil {
		return nil, err
	}
	for _, ci := range items {
		// Only a collection deleted after the object can have held it: an
		// item gets a higher ID than every item already there.
		if ci.Kind != store.TrashCollection || ci.ID < it.ID {
			continue
		}
		full, err := tx.GetTrash(ctx, ci.ID)
		if err != nil {
			return nil, err
		}
		ids, err := trashedCollectionIDs(full)
		if err != nil {
			return nil, err
		}
		if slices.Contains(ids, it.CollectionID) {
			return ci, nil
		}
	}
	return nil, nil
}

func (s *Service) restoreTrashedCollection(ctx context.Context, tx store.Tx, it *store.TrashItem) error {
	var colls []trashedCollection
	if err := json.Unmarshal(it.Payload, &colls); err != nil {
		return fmt.Errorf("trash item %d: %w", it.ID, err)
	}
	if _, err := tx.GetCollection(ctx, it.Owner, it.Name); err == nil {
		return &TrashConflictError{ID: it.ID, Reason: fmt.Sprintf("a collection %s exists again", it.Name)}
	}
	if _, err := tx.GetUser(ctx, it.Owner); err != nil {
		return &TrashConflictError{ID: it.ID, Reason: fmt.Sprintf("its owner %s is gone", it.Owner)}
	}
	if parent, _, nested := strings.Cut(it.Name, "/"); nested {
		if _, err := tx.GetCollection(ctx, it.Owner, parent); err != nil {
			return &TrashConflictError{ID: it.ID, Reason: fmt.Sprintf("its parent collection %s is gone", parent)}
		}
	}
	return s.restoreCollections(ctx, tx, colls)
}

func (s *Service) restoreTrashedUser(ctx context.Context, tx store.Tx, it *store.TrashItem) ([]string, error) {
	var tu trashedUser
	if err := json.Unmarshal(it.Payload, &tu); err != nil {
		return nil, fmt.Errorf("trash item %d: %w", it.ID, err)
	}
	if _, err := tx.GetUser(ctx, it.Owner); err == nil {
		return nil, &TrashConflictError{ID: it.ID, Reason: fmt.Sprintf("a user %s exists again", it.Owner)}
	}
	if err := emailFree(ctx, tx, tu.User.Name, tu.User.Email); err != nil {
		return nil, &TrashConflictError{ID: it.ID, Reason: err.Error()}
	}
	return s.restoreUser(ctx, tx, &tu)
}

// RestoreUser brings back the user name from the trash with everything
// they had, and returns what could not come back because its other side
// is gone (see restoreUser). Only the system may.
func (s *Service) RestoreUser(ctx context.Context, name string) (notes []string, err error) {
	if Principal(ctx) != "" {
		return nil, fmt.Errorf("%w: only an administrator restores a user", ErrForbidden)
	}
	items, err := s.Trash(ctx, name)
	if err != nil {
		return nil, err
	}
	for i := len(items) - 1; i >= 0; i-- {
		if items[i].Kind == store.TrashUser {
			_, notes, err := s.restoreTrash(ctx, name, items[i].ID)
			return notes, err
		}
	}
	return nil, fmt.Errorf("%w: no user %s in the trash", ErrNotFound, name)
}

// PurgeTrash deletes item id of owner's trash for good, or, with id 0,
// everything in it. Purging a user also purges what they had put in the
// trash, so that nothing of theirs outlives them.
func (s *Service) PurgeTrash(ctx context.Context, owner string, id int64) (purged int, err error) {
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if id != 0 {
			it, err := s.trashItem(ctx, tx, owner, id)
			if err != nil {
				return err
			}
			if it.Kind != store.TrashUser {
				return s.deleteTrash(ctx, tx, []int64{it.ID}, &purged)
			}
			// Purging a deleted user purges all that was theirs.
		} else if err := authorize(ctx, owner); err != nil {
			return err
		}
		all, err := tx.ListTrash(ctx, owner)
		if err != nil {
			return err
		}
		var ids []int64
		for _, it := range all {
			if it.Kind == store.TrashUser && Principal(ctx) != "" {
				continue
			}
			ids = append(ids, it.ID)
		}
		return s.deleteTrash(ctx, tx, ids, &purged)
	})
	return purged, mapStoreErr(err)
}

// deleteTrash deletes the items ids. The objects deleted from a purged
// collection then name none: a collection made later may get its ID.
func (s *Service) deleteTrash(ctx context.Context, tx store.Tx, ids []int64, n *int) error {
	for _, id := range ids {
		it, err := tx.GetTrash(ctx, id)
		if err != nil {
			return err
		}
		if it.Kind == store.TrashCollection {
			ids, err := trashedCollectionIDs(it)
			if err != nil {
				return err
			}
			for _, cid := range ids {
				if err := tx.RetargetTrash(ctx, cid, 0); err != nil {
					return err
				}
			}
		}
		if err := tx.DeleteTrash(ctx, id); err != nil {
			return err
		}
		*n++
	}
	return nil
}

// PurgeExpiredTrash deletes what has been in the trash longer than the
// retention and returns how many items went. It is the system's (the
// leased job's) to run.
func (s *Service) PurgeExpiredTrash(ctx context.Context) (int64, error) {
	if Principal(ctx) != "" {
		return 0, fmt.Errorf("%w: purging expired trash is the system's", ErrForbidden)
	}
	var n int64
	err := s.store.Update(ctx, func(tx store.Tx) error {
		var err error
		n, err = tx.PurgeTrash(ctx, s.opts.Clock().Add(-s.opts.TrashRetention))
		return err
	})
	return n, mapStoreErr(err)
}

// TrashSize is how many items all users' trashes hold and their size in
// bytes, for the operator's metrics. It is the system's to ask.
func (s *Service) TrashSize(ctx context.Context) (items, bytes int64, err error) {
	if Principal(ctx) != "" {
		return 0, 0, fmt.Errorf("%w: the size of every trash is the system's to read", ErrForbidden)
	}
	err = s.store.View(ctx, func(tx store.Tx) error {
		items, bytes, err = tx.TrashSize(ctx)
		return err
	})
	return items, bytes, mapStoreErr(err)
}

// sharedCollIDs lists the IDs of the collections of others a trashed
// user's shares and settings refer to.
func sharedCollIDs(tu *trashedUser) []int64 {
	seen := map[int64]bool{}
	var ids []int64
	add := func(id int64) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, g := range tu.GrantsTo {
		add(g.CollectionID)
	}
	for _, st := range tu.Settings {
		add(st.CollectionID)
	}
	return ids
}

// sharedCollName is how a restore's notes name a collection a trashed
// user was given a share of.
func (tu *trashedUser) sharedCollName(id int64) string {
	if name, ok := tu.SharedColls[id]; ok {
		return name
	}
	return fmt.Sprintf("a collection (ID %d) of another user", id)
}

// sharedCollID tells whether the collection of another that a trashed
// user's share or setting refers to is still there: the collection of that
// ID must still be that owner's of that name. A store copy or a restore
// may have given the ID to another collection, which must not be shared;
// nor is a collection of the same name made since (it was not shared)
// taken for it. A share not found again is reported, not guessed.
func sharedCollID(ctx context.Context, tx store.Tx, tu *trashedUser, id int64) (_ int64, found bool, _ error) {
	name, ok := tu.SharedColls[id]
	if !ok {
		return 0, false, nil
	}
	owner, coll, _ := strings.Cut(name, "/")
	c, err := tx.GetCollectionByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return id, c.Owner == owner && c.Name == coll, nil
}

// trashedCollectionIDs are the IDs a trashed collection item's collections
// had (the collection and those nested in it), read from its payload
// without decoding the rest.
func trashedCollectionIDs(it *store.TrashItem) ([]int64, error) {
	var colls []struct {
		Collection struct{ ID int64 } `json:"collection"`
	}
	if err := json.Unmarshal(it.Payload, &colls); err != nil {
		return nil, fmt.Errorf("trash item %d: %w", it.ID, err)
	}
	ids := make([]int64, len(colls))
	for i, tc := range colls {
		ids[i] = tc.Collection.ID
	}
	return ids, nil
}
