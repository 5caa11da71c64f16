package dav

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// errorChildren returns the names of the child elements of every DAV:error
// in body, and its comments.
func errorChildren(t *testing.T, body []byte) (children []xml.Name, comments []string) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(body))
	var stack []xml.Name
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return children, comments
		}
		if err != nil {
			t.Fatalf("%v\n%s", err, body)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if n := len(stack); n > 0 && stack[n-1] == Name("error") {
				children = append(children, tok.Name)
			}
			stack = append(stack, tok.Name)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.Comment:
			comments = append(comments, string(tok))
		}
	}
}

// Every child of DAV:error is a condition code to a client (RFC 4918
// section 14.5): the explanation is outside it, in DAV:responsedescription
// next to it in a multistatus, in a comment in an error document.
func TestErrorBodyHoldsOnlyConditions(t *testing.T) {
	cond := xml.Name{Space: NSCalDAV, Local: "valid-calendar-data"}
	msg := "line 5, SUMMARY: control character U+0007 -- not allowed"

	rec := httptest.NewRecorder()
	writeError(rec, &Error{Status: http.StatusForbidden, Condition: cond, Msg: msg})
	children, comments := errorChildren(t, rec.Body.Bytes())
	if len(children) != 1 || children[0] != cond {
		t.Errorf("error document children %v, want only %v:\n%s", children, cond, rec.Body)
	}
	if len(comments) != 1 || !strings.Contains(comments[0], "control character U+0007") {
		t.Errorf("error document comments %q, want the message:\n%s", comments, rec.Body)
	}

	rec = httptest.NewRecorder()
	ms := NewMultistatus(rec)
	e := &Error{Status: http.StatusForbidden, Condition: cond, Msg: msg}
	ms.Response("/a", []PropStat{{Status: http.StatusForbidden, Props: []PropValue{{Name: Name("x")}}, Error: e}})
	ms.StatusResponse("/b", http.StatusForbidden, e)
	if err := ms.Close(""); err != nil {
		t.Fatal(err)
	}
	children, _ = errorChildren(t, rec.Body.Bytes())
	if len(children) != 2 || children[0] != cond || children[1] != cond {
		t.Errorf("multistatus error children %v, want only %v twice:\n%s", children, cond, rec.Body)
	}
	if got := strings.Count(rec.Body.String(), "<D:responsedescription>"+msg+"</D:responsedescription>"); got != 2 {
		t.Errorf("%d responsedescriptions with the message, want 2:\n%s", got, rec.Body)
	}
}
