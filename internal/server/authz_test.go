package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/domain"
)

// Markers planted in alice's data. None may reach anyone else: not in a
// body, not in a header, not in an error message.
const (
	markEvent = "alicesecretevent"
	markCard  = "alicesecretcard"
	markFile  = "alicesecretfile"
	markVC    = "alicesecretvc"    // the name of her virtual calendar
	markCal   = "alicesecretcal"   // a calendar named only in the view's definition
	markCat   = "alicesecretcateg" // a category named only in the view's rules
)

var aliceMarkers = []string{markEvent, markCard, markFile, markVC, markCal, markCat}

// reply is one response, reduced to what the tests look at.
type reply struct {
	code   int
	header http.Header
	body   string
}

// send performs one request as user ("" for no credentials); header holds
// name/value pairs.
func send(srv http.Handler, user, method, path, body string, header ...string) reply {
	req := httptest.NewRequest(method, "/", strings.NewReader(body))
	// Set the target after parsing so that hostile paths reach the
	// handler as a client would send them, not as NewRequest cleans them.
	req.RequestURI = path
	if u, err := req.URL.Parse(path); err == nil {
		req.URL = u
	}
	if body == "" {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	if user != "" {
		req.SetBasicAuth(user, user+"-password")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	return reply{rec.Code, rec.Header(), rec.Body.String()}
}

// world is a server with alice's data planted and the paths tests need.
type world struct {
	srv    *Server
	vcID   string
	vcBase string // the view as carol sees it
	lock   string // a lock token alice holds on her file
}

const aliceEventBody = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nBEGIN:VEVENT\r\nUID:secret-1\r\n" +
	"DTSTAMP:20260101T000000Z\r\nDTSTART:20260120T090000Z\r\nDTEND:20260120T100000Z\r\nSUMMARY:" + markEvent +
	" summary\r\nDESCRIPTION:" + markEvent + " description\r\nLOCATION:" + markEvent + " room\r\nCATEGORIES:" + markCat +
	"\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

const aliceCardBody = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:secret-card\r\nFN:" + markCard + "\r\nN:" + markCard +
	";;;;\r\nEMAIL:" + markCard + "@example.org\r\nEND:VCARD\r\n"

// newWorld plants alice's calendar event (also in a second calendar named
// only in her view's definition), contact, plain file, a lock and a
// virtual calendar shared with carol at the busy level; bob and carol each
// get an event of their own.
func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	srv := newTestServer(t)
	if err := srv.Service().CreateUser(ctx, "carol", "carol-password", "carol@example.org"); err != nil {
		t.Fatal(err)
	}
	must := func(r reply, codes ...int) reply {
		t.Helper()
		for _, c := range codes {
			if r.code == c {
				return r
			}
		}
		t.Fatalf("setup: %d %s", r.code, r.body)
		return r
	}
	must(send(srv, "alice", http.MethodPut, "/dav/calendars/alice/default/secret.ics", aliceEventBody, "Content-Type", "text/calendar"), 201)
	must(send(srv, "alice", "MKCALENDAR", "/dav/calendars/alice/"+markCal+"/", ""), 201)
	must(send(srv, "alice", http.MethodPut, "/dav/calendars/alice/"+markCal+"/other.ics",
		strings.Replace(aliceEventBody, "UID:secret-1", "UID:secret-2", 1), "Content-Type", "text/calendar"), 201)
	must(send(srv, "alice", http.MethodPut, "/dav/addressbooks/alice/contacts/secret.vcf", aliceCardBody, "Content-Type", "text/vcard"), 201)
	must(send(srv, "alice", "MKCOL", "/dav/calendars/alice/notes/", ""), 201)
	must(send(srv, "alice", http.MethodPut, "/dav/calendars/alice/notes/readme.txt", markFile+" private note", "Content-Type", "text/plain"), 201)
	lock := must(send(srv, "alice", "LOCK", "/dav/calendars/alice/notes/locked.txt",
		`<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>`), 200, 201)
	for _, u := range []string{"bob", "carol"} {
		must(send(srv, u, http.MethodPut, "/dav/calendars/"+u+"/default/own.ics", event(u+"-own", u+" own"), "Content-Type", "text/calendar"), 201)
	}
	vc, err := srv.Service().CreateVC(domain.WithPrincipal(ctx, "alice"), "alice", domain.VCSpec{
		Name: markVC, DisplayName: "Alice, busy times", SharedWith: []string{"user:carol"},
		Definition: domain.VCNode{Filter: &domain.FilterDef{Default: "busy",
			Rules: []domain.RuleDef{{Level: "hidden", Categories: []string{markCat}, NotCategories: true}}},
			Of: &domain.VCNode{Union: []domain.VCNode{{Calendar: "default"}, {Calendar: markCal}}}}})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{srv: srv, vcID: itoa(vc.ID), lock: strings.Trim(lock.header.Get("Lock-Token"), "<>")}
	w.vcBase = "/dav/calendars/carol/vc-" + w.vcID + "/"
	if w.lock == "" {
		t.Fatal("setup: LOCK gave no token")
	}
	return w
}

// snapshot renders everything of alice's that a change would show in:
// the listing of her homes and collections with ETags, ctags, sync tokens,
// names and locks, her principal, and her virtual calendars.
func (w *world) snapshot(t *testing.T) string {
	t.Helper()
	const props = `<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><D:getetag/><CS:getctag/>` +
		`<D:sync-token/><D:displayname/><D:resourcetype/><D:lockdiscovery/><D:getcontentlength/></D:prop></D:propfind>`
	var b strings.Builder
	for _, p := range []string{"/dav/calendars/alice/", "/dav/calendars/alice/default/", "/dav/calendars/alice/" + markCal + "/",
		"/dav/calendars/alice/notes/", "/dav/addressbooks/alice/", "/dav/addressbooks/alice/contacts/", "/dav/principals/alice/"} {
		r := send(w.srv, "alice", "PROPFIND", p, props, "Depth", "1")
		if r.code != http.StatusMultiStatus {
			t.Fatalf("snapshot PROPFIND %s: %d %s", p, r.code, r.body)
		}
		b.WriteString(r.body)
	}
	r := send(w.srv, "alice", http.MethodGet, "/api/v1/vcs", "")
	if r.code != http.StatusOK {
		t.Fatalf("snapshot GET /api/v1/vcs: %d %s", r.code, r.body)
	}
	b.WriteString(r.body)
	return b.String()
}

// leaks returns alice's markers found in a response, leaving out those
// the request itself carried (a client may be told back what it sent).
func leaks(r reply, request string) []string { return markersIn(r, request, aliceMarkers) }

// markersIn returns the markers (lower case) found in a response's body
// or headers and not in the request.
func markersIn(r reply, request string, markers []string) []string {
	var all strings.Builder
	all.WriteString(strings.ToLower(r.body))
	for k, vs := range r.header {
		all.WriteString("\n" + strings.ToLower(k) + ": " + strings.ToLower(strings.Join(vs, ", ")))
	}
	var found []string
	for _, m := range markers {
		if strings.Contains(all.String(), m) && !strings.Contains(strings.ToLower(request), m) {
			found = append(found, m)
		}
	}
	return found
}

// Expected outcomes. ok is any 2xx (207 included: a multistatus that
// answers 404 per href is still a success of the request itself).
const (
	ok        = 200
	unauth    = http.StatusUnauthorized
	forbidden = http.StatusForbidden
	notFound  = http.StatusNotFound
	notAllow  = http.StatusMethodNotAllowed
	badReq    = http.StatusBadRequest
	conflict  = http.StatusConflict
)

func statusMatches(got, want int) bool {
	if want == ok {
		return got >= 200 && got < 300
	}
	return got == want
}

// Request bodies of the matrix.
const (
	propfindAll  = `<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>`
	propfindMany = `<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop>` +
		`<D:displayname/><D:getetag/><D:sync-token/><D:owner/><D:current-user-privilege-set/><C:calendar-description/>` +
		`<C:calendar-home-set/><CR:addressbook-home-set/><C:calendar-user-address-set/><D:lockdiscovery/></D:prop></D:propfind>`
	proppatchBody = `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>pwned</D:displayname></D:prop></D:set></D:propertyupdate>`
	lockBody      = `<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>`
	calQuery      = `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>` +
		`<C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>`
	calExpand = `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data><C:expand start="20260101T000000Z" end="20260301T000000Z"/></C:calendar-data></D:prop>` +
		`<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20260101T000000Z" end="20260301T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`
	cardQuery = `<CR:addressbook-query xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><CR:address-data/></D:prop></CR:addressbook-query>`
	freeBusy  = `<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="20260101T000000Z" end="20260301T000000Z"/></C:free-busy-query>`
	calMulti  = `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>` +
		`<D:href>/dav/calendars/alice/default/secret.ics</D:href><D:href>/dav/calendars/alice/` + markCal + `/other.ics</D:href>` +
		`<D:href>/dav/calendars/alice/notes/readme.txt</D:href><D:href>/dav/calendars/alice/default/../default/secret.ics</D:href></C:calendar-multiget>`
	cardMulti = `<CR:addressbook-multiget xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><CR:address-data/></D:prop>` +
		`<D:href>/dav/addressbooks/alice/contacts/secret.vcf</D:href></CR:addressbook-multiget>`
	groupMemberSet = `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:group-member-set><D:href>/dav/principals/bob/</D:href></D:group-member-set></D:prop></D:set></D:propertyupdate>`
	vcJSONBody     = `{"name":"` + markVC + `","displayname":"taken over","definition":{"calendar":"default"},"shared_with":["user:bob"]}`
)

func syncBody(token string) string {
	return `<D:sync-collection xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:sync-token>` + token +
		`</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/><C:calendar-data/></D:prop></D:sync-collection>`
}

// step is one row of the matrix.
type step struct {
	method, path, body string
	header             []string
	want               map[string]int // actor → expected status; "" is the unauthenticated client
}

// each gives every actor the same expectation; others override some.
func each(status int, others ...any) map[string]int {
	m := map[string]int{"": unauth, "bob": status, "carol": status}
	for i := 0; i+1 < len(others); i += 2 {
		m[others[i].(string)] = others[i+1].(int)
	}
	return m
}

// The authorization matrix: every kind of resource of alice's, every
// method, every kind of other user. Each gets the expected status, no
// marker of alice's data appears in any answer, and afterwards nothing of
// alice's has changed.
func TestAuthorizationMatrix(t *testing.T) {
	w := newWorld(t)
	before := w.snapshot(t)
	if !strings.Contains(before, markCal) || !strings.Contains(before, markVC) {
		t.Fatalf("the snapshot does not see alice's data:\n%s", before)
	}
	// alice's sync token for her default calendar, replayed by others.
	r := send(w.srv, "alice", "REPORT", "/dav/calendars/alice/default/", syncBody(""), "Depth", "1")
	token := between(r.body, "<D:sync-token>", "</D:sync-token>")
	if token == "" {
		t.Fatalf("no sync token: %s", r.body)
	}
	vcAlice := "/dav/calendars/alice/vc-" + w.vcID + "/"
	vcBob := "/dav/calendars/bob/vc-" + w.vcID + "/"
	const (
		event   = "/dav/calendars/alice/default/secret.ics"
		cal     = "/dav/calendars/alice/default/"
		book    = "/dav/addressbooks/alice/contacts/"
		card    = "/dav/addressbooks/alice/contacts/secret.vcf"
		plain   = "/dav/calendars/alice/notes/"
		file    = "/dav/calendars/alice/notes/readme.txt"
		locked  = "/dav/calendars/alice/notes/locked.txt"
		home    = "/dav/calendars/alice/"
		bkHome  = "/dav/addressbooks/alice/"
		princ   = "/dav/principals/alice/"
		secret2 = "/dav/calendars/alice/" + markCal + "/"
	)
	ics := aliceEventBody
	steps := []step{
		// The principal: every signed-in user may read another's (their
		// name and addresses, which sharing, delegation and invitations
		// need to show), and change nothing of it; its proxy groups and
		// notifications are its owner's alone. A PUT below a principal is
		// refused: no collection is there.
		{method: "PROPFIND", path: princ, body: propfindMany, header: []string{"Depth", "0"}, want: each(ok)},
		{method: "PROPFIND", path: princ, body: propfindAll, header: []string{"Depth", "1"}, want: each(ok)},
		{method: http.MethodGet, path: princ, want: each(ok)},
		{method: "PROPPATCH", path: princ, body: proppatchBody, want: each(forbidden)},
		{method: http.MethodDelete, path: princ, want: each(forbidden)},
		{method: http.MethodPut, path: princ + "x.ics", body: ics, want: each(forbidden)},
		{method: "PROPFIND", path: princ + "calendar-proxy-write/", body: propfindAll, header: []string{"Depth", "0"}, want: each(notFound)},
		{method: "PROPPATCH", path: princ + "calendar-proxy-write/", body: groupMemberSet, want: each(notFound)},
		{method: "PROPFIND", path: "/dav/notifications/alice/", body: propfindAll, header: []string{"Depth", "1"}, want: each(notFound)},
		{method: http.MethodPut, path: "/dav/principals/nobody/x.ics", body: ics, want: each(conflict)},
		{method: "MKCOL", path: princ + "x/", want: each(forbidden)},

		// Homes.
		{method: "PROPFIND", path: home, body: propfindAll, header: []string{"Depth", "0"}, want: each(notFound)},
		{method: "PROPFIND", path: home, body: propfindMany, header: []string{"Depth", "1"}, want: each(notFound)},
		{method: "PROPFIND", path: bkHome, body: propfindAll, header: []string{"Depth", "1"}, want: each(notFound)},
		{method: http.MethodGet, path: home, want: each(notFound)},
		{method: "PROPPATCH", path: home, body: proppatchBody, want: each(notFound)},
		{method: http.MethodDelete, path: home, want: each(notFound)},
		{method: "MKCOL", path: home + "intruder/", want: each(notFound)},
		{method: "MKCALENDAR", path: home + "intruder/", want: each(notFound)},
		{method: "MKCOL", path: bkHome + "intruder/", want: each(notFound)},
		{method: "LOCK", path: home, body: lockBody, want: each(notFound)},
		{method: "REPORT", path: home, body: calQuery, header: []string{"Depth", "1"}, want: each(notFound)},

		// A calendar, an address book and a plain collection.
		{method: "PROPFIND", path: cal, body: propfindAll, header: []string{"Depth", "0"}, want: each(notFound)},
		{method: "PROPFIND", path: cal, body: propfindMany, header: []string{"Depth", "1"}, want: each(notFound)},
		{method: http.MethodGet, path: cal, want: each(notFound)},
		{method: http.MethodHead, path: cal, want: each(notFound)},
		{method: "PROPPATCH", path: cal, body: proppatchBody, want: each(notFound)},
		{method: http.MethodDelete, path: cal, want: each(notFound)},
		{method: "MKCOL", path: cal, want: each(notFound)},
		{method: "MKCALENDAR", path: secret2, want: each(notFound)},
		{method: "REPORT", path: cal, body: calQuery, header: []string{"Depth", "1"}, want: each(notFound)},
		{method: "REPORT", path: cal, body: calExpand, header: []string{"Depth", "1"}, want: each(notFound)},
		{method: "REPORT", path: cal, body: freeBusy, header: []string{"Depth", "1"}, want: each(notFound)},
		{method: "REPORT", path: cal, body: calMulti, header: []string{"Depth", "1"}, want: each(notFound)},
		{method: "REPORT", path: cal, body: syncBody(token), header: []string{"Depth", "1"}, want: each(notFound)},
		{method: "REPORT", path: cal, body: syncBody(""), header: []string{"Depth", "1"}, want: each(notFound)},
		{method: "PROPFIND", path: book, body: propfindAll, header: []string{"Depth", "1"}, want: each(notFound)},
		{method: "REPORT", path: book, body: cardQuery, header: []string{"Depth", "1"}, want: each(notFound)},
		{method: "REPORT", path: book, body: cardMulti, header: []string{"Depth", "1"}, want: each(notFound)},
		{method: http.MethodDelete, path: book, want: each(notFound)},
		{method: "PROPFIND", path: plain, body: propfindAll, header: []string{"Depth", "1"}, want: each(notFound)},
		{method: http.MethodDelete, path: plain, want: each(notFound)},
		{method: "PROPPATCH", path: plain, body: proppatchBody, want: each(notFound)},

		// Objects: an event, a contact, a plain file and a locked one.
		{method: http.MethodGet, path: event, want: each(notFound)},
		{method: http.MethodHead, path: event, want: each(notFound)},
		{method: http.MethodGet, path: event, header: []string{"Accept", "application/calendar+json"}, want: each(notFound)},
		{method: "PROPFIND", path: event, body: propfindAll, header: []string{"Depth", "0"}, want: each(notFound)},
		{method: http.MethodPut, path: event, body: ics, header: []string{"Content-Type", "text/calendar"}, want: each(notFound)},
		{method: http.MethodPut, path: event, body: ics, header: []string{"Content-Type", "text/calendar", "If-None-Match", "*"}, want: each(notFound)},
		{method: http.MethodPut, path: cal + "intruder.ics", body: ics, header: []string{"Content-Type", "text/calendar"}, want: each(notFound)},
		{method: http.MethodDelete, path: event, want: each(notFound)},
		{method: "PROPPATCH", path: event, body: proppatchBody, want: each(notFound)},
		{method: "LOCK", path: event, body: lockBody, want: each(notFound)},
		{method: "LOCK", path: cal + "unmapped.ics", body: lockBody, want: each(notFound)},
		{method: http.MethodGet, path: card, want: each(notFound)},
		{method: http.MethodGet, path: card, header: []string{"Accept", "text/vcard; version=3.0"}, want: each(notFound)},
		{method: http.MethodPut, path: card, body: aliceCardBody, header: []string{"Content-Type", "text/vcard"}, want: each(notFound)},
		{method: http.MethodDelete, path: card, want: each(notFound)},
		{method: http.MethodGet, path: file, want: each(notFound)},
		{method: http.MethodPut, path: file, body: "overwritten", header: []string{"Content-Type", "text/plain"}, want: each(notFound)},
		{method: http.MethodDelete, path: file, want: each(notFound)},
		{method: "UNLOCK", path: locked, header: []string{"Lock-Token", "<" + w.lock + ">"}, want: each(notFound)},
		{method: http.MethodPut, path: locked, body: "x", header: []string{"If", "(<" + w.lock + ">)"}, want: each(notFound)},

		// COPY and MOVE with alice's resources as the source ...
		{method: "COPY", path: event, header: []string{"Destination", "/dav/calendars/bob/default/stolen.ics"}, want: each(notFound)},
		{method: "MOVE", path: event, header: []string{"Destination", "/dav/calendars/bob/default/stolen.ics"}, want: each(notFound)},
		{method: "COPY", path: cal, header: []string{"Destination", "/dav/calendars/bob/stolen/"}, want: each(notFound)},
		{method: "MOVE", path: file, header: []string{"Destination", "/dav/calendars/bob/default/stolen.txt"}, want: each(notFound)},
		{method: "COPY", path: card, header: []string{"Destination", "/dav/addressbooks/bob/contacts/stolen.vcf"}, want: each(notFound)},
		// ... and as the destination of the caller's own resources: an
		// object finds no collection there, a collection may not be made
		// in another's home, another server is not ours to write to.
		{method: "COPY", path: "/dav/calendars/bob/default/own.ics", header: []string{"Destination", cal + "planted.ics"}, want: each(notFound)},
		{method: "MOVE", path: "/dav/calendars/bob/default/own.ics", header: []string{"Destination", event, "Overwrite", "T"}, want: each(notFound)},
		{method: "MOVE", path: "/dav/calendars/bob/default/own.ics", header: []string{"Destination", plain + "planted.ics"}, want: each(notFound)},
		{method: "COPY", path: "/dav/calendars/carol/default/", header: []string{"Destination", home + "planted/"},
			want: map[string]int{"": unauth, "bob": notFound, "carol": forbidden}},
		{method: "COPY", path: "/dav/calendars/carol/default/own.ics", header: []string{"Destination", "http://other.example" + cal + "x.ics"},
			want: map[string]int{"": unauth, "bob": notFound, "carol": http.StatusBadGateway}},

		// The view alice shares with carol, where carol finds it: readable
		// at the busy level, not writable (no write target).
		{method: "PROPFIND", path: w.vcBase, body: propfindMany, header: []string{"Depth", "0"}, want: each(notFound, "carol", ok)},
		{method: "PROPFIND", path: w.vcBase, body: propfindAll, header: []string{"Depth", "1"}, want: each(notFound, "carol", ok)},
		{method: "REPORT", path: w.vcBase, body: calQuery, header: []string{"Depth", "1"}, want: each(notFound, "carol", ok)},
		{method: "REPORT", path: w.vcBase, body: calExpand, header: []string{"Depth", "1"}, want: each(notFound, "carol", ok)},
		{method: "REPORT", path: w.vcBase, body: freeBusy, header: []string{"Depth", "1"}, want: each(notFound, "carol", ok)},
		{method: "REPORT", path: w.vcBase, body: calMulti, header: []string{"Depth", "1"}, want: each(notFound, "carol", ok)},
		{method: "REPORT", path: w.vcBase, body: syncBody(""), header: []string{"Depth", "1"}, want: each(notFound, "carol", ok)},
		{method: "REPORT", path: w.vcBase, body: syncBody(token), header: []string{"Depth", "1"}, want: each(notFound, "carol", forbidden)},
		{method: http.MethodGet, path: w.vcBase, want: each(notFound, "carol", ok)},
		{method: http.MethodGet, path: w.vcBase + "secret.ics", want: each(notFound, "carol", ok)},
		{method: http.MethodPut, path: w.vcBase + "secret.ics", body: ics, header: []string{"Content-Type", "text/calendar"}, want: each(notFound, "carol", forbidden)},
		{method: http.MethodPut, path: w.vcBase + "new.ics", body: ics, header: []string{"Content-Type", "text/calendar"}, want: each(notFound, "carol", forbidden)},
		{method: http.MethodDelete, path: w.vcBase + "secret.ics", want: each(notFound, "carol", forbidden)},
		// carol's own settings of the view (her name for it, unsubscribing)
		// are hers to change; alice's definition stays as it is.
		{method: "PROPPATCH", path: w.vcBase, body: proppatchBody, want: each(notFound, "carol", ok)},
		{method: http.MethodDelete, path: w.vcBase, want: each(notFound, "carol", ok)},
		{method: "MKCOL", path: w.vcBase + "sub/", want: each(notFound, "carol", conflict)},
		{method: "MOVE", path: w.vcBase + "secret.ics", header: []string{"Destination", "/dav/calendars/carol/default/moved.ics"}, want: each(notFound, "carol", forbidden)},
		{method: "COPY", path: "/dav/calendars/carol/default/own.ics", header: []string{"Destination", w.vcBase + "copied.ics"}, want: each(notFound, "carol", forbidden)},
		// The same view where bob, who was not given it, tries it; and
		// alice's own path to it.
		{method: "PROPFIND", path: vcBob, body: propfindAll, header: []string{"Depth", "1"}, want: each(notFound, "carol", notFound)},
		{method: "PROPPATCH", path: vcBob, body: proppatchBody, want: each(notFound)},
		{method: http.MethodDelete, path: vcBob, want: each(notFound)},
		{method: http.MethodDelete, path: vcBob + "secret.ics", want: each(notFound)},
		{method: http.MethodGet, path: vcBob + "secret.ics", want: each(notFound)},
		{method: "REPORT", path: vcBob, body: calQuery, header: []string{"Depth", "1"}, want: each(notFound)},
		{method: "PROPFIND", path: vcAlice, body: propfindAll, header: []string{"Depth", "1"}, want: each(notFound)},
		{method: http.MethodPut, path: vcAlice + "x.ics", body: ics, header: []string{"Content-Type", "text/calendar"}, want: each(notFound)},

		// The JSON API addresses the caller's own virtual calendars: alice's
		// name means nothing to anyone else.
		{method: http.MethodGet, path: "/api/v1/vcs", want: each(ok)},
		{method: http.MethodGet, path: "/api/v1/vcs/" + markVC, want: each(notFound)},
		{method: http.MethodPut, path: "/api/v1/vcs/" + markVC, body: vcJSONBody, header: []string{"Content-Type", "application/json"}, want: each(notFound)},
		{method: http.MethodDelete, path: "/api/v1/vcs/" + markVC, want: each(notFound)},
		{method: http.MethodGet, path: "/api/v1/vcs/" + markVC + "/preview?as=carol", want: each(notFound)},
		{method: http.MethodGet, path: "/api/v1/vcs/" + markVC + "/preview?as=alice", want: each(notFound)},
		{method: http.MethodPost, path: "/api/v1/vcs", body: `{"name":"peek","definition":{"vc":"alice/` + markVC + `"},"shared_with":["user:bob"]}`,
			header: []string{"Content-Type", "application/json"}, want: each(badReq, "carol", ok)},
		{method: http.MethodPost, path: "/api/v1/vcs", body: `{"name":"peek2","definition":{"calendar":"` + markCal + `"}}`,
			header: []string{"Content-Type", "application/json"}, want: each(badReq)},
		{method: http.MethodGet, path: "/api/v1/visible", want: each(ok)},
		// A viewer's own settings of a view: carol's to read and change,
		// nobody else's to reach.
		{method: http.MethodGet, path: "/api/v1/visible/" + w.vcID, want: each(notFound, "carol", ok)},
		{method: http.MethodPatch, path: "/api/v1/visible/" + w.vcID, body: `{"displayname":"pwned","subscribed":false}`,
			header: []string{"Content-Type", "application/json"}, want: each(notFound, "carol", ok)},
		{method: http.MethodGet, path: "/api/v1/groups", want: each(ok)},
	}

	for _, s := range steps {
		for _, actor := range []string{"", "bob", "carol"} {
			want, listed := s.want[actor]
			if !listed {
				continue
			}
			r := send(w.srv, actor, s.method, s.path, s.body, s.header...)
			name := actor
			if name == "" {
				name = "anonymous"
			}
			if !statusMatches(r.code, want) {
				t.Errorf("%s %s %s (%v): got %d, want %s\n%s", name, s.method, s.path, s.header, r.code, describe(want), clip(r.body))
			}
			request := s.path + s.body + strings.Join(s.header, " ")
			if found := leaks(r, request); len(found) > 0 {
				// The view's name is how a viewer refers to it in their own
				// definitions; /visible (and /visible/ID) shows it to them
				// on purpose.
				if !(actor == "carol" && strings.HasPrefix(s.path, "/api/v1/visible") && len(found) == 1 && found[0] == markVC) {
					t.Errorf("%s %s %s: response leaks %v\n%s", name, s.method, s.path, found, clip(r.body))
				}
			}
		}
	}
	if after := w.snapshot(t); after != before {
		t.Errorf("alice's data changed under the matrix\n--- before ---\n%s\n--- after ---\n%s", before, after)
	}
	// carol's rows did see something: the view shows the event as busy.
	if r := send(w.srv, "carol", http.MethodGet, w.vcBase+"secret.ics", ""); r.code != http.StatusOK || !strings.Contains(r.body, "DTSTART:20260120T090000Z") {
		t.Errorf("carol GET through the view: %d %s", r.code, r.body)
	}
	// The owner herself still reads all of it: the markers are really
	// there to be leaked, so the checks above can fail.
	for _, p := range []string{event, card, file, secret2 + "other.ics", "/api/v1/vcs/" + markVC} {
		if r := send(w.srv, "alice", http.MethodGet, p, ""); r.code != http.StatusOK || len(leaks(r, "")) == 0 {
			t.Errorf("alice GET %s: %d, markers %v", p, r.code, leaks(r, ""))
		}
	}
}

func describe(want int) string {
	if want == ok {
		return "2xx"
	}
	return itoa(int64(want))
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	j := strings.Index(s, end)
	if j < 0 {
		return ""
	}
	return s[:j]
}

func clip(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}
