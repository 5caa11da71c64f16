package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/caldav"
	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/store/postgres"
	"koyomi.dev/koyomi/internal/store/postgres/pgtest"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

func event(uid, summary string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nDTSTART:20260120T090000Z\r\nSUMMARY:" + summary + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
}

func request(t *testing.T, h http.Handler, method, path, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.SetBasicAuth("alice", "alice-password")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// Concurrent writers that each hold the current ETag race to update one
// event: If-Match lets exactly one of them win each round, so no update is
// silently lost.
func TestConcurrentConditionalPutsLoseNothing(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testConcurrentConditionalPuts(t, newTestServerOn(t, b)) })
	}
}

func testConcurrentConditionalPuts(t *testing.T, srv http.Handler) {
	const path = "/dav/calendars/alice/default/race.ics"
	rec := request(t, srv, http.MethodPut, path, event("race", "v0"), "Content-Type", "text/calendar")
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	etag := rec.Header().Get("ETag")
	const writers, rounds = 8, 10
	for round := 1; round <= rounds; round++ {
		var wg sync.WaitGroup
		codes := make([]int, writers)
		etags := make([]string, writers)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := request(t, srv, http.MethodPut, path, event("race", fmt.Sprintf("round %d writer %d", round, w)),
					"Content-Type", "text/calendar", "If-Match", etag)
				codes[w], etags[w] = r.Code, r.Header().Get("ETag")
			}()
		}
		wg.Wait()
		winners := 0
		for w, code := range codes {
			switch code {
			case http.StatusNoContent:
				winners++
				etag = etags[w]
			case http.StatusPreconditionFailed:
			default:
				t.Fatalf("round %d writer %d: unexpected status %d", round, w, code)
			}
		}
		if winners != 1 {
			t.Fatalf("round %d: %d writers succeeded with the same If-Match, want exactly 1", round, winners)
		}
		got := request(t, srv, http.MethodGet, path, "")
		if got.Header().Get("ETag") != etag {
			t.Fatalf("round %d: stored ETag %s, winner's %s", round, got.Header().Get("ETag"), etag)
		}
	}
}

// The default calendar is created once per user: a user who deletes it
// does not get it back, not even from a freshly started server.
func TestDefaultCalendarIsProvisionedOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	open := func() *Server {
		st, err := sqlite.Open(ctx, dir, sqlite.Options{Now: fixedClock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		srv, err := New(st, Options{Clock: fixedClock, PasswordParams: cheapParams})
		if err != nil {
			t.Fatal(err)
		}
		return srv
	}
	srv := open()
	if err := srv.Service().CreateUser(ctx, "alice", "alice-password", ""); err != nil {
		t.Fatal(err)
	}
	if rec := request(t, srv, "PROPFIND", "/dav/calendars/alice/default/", "", "Depth", "0"); rec.Code != http.StatusMultiStatus {
		t.Fatalf("default calendar missing after first request: %d", rec.Code)
	}
	if rec := request(t, srv, http.MethodDelete, "/dav/calendars/alice/default/", ""); rec.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	again := open()
	if rec := request(t, again, "PROPFIND", "/dav/calendars/alice/default/", "", "Depth", "0"); rec.Code != http.StatusNotFound {
		t.Fatalf("deleted default calendar came back: %d", rec.Code)
	}
}

// Two nodes on one PostgreSQL database behave as one server: writes through
// either are all kept, seen at once through the other, with one ctag and
// consistent sync tokens; If-Match races across nodes have one winner.
func TestTwoNodesOneDatabase(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Database(t)
	node := func() *Server {
		st, err := postgres.Open(ctx, dsn, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		srv, err := New(st, Options{PasswordParams: cheapParams})
		if err != nil {
			t.Fatal(err)
		}
		return srv
	}
	a, b := node(), node()
	if err := a.Service().CreateUser(ctx, "alice", "alice-password", ""); err != nil {
		t.Fatal(err)
	}
	nodes := []*Server{a, b}
	const writers, perWriter = 6, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				srv := nodes[(w+i)%2]
				path := fmt.Sprintf("/dav/calendars/alice/default/w%d-%d.ics", w, i)
				rec := request(t, srv, http.MethodPut, path, event(fmt.Sprintf("w%d-%d", w, i), "x"), "Content-Type", "text/calendar")
				if rec.Code != http.StatusCreated {
					errs <- fmt.Errorf("PUT %s through node %d: %d %s", path, (w+i)%2, rec.Code, rec.Body)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	const syncReport = `<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`
	var tokens []string
	for i, srv := range nodes {
		rec := request(t, srv, "REPORT", "/dav/calendars/alice/default/", syncReport, "Depth", "0")
		if n := strings.Count(rec.Body.String(), "<D:response>"); n != writers*perWriter {
			t.Fatalf("node %d lists %d objects, want %d", i, n, writers*perWriter)
		}
		tok := rec.Body.String()[strings.Index(rec.Body.String(), "<D:sync-token>"):]
		tokens = append(tokens, tok)
	}
	if tokens[0] != tokens[1] {
		t.Fatalf("nodes disagree on the sync token: %s vs %s", tokens[0], tokens[1])
	}
	if !strings.Contains(tokens[0], fmt.Sprintf(":%d<", writers*perWriter)) {
		t.Fatalf("sync token %s does not count %d changes", tokens[0], writers*perWriter)
	}
	// If-Match races alternate between the nodes.
	testConcurrentConditionalPutsAcross(t, nodes)
}

func testConcurrentConditionalPutsAcross(t *testing.T, nodes []*Server) {
	const path = "/dav/calendars/alice/default/shared.ics"
	rec := request(t, nodes[0], http.MethodPut, path, event("shared", "v0"), "Content-Type", "text/calendar")
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d", rec.Code)
	}
	etag := rec.Header().Get("ETag")
	for round := range 5 {
		var wg sync.WaitGroup
		codes := make([]int, 6)
		etags := make([]string, 6)
		for w := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := request(t, nodes[w%2], http.MethodPut, path, event("shared", fmt.Sprintf("r%d w%d", round, w)),
					"Content-Type", "text/calendar", "If-Match", etag)
				codes[w], etags[w] = r.Code, r.Header().Get("ETag")
			}()
		}
		wg.Wait()
		winners := 0
		for w, c := range codes {
			if c == http.StatusNoContent {
				winners++
				etag = etags[w]
			} else if c != http.StatusPreconditionFailed {
				t.Fatalf("round %d writer %d: status %d", round, w, c)
			}
		}
		if winners != 1 {
			t.Fatalf("round %d: %d winners across nodes", round, winners)
		}
		for i, srv := range nodes {
			if got := request(t, srv, http.MethodGet, path, "").Header().Get("ETag"); got != etag {
				t.Fatalf("round %d: node %d serves ETag %s, winner wrote %s", round, i, got, etag)
			}
		}
	}
}

// proxy is a TCP relay to a PostgreSQL server that a test can cut and
// restore, to play a database that goes away and comes back.
type proxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target}
	p.listen("127.0.0.1:0")
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

// cut closes the listener and every relayed connection.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// restore listens again on the same address.
func (p *proxy) restore() { p.listen(p.addr) }

// A node whose database goes away answers 503 (not 500, not wrong data) and
// serves again by itself once the database is back.
func TestDatabaseOutageAnswers503AndRecovers(t *testing.T) {
	ctx := context.Background()
	u, err := url.Parse(pgtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	px := newProxy(t, u.Host)
	u.Host = px.addr
	st, err := postgres.Open(ctx, u.String(), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv, err := New(st, Options{PasswordParams: cheapParams})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Service().CreateUser(ctx, "alice", "alice-password", ""); err != nil {
		t.Fatal(err)
	}
	const path = "/dav/calendars/alice/default/outage.ics"
	put := request(t, srv, http.MethodPut, path, event("outage", "kept"), "Content-Type", "text/calendar")
	if put.Code != http.StatusCreated {
		t.Fatalf("PUT: %d %s", put.Code, put.Body)
	}
	px.cut()
	for _, tc := range []struct{ method, path string }{{http.MethodGet, path}, {"PROPFIND", "/dav/calendars/alice/default/"}, {http.MethodGet, "/healthz"}} {
		rec := request(t, srv, tc.method, tc.path, "", "Depth", "1")
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("%s %s with the database gone: %d, want 503", tc.method, tc.path, rec.Code)
		}
	}
	px.restore()
	var rec *httptest.ResponseRecorder
	for range 50 {
		if rec = request(t, srv, http.MethodGet, path, ""); rec.Code == http.StatusOK {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "SUMMARY:kept") || rec.Header().Get("ETag") != put.Header().Get("ETag") {
		t.Fatalf("after the database returned: %d %q", rec.Code, rec.Body)
	}
}

// Configured XML limits apply to requests: a PROPFIND nested deeper than
// max_xml_depth is refused with 413, one within it answers.
func TestConfiguredXMLLimits(t *testing.T) {
	st := backends[0].open(t)
	srv, err := New(st, Options{Clock: fixedClock, PasswordParams: cheapParams, XMLLimits: dav.XMLLimits{Depth: 8}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Service().CreateUser(context.Background(), "alice", "alice-password", ""); err != nil {
		t.Fatal(err)
	}
	nest := func(n int) string {
		return `<D:propfind xmlns:D="DAV:"><D:prop><X:p xmlns:X="urn:x">` + strings.Repeat("<X:a>", n) + strings.Repeat("</X:a>", n) + `</X:p></D:prop></D:propfind>`
	}
	if rec := request(t, srv, "PROPFIND", "/dav/calendars/alice/", nest(3), "Depth", "0"); rec.Code != http.StatusMultiStatus {
		t.Fatalf("shallow PROPFIND: %d %s", rec.Code, rec.Body)
	}
	if rec := request(t, srv, "PROPFIND", "/dav/calendars/alice/", nest(12), "Depth", "0"); rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("PROPFIND deeper than the limit: %d", rec.Code)
	}
}

// A calendar-query matching more than max_query_results answers with the
// first ones and a 507 for the collection (DAV:number-of-matches-within-limits).
func TestConfiguredQueryResultLimit(t *testing.T) {
	st := backends[0].open(t)
	srv, err := New(st, Options{Clock: fixedClock, PasswordParams: cheapParams, CalDAVLimits: caldav.Limits{QueryResults: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Service().CreateUser(context.Background(), "alice", "alice-password", ""); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		uid := fmt.Sprintf("q%d", i)
		if rec := request(t, srv, http.MethodPut, "/dav/calendars/alice/default/"+uid+".ics", event(uid, "x"), "Content-Type", "text/calendar"); rec.Code != http.StatusCreated {
			t.Fatalf("PUT: %d", rec.Code)
		}
	}
	rec := request(t, srv, "REPORT", "/dav/calendars/alice/default/",
		`<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>`, "Depth", "1")
	body := rec.Body.String()
	if rec.Code != http.StatusMultiStatus || strings.Count(body, "<D:getetag>") != 2 || !strings.Contains(body, "507 Insufficient Storage") || !strings.Contains(body, "number-of-matches-within-limits") {
		t.Fatalf("query over the limit: %d %s", rec.Code, body)
	}
}
