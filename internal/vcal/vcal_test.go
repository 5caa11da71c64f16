package vcal

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/recur"
)

// The audiences of PRODUCT.md section 2, in Asia/Tokyo. Working hours are
// Monday to Friday 09:00-17:00.
var workdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}

func family() *Filter {
	return &Filter{Default: Full, Zone: "Asia/Tokyo", Rules: []Rule{
		{Level: Summary, Weekdays: workdays, TimeOfDay: &TimeWindow{From: "09:00", To: "17:00"}},
	}}
}

func colleagues() *Filter {
	return &Filter{Default: Summary, Zone: "Asia/Tokyo", Rules: []Rule{
		{Level: Full, Weekdays: workdays, TimeOfDay: &TimeWindow{From: "09:00", To: "17:00"}},
		{Level: Hidden, Weekdays: []time.Weekday{time.Saturday, time.Sunday}},
	}}
}

func friends() *Filter {
	return &Filter{Default: Busy, Zone: "Asia/Tokyo", Rules: []Rule{
		{Level: Hidden, Weekdays: workdays, TimeOfDay: &TimeWindow{From: "00:00", To: "17:00"}},
	}}
}

var testOpts = Options{Now: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}

func event(lines ...string) []byte {
	all := []string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//EN", "X-WR-CALNAME:Secret calendar name"}
	all = append(all, lines...)
	all = append(all, "END:VCALENDAR")
	return []byte(strings.Join(all, "\r\n") + "\r\n")
}

// single is an event with every kind of detail; times are DTSTART/DTEND
// lines.
func single(times ...string) []byte {
	lines := []string{"BEGIN:VEVENT", "UID:e1", "DTSTAMP:20250101T000000Z", "SUMMARY:Dentist"}
	lines = append(lines, times...)
	lines = append(lines,
		"DESCRIPTION:secret-description", "LOCATION:secret-location",
		"ORGANIZER;CN=secret-organizer:mailto:boss@example.com",
		"ATTENDEE;CN=secret-attendee:mailto:a@example.com",
		"BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT10M", "DESCRIPTION:secret-alarm", "END:VALARM",
		"END:VEVENT")
	return event(lines...)
}

func TestAudiences(t *testing.T) {
	type want struct{ family, colleagues, friends Level }
	tests := []struct {
		name  string
		times []string
		want  want
	}{
		{"monday morning", []string{"DTSTART;TZID=Asia/Tokyo:20250602T100000", "DTEND;TZID=Asia/Tokyo:20250602T110000"}, want{Summary, Full, Hidden}},
		{"monday evening", []string{"DTSTART;TZID=Asia/Tokyo:20250602T190000", "DTEND;TZID=Asia/Tokyo:20250602T200000"}, want{Full, Summary, Busy}},
		{"straddles 17:00", []string{"DTSTART;TZID=Asia/Tokyo:20250602T160000", "DTEND;TZID=Asia/Tokyo:20250602T180000"}, want{Summary, Summary, Hidden}},
		{"ends at 17:00 exactly", []string{"DTSTART;TZID=Asia/Tokyo:20250602T160000", "DTEND;TZID=Asia/Tokyo:20250602T170000"}, want{Summary, Full, Hidden}},
		{"starts at 17:00 exactly", []string{"DTSTART;TZID=Asia/Tokyo:20250602T170000", "DTEND;TZID=Asia/Tokyo:20250602T180000"}, want{Full, Summary, Busy}},
		{"saturday morning", []string{"DTSTART;TZID=Asia/Tokyo:20250607T100000", "DTEND;TZID=Asia/Tokyo:20250607T110000"}, want{Full, Hidden, Busy}},
		{"friday night into saturday", []string{"DTSTART;TZID=Asia/Tokyo:20250606T220000", "DTEND;TZID=Asia/Tokyo:20250607T020000"}, want{Full, Hidden, Busy}},
		{"sunday night into monday morning", []string{"DTSTART;TZID=Asia/Tokyo:20250608T200000", "DTEND;TZID=Asia/Tokyo:20250609T100000"}, want{Summary, Hidden, Hidden}},
		{"all-day monday", []string{"DTSTART;VALUE=DATE:20250602", "DTEND;VALUE=DATE:20250603"}, want{Summary, Summary, Hidden}},
		{"all-day without DTEND", []string{"DTSTART;VALUE=DATE:20250602"}, want{Summary, Summary, Hidden}},
		{"all-day sunday", []string{"DTSTART;VALUE=DATE:20250608"}, want{Full, Hidden, Busy}},
		{"UTC time in the Tokyo morning", []string{"DTSTART:20250602T010000Z", "DTEND:20250602T020000Z"}, want{Summary, Full, Hidden}},
		{"floating evening read on the wall clock", []string{"DTSTART:20250602T190000", "DTEND:20250602T200000"}, want{Full, Summary, Busy}},
		{"zero-length at 09:00", []string{"DTSTART;TZID=Asia/Tokyo:20250602T090000"}, want{Summary, Full, Hidden}},
		{"zero-length at 08:59 is before work", []string{"DTSTART;TZID=Asia/Tokyo:20250602T085900"}, want{Full, Summary, Hidden}},
		{"Berlin evening is Tokyo small hours", []string{"DTSTART;TZID=Europe/Berlin:20250602T200000", "DTEND;TZID=Europe/Berlin:20250602T210000"}, want{Full, Summary, Hidden}},
		{"Berlin morning is Tokyo afternoon", []string{"DTSTART;TZID=Europe/Berlin:20250602T090000", "DTEND;TZID=Europe/Berlin:20250602T093000"}, want{Summary, Full, Hidden}},
		{"Berlin lunch is Tokyo evening", []string{"DTSTART;TZID=Europe/Berlin:20250602T120000", "DTEND;TZID=Europe/Berlin:20250602T130000"}, want{Full, Summary, Busy}},
		{"week-long event", []string{"DTSTART;TZID=Asia/Tokyo:20250602T180000", "DTEND;TZID=Asia/Tokyo:20250609T080000"}, want{Summary, Hidden, Hidden}},
	}
	audiences := []struct {
		name   string
		filter func() *Filter
		pick   func(want) Level
	}{
		{"family", family, func(w want) Level { return w.family }},
		{"colleagues", colleagues, func(w want) Level { return w.colleagues }},
		{"friends", friends, func(w want) Level { return w.friends }},
	}
	for _, tt := range tests {
		data := single(tt.times...)
		obj := mustParse(t, data)
		for _, a := range audiences {
			t.Run(tt.name+"/"+a.name, func(t *testing.T) {
				want := a.pick(tt.want)
				levels, err := LevelsFor(obj, "cal", []*Filter{a.filter()}, testOpts)
				if err != nil {
					t.Fatal(err)
				}
				if len(levels) != 1 || levels[0].Level != want {
					t.Fatalf("levels = %+v, want one at %v", levels, want)
				}
				out, err := Apply(obj, data, "cal", []*Filter{a.filter()}, testOpts)
				if err != nil {
					t.Fatal(err)
				}
				checkShows(t, out, data, want)
			})
		}
	}
}

// checkShows checks that out shows the single event of data at level l.
func checkShows(t *testing.T, out, data []byte, l Level) {
	t.Helper()
	if l == Hidden {
		if out != nil {
			t.Fatalf("hidden event emitted:\n%s", out)
		}
		return
	}
	if l == Full {
		if !bytes.Equal(out, data) {
			t.Fatalf("full event not passed through unchanged:\n%s", out)
		}
		return
	}
	o := mustParse(t, out)
	text := unfold(out)
	for _, secret := range []string{"secret", "VALARM", "X-WR-CALNAME"} {
		if strings.Contains(text, secret) {
			t.Errorf("output at %v contains %q:\n%s", l, secret, text)
		}
	}
	wantSummary := map[Level]string{Summary: "SUMMARY:Dentist", Busy: "SUMMARY:Busy"}[l]
	if !strings.Contains(text, wantSummary+"\r\n") {
		t.Errorf("output at %v lacks %s:\n%s", l, wantSummary, text)
	}
	src := mustParse(t, data)
	a, _ := recur.Expand(src.Cal.Children, recur.Options{TZ: src.TZ})
	b, _ := recur.Expand(o.Cal.Children, recur.Options{TZ: o.TZ})
	if len(a) != 1 || len(b) != 1 || !a[0].Start.Equal(b[0].Start) || !a[0].End.Equal(b[0].End) {
		t.Errorf("times changed: source %v, output %v", a, b)
	}
}

func mustParse(t testing.TB, data []byte) *ical.Object {
	t.Helper()
	o, err := ical.Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, data)
	}
	return o
}

func unfold(b []byte) string { return strings.ReplaceAll(string(b), "\r\n ", "") }

func TestClassCaps(t *testing.T) {
	evening := []string{"DTSTART;TZID=Asia/Tokyo:20250602T190000", "DTEND;TZID=Asia/Tokyo:20250602T200000"}
	withClass := func(class string) []byte { return single(append(evening, "CLASS:"+class)...) }
	tests := []struct {
		name   string
		data   []byte
		filter *Filter
		owner  bool
		want   Level
	}{
		{"private capped at busy", withClass("PRIVATE"), family(), false, Busy},
		{"confidential capped at busy", withClass("CONFIDENTIAL"), family(), false, Busy},
		{"unknown class treated as private", withClass("X-SECRETIVE"), family(), false, Busy},
		{"public not capped", withClass("PUBLIC"), family(), false, Full},
		{"owner sees private in full", withClass("PRIVATE"), family(), true, Full},
		{"owner view still applies rules", withClass("PRIVATE"), friends(), true, Busy},
		{"cap never loosens a stricter rule", withClass("PRIVATE"),
			&Filter{Default: Hidden, Zone: "UTC", PrivateCap: Busy, Rules: []Rule{{Level: Hidden, Classes: []string{"PRIVATE"}}}}, false, Hidden},
		{"private cap configured to hidden", withClass("PRIVATE"),
			&Filter{Default: Full, PrivateCap: Hidden}, false, Hidden},
		{"confidential cap configured to summary", withClass("CONFIDENTIAL"),
			&Filter{Default: Full, ConfidentialCap: Summary}, false, Summary},
		{"cap turned off", withClass("PRIVATE"), &Filter{Default: Full, PrivateCap: Full}, false, Full},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := mustParse(t, tt.data)
			opts := testOpts
			opts.OwnerView = tt.owner
			levels, err := LevelsFor(obj, "cal", []*Filter{tt.filter}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(levels) != 1 || levels[0].Level != tt.want {
				t.Fatalf("levels = %+v, want %v", levels, tt.want)
			}
			out, err := Apply(obj, tt.data, "cal", []*Filter{tt.filter}, opts)
			if err != nil {
				t.Fatal(err)
			}
			checkShows(t, out, tt.data, tt.want)
		})
	}
}

func TestNoFilterIsTheCalendarWithCaps(t *testing.T) {
	data := single("DTSTART:20250602T010000Z", "CLASS:PRIVATE")
	obj := mustParse(t, data)
	levels, err := LevelsFor(obj, "cal", nil, testOpts)
	if err != nil || len(levels) != 1 || levels[0].Level != Busy {
		t.Fatalf("levels = %+v, %v; want busy", levels, err)
	}
	opts := testOpts
	opts.OwnerView = true
	if out, err := Apply(obj, data, "cal", nil, opts); err != nil || !bytes.Equal(out, data) {
		t.Fatalf("owner view of unfiltered calendar changed the bytes: %v\n%s", err, out)
	}
}

func TestRuleConditions(t *testing.T) {
	base := []string{"DTSTART;TZID=Asia/Tokyo:20250602T100000", "DTEND;TZID=Asia/Tokyo:20250602T110000"}
	tests := []struct {
		name  string
		extra []string
		rule  Rule
		match bool
	}{
		{"category any of", []string{"CATEGORIES:Work,Health"}, Rule{Categories: []string{"health"}}, true},
		{"category none", []string{"CATEGORIES:Work"}, Rule{Categories: []string{"health"}}, false},
		{"category negated", []string{"CATEGORIES:Work"}, Rule{Categories: []string{"health"}, NotCategories: true}, true},
		{"category escaped comma", []string{`CATEGORIES:a\,b`}, Rule{Categories: []string{"a,b"}}, true},
		{"source", nil, Rule{Sources: []string{"cal"}}, true},
		{"source negated", nil, Rule{Sources: []string{"cal"}, NotSources: true}, false},
		{"class absent is public", nil, Rule{Classes: []string{"PUBLIC"}}, true},
		{"class", []string{"CLASS:CONFIDENTIAL"}, Rule{Classes: []string{"confidential"}}, true},
		{"transp absent is opaque", nil, Rule{Transp: "OPAQUE"}, true},
		{"transp negated", []string{"TRANSP:TRANSPARENT"}, Rule{Transp: "OPAQUE", NotTransp: true}, true},
		{"status", []string{"STATUS:cancelled"}, Rule{Statuses: []string{"CANCELLED"}}, true},
		{"status absent is none", nil, Rule{Statuses: []string{"CONFIRMED"}}, false},
		{"status negated", []string{"STATUS:TENTATIVE"}, Rule{Statuses: []string{"cancelled"}, NotStatuses: true}, true},
		{"date range", nil, Rule{Dates: &DateRange{From: "2025-06-02", To: "2025-06-03"}}, true},
		{"date range excludes its end", nil, Rule{Dates: &DateRange{From: "2025-06-01", To: "2025-06-02"}}, false},
		{"date range open start", nil, Rule{Dates: &DateRange{To: "2025-06-03"}}, true},
		{"date range negated", nil, Rule{Dates: &DateRange{From: "2025-06-02", To: "2025-06-03"}, NotDates: true}, false},
		{"weekday negated", nil, Rule{Weekdays: []time.Weekday{time.Monday}, NotWeekdays: true}, false},
		{"time window across midnight", nil, Rule{TimeOfDay: &TimeWindow{From: "22:00", To: "10:30"}}, true},
		{"time window negated", nil, Rule{TimeOfDay: &TimeWindow{From: "10:00", To: "11:00"}, NotTimeOfDay: true}, false},
		{"negated window touched by the event", nil, Rule{TimeOfDay: &TimeWindow{From: "10:00", To: "10:30"}, NotTimeOfDay: true}, true},
		{"time and weekday at the same instant", nil, Rule{Weekdays: []time.Weekday{time.Tuesday}, TimeOfDay: &TimeWindow{From: "10:00", To: "11:00"}}, false},
		{"rule zone overrides filter zone", nil, Rule{Zone: "UTC", TimeOfDay: &TimeWindow{From: "01:00", To: "02:00"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := single(append(append([]string{}, base...), tt.extra...)...)
			r := tt.rule
			r.Level = Hidden
			f := &Filter{Default: Full, Zone: "Asia/Tokyo", Rules: []Rule{r}}
			levels, err := LevelsFor(mustParse(t, data), "cal", []*Filter{f}, testOpts)
			if err != nil {
				t.Fatal(err)
			}
			if got := levels[0].Level == Hidden; got != tt.match {
				t.Fatalf("matched = %v, want %v", got, tt.match)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		filter Filter
		want   string // "" for valid
	}{
		{"valid", *family(), ""},
		{"default unset", Filter{}, "default level is not set"},
		{"rule level unset", Filter{Default: Full, Rules: []Rule{{Sources: []string{"a"}}}}, "rule 1: level is not set"},
		{"unknown zone", Filter{Default: Full, Zone: "Mars/Olympus"}, `unknown time zone "Mars/Olympus"`},
		{"time without zone", Filter{Default: Full, Rules: []Rule{{Level: Busy, TimeOfDay: &TimeWindow{"09:00", "17:00"}}}}, "need a time zone"},
		{"empty window", Filter{Default: Full, Zone: "UTC", Rules: []Rule{{Level: Busy, TimeOfDay: &TimeWindow{"09:00", "09:00"}}}}, "is empty"},
		{"bad clock", Filter{Default: Full, Zone: "UTC", Rules: []Rule{{Level: Busy, TimeOfDay: &TimeWindow{"9:00", "17:00"}}}}, "HH:MM"},
		{"24:00 as start", Filter{Default: Full, Zone: "UTC", Rules: []Rule{{Level: Busy, TimeOfDay: &TimeWindow{"24:00", "01:00"}}}}, "HH:MM"},
		{"24:00 as end", Filter{Default: Full, Zone: "UTC", Rules: []Rule{{Level: Busy, TimeOfDay: &TimeWindow{"17:00", "24:00"}}}}, ""},
		{"empty rule", Filter{Default: Full, Rules: []Rule{{Level: Busy}}}, "no conditions"},
		{"empty date range", Filter{Default: Full, Zone: "UTC", Rules: []Rule{{Level: Busy, Dates: &DateRange{"2025-02-01", "2025-02-01"}}}}, "is empty"},
		{"bad class", Filter{Default: Full, Rules: []Rule{{Level: Busy, Classes: []string{"SECRET"}}}}, "not PUBLIC"},
		{"bad transp", Filter{Default: Full, Rules: []Rule{{Level: Busy, Transp: "CLEAR"}}}, "not OPAQUE"},
		{"bad status", Filter{Default: Full, Rules: []Rule{{Level: Busy, Statuses: []string{"POSTPONED"}}}}, "not one of"},
		{"negated status without values", Filter{Default: Full, Rules: []Rule{{Level: Busy, Sources: []string{"a"}, NotStatuses: true}}}, "no values to negate"},
		{"negation without values", Filter{Default: Full, Rules: []Rule{{Level: Busy, Sources: []string{"a"}, NotCategories: true}}}, "no values to negate"},
		{"bad cap", Filter{Default: Full, PrivateCap: 9}, "PrivateCap"},
		{"bad weekday", Filter{Default: Full, Zone: "UTC", Rules: []Rule{{Level: Busy, Weekdays: []time.Weekday{7}}}}, "not a weekday"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.filter.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestParseLevel(t *testing.T) {
	for l := Full; l <= Hidden; l++ {
		got, err := ParseLevel(strings.ToUpper(l.String()))
		if err != nil || got != l {
			t.Errorf("ParseLevel(%q) = %v, %v", l.String(), got, err)
		}
	}
	if _, err := ParseLevel("secret"); err == nil {
		t.Error("ParseLevel accepted an unknown name")
	}
	if Level(0).String() != "Level(0)" {
		t.Errorf("zero level prints as %q", Level(0).String())
	}
}
