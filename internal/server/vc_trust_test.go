package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/domain"
)

// Regression tests for the access holes and defects of virtual calendars
// found by trying them as a new user would (issue 12's findings), on both
// stores.

// onEveryStore runs fn against a fresh server on each backend.
func onEveryStore(t *testing.T, fn func(t *testing.T, srv *Server)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, newTestServerOn(t, b)) })
	}
}

// addUsers creates users whose password is their name plus "-password".
func addUsers(t *testing.T, srv *Server, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := srv.Service().CreateUser(context.Background(), n, n+"-password", n+"@example.org"); err != nil {
			t.Fatal(err)
		}
	}
}

// provision makes each user's first request, which creates their default
// calendar.
func provision(t *testing.T, srv *Server, users ...string) {
	t.Helper()
	for _, u := range users {
		if code, body := as(t, srv, u, "PROPFIND", "/dav/calendars/"+u+"/", "", "Depth", "0"); code != http.StatusMultiStatus {
			t.Fatalf("provision %s: %d %s", u, code, body)
		}
	}
}

// createVCAs creates a virtual calendar through the JSON API as user and
// returns the status and the answer.
func createVCAs(t *testing.T, srv *Server, user string, spec domain.VCSpec) (int, string) {
	t.Helper()
	body, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	return as(t, srv, user, http.MethodPost, "/api/v1/vcs", string(body), "Content-Type", "application/json")
}

// mustCreateVC creates a virtual calendar through the JSON API as user and
// returns its id, failing the test unless it is created.
func mustCreateVC(t *testing.T, srv *Server, user string, spec domain.VCSpec) int64 {
	t.Helper()
	code, body := createVCAs(t, srv, user, spec)
	if code != http.StatusCreated {
		t.Fatalf("creating %s/%s: %d %s", user, spec.Name, code, body)
	}
	return vcIDOf(t, body)
}

// vcIDOf reads the id of a virtual calendar from the API's answer.
func vcIDOf(t *testing.T, body string) int64 {
	t.Helper()
	var out struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil || out.ID == 0 {
		t.Fatalf("no id in %s (%v)", body, err)
	}
	return out.ID
}

// queryAll is a calendar-query for every object with its data.
const queryAll = `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>` +
	`<C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>`

func viewPath(user string, id int64) string { return fmt.Sprintf("/dav/calendars/%s/vc-%d/", user, id) }

// tokenOf reads the sync-token of a sync-collection answer.
func tokenOf(t *testing.T, body string) string {
	t.Helper()
	i, j := strings.Index(body, "<D:sync-token>"), strings.Index(body, "</D:sync-token>")
	if i < 0 || j < i {
		t.Fatalf("no sync-token in %s", body)
	}
	return body[i+len("<D:sync-token>") : j]
}

func syncReport(token string) string {
	return `<D:sync-collection xmlns:D="DAV:"><D:sync-token>` + token + `</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`
}

// Finding 1: a user in no group could define a view of any group's
// calendar and read every member's contributions.
func TestGroupViewNeedsMembership(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		ctx := context.Background()
		svc := srv.Service()
		addUsers(t, srv, "eve")
		provision(t, srv, "alice", "eve")
		putEvent(t, srv, "alice", "/dav/calendars/alice/default/club.ics", ics("BEGIN:VEVENT", "UID:club", "DTSTART:20260220T180000Z",
			"DTEND:20260220T200000Z", "SUMMARY:CLUB-SECRET", "END:VEVENT"))
		if err := svc.CreateGroup(ctx, "club", "Club", false); err != nil {
			t.Fatal(err)
		}
		if err := svc.AddMember(ctx, "club", "alice", []domain.Contribution{{Calendar: "default", Level: "full"}}); err != nil {
			t.Fatal(err)
		}
		code, body := createVCAs(t, srv, "eve", domain.VCSpec{Name: "peek", Definition: domain.VCNode{Group: "club"}})
		if code != http.StatusBadRequest || strings.Contains(body, "CLUB-SECRET") {
			t.Fatalf("eve defines a view of a group she is not in: %d %s", code, body)
		}
		// Nested one level down, through a union, the same.
		code, body = createVCAs(t, srv, "eve", domain.VCSpec{Name: "peek2",
			Definition: domain.VCNode{Union: []domain.VCNode{{Calendar: "default"}, {Group: "club"}}}})
		if code != http.StatusBadRequest {
			t.Fatalf("eve defines a union naming a group she is not in: %d %s", code, body)
		}
		// Nor can she share with a group that does not exist yet, to
		// inherit whatever it will be given.
		code, body = createVCAs(t, srv, "eve", domain.VCSpec{Name: "squat", Definition: domain.VCNode{Calendar: "default"},
			SharedWith: []string{"group:future"}})
		if code != http.StatusBadRequest || !strings.Contains(body, "no such group") {
			t.Fatalf("eve shares with a group that does not exist: %d %s", code, body)
		}
		if views, err := svc.VisibleVCs(domain.WithPrincipal(ctx, "eve"), "eve"); err != nil || len(views) != 0 {
			t.Fatalf("eve sees %d views (%v), want none", len(views), err)
		}
	})
}

// Finding 2: a member who left a group whose policy is to lose everything
// kept reading it through a view made while a member, and could make one
// after leaving. Under the keep-the-past policy they keep what ended
// before they left, and nothing later.
func TestLeavingAGroupRevokesItsViews(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		ctx := context.Background()
		svc := srv.Service()
		addUsers(t, srv, "carol")
		provision(t, srv, "alice", "bob", "carol")
		// The clock is 2026-01-15: one event before, one after.
		putEvent(t, srv, "alice", "/dav/calendars/alice/default/past.ics", ics("BEGIN:VEVENT", "UID:past", "DTSTART:20260110T180000Z",
			"DTEND:20260110T200000Z", "SUMMARY:PAST-MEETING", "END:VEVENT"))
		putEvent(t, srv, "alice", "/dav/calendars/alice/default/future.ics", ics("BEGIN:VEVENT", "UID:future", "DTSTART:20260220T180000Z",
			"DTEND:20260220T200000Z", "SUMMARY:FUTURE-MEETING", "END:VEVENT"))
		for _, g := range []struct {
			name     string
			keepPast bool
		}{{"loseall", false}, {"keeppast", true}} {
			if err := svc.CreateGroup(ctx, g.name, g.name, g.keepPast); err != nil {
				t.Fatal(err)
			}
			for _, u := range []string{"alice", "bob"} {
				if err := svc.AddMember(ctx, g.name, u, []domain.Contribution{{Calendar: "default", Level: "full"}}); err != nil {
					t.Fatal(err)
				}
			}
			// bob, a member, defines his own view of the group and shares
			// it on with carol.
			code, body := createVCAs(t, srv, "bob", domain.VCSpec{Name: "mine-" + g.name, Definition: domain.VCNode{Group: g.name},
				SharedWith: []string{"user:carol"}})
			if code != http.StatusCreated {
				t.Fatalf("%s: bob's view of his group: %d %s", g.name, code, body)
			}
			id := vcIDOf(t, body)
			for _, u := range []string{"bob", "carol"} {
				if _, body := as(t, srv, u, "REPORT", viewPath(u, id), queryAll, "Depth", "1"); !strings.Contains(body, "FUTURE-MEETING") {
					t.Fatalf("%s: %s does not see the group's events while bob is a member: %s", g.name, u, body)
				}
			}
			if err := svc.RemoveMember(domain.WithPrincipal(ctx, "bob"), g.name, "bob"); err != nil {
				t.Fatal(err)
			}
			for _, u := range []string{"bob", "carol"} {
				code, body := as(t, srv, u, "REPORT", viewPath(u, id), queryAll, "Depth", "1")
				if code != http.StatusMultiStatus || strings.Contains(body, "FUTURE-MEETING") {
					t.Errorf("%s: after bob left, %s still reads a future group event: %d %s", g.name, u, code, body)
				}
				if keeps := strings.Contains(body, "PAST-MEETING"); keeps != g.keepPast {
					t.Errorf("%s: after bob left, %s sees the past event: %v, want %v", g.name, u, keeps, g.keepPast)
				}
			}
			code, body = createVCAs(t, srv, "bob", domain.VCSpec{Name: "again-" + g.name, Definition: domain.VCNode{Group: g.name}})
			if wantOK := g.keepPast; (code == http.StatusCreated) != wantOK {
				t.Errorf("%s: bob defines a new view after leaving: %d %s", g.name, code, body)
			}
		}
	})
}

// Finding 3: writes through a view with a write target landed in the
// viewer's own calendar of that name, or nowhere. They must land in the
// owner's target, only for the audiences the definition lets write, and
// never overwrite what the writer does not see whole.
func TestWriteThroughAView(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		addUsers(t, srv, "carol")
		provision(t, srv, "alice", "bob", "carol")
		for _, u := range []string{"alice", "bob"} {
			if code, body := as(t, srv, u, "MKCALENDAR", "/dav/calendars/"+u+"/plan/", ""); code != http.StatusCreated {
				t.Fatalf("MKCALENDAR %s/plan: %d %s", u, code, body)
			}
		}
		full := ics("BEGIN:VEVENT", "UID:shared-1", "DTSTART:20260121T100000Z", "DTEND:20260121T110000Z", "SUMMARY:Planning", "END:VEVENT")
		putEvent(t, srv, "alice", "/dav/calendars/alice/plan/shared-1.ics", full)
		putEvent(t, srv, "alice", "/dav/calendars/alice/plan/private.ics", ics("BEGIN:VEVENT", "UID:private", "DTSTART:20260122T100000Z",
			"DTEND:20260122T110000Z", "SUMMARY:Doctor", "DESCRIPTION:ALICE-ONLY", "CATEGORIES:personal", "END:VEVENT"))
		putEvent(t, srv, "alice", "/dav/calendars/alice/plan/hidden.ics", ics("BEGIN:VEVENT", "UID:hidden", "DTSTART:20260123T100000Z",
			"DTEND:20260123T110000Z", "SUMMARY:Surprise", "CATEGORIES:secret", "END:VEVENT"))
		id := mustCreateVC(t, srv, "alice", domain.VCSpec{Name: "team", DisplayName: "Team plan",
			Definition: domain.VCNode{Filter: &domain.FilterDef{Default: "full", Rules: []domain.RuleDef{
				{Level: "busy", Categories: []string{"personal"}}, {Level: "hidden", Categories: []string{"secret"}}}},
				Of: &domain.VCNode{Union: []domain.VCNode{{Calendar: "default"}, {Calendar: "plan"}}}},
			SharedWith: []string{"user:bob", "user:carol"}, WriteTarget: "plan", Writers: []string{"user:bob"}})
		bobView, carolView := viewPath("bob", id), viewPath("carol", id)

		// current-user-privilege-set tells each the truth.
		cups := `<D:propfind xmlns:D="DAV:"><D:prop><D:current-user-privilege-set/></D:prop></D:propfind>`
		if _, body := as(t, srv, "bob", "PROPFIND", bobView, cups, "Depth", "0"); !strings.Contains(body, "<D:write-content/>") {
			t.Errorf("bob, a writer, is not offered write-content: %s", body)
		}
		if _, body := as(t, srv, "carol", "PROPFIND", carolView, cups, "Depth", "0"); strings.Contains(body, "<D:write-content/>") {
			t.Errorf("carol, a reader, is offered write-content: %s", body)
		}
		// Per object: bob may write what he sees whole from the target,
		// not what he sees reduced.
		_, body := as(t, srv, "bob", "PROPFIND", bobView, cups, "Depth", "1")
		for name, writable := range map[string]bool{"shared-1.ics": true, "private.ics": false} {
			i := strings.Index(body, "/"+name+"</D:href>")
			if i < 0 {
				t.Fatalf("%s not listed: %s", name, body)
			}
			resp := body[i:]
			resp = resp[:strings.Index(resp, "</D:response>")]
			if got := strings.Contains(resp, "<D:write-content/>"); got != writable {
				t.Errorf("bob is offered write-content on %s: %v, want %v: %s", name, got, writable, resp)
			}
		}

		// bob adds an event: it lands in alice's plan, not in his own, and
		// comes back through the view for everyone.
		added := ics("BEGIN:VEVENT", "UID:bob-added", "DTSTART:20260126T100000Z", "DTEND:20260126T110000Z", "SUMMARY:From Bob", "END:VEVENT")
		if code, body := as(t, srv, "bob", http.MethodPut, bobView+"bob-added.ics", added, "Content-Type", "text/calendar"); code != http.StatusCreated {
			t.Fatalf("bob PUT through the view: %d %s", code, body)
		}
		if code, body := as(t, srv, "alice", http.MethodGet, "/dav/calendars/alice/plan/bob-added.ics", ""); code != http.StatusOK || body != added {
			t.Errorf("bob's event is not in alice's plan as sent: %d %s", code, body)
		}
		if code, _ := as(t, srv, "bob", http.MethodGet, "/dav/calendars/bob/plan/bob-added.ics", ""); code != http.StatusNotFound {
			t.Errorf("bob's event landed in bob's own plan: %d", code)
		}
		if code, body := as(t, srv, "carol", http.MethodGet, carolView+"bob-added.ics", ""); code != http.StatusOK || !strings.Contains(body, "From Bob") {
			t.Errorf("carol does not see bob's event through the view: %d %s", code, body)
		}
		// alice's own change log has it, as if she had written it.
		if _, body := as(t, srv, "alice", "REPORT", "/dav/calendars/alice/plan/", syncReport(""), "Depth", "0"); !strings.Contains(body, "/bob-added.ics</D:href>") {
			t.Errorf("alice's sync of her plan lacks bob's event: %s", body)
		}

		// bob edits what he sees whole (with its ETag), and deletes it.
		_, props := as(t, srv, "bob", "PROPFIND", bobView+"shared-1.ics", `<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>`, "Depth", "0")
		etag := props[strings.Index(props, "<D:getetag>")+len("<D:getetag>") : strings.Index(props, "</D:getetag>")]
		etag = strings.ReplaceAll(etag, "&#34;", `"`)
		edited := strings.Replace(full, "SUMMARY:Planning", "SUMMARY:Planning (moved)", 1)
		if code, body := as(t, srv, "bob", http.MethodPut, bobView+"shared-1.ics", edited, "Content-Type", "text/calendar", "If-Match", etag); code != http.StatusNoContent {
			t.Errorf("bob edits an event he sees whole: %d %s", code, body)
		}
		if _, body := as(t, srv, "alice", http.MethodGet, "/dav/calendars/alice/plan/shared-1.ics", ""); body != edited {
			t.Errorf("alice's copy after bob's edit: %s", body)
		}
		// What he sees reduced or not at all is refused, and unchanged.
		for _, name := range []string{"private.ics", "hidden.ics"} {
			code, body := as(t, srv, "bob", http.MethodPut, bobView+name, added, "Content-Type", "text/calendar")
			if code != http.StatusForbidden || !strings.Contains(body, "need-privileges") {
				t.Errorf("bob overwrites %s, which he does not see whole: %d %s", name, code, body)
			}
			if code, body := as(t, srv, "bob", http.MethodDelete, bobView+name, ""); code != http.StatusForbidden && code != http.StatusNotFound {
				t.Errorf("bob deletes %s: %d %s", name, code, body)
			}
		}
		if _, body := as(t, srv, "alice", http.MethodGet, "/dav/calendars/alice/plan/private.ics", ""); !strings.Contains(body, "ALICE-ONLY") {
			t.Errorf("alice's private event changed: %s", body)
		}
		if code, _ := as(t, srv, "alice", http.MethodGet, "/dav/calendars/alice/plan/hidden.ics", ""); code != http.StatusOK {
			t.Errorf("alice's hidden event is gone: %d", code)
		}
		// carol, not among the writers, may not write at all.
		if code, body := as(t, srv, "carol", http.MethodPut, carolView+"carol.ics", added, "Content-Type", "text/calendar"); code != http.StatusForbidden {
			t.Errorf("carol writes through a view she may only read: %d %s", code, body)
		}
		if code, body := as(t, srv, "carol", http.MethodDelete, carolView+"bob-added.ics", ""); code != http.StatusForbidden {
			t.Errorf("carol deletes through a view she may only read: %d %s", code, body)
		}
		if code, body := as(t, srv, "bob", http.MethodDelete, bobView+"bob-added.ics", ""); code != http.StatusNoContent {
			t.Errorf("bob deletes his event through the view: %d %s", code, body)
		}
		if code, _ := as(t, srv, "alice", http.MethodGet, "/dav/calendars/alice/plan/bob-added.ics", ""); code != http.StatusNotFound {
			t.Errorf("bob's delete did not reach alice's plan: %d", code)
		}
		// A write target the view does not show is refused when saved.
		code, body := createVCAs(t, srv, "alice", domain.VCSpec{Name: "blind", Definition: domain.VCNode{Calendar: "default"},
			SharedWith: []string{"user:bob"}, WriteTarget: "plan"})
		if code != http.StatusBadRequest {
			t.Errorf("a write target outside the view is accepted: %d %s", code, body)
		}
	})
}

// Finding 4: incremental sync on a filtered view named objects hidden from
// the viewer (a 404 for "dentist-appointment-1.ics"). It must name only
// what the viewer was shown, and still report what became hidden.
func TestViewSyncRevealsNothing(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		provision(t, srv, "alice", "bob")
		id := mustCreateVC(t, srv, "alice", domain.VCSpec{Name: "friends",
			Definition: domain.VCNode{Filter: &domain.FilterDef{Default: "busy", Zone: "UTC", Rules: []domain.RuleDef{
				{Level: "hidden", Weekdays: []string{"mon", "tue", "wed", "thu", "fri"}, From: "00:00", To: "17:00"}}},
				Of: &domain.VCNode{Calendar: "default"}},
			SharedWith: []string{"user:bob"}})
		base := viewPath("bob", id)
		sync := func(token string) string {
			t.Helper()
			code, body := as(t, srv, "bob", "REPORT", base, syncReport(token), "Depth", "0")
			if code != http.StatusMultiStatus {
				t.Fatalf("sync from %q: %d %s", token, code, body)
			}
			return body
		}
		first := tokenOf(t, sync(""))
		// Tuesday 10:00: hidden from friends.
		putEvent(t, srv, "alice", "/dav/calendars/alice/default/dentist-appointment-1.ics", ics("BEGIN:VEVENT", "UID:dentist-appointment-1",
			"DTSTART:20260120T100000Z", "DTEND:20260120T110000Z", "SUMMARY:Dentist", "END:VEVENT"))
		body := sync(first)
		if strings.Contains(body, "dentist") || strings.Contains(body, "<D:response>") {
			t.Fatalf("sync names a hidden event: %s", body)
		}
		second := tokenOf(t, body)
		// Saturday evening: shown as busy.
		party := ics("BEGIN:VEVENT", "UID:party", "DTSTART:20260124T190000Z", "DTEND:20260124T220000Z", "SUMMARY:Party", "END:VEVENT")
		putEvent(t, srv, "alice", "/dav/calendars/alice/default/party.ics", party)
		body = sync(second)
		if !strings.Contains(body, "/party.ics</D:href>") || strings.Count(body, "<D:response>") != 1 {
			t.Fatalf("sync does not report the visible party exactly: %s", body)
		}
		third := tokenOf(t, body)
		// Moved to Tuesday morning: it became hidden, and bob, who had it,
		// is told it is gone.
		putEvent(t, srv, "alice", "/dav/calendars/alice/default/party.ics", ics("BEGIN:VEVENT", "UID:party",
			"DTSTART:20260120T080000Z", "DTEND:20260120T090000Z", "SUMMARY:Party", "END:VEVENT"))
		body = sync(third)
		if !strings.Contains(body, "/party.ics</D:href>") || !strings.Contains(body, "404") {
			t.Fatalf("sync does not report the party as removed: %s", body)
		}
		// A client that never had the party is not told of it at all.
		if body := sync(first); strings.Contains(body, "party") || strings.Contains(body, "dentist") {
			t.Fatalf("a client from before the party is told of it: %s", body)
		}
		// A foreign or future token is refused.
		if code, _ := as(t, srv, "bob", "REPORT", base, syncReport(strings.TrimSuffix(third, ":3")+":99"), "Depth", "0"); code != http.StatusForbidden {
			t.Errorf("a future token is accepted: %d", code)
		}
	})
}

// tokyoZone is a VTIMEZONE for C:timezone, with its line breaks escaped for
// XML so that they survive as CRLF.
var tokyoZone = strings.ReplaceAll(strings.Join([]string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//EN", "BEGIN:VTIMEZONE",
	"TZID:Asia/Tokyo", "BEGIN:STANDARD", "DTSTART:19700101T000000", "TZOFFSETFROM:+0900", "TZOFFSETTO:+0900", "TZNAME:JST",
	"END:STANDARD", "END:VTIMEZONE", "END:VCALENDAR", ""}, "\r\n"), "\r", "&#13;")

// Finding 5: a query on a view ignored the query's C:timezone: a floating
// 23:30 event matched on the calendar but not through a full-level view.
func TestViewQueryUsesQueryTimezone(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		provision(t, srv, "alice", "bob")
		putEvent(t, srv, "alice", "/dav/calendars/alice/default/late.ics", ics("BEGIN:VEVENT", "UID:late", "DTSTART:20260120T233000",
			"DTEND:20260121T000000", "SUMMARY:Late call", "END:VEVENT"))
		id := mustCreateVC(t, srv, "alice", domain.VCSpec{Name: "all", Definition: domain.VCNode{Calendar: "default"}, SharedWith: []string{"user:bob"}})
		// 23:30 in Tokyo is 14:30 UTC.
		query := `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR">` +
			`<C:comp-filter name="VEVENT"><C:time-range start="20260120T140000Z" end="20260120T150000Z"/></C:comp-filter></C:comp-filter></C:filter>` +
			`<C:timezone>` + tokyoZone + `</C:timezone></C:calendar-query>`
		for _, c := range []struct{ user, path string }{{"alice", "/dav/calendars/alice/default/"}, {"bob", viewPath("bob", id)}} {
			code, body := as(t, srv, c.user, "REPORT", c.path, query, "Depth", "1")
			if code != http.StatusMultiStatus || !strings.Contains(body, "late.ics") {
				t.Errorf("%s: the floating 23:30 event does not match 14:00-15:00 UTC in Tokyo: %d %s", c.path, code, body)
			}
		}
	})
}

// Finding 6: every view a user defined also appeared in their own home, so
// their own devices showed their events several times. It appears there
// only when they subscribe to it.
func TestOwnViewsStayOutOfOwnHome(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		provision(t, srv, "alice", "bob")
		id := mustCreateVC(t, srv, "alice", domain.VCSpec{Name: "family", DisplayName: "For family",
			Definition: domain.VCNode{Calendar: "default"}, SharedWith: []string{"user:bob"}})
		home := func(user string) string {
			t.Helper()
			_, body := as(t, srv, user, "PROPFIND", "/dav/calendars/"+user+"/", `<D:propfind xmlns:D="DAV:"><D:prop><D:displayname/></D:prop></D:propfind>`, "Depth", "1")
			return body
		}
		if strings.Contains(home("alice"), fmt.Sprintf("/vc-%d/", id)) {
			t.Errorf("alice's own view is listed in her home")
		}
		if !strings.Contains(home("bob"), fmt.Sprintf("/vc-%d/", id)) {
			t.Errorf("bob's home does not list the view shared with him")
		}
		if code, body := as(t, srv, "alice", http.MethodPatch, fmt.Sprintf("/api/v1/visible/%d", id), `{"subscribed": true}`, "Content-Type", "application/json"); code != http.StatusOK {
			t.Fatalf("alice subscribes to her own view: %d %s", code, body)
		}
		if !strings.Contains(home("alice"), fmt.Sprintf("/vc-%d/", id)) {
			t.Errorf("alice's view is not listed after she subscribed to it")
		}
	})
}

// Finding 7: viewers could not rename, recolour, reorder or drop a view
// shared with them. These are theirs; the owner's definition stays.
func TestViewerOwnSettings(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		provision(t, srv, "alice", "bob")
		id := mustCreateVC(t, srv, "alice", domain.VCSpec{Name: "family", DisplayName: "For family", Color: "#112233FF",
			Definition: domain.VCNode{Calendar: "default"}, SharedWith: []string{"user:bob"}})
		base := viewPath("bob", id)
		patch := `<D:propertyupdate xmlns:D="DAV:" xmlns:I="http://apple.com/ns/ical/"><D:set><D:prop><D:displayname>アリスの予定</D:displayname>` +
			`<I:calendar-color>#FF0000FF</I:calendar-color><I:calendar-order>7</I:calendar-order></D:prop></D:set></D:propertyupdate>`
		code, body := as(t, srv, "bob", "PROPPATCH", base, patch)
		if code != http.StatusMultiStatus || strings.Contains(body, "403") || strings.Contains(body, "409") {
			t.Fatalf("bob's PROPPATCH of his view: %d %s", code, body)
		}
		props := `<D:propfind xmlns:D="DAV:" xmlns:I="http://apple.com/ns/ical/"><D:prop><D:displayname/><I:calendar-color/><I:calendar-order/></D:prop></D:propfind>`
		_, body = as(t, srv, "bob", "PROPFIND", base, props, "Depth", "0")
		for _, want := range []string{"アリスの予定", "#FF0000FF", ">7<"} {
			if !strings.Contains(body, want) {
				t.Errorf("bob's view lacks his %q: %s", want, body)
			}
		}
		// alice's definition is untouched.
		if _, body := as(t, srv, "alice", http.MethodGet, "/api/v1/vcs/family", ""); !strings.Contains(body, "For family") || !strings.Contains(body, "#112233FF") {
			t.Errorf("alice's view changed: %s", body)
		}
		// DELETE unsubscribes; the API subscribes again.
		if code, body := as(t, srv, "bob", http.MethodDelete, base, ""); code != http.StatusNoContent {
			t.Fatalf("bob unsubscribes: %d %s", code, body)
		}
		if _, body := as(t, srv, "bob", "PROPFIND", "/dav/calendars/bob/", props, "Depth", "1"); strings.Contains(body, base) {
			t.Errorf("an unsubscribed view is still listed: %s", body)
		}
		if code, body := as(t, srv, "alice", http.MethodGet, "/api/v1/vcs/family", ""); code != http.StatusOK {
			t.Errorf("bob's unsubscribing deleted alice's view: %d %s", code, body)
		}
		if code, body := as(t, srv, "bob", http.MethodPatch, fmt.Sprintf("/api/v1/visible/%d", id), `{"subscribed": true}`, "Content-Type", "application/json"); code != http.StatusOK || !strings.Contains(body, "アリスの予定") {
			t.Fatalf("bob subscribes again: %d %s", code, body)
		}
		if _, body := as(t, srv, "bob", "PROPFIND", "/dav/calendars/bob/", props, "Depth", "1"); !strings.Contains(body, base) {
			t.Errorf("a resubscribed view is not listed: %s", body)
		}
	})
}

// Finding 8: GET of a view answered plain text; it exports iCalendar as a
// calendar's GET does.
func TestViewGetExportsICalendar(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		provision(t, srv, "alice", "bob")
		putEvent(t, srv, "alice", "/dav/calendars/alice/default/a.ics", ics("BEGIN:VEVENT", "UID:a", "DTSTART:20260120T100000Z",
			"DTEND:20260120T110000Z", "SUMMARY:Alpha", "DESCRIPTION:STRIPPED", "END:VEVENT"))
		id := mustCreateVC(t, srv, "alice", domain.VCSpec{Name: "s", Definition: domain.VCNode{Filter: &domain.FilterDef{Default: "summary"},
			Of: &domain.VCNode{Calendar: "default"}}, SharedWith: []string{"user:bob"}})
		req, _ := http.NewRequest(http.MethodGet, viewPath("bob", id), nil)
		req.SetBasicAuth("bob", "bob-password")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/calendar") ||
			!strings.HasPrefix(rec.Body.String(), "BEGIN:VCALENDAR") || !strings.Contains(rec.Body.String(), "SUMMARY:Alpha") ||
			strings.Contains(rec.Body.String(), "STRIPPED") {
			t.Fatalf("GET of a view: %d %s %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
		}
	})
}

// Hostile definitions: views of views doubling at each level, and one
// calendar listed thousands of times, are bounded and evaluated once per
// distinct source; the event appears once.
func TestHostileDefinitionsAreBounded(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		provision(t, srv, "alice", "bob")
		putEvent(t, srv, "alice", "/dav/calendars/alice/default/e.ics", ics("BEGIN:VEVENT", "UID:e", "DTSTART:20260120T100000Z",
			"DTEND:20260120T110000Z", "SUMMARY:Once", "END:VEVENT"))
		prev := domain.VCNode{Calendar: "default"}
		var lastID int64
		var refused bool
		for level := 0; level < 12; level++ {
			name := fmt.Sprintf("v%d", level)
			start := time.Now()
			code, body := createVCAs(t, srv, "alice", domain.VCSpec{Name: name, Definition: domain.VCNode{Union: []domain.VCNode{prev, prev}},
				SharedWith: []string{"user:bob"}})
			if elapsed := time.Since(start); elapsed > 10*time.Second {
				t.Fatalf("saving level %d took %v", level, elapsed)
			}
			if code == http.StatusBadRequest && strings.Contains(body, "nested") {
				refused = true
				break
			}
			if code != http.StatusCreated {
				t.Fatalf("level %d: %d %s", level, code, body)
			}
			lastID = vcIDOf(t, body)
			prev = domain.VCNode{VC: name}
		}
		if !refused {
			t.Errorf("views nested 12 deep are accepted")
		}
		_, body := as(t, srv, "bob", "REPORT", viewPath("bob", lastID), queryAll, "Depth", "1")
		if n := strings.Count(body, "<D:response>"); n != 1 {
			t.Errorf("the deepest view answers %d objects, want the one event once: %s", n, body)
		}
		many := make([]domain.VCNode, 20000)
		for i := range many {
			many[i] = domain.VCNode{Calendar: "default"}
		}
		if code, body := createVCAs(t, srv, "alice", domain.VCSpec{Name: "many", Definition: domain.VCNode{Union: many}}); code != http.StatusBadRequest {
			t.Errorf("a union of 20,000 nodes is accepted: %d %.200s", code, body)
		}
		id := mustCreateVC(t, srv, "alice", domain.VCSpec{Name: "twice", Definition: domain.VCNode{Union: []domain.VCNode{{Calendar: "default"},
			{Calendar: "default"}, {Filter: &domain.FilterDef{Default: "full"}, Of: &domain.VCNode{Calendar: "default"}}}},
			SharedWith: []string{"user:bob"}})
		_, body = as(t, srv, "bob", "REPORT", viewPath("bob", id), queryAll, "Depth", "1")
		if n := strings.Count(body, "<D:response>"); n != 1 {
			t.Errorf("a calendar named three times shows its event %d times: %s", n, body)
		}
	})
}

// What a viewer is served must not change when the owner edits only what
// the viewer does not see: not the data, not the ETag, not
// getlastmodified.
func TestHiddenEditsChangeNothingServed(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		provision(t, srv, "alice", "bob")
		event := func(desc, stamp string) string {
			return ics("BEGIN:VEVENT", "UID:m", "DTSTAMP:"+stamp, "SEQUENCE:1", "DTSTART:20260120T100000Z", "DTEND:20260120T110000Z",
				"SUMMARY:Meeting", "DESCRIPTION:"+desc, "END:VEVENT")
		}
		putEvent(t, srv, "alice", "/dav/calendars/alice/default/m.ics", event("first", "20260101T000000Z"))
		id := mustCreateVC(t, srv, "alice", domain.VCSpec{Name: "s", Definition: domain.VCNode{Filter: &domain.FilterDef{Default: "summary"},
			Of: &domain.VCNode{Calendar: "default"}}, SharedWith: []string{"user:bob"}})
		path := viewPath("bob", id) + "m.ics"
		served := func() string {
			t.Helper()
			_, props := as(t, srv, "bob", "PROPFIND", path, `<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:getlastmodified/></D:prop></D:propfind>`, "Depth", "0")
			_, data := as(t, srv, "bob", http.MethodGet, path, "")
			return props + data
		}
		before := served()
		// A client rewrites DTSTAMP and SEQUENCE along with the description.
		putEvent(t, srv, "alice", "/dav/calendars/alice/default/m.ics", strings.Replace(event("second", "20260110T000000Z"), "SEQUENCE:1", "SEQUENCE:2", 1))
		if after := served(); after != before {
			t.Errorf("an edit of a hidden field changed what bob is served:\n%s\n---\n%s", before, after)
		}
	})
}

// The paper's group view: the same event contributed by several members
// appears once, and busy blocks say whose they are (and of what kind).
func TestGroupViewDeduplicatesAndLabels(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		ctx := context.Background()
		svc := srv.Service()
		provision(t, srv, "alice", "bob")
		if err := svc.SetDisplayName(ctx, "alice", "ユーザA"); err != nil {
			t.Fatal(err)
		}
		meeting := ics("BEGIN:VEVENT", "UID:weekly-sync", "DTSTART:20260121T100000Z", "DTEND:20260121T110000Z", "SUMMARY:Weekly sync", "END:VEVENT")
		putEvent(t, srv, "alice", "/dav/calendars/alice/default/sync.ics", meeting)
		putEvent(t, srv, "bob", "/dav/calendars/bob/default/weekly.ics", meeting)
		putEvent(t, srv, "alice", "/dav/calendars/alice/default/clinic.ics", ics("BEGIN:VEVENT", "UID:clinic", "DTSTART:20260122T100000Z",
			"DTEND:20260122T110000Z", "SUMMARY:CLINIC-DETAIL", "CATEGORIES:私用", "END:VEVENT"))
		if err := svc.CreateGroup(ctx, "lab", "Lab", false); err != nil {
			t.Fatal(err)
		}
		if err := svc.AddMember(ctx, "lab", "alice", []domain.Contribution{{Calendar: "default", Level: "busy"}}); err != nil {
			t.Fatal(err)
		}
		if err := svc.AddMember(ctx, "lab", "bob", []domain.Contribution{{Calendar: "default", Level: "full"}}); err != nil {
			t.Fatal(err)
		}
		// bob's own label for his busy blocks, and a control character in
		// one refused.
		if err := svc.SetContributions(ctx, "lab", "bob", []domain.Contribution{{Calendar: "default", Level: "full"},
			{Calendar: "private", Level: "busy", BusyLabel: "{owner}: 外出"}}); err == nil || !strings.Contains(err.Error(), "private") {
			t.Fatalf("a contribution of a calendar bob does not have: %v", err)
		}
		if err := svc.SetContributions(ctx, "lab", "bob", []domain.Contribution{{Calendar: "default", Level: "full", BusyLabel: "bad\a"}}); err == nil {
			t.Fatal("a busy label with a control character is accepted")
		}
		views, err := svc.VisibleVCs(domain.WithPrincipal(ctx, "bob"), "bob")
		if err != nil || len(views) != 1 {
			t.Fatalf("bob's views: %v %v", views, err)
		}
		_, body := as(t, srv, "bob", "REPORT", viewPath("bob", views[0].VC.ID), queryAll, "Depth", "1")
		if n := strings.Count(body, "UID:weekly-sync"); n != 1 {
			t.Errorf("the meeting both contribute appears %d times: %s", n, body)
		}
		if !strings.Contains(body, "SUMMARY:私用 (ユーザA)") || strings.Contains(body, "CLINIC-DETAIL") {
			t.Errorf("alice's busy block is not labelled with its kind and her name: %s", body)
		}
		// A member chooses the label of their own busy blocks.
		if err := svc.SetContributions(ctx, "lab", "alice", []domain.Contribution{{Calendar: "default", Level: "busy",
			BusyLabel: "{owner}: {category|予定}"}}); err != nil {
			t.Fatal(err)
		}
		_, body = as(t, srv, "bob", "REPORT", viewPath("bob", views[0].VC.ID), queryAll, "Depth", "1")
		if !strings.Contains(body, "SUMMARY:ユーザA: 私用") {
			t.Errorf("alice's own label is not used: %s", body)
		}
	})
}

// A multiget on a view answers what it shows under each href, as GET does,
// and 404 for what it hides or does not hold.
func TestViewMultiget(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		provision(t, srv, "alice", "bob")
		putEvent(t, srv, "alice", "/dav/calendars/alice/default/shown.ics", ics("BEGIN:VEVENT", "UID:shown", "DTSTART:20260124T190000Z",
			"DTEND:20260124T200000Z", "SUMMARY:Shown", "DESCRIPTION:STRIPPED", "END:VEVENT"))
		putEvent(t, srv, "alice", "/dav/calendars/alice/default/hidden.ics", ics("BEGIN:VEVENT", "UID:hidden", "DTSTART:20260124T100000Z",
			"DTEND:20260124T110000Z", "SUMMARY:HIDDEN-TITLE", "CATEGORIES:secret", "END:VEVENT"))
		id := mustCreateVC(t, srv, "alice", domain.VCSpec{Name: "m", Definition: domain.VCNode{Filter: &domain.FilterDef{Default: "summary",
			Rules: []domain.RuleDef{{Level: "hidden", Categories: []string{"secret"}}}}, Of: &domain.VCNode{Calendar: "default"}},
			SharedWith: []string{"user:bob"}})
		base := viewPath("bob", id)
		multiget := `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>` +
			`<D:href>` + base + `shown.ics</D:href><D:href>` + base + `hidden.ics</D:href><D:href>` + base + `none.ics</D:href></C:calendar-multiget>`
		code, body := as(t, srv, "bob", "REPORT", base, multiget, "Depth", "1")
		if code != http.StatusMultiStatus || strings.Count(body, "<D:response>") != 3 {
			t.Fatalf("multiget: %d %s", code, body)
		}
		if !strings.Contains(body, "SUMMARY:Shown") || strings.Contains(body, "STRIPPED") || strings.Contains(body, "HIDDEN-TITLE") {
			t.Errorf("multiget serves more or less than the view shows: %s", body)
		}
		if n := strings.Count(body, "404 Not Found"); n != 2 {
			t.Errorf("multiget answers %d hrefs with 404, want the hidden and the missing one: %s", n, body)
		}
		_, get := as(t, srv, "bob", http.MethodGet, base+"shown.ics", "")
		if !strings.Contains(strings.ReplaceAll(body, "&#13;", "\r"), get) {
			t.Errorf("multiget's calendar-data differs from GET's:\n%s\n---\n%s", body, get)
		}
	})
}

// Nobody's write stands in for an event someone else shows in a view: a
// write through a view with a UID the view already shows from another
// object is refused, and a member always sees, and can edit, their own
// copy of an event others also hold.
func TestWritesCannotStandInForShownEvents(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		ctx := context.Background()
		svc := srv.Service()
		addUsers(t, srv, "carol")
		provision(t, srv, "alice", "bob", "carol")
		real := ics("BEGIN:VEVENT", "UID:meet", "DTSTART:20260220T180000Z", "DTEND:20260220T200000Z", "SUMMARY:VICTIM-REAL", "END:VEVENT")
		putEvent(t, srv, "bob", "/dav/calendars/bob/default/a.ics", real)
		fake := strings.Replace(real, "VICTIM-REAL", "ATTACKER-FAKE", 1)
		if err := svc.CreateGroup(ctx, "club", "Club", false); err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{"alice", "bob", "carol"} {
			if err := svc.AddMember(ctx, "club", u, []domain.Contribution{{Calendar: "default", Level: "full"}}); err != nil {
				t.Fatal(err)
			}
		}
		views, err := svc.VisibleVCs(domain.WithPrincipal(ctx, "carol"), "carol")
		if err != nil || len(views) != 1 {
			t.Fatalf("carol's views: %v %v", views, err)
		}
		id := views[0].VC.ID
		// alice, who sorts before bob, writes bob's UID through the group
		// calendar: refused.
		code, body := as(t, srv, "alice", http.MethodPut, viewPath("alice", id)+"fake.ics", fake, "Content-Type", "text/calendar")
		if code != http.StatusConflict || !strings.Contains(body, "no-uid-conflict") {
			t.Errorf("a member writes another member's UID through the group calendar: %d %s", code, body)
		}
		if _, body := as(t, srv, "carol", "REPORT", viewPath("carol", id), queryAll, "Depth", "1"); !strings.Contains(body, "VICTIM-REAL") {
			t.Errorf("carol no longer sees bob's event: %s", body)
		}
		// Straight into her own calendar she may; bob still sees his own
		// copy whole and edits it through the group calendar.
		putEvent(t, srv, "alice", "/dav/calendars/alice/default/fake.ics", fake)
		_, body = as(t, srv, "bob", "REPORT", viewPath("bob", id), queryAll, "Depth", "1")
		if !strings.Contains(body, "VICTIM-REAL") || strings.Contains(body, "ATTACKER-FAKE") {
			t.Errorf("bob is not shown his own copy of the event: %s", body)
		}
		edited := strings.Replace(real, "VICTIM-REAL", "VICTIM-EDITED", 1)
		if code, body := as(t, srv, "bob", http.MethodPut, viewPath("bob", id)+"a.ics", edited, "Content-Type", "text/calendar"); code != http.StatusNoContent {
			t.Errorf("bob edits his own event through the group calendar: %d %s", code, body)
		}

		// A writer of a view with a write target cannot stand in for an
		// event the view shows from another of its owner's calendars.
		if code, body := as(t, srv, "alice", "MKCALENDAR", "/dav/calendars/alice/plan/", ""); code != http.StatusCreated {
			t.Fatalf("MKCALENDAR: %d %s", code, body)
		}
		putEvent(t, srv, "alice", "/dav/calendars/alice/default/w.ics", ics("BEGIN:VEVENT", "UID:work1", "DTSTART:20260220T090000Z",
			"DTEND:20260220T100000Z", "SUMMARY:ALICE-WORK", "END:VEVENT"))
		vid := mustCreateVC(t, srv, "alice", domain.VCSpec{Name: "v", SharedWith: []string{"user:bob"}, WriteTarget: "plan",
			Definition: domain.VCNode{Union: []domain.VCNode{{Calendar: "plan"}, {Calendar: "default"}}}})
		code, body = as(t, srv, "bob", http.MethodPut, viewPath("bob", vid)+"x.ics", ics("BEGIN:VEVENT", "UID:work1",
			"DTSTART:20260220T090000Z", "DTEND:20260220T100000Z", "SUMMARY:BOB-HIJACK", "END:VEVENT"), "Content-Type", "text/calendar")
		if code != http.StatusConflict {
			t.Errorf("bob writes the UID of an event the view shows from another calendar: %d %s", code, body)
		}
		if _, body := as(t, srv, "alice", "REPORT", viewPath("alice", vid), queryAll, "Depth", "1"); !strings.Contains(body, "ALICE-WORK") || strings.Contains(body, "BOB-HIJACK") {
			t.Errorf("the view no longer shows alice's event: %s", body)
		}
	})
}
