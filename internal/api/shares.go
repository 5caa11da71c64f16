package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/publiclink"
	"koyomi.dev/koyomi/internal/store"
)

// Sharing. A collection is addressed two ways: the caller's own by its
// name in their home (collections/{name}, a nested name with its "/"
// escaped as %2F), and one shared with the caller by its ID
// (shared/{id}), which stays the same when its owner renames it. Both
// have the same grants and links below them; who may use them is the
// domain's to say (the owner and the collection's admins).

// grantJSON is one grant on a collection.
type grantJSON struct {
	Grantee string    `json:"grantee"`
	Level   string    `json:"level"`
	Created time.Time `json:"created"`
}

func toGrantJSON(g *store.Grant) grantJSON {
	return grantJSON{Grantee: g.Grantee, Level: g.Level, Created: g.Created}
}

// collectionFunc finds the collection a request addresses.
type collectionFunc func(r *http.Request) (*store.Collection, error)

// ownCollection is the caller's collection {name}.
func (h *Handler) ownCollection(r *http.Request) (*store.Collection, error) {
	return h.svc.Collection(r.Context(), caller(r), r.PathValue("name"))
}

// sharedCollection is the collection {id} shared with the caller (or
// theirs). One that does not exist and one the caller may not see are
// answered alike: IDs are counted, and an answer that said whose an ID is
// would let anyone map every collection to its owner.
func (h *Handler) sharedCollection(r *http.Request) (*store.Collection, error) {
	id, err := shareID(r)
	if err != nil {
		return nil, err
	}
	c, _, err := h.svc.CollectionByID(r.Context(), id)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, errNoShare(err)
	}
	return c, err
}

// errNoShare is the answer for a shared collection that is not there (to
// the caller), with the cause for the log.
func errNoShare(cause error) error {
	return &Error{Status: http.StatusNotFound, Msg: "no such shared collection", Err: cause}
}

// shareID reads the {id} of a shared collection's path.
func shareID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNoShare(nil)
	}
	return id, nil
}

func (h *Handler) listGrants(find collectionFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := find(r)
		if err != nil {
			return err
		}
		grants, err := h.svc.Grants(r.Context(), c)
		if err != nil {
			return err
		}
		out := make([]grantJSON, 0, len(grants))
		for _, g := range grants {
			out = append(out, toGrantJSON(g))
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}

// putGrant grants {grantee} the level the body names, replacing the
// grant they had.
func (h *Handler) putGrant(find collectionFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var body struct {
			Level string `json:"level"`
		}
		if err := decode(w, r, &body); err != nil {
			return err
		}
		c, err := find(r)
		if err != nil {
			return err
		}
		level, err := domain.ParseGrantLevel(body.Level)
		if err != nil {
			return err
		}
		g, err := h.svc.Share(r.Context(), c, r.PathValue("grantee"), level)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toGrantJSON(g))
		return nil
	}
}

func (h *Handler) deleteGrant(find collectionFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := find(r)
		if err != nil {
			return err
		}
		if err := h.svc.Unshare(r.Context(), c, r.PathValue("grantee")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// shareJSON is a collection shared with the caller, as they see it: their
// own name, colour, order and hidden flag where they set them, else the
// owner's.
type shareJSON struct {
	ID    int64      `json:"id"`
	Owner string     `json:"owner"`
	Name  string     `json:"name"` // in the owner's home
	Kind  store.Kind `json:"kind"`
	Level string     `json:"level"`
	// Delegated: the access comes from being the owner's delegate.
	Delegated bool `json:"delegated"`
	// URL is where it appears in the caller's home to their DAV clients.
	URL         string `json:"url"`
	DisplayName string `json:"displayname"`
	Color       string `json:"color"`
	Order       int    `json:"order"`
	Hidden      bool   `json:"hidden"`
}

func (h *Handler) toShareJSON(me string, sh *domain.Share) shareJSON {
	return shareJSON{ID: sh.Coll.ID, Owner: sh.Coll.Owner, Name: sh.Coll.Name, Kind: sh.Coll.Kind, Level: sh.Level.String(),
		Delegated: sh.Delegated, URL: h.sharePath(me, sh),
		DisplayName: sh.DisplayName(), Color: sh.Color(), Order: sh.Order(), Hidden: sh.Hidden()}
}

func (h *Handler) listShared(w http.ResponseWriter, r *http.Request) error {
	me := caller(r)
	shares, err := h.svc.SharedWith(r.Context(), me)
	if err != nil {
		return err
	}
	out := make([]shareJSON, 0, len(shares))
	for _, sh := range shares {
		out = append(out, h.toShareJSON(me, sh))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// share finds the collection {id} among those shared with the caller.
func (h *Handler) share(r *http.Request) (*domain.Share, error) {
	id, err := shareID(r)
	if err != nil {
		return nil, err
	}
	shares, err := h.svc.SharedWith(r.Context(), caller(r))
	if err != nil {
		return nil, err
	}
	for _, sh := range shares {
		if sh.Coll.ID == id {
			return sh, nil
		}
	}
	return nil, errNoShare(nil)
}

func (h *Handler) getShared(w http.ResponseWriter, r *http.Request) error {
	sh, err := h.share(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.toShareJSON(caller(r), sh))
	return nil
}

// patchShared changes the caller's own settings of a share; those the
// body leaves out stay, and the owner's are untouched.
func (h *Handler) patchShared(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		DisplayName *string `json:"displayname"`
		Color       *string `json:"color"`
		Order       *int    `json:"order"`
		Hidden      *bool   `json:"hidden"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	sh, err := h.share(r)
	if err != nil {
		return err
	}
	me := caller(r)
	change := domain.ShareChange{Personal: domain.Personal{DisplayName: body.DisplayName, Color: body.Color, Order: body.Order}, Hidden: body.Hidden}
	if err := h.svc.SetShareSettings(r.Context(), me, sh, change); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.toShareJSON(me, sh))
	return nil
}

// leaveShared gives up the grant made to the caller, which removes the
// share from their home.
func (h *Handler) leaveShared(w http.ResponseWriter, r *http.Request) error {
	sh, err := h.share(r)
	if err != nil {
		return err
	}
	if _, err := h.svc.LeaveShare(r.Context(), sh); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// delegateJSON is one of the caller's delegates, who reads all of their
// calendars and, with write, changes them.
type delegateJSON struct {
	Delegate string    `json:"delegate"`
	Write    bool      `json:"write"`
	Created  time.Time `json:"created"`
}

func (h *Handler) listDelegates(w http.ResponseWriter, r *http.Request) error {
	ds, err := h.svc.Delegates(r.Context(), caller(r))
	if err != nil {
		return err
	}
	out := make([]delegateJSON, 0, len(ds))
	for _, d := range ds {
		out = append(out, delegateJSON{Delegate: d.Delegate, Write: d.Write, Created: d.Created})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// writeDelegate answers with one of the caller's delegates.
func (h *Handler) writeDelegate(w http.ResponseWriter, r *http.Request, delegate string) error {
	ds, err := h.svc.Delegates(r.Context(), caller(r))
	if err != nil {
		return err
	}
	for _, d := range ds {
		if d.Delegate == delegate {
			writeJSON(w, http.StatusOK, delegateJSON{Delegate: d.Delegate, Write: d.Write, Created: d.Created})
			return nil
		}
	}
	return fmt.Errorf("delegate %s vanished", delegate)
}

// putDelegate makes {user} the caller's delegate, reading (the default)
// or, with "write": true, also writing their calendars.
func (h *Handler) putDelegate(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Write bool `json:"write"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	delegate := r.PathValue("user")
	if err := h.svc.SetDelegate(r.Context(), caller(r), delegate, body.Write); err != nil {
		return err
	}
	return h.writeDelegate(w, r, delegate)
}

func (h *Handler) deleteDelegate(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.RemoveDelegate(r.Context(), caller(r), r.PathValue("user")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// linkJSON is a public link: Path, on this server, reads Calendar or VC
// (in Owner's home) without signing in.
type linkJSON struct {
	Token    string    `json:"token"`
	Path     string    `json:"path"`
	Owner    string    `json:"owner"`
	Calendar string    `json:"calendar,omitempty"`
	VC       string    `json:"vc,omitempty"`
	Created  time.Time `json:"created"`
}

func toLinkJSON(l *domain.PublicLink) linkJSON {
	return linkJSON{Token: l.Token, Path: publiclink.Path(l.Token), Owner: l.Owner, Calendar: l.Calendar, VC: l.VC,
		Created: l.Created}
}

func writeLinks(w http.ResponseWriter, links []*domain.PublicLink, keep func(*domain.PublicLink) bool) {
	out := make([]linkJSON, 0, len(links))
	for _, l := range links {
		if keep == nil || keep(l) {
			out = append(out, toLinkJSON(l))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// listLinks answers with every link to the caller's calendars and
// views, whoever made it.
func (h *Handler) listLinks(w http.ResponseWriter, r *http.Request) error {
	links, err := h.svc.PublicLinks(r.Context(), caller(r))
	if err != nil {
		return err
	}
	writeLinks(w, links, nil)
	return nil
}

func (h *Handler) revokeLink(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.RevokePublicLink(r.Context(), r.PathValue("token")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) collectionLinks(find collectionFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := find(r)
		if err != nil {
			return err
		}
		links, err := h.svc.CollectionPublicLinks(r.Context(), c)
		if err != nil {
			return err
		}
		writeLinks(w, links, nil)
		return nil
	}
}

func (h *Handler) createCollectionLink(find collectionFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := find(r)
		if err != nil {
			return err
		}
		l, err := h.svc.CreatePublicLink(r.Context(), c)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, toLinkJSON(l))
		return nil
	}
}

func (h *Handler) vcLinks(w http.ResponseWriter, r *http.Request) error {
	me, name := caller(r), r.PathValue("name")
	vc, _, err := h.svc.VC(r.Context(), me, name)
	if err != nil {
		return err
	}
	links, err := h.svc.PublicLinks(r.Context(), me)
	if err != nil {
		return err
	}
	writeLinks(w, links, func(l *domain.PublicLink) bool { return l.VCID == vc.ID })
	return nil
}

func (h *Handler) createVCLink(w http.ResponseWriter, r *http.Request) error {
	l, err := h.svc.CreateVCPublicLink(r.Context(), caller(r), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toLinkJSON(l))
	return nil
}
