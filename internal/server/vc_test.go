package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/domain"
)

func ics(lines ...string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\n" + strings.Join(lines, "\r\n") + "\r\nEND:VCALENDAR\r\n"
}

func putEvent(t *testing.T, srv http.Handler, user, path, body string) {
	t.Helper()
	if code, resp := as(t, srv, user, http.MethodPut, path, body, "Content-Type", "text/calendar"); code != http.StatusCreated && code != http.StatusNoContent {
		t.Fatalf("PUT %s: %d %s", path, code, resp)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func as(t *testing.T, srv http.Handler, user, method, path, body string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, path, strings.NewReader(body))
	req.SetBasicAuth(user, user+"-password")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// The audiences of the HubStar paper: alice shows one calendar to her
// family with evenings in full and working hours as a summary. Stripped
// fields are absent from every answer, a recurring event straddling 17:00
// gets the stricter level, a private event shows as busy, and one edit of
// the rule changes what the family sees on their next sync.
func TestVirtualCalendarAudience(t *testing.T) {
	ctx := context.Background()
	srv := newTestServer(t)
	svc := srv.Service()
	// alice's first request provisions her default calendar.
	putEvent(t, srv, "alice", "/dav/calendars/alice/default/work.ics", ics("BEGIN:VEVENT", "UID:work", "DTSTART:20260120T090000Z",
		"DTEND:20260120T100000Z", "SUMMARY:Budget review", "DESCRIPTION:SECRET-WORK-DESC", "LOCATION:SECRET-ROOM", "END:VEVENT"))
	putEvent(t, srv, "alice", "/dav/calendars/alice/default/dinner.ics", ics("BEGIN:VEVENT", "UID:dinner", "DTSTART:20260120T190000Z",
		"DTEND:20260120T200000Z", "SUMMARY:Dinner", "DESCRIPTION:family-visible-desc", "END:VEVENT"))
	putEvent(t, srv, "alice", "/dav/calendars/alice/default/straddle.ics", ics("BEGIN:VEVENT", "UID:straddle", "DTSTART:20260121T163000Z",
		"DTEND:20260121T173000Z", "RRULE:FREQ=WEEKLY;COUNT=4", "SUMMARY:Choir", "DESCRIPTION:SECRET-STRADDLE", "END:VEVENT"))
	putEvent(t, srv, "alice", "/dav/calendars/alice/default/private.ics", ics("BEGIN:VEVENT", "UID:private", "DTSTART:20260122T200000Z",
		"DTEND:20260122T210000Z", "SUMMARY:SECRET-PRIVATE-TITLE", "CLASS:PRIVATE", "END:VEVENT"))

	family := domain.VCSpec{Name: "family", DisplayName: "Alice for family", SharedWith: []string{"user:bob"},
		Definition: domain.VCNode{Filter: &domain.FilterDef{Default: "summary", Zone: "UTC",
			Rules: []domain.RuleDef{{Level: "full", From: "17:00", To: "24:00"}}}, Of: &domain.VCNode{Calendar: "default"}}}
	vc, err := svc.CreateVC(ctx, "alice", family)
	if err != nil {
		t.Fatal(err)
	}
	base := "/dav/calendars/bob/vc-" + itoa(vc.ID) + "/"

	// bob's home lists the view.
	code, body := as(t, srv, "bob", "PROPFIND", "/dav/calendars/bob/", `<D:propfind xmlns:D="DAV:"><D:prop><D:displayname/><D:resourcetype/><D:current-user-privilege-set/></D:prop></D:propfind>`, "Depth", "1")
	if code != http.StatusMultiStatus || !strings.Contains(body, "Alice for family") || !strings.Contains(body, base) {
		t.Fatalf("bob's home does not list the view: %d %s", code, body)
	}
	if strings.Contains(body[strings.Index(body, base):], "<D:write-content/>") {
		t.Fatalf("a view without write target offers write-content")
	}

	everything := func() string {
		t.Helper()
		var all strings.Builder
		for _, q := range []string{
			`<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>`,
			`<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data><C:expand start="20260101T000000Z" end="20260301T000000Z"/></C:calendar-data></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20260101T000000Z" end="20260301T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
			`<D:sync-collection xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/><C:calendar-data/></D:prop></D:sync-collection>`,
		} {
			code, body := as(t, srv, "bob", "REPORT", base, q, "Depth", "1")
			if code != http.StatusMultiStatus {
				t.Fatalf("REPORT on the view: %d %s", code, body)
			}
			all.WriteString(body)
		}
		for _, name := range []string{"work.ics", "dinner.ics", "straddle.ics", "private.ics"} {
			_, body := as(t, srv, "bob", http.MethodGet, base+name, "")
			all.WriteString(body)
		}
		return all.String()
	}
	seen := everything()
	for _, secret := range []string{"SECRET-WORK-DESC", "SECRET-ROOM", "SECRET-STRADDLE", "SECRET-PRIVATE-TITLE"} {
		if strings.Contains(seen, secret) {
			t.Errorf("the family view leaks %s", secret)
		}
	}
	for _, shown := range []string{"Budget review", "family-visible-desc", "Choir", "SUMMARY:Busy"} {
		if !strings.Contains(seen, shown) {
			t.Errorf("the family view lacks %q", shown)
		}
	}

	// Another user who is not shared the view sees nothing of it.
	if err := svc.CreateUser(ctx, "carol", "carol-password", ""); err != nil {
		t.Fatal(err)
	}
	if code, _ := as(t, srv, "carol", "PROPFIND", "/dav/calendars/carol/vc-"+itoa(vc.ID)+"/", "", "Depth", "0"); code != http.StatusNotFound {
		t.Errorf("carol reaches a view not shared with her: %d", code)
	}

	// One edit of the rule: evenings become summary too. The old sync
	// token reports the dinner changed, and its description disappears.
	_, body = as(t, srv, "bob", "REPORT", base, `<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`, "Depth", "0")
	oldToken := body[strings.Index(body, "<D:sync-token>")+len("<D:sync-token>") : strings.Index(body, "</D:sync-token>")]
	family.Definition.Filter.Rules[0].Level = "summary"
	if _, err := svc.UpdateVC(ctx, "alice", "family", family); err != nil {
		t.Fatal(err)
	}
	if code, body := as(t, srv, "bob", "REPORT", base, `<D:sync-collection xmlns:D="DAV:"><D:sync-token>`+oldToken+`</D:sync-token><D:sync-level>1</D:sync-level><D:prop/></D:sync-collection>`, "Depth", "0"); code != http.StatusMultiStatus || !strings.Contains(body, "/dinner.ics</D:href>") {
		t.Errorf("a sync from before the edit does not report the changed dinner: %d %s", code, body)
	}
	if strings.Contains(everything(), "family-visible-desc") {
		t.Errorf("after the edit the family still sees the dinner's description")
	}
}

// A group calendar is the union of what each member contributes; a member
// adds an event through the group calendar and everyone sees it, without
// any invitation.
func TestGroupCalendar(t *testing.T) {
	ctx := context.Background()
	srv := newTestServer(t)
	svc := srv.Service()
	for _, u := range []string{"alice", "bob"} {
		// First requests provision the default calendars.
		if code, _ := as(t, srv, u, "PROPFIND", "/dav/calendars/"+u+"/", "", "Depth", "0"); code != http.StatusMultiStatus {
			t.Fatalf("provision %s: %d", u, code)
		}
	}
	if err := svc.CreateGroup(ctx, "team", "Team", true); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		if err := svc.AddMember(ctx, "team", u, []domain.Contribution{{Calendar: "default", Level: "summary"}}); err != nil {
			t.Fatal(err)
		}
	}
	views, err := svc.VisibleVCs(domain.WithPrincipal(ctx, "bob"), "bob")
	if err != nil || len(views) != 1 {
		t.Fatalf("bob's visible views: %v, %v", views, err)
	}
	id := itoa(views[0].VC.ID)
	syncBody := func(token string) string {
		return `<D:sync-collection xmlns:D="DAV:"><D:sync-token>` + token + `</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`
	}
	_, initial := as(t, srv, "bob", "REPORT", "/dav/calendars/bob/vc-"+id+"/", syncBody(""), "Depth", "0")
	token := initial[strings.Index(initial, "<D:sync-token>")+len("<D:sync-token>") : strings.Index(initial, "</D:sync-token>")]
	event := ics("BEGIN:VEVENT", "UID:offsite", "DTSTART:20260210T090000Z", "DTEND:20260210T170000Z",
		"SUMMARY:Offsite", "DESCRIPTION:bus leaves at 8", "END:VEVENT")
	code, body := as(t, srv, "alice", http.MethodPut, "/dav/calendars/alice/vc-"+id+"/offsite.ics", event, "Content-Type", "text/calendar")
	if code != http.StatusCreated {
		t.Fatalf("PUT into the group calendar: %d %s", code, body)
	}
	// It landed in alice's own calendar, untouched.
	if code, body := as(t, srv, "alice", http.MethodGet, "/dav/calendars/alice/default/offsite.ics", ""); code != http.StatusOK || !strings.Contains(body, "bus leaves at 8") {
		t.Fatalf("the event is not in alice's contributing calendar: %d %s", code, body)
	}
	// bob sees it in the group calendar, at the contribution's level.
	code, body = as(t, srv, "bob", http.MethodGet, "/dav/calendars/bob/vc-"+id+"/offsite.ics", "")
	if code != http.StatusOK || !strings.Contains(body, "SUMMARY:Offsite") || strings.Contains(body, "bus leaves") {
		t.Fatalf("bob's view of the group event: %d %s", code, body)
	}
	// alice sees her own event in the group calendar as stored, so an edit
	// through it keeps every field.
	code, mine := as(t, srv, "alice", http.MethodGet, "/dav/calendars/alice/vc-"+id+"/offsite.ics", "")
	if code != http.StatusOK || !strings.Contains(mine, "bus leaves at 8") {
		t.Fatalf("alice's own event through the group calendar: %d %s", code, mine)
	}
	edited := strings.Replace(mine, "SUMMARY:Offsite", "SUMMARY:Offsite (moved)", 1)
	if code, body := as(t, srv, "alice", http.MethodPut, "/dav/calendars/alice/vc-"+id+"/offsite.ics", edited, "Content-Type", "text/calendar"); code != http.StatusNoContent {
		t.Fatalf("edit through the group calendar: %d %s", code, body)
	}
	if _, body := as(t, srv, "alice", http.MethodGet, "/dav/calendars/alice/default/offsite.ics", ""); !strings.Contains(body, "bus leaves at 8") || !strings.Contains(body, "(moved)") {
		t.Fatalf("the edit lost fields in alice's calendar: %s", body)
	}
	// bob's incremental sync reports exactly the new event.
	code, body = as(t, srv, "bob", "REPORT", "/dav/calendars/bob/vc-"+id+"/", syncBody(token), "Depth", "0")
	if code != http.StatusMultiStatus || strings.Count(body, "<D:response>") != 1 || !strings.Contains(body, "/offsite.ics</D:href>") {
		t.Fatalf("incremental sync of the group calendar: %d %s", code, body)
	}
	// bob leaves under the keep-the-past policy: the February event is in
	// the future for the test clock, so it is no longer his to see.
	if err := svc.RemoveMember(ctx, "team", "bob"); err != nil {
		t.Fatal(err)
	}
	if code, _ := as(t, srv, "bob", http.MethodGet, "/dav/calendars/bob/vc-"+id+"/offsite.ics", ""); code != http.StatusNotFound {
		t.Fatalf("after leaving, bob still sees a future group event: %d", code)
	}
}

// Deleting a user ends what was shared with them: a new account under the
// same name does not inherit it.
func TestSharesDieWithTheUser(t *testing.T) {
	ctx := context.Background()
	srv := newTestServer(t)
	svc := srv.Service()
	putEvent(t, srv, "alice", "/dav/calendars/alice/default/e.ics", ics("BEGIN:VEVENT", "UID:e", "DTSTART:20260120T090000Z", "SUMMARY:x", "END:VEVENT"))
	if _, err := svc.CreateVC(ctx, "alice", domain.VCSpec{Name: "v", SharedWith: []string{"user:bob"},
		Definition: domain.VCNode{Calendar: "default"}}); err != nil {
		t.Fatal(err)
	}
	if views, _ := svc.VisibleVCs(domain.WithPrincipal(ctx, "bob"), "bob"); len(views) != 1 {
		t.Fatalf("bob sees %d views before, want 1", len(views))
	}
	if err := svc.DeleteUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PurgeTrash(ctx, "bob", 0); err != nil {
		t.Fatal(err)
	}
	if err := svc.CreateUser(ctx, "bob", "bob-password", ""); err != nil {
		t.Fatal(err)
	}
	if views, _ := svc.VisibleVCs(domain.WithPrincipal(ctx, "bob"), "bob"); len(views) != 0 {
		t.Fatalf("a new bob inherits %d views of the old one", len(views))
	}
}

// A read-only view cannot be locked (a lock is a write), and a virtual
// calendar cannot be shared with a user who does not exist (whoever took
// the name later would inherit it).
func TestReadOnlyViewRefusesLocksAndUnknownShares(t *testing.T) {
	ctx := context.Background()
	srv := newTestServer(t)
	svc := srv.Service()
	putEvent(t, srv, "alice", "/dav/calendars/alice/default/e.ics", ics("BEGIN:VEVENT", "UID:e", "DTSTART:20260120T090000Z", "SUMMARY:x", "END:VEVENT"))
	if _, err := svc.CreateVC(ctx, "alice", domain.VCSpec{Name: "ghost", SharedWith: []string{"user:nobody"},
		Definition: domain.VCNode{Calendar: "default"}}); err == nil || !strings.Contains(err.Error(), "no such user") {
		t.Fatalf("share with a missing user: err = %v", err)
	}
	vc, err := svc.CreateVC(ctx, "alice", domain.VCSpec{Name: "v", SharedWith: []string{"user:bob"}, Definition: domain.VCNode{Calendar: "default"}})
	if err != nil {
		t.Fatal(err)
	}
	lock := `<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>`
	for _, p := range []string{"", "e.ics"} {
		if code, body := as(t, srv, "bob", "LOCK", "/dav/calendars/bob/vc-"+itoa(vc.ID)+"/"+p, lock, "Depth", "0"); code != http.StatusForbidden {
			t.Errorf("LOCK %q in a read-only view: %d %s", p, code, body)
		}
	}
}

// A collection cannot take a name where virtual calendars appear: the
// view would hide it (MKCOL, MKCALENDAR and MOVE alike).
func TestViewNamesAreReserved(t *testing.T) {
	srv := newTestServer(t)
	provision(t, srv, "alice")
	for _, m := range []string{"MKCOL", "MKCALENDAR"} {
		if code, body := as(t, srv, "alice", m, "/dav/calendars/alice/vc-5/", ""); code != http.StatusForbidden {
			t.Errorf("%s vc-5: %d %s", m, code, body)
		}
	}
	if code, body := as(t, srv, "alice", "MKCALENDAR", "/dav/calendars/alice/work/", ""); code != http.StatusCreated {
		t.Fatalf("MKCALENDAR work: %d %s", code, body)
	}
	if code, body := as(t, srv, "alice", "MOVE", "/dav/calendars/alice/work/", "", "Destination", "/dav/calendars/alice/vc-7/"); code != http.StatusForbidden {
		t.Errorf("MOVE to vc-7: %d %s", code, body)
	}
	if code, _ := as(t, srv, "alice", "MKCOL", "/dav/calendars/alice/vc-notes/", ""); code != http.StatusCreated {
		t.Errorf("MKCOL vc-notes (no id): %d", code)
	}
}
