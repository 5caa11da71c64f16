package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
)

const aliceDirectory = "/dav/addressbooks/alice/directory/"

// newDirectoryWorld is a server whose users have profiles worth finding:
// carol has a display name and a phone number, dave only the defaults.
func newDirectoryWorld(t *testing.T, srv *Server) {
	t.Helper()
	ctx := context.Background()
	addUsers(t, srv, "carol", "dave")
	if err := srv.Service().SetDisplayName(ctx, "carol", "Carol Jones"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Service().SetPhone(ctx, "carol", "+1 555 0100"); err != nil {
		t.Fatal(err)
	}
}

var hrefRE = regexp.MustCompile(`<D:href>([^<]*)</D:href>`)

// responseHrefs lists the hrefs of a multistatus's responses that answered
// 200 for some property, in order.
func responseHrefs(body string) []string {
	var out []string
	for _, resp := range strings.Split(body, "<D:response>")[1:] {
		if m := hrefRE.FindStringSubmatch(resp); m != nil && strings.Contains(resp, "200 OK") {
			out = append(out, m[1])
		}
	}
	return out
}

func queryBody(filter string) string {
	return `<CR:addressbook-query xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><CR:address-data/></D:prop>` +
		`<CR:filter>` + filter + `</CR:filter></CR:addressbook-query>`
}

// Every signed-in user has the directory in their own address book home,
// listing everyone.
func TestDirectoryInEveryHome(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		newDirectoryWorld(t, srv)
		for _, u := range []string{"alice", "bob", "carol", "dave"} {
			home := "/dav/addressbooks/" + u + "/"
			code, body := as(t, srv, u, "PROPFIND", home, `<propfind xmlns="DAV:"><prop><resourcetype/><displayname/></prop></propfind>`, "Depth", "1")
			if code != http.StatusMultiStatus || !strings.Contains(body, "<D:href>"+home+"directory/</D:href>") ||
				!strings.Contains(body, "<CR:addressbook/><CR:directory/></D:resourcetype><D:displayname>Directory</D:displayname>") {
				t.Fatalf("%s's address book home does not list the directory: %d %s", u, code, body)
			}
			code, body = as(t, srv, u, "PROPFIND", "/dav/principals/"+u+"/",
				`<propfind xmlns="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><prop><CR:directory-gateway/></prop></propfind>`, "Depth", "0")
			if !strings.Contains(body, "<CR:directory-gateway><D:href>"+home+"directory/</D:href></CR:directory-gateway>") {
				t.Fatalf("%s's principal names no directory gateway: %d %s", u, code, body)
			}
			code, body = as(t, srv, u, "PROPFIND", home+"directory/", `<propfind xmlns="DAV:"><prop><getetag/></prop></propfind>`, "Depth", "1")
			want := []string{home + "directory/alice.vcf", home + "directory/bob.vcf", home + "directory/carol.vcf", home + "directory/dave.vcf"}
			if got := responseHrefs(body); code != http.StatusMultiStatus || !slices.Equal(got, want) {
				t.Fatalf("%s's directory lists %v (%d), want %v", u, got, code, want)
			}
		}
		// Not in the calendar home, and not in anyone else's home.
		if code, _ := as(t, srv, "alice", "PROPFIND", "/dav/calendars/alice/directory/", "", "Depth", "0"); code != http.StatusNotFound {
			t.Errorf("the calendar home has a directory: %d", code)
		}
		if code, _ := as(t, srv, "bob", "PROPFIND", aliceDirectory, "", "Depth", "0"); code != http.StatusNotFound {
			t.Errorf("bob reads alice's home: %d", code)
		}
		if code, _ := as(t, srv, "bob", http.MethodGet, aliceDirectory+"carol.vcf", ""); code != http.StatusNotFound {
			t.Errorf("bob reads a card in alice's home: %d", code)
		}
		if code, _ := as(t, srv, "bob", "MOVE", "/dav/addressbooks/bob/contacts/", "", "Destination", aliceDirectory); code != http.StatusNotFound {
			t.Errorf("bob's MOVE onto alice's directory: %d, want 404 as for anything of hers", code)
		}
	})
}

// addressbook-query on the directory finds exactly the cards its filter
// names.
func TestDirectoryQuery(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		newDirectoryWorld(t, srv)
		card := func(u string) string { return aliceDirectory + u + ".vcf" }
		for _, tc := range []struct {
			name, filter string
			want         []string
		}{
			{"FN contains", `<CR:prop-filter name="FN"><CR:text-match>jones</CR:text-match></CR:prop-filter>`, []string{card("carol")}},
			{"FN equals", `<CR:prop-filter name="FN"><CR:text-match match-type="equals">dave</CR:text-match></CR:prop-filter>`, []string{card("dave")}},
			{"EMAIL equals", `<CR:prop-filter name="EMAIL"><CR:text-match match-type="equals">bob@example.org</CR:text-match></CR:prop-filter>`, []string{card("bob")}},
			{"EMAIL starts", `<CR:prop-filter name="EMAIL"><CR:text-match match-type="starts-with">CAROL@</CR:text-match></CR:prop-filter>`, []string{card("carol")}},
			{"N is the display name", `<CR:prop-filter name="N"><CR:text-match>Carol Jones</CR:text-match></CR:prop-filter>`, []string{card("carol")}},
			{"TEL", `<CR:prop-filter name="TEL"><CR:text-match>555</CR:text-match></CR:prop-filter>`, []string{card("carol")}},
			{"no TEL", `<CR:prop-filter name="TEL"><CR:is-not-defined/></CR:prop-filter>`, []string{card("alice"), card("bob"), card("dave")}},
			{"nobody", `<CR:prop-filter name="FN"><CR:text-match>zelda</CR:text-match></CR:prop-filter>`, nil},
			{"everyone", ``, []string{card("alice"), card("bob"), card("carol"), card("dave")}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, body := as(t, srv, "alice", "REPORT", aliceDirectory, queryBody(tc.filter), "Depth", "1")
				if got := responseHrefs(body); code != http.StatusMultiStatus || !slices.Equal(got, tc.want) {
					t.Fatalf("found %v (%d), want %v\n%s", got, code, tc.want, body)
				}
			})
		}
		_, body := as(t, srv, "alice", "REPORT", aliceDirectory, queryBody(`<CR:prop-filter name="FN"><CR:text-match>jones</CR:text-match></CR:prop-filter>`), "Depth", "1")
		for _, want := range []string{"FN:Carol Jones", "N:Carol Jones;;;;", "EMAIL;TYPE=INTERNET:carol@example.org", "TEL;TYPE=VOICE:+1 555 0100", "UID:urn:uuid:"} {
			if !strings.Contains(body, want) {
				t.Errorf("carol's card lacks %q:\n%s", want, body)
			}
		}
	})
}

// Multiget and GET serve the same cards, with the same ETags.
func TestDirectoryMultigetAndGet(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		newDirectoryWorld(t, srv)
		multiget := `<CR:addressbook-multiget xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><CR:address-data/></D:prop>` +
			`<D:href>` + aliceDirectory + `carol.vcf</D:href><D:href>` + aliceDirectory + `nobody.vcf</D:href><D:href>` + aliceDirectory + `dave.vcf</D:href></CR:addressbook-multiget>`
		for _, at := range []string{aliceDirectory, "/dav/addressbooks/alice/"} {
			code, body := as(t, srv, "alice", "REPORT", at, multiget, "Depth", "1")
			if got := responseHrefs(body); code != http.StatusMultiStatus || !slices.Equal(got, []string{aliceDirectory + "carol.vcf", aliceDirectory + "dave.vcf"}) {
				t.Fatalf("multiget on %s: %d %v\n%s", at, code, got, body)
			}
			if !strings.Contains(body, "<D:href>"+aliceDirectory+"nobody.vcf</D:href><D:status>HTTP/1.1 404 Not Found</D:status>") {
				t.Errorf("multiget on %s does not answer 404 for a card that is not there:\n%s", at, body)
			}
			if !strings.Contains(body, "TEL;TYPE=VOICE:+1 555 0100") {
				t.Errorf("multiget on %s without carol's phone:\n%s", at, body)
			}
		}
		req, _ := http.NewRequest(http.MethodGet, aliceDirectory+"carol.vcf", nil)
		req.SetBasicAuth("alice", "alice-password")
		rec := serveRecorded(srv, req)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/vcard; charset=utf-8" || !strings.Contains(rec.Body.String(), "FN:Carol Jones\r\n") {
			t.Fatalf("GET carol.vcf: %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
		if etag := rec.Header().Get("ETag"); etag != cardETag(t, srv, "alice", "carol.vcf") || strings.HasPrefix(etag, "W/") {
			t.Errorf("GET ETag %s differs from PROPFIND's or is weak", etag)
		}
		if code, _ := as(t, srv, "alice", http.MethodGet, aliceDirectory+"nobody.vcf", ""); code != http.StatusNotFound {
			t.Errorf("GET of a card of nobody: %d", code)
		}
	})
}

// serveRecorded runs req and keeps the whole answer.
func serveRecorded(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var getetagRE = regexp.MustCompile(`<D:getetag>([^<]*)</D:getetag>`)
var getctagRE = regexp.MustCompile(`<CS:getctag>([^<]*)</CS:getctag>`)

// cardETag is the ETag PROPFIND gives a card of user's directory.
func cardETag(t *testing.T, srv *Server, user, name string) string {
	t.Helper()
	code, body := as(t, srv, user, "PROPFIND", "/dav/addressbooks/"+user+"/directory/"+name, `<propfind xmlns="DAV:"><prop><getetag/></prop></propfind>`, "Depth", "0")
	m := getetagRE.FindStringSubmatch(body)
	if code != http.StatusMultiStatus || m == nil {
		t.Fatalf("no ETag for %s: %d %s", name, code, body)
	}
	return m[1]
}

// directoryCTag is the getctag of user's directory.
func directoryCTag(t *testing.T, srv *Server, user string) string {
	t.Helper()
	code, body := as(t, srv, user, "PROPFIND", "/dav/addressbooks/"+user+"/directory/",
		`<propfind xmlns="DAV:" xmlns:CS="http://calendarserver.org/ns/"><prop><CS:getctag/></prop></propfind>`, "Depth", "0")
	m := getctagRE.FindStringSubmatch(body)
	if code != http.StatusMultiStatus || m == nil {
		t.Fatalf("no getctag for the directory: %d %s", code, body)
	}
	return m[1]
}

// A profile change changes that card's ETag and the directory's ctag, and
// nothing else; users coming and going change the ctag too.
func TestDirectoryFollowsProfiles(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		ctx := context.Background()
		newDirectoryWorld(t, srv)
		ctag, carol, alice := directoryCTag(t, srv, "alice"), cardETag(t, srv, "alice", "carol.vcf"), cardETag(t, srv, "alice", "alice.vcf")
		_, before := as(t, srv, "alice", http.MethodGet, aliceDirectory+"carol.vcf", "")
		if directoryCTag(t, srv, "bob") != ctag || cardETag(t, srv, "alice", "carol.vcf") != carol {
			t.Fatal("the ctag or an ETag changed without a profile change, or differs between homes")
		}

		if err := srv.Service().SetDisplayName(domain.WithPrincipal(ctx, "carol"), "carol", "Carol Smith"); err != nil {
			t.Fatal(err)
		}
		if got := cardETag(t, srv, "alice", "carol.vcf"); got == carol {
			t.Error("carol's ETag did not change with her display name")
		}
		if got := cardETag(t, srv, "alice", "alice.vcf"); got != alice {
			t.Error("alice's ETag changed with carol's display name")
		}
		newCTag := directoryCTag(t, srv, "alice")
		if newCTag == ctag {
			t.Error("the ctag did not change with carol's display name")
		}
		_, after := as(t, srv, "alice", http.MethodGet, aliceDirectory+"carol.vcf", "")
		if !strings.Contains(after, "FN:Carol Smith\r\n") || uidOf(after) == "" || uidOf(after) != uidOf(before) {
			t.Errorf("carol's card after the change (UID must stay %q):\n%s", uidOf(before), after)
		}

		if err := srv.Service().SetPhone(ctx, "carol", ""); err != nil {
			t.Fatal(err)
		}
		if _, got := as(t, srv, "alice", http.MethodGet, aliceDirectory+"carol.vcf", ""); strings.Contains(got, "TEL") {
			t.Errorf("a removed phone number is still on the card:\n%s", got)
		}
		ctag = directoryCTag(t, srv, "alice")
		addUsers(t, srv, "erin")
		if directoryCTag(t, srv, "alice") == ctag {
			t.Error("the ctag did not change with a new user")
		}
		ctag = directoryCTag(t, srv, "alice")
		if err := srv.Service().DeleteUser(ctx, "dave"); err != nil {
			t.Fatal(err)
		}
		if directoryCTag(t, srv, "alice") == ctag {
			t.Error("the ctag did not change with a deleted user")
		}
		if code, _ := as(t, srv, "alice", http.MethodGet, aliceDirectory+"dave.vcf", ""); code != http.StatusNotFound {
			t.Errorf("a deleted user's card: %d", code)
		}
		// dave's own password no longer opens the directory.
		if code, _ := as(t, srv, "dave", "PROPFIND", "/dav/addressbooks/dave/directory/", "", "Depth", "0"); code != http.StatusUnauthorized {
			t.Errorf("a deleted user reads the directory: %d", code)
		}
	})
}

func uidOf(card string) string {
	for _, l := range strings.Split(card, "\r\n") {
		if uid, ok := strings.CutPrefix(l, "UID:"); ok {
			return uid
		}
	}
	return ""
}

// Nobody writes the directory: every write answers 403 need-privileges and
// changes nothing; without credentials nothing of it is served.
func TestDirectoryIsReadOnly(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		newDirectoryWorld(t, srv)
		snapshot := func() string {
			_, body := as(t, srv, "alice", "REPORT", aliceDirectory, queryBody(""), "Depth", "1")
			return body + directoryCTag(t, srv, "alice")
		}
		before := snapshot()
		card := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nFN:Mallory\r\nEND:VCARD\r\n"
		for _, tc := range []struct {
			name, method, path, body string
			header                   []string
			privilege                string
		}{
			{"PUT new", http.MethodPut, aliceDirectory + "mallory.vcf", card, []string{"Content-Type", "text/vcard"}, "write-content"},
			{"PUT over", http.MethodPut, aliceDirectory + "carol.vcf", card, []string{"Content-Type", "text/vcard"}, "write-content"},
			{"PUT deeper", http.MethodPut, aliceDirectory + "sub/x.vcf", card, []string{"Content-Type", "text/vcard"}, "write-content"},
			{"DELETE card", http.MethodDelete, aliceDirectory + "carol.vcf", "", nil, "write-content"},
			{"DELETE directory", http.MethodDelete, aliceDirectory, "", nil, "all"},
			{"PROPPATCH directory", "PROPPATCH", aliceDirectory,
				`<propertyupdate xmlns="DAV:"><set><prop><displayname>Mine</displayname></prop></set></propertyupdate>`, nil, "all"},
			{"PROPPATCH card", "PROPPATCH", aliceDirectory + "carol.vcf",
				`<propertyupdate xmlns="DAV:"><set><prop><x xmlns="urn:x">1</x></prop></set></propertyupdate>`, nil, "all"},
			{"MKCOL inside", "MKCOL", aliceDirectory + "sub/", "", nil, "write-content"},
			{"COPY into", "COPY", "/dav/addressbooks/alice/contacts/", "", []string{"Destination", aliceDirectory}, "write-content"},
			{"MOVE a card out", "MOVE", aliceDirectory + "carol.vcf", "", []string{"Destination", "/dav/addressbooks/alice/contacts/carol.vcf"}, "write-content"},
			{"LOCK", "LOCK", aliceDirectory + "carol.vcf",
				`<lockinfo xmlns="DAV:"><lockscope><exclusive/></lockscope><locktype><write/></locktype></lockinfo>`, nil, "write-content"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, body := as(t, srv, "alice", tc.method, tc.path, tc.body, tc.header...)
				if code != http.StatusForbidden || !strings.Contains(body, "<D:need-privileges>") ||
					!strings.Contains(body, "<D:privilege><D:"+tc.privilege+"/></D:privilege>") {
					t.Fatalf("%d %s, want 403 need-privileges %s", code, body, tc.privilege)
				}
			})
		}
		if after := snapshot(); after != before {
			t.Errorf("a refused write changed the directory:\n%s\nwas\n%s", after, before)
		}
		if code, _ := as(t, srv, "alice", "PROPFIND", "/dav/addressbooks/alice/contacts/", "", "Depth", "0"); code != http.StatusMultiStatus {
			t.Errorf("the refused COPY/MOVE lost alice's contacts: %d", code)
		}
		// The name cannot be taken by an address book of a user's, by
		// MKCOL or otherwise.
		if code, _ := as(t, srv, "alice", "MKCOL", aliceDirectory, ""); code != http.StatusMethodNotAllowed {
			t.Errorf("MKCOL of the directory: %d, want 405", code)
		}
		book := &store.Collection{Owner: "alice", Name: domain.DirectoryName, Kind: store.KindAddressBook}
		if err := srv.Service().CreateCollection(context.Background(), book, nil); !errors.Is(err, domain.ErrInvalidName) ||
			!strings.Contains(err.Error(), "reserved") {
			t.Errorf("an address book named %q: %v", domain.DirectoryName, err)
		}
		for _, method := range []string{"PROPFIND", http.MethodGet, "REPORT"} {
			req, _ := http.NewRequest(method, aliceDirectory+"carol.vcf", strings.NewReader(""))
			if rec := serveRecorded(srv, req); rec.Code != http.StatusUnauthorized || strings.Contains(rec.Body.String(), "Carol") {
				t.Errorf("anonymous %s: %d %s", method, rec.Code, rec.Body)
			}
		}
	})
}
