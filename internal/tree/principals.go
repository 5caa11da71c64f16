package tree

import (
	"context"
	"encoding/xml"
	"net/http"
	"strings"

	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
)

// Principals besides users: each user's two calendar proxy groups
// (CalendarServer's delegation, below the user's principal), the groups of
// the server (below /dav/groups/), and each user's notification collection
// (CalendarServer sharing; empty, as shares need no accepting).
const (
	groupsPath        = Prefix + "groups/"
	notificationsPath = Prefix + "notifications/"
	proxyWriteSegment = "calendar-proxy-write"
	proxyReadSegment  = "calendar-proxy-read"
)

type (
	// ProxyGroup is one of a user's calendar proxy groups: its members
	// are the user's delegates.
	ProxyGroup struct {
		Owner string
		Write bool
	}
	// GroupList is /dav/groups/.
	GroupList struct{}
	// GroupPrincipal is a group of users as a principal.
	GroupPrincipal struct{ Group *store.Group }
	// Notifications is a user's notification collection.
	Notifications struct{ User string }
)

// GroupPath returns a group's principal URL path.
func GroupPath(group string) string { return groupsPath + group + "/" }

// ProxyPath returns the path of one of owner's proxy groups.
func ProxyPath(owner string, write bool) string {
	if write {
		return PrincipalPath(owner) + proxyWriteSegment + "/"
	}
	return PrincipalPath(owner) + proxyReadSegment + "/"
}

// NotificationsPath returns a user's notification collection path.
func NotificationsPath(user string) string { return notificationsPath + user + "/" }

// PrincipalsPaths are the collections principals live in
// (principal-collection-set).
func PrincipalsPaths() []string { return []string{principalsPath, groupsPath} }

func proxyResource(owner string, write bool) *dav.Resource {
	typ := xml.Name{Space: dav.NSCalServer, Local: proxyReadSegment}
	if write {
		typ.Local = proxyWriteSegment
	}
	return &dav.Resource{Path: ProxyPath(owner, write), Collection: true,
		Types: []xml.Name{dav.Name("principal"), typ}, Data: &ProxyGroup{Owner: owner, Write: write}}
}

// PrincipalResource describes a user's principal.
func PrincipalResource(u *store.User) *dav.Resource {
	return &dav.Resource{Path: PrincipalPath(u.Name), Collection: true,
		Types: []xml.Name{dav.Name("principal")}, Data: &Principal{User: u}}
}

// GroupResource describes a group's principal.
func GroupResource(g *store.Group) *dav.Resource {
	return &dav.Resource{Path: GroupPath(g.Name), Collection: true,
		Types: []xml.Name{dav.Name("principal")}, Data: &GroupPrincipal{Group: g}}
}

// resolvePrincipal resolves segs below /dav/principals/: every signed-in
// user may see another's principal (their name and addresses, what
// sharing and invitations need); only its owner sees its proxy groups.
func (t *Tree) resolvePrincipal(ctx context.Context, segs []string, trailing bool) (*dav.Resource, error) {
	if len(segs) > 2 {
		return nil, notFound()
	}
	u, err := t.svc.Profile(ctx, segs[0])
	if err != nil {
		return nil, err
	}
	if len(segs) == 1 {
		return PrincipalResource(u), nil
	}
	if u.Name != domain.Principal(ctx) && domain.Principal(ctx) != "" {
		return nil, notFound()
	}
	switch segs[1] {
	case proxyWriteSegment:
		return proxyResource(u.Name, true), nil
	case proxyReadSegment:
		return proxyResource(u.Name, false), nil
	}
	return nil, notFound()
}

// resolveGroup resolves segs below /dav/groups/; a group's principal is
// visible to its current members.
func (t *Tree) resolveGroup(ctx context.Context, segs []string) (*dav.Resource, error) {
	if len(segs) == 0 || segs[0] == "" {
		return &dav.Resource{Path: groupsPath, Collection: true, Data: &GroupList{}}, nil
	}
	if len(segs) > 1 {
		return nil, notFound()
	}
	g, err := t.svc.Group(ctx, segs[0])
	if err != nil {
		return nil, err
	}
	return GroupResource(g), nil
}

// resolveNotifications resolves a user's notification collection; only
// the user sees it.
func (t *Tree) resolveNotifications(ctx context.Context, segs []string) (*dav.Resource, error) {
	if len(segs) != 1 || segs[0] == "" {
		return nil, notFound()
	}
	if p := domain.Principal(ctx); p != "" && p != segs[0] {
		return nil, notFound()
	}
	if _, err := t.svc.User(ctx, segs[0]); err != nil {
		return nil, err
	}
	return &dav.Resource{Path: NotificationsPath(segs[0]), Collection: true,
		Types: []xml.Name{{Space: dav.NSCalServer, Local: "notification"}}, Data: &Notifications{User: segs[0]}}, nil
}

// PrincipalOfHref returns the user or group a principal href names: a
// user's principal path, "mailto:" one of their addresses, or a group's
// principal path. kind is "user" or "group"; ok is false when it names
// nobody known.
func (t *Tree) PrincipalOfHref(ctx context.Context, href string) (kind, name string, ok bool) {
	href = strings.TrimSpace(href)
	if addr, found := strings.CutPrefix(strings.ToLower(href), "mailto:"); found {
		u, err := t.svc.UserByEmail(ctx, addr)
		if err != nil {
			return "", "", false
		}
		return "user", u.Name, true
	}
	p, valid := dav.HrefPath(href)
	if !valid {
		return "", "", false
	}
	p = strings.TrimSuffix(p, "/") + "/"
	if rest, found := strings.CutPrefix(p, principalsPath); found && strings.Count(rest, "/") == 1 {
		name := strings.TrimSuffix(rest, "/")
		if _, err := t.svc.Profile(ctx, name); err == nil {
			return "user", name, true
		}
	}
	if rest, found := strings.CutPrefix(p, groupsPath); found && strings.Count(rest, "/") == 1 {
		name := strings.TrimSuffix(rest, "/")
		if _, err := t.svc.Group(ctx, name); err == nil {
			return "group", name, true
		}
	}
	return "", "", false
}

// patchProxy applies a PROPPATCH of one of the user's proxy groups: a set
// of group-member-set replaces that group's members (Apple's delegation
// UI); nothing else of it can change.
func (t *Tree) patchProxy(ctx context.Context, r *dav.Resource, d *ProxyGroup, ops []dav.PropOp) error {
	for _, op := range ops {
		if op.Prop.Name != dav.Name("group-member-set") {
			return &dav.PropError{Name: op.Prop.Name, Err: dav.Precondition(http.StatusForbidden, dav.Name("cannot-modify-protected-property"), "")}
		}
		var members []string
		if !op.Remove {
			hrefs, err := op.Prop.Hrefs()
			if err != nil {
				return &dav.PropError{Name: op.Prop.Name, Err: dav.Errorf(http.StatusBadRequest, "%v", err)}
			}
			for _, h := range hrefs {
				kind, name, ok := t.PrincipalOfHref(ctx, h)
				if !ok || kind != "user" {
					return &dav.PropError{Name: op.Prop.Name, Err: dav.Precondition(http.StatusConflict, dav.Name("recognized-principal"), "no user "+h)}
				}
				members = append(members, name)
			}
		}
		if err := t.svc.SetDelegates(ctx, d.Owner, d.Write, members); err != nil {
			return &dav.PropError{Name: op.Prop.Name, Err: dav.AsError(mapErrorAt(err, r.Path))}
		}
	}
	return nil
}
