package vcard

import (
	"bytes"
	"fmt"
	"strings"
)

// Builder writes a new vCard, for cards Koyomi makes itself (the directory
// address book's); a client's cards are kept as sent and never rebuilt.
// Lines are folded at 75 octets and end with CRLF.
type Builder struct {
	b bytes.Buffer
}

// NewBuilder starts a card of version "3.0" or "4.0".
func NewBuilder(version string) (*Builder, error) {
	if version != Version3 && version != Version4 {
		return nil, fmt.Errorf("vcard: cannot build vCard version %q (want 3.0 or 4.0)", version)
	}
	w := &Builder{}
	writeLine(&w.b, &property{name: "BEGIN", value: "VCARD"})
	writeLine(&w.b, &property{name: "VERSION", value: version})
	return w, nil
}

// Add adds a property name (upper case, e.g. "FN") whose value is text:
// one component, or the components of a structured value such as N,
// joined by ";". Each component is escaped as TEXT (RFC 6350 section 3.4,
// RFC 2426 section 4); what no vCard may hold (control characters other
// than tab and newline, invalid UTF-8, U+FFFE and U+FFFF) is dropped, so
// that the card always parses. types, if any, are the TYPE parameter.
func (w *Builder) Add(name string, types []string, components ...string) {
	p := property{name: name}
	if len(types) > 0 {
		p.params = []param{{name: "TYPE", values: types}}
	}
	escaped := make([]string, len(components))
	for i, c := range components {
		escaped[i] = escapeText(c)
	}
	p.value = strings.Join(escaped, ";")
	writeLine(&w.b, &p)
}

// Bytes ends the card and returns it; the Builder is done.
func (w *Builder) Bytes() []byte {
	writeLine(&w.b, &property{name: "END", value: "VCARD"})
	return w.b.Bytes()
}

var textEscaper = strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`)

// escapeText is the inverse of unescapeText for text a vCard may hold.
func escapeText(s string) string {
	s = strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f || r == 0xFFFE || r == 0xFFFF {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	return textEscaper.Replace(s)
}
