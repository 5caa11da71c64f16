package server

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
)

// anonymous sends a request with no credentials.
func anonymous(srv http.Handler, method, path string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	return rec
}

// publish makes a public link through the JSON API as user (POST to
// endpoint) and returns its path.
func publish(t *testing.T, srv http.Handler, user, endpoint string) (token, path string) {
	t.Helper()
	code, body := as(t, srv, user, http.MethodPost, endpoint, "")
	var l struct{ Token, Path string }
	if code != http.StatusCreated || json.Unmarshal([]byte(body), &l) != nil || l.Path == "" {
		t.Fatalf("publishing through %s: %d %s", endpoint, code, body)
	}
	return l.Token, l.Path
}

// A calendar's link answers without login with every object as stored in
// one iCalendar stream, with a strong ETag and Last-Modified that
// conditional requests are answered 304 by, until the calendar changes.
func TestPublicLinkOfACalendar(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		provision(t, srv, "alice")
		putEvent(t, srv, "alice", aliceWork+"budget.ics", budget)
		_, path := publish(t, srv, "alice", "/api/v1/collections/default/links")

		rec := anonymous(srv, http.MethodGet, path)
		etag, modified := rec.Header().Get("ETag"), rec.Header().Get("Last-Modified")
		body := rec.Body.String()
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/calendar") ||
			!strings.Contains(body, secretWord) || !strings.Contains(body, "X-WR-CALNAME:Calendar") ||
			!strings.HasPrefix(body, "BEGIN:VCALENDAR\r\n") {
			t.Fatalf("GET %s: %d %v\n%s", path, rec.Code, rec.Header(), body)
		}
		if !strings.HasPrefix(etag, `"`) || strings.HasPrefix(etag, "W/") || modified == "" {
			t.Errorf("ETag %q, Last-Modified %q: want a strong ETag and a date", etag, modified)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "private, no-cache" {
			t.Errorf("Cache-Control %q", cc)
		}
		// Credentials, even wrong ones, change nothing: no login is asked.
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.SetBasicAuth("alice", "wrong")
		again := httptest.NewRecorder()
		srv.ServeHTTP(again, req)
		if again.Code != http.StatusOK || again.Body.String() != body || again.Header().Get("ETag") != etag {
			t.Errorf("with wrong credentials: %d, ETag %q", again.Code, again.Header().Get("ETag"))
		}

		if rec := anonymous(srv, http.MethodHead, path); rec.Code != http.StatusOK || rec.Body.Len() != 0 ||
			rec.Header().Get("ETag") != etag || rec.Header().Get("Content-Length") == "" {
			t.Errorf("HEAD: %d, %d bytes, ETag %q, Content-Length %q", rec.Code, rec.Body.Len(), rec.Header().Get("ETag"),
				rec.Header().Get("Content-Length"))
		}
		for _, cond := range [][]string{{"If-None-Match", etag}, {"If-None-Match", "W/" + etag}, {"If-None-Match", `"other", ` + etag},
			{"If-Modified-Since", modified}} {
			if rec := anonymous(srv, http.MethodGet, path, cond...); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 ||
				rec.Header().Get("ETag") != etag {
				t.Errorf("GET with %s: %d, ETag %q; want 304 with the ETag", cond, rec.Code, rec.Header().Get("ETag"))
			}
		}
		if rec := anonymous(srv, http.MethodGet, path, "If-None-Match", `"other"`); rec.Code != http.StatusOK {
			t.Errorf("GET with another ETag: %d, want 200", rec.Code)
		}

		putEvent(t, srv, "alice", aliceWork+"lunch.ics", ics("BEGIN:VEVENT", "UID:lunch", "DTSTART:20260121T120000Z",
			"DTEND:20260121T130000Z", "SUMMARY:Lunch", "END:VEVENT"))
		rec = anonymous(srv, http.MethodGet, path, "If-None-Match", etag)
		if rec.Code != http.StatusOK || rec.Header().Get("ETag") == etag || !strings.Contains(rec.Body.String(), "SUMMARY:Lunch") {
			t.Errorf("after a change, with the old ETag: %d, ETag %q", rec.Code, rec.Header().Get("ETag"))
		}
	})
}

// Every link that does not answer (unknown, malformed, revoked, of a
// deleted calendar) is the same 404, from the next request on; other
// methods are 405.
func TestPublicLinkNotFound(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		provision(t, srv, "alice", "bob")
		putEvent(t, srv, "alice", aliceWork+"budget.ics", budget)
		revoked, revokedPath := publish(t, srv, "alice", "/api/v1/collections/default/links")
		_, deletedPath := publish(t, srv, "bob", "/api/v1/collections/default/links")
		if rec := anonymous(srv, http.MethodGet, revokedPath); rec.Code != http.StatusOK {
			t.Fatalf("before revocation: %d", rec.Code)
		}
		if rec := anonymous(srv, http.MethodGet, deletedPath); rec.Code != http.StatusOK {
			t.Fatalf("before deletion: %d", rec.Code)
		}
		if code, body := as(t, srv, "alice", http.MethodDelete, "/api/v1/links/"+revoked, ""); code != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", code, body)
		}
		if code, body := as(t, srv, "bob", http.MethodDelete, "/dav/calendars/bob/default/", ""); code != http.StatusNoContent {
			t.Fatalf("delete bob's calendar: %d %s", code, body)
		}

		want := anonymous(srv, http.MethodGet, "/public/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics")
		if want.Code != http.StatusNotFound {
			t.Fatalf("unknown token: %d", want.Code)
		}
		for _, path := range []string{revokedPath, deletedPath, "/public/short.ics", strings.TrimSuffix(revokedPath, ".ics"),
			revokedPath + "/", "/public/", "/public/" + strings.Repeat("A", 4000) + ".ics"} {
			rec := anonymous(srv, http.MethodGet, path)
			if rec.Code != http.StatusNotFound || rec.Body.String() != want.Body.String() ||
				len(rec.Header()) != len(want.Header()) || rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("GET %s: %d %v %q; want the one 404 %v %q", path, rec.Code, rec.Header(), rec.Body, want.Header(), want.Body)
			}
		}
		for _, method := range []string{http.MethodPut, http.MethodPost, http.MethodDelete, "PROPFIND", http.MethodOptions} {
			rec := anonymous(srv, method, deletedPath)
			if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("%s: %d, Allow %q", method, rec.Code, rec.Header().Get("Allow"))
			}
		}
	})
}

// Only the owner (or an admin of the calendar) lists and revokes a
// calendar's links; others are refused and the link keeps answering.
func TestPublicLinkOthersCannotRevoke(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		addUsers(t, srv, "carol")
		provision(t, srv, "alice", "bob", "carol")
		shareAs(t, srv, "alice", "default", "user:carol", domain.LevelRead)
		token, path := publish(t, srv, "alice", "/api/v1/collections/default/links")
		for _, who := range []struct {
			user string
			want int
		}{{"bob", http.StatusNotFound}, {"carol", http.StatusForbidden}} {
			if code, body := as(t, srv, who.user, http.MethodDelete, "/api/v1/links/"+token, ""); code != who.want {
				t.Errorf("%s revokes: %d %s, want %d", who.user, code, body, who.want)
			}
			if code, body := as(t, srv, who.user, http.MethodGet, "/api/v1/links", ""); code != http.StatusOK || strings.Contains(body, token) {
				t.Errorf("%s lists links: %d %s", who.user, code, body)
			}
		}
		if rec := anonymous(srv, http.MethodDelete, "/api/v1/links/"+token); rec.Code != http.StatusUnauthorized {
			t.Errorf("anonymous revokes: %d", rec.Code)
		}
		if rec := anonymous(srv, http.MethodGet, path); rec.Code != http.StatusOK {
			t.Errorf("the link after refused revocations: %d", rec.Code)
		}
		if code, body := as(t, srv, "alice", http.MethodGet, "/api/v1/links", ""); code != http.StatusOK || !strings.Contains(body, token) {
			t.Errorf("alice lists her links: %d %s", code, body)
		}
	})
}

// A view's link shows what the view shows to nobody in particular: its
// filter strips details, a private event is a busy block even though the
// owner would see it whole, and others' calendars (a group member's, one
// shared with the owner), shared with the owner and not with the public,
// show nothing.
func TestPublicLinkOfAView(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		ctx := context.Background()
		svc := srv.Service()
		provision(t, srv, "alice", "bob")
		putEvent(t, srv, "alice", aliceWork+"budget.ics", budget)
		putEvent(t, srv, "alice", aliceWork+"dinner.ics", ics("BEGIN:VEVENT", "UID:dinner", "DTSTART:20260120T190000Z",
			"DTEND:20260120T200000Z", "SUMMARY:Dinner", "DESCRIPTION:evening-visible", "END:VEVENT"))
		putEvent(t, srv, "alice", aliceWork+"private.ics", ics("BEGIN:VEVENT", "UID:private", "DTSTART:20260122T200000Z",
			"DTEND:20260122T210000Z", "SUMMARY:SECRET-PRIVATE-TITLE", "CLASS:PRIVATE", "END:VEVENT"))
		putEvent(t, srv, "bob", "/dav/calendars/bob/default/bobs.ics", ics("BEGIN:VEVENT", "UID:bobs", "DTSTART:20260123T090000Z",
			"DTEND:20260123T100000Z", "SUMMARY:BOBS-OWN-EVENT", "END:VEVENT"))
		if err := svc.CreateCollection(ctx, &store.Collection{Owner: "bob", Name: "club", Kind: store.KindCalendar}, nil); err != nil {
			t.Fatal(err)
		}
		putEvent(t, srv, "bob", "/dav/calendars/bob/club/match.ics", ics("BEGIN:VEVENT", "UID:match", "DTSTART:20260124T090000Z",
			"DTEND:20260124T100000Z", "SUMMARY:BOBS-SHARED-EVENT", "END:VEVENT"))
		shareAs(t, srv, "bob", "club", "user:alice", domain.LevelRead)
		if err := svc.CreateGroup(ctx, "family", "Family", false, "alice"); err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{"alice", "bob"} {
			if err := svc.AddMember(ctx, "family", u, []domain.Contribution{{Calendar: "default", Level: "summary"}}); err != nil &&
				!strings.Contains(err.Error(), "already") {
				t.Fatal(err)
			}
		}
		evenings := domain.VCSpec{Name: "evenings", DisplayName: "Alice, evenings",
			Definition: domain.VCNode{Union: []domain.VCNode{
				{Filter: &domain.FilterDef{Default: "summary", Zone: "UTC", Rules: []domain.RuleDef{{Level: "full", From: "17:00", To: "24:00"}}},
					Of: &domain.VCNode{Calendar: "default"}},
				{Group: "family"},
				{Calendar: "club", Owner: "bob"},
			}}}
		mustCreateVC(t, srv, "alice", evenings)
		_, path := publish(t, srv, "alice", "/api/v1/vcs/evenings/links")

		rec := anonymous(srv, http.MethodGet, path)
		body := rec.Body.String()
		if rec.Code != http.StatusOK || !strings.Contains(body, "X-WR-CALNAME:Alice\\, evenings") {
			t.Fatalf("GET %s: %d\n%s", path, rec.Code, body)
		}
		for _, want := range []string{"SUMMARY:Budget review", "evening-visible", "UID:private"} {
			if !strings.Contains(body, want) {
				t.Errorf("the view's link lacks %q:\n%s", want, body)
			}
		}
		for _, hidden := range []string{secretWord, "SECRET-PRIVATE-TITLE", "BOBS-OWN-EVENT", "UID:bobs", "BOBS-SHARED-EVENT", "UID:match"} {
			if strings.Contains(body, hidden) {
				t.Errorf("the view's link shows %q:\n%s", hidden, body)
			}
		}
		if etag := rec.Header().Get("ETag"); etag == "" || strings.HasPrefix(etag, "W/") {
			t.Errorf("ETag %q: want a strong one", etag)
		}
		// A date would tell when hidden details changed.
		if lm := rec.Header().Get("Last-Modified"); lm != "" {
			t.Errorf("Last-Modified %q on a view", lm)
		}
		if again := anonymous(srv, http.MethodGet, path, "If-None-Match", rec.Header().Get("ETag")); again.Code != http.StatusNotModified {
			t.Errorf("conditional GET: %d, want 304", again.Code)
		}

		// What alice sees of her own view holds her private event whole
		// and bob's events: the link is not her view.
		code, own := as(t, srv, "alice", http.MethodGet, "/api/v1/vcs/evenings/preview?start=2026-01-19&end=2026-01-25", "")
		if code != http.StatusOK || !strings.Contains(own, "BOBS-OWN-EVENT") || !strings.Contains(own, "BOBS-SHARED-EVENT") ||
			!strings.Contains(own, "SECRET-PRIVATE-TITLE") {
			t.Errorf("alice's preview of her view: %d %s", code, own)
		}

		// A change of what the link hides changes nothing served.
		putEvent(t, srv, "alice", aliceWork+"private.ics", ics("BEGIN:VEVENT", "UID:private", "DTSTART:20260122T200000Z",
			"DTEND:20260122T210000Z", "SUMMARY:SECRET-OTHER-TITLE", "CLASS:PRIVATE", "END:VEVENT"))
		if after := anonymous(srv, http.MethodGet, path); after.Header().Get("ETag") != rec.Header().Get("ETag") {
			t.Errorf("a change of a hidden title changed the link's ETag")
		}
	})
}

// A token is a credential: the request log keeps only its first
// characters, of a link's requests and of its revocation.
func TestPublicLinkTokenIsNotLogged(t *testing.T) {
	var logs bytes.Buffer
	st := backends[0].open(t)
	srv, err := New(st, Options{Clock: fixedClock, PasswordParams: cheapParams,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Service().CreateUser(context.Background(), "alice", "alice-password", ""); err != nil {
		t.Fatal(err)
	}
	provision(t, srv, "alice")
	token, path := publish(t, srv, "alice", "/api/v1/collections/default/links")
	for _, p := range []string{path, "/public/" + token + "x.ics"} {
		anonymous(srv, http.MethodGet, p)
	}
	as(t, srv, "alice", http.MethodDelete, "/api/v1/links/"+token, "")
	if !strings.Contains(logs.String(), "/public/"+token[:4]+"...") || !strings.Contains(logs.String(), "/api/v1/links/"+token[:4]+"...") {
		t.Errorf("no request of the link logged:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("the token is in the log:\n%s", logs.String())
	}
}

// One link's requests in flight are bounded like one user's, apart from
// the user's own and from other links'.
func TestPerLinkConcurrencyLimit(t *testing.T) {
	s := &Server{opts: Options{Logger: slog.New(slog.DiscardHandler)}, users: newUserLimiter(1, 50*time.Millisecond)}
	b := &blockingHandler{entered: make(chan string, 10), release: make(chan struct{})}
	h := s.perLink(b)
	get := func(path string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code
	}
	codes := make(chan int, 3)
	go func() { codes <- get("/public/one.ics") }()
	<-b.entered
	if code := get("/public/one.ics"); code != http.StatusServiceUnavailable {
		t.Errorf("a second request of a busy link: %d, want 503", code)
	}
	go func() { codes <- get("/public/two.ics") }()
	<-b.entered
	go func() { codes <- limitedRequest(s.perUser(b), "alice").Code }()
	<-b.entered
	close(b.release)
	for range 3 {
		if code := <-codes; code != http.StatusOK {
			t.Errorf("an admitted request answered %d", code)
		}
	}
}
