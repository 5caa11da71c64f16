package server

import (
	"net/http"
	"strings"
	"testing"
)

const (
	shareBob = `<?xml version="1.0" encoding="UTF-8"?>
<CS:share xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><CS:set><D:href>mailto:bob@example.org</D:href><CS:common-name>Bob</CS:common-name><CS:summary>Work</CS:summary><CS:read-write/></CS:set></CS:share>`
	unshareBob = `<?xml version="1.0" encoding="UTF-8"?>
<CS:share xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><CS:remove><D:href>/dav/principals/bob/</D:href></CS:remove></CS:share>`
	appleHomeProps = `<?xml version="1.0" encoding="UTF-8"?>
<A:propfind xmlns:A="DAV:"><A:prop><A:resourcetype/><A:displayname/><A:current-user-privilege-set/><B:calendar-color xmlns:B="http://apple.com/ns/ical/"/><C:invite xmlns:C="http://calendarserver.org/ns/"/><C:shared-url xmlns:C="http://calendarserver.org/ns/"/><C:allowed-sharing-modes xmlns:C="http://calendarserver.org/ns/"/><A:acl/></A:prop></A:propfind>`
	principalProps = `<?xml version="1.0" encoding="UTF-8"?>
<A:propfind xmlns:A="DAV:" xmlns:C="http://calendarserver.org/ns/"><A:prop><A:group-membership/><C:calendar-proxy-write-for/><C:calendar-proxy-read-for/><C:notification-URL/><A:principal-collection-set/></A:prop></A:propfind>`
	searchBo = `<?xml version="1.0" encoding="UTF-8"?>
<A:principal-property-search xmlns:A="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" test="anyof"><A:property-search><A:prop><A:displayname/></A:prop><A:match match-type="starts-with">bo</A:match></A:property-search><A:property-search><A:prop><C:calendar-user-address-set/></A:prop><A:match>bo</A:match></A:property-search><A:prop><A:displayname/><C:calendar-user-address-set/></A:prop></A:principal-property-search>`
	proxyBob = `<?xml version="1.0" encoding="UTF-8"?>
<A:propertyupdate xmlns:A="DAV:"><A:set><A:prop><A:group-member-set><A:href>/dav/principals/bob/</A:href></A:group-member-set></A:prop></A:set></A:propertyupdate>`
)

// Apple Calendar's sharing and delegation, replayed: the owner shares
// with a POST of CS:share; the sharee finds the share in their home with
// CS:shared-url and CS:invite; the owner sees the sharee in CS:invite and
// DAV:acl; principal-property-search finds people; a PROPPATCH of
// group-member-set on a proxy group makes a delegate; a CS:share remove
// takes the share away. Others can do none of it.
func TestAppleSharingAndDelegation(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		addUsers(t, srv, "carol")
		provision(t, srv, "alice", "bob", "carol")
		xml := []string{"Content-Type", "application/xml; charset=utf-8"}

		if code, body := as(t, srv, "carol", http.MethodPost, aliceWork, shareBob, xml...); code != http.StatusNotFound {
			t.Fatalf("carol shares alice's calendar: %d %s", code, body)
		}
		if code, body := as(t, srv, "alice", http.MethodPost, aliceWork, shareBob, xml...); code != http.StatusOK {
			t.Fatalf("alice's CS:share: %d %s", code, body)
		}
		code, body := as(t, srv, "bob", "PROPFIND", "/dav/calendars/bob/", appleHomeProps, "Depth", "1")
		if code != http.StatusMultiStatus || !strings.Contains(body, bobsMount) || !strings.Contains(body, "<CS:shared-url><D:href>"+aliceWork) ||
			!strings.Contains(body, "<CS:organizer><D:href>/dav/principals/alice/") || !strings.Contains(body, "<D:write/>") {
			t.Fatalf("bob's home after the share: %d %s", code, body)
		}
		if code, body := as(t, srv, "bob", http.MethodPost, bobsMount, shareBob, xml...); code != http.StatusForbidden || !strings.Contains(body, "need-privileges") {
			t.Errorf("a read-write sharee shares on: %d %s", code, body)
		}
		// Apple Calendar offers sharing where it reads can-be-shared: on
		// the owner's calendar, not on a sharee's mount of it.
		if _, body := as(t, srv, "bob", "PROPFIND", bobsMount, appleHomeProps, "Depth", "0"); strings.Contains(body, "can-be-shared") ||
			!strings.Contains(body, "allowed-sharing-modes") {
			t.Errorf("allowed-sharing-modes of a read-write sharee's mount: %s", body)
		}
		// DAV:acl is the owner's and admins' to read; the refusal names
		// the resource asked about.
		if _, body := as(t, srv, "bob", "PROPFIND", bobsMount, appleHomeProps, "Depth", "0"); !strings.Contains(body,
			"<D:need-privileges><D:resource><D:href>"+bobsMount+"</D:href><D:privilege><CS:share/>") {
			t.Errorf("a sharee's PROPFIND of DAV:acl: %s", body)
		}
		_, body = as(t, srv, "alice", "PROPFIND", aliceWork, appleHomeProps, "Depth", "0")
		if !strings.Contains(body, "<CS:can-be-shared/>") {
			t.Errorf("alice's calendar cannot be shared: %s", body)
		}
		if !strings.Contains(body, "<CS:user><D:href>/dav/principals/bob/</D:href>") || !strings.Contains(body, "<CS:read-write/>") ||
			!strings.Contains(body, "<D:ace><D:principal><D:href>/dav/principals/bob/</D:href>") {
			t.Errorf("alice's invite and acl: %s", body)
		}

		code, body = as(t, srv, "carol", "REPORT", "/dav/principals/", searchBo, "Depth", "0")
		if code != http.StatusMultiStatus || !strings.Contains(body, "/dav/principals/bob/") || strings.Contains(body, "/dav/principals/alice/") ||
			!strings.Contains(body, "mailto:bob@example.org") {
			t.Errorf("principal-property-search: %d %s", code, body)
		}
		if code, body := as(t, srv, "carol", "REPORT", "/dav/principals/", `<A:principal-search-property-set xmlns:A="DAV:"/>`, "Depth", "0"); code != http.StatusOK || !strings.Contains(body, "displayname") {
			t.Errorf("principal-search-property-set: %d %s", code, body)
		}

		if code, _ := as(t, srv, "carol", "PROPPATCH", "/dav/principals/alice/calendar-proxy-write/", proxyBob); code != http.StatusNotFound {
			t.Errorf("carol sets alice's delegates: %d", code)
		}
		if code, body := as(t, srv, "alice", "PROPPATCH", "/dav/principals/alice/calendar-proxy-write/", proxyBob); code != http.StatusMultiStatus || strings.Contains(body, "HTTP/1.1 4") {
			t.Fatalf("alice makes bob her write delegate: %d %s", code, body)
		}
		_, body = as(t, srv, "bob", "PROPFIND", "/dav/principals/bob/", principalProps, "Depth", "0")
		if !strings.Contains(body, "<CS:calendar-proxy-write-for><D:href>/dav/principals/alice/</D:href>") ||
			!strings.Contains(body, "/dav/principals/alice/calendar-proxy-write/") || !strings.Contains(body, "/dav/notifications/bob/") {
			t.Errorf("bob's principal after delegation: %s", body)
		}
		if _, body := as(t, srv, "alice", "PROPFIND", "/dav/principals/bob/", principalProps, "Depth", "0"); strings.Contains(body, "calendar-proxy-write/") {
			t.Errorf("alice reads bob's memberships: %s", body)
		}

		if code, body := as(t, srv, "alice", http.MethodPost, aliceWork, unshareBob, xml...); code != http.StatusOK {
			t.Fatalf("alice's CS:share remove: %d %s", code, body)
		}
		// bob still sees alice's calendar, now as her delegate, with the
		// delegate's rights.
		_, body = as(t, srv, "bob", "PROPFIND", bobsMount, appleHomeProps, "Depth", "0")
		if !strings.Contains(body, "<D:write/>") {
			t.Errorf("bob as alice's write delegate: %s", body)
		}
		as(t, srv, "alice", "PROPPATCH", "/dav/principals/alice/calendar-proxy-write/", strings.Replace(proxyBob, "<A:href>/dav/principals/bob/</A:href>", "", 1))
		if code, _ := as(t, srv, "bob", "PROPFIND", bobsMount, "", "Depth", "0"); code != http.StatusNotFound {
			t.Errorf("the share outlives its revocation and the delegation: %d", code)
		}
	})
}
