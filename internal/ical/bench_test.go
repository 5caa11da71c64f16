package ical

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// benchBerlin is the VTIMEZONE clients send with Europe/Berlin events.
var benchBerlin = []string{
	"BEGIN:VTIMEZONE", "TZID:Europe/Berlin",
	"BEGIN:DAYLIGHT", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "TZNAME:CEST", "DTSTART:19700329T020000",
	"RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "END:DAYLIGHT",
	"BEGIN:STANDARD", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "TZNAME:CET", "DTSTART:19701025T030000",
	"RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "END:STANDARD",
	"END:VTIMEZONE",
}

// benchEventLines is a typical client-written event, about 1 KB with its
// calendar, starting at dtstart (a local Berlin time) and recurring by rrule
// when that is not empty.
func benchEventLines(uid, dtstart, rrule string) []string {
	lines := []string{
		"BEGIN:VEVENT", "UID:" + uid,
		"DTSTAMP:20241201T101500Z", "CREATED:20241201T101500Z", "LAST-MODIFIED:20241202T081000Z", "SEQUENCE:1",
		"SUMMARY:Quarterly planning with the whole team",
		"DESCRIPTION:Agenda: review last quarter\\, agree on priorities\\, assign owners. Bring",
		"  the figures from the shared folder and the notes of the last meeting.",
		"LOCATION:Room 12\\, second floor",
		"ORGANIZER;CN=Alice Example:mailto:alice@example.org",
		"ATTENDEE;CN=Bob Example;PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:bob@example.org",
		"ATTENDEE;CN=Carol Example;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:carol@example.org",
		"DTSTART;TZID=Europe/Berlin:" + dtstart,
		"DTEND;TZID=Europe/Berlin:" + dtstart[:9] + "110000",
	}
	if rrule != "" {
		lines = append(lines, "RRULE:"+rrule)
	}
	return append(lines, "TRANSP:OPAQUE", "STATUS:CONFIRMED",
		"BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:Reminder", "TRIGGER:-PT15M", "END:VALARM",
		"END:VEVENT")
}

// benchSingle is a one-off event with its VTIMEZONE.
func benchSingle() []byte {
	return wrap(append(append([]string{}, benchBerlin...), benchEventLines("single@example.org", "20260114T100000", "")...)...)
}

// benchRecurring is a weekly event with a VTIMEZONE and five overrides.
func benchRecurring() []byte {
	lines := append([]string{}, benchBerlin...)
	lines = append(lines, benchEventLines("weekly@example.org", "20240108T100000", "FREQ=WEEKLY")...)
	for i := range 5 {
		day := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 7*(10*i+1))
		rid := day.Format("20060102") + "T100000"
		moved := day.AddDate(0, 0, 1).Format("20060102") + "T100000"
		ov := benchEventLines("weekly@example.org", moved, "")
		ov = append(ov[:2], append([]string{"RECURRENCE-ID;TZID=Europe/Berlin:" + rid}, ov[2:]...)...)
		lines = append(lines, ov...)
	}
	return wrap(lines...)
}

func BenchmarkParse(b *testing.B) {
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"single-1KB", wrap(benchEventLines("single@example.org", "20260114T100000", "")...)},
		{"vtimezone-5-overrides", benchRecurring()},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.SetBytes(int64(len(tt.data)))
			for b.Loop() {
				if _, err := Parse(tt.data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// weekFilter is the filter of a one-week calendar-query for events.
func weekFilter(start time.Time) *CompFilter {
	return &CompFilter{Name: "VCALENDAR", Comps: []CompFilter{{Name: "VEVENT",
		TimeRange: &TimeRange{Start: start, End: start.AddDate(0, 0, 7)}}}}
}

func BenchmarkMatchTimeRange(b *testing.B) {
	week := time.Date(2026, 1, 12, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name  string
		data  []byte
		start time.Time
		want  bool
	}{
		{"single-hit", benchSingle(), week, true},
		{"single-miss", benchSingle(), week.AddDate(0, 0, 7), false},
		{"recurring-hit", benchRecurring(), week, true},
		{"recurring-override", benchRecurring(), time.Date(2025, 1, 13, 0, 0, 0, 0, time.UTC), true},
	} {
		b.Run(tt.name, func(b *testing.B) {
			o, err := Parse(tt.data)
			if err != nil {
				b.Fatal(err)
			}
			f := weekFilter(tt.start)
			for b.Loop() {
				ok, err := o.Match(f, time.UTC)
				if err != nil || ok != tt.want {
					b.Fatalf("Match = %v, %v; want %v", ok, err, tt.want)
				}
			}
		})
	}
}

func BenchmarkRenderExpand(b *testing.B) {
	o, err := Parse(benchRecurring())
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, weeks := range []int{1, 13} {
		b.Run(fmt.Sprintf("weeks=%d", weeks), func(b *testing.B) {
			d := &CalendarData{Expand: &TimeRange{Start: start, End: start.AddDate(0, 0, 7*weeks)}}
			for b.Loop() {
				out, err := o.Render(nil, d, time.UTC)
				if err != nil || strings.Count(string(out), "BEGIN:VEVENT") < weeks {
					b.Fatalf("Render: %v\n%s", err, out)
				}
			}
		})
	}
}
