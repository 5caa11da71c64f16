package ical

import (
	"errors"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

func TestParseValidation(t *testing.T) {
	event := func(extra ...string) []string {
		return append([]string{"BEGIN:VEVENT", "UID:u1", "DTSTAMP:20240101T000000Z", "DTSTART:20240110T100000Z"}, append(extra, "END:VEVENT")...)
	}
	tests := []struct {
		name    string
		data    []byte
		wantErr error
		wantMsg string
	}{
		{"empty", []byte(" \r\n"), ErrInvalidData, "empty body"},
		{"invalid utf-8", wrap(event("SUMMARY:\xff\xfe")...), ErrInvalidData, "UTF-8"},
		{"not a calendar", ics(event()...), ErrInvalidData, "toplevel"},
		{"bad line", wrap(append(event(), "garbage without colon")...), ErrInvalidData, "colon"},
		{"unterminated begin", ics("BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:u1"), ErrInvalidData, "BEGIN without its END"},
		{"mismatched end", ics("BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:u1", "END:VTODO", "END:VCALENDAR"), ErrInvalidData, "expected END"},
		{"trailing calendar", append(wrap(event()...), wrap(event()...)...), ErrInvalidData, "after END:VCALENDAR"},
		{"quoted param panic", wrap(event(`SUMMARY;X-A="a"b:c`)...), ErrInvalidData, "malformed"},
		{"method", ics(append(append([]string{"BEGIN:VCALENDAR", "METHOD:REQUEST"}, event()...), "END:VCALENDAR")...), ErrInvalidObject, "METHOD"},
		{"no component", wrap("BEGIN:VTIMEZONE", "TZID:X", "END:VTIMEZONE"), ErrInvalidObject, "no VEVENT"},
		{"mixed kinds", wrap(append(event(), "BEGIN:VTODO", "UID:u1", "END:VTODO")...), ErrInvalidObject, "mixes VEVENT and VTODO"},
		{"different uids", wrap(append(event(), "BEGIN:VEVENT", "UID:u2", "RECURRENCE-ID:20240111T100000Z", "DTSTART:20240111T100000Z", "END:VEVENT")...), ErrInvalidObject, "different UIDs"},
		{"missing uid", wrap("BEGIN:VEVENT", "DTSTART:20240110T100000Z", "END:VEVENT"), ErrInvalidObject, "without UID"},
		{"missing dtstart", wrap("BEGIN:VEVENT", "UID:u1", "END:VEVENT"), ErrInvalidObject, "without DTSTART"},
		{"two masters", wrap(append(event(), event()...)...), ErrInvalidObject, "more than one VEVENT without RECURRENCE-ID"},
		{"duplicate override", wrap(append(append(event("RRULE:FREQ=DAILY"), event("RECURRENCE-ID:20240111T100000Z")...), event("RECURRENCE-ID:20240111T100000Z")...)...), ErrInvalidObject, "two VEVENT overrides"},
		{"dtend and duration", wrap(event("DTEND:20240110T110000Z", "DURATION:PT1H")...), ErrInvalidObject, "both DTEND and DURATION"},
		{"bad dtstart", wrap("BEGIN:VEVENT", "UID:u1", "DTSTART:tomorrow", "END:VEVENT"), ErrInvalidData, "DTSTART"},
		{"bad duration", wrap(event("DURATION:1H")...), ErrInvalidData, "DURATION"},
		{"bad rrule", wrap(event("RRULE:FREQ=SOMETIMES")...), ErrInvalidData, "RRULE"},
		{"bad exdate", wrap(event("RRULE:FREQ=DAILY", "EXDATE:2024-01-12")...), ErrInvalidData, "EXDATE"},
		{"two dtstarts", wrap(event("DTSTART:20240111T100000Z")...), ErrInvalidObject, "2 DTSTART"},
		{"todo due and duration", wrap("BEGIN:VTODO", "UID:t", "DTSTART:20240101T000000Z", "DUE:20240102T000000Z", "DURATION:P1D", "END:VTODO"), ErrInvalidObject, "both DUE and DURATION"},
		{"todo duration without dtstart", wrap("BEGIN:VTODO", "UID:t", "DURATION:P1D", "END:VTODO"), ErrInvalidObject, "DURATION without DTSTART"},
		{"alarm at top level", wrap(append(event(), "BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT5M", "END:VALARM")...), ErrInvalidObject, "VALARM component is not allowed"},
		{"vtimezone without tzid", wrap(append(event(), "BEGIN:VTIMEZONE", "END:VTIMEZONE")...), ErrInvalidObject, "VTIMEZONE without TZID"},

		{"sloppy but valid", ics("BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:u1", "DTSTART;VALUE=DATE:20240110", "END:VEVENT", "END:VCALENDAR"), nil, ""},
		{"lf line ends", []byte(strings.ReplaceAll(string(wrap(event()...)), "\r\n", "\n")), nil, ""},
		{"overrides without master", wrap(event("RECURRENCE-ID:20240110T100000Z")...), nil, ""},
		{"todo without dates", wrap("BEGIN:VTODO", "UID:t", "SUMMARY:x", "END:VTODO"), nil, ""},
		{"x component kept", wrap(append(event(), "BEGIN:X-THING", "END:X-THING")...), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := Parse(tt.data)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if o.UID == "" || o.Component == "" || o.TZ == nil {
					t.Fatalf("incomplete object %+v", o)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("err = %q, want it to mention %q", err, tt.wantMsg)
			}
		})
	}
}

func TestParseTimezone(t *testing.T) {
	data := ics("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:x",
		"BEGIN:VTIMEZONE", "TZID:Europe/Berlin",
		"BEGIN:STANDARD", "DTSTART:19701025T030000", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "END:STANDARD",
		"END:VTIMEZONE", "END:VCALENDAR")
	loc, tzid, err := ParseTimezone(data)
	if err != nil {
		t.Fatal(err)
	}
	if tzid != "Europe/Berlin" || loc == nil {
		t.Fatalf("got %v %q", loc, tzid)
	}
	if _, off := time.Date(2024, 1, 10, 12, 0, 0, 0, loc).Zone(); off != 3600 {
		t.Fatalf("offset in January = %d, want 3600", off)
	}
	if _, _, err := ParseTimezone(wrap("BEGIN:VEVENT", "UID:x", "END:VEVENT")); !errors.Is(err, ErrInvalidObject) {
		t.Fatalf("calendar without VTIMEZONE: err = %v", err)
	}
	withEvent := ics("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:x",
		"BEGIN:VTIMEZONE", "TZID:Europe/Berlin",
		"BEGIN:STANDARD", "DTSTART:19701025T030000", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "END:STANDARD",
		"END:VTIMEZONE", "BEGIN:VEVENT", "UID:x", "DTSTART:20240110T100000Z", "END:VEVENT", "END:VCALENDAR")
	if _, _, err := ParseTimezone(withEvent); !errors.Is(err, ErrInvalidObject) {
		t.Fatalf("VTIMEZONE with a VEVENT: err = %v", err)
	}
	if _, _, err := ParseTimezone([]byte("nonsense")); !errors.Is(err, ErrInvalidData) {
		t.Fatalf("nonsense: err = %v", err)
	}
}

func TestIndex(t *testing.T) {
	horizon := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name                 string
		data                 []byte
		component            string
		spanStart, spanEnd   string
		recurring            bool
		occurrences          int
		indexedUntil         string
		firstOccurrenceStart string
	}{
		{
			name:      "timed event with tzid",
			data:      wrap("BEGIN:VEVENT", "UID:a", "DTSTART;TZID=Europe/Berlin:20240110T100000", "DTEND;TZID=Europe/Berlin:20240110T110000", "END:VEVENT"),
			component: "VEVENT", spanStart: "20240110T090000Z", spanEnd: "20240110T100000Z",
		},
		{
			name:      "all-day event indexed as UTC",
			data:      wrap("BEGIN:VEVENT", "UID:a", "DTSTART;VALUE=DATE:20240110", "END:VEVENT"),
			component: "VEVENT", spanStart: "20240110T000000Z", spanEnd: "20240111T000000Z",
		},
		{
			name:      "finite daily rule",
			data:      wrap("BEGIN:VEVENT", "UID:a", "DTSTART:20240110T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=3", "END:VEVENT"),
			component: "VEVENT", spanStart: "20240110T100000Z", spanEnd: "20240112T110000Z",
			recurring: true, occurrences: 3, firstOccurrenceStart: "20240110T100000Z",
		},
		{
			name:      "infinite weekly rule stops at horizon",
			data:      wrap("BEGIN:VEVENT", "UID:a", "DTSTART:20241201T100000Z", "RRULE:FREQ=WEEKLY", "END:VEVENT"),
			component: "VEVENT", spanStart: "20241201T100000Z",
			recurring: true, occurrences: 5, indexedUntil: "20250101T000000Z", firstOccurrenceStart: "20241201T100000Z",
		},
		{
			name:      "infinite minutely rule is capped",
			data:      wrap("BEGIN:VEVENT", "UID:a", "DTSTART:20240101T000000Z", "RRULE:FREQ=MINUTELY", "END:VEVENT"),
			component: "VEVENT", spanStart: "20240101T000000Z",
			recurring: true, occurrences: MaxIndexedOccurrences, indexedUntil: "20240104T111900Z", firstOccurrenceStart: "20240101T000000Z",
		},
		{
			name:      "todo without dates has no span",
			data:      wrap("BEGIN:VTODO", "UID:t", "COMPLETED:20240101T000000Z", "END:VTODO"),
			component: "VTODO",
		},
		{
			name:      "freebusy span from periods",
			data:      wrap("BEGIN:VFREEBUSY", "UID:f", "FREEBUSY:20240110T100000Z/PT1H,20240112T100000Z/20240112T120000Z", "END:VFREEBUSY"),
			component: "VFREEBUSY", spanStart: "20240110T100000Z", spanEnd: "20240112T120000Z",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := mustParse(t, tt.data)
			var dst store.Object
			o.Index(&dst, horizon)
			if dst.UID != o.UID || dst.Component != tt.component {
				t.Errorf("uid/component = %q/%q", dst.UID, dst.Component)
			}
			check := func(what string, got time.Time, want string) {
				t.Helper()
				if want == "" {
					if !got.IsZero() {
						t.Errorf("%s = %v, want zero", what, got)
					}
					return
				}
				if w := utc(t, want); !got.Equal(w) {
					t.Errorf("%s = %v, want %v", what, got, w)
				}
			}
			check("SpanStart", dst.SpanStart, tt.spanStart)
			check("SpanEnd", dst.SpanEnd, tt.spanEnd)
			check("IndexedUntil", dst.IndexedUntil, tt.indexedUntil)
			if dst.Recurring != tt.recurring {
				t.Errorf("Recurring = %v", dst.Recurring)
			}
			if len(dst.Occurrences) != tt.occurrences {
				t.Errorf("%d occurrences, want %d", len(dst.Occurrences), tt.occurrences)
			}
			if tt.firstOccurrenceStart != "" && len(dst.Occurrences) > 0 {
				check("first occurrence", dst.Occurrences[0].Start, tt.firstOccurrenceStart)
			}
		})
	}
}

func TestWidenForFloating(t *testing.T) {
	tr := WidenForFloating(TimeRange{Start: time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC)})
	if !tr.End.IsZero() || !tr.Start.Equal(time.Date(2024, 1, 9, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("got %+v", tr)
	}
}
