package recur

import (
	"errors"
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"

	"koyomi.dev/koyomi/internal/tz"
)

// parse decodes a calendar (lines may be indented and use \n) and returns
// its non-VTIMEZONE components and a resolver for it.
func parse(t testing.TB, text string) ([]*goical.Component, *tz.Resolver) {
	t.Helper()
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n")
	for line := range strings.SplitSeq(strings.TrimSpace(text), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			b.WriteString(line + "\r\n")
		}
	}
	b.WriteString("END:VCALENDAR\r\n")
	cal, err := goical.NewDecoder(strings.NewReader(b.String())).Decode()
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	var comps []*goical.Component
	for _, c := range cal.Children {
		if c.Name != "VTIMEZONE" {
			comps = append(comps, c)
		}
	}
	return comps, tz.NewResolver(cal)
}

func utc(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse("20060102T150405Z", s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// starts formats instance starts (and ends when withEnd) compactly.
func starts(in []Instance, withEnd bool) string {
	var parts []string
	for _, i := range in {
		s := i.Start.UTC().Format("20060102T150405Z")
		if withEnd {
			s += "/" + i.End.UTC().Format("20060102T150405Z")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func TestExpand(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	tests := []struct {
		name       string
		ics        string
		start, end string // range, "" = unbounded
		floating   *time.Location
		max        int
		want       string
		withEnd    bool
		wantErr    error
	}{
		{
			name: "RFC weekly for 10 in New York, across DST end",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART;TZID=America/New_York:19970902T090000
				RRULE:FREQ=WEEKLY;COUNT=10
				END:VEVENT`,
			want: "19970902T130000Z 19970909T130000Z 19970916T130000Z 19970923T130000Z 19970930T130000Z " +
				"19971007T130000Z 19971014T130000Z 19971021T130000Z 19971028T140000Z 19971104T140000Z",
		},
		{
			name: "RFC daily until in New York (UNTIL in UTC)",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART;TZID=America/New_York:19970902T090000
				RRULE:FREQ=DAILY;UNTIL=19970905T130000Z
				END:VEVENT`,
			want: "19970902T130000Z 19970903T130000Z 19970904T130000Z 19970905T130000Z",
		},
		{
			name: "weekly 09:00 Berlin stays at 09:00 across spring forward",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART;TZID=Europe/Berlin:20240317T090000
				DTEND;TZID=Europe/Berlin:20240317T100000
				RRULE:FREQ=WEEKLY;COUNT=3
				END:VEVENT`,
			withEnd: true,
			want:    "20240317T080000Z/20240317T090000Z 20240324T080000Z/20240324T090000Z 20240331T070000Z/20240331T080000Z",
		},
		{
			name: "DST gap in Berlin shifts forward by the gap",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART;TZID=Europe/Berlin:20240330T023000
				RRULE:FREQ=DAILY;COUNT=3
				END:VEVENT`,
			want: "20240330T013000Z 20240331T013000Z 20240401T003000Z",
		},
		{
			name: "DST overlap in Berlin takes the first occurrence",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART;TZID=Europe/Berlin:20241026T023000
				RRULE:FREQ=DAILY;COUNT=3
				END:VEVENT`,
			want: "20241026T003000Z 20241027T003000Z 20241028T013000Z",
		},
		{
			name: "DST gap and overlap in New York",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART;TZID=America/New_York:20240309T023000
				RDATE;TZID=America/New_York:20241103T013000
				RRULE:FREQ=DAILY;COUNT=2
				END:VEVENT`,
			want: "20240309T073000Z 20240310T073000Z 20241103T053000Z",
		},
		{
			name: "hourly on the wall clock: DST duplicates collapse, the repeated hour is not revisited",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART;TZID=America/New_York:20240310T000000
				RRULE:FREQ=HOURLY;COUNT=5
				RDATE;TZID=America/New_York:20241103T000000,20241103T010000,20241103T020000
				END:VEVENT`,
			want: "20240310T050000Z 20240310T060000Z 20240310T070000Z 20240310T080000Z " +
				"20241103T040000Z 20241103T050000Z 20241103T070000Z",
		},
		{
			name: "Windows TZID",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART;TZID=W. Europe Standard Time:20240701T090000
				END:VEVENT`,
			want: "20240701T070000Z",
		},
		{
			name: "custom VTIMEZONE",
			ics: `BEGIN:VTIMEZONE
				TZID:Office
				BEGIN:STANDARD
				DTSTART:19701025T030000
				RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
				TZOFFSETFROM:+0200
				TZOFFSETTO:+0100
				END:STANDARD
				BEGIN:DAYLIGHT
				DTSTART:19700329T020000
				RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
				TZOFFSETFROM:+0100
				TZOFFSETTO:+0200
				END:DAYLIGHT
				END:VTIMEZONE
				BEGIN:VEVENT
				UID:a
				DTSTART;TZID=Office:20240101T090000
				RRULE:FREQ=MONTHLY;BYMONTH=1,7;COUNT=2
				END:VEVENT`,
			want: "20240101T080000Z 20240701T070000Z",
		},
		{
			name: "EXDATE with TZID, several per line, and in UTC",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART;TZID=Europe/Berlin:20240101T090000
				RRULE:FREQ=DAILY;COUNT=6
				EXDATE;TZID=America/New_York:20240102T030000,20240103T030000
				EXDATE:20240105T080000Z
				END:VEVENT`,
			want: "20240101T080000Z 20240104T080000Z 20240106T080000Z",
		},
		{
			name: "floating EXDATE and RECURRENCE-ID on a zoned series use DTSTART's zone",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART;TZID=America/New_York:20240101T090000
				RRULE:FREQ=DAILY;COUNT=3
				EXDATE:20240102T090000
				END:VEVENT
				BEGIN:VEVENT
				UID:a
				RECURRENCE-ID:20240103T090000
				DTSTART;TZID=America/New_York:20240103T100000
				END:VEVENT
				BEGIN:VALARM
				TRIGGER:-PT5M
				END:VALARM`,
			want: "20240101T140000Z 20240103T150000Z",
		},
		{
			name: "EXRULE excludes what it generates, not DTSTART",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART:20240101T090000Z
				RRULE:FREQ=DAILY;COUNT=7
				EXRULE:FREQ=WEEKLY;BYDAY=WE,FR
				END:VEVENT`,
			want: "20240101T090000Z 20240102T090000Z 20240104T090000Z 20240106T090000Z 20240107T090000Z",
		},
		{
			name: "EXDATE as DATE on a timed series",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART:20240101T090000Z
				RRULE:FREQ=DAILY;COUNT=3
				EXDATE;VALUE=DATE:20240102
				END:VEVENT`,
			want: "20240101T090000Z 20240103T090000Z",
		},
		{
			name: "RDATE date-times and periods",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART:20240101T090000Z
				DURATION:PT1H
				RDATE:20240105T090000Z,20240103T090000Z
				RDATE;VALUE=PERIOD:20240110T100000Z/20240110T130000Z,20240111T100000Z/PT30M
				END:VEVENT`,
			withEnd: true,
			want: "20240101T090000Z/20240101T100000Z 20240103T090000Z/20240103T100000Z 20240105T090000Z/20240105T100000Z " +
				"20240110T100000Z/20240110T130000Z 20240111T100000Z/20240111T103000Z",
		},
		{
			name: "override moves an instance into the range and another out",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART:20240101T090000Z
				DTEND:20240101T100000Z
				RRULE:FREQ=WEEKLY;COUNT=5
				END:VEVENT
				BEGIN:VEVENT
				UID:a
				RECURRENCE-ID:20240129T090000Z
				DTSTART:20240116T150000Z
				DTEND:20240116T160000Z
				END:VEVENT
				BEGIN:VEVENT
				UID:a
				RECURRENCE-ID:20240115T090000Z
				DTSTART:20240301T090000Z
				DTEND:20240301T100000Z
				END:VEVENT`,
			start: "20240110T000000Z", end: "20240120T000000Z",
			want: "20240116T150000Z",
		},
		{
			name: "override without DTEND keeps the master's duration; orphan override stays",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART:20240101T090000Z
				DTEND:20240101T100000Z
				RRULE:FREQ=DAILY;COUNT=2
				END:VEVENT
				BEGIN:VEVENT
				UID:a
				RECURRENCE-ID:20240102T090000Z
				DTSTART:20240102T110000Z
				END:VEVENT
				BEGIN:VEVENT
				UID:a
				RECURRENCE-ID:20240301T090000Z
				DTSTART:20240301T090000Z
				DTEND:20240301T093000Z
				END:VEVENT`,
			withEnd: true,
			want:    "20240101T090000Z/20240101T100000Z 20240102T110000Z/20240102T120000Z 20240301T090000Z/20240301T093000Z",
		},
		{
			name: "RECURRENCE-ID in another zone matches as an instant",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART;TZID=Europe/Berlin:20240101T090000
				RRULE:FREQ=DAILY;COUNT=2
				END:VEVENT
				BEGIN:VEVENT
				UID:a
				RECURRENCE-ID;TZID=America/New_York:20240102T030000
				DTSTART:20240102T120000Z
				END:VEVENT`,
			want: "20240101T080000Z 20240102T120000Z",
		},
		{
			name: "THISANDFUTURE shifts later instances",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART:20240101T100000Z
				DTEND:20240101T110000Z
				RRULE:FREQ=DAILY;COUNT=5
				END:VEVENT
				BEGIN:VEVENT
				UID:a
				RECURRENCE-ID;RANGE=THISANDFUTURE:20240103T100000Z
				DTSTART:20240103T120000Z
				DTEND:20240103T140000Z
				END:VEVENT`,
			withEnd: true,
			want: "20240101T100000Z/20240101T110000Z 20240102T100000Z/20240102T110000Z 20240103T120000Z/20240103T140000Z " +
				"20240104T120000Z/20240104T140000Z 20240105T120000Z/20240105T140000Z",
		},
		{
			name: "THISANDFUTURE shift brings a later instance into the range",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART:20240101T100000Z
				RRULE:FREQ=WEEKLY;COUNT=10
				END:VEVENT
				BEGIN:VEVENT
				UID:a
				RECURRENCE-ID;RANGE=THISANDFUTURE:20240108T100000Z
				DTSTART:20240102T100000Z
				END:VEVENT`,
			start: "20240109T000000Z", end: "20240110T000000Z",
			want: "20240109T100000Z",
		},
		{
			name: "all-day yearly, floating UTC",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART;VALUE=DATE:20240229
				RRULE:FREQ=YEARLY;COUNT=2
				END:VEVENT`,
			withEnd: true,
			want:    "20240229T000000Z/20240301T000000Z 20280229T000000Z/20280301T000000Z",
		},
		{
			name: "all-day in a floating zone, multi-day DTEND, EXDATE by date",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART;VALUE=DATE:20240330
				DTEND;VALUE=DATE:20240401
				RRULE:FREQ=DAILY;COUNT=3
				EXDATE;VALUE=DATE:20240331
				END:VEVENT`,
			floating: berlin,
			withEnd:  true,
			want:     "20240329T230000Z/20240331T220000Z 20240331T220000Z/20240402T220000Z",
		},
		{
			name: "all-day selected by range",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART;VALUE=DATE:20240101
				RRULE:FREQ=DAILY;COUNT=10
				END:VEVENT`,
			start: "20240105T120000Z", end: "20240106T000000Z",
			want: "20240105T000000Z",
		},
		{
			name: "floating time in the floating zone",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART:20240101T090000
				RRULE:FREQ=DAILY;COUNT=2
				END:VEVENT`,
			floating: tokyo,
			want:     "20240101T000000Z 20240102T000000Z",
		},
		{
			name: "zero-duration instance at range start is in, at range end is out",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART:20240101T000000Z
				RRULE:FREQ=DAILY;COUNT=5
				END:VEVENT`,
			start: "20240102T000000Z", end: "20240104T000000Z",
			want: "20240102T000000Z 20240103T000000Z",
		},
		{
			name: "instance ending at range start is out",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART:20240101T000000Z
				DURATION:P1D
				RRULE:FREQ=DAILY;COUNT=5
				END:VEVENT`,
			start: "20240102T000000Z", end: "20240103T000000Z",
			want: "20240102T000000Z",
		},
		{
			name: "range years after DTSTART",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART:20000101T120000Z
				RRULE:FREQ=MINUTELY;INTERVAL=7
				END:VEVENT`,
			start: "20900101T000000Z", end: "20900101T001500Z",
			want: "20900101T000100Z 20900101T000800Z",
		},
		{
			name: "UNTIL before DTSTART leaves DTSTART",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART:20240101T000000Z
				RRULE:FREQ=DAILY;UNTIL=20230101T000000Z
				END:VEVENT`,
			want: "20240101T000000Z",
		},
		{
			name: "VTODO uses DUE as end",
			ics: `BEGIN:VTODO
				UID:a
				DTSTART:20240101T090000Z
				DUE:20240101T170000Z
				RRULE:FREQ=DAILY;COUNT=2
				END:VTODO`,
			withEnd: true,
			want:    "20240101T090000Z/20240101T170000Z 20240102T090000Z/20240102T170000Z",
		},
		{
			name: "VTODO with DUE only",
			ics: `BEGIN:VTODO
				UID:a
				DUE:20240101T170000Z
				END:VTODO`,
			withEnd: true,
			want:    "20240101T170000Z/20240101T170000Z",
		},
		{
			name: "VJOURNAL on a date lasts a day",
			ics: `BEGIN:VJOURNAL
				UID:a
				DTSTART;VALUE=DATE:20240101
				END:VJOURNAL`,
			withEnd: true,
			want:    "20240101T000000Z/20240102T000000Z",
		},
		{
			name: "only overrides",
			ics: `BEGIN:VEVENT
				UID:a
				RECURRENCE-ID:20240102T090000Z
				DTSTART:20240102T110000Z
				DTEND:20240102T120000Z
				END:VEVENT`,
			want: "20240102T110000Z",
		},
		{
			name: "infinite rule stops at Max",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART:20240101T000000Z
				RRULE:FREQ=DAILY
				END:VEVENT`,
			max:     3,
			want:    "20240101T000000Z 20240102T000000Z 20240103T000000Z",
			wantErr: ErrTooManyInstances,
		},
		{
			name: "too many instances in a bounded range",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART:20240101T000000Z
				RRULE:FREQ=HOURLY
				END:VEVENT`,
			start: "20240201T000000Z", end: "20240301T000000Z",
			max:     2,
			want:    "20240201T000000Z 20240201T010000Z",
			wantErr: ErrTooManyInstances,
		},
		{
			name: "malformed RRULE keeps DTSTART and reports",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART:20240101T000000Z
				RRULE:FREQ=SOMETIMES
				END:VEVENT`,
			want:    "20240101T000000Z",
			wantErr: ErrInvalid,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			comps, res := parse(t, tc.ics)
			opts := Options{TZ: res, Floating: tc.floating, Max: tc.max}
			if tc.start != "" {
				opts.Start = utc(t, tc.start)
			}
			if tc.end != "" {
				opts.End = utc(t, tc.end)
			}
			got, err := Expand(comps, opts)
			if tc.wantErr == nil && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if s := starts(got, tc.withEnd); s != tc.want {
				t.Errorf("got  %s\nwant %s", s, tc.want)
			}
		})
	}
}

func TestInstanceFields(t *testing.T) {
	comps, res := parse(t, `BEGIN:VEVENT
		UID:a
		DTSTART;VALUE=DATE:20240101
		RRULE:FREQ=DAILY;COUNT=3
		END:VEVENT
		BEGIN:VEVENT
		UID:a
		RECURRENCE-ID;VALUE=DATE:20240102
		DTSTART;VALUE=DATE:20240105
		SUMMARY:moved
		END:VEVENT`)
	got, err := Expand(comps, Options{TZ: res})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d instances: %s", len(got), starts(got, false))
	}
	moved := got[2]
	if !moved.Override || moved.Component != comps[1] || !moved.AllDay {
		t.Errorf("moved instance = %+v", moved)
	}
	if want := utc(t, "20240102T000000Z"); !moved.RecurrenceID.Equal(want) {
		t.Errorf("RecurrenceID = %v, want %v", moved.RecurrenceID, want)
	}
	if got[0].Override || got[0].Component != comps[0] || !got[0].RecurrenceID.Equal(got[0].Start) {
		t.Errorf("first instance = %+v", got[0])
	}
}

func TestExpandIsBoundedForAbsurdRules(t *testing.T) {
	for _, rule := range []string{
		"FREQ=SECONDLY",
		"FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30",
		"FREQ=YEARLY;BYMONTH=1,2,3,4,5,6,7,8,9,10,11,12;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;BYMINUTE=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59;BYSECOND=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59",
		"FREQ=HOURLY;INTERVAL=2;BYHOUR=3",
		"FREQ=DAILY;COUNT=2000000000",
	} {
		comps, res := parse(t, "BEGIN:VEVENT\nUID:a\nDTSTART:20240101T000000Z\nRRULE:"+rule+"\nEND:VEVENT")
		got, err := Expand(comps, Options{TZ: res, Start: utc(t, "20500101T000000Z"), Max: 1000})
		if len(got) > 1000 {
			t.Errorf("%s: %d instances beyond Max", rule, len(got))
		}
		if len(got) == 1000 && !errors.Is(err, ErrTooManyInstances) {
			t.Errorf("%s: err = %v, want ErrTooManyInstances", rule, err)
		}
	}
}

func TestSpan(t *testing.T) {
	tests := []struct {
		name         string
		ics          string
		start, end   string
		infinite, ok bool
	}{
		{
			name: "finite with override beyond the rule",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART:20240101T090000Z
				DTEND:20240101T100000Z
				RRULE:FREQ=DAILY;COUNT=3
				END:VEVENT
				BEGIN:VEVENT
				UID:a
				RECURRENCE-ID:20240103T090000Z
				DTSTART:20240110T090000Z
				DTEND:20240110T113000Z
				END:VEVENT`,
			start: "20240101T090000Z", end: "20240110T113000Z", ok: true,
		},
		{
			name: "infinite",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART:20240101T090000Z
				RRULE:FREQ=WEEKLY
				EXDATE:20240101T090000Z
				END:VEVENT`,
			start: "20240108T090000Z", infinite: true, ok: true,
		},
		{
			name: "malformed rule is treated as infinite",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART:20240101T090000Z
				RRULE:FREQ=DAILY;BYHOUR=99
				END:VEVENT`,
			start: "20240101T090000Z", infinite: true, ok: true,
		},
		{
			name: "single all-day event",
			ics: `BEGIN:VEVENT
				UID:a
				DTSTART;VALUE=DATE:20240101
				END:VEVENT`,
			start: "20240101T000000Z", end: "20240102T000000Z", ok: true,
		},
		{
			name: "no time at all",
			ics: `BEGIN:VTODO
				UID:a
				SUMMARY:someday
				END:VTODO`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			comps, res := parse(t, tc.ics)
			start, end, infinite, ok := Span(comps, Options{TZ: res})
			if ok != tc.ok || infinite != tc.infinite {
				t.Fatalf("infinite, ok = %v, %v; want %v, %v", infinite, ok, tc.infinite, tc.ok)
			}
			var wantStart, wantEnd time.Time
			if tc.start != "" {
				wantStart = utc(t, tc.start)
			}
			if tc.end != "" {
				wantEnd = utc(t, tc.end)
			}
			if !start.Equal(wantStart) || !end.Equal(wantEnd) {
				t.Errorf("span = %v..%v, want %v..%v", start, end, wantStart, wantEnd)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		days    int
		exact   time.Duration
		wantErr bool
	}{
		{in: "P1D", days: 1},
		{in: "P2W", days: 14},
		{in: "PT1H30M", exact: 90 * time.Minute},
		{in: "-P1DT2H", days: -1, exact: -2 * time.Hour},
		{in: "P1DT15S", days: 1, exact: 15 * time.Second},
		{in: "P", wantErr: true},
		{in: "PT", wantErr: true},
		{in: "P1H", wantErr: true},
		{in: "PT999999999H", wantErr: true},
		{in: "1D", wantErr: true},
	}
	for _, tc := range tests {
		d, err := parseDuration(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err = %v", tc.in, err)
			continue
		}
		if !tc.wantErr && (d.days != tc.days || d.exact != tc.exact) {
			t.Errorf("%s = %+v", tc.in, d)
		}
	}
}

func FuzzExpand(f *testing.F) {
	f.Add("FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10", "20240101T090000", "20240102T090000Z,20240103")
	f.Add("FREQ=SECONDLY;BYSECOND=1,2,3", "20240331T023000", "")
	f.Add("FREQ=MONTHLY;BYDAY=-1FR;BYSETPOS=-1", "20240101", "20240101/PT1H")
	f.Add("FREQ=YEARLY;BYWEEKNO=-53;BYYEARDAY=-366;UNTIL=20000101", "99991231T235959", "x")
	f.Fuzz(func(t *testing.T, rule, dtstart, exdate string) {
		clean := func(s string) string { return strings.NewReplacer("\r", "", "\n", "").Replace(s) }
		ev := goical.NewComponent("VEVENT")
		for name, v := range map[string]string{"DTSTART": dtstart, "RRULE": rule, "EXDATE": exdate, "RDATE": exdate} {
			p := goical.NewProp(name)
			p.Value = clean(v)
			if name == "DTSTART" {
				p.Params.Set("TZID", "Europe/Berlin")
			}
			ev.Props.Add(p)
		}
		begin := time.Now()
		for _, opts := range []Options{
			{Max: 500},
			{Start: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC), Max: 500},
		} {
			got, _ := Expand([]*goical.Component{ev}, opts)
			if len(got) > opts.Max {
				t.Fatalf("%d instances > Max", len(got))
			}
			for i := 1; i < len(got); i++ {
				if got[i].Start.Before(got[i-1].Start) {
					t.Fatalf("instances out of order")
				}
			}
			Span([]*goical.Component{ev}, opts)
		}
		if d := time.Since(begin); d > 10*time.Second {
			t.Fatalf("rule %q took %v", rule, d)
		}
	})
}
