package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
)

// get sends GET as user with extra headers and returns the response and
// its body.
func get(t *testing.T, ts *httptest.Server, user, path string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, user+"-password")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestCollectionsLifecycle(t *testing.T) {
	ts, _ := newServer(t)
	putEvent(t, ts, "dentist", "Dentist", "root canal", "20260115T100000Z", "20260115T110000Z")
	runSteps(t, ts, []step{
		{name: "list", method: "GET", path: "/api/v1/collections", status: 200,
			want: []string{`"name":"default"`, `"kind":"calendar"`, `"components":["VEVENT","VTODO"]`, `"objects":1`,
				`"name":"contacts"`, `"kind":"addressbook"`}},
		{name: "create", method: "POST", path: "/api/v1/collections", status: 201,
			body: `{"name":"holidays","kind":"calendar","displayname":"Holidays","color":"#FF8800","description":"days off",
				"components":["vevent"],"timezone":"Asia/Tokyo"}`,
			want: []string{`"name":"holidays"`, `"displayname":"Holidays"`, `"color":"#FF8800"`, `"description":"days off"`,
				`"components":["VEVENT"]`, `"timezone":"Asia/Tokyo"`, `"objects":0`}},
		{name: "create twice", method: "POST", path: "/api/v1/collections", status: 409,
			body: `{"name":"holidays","kind":"calendar"}`, want: []string{"already have a collection named holidays"}},
		{name: "create bad kind", method: "POST", path: "/api/v1/collections", status: 400,
			body: `{"name":"x","kind":"plain"}`, want: []string{`"field":"kind"`}},
		{name: "create bad components", method: "POST", path: "/api/v1/collections", status: 400,
			body: `{"name":"x","kind":"calendar","components":["VCARD"]}`, want: []string{`"field":"components"`}},
		{name: "create book with components", method: "POST", path: "/api/v1/collections", status: 400,
			body: `{"name":"x","kind":"addressbook","components":["VEVENT"]}`, want: []string{`"field":"components"`}},
		{name: "create bad zone", method: "POST", path: "/api/v1/collections", status: 400,
			body: `{"name":"x","kind":"calendar","timezone":"JST"}`, want: []string{`"field":"timezone"`, "IANA"}},
		{name: "create bad colour", method: "POST", path: "/api/v1/collections", status: 400,
			body: `{"name":"x","kind":"calendar","color":"red"}`, want: []string{`"field":"color"`}},
		{name: "create bad name", method: "POST", path: "/api/v1/collections", status: 400,
			body: `{"name":"../x","kind":"calendar"}`, want: []string{"invalid name"}},
		{name: "create reserved name", method: "POST", path: "/api/v1/collections", status: 400,
			body: `{"name":"directory","kind":"addressbook"}`, want: []string{"reserved"}},
		{name: "create unknown field", method: "POST", path: "/api/v1/collections", status: 400,
			body: `{"name":"x","kind":"calendar","colour":"#000000"}`, want: []string{"malformed JSON"}},
		{name: "get", method: "GET", path: "/api/v1/collections/holidays", status: 200, want: []string{`"timezone":"Asia/Tokyo"`}},
		{name: "get missing", method: "GET", path: "/api/v1/collections/nope", status: 404},
		{name: "patch", method: "PATCH", path: "/api/v1/collections/holidays", status: 200,
			body: `{"displayname":"Japan","timezone":"Europe/Berlin"}`,
			want: []string{`"displayname":"Japan"`, `"timezone":"Europe/Berlin"`, `"color":"#FF8800"`, `"description":"days off"`}},
		{name: "patch kept", method: "GET", path: "/api/v1/collections/holidays", status: 200,
			want: []string{`"displayname":"Japan"`, `"components":["VEVENT"]`}},
		{name: "patch rename", method: "PATCH", path: "/api/v1/collections/holidays", status: 400,
			body: `{"name":"other"}`, want: []string{"cannot be changed"}},
		{name: "patch bad colour", method: "PATCH", path: "/api/v1/collections/holidays", status: 400,
			body: `{"color":"#1"}`, want: []string{`"field":"color"`}},
		{name: "patch book zone", method: "PATCH", path: "/api/v1/collections/contacts", status: 400,
			body: `{"timezone":"UTC"}`, want: []string{`"field":"timezone"`}},
		{name: "patch drops a held component", method: "PATCH", path: "/api/v1/collections/default", status: 409,
			body: `{"components":["VTODO"]}`, want: []string{`"field":"components"`, "1 VEVENT objects"}},
		{name: "patch missing", method: "PATCH", path: "/api/v1/collections/nope", status: 404, body: `{"displayname":"x"}`},
		{name: "method", method: "PUT", path: "/api/v1/collections/holidays", status: 405, body: `{}`},
		{name: "delete", method: "DELETE", path: "/api/v1/collections/holidays", status: 204},
		{name: "gone", method: "GET", path: "/api/v1/collections/holidays", status: 404},
		{name: "delete again", method: "DELETE", path: "/api/v1/collections/holidays", status: 404},
	})
}

func TestCollectionExport(t *testing.T) {
	ts, _ := newServer(t)
	putEvent(t, ts, "dentist", "Dentist", "root canal", "20260115T100000Z", "20260115T110000Z")
	resp, body := get(t, ts, "alice", "/api/v1/collections/default/export")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/calendar; charset=utf-8" ||
		!strings.Contains(body, "SUMMARY:Dentist") || !strings.HasPrefix(body, "BEGIN:VCALENDAR\r\n") {
		t.Fatalf("export: %d %v\n%s", resp.StatusCode, resp.Header, body)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != "attachment; filename=Calendar.ics" {
		t.Errorf("Content-Disposition %q", cd)
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if resp, body := get(t, ts, "alice", "/api/v1/collections/default/export", "If-None-Match", etag); resp.StatusCode != 304 || body != "" {
		t.Errorf("If-None-Match: %d %q", resp.StatusCode, body)
	}
	putEvent(t, ts, "dinner", "Dinner", "at Sato", "20260115T190000Z", "20260115T200000Z")
	resp, body = get(t, ts, "alice", "/api/v1/collections/default/export", "If-None-Match", etag)
	if resp.StatusCode != 200 || resp.Header.Get("ETag") == etag || !strings.Contains(body, "SUMMARY:Dinner") {
		t.Errorf("after a change: %d %s\n%s", resp.StatusCode, resp.Header.Get("ETag"), body)
	}

	card := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:ken\r\nFN:Ken Sato\r\nN:Sato;Ken;;;\r\nEND:VCARD\r\n"
	req, _ := http.NewRequest("PUT", ts.URL+"/dav/addressbooks/alice/contacts/ken.vcf", strings.NewReader(card))
	req.SetBasicAuth("alice", "alice-password")
	req.Header.Set("Content-Type", "text/vcard")
	if r, err := ts.Client().Do(req); err != nil || r.StatusCode != http.StatusCreated {
		t.Fatalf("PUT card: %v %v", r, err)
	}
	resp, body = get(t, ts, "alice", "/api/v1/collections/contacts/export")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/vcard; charset=utf-8" || body != card ||
		resp.Header.Get("Content-Disposition") != "attachment; filename=Contacts.vcf" {
		t.Errorf("address book export: %d %v\n%q", resp.StatusCode, resp.Header, body)
	}
}

// TestCollectionsRefuseOthers: another user, a sharee with less access
// and an anonymous client get nothing of alice's collections and change
// nothing; sharees export what their level shows.
func TestCollectionsRefuseOthers(t *testing.T) {
	ts, svc := newServer(t)
	putEvent(t, ts, "dentist", "Dentist", "root canal", "20260115T100000Z", "20260115T110000Z")
	for _, g := range []struct{ grantee, level string }{{"user:bob", "read"}, {"user:carol", "free-busy"}} {
		if status, body := do(t, ts, "alice", "PUT", "/api/v1/collections/default/grants/"+g.grantee, `{"level":"`+g.level+`"}`); status != 200 {
			t.Fatalf("share: %d %s", status, body)
		}
	}
	if status, body := do(t, ts, "alice", "POST", "/api/v1/vcs", friends); status != 201 {
		t.Fatalf("vc: %d %s", status, body)
	}
	id := fmt.Sprint(defaultID(t, svc, "alice"))
	vc, _, err := svc.VC(context.Background(), "alice", "friends")
	if err != nil {
		t.Fatal(err)
	}
	vcID := fmt.Sprint(vc.ID)

	for _, body := range []string{`{"name":"holidays","kind":"calendar"}`, `{"name":"work","kind":"addressbook"}`} {
		if status, resp := do(t, ts, "alice", "POST", "/api/v1/collections", body); status != 201 {
			t.Fatalf("create: %d %s", status, resp)
		}
	}
	before := collectionsState(t, svc)
	contacts, err := svc.Collection(context.Background(), "alice", "contacts")
	if err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"bob", "carol", ""} {
		// Names are looked up among the caller's own collections: alice's
		// are not there for anyone else.
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/api/v1/collections/holidays", ""},
			{"PATCH", "/api/v1/collections/holidays", `{"displayname":"Mine"}`},
			{"DELETE", "/api/v1/collections/holidays", ""},
			{"GET", "/api/v1/collections/holidays/export", ""},
			{"PATCH", "/api/v1/collections/work", `{"displayname":"Mine"}`},
			{"DELETE", "/api/v1/collections/work", ""},
			{"GET", "/api/v1/vcs/friends/export", ""},
			{"GET", "/api/v1/shared/" + fmt.Sprint(contacts.ID) + "/export", ""},
		} {
			status, body := do(t, ts, user, c.method, c.path, c.body)
			want := http.StatusNotFound
			if user == "" {
				want = http.StatusUnauthorized
			}
			if status != want || strings.Contains(body, "Dentist") || strings.Contains(body, "BEGIN:") {
				t.Errorf("%q %s %s: %d, want %d: %s", user, c.method, c.path, status, want, body)
			}
		}
		// What another user exports under a name alice uses is their own.
		if _, body := get(t, ts, user, "/api/v1/collections/default/export"); strings.Contains(body, "Dentist") {
			t.Errorf("%q exporting their default got alice's event", user)
		}
	}
	if after := collectionsState(t, svc); after != before {
		t.Errorf("others changed alice's collections:\n%s\nwas\n%s", after, before)
	}

	// bob reads alice's calendar; carol sees busy time only.
	if resp, body := get(t, ts, "bob", "/api/v1/shared/"+id+"/export"); resp.StatusCode != 200 ||
		!strings.Contains(body, "SUMMARY:Dentist") || !strings.Contains(body, "root canal") {
		t.Errorf("bob's export of the share: %d\n%s", resp.StatusCode, body)
	}
	resp, body := get(t, ts, "carol", "/api/v1/shared/"+id+"/export")
	if resp.StatusCode != 200 || !strings.Contains(body, "BEGIN:VEVENT") || strings.Contains(body, "Dentist") ||
		strings.Contains(body, "root canal") {
		t.Errorf("carol's free-busy export: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := get(t, ts, "", "/api/v1/shared/"+id+"/export"); resp.StatusCode != 401 {
		t.Errorf("anonymous export of the share: %d", resp.StatusCode)
	}
	// The view shows alice and bob what its rules show (the daytime
	// event as a summary), carol (not shared with) nothing.
	if resp, body := get(t, ts, "alice", "/api/v1/vcs/friends/export"); resp.StatusCode != 200 ||
		!strings.Contains(body, "X-WR-CALNAME:For friends") || !strings.Contains(body, "SUMMARY:Dentist") || strings.Contains(body, "root canal") {
		t.Errorf("alice's view export: %d\n%s", resp.StatusCode, body)
	}
	resp, body = get(t, ts, "bob", "/api/v1/visible/"+vcID+"/export")
	if resp.StatusCode != 200 || !strings.Contains(body, "SUMMARY:Dentist") || strings.Contains(body, "root canal") {
		t.Errorf("bob's view export: %d\n%s", resp.StatusCode, body)
	}
	if resp, body := get(t, ts, "carol", "/api/v1/visible/"+vcID+"/export"); resp.StatusCode != 404 || strings.Contains(body, "Dentist") {
		t.Errorf("carol's view export: %d\n%s", resp.StatusCode, body)
	}
}

// collectionsState describes alice's collections as the system reads them.
func collectionsState(t *testing.T, svc *domain.Service) string {
	t.Helper()
	ctx := context.Background()
	colls, err := svc.Collections(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, c := range colls {
		objs, err := svc.ListObjects(ctx, c, false)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s %q %q %v %d %d\n", c.Name, c.Kind, c.DisplayName, c.Color, c.Components, c.Revision, len(objs))
	}
	return b.String()
}

// TestNestedCollectionName: a name with a "/" is written %2F.
func TestNestedCollectionName(t *testing.T) {
	ts, svc := newServer(t)
	ctx := domain.WithPrincipal(context.Background(), "alice")
	if err := svc.CreateCollection(ctx, &store.Collection{Owner: "alice", Name: "folder", Kind: store.KindPlain}, nil); err != nil {
		t.Fatal(err)
	}
	runSteps(t, ts, []step{
		{name: "create nested", method: "POST", path: "/api/v1/collections", status: 201,
			body: `{"name":"folder/work","kind":"calendar","displayname":"Work"}`, want: []string{`"name":"folder/work"`}},
		{name: "get nested", method: "GET", path: "/api/v1/collections/folder%2Fwork", status: 200, want: []string{`"displayname":"Work"`}},
		{name: "plain is not listed", method: "GET", path: "/api/v1/collections", status: 200,
			want: []string{`"name":"folder/work"`}, not: []string{`"name":"folder"`}},
		{name: "plain is not managed", method: "GET", path: "/api/v1/collections/folder", status: 404},
	})
}
