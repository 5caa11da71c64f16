package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/domain"
)

// groupState describes what is stored about a group, read by the system,
// to show that a refused request changed nothing.
func groupState(t *testing.T, svc *domain.Service, name string) string {
	t.Helper()
	ctx := context.Background()
	g, err := svc.Group(ctx, name)
	if err != nil {
		return err.Error()
	}
	ms, err := svc.Members(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	out := fmt.Sprintf("%s %q keep=%t;", g.Name, g.DisplayName, g.KeepPast)
	for _, m := range ms {
		out += fmt.Sprintf(" %s left=%s admin=%t %s;", m.User, m.Left, m.Admin, m.Contributions)
	}
	return out
}

func TestGroupLifecycle(t *testing.T) {
	ts, svc := newServer(t)
	runSteps(t, ts, []step{
		{name: "create", method: "POST", path: "/api/v1/groups", body: `{"name":"club","displayname":"Chess club"}`,
			status: 201, want: []string{`"name":"club"`, `"displayname":"Chess club"`, `"keep_past":false`, `"role":"admin"`,
				`"members":[{"user":"alice","joined":"2026-01-15T12:00:00Z","admin":true}]`, `"contributions":[]`,
				`"url":"/dav/calendars/alice/vc-`}},
		{name: "create twice", user: "bob", method: "POST", path: "/api/v1/groups", body: `{"name":"club"}`, status: 409},
		{name: "bad name", method: "POST", path: "/api/v1/groups", body: `{"name":"a/b"}`, status: 400, want: []string{"group name"}},
		{name: "unknown field", method: "POST", path: "/api/v1/groups", body: `{"name":"x","keep":true}`, status: 400,
			want: []string{"keep"}},
		{name: "listed", method: "GET", path: "/api/v1/groups", status: 200, want: []string{`"name":"club"`, `"role":"admin"`}},
		{name: "one", method: "GET", path: "/api/v1/groups/club", status: 200, want: []string{`"displayname":"Chess club"`}},
		{name: "its calendar", method: "GET", path: "/api/v1/visible", status: 200,
			want: []string{`"owner":"group:club","name":"calendar","displayname":"Chess club"`}},

		{name: "add bob", method: "POST", path: "/api/v1/groups/club/members", body: `{"user":"bob"}`, status: 201,
			want: []string{`"user":"bob"`, `"admin":false`}},
		{name: "add bob twice", method: "POST", path: "/api/v1/groups/club/members", body: `{"user":"bob"}`, status: 409,
			want: []string{"already a member"}},
		{name: "add nobody", method: "POST", path: "/api/v1/groups/club/members", body: `{"user":"nobody"}`, status: 400,
			want: []string{"no such user"}},
		{name: "contributions are not the adder's", method: "POST", path: "/api/v1/groups/club/members",
			body: `{"user":"carol","contributions":[{"calendar":"default","level":"full"}]}`, status: 400},
		{name: "bob is a member", user: "bob", method: "GET", path: "/api/v1/groups", status: 200,
			want: []string{`"role":"member"`, `{"user":"alice","joined":"2026-01-15T12:00:00Z","admin":true}`,
				`{"user":"bob","joined":"2026-01-15T12:00:00Z","admin":false}`, `"url":"/dav/calendars/bob/vc-`}},

		{name: "keep the past", method: "PUT", path: "/api/v1/groups/club", body: `{"keep_past":true}`, status: 200,
			want: []string{`"keep_past":true`, `"displayname":"Chess club"`}},
		{name: "bob sees the policy", user: "bob", method: "GET", path: "/api/v1/groups", status: 200,
			want: []string{`"keep_past":true`}},
		{name: "rename", method: "PUT", path: "/api/v1/groups/club", body: `{"displayname":"Chess & Go"}`, status: 200,
			want: []string{`"keep_past":true`, `"displayname":"Chess \u0026 Go"`}},
		{name: "bob's calendar renamed", user: "bob", method: "GET", path: "/api/v1/visible", status: 200,
			want: []string{`"displayname":"Chess \u0026 Go"`}},
		{name: "rename refused", method: "PUT", path: "/api/v1/groups/club", body: `{"name":"chess"}`, status: 400},

		{name: "make bob admin", method: "PUT", path: "/api/v1/groups/club/members/bob", body: `{"admin":true}`, status: 200,
			want: []string{`"user":"bob"`, `"admin":true`}},
		{name: "admin flag required", method: "PUT", path: "/api/v1/groups/club/members/bob", body: `{}`, status: 400,
			want: []string{`must say \"admin\": true or false`}},
		{name: "not a member", method: "PUT", path: "/api/v1/groups/club/members/carol", body: `{"admin":true}`, status: 404},
		{name: "bob steps down", user: "bob", method: "PUT", path: "/api/v1/groups/club/members/bob", body: `{"admin":false}`,
			status: 200, want: []string{`"admin":false`}},

		// The last administrator stays until they name another.
		{name: "last admin leaves", method: "DELETE", path: "/api/v1/groups/club/members/alice", status: 409,
			want: []string{"alice is the last administrator of club; make another member an administrator first"}},
		{name: "last admin steps down", method: "PUT", path: "/api/v1/groups/club/members/alice", body: `{"admin":false}`,
			status: 409, want: []string{"last administrator"}},

		// A member leaves by themselves; an administrator adds them back.
		{name: "bob leaves", user: "bob", method: "DELETE", path: "/api/v1/groups/club/members/bob", status: 204},
		{name: "gone for bob", user: "bob", method: "GET", path: "/api/v1/groups/club", status: 404},
		{name: "bob's list", user: "bob", method: "GET", path: "/api/v1/groups", status: 200, want: []string{"[]"}},
		{name: "bob cannot come back alone", user: "bob", method: "POST", path: "/api/v1/groups/club/members",
			body: `{"user":"bob"}`, status: 404},
		{name: "leave again", user: "bob", method: "DELETE", path: "/api/v1/groups/club/members/bob", status: 404},
		{name: "bob left", method: "GET", path: "/api/v1/groups/club", status: 200,
			want: []string{`"members":[{"user":"alice"`}, not: []string{`"bob"`}},
		{name: "add bob back", method: "POST", path: "/api/v1/groups/club/members", body: `{"user":"bob","admin":true}`,
			status: 201, want: []string{`"admin":true`}},
		{name: "alice may leave now", method: "DELETE", path: "/api/v1/groups/club/members/alice", status: 204},
		{name: "alice is out", method: "GET", path: "/api/v1/groups/club", status: 404},
		{name: "bob, the last member, leaves", user: "bob", method: "DELETE", path: "/api/v1/groups/club/members/bob",
			status: 204},

		{name: "another", user: "carol", method: "POST", path: "/api/v1/groups", body: `{"name":"book","keep_past":true}`,
			status: 201, want: []string{`"keep_past":true`, `"displayname":"book"`}},
		{name: "delete", user: "carol", method: "DELETE", path: "/api/v1/groups/book", status: 204},
		{name: "deleted", user: "carol", method: "GET", path: "/api/v1/groups/book", status: 404},
		{name: "wrong method", method: "PATCH", path: "/api/v1/groups/book", status: 405, want: []string{"DELETE, GET, PUT"}},
		{name: "wrong method on members", method: "GET", path: "/api/v1/groups/book/members", status: 405},
	})
	if got := groupState(t, svc, "club"); !strings.Contains(got, "club \"Chess & Go\" keep=true;") ||
		strings.Contains(got, "left=0001") {
		t.Errorf("club at the end: %s", got)
	}
}

// Every group endpoint, tried by someone who may not: a user who is not a
// member (as if the group did not exist), a member who is not an
// administrator (forbidden), and an anonymous client.
func TestGroupEndpointsRefuseOthers(t *testing.T) {
	ts, svc := newServer(t)
	ctx := context.Background()
	if err := svc.CreateUser(ctx, "dave", "dave-password", ""); err != nil {
		t.Fatal(err)
	}
	if status, body := do(t, ts, "alice", "POST", "/api/v1/groups", `{"name":"club"}`); status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, body)
	}
	if status, body := do(t, ts, "alice", "POST", "/api/v1/groups/club/members", `{"user":"bob"}`); status != http.StatusCreated {
		t.Fatalf("add bob: %d %s", status, body)
	}
	calls := []struct {
		method, path, body string
		memberMay          bool
	}{
		{"GET", "/api/v1/groups/club", "", true},
		{"PUT", "/api/v1/groups/club", `{"displayname":"Mine","keep_past":true}`, false},
		{"DELETE", "/api/v1/groups/club", "", false},
		{"POST", "/api/v1/groups/club/members", `{"user":"dave"}`, false},
		{"POST", "/api/v1/groups/club/members", `{"user":"carol","admin":true}`, false},
		{"PUT", "/api/v1/groups/club/members/bob", `{"admin":true}`, false},
		{"PUT", "/api/v1/groups/club/members/alice", `{"admin":false}`, false},
		{"DELETE", "/api/v1/groups/club/members/alice", "", false},
		{"PUT", "/api/v1/groups/club/contribution", `[]`, true},
	}
	before := groupState(t, svc, "club")
	for _, c := range calls {
		// carol, who is not a member, is answered as for a missing group.
		status, body := do(t, ts, "carol", c.method, c.path, c.body)
		_, missing := do(t, ts, "carol", c.method, strings.Replace(c.path, "/club", "/nope", 1), c.body)
		if status != http.StatusNotFound || strings.ReplaceAll(body, "club", "nope") != missing {
			t.Errorf("carol %s %s: %d %s; want 404 as for a missing group (%s)", c.method, c.path, status, body, missing)
		}
		if status, body := do(t, ts, "", c.method, c.path, c.body); status != http.StatusUnauthorized {
			t.Errorf("anonymous %s %s: %d %s", c.method, c.path, status, body)
		}
		if c.memberMay {
			continue
		}
		if status, body := do(t, ts, "bob", c.method, c.path, c.body); status != http.StatusForbidden ||
			!strings.Contains(body, "only administrators of club") {
			t.Errorf("bob %s %s: %d %s; want 403", c.method, c.path, status, body)
		}
	}
	if status, body := do(t, ts, "carol", "GET", "/api/v1/groups", ""); status != http.StatusOK || body != "[]\n" {
		t.Errorf("carol's groups: %d %s", status, body)
	}
	if status, _ := do(t, ts, "", "POST", "/api/v1/groups", `{"name":"anon"}`); status != http.StatusUnauthorized {
		t.Errorf("anonymous create: %d", status)
	}
	if after := groupState(t, svc, "club"); after != before {
		t.Errorf("refused requests changed the group:\n%s\n%s", before, after)
	}
	if _, err := svc.Group(ctx, "anon"); err == nil {
		t.Error("an anonymous client created a group")
	}
	// bob may still leave, by himself.
	if status, body := do(t, ts, "bob", "DELETE", "/api/v1/groups/club/members/bob", ""); status != http.StatusNoContent {
		t.Errorf("bob leaves: %d %s", status, body)
	}
}

// Before groups were run by their members, any user could add themselves
// to any group and so read its calendar.
func TestCannotJoinAGroupByOneself(t *testing.T) {
	ts, svc := newServer(t)
	if err := svc.CreateGroup(context.Background(), "team", "Team", false, "alice"); err != nil {
		t.Fatal(err)
	}
	runSteps(t, ts, []step{
		{name: "carol joins", user: "carol", method: "POST", path: "/api/v1/groups/team/members", body: `{"user":"carol"}`,
			status: 404},
		{name: "carol's groups", user: "carol", method: "GET", path: "/api/v1/groups", status: 200, want: []string{"[]"}},
		{name: "carol's calendars", user: "carol", method: "GET", path: "/api/v1/visible", status: 200,
			not: []string{"group:team"}},
	})
}
