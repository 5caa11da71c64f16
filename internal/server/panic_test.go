package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/connector"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

// call sends a request as user (password NAME-password) over real HTTP.
func call(t *testing.T, ts *httptest.Server, user, method, path, body string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, user+"-password")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	return resp.StatusCode, string(b)
}

// TestPanicsLeaveServerServing injects a panic into requests, into a pass
// of the background connector runner and into a connector's run: each is
// recovered and logged with its stack, the requests are answered 500, the
// run is recorded as failed with the reason, and the server goes on
// serving requests and syncing connectors.
func TestPanicsLeaveServerServing(t *testing.T) {
	ctx := context.Background()
	var logs logBuffer
	var passes, runs atomic.Int32
	// The real clock throughout: the runner schedules by it.
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv, err := New(st, Options{PasswordParams: cheapParams, MaxResourceSize: 1 << 20, MaxConcurrentPerUser: 1,
		ConnectorsDefaultAllowed: true, ConnectorMinInterval: time.Minute,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Hooks: Hooks{
			Request: func(r *http.Request) {
				if r.Header.Get("X-Inject-Panic") != "" {
					panic("injected request panic")
				}
			},
			Connectors: connector.Hooks{
				Pass: func(context.Context) {
					if passes.Add(1) == 1 {
						panic("injected pass panic")
					}
				},
				Run: func(context.Context, *store.Connector) {
					if runs.Add(1) == 1 {
						panic("injected run panic")
					}
				},
			},
		}})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		if err := srv.Service().CreateUser(ctx, u, u+"-password", ""); err != nil {
			t.Fatal(err)
		}
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)

	// Requests: more panics than alice has request slots, so a slot a
	// panic failed to give back would show as a 503.
	const propfind = `<D:propfind xmlns:D="DAV:"><D:prop><D:displayname/></D:prop></D:propfind>`
	for range 3 {
		status, body := call(t, ts, "alice", "PROPFIND", "/dav/calendars/alice/default/", propfind, "Depth", "0",
			"X-Inject-Panic", "yes")
		if status != http.StatusInternalServerError || strings.TrimSpace(body) != "internal server error" {
			t.Fatalf("request that panicked: %d %q, want 500", status, body)
		}
	}
	if status, body := call(t, ts, "alice", "PROPFIND", "/dav/calendars/alice/default/", propfind, "Depth", "0"); status != http.StatusMultiStatus {
		t.Fatalf("request after the panics: %d %s", status, body)
	}

	// A connector pulling bob's calendar into alice's, run by the
	// background runner: its first pass panics, its first run too.
	if status, body := call(t, ts, "bob", "PUT", "/dav/calendars/bob/default/e.ics", event("shared", "from bob"),
		"Content-Type", "text/calendar"); status != http.StatusCreated {
		t.Fatalf("PUT: %d %s", status, body)
	}
	status, body := call(t, ts, "alice", "POST", "/api/v1/connectors", `{"name":"bob's","calendar":"default",`+
		`"direction":"pull","url":"`+ts.URL+`/dav/calendars/bob/default/","username":"bob","password":"bob-password"}`)
	if status != http.StatusCreated {
		t.Fatalf("creating the connector: %d %s", status, body)
	}
	var created struct{ ID int64 }
	if err := json.Unmarshal([]byte(body), &created); err != nil {
		t.Fatal(err)
	}
	one := fmt.Sprintf("/api/v1/connectors/%d", created.ID)
	runner, stop := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		srv.Connectors().Run(runner)
	}()
	t.Cleanup(func() { stop(); <-stopped })

	type runJSON struct{ Status, Error string }
	var history []runJSON
	// The run is listed as running before its end is recorded.
	for deadline := time.Now().Add(20 * time.Second); len(history) == 0 || history[0].Status == connector.RunRunning; {
		if time.Now().After(deadline) {
			t.Fatalf("the runner recorded no run (passes: %d, runs: %d)", passes.Load(), runs.Load())
		}
		srv.Connectors().Wake() // the pass after a panic would otherwise wait 30 s
		time.Sleep(20 * time.Millisecond)
		status, body := call(t, ts, "alice", "GET", one+"/history", "")
		if status != http.StatusOK {
			t.Fatalf("history: %d %s", status, body)
		}
		if err := json.Unmarshal([]byte(body), &history); err != nil {
			t.Fatal(err)
		}
	}
	if passes.Load() < 2 {
		t.Errorf("%d passes ran, want the one that panicked and the one that ran the connector", passes.Load())
	}
	if len(history) != 1 || history[0].Status != connector.RunError || !strings.Contains(history[0].Error, "injected run panic") {
		t.Errorf("history after the run panicked: %+v, want one error run naming the panic", history)
	}
	var view struct{ State, Reason string }
	status, body = call(t, ts, "alice", "GET", one, "")
	if json.Unmarshal([]byte(body), &view); status != http.StatusOK || view.State != connector.StateIdle ||
		!strings.Contains(view.Reason, "injected run panic") {
		t.Errorf("connector after the run panicked: %d %s, want idle with the panic as reason", status, body)
	}

	// The connector still syncs.
	var run runJSON
	status, body = call(t, ts, "alice", "POST", one+"/sync", "")
	if json.Unmarshal([]byte(body), &run); status != http.StatusOK || run.Status != connector.RunOK {
		t.Fatalf("sync after the panic: %d %s", status, body)
	}
	status, body = call(t, ts, "alice", "REPORT", "/dav/calendars/alice/default/",
		`<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop>`+
			`<C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>`, "Depth", "1")
	if status != http.StatusMultiStatus || !strings.Contains(body, "SUMMARY:from bob") {
		t.Errorf("alice's calendar after the sync: %d %s", status, body)
	}

	out := logs.String()
	for _, want := range []string{"request panicked", "injected request panic", "connector pass panicked",
		"injected pass panic", "connector run panicked", "injected run panic", "panic_test.go"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// A panic after the answer has begun aborts the response, so that the
// client cannot take what was sent for the whole answer; the server goes
// on serving.
func TestPanicAfterAnswerBeganAbortsIt(t *testing.T) {
	var logs logBuffer
	s := &Server{opts: Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}}
	ts := httptest.NewServer(s.recoverPanics(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, "the first part")
		if r.URL.Path == "/panic" {
			panic("injected mid-answer panic")
		}
		io.WriteString(w, strings.Repeat(".", 86))
	})))
	defer ts.Close()
	resp, err := ts.Client().Get(ts.URL + "/panic")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Error("an answer cut short by a panic was read as whole")
	}
	resp, err = ts.Client().Get(ts.URL + "/fine")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(b) != 100 {
		t.Errorf("after the panic: %d, %d bytes", resp.StatusCode, len(b))
	}
	if out := logs.String(); !strings.Contains(out, "injected mid-answer panic") || !strings.Contains(out, "panic_test.go") {
		t.Errorf("log lacks the panic and its stack: %s", out)
	}
}
