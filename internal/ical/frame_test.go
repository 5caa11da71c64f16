package ical

import "testing"

func TestOneTimeFrame(t *testing.T) {
	zone := []string{"BEGIN:VTIMEZONE", "TZID:Europe/Berlin", "BEGIN:STANDARD", "DTSTART:19701025T030000",
		"TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "END:STANDARD", "END:VTIMEZONE"}
	tests := []struct {
		name  string
		lines []string
		want  bool
	}{
		{"zoned start, UTC until and exdate", []string{"DTSTART;TZID=Europe/Berlin:20260101T100000",
			"RRULE:FREQ=DAILY;UNTIL=20260201T000000Z", "EXDATE;TZID=Europe/Berlin:20260105T100000,20260106T090000Z"}, true},
		{"a time zone's floating DTSTART is not the event's", append(append([]string{}, zone...),
			"DTSTART;TZID=Europe/Berlin:20260101T100000", "RRULE:FREQ=DAILY"), true},
		{"floating start, floating until", []string{"DTSTART:20260101T100000", "RRULE:FREQ=DAILY;UNTIL=20260201T100000"}, true},
		{"all-day with dates", []string{"DTSTART;VALUE=DATE:20260101", "RRULE:FREQ=YEARLY;UNTIL=20300101", "EXDATE;VALUE=DATE:20270101"}, true},
		{"floating start, UTC until", []string{"DTSTART:20260101T100000", "RRULE:FREQ=DAILY;UNTIL=20260201T100000Z"}, false},
		{"all-day start, UTC exdate", []string{"DTSTART;VALUE=DATE:20260101", "RRULE:FREQ=DAILY", "EXDATE:20260103T000000Z"}, false},
		{"zoned start, floating recurrence-id", []string{"DTSTART;TZID=Europe/Berlin:20260101T100000", "RRULE:FREQ=DAILY",
			"RECURRENCE-ID:20260102T100000"}, false},
		{"lower case names and a folded UNTIL", []string{"dtstart:20260101T100000", "rrule:FREQ=DAILY;UN", " TIL=20260201T100000Z"}, false},
		{"folded TZID parameter", []string{"DTSTART;TZ", " ID=Europe/Berlin:20260101T100000", "RRULE:FREQ=DAILY;UNTIL=20260201T000000Z"}, true},
		{"quoted TZID with a colon", []string{`DTSTART;TZID="odd:zone":20260101T100000`, "RRULE:FREQ=DAILY;UNTIL=20260201T000000Z"}, true},
		{"RDATE period", []string{"DTSTART:20260101T100000Z", "RDATE;VALUE=PERIOD:20260105T100000Z/PT1H"}, true},
		{"an unreadable value", []string{"DTSTART:20260101T100000Z", "EXDATE:tomorrow"}, false},
	}
	for _, tt := range tests {
		lines := append([]string{"BEGIN:VEVENT", "UID:x"}, tt.lines...)
		data := wrap(append(lines, "END:VEVENT")...)
		if got := oneTimeFrame(data); got != tt.want {
			t.Errorf("%s: oneTimeFrame = %v, want %v\n%s", tt.name, got, tt.want, data)
		}
	}
}
