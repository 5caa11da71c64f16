package remote

import (
	"encoding/xml"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// A multistatus as odd servers write it: prefixes of their own, a default
// namespace, several propstats, a property answered 404, a relative and an
// absolute href, a response naming two hrefs, a deleted member.
const oddMultistatus = `<?xml version="1.0" encoding="utf-8"?>
<ns0:multistatus xmlns:ns0="DAV:" xmlns:ns1="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/">
 <ns0:response>
  <ns0:href>/cal/</ns0:href>
  <ns0:propstat><ns0:status>HTTP/1.1 200 OK</ns0:status>
   <ns0:prop><ns0:resourcetype><ns0:collection/><ns1:calendar/></ns0:resourcetype><cs:getctag>c1</cs:getctag></ns0:prop>
  </ns0:propstat>
 </ns0:response>
 <ns0:response>
  <ns0:href>a%20b.ics</ns0:href>
  <ns0:propstat><ns0:prop><ns0:getetag>"e1"</ns0:getetag></ns0:prop><ns0:status>HTTP/1.1 200 OK</ns0:status></ns0:propstat>
  <ns0:propstat><ns0:prop><ns0:getcontenttype/></ns0:prop><ns0:status>HTTP/1.1 404 Not Found</ns0:status></ns0:propstat>
 </ns0:response>
 <response xmlns="DAV:">
  <href>http://other.example/cal/c.ics</href>
  <propstat><prop><getetag/></prop><status>HTTP/1.1 404 Not Found</status></propstat>
  <propstat><prop><ns1:calendar-data>BEGIN:VCALENDAR
END:VCALENDAR
</ns1:calendar-data></prop><status>HTTP/1.1 200 OK</status></propstat>
 </response>
 <ns0:response><ns0:href>/cal/d.ics</ns0:href><ns0:href>/cal/e.ics</ns0:href><ns0:status>HTTP/1.1 404 Not Found</ns0:status></ns0:response>
 <ns0:sync-token>tok-2</ns0:sync-token>
</ns0:multistatus>`

func TestParseMultistatus(t *testing.T) {
	ms, err := parseMultistatus([]byte(oddMultistatus))
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse("https://dav.example/cal/")
	res := &davResult{multistatus: ms, base: base}
	if ms.syncToken != "tok-2" || len(ms.responses) != 5 {
		t.Fatalf("token %q, %d responses", ms.syncToken, len(ms.responses))
	}
	self := res.self()
	if self == nil || !isCalendar(self) || !isCollection(self) || self.prop(nsCS, "getctag").value() != "c1" {
		t.Errorf("collection response: %+v", self)
	}
	b := ms.responses[1]
	if !b.ok() || etagOf(&b) != `"e1"` || res.abs(b.href) != "https://dav.example/cal/a%20b.ics" {
		t.Errorf("relative href: ok %v etag %s abs %s", b.ok(), etagOf(&b), res.abs(b.href))
	}
	if _, ok := b.missing[xmlName(nsDAV, "getcontenttype")]; !ok {
		t.Error("the 404 property is not recorded as missing")
	}
	c := ms.responses[2]
	if !c.ok() || etagOf(&c) != "" || res.abs(c.href) != "http://other.example/cal/c.ics" {
		t.Errorf("response with its ETag answered 404: ok %v etag %q abs %s", c.ok(), etagOf(&c), res.abs(c.href))
	}
	if got := string(crlf(c.prop(nsCalDAV, "calendar-data").text.String())); got != "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n" {
		t.Errorf("calendar-data = %q", got)
	}
	for _, r := range ms.responses[3:] {
		if r.ok() || r.status != 404 {
			t.Errorf("deleted %s: ok %v status %d", r.href, r.ok(), r.status)
		}
	}
	if ms.responses[4].href != "/cal/e.ics" {
		t.Errorf("second href of a response: %s", ms.responses[4].href)
	}
}

func TestParseMultistatusRejects(t *testing.T) {
	for _, body := range []string{
		"",
		"not xml",
		`<?xml version="1.0"?><D:error xmlns:D="DAV:"/>`,
		`<D:multistatus xmlns:D="DAV:"><D:response>`,
		`<?xml version="1.0" encoding="koi8-r"?><D:multistatus xmlns:D="DAV:"/>`,
		`<D:multistatus xmlns:D="DAV:">` + strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100) + `</D:multistatus>`,
	} {
		if _, err := parseMultistatus([]byte(body)); err == nil {
			t.Errorf("parsed %q", body)
		}
	}
}

func TestParseMultistatusLatin1(t *testing.T) {
	body := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><multistatus xmlns=\"DAV:\"><response><href>/c/</href>" +
		"<propstat><prop><displayname>Caf\xe9</displayname></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>"
	ms, err := parseMultistatus([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if got := ms.responses[0].prop(nsDAV, "displayname").value(); got != "Café" {
		t.Errorf("displayname = %q", got)
	}
}

func TestAbsURL(t *testing.T) {
	base, _ := url.Parse("https://dav.example:8443/cal/x/")
	for href, want := range map[string]string{
		"/cal/x/a%40b.ics":             "https://dav.example:8443/cal/x/a%40b.ics",
		"/cal/x/a@b.ics":               "https://dav.example:8443/cal/x/a@b.ics",
		"a.ics":                        "https://dav.example:8443/cal/x/a.ics",
		"../y/":                        "https://dav.example:8443/cal/y/",
		"https://other.example/z.ics":  "https://other.example/z.ics",
		"https://u:pw@other.example/z": "https://other.example/z",
		"//other.example/z":            "https://other.example/z",
		"bad%zz.ics":                   "https://dav.example:8443/cal/x/bad%zz.ics",
	} {
		if got := absURL(base, href); got != want {
			t.Errorf("absURL(%q) = %q, want %q", href, got, want)
		}
	}
	for _, pair := range [][2]string{
		{"https://h/cal/a%20b.ics", "/cal/a b.ics"},
		{"/cal/", "/cal"},
		{"http://h", "/"},
	} {
		if canonPath(hrefPath(pair[0])) != canonPath(pair[1]) {
			t.Errorf("%q and %q differ: %q %q", pair[0], pair[1], canonPath(hrefPath(pair[0])), canonPath(pair[1]))
		}
	}
}

func TestCRLF(t *testing.T) {
	for in, want := range map[string]string{
		"\nA\nB\n":     "A\r\nB\r\n",
		"A\r\nB\r\n":   "A\r\nB\r\n",
		"A\rB":         "A\r\nB\r\n",
		"  \n\t":       "",
		"A\r\n\r\nB\n": "A\r\n\r\nB\r\n",
	} {
		if got := string(crlf(in)); got != want {
			t.Errorf("crlf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBodySnippet(t *testing.T) {
	for body, want := range map[string]string{
		"":                            "",
		"  plain\n\ttext\r\n  here  ": "plain text here",
		"<html><head><title>Oops</title><style>p{}</style></head><body><p>Bad&nbsp;thing</p>" +
			"<script>alert(1)</script></body></html>": "Oops Bad thing",
		`<?xml version="1.0"?><D:error xmlns:D="DAV:"><D:valid-sync-token/></D:error>`: "valid-sync-token",
		`<C:error xmlns:C="urn:x"><C:no-uid-conflict/></C:error>`:                      "",
		"<p>broken <b>markup":     "broken markup",
		"bad \xff utf8 \x00 here": "bad ? utf8 here",
	} {
		if got := bodySnippet([]byte(body)); got != want {
			t.Errorf("bodySnippet(%q) = %q, want %q", body, got, want)
		}
	}
	long := bodySnippet([]byte(strings.Repeat("é", 500)))
	if utf8.RuneCountInString(long) != maxSnippet+1 || !strings.HasSuffix(long, "…") {
		t.Errorf("long body snippet has %d characters", utf8.RuneCountInString(long))
	}
}

func TestScrub(t *testing.T) {
	got := scrub("Authorization: Basic cmVtb3RlOnNlY3JldA== and Bearer abcdefgh123 password=hunter22 "+
		`{"access_token": "tok123"} my-secret here; realm Bearer x`, []string{"my-secret"})
	for _, secret := range []string{"cmVtb3RlOnNlY3JldA==", "abcdefgh123", "hunter22", "tok123", "my-secret"} {
		if strings.Contains(got, secret) {
			t.Errorf("scrub left %q in %q", secret, got)
		}
	}
	if !strings.Contains(got, "realm Bearer x") {
		t.Errorf("scrub overreached: %q", got)
	}
	if s := scrub("the sync token is invalid", nil); s != "the sync token is invalid" {
		t.Errorf("scrub changed an ordinary message: %q", s)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"120":                           2 * time.Minute,
		" 7 ":                           7 * time.Second,
		"-5":                            0,
		"soon":                          0,
		"Sun, 01 Mar 2026 12:01:30 GMT": 90 * time.Second,
		"Sun, 01 Mar 2026 11:00:00 GMT": 0,
		"99999999999999999999":          0,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

func FuzzParseMultistatus(f *testing.F) {
	f.Add([]byte(oddMultistatus))
	f.Add([]byte(`<multistatus xmlns="DAV:"><response><href>/a</href><status>HTTP/1.1 200 OK</status></response></multistatus>`))
	f.Add([]byte(`<D:multistatus xmlns:D="DAV:"><D:response><D:href></D:href></D:response></D:multistatus>`))
	base, _ := url.Parse("https://dav.example/cal/")
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := parseMultistatus(data)
		if err != nil {
			return
		}
		res := &davResult{multistatus: ms, base: base}
		for i := range ms.responses {
			r := &ms.responses[i]
			if r.href == "" {
				t.Fatal("response without href")
			}
			_ = res.abs(r.href)
			_ = etagOf(r)
			_ = crlf(r.prop(nsCalDAV, "calendar-data").value())
		}
		res.self()
	})
}

func FuzzBodySnippet(f *testing.F) {
	f.Add([]byte("<html><body>x</body></html>"))
	f.Add([]byte(`<D:error xmlns:D="DAV:"><D:valid-sync-token/></D:error>`))
	f.Add([]byte("plain\ntext"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := bodySnippet(data)
		if strings.ContainsAny(s, "\r\n\t") || !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxSnippet+1 {
			t.Fatalf("bodySnippet(%q) = %q", data, s)
		}
	})
}

func xmlName(space, local string) xml.Name { return xml.Name{Space: space, Local: local} }

func TestTarget(t *testing.T) {
	c := New(nil, Auth{})
	u, creds, err := c.target(" caldav.example.org/dav/ ")
	if err != nil || u.String() != "https://caldav.example.org/dav/" || creds != (Auth{}) {
		t.Errorf("bare host: %v %+v %v", u, creds, err)
	}
	u, creds, err = c.target("http://ann:pw%40x@h.example/cal/#frag")
	if err != nil || u.String() != "http://h.example/cal/" || creds != (Auth{Username: "ann", Password: "pw@x"}) {
		t.Errorf("URL with credentials: %v %+v %v", u, creds, err)
	}
	own := New(nil, Auth{Bearer: "t0ken"})
	if _, creds, _ := own.target("https://ann:pw@h.example/"); creds != (Auth{Bearer: "t0ken"}) {
		t.Errorf("the client's own credentials lost to the URL's: %+v", creds)
	}
	for _, bad := range []string{"ftp://h/x", "https:///x", "http://[::1"} {
		if _, _, err := c.target(bad); err == nil {
			t.Errorf("target(%q) accepted", bad)
		}
	}
}
