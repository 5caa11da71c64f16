package davacl

import (
	"bytes"
	"encoding/xml"
	"errors"
	"mime"
	"net/http"

	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/tree"
)

// shareChange is one instruction of a CS:share body.
type shareChange struct {
	href    string
	grantee string
	level   domain.Level // LevelNone: remove
}

// post answers a POST to a collection: CalendarServer's CS:share, by which
// Apple Calendar shares and un-shares from its own interface (sharing the
// collection needs the share privilege: its owner or an admin), and
// CS:share-reply, by which a sharee declines (shares need no accepting);
// and a POST of iCalendar or vCard data, which imports it (importPost).
func (a *acl) post(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	res, err := a.h.Backend.Resolve(ctx, dav.CleanPath(r.URL.Path))
	if err != nil {
		return err
	}
	d, ok := res.Data.(*tree.Collection)
	if !ok || !shareable(d.Collection) {
		return dav.Errorf(http.StatusMethodNotAllowed, "POST applies to calendars and address books")
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case err == nil && (mt == "text/calendar" || mt == "text/vcard" || mt == "text/x-vcard"):
		return a.importPost(w, r, d)
	case err != nil || (mt != "application/xml" && mt != "text/xml"):
		return dav.Errorf(http.StatusUnsupportedMediaType, "POST takes an XML body (application/xml), or text/calendar or text/vcard data to import")
	}
	body, err := a.h.ReadBody(r)
	if err != nil {
		return err
	}
	dec := a.h.XMLLimits.NewDecoder(bytes.NewReader(body))
	root, err := dec.Root()
	if err != nil {
		return err
	}
	c := d.Stored()
	switch root.Name {
	case CS("share"):
		changes, err := a.readShare(r, dec)
		if err != nil {
			return err
		}
		for _, ch := range changes {
			if ch.level == domain.LevelNone {
				err = a.svc.Unshare(ctx, c, ch.grantee)
				if errorsIsNotFound(err) {
					err = nil // removing who has no grant changes nothing
				}
			} else {
				_, err = a.svc.Share(ctx, c, ch.grantee, ch.level)
			}
			if err != nil {
				return err
			}
		}
		w.WriteHeader(http.StatusOK)
		return nil
	case CS("share-reply"):
		if d.Share == nil {
			return dav.Errorf(http.StatusForbidden, "a share-reply answers a share made to you")
		}
		accept := false
		if err := dec.Each(func(se xml.StartElement) error {
			if se.Name == CS("invite-accepted") {
				accept = true
			}
			return dec.Skip()
		}); err != nil {
			return err
		}
		if !accept {
			if err := a.svc.Unshare(ctx, c, "user:"+domain.Principal(ctx)); err != nil {
				return err
			}
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
	return dav.Errorf(http.StatusBadRequest, "unsupported POST body %s", root.Name.Local)
}

// readShare reads CS:set and CS:remove instructions, resolving every href
// to a user or group before anything changes.
func (a *acl) readShare(r *http.Request, dec *dav.Decoder) ([]shareChange, error) {
	var out []shareChange
	err := dec.Each(func(se xml.StartElement) error {
		if se.Name != CS("set") && se.Name != CS("remove") {
			return dec.Skip()
		}
		ch := shareChange{level: domain.LevelNone}
		if se.Name == CS("set") {
			ch.level = domain.LevelRead
		}
		if err := dec.Each(func(el xml.StartElement) error {
			switch el.Name {
			case dav.Name("href"):
				h, err := dec.Text()
				ch.href = h
				return err
			case CS("read-write"):
				if se.Name == CS("set") {
					ch.level = domain.LevelReadWrite
				}
			}
			return dec.Skip()
		}); err != nil {
			return err
		}
		kind, name, ok := a.t.PrincipalOfHref(r.Context(), ch.href)
		if !ok {
			return dav.Precondition(http.StatusForbidden, dav.Name("recognized-principal"), "no user or group "+ch.href)
		}
		ch.grantee = kind + ":" + name
		out = append(out, ch)
		return nil
	})
	if err == nil && len(out) == 0 {
		err = dav.Errorf(http.StatusBadRequest, "CS:share holds no set or remove")
	}
	return out, err
}

func errorsIsNotFound(err error) bool { return errors.Is(err, domain.ErrNotFound) }
