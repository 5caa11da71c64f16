package caldav

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/auth"
	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/davlock"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/sqlite"
	"koyomi.dev/koyomi/internal/tree"
)

var testClock = func() time.Time { return time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC) }

const testEvent = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example//Test//EN\r\n" +
	"BEGIN:VEVENT\r\nUID:weekly@example.org\r\nDTSTAMP:20260101T000000Z\r\n" +
	"DTSTART;TZID=Europe/Paris:20260105T090000\r\nDURATION:PT1H\r\n" +
	"RRULE:FREQ=WEEKLY;COUNT=10\r\nSUMMARY:Standup\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.org\r\n" +
	"END:VEVENT\r\nEND:VCALENDAR\r\n"

const calendarPath = "/dav/calendars/alice/default/"

// newTestHandler wires the DAV engine with CalDAV over a fresh SQLite
// store, as the server does, and acts as user alice, whose default
// calendar holds one weekly event. Authentication is left out: every
// request runs as alice.
func newTestHandler(t testing.TB) http.Handler {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{Now: testClock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logger := slog.New(slog.DiscardHandler)
	svc := domain.New(st, domain.Options{Logger: logger, Clock: testClock, MaxResourceSize: 1 << 20,
		PasswordParams: auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}})
	if err := svc.CreateUser(ctx, "alice", "alice-password", "alice@example.org"); err != nil {
		t.Fatal(err)
	}
	tr := tree.New(svc)
	h := dav.NewHandler(tr, logger, davlock.New(testClock))
	h.MaxBody = 1 << 20
	tr.Register(h)
	Register(h, tr)
	asAlice := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := domain.WithPrincipal(r.Context(), "alice")
		if err := svc.EnsureHome(ctx, "alice", store.KindCalendar); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r.WithContext(ctx))
	})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("PUT", calendarPath+"weekly.ics", strings.NewReader(testEvent))
	req.Header.Set("Content-Type", "text/calendar")
	asAlice.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		t.Fatalf("PUT event: %d %s", rec.Code, rec.Body.String())
	}
	return asAlice
}

func report(h http.Handler, path, depth string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest("REPORT", path, bytes.NewReader(body))
	req.Header.Set("Depth", depth)
	req.Header.Set("Content-Type", "application/xml")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var querySeeds = []string{
	`<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20260101T000000Z" end="20260201T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
	`<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data><C:expand start="20260101T000000Z" end="20260201T000000Z"/><C:comp name="VCALENDAR"><C:allprop/><C:comp name="VEVENT"><C:prop name="SUMMARY"/><C:prop name="UID" novalue="yes"/></C:comp></C:comp></C:calendar-data></D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>`,
	`<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:allprop/><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="ATTENDEE"><C:text-match collation="i;octet" negate-condition="yes">BOB</C:text-match><C:param-filter name="PARTSTAT"><C:text-match match-type="equals">accepted</C:text-match></C:param-filter></C:prop-filter><C:prop-filter name="LOCATION"><C:is-not-defined/></C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
	`<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data><C:limit-recurrence-set start="20260110T000000Z" end="20260120T000000Z"/></C:calendar-data></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO"><C:is-not-defined/></C:comp-filter><C:comp-filter name="VEVENT"><C:prop-filter name="DTSTART"><C:time-range start="20260112T000000Z"/></C:prop-filter></C:comp-filter></C:comp-filter></C:filter><C:timezone>BEGIN:VCALENDAR
BEGIN:VTIMEZONE
TZID:X
BEGIN:STANDARD
DTSTART:19700101T000000
TZOFFSETFROM:+0100
TZOFFSETTO:+0100
END:STANDARD
END:VTIMEZONE
END:VCALENDAR</C:timezone></C:calendar-query>`,
	`<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20260101T000000"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
	`<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter><C:comp-filter name="VCALENDAR"/><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>`,
	`<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY"><C:text-match collation="x;unknown">a</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
	`<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter>`,
	`<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="20260101T000000Z" end="20260301T000000Z"/></C:free-busy-query>`,
	`<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop><D:href>weekly.ics</D:href><D:href>/dav/calendars/alice/default/weekly.ics</D:href><D:href>%zz</D:href></C:calendar-multiget>`,
}

// FuzzCalendarQuery sends arbitrary bodies as REPORTs to a calendar and
// to an object through the whole engine: whatever the body, the answer is
// never a server error, and a 207 is well-formed XML.
func FuzzCalendarQuery(f *testing.F) {
	for _, s := range querySeeds {
		f.Add([]byte(s), true)
	}
	h := newTestHandler(f)
	f.Fuzz(func(t *testing.T, body []byte, onCollection bool) {
		path, depth := calendarPath+"weekly.ics", "0"
		if onCollection {
			path, depth = calendarPath, "1"
		}
		rec := report(h, path, depth, body)
		if rec.Code >= 500 {
			t.Fatalf("REPORT %s: %d %s\nbody: %q", path, rec.Code, rec.Body.String(), body)
		}
		if rec.Code == http.StatusMultiStatus {
			if err := wellFormed(rec.Body.Bytes()); err != nil {
				t.Fatalf("207 body is not well-formed: %v\n%s", err, rec.Body.String())
			}
		}
	})
}

// FuzzParseCompFilter runs the filter parser on arbitrary documents and
// evaluates whatever it accepts against a recurring event.
func FuzzParseCompFilter(f *testing.F) {
	seeds := []string{
		`<C:comp-filter xmlns:C="urn:ietf:params:xml:ns:caldav" name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20260101T000000Z" end="20260102T000000Z"/></C:comp-filter></C:comp-filter>`,
		`<comp-filter xmlns="urn:ietf:params:xml:ns:caldav" name="VCALENDAR"><comp-filter name="VEVENT"><prop-filter name="SUMMARY"><text-match match-type="starts-with">stand</text-match></prop-filter><prop-filter name="ATTENDEE"><param-filter name="PARTSTAT"><is-not-defined/></param-filter></prop-filter></comp-filter></comp-filter>`,
		`<comp-filter xmlns="urn:ietf:params:xml:ns:caldav" name="VCALENDAR"><comp-filter name="VALARM"><time-range end="20260101T000000Z"/></comp-filter><comp-filter name="VEVENT"><is-not-defined/></comp-filter></comp-filter>`,
		`<comp-filter xmlns="urn:ietf:params:xml:ns:caldav" name="VCALENDAR"><comp-filter name="VEVENT"><prop-filter name="DTSTART"><time-range start="20260105T080000Z" end="20260105T080000Z"/></prop-filter></comp-filter></comp-filter>`,
		`<comp-filter xmlns="urn:ietf:params:xml:ns:caldav" name=""/>`,
		`<comp-filter xmlns="urn:ietf:params:xml:ns:caldav" name="VCALENDAR">` + strings.Repeat(`<comp-filter name="X">`, 10) + strings.Repeat(`</comp-filter>`, 11),
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	obj, err := ical.Parse([]byte(testEvent))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		d := dav.NewDecoder(bytes.NewReader(body))
		root, err := d.Root()
		if err != nil || root.Name != C("comp-filter") {
			return
		}
		cf, err := parseCompFilter(d, root, 0)
		if err != nil {
			checkClientError(t, err)
			return
		}
		if cf.Name == "" {
			t.Fatalf("accepted a comp-filter without a name")
		}
		if err := cf.Validate(); err != nil {
			return
		}
		obj.Match(cf, time.UTC)
	})
}
