package davacl

import (
	"context"
	"encoding/xml"
	"net/http"
	"strings"

	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/tree"
)

// maxSearchResults bounds one principal-property-search answer.
const maxSearchResults = 50

// searchable are the properties principals can be searched by, with what
// of a user each matches and how clients are told about it.
var searchable = map[xml.Name]struct {
	values      func(u *store.User) []string
	description string
}{
	dav.Name("displayname"):                                   {func(u *store.User) []string { return []string{u.Name, u.DisplayName} }, "Display name"},
	{Space: dav.NSCalDAV, Local: "calendar-user-address-set"}: {func(u *store.User) []string { return []string{"mailto:" + u.Email} }, "Calendar address"},
	CS("email-address-set"):                                   {func(u *store.User) []string { return []string{u.Email} }, "E-mail address"},
	CS("first-name"):                                          {func(u *store.User) []string { return []string{firstWord(u.DisplayName)} }, "First name"},
	CS("last-name"):                                           {func(u *store.User) []string { return []string{lastWord(u.DisplayName)} }, "Last name"},
}

func firstWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func lastWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

// propertySearch is one DAV:property-search of a request.
type propertySearch struct {
	props      []xml.Name
	match      string
	startsWith bool
}

func (ps propertySearch) matches(u *store.User) bool {
	needle := strings.ToLower(ps.match)
	for _, p := range ps.props {
		s, ok := searchable[p]
		if !ok {
			continue
		}
		for _, v := range s.values(u) {
			v = strings.ToLower(v)
			if ps.startsWith && strings.HasPrefix(v, needle) || !ps.startsWith && strings.Contains(v, needle) {
				return true
			}
		}
	}
	return false
}

// principalPropertySearch answers RFC 3744 9.4's REPORT: the principals
// whose properties match, with the properties asked for. Every signed-in
// user may search (Apple's sharee and attendee autocomplete).
func (a *acl) principalPropertySearch(ctx context.Context, w http.ResponseWriter, req *http.Request, r *dav.Resource, d *dav.Decoder, depth int) error {
	if depth != 0 {
		return dav.Errorf(http.StatusBadRequest, "principal-property-search takes Depth: 0")
	}
	var searches []propertySearch
	var pr dav.PropRequest
	anyOf := false
	if root, ok := d.RootElement(); ok {
		if t, ok := dav.Attr(root, "test"); ok && t == "anyof" {
			anyOf = true
		}
	}
	err := d.Each(func(se xml.StartElement) error {
		if ok, err := dav.ReadReportProps(d, se, &pr, xml.Name{}, nil); ok || err != nil {
			return err
		}
		if se.Name != dav.Name("property-search") {
			return d.Skip()
		}
		var s propertySearch
		err := d.Each(func(el xml.StartElement) error {
			switch el.Name {
			case dav.Name("prop"):
				names, err := d.Names()
				s.props = names
				return err
			case dav.Name("match"):
				if mt, ok := dav.Attr(el, "match-type"); ok && mt == "starts-with" {
					s.startsWith = true
				}
				m, err := d.Text()
				s.match = strings.TrimSpace(m)
				return err
			}
			return d.Skip()
		})
		searches = append(searches, s)
		return err
	})
	if err != nil {
		return err
	}
	if len(searches) == 0 {
		return dav.Errorf(http.StatusBadRequest, "principal-property-search needs a property-search")
	}
	for _, s := range searches {
		for _, p := range s.props {
			if _, ok := searchable[p]; !ok {
				return dav.Errorf(http.StatusBadRequest, "principals cannot be searched by %s (see principal-search-property-set)", p.Local)
			}
		}
	}
	users, err := a.svc.Profiles(ctx)
	if err != nil {
		return err
	}
	var resources []*dav.Resource
	truncated := ""
	for _, u := range users {
		ok := !anyOf
		for _, s := range searches {
			if anyOf {
				ok = ok || s.matches(u)
			} else {
				ok = ok && s.matches(u)
			}
		}
		if !ok {
			continue
		}
		if len(resources) == maxSearchResults {
			truncated = r.Path
			break
		}
		resources = append(resources, tree.PrincipalResource(u))
	}
	return a.h.WriteResources(ctx, w, resources, pr, nil, truncated)
}

// principalSearchPropertySet answers RFC 3744 9.5's REPORT: what
// principals can be searched by.
func (a *acl) principalSearchPropertySet(ctx context.Context, w http.ResponseWriter, req *http.Request, r *dav.Resource, d *dav.Decoder, depth int) error {
	if err := d.Skip(); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n" + `<D:principal-search-property-set xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CS="http://calendarserver.org/ns/">`)
	for _, n := range []xml.Name{dav.Name("displayname"), {Space: dav.NSCalDAV, Local: "calendar-user-address-set"}, CS("email-address-set"), CS("first-name"), CS("last-name")} {
		prefix := "D:"
		switch n.Space {
		case dav.NSCalDAV:
			prefix = "C:"
		case dav.NSCalServer:
			prefix = "CS:"
		}
		b.WriteString("<D:principal-search-property><D:prop><" + prefix + n.Local + "/></D:prop><D:description xml:lang=\"en\">" +
			searchable[n].description + "</D:description></D:principal-search-property>")
	}
	b.WriteString("</D:principal-search-property-set>")
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write([]byte(b.String()))
	return err
}
