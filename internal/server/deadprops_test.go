package server

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/domain"
)

// TestDeadPropertiesFollowTheirResources sets a dead property on every kind
// of resource that keeps them and checks that it stays with its resource
// through COPY and MOVE, and goes with it on DELETE and with its user: a
// collection, object or virtual calendar made later, whatever ID the store
// gives it, starts without any.
func TestDeadPropertiesFollowTheirResources(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testDeadPropertiesFollowTheirResources(t, newTestServerOn(t, b)) })
	}
}

func testDeadPropertiesFollowTheirResources(t *testing.T, srv *Server) {
	ctx := context.Background()
	must := func(r reply, codes ...int) {
		t.Helper()
		for _, c := range codes {
			if r.code == c {
				return
			}
		}
		t.Fatalf("%d %s", r.code, r.body)
	}
	set := func(user, path, value string) {
		t.Helper()
		must(send(srv, user, "PROPPATCH", path, `<D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:example:x"><D:set><D:prop>`+
			`<X:note>`+value+`</X:note></D:prop></D:set></D:propertyupdate>`), http.StatusMultiStatus)
	}
	// has reports the note's value at path, "" when it has none.
	has := func(user, path string) string {
		t.Helper()
		r := send(srv, user, "PROPFIND", path, `<D:propfind xmlns:D="DAV:"><D:prop><X:note xmlns:X="urn:example:x"/></D:prop></D:propfind>`,
			"Depth", "0")
		must(r, http.StatusMultiStatus)
		if strings.Contains(r.body, "404 Not Found") {
			return ""
		}
		_, rest, _ := strings.Cut(r.body, `<note xmlns="urn:example:x">`)
		value, _, _ := strings.Cut(rest, "<")
		return value
	}
	expect := func(user, path, want string) {
		t.Helper()
		if got := has(user, path); got != want {
			t.Errorf("note of %s = %q, want %q", path, got, want)
		}
	}
	put := func(path string) {
		t.Helper()
		must(send(srv, "alice", http.MethodPut, path, "text of "+path, "Content-Type", "text/plain"), http.StatusCreated, http.StatusNoContent)
	}

	must(send(srv, "alice", "MKCOL", "/dav/calendars/alice/notes/", ""), http.StatusCreated)
	must(send(srv, "alice", "MKCOL", "/dav/calendars/alice/notes/sub/", ""), http.StatusCreated)
	put("/dav/calendars/alice/notes/sub/f.txt")
	must(send(srv, "alice", http.MethodPut, "/dav/calendars/alice/default/e.ics", event("e", "E"), "Content-Type", "text/calendar"),
		http.StatusCreated)
	vc, err := srv.Service().CreateVC(domain.WithPrincipal(ctx, "alice"), "alice", domain.VCSpec{
		Name: "mine", SharedWith: []string{"user:bob"}, Definition: domain.VCNode{Calendar: "default"}})
	if err != nil {
		t.Fatal(err)
	}
	bobsView := "/dav/calendars/bob/vc-" + itoa(vc.ID) + "/"
	for path, value := range map[string]string{
		"/dav/principals/alice/":               "principal",
		"/dav/calendars/alice/":                "home",
		"/dav/addressbooks/alice/":             "book home",
		"/dav/addressbooks/alice/contacts/":    "contacts",
		"/dav/calendars/alice/default/":        "calendar",
		"/dav/calendars/alice/default/e.ics":   "event",
		"/dav/calendars/alice/notes/":          "notes",
		"/dav/calendars/alice/notes/sub/":      "sub",
		"/dav/calendars/alice/notes/sub/f.txt": "file",
	} {
		set("alice", path, value)
		expect("alice", path, value)
	}
	set("bob", bobsView, "view of bob")
	expect("bob", bobsView, "view of bob")

	// A moved collection keeps its properties and its members' ones; a
	// copy has them too.
	must(send(srv, "alice", "MOVE", "/dav/calendars/alice/notes/", "", "Destination", "/dav/calendars/alice/archive/"), http.StatusCreated)
	expect("alice", "/dav/calendars/alice/archive/", "notes")
	expect("alice", "/dav/calendars/alice/archive/sub/", "sub")
	expect("alice", "/dav/calendars/alice/archive/sub/f.txt", "file")
	must(send(srv, "alice", "COPY", "/dav/calendars/alice/archive/", "", "Destination", "/dav/calendars/alice/copy/"), http.StatusCreated)
	expect("alice", "/dav/calendars/alice/copy/", "notes")
	expect("alice", "/dav/calendars/alice/copy/sub/", "sub")
	expect("alice", "/dav/calendars/alice/copy/sub/f.txt", "file")
	set("alice", "/dav/calendars/alice/copy/sub/f.txt", "copied file")
	expect("alice", "/dav/calendars/alice/archive/sub/f.txt", "file")

	// So do objects, and a moved one leaves nothing behind.
	must(send(srv, "alice", "COPY", "/dav/calendars/alice/archive/sub/f.txt", "", "Destination", "/dav/calendars/alice/archive/g.txt"),
		http.StatusCreated)
	expect("alice", "/dav/calendars/alice/archive/g.txt", "file")
	must(send(srv, "alice", "MOVE", "/dav/calendars/alice/default/e.ics", "", "Destination", "/dav/calendars/alice/default/moved.ics"),
		http.StatusCreated)
	expect("alice", "/dav/calendars/alice/default/moved.ics", "event")
	must(send(srv, "alice", http.MethodPut, "/dav/calendars/alice/default/e.ics", event("e2", "E2"), "Content-Type", "text/calendar"),
		http.StatusCreated)
	expect("alice", "/dav/calendars/alice/default/e.ics", "")

	// What is deleted and made again starts bare.
	must(send(srv, "alice", http.MethodDelete, "/dav/calendars/alice/archive/g.txt", ""), http.StatusNoContent)
	put("/dav/calendars/alice/archive/g.txt")
	expect("alice", "/dav/calendars/alice/archive/g.txt", "")
	must(send(srv, "alice", http.MethodDelete, "/dav/calendars/alice/copy/", ""), http.StatusNoContent)
	must(send(srv, "alice", "MKCOL", "/dav/calendars/alice/copy/", ""), http.StatusCreated)
	must(send(srv, "alice", "MKCOL", "/dav/calendars/alice/copy/sub/", ""), http.StatusCreated)
	put("/dav/calendars/alice/copy/sub/f.txt")
	expect("alice", "/dav/calendars/alice/copy/", "")
	expect("alice", "/dav/calendars/alice/copy/sub/", "")
	expect("alice", "/dav/calendars/alice/copy/sub/f.txt", "")

	// So does a user deleted, purged from the trash and made again, and whatever of theirs a
	// view of another user showed.
	if err := srv.Service().DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Service().PurgeTrash(ctx, "alice", 0); err != nil {
		t.Fatal(err)
	}
	if err := srv.Service().CreateUser(ctx, "alice", "alice-password", ""); err != nil {
		t.Fatal(err)
	}
	must(send(srv, "alice", "MKCOL", "/dav/calendars/alice/notes/", ""), http.StatusCreated)
	again, err := srv.Service().CreateVC(domain.WithPrincipal(ctx, "alice"), "alice", domain.VCSpec{
		Name: "mine", SharedWith: []string{"user:bob"}, Definition: domain.VCNode{Calendar: "default"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/dav/principals/alice/", "/dav/calendars/alice/", "/dav/addressbooks/alice/",
		"/dav/addressbooks/alice/contacts/", "/dav/calendars/alice/default/", "/dav/calendars/alice/notes/"} {
		expect("alice", path, "")
	}
	expect("bob", "/dav/calendars/bob/vc-"+itoa(again.ID)+"/", "")
}
