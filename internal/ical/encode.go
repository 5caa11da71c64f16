package ical

import (
	"bytes"
	"slices"
	"strings"
	"unicode/utf8"

	goical "github.com/emersion/go-ical"
)

// The iCalendar encoder of go-ical refuses components that lack properties
// RFC 5545 requires, which a partial calendar-data selection legitimately
// leaves out, and does not fold long lines; Koyomi writes its own output.

// maxLineOctets is the longest content line RFC 5545 section 3.1 allows,
// excluding the CRLF.
const maxLineOctets = 75

// leadingProps are written first, in this order, so that generated output
// reads like what clients write; the rest follow alphabetically.
var leadingProps = []string{
	goical.PropVersion, goical.PropProductID, goical.PropCalendarScale,
	goical.PropTimezoneID, goical.PropUID, goical.PropRecurrenceID, goical.PropDateTimeStamp,
	goical.PropDateTimeStart, goical.PropDateTimeEnd, goical.PropDue, goical.PropDuration,
}

// propRank orders property names as leadingProps lists them, the rest
// after them.
func propRank(name string) int {
	if i := slices.Index(leadingProps, name); i >= 0 {
		return i
	}
	return len(leadingProps)
}

func encodeComponent(sb *bytes.Buffer, c *goical.Component) {
	e := encoder{out: sb}
	e.component(c)
}

// encoder writes components, reusing its scratch space from one content
// line and one component to the next.
type encoder struct {
	out    *bytes.Buffer
	line   []byte
	names  []string
	params []string
}

func (e *encoder) component(c *goical.Component) {
	writeLine(e.out, "BEGIN:"+c.Name)
	names := e.names[:0]
	for name := range c.Props {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		if ra, rb := propRank(a), propRank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	// Children reuse the scratch slice: keep this component's names.
	e.names = names[len(names):]
	for _, name := range names {
		for i := range c.Props[name] {
			e.contentLine(name, &c.Props[name][i])
		}
	}
	for _, child := range c.Children {
		e.component(child)
	}
	e.names = names[:0]
	writeLine(e.out, "END:"+c.Name)
}

// contentLine writes one property as a folded content line.
func (e *encoder) contentLine(name string, p *goical.Prop) {
	line := append(e.line[:0], name...)
	params := e.params[:0]
	for k := range p.Params {
		params = append(params, k)
	}
	slices.Sort(params)
	for _, k := range params {
		line = append(line, ';')
		line = append(line, k...)
		line = append(line, '=')
		for i, v := range p.Params[k] {
			if i > 0 {
				line = append(line, ',')
			}
			// A parameter value cannot hold a DQUOTE (the decoder never
			// produces one); drop it rather than emit a broken line.
			v = strings.ReplaceAll(v, `"`, "")
			if strings.ContainsAny(v, ";:,") {
				line = append(line, '"')
				line = append(line, v...)
				line = append(line, '"')
			} else {
				line = append(line, v...)
			}
		}
	}
	line = append(line, ':')
	line = append(line, p.Value...)
	e.line, e.params = line, params
	writeLineBytes(e.out, line)
}

// writeLineBytes is writeLine for a line held in bytes.
func writeLineBytes(sb *bytes.Buffer, line []byte) { writeFolded(sb, line) }

// writeLine writes line folded at maxLineOctets without splitting a UTF-8
// sequence, each continuation starting with a space.
func writeLine(sb *bytes.Buffer, line string) { writeFolded(sb, line) }

func writeFolded[T string | []byte](sb *bytes.Buffer, line T) {
	limit := maxLineOctets
	for len(line) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		sb.Write(append(sb.AvailableBuffer(), line[:cut]...))
		sb.WriteString("\r\n ")
		line = line[cut:]
		limit = maxLineOctets - 1
	}
	sb.Write(append(sb.AvailableBuffer(), line...))
	sb.WriteString("\r\n")
}
