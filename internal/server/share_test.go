package server

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
)

// shareAs grants grantee level on owner's collection name, through the
// domain as the owner would.
func shareAs(t *testing.T, srv *Server, owner, name, grantee string, level domain.Level) {
	t.Helper()
	ctx := domain.WithPrincipal(context.Background(), owner)
	c, err := srv.Service().Collection(ctx, owner, name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Service().Share(ctx, c, grantee, level); err != nil {
		t.Fatalf("share %s/%s with %s at %s: %v", owner, name, grantee, level, err)
	}
}

func unshareAs(t *testing.T, srv *Server, owner, name, grantee string) {
	t.Helper()
	ctx := domain.WithPrincipal(context.Background(), owner)
	c, err := srv.Service().Collection(ctx, owner, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Service().Unshare(ctx, c, grantee); err != nil {
		t.Fatal(err)
	}
}

const (
	aliceWork  = "/dav/calendars/alice/default/"
	bobsMount  = "/dav/calendars/bob/default_shared_by_alice/"
	secretWord = "SECRET-DETAIL"
)

var budget = ics("BEGIN:VEVENT", "UID:budget", "DTSTART:20260120T090000Z", "DTEND:20260120T100000Z",
	"SUMMARY:Budget review", "DESCRIPTION:"+secretWord, "END:VEVENT")

// A calendar shared with bob appears in bob's own home, answers every read
// as the grant allows, and refuses writes with need-privileges until the
// grant allows them; then bob's writes are the owner's bytes in the
// owner's change log.
func TestShareReadThenReadWrite(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		addUsers(t, srv, "carol")
		provision(t, srv, "alice", "bob", "carol")
		putEvent(t, srv, "alice", aliceWork+"budget.ics", budget)
		shareAs(t, srv, "alice", "default", "user:bob", domain.LevelRead)

		code, body := as(t, srv, "bob", "PROPFIND", "/dav/calendars/bob/", "", "Depth", "1")
		if code != http.StatusMultiStatus || !strings.Contains(body, bobsMount) {
			t.Fatalf("bob's home does not list the share: %d %s", code, body)
		}
		if code, got := as(t, srv, "bob", http.MethodGet, bobsMount+"budget.ics", ""); code != http.StatusOK || got != budget {
			t.Fatalf("GET through a read share: %d %q, want the owner's bytes", code, got)
		}
		code, body = as(t, srv, "bob", "PROPFIND", bobsMount, `<propfind xmlns="DAV:"><prop><current-user-privilege-set/><owner/></prop></propfind>`, "Depth", "0")
		if !strings.Contains(body, "read") || strings.Contains(body, "write-content") || !strings.Contains(body, "/dav/principals/alice/") {
			t.Errorf("privileges of a read share: %d %s", code, body)
		}
		code, body = as(t, srv, "bob", http.MethodPut, bobsMount+"new.ics", ics("BEGIN:VEVENT", "UID:new", "DTSTART:20260121T090000Z", "END:VEVENT"), "Content-Type", "text/calendar")
		if code != http.StatusForbidden || !strings.Contains(body, "need-privileges") || !strings.Contains(body, "write-content") || !strings.Contains(body, "<D:href>/dav/calendars/bob/default_shared_by_alice/new.ics</D:href>") {
			t.Fatalf("PUT through a read share: %d %s, want 403 need-privileges", code, body)
		}
		if code, _ := as(t, srv, "bob", http.MethodDelete, bobsMount+"budget.ics", ""); code != http.StatusForbidden {
			t.Fatalf("DELETE through a read share: %d, want 403", code)
		}
		if code, _ := as(t, srv, "alice", http.MethodGet, aliceWork+"budget.ics", ""); code != http.StatusOK {
			t.Fatal("the refused DELETE removed alice's event")
		}
		// carol, who has no grant, sees nothing of it anywhere.
		for _, p := range []string{bobsMount, bobsMount + "budget.ics", aliceWork, aliceWork + "budget.ics", "/dav/calendars/carol/default_shared_by_alice/"} {
			if code, body := as(t, srv, "carol", "PROPFIND", p, "", "Depth", "0"); code != http.StatusNotFound {
				t.Errorf("carol PROPFIND %s: %d %s, want 404", p, code, body)
			}
		}

		shareAs(t, srv, "alice", "default", "user:bob", domain.LevelReadWrite)
		_, token := syncTokenOf(t, srv, "alice", aliceWork)
		put := ics("BEGIN:VEVENT", "UID:bobs", "DTSTART:20260122T090000Z", "SUMMARY:Bob adds", "END:VEVENT")
		putEvent(t, srv, "bob", bobsMount+"bobs.ics", put)
		if code, got := as(t, srv, "alice", http.MethodGet, aliceWork+"bobs.ics", ""); code != http.StatusOK || got != put {
			t.Fatalf("alice reads bob's write: %d %q", code, got)
		}
		code, body = as(t, srv, "alice", "REPORT", aliceWork, syncBody(token), "Depth", "1")
		if !strings.Contains(body, aliceWork+"bobs.ics") {
			t.Errorf("alice's sync after bob's write: %d %s", code, body)
		}
	})
}

// syncTokenOf returns a collection's sync-token as user sees it.
func syncTokenOf(t *testing.T, srv *Server, user, path string) (int, string) {
	t.Helper()
	code, body := as(t, srv, user, "PROPFIND", path, `<propfind xmlns="DAV:"><prop><sync-token/></prop></propfind>`, "Depth", "0")
	return code, between(body, "<D:sync-token>", "</D:sync-token>")
}

// Each sharee names and colours a share for themselves; the owner's stay.
func TestShareePropertiesAreTheirOwn(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		// alice and bob exist in every test server.
		provision(t, srv, "alice", "bob")
		shareAs(t, srv, "alice", "default", "user:bob", domain.LevelRead)
		patch := `<propertyupdate xmlns="DAV:" xmlns:A="http://apple.com/ns/ical/"><set><prop><displayname>Alice (work)</displayname><A:calendar-color>#00FF00FF</A:calendar-color></prop></set></propertyupdate>`
		if code, body := as(t, srv, "bob", "PROPPATCH", bobsMount, patch); code != http.StatusMultiStatus || strings.Contains(body, "HTTP/1.1 4") {
			t.Fatalf("bob's PROPPATCH of his share: %d %s", code, body)
		}
		get := `<propfind xmlns="DAV:" xmlns:A="http://apple.com/ns/ical/"><prop><displayname/><A:calendar-color/></prop></propfind>`
		if _, body := as(t, srv, "bob", "PROPFIND", bobsMount, get, "Depth", "0"); !strings.Contains(body, "Alice (work)") || !strings.Contains(body, "#00FF00FF") {
			t.Errorf("bob sees: %s", body)
		}
		if _, body := as(t, srv, "alice", "PROPFIND", aliceWork, get, "Depth", "0"); strings.Contains(body, "Alice (work)") || strings.Contains(body, "#00FF00FF") {
			t.Errorf("bob's settings reached alice: %s", body)
		}
		// What is the owner's to set stays the owner's.
		desc := `<propertyupdate xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><set><prop><C:calendar-description>mine now</C:calendar-description></prop></set></propertyupdate>`
		if code, body := as(t, srv, "bob", "PROPPATCH", bobsMount, desc); code == http.StatusMultiStatus && !strings.Contains(body, "403") {
			t.Errorf("bob changed the owner's description: %d %s", code, body)
		}
	})
}

// A share its sharee cannot give up (it comes through everyone, or also
// through everyone) leaves their home when they delete it: it is hidden
// for them, and gone (404) until they unhide it or it is shared with them
// by name again.
func TestLeavingAShareHeldOtherwiseHidesIt(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		provision(t, srv, "alice", "bob")
		putEvent(t, srv, "alice", aliceWork+"budget.ics", budget)
		listed := func() bool {
			_, body := as(t, srv, "bob", "PROPFIND", "/dav/calendars/bob/", "", "Depth", "1")
			return strings.Contains(body, "shared_by_alice")
		}
		for _, byName := range []bool{false, true} {
			shareAs(t, srv, "alice", "default", domain.GranteeEveryone, domain.LevelRead)
			if byName {
				shareAs(t, srv, "alice", "default", "user:bob", domain.LevelRead)
			}
			if !listed() {
				t.Fatalf("by name %v: the share is not in bob's home", byName)
			}
			if code, body := as(t, srv, "bob", http.MethodDelete, bobsMount, ""); code != http.StatusNoContent {
				t.Fatalf("by name %v: bob deletes the share: %d %s", byName, code, body)
			}
			if listed() {
				t.Fatalf("by name %v: the share is still listed after bob deleted it", byName)
			}
			if code, _ := as(t, srv, "bob", http.MethodGet, bobsMount+"budget.ics", ""); code != http.StatusNotFound {
				t.Fatalf("by name %v: the hidden share's URL answers %d, want 404 (RFC 4918 9.6)", byName, code)
			}
			if _, body := as(t, srv, "bob", http.MethodGet, "/api/v1/shared", ""); !strings.Contains(body, `"hidden":true`) {
				t.Fatalf("by name %v: the API does not say it is hidden: %s", byName, body)
			}
			if code, _ := as(t, srv, "alice", http.MethodGet, aliceWork+"budget.ics", ""); code != http.StatusOK {
				t.Fatal("hiding a share deleted the owner's data")
			}
			shareAs(t, srv, "alice", "default", "user:bob", domain.LevelRead)
			if !listed() {
				t.Fatalf("by name %v: shared again by name, the share stays hidden", byName)
			}
			unshareAs(t, srv, "alice", "default", "user:bob")
			unshareAs(t, srv, "alice", "default", domain.GranteeEveryone)
		}
	})
}

// Revoking a share takes it out of the sharee's home on the next request;
// a sharee may also give it up by deleting it from their home.
func TestRevokeAndLeave(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		// alice and bob exist in every test server.
		provision(t, srv, "alice", "bob")
		putEvent(t, srv, "alice", aliceWork+"budget.ics", budget)
		shareAs(t, srv, "alice", "default", "user:bob", domain.LevelRead)
		unshareAs(t, srv, "alice", "default", "user:bob")
		if code, _ := as(t, srv, "bob", http.MethodGet, bobsMount+"budget.ics", ""); code != http.StatusNotFound {
			t.Fatalf("GET after revoke: %d", code)
		}
		if _, body := as(t, srv, "bob", "PROPFIND", "/dav/calendars/bob/", "", "Depth", "1"); strings.Contains(body, "shared_by_alice") {
			t.Fatalf("the revoked share is still listed: %s", body)
		}
		shareAs(t, srv, "alice", "default", "user:bob", domain.LevelRead)
		if code, body := as(t, srv, "bob", http.MethodDelete, bobsMount, ""); code != http.StatusNoContent {
			t.Fatalf("bob leaves the share: %d %s", code, body)
		}
		if code, _ := as(t, srv, "alice", http.MethodGet, aliceWork+"budget.ics", ""); code != http.StatusOK {
			t.Fatal("leaving a share deleted the owner's data")
		}
		if code, _ := as(t, srv, "bob", "PROPFIND", bobsMount, "", "Depth", "0"); code != http.StatusNotFound {
			t.Fatalf("the share is still there after leaving: %d", code)
		}
	})
}

// A free-busy sharee sees busy blocks: times, no titles or details, in
// every read path.
func TestFreeBusyShare(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		// alice and bob exist in every test server.
		provision(t, srv, "alice", "bob")
		putEvent(t, srv, "alice", aliceWork+"budget.ics", budget)
		shareAs(t, srv, "alice", "default", "user:bob", domain.LevelFreeBusy)
		query := `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>
<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20260101T000000Z" end="20270101T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`
		answers := map[string][2]string{}
		code, body := as(t, srv, "bob", http.MethodGet, bobsMount+"budget.ics", "")
		answers["GET"] = [2]string{itoa(int64(code)), body}
		code, body = as(t, srv, "bob", "REPORT", bobsMount, query, "Depth", "1")
		answers["calendar-query"] = [2]string{itoa(int64(code)), body}
		code, body = as(t, srv, "bob", http.MethodGet, bobsMount, "")
		answers["export"] = [2]string{itoa(int64(code)), body}
		textQuery := strings.Replace(query, `<C:time-range start="20260101T000000Z" end="20270101T000000Z"/>`,
			`<C:prop-filter name="DESCRIPTION"><C:text-match>`+secretWord+`</C:text-match></C:prop-filter>`, 1)
		code, body = as(t, srv, "bob", "REPORT", bobsMount, textQuery, "Depth", "1")
		answers["text query"] = [2]string{itoa(int64(code)), body}
		for what, a := range answers {
			if strings.Contains(a[1], secretWord) || strings.Contains(a[1], "Budget review") {
				t.Errorf("%s shows details to a free-busy sharee: %s", what, a[1])
			}
		}
		if !strings.Contains(answers["GET"][1], "DTSTART:20260120T090000Z") {
			t.Errorf("GET does not show the busy time: %v", answers["GET"])
		}
		if strings.Contains(answers["text query"][1], "budget.ics") {
			t.Errorf("a text-match on hidden details finds the event: %s", answers["text query"][1])
		}
		if code, _ := as(t, srv, "bob", http.MethodPut, bobsMount+"x.ics", budget, "Content-Type", "text/calendar"); code != http.StatusForbidden {
			t.Errorf("PUT through a free-busy share: %d", code)
		}
	})
}

// A write delegate (calendar-proxy-write) acts on all of the owner's
// calendars; a read delegate reads them; neither sees address books.
func TestDelegates(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		addUsers(t, srv, "boss", "assistant", "colleague")
		provision(t, srv, "boss", "assistant", "colleague")
		ctx := domain.WithPrincipal(context.Background(), "boss")
		if err := srv.Service().SetDelegate(ctx, "boss", "assistant", true); err != nil {
			t.Fatal(err)
		}
		if err := srv.Service().SetDelegate(ctx, "boss", "colleague", false); err != nil {
			t.Fatal(err)
		}
		if err := srv.Service().CreateCollection(ctx, &store.Collection{Owner: "boss", Name: "private-book", Kind: store.KindAddressBook}, nil); err != nil {
			t.Fatal(err)
		}
		mount := "/dav/calendars/assistant/default_shared_by_boss/"
		putEvent(t, srv, "assistant", mount+"meeting.ics", ics("BEGIN:VEVENT", "UID:m", "DTSTART:20260120T090000Z", "SUMMARY:Board", "END:VEVENT"))
		if code, _ := as(t, srv, "boss", http.MethodGet, "/dav/calendars/boss/default/meeting.ics", ""); code != http.StatusOK {
			t.Fatalf("boss does not see the assistant's write: %d", code)
		}
		cmount := "/dav/calendars/colleague/default_shared_by_boss/"
		if code, _ := as(t, srv, "colleague", http.MethodGet, cmount+"meeting.ics", ""); code != http.StatusOK {
			t.Fatalf("read delegate GET: %d", code)
		}
		if code, _ := as(t, srv, "colleague", http.MethodDelete, cmount+"meeting.ics", ""); code != http.StatusForbidden {
			t.Fatalf("read delegate DELETE: %d", code)
		}
		if _, body := as(t, srv, "assistant", "PROPFIND", "/dav/addressbooks/assistant/", "", "Depth", "1"); strings.Contains(body, "boss") {
			t.Errorf("a calendar delegate sees the boss's address books: %s", body)
		}
	})
}

// A virtual calendar may draw from a calendar shared with its owner; the
// authorizer is asked at every evaluation, so a free-busy share gives busy
// blocks only and a revoked share contributes nothing from the next
// request on.
func TestVirtualCalendarOverAShare(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		addUsers(t, srv, "carol")
		provision(t, srv, "alice", "bob", "carol")
		putEvent(t, srv, "alice", aliceWork+"budget.ics", budget)
		spec := domain.VCSpec{Name: "team", SharedWith: []string{"user:carol"},
			Definition: domain.VCNode{Union: []domain.VCNode{{Calendar: "default"}, {Calendar: "default", Owner: "alice"}}}}
		if code, body := createVCAs(t, srv, "bob", spec); code == http.StatusCreated {
			t.Fatalf("bob builds a view on a calendar not shared with him: %d %s", code, body)
		}
		shareAs(t, srv, "alice", "default", "user:bob", domain.LevelFreeBusy)
		id := mustCreateVC(t, srv, "bob", spec)
		view := viewPath("carol", id)
		_, body := as(t, srv, "carol", http.MethodGet, view, "")
		if !strings.Contains(body, "DTSTART:20260120T090000Z") || strings.Contains(body, "Budget review") || strings.Contains(body, secretWord) {
			t.Fatalf("carol's view of bob's view of a free-busy share: %s", body)
		}
		shareAs(t, srv, "alice", "default", "user:bob", domain.LevelRead)
		if _, body := as(t, srv, "carol", http.MethodGet, view, ""); !strings.Contains(body, "Budget review") {
			t.Fatalf("after a read share: %s", body)
		}
		unshareAs(t, srv, "alice", "default", "user:bob")
		if _, body := as(t, srv, "carol", http.MethodGet, view, ""); strings.Contains(body, "budget") {
			t.Fatalf("a revoked share still feeds the view: %s", body)
		}
	})
}

// A lock is a write: a reader of a share cannot lock it or anything in it
// (which would keep its owner from writing), a read-write sharee can.
func TestShareLocks(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		provision(t, srv, "alice", "bob")
		putEvent(t, srv, "alice", aliceWork+"budget.ics", budget)
		shareAs(t, srv, "alice", "default", "user:bob", domain.LevelRead)
		lock := `<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>`
		for _, p := range []string{bobsMount, bobsMount + "budget.ics", bobsMount + "new.ics"} {
			if code, body := as(t, srv, "bob", "LOCK", p, lock); code != http.StatusForbidden {
				t.Errorf("a reader locks %s: %d %s", p, code, body)
			}
		}
		putEvent(t, srv, "alice", aliceWork+"budget.ics", budget)
		shareAs(t, srv, "alice", "default", "user:bob", domain.LevelReadWrite)
		if code, body := as(t, srv, "bob", "LOCK", bobsMount+"budget.ics", lock); code != http.StatusOK {
			t.Errorf("a writer locks: %d %s", code, body)
		}
	})
}
