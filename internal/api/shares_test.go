package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
)

// defaultID is the ID of user's default calendar.
func defaultID(t *testing.T, svc *domain.Service, user string) int64 {
	t.Helper()
	c, err := svc.Collection(context.Background(), user, domain.DefaultCalendarName)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// sharingState describes, as the system reads it, everything about
// alice's sharing: grants on her default calendar, her own name for it,
// her delegates and public links, and bob's settings of her calendar.
func sharingState(t *testing.T, svc *domain.Service) string {
	t.Helper()
	ctx := context.Background()
	c, err := svc.Collection(ctx, "alice", domain.DefaultCalendarName)
	if err != nil {
		t.Fatal(err)
	}
	grants, err := svc.Grants(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	out := fmt.Sprintf("name %q;", c.DisplayName)
	for _, g := range grants {
		out += fmt.Sprintf(" grant %s=%s;", g.Grantee, g.Level)
	}
	ds, err := svc.Delegates(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		out += fmt.Sprintf(" delegate %s write=%t;", d.Delegate, d.Write)
	}
	links, err := svc.PublicLinks(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		out += " link " + l.Token + ";"
	}
	shares, err := svc.SharedWith(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range shares {
		out += fmt.Sprintf(" bob sees %s/%s as %q hidden=%t;", sh.Coll.Owner, sh.Coll.Name, sh.DisplayName(), sh.Hidden())
	}
	return out
}

// tokenOf reads the token of a link from the API's answer.
func tokenOf(t *testing.T, body string) string {
	t.Helper()
	var l struct {
		Token string `json:"token"`
		Path  string `json:"path"`
	}
	if err := json.Unmarshal([]byte(body), &l); err != nil || l.Token == "" || l.Path != "/public/"+l.Token+".ics" {
		t.Fatalf("no link in %s (%v)", body, err)
	}
	return l.Token
}

func TestSharingLifecycle(t *testing.T) {
	ts, svc := newServer(t)
	ctx := context.Background()
	if err := svc.CreateGroup(ctx, "family", "Family", false, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := svc.AddMember(ctx, "family", "bob", nil); err != nil {
		t.Fatal(err)
	}
	if err := svc.CreateCollection(ctx, &store.Collection{Owner: "alice", Name: "people", Kind: store.KindAddressBook}, nil); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprint(defaultID(t, svc, "alice"))
	shared := "/api/v1/shared/" + id
	runSteps(t, ts, []step{
		{name: "grant", method: "PUT", path: "/api/v1/collections/default/grants/user:bob", body: `{"level":"read"}`,
			status: 200, want: []string{`"grantee":"user:bob"`, `"level":"read"`, `"created":"2026-01-15T12:00:00Z"`}},
		{name: "grants", method: "GET", path: "/api/v1/collections/default/grants", status: 200,
			want: []string{`[{"grantee":"user:bob","level":"read"`}},
		{name: "shared with bob", user: "bob", method: "GET", path: "/api/v1/shared", status: 200,
			want: []string{`"id":` + id, `"owner":"alice"`, `"name":"default"`, `"kind":"calendar"`, `"level":"read"`,
				`"delegated":false`, `"url":"/dav/calendars/bob/default_shared_by_alice/"`, `"displayname":"Calendar"`}},
		{name: "nothing shared with carol", user: "carol", method: "GET", path: "/api/v1/shared", status: 200, want: []string{"[]"}},
		{name: "bob names it", user: "bob", method: "PATCH", path: shared, body: `{"displayname":"Alice's","color":"#FF0000FF","order":3}`,
			status: 200, want: []string{`"displayname":"Alice's"`, `"color":"#FF0000FF"`, `"order":3`, `"hidden":false`}},
		{name: "bob hides it, keeping his name", user: "bob", method: "PATCH", path: shared, body: `{"hidden":true}`,
			status: 200, want: []string{`"displayname":"Alice's"`, `"hidden":true`}},
		{name: "bob's name is his", user: "bob", method: "GET", path: shared, status: 200, want: []string{`"displayname":"Alice's"`}},
		{name: "a name too long", user: "bob", method: "PATCH", path: shared, body: `{"displayname":"` + strings.Repeat("x", 300) + `"}`,
			status: 400, want: []string{"displayname"}},
		{name: "a setting unknown", user: "bob", method: "PATCH", path: shared, body: `{"level":"admin"}`, status: 400},

		{name: "grant the family", method: "PUT", path: "/api/v1/collections/default/grants/group:family", body: `{"level":"free-busy"}`,
			status: 200},
		{name: "bob gives up his grant", user: "bob", method: "DELETE", path: shared, status: 204},
		{name: "the family's remains", method: "GET", path: "/api/v1/collections/default/grants", status: 200,
			want: []string{"group:family"}, not: []string{"user:bob"}},
		{name: "bob still sees it through the family", user: "bob", method: "GET", path: shared, status: 200,
			want: []string{`"level":"free-busy"`}},
		{name: "bob unhides it", user: "bob", method: "PATCH", path: shared, body: `{"hidden":false}`, status: 200, want: []string{`"hidden":false`}},
		{name: "which he cannot give up by name: it is hidden", user: "bob", method: "DELETE", path: shared, status: 204},
		{name: "hidden, still shared", user: "bob", method: "GET", path: shared, status: 200, want: []string{`"hidden":true`, `"level":"free-busy"`}},
		{name: "revoke", method: "DELETE", path: "/api/v1/collections/default/grants/group:family", status: 204},
		{name: "revoke again", method: "DELETE", path: "/api/v1/collections/default/grants/group:family", status: 404},
		{name: "gone for bob", user: "bob", method: "GET", path: shared, status: 404},

		{name: "level unknown", method: "PUT", path: "/api/v1/collections/default/grants/user:bob", body: `{"level":"owner"}`,
			status: 400, want: []string{`"field":"level"`}},
		{name: "grantee malformed", method: "PUT", path: "/api/v1/collections/default/grants/bob", body: `{"level":"read"}`,
			status: 400, want: []string{`"field":"grantee"`}},
		{name: "grantee unknown", method: "PUT", path: "/api/v1/collections/default/grants/user:nobody", body: `{"level":"read"}`,
			status: 400, want: []string{`"field":"grantee"`, "no user"}},
		{name: "group unknown", method: "PUT", path: "/api/v1/collections/default/grants/group:nope", body: `{"level":"read"}`,
			status: 400, want: []string{`"field":"grantee"`}},
		{name: "grantee the owner", method: "PUT", path: "/api/v1/collections/default/grants/user:alice", body: `{"level":"read"}`,
			status: 409, want: []string{`"field":"grantee"`}},
		{name: "free-busy of contacts", method: "PUT", path: "/api/v1/collections/people/grants/*", body: `{"level":"free-busy"}`,
			status: 400, want: []string{`"field":"level"`}},
		{name: "contacts to everyone", method: "PUT", path: "/api/v1/collections/people/grants/*", body: `{"level":"read"}`,
			status: 200, want: []string{`"grantee":"*"`}},
		{name: "no such collection", method: "PUT", path: "/api/v1/collections/nope/grants/user:bob", body: `{"level":"read"}`,
			status: 404},
		{name: "method", method: "POST", path: "/api/v1/collections/default/grants", status: 405},

		{name: "bob made admin", method: "PUT", path: "/api/v1/collections/default/grants/user:bob", body: `{"level":"admin"}`, status: 200},
		{name: "the admin shares on", user: "bob", method: "PUT", path: shared + "/grants/user:carol", body: `{"level":"read-write"}`,
			status: 200},
		{name: "but not admin", user: "bob", method: "PUT", path: shared + "/grants/user:carol", body: `{"level":"admin"}`,
			status: 403, want: []string{`"privilege":"all"`}},
		{name: "the admin lists grants", user: "bob", method: "GET", path: shared + "/grants", status: 200,
			want: []string{"user:bob", "user:carol"}},
		{name: "carol, read-write, may not", user: "carol", method: "GET", path: shared + "/grants", status: 403,
			want: []string{`"privilege":"share"`}},

		{name: "delegate", method: "PUT", path: "/api/v1/delegates/bob", body: `{"write":true}`, status: 200,
			want: []string{`"delegate":"bob"`, `"write":true`}},
		{name: "delegate reading", method: "PUT", path: "/api/v1/delegates/carol", body: `{}`, status: 200,
			want: []string{`"delegate":"carol"`, `"write":false`}},
		{name: "delegates", method: "GET", path: "/api/v1/delegates", status: 200,
			want: []string{`{"delegate":"bob","write":true`, `{"delegate":"carol","write":false`}},
		{name: "bob's delegators' calendars", user: "bob", method: "GET", path: shared, status: 200,
			want: []string{`"level":"admin"`, `"delegated":true`}},
		{name: "oneself", method: "PUT", path: "/api/v1/delegates/alice", body: `{}`, status: 409, want: []string{`"field":"delegate"`}},
		{name: "nobody", method: "PUT", path: "/api/v1/delegates/nobody", body: `{}`, status: 400, want: []string{`"field":"delegate"`}},
		{name: "undelegate", method: "DELETE", path: "/api/v1/delegates/carol", status: 204},
		{name: "undelegate again", method: "DELETE", path: "/api/v1/delegates/carol", status: 404},
		{name: "bob's delegates are his", user: "bob", method: "GET", path: "/api/v1/delegates", status: 200, want: []string{"[]"}},

		{name: "no links yet", method: "GET", path: "/api/v1/links", status: 200, want: []string{"[]"}},
		{name: "contacts are not published", method: "POST", path: "/api/v1/collections/people/links", status: 400,
			want: []string{`"field":"collection"`}},
		{name: "no such view", method: "POST", path: "/api/v1/vcs/nope/links", status: 404},
	})

	status, body := do(t, ts, "alice", "POST", "/api/v1/collections/default/links", "")
	if status != http.StatusCreated || !strings.Contains(body, `"calendar":"default"`) || !strings.Contains(body, `"owner":"alice"`) {
		t.Fatalf("publish: %d %s", status, body)
	}
	own := tokenOf(t, body)
	status, body = do(t, ts, "bob", "POST", shared+"/links", "")
	if status != http.StatusCreated || !strings.Contains(body, `"owner":"alice"`) {
		t.Fatalf("the admin publishes: %d %s", status, body)
	}
	byAdmin := tokenOf(t, body)
	if status, body := do(t, ts, "alice", "POST", "/api/v1/vcs", friends); status != http.StatusCreated {
		t.Fatalf("create view: %d %s", status, body)
	}
	status, body = do(t, ts, "alice", "POST", "/api/v1/vcs/friends/links", "")
	if status != http.StatusCreated || !strings.Contains(body, `"vc":"friends"`) || strings.Contains(body, `"calendar"`) {
		t.Fatalf("publish the view: %d %s", status, body)
	}
	view := tokenOf(t, body)
	runSteps(t, ts, []step{
		{name: "alice's links, her admin's included", method: "GET", path: "/api/v1/links", status: 200, want: []string{own, byAdmin, view}},
		{name: "the calendar's", method: "GET", path: "/api/v1/collections/default/links", status: 200,
			want: []string{own, byAdmin}, not: []string{view}},
		{name: "the view's", method: "GET", path: "/api/v1/vcs/friends/links", status: 200, want: []string{view}, not: []string{own}},
		{name: "the admin's", user: "bob", method: "GET", path: shared + "/links", status: 200, want: []string{own, byAdmin}, not: []string{view}},
		{name: "bob has none of his own", user: "bob", method: "GET", path: "/api/v1/links", status: 200, want: []string{"[]"}},
		{name: "the admin revokes alice's", user: "bob", method: "DELETE", path: "/api/v1/links/" + own, status: 204},
		{name: "revoked", method: "DELETE", path: "/api/v1/links/" + own, status: 404},
		{name: "the view's link is alice's alone", user: "bob", method: "DELETE", path: "/api/v1/links/" + view, status: 404},
		{name: "alice revokes it", method: "DELETE", path: "/api/v1/links/" + view, status: 204},
		{name: "left", method: "GET", path: "/api/v1/links", status: 200, want: []string{byAdmin}, not: []string{own, view}},
	})
}

// Another user, a sharee with less access and an anonymous client get
// nothing of alice's sharing and change nothing of it.
func TestSharingRefusesOthers(t *testing.T) {
	ts, svc := newServer(t)
	id := fmt.Sprint(defaultID(t, svc, "alice"))
	missing := fmt.Sprint(defaultID(t, svc, "carol") + 1000)
	for _, s := range []struct{ path, body string }{
		{"/api/v1/collections/default/grants/user:bob", `{"level":"read"}`},
		{"/api/v1/delegates/bob", `{}`},
	} {
		if status, body := do(t, ts, "alice", "PUT", s.path, s.body); status != http.StatusOK {
			t.Fatalf("PUT %s: %d %s", s.path, status, body)
		}
	}
	status, body := do(t, ts, "alice", "POST", "/api/v1/collections/default/links", "")
	if status != http.StatusCreated {
		t.Fatalf("publish: %d %s", status, body)
	}
	token := tokenOf(t, body)

	calls := []struct {
		method, path, body string
		// bob, who reads alice's calendar, may read and change his own
		// view of it, and is refused the rest.
		bobMay bool
	}{
		{"GET", "/api/v1/shared/" + id, "", true},
		{"PATCH", "/api/v1/shared/" + id, `{"displayname":"Mine"}`, true},
		{"GET", "/api/v1/shared/" + id + "/grants", "", false},
		{"PUT", "/api/v1/shared/" + id + "/grants/user:carol", `{"level":"read"}`, false},
		{"PUT", "/api/v1/shared/" + id + "/grants/*", `{"level":"read"}`, false},
		{"DELETE", "/api/v1/shared/" + id + "/grants/*", "", false},
		{"GET", "/api/v1/shared/" + id + "/links", "", false},
		{"POST", "/api/v1/shared/" + id + "/links", "", false},
		{"DELETE", "/api/v1/links/" + token, "", false},
	}
	before := sharingState(t, svc)
	for _, c := range calls {
		// carol, with no access, is answered as for a collection that
		// does not exist.
		status, body := do(t, ts, "carol", c.method, c.path, c.body)
		if status != http.StatusNotFound || strings.Contains(body, "alice") {
			t.Errorf("carol %s %s: %d %s; want 404 naming nobody", c.method, c.path, status, body)
		}
		if status, _ := do(t, ts, "carol", c.method, strings.Replace(c.path, "/"+id, "/"+missing, 1), c.body); status != http.StatusNotFound {
			t.Errorf("carol %s %s of a missing collection: %d", c.method, c.path, status)
		}
		if status, body := do(t, ts, "", c.method, c.path, c.body); status != http.StatusUnauthorized {
			t.Errorf("anonymous %s %s: %d %s", c.method, c.path, status, body)
		}
		if c.bobMay {
			if status, body := do(t, ts, "bob", c.method, c.path, c.body); status != http.StatusOK || strings.Contains(body, "grant") {
				t.Errorf("bob %s %s: %d %s; want 200 with his own view only", c.method, c.path, status, body)
			}
			continue
		}
		if status, body := do(t, ts, "bob", c.method, c.path, c.body); status != http.StatusForbidden ||
			!strings.Contains(body, `"privilege":"share"`) {
			t.Errorf("bob %s %s: %d %s; want 403 for want of the share privilege", c.method, c.path, status, body)
		}
	}
	// Their own lists hold nothing of alice's.
	for _, u := range []string{"bob", "carol"} {
		for _, p := range []string{"/api/v1/links", "/api/v1/delegates"} {
			if status, body := do(t, ts, u, "GET", p, ""); status != http.StatusOK || body != "[]\n" {
				t.Errorf("%s GET %s: %d %s", u, p, status, body)
			}
		}
		// A name in their own home is theirs: carol's "default" is not
		// alice's.
		if status, body := do(t, ts, u, "GET", "/api/v1/collections/default/grants", ""); status != http.StatusOK || body != "[]\n" {
			t.Errorf("%s's own grants: %d %s", u, status, body)
		}
	}
	for _, p := range []string{"/api/v1/shared", "/api/v1/links", "/api/v1/delegates", "/api/v1/collections/default/grants"} {
		if status, _ := do(t, ts, "", "GET", p, ""); status != http.StatusUnauthorized {
			t.Errorf("anonymous GET %s: %d", p, status)
		}
	}
	// bob's PATCH changed his own name for the calendar, nothing of
	// alice's.
	after := sharingState(t, svc)
	if want := strings.Replace(before, `as "Calendar"`, `as "Mine"`, 1); after != want {
		t.Errorf("refused requests changed alice's sharing:\n%s\n%s", want, after)
	}
}

// The error answers of the sharing endpoints are JSON with the field at
// fault; do checks every error answer is {"error": ...}.
func TestSharingErrorsNameTheField(t *testing.T) {
	ts, _ := newServer(t)
	status, body := do(t, ts, "alice", "PUT", "/api/v1/collections/default/grants/user:bob", `{"level":"sometimes"}`)
	var e struct {
		Error, Field string
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || status != http.StatusBadRequest || e.Field != "level" ||
		!strings.Contains(e.Error, "sometimes") {
		t.Errorf("bad level: %d %s", status, body)
	}
}
