package ical

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// CheckCharacters refuses iCalendar data holding a character RFC 5545
// allows in no content line (section 3.1: the control characters other than
// horizontal tab, CR only before LF) or one of the noncharacters U+FFFE and
// U+FFFF, which no XML answer could carry either (XML 1.0 section 2.2).
// The error wraps ErrInvalidData and names the line and the property, so
// that whoever wrote the data can find it.
//
// Parse does not check this: data stored before it was checked must still
// be read. It is for data coming in.
func CheckCharacters(data []byte) error {
	line, name := 0, ""
	for rest := data; len(rest) > 0; {
		line++
		text := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			text, rest = bytes.TrimSuffix(rest[:i], []byte("\r")), rest[i+1:]
		} else {
			rest = nil
		}
		if len(text) > 0 && text[0] != ' ' && text[0] != '\t' {
			name = propertyName(text)
		}
		if i, r := forbiddenChar(text); i >= 0 {
			return fmt.Errorf("%w: line %d (%s): character %U is not allowed in iCalendar data (RFC 5545 section 3.1)",
				ErrInvalidData, line, name, r)
		}
	}
	return nil
}

// propertyName returns the name of the content line that starts with text,
// made printable and short enough for a message.
func propertyName(text []byte) string {
	if i := bytes.IndexAny(text, ";:"); i >= 0 {
		text = text[:i]
	}
	name := []rune(string(bytes.ToValidUTF8(text, []byte("?"))))
	for i, r := range name {
		if r < 0x20 || r == 0x7f || r == 0xFFFE || r == 0xFFFF {
			name[i] = '?'
		}
	}
	if len(name) > 40 {
		return string(name[:40]) + "..."
	}
	return string(name)
}

// forbiddenChar returns the offset and value of the first control
// character other than tab, or noncharacter U+FFFE or U+FFFF, in text; -1
// if there is none.
func forbiddenChar(text []byte) (int, rune) {
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\t') || c == 0x7f {
				return i, rune(c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(text[i:])
		if r == 0xFFFE || r == 0xFFFF {
			return i, r
		}
		i += n
	}
	return -1, 0
}
