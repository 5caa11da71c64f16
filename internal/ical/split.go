package ical

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// Part is one calendar object resource cut out of a whole-calendar stream.
type Part struct {
	UID  string
	Data []byte
}

// Split cuts a VCALENDAR stream holding many objects (an ICS feed, an
// export) into calendar object resources, one per UID: every component
// carrying the UID (the master and its overrides), with the VTIMEZONEs
// they reference. Components are copied as sent. The parts come in UID
// order and, for the same input, with the same bytes, so they can be
// compared from one fetch to the next. Components without a UID are
// skipped and counted in skipped.
func Split(feed []byte) (parts []Part, skipped int, err error) {
	if _, err := ParseCalendar(feed); err != nil {
		return nil, 0, err
	}
	type block struct {
		lines []string
		uid   string
		tzid  string
		isTZ  bool
	}
	var blocks []block
	var cur *block
	depth := 0
	for _, l := range mergeSplitLines(feed) {
		upper := strings.ToUpper(mergeFirstLine(l))
		if strings.HasPrefix(upper, "BEGIN:") {
			depth++
			if depth == 2 {
				blocks = append(blocks, block{isTZ: strings.TrimSpace(upper) == "BEGIN:VTIMEZONE"})
				cur = &blocks[len(blocks)-1]
			}
		}
		if depth >= 2 && cur != nil {
			cur.lines = append(cur.lines, l)
			if depth == 2 {
				name, value := splitNameValue(l)
				switch name {
				case "UID":
					cur.uid = value
				case "TZID":
					cur.tzid = value
				}
			}
		}
		if strings.HasPrefix(upper, "END:") {
			depth--
			if depth == 1 {
				cur = nil
			}
		}
	}
	zones := map[string][]string{}
	byUID := map[string][]string{}
	for _, b := range blocks {
		switch {
		case b.isTZ:
			if b.tzid != "" {
				zones[b.tzid] = b.lines
			}
		case b.uid == "":
			skipped++
		default:
			byUID[b.uid] = append(byUID[b.uid], b.lines...)
		}
	}
	uids := make([]string, 0, len(byUID))
	for uid := range byUID {
		uids = append(uids, uid)
	}
	sort.Strings(uids)
	tzids := make([]string, 0, len(zones))
	for id := range zones {
		tzids = append(tzids, id)
	}
	sort.Strings(tzids)
	for _, uid := range uids {
		lines := byUID[uid]
		var out bytes.Buffer
		out.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Koyomi//Koyomi//EN\r\n")
		body := strings.Join(lines, "\n")
		for _, id := range tzids {
			if strings.Contains(body, "TZID="+id) || strings.Contains(body, `TZID="`+id+`"`) {
				writeLines(&out, zones[id])
			}
		}
		writeLines(&out, lines)
		out.WriteString("END:VCALENDAR\r\n")
		if _, err := Parse(out.Bytes()); err != nil {
			return nil, 0, fmt.Errorf("object %s: %w", uid, err)
		}
		parts = append(parts, Part{UID: uid, Data: out.Bytes()})
	}
	return parts, skipped, nil
}

func writeLines(out *bytes.Buffer, lines []string) {
	for _, l := range lines {
		out.WriteString(l)
		out.WriteString("\r\n")
	}
}

// splitNameValue returns a content line's upper-cased name and its value
// (unfolded), ignoring parameters.
func splitNameValue(line string) (name, value string) {
	unfolded := strings.ReplaceAll(strings.ReplaceAll(line, "\r\n ", ""), "\r\n\t", "")
	head, value, ok := strings.Cut(unfolded, ":")
	if !ok {
		return "", ""
	}
	name, _, _ = strings.Cut(head, ";")
	return strings.ToUpper(strings.TrimSpace(name)), strings.TrimSpace(value)
}
