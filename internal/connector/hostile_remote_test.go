package connector_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/connector"
)

// bareCalendar is a CalDAV server whose calendar /cal/ holds one event
// and whose PROPFIND answers leave out supported-calendar-component-set,
// which RFC 4791 5.2.3 makes optional: omitted outright, or reported as
// unknown (404) as some servers do.
func bareCalendar(t *testing.T, componentSet string) *httptest.Server {
	t.Helper()
	const self = `<D:response><D:href>/cal/</D:href><D:propstat><D:prop>` +
		`<D:resourcetype><D:collection/><C:calendar/></D:resourcetype><D:displayname>Bare</D:displayname>` +
		`<CS:getctag>ctag-1</CS:getctag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>%s</D:response>`
	const member = `<D:response><D:href>/cal/bare.ics</D:href><D:propstat><D:prop><D:getetag>"e1"</D:getetag>` +
		`<D:resourcetype/></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>`
	multistatus := func(responses ...string) string {
		return `<?xml version="1.0" encoding="utf-8"?><D:multistatus xmlns:D="DAV:" ` +
			`xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CS="http://calendarserver.org/ns/">` +
			strings.Join(responses, "") + `</D:multistatus>`
	}
	selfResponse := strings.Replace(self, "%s", componentSet, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		var body string
		switch {
		case r.Method == "PROPFIND" && r.Header.Get("Depth") == "1":
			body = multistatus(selfResponse, member)
		case r.Method == "PROPFIND":
			body = multistatus(selfResponse)
		case r.Method == "REPORT":
			data := strings.ReplaceAll(event("bare", "from a bare server"), "\r\n", "\n")
			body = multistatus(`<D:response><D:href>/cal/bare.ics</D:href><D:propstat><D:prop>` +
				`<D:getetag>"e1"</D:getetag><C:calendar-data>` + data + `</C:calendar-data></D:prop>` +
				`<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>`)
		default:
			http.Error(w, "read-only", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.WriteHeader(http.StatusMultiStatus)
		io.WriteString(w, body)
	}))
	t.Cleanup(ts.Close)
	return ts
}

// componentSets are the ways a server leaves out the calendar's
// component set.
var componentSets = []struct{ name, propstat string }{
	{"omitted", ""},
	{"reported unknown", `<D:propstat><D:prop><C:supported-calendar-component-set/></D:prop>` +
		`<D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>`},
}

// TestDiscoverWithoutComponentSet: discovering a calendar whose answer
// has no supported-calendar-component-set finds it, accepting any
// component (it used to dereference nil).
func TestDiscoverWithoutComponentSet(t *testing.T) {
	for _, cs := range componentSets {
		t.Run(cs.name, func(t *testing.T) {
			ts := bareCalendar(t, cs.propstat)
			m := newLocal(t).manager(t, nil)
			cals, err := m.Discover(context.Background(), ts.URL+"/cal/", "", "", "")
			if err != nil {
				t.Fatal(err)
			}
			if len(cals) != 1 || cals[0].URL != ts.URL+"/cal/" || cals[0].DisplayName != "Bare" || cals[0].Components != nil {
				t.Errorf("Discover = %+v, want /cal/ named Bare with no component list", cals)
			}
		})
	}
}

// TestRunnerSyncsWithoutComponentSet: the background runner meeting such
// a calendar syncs it like any other (it used to end the process).
func TestRunnerSyncsWithoutComponentSet(t *testing.T) {
	for _, cs := range componentSets {
		t.Run(cs.name, func(t *testing.T) {
			ts := bareCalendar(t, cs.propstat)
			l := newLocal(t)
			m := l.manager(t, nil)
			ctx := context.Background()
			c, err := m.Create(ctx, "alice", connector.Settings{Name: ptr("bare"), Calendar: ptr("work"),
				URL: ptr(ts.URL + "/cal/"), Direction: ptr(connector.PullOnly)})
			if err != nil {
				t.Fatal(err)
			}
			m.RunDue(ctx)
			runs, err := m.History(ctx, c.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(runs) != 1 || runs[0].Status != connector.RunOK || runs[0].PulledCreated != 1 {
				t.Fatalf("runs = %+v, want one ok run that pulled the event", runs)
			}
			wantState(t, "local", l.state(t), map[string]string{"bare": "from a bare server"})
		})
	}
}
