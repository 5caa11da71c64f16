// Package tree is the namespace of Koyomi's DAV server: it maps URL paths
// to principals, homes, collections and objects, implements dav.Backend on
// the domain service, and registers the properties every resource of the
// namespace has (principal and home properties, ownership, privileges,
// ctag and sync-token). Calendar- and contact-specific behaviour is plugged
// in by the caldav and carddav packages through setters and the dav registry.
//
// It knows nothing of iCalendar or vCard content and nothing of storage
// beyond the domain service.
package tree

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
)

// Layout of the namespace, below Prefix.
const (
	Prefix         = "/dav/"
	principalsPath = Prefix + "principals/"
	homesPath      = Prefix + "calendars/"
	bookHomesPath  = Prefix + "addressbooks/"
)

// The kinds of resource in the namespace, carried in dav.Resource.Data.
type (
	// Root is /dav/ itself.
	Root struct{}
	// PrincipalList is /dav/principals/.
	PrincipalList struct{}
	// HomeList is /dav/calendars/ or /dav/addressbooks/.
	HomeList struct{ Books bool }
	// Principal is a user's principal resource.
	Principal struct{ User *store.User }
	// Home is a user's home collection, holding their collections: the
	// calendar home (calendars and plain WebDAV collections) or, with Books,
	// the address book home.
	Home struct {
		User  string
		Books bool
	}
	// Collection is a calendar, address book or plain collection: one of
	// the requesting user's, or, with Share, someone else's shared with
	// them and mounted in their home (its descriptive fields then are the
	// sharee's own where they set them).
	Collection struct {
		*store.Collection
		Share  *domain.Share
		path   string // URL path where it is served
		target domain.Target
	}
	// Object is a member of a container: an object of a stored
	// collection, own or shared, what a view shows, or a directory card,
	// as the domain's target serves it to the requesting user.
	Object struct {
		*domain.Item
		Parent Container
	}
)

// Container is a resource whose members the domain serves through a
// target: a stored collection (own or shared), a virtual calendar or the
// directory. Everything done to members goes through Target, whatever the
// kind of container.
type Container interface {
	Target() domain.Target
	// Path is the container's URL path as served.
	Path() string
}

// Stored is the collection as its owner keeps it: for a share, with the
// owner's name, colour and order rather than the sharee's.
func (c *Collection) Stored() *store.Collection {
	if c.Share != nil {
		return c.Share.Coll
	}
	return c.Collection
}

// Path is the collection's URL path as served: its owner's, or the
// sharee's mount.
func (c *Collection) Path() string { return c.path }

// Target implements Container.
func (c *Collection) Target() domain.Target { return c.target }

// Kind is what the object is: the kind of collection it is served from.
func (o *Object) Kind() store.Kind { return o.Parent.Target().Kind() }

// Stored is the collection the object is served from when that is a
// stored collection, own or shared; nil for a view's or the directory's.
func (o *Object) Stored() *Collection {
	c, _ := o.Parent.(*Collection)
	return c
}

// ItemResource describes an item of container c as a DAV resource.
func ItemResource(c Container, it *domain.Item) *dav.Resource {
	base := c.Path()
	return &dav.Resource{Path: base + it.Name, Href: objectHref(base, it.Href), ETag: it.ETag, LastModified: it.Modified,
		ContentType: it.ContentType, Size: it.Size, Data: &Object{Item: it, Parent: c}}
}

// itemResources describes items of c.
func itemResources(c Container, items []*domain.Item) []*dav.Resource {
	out := make([]*dav.Resource, len(items))
	for i, it := range items {
		out[i] = ItemResource(c, it)
	}
	return out
}

// ownCollection is one of its owner's collections, served at its path.
func (t *Tree) ownCollection(ctx context.Context, c *store.Collection) (*Collection, error) {
	target, err := t.svc.CollectionTarget(ctx, c)
	if err != nil {
		return nil, err
	}
	return &Collection{Collection: c, path: CollectionPath(c), target: target}, nil
}

// sharedCollection is a share mounted in user's home, showing the
// sharee's own name, colour and order.
func (t *Tree) sharedCollection(user string, sh *domain.Share) *Collection {
	c := *sh.Coll
	c.DisplayName, c.Color, c.Order = sh.DisplayName(), sh.Color(), sh.Order()
	base := HomePath(user)
	if inBookHome(c.Kind) {
		base = BookHomePath(user)
	}
	return &Collection{Collection: &c, Share: sh, path: base + sh.Mount + "/", target: t.svc.ShareTarget(sh)}
}

// Syncable marks collections that keep a change log for sync-collection.
func (c *Collection) Syncable() bool {
	return c.Kind == store.KindCalendar || c.Kind == store.KindAddressBook
}

// Setter applies one PROPPATCH/MKCOL instruction to a collection's
// descriptive fields. It returns a *dav.Error for a refused value.
type Setter func(c *store.Collection, op dav.PropOp) error

// KindType links a collection kind to its resourcetype element.
type KindType struct {
	Kind store.Kind
	Type xml.Name
}

// Negotiate converts an object of one collection kind to the representation
// an Accept header asks for (see dav.Negotiator).
type Negotiate func(ctx context.Context, r *dav.Resource, body []byte, accept string) ([]byte, string, error)

// Tree implements dav.Backend.
type Tree struct {
	svc         *domain.Service
	setters     map[xml.Name]Setter
	kinds       []KindType
	negotiators map[store.Kind]Negotiate
	// objectErrors answer errors of storing objects, per kind.
	objectErrors map[store.Kind]ObjectErrors
}

// New returns the namespace over svc.
func New(svc *domain.Service) *Tree {
	t := &Tree{svc: svc, setters: map[xml.Name]Setter{}, negotiators: map[store.Kind]Negotiate{}, objectErrors: map[store.Kind]ObjectErrors{}}
	t.setters[dav.Name("displayname")] = func(c *store.Collection, op dav.PropOp) error {
		if op.Remove {
			c.DisplayName = ""
			return nil
		}
		s, err := op.Prop.Text()
		if err != nil {
			return dav.Errorf(http.StatusBadRequest, "%v", err)
		}
		c.DisplayName = s
		return nil
	}
	return t
}

// Service returns the domain service the tree serves.
func (t *Tree) Service() *domain.Service { return t.svc }

// RegisterSetter makes a collection property live: PROPPATCH and extended
// MKCOL set it through fn instead of storing it as a dead property.
func (t *Tree) RegisterSetter(name xml.Name, fn Setter) { t.setters[name] = fn }

// RegisterNegotiator sets how objects in collections of kind are served in
// other representations.
func (t *Tree) RegisterNegotiator(kind store.Kind, fn Negotiate) { t.negotiators[kind] = fn }

// Negotiate implements dav.Negotiator.
func (t *Tree) Negotiate(ctx context.Context, r *dav.Resource, body []byte, accept string) ([]byte, string, error) {
	if o, ok := r.Data.(*Object); ok {
		if fn, ok := t.negotiators[o.Kind()]; ok {
			return fn(ctx, r, body, accept)
		}
	}
	return body, r.ContentType, nil
}

// RegisterKind maps a resourcetype element to a collection kind.
func (t *Tree) RegisterKind(kind store.Kind, typ xml.Name) {
	t.kinds = append(t.kinds, KindType{kind, typ})
}

// PrincipalPath returns a user's principal URL path.
func PrincipalPath(user string) string { return principalsPath + user + "/" }

// HomePath returns a user's calendar home URL path.
func HomePath(user string) string { return homesPath + user + "/" }

// BookHomePath returns a user's address book home URL path.
func BookHomePath(user string) string { return bookHomesPath + user + "/" }

// inBookHome reports whether a collection kind lives in the address book
// home (the others live in the calendar home). Collection names are unique
// per owner across both homes.
func inBookHome(k store.Kind) bool { return k == store.KindAddressBook }

// CollectionPath returns the URL path of a collection.
func CollectionPath(c *store.Collection) string {
	if inBookHome(c.Kind) {
		return BookHomePath(c.Owner) + c.Name + "/"
	}
	return HomePath(c.Owner) + c.Name + "/"
}

// ObjectPath returns the URL path of an object.
func ObjectPath(c *store.Collection, name string) string { return CollectionPath(c) + name }

func (t *Tree) collectionResource(c *Collection) *dav.Resource {
	r := &dav.Resource{Path: c.path, Collection: true, LastModified: c.Modified, Data: c}
	for _, k := range t.kinds {
		if k.Kind == c.Kind {
			r.Types = append(r.Types, k.Type)
		}
	}
	return r
}

// objectHref is the escaped URL path of an object of the collection at
// base whose name the client spelled as segment; "" (the plain spelling)
// when segment is.
func objectHref(base, segment string) string {
	if segment == "" {
		return ""
	}
	return dav.EscapePath(base) + segment
}

// spelling returns the last segment of href, the client's spelling of the
// path p, when it spells p's last segment otherwise than its plain
// escaping; "" when it does not.
func spelling(p, href string) string {
	seg := href[strings.LastIndexByte(href, '/')+1:]
	name := p[strings.LastIndexByte(p, '/')+1:]
	plain := dav.EscapePath(p)
	if unescaped, err := url.PathUnescape(seg); err != nil || unescaped != name || seg == plain[strings.LastIndexByte(plain, '/')+1:] {
		return ""
	}
	return seg
}

func notFound() error { return dav.ErrNotFound }

// Resolve implements dav.Backend.
func (t *Tree) Resolve(ctx context.Context, p string) (*dav.Resource, error) {
	if p+"/" == Prefix || p == Prefix {
		return &dav.Resource{Path: Prefix, Collection: true, Data: &Root{}}, nil
	}
	if !strings.HasPrefix(p, Prefix) {
		return nil, notFound()
	}
	rest := strings.TrimPrefix(p, Prefix)
	trailing := strings.HasSuffix(rest, "/")
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	switch segs[0] {
	case "principals":
		if len(segs) == 1 {
			return &dav.Resource{Path: principalsPath, Collection: true, Data: &PrincipalList{}}, nil
		}
		return t.resolvePrincipal(ctx, segs[1:], trailing)
	case "groups":
		return t.resolveGroup(ctx, segs[1:])
	case "notifications":
		return t.resolveNotifications(ctx, segs[1:])
	case "calendars", "addressbooks":
		books := segs[0] == "addressbooks"
		if len(segs) == 1 {
			return homeListResource(books), nil
		}
		user := segs[1]
		if len(segs) == 2 {
			if _, err := t.svc.User(ctx, user); err != nil {
				return nil, err
			}
			return homeResource(user, books), nil
		}
		if !books {
			if res, handled, err := t.resolveVirtual(ctx, user, segs[2:], trailing); handled {
				return res, err
			}
		}
		if books {
			if res, handled, err := t.resolveDirectory(ctx, user, segs[2:], trailing); handled {
				return res, err
			}
		}
		name := strings.Join(segs[2:], "/")
		if c, err := t.svc.Collection(ctx, user, name); err == nil {
			if inBookHome(c.Kind) != books {
				return nil, notFound()
			}
			own, err := t.ownCollection(ctx, c)
			if err != nil {
				return nil, err
			}
			return t.collectionResource(own), nil
		} else if !errors.Is(err, domain.ErrNotFound) {
			return nil, err
		}
		if len(segs) == 3 && trailing || len(segs) == 4 && !trailing {
			if res, ok, err := t.resolveShare(ctx, user, books, segs[2:]); ok {
				return res, err
			}
		}
		if trailing || len(segs) < 4 {
			return nil, notFound()
		}
		c, err := t.svc.Collection(ctx, user, strings.Join(segs[2:len(segs)-1], "/"))
		if err != nil {
			return nil, err
		}
		if inBookHome(c.Kind) != books {
			return nil, notFound()
		}
		own, err := t.ownCollection(ctx, c)
		if err != nil {
			return nil, err
		}
		return t.resolveItem(ctx, own, segs[len(segs)-1])
	}
	return nil, notFound()
}

// resolveItem resolves the member called name of c.
func (t *Tree) resolveItem(ctx context.Context, c Container, name string) (*dav.Resource, error) {
	it, err := c.Target().Get(ctx, name)
	if err != nil {
		return nil, err
	}
	return ItemResource(c, it), nil
}

func homeListResource(books bool) *dav.Resource {
	p := homesPath
	if books {
		p = bookHomesPath
	}
	return &dav.Resource{Path: p, Collection: true, Data: &HomeList{Books: books}}
}

func homeResource(user string, books bool) *dav.Resource {
	p := HomePath(user)
	if books {
		p = BookHomePath(user)
	}
	return &dav.Resource{Path: p, Collection: true, Data: &Home{User: user, Books: books}}
}

// Children implements dav.Backend.
func (t *Tree) Children(ctx context.Context, r *dav.Resource) ([]*dav.Resource, error) {
	user := domain.Principal(ctx)
	switch d := r.Data.(type) {
	case *Root:
		return []*dav.Resource{
			{Path: principalsPath, Collection: true, Data: &PrincipalList{}},
			homeListResource(false),
			homeListResource(true),
		}, nil
	case *PrincipalList:
		if user == "" {
			return nil, nil
		}
		return []*dav.Resource{mustPrincipal(t.Resolve(ctx, PrincipalPath(user)))}, nil
	case *Principal:
		if d.User.Name != user {
			return nil, nil
		}
		return []*dav.Resource{proxyResource(user, false), proxyResource(user, true)}, nil
	case *HomeList:
		if user == "" {
			return nil, nil
		}
		return []*dav.Resource{homeResource(user, d.Books)}, nil
	case *Home:
		colls, err := t.svc.Collections(ctx, d.User)
		if err != nil {
			return nil, err
		}
		var out []*dav.Resource
		for _, c := range colls {
			if !strings.Contains(c.Name, "/") && inBookHome(c.Kind) == d.Books {
				own, err := t.ownCollection(ctx, c)
				if err != nil {
					return nil, err
				}
				out = append(out, t.collectionResource(own))
			}
		}
		shares, err := t.svc.SharedWith(ctx, d.User)
		if err != nil {
			return nil, err
		}
		for _, sh := range shares {
			// A share its sharee hid is left out of their home.
			if inBookHome(sh.Coll.Kind) == d.Books && !sh.Hidden() {
				out = append(out, t.collectionResource(t.sharedCollection(d.User, sh)))
			}
		}
		if !d.Books {
			views, err := t.svc.SubscribedVCs(ctx, d.User)
			if err != nil {
				return nil, err
			}
			for _, v := range views {
				out = append(out, t.virtualResource(v))
			}
		}
		if d.Books {
			out = append(out, t.directoryResource(d.User))
		}
		return out, nil
	case Container:
		var out []*dav.Resource
		if c, ok := d.(*Collection); ok && c.Kind == store.KindPlain {
			colls, err := t.svc.Collections(ctx, c.Owner)
			if err != nil {
				return nil, err
			}
			for _, sub := range colls {
				if rest, ok := strings.CutPrefix(sub.Name, c.Name+"/"); ok && !strings.Contains(rest, "/") {
					own, err := t.ownCollection(ctx, sub)
					if err != nil {
						return nil, err
					}
					out = append(out, t.collectionResource(own))
				}
			}
		}
		items, err := d.Target().List(ctx)
		if err != nil {
			return nil, err
		}
		return append(out, itemResources(d, items)...), nil
	}
	return nil, nil
}

func mustPrincipal(r *dav.Resource, err error) *dav.Resource {
	if err != nil {
		return &dav.Resource{Path: principalsPath, Collection: true, Data: &PrincipalList{}}
	}
	return r
}

// Content implements dav.Backend. Calendars and address books answer GET
// through Export; their file is produced here only for its length
// (DAV:getcontentlength).
func (t *Tree) Content(ctx context.Context, r *dav.Resource) ([]byte, error) {
	switch d := r.Data.(type) {
	case *Object:
		return d.Data, nil
	case Container:
		if ct, _, ok := domain.ExportFile(d.Target().Kind(), "", ""); ok {
			out, err := exportBytes(ctx, d)
			if err != nil {
				return nil, err
			}
			r.ContentType = ct
			return out, nil
		}
	}
	r.ContentType = t.ContentType(r)
	return []byte("Koyomi WebDAV collection " + r.Path + "\n"), nil
}

// collectionPageType is the type of what other collections answer GET
// with.
const collectionPageType = "text/plain; charset=utf-8"

// ContentType implements dav.ContentTyper: a calendar, virtual or not,
// answers GET with its objects as one iCalendar stream, an address book
// with its cards, other collections with a line of text.
func (t *Tree) ContentType(r *dav.Resource) string {
	if d, ok := r.Data.(Container); ok {
		if ct, _, ok := domain.ExportFile(d.Target().Kind(), "", ""); ok {
			return ct
		}
	}
	if r.Collection {
		return collectionPageType
	}
	return r.ContentType
}

// parentOf splits a member path into the container it goes into and its
// last segment.
func (t *Tree) parentOf(ctx context.Context, p string) (Container, string, error) {
	if err := t.checkHome(ctx, p); err != nil {
		return nil, "", err
	}
	if inDirectory(p) {
		return nil, "", refuseDirectoryWrite(domain.ActWrite, p)
	}
	i := strings.LastIndexByte(strings.TrimSuffix(p, "/"), '/')
	parentPath, name := p[:i+1], strings.TrimSuffix(p[i+1:], "/")
	parent, err := t.Resolve(ctx, parentPath)
	if err != nil {
		if errors.Is(err, dav.ErrNotFound) || errors.Is(err, domain.ErrNotFound) || isStatus(err, http.StatusNotFound) {
			return nil, "", dav.Errorf(http.StatusConflict, "parent collection %s does not exist", parentPath)
		}
		return nil, "", err
	}
	c, ok := parent.Data.(Container)
	if !ok {
		return nil, "", dav.Errorf(http.StatusForbidden, "objects can only be stored inside a collection")
	}
	return c, name, nil
}

func isStatus(err error, status int) bool {
	var e *dav.Error
	return errors.As(err, &e) && e.Status == status
}

// checkHome answers 404 for a path inside a home the caller may not use,
// before anything else can tell whether something exists there.
func (t *Tree) checkHome(ctx context.Context, p string) error {
	rest, ok := strings.CutPrefix(p, homesPath)
	if !ok {
		if rest, ok = strings.CutPrefix(p, bookHomesPath); !ok {
			return nil
		}
	}
	owner, _, _ := strings.Cut(rest, "/")
	if _, err := t.svc.User(ctx, owner); err != nil {
		return err
	}
	return nil
}

// Put implements dav.Backend.
func (t *Tree) Put(ctx context.Context, p, href string, body []byte, contentType string, cond dav.Conditions) (*dav.Resource, bool, error) {
	c, name, err := t.parentOf(ctx, p)
	if err != nil {
		return nil, false, err
	}
	it, created, err := c.Target().Put(ctx, name, spelling(p, href), body, contentType, store.PutOptions{IfMatch: cond.IfMatch, IfNoneMatch: cond.IfNoneMatch})
	if err != nil {
		return nil, false, t.mapObjectError(err, c, p)
	}
	if it == nil {
		// Stored, but the container does not show the writer what they
		// stored (a view's own rules): no ETag to give.
		return &dav.Resource{Path: p}, created, nil
	}
	return ItemResource(c, it), created, nil
}

// MayWrite implements dav.WritePermitter: replacing an object needs
// write-content on it, adding one bind on the container it goes into, as
// the container's target grants them. Collections are left to the write
// itself.
func (t *Tree) MayWrite(ctx context.Context, p string, existing *dav.Resource) error {
	if existing != nil {
		if o, ok := existing.Data.(*Object); ok {
			return holds(o.Parent.Target().ItemPrivileges(o.Item), domain.PrivWriteContent, p)
		}
		return nil
	}
	c, _, err := t.parentOf(ctx, p)
	if err != nil {
		return err
	}
	return holds(c.Target().Privileges(), domain.PrivBind, p)
}

// holds answers need-privileges for the resource at p unless privs holds
// priv.
func holds(privs []domain.Privilege, priv domain.Privilege, p string) error {
	if slices.Contains(privs, priv) || slices.Contains(privs, domain.PrivAll) {
		return nil
	}
	return &domain.ForbiddenError{Action: domain.ActWrite, What: p}
}

// Delete implements dav.Backend.
func (t *Tree) Delete(ctx context.Context, r *dav.Resource, cond dav.Conditions) error {
	switch d := r.Data.(type) {
	case *Object:
		if err := d.Parent.Target().Delete(ctx, d.Name, cond.IfMatch); err != nil {
			return t.mapObjectError(err, d.Parent, r.Path)
		}
		return nil
	case Container:
		// A user's own collection is deleted; a share given up, or
		// hidden where only its owner can take it away; a view
		// unsubscribed.
		return d.Target().Remove(ctx)
	}
	return dav.Errorf(http.StatusForbidden, "%s cannot be deleted", r.Path)
}

// homeAndName splits a collection path into owner and collection name,
// and tells which home it is in.
func homeAndName(p string) (owner, name string, books, ok bool) {
	rest, found := strings.CutPrefix(p, homesPath)
	if !found {
		if rest, found = strings.CutPrefix(p, bookHomesPath); !found {
			return "", "", false, false
		}
		books = true
	}
	owner, name, found = strings.Cut(strings.Trim(rest, "/"), "/")
	return owner, name, books, found && name != ""
}

// InCalendarHome reports whether p lies inside a calendar home, below the
// home itself.
func InCalendarHome(p string) bool {
	_, _, books, ok := homeAndName(p)
	return ok && !books
}

// viewName refuses a collection name in the calendar home that is where
// a virtual calendar appears ("vc-" and an id): the view would hide it.
func viewName(name string, books bool) error {
	if _, isView := vcID(name); isView && !books {
		return dav.Errorf(http.StatusForbidden, "names like %q are where virtual calendars appear; choose another name", name)
	}
	return nil
}

// Mkcol implements dav.Backend.
func (t *Tree) Mkcol(ctx context.Context, p string, types []xml.Name, ops []dav.PropOp) error {
	if err := t.checkHome(ctx, p); err != nil {
		return err
	}
	owner, name, books, ok := homeAndName(p)
	if !ok {
		return dav.Errorf(http.StatusForbidden, "collections can only be created inside a home")
	}
	if inDirectory(p) {
		return refuseDirectoryWrite(domain.ActWrite, p)
	}
	if err := viewName(name, books); err != nil {
		return err
	}
	c := &store.Collection{Owner: owner, Name: name, Kind: store.KindPlain}
	for _, typ := range types {
		found := false
		for _, k := range t.kinds {
			if k.Type == typ {
				c.Kind, found = k.Kind, true
			}
		}
		if !found {
			return dav.Precondition(http.StatusForbidden, dav.Name("valid-resourcetype"), "unsupported resourcetype "+typ.Local)
		}
	}
	if inBookHome(c.Kind) != books {
		if books {
			return dav.Precondition(http.StatusForbidden, dav.Name("valid-resourcetype"), "only address books can be created in the address book home")
		}
		return dav.Precondition(http.StatusForbidden, dav.Name("valid-resourcetype"), "address books belong in the address book home "+BookHomePath(owner))
	}
	dead, err := t.applyOps(c, ops)
	if err != nil {
		return err
	}
	if err := t.svc.CreateCollection(ctx, c, dead); err != nil {
		if errors.Is(err, domain.ErrForbidden) && c.Kind == store.KindCalendar {
			return dav.Precondition(http.StatusForbidden, xml.Name{Space: dav.NSCalDAV, Local: "calendar-collection-location-ok"}, err.Error())
		}
		return err
	}
	return nil
}

// applyOps applies live property instructions to c's fields and returns
// the dead property changes, in request order.
func (t *Tree) applyOps(c *store.Collection, ops []dav.PropOp) ([]domain.PropChange, error) {
	var dead []domain.PropChange
	for _, op := range ops {
		if fn, ok := t.setters[op.Prop.Name]; ok && c != nil {
			before := *c
			if err := fn(c, op); err != nil {
				return nil, &dav.PropError{Name: op.Prop.Name, Err: toDavError(err)}
			}
			if err := domain.CheckCollectionText(&before, c); err != nil {
				return nil, &dav.PropError{Name: op.Prop.Name, Err: dav.Errorf(http.StatusConflict, "%v", err)}
			}
			continue
		}
		p := store.Property{Namespace: op.Prop.Name.Space, Local: op.Prop.Name.Local, XML: op.Prop.XML}
		if domain.IsInternalProperty(p.Namespace) {
			return nil, &dav.PropError{Name: op.Prop.Name, Err: dav.Precondition(http.StatusForbidden, dav.Name("cannot-modify-protected-property"), "")}
		}
		dead = append(dead, domain.PropChange{Property: p, Remove: op.Remove})
	}
	return dead, nil
}

func toDavError(err error) *dav.Error {
	var e *dav.Error
	if errors.As(err, &e) {
		return e
	}
	return &dav.Error{Status: http.StatusConflict, Msg: err.Error()}
}

// Patch implements dav.Backend.
func (t *Tree) Patch(ctx context.Context, r *dav.Resource, ops []dav.PropOp) error {
	switch d := r.Data.(type) {
	case *Collection:
		c := *d.Collection
		dead, err := t.applyOps(&c, ops)
		if err != nil {
			return err
		}
		if d.Share != nil {
			return t.patchShare(ctx, r, d, &c, dead)
		}
		return t.svc.PatchCollection(ctx, &c, dead)
	case *Virtual:
		return t.patchVirtual(ctx, d, ops)
	case *ProxyGroup:
		return t.patchProxy(ctx, r, d, ops)
	case *Directory:
		return refuseDirectoryWrite(domain.ActManage, r.Path)
	case *Object:
		if d.Stored() == nil {
			return &domain.ForbiddenError{Action: domain.ActManage, What: "the properties of " + r.Path}
		}
	}
	if owner, p := ownerOf(r), domain.Principal(ctx); owner != "" && p != "" && p != owner {
		return &domain.ForbiddenError{Action: domain.ActManage, What: r.Path}
	}
	k, ok := propKey(r)
	if !ok {
		return dav.Errorf(http.StatusForbidden, "properties of %s cannot be changed", r.Path)
	}
	dead, err := t.applyOps(nil, ops)
	if err != nil {
		return err
	}
	return t.svc.PatchProperties(ctx, k, dead)
}

// propKey returns the key of r's dead properties; false for a resource
// that has none. A view's are its viewer's own.
func propKey(r *dav.Resource) (domain.PropKey, bool) {
	switch d := r.Data.(type) {
	case *Principal:
		return domain.PrincipalKey(d.User.Name), true
	case *Home:
		if d.Books {
			return domain.HomeKey(d.User, store.KindAddressBook), true
		}
		return domain.HomeKey(d.User, store.KindCalendar), true
	case *Collection:
		return domain.CollectionKey(d.Collection), true
	case *Object:
		if c := d.Stored(); c != nil {
			return domain.ObjectKey(c.Collection, d.Name), true
		}
	case *Virtual:
		return domain.VCKey(d.View.VC.ID, d.View.Viewer), true
	}
	return domain.PropKey{}, false
}

// OwnerOf is the user who owns the resource r describes, "" for none.
func OwnerOf(r *dav.Resource) string { return ownerOf(r) }

func ownerOf(r *dav.Resource) string {
	switch d := r.Data.(type) {
	case *Principal:
		return d.User.Name
	case *Home:
		return d.User
	case *Collection:
		return d.Owner
	case *Object:
		if c := d.Stored(); c != nil {
			return c.Owner
		}
	}
	return ""
}

// DeadProperties implements dav.Backend.
func (t *Tree) DeadProperties(ctx context.Context, r *dav.Resource) ([]dav.RawElement, error) {
	var props []store.Property
	var err error
	switch d := r.Data.(type) {
	case *Collection:
		props, err = t.svc.CollectionProperties(ctx, d.Collection, "")
	case *Object:
		c := d.Stored()
		if c == nil {
			return nil, nil // what a view or the directory shows has none
		}
		props, err = t.svc.ObjectProperties(ctx, c.Collection, d.Name)
	default:
		if owner, p := ownerOf(r), domain.Principal(ctx); owner != "" && p != "" && p != owner {
			return nil, nil // another user's principal: their properties are theirs
		}
		k, ok := propKey(r)
		if !ok {
			return nil, nil
		}
		props, err = t.svc.Properties(ctx, k)
	}
	if err != nil {
		return nil, err
	}
	out := make([]dav.RawElement, 0, len(props))
	for _, p := range props {
		out = append(out, dav.RawElement{Name: xml.Name{Space: p.Namespace, Local: p.Local}, XML: p.XML})
	}
	return out, nil
}

// CopyMove implements dav.Backend.
func (t *Tree) CopyMove(ctx context.Context, src *dav.Resource, dst, dstHref string, move, overwrite bool) (bool, error) {
	if inDirectory(dst) {
		if err := t.checkHome(ctx, dst); err != nil {
			return false, err
		}
		return false, refuseDirectoryWrite(domain.ActWrite, dst)
	}
	switch d := src.Data.(type) {
	case *Object:
		src := d.Stored()
		if src == nil {
			if move && inDirectory(dstHref) || move && inDirectory(d.Parent.Path()) {
				return false, refuseDirectoryWrite(domain.ActWrite, d.Parent.Path()+d.Name)
			}
			break
		}
		parent, name, err := t.parentOf(ctx, dst)
		if err != nil {
			return false, err
		}
		dc, ok := parent.(*Collection)
		if !ok {
			return false, dav.Errorf(http.StatusForbidden, "objects can only be copied or moved into a collection")
		}
		created, err := t.svc.CopyMoveObject(ctx, src.Collection, d.Name, dc.Collection, name, spelling(dst, dstHref), move, overwrite)
		if err != nil {
			return false, t.mapObjectError(err, dc, dst)
		}
		return created, nil
	case *Collection:
		if d.Share != nil {
			return false, dav.Errorf(http.StatusForbidden, "a shared collection cannot be copied or moved; copy its objects instead")
		}
		owner, name, books, ok := homeAndName(dst)
		if !ok || owner != d.Owner || books != inBookHome(d.Kind) {
			return false, dav.Errorf(http.StatusForbidden, "collections can only be copied or moved within their home")
		}
		if err := viewName(name, books); err != nil {
			return false, err
		}
		created, err := t.svc.CopyMoveCollection(ctx, d.Collection, name, move, overwrite)
		if err != nil {
			if errors.Is(err, domain.ErrConflict) {
				return false, dav.Errorf(http.StatusConflict, "%v", err)
			}
			return false, err
		}
		return created, nil
	case *Directory:
		if move {
			return false, refuseDirectoryWrite(domain.ActWrite, src.Path)
		}
	}
	return false, dav.Errorf(http.StatusForbidden, "%s cannot be copied or moved", src.Path)
}

// mapErrorAt turns domain errors into DAV answers for the resource at
// path (named in need-privileges answers).
func mapErrorAt(err error, path string) error {
	if err == nil {
		return nil
	}
	var de *dav.Error
	if errors.As(err, &de) {
		return err
	}
	if e := davError(err, path); e != nil {
		return e
	}
	return fmt.Errorf("tree: %w", err)
}

// MapError is the DAV answer to a domain error, or nil for an error the
// domain does not name (a failure of the server). The engine asks it for
// every error that reaches it unanswered (dav.Handler.MapError).
func MapError(err error, path string) *dav.Error { return davError(err, path) }

// davError is the one table from domain errors to DAV answers.
func davError(err error, path string) *dav.Error {
	var fe *domain.ForbiddenError
	switch {
	case errors.As(err, &fe):
		return needPrivileges(fe, path, err)
	case errors.Is(err, domain.ErrInvalidSyncToken):
		return &dav.Error{Status: http.StatusForbidden, Condition: dav.Name("valid-sync-token"),
			Msg: strings.TrimPrefix(err.Error(), domain.ErrInvalidSyncToken.Error()+": "), Err: err}
	case errors.Is(err, domain.ErrNoChangeLog):
		return &dav.Error{Status: http.StatusForbidden, Condition: dav.Name("supported-report"), Msg: err.Error(), Err: err}
	case errors.Is(err, domain.ErrNotFound):
		return &dav.Error{Status: http.StatusNotFound, Err: err}
	case errors.Is(err, domain.ErrPrecondition):
		return &dav.Error{Status: http.StatusPreconditionFailed, Msg: "precondition failed", Err: err}
	case errors.Is(err, domain.ErrExists):
		return &dav.Error{Status: http.StatusMethodNotAllowed, Msg: "already exists", Err: err}
	case errors.Is(err, domain.ErrConflict), errors.Is(err, domain.ErrUIDChanged):
		return &dav.Error{Status: http.StatusConflict, Msg: err.Error(), Err: err}
	case errors.Is(err, domain.ErrTooLarge):
		return &dav.Error{Status: http.StatusRequestEntityTooLarge, Msg: err.Error(), Err: err}
	case errors.Is(err, domain.ErrMalformed):
		return &dav.Error{Status: http.StatusBadRequest, Msg: err.Error(), Err: err}
	case errors.Is(err, domain.ErrUnsupportedMediaType):
		return &dav.Error{Status: http.StatusUnsupportedMediaType, Msg: err.Error(), Err: err}
	case errors.Is(err, domain.ErrForbidden), errors.Is(err, domain.ErrInvalidName), errors.Is(err, domain.ErrPasswordTooShort), errors.Is(err, domain.ErrUnsupportedComponent):
		return &dav.Error{Status: http.StatusForbidden, Msg: err.Error(), Err: err}
	}
	return nil
}

// needPrivileges is RFC 3744 7.1.1's answer to an action the principal
// lacks the privilege for.
func needPrivileges(fe *domain.ForbiddenError, path string, err error) *dav.Error {
	priv := "<D:" + fe.Action.Privilege() + "/>"
	if fe.Action == domain.ActShare {
		priv = "<CS:share/>"
	}
	body := "<D:resource><D:href>" + dav.Href(path) + "</D:href><D:privilege>" + priv + "</D:privilege></D:resource>"
	return &dav.Error{Status: http.StatusForbidden, Condition: dav.Name("need-privileges"), ConditionBody: body, Msg: fe.Error(), Err: err}
}

// resolveShare resolves segs, below user's home, as a share mounted there
// or an object of one; handled is false when segs[0] cannot name a share.
func (t *Tree) resolveShare(ctx context.Context, user string, books bool, segs []string) (res *dav.Resource, handled bool, err error) {
	if !strings.Contains(segs[0], domain.ShareMarker) {
		return nil, false, nil
	}
	sh, err := t.svc.SharedCollection(ctx, user, segs[0])
	if err != nil {
		return nil, true, err
	}
	if sh.Hidden() {
		// Hidden by its sharee (a DELETE of a share they cannot give
		// up): gone for them until they unhide it.
		return nil, true, notFound()
	}
	if inBookHome(sh.Coll.Kind) != books {
		return nil, true, notFound()
	}
	c := t.sharedCollection(user, sh)
	if len(segs) == 1 {
		return t.collectionResource(c), true, nil
	}
	res, err = t.resolveItem(ctx, c, segs[1])
	return res, true, err
}

// patchShare applies a sharee's PROPPATCH of a share: their own name,
// colour and order, kept apart from the owner's; nothing else of someone
// else's collection is theirs to change.
func (t *Tree) patchShare(ctx context.Context, r *dav.Resource, d *Collection, c *store.Collection, dead []domain.PropChange) error {
	before := d.Collection
	if len(dead) > 0 || c.Description != before.Description || c.DescriptionLang != before.DescriptionLang ||
		c.Timezone != before.Timezone || !slices.Equal(c.Components, before.Components) {
		return &domain.ForbiddenError{Action: domain.ActManage, What: "the properties of " + r.Path}
	}
	return d.Target().Personalize(ctx, personalChange(before, c))
}

// personalChange is the change of name, colour and order from before to
// after.
func personalChange(before, after *store.Collection) domain.Personal {
	var ch domain.Personal
	if after.DisplayName != before.DisplayName {
		ch.DisplayName = &after.DisplayName
	}
	if after.Color != before.Color {
		ch.Color = &after.Color
	}
	if after.Order != before.Order {
		ch.Order = &after.Order
	}
	return ch
}
