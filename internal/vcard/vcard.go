// Package vcard is Koyomi's vCard content layer, the CardDAV counterpart of
// package ical: it parses address object resources (vCard 3.0, RFC 2426, and
// 4.0, RFC 6350), checks them against the CardDAV rules (RFC 6352 section
// 5.1), extracts the fields the store indexes, evaluates addressbook-query
// filters (RFC 6352 section 10.5), converts between vCard 3.0 and 4.0 for
// clients that ask for the other version, and selects properties for
// partial address-data (section 10.4.2).
//
// It parses to index and never re-encodes the bytes a client stored: only
// Convert, and Builder for cards Koyomi makes itself, write new vCard text.
// It does no I/O and knows nothing of HTTP, XML or storage beyond filling
// the index fields of a store.Object.
package vcard

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"koyomi.dev/koyomi/internal/store"
)

// ErrInvalidData is wrapped by every Parse error: the bytes are not a vCard
// that can be an address object resource (CardDAV precondition
// valid-address-data).
var ErrInvalidData = errors.New("vcard: invalid vCard data")

// Component is the store.Object.Component of address objects.
const Component = "VCARD"

// Versions the package reads and writes.
const (
	Version3 = "3.0"
	Version4 = "4.0"
)

// Card is a parsed address object resource. The properties themselves stay
// private: callers keep the client's bytes and hand them back to Convert and
// Select together with the Card.
type Card struct {
	// UID is the value of the UID property, "" when the card has none
	// (UID is optional in vCard 3.0 and widespread clients omit it).
	UID string
	// Version is "3.0" or "4.0".
	Version string
	// Kind is the lower-cased KIND (4.0) or X-ADDRESSBOOKSERVER-KIND (the
	// Apple 3.0 spelling): individual, group, org, location or an x-name.
	// It is "individual", the RFC 6350 default, when neither is present.
	Kind string
	// FN is the formatted name, backslash escapes decoded.
	FN string

	begin, end property // the BEGIN:VCARD and END:VCARD lines
	props      []property
}

// property is one content line of the card.
type property struct {
	group    string // "" or the group prefix as sent, e.g. "item1"
	name     string // upper case
	sentName string // as sent, for Convert to keep e.g. X-ABLabel
	params   []param
	value    string // as sent (escaped), unfolded
	raw      string // the original bytes, folding and line end included
	line     int    // 1-based physical line number, for messages
}

// param is one parameter; parameters repeated on a line (TYPE=WORK;TYPE=VOICE)
// are kept as separate entries in order.
type param struct {
	name   string // upper case
	values []string
}

// paramValues returns every value of the parameters called name.
func (p *property) paramValues(name string) []string {
	var vs []string
	for _, pa := range p.params {
		if pa.name == name {
			vs = append(vs, pa.values...)
		}
	}
	return vs
}

func (p *property) hasParam(name string) bool {
	for _, pa := range p.params {
		if pa.name == name {
			return true
		}
	}
	return false
}

// Parse decodes data as exactly one vCard 3.0 or 4.0 and checks it as an
// address object resource. Errors wrap ErrInvalidData and say what is wrong.
//
// It is strict about syntax (one vCard, BEGIN/END, VERSION, UTF-8, no control
// characters) and lenient where widespread clients are sloppy: UID may be
// missing, N is not required, VERSION may come anywhere, blank lines and LF
// line ends are accepted, a parameter without "=" is read as a TYPE value
// (TEL;WORK:...) or an ENCODING (BASE64), and names are case-insensitive.
func Parse(data []byte) (*Card, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, invalid("empty body")
	}
	if !utf8.Valid(data) {
		return nil, invalid("not valid UTF-8")
	}
	lines, err := contentLines(data)
	if err != nil {
		return nil, err
	}
	c := &Card{}
	state := 0 // 0 before BEGIN, 1 inside, 2 after END
	for i := range lines {
		p := &lines[i]
		switch state {
		case 0:
			if p.name != "BEGIN" || !strings.EqualFold(p.value, "VCARD") || p.group != "" {
				return nil, invalid("line %d: a vCard starts with BEGIN:VCARD, found %q", p.line, firstLine(p.raw))
			}
			c.begin = *p
			state = 1
		case 1:
			switch p.name {
			case "BEGIN":
				if strings.EqualFold(p.value, "VCARD") {
					return nil, invalid("line %d: BEGIN:VCARD inside a vCard (nested vCards are not allowed)", p.line)
				}
				return nil, invalid("line %d: BEGIN:%s is not allowed in a vCard", p.line, p.value)
			case "END":
				if !strings.EqualFold(p.value, "VCARD") {
					return nil, invalid("line %d: END:%s where END:VCARD was expected", p.line, p.value)
				}
				c.end = *p
				state = 2
			default:
				c.props = append(c.props, *p)
			}
		case 2:
			if p.name == "BEGIN" && strings.EqualFold(p.value, "VCARD") {
				return nil, invalid("line %d: a second vCard; an address object resource holds exactly one (RFC 6352 section 5.1)", p.line)
			}
			return nil, invalid("line %d: data after END:VCARD", p.line)
		}
	}
	switch state {
	case 0:
		return nil, invalid("no BEGIN:VCARD")
	case 1:
		return nil, invalid("BEGIN:VCARD without END:VCARD")
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidData}, args...)...)
}

// firstLine shortens raw to its first physical line for messages.
func firstLine(raw string) string {
	if i := strings.IndexAny(raw, "\r\n"); i >= 0 {
		raw = raw[:i]
	}
	if len(raw) > 60 {
		raw = raw[:60] + "..."
	}
	return raw
}

// validate checks VERSION, UID and FN and fills the exported fields.
func (c *Card) validate() error {
	var version, uid, fn, kind, appleKind []*property
	for i := range c.props {
		p := &c.props[i]
		switch p.name {
		case "VERSION":
			version = append(version, p)
		case "UID":
			uid = append(uid, p)
		case "FN":
			fn = append(fn, p)
		case "KIND":
			kind = append(kind, p)
		case "X-ADDRESSBOOKSERVER-KIND":
			appleKind = append(appleKind, p)
		}
	}
	switch len(version) {
	case 0:
		return invalid("no VERSION property (want VERSION:3.0 or VERSION:4.0)")
	case 1:
	default:
		return invalid("%d VERSION properties, exactly one is allowed", len(version))
	}
	switch v := strings.TrimSpace(version[0].value); v {
	case Version3, Version4:
		c.Version = v
	case "2.1":
		return invalid("vCard 2.1 is not supported; CardDAV stores vCard 3.0 or 4.0")
	default:
		return invalid("unsupported VERSION %q (want 3.0 or 4.0)", version[0].value)
	}
	if len(uid) > 1 {
		return invalid("%d UID properties, at most one is allowed", len(uid))
	}
	if len(uid) == 1 {
		c.UID = strings.TrimSpace(uid[0].value)
	}
	if len(fn) == 0 {
		return invalid("no FN property (vCard %s requires a formatted name)", c.Version)
	}
	c.FN = unescapeText(fn[0].value)
	c.Kind = "individual"
	switch {
	case len(kind) > 0:
		c.Kind = strings.ToLower(strings.TrimSpace(kind[0].value))
	case len(appleKind) > 0:
		c.Kind = strings.ToLower(strings.TrimSpace(appleKind[0].value))
	}
	if c.Kind == "" {
		c.Kind = "individual"
	}
	return nil
}

// Index fills the index fields of a store object from c: UID and Component
// ("VCARD"). The time fields, which only calendar objects use, are cleared.
func (c *Card) Index(dst *store.Object) {
	dst.UID = c.UID
	dst.Component = Component
	dst.SpanStart, dst.SpanEnd = time.Time{}, time.Time{}
	dst.Occurrences = nil
	dst.IndexedUntil = time.Time{}
	dst.Recurring = false
}

// unescapeText decodes the backslash escapes of a TEXT value (\\ \, \; \n
// \N). An unknown escape keeps the escaped character.
func unescapeText(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var sb strings.Builder
	sb.Grow(len(s))
	escaped := false
	for _, r := range s {
		switch {
		case escaped && (r == 'n' || r == 'N'):
			sb.WriteByte('\n')
		case escaped:
			sb.WriteRune(r)
		case r == '\\':
			escaped = true
			continue
		default:
			sb.WriteRune(r)
		}
		escaped = false
	}
	if escaped {
		sb.WriteByte('\\')
	}
	return sb.String()
}
