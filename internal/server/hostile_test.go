package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// hostile is one malicious or broken request, sent as alice (the attacker
// with the most rights: her own account) or as another user.
type hostile struct {
	name, user, method, path, body string
	header                         []string
	want                           int
	// mustNot, if set, may not appear in the response (a value that would
	// show the request had an effect it must not have).
	mustNot string
}

func icsEvent(lines ...string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nBEGIN:VEVENT\r\nDTSTAMP:20260101T000000Z\r\n" +
		strings.Join(lines, "\r\n") + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
}

func nested(depth int) string {
	return `<D:propfind xmlns:D="DAV:"><D:prop>` + strings.Repeat("<D:x>", depth) + strings.Repeat("</D:x>", depth) + `</D:prop></D:propfind>`
}

func manyElements(n int) string {
	return `<D:propfind xmlns:D="DAV:"><D:prop>` + strings.Repeat("<D:getetag/>", n) + `</D:prop></D:propfind>`
}

// billionLaughs defines entities that would expand to gigabytes.
func billionLaughs(root string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">`)
	prev := "lol"
	for i := 1; i <= 9; i++ {
		name := fmt.Sprintf("lol%d", i)
		fmt.Fprintf(&b, `<!ENTITY %s "%s">`, name, strings.Repeat("&"+prev+";", 10))
		prev = name
	}
	b.WriteString(`]>`)
	b.WriteString(strings.ReplaceAll(root, "ENTITY", "&lol9;"))
	return b.String()
}

// Hostile input over HTTP: each request gets its precise status, within a
// second or two, and leaves alice's and bob's data as it was.
func TestHostileInput(t *testing.T) {
	w := newWorld(t)
	bob := func() string {
		r := send(w.srv, "bob", "PROPFIND", "/dav/calendars/bob/default/",
			`<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:sync-token/><D:displayname/></D:prop></D:propfind>`, "Depth", "1")
		return r.body
	}
	beforeAlice, beforeBob := w.snapshot(t), bob()

	const cal = "/dav/calendars/alice/default/"
	long := strings.Repeat("n", 10000)
	nfd := "cafe\u0301"
	cases := []hostile{
		// Broken iCalendar and vCard.
		{name: "ical truncated", method: "PUT", path: cal + "t.ics", body: "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:t\r\nDTSTART:2026",
			header: []string{"Content-Type", "text/calendar"}, want: 403},
		{name: "ical no END", method: "PUT", path: cal + "t.ics", body: strings.TrimSuffix(icsEvent("UID:t", "DTSTART:20260101T100000Z"), "END:VCALENDAR\r\n"),
			header: []string{"Content-Type", "text/calendar"}, want: 403},
		{name: "ical no UID", method: "PUT", path: cal + "t.ics", body: icsEvent("DTSTART:20260101T100000Z"), header: []string{"Content-Type", "text/calendar"}, want: 403},
		{name: "ical two UIDs", method: "PUT", path: cal + "t.ics", body: strings.Replace(icsEvent("UID:a", "DTSTART:20260101T100000Z"),
			"END:VCALENDAR", "BEGIN:VEVENT\r\nUID:b\r\nDTSTART:20260101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR", 1), header: []string{"Content-Type", "text/calendar"}, want: 403},
		{name: "ical bad DTSTART", method: "PUT", path: cal + "t.ics", body: icsEvent("UID:t", "DTSTART:tomorrow"), header: []string{"Content-Type", "text/calendar"}, want: 403},
		{name: "ical bad RRULE", method: "PUT", path: cal + "t.ics", body: icsEvent("UID:t", "DTSTART:20260101T100000Z", "RRULE:FREQ=SOMETIMES;COUNT=x"),
			header: []string{"Content-Type", "text/calendar"}, want: 403},
		{name: "ical binary garbage", method: "PUT", path: cal + "t.ics", body: "\x00\x01\x02\xff\xfe BEGIN:VCALENDAR", header: []string{"Content-Type", "text/calendar"}, want: 403},
		{name: "ical invalid UTF-8", method: "PUT", path: cal + "t.ics", body: icsEvent("UID:t", "DTSTART:20260101T100000Z", "SUMMARY:bad \xff\xfe\xc3"),
			header: []string{"Content-Type", "text/calendar"}, want: 403},
		{name: "vcard truncated", method: "PUT", path: "/dav/addressbooks/alice/contacts/t.vcf", body: "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:t\r\nFN:x",
			header: []string{"Content-Type", "text/vcard"}, want: 403},
		{name: "vcard no FN", method: "PUT", path: "/dav/addressbooks/alice/contacts/t.vcf", body: "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:t\r\nEND:VCARD\r\n",
			header: []string{"Content-Type", "text/vcard"}, want: 403},
		{name: "vcard invalid UTF-8", method: "PUT", path: "/dav/addressbooks/alice/contacts/t.vcf", body: "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:t\r\nFN:\xff\xfe\r\nEND:VCARD\r\n",
			header: []string{"Content-Type", "text/vcard"}, want: 403},
		// Content in the wrong place or of the wrong type.
		{name: "vcard into calendar", method: "PUT", path: cal + "t.vcf", body: aliceCardBody, header: []string{"Content-Type", "text/vcard"}, want: 403},
		{name: "ical into address book", method: "PUT", path: "/dav/addressbooks/alice/contacts/t.ics", body: aliceEventBody, header: []string{"Content-Type", "text/calendar"}, want: 403},
		{name: "json into calendar", method: "PUT", path: cal + "t.json", body: `{"summary":"x"}`, header: []string{"Content-Type", "application/json"}, want: 403},
		{name: "ical labelled as vcard", method: "PUT", path: "/dav/addressbooks/alice/contacts/t.vcf", body: aliceEventBody, header: []string{"Content-Type", "text/vcard"}, want: 403},
		{name: "propfind text body", method: "PROPFIND", path: cal, body: "\xff\xfe<not xml>", header: []string{"Depth", "0", "Content-Type", "text/plain"}, want: 400},
		{name: "propfind invalid UTF-8 XML", method: "PROPFIND", path: cal, body: `<D:propfind xmlns:D="DAV:"><D:prop><D:x` + "\xff" + `/></D:prop></D:propfind>`, header: []string{"Depth", "0"}, want: 400},
		{name: "proppatch invalid UTF-8 value", method: "PROPPATCH", path: cal,
			body: `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>` + "bad\xff\xfe" + `</D:displayname></D:prop></D:set></D:propertyupdate>`, want: 400},
		{name: "proppatch control chars", method: "PROPPATCH", path: cal,
			body: `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>&#0;&#1;</D:displayname></D:prop></D:set></D:propertyupdate>`, want: 400},
		// XML bombs.
		{name: "xml depth 10000", method: "PROPFIND", path: cal, body: nested(10000), header: []string{"Depth", "0"}, want: 413},
		{name: "xml depth 10000 in report", method: "REPORT", path: cal, header: []string{"Depth", "1"},
			body: `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter>` + strings.Repeat(`<C:comp-filter name="VCALENDAR">`, 10000) + strings.Repeat(`</C:comp-filter>`, 10000) + `</C:filter></C:calendar-query>`, want: 403},
		{name: "xml depth 10000 in proppatch", method: "PROPPATCH", path: cal,
			body: `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><X:deep xmlns:X="urn:x">` + strings.Repeat("<X:a>", 10000) + strings.Repeat("</X:a>", 10000) + `</X:deep></D:prop></D:set></D:propertyupdate>`, want: 413},
		{name: "xml 200000 elements", method: "PROPFIND", path: cal, body: manyElements(200000), header: []string{"Depth", "0"}, want: 413},
		{name: "xml 200000 small elements", method: "PROPFIND", path: cal, header: []string{"Depth", "0"},
			body: `<propfind xmlns="DAV:"><prop>` + strings.Repeat("<x/>", 200000) + `</prop></propfind>`, want: 413},
		{name: "xml 200000 skipped elements", method: "PROPFIND", path: cal, header: []string{"Depth", "0"},
			body: `<propfind xmlns="DAV:"><x>` + strings.Repeat("<x/>", 200000) + `</x><prop/></propfind>`, want: 413},
		{name: "xml 200000 hrefs", method: "REPORT", path: cal, header: []string{"Depth", "1"},
			body: `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop>` + strings.Repeat("<D:href>/x</D:href>", 200000) + `</C:calendar-multiget>`, want: 413},
		{name: "billion laughs propfind", method: "PROPFIND", path: cal, header: []string{"Depth", "0"},
			body: billionLaughs(`<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop><D:x>ENTITY</D:x></D:propfind>`), want: 400},
		{name: "billion laughs proppatch", method: "PROPPATCH", path: cal, mustNot: "lollol",
			body: billionLaughs(`<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>ENTITY</D:displayname></D:prop></D:set></D:propertyupdate>`), want: 400},
		{name: "external entity", method: "PROPPATCH", path: cal, mustNot: "root:",
			body: `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>&xxe;</D:displayname></D:prop></D:set></D:propertyupdate>`, want: 400},
		// Unknown and misdirected reports.
		{name: "unknown report", method: "REPORT", path: cal, body: `<X:steal xmlns:X="urn:x"/>`, header: []string{"Depth", "1"}, want: 403},
		{name: "report with no body", method: "REPORT", path: cal, header: []string{"Depth", "1"}, want: 400},
		{name: "addressbook-query on calendar", method: "REPORT", path: cal, body: cardQuery, header: []string{"Depth", "1"}, want: 403},
		// Bogus headers.
		{name: "depth words", method: "PROPFIND", path: cal, body: propfindAll, header: []string{"Depth", "one"}, want: 400},
		{name: "depth negative", method: "PROPFIND", path: cal, body: propfindAll, header: []string{"Depth", "-1"}, want: 400},
		{name: "depth list", method: "PROPFIND", path: cal, body: propfindAll, header: []string{"Depth", "0, 1"}, want: 400},
		{name: "delete depth 0 on collection", method: "DELETE", path: cal, header: []string{"Depth", "0"}, want: 400},
		{name: "delete depth 1 on collection", method: "DELETE", path: "/dav/calendars/alice/notes/", header: []string{"Depth", "1"}, want: 400},
		{name: "copy depth 5", method: "COPY", path: cal, header: []string{"Depth", "5", "Destination", "/dav/calendars/alice/copy5/"}, want: 400},
		{name: "destination missing", method: "MOVE", path: cal + "secret.ics", want: 400},
		{name: "destination garbage", method: "MOVE", path: cal + "secret.ics", header: []string{"Destination", "::not a url::"}, want: 400},
		{name: "destination bad escape", method: "MOVE", path: cal + "secret.ics", header: []string{"Destination", "/dav/calendars/alice/default/%zz.ics"}, want: 400},
		{name: "destination NUL", method: "MOVE", path: cal + "secret.ics", header: []string{"Destination", "/dav/calendars/alice/default/a%00.ics"}, want: 403},
		{name: "destination outside dav", method: "MOVE", path: cal + "secret.ics", header: []string{"Destination", "/etc/passwd"}, want: 409},
		{name: "destination self", method: "MOVE", path: cal + "secret.ics", header: []string{"Destination", cal + "secret.ics"}, want: 403},
		{name: "destination inside source", method: "MOVE", path: cal, header: []string{"Destination", cal + "sub/"}, want: 403},
		{name: "destination dot segments to bob", method: "COPY", path: cal + "secret.ics", header: []string{"Destination", cal + "../../bob/default/x.ics"}, want: 404},
		{name: "destination encoded dots to bob", method: "COPY", path: cal + "secret.ics", header: []string{"Destination", cal + "%2e%2e/%2e%2e/bob/default/x.ics"}, want: 404},
		{name: "destination encoded slash to bob", method: "COPY", path: cal + "secret.ics", header: []string{"Destination", "/dav/calendars/alice/..%2F..%2Fbob%2Fdefault%2Fx.ics"}, want: 409},
		{name: "destination other host", method: "COPY", path: cal + "secret.ics", header: []string{"Destination", "https://evil.example/dav/calendars/alice/default/x.ics"}, want: 502},
		{name: "overwrite maybe", method: "COPY", path: cal + "secret.ics", header: []string{"Destination", cal + "x.ics", "Overwrite", "maybe"}, want: 400},
		{name: "overwrite F onto existing", method: "COPY", path: "/dav/calendars/alice/" + markCal + "/other.ics", header: []string{"Destination", cal + "secret.ics", "Overwrite", "F"}, want: 412},
		{name: "if garbage", method: "PUT", path: cal + "secret.ics", body: aliceEventBody, header: []string{"Content-Type", "text/calendar", "If", "garbage"}, want: 400},
		{name: "if unterminated", method: "PUT", path: cal + "secret.ics", body: aliceEventBody, header: []string{"Content-Type", "text/calendar", "If", "(<urn:uuid:x"}, want: 400},
		{name: "if unknown token", method: "DELETE", path: cal + "secret.ics", header: []string{"If", "(<urn:uuid:00000000-0000-0000-0000-000000000000>)"}, want: 412},
		{name: "if not of nothing", method: "DELETE", path: cal + "secret.ics", header: []string{"If", "(Not)"}, want: 400},
		{name: "if tagged other user", method: "DELETE", path: cal + "secret.ics", header: []string{"If", `</dav/calendars/bob/default/own.ics> (["x"])`}, want: 412},
		{name: "if 10000 lists", method: "DELETE", path: cal + "secret.ics", header: []string{"If", strings.Repeat(`(["nope"]) `, 10000)}, want: 412},
		{name: "if-match garbage", method: "DELETE", path: cal + "secret.ics", header: []string{"If-Match", `"`}, want: 412},
		{name: "timeout garbage", user: "bob", method: "LOCK", path: "/dav/calendars/bob/default/own.ics", body: lockBody, mustNot: "Second-9999",
			header: []string{"Timeout", "Second-99999999999999999999999, Infinite, garbage"}, want: 200},
		{name: "lock bad depth", method: "LOCK", path: cal + "secret.ics", body: lockBody, header: []string{"Depth", "1"}, want: 400},
		{name: "lock refresh without lock", method: "LOCK", path: cal + "secret.ics", header: []string{"If", "(<urn:uuid:x>)"}, want: 412},
		{name: "unlock garbage token", method: "UNLOCK", path: "/dav/calendars/alice/notes/locked.txt", header: []string{"Lock-Token", "garbage"}, want: 409},
		// Path tricks.
		{name: "dot segments to bob", method: "GET", path: "/dav/calendars/alice/default/../../bob/default/own.ics", mustNot: "bob own", want: 404},
		{name: "encoded dots to bob", method: "GET", path: "/dav/calendars/alice/%2e%2e/bob/default/own.ics", mustNot: "bob own", want: 404},
		{name: "encoded dots put", method: "PUT", path: cal + "%2e%2e/%2e%2e/bob/default/x.ics", body: aliceEventBody, header: []string{"Content-Type", "text/calendar"}, want: 404},
		{name: "encoded slash get", method: "GET", path: "/dav/calendars/alice/..%2F..%2Fbob%2Fdefault%2Fown.ics", mustNot: "bob own", want: 404},
		{name: "encoded slash put", method: "PUT", path: cal + "a%2Fb.ics", body: icsEvent("UID:slash", "DTSTART:20260101T100000Z"), header: []string{"Content-Type", "text/calendar"}, want: 409},
		{name: "encoded slash mkcol", method: "MKCOL", path: "/dav/calendars/alice/a%2Fb/", want: 409},
		{name: "backslash", method: "PUT", path: cal + `..\..\bob\default\x.ics`, body: aliceEventBody, header: []string{"Content-Type", "text/calendar"}, want: 403},
		{name: "NUL in name", method: "PUT", path: cal + "a%00.ics", body: icsEvent("UID:nul", "DTSTART:20260101T100000Z"), header: []string{"Content-Type", "text/calendar"}, want: 400},
		{name: "NUL in collection", method: "MKCOL", path: "/dav/calendars/alice/a%00b/", want: 400},
		{name: "control char in name", method: "PUT", path: cal + "a%0Ab.ics", body: icsEvent("UID:lf", "DTSTART:20260101T100000Z"), header: []string{"Content-Type", "text/calendar"}, want: 403},
		{name: "invalid UTF-8 in name", method: "PUT", path: cal + "%FF%FE.ics", body: icsEvent("UID:utf", "DTSTART:20260101T100000Z"), header: []string{"Content-Type", "text/calendar"}, want: 403},
		{name: "invalid UTF-8 in collection", method: "MKCALENDAR", path: "/dav/calendars/alice/%C3%28/", want: 403},
		{name: "invalid UTF-8 in user", method: "PROPFIND", path: "/dav/calendars/%FF/", body: propfindAll, header: []string{"Depth", "1"}, want: 404},
		{name: "name of 10000 bytes", method: "PUT", path: cal + long + ".ics", body: icsEvent("UID:long", "DTSTART:20260101T100000Z"), header: []string{"Content-Type", "text/calendar"}, want: 403},
		{name: "collection of 10000 bytes", method: "MKCALENDAR", path: "/dav/calendars/alice/" + long + "/", want: 403},
		{name: "get name of 10000 bytes", method: "GET", path: cal + long + ".ics", want: 404},
		{name: "dot name", method: "PUT", path: cal + ".", body: aliceEventBody, header: []string{"Content-Type", "text/calendar"}, want: 405},
		{name: "unicode name NFD of missing", method: "GET", path: cal + nfd + ".ics", want: 404},
		// Bodies past the limit (1 MiB in tests).
		{name: "huge PUT", method: "PUT", path: cal + "huge.ics", body: icsEvent("UID:huge", "DTSTART:20260101T100000Z", "DESCRIPTION:"+strings.Repeat("x", 2<<20)),
			header: []string{"Content-Type", "text/calendar"}, want: 413},
		{name: "huge PROPFIND", method: "PROPFIND", path: cal, body: `<D:propfind xmlns:D="DAV:"><D:prop>` + strings.Repeat(" ", 2<<20) + `</D:prop></D:propfind>`, header: []string{"Depth", "0"}, want: 413},
		{name: "huge PROPPATCH", method: "PROPPATCH", path: cal, body: `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>` + strings.Repeat("x", 2<<20) + `</D:displayname></D:prop></D:set></D:propertyupdate>`, want: 413},
		{name: "huge API body", method: "POST", path: "/api/v1/vcs", body: `{"name":"x","displayname":"` + strings.Repeat("x", 2<<20) + `"}`, header: []string{"Content-Type", "application/json"}, want: 413},
		// The JSON API.
		{name: "api malformed JSON", method: "POST", path: "/api/v1/vcs", body: `{"name":`, header: []string{"Content-Type", "application/json"}, want: 400},
		{name: "api unknown field", method: "PUT", path: "/api/v1/vcs/" + markVC, body: `{"name":"` + markVC + `","definition":{"calendar":"default"},"shared_with":["user:carol"],"admin":true}`, want: 400},
		{name: "api self-referencing VC", method: "PUT", path: "/api/v1/vcs/" + markVC, body: `{"name":"` + markVC + `","definition":{"vc":"` + markVC + `"}}`, want: 409},
		{name: "api path tricks", method: "GET", path: "/api/v1/vcs/..%2F..%2Fbob", want: 404},
		{name: "api preview huge range", method: "GET", path: "/api/v1/vcs/" + markVC + "/preview?start=0001-01-01&end=9999-12-31", want: 200},
	}
	for _, c := range cases {
		user := c.user
		if user == "" {
			user = "alice"
		}
		r := send(w.srv, user, c.method, c.path, c.body, c.header...)
		if r.code != c.want {
			t.Errorf("%s: %s %s: got %d, want %d\n%s", c.name, c.method, clip(c.path), r.code, c.want, clip(r.body))
		}
		if r.code >= 500 && c.want < 500 {
			t.Errorf("%s: server error %d: %s", c.name, r.code, clip(r.body))
		}
		if c.mustNot != "" && strings.Contains(r.body, c.mustNot) {
			t.Errorf("%s: response contains %q", c.name, c.mustNot)
		}
	}
	if after := w.snapshot(t); after != beforeAlice {
		t.Errorf("alice's data changed\n--- before ---\n%s\n--- after ---\n%s", beforeAlice, after)
	}
	if after := bob(); after != beforeBob {
		t.Errorf("bob's data changed\n--- before ---\n%s\n--- after ---\n%s", beforeBob, after)
	}
}

// Absurd recurrences are stored (they are valid iCalendar) but no query
// over them does unbounded work: each answers within the time budget,
// with a multistatus or a refusal, never a 5xx. A name and its Unicode
// normalisation variant are two resources, each keeping its own bytes.
func TestHostileRecurrences(t *testing.T) {
	w := newWorld(t)
	const cal = "/dav/calendars/bob/default/"
	by := func(n int) string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprint(i)
		}
		return strings.Join(s, ",")
	}
	for _, c := range []struct{ name, rule string }{
		{"secondly.ics", "RRULE:FREQ=SECONDLY;COUNT=5000000"},
		{"flood.ics", "RRULE:FREQ=YEARLY;BYMONTH=1,2,3,4,5,6,7,8,9,10,11,12;BYHOUR=" + by(24) + ";BYMINUTE=" + by(60) + ";BYSECOND=" + by(60)},
		{"until.ics", "RRULE:FREQ=DAILY;UNTIL=20200101T000000Z"},
		{"forever.ics", "RRULE:FREQ=SECONDLY"},
	} {
		r := send(w.srv, "bob", "PUT", cal+c.name, icsEvent("UID:"+c.name, "DTSTART:20260110T000000Z", "DURATION:PT1S", c.rule, "SUMMARY:absurd"),
			"Content-Type", "text/calendar")
		if r.code != 201 && r.code != 403 {
			t.Errorf("PUT %s: %d %s", c.name, r.code, clip(r.body))
		}
	}
	for _, q := range []struct{ name, body string }{
		{"calendar-query", calQuery},
		{"expand", calExpand},
		{"free-busy", freeBusy},
		{"sync", syncBody("")},
	} {
		r := send(w.srv, "bob", "REPORT", cal, q.body, "Depth", "1")
		if r.code >= 500 && r.code != http.StatusInsufficientStorage {
			t.Errorf("%s: %d %s", q.name, r.code, clip(r.body))
		}
		if r.code != http.StatusMultiStatus && r.code != http.StatusOK && r.code != http.StatusForbidden && r.code != http.StatusInsufficientStorage {
			t.Errorf("%s: unexpected %d %s", q.name, r.code, clip(r.body))
		}
		// Bounded work is asserted by the instance limits, not by a clock:
		// speed belongs in benchmarks.
	}

	nfc, nfd := "caf\u00e9.ics", "cafe\u0301.ics"
	for _, n := range []string{nfc, nfd} {
		if r := send(w.srv, "bob", "PUT", cal+url.PathEscape(n), icsEvent("UID:"+n, "DTSTART:20260110T000000Z", "SUMMARY:"+n), "Content-Type", "text/calendar"); r.code != 201 {
			t.Fatalf("PUT %q: %d %s", n, r.code, r.body)
		}
	}
	for _, n := range []string{nfc, nfd} {
		if r := send(w.srv, "bob", "GET", cal+url.PathEscape(n), ""); r.code != 200 || !strings.Contains(r.body, "SUMMARY:"+n+"\r\n") {
			t.Errorf("GET %q: %d %s", n, r.code, r.body)
		}
	}
}
