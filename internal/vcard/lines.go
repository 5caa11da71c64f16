package vcard

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// contentLines splits data into unfolded content lines (RFC 6350 section
// 3.2), each remembering the exact bytes it came from. Blank lines are
// skipped; a line ends at LF or CRLF.
func contentLines(data []byte) ([]property, error) {
	var (
		props []property
		cur   *strings.Builder // text of the logical line being assembled
		start int              // offset of its first byte
		first int              // its first physical line number
		end   int              // offset after its last physical line
	)
	flush := func() error {
		if cur == nil {
			return nil
		}
		p, err := parseLine(cur.String(), first)
		if err != nil {
			return err
		}
		p.raw = string(data[start:end])
		props = append(props, p)
		cur = nil
		return nil
	}
	lineNo := 0
	for pos := 0; pos < len(data); {
		lineNo++
		next := len(data)
		if i := bytes.IndexByte(data[pos:], '\n'); i >= 0 {
			next = pos + i + 1
		}
		text := string(data[pos:next])
		text = strings.TrimSuffix(text, "\n")
		text = strings.TrimSuffix(text, "\r")
		if i := controlChar(text); i >= 0 {
			name := text
			if cur != nil && text != "" && (text[0] == ' ' || text[0] == '\t') {
				name = cur.String()
			}
			return nil, invalid("line %d (%s): control character U+%04X is not allowed in vCard text", lineNo, propertyName(name), text[i])
		}
		switch {
		case cur != nil && text != "" && (text[0] == ' ' || text[0] == '\t'):
			cur.WriteString(text[1:])
			end = next
		case strings.TrimSpace(text) == "":
			if err := flush(); err != nil {
				return nil, err
			}
		case text[0] == ' ' || text[0] == '\t':
			return nil, invalid("line %d: a folded continuation line (starting with white space) without a line to continue", lineNo)
		default:
			if err := flush(); err != nil {
				return nil, err
			}
			cur = &strings.Builder{}
			cur.WriteString(text)
			start, end, first = pos, next, lineNo
		}
		pos = next
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return props, nil
}

// propertyName returns the name of the content line text, made printable
// and short enough for a message.
func propertyName(text string) string {
	if i := strings.IndexAny(text, ";:"); i >= 0 {
		text = text[:i]
	}
	name := []rune(strings.ToValidUTF8(text, "?"))
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

// CheckCharacters refuses vCard data holding the noncharacters U+FFFE or
// U+FFFF, which no XML answer could carry (XML 1.0 section 2.2); Parse
// refuses control characters. The error wraps ErrInvalidData and names the
// line and the property.
//
// Parse does not check this: cards stored before it was checked must still
// be read. It is for data coming in.
func CheckCharacters(data []byte) error {
	line, name := 0, ""
	for rest := string(data); rest != ""; {
		line++
		text := rest
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			text, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		if text != "" && text[0] != ' ' && text[0] != '\t' {
			name = propertyName(text)
		}
		if i := strings.IndexAny(text, "\uFFFE\uFFFF"); i >= 0 {
			r, _ := utf8.DecodeRuneInString(text[i:])
			return invalid("line %d (%s): character %U is not allowed in vCard data", line, name, r)
		}
	}
	return nil
}

// controlChar returns the index of the first control character other than
// horizontal tab in s, or -1. RFC 6350 allows none in content lines.
func controlChar(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return i
		}
	}
	return -1
}

// parseLine splits one unfolded content line into group, name, parameters
// and value:
//
//	contentline = [group "."] name *(";" param) ":" value
func parseLine(text string, line int) (property, error) {
	p := property{line: line}
	i := strings.IndexAny(text, ";:")
	if i < 0 {
		return p, invalid("line %d: no ':' between property name and value in %q", line, firstLine(text))
	}
	name := text[:i]
	if j := strings.LastIndexByte(name, '.'); j >= 0 {
		p.group, name = name[:j], name[j+1:]
		if !isToken(p.group) {
			return p, invalid("line %d: invalid group %q (letters, digits and '-' only)", line, p.group)
		}
	}
	if !isToken(name) {
		return p, invalid("line %d: invalid property name %q (letters, digits and '-' only)", line, name)
	}
	p.name, p.sentName = strings.ToUpper(name), name
	rest := text[i:]
	for rest[0] == ';' {
		rest = rest[1:]
		k := strings.IndexAny(rest, "=;:")
		if k < 0 {
			return p, invalid("line %d: %s parameters not followed by ':' and a value", line, p.name)
		}
		pname := rest[:k]
		if rest[k] != '=' {
			// A value without a name, as vCard 2.1 wrote TYPE and
			// ENCODING values (TEL;WORK;VOICE:..., PHOTO;JPEG;BASE64:...),
			// which some 3.0 producers still emit.
			rest = rest[k:]
			if pname == "" {
				continue
			}
			if !isToken(pname) {
				return p, invalid("line %d: invalid %s parameter %q", line, p.name, pname)
			}
			name := "TYPE"
			switch strings.ToUpper(pname) {
			case "BASE64", "QUOTED-PRINTABLE", "8BIT":
				name = "ENCODING"
			}
			p.params = append(p.params, param{name: name, values: []string{pname}})
			continue
		}
		if !isToken(pname) {
			return p, invalid("line %d: invalid %s parameter name %q", line, p.name, pname)
		}
		rest = rest[k+1:]
		pa := param{name: strings.ToUpper(pname)}
		for {
			var v string
			if rest != "" && rest[0] == '"' {
				e := strings.IndexByte(rest[1:], '"')
				if e < 0 {
					return p, invalid("line %d: unterminated quoted value of %s parameter %s", line, p.name, pa.name)
				}
				v, rest = rest[1:1+e], rest[2+e:]
			} else {
				e := strings.IndexAny(rest, ",;:")
				if e < 0 {
					return p, invalid("line %d: %s parameters not followed by ':' and a value", line, p.name)
				}
				v, rest = rest[:e], rest[e:]
			}
			if pa.name == "TYPE" {
				// RFC 6350's own examples quote a TYPE list
				// (TYPE="work,voice"); it means the same as the unquoted one.
				pa.values = append(pa.values, strings.Split(decodeCaret(v), ",")...)
			} else {
				pa.values = append(pa.values, decodeCaret(v))
			}
			if rest == "" {
				return p, invalid("line %d: %s parameters not followed by ':' and a value", line, p.name)
			}
			if rest[0] == ',' {
				rest = rest[1:]
				continue
			}
			if rest[0] != ';' && rest[0] != ':' {
				return p, invalid("line %d: unexpected %q after the quoted value of %s parameter %s", line, rest[0], p.name, pa.name)
			}
			break
		}
		p.params = append(p.params, pa)
	}
	p.value = rest[1:]
	return p, nil
}

// isToken reports whether s is a non-empty name of letters, digits, '-' and
// (for producers that use it in x-names) '_'.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// decodeCaret decodes the parameter value escapes of RFC 6868 (^n, ^^, ^').
func decodeCaret(s string) string {
	if !strings.Contains(s, "^") {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '^' && i+1 < len(s) {
			switch s[i+1] {
			case 'n', 'N':
				sb.WriteByte('\n')
				i++
				continue
			case '^':
				sb.WriteByte('^')
				i++
				continue
			case '\'':
				sb.WriteByte('"')
				i++
				continue
			}
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}
