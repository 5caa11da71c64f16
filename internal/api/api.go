// Package api serves Koyomi's JSON API under /api/v1/: the caller's
// calendars and address books (create, change, delete, export), virtual
// calendars (define, change, delete, preview as another viewer), the views
// others share with them, the groups they belong to or run (members,
// administrators, settings), sharing (grants on their collections, the
// collections others share with them and their own settings of those,
// their delegates, public links of their calendars and views), imports of
// iCalendar and vCard files into their collections, and their sync
// connectors (settings, runs, history, conflicts).
//
// It turns HTTP and JSON into calls of the domain and connector services
// and their errors into statuses; it holds no rules of its own. It knows nothing of how
// callers authenticate (the server puts the principal in the request's
// context before a request gets here) nor of WebDAV: the URL paths under
// which views and shared collections appear to clients are the server's
// to say (ViewPath, SharePath).
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"koyomi.dev/koyomi/internal/connector"
	"koyomi.dev/koyomi/internal/domain"
)

// Prefix is the URL path under which the API is served.
const Prefix = "/api/v1/"

// maxBody bounds request bodies: definitions and contribution lists are
// small, and anything larger is a mistake or an attack.
const maxBody = 1 << 20

// ViewPath returns the URL path under which viewer's clients find virtual
// calendar id.
type ViewPath func(viewer string, id int64) string

// SharePath returns the URL path under which user's clients find a
// collection shared with them.
type SharePath func(user string, sh *domain.Share) string

// Handler serves the JSON API.
type Handler struct {
	svc       *domain.Service
	conns     *connector.Manager
	admins    map[string]bool
	logger    *slog.Logger
	viewPath  ViewPath
	sharePath SharePath
	mux       *http.ServeMux
}

// New returns the API handler over svc and conns (without conns, nil, the
// connector endpoints do not exist). Requests must reach it with the
// authenticated user in their context (domain.WithPrincipal); requests
// without one are refused.
//
// admins are the users who may call the administrative endpoints under
// /api/v1/admin/; viewPath and sharePath give the URL of each view and
// shared collection the API describes.
func New(svc *domain.Service, conns *connector.Manager, logger *slog.Logger, admins []string, viewPath ViewPath,
	sharePath SharePath) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{svc: svc, conns: conns, logger: logger, viewPath: viewPath, sharePath: sharePath, mux: http.NewServeMux(), admins: map[string]bool{}}
	for _, a := range admins {
		h.admins[a] = true
	}
	h.route("vcs", methods{http.MethodGet: h.listVCs, http.MethodPost: h.createVC})
	h.route("vcs/{name}", methods{http.MethodGet: h.getVC, http.MethodPut: h.updateVC, http.MethodDelete: h.deleteVC})
	h.route("vcs/{name}/preview", methods{http.MethodGet: h.previewVC})
	h.route("visible", methods{http.MethodGet: h.visible})
	h.route("visible/{id}", methods{http.MethodGet: h.visibleOne, http.MethodPatch: h.subscribe})
	h.route("groups", methods{http.MethodGet: h.listGroups, http.MethodPost: h.createGroup})
	h.route("groups/{group}", methods{http.MethodGet: h.getGroup, http.MethodPut: h.updateGroup,
		http.MethodDelete: h.deleteGroup})
	h.route("groups/{group}/members", methods{http.MethodPost: h.addMember})
	h.route("groups/{group}/members/{user}", methods{http.MethodPut: h.setMember, http.MethodDelete: h.removeMember})
	h.route("groups/{group}/contribution", methods{http.MethodPut: h.putContribution})
	for prefix, find := range map[string]collectionFunc{"collections/{name}": h.ownCollection, "shared/{id}": h.sharedCollection} {
		h.route(prefix+"/grants", methods{http.MethodGet: h.listGrants(find)})
		h.route(prefix+"/grants/{grantee}", methods{http.MethodPut: h.putGrant(find), http.MethodDelete: h.deleteGrant(find)})
		h.route(prefix+"/links", methods{http.MethodGet: h.collectionLinks(find), http.MethodPost: h.createCollectionLink(find)})
		h.route(prefix+"/import", methods{http.MethodPost: h.importInto(find)})
	}
	h.route("collections", methods{http.MethodGet: h.listCollections, http.MethodPost: h.createCollection})
	h.route("collections/{name}", methods{http.MethodGet: h.getCollection, http.MethodPatch: h.patchCollection,
		http.MethodDelete: h.deleteCollection})
	h.route("collections/{name}/export", methods{http.MethodGet: h.exportCollection})
	h.route("shared/{id}/export", methods{http.MethodGet: h.exportShared})
	h.route("vcs/{name}/export", methods{http.MethodGet: h.exportOwnVC})
	h.route("visible/{id}/export", methods{http.MethodGet: h.exportVisible})
	h.route("shared", methods{http.MethodGet: h.listShared})
	h.route("shared/{id}", methods{http.MethodGet: h.getShared, http.MethodPatch: h.patchShared, http.MethodDelete: h.leaveShared})
	h.route("delegates", methods{http.MethodGet: h.listDelegates})
	h.route("delegates/{user}", methods{http.MethodPut: h.putDelegate, http.MethodDelete: h.deleteDelegate})
	h.route("links", methods{http.MethodGet: h.listLinks})
	h.route("links/{token}", methods{http.MethodDelete: h.revokeLink})
	h.route("vcs/{name}/links", methods{http.MethodGet: h.vcLinks, http.MethodPost: h.createVCLink})
	h.route("trash", methods{http.MethodGet: h.listTrash})
	h.route("trash/{id}", methods{http.MethodDelete: h.purgeTrash})
	h.route("trash/{id}/restore", methods{http.MethodPost: h.restoreTrash})
	if conns != nil {
		h.route("connectors", methods{http.MethodGet: h.listConnectors, http.MethodPost: h.createConnector})
		h.route("connectors/discover", methods{http.MethodPost: h.discoverCalendars})
		h.route("connectors/{id}", methods{http.MethodGet: h.getConnector, http.MethodPatch: h.updateConnector,
			http.MethodDelete: h.deleteConnector})
		h.route("connectors/{id}/sync", methods{http.MethodPost: h.syncConnector})
		h.route("connectors/{id}/start", methods{http.MethodPost: h.setConnectorEnabled(true)})
		h.route("connectors/{id}/stop", methods{http.MethodPost: h.setConnectorEnabled(false)})
		h.route("connectors/{id}/history", methods{http.MethodGet: h.connectorHistory})
		h.route("connectors/{id}/conflicts", methods{http.MethodGet: h.connectorConflicts})
		h.route("admin/connector-permissions", methods{http.MethodGet: h.admin(h.listConnectorPermissions),
			http.MethodPut: h.admin(h.putConnectorPermission), http.MethodDelete: h.admin(h.deleteConnectorPermission)})
	}
	h.mux.Handle("/", h.handle(func(w http.ResponseWriter, r *http.Request) error {
		return &Error{Status: http.StatusNotFound, Msg: "no such API endpoint: " + r.URL.Path}
	}))
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The server lets unauthenticated OPTIONS requests through for DAV
	// clients; here a request without a principal would act as the
	// system, so it is refused outright.
	if domain.Principal(r.Context()) == "" {
		writeJSON(w, http.StatusUnauthorized, errorBody{Error: "authentication required"})
		return
	}
	h.mux.ServeHTTP(w, r)
}

// handlerFunc is an endpoint: it writes its answer, or returns the error
// that handle turns into one.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// methods maps HTTP methods to the endpoints of one path.
type methods map[string]handlerFunc

// route registers the endpoints of one path below Prefix, answering other
// methods with 405 and the Allow header.
func (h *Handler) route(pattern string, m methods) {
	allowed := make([]string, 0, len(m))
	for method := range m {
		allowed = append(allowed, method)
	}
	slices.Sort(allowed)
	h.mux.Handle(Prefix+pattern, h.handle(func(w http.ResponseWriter, r *http.Request) error {
		fn, ok := m[r.Method]
		if !ok {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			return &Error{Status: http.StatusMethodNotAllowed,
				Msg: fmt.Sprintf("method %s not allowed here (use %s)", r.Method, strings.Join(allowed, ", "))}
		}
		return fn(w, r)
	}))
}

// Error is an answer other than success: Status and Msg are what the
// client sees, Err (if any) the cause, which is logged.
type Error struct {
	Status int
	Msg    string
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// badRequest marks err as the client's mistake (400), whatever domain
// error it wraps: used where a "not found" names something in the request
// body, not the resource addressed.
func badRequest(err error) error {
	return &Error{Status: http.StatusBadRequest, Msg: err.Error(), Err: err}
}

type errorBody struct {
	Error string `json:"error"`
	// Field names the part of the request at fault, for a refusal of
	// one field (a *domain.InvalidError).
	Field string `json:"field,omitempty"`
	// Privilege names the right an action refused for the lack of one
	// needs (a *domain.ForbiddenError), as WebDAV names it.
	Privilege string `json:"privilege,omitempty"`
}

// handle is the one boundary where errors become responses.
func (h *Handler) handle(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := fn(w, r)
		if err == nil {
			return
		}
		status, body := statusOf(err)
		if status >= http.StatusInternalServerError {
			path := r.URL.Path
			if r.PathValue("token") != "" {
				path = r.Pattern // a public link's token is a credential, kept out of logs
			}
			h.logger.ErrorContext(r.Context(), "api request failed", "method", r.Method, "path", path, "err", err)
		}
		writeJSON(w, status, body)
	})
}

// statusOf maps an error to the status and body the client sees. The
// domain's messages are meant for users (they name the level, share or
// cycle at fault); an unexpected error's text is not shown.
//
// A refusal of one field is the request's fault (a grantee who does not
// exist is a bad request, not a missing resource), so *domain.InvalidError
// is looked for before the domain's sentinels; it is a conflict only when
// the field clashes with what is stored (granting the owner a share of
// their own calendar).
func statusOf(err error) (int, errorBody) {
	var e *Error
	if errors.As(err, &e) {
		return e.Status, errorBody{Error: e.Msg}
	}
	var invalid *domain.InvalidError
	if errors.As(err, &invalid) {
		status := http.StatusBadRequest
		if errors.Is(invalid, domain.ErrConflict) {
			status = http.StatusConflict
		}
		return status, errorBody{Error: err.Error(), Field: invalid.Field}
	}
	var forbidden *domain.ForbiddenError
	if errors.As(err, &forbidden) {
		return http.StatusForbidden, errorBody{Error: err.Error(), Privilege: forbidden.Action.Privilege()}
	}
	switch {
	case errors.Is(err, domain.ErrInvalidName), errors.Is(err, domain.ErrMalformed):
		return http.StatusBadRequest, errorBody{Error: err.Error()}
	case errors.Is(err, domain.ErrUnsupportedMediaType):
		return http.StatusUnsupportedMediaType, errorBody{Error: err.Error()}
	case errors.Is(err, domain.ErrForbidden):
		return http.StatusForbidden, errorBody{Error: err.Error()}
	case errors.Is(err, domain.ErrNotFound):
		return http.StatusNotFound, errorBody{Error: err.Error()}
	case errors.Is(err, domain.ErrConflict), errors.Is(err, domain.ErrExists), errors.Is(err, domain.ErrPrecondition):
		return http.StatusConflict, errorBody{Error: err.Error()}
	case errors.Is(err, domain.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, errorBody{Error: err.Error()}
	}
	return http.StatusInternalServerError, errorBody{Error: "internal error"}
}

// decode reads a request body of at most maxBody bytes into v, refusing
// unknown fields so that a misspelt key is an error, not a silently
// ignored rule.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("unexpected data after the JSON value")
	}
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return &Error{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("request body larger than %d bytes", mbe.Limit)}
		}
		return &Error{Status: http.StatusBadRequest, Msg: "malformed JSON: " + err.Error()}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// The status is sent; an encoding failure can only be a broken
	// connection, which there is no one left to tell.
	_ = json.NewEncoder(w).Encode(v)
}
