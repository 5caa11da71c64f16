package ical

import "bytes"

// oneTimeFrame reports, from an object's raw bytes and without parsing it,
// whether the values that decide which instances its recurrence set has —
// DTSTART, the UNTIL of RRULE, EXDATE, RDATE and RECURRENCE-ID — are all
// floating (dates included) or all anchored to an instant (UTC or TZID).
// Only then is the set the same whatever zone floating times are read in:
// a floating DTSTART with an UTC UNTIL, say, ends the series one instance
// earlier in zones west of UTC than in UTC, where the index expanded it.
// VTIMEZONE components are skipped; a value it cannot classify counts as
// both kinds, so the answer errs towards false.
func oneTimeFrame(data []byte) bool {
	var floating, anchored bool
	note := func(v []byte, tzid bool) {
		v = bytes.TrimSpace(v)
		switch {
		case len(v) == 8:
			floating = true
		case len(v) == 16 && (v[15] == 'Z' || v[15] == 'z'):
			anchored = true
		case len(v) == 15 && tzid:
			anchored = true
		case len(v) == 15:
			floating = true
		default:
			floating, anchored = true, true
		}
	}
	inZone := 0
	var joined []byte
	for rest := data; len(rest) > 0; {
		line, next := nextLine(rest)
		rest = next
		if len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
			joined = append(joined[:0], line...)
			for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
				var cont []byte
				cont, rest = nextLine(rest)
				joined = append(joined, cont[1:]...)
			}
			line = joined
		}
		name, params, value, ok := splitLine(line)
		if !ok {
			continue
		}
		switch {
		case equalFold(name, "BEGIN") && equalFold(value, "VTIMEZONE"):
			inZone++
		case equalFold(name, "END") && equalFold(value, "VTIMEZONE"):
			inZone--
		case inZone > 0:
		case equalFold(name, "RRULE"):
			i := indexFold(value, "UNTIL=")
			if i < 0 {
				continue
			}
			until := value[i+len("UNTIL="):]
			if j := bytes.IndexByte(until, ';'); j >= 0 {
				until = until[:j]
			}
			note(until, false)
		case equalFold(name, "DTSTART"), equalFold(name, "EXDATE"), equalFold(name, "RDATE"), equalFold(name, "RECURRENCE-ID"):
			tzid := indexFold(params, ";TZID=") >= 0
			for v := range bytes.SplitSeq(value, []byte(",")) {
				if j := bytes.IndexByte(v, '/'); j >= 0 { // an RDATE period
					v = v[:j]
				}
				note(v, tzid)
			}
		}
		if floating && anchored {
			return false
		}
	}
	return true
}

// nextLine returns the physical line at the start of b without its line
// break, and what follows it.
func nextLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		line, rest = b, nil
	} else {
		line, rest = b[:i], b[i+1:]
	}
	return bytes.TrimSuffix(line, []byte("\r")), rest
}

// splitLine splits a content line into its name, its parameters (from the
// first ';' on, empty when none) and its value; a ':' inside a quoted
// parameter value does not end the parameters.
func splitLine(line []byte) (name, params, value []byte, ok bool) {
	quoted := false
	nameEnd := -1
	for i, c := range line {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == ';' && nameEnd < 0:
			nameEnd = i
		case c == ':':
			if nameEnd < 0 {
				nameEnd = i
			}
			return line[:nameEnd], line[nameEnd:i], line[i+1:], true
		}
	}
	return nil, nil, nil, false
}

func equalFold(b []byte, s string) bool { return bytes.EqualFold(b, []byte(s)) }

// indexFold is bytes.Index ignoring ASCII case.
func indexFold(b []byte, s string) int {
	for i := 0; i+len(s) <= len(b); i++ {
		if bytes.EqualFold(b[i:i+len(s)], []byte(s)) {
			return i
		}
	}
	return -1
}
