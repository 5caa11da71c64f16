package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
)

// importFile is a calendar of two UIDs, one a recurring event with an
// override, and one entry without a UID (line 14).
var importFile = ics(
	"BEGIN:VEVENT", "UID:standup", "DTSTAMP:20260101T000000Z", "DTSTART:20260105T090000Z", "DURATION:PT15M",
	"RRULE:FREQ=DAILY;COUNT=5", "SUMMARY:Standup", "END:VEVENT",
	"BEGIN:VEVENT", "DTSTAMP:20260101T000000Z", "DTSTART:20260105T090000Z", "END:VEVENT",
	"BEGIN:VEVENT", "UID:review", "DTSTAMP:20260101T000000Z", "DTSTART:20260106T140000Z", "SUMMARY:Review", "END:VEVENT",
	"BEGIN:VEVENT", "UID:standup", "DTSTAMP:20260101T000000Z", "RECURRENCE-ID:20260107T090000Z",
	"DTSTART:20260107T100000Z", "DURATION:PT15M", "SUMMARY:Standup (late)", "END:VEVENT")

// importAs posts body to path as user and decodes the summary.
func importAs(t *testing.T, srv *Server, user, path, body, contentType string) domain.ImportResult {
	t.Helper()
	code, body := as(t, srv, user, http.MethodPost, path, body, "Content-Type", contentType)
	if code != http.StatusOK {
		t.Fatalf("import: %d %s", code, body)
	}
	var res domain.ImportResult
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatalf("import answer %q: %v", body, err)
	}
	return res
}

func aliceObjects(t *testing.T, srv *Server, name string) map[string]*store.Object {
	t.Helper()
	ctx := context.Background()
	c, err := srv.Service().Collection(ctx, "alice", name)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := srv.Service().ListObjects(ctx, c, true)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]*store.Object{}
	for _, o := range objs {
		m[o.Name] = o
	}
	return m
}

// A POST of a calendar file to a calendar imports it, one object per
// UID, and a client's next sync-collection names the new objects; the
// API does the same and skips UIDs held when asked; other media types
// and bad options are refused precisely, and a PUT still takes one UID.
func TestImportOverDAVAndAPI(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		provision(t, srv, "alice")
		_, token := syncTokenOf(t, srv, "alice", aliceWork)
		if token == "" {
			t.Fatal("no sync token")
		}

		res := importAs(t, srv, "alice", aliceWork, importFile, "text/calendar; charset=utf-8")
		if res.Imported != 2 || res.BadCount != 1 || res.Bad[0].Line != 12 || !strings.Contains(res.Bad[0].Reason, "UID") {
			t.Fatalf("DAV import: %+v", res)
		}
		objs := aliceObjects(t, srv, "default")
		if len(objs) != 2 || !strings.Contains(string(objs["standup.ics"].Data), "RECURRENCE-ID:20260107T090000Z") {
			t.Fatalf("stored %v", objs)
		}

		code, body := as(t, srv, "alice", "REPORT", aliceWork, strings.Replace(calSync, "TOKEN", token, 1), "Depth", "1")
		if code != http.StatusMultiStatus || !strings.Contains(body, aliceWork+"standup.ics") || !strings.Contains(body, aliceWork+"review.ics") {
			t.Fatalf("sync-collection after the import: %d %s", code, body)
		}

		res = importAs(t, srv, "alice", "/api/v1/collections/default/import?on_conflict=skip", importFile, "text/calendar")
		if res.Imported != 0 || res.Skipped != 2 || res.Updated != 0 {
			t.Fatalf("API import with skip: %+v", res)
		}
		_, before := syncTokenOf(t, srv, "alice", aliceWork)
		res = importAs(t, srv, "alice", "/api/v1/collections/default/import", importFile, "text/calendar")
		if res.Unchanged != 2 || res.Updated != 0 {
			t.Fatalf("API import of the same file with update: %+v, want 2 unchanged", res)
		}
		if _, after := syncTokenOf(t, srv, "alice", aliceWork); after != before {
			t.Fatalf("an unchanged import moved the sync token from %s to %s", before, after)
		}

		for _, tc := range []struct {
			method, path, body, ctype string
			want                      int
			says                      string
		}{
			{http.MethodPost, aliceWork, importFile, "application/json", http.StatusUnsupportedMediaType, "text/calendar"},
			{http.MethodPost, aliceWork, importFile, "text/vcard", http.StatusUnsupportedMediaType, "a calendar imports text/calendar"},
			{http.MethodPost, aliceWork + "?on_conflict=merge", importFile, "text/calendar", http.StatusBadRequest, "want update or skip"},
			{http.MethodPost, aliceWork, "not a calendar\r\n", "text/calendar", http.StatusBadRequest, "expected BEGIN:VCALENDAR"},
			{http.MethodPost, "/api/v1/collections/default/import", importFile, "text/plain", http.StatusUnsupportedMediaType, "text/calendar"},
			{http.MethodPost, "/api/v1/collections/default/import?on_conflict=x", importFile, "text/calendar", http.StatusBadRequest, "on_conflict"},
			{http.MethodPost, "/api/v1/collections/default/import", "BEGIN:VCARD\r\n", "text/calendar", http.StatusBadRequest, "malformed"},
			{http.MethodGet, "/api/v1/collections/default/import", "", "", http.StatusMethodNotAllowed, "POST"},
			{http.MethodPost, "/api/v1/collections/nope/import", importFile, "text/calendar", http.StatusNotFound, ""},
			// PUT keeps its rule: one resource, one UID.
			{http.MethodPut, aliceWork + "two.ics", importFile, "text/calendar", http.StatusForbidden, "UID"},
		} {
			code, body := as(t, srv, "alice", tc.method, tc.path, tc.body, "Content-Type", tc.ctype)
			if code != tc.want || !strings.Contains(body, tc.says) {
				t.Errorf("%s %s (%s): %d %s, want %d saying %q", tc.method, tc.path, tc.ctype, code, body, tc.want, tc.says)
			}
		}

		cards := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:ann\r\nFN:Ann\r\nN:;Ann;;;\r\nEND:VCARD\r\n" +
			"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bo\r\nN:;Bo;;;\r\nEND:VCARD\r\n"
		res = importAs(t, srv, "alice", "/dav/addressbooks/alice/contacts/", cards, "text/vcard")
		if res.Imported != 2 || len(aliceObjects(t, srv, "contacts")) != 2 {
			t.Fatalf("card import: %+v", res)
		}
	})
}

// Another user, a reader of the calendar and an anonymous client import
// nothing, over DAV or the API; a read-write sharee imports.
func TestImportAccess(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		addUsers(t, srv, "carol", "dave")
		provision(t, srv, "alice", "bob", "carol", "dave")
		shareAs(t, srv, "alice", "default", "user:bob", domain.LevelRead)
		shareAs(t, srv, "alice", "default", "user:dave", domain.LevelReadWrite)
		c, err := srv.Service().Collection(context.Background(), "alice", "default")
		if err != nil {
			t.Fatal(err)
		}
		api := fmt.Sprintf("/api/v1/shared/%d/import", c.ID)
		for _, tc := range []struct {
			user, path string
			want       int
		}{
			{"carol", aliceWork, http.StatusNotFound},
			{"carol", bobsMount, http.StatusNotFound},
			{"carol", api, http.StatusNotFound},
			{"bob", bobsMount, http.StatusForbidden},
			{"bob", aliceWork, http.StatusNotFound}, // a sharee reaches a share through their mount
			{"bob", api, http.StatusForbidden},
			{"", aliceWork, http.StatusUnauthorized},
			{"", api, http.StatusUnauthorized},
		} {
			var code int
			var body string
			if tc.user == "" {
				req := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(importFile))
				req.Header.Set("Content-Type", "text/calendar")
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				code, body = rec.Code, rec.Body.String()
			} else {
				code, body = as(t, srv, tc.user, http.MethodPost, tc.path, importFile, "Content-Type", "text/calendar")
			}
			if code != tc.want {
				t.Errorf("%q POST %s: %d %s, want %d", tc.user, tc.path, code, body, tc.want)
			}
			if n := len(aliceObjects(t, srv, "default")); n != 0 {
				t.Fatalf("%q POST %s stored %d objects", tc.user, tc.path, n)
			}
		}
		res := importAs(t, srv, "dave", api, importFile, "text/calendar")
		if res.Imported != 2 || len(aliceObjects(t, srv, "default")) != 2 {
			t.Fatalf("read-write sharee: %+v", res)
		}
	})
}

// A POST larger than max_import_size is answered 413 over DAV and the API,
// and stores nothing.
func TestImportTooLarge(t *testing.T) {
	srv, err := New(backends[0].open(t), Options{Clock: fixedClock, PasswordParams: cheapParams, MaxImportSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	addUsers(t, srv, "alice")
	provision(t, srv, "alice")
	for _, path := range []string{aliceWork, "/api/v1/collections/default/import"} {
		code, body := as(t, srv, "alice", http.MethodPost, path, importFile, "Content-Type", "text/calendar")
		if code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "max_import_size") {
			t.Errorf("POST %s: %d %s; want 413 naming max_import_size", path, code, body)
		}
	}
	if objs := aliceObjects(t, srv, "default"); len(objs) != 0 {
		t.Errorf("%d objects stored", len(objs))
	}
}
