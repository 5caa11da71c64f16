package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/domain"
)

const (
	trashSync = `<D:sync-collection xmlns:D="DAV:"><D:sync-token>TOKEN</D:sync-token><D:sync-level>1</D:sync-level>` +
		`<D:prop><D:getetag/></D:prop></D:sync-collection>`
	trashCTag = `<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><CS:getctag/></D:prop></D:propfind>`
)

var (
	trashTokenRE = regexp.MustCompile(`sync-token>([^<]+)<`)
	ctagRE       = regexp.MustCompile(`getctag>([^<]+)<`)
)

// trashList is GET /api/v1/trash as user.
func trashList(t *testing.T, srv http.Handler, user string) []struct {
	ID   int64
	Kind string
	Name string
} {
	t.Helper()
	code, body := as(t, srv, user, "GET", "/api/v1/trash", "")
	if code != http.StatusOK {
		t.Fatalf("GET /api/v1/trash as %s: %d %s", user, code, body)
	}
	var items []struct {
		ID   int64
		Kind string
		Name string
	}
	if err := json.Unmarshal([]byte(body), &items); err != nil {
		t.Fatalf("trash list %s: %v", body, err)
	}
	return items
}

func ctagOf(t *testing.T, srv http.Handler, path string) string {
	t.Helper()
	code, body := as(t, srv, "alice", "PROPFIND", path, trashCTag, "Depth", "0")
	m := ctagRE.FindStringSubmatch(body)
	if code != http.StatusMultiStatus || m == nil {
		t.Fatalf("PROPFIND getctag %s: %d %s", path, code, body)
	}
	return m[1]
}

// TestTrashRestoresThroughSync: an event deleted over DAV is listed in its
// owner's trash, restored through the API, and reported by a
// sync-collection from the token the client had before the delete; the
// ctag changes. Nobody else sees, restores or purges the item; a second
// holder of the UID makes the restore a 409.
func TestTrashRestoresThroughSync(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		const cal = "/dav/calendars/alice/default/"
		putEvent(t, srv, "alice", cal+"dentist.ics", icsEvent("UID:dentist", "DTSTART:20260302T090000Z", "SUMMARY:Dentist"))
		code, body := as(t, srv, "alice", "REPORT", cal, strings.Replace(trashSync, "TOKEN", "", 1), "Depth", "1")
		m := trashTokenRE.FindStringSubmatch(body)
		if code != http.StatusMultiStatus || m == nil {
			t.Fatalf("initial sync: %d %s", code, body)
		}
		token := m[1]
		ctag := ctagOf(t, srv, cal)

		if code, _ := as(t, srv, "bob", "DELETE", cal+"dentist.ics", ""); code < 400 {
			t.Fatalf("bob deletes alice's event: %d", code)
		}
		if code, body := as(t, srv, "alice", "DELETE", cal+"dentist.ics", ""); code != http.StatusNoContent {
			t.Fatalf("DELETE: %d %s", code, body)
		}
		items := trashList(t, srv, "alice")
		if len(items) != 1 || items[0].Kind != "object" || items[0].Name != "default/dentist.ics" {
			t.Fatalf("alice's trash %+v", items)
		}
		id := strconv.FormatInt(items[0].ID, 10)

		// Another user and an anonymous client get nothing and change nothing.
		if got := trashList(t, srv, "bob"); len(got) != 0 {
			t.Errorf("bob's trash shows %+v", got)
		}
		for _, req := range []struct{ method, path string }{
			{"POST", "/api/v1/trash/" + id + "/restore"}, {"DELETE", "/api/v1/trash/" + id},
		} {
			if code, body := as(t, srv, "bob", req.method, req.path, ""); code != http.StatusNotFound {
				t.Errorf("bob %s %s: %d %s, want 404", req.method, req.path, code, body)
			}
			anon := httptest.NewRecorder()
			srv.ServeHTTP(anon, httptest.NewRequest(req.method, req.path, nil))
			if anon.Code != http.StatusUnauthorized {
				t.Errorf("anonymous %s %s: %d, want 401", req.method, req.path, anon.Code)
			}
		}
		anon := httptest.NewRecorder()
		srv.ServeHTTP(anon, httptest.NewRequest("GET", "/api/v1/trash", nil))
		if anon.Code != http.StatusUnauthorized || strings.Contains(anon.Body.String(), "dentist") {
			t.Errorf("anonymous list: %d %s", anon.Code, anon.Body.String())
		}
		if got := trashList(t, srv, "alice"); len(got) != 1 {
			t.Fatalf("after the others tried, alice's trash %+v", got)
		}
		if code, body := as(t, srv, "alice", "POST", "/api/v1/trash/x/restore", ""); code != http.StatusNotFound {
			t.Errorf("restore of a malformed id: %d %s", code, body)
		}

		if code, body := as(t, srv, "alice", "POST", "/api/v1/trash/"+id+"/restore", ""); code != http.StatusOK ||
			!strings.Contains(body, `"name":"default/dentist.ics"`) {
			t.Fatalf("restore: %d %s", code, body)
		}
		code, body = as(t, srv, "alice", "REPORT", cal, strings.Replace(trashSync, "TOKEN", token, 1), "Depth", "1")
		if code != http.StatusMultiStatus || !strings.Contains(body, "dentist.ics") || strings.Contains(body, "404") {
			t.Errorf("sync from the old token: %d %s; want dentist.ics back", code, body)
		}
		if now := ctagOf(t, srv, cal); now == ctag {
			t.Errorf("ctag %s unchanged by delete and restore", now)
		}
		if code, _ := as(t, srv, "alice", "POST", "/api/v1/trash/"+id+"/restore", ""); code != http.StatusNotFound {
			t.Errorf("second restore: %d, want 404", code)
		}

		// A new event with the UID: the restore is a conflict.
		if code, _ := as(t, srv, "alice", "DELETE", cal+"dentist.ics", ""); code != http.StatusNoContent {
			t.Fatal("second DELETE failed")
		}
		putEvent(t, srv, "alice", cal+"again.ics", icsEvent("UID:dentist", "DTSTART:20260302T090000Z", "SUMMARY:Dentist"))
		id = strconv.FormatInt(trashList(t, srv, "alice")[0].ID, 10)
		if code, body := as(t, srv, "alice", "POST", "/api/v1/trash/"+id+"/restore", ""); code != http.StatusConflict ||
			!strings.Contains(body, "UID dentist") {
			t.Errorf("restore over the UID: %d %s, want 409 naming the UID", code, body)
		}
		if code, _ := as(t, srv, "alice", "DELETE", "/api/v1/trash/"+id, ""); code != http.StatusNoContent {
			t.Errorf("purge: %d", code)
		}
		if got := trashList(t, srv, "alice"); len(got) != 0 {
			t.Errorf("after purge: %+v", got)
		}
	})
}

// TestTrashRestoresCalendar: a calendar deleted over DAV comes back with
// its events and name.
func TestTrashRestoresCalendar(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		const cal = "/dav/calendars/alice/trip/"
		mk := `<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>` +
			`<D:displayname>Trip</D:displayname></D:prop></D:set></C:mkcalendar>`
		if code, body := as(t, srv, "alice", "MKCALENDAR", cal, mk); code != http.StatusCreated {
			t.Fatalf("MKCALENDAR: %d %s", code, body)
		}
		putEvent(t, srv, "alice", cal+"flight.ics", icsEvent("UID:flight", "DTSTART:20260302T090000Z", "SUMMARY:Flight"))
		if code, _ := as(t, srv, "bob", "DELETE", cal, ""); code < 400 {
			t.Fatalf("bob deletes alice's calendar: %d", code)
		}
		if code, body := as(t, srv, "alice", "DELETE", cal, ""); code != http.StatusNoContent {
			t.Fatalf("DELETE: %d %s", code, body)
		}
		if code, _ := as(t, srv, "alice", "GET", cal+"flight.ics", ""); code != http.StatusNotFound {
			t.Fatalf("event after the delete: %d", code)
		}
		items := trashList(t, srv, "alice")
		if len(items) != 1 || items[0].Kind != "collection" || items[0].Name != "trip" {
			t.Fatalf("trash %+v", items)
		}
		id := strconv.FormatInt(items[0].ID, 10)
		if code, body := as(t, srv, "alice", "POST", "/api/v1/trash/"+id+"/restore", ""); code != http.StatusOK {
			t.Fatalf("restore: %d %s", code, body)
		}
		if code, body := as(t, srv, "alice", "GET", cal+"flight.ics", ""); code != http.StatusOK || !strings.Contains(body, "UID:flight") {
			t.Errorf("event after the restore: %d %s", code, body)
		}
		code, body := as(t, srv, "alice", "PROPFIND", cal, `<D:propfind xmlns:D="DAV:"><D:prop><D:displayname/></D:prop></D:propfind>`, "Depth", "0")
		if code != http.StatusMultiStatus || !strings.Contains(body, "Trip") {
			t.Errorf("display name after the restore: %d %s", code, body)
		}
	})
}

// TestTrashKeepsWhatAViewWriterDeletes: an event bob deletes through
// alice's writable virtual calendar goes to alice's trash, and comes back
// into her calendar.
func TestTrashKeepsWhatAViewWriterDeletes(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		putEvent(t, srv, "alice", "/dav/calendars/alice/default/lunch.ics", icsEvent("UID:lunch", "DTSTART:20260302T120000Z", "SUMMARY:Lunch"))
		id := mustCreateVC(t, srv, "alice", domain.VCSpec{Name: "team", Definition: domain.VCNode{Calendar: "default"},
			SharedWith: []string{"user:bob"}, WriteTarget: "default", Writers: []string{"user:bob"}})
		if code, body := as(t, srv, "bob", "DELETE", viewPath("bob", id)+"lunch.ics", ""); code != http.StatusNoContent {
			t.Fatalf("bob DELETE through the view: %d %s", code, body)
		}
		items := trashList(t, srv, "alice")
		if len(items) != 1 || items[0].Name != "default/lunch.ics" {
			t.Fatalf("alice's trash %+v, want default/lunch.ics", items)
		}
		if got := trashList(t, srv, "bob"); len(got) != 0 {
			t.Errorf("bob's trash %+v, want empty", got)
		}
		if code, body := as(t, srv, "alice", "POST", "/api/v1/trash/"+strconv.FormatInt(items[0].ID, 10)+"/restore", ""); code != http.StatusOK {
			t.Fatalf("restore: %d %s", code, body)
		}
		if code, _ := as(t, srv, "alice", "GET", "/dav/calendars/alice/default/lunch.ics", ""); code != http.StatusOK {
			t.Errorf("lunch after the restore: %d", code)
		}
	})
}

// TestTrashKeepsACalendarReplacedByMove: MOVE with Overwrite: T deletes
// the destination first (RFC 4918 9.9.3), which then is in the trash.
func TestTrashKeepsACalendarReplacedByMove(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		for _, c := range []string{"old", "new"} {
			if code, body := as(t, srv, "alice", "MKCALENDAR", "/dav/calendars/alice/"+c+"/", ""); code != http.StatusCreated {
				t.Fatalf("MKCALENDAR %s: %d %s", c, code, body)
			}
		}
		putEvent(t, srv, "alice", "/dav/calendars/alice/old/kept.ics", icsEvent("UID:kept", "DTSTART:20260302T120000Z", "SUMMARY:Kept"))
		if code, body := as(t, srv, "alice", "MOVE", "/dav/calendars/alice/new/", "",
			"Destination", "/dav/calendars/alice/old/", "Overwrite", "T"); code != http.StatusNoContent {
			t.Fatalf("MOVE: %d %s", code, body)
		}
		items := trashList(t, srv, "alice")
		if len(items) != 1 || items[0].Kind != "collection" || items[0].Name != "old" {
			t.Fatalf("trash %+v, want the replaced calendar old", items)
		}
		id := strconv.FormatInt(items[0].ID, 10)
		if code, _ := as(t, srv, "alice", "POST", "/api/v1/trash/"+id+"/restore", ""); code != http.StatusConflict {
			t.Errorf("restore while old is taken: %d, want 409", code)
		}
		if code, _ := as(t, srv, "alice", "DELETE", "/dav/calendars/alice/old/", ""); code != http.StatusNoContent {
			t.Fatal("DELETE of the moved calendar failed")
		}
		if code, body := as(t, srv, "alice", "POST", "/api/v1/trash/"+id+"/restore", ""); code != http.StatusOK {
			t.Fatalf("restore: %d %s", code, body)
		}
		if code, _ := as(t, srv, "alice", "GET", "/dav/calendars/alice/old/kept.ics", ""); code != http.StatusOK {
			t.Errorf("the replaced calendar's event after the restore: %d", code)
		}
	})
}
