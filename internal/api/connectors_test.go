package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/auth"
	"koyomi.dev/koyomi/internal/server"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

// newConnectorServer returns a running server with connectors allowed by
// default, the real clock (runs take leases) and users (password
// NAME-password), each logged in once so that their default calendars exist.
func newConnectorServer(t *testing.T, users ...string) (*httptest.Server, *server.Server) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv, err := server.New(st, server.Options{MaxResourceSize: 1 << 20, ConnectorsDefaultAllowed: true,
		ConnectorMinInterval: time.Minute,
		PasswordParams:       auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	for _, u := range users {
		if err := srv.Service().CreateUser(ctx, u, u+"-password", u+"@example.org"); err != nil {
			t.Fatal(err)
		}
		if status, body := do(t, ts, u, "GET", "/api/v1/vcs", ""); status != http.StatusOK {
			t.Fatalf("first request of %s: %d %s", u, status, body)
		}
	}
	return ts, srv
}

// recorder runs API requests and keeps every answer, so that a test can
// check at the end that no credential ever appeared in one.
type recorder struct {
	t      *testing.T
	ts     *httptest.Server
	bodies []string
}

func (rec *recorder) run(steps []step) {
	rec.t.Helper()
	for _, s := range steps {
		user := s.user
		if user == "" {
			user = "alice"
		}
		status, body := do(rec.t, rec.ts, user, s.method, s.path, s.body)
		rec.bodies = append(rec.bodies, body)
		if status != s.status {
			rec.t.Errorf("%s: %s %s as %s: status %d, want %d; body: %s", s.name, s.method, s.path, user, status, s.status, body)
			continue
		}
		for _, w := range s.want {
			if !strings.Contains(body, w) {
				rec.t.Errorf("%s: body lacks %q: %s", s.name, w, body)
			}
		}
		for _, n := range s.not {
			if strings.Contains(body, n) {
				rec.t.Errorf("%s: body holds %q: %s", s.name, n, body)
			}
		}
	}
}

// call runs one request and returns the decoded JSON answer.
func (rec *recorder) call(user, method, path, body string, want int, v any) {
	rec.t.Helper()
	status, got := do(rec.t, rec.ts, user, method, path, body)
	rec.bodies = append(rec.bodies, got)
	if status != want {
		rec.t.Fatalf("%s %s as %s: status %d, want %d; body: %s", method, path, user, status, want, got)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(got), v); err != nil {
			rec.t.Fatalf("%s %s: %v: %s", method, path, err, got)
		}
	}
}

func (rec *recorder) noSecrets(secrets ...string) {
	rec.t.Helper()
	for _, body := range rec.bodies {
		for _, s := range secrets {
			if strings.Contains(body, s) {
				rec.t.Errorf("an answer holds the credential %q: %s", s, body)
			}
		}
	}
}

// davEvent is a minimal event whose SUMMARY tells versions apart.
func davEvent(uid, summary string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:" + uid + "\r\n" +
		"DTSTAMP:20260101T000000Z\r\nDTSTART:20260120T100000Z\r\nDTEND:20260120T110000Z\r\nSUMMARY:" + summary +
		"\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
}

// dav sends a CalDAV request as user (password NAME-password).
func dav(t *testing.T, ts *httptest.Server, user, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, user+"-password")
	if body != "" {
		req.Header.Set("Content-Type", "text/calendar")
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func putDAV(t *testing.T, ts *httptest.Server, user, path, body string) {
	t.Helper()
	if status, got := dav(t, ts, user, "PUT", path, body); status != http.StatusCreated && status != http.StatusNoContent {
		t.Fatalf("PUT %s: %d %s", path, status, got)
	}
}

type viewJSON struct {
	ID       int64  `json:"id"`
	State    string `json:"state"`
	Reason   string `json:"reason"`
	Enabled  bool   `json:"enabled"`
	Auth     string `json:"auth"`
	Interval string `json:"interval"`
	CacheAge string `json:"cache_age"`
}

type runResult struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
	Pulled struct {
		Created, Updated, Deleted int
	} `json:"pulled"`
	Pushed struct {
		Created, Updated, Deleted int
	} `json:"pushed"`
	Conflicts    int    `json:"conflicts"`
	RemoteStatus int    `json:"remote_status"`
	Error        string `json:"error"`
}

// TestConnectorSyncsWithAnotherKoyomi links alice's calendar on one server
// with rem's calendar on a second one, over real HTTP, through the API.
func TestConnectorSyncsWithAnotherKoyomi(t *testing.T) {
	local, _ := newConnectorServer(t, "alice", "bob")
	remote, _ := newConnectorServer(t, "rem")
	const remoteCal = "/dav/calendars/rem/default/"
	const aliceCal = "/dav/calendars/alice/default/"
	rec := &recorder{t: t, ts: local}

	var created viewJSON
	rec.call("alice", "POST", "/api/v1/connectors", `{"name":"Work","calendar":"default","url":"`+remote.URL+remoteCal+
		`","username":"rem","password":"rem-password","interval":"30m"}`, http.StatusCreated, &created)
	if created.Auth != "password" || created.State != "idle" || created.Interval != "30m0s" || !created.Enabled {
		t.Errorf("created: %+v", created)
	}
	one := "/api/v1/connectors/" + strconv.FormatInt(created.ID, 10)

	putDAV(t, local, "alice", aliceCal+"local-1.ics", davEvent("local-1", "Made here"))
	putDAV(t, remote, "rem", remoteCal+"remote-1.ics", davEvent("remote-1", "Made there"))

	var run runResult
	rec.call("alice", "POST", one+"/sync", "", http.StatusOK, &run)
	if run.Status != "ok" || run.Pushed.Created != 1 || run.Pulled.Created != 1 || run.Error != "" {
		t.Errorf("first run: %+v", run)
	}
	if status, body := dav(t, remote, "rem", "GET", remoteCal+"local-1.ics", ""); status != 200 || !strings.Contains(body, "SUMMARY:Made here") {
		t.Errorf("the local event on the remote: %d %s", status, body)
	}
	if status, body := dav(t, local, "alice", "GET", aliceCal+"remote-1.ics", ""); status != 200 || !strings.Contains(body, "SUMMARY:Made there") {
		t.Errorf("the remote event here: %d %s", status, body)
	}

	// Both sides change one event: the remote wins (the default policy)
	// and the local version is kept as a conflict.
	putDAV(t, local, "alice", aliceCal+"local-1.ics", davEvent("local-1", "Edited here"))
	putDAV(t, remote, "rem", remoteCal+"local-1.ics", davEvent("local-1", "Edited there"))
	// Deleted there: deleted here.
	if status, _ := dav(t, remote, "rem", "DELETE", remoteCal+"remote-1.ics", ""); status != http.StatusNoContent {
		t.Fatalf("DELETE on the remote: %d", status)
	}
	rec.call("alice", "POST", one+"/sync", "", http.StatusOK, &run)
	if run.Status != "ok" || run.Conflicts != 1 || run.Pulled.Updated != 1 || run.Pulled.Deleted != 1 {
		t.Errorf("second run: %+v", run)
	}
	if _, body := dav(t, local, "alice", "GET", aliceCal+"local-1.ics", ""); !strings.Contains(body, "SUMMARY:Edited there") {
		t.Errorf("after the conflict, here: %s", body)
	}
	if status, _ := dav(t, local, "alice", "GET", aliceCal+"remote-1.ics", ""); status != http.StatusNotFound {
		t.Errorf("deleted on the remote, still here: %d", status)
	}

	rec.run([]step{
		{name: "history", method: "GET", path: one + "/history", status: 200,
			want: []string{`"status":"ok"`, `"conflicts":1`, `"pushed":{"created":1,"updated":0,"deleted":0}`}},
		{name: "history limit", method: "GET", path: one + "/history?limit=1", status: 200, not: []string{`"created":1`}},
		{name: "history bad limit", method: "GET", path: one + "/history?limit=many", status: 400, want: []string{"limit"}},
		{name: "conflicts", method: "GET", path: one + "/conflicts", status: 200,
			want: []string{`"uid":"local-1"`, `"side":"local"`, "SUMMARY:Edited here", `"run":`}},
		{name: "get shows state, never the password", method: "GET", path: one, status: 200,
			want: []string{`"auth":"password"`, `"username":"rem"`, `"state":"idle"`, `"last_success":`, `"cache_age":`},
			not:  []string{"password\":\""}},
		{name: "list", method: "GET", path: "/api/v1/connectors", status: 200, want: []string{`"name":"Work"`, `"calendar":"default"`}},

		{name: "bob lists only his own", user: "bob", method: "GET", path: "/api/v1/connectors", status: 200, want: []string{"[]"}},
		{name: "bob cannot read", user: "bob", method: "GET", path: one, status: 404},
		{name: "bob cannot change", user: "bob", method: "PATCH", path: one, body: `{"name":"mine"}`, status: 404},
		{name: "bob cannot sync", user: "bob", method: "POST", path: one + "/sync", status: 404},
		{name: "bob cannot stop", user: "bob", method: "POST", path: one + "/stop", status: 404},
		{name: "bob cannot read history", user: "bob", method: "GET", path: one + "/history", status: 404},
		{name: "bob cannot read conflicts", user: "bob", method: "GET", path: one + "/conflicts", status: 404},
		{name: "bob cannot delete", user: "bob", method: "DELETE", path: one, status: 404},

		{name: "stop", method: "POST", path: one + "/stop", status: 200,
			want: []string{`"state":"stopped"`, `"enabled":false`, "stopped by its owner"}},
		{name: "no sync while stopped", method: "POST", path: one + "/sync", status: 400, want: []string{"start it first"}},
		{name: "start", method: "POST", path: one + "/start", status: 200, want: []string{`"state":"idle"`, `"enabled":true`}},
		{name: "token replaces the password", method: "PATCH", path: one, body: `{"token":"tok-9f8e7d6c5b4a"}`, status: 200,
			want: []string{`"auth":"token"`}},
		{name: "wrong password", method: "PATCH", path: one, body: `{"password":"not-rem-password-at-all"}`, status: 200,
			want: []string{`"auth":"password"`}},
	})

	// A permission failure stops the connector and says why.
	rec.call("alice", "POST", one+"/sync", "", http.StatusOK, &run)
	if run.Status != "stopped" || run.RemoteStatus != http.StatusUnauthorized {
		t.Errorf("run with a wrong password: %+v", run)
	}
	var stopped viewJSON
	rec.call("alice", "GET", one, "", http.StatusOK, &stopped)
	if stopped.State != "stopped" || stopped.Enabled || !strings.Contains(stopped.Reason, "401") {
		t.Errorf("after a 401: %+v", stopped)
	}

	rec.run([]step{
		{name: "delete", method: "DELETE", path: one, status: 204},
		{name: "gone", method: "GET", path: one, status: 404},
		{name: "history gone", method: "GET", path: one + "/history", status: 404},
	})
	if status, _ := dav(t, remote, "rem", "GET", remoteCal+"local-1.ics", ""); status != http.StatusOK {
		t.Errorf("deleting the connector touched the remote calendar: %d", status)
	}
	rec.noSecrets("rem-password", "tok-9f8e7d6c5b4a", "not-rem-password-at-all")
}

func TestConnectorValidation(t *testing.T) {
	local, _ := newConnectorServer(t, "alice")
	rec := &recorder{t: t, ts: local}
	create := func(name, body string, status int, want ...string) step {
		return step{name: name, method: "POST", path: "/api/v1/connectors", body: body, status: status, want: want}
	}
	const ok = `"name":"x","calendar":"default","url":"https://cal.example.org/dav/cal/"`
	rec.run([]step{
		create("no name", `{"calendar":"default","url":"https://cal.example.org/"}`, 400, "a name is required"),
		create("no calendar", `{"name":"x","url":"https://cal.example.org/"}`, 400, "a local calendar is required"),
		create("unknown calendar", `{"name":"x","calendar":"nope","url":"https://cal.example.org/"}`, 400, `calendar \"nope\"`),
		create("bad url", `{"name":"x","calendar":"default","url":"ftp://cal.example.org/"}`, 400, "URL"),
		create("credentials in url", `{"name":"x","calendar":"default","url":"https://u:p@cal.example.org/"}`, 400, "username/password"),
		create("bad direction", `{`+ok+`,"direction":"sideways"}`, 400, `direction \"sideways\"`),
		create("bad policy", `{`+ok+`,"conflict_policy":"coin"}`, 400, `conflict policy \"coin\"`),
		create("bad interval", `{`+ok+`,"interval":"often"}`, 400, `interval \"often\"`),
		create("short interval", `{`+ok+`,"interval":"10s"}`, 400, "at least"),
		create("ics two-way", `{`+ok+`,"kind":"ics","direction":"two-way"}`, 400, "only be pulled"),
		create("bad kind", `{`+ok+`,"kind":"carddav"}`, 400, `kind \"carddav\"`),
		create("password and token", `{`+ok+`,"password":"a","token":"b"}`, 400, "not both"),
		create("unknown field", `{`+ok+`,"pasword":"a"}`, 400, "pasword"),
		create("malformed", `{"name":`, 400, "malformed JSON"),
		{name: "nothing was created", method: "GET", path: "/api/v1/connectors", status: 200, want: []string{"[]"}},
		create("ics defaults to pull", `{"name":"feed","calendar":"default","kind":"ics","url":"webcal://example.org/f.ics"}`, 201,
			`"direction":"pull"`, `"kind":"ics"`, `"auth":"none"`, `"interval":"15m0s"`, `"conflict_policy":"remote"`),
		{name: "not a number", method: "GET", path: "/api/v1/connectors/abc", status: 404},
		{name: "missing", method: "GET", path: "/api/v1/connectors/999", status: 404},
		{name: "patch missing", method: "PATCH", path: "/api/v1/connectors/999", body: `{"name":"y"}`, status: 404},
		{name: "wrong method", method: "PUT", path: "/api/v1/connectors/1", body: `{}`, status: 405, want: []string{"DELETE, GET, PATCH"}},
		{name: "sync by GET", method: "GET", path: "/api/v1/connectors/1/sync", status: 405},
		{name: "discover by GET", method: "GET", path: "/api/v1/connectors/discover", status: 405},
		{name: "discover bad url", method: "POST", path: "/api/v1/connectors/discover", body: `{"url":"cal.example.org"}`,
			status: 400, want: []string{"http://"}},
	})
}

// TestConnectorPermissions: an administrator's rule forbids connectors
// for a user; their connectors are disabled, new ones refused.
func TestConnectorPermissions(t *testing.T) {
	local, srv := newConnectorServer(t, "alice", "bob")
	rec := &recorder{t: t, ts: local}
	var c viewJSON
	rec.call("alice", "POST", "/api/v1/connectors", `{"name":"x","calendar":"default","url":"https://cal.example.org/c/"}`,
		http.StatusCreated, &c)
	one := "/api/v1/connectors/" + strconv.FormatInt(c.ID, 10)
	ctx := context.Background() // no principal: an administrator
	if err := srv.Connectors().Permit(ctx, "user:alice", false); err != nil {
		t.Fatal(err)
	}
	rec.run([]step{
		{name: "disabled", method: "GET", path: one, status: 200,
			want: []string{`"state":"disabled"`, "disabled by an administrator"}},
		{name: "create refused", method: "POST", path: "/api/v1/connectors",
			body: `{"name":"y","calendar":"default","url":"https://cal.example.org/c/"}`, status: 403, want: []string{"administrator"}},
		{name: "sync refused", method: "POST", path: one + "/sync", status: 403},
		{name: "discover refused", method: "POST", path: "/api/v1/connectors/discover",
			body: `{"url":"https://cal.example.org/"}`, status: 403},
		{name: "start does not lift it", method: "POST", path: one + "/start", status: 200, want: []string{`"state":"disabled"`}},
		{name: "bob unaffected", user: "bob", method: "POST", path: "/api/v1/connectors",
			body: `{"name":"y","calendar":"default","url":"https://cal.example.org/c/"}`, status: 201},
	})
	if err := srv.Connectors().Unpermit(ctx, "user:alice"); err != nil {
		t.Fatal(err)
	}
	rec.run([]step{{name: "enabled again", method: "GET", path: one, status: 200, want: []string{`"state":"idle"`}}})
}

// TestConnectorBusy: a second sync while one runs answers 409. The remote
// holds the first run's request until the second has been refused.
func TestConnectorBusy(t *testing.T) {
	entered, release := make(chan struct{}, 1), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer slow.Close()
	local, _ := newConnectorServer(t, "alice")
	rec := &recorder{t: t, ts: local}
	var c viewJSON
	rec.call("alice", "POST", "/api/v1/connectors", `{"name":"x","calendar":"default","url":"`+slow.URL+`/cal/"}`,
		http.StatusCreated, &c)
	one := "/api/v1/connectors/" + strconv.FormatInt(c.ID, 10)

	first := make(chan runResult, 1)
	go func() {
		req, _ := http.NewRequest("POST", local.URL+one+"/sync", nil)
		req.SetBasicAuth("alice", "alice-password")
		var run runResult
		if resp, err := local.Client().Do(req); err == nil {
			json.NewDecoder(resp.Body).Decode(&run)
			resp.Body.Close()
		}
		first <- run
	}()
	<-entered
	rec.run([]step{{name: "second sync", method: "POST", path: one + "/sync", status: 409, want: []string{"already running"}}})
	close(release)
	run := <-first
	if run.Status != "retry" || run.RemoteStatus != http.StatusServiceUnavailable {
		t.Errorf("first run against a 503: %+v", run)
	}
	var after viewJSON
	rec.call("alice", "GET", one, "", http.StatusOK, &after)
	if after.State != "idle" || !strings.Contains(after.Reason, "retrying at") {
		t.Errorf("after a 503: %+v", after)
	}
}

func TestConnectorDiscover(t *testing.T) {
	local, _ := newConnectorServer(t, "alice")
	remote, _ := newConnectorServer(t, "rem")
	rec := &recorder{t: t, ts: local}
	rec.run([]step{
		{name: "from the server root", method: "POST", path: "/api/v1/connectors/discover",
			body: `{"url":"` + remote.URL + `/","username":"rem","password":"rem-password"}`, status: 200,
			want: []string{`"url":"` + remote.URL + `/dav/calendars/rem/default/"`, `"sync_collection":true`}},
		{name: "wrong password", method: "POST", path: "/api/v1/connectors/discover",
			body: `{"url":"` + remote.URL + `/dav/calendars/rem/","username":"rem","password":"guess-1234"}`, status: 502,
			want: []string{"401"}},
	})
	rec.noSecrets("rem-password", "guess-1234")
	var buf bytes.Buffer
	for _, b := range rec.bodies {
		buf.WriteString(b)
	}
	if strings.Contains(buf.String(), "Authorization") {
		t.Errorf("an answer echoes a header: %s", buf.String())
	}
}

// TestVCShowsItsFeeds: a virtual calendar over a calendar that a connector
// fills names that connector and how old its copy is.
func TestVCShowsItsFeeds(t *testing.T) {
	local, _ := newConnectorServer(t, "alice")
	remote, _ := newConnectorServer(t, "rem")
	rec := &recorder{t: t, ts: local}
	var created viewJSON
	rec.call("alice", "POST", "/api/v1/connectors", `{"name":"Relay","calendar":"default","direction":"pull","url":"`+
		remote.URL+`/dav/calendars/rem/default/","username":"rem","password":"rem-password"}`, http.StatusCreated, &created)
	var run runResult
	rec.call("alice", "POST", "/api/v1/connectors/"+strconv.FormatInt(created.ID, 10)+"/sync", "", http.StatusOK, &run)
	rec.call("alice", "POST", "/api/v1/vcs", `{"name":"busy","definition":{"filter":{"default":"busy"},"of":{"calendar":"default"}}}`,
		http.StatusCreated, nil)
	var vc struct {
		Feeds []viewJSON `json:"feeds"`
	}
	rec.call("alice", "GET", "/api/v1/vcs/busy", "", http.StatusOK, &vc)
	if len(vc.Feeds) != 1 || vc.Feeds[0].ID != created.ID || vc.Feeds[0].CacheAge == "" {
		t.Errorf("feeds = %+v, want the relay connector with its cache age", vc.Feeds)
	}
}

// TestAdminConnectorPermissions: administrators named in the admins
// setting manage connector permissions over the API; nobody else may.
func TestAdminConnectorPermissions(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv, err := server.New(st, server.Options{ConnectorsDefaultAllowed: true, Admins: []string{"root"},
		PasswordParams: auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	for _, u := range []string{"root", "alice"} {
		if err := srv.Service().CreateUser(ctx, u, u+"-password", ""); err != nil {
			t.Fatal(err)
		}
	}
	rec := &recorder{t: t, ts: ts}
	rec.call("alice", "GET", "/api/v1/admin/connector-permissions", "", http.StatusForbidden, nil)
	rec.call("alice", "PUT", "/api/v1/admin/connector-permissions", `{"subject":"user:alice","allowed":true}`, http.StatusForbidden, nil)
	rec.call("root", "PUT", "/api/v1/admin/connector-permissions", `{"subject":"user:alice","allowed":false}`, http.StatusOK, nil)
	rec.call("root", "PUT", "/api/v1/admin/connector-permissions", `{"subject":"nobody","allowed":false}`, http.StatusBadRequest, nil)
	var perms []struct {
		Subject string `json:"subject"`
		Allowed bool   `json:"allowed"`
	}
	rec.call("root", "GET", "/api/v1/admin/connector-permissions", "", http.StatusOK, &perms)
	if len(perms) != 1 || perms[0].Subject != "user:alice" || perms[0].Allowed {
		t.Errorf("permissions = %+v", perms)
	}
	rec.call("alice", "POST", "/api/v1/connectors", `{"name":"x","calendar":"default","url":"https://example.org/cal/"}`,
		http.StatusForbidden, nil)
	rec.call("root", "DELETE", "/api/v1/admin/connector-permissions?subject=user:alice", "", http.StatusNoContent, nil)
	rec.call("root", "GET", "/api/v1/admin/connector-permissions", "", http.StatusOK, &perms)
	if len(perms) != 0 {
		t.Errorf("after DELETE: %+v", perms)
	}
}
