// Package davacl plugs access control, sharing and delegation into the
// WebDAV engine, as clients know them: RFC 3744's acl, group-member-set,
// group-membership, principal-property-search and
// principal-search-property-set; CalendarServer's sharing (a POST of
// CS:share, CS:invite, CS:shared-url, CS:notification-URL) and calendar
// proxies (calendar-proxy-read-for, calendar-proxy-write-for).
//
// It reads and writes that XML and asks the domain, which alone decides
// who may do what; it knows nothing of storage.
package davacl

import (
	"context"
	"encoding/xml"
	"net/http"
	"strings"

	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/tree"
)

// CS returns a CalendarServer element name.
func CS(local string) xml.Name { return xml.Name{Space: dav.NSCalServer, Local: local} }

type acl struct {
	h   *dav.Handler
	t   *tree.Tree
	svc *domain.Service
}

// Register adds access control, sharing and delegation to the engine h
// serving tree t.
func Register(h *dav.Handler, t *tree.Tree) {
	a := &acl{h: h, t: t, svc: t.Service()}
	h.DAVClasses = append(h.DAVClasses, "access-control", "calendarserver-sharing", "calendar-proxy",
		"calendarserver-principal-property-search")
	a.registerProperties()
	a.registerPrivileges()
	h.RegisterReport(dav.Report{Name: dav.Name("principal-property-search"), Applies: principalCollection, Serve: a.principalPropertySearch})
	h.RegisterReport(dav.Report{Name: dav.Name("principal-search-property-set"), Applies: principalCollection, Serve: a.principalSearchPropertySet})
	h.RegisterMethod(dav.Method{Name: http.MethodPost, Serve: a.post, Allowed: func(r *dav.Resource, _ string) bool {
		if r == nil {
			return false
		}
		d, ok := r.Data.(*tree.Collection)
		return ok && shareable(d.Collection)
	}})
}

func principalCollection(r *dav.Resource) bool {
	switch r.Data.(type) {
	case *tree.PrincipalList, *tree.GroupList, *tree.Principal:
		return true
	}
	return false
}

func shareable(c *store.Collection) bool {
	return c.Kind == store.KindCalendar || c.Kind == store.KindAddressBook
}

func href(p string) string { return "<D:href>" + dav.EscapeText(dav.Href(p)) + "</D:href>" }

// granteeHref is the principal a grantee names, as ACL and invite XML
// carry it.
func granteeHref(grantee string) string {
	if name, ok := strings.CutPrefix(grantee, "user:"); ok {
		return href(tree.PrincipalPath(name))
	}
	if name, ok := strings.CutPrefix(grantee, "group:"); ok {
		return href(tree.GroupPath(name))
	}
	return ""
}

// privileges are the RFC 3744 privileges a level grants.
func privileges(level domain.Level) string {
	// A free-busy grantee reads too: what they read is busy blocks (as
	// current-user-privilege-set tells them).
	p := "<D:privilege><D:read/></D:privilege><D:privilege><C:read-free-busy/></D:privilege>"
	if level >= domain.LevelReadWrite {
		p += "<D:privilege><D:write/></D:privilege>"
	}
	if level >= domain.LevelAdmin {
		p += "<D:privilege><D:read-acl/></D:privilege>"
	}
	if level >= domain.LevelOwner {
		p = "<D:privilege><D:all/></D:privilege>"
	}
	return p
}

func (a *acl) registerProperties() {
	h := a.h
	h.RegisterProperty(dav.Property{Name: dav.Name("acl"), Protected: true, Get: a.aclProp})
	h.RegisterProperty(dav.Property{Name: dav.Name("supported-privilege-set"), Protected: true,
		Get: func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			if _, ok := r.Data.(*tree.Collection); !ok {
				return nil, dav.ErrNoProperty
			}
			return []byte(supportedPrivileges), nil
		}})
	h.RegisterProperty(dav.Property{Name: dav.Name("acl-restrictions"), Protected: true,
		Get: func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			if _, ok := r.Data.(*tree.Collection); !ok {
				return nil, dav.ErrNoProperty
			}
			return []byte("<D:grant-only/><D:no-invert/>"), nil
		}})
	h.RegisterProperty(dav.Property{Name: dav.Name("group-member-set"), Protected: false, Get: a.groupMemberSet})
	h.RegisterProperty(dav.Property{Name: dav.Name("group-membership"), Protected: true, Get: a.groupMembership})
	h.RegisterProperty(dav.Property{Name: CS("calendar-proxy-read-for"), Protected: true, Get: a.proxyFor(false)})
	h.RegisterProperty(dav.Property{Name: CS("calendar-proxy-write-for"), Protected: true, Get: a.proxyFor(true)})
	h.RegisterProperty(dav.Property{Name: CS("notification-URL"), Protected: true,
		Get: func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			if p, ok := r.Data.(*tree.Principal); ok && p.User.Name == domain.Principal(ctx) {
				return []byte(href(tree.NotificationsPath(p.User.Name))), nil
			}
			return nil, dav.ErrNoProperty
		}})
	h.RegisterProperty(dav.Property{Name: CS("allowed-sharing-modes"), Protected: true,
		Get: func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			d, ok := r.Data.(*tree.Collection)
			if !ok || !shareable(d.Collection) {
				return nil, dav.ErrNoProperty
			}
			// A sharee below admin may not share on: Apple Calendar
			// offers sharing where it reads can-be-shared.
			if d.Share != nil && d.Share.Level < domain.LevelAdmin {
				return nil, nil
			}
			return []byte("<CS:can-be-shared/>"), nil
		}})
	h.RegisterProperty(dav.Property{Name: CS("shared-url"), Protected: true,
		Get: func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			if d, ok := r.Data.(*tree.Collection); ok && d.Share != nil {
				return []byte(href(tree.CollectionPath(d.Share.Coll))), nil
			}
			return nil, dav.ErrNoProperty
		}})
	h.RegisterProperty(dav.Property{Name: CS("invite"), Protected: true, Get: a.invite})
}

const supportedPrivileges = `<D:supported-privilege><D:privilege><D:all/></D:privilege><D:abstract/><D:description xml:lang="en">any operation</D:description>` +
	`<D:supported-privilege><D:privilege><D:read/></D:privilege><D:description xml:lang="en">read objects and properties</D:description>` +
	`<D:supported-privilege><D:privilege><C:read-free-busy/></D:privilege><D:description xml:lang="en">read busy time</D:description></D:supported-privilege>` +
	`</D:supported-privilege>` +
	`<D:supported-privilege><D:privilege><D:write/></D:privilege><D:description xml:lang="en">create, change and delete objects</D:description>` +
	`<D:supported-privilege><D:privilege><D:write-content/></D:privilege><D:description xml:lang="en">change objects</D:description></D:supported-privilege>` +
	`<D:supported-privilege><D:privilege><D:write-properties/></D:privilege><D:description xml:lang="en">change properties</D:description></D:supported-privilege>` +
	`<D:supported-privilege><D:privilege><D:bind/></D:privilege><D:description xml:lang="en">create objects</D:description></D:supported-privilege>` +
	`<D:supported-privilege><D:privilege><D:unbind/></D:privilege><D:description xml:lang="en">delete objects</D:description></D:supported-privilege>` +
	`</D:supported-privilege>` +
	`<D:supported-privilege><D:privilege><D:read-acl/></D:privilege><D:description xml:lang="en">read who may do what</D:description></D:supported-privilege>` +
	`<D:supported-privilege><D:privilege><D:read-current-user-privilege-set/></D:privilege><D:description xml:lang="en">read one's own privileges</D:description></D:supported-privilege>` +
	`</D:supported-privilege>`

// aclProp answers DAV:acl of a collection (RFC 3744 5.5) to those who may
// read it: its owner and its admins. The owner's ACE and the delegates'
// are protected; each grant is one ACE.
func (a *acl) aclProp(ctx context.Context, r *dav.Resource) ([]byte, error) {
	d, ok := r.Data.(*tree.Collection)
	if !ok || !shareable(d.Collection) {
		return nil, dav.ErrNoProperty
	}
	c := d.Stored()
	grants, err := a.svc.Grants(ctx, c)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("<D:ace><D:principal>" + href(tree.PrincipalPath(c.Owner)) + "</D:principal><D:grant>" + privileges(domain.LevelOwner) + "</D:grant><D:protected/></D:ace>")
	if c.Kind == store.KindCalendar {
		b.WriteString("<D:ace><D:principal>" + href(tree.ProxyPath(c.Owner, true)) + "</D:principal><D:grant>" + privileges(domain.LevelReadWrite) + "</D:grant><D:protected/></D:ace>")
		b.WriteString("<D:ace><D:principal>" + href(tree.ProxyPath(c.Owner, false)) + "</D:principal><D:grant>" + privileges(domain.LevelRead) + "</D:grant><D:protected/></D:ace>")
	}
	for _, g := range grants {
		level, err := domain.ParseGrantLevel(g.Level)
		if err != nil {
			continue
		}
		who := granteeHref(g.Grantee)
		if g.Grantee == domain.GranteeEveryone {
			who = "<D:authenticated/>"
		}
		b.WriteString("<D:ace><D:principal>" + who + "</D:principal><D:grant>" + privileges(level) + "</D:grant></D:ace>")
	}
	return []byte(b.String()), nil
}

// groupMemberSet answers group-member-set of a group principal (to its
// members) and of a proxy group (to its owner): the members' principals.
func (a *acl) groupMemberSet(ctx context.Context, r *dav.Resource) ([]byte, error) {
	var b strings.Builder
	switch d := r.Data.(type) {
	case *tree.GroupPrincipal:
		ms, err := a.svc.Members(ctx, d.Group.Name)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if m.Left.IsZero() {
				b.WriteString(href(tree.PrincipalPath(m.User)))
			}
		}
	case *tree.ProxyGroup:
		ds, err := a.svc.Delegates(ctx, d.Owner)
		if err != nil {
			return nil, err
		}
		for _, dl := range ds {
			if dl.Write == d.Write {
				b.WriteString(href(tree.PrincipalPath(dl.Delegate)))
			}
		}
	case *tree.Principal:
		return nil, nil // a user has no members
	default:
		return nil, dav.ErrNoProperty
	}
	return []byte(b.String()), nil
}

// groupMembership answers group-membership of the requester's own
// principal: their groups and the proxy groups they are in.
func (a *acl) groupMembership(ctx context.Context, r *dav.Resource) ([]byte, error) {
	p, ok := r.Data.(*tree.Principal)
	if !ok {
		return nil, dav.ErrNoProperty
	}
	if p.User.Name != domain.Principal(ctx) {
		return nil, dav.ErrNoProperty
	}
	groups, err := a.svc.GroupsOf(ctx, p.User.Name)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, g := range groups {
		b.WriteString(href(tree.GroupPath(g)))
	}
	ds, err := a.svc.DelegatorsOf(ctx, p.User.Name)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		b.WriteString(href(tree.ProxyPath(d.Owner, d.Write)))
	}
	return []byte(b.String()), nil
}

// proxyFor answers calendar-proxy-write-for (write) or
// calendar-proxy-read-for of the requester's own principal: whose
// delegate they are.
func (a *acl) proxyFor(write bool) func(ctx context.Context, r *dav.Resource) ([]byte, error) {
	return func(ctx context.Context, r *dav.Resource) ([]byte, error) {
		p, ok := r.Data.(*tree.Principal)
		if !ok || p.User.Name != domain.Principal(ctx) {
			return nil, dav.ErrNoProperty
		}
		ds, err := a.svc.DelegatorsOf(ctx, p.User.Name)
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		for _, d := range ds {
			if d.Write == write {
				b.WriteString(href(tree.PrincipalPath(d.Owner)))
			}
		}
		return []byte(b.String()), nil
	}
}

// invite answers CS:invite: to the owner and admins of a shared collection
// who it is shared with; to a sharee, who shares it.
func (a *acl) invite(ctx context.Context, r *dav.Resource) ([]byte, error) {
	d, ok := r.Data.(*tree.Collection)
	if !ok || !shareable(d.Collection) {
		return nil, dav.ErrNoProperty
	}
	c := d.Stored()
	owner, err := a.svc.Profile(ctx, c.Owner)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("<CS:organizer>" + href(tree.PrincipalPath(owner.Name)) + "<CS:common-name>" + dav.EscapeText(displayName(owner)) + "</CS:common-name></CS:organizer>")
	if d.Share != nil && d.Share.Level < domain.LevelAdmin {
		return []byte(b.String()), nil
	}
	grants, err := a.svc.Grants(ctx, c)
	if err != nil {
		return nil, err
	}
	for _, g := range grants {
		name, isUser := strings.CutPrefix(g.Grantee, "user:")
		if !isUser {
			continue // CS:invite names users; groups and everyone are in DAV:acl
		}
		access := "<CS:read/>"
		if g.Level == domain.LevelReadWrite.String() || g.Level == domain.LevelAdmin.String() {
			access = "<CS:read-write/>"
		}
		cn := name
		if u, err := a.svc.Profile(ctx, name); err == nil {
			cn = displayName(u)
		}
		b.WriteString("<CS:user>" + href(tree.PrincipalPath(name)) + "<CS:common-name>" + dav.EscapeText(cn) +
			"</CS:common-name><CS:invite-accepted/><CS:access>" + access + "</CS:access></CS:user>")
	}
	return []byte(b.String()), nil
}

func displayName(u *store.User) string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return u.Name
}
