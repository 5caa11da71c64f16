package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"koyomi.dev/koyomi/internal/connector"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
)

// vcJSON is a virtual calendar as its owner sees it in the API.
type vcJSON struct {
	ID          int64         `json:"id"`
	Name        string        `json:"name"`
	DisplayName string        `json:"displayname"`
	Color       string        `json:"color"`
	Version     int64         `json:"version"`
	Definition  domain.VCNode `json:"definition"`
	SharedWith  []string      `json:"shared_with"`
	WriteTarget string        `json:"write_target"`
	// URL is where the owner's own view appears to their DAV clients.
	URL      string    `json:"url"`
	Modified time.Time `json:"modified"`
	// Feeds are the connectors that fill calendars this one reads, with
	// how old each local copy is (views answer from the copies, never
	// from the remote).
	Feeds []connector.View `json:"feeds,omitempty"`
}

// feeds returns the owner's connectors that fill a calendar named in def.
func (h *Handler) feeds(r *http.Request, owner string, def domain.VCNode) ([]connector.View, error) {
	if h.conns == nil {
		return nil, nil
	}
	calendars := map[string]bool{}
	var walk func(n *domain.VCNode)
	walk = func(n *domain.VCNode) {
		if n == nil {
			return
		}
		if n.Calendar != "" {
			calendars[n.Calendar] = true
		}
		walk(n.Of)
		for i := range n.Union {
			walk(&n.Union[i])
		}
	}
	walk(&def)
	cs, err := h.conns.List(r.Context(), owner)
	if err != nil || len(cs) == 0 {
		return nil, err
	}
	views, err := h.conns.Describe(r.Context(), cs...)
	if err != nil {
		return nil, err
	}
	var out []connector.View
	for _, v := range views {
		if calendars[v.Calendar] && v.Direction != connector.PushOnly {
			out = append(out, v)
		}
	}
	return out, nil
}

func (h *Handler) toVCJSON(caller string, vc *store.VirtualCalendar) vcJSON {
	spec := domain.SpecOf(vc)
	shared := spec.SharedWith
	if shared == nil {
		shared = []string{}
	}
	return vcJSON{ID: vc.ID, Name: vc.Name, DisplayName: vc.DisplayName, Color: vc.Color, Version: vc.Version,
		Definition: spec.Definition, SharedWith: shared, WriteTarget: spec.WriteTarget,
		URL: h.viewPath(caller, vc.ID), Modified: vc.Modified}
}

// caller is the authenticated user (ServeHTTP refuses requests without).
func caller(r *http.Request) string { return domain.Principal(r.Context()) }

func (h *Handler) listVCs(w http.ResponseWriter, r *http.Request) error {
	me := caller(r)
	vcs, err := h.svc.OwnedVCs(r.Context(), me)
	if err != nil {
		return err
	}
	out := make([]vcJSON, 0, len(vcs))
	for _, vc := range vcs {
		out = append(out, h.toVCJSON(me, vc))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// bodyError reports a failed create or update. A "not found" there names
// something the definition refers to (a calendar, a VC, a group), so it is
// the request's fault, not a missing resource.
func bodyError(err error) error {
	if errors.Is(err, domain.ErrNotFound) {
		return badRequest(err)
	}
	return err
}

func (h *Handler) createVC(w http.ResponseWriter, r *http.Request) error {
	var spec domain.VCSpec
	if err := decode(w, r, &spec); err != nil {
		return err
	}
	me := caller(r)
	vc, err := h.svc.CreateVC(r.Context(), me, spec)
	if err != nil {
		return bodyError(err)
	}
	w.Header().Set("Location", Prefix+"vcs/"+vc.Name)
	writeJSON(w, http.StatusCreated, h.toVCJSON(me, vc))
	return nil
}

func (h *Handler) getVC(w http.ResponseWriter, r *http.Request) error {
	me := caller(r)
	vc, _, err := h.svc.VC(r.Context(), me, r.PathValue("name"))
	if err != nil {
		return err
	}
	out := h.toVCJSON(me, vc)
	if out.Feeds, err = h.feeds(r, me, out.Definition); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) updateVC(w http.ResponseWriter, r *http.Request) error {
	var spec domain.VCSpec
	if err := decode(w, r, &spec); err != nil {
		return err
	}
	me, name := caller(r), r.PathValue("name")
	if spec.Name != "" && spec.Name != name {
		return &Error{Status: http.StatusBadRequest,
			Msg: fmt.Sprintf("the body names %q but the URL %q: virtual calendars cannot be renamed", spec.Name, name)}
	}
	// Look the calendar up first so that a missing one is 404 and a
	// missing reference in the new definition 400.
	if _, _, err := h.svc.VC(r.Context(), me, name); err != nil {
		return err
	}
	vc, err := h.svc.UpdateVC(r.Context(), me, name, spec)
	if err != nil {
		return bodyError(err)
	}
	writeJSON(w, http.StatusOK, h.toVCJSON(me, vc))
	return nil
}

func (h *Handler) deleteVC(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.DeleteVC(r.Context(), caller(r), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type previewObject struct {
	Name string `json:"name"`
	ETag string `json:"etag"`
	ICS  string `json:"ics"`
}

type previewJSON struct {
	Viewer  string          `json:"viewer"`
	Start   string          `json:"start"`
	End     string          `json:"end"` // inclusive
	Objects []previewObject `json:"objects"`
}

func (h *Handler) previewVC(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	me := caller(r)
	viewer := q.Get("as")
	if viewer == "" {
		viewer = me
	}
	tr, err := domain.PreviewRange(q.Get("start"), q.Get("end"), h.svc.Now())
	if err != nil {
		return err
	}
	objs, err := h.svc.PreviewVC(r.Context(), me, r.PathValue("name"), viewer, tr)
	if err != nil {
		return err
	}
	out := previewJSON{Viewer: viewer, Start: tr.Start.Format(time.DateOnly),
		End: tr.End.AddDate(0, 0, -1).Format(time.DateOnly), Objects: make([]previewObject, 0, len(objs))}
	for _, o := range objs {
		out.Objects = append(out.Objects, previewObject{Name: o.Name, ETag: o.ETag, ICS: string(o.Data)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// visibleJSON is a view someone shared with the caller (or their own), as
// the caller sees it: their own name, colour, order, hidden flag and
// subscription where they set them.
type visibleJSON struct {
	ID          int64  `json:"id"`
	Owner       string `json:"owner"` // a user, or "group:NAME" for a group's calendar
	Name        string `json:"name"`
	DisplayName string `json:"displayname"`
	Color       string `json:"color"`
	Order       int    `json:"order"`
	Hidden      bool   `json:"hidden"`
	Subscribed  bool   `json:"subscribed"`
	URL         string `json:"url"`
	Writable    bool   `json:"writable"`
}

func (h *Handler) toVisibleJSON(v *domain.VCView) visibleJSON {
	return visibleJSON{ID: v.VC.ID, Owner: v.VC.Owner, Name: v.VC.Name, DisplayName: v.DisplayName(), Color: v.Color(),
		Order: v.Order(), Hidden: v.Hidden(), Subscribed: v.Subscribed(), URL: h.viewPath(v.Viewer, v.VC.ID), Writable: v.Writable()}
}

func (h *Handler) visible(w http.ResponseWriter, r *http.Request) error {
	views, err := h.svc.VisibleVCs(r.Context(), caller(r))
	if err != nil {
		return err
	}
	out := make([]visibleJSON, 0, len(views))
	for _, v := range views {
		out = append(out, h.toVisibleJSON(v))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// viewID reads the {id} of a visible view's path.
func viewID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &Error{Status: http.StatusNotFound, Msg: "no such view"}
	}
	return id, nil
}

func (h *Handler) visibleOne(w http.ResponseWriter, r *http.Request) error {
	id, err := viewID(r)
	if err != nil {
		return err
	}
	v, err := h.svc.ViewVC(r.Context(), caller(r), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.toVisibleJSON(v))
	return nil
}

// subscribe changes the caller's own settings of a view they see:
// {"displayname", "color", "order", "hidden", "subscribed"}, each optional.
func (h *Handler) subscribe(w http.ResponseWriter, r *http.Request) error {
	id, err := viewID(r)
	if err != nil {
		return err
	}
	var change domain.Subscription
	if err := decode(w, r, &change); err != nil {
		return err
	}
	v, err := h.svc.SetSubscription(r.Context(), caller(r), id, change)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.toVisibleJSON(v))
	return nil
}
