package domain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/vcard"
)

// Target is a collection of objects as one principal reaches it: one of
// their own calendars or address books, one shared with them, a virtual
// calendar they see, or the directory. Protocol layers serve every kind
// through it alike, and each of its methods asks the authorizer (or, for a
// view, the view's own rules, which ask it for every source) before it
// acts, so a target handed to the wrong principal still gives away
// nothing.
type Target interface {
	// Kind is what the target holds: calendar objects, cards, or (a plain
	// WebDAV collection) anything.
	Kind() store.Kind
	// Privileges is what the principal holds on the target itself, and
	// ItemPrivileges on one of its items (RFC 3744 privilege names, see
	// Privilege).
	Privileges() []Privilege
	ItemPrivileges(it *Item) []Privilege
	// List is every item the principal sees, with data only where the
	// target has it at no cost (the listing is for names and ETags).
	List(ctx context.Context) ([]*Item, error)
	// Get is one item with its data; ErrNotFound when there is none.
	Get(ctx context.Context, name string) (*Item, error)
	// GetMany is the named items that exist, with their data.
	GetMany(ctx context.Context, names []string) ([]*Item, error)
	// QueryCalendar is the items matching a calendar-query filter, with
	// their parsed forms when keepParsed (nil where an item's index alone
	// proved the match). floating gives the zone of floating times for
	// the collection an item is stored in.
	QueryCalendar(ctx context.Context, filter *ical.CompFilter, floating func(*store.Collection) *time.Location, keepParsed bool) ([]*Item, []*ical.Object, error)
	// QueryCards is the items matching an addressbook-query filter.
	QueryCards(ctx context.Context, filter *vcard.Filter) ([]*Item, error)
	// Put stores an object under name (href: the client's spelling of
	// it); the item is nil when the target does not show the principal
	// what they stored.
	Put(ctx context.Context, name, href string, data []byte, contentType string, opts store.PutOptions) (*Item, bool, error)
	// Delete removes the item called name.
	Delete(ctx context.Context, name, ifMatch string) error
	// Changes answers sync-collection since token ("" for an initial
	// sync), at most limit changes (0: all); ErrNoChangeLog for a target
	// that keeps none.
	Changes(ctx context.Context, token string, limit int) (*ChangeSet, error)
	// SyncToken is the token of the target's current state for
	// sync-collection; ErrNoChangeLog for a target that keeps none.
	SyncToken(ctx context.Context) (string, error)
	// CTag changes whenever anything the target shows does.
	CTag(ctx context.Context) (string, error)
	// Export writes everything the target shows to w as one file: a
	// calendar's as one iCalendar stream, an address book's cards one
	// after another.
	Export(ctx context.Context, w io.Writer) error
	// Personalize sets the principal's own name, colour and order of the
	// target (for their own collection, the collection's).
	Personalize(ctx context.Context, ch Personal) error
	// Remove takes the target out of the principal's home: deletes their
	// own collection, gives up (or hides) a share, unsubscribes them from a
	// view.
	Remove(ctx context.Context) error
}

// Personal is a change of how a target appears to one principal; nil
// fields stay as they are.
type Personal struct {
	DisplayName *string `json:"displayname,omitempty"`
	Color       *string `json:"color,omitempty"`
	Order       *int    `json:"order,omitempty"`
}

// apply sets the fields p changes.
func (p Personal) apply(name, color *string, order *int) {
	if p.DisplayName != nil {
		*name = *p.DisplayName
	}
	if p.Color != nil {
		*color = *p.Color
	}
	if p.Order != nil {
		*order = *p.Order
	}
}

// ErrNoChangeLog is sync-collection asked of a target that keeps no change
// log (a plain collection, the directory).
var ErrNoChangeLog = errors.New("this collection keeps no change log to synchronise from")

// Item is one object of a target, as the principal reaching it is served
// it: stored, or rendered for them (a view's filtered copy, a free-busy
// sharee's busy blocks, a directory card). Object carries its name, ETag,
// data and the rest; Source is the collection it is stored in (nil for a
// directory card); Full reports that it is served exactly as stored.
type Item struct {
	*store.Object
	Source *store.Collection
	Full   bool
}

// ChangeSet is a target's answer to sync-collection: the changed names
// since a token, in change order, with the token to continue from.
type ChangeSet struct {
	Changes   []ItemChange
	Token     string
	Truncated bool
}

// ItemChange is one name in a ChangeSet: Item is nil for a removal.
type ItemChange struct {
	Name string
	Href string // the client's spelling of Name (see store.Object.Href)
	Item *Item
}

// Privilege is a privilege of RFC 3744 (DAV: namespace) or RFC 4791
// (read-free-busy, CalDAV namespace).
type Privilege string

// The privileges a target reports.
const (
	PrivAll             Privilege = "all"
	PrivRead            Privilege = "read"
	PrivWrite           Privilege = "write"
	PrivWriteProperties Privilege = "write-properties"
	PrivWriteContent    Privilege = "write-content"
	PrivBind            Privilege = "bind"
	PrivUnbind          Privilege = "unbind"
	PrivUnlock          Privilege = "unlock"
	PrivReadACL         Privilege = "read-acl"
	PrivReadCUPS        Privilege = "read-current-user-privilege-set"
	PrivReadFreeBusy    Privilege = "read-free-busy"
)

// OwnerPrivileges is everything, held by the owner of a resource.
var OwnerPrivileges = []Privilege{PrivAll, PrivRead, PrivWrite, PrivWriteProperties, PrivWriteContent, PrivBind,
	PrivUnbind, PrivUnlock, PrivReadACL, PrivReadCUPS, PrivReadFreeBusy}

// ReaderPrivileges is reading a resource and what one holds on it.
var ReaderPrivileges = []Privilege{PrivRead, PrivReadCUPS}

// collectionPrivileges is what a principal at level holds on a stored
// collection: the owner everything; a sharee reads (a free-busy sharee
// the busy blocks it shows them), sets their own name, colour and order
// of it, and with read-write writes its objects.
func collectionPrivileges(level Level) []Privilege {
	if level == LevelOwner {
		return OwnerPrivileges
	}
	p := []Privilege{PrivRead, PrivReadCUPS, PrivReadFreeBusy, PrivWriteProperties}
	if level >= LevelReadWrite {
		p = append(p, PrivWrite, PrivWriteContent, PrivBind, PrivUnbind)
	}
	if level >= LevelAdmin {
		p = append(p, PrivReadACL)
	}
	return p
}

// objectPrivileges is what a sharee at level holds on an object of a
// stored collection: reading it and, with read-write, replacing its
// content; the properties of the owner's objects stay the owner's.
func objectPrivileges(level Level) []Privilege {
	if level == LevelOwner {
		return OwnerPrivileges
	}
	p := []Privilege{PrivRead, PrivReadCUPS, PrivReadFreeBusy}
	if level >= LevelReadWrite {
		p = append(p, PrivWriteContent)
	}
	return p
}

// CollectionTarget is c as the context's principal reaches it, at the
// level the authorizer gives them.
func (s *Service) CollectionTarget(ctx context.Context, c *store.Collection) (Target, error) {
	level, err := s.Access(ctx, c)
	if err != nil {
		return nil, err
	}
	return &collTarget{s: s, c: c, level: level}, nil
}

// ShareTarget is a collection shared with the context's principal, at the
// level of the share (which the authorizer decided when it was listed).
func (s *Service) ShareTarget(sh *Share) Target {
	return &collTarget{s: s, c: sh.Coll, level: sh.Level, share: sh}
}

// collTarget is a stored collection: a calendar, an address book or a
// plain WebDAV collection; share is set when it is reached as a share.
type collTarget struct {
	s     *Service
	c     *store.Collection
	level Level
	share *Share
}

func (t *collTarget) Kind() store.Kind        { return t.c.Kind }
func (t *collTarget) Privileges() []Privilege { return collectionPrivileges(t.level) }
func (t *collTarget) ItemPrivileges(*Item) []Privilege {
	return objectPrivileges(t.level)
}

func (t *collTarget) item(o *store.Object) *Item {
	return &Item{Object: o, Source: t.c, Full: t.level != LevelFreeBusy}
}

func (t *collTarget) items(objs []*store.Object) []*Item { return itemsOf(objs, t.item) }

// itemsOf describes each of xs as an item.
func itemsOf[T any](xs []T, item func(T) *Item) []*Item {
	out := make([]*Item, len(xs))
	for i, x := range xs {
		out[i] = item(x)
	}
	return out
}

func (t *collTarget) List(ctx context.Context) ([]*Item, error) {
	objs, err := t.s.ListObjects(ctx, t.c, false)
	return t.items(objs), err
}

func (t *collTarget) Get(ctx context.Context, name string) (*Item, error) {
	o, err := t.s.Object(ctx, t.c, name)
	if err != nil {
		return nil, err
	}
	return t.item(o), nil
}

func (t *collTarget) GetMany(ctx context.Context, names []string) ([]*Item, error) {
	objs, err := t.s.Objects(ctx, t.c, names)
	return t.items(objs), err
}

func (t *collTarget) QueryCalendar(ctx context.Context, filter *ical.CompFilter, floating func(*store.Collection) *time.Location, keepParsed bool) ([]*Item, []*ical.Object, error) {
	if t.c.Kind != store.KindCalendar {
		return nil, nil, nil
	}
	objs, parsed, err := t.s.queryCalendar(ctx, t.c, filter, floating(t.c), keepParsed)
	return t.items(objs), parsed, err
}

func (t *collTarget) QueryCards(ctx context.Context, filter *vcard.Filter) ([]*Item, error) {
	if t.c.Kind != store.KindAddressBook {
		return nil, nil
	}
	objs, err := t.s.queryAddressBook(ctx, t.c, filter)
	return t.items(objs), err
}

func (t *collTarget) Put(ctx context.Context, name, href string, data []byte, contentType string, opts store.PutOptions) (*Item, bool, error) {
	o, created, err := t.s.PutObject(ctx, t.c, name, href, data, contentType, opts)
	if err != nil {
		return nil, false, err
	}
	return t.item(o), created, nil
}

func (t *collTarget) Delete(ctx context.Context, name, ifMatch string) error {
	return t.s.DeleteObject(ctx, t.c, name, ifMatch)
}

func (t *collTarget) Changes(ctx context.Context, token string, limit int) (*ChangeSet, error) {
	if t.c.Kind != store.KindCalendar && t.c.Kind != store.KindAddressBook {
		return nil, ErrNoChangeLog
	}
	res, err := t.s.syncCollection(ctx, t.c, token, limit)
	if err != nil {
		return nil, err
	}
	out := &ChangeSet{Changes: make([]ItemChange, len(res.Changes)), Token: res.Token, Truncated: res.Truncated}
	for i, ch := range res.Changes {
		out.Changes[i] = ItemChange{Name: ch.Name, Href: ch.Href}
		if ch.Object != nil {
			out.Changes[i].Item = t.item(ch.Object)
		}
	}
	return out, nil
}

func (t *collTarget) Export(ctx context.Context, w io.Writer) error {
	return t.s.exportCollection(ctx, t.c, w)
}

func (t *collTarget) SyncToken(context.Context) (string, error) {
	if t.c.Kind != store.KindCalendar && t.c.Kind != store.KindAddressBook {
		return "", ErrNoChangeLog
	}
	return SyncToken(t.c), nil
}

func (t *collTarget) CTag(ctx context.Context) (string, error) { return t.SyncToken(ctx) }

func (t *collTarget) Personalize(ctx context.Context, ch Personal) error {
	if t.share != nil {
		return t.s.SetShareSettings(ctx, Principal(ctx), t.share, ShareChange{Personal: ch})
	}
	next := *t.c
	ch.apply(&next.DisplayName, &next.Color, &next.Order)
	return t.s.PatchCollection(ctx, &next, nil)
}

// Remove deletes the principal's own collection; a share leaves their
// home (see LeaveShare).
func (t *collTarget) Remove(ctx context.Context) error {
	if t.share == nil {
		return t.s.DeleteCollection(ctx, t.c)
	}
	_, err := t.s.LeaveShare(ctx, t.share)
	return err
}

// ViewTarget is a virtual calendar as its viewer sees it.
func (s *Service) ViewTarget(v *VCView) Target { return &viewTarget{s: s, v: v} }

type viewTarget struct {
	s *Service
	v *VCView
}

// Privileges of a viewer of a virtual calendar: reading it and setting
// their own name, colour and order of it; with a write target, writing
// through it too.
func (t *viewTarget) Privileges() []Privilege {
	p := []Privilege{PrivRead, PrivReadCUPS, PrivReadFreeBusy, PrivWriteProperties}
	if t.v.Writable() {
		p = append(p, PrivWriteContent, PrivBind, PrivUnbind)
	}
	return p
}

// ItemPrivileges: a viewer may replace or delete an object of the write
// target that they see whole.
func (t *viewTarget) ItemPrivileges(it *Item) []Privilege {
	if w := t.v.WriteTarget(); w != nil && it.Source != nil && it.Source.ID == w.ID && it.Full {
		return []Privilege{PrivRead, PrivReadCUPS, PrivWriteContent}
	}
	return ReaderPrivileges
}

func (t *viewTarget) Kind() store.Kind { return store.KindCalendar }

// viewItem is what a view shows under one name.
func viewItem(o *VCObject) *Item {
	return &Item{Object: &store.Object{Name: o.Name, ETag: o.ETag, Modified: o.Modified, UID: o.UID, Data: o.Data,
		Size: int64(len(o.Data)), ContentType: "text/calendar; charset=utf-8"}, Source: o.Source, Full: o.Full}
}

func viewItems(objs []*VCObject) []*Item { return itemsOf(objs, viewItem) }

func (t *viewTarget) List(ctx context.Context) ([]*Item, error) {
	objs, err := t.s.VCObjects(ctx, t.v, nil)
	return viewItems(objs), err
}

func (t *viewTarget) Get(ctx context.Context, name string) (*Item, error) {
	o, err := t.s.VCObjectByName(ctx, t.v, name)
	if err != nil {
		return nil, err
	}
	return viewItem(o), nil
}

func (t *viewTarget) GetMany(ctx context.Context, names []string) ([]*Item, error) {
	found, err := t.s.vcObjectsByName(ctx, t.v, names)
	if err != nil {
		return nil, err
	}
	out := make([]*Item, 0, len(found))
	for _, n := range names {
		if o := found[n]; o != nil {
			out = append(out, viewItem(o))
		}
	}
	return out, nil
}

func (t *viewTarget) QueryCalendar(ctx context.Context, filter *ical.CompFilter, floating func(*store.Collection) *time.Location, _ bool) ([]*Item, []*ical.Object, error) {
	objs, parsed, err := t.s.queryVC(ctx, t.v, filter, floating)
	return viewItems(objs), parsed, err
}

func (t *viewTarget) QueryCards(context.Context, *vcard.Filter) ([]*Item, error) { return nil, nil }

// Put stores what the viewer PUTs into the view in its write target.
func (t *viewTarget) Put(ctx context.Context, name, _ string, data []byte, contentType string, opts store.PutOptions) (*Item, bool, error) {
	_, created, err := t.s.putThroughVC(ctx, t.v, name, data, contentType, opts)
	if err != nil {
		return nil, false, hideHolder(err)
	}
	o, err := t.s.VCObjectByName(ctx, t.v, name)
	if err != nil {
		// Stored, but the view's own rules hide it from its writer.
		return nil, created, nil
	}
	return viewItem(o), created, nil
}

func (t *viewTarget) Delete(ctx context.Context, name, ifMatch string) error {
	return t.s.deleteThroughVC(ctx, t.v, name, ifMatch)
}

// hideHolder keeps a UID conflict in a view's write target from naming
// the object that holds the UID: the viewer may not see it.
func hideHolder(err error) error {
	if !errors.Is(err, store.ErrUIDConflict) {
		return err
	}
	hidden := &store.UIDConflictError{}
	var uc *store.UIDConflictError
	if errors.As(err, &uc) {
		hidden.UID = uc.UID
	}
	return fmt.Errorf("%w: the UID is already used by an event of this view or of the calendar it writes into", hidden)
}

// Changes answers sync-collection from the viewer's sync log of the view
// (see vcSyncChanges): it names only what the viewer was shown. The log
// answers from a revision, not a position in it, so a limit truncates
// without a resumable token: the client gets the current token only when
// nothing was cut.
func (t *viewTarget) Changes(ctx context.Context, token string, limit int) (*ChangeSet, error) {
	var since int64
	if token != "" {
		rev, ok := parseVCSyncToken(t.v, token)
		if !ok {
			return nil, fmt.Errorf("%w: the sync token does not belong to this calendar; synchronise again", ErrInvalidSyncToken)
		}
		since = rev
	}
	all, rev, err := t.s.vcSyncChanges(ctx, t.v, since)
	if errors.Is(err, ErrPrecondition) {
		return nil, fmt.Errorf("%w: the sync token is unknown to this calendar; synchronise again", ErrInvalidSyncToken)
	}
	if err != nil {
		return nil, err
	}
	out := &ChangeSet{Changes: make([]ItemChange, len(all)), Token: vcSyncToken(t.v, rev)}
	for i, ch := range all {
		out.Changes[i] = ItemChange{Name: ch.Name}
		if ch.Object != nil {
			out.Changes[i].Item = viewItem(ch.Object)
		}
	}
	if limit > 0 && len(out.Changes) > limit {
		out.Changes, out.Token, out.Truncated = out.Changes[:limit], token, true
	}
	return out, nil
}

func (t *viewTarget) Export(ctx context.Context, w io.Writer) error {
	return t.s.exportVC(ctx, t.v, w)
}

func (t *viewTarget) SyncToken(ctx context.Context) (string, error) {
	rev, err := t.s.vcSyncRevision(ctx, t.v)
	if err != nil {
		return "", err
	}
	return vcSyncToken(t.v, rev), nil
}

func (t *viewTarget) CTag(ctx context.Context) (string, error) { return t.SyncToken(ctx) }

// Personalize sets the viewer's own settings of the view; the owner's
// definition is untouched.
func (t *viewTarget) Personalize(ctx context.Context, ch Personal) error {
	_, err := t.s.SetSubscription(ctx, t.v.Viewer, t.v.VC.ID, Subscription{Personal: ch})
	return err
}

// Remove unsubscribes the viewer; the owner's definition stays.
func (t *viewTarget) Remove(ctx context.Context) error {
	no := false
	_, err := t.s.SetSubscription(ctx, t.v.Viewer, t.v.VC.ID, Subscription{Subscribed: &no})
	return err
}

// DirectoryTarget is the directory address book as a signed-in user reads
// it. Its cards are read once, on first need.
func (s *Service) DirectoryTarget() Target { return &dirTarget{s: s} }

type dirTarget struct {
	s    *Service
	book *Directory
}

// Book is the directory's cards, read on first need.
func (t *dirTarget) Book(ctx context.Context) (*Directory, error) {
	if t.book == nil {
		book, err := t.s.Directory(ctx)
		if err != nil {
			return nil, err
		}
		t.book = book
	}
	return t.book, nil
}

// DirectoryBook returns the cards of a directory target, read once.
func DirectoryBook(ctx context.Context, t Target) (*Directory, error) {
	d, ok := t.(*dirTarget)
	if !ok {
		return nil, fmt.Errorf("%w: not the directory", ErrNotFound)
	}
	return d.Book(ctx)
}

func (t *dirTarget) Kind() store.Kind                 { return store.KindAddressBook }
func (t *dirTarget) Privileges() []Privilege          { return ReaderPrivileges }
func (t *dirTarget) ItemPrivileges(*Item) []Privilege { return ReaderPrivileges }

func cardItem(c *DirectoryCard) *Item {
	return &Item{Object: &store.Object{Name: c.Name, ETag: c.ETag, UID: c.UID, Data: c.Data, Size: int64(len(c.Data)),
		ContentType: "text/vcard; charset=utf-8", Component: "VCARD"}, Full: true}
}

func cardItems(cards []*DirectoryCard) []*Item { return itemsOf(cards, cardItem) }

func (t *dirTarget) List(ctx context.Context) ([]*Item, error) {
	book, err := t.Book(ctx)
	if err != nil {
		return nil, err
	}
	return cardItems(book.Cards), nil
}

func (t *dirTarget) Get(ctx context.Context, name string) (*Item, error) {
	if t.book != nil {
		if c := t.book.Card(name); c != nil {
			return cardItem(c), nil
		}
		return nil, fmt.Errorf("%w: no card %q in the directory", ErrNotFound, name)
	}
	c, err := t.s.DirectoryCard(ctx, name)
	if err != nil {
		return nil, err
	}
	return cardItem(c), nil
}

func (t *dirTarget) GetMany(ctx context.Context, names []string) ([]*Item, error) {
	book, err := t.Book(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Item
	for _, n := range names {
		if c := book.Card(n); c != nil {
			out = append(out, cardItem(c))
		}
	}
	return out, nil
}

func (t *dirTarget) QueryCalendar(context.Context, *ical.CompFilter, func(*store.Collection) *time.Location, bool) ([]*Item, []*ical.Object, error) {
	return nil, nil, nil
}

func (t *dirTarget) QueryCards(ctx context.Context, filter *vcard.Filter) ([]*Item, error) {
	book, err := t.Book(ctx)
	if err != nil {
		return nil, err
	}
	return cardItems(book.Query(filter)), nil
}

func (t *dirTarget) Put(context.Context, string, string, []byte, string, store.PutOptions) (*Item, bool, error) {
	return nil, false, DirectoryReadOnly(ActWrite)
}

func (t *dirTarget) Delete(context.Context, string, string) error { return DirectoryReadOnly(ActWrite) }

func (t *dirTarget) Changes(context.Context, string, int) (*ChangeSet, error) {
	return nil, ErrNoChangeLog
}

func (t *dirTarget) Export(ctx context.Context, w io.Writer) error {
	book, err := t.Book(ctx)
	if err != nil {
		return err
	}
	for _, c := range book.Cards {
		if _, err := w.Write(c.Data); err != nil {
			return err
		}
	}
	return nil
}

// SyncToken: the directory keeps no change log; its CTag is a hash of its
// cards (see Directory).
func (t *dirTarget) SyncToken(context.Context) (string, error) { return "", ErrNoChangeLog }

func (t *dirTarget) CTag(ctx context.Context) (string, error) {
	book, err := t.Book(ctx)
	if err != nil {
		return "", err
	}
	return book.CTag, nil
}

func (t *dirTarget) Personalize(context.Context, Personal) error { return DirectoryReadOnly(ActManage) }
func (t *dirTarget) Remove(context.Context) error                { return DirectoryReadOnly(ActManage) }
