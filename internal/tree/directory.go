package tree

import (
	"context"
	"encoding/xml"
	"strings"

	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
)

// The directory address book (see domain.Directory) appears in every
// user's address book home under domain.DirectoryName, because clients
// (Apple Contacts, Thunderbird, DAVx5) follow only the home the principal
// names. It is read-only: every write in it is refused with need-privileges.
//
// Its resourcetype adds CARDDAV:directory to CARDDAV:addressbook, and the
// principal's CARDDAV:directory-gateway names it, as Apple's Calendar and
// Contacts Server and sabre/dav present a server's directory: that is
// where Apple Contacts, which syncs one address book per account, looks
// for a directory to search. Other clients ignore the extra element.
//
// It offers no sync-collection (CalendarServer's directory does not
// either): its cards are built from profiles, with no change log from
// which to tell a client what was removed since a token. Without the
// report in supported-report-set, and without a DAV:sync-token, clients
// fall back to comparing getctag and the members' ETags, which finds
// removals too.

// Directory is the directory address book in User's home.
type Directory struct {
	User   string
	target domain.Target
}

// Target implements Container.
func (d *Directory) Target() domain.Target { return d.target }

// Path implements Container.
func (d *Directory) Path() string { return DirectoryPath(d.User) }

// DirectoryPath returns the path of the directory in user's address book
// home.
func DirectoryPath(user string) string { return BookHomePath(user) + domain.DirectoryName + "/" }

func (t *Tree) directoryResource(user string) *dav.Resource {
	r := &dav.Resource{Path: DirectoryPath(user), Collection: true, Data: &Directory{User: user, target: t.svc.DirectoryTarget()}}
	for _, k := range t.kinds {
		if k.Kind == store.KindAddressBook {
			r.Types = append(r.Types, k.Type, xml.Name{Space: dav.NSCardDAV, Local: "directory"})
		}
	}
	return r
}

// resolveDirectory resolves a path below user's address book home that
// names the directory or a card in it; handled is false for other paths.
func (t *Tree) resolveDirectory(ctx context.Context, user string, segs []string, trailing bool) (res *dav.Resource, handled bool, err error) {
	if segs[0] != domain.DirectoryName {
		return nil, false, nil
	}
	if _, err := t.svc.User(ctx, user); err != nil {
		return nil, true, err // another user's home
	}
	dir := t.directoryResource(user)
	switch {
	case len(segs) == 1:
		return dir, true, nil
	case len(segs) == 2 && !trailing:
		res, err := t.resolveItem(ctx, dir.Data.(*Directory), segs[1])
		return res, true, err
	}
	return nil, true, notFound()
}

// inDirectory reports whether p is the directory of an address book home
// or lies inside it.
func inDirectory(p string) bool {
	_, name, books, ok := homeAndName(p)
	first, _, _ := strings.Cut(name, "/")
	return ok && books && first == domain.DirectoryName
}

// refuseDirectoryWrite is the answer to act on the directory at p, or on
// something at p inside it: need-privileges.
func refuseDirectoryWrite(act domain.Action, p string) error {
	return mapErrorAt(domain.DirectoryReadOnly(act), p)
}
