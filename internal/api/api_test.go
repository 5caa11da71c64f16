package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/auth"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/server"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

// now is a Thursday: the default preview week is 2026-01-12 to 2026-01-18.
var now = func() time.Time { return time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC) }

// newServer returns a running server over a fresh SQLite store with users
// alice, bob and carol (password NAME-password), each logged in once so that
// their default calendars exist.
func newServer(t *testing.T) (*httptest.Server, *domain.Service) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv, err := server.New(st, server.Options{Clock: now, MaxResourceSize: 1 << 20,
		PasswordParams: auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	for _, u := range []string{"alice", "bob", "carol"} {
		if err := srv.Service().CreateUser(ctx, u, u+"-password", u+"@example.org"); err != nil {
			t.Fatal(err)
		}
		if status, body := do(t, ts, u, "GET", "/api/v1/vcs", ""); status != http.StatusOK {
			t.Fatalf("first request of %s: %d %s", u, status, body)
		}
	}
	return ts, srv.Service()
}

// do sends one request as user and returns the status and body.
func do(t *testing.T, ts *httptest.Server, user, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, user+"-password")
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode >= 400 && resp.StatusCode != http.StatusUnauthorized {
		var e struct{ Error string }
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			t.Errorf("%s %s: error answer %d is not {\"error\": ...}: %s", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, string(b)
}

// putEvent stores an event in alice's default calendar through CalDAV.
func putEvent(t *testing.T, ts *httptest.Server, name, summary, description, start, end string) {
	t.Helper()
	ics := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:" + name + "\r\n" +
		"DTSTAMP:20260101T000000Z\r\nDTSTART:" + start + "\r\nDTEND:" + end + "\r\nSUMMARY:" + summary + "\r\n" +
		"DESCRIPTION:" + description + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	req, _ := http.NewRequest("PUT", ts.URL+"/dav/calendars/alice/default/"+name+".ics", strings.NewReader(ics))
	req.SetBasicAuth("alice", "alice-password")
	req.Header.Set("Content-Type", "text/calendar")
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT %s: %d", name, resp.StatusCode)
	}
}

// step is one request of a scenario and what its answer must (not) hold.
type step struct {
	name         string
	user         string
	method, path string
	body         string
	status       int
	want         []string // substrings of the body
	not          []string // must not be in the body
}

func runSteps(t *testing.T, ts *httptest.Server, steps []step) {
	t.Helper()
	for _, s := range steps {
		user := s.user
		if user == "" {
			user = "alice"
		}
		status, body := do(t, ts, user, s.method, s.path, s.body)
		if status != s.status {
			t.Errorf("%s: %s %s as %s: status %d, want %d; body: %s", s.name, s.method, s.path, user, status, s.status, body)
			continue
		}
		for _, w := range s.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: body lacks %q: %s", s.name, w, body)
			}
		}
		for _, n := range s.not {
			if strings.Contains(body, n) {
				t.Errorf("%s: body holds %q: %s", s.name, n, body)
			}
		}
	}
}

// friends shows alice's calendar in full from 17:00 on and as summaries
// before.
const friends = `{"name":"friends","displayname":"For friends","color":"#00FF00",
 "definition":{"filter":{"default":"full","zone":"UTC","rules":[{"level":"summary","from":"00:00","to":"17:00"}]},
 "of":{"calendar":"default"}},"shared_with":["user:bob"]}`

func TestVirtualCalendarLifecycle(t *testing.T) {
	ts, _ := newServer(t)
	putEvent(t, ts, "dentist", "Dentist", "root canal, bring the x-rays", "20260115T100000Z", "20260115T110000Z")
	putEvent(t, ts, "dinner", "Dinner", "table booked at Sato", "20260115T190000Z", "20260115T210000Z")
	putEvent(t, ts, "later", "Later", "next month", "20260216T190000Z", "20260216T200000Z")

	runSteps(t, ts, []step{
		{name: "empty list", method: "GET", path: "/api/v1/vcs", status: 200, want: []string{"[]"}},
		{name: "create", method: "POST", path: "/api/v1/vcs", body: friends, status: 201,
			want: []string{`"name":"friends"`, `"displayname":"For friends"`, `"version":1`, `"shared_with":["user:bob"]`,
				`"url":"/dav/calendars/alice/vc-`, `"from":"00:00"`}},
		{name: "create twice", method: "POST", path: "/api/v1/vcs", body: friends, status: 409},
		{name: "list", method: "GET", path: "/api/v1/vcs", status: 200, want: []string{`"name":"friends"`, `"color":"#00FF00"`}},
		{name: "get", method: "GET", path: "/api/v1/vcs/friends", status: 200, want: []string{`"of":{"calendar":"default"}`}},
		{name: "get missing", method: "GET", path: "/api/v1/vcs/nope", status: 404},

		{name: "preview as bob strips daytime description", method: "GET",
			path: "/api/v1/vcs/friends/preview?as=bob", status: 200,
			want: []string{`"viewer":"bob"`, `"start":"2026-01-12"`, `"end":"2026-01-18"`, "SUMMARY:Dentist",
				"table booked at Sato", `"etag":"`},
			not: []string{"root canal", "next month"}},
		{name: "preview another week", method: "GET",
			path: "/api/v1/vcs/friends/preview?as=bob&start=2026-02-16&end=2026-02-16", status: 200,
			want: []string{"SUMMARY:Later", "next month"}, not: []string{"Dentist", "Dinner"}},
		{name: "preview as someone it is not shared with", method: "GET",
			path: "/api/v1/vcs/friends/preview?as=carol", status: 400, want: []string{"carol cannot see"}},
		{name: "preview bad date", method: "GET", path: "/api/v1/vcs/friends/preview?start=15.1.2026", status: 400,
			want: []string{"YYYY-MM-DD"}},
		{name: "preview end before start", method: "GET",
			path: "/api/v1/vcs/friends/preview?start=2026-01-15&end=2026-01-14", status: 400},

		{name: "bob sees it", user: "bob", method: "GET", path: "/api/v1/visible", status: 200,
			want: []string{`"owner":"alice"`, `"name":"friends"`, `"url":"/dav/calendars/bob/vc-`, `"writable":false`}},
		{name: "carol does not", user: "carol", method: "GET", path: "/api/v1/visible", status: 200, want: []string{"[]"}},

		{name: "bob cannot read", user: "bob", method: "GET", path: "/api/v1/vcs/friends", status: 404},
		{name: "bob cannot preview", user: "bob", method: "GET", path: "/api/v1/vcs/friends/preview?as=bob", status: 404},
		{name: "bob cannot change", user: "bob", method: "PUT", path: "/api/v1/vcs/friends", body: friends, status: 404},
		{name: "bob cannot delete", user: "bob", method: "DELETE", path: "/api/v1/vcs/friends", status: 404},
		{name: "bob lists only his own", user: "bob", method: "GET", path: "/api/v1/vcs", status: 200, want: []string{"[]"}},
		{name: "still there", method: "GET", path: "/api/v1/vcs/friends", status: 200, want: []string{`"version":1`}},

		{name: "update", method: "PUT", path: "/api/v1/vcs/friends",
			body:   `{"definition":{"filter":{"default":"busy"},"of":{"calendar":"default"}},"shared_with":["user:bob","user:carol"],"write_target":"default"}`,
			status: 200, want: []string{`"version":2`, `"write_target":"default"`, `"user:carol"`}},
		{name: "preview after update", method: "GET", path: "/api/v1/vcs/friends/preview?as=carol", status: 200,
			want: []string{"SUMMARY:Busy"}, not: []string{"Dentist", "Dinner", "Sato"}},
		{name: "carol writable view", user: "carol", method: "GET", path: "/api/v1/visible", status: 200,
			want: []string{`"writable":true`}},
		{name: "rename refused", method: "PUT", path: "/api/v1/vcs/friends",
			body: `{"name":"pals","definition":{"calendar":"default"}}`, status: 400, want: []string{"renamed"}},
		{name: "update missing", method: "PUT", path: "/api/v1/vcs/nope", body: `{"definition":{"calendar":"default"}}`, status: 404},

		{name: "delete", method: "DELETE", path: "/api/v1/vcs/friends", status: 204},
		{name: "gone", method: "GET", path: "/api/v1/vcs/friends", status: 404},
		{name: "delete again", method: "DELETE", path: "/api/v1/vcs/friends", status: 404},
		{name: "bob no longer sees it", user: "bob", method: "GET", path: "/api/v1/visible", status: 200, want: []string{"[]"}},
	})
}

func TestValidation(t *testing.T) {
	ts, _ := newServer(t)
	create := func(name, body string, status int, want ...string) step {
		return step{name: name, method: "POST", path: "/api/v1/vcs", body: body, status: status, want: want}
	}
	runSteps(t, ts, []step{
		create("malformed JSON", `{"name":`, 400, "malformed JSON"),
		create("trailing data", `{"name":"x","definition":{"calendar":"default"}} {}`, 400, "after the JSON value"),
		create("unknown field", `{"name":"x","definiton":{"calendar":"default"}}`, 400, "definiton"),
		create("bad level", `{"name":"x","definition":{"filter":{"default":"secret"},"of":{"calendar":"default"}}}`, 400,
			`level \"secret\"`),
		create("bad rule level", `{"name":"x","definition":{"filter":{"default":"full","rules":[{"level":"most"}]},"of":{"calendar":"default"}}}`,
			400, "rule 1"),
		create("bad weekday", `{"name":"x","definition":{"filter":{"default":"full","rules":[{"level":"busy","weekdays":["funday"]}]},"of":{"calendar":"default"}}}`,
			400, "funday"),
		create("unknown calendar", `{"name":"x","definition":{"calendar":"nope"}}`, 400, `no calendar \"nope\"`),
		create("filter without of", `{"name":"x","definition":{"filter":{"default":"busy"}}}`, 400, `needs \"of\"`),
		create("two kinds in a node", `{"name":"x","definition":{"calendar":"default","vc":"y"}}`, 400, "exactly one"),
		create("empty definition", `{"name":"x","definition":{}}`, 400, "exactly one"),
		create("bad share", `{"name":"x","definition":{"calendar":"default"},"shared_with":["bob"]}`, 400, `share \"bob\"`),
		create("bad name", `{"name":"a/b","definition":{"calendar":"default"}}`, 400, "name"),
		create("bad write target", `{"name":"x","definition":{"calendar":"default"},"write_target":"nope"}`, 400, "write target"),
		create("unreadable vc", `{"name":"x","definition":{"vc":"bob/secret"}}`, 400),
		create("too large", `{"name":"`+strings.Repeat("x", 1<<20)+`"}`, 413),
		{name: "nothing was created", method: "GET", path: "/api/v1/vcs", status: 200, want: []string{"[]"}},

		{name: "wrong method", method: "PATCH", path: "/api/v1/vcs", status: 405, want: []string{"GET, POST"}},
		{name: "wrong method on one", method: "POST", path: "/api/v1/vcs/x", status: 405},
		{name: "wrong method on preview", method: "DELETE", path: "/api/v1/vcs/x/preview", status: 405},
		{name: "unknown endpoint", method: "GET", path: "/api/v1/nothing", status: 404},

		create("a", `{"name":"a","definition":{"calendar":"default"}}`, 201),
		create("b over a", `{"name":"b","definition":{"filter":{"default":"busy"},"of":{"vc":"a"}}}`, 201),
		{name: "cycle", method: "PUT", path: "/api/v1/vcs/a", body: `{"definition":{"union":[{"calendar":"default"},{"vc":"b"}]}}`,
			status: 409, want: []string{"cycle", "alice/a → alice/b → alice/a"}},
		{name: "self reference", method: "POST", path: "/api/v1/vcs", body: `{"name":"c","definition":{"vc":"c"}}`,
			status: 409, want: []string{"alice/c → alice/c"}},
		{name: "a unchanged", method: "GET", path: "/api/v1/vcs/a", status: 200, want: []string{`"version":1`},
			not: []string{"union"}},
	})
}

func TestUnauthenticated(t *testing.T) {
	ts, _ := newServer(t)
	for _, method := range []string{"GET", "OPTIONS", "POST"} {
		status, _ := do(t, ts, "", method, "/api/v1/vcs", "")
		if status != http.StatusUnauthorized {
			t.Errorf("%s without credentials: %d, want 401", method, status)
		}
	}
	req, _ := http.NewRequest("GET", ts.URL+"/api/v1/vcs", nil)
	req.SetBasicAuth("alice", "wrong")
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("wrong password: %d, challenge %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

func TestGroups(t *testing.T) {
	ts, svc := newServer(t)
	ctx := context.Background()
	if err := svc.CreateGroup(ctx, "team", "The Team", true); err != nil {
		t.Fatal(err)
	}
	if err := svc.CreateGroup(ctx, "other", "", false); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		if err := svc.AddMember(ctx, "team", u, []domain.Contribution{{Calendar: "default", Level: "busy"}}); err != nil {
			t.Fatal(err)
		}
	}
	put := func(name, user, group, body string, status int, want ...string) step {
		return step{name: name, user: user, method: "PUT", path: "/api/v1/groups/" + group + "/contribution", body: body,
			status: status, want: want}
	}
	runSteps(t, ts, []step{
		{name: "list", user: "bob", method: "GET", path: "/api/v1/groups", status: 200,
			want: []string{`"name":"team"`, `"displayname":"The Team"`, `"keep_past":true`, `"user":"alice"`, `"user":"bob"`,
				`"contributions":[{"calendar":"default","level":"busy"}]`, `"url":"/dav/calendars/bob/vc-`},
			not: []string{`"other"`}},
		{name: "not a member", user: "carol", method: "GET", path: "/api/v1/groups", status: 200, want: []string{"[]"}},
		{name: "group calendar visible and writable", user: "bob", method: "GET", path: "/api/v1/visible", status: 200,
			want: []string{`"owner":"group:team","name":"calendar","displayname":"The Team"`, `"writable":true`},
			not:  []string{`"group:other"`}},
		put("change", "bob", "team", `[{"calendar":"default","level":"summary"}]`, 200,
			`"contributions":[{"calendar":"default","level":"summary"}]`),
		{name: "changed", user: "bob", method: "GET", path: "/api/v1/groups", status: 200, want: []string{`"level":"summary"`}},
		{name: "alice's unchanged", method: "GET", path: "/api/v1/groups", status: 200,
			want: []string{`"contributions":[{"calendar":"default","level":"busy"}]`}},
		put("bad level", "bob", "team", `[{"calendar":"default","level":"everything"}]`, 400, "everything"),
		put("unknown calendar", "bob", "team", `[{"calendar":"work","level":"busy"}]`, 400, `no calendar \"work\"`),
		put("malformed", "bob", "team", `{"calendar":"default"}`, 400, "malformed JSON"),
		put("not a member", "carol", "team", `[]`, 404),
		put("no such group", "bob", "nope", `[]`, 404),
		put("contribute nothing", "bob", "team", `[]`, 200, `"contributions":[]`),
		{name: "wrong method", user: "bob", method: "GET", path: "/api/v1/groups/team/contribution", status: 405},
	})
}
