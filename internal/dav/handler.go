package dav

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"

	"koyomi.dev/koyomi/internal/davlock"
)

// Conditions are the preconditions of a write, checked by the Backend
// atomically with the write itself.
type Conditions struct {
	IfMatch     string // entity tag (unquoted) the current resource must have
	IfNoneMatch bool   // the resource must not exist
}

// Backend is the namespace the engine serves. Every method receives the
// request context, which carries the authenticated user.
type Backend interface {
	// Resolve returns the resource at path or an *Error with 404.
	Resolve(ctx context.Context, path string) (*Resource, error)
	// Children lists the members of a collection.
	Children(ctx context.Context, r *Resource) ([]*Resource, error)
	// Content returns the body of a resource for GET.
	Content(ctx context.Context, r *Resource) ([]byte, error)
	// Put creates or replaces the non-collection resource at path; href is
	// path as the client spelled it (see Resource.Href).
	Put(ctx context.Context, path, href string, body []byte, contentType string, cond Conditions) (res *Resource, created bool, err error)
	// Delete removes a resource (a collection with all its members).
	Delete(ctx context.Context, r *Resource, cond Conditions) error
	// Mkcol creates a collection whose resourcetype holds types (DAV:collection
	// is implied) and sets the given properties, atomically.
	Mkcol(ctx context.Context, path string, types []xml.Name, props []PropOp) error
	// CopyMove copies or moves src to dst (spelled dstHref by the client),
	// replacing an existing dst when overwrite is set (the engine has
	// checked Overwrite against dst's existence). created reports whether
	// dst was new.
	CopyMove(ctx context.Context, src *Resource, dst, dstHref string, move, overwrite bool) (created bool, err error)
	// Patch applies PROPPATCH instructions atomically: all or none. A
	// failure for one property is a *PropError.
	Patch(ctx context.Context, r *Resource, ops []PropOp) error
	// DeadProperties returns the client-defined properties of r.
	DeadProperties(ctx context.Context, r *Resource) ([]RawElement, error)
}

// Negotiator is implemented by backends that can serve a resource in
// another representation, chosen from the request's Accept header.
type Negotiator interface {
	Negotiate(ctx context.Context, r *Resource, body []byte, accept string) (out []byte, contentType string, err error)
}

// ContentTyper is implemented by backends whose collections answer GET
// with a body: it tells the body's type without producing it, for
// DAV:getcontenttype (RFC 4918 15.5).
type ContentTyper interface {
	ContentType(r *Resource) string
}

// Exporter is implemented by backends whose collections answer GET with
// one file of their members (a calendar as one iCalendar stream), written
// as it is produced rather than held whole.
type Exporter interface {
	// Export describes the file r answers GET with; nil when r has none,
	// and Content answers.
	Export(ctx context.Context, r *Resource) (*Export, error)
}

// Export is the file a collection answers GET with.
type Export struct {
	ContentType string
	// ETag is a strong entity tag (unquoted) that changes whenever the
	// file would, for If-None-Match.
	ETag string
	// Filename is the name the file is offered to be saved as.
	Filename string
	// Write writes the file.
	Write func(w io.Writer) error
}

// LockPermitter is implemented by backends that refuse locks on some
// resources the requester may read but not write.
type LockPermitter interface {
	MayLock(ctx context.Context, r *Resource) error
}

// WritePermitter is implemented by backends that decide who may write
// where. The engine asks before it evaluates If-Match and If-None-Match,
// so that a write refused, or without a collection to go into, is answered
// as such and not as a failed precondition (RFC 9110 13.2.1). existing is
// the resource at p, nil when there is none.
type WritePermitter interface {
	MayWrite(ctx context.Context, p string, existing *Resource) error
}

// PropError reports which property made a PROPPATCH fail.
type PropError struct {
	Name xml.Name
	Err  *Error
}

func (e *PropError) Error() string { return "property " + e.Name.Local + ": " + e.Err.Error() }

// SyncChange is one member reported by sync-collection.
type SyncChange struct {
	Path     string
	Href     string    // Path as the client spelled it, "" for the plain spelling
	Resource *Resource // nil when the member was deleted
}

// URL returns the change's escaped URL path, in the client's spelling.
func (c SyncChange) URL() string {
	if c.Href != "" {
		return c.Href
	}
	return EscapePath(c.Path)
}

// SyncBackend is implemented by backends whose collections keep a change
// log (RFC 6578).
type SyncBackend interface {
	// SyncChanges returns changes of coll since token ("" for an initial
	// sync), at most limit (0: no limit), the new token, and whether the
	// answer was truncated. An unknown or foreign token is an *Error with
	// the DAV:valid-sync-token precondition.
	SyncChanges(ctx context.Context, coll *Resource, token string, limit int) (changes []SyncChange, newToken string, truncated bool, err error)
}

// Property is a live property computed by the engine's registry.
type Property struct {
	Name xml.Name
	// Get returns the inner XML of the property for r, written with the
	// engine's prefixes (D:, C:, CR:, CS:, ICAL:). ErrNoProperty means the
	// property does not apply to r.
	Get func(ctx context.Context, r *Resource) ([]byte, error)
	// Lang, if set, returns the language of r's value, written as the
	// element's xml:lang: a client's xml:lang is kept with the property
	// (RFC 4918 section 4.3). "" means none.
	Lang func(r *Resource) string
	// AllProp includes the property in allprop answers.
	AllProp bool
	// Protected properties cannot be changed by PROPPATCH; others are
	// passed to Backend.Patch.
	Protected bool
}

// ErrNoProperty is returned by Property.Get when r does not have it.
var ErrNoProperty = errors.New("dav: no such property")

// Method is an HTTP method a protocol adds to the engine (e.g. MKCALENDAR).
type Method struct {
	Name  string
	Serve func(w http.ResponseWriter, r *http.Request) error
	// Allowed reports whether the Allow header offers the method for the
	// resource r at path, nil when nothing is there. A nil Allowed offers
	// it everywhere.
	Allowed func(r *Resource, path string) bool
}

// Report handles a REPORT whose body root element has its name.
type Report struct {
	Name    xml.Name
	Applies func(r *Resource) bool // for supported-report-set
	// Serve answers the report; d is positioned after root.
	Serve func(ctx context.Context, w http.ResponseWriter, req *http.Request, r *Resource, d *Decoder, depth int) error
}

// Handler is the WebDAV engine.
type Handler struct {
	Backend Backend
	Logger  *slog.Logger
	Locks   *davlock.Manager
	// MaxBody limits request bodies (413 beyond it).
	MaxBody int64
	// XMLLimits bound XML request bodies (zero fields: the defaults, a
	// depth of 64 and 100,000 elements).
	XMLLimits XMLLimits
	// Principal returns the URL of the authenticated user's principal, for
	// lock ownership and error messages.
	Principal func(ctx context.Context) string
	// Unavailable, when set, is asked after an internal error whether the
	// storage behind the Backend is out of reach; the client then gets 503
	// with Retry-After instead of 500, and can try again.
	Unavailable func(ctx context.Context) bool
	// MapError, when set, is the backend's one translation of its own
	// errors into answers, asked for every error that reaches the engine
	// as no *Error; nil from it means a failure of the server (500).
	// path is the resource the error is about, named in the answer where
	// the protocol says so (need-privileges).
	MapError func(err error, path string) *Error

	props   map[xml.Name]*Property
	order   []xml.Name
	reports map[xml.Name]*Report
	methods map[string]*Method
	// DAVClasses is the value of the DAV response header.
	DAVClasses []string
}

// NewHandler returns an engine over b with the RFC 4918 live properties
// registered.
func NewHandler(b Backend, logger *slog.Logger, locks *davlock.Manager) *Handler {
	h := &Handler{
		Backend:    b,
		Logger:     logger,
		Locks:      locks,
		MaxBody:    10 << 20,
		props:      map[xml.Name]*Property{},
		reports:    map[xml.Name]*Report{},
		methods:    map[string]*Method{},
		DAVClasses: []string{"1", "2", "3"},
	}
	h.registerCoreProperties()
	h.registerSyncCollection()
	return h
}

// RegisterProperty adds a live property.
func (h *Handler) RegisterProperty(p Property) {
	if _, ok := h.props[p.Name]; !ok {
		h.order = append(h.order, p.Name)
	}
	h.props[p.Name] = &p
}

// RegisterReport adds a REPORT.
func (h *Handler) RegisterReport(r Report) { h.reports[r.Name] = &r }

// RegisterMethod adds an HTTP method.
func (h *Handler) RegisterMethod(m Method) { h.methods[m.Name] = &m }

// ReportsFor lists the reports that apply to r.
func (h *Handler) ReportsFor(r *Resource) []xml.Name {
	var names []xml.Name
	for _, rep := range h.reports {
		if rep.Applies == nil || rep.Applies(r) {
			names = append(names, rep.Name)
		}
	}
	sort.Slice(names, func(i, j int) bool { return names[i].Local < names[j].Local })
	return names
}

// allowed is the Allow header for the resource res at path (nil when
// nothing is there): what the engine would carry out there rather than
// answer 405, and the registered methods that apply.
func (h *Handler) allowed(res *Resource, path string) string {
	var methods []string
	switch {
	case res == nil && strings.HasSuffix(path, "/"):
		methods = []string{"OPTIONS", "MKCOL", "LOCK"}
	case res == nil:
		methods = []string{"OPTIONS", "PUT", "MKCOL", "LOCK"}
	default:
		methods = []string{"OPTIONS", "GET", "HEAD"}
		if !res.Collection {
			methods = append(methods, "PUT")
		}
		methods = append(methods, "DELETE", "PROPFIND", "PROPPATCH")
		if res.Collection {
			methods = append(methods, "MKCOL")
		}
		methods = append(methods, "COPY", "MOVE")
		if len(h.ReportsFor(res)) > 0 {
			methods = append(methods, "REPORT")
		}
		methods = append(methods, "LOCK", "UNLOCK")
	}
	n := len(methods)
	for name, m := range h.methods {
		if m.Allowed == nil || m.Allowed(res, path) {
			methods = append(methods, name)
		}
	}
	sort.Strings(methods[n:])
	return strings.Join(methods, ", ")
}

// setAllow sets the Allow header for the resource at path, resolving it.
func (h *Handler) setAllow(w http.ResponseWriter, r *http.Request, path string) error {
	res, err := h.resolveOptional(r.Context(), path)
	if err != nil {
		return err
	}
	w.Header().Set("Allow", h.allowed(res, path))
	return nil
}

// ServeHTTP dispatches a request and is the one place where errors become
// responses.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	err := h.serve(w, r)
	if err == nil {
		return
	}
	e := h.asError(err, CleanPath(r.URL.Path))
	if e.Status == http.StatusInternalServerError && h.Unavailable != nil && h.Unavailable(r.Context()) {
		e = &Error{Status: http.StatusServiceUnavailable, Msg: "storage unavailable, try again shortly", Err: err}
		w.Header().Set("Retry-After", "5")
	}
	if e.Status >= 500 {
		h.Logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else if e.Err != nil {
		h.Logger.DebugContext(r.Context(), "request refused", "method", r.Method, "path", r.URL.Path, "status", e.Status, "err", err)
	}
	if e.Status == http.StatusRequestEntityTooLarge {
		w.Header().Set("Connection", "close")
	}
	writeError(w, e)
}

// CleanPath normalises a request path: decoded, no dot segments, keeping a
// trailing slash.
func CleanPath(p string) string {
	if p == "" {
		return "/"
	}
	trailing := strings.HasSuffix(p, "/")
	c := path.Clean("/" + p)
	if trailing && c != "/" {
		c += "/"
	}
	return c
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("DAV", strings.Join(h.DAVClasses, ", "))
	if strings.Contains(r.URL.Path, "\x00") {
		return Errorf(http.StatusBadRequest, "invalid path")
	}
	if r.Method != http.MethodOptions {
		if err := h.checkIf(r); err != nil {
			return err
		}
	}
	switch r.Method {
	case http.MethodOptions:
		return h.options(w, r)
	case http.MethodGet, http.MethodHead:
		return h.get(w, r)
	case http.MethodPut:
		return h.put(w, r)
	case http.MethodDelete:
		return h.delete(w, r)
	case "PROPFIND":
		return h.propfind(w, r)
	case "PROPPATCH":
		return h.proppatch(w, r)
	case "MKCOL":
		return h.mkcol(w, r)
	case "COPY", "MOVE":
		return h.copyMove(w, r)
	case "REPORT":
		return h.report(w, r)
	case "LOCK":
		return h.lock(w, r)
	case "UNLOCK":
		return h.unlock(w, r)
	}
	if m, ok := h.methods[r.Method]; ok {
		return m.Serve(w, r)
	}
	if err := h.setAllow(w, r, CleanPath(r.URL.Path)); err != nil {
		return err
	}
	return Errorf(http.StatusMethodNotAllowed, "method %s not allowed", r.Method)
}

// ReadBody reads a request body within the engine's limit.
func (h *Handler) ReadBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > h.MaxBody {
		return nil, Errorf(http.StatusRequestEntityTooLarge, "request body larger than %d bytes", h.MaxBody)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, h.MaxBody+1))
	if err != nil {
		return nil, &Error{Status: http.StatusBadRequest, Msg: "cannot read request body", Err: err}
	}
	if int64(len(body)) > h.MaxBody {
		return nil, Errorf(http.StatusRequestEntityTooLarge, "request body larger than %d bytes", h.MaxBody)
	}
	return body, nil
}

func (h *Handler) options(w http.ResponseWriter, r *http.Request) error {
	if err := h.setAllow(w, r, CleanPath(r.URL.Path)); err != nil {
		return err
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	res, err := h.Backend.Resolve(ctx, CleanPath(r.URL.Path))
	if err != nil {
		return err
	}
	// RFC 9110 13.2.2: If-Match is evaluated before If-None-Match.
	if err := checkIfMatch(r, res); err != nil {
		return err
	}
	if res.ETag != "" {
		if inm := r.Header.Get("If-None-Match"); inm != "" && etagListMatches(inm, res.ETag) {
			w.Header().Set("ETag", quoteETag(res.ETag))
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
	}
	if ex, ok := h.Backend.(Exporter); ok && res.Collection {
		exp, err := ex.Export(ctx, res)
		if err != nil {
			return err
		}
		if exp != nil {
			return h.serveExport(w, r, exp)
		}
	}
	body, err := h.Backend.Content(ctx, res)
	if err != nil {
		return err
	}
	ct := res.ContentType
	if n, ok := h.Backend.(Negotiator); ok && r.Header.Get("Accept") != "" {
		if body, ct, err = n.Negotiate(ctx, res, body, r.Header.Get("Accept")); err != nil {
			return err
		}
	}
	hd := w.Header()
	if ct == "" {
		ct = "application/octet-stream"
	}
	hd.Set("Content-Type", ct)
	if res.ETag != "" {
		hd.Set("ETag", quoteETag(res.ETag))
	}
	if !res.LastModified.IsZero() {
		hd.Set("Last-Modified", res.LastModified.UTC().Format(http.TimeFormat))
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
	return nil
}

// serveExport answers GET with a collection's file, streamed: its length is
// not known before it is written, so it goes out chunked. A failure once
// bytes are sent cannot change the status; the connection is cut so that
// the client does not take a truncated file for a whole one.
func (h *Handler) serveExport(w http.ResponseWriter, r *http.Request, exp *Export) error {
	hd := w.Header()
	if exp.ETag != "" {
		hd.Set("ETag", quoteETag(exp.ETag))
		if inm := r.Header.Get("If-None-Match"); inm != "" && etagListMatches(inm, exp.ETag) {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
	}
	hd.Set("Content-Type", exp.ContentType)
	if exp.Filename != "" {
		hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": exp.Filename}))
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	cw := &sentCounter{w: w}
	if err := exp.Write(cw); err != nil {
		if cw.n == 0 {
			hd.Del("Content-Disposition")
			hd.Del("ETag")
			return err
		}
		h.Logger.ErrorContext(r.Context(), "export failed after it began", "path", r.URL.Path, "err", err)
		panic(http.ErrAbortHandler)
	}
	if cw.n == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return nil
}

// sentCounter counts the bytes written through it.
type sentCounter struct {
	w io.Writer
	n int64
}

func (c *sentCounter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// etagListMatches evaluates an If-None-Match list against a strong etag
// with the weak comparison function (W/ is ignored, RFC 9110 8.8.3.2).
func etagListMatches(list, etag string) bool { return etagListMatch(list, etag, false) }

// strongListMatches evaluates an If-Match list with the strong comparison
// function: a weak tag never matches.
func strongListMatches(list, etag string) bool { return etagListMatch(list, etag, true) }

func etagListMatch(list, etag string, strong bool) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			return true
		}
		if strings.HasPrefix(t, "W/") {
			if strong {
				continue
			}
			t = t[2:]
		}
		if strings.Trim(t, `"`) == etag {
			return true
		}
	}
	return false
}

// checkIfMatch evaluates If-Match and If-None-Match against an existing
// resource (res) or a missing one (res nil).
func checkIfMatch(r *http.Request, res *Resource) error {
	if im := r.Header.Get("If-Match"); im != "" {
		if res == nil || (strings.TrimSpace(im) != "*" && (res.ETag == "" || !strongListMatches(im, res.ETag))) {
			return Errorf(http.StatusPreconditionFailed, "If-Match failed")
		}
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && res != nil {
		if strings.TrimSpace(inm) == "*" || (res.ETag != "" && etagListMatches(inm, res.ETag)) {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				return nil
			}
			return Errorf(http.StatusPreconditionFailed, "If-None-Match failed")
		}
	}
	return nil
}

// mayWrite asks a WritePermitter, when the request carries If-Match or
// If-None-Match, for the answer the write would get without them.
func (h *Handler) mayWrite(r *http.Request, p string, existing *Resource) error {
	wp, ok := h.Backend.(WritePermitter)
	if !ok || r.Header.Get("If-Match") == "" && r.Header.Get("If-None-Match") == "" {
		return nil
	}
	return wp.MayWrite(r.Context(), p, existing)
}

// conditions turns If-Match/If-None-Match into backend conditions for an
// atomic check.
func conditions(r *http.Request) Conditions {
	var c Conditions
	if im := strings.TrimSpace(r.Header.Get("If-Match")); im != "" && im != "*" && !strings.Contains(im, ",") && !strings.HasPrefix(im, "W/") {
		c.IfMatch = strings.Trim(strings.TrimPrefix(im, "W/"), `"`)
	}
	if strings.TrimSpace(r.Header.Get("If-None-Match")) == "*" {
		c.IfNoneMatch = true
	}
	return c
}

func (h *Handler) resolveOptional(ctx context.Context, p string) (*Resource, error) {
	res, err := h.Backend.Resolve(ctx, p)
	if err != nil {
		if e := h.asError(err, ""); e.Status == http.StatusNotFound {
			return nil, nil
		}
		return nil, err
	}
	return res, nil
}

func (h *Handler) put(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := CleanPath(r.URL.Path)
	if strings.HasSuffix(p, "/") {
		if err := h.setAllow(w, r, p); err != nil {
			return err
		}
		return Errorf(http.StatusMethodNotAllowed, "cannot PUT to a collection")
	}
	if r.Header.Get("Content-Range") != "" {
		return Errorf(http.StatusBadRequest, "Content-Range is not supported on PUT")
	}
	existing, err := h.resolveOptional(ctx, p)
	if err != nil {
		return err
	}
	if existing != nil && existing.Collection {
		w.Header().Set("Allow", h.allowed(existing, p))
		return Errorf(http.StatusMethodNotAllowed, "cannot PUT to a collection")
	}
	if err := h.mayWrite(r, p, existing); err != nil {
		return err
	}
	if err := checkIfMatch(r, existing); err != nil {
		return err
	}
	if err := h.checkLocks(r, p, false); err != nil {
		return err
	}
	body, err := h.ReadBody(r)
	if err != nil {
		return err
	}
	cond := conditions(r)
	if cond.IfMatch == "" && r.Header.Get("If-Match") != "" && existing != nil {
		cond.IfMatch = existing.ETag
	}
	res, created, err := h.Backend.Put(ctx, p, CleanPath(r.URL.EscapedPath()), body, r.Header.Get("Content-Type"), cond)
	if err != nil {
		return err
	}
	if res != nil && res.ETag != "" {
		w.Header().Set("ETag", quoteETag(res.ETag))
	}
	if res != nil && !res.LastModified.IsZero() {
		w.Header().Set("Last-Modified", res.LastModified.UTC().Format(http.TimeFormat))
	}
	if created {
		w.WriteHeader(http.StatusCreated)
	} else {
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := CleanPath(r.URL.Path)
	res, err := h.Backend.Resolve(ctx, p)
	if err != nil {
		return err
	}
	// RFC 4918 9.6.1: a DELETE of a collection acts at infinite depth and
	// a client must not ask for another. One that does expects the members
	// to survive, so it is refused rather than obeyed halfway or wholly.
	if d := strings.TrimSpace(r.Header.Get("Depth")); res.Collection && d != "" && !strings.EqualFold(d, "infinity") {
		return Errorf(http.StatusBadRequest, "DELETE of a collection takes no Depth but infinity")
	}
	if err := h.mayWrite(r, res.Path, res); err != nil {
		return err
	}
	if err := checkIfMatch(r, res); err != nil {
		return err
	}
	if err := h.checkLocks(r, res.Path, res.Collection); err != nil {
		return err
	}
	cond := conditions(r)
	if err := h.Backend.Delete(ctx, res, cond); err != nil {
		return err
	}
	if h.Locks != nil {
		if err := h.Locks.Delete(ctx, res.Path); err != nil {
			h.Logger.ErrorContext(ctx, "dropping locks of a deleted resource failed", "path", res.Path, "err", err)
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) mkcol(w http.ResponseWriter, r *http.Request) error {
	body, err := h.ReadBody(r)
	if err != nil {
		return err
	}
	var ops []PropOp
	if len(body) > 0 {
		if ct := r.Header.Get("Content-Type"); ct != "" && !strings.Contains(ct, "xml") {
			return Errorf(http.StatusUnsupportedMediaType, "MKCOL body must be XML")
		}
		ops, err = h.XMLLimits.ParseMkcol(body, Name("mkcol"))
		if err != nil {
			return err
		}
	}
	var types []xml.Name
	var rest []PropOp
	for _, op := range ops {
		if op.Prop.Name == Name("resourcetype") {
			d, err := op.Prop.Decoder()
			if err != nil {
				return err
			}
			names, err := d.Names()
			if err != nil {
				return err
			}
			for _, n := range names {
				if n != Name("collection") {
					types = append(types, n)
				}
			}
			continue
		}
		rest = append(rest, op)
	}
	return h.MakeCollection(w, r, types, rest)
}

// MakeCollection implements MKCOL and protocol variants (MKCALENDAR): it
// checks the target and creates the collection through the Backend.
func (h *Handler) MakeCollection(w http.ResponseWriter, r *http.Request, types []xml.Name, ops []PropOp) error {
	ctx := r.Context()
	p := CleanPath(r.URL.Path)
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	existing, err := h.resolveOptional(ctx, p)
	if err != nil {
		return err
	}
	if existing == nil {
		existing, err = h.resolveOptional(ctx, strings.TrimSuffix(p, "/"))
		if err != nil {
			return err
		}
	}
	if existing != nil {
		w.Header().Set("Allow", h.allowed(existing, p))
		return Errorf(http.StatusMethodNotAllowed, "a resource already exists at %s", p)
	}
	if err := h.checkLocks(r, p, false); err != nil {
		return err
	}
	for _, op := range ops {
		if prop, ok := h.props[op.Prop.Name]; ok && prop.Protected {
			return Precondition(http.StatusForbidden, Name("cannot-modify-protected-property"), "cannot set "+op.Prop.Name.Local)
		}
	}
	if err := h.Backend.Mkcol(ctx, p, types, ops); err != nil {
		var pe *PropError
		if errors.As(err, &pe) {
			return pe.Err
		}
		return err
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	return nil
}

// destination parses the Destination header into a cleaned path, and the
// same path still escaped as the client spelled it.
func destination(r *http.Request) (path, href string, err error) {
	raw := r.Header.Get("Destination")
	if raw == "" {
		return "", "", Errorf(http.StatusBadRequest, "Destination header required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", Errorf(http.StatusBadRequest, "malformed Destination header")
	}
	if u.Host != "" && !strings.EqualFold(u.Host, r.Host) {
		return "", "", Errorf(http.StatusBadGateway, "Destination is on another server")
	}
	return CleanPath(u.Path), CleanPath(u.EscapedPath()), nil
}

func (h *Handler) copyMove(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	move := r.Method == "MOVE"
	src, err := h.Backend.Resolve(ctx, CleanPath(r.URL.Path))
	if err != nil {
		return err
	}
	dst, dstHref, err := destination(r)
	if err != nil {
		return err
	}
	if src.Collection && !strings.HasSuffix(dst, "/") {
		dst += "/"
		dstHref += "/"
	}
	if !src.Collection {
		dst = strings.TrimSuffix(dst, "/")
		dstHref = strings.TrimSuffix(dstHref, "/")
	}
	if dst == src.Path || strings.TrimSuffix(dst, "/") == strings.TrimSuffix(src.Path, "/") {
		return Errorf(http.StatusForbidden, "source and destination are the same")
	}
	if src.Collection && strings.HasPrefix(dst, src.Path) {
		return Errorf(http.StatusForbidden, "cannot copy or move a collection into itself")
	}
	depth := r.Header.Get("Depth")
	if move && depth != "" && !strings.EqualFold(depth, "infinity") {
		return Errorf(http.StatusBadRequest, "MOVE requires Depth: infinity")
	}
	if depth != "" && depth != "0" && !strings.EqualFold(depth, "infinity") {
		return Errorf(http.StatusBadRequest, "invalid Depth header: COPY takes 0 or infinity")
	}
	overwrite := true
	switch strings.ToUpper(strings.TrimSpace(r.Header.Get("Overwrite"))) {
	case "F":
		overwrite = false
	case "", "T":
	default:
		return Errorf(http.StatusBadRequest, "Overwrite must be T or F")
	}
	existing, err := h.resolveOptional(ctx, dst)
	if err != nil {
		return err
	}
	if existing == nil {
		existing, err = h.resolveOptional(ctx, strings.TrimSuffix(dst, "/"))
		if err != nil {
			return err
		}
	}
	if existing != nil && !overwrite {
		return Errorf(http.StatusPreconditionFailed, "destination exists and Overwrite is F")
	}
	if move {
		if err := h.checkLocks(r, src.Path, src.Collection); err != nil {
			return err
		}
	}
	if err := h.checkLocks(r, dst, true); err != nil {
		return err
	}
	if !move && src.Collection && depth == "0" {
		// A shallow copy creates the collection without its members.
		if existing != nil {
			if err := h.Backend.Delete(ctx, existing, Conditions{}); err != nil {
				return err
			}
		}
		if err := h.Backend.Mkcol(ctx, dst, src.Types, nil); err != nil {
			return err
		}
	} else if _, err := h.Backend.CopyMove(ctx, src, dst, dstHref, move, existing != nil); err != nil {
		return err
	}
	if h.Locks != nil {
		var err error
		if move {
			err = h.Locks.Move(ctx, src.Path, dst)
		} else if existing != nil {
			err = h.Locks.Delete(ctx, existing.Path)
		}
		if err != nil {
			h.Logger.ErrorContext(ctx, "updating locks after COPY/MOVE failed", "path", src.Path, "err", err)
		}
	}
	if existing == nil {
		// RFC 9110 10.2.2: a 201 names what it created. The Destination
		// is echoed as the client spelled it.
		w.Header().Set("Location", r.Header.Get("Destination"))
		w.WriteHeader(http.StatusCreated)
	} else {
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

func (h *Handler) report(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	res, err := h.Backend.Resolve(ctx, CleanPath(r.URL.Path))
	if err != nil {
		return err
	}
	body, err := h.ReadBody(r)
	if err != nil {
		return err
	}
	d := h.XMLLimits.NewDecoder(strings.NewReader(string(body)))
	root, err := d.Root()
	if err != nil {
		return err
	}
	rep, ok := h.reports[root.Name]
	if !ok || (rep.Applies != nil && !rep.Applies(res)) {
		return Precondition(http.StatusForbidden, Name("supported-report"), "report "+root.Name.Local+" is not supported here")
	}
	depth := 0
	switch strings.ToLower(r.Header.Get("Depth")) {
	case "1":
		depth = 1
	case "infinity":
		depth = 2
	}
	return rep.Serve(ctx, w, r, res, d, depth)
}
