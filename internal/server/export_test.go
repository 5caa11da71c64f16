package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
)

// getAs sends GET as user ("" for no credentials) and returns the whole
// answer.
func getAs(srv http.Handler, user, path string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if user != "" {
		req.SetBasicAuth(user, user+"-password")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	return rec
}

// TestExportOverDAV: a GET of a calendar, an address book, a calendar
// shared at read level and a virtual calendar answers one file of what the
// requester may see, with the CTag as ETag (If-None-Match: 304) and a file
// name; others and anonymous clients get nothing.
func TestExportOverDAV(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		addUsers(t, srv, "carol")
		provision(t, srv, "alice", "bob", "carol")
		if err := srv.Service().EnsureHome(context.Background(), "alice", store.KindAddressBook); err != nil {
			t.Fatal(err)
		}
		putEvent(t, srv, "alice", aliceWork+"budget.ics", budget)
		tz := "BEGIN:VTIMEZONE\r\nTZID:Asia/Tokyo\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0900\r\n" +
			"TZOFFSETTO:+0900\r\nEND:STANDARD\r\nEND:VTIMEZONE"
		for _, uid := range []string{"a", "b"} {
			putEvent(t, srv, "alice", aliceWork+uid+".ics", ics(tz, "BEGIN:VEVENT", "UID:"+uid, "DTSTAMP:20260101T000000Z",
				"DTSTART;TZID=Asia/Tokyo:20260121T090000", "DTEND;TZID=Asia/Tokyo:20260121T100000", "SUMMARY:Tokyo "+uid, "END:VEVENT"))
		}
		card := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:ken\r\nFN:Ken Sato\r\nN:Sato;Ken;;;\r\nEND:VCARD\r\n"
		if code, body := as(t, srv, "alice", http.MethodPut, "/dav/addressbooks/alice/contacts/ken.vcf", card,
			"Content-Type", "text/vcard"); code != http.StatusCreated {
			t.Fatalf("PUT card: %d %s", code, body)
		}

		rec := getAs(srv, "alice", aliceWork)
		body := rec.Body.String()
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/calendar; charset=utf-8" ||
			rec.Header().Get("Content-Disposition") != "attachment; filename=Calendar.ics" {
			t.Fatalf("calendar export: %d %v", rec.Code, rec.Header())
		}
		if strings.Count(body, "BEGIN:VCALENDAR") != 1 || strings.Count(body, "BEGIN:VEVENT") != 3 ||
			strings.Count(body, "BEGIN:VTIMEZONE") != 1 || !strings.Contains(body, secretWord) {
			t.Errorf("calendar export is not one VCALENDAR with every event and one VTIMEZONE:\n%s", body)
		}
		etag := rec.Header().Get("ETag")
		if etag == "" {
			t.Fatal("calendar export without ETag")
		}
		if rec := getAs(srv, "alice", aliceWork, "If-None-Match", etag); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
			t.Errorf("If-None-Match of the current ETag: %d %q", rec.Code, rec.Body.String())
		}
		if code, _ := as(t, srv, "alice", http.MethodDelete, aliceWork+"b.ics", ""); code != http.StatusNoContent {
			t.Fatalf("DELETE: %d", code)
		}
		if rec := getAs(srv, "alice", aliceWork, "If-None-Match", etag); rec.Code != 200 || rec.Header().Get("ETag") == etag ||
			strings.Contains(rec.Body.String(), "Tokyo b") {
			t.Errorf("after a change: %d %s\n%s", rec.Code, rec.Header().Get("ETag"), rec.Body.String())
		}

		rec = getAs(srv, "alice", "/dav/addressbooks/alice/contacts/")
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/vcard; charset=utf-8" || rec.Body.String() != card ||
			rec.Header().Get("Content-Disposition") != "attachment; filename=Contacts.vcf" || rec.Header().Get("ETag") == "" {
			t.Errorf("address book export: %d %v\n%q", rec.Code, rec.Header(), rec.Body.String())
		}

		rec = getAs(srv, "alice", "/dav/addressbooks/alice/directory/")
		if body := rec.Body.String(); rec.Code != 200 || rec.Header().Get("Content-Type") != "text/vcard; charset=utf-8" ||
			strings.Count(body, "BEGIN:VCARD") != 3 || !strings.Contains(body, "bob@example.org") {
			t.Errorf("directory export: %d %v\n%s", rec.Code, rec.Header(), body)
		}

		// bob reads alice's calendar through his mount.
		shareAs(t, srv, "alice", "default", "user:bob", domain.LevelRead)
		rec = getAs(srv, "bob", bobsMount)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), secretWord) || rec.Header().Get("ETag") == "" {
			t.Errorf("bob's export of the share: %d %v\n%s", rec.Code, rec.Header(), rec.Body.String())
		}
		if rec := getAs(srv, "bob", bobsMount, "If-None-Match", rec.Header().Get("ETag")); rec.Code != http.StatusNotModified {
			t.Errorf("bob's If-None-Match: %d", rec.Code)
		}
		// carol has no share; nobody without credentials gets anything.
		for _, user := range []string{"carol", ""} {
			for _, p := range []string{aliceWork, "/dav/addressbooks/alice/contacts/", bobsMount} {
				rec := getAs(srv, user, p)
				if rec.Code < 400 || strings.Contains(rec.Body.String(), secretWord) || strings.Contains(rec.Body.String(), "Ken Sato") ||
					rec.Header().Get("Content-Disposition") != "" {
					t.Errorf("%q GET %s: %d %v\n%s", user, p, rec.Code, rec.Header(), rec.Body.String())
				}
			}
		}

		// A view is exported as its viewer sees it: busy blocks here.
		id := mustCreateVC(t, srv, "alice", domain.VCSpec{Name: "busy", DisplayName: "Alice: busy",
			Definition: domain.VCNode{Filter: &domain.FilterDef{Default: "busy"}, Of: &domain.VCNode{Calendar: "default"}},
			SharedWith: []string{"user:bob"}})
		rec = getAs(srv, "bob", viewPath("bob", id))
		body = rec.Body.String()
		if rec.Code != 200 || !strings.Contains(body, "DTSTART:20260120T090000Z") || strings.Contains(body, secretWord) ||
			strings.Contains(body, "Budget review") || rec.Header().Get("Content-Disposition") != `attachment; filename="Alice_ busy.ics"` {
			t.Errorf("bob's export of the view: %d %v\n%s", rec.Code, rec.Header(), body)
		}
		if rec := getAs(srv, "bob", viewPath("bob", id), "If-None-Match", rec.Header().Get("ETag")); rec.Code != http.StatusNotModified {
			t.Errorf("bob's If-None-Match on the view: %d", rec.Code)
		}
		if rec := getAs(srv, "carol", viewPath("carol", id)); rec.Code < 400 || strings.Contains(rec.Body.String(), "20260120T090000Z") {
			t.Errorf("carol's GET of a view not shared with her: %d\n%s", rec.Code, rec.Body.String())
		}
	})
}

// TestExportETagFollowsTheName: renaming a calendar changes no object, so
// not its CTag, but the file it exports carries the name.
func TestExportETagFollowsTheName(t *testing.T) {
	srv := newTestServer(t)
	provision(t, srv, "alice")
	putEvent(t, srv, "alice", aliceWork+"budget.ics", budget)
	etag := getAs(srv, "alice", aliceWork).Header().Get("ETag")
	rename := `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>Office</D:displayname></D:prop></D:set></D:propertyupdate>`
	if code, body := as(t, srv, "alice", "PROPPATCH", aliceWork, rename); code != http.StatusMultiStatus {
		t.Fatalf("PROPPATCH: %d %s", code, body)
	}
	rec := getAs(srv, "alice", aliceWork, "If-None-Match", etag)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "X-WR-CALNAME:Office") ||
		rec.Header().Get("Content-Disposition") != "attachment; filename=Office.ics" {
		t.Errorf("after a rename: %d %v\n%s", rec.Code, rec.Header(), rec.Body.String())
	}
}
