package server

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"koyomi.dev/koyomi/internal/connector"
	"koyomi.dev/koyomi/internal/domain"
)

// scrape reads url's metrics over real HTTP and parses them.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, body)
	}
	fams, err := parseMetrics(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// parseMetrics parses the text exposition format.
func parseMetrics(r io.Reader) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(r)
}

// series finds the metric of family name whose labels include want, or nil.
func series(fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

func counter(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	m := series(fams, name, labels)
	if m == nil {
		t.Errorf("no series %s%v", name, labels)
		return 0
	}
	return m.GetCounter().GetValue()
}

// TestMetricsScrape makes requests of several routes, a failed login and a
// virtual calendar query twice, then scrapes /metrics over real HTTP from
// loopback and checks the series they must have produced.
func TestMetricsScrape(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		hs := httptest.NewServer(srv)
		t.Cleanup(hs.Close)
		provision(t, srv, "alice", "bob")
		if rec := login(t, srv, "alice", "not-her-password", "192.0.2.7"); rec.Code != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", rec.Code)
		}
		if code, body := as(t, srv, "alice", "GET", "/healthz", ""); code != http.StatusOK {
			t.Fatalf("healthz: %d %s", code, body)
		}
		putEvent(t, srv, "alice", "/dav/calendars/alice/default/e.ics", ics("BEGIN:VEVENT", "UID:e",
			"DTSTART:20260120T190000Z", "DTEND:20260120T200000Z", "SUMMARY:Dinner", "END:VEVENT"))
		vc, err := srv.Service().CreateVC(domain.WithPrincipal(t.Context(), "alice"), "alice", domain.VCSpec{Name: "fam",
			SharedWith: []string{"user:bob"}, Definition: domain.VCNode{Filter: &domain.FilterDef{Default: "busy", Zone: "UTC"},
				Of: &domain.VCNode{Calendar: "default"}}})
		if err != nil {
			t.Fatal(err)
		}
		query := `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>`
		for range 2 {
			if code, body := as(t, srv, "bob", "REPORT", "/dav/calendars/bob/vc-"+itoa(vc.ID)+"/", query, "Depth", "1"); code != http.StatusMultiStatus {
				t.Fatalf("REPORT of the view: %d %s", code, body)
			}
		}

		fams := scrape(t, hs.URL)
		if n := counter(t, fams, "koyomi_http_requests_total", map[string]string{"method": "PROPFIND", "route": "dav_calendar", "status": "207"}); n < 2 {
			t.Errorf("PROPFIND dav_calendar 207 = %v, want at least 2 (one per provisioned user)", n)
		}
		if n := counter(t, fams, "koyomi_http_requests_total", map[string]string{"method": "PROPFIND", "route": "other", "status": "401"}); n != 1 {
			t.Errorf("PROPFIND /dav/ 401 = %v, want 1", n)
		}
		if n := counter(t, fams, "koyomi_http_requests_total", map[string]string{"method": "GET", "route": "health", "status": "200"}); n != 1 {
			t.Errorf("GET health 200 = %v, want 1", n)
		}
		if n := counter(t, fams, "koyomi_auth_failures_total", map[string]string{"reason": "wrong_password"}); n != 1 {
			t.Errorf("auth failures wrong_password = %v, want 1", n)
		}
		if n := counter(t, fams, "koyomi_vcal_render_cache_lookups_total", map[string]string{"result": "miss"}); n != 1 {
			t.Errorf("render cache misses = %v, want 1 (the first query)", n)
		}
		if n := counter(t, fams, "koyomi_vcal_render_cache_lookups_total", map[string]string{"result": "hit"}); n != 1 {
			t.Errorf("render cache hits = %v, want 1 (the second query)", n)
		}
		h := series(fams, "koyomi_http_request_duration_seconds", map[string]string{"method": "REPORT", "route": "dav_calendar"})
		if h == nil || h.GetHistogram().GetSampleCount() != 2 {
			t.Errorf("REPORT latency histogram = %v, want 2 samples", h)
		}
		for _, kind := range []string{"view", "update"} {
			tx := series(fams, "koyomi_store_tx_duration_seconds", map[string]string{"kind": kind, "result": "ok"})
			if tx == nil || tx.GetHistogram().GetSampleCount() == 0 {
				t.Errorf("store %s transactions: %v, want some timed", kind, tx)
			}
		}
		// The scrape itself is in flight while the gauge is read.
		if g := series(fams, "koyomi_http_requests_in_flight", nil); g == nil || g.GetGauge().GetValue() != 1 {
			t.Errorf("in flight = %v, want 1", g)
		}
	})
}

// TestMetricsConnectorRunsAndTrash checks the connector run counter after
// real runs of an ICS feed connector, and that a trash size source is read
// at scrape time.
func TestMetricsConnectorRunsAndTrash(t *testing.T) {
	srv, err := New(backends[0].open(t), Options{Clock: fixedClock, PasswordParams: cheapParams,
		ConnectorsDefaultAllowed: true})
	if err != nil {
		t.Fatal(err)
	}
	addUsers(t, srv, "alice")
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	provision(t, srv, "alice")
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/calendar")
		io.WriteString(w, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nBEGIN:VEVENT\r\nUID:f1\r\n"+
			"DTSTAMP:20260101T000000Z\r\nDTSTART:20260120T100000Z\r\nSUMMARY:Feed\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	}))
	t.Cleanup(feed.Close)
	ctx := domain.WithPrincipal(t.Context(), "alice")
	name, cal, kind, url := "feed", "default", connector.KindICS, feed.URL+"/feed.ics"
	c, err := srv.Connectors().Create(ctx, "alice", connector.Settings{Name: &name, Calendar: &cal, Kind: &kind, URL: &url})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if run, err := srv.Connectors().SyncNow(ctx, c.ID); err != nil || run.Status != connector.RunOK {
			t.Fatalf("SyncNow = %+v, %v; want ok", run, err)
		}
	}
	// One event deleted by alice lies in her trash.
	ev := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nBEGIN:VEVENT\r\nUID:gone\r\n" +
		"DTSTAMP:20260101T000000Z\r\nDTSTART:20260121T100000Z\r\nSUMMARY:Gone\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if code, body := as(t, srv, "alice", "PUT", "/dav/calendars/alice/default/gone.ics", ev, "Content-Type", "text/calendar"); code != http.StatusCreated {
		t.Fatalf("PUT: %d %s", code, body)
	}
	if code, body := as(t, srv, "alice", "DELETE", "/dav/calendars/alice/default/gone.ics", ""); code != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", code, body)
	}

	fams := scrape(t, hs.URL)
	if n := counter(t, fams, "koyomi_connector_runs_total", map[string]string{"outcome": "ok"}); n != 2 {
		t.Errorf("connector runs ok = %v, want 2", n)
	}
	if g := series(fams, "koyomi_trash_items", nil); g == nil || g.GetGauge().GetValue() != 1 {
		t.Errorf("trash items = %v, want 1", g)
	}
	if g := series(fams, "koyomi_trash_bytes", nil); g == nil || g.GetGauge().GetValue() < float64(len(ev)) {
		t.Errorf("trash bytes = %v, want at least the event's %d", g, len(ev))
	}
}

// TestMetricsAccess checks that /metrics answers only the addresses in
// MetricsAllow, that a forwarded address counts only from a trusted proxy,
// and that credentials change nothing.
func TestMetricsAccess(t *testing.T) {
	srv, err := New(backends[0].open(t), Options{Clock: fixedClock, PasswordParams: cheapParams,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")},
		MetricsAllow:   []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	if err != nil {
		t.Fatal(err)
	}
	addUsers(t, srv, "alice")
	tests := []struct {
		name, peer, forwardedFor string
		user                     bool
		want                     int
	}{
		{"allowed address", "192.0.2.5", "", false, http.StatusOK},
		{"other address", "198.51.100.5", "", false, http.StatusForbidden},
		{"other address with a user's credentials", "198.51.100.5", "", true, http.StatusForbidden},
		{"loopback, not in the list", "127.0.0.1", "", false, http.StatusForbidden},
		{"untrusted peer forging X-Forwarded-For", "198.51.100.5", "192.0.2.5", false, http.StatusForbidden},
		{"trusted proxy for an allowed client", "10.0.0.1", "192.0.2.5", false, http.StatusOK},
		{"trusted proxy for another client", "10.0.0.1", "198.51.100.5", false, http.StatusForbidden},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.RemoteAddr = tt.peer + ":40000"
		if tt.forwardedFor != "" {
			req.Header.Set("X-Forwarded-For", tt.forwardedFor)
		}
		if tt.user {
			req.SetBasicAuth("alice", "alice-password")
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, rec.Code, tt.want)
		}
		if tt.want == http.StatusForbidden && strings.Contains(rec.Body.String(), "koyomi_") {
			t.Errorf("%s: metrics in a refused answer", tt.name)
		}
		if tt.want == http.StatusOK && !strings.Contains(rec.Body.String(), "koyomi_http_requests_in_flight") {
			t.Errorf("%s: no metrics in the answer", tt.name)
		}
	}

	// The default is loopback only, over a real connection.
	def := newTestServer(t)
	hs := httptest.NewServer(def)
	t.Cleanup(hs.Close)
	scrape(t, hs.URL)
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.RemoteAddr = "203.0.113.9:1234"
	rec := httptest.NewRecorder()
	def.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("default, from 203.0.113.9: %d, want 403", rec.Code)
	}
}

// logLines parses JSON log output into records.
func logLines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func findLog(lines []map[string]any, msg string, match func(map[string]any) bool) map[string]any {
	for _, l := range lines {
		if l["msg"] == msg && match(l) {
			return l
		}
	}
	return nil
}

// TestRequestLog checks the one line logged per request: its fields, the
// request ID honoured when sane and echoed, and the client address taken
// from X-Forwarded-For only through a trusted proxy.
func TestRequestLog(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil)) // level info
	srv, err := New(backends[0].open(t), Options{Clock: fixedClock, PasswordParams: cheapParams, Logger: logger,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}})
	if err != nil {
		t.Fatal(err)
	}
	addUsers(t, srv, "alice")
	send := func(peer, forwardedFor, requestID string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("PROPFIND", "/dav/calendars/alice/", nil)
		req.Header.Set("Depth", "0")
		req.Header.Set("User-Agent", "TestCal/1.0")
		req.RemoteAddr = peer + ":40000"
		req.SetBasicAuth("alice", "alice-password")
		if forwardedFor != "" {
			req.Header.Set("X-Forwarded-For", forwardedFor)
		}
		if requestID != "" {
			req.Header.Set("X-Request-ID", requestID)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec
	}

	rec := send("10.0.0.1", "203.0.113.5", "abc-123")
	if got := rec.Header().Get("X-Request-ID"); got != "abc-123" {
		t.Errorf("echoed X-Request-ID = %q, want abc-123", got)
	}
	line := findLog(logLines(t, &logs), "request", func(l map[string]any) bool { return l["request_id"] == "abc-123" })
	if line == nil {
		t.Fatalf("no request line with request_id abc-123 in:\n%s", logs.String())
	}
	want := map[string]any{"level": "INFO", "client": "203.0.113.5", "user": "alice", "method": "PROPFIND",
		"path": "/dav/calendars/alice/", "status": float64(207), "user_agent": "TestCal/1.0"}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("request line %s = %v, want %v", k, line[k], v)
		}
	}
	if b, _ := line["bytes"].(float64); b <= 0 || int(b) != rec.Body.Len() {
		t.Errorf("request line bytes = %v, want %d", line["bytes"], rec.Body.Len())
	}
	if _, ok := line["duration"].(float64); !ok {
		t.Errorf("request line duration = %v, want a number", line["duration"])
	}

	logs.Reset()
	rec = send("198.51.100.9", "203.0.113.5", "bad id with spaces")
	id := rec.Header().Get("X-Request-ID")
	if id == "" || strings.Contains(id, " ") {
		t.Errorf("insane X-Request-ID: echoed %q, want a new one", id)
	}
	line = findLog(logLines(t, &logs), "request", func(map[string]any) bool { return true })
	if line == nil || line["request_id"] != id || line["client"] != "198.51.100.9" {
		t.Errorf("untrusted peer: line %v, want request_id %q and the peer's address (X-Forwarded-For ignored)", line, id)
	}
}

// TestAuthFailureReasons checks that each refused login is logged with the
// client's address and its real reason, and counted by reason: an unknown
// user, a wrong password, a revoked app password, and the rate limit.
func TestAuthFailureReasons(t *testing.T) {
	var logs bytes.Buffer
	srv, _ := newLimitServer(t, slog.New(slog.NewJSONHandler(&logs, nil)))
	secret, p, err := srv.Service().CreateAppPassword(domain.WithPrincipal(t.Context(), "alice"), "alice", "old phone")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Service().RevokeAppPassword(domain.WithPrincipal(t.Context(), "alice"), "alice", p.ID); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		user, password, ip, reason string
		status                     int
	}{
		{"nobody", "x", "192.0.2.1", "unknown_user", http.StatusUnauthorized},
		{"alice", "wrong", "192.0.2.2", "wrong_password", http.StatusUnauthorized},
		{"alice", secret, "192.0.2.3", "revoked_app_password", http.StatusUnauthorized},
		// bob's name is locked after three failures (newLimitServer).
		{"bob", "a", "192.0.2.4", "wrong_password", http.StatusUnauthorized},
		{"bob", "b", "192.0.2.4", "wrong_password", http.StatusUnauthorized},
		{"bob", "c", "192.0.2.4", "wrong_password", http.StatusUnauthorized},
		{"bob", "d", "192.0.2.4", "rate_limited", http.StatusTooManyRequests},
	}
	for i, s := range steps {
		logs.Reset()
		if rec := login(t, srv, s.user, s.password, s.ip); rec.Code != s.status {
			t.Errorf("step %d (%s): status %d, want %d", i, s.reason, rec.Code, s.status)
		}
		line := findLog(logLines(t, &logs), "authentication failed", func(map[string]any) bool { return true })
		if line == nil || line["reason"] != s.reason || line["client"] != s.ip || line["user"] != s.user || line["level"] != "WARN" {
			t.Errorf("step %d: logged %v; want reason %s, client %s, user %s at WARN", i, line, s.reason, s.ip, s.user)
		}
		if strings.Contains(logs.String(), secret) {
			t.Errorf("step %d: the app password's secret was logged", i)
		}
	}
	if rec := login(t, srv, "alice", "alice-password", "192.0.2.2"); rec.Code != http.StatusMultiStatus {
		t.Errorf("alice's own password after the failures: %d", rec.Code)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.RemoteAddr = "127.0.0.1:1"
	srv.ServeHTTP(rec, req)
	fams, err := parseMetrics(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	for reason, want := range map[string]float64{"unknown_user": 1, "wrong_password": 4, "revoked_app_password": 1, "rate_limited": 1} {
		if n := counter(t, fams, "koyomi_auth_failures_total", map[string]string{"reason": reason}); n != want {
			t.Errorf("auth failures %s = %v, want %v", reason, n, want)
		}
	}
}

// TestReadiness checks /readyz: 200 with the schema versions while the store
// answers at the current schema, 503 once it is closed.
func TestReadiness(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		get := func() (int, readiness) {
			req := httptest.NewRequest("GET", "/readyz", nil)
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			var r readiness
			if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
				t.Fatalf("readyz body %q: %v", rec.Body.String(), err)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("readyz Content-Type %q", ct)
			}
			return rec.Code, r
		}
		code, r := get()
		if code != http.StatusOK || r.Status != "ready" || r.SchemaVersion == 0 || r.SchemaVersion != r.SchemaWanted {
			t.Errorf("open store: %d %+v; want 200 ready at the wanted schema", code, r)
		}
		if err := srv.rawStore.(interface{ Close() error }).Close(); err != nil {
			t.Fatal(err)
		}
		if code, r := get(); code != http.StatusServiceUnavailable || r.Status != "unavailable" || r.Error == "" {
			t.Errorf("closed store: %d %+v; want 503 unavailable", code, r)
		}
	})
}
