// Package xmltest checks, for tests, that what Koyomi writes is XML any
// client can parse. It knows nothing of WebDAV or of Koyomi's packages: it
// reads bytes.
package xmltest

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"testing"
	"unicode/utf8"
)

// CheckWellFormed fails t unless body is one well-formed XML document
// (one root element, every namespace declaration legal, no prefix declared
// for the xml namespace but xml) made only of characters XML 1.0 allows
// (section 2.2). The character check is written out here rather than
// borrowed from the code under test.
func CheckWellFormed(t testing.TB, what string, body []byte) {
	t.Helper()
	if !utf8.Valid(body) {
		t.Fatalf("%s: not UTF-8:\n%q", what, body)
	}
	for i, r := range string(body) {
		allowed := r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) ||
			(r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
		if !allowed {
			t.Fatalf("%s: character %U at offset %d is not allowed in XML:\n%q", what, r, i, body)
		}
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	depth, roots := 0, 0
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: not well-formed: %v\n%s", what, err, body)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
			for _, a := range tok.Attr {
				declares := a.Name.Space == "xmlns"
				if declares && (a.Name.Local == "xml") != (a.Value == "http://www.w3.org/XML/1998/namespace") {
					t.Fatalf("%s: illegal declaration xmlns:%s=%q:\n%s", what, a.Name.Local, a.Value, body)
				}
				if declares && a.Name.Local == "xmlns" {
					t.Fatalf("%s: declares the prefix xmlns:\n%s", what, body)
				}
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(tok)) > 0 {
				t.Fatalf("%s: text outside the root element:\n%s", what, body)
			}
		}
	}
	if roots != 1 || depth != 0 {
		t.Fatalf("%s: %d root elements, depth %d at the end:\n%s", what, roots, depth, body)
	}
	// A second pass resolves namespaces, which RawToken does not.
	d = xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	for {
		if _, err := d.Token(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s: not well-formed: %v\n%s", what, err, body)
		}
	}
}
