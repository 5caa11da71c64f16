package api

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
)

// collectionJSON is one of the caller's calendars or address books.
type collectionJSON struct {
	Name        string    `json:"name"`
	Kind        string    `json:"kind"`
	DisplayName string    `json:"displayname"`
	Color       string    `json:"color"`
	Description string    `json:"description"`
	Components  []string  `json:"components,omitempty"`
	TimeZone    string    `json:"timezone,omitempty"`
	Objects     int       `json:"objects"`
	SyncToken   string    `json:"sync_token"`
	Modified    time.Time `json:"modified"`
}

// collectionBody is what POST and PATCH take: for PATCH, fields left out
// stay as they are.
type collectionBody struct {
	Name        string    `json:"name"`
	Kind        string    `json:"kind"`
	DisplayName *string   `json:"displayname"`
	Color       *string   `json:"color"`
	Description *string   `json:"description"`
	Components  *[]string `json:"components"`
	TimeZone    *string   `json:"timezone"`
}

func (b collectionBody) settings() domain.CollectionSettings {
	cs := domain.CollectionSettings{DisplayName: b.DisplayName, Color: b.Color, Description: b.Description, TimeZone: b.TimeZone}
	if b.Components != nil {
		cs.Components = append([]string{}, *b.Components...)
	}
	return cs
}

func (h *Handler) toCollectionJSON(r *http.Request, c *store.Collection) (collectionJSON, error) {
	objs, err := h.svc.ListObjects(r.Context(), c, false)
	if err != nil {
		return collectionJSON{}, err
	}
	return collectionJSON{Name: c.Name, Kind: string(c.Kind), DisplayName: c.DisplayName, Color: c.Color,
		Description: c.Description, Components: c.Components, TimeZone: domain.TimeZoneName(c), Objects: len(objs),
		SyncToken: domain.SyncToken(c), Modified: c.Modified}, nil
}

// ensureHomes gives the caller their default calendar and address book,
// as their first DAV request would.
func (h *Handler) ensureHomes(ctx context.Context, user string) error {
	for _, kind := range []store.Kind{store.KindCalendar, store.KindAddressBook} {
		if err := h.svc.EnsureHome(ctx, user, kind); err != nil {
			return err
		}
	}
	return nil
}

// listCollections lists the caller's calendars and address books (plain
// WebDAV collections are a client's own business and are left out).
func (h *Handler) listCollections(w http.ResponseWriter, r *http.Request) error {
	me := caller(r)
	if err := h.ensureHomes(r.Context(), me); err != nil {
		return err
	}
	colls, err := h.svc.Collections(r.Context(), me)
	if err != nil {
		return err
	}
	out := []collectionJSON{}
	for _, c := range colls {
		if c.Kind == store.KindPlain {
			continue
		}
		cj, err := h.toCollectionJSON(r, c)
		if err != nil {
			return err
		}
		out = append(out, cj)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// createCollection creates a calendar or address book of the caller's:
// {"name", "kind" (calendar or addressbook), "displayname", "color",
// "description", "components", "timezone"}.
func (h *Handler) createCollection(w http.ResponseWriter, r *http.Request) error {
	var body collectionBody
	if err := decode(w, r, &body); err != nil {
		return err
	}
	me := caller(r)
	if err := h.ensureHomes(r.Context(), me); err != nil {
		return err
	}
	c, err := h.svc.CreateCollectionWith(r.Context(), me, body.Name, store.Kind(body.Kind), body.settings())
	if errors.Is(err, domain.ErrExists) {
		return &Error{Status: http.StatusConflict, Msg: "you already have a collection named " + body.Name, Err: err}
	}
	if err != nil {
		return err
	}
	cj, err := h.toCollectionJSON(r, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, cj)
	return nil
}

// managedCollection is the caller's calendar or address book {name}.
func (h *Handler) managedCollection(r *http.Request) (*store.Collection, error) {
	c, err := h.ownCollection(r)
	if err == nil && c.Kind == store.KindPlain {
		err = domain.ErrNotFound
	}
	if errors.Is(err, domain.ErrNotFound) {
		return nil, &Error{Status: http.StatusNotFound, Msg: "you have no calendar or address book named " + r.PathValue("name"), Err: err}
	}
	return c, err
}

func (h *Handler) getCollection(w http.ResponseWriter, r *http.Request) error {
	c, err := h.managedCollection(r)
	if err != nil {
		return err
	}
	cj, err := h.toCollectionJSON(r, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, cj)
	return nil
}

// patchCollection changes the settings the body gives; name and kind
// cannot change.
func (h *Handler) patchCollection(w http.ResponseWriter, r *http.Request) error {
	c, err := h.managedCollection(r)
	if err != nil {
		return err
	}
	var body collectionBody
	if err := decode(w, r, &body); err != nil {
		return err
	}
	if body.Name != "" && body.Name != c.Name || body.Kind != "" && body.Kind != string(c.Kind) {
		return &Error{Status: http.StatusBadRequest, Msg: "a collection's name and kind cannot be changed"}
	}
	c, err = h.svc.UpdateCollectionWith(r.Context(), c, body.settings())
	if err != nil {
		return err
	}
	cj, err := h.toCollectionJSON(r, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, cj)
	return nil
}

func (h *Handler) deleteCollection(w http.ResponseWriter, r *http.Request) error {
	c, err := h.managedCollection(r)
	if err != nil {
		return err
	}
	if err := h.svc.DeleteCollection(r.Context(), c); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) exportCollection(w http.ResponseWriter, r *http.Request) error {
	c, err := h.managedCollection(r)
	if err != nil {
		return err
	}
	target, err := h.svc.CollectionTarget(r.Context(), c)
	if err != nil {
		return err
	}
	return h.serveExport(w, r, target, c.DisplayName, c.Name)
}

// exportShared exports a collection shared with the caller, as they may
// see it (a free-busy share shows busy blocks).
func (h *Handler) exportShared(w http.ResponseWriter, r *http.Request) error {
	sh, err := h.share(r)
	if err != nil {
		return err
	}
	return h.serveExport(w, r, h.svc.ShareTarget(sh), sh.DisplayName(), sh.Coll.Name)
}

// exportOwnVC exports the caller's virtual calendar {name} as they see it.
func (h *Handler) exportOwnVC(w http.ResponseWriter, r *http.Request) error {
	target, err := h.svc.OwnVCTarget(r.Context(), caller(r), r.PathValue("name"))
	if err != nil {
		return err
	}
	_, spec, err := h.svc.VC(r.Context(), caller(r), r.PathValue("name"))
	if err != nil {
		return err
	}
	return h.serveExport(w, r, target, spec.DisplayName, spec.Name)
}

// exportVisible exports a view the caller sees (their own or one shared
// with them), evaluated for them.
func (h *Handler) exportVisible(w http.ResponseWriter, r *http.Request) error {
	id, err := viewID(r)
	if err != nil {
		return err
	}
	v, err := h.svc.ViewVC(r.Context(), caller(r), id)
	if err != nil {
		return err
	}
	return h.serveExport(w, r, h.svc.ViewTarget(v), v.DisplayName(), v.VC.Name)
}

// serveExport answers with everything target shows as one file (named
// for display, else name: domain.ExportFile), streamed,
// with its CTag as ETag (If-None-Match: 304). A failure once bytes are
// sent cuts the connection, so that a truncated file is not taken for a
// whole one.
func (h *Handler) serveExport(w http.ResponseWriter, r *http.Request, target domain.Target, display, name string) error {
	ct, filename, ok := domain.ExportFile(target.Kind(), display, name)
	if !ok {
		return &Error{Status: http.StatusNotFound, Msg: "this collection has nothing to export"}
	}
	ctag, err := target.CTag(r.Context())
	if err != nil {
		return err
	}
	etag := `"` + domain.ExportETag(ctag, filename) + `"`
	hd := w.Header()
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagIn(inm, etag) {
		hd.Set("ETag", etag)
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	out := &headerFirst{w: w, start: func() {
		hd.Set("Content-Type", ct)
		hd.Set("ETag", etag)
		hd.Set("Cache-Control", "no-store")
		hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
		w.WriteHeader(http.StatusOK)
	}}
	if err := target.Export(r.Context(), out); err != nil {
		if !out.started {
			return err // nothing sent yet: an error answer can still go out
		}
		h.logger.ErrorContext(r.Context(), "export failed after it began", "path", r.URL.Path, "err", err)
		panic(http.ErrAbortHandler)
	}
	if !out.started {
		out.start() // an empty file
	}
	return nil
}

// etagIn reports whether an If-None-Match list holds etag (or is "*").
func etagIn(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// headerFirst calls start before the first write, so that headers are
// sent only once there is something to send: an export failing before
// that gets an error answer.
type headerFirst struct {
	w       io.Writer
	start   func()
	started bool
}

func (hf *headerFirst) Write(p []byte) (int, error) {
	if !hf.started && len(p) > 0 {
		hf.started = true
		hf.start()
	}
	return hf.w.Write(p)
}
