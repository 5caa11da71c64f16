package ical

import (
	"strings"
	"testing"
	"time"
)

// ics joins lines into an iCalendar stream with CRLF line ends.
func ics(lines ...string) []byte {
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

// wrap puts component lines inside a VCALENDAR.
func wrap(lines ...string) []byte {
	all := append([]string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//Test//EN"}, lines...)
	return ics(append(all, "END:VCALENDAR")...)
}

func mustParse(t *testing.T, data []byte) *Object {
	t.Helper()
	o, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, data)
	}
	return o
}

// utc parses a UTC date-time in iCalendar form.
func utc(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(utcDateTimeLayout, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func rng(t *testing.T, start, end string) *TimeRange {
	t.Helper()
	var tr TimeRange
	if start != "" {
		tr.Start = utc(t, start)
	}
	if end != "" {
		tr.End = utc(t, end)
	}
	return &tr
}
