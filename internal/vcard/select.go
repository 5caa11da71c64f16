package vcard

import (
	"bytes"
	"fmt"
	"strings"
)

// Select returns partial address-data (RFC 6352 section 10.4.2): c (whose
// stored bytes are data) with only the properties named in props. An empty
// props asks for the whole card, which is data unchanged.
//
// Names follow the group rule of section 10.4.2: "TEL" selects TEL with any
// group prefix or none, "item1.TEL" only TEL in group item1. BEGIN, END and
// VERSION are always kept, whether named or not, because a vCard without them
// is not a vCard any more. Selected lines are copied as the client sent
// them, folding and line ends included, so that inline photos come back
// byte for byte; a last line without a line end gets CRLF.
func Select(data []byte, c *Card, props []string) ([]byte, error) {
	if len(props) == 0 {
		return data, nil
	}
	for _, name := range props {
		if err := validateName(name); err != nil {
			return nil, fmt.Errorf("vcard: address-data prop %w", err)
		}
	}
	var b bytes.Buffer
	writeRaw(&b, c.begin.raw)
	for i := range c.props {
		p := &c.props[i]
		if p.name == "VERSION" || selected(p, props) {
			writeRaw(&b, p.raw)
		}
	}
	writeRaw(&b, c.end.raw)
	return b.Bytes(), nil
}

func selected(p *property, names []string) bool {
	for _, name := range names {
		if nameMatches(p, name) {
			return true
		}
	}
	return false
}

func writeRaw(b *bytes.Buffer, raw string) {
	b.WriteString(raw)
	if !strings.HasSuffix(raw, "\n") {
		b.WriteString("\r\n")
	}
}
