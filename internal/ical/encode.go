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

func encodeComponent(sb *bytes.Buffer, c *goical.Component) {
	writeLine(sb, "BEGIN:"+c.Name)
	names := make([]string, 0, len(c.Props))
	for name := range c.Props {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		ia, ib := slices.Index(leadingProps, a), slices.Index(leadingProps, b)
		switch {
		case ia >= 0 && ib >= 0:
			return ia - ib
		case ia >= 0:
			return -1
		case ib >= 0:
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, name := range names {
		for _, p := range c.Props[name] {
			writeLine(sb, contentLine(name, &p))
		}
	}
	for _, child := range c.Children {
		encodeComponent(sb, child)
	}
	writeLine(sb, "END:"+c.Name)
}

func contentLine(name string, p *goical.Prop) string {
	var sb strings.Builder
	sb.WriteString(name)
	params := make([]string, 0, len(p.Params))
	for k := range p.Params {
		params = append(params, k)
	}
	slices.Sort(params)
	for _, k := range params {
		sb.WriteString(";")
		sb.WriteString(k)
		sb.WriteString("=")
		for i, v := range p.Params[k] {
			if i > 0 {
				sb.WriteString(",")
			}
			// A parameter value cannot hold a DQUOTE (the decoder never
			// produces one); drop it rather than emit a broken line.
			v = strings.ReplaceAll(v, `"`, "")
			if strings.ContainsAny(v, ";:,") {
				v = `"` + v + `"`
			}
			sb.WriteString(v)
		}
	}
	sb.WriteString(":")
	sb.WriteString(p.Value)
	return sb.String()
}

// writeLine writes line folded at maxLineOctets without splitting a UTF-8
// sequence, each continuation starting with a space.
func writeLine(sb *bytes.Buffer, line string) {
	limit := maxLineOctets
	for len(line) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		sb.WriteString(line[:cut])
		sb.WriteString("\r\n ")
		line = line[cut:]
		limit = maxLineOctets - 1
	}
	sb.WriteString(line)
	sb.WriteString("\r\n")
}
