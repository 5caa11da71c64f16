package tz

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrUnknownZone: a name that is not an IANA time zone.
var ErrUnknownZone = errors.New("not an IANA time zone name")

// LoadIANA returns the IANA zone name (e.g. "Asia/Tokyo"), refusing
// anything else (Windows names, "Local", offsets) with ErrUnknownZone.
func LoadIANA(name string) (*time.Location, error) {
	if loc := loadIANA(name); loc != nil {
		return loc, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownZone, name)
}

// VCalendar returns a VCALENDAR holding one VTIMEZONE for the IANA zone
// name (what CalDAV's calendar-timezone property holds), describing the
// zone's rules as of the year of now: a yearly rule for each change of
// offset when the zone changes the same way the next year, else the
// changes of this year and the next as they are. TZID is the IANA name,
// which clients (and tz's Resolver) recognise before they read the
// observances.
func VCalendar(name string, now time.Time) (string, error) {
	loc, err := LoadIANA(name)
	if err != nil {
		return "", err
	}
	year := now.In(loc).Year()
	this, next := transitions(loc, year), transitions(loc, year+1)
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Koyomi//Koyomi//EN\r\nBEGIN:VTIMEZONE\r\n")
	b.WriteString("TZID:" + name + "\r\nX-LIC-LOCATION:" + name + "\r\n")
	switch {
	case len(this) == 0:
		// No change this year: the offset in force is the zone's.
		t := time.Date(year, 7, 1, 0, 0, 0, 0, loc)
		abbr, off := t.Zone()
		kind := "STANDARD"
		if t.IsDST() {
			kind = "DAYLIGHT"
		}
		writeObservance(&b, kind, abbr, off, off, "19700101T000000", "")
	case sameYearly(this, next):
		for _, tr := range this {
			writeObservance(&b, tr.kind(), tr.abbr, tr.from, tr.to, tr.wallStart(), tr.rule())
		}
	default:
		for _, tr := range append(this, next...) {
			writeObservance(&b, tr.kind(), tr.abbr, tr.from, tr.to, tr.wallStart(), "")
		}
	}
	b.WriteString("END:VTIMEZONE\r\nEND:VCALENDAR\r\n")
	return b.String(), nil
}

// change is one change of a zone's offset.
type change struct {
	at       time.Time // the instant, UTC
	from, to int       // offsets in seconds east of UTC
	abbr     string    // the abbreviation after the change
	dst      bool      // whether the offset after the change is daylight saving time
}

func (c change) kind() string {
	if c.dst {
		return "DAYLIGHT"
	}
	return "STANDARD"
}

// wall is the local time just before the change, which is how a VTIMEZONE
// observance gives its onset (RFC 5545 3.6.5: in the offset it starts from).
func (c change) wall() time.Time { return c.at.Add(time.Duration(c.from) * time.Second).UTC() }

func (c change) wallStart() string { return c.wall().Format("20060102T150405") }

// rule is the yearly rule the change follows: the nth (or last) weekday of
// its month.
func (c change) rule() string {
	w := c.wall()
	n := (w.Day()-1)/7 + 1
	if w.AddDate(0, 0, 7).Month() != w.Month() {
		n = -1
	}
	return fmt.Sprintf("FREQ=YEARLY;BYMONTH=%d;BYDAY=%d%s", int(w.Month()), n, strings.ToUpper(w.Weekday().String()[:2]))
}

// sameRules reports whether two years change the same way: as many
// changes, each by the same rule, at the same time of day and offsets.
func sameYearly(a, b []change) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].rule() != b[i].rule() || a[i].from != b[i].from || a[i].to != b[i].to ||
			a[i].wall().Format("150405") != b[i].wall().Format("150405") {
			return false
		}
	}
	return true
}

// transitions lists the changes of loc's offset during year, found by
// stepping through it a quarter of an hour at a time (no zone changes more
// often) and narrowing each change down to the second.
func transitions(loc *time.Location, year int) []change {
	const step = 15 * time.Minute
	var out []change
	t := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(year+1, 1, 1, 0, 0, 0, 0, time.UTC)
	_, off := t.In(loc).Zone()
	for ; t.Before(end); t = t.Add(step) {
		next := t.Add(step)
		abbr, nextOff := next.In(loc).Zone()
		if nextOff == off {
			continue
		}
		lo, hi := t, next // the offset is off at lo and nextOff at hi
		for hi.Sub(lo) > time.Second {
			mid := lo.Add(hi.Sub(lo) / 2)
			if _, o := mid.In(loc).Zone(); o == off {
				lo = mid
			} else {
				hi = mid
			}
		}
		out = append(out, change{at: hi, from: off, to: nextOff, abbr: abbr, dst: hi.In(loc).IsDST()})
		off = nextOff
	}
	return out
}

func writeObservance(b *strings.Builder, kind, abbr string, from, to int, start, rule string) {
	b.WriteString("BEGIN:" + kind + "\r\n")
	b.WriteString("DTSTART:" + start + "\r\n")
	if rule != "" {
		b.WriteString("RRULE:" + rule + "\r\n")
	}
	b.WriteString("TZOFFSETFROM:" + formatOffset(from) + "\r\n")
	b.WriteString("TZOFFSETTO:" + formatOffset(to) + "\r\n")
	if abbr != "" && !strings.ContainsAny(abbr, "+-") {
		b.WriteString("TZNAME:" + abbr + "\r\n")
	}
	b.WriteString("END:" + kind + "\r\n")
}

// formatOffset writes an offset as RFC 5545 3.3.14 does: +HHMM, or
// +HHMMSS when it has seconds.
func formatOffset(off int) string {
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	s := fmt.Sprintf("%s%02d%02d", sign, off/3600, off/60%60)
	if off%60 != 0 {
		s += fmt.Sprintf("%02d", off%60)
	}
	return s
}

// TZID returns the TZID of the VTIMEZONE in a calendar-timezone value, ""
// when it holds none.
func TZID(calendarTimezone string) string {
	for _, line := range strings.Split(strings.ReplaceAll(calendarTimezone, "\r\n", "\n"), "\n") {
		if v, ok := strings.CutPrefix(line, "TZID:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
