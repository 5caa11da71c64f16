package remote

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// hostileServer answers every request with the status and body it is
// given last. It is a RoundTripper, not a listening server: the client's
// whole exchange runs (request, status, body limits, parsing) without the
// goroutines of a network server, whose varying paths would make the
// fuzzer's coverage signal noise. Tests against real HTTP servers are in
// servers_test.go and faults_test.go.
type hostileServer struct {
	mu     sync.Mutex
	status int
	body   []byte
}

func newHostileServer() (*hostileServer, *Client) {
	h := &hostileServer{}
	return h, New(&http.Client{Transport: h}, Auth{Username: "fuzz", Password: "fuzz-password"})
}

func (h *hostileServer) answer(status int, body []byte) {
	h.mu.Lock()
	h.status, h.body = status, body
	h.mu.Unlock()
}

func (h *hostileServer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	h.mu.Lock()
	status, body := h.status, h.body
	h.mu.Unlock()
	return &http.Response{StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Request: r, ContentLength: int64(len(body)),
		Header: http.Header{"Content-Type": {"application/xml; charset=utf-8"}},
		Body:   io.NopCloser(bytes.NewReader(body))}, nil
}

// davAnswerSeeds are multistatus answers as servers write them, and as
// broken or hostile ones might.
var davAnswerSeeds = []string{
	oddMultistatus,
	// A calendar without supported-calendar-component-set.
	`<D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:response><D:href>/cal/</D:href>` +
		`<D:propstat><D:prop><D:resourcetype><D:collection/><C:calendar/></D:resourcetype></D:prop>` +
		`<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>`,
	// The component set reported unknown, and an empty one.
	`<D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:response><D:href>/cal/</D:href>` +
		`<D:propstat><D:prop><D:resourcetype><C:calendar/></D:resourcetype><C:supported-calendar-component-set/>` +
		`</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat><D:propstat><D:prop><D:sync-token/>` +
		`<C:supported-calendar-component-set/></D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>` +
		`</D:response></D:multistatus>`,
	// A full calendar: components, report set, tokens.
	`<D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CS="http://calendarserver.org/ns/">` +
		`<D:response><D:href>/cal/</D:href><D:propstat><D:prop><D:resourcetype><D:collection/><C:calendar/>` +
		`</D:resourcetype><D:displayname>Work</D:displayname><CS:getctag>c1</CS:getctag><D:sync-token>t1</D:sync-token>` +
		`<D:supported-report-set><D:supported-report><D:report><D:sync-collection/></D:report></D:supported-report>` +
		`</D:supported-report-set><C:supported-calendar-component-set><C:comp name="vevent"/><C:comp name=""/>` +
		`<C:comp/><C:comp name="VTODO"/></C:supported-calendar-component-set></D:prop>` +
		`<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>` +
		`<D:response><D:href>/cal/a.ics</D:href><D:propstat><D:prop><D:getetag>"e1"</D:getetag>` +
		`<C:calendar-data>BEGIN:VCALENDAR` + "\r\n" + `END:VCALENDAR</C:calendar-data></D:prop>` +
		`<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>`,
	// A principal and a home leading elsewhere, to odd hrefs.
	`<multistatus xmlns="DAV:"><response><href>/</href><propstat><prop><current-user-principal><href>/p/</href>` +
		`</current-user-principal><calendar-home-set xmlns="urn:ietf:params:xml:ns:caldav"><href xmlns="DAV:">` +
		`http://user:pw@elsewhere.example/h/</href><href xmlns="DAV:">%zz/</href><href xmlns="DAV:">//x/</href>` +
		`</calendar-home-set></prop></propstat></response></multistatus>`,
	// A truncated sync-collection answer, then deletions.
	`<D:multistatus xmlns:D="DAV:"><D:response><D:href>/cal/</D:href><D:status>HTTP/1.1 507 Insufficient Storage` +
		`</D:status></D:response><D:response><D:href>/cal/gone.ics</D:href><D:status>HTTP/1.1 404 Not Found</D:status>` +
		`</D:response><D:response><D:href>/cal/sub/</D:href><D:status>HTTP/1.1 200 OK</D:status></D:response>` +
		`<D:sync-token>t2</D:sync-token></D:multistatus>`,
	// Declared Latin-1, an unsupported encoding, entities, no namespace.
	"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><multistatus xmlns=\"DAV:\"><response><href>/cal/\xe9.ics</href>" +
		"<propstat><prop><getetag>\"\xe9\"</getetag></prop></propstat></response></multistatus>",
	`<?xml version="1.0" encoding="UTF-7"?><multistatus xmlns="DAV:"/>`,
	`<!DOCTYPE m [<!ENTITY e "x">]><multistatus xmlns="DAV:"><response><href>&e;</href></response></multistatus>`,
	`<multistatus><response><href>/cal/</href><propstat><prop><resourcetype><calendar/></resourcetype></prop>` +
		`<status>HTTP/1.1</status></propstat></response></multistatus>`,
	"", "not XML at all", `<D:multistatus xmlns:D="DAV:">`, `<a/><b/>`,
}

// FuzzDAVAnswers serves a hostile answer to every request of discovery,
// listing, sync and multiget, over HTTP: whatever the answer, the client
// returns a result or an error, never panics, and what it returns holds
// together.
func FuzzDAVAnswers(f *testing.F) {
	for _, s := range davAnswerSeeds {
		f.Add(s)
	}
	h, c := newHostileServer()
	const server = "https://dav.example"
	cal := server + "/cal/"
	f.Fuzz(func(t *testing.T, answer string) {
		h.answer(http.StatusMultiStatus, []byte(answer))
		ctx := context.Background()
		for _, start := range []string{server + "/", server + "/p/", cal} {
			if cals, err := c.Discover(ctx, start); err == nil {
				for _, found := range cals {
					checkCalendar(t, found)
				}
			}
		}
		if info, err := c.Info(ctx, cal); err == nil {
			checkCalendar(t, *info)
		}
		if items, err := c.List(ctx, cal); err == nil {
			checkItems(t, "List", items)
		}
		for _, token := range []string{"", "t1"} {
			changed, deleted, next, err := c.SyncCollection(ctx, cal, token)
			if err != nil {
				continue
			}
			checkItems(t, "SyncCollection", changed)
			if next == "" {
				t.Error("SyncCollection succeeded without a new token")
			}
			for _, d := range deleted {
				if d == "" {
					t.Error("SyncCollection reported an empty href deleted")
				}
			}
		}
		if items, err := c.Multiget(ctx, cal, []string{"a.ics", "/cal/b.ics"}); err == nil {
			checkItems(t, "Multiget", items)
			for _, it := range items {
				checkCRLF(t, it.Data)
			}
		}
	})
}

func checkCalendar(t *testing.T, cal Calendar) {
	t.Helper()
	if cal.URL == "" {
		t.Errorf("calendar without URL: %+v", cal)
	}
	for _, comp := range cal.Components {
		if comp == "" || comp != strings.ToUpper(comp) {
			t.Errorf("calendar component %q", comp)
		}
	}
}

func checkItems(t *testing.T, what string, items []Item) {
	t.Helper()
	for _, it := range items {
		if it.Href == "" {
			t.Errorf("%s: item without href: %+v", what, it)
		}
	}
}

// checkCRLF checks that iCalendar data from XML has every line ended by
// CRLF, as RFC 5545 requires.
func checkCRLF(t *testing.T, data []byte) {
	t.Helper()
	s := string(data)
	if s != "" && !strings.HasSuffix(s, "\r\n") || strings.Count(s, "\n") != strings.Count(s, "\r\n") ||
		strings.Count(s, "\r") != strings.Count(s, "\r\n") {
		t.Errorf("calendar data with other line ends than CRLF: %q", s)
	}
}

// FuzzFeedAnswers serves a hostile body as an iCalendar feed: FetchICS
// returns it whole or an error, never panics.
func FuzzFeedAnswers(f *testing.F) {
	for _, s := range []string{
		"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		"\xef\xbb\xbf\r\n  begin:vcalendar\nEND:VCALENDAR",
		"BEGIN:VCALENDA", "<!doctype html><title>Sign in</title>", "",
		"BEGIN:VCALENDAR" + strings.Repeat("\r\n X", 300),
	} {
		f.Add(s)
	}
	h, c := newHostileServer()
	c.MaxFeedSize = 1 << 10
	f.Fuzz(func(t *testing.T, answer string) {
		h.answer(http.StatusOK, []byte(answer))
		for _, u := range []string{"https://feed.example/f.ics", "webcal://feed.example/f.ics"} {
			body, _, notModified, err := c.FetchICS(context.Background(), u, `"old"`)
			if err != nil {
				continue
			}
			if notModified || string(body) != answer || len(body) > 1<<10 {
				t.Errorf("FetchICS(%s) = %q (not modified: %v), served %q", u, body, notModified, answer)
			}
		}
	})
}
