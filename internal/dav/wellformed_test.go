package dav

import (
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/davlock"
	"koyomi.dev/koyomi/internal/xmltest"
)

// markupOnly escapes only what would be markup, as data stored by an older
// version (or written into the store by hand) might be: forbidden
// characters stay.
var markupOnly = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")

var hostileText = []string{
	"",
	"plain",
	"bell\a and nul\x00 and escape\x1b",
	"\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x1f",
	"tab\t lf\n cr\r crlf\r\n",
	"noncharacters \uFFFE \uFFFF",
	"invalid UTF-8 \xff\xfe \xc3 \xed\xa0\x80 (a surrogate)",
	"markup <a> & </D:multistatus> ]]> <!-- -- --> \" '",
	"xml:lang fr",
	"-",
	"--",
	"---",
	"comment end -->",
	"\u0085 next line, \u2028 line separator, \U0001F600",
}

// FuzzWritersWellFormed feeds arbitrary stored text through every writer
// of the engine (multistatus responses with text, calendar-data style,
// dead and error values, status responses, the closing sync-token, error
// documents, lock answers) and checks each answer is well-formed XML with
// no character XML forbids.
func FuzzWritersWellFormed(f *testing.F) {
	for _, s := range hostileText {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cond := xml.Name{Space: NSCalDAV, Local: "valid-calendar-data"}
		rec := httptest.NewRecorder()
		ms := NewMultistatus(rec)
		ms.Response("/c/"+s, []PropStat{
			{Status: http.StatusOK, Props: []PropValue{
				{Name: Name("displayname"), Inner: []byte(EscapeText(s))},
				{Name: xml.Name{Space: NSCalDAV, Local: "calendar-data"}, Inner: AppendEscapedText(nil, []byte(s))},
				{Name: xml.Name{Space: "urn:x", Local: "attr"}, Inner: []byte(`<D:href a="` + EscapeAttr(s) + `"/>`)},
				// A dead property as an older version might have stored it.
				{Name: xml.Name{Space: "urn:x", Local: "dead"},
					Raw: []byte(`<dead xmlns="urn:x" xmlns:a0="http://www.w3.org/XML/1998/namespace" a0:lang="` + markupOnly.Replace(s) + `">` + markupOnly.Replace(s) + `</dead>`)},
			}},
			{Status: http.StatusNotFound, Props: []PropValue{{Name: xml.Name{Space: "urn:y", Local: "missing"}}}},
			{Status: http.StatusForbidden, Props: []PropValue{{Name: Name("displayname")}},
				Error: &Error{Status: http.StatusForbidden, Condition: cond, Msg: s}},
			{Status: http.StatusConflict, Props: []PropValue{{Name: Name("x")}},
				Error: &Error{Status: http.StatusConflict, Condition: Name("no-conflicting-lock"),
					ConditionBody: "<D:href>" + markupOnly.Replace(s) + "</D:href>", Msg: s}},
		})
		ms.StatusResponse(s, http.StatusNotFound, &Error{Status: http.StatusNotFound, Condition: cond, Msg: s})
		if err := ms.Close("<D:sync-token>" + markupOnly.Replace(s) + "</D:sync-token>"); err != nil {
			t.Fatal(err)
		}
		xmltest.CheckWellFormed(t, "multistatus", rec.Body.Bytes())

		rec = httptest.NewRecorder()
		writeError(rec, &Error{Status: http.StatusForbidden, Condition: cond, ConditionBody: markupOnly.Replace(s), Msg: s})
		xmltest.CheckWellFormed(t, "error", rec.Body.Bytes())

		rec = httptest.NewRecorder()
		writeLockResponse(rec, davlock.Lock{Token: "urn:uuid:" + s, Root: "/" + s, Timeout: 60e9,
			Owner: []byte(`<owner xmlns="DAV:">` + markupOnly.Replace(s) + `</owner>`)}, http.StatusOK)
		xmltest.CheckWellFormed(t, "lock", rec.Body.Bytes())
	})
}

// TestEscapeTextReplacesForbidden checks the escapers on their own: what
// XML forbids becomes U+FFFD, everything else is kept.
func TestEscapeTextReplacesForbidden(t *testing.T) {
	cases := []struct{ in, want string }{
		{"a\ab", "a\uFFFDb"},
		{"\x00", "\uFFFD"},
		{"tab\tlf\ncr\r", "tab\tlf\ncr&#13;"},
		{"\uFFFE\uFFFF\uFFFD", "\uFFFD\uFFFD\uFFFD"},
		{"\xff<", "\uFFFD&lt;"},
		{"é€\U0001F600", "é€\U0001F600"},
	}
	for _, c := range cases {
		if got := EscapeText(c.in); got != c.want {
			t.Errorf("EscapeText(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := string(AppendEscapedText(nil, []byte(c.in))); got != c.want {
			t.Errorf("AppendEscapedText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
