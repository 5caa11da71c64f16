package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"koyomi.dev/koyomi/internal/connector"
	"koyomi.dev/koyomi/internal/connector/remote"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
)

// defaultHistory is how many runs a history request returns when it does
// not say.
const defaultHistory = 100

// connectorRequest is the body of a create or a change. Absent fields keep
// their value (or take the default on create). Password and token are
// write-only: no answer ever carries them.
type connectorRequest struct {
	Name      *string `json:"name"`
	Calendar  *string `json:"calendar"`
	Kind      *string `json:"kind"`
	URL       *string `json:"url"`
	Username  *string `json:"username"`
	Password  *string `json:"password"`
	Token     *string `json:"token"`
	Direction *string `json:"direction"`
	Policy    *string `json:"conflict_policy"`
	Interval  *string `json:"interval"` // a duration such as "15m"
	Enabled   *bool   `json:"enabled"`
}

func (q *connectorRequest) settings() (connector.Settings, error) {
	s := connector.Settings{Name: q.Name, Calendar: q.Calendar, Kind: q.Kind, URL: q.URL, Username: q.Username,
		Password: q.Password, Token: q.Token, Direction: q.Direction, Policy: q.Policy, Enabled: q.Enabled}
	if q.Password != nil && q.Token != nil {
		return s, &Error{Status: http.StatusBadRequest, Msg: "give a password or a token, not both"}
	}
	if q.Interval != nil {
		d, err := time.ParseDuration(*q.Interval)
		if err != nil {
			return s, &Error{Status: http.StatusBadRequest,
				Msg: fmt.Sprintf("interval %q: use a duration such as \"15m\" or \"1h\"", *q.Interval)}
		}
		s.Interval = &d
	}
	return s, nil
}

// connectorErr gives the connector service's errors their statuses; the
// domain's (not found, forbidden) are mapped by statusOf.
func connectorErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, connector.ErrInvalid):
		return &Error{Status: http.StatusBadRequest, Msg: err.Error(), Err: err}
	case errors.Is(err, connector.ErrNotAllowed):
		return &Error{Status: http.StatusForbidden, Msg: err.Error(), Err: err}
	case errors.Is(err, connector.ErrBusy):
		return &Error{Status: http.StatusConflict, Msg: err.Error(), Err: err}
	}
	return err
}

// connectorID reads the {id} of the path; one that is not a number names
// no connector.
func connectorID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &Error{Status: http.StatusNotFound, Msg: fmt.Sprintf("no connector %q", r.PathValue("id"))}
	}
	return id, nil
}

// writeConnector answers with one connector as its owner sees it.
func (h *Handler) writeConnector(w http.ResponseWriter, r *http.Request, status int, c *store.Connector) error {
	views, err := h.conns.Describe(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, status, views[0])
	return nil
}

func (h *Handler) listConnectors(w http.ResponseWriter, r *http.Request) error {
	cs, err := h.conns.List(r.Context(), caller(r))
	if err != nil {
		return err
	}
	views, err := h.conns.Describe(r.Context(), cs...)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, views)
	return nil
}

func (h *Handler) createConnector(w http.ResponseWriter, r *http.Request) error {
	var req connectorRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	s, err := req.settings()
	if err != nil {
		return err
	}
	c, err := h.conns.Create(r.Context(), caller(r), s)
	if err != nil {
		return connectorErr(err)
	}
	w.Header().Set("Location", Prefix+"connectors/"+strconv.FormatInt(c.ID, 10))
	return h.writeConnector(w, r, http.StatusCreated, c)
}

func (h *Handler) getConnector(w http.ResponseWriter, r *http.Request) error {
	id, err := connectorID(r)
	if err != nil {
		return err
	}
	c, err := h.conns.Get(r.Context(), id)
	if err != nil {
		return err
	}
	return h.writeConnector(w, r, http.StatusOK, c)
}

func (h *Handler) updateConnector(w http.ResponseWriter, r *http.Request) error {
	id, err := connectorID(r)
	if err != nil {
		return err
	}
	var req connectorRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	s, err := req.settings()
	if err != nil {
		return err
	}
	c, err := h.conns.Update(r.Context(), id, s)
	if err != nil {
		return connectorErr(err)
	}
	return h.writeConnector(w, r, http.StatusOK, c)
}

func (h *Handler) deleteConnector(w http.ResponseWriter, r *http.Request) error {
	id, err := connectorID(r)
	if err != nil {
		return err
	}
	if err := h.conns.Delete(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// setConnectorEnabled serves start (on) and stop.
func (h *Handler) setConnectorEnabled(on bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := connectorID(r)
		if err != nil {
			return err
		}
		c, err := h.conns.SetEnabled(r.Context(), id, on)
		if err != nil {
			return connectorErr(err)
		}
		return h.writeConnector(w, r, http.StatusOK, c)
	}
}

type countsJSON struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
	Deleted int `json:"deleted"`
}

// runJSON is one entry of a connector's history. Pulled counts what the
// run changed in the local calendar, Pushed what it changed on the remote.
type runJSON struct {
	ID           int64      `json:"id"`
	Started      time.Time  `json:"started"`
	Ended        *time.Time `json:"ended,omitempty"`
	Node         string     `json:"node"`
	Status       string     `json:"status"`
	Pulled       countsJSON `json:"pulled"`
	Pushed       countsJSON `json:"pushed"`
	Conflicts    int        `json:"conflicts"`
	RemoteStatus int        `json:"remote_status,omitempty"`
	Error        string     `json:"error,omitempty"`
}

func toRunJSON(run *store.ConnectorRun) runJSON {
	out := runJSON{ID: run.ID, Started: run.Started, Node: run.Node, Status: run.Status,
		Pulled:    countsJSON{run.PulledCreated, run.PulledUpdated, run.PulledDeleted},
		Pushed:    countsJSON{run.PushedCreated, run.PushedUpdated, run.PushedDeleted},
		Conflicts: run.Conflicts, RemoteStatus: run.RemoteStatus, Error: run.Error}
	if !run.Ended.IsZero() {
		out.Ended = &run.Ended
	}
	return out
}

// syncConnector runs a connector now and answers with the run when it is
// over, whatever its outcome; 409 if a run is already in progress.
func (h *Handler) syncConnector(w http.ResponseWriter, r *http.Request) error {
	id, err := connectorID(r)
	if err != nil {
		return err
	}
	run, err := h.conns.SyncNow(r.Context(), id)
	if err != nil {
		return connectorErr(err)
	}
	writeJSON(w, http.StatusOK, toRunJSON(run))
	return nil
}

func (h *Handler) connectorHistory(w http.ResponseWriter, r *http.Request) error {
	id, err := connectorID(r)
	if err != nil {
		return err
	}
	limit := defaultHistory
	if v := r.URL.Query().Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit <= 0 {
			return &Error{Status: http.StatusBadRequest, Msg: fmt.Sprintf("limit %q: use a positive whole number", v)}
		}
	}
	runs, err := h.conns.History(r.Context(), id, limit)
	if err != nil {
		return err
	}
	out := make([]runJSON, 0, len(runs))
	for _, run := range runs {
		out = append(out, toRunJSON(run))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// conflictJSON is a version that lost a conflict, kept so nothing is lost.
type conflictJSON struct {
	ID      int64     `json:"id"`
	Run     int64     `json:"run"`
	UID     string    `json:"uid"`
	Side    string    `json:"side"` // whose version lost: local or remote
	Created time.Time `json:"created"`
	Data    string    `json:"data"` // the iCalendar text
}

func (h *Handler) connectorConflicts(w http.ResponseWriter, r *http.Request) error {
	id, err := connectorID(r)
	if err != nil {
		return err
	}
	cs, err := h.conns.Conflicts(r.Context(), id)
	if err != nil {
		return err
	}
	out := make([]conflictJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, conflictJSON{ID: c.ID, Run: c.RunID, UID: c.UID, Side: c.Side, Created: c.Created, Data: string(c.Data)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type discoverRequest struct {
	URL      string `json:"url"`
	Username string `json:"username"`
	Password string `json:"password"`
	Token    string `json:"token"`
}

// calendarJSON is a calendar found on a remote server.
type calendarJSON struct {
	URL            string   `json:"url"`
	DisplayName    string   `json:"displayname"`
	Components     []string `json:"components,omitempty"`
	SyncCollection bool     `json:"sync_collection"`
}

// discoverCalendars lists the calendars a server, principal or home URL
// leads to, so that the user can pick one for a connector. Only users
// allowed connectors may make the server call out.
func (h *Handler) discoverCalendars(w http.ResponseWriter, r *http.Request) error {
	var req discoverRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := domain.CheckURL("url", req.URL); err != nil {
		return badRequest(err)
	}
	if u, err := url.Parse(req.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &Error{Status: http.StatusBadRequest, Msg: "url: give the http:// or https:// URL of a CalDAV server, principal or calendar"}
	}
	if req.Password != "" && req.Token != "" {
		return &Error{Status: http.StatusBadRequest, Msg: "give a password or a token, not both"}
	}
	ok, err := h.conns.Allowed(r.Context(), caller(r))
	if err != nil {
		return err
	}
	if !ok {
		return connectorErr(connector.ErrNotAllowed)
	}
	cals, err := h.conns.Discover(r.Context(), req.URL, req.Username, req.Password, req.Token)
	switch {
	case errors.Is(err, remote.ErrNotCalendar):
		return &Error{Status: http.StatusBadRequest, Msg: err.Error(), Err: err}
	case err != nil:
		// The remote's errors are written for users and hold no
		// credentials; they tell what the other server said.
		return &Error{Status: http.StatusBadGateway, Msg: err.Error(), Err: err}
	}
	out := make([]calendarJSON, 0, len(cals))
	for _, c := range cals {
		out = append(out, calendarJSON{URL: c.URL, DisplayName: c.DisplayName, Components: c.Components,
			SyncCollection: c.SupportsSync})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
