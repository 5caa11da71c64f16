package vcal

import (
	"bytes"
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"

	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/recur"
)

// shown is what a viewer's client sees of one instance.
type shown struct {
	start, end  time.Time
	summary     string
	description string
}

// instancesOf expands data inside opts' window, keyed by RECURRENCE-ID.
func instancesOf(t *testing.T, data []byte, opts Options) map[time.Time]shown {
	t.Helper()
	out := map[time.Time]shown{}
	if data == nil {
		return out
	}
	o := mustParse(t, data)
	start, end := opts.Window.Start, opts.Window.End
	if start.IsZero() {
		start, end = opts.Now.AddDate(-1, 0, 0), opts.Now.AddDate(2, 0, 0)
	}
	insts, err := recur.Expand(o.Cal.Children, recur.Options{Start: start, End: end, TZ: o.TZ, Floating: time.UTC})
	if err != nil {
		t.Fatalf("expand output: %v\n%s", err, data)
	}
	for _, in := range insts {
		s := shown{start: in.Start, end: in.End}
		if p := in.Component.Props.Get(goical.PropSummary); p != nil {
			s.summary = p.Value
		}
		if p := in.Component.Props.Get(goical.PropDescription); p != nil {
			s.description = p.Value
		}
		if _, dup := out[in.RecurrenceID]; dup {
			t.Fatalf("two instances with RECURRENCE-ID %v", in.RecurrenceID)
		}
		out[in.RecurrenceID] = s
	}
	return out
}

// checkAgainstLevels checks that out shows exactly the visible occurrences
// of the source, at the same times, each as its level says.
func checkAgainstLevels(t *testing.T, data, out []byte, chain []*Filter, opts Options) []OccurrenceLevel {
	t.Helper()
	src := mustParse(t, data)
	levels, err := LevelsFor(src, "cal", chain, opts)
	if err != nil {
		t.Fatal(err)
	}
	srcShown := instancesOf(t, data, opts)
	got := instancesOf(t, out, opts)
	visible := 0
	for _, l := range levels {
		s, ok := got[l.RecurrenceID]
		if l.Level == Hidden {
			if ok {
				t.Errorf("hidden occurrence %v is in the output", l.RecurrenceID)
			}
			continue
		}
		visible++
		if !ok {
			t.Errorf("%v occurrence %v missing from the output", l.Level, l.RecurrenceID)
			continue
		}
		if !s.start.Equal(l.Start) || !s.end.Equal(l.End) {
			t.Errorf("occurrence %v: output %v-%v, source %v-%v", l.RecurrenceID, s.start, s.end, l.Start, l.End)
		}
		want := srcShown[l.RecurrenceID]
		switch l.Level {
		case Full:
			if s != want {
				t.Errorf("full occurrence %v shows %+v, want %+v", l.RecurrenceID, s, want)
			}
		case Summary:
			if s.summary != want.summary || s.description != "" {
				t.Errorf("summary occurrence %v shows %+v", l.RecurrenceID, s)
			}
		case Busy:
			if s.summary != BusySummary || s.description != "" {
				t.Errorf("busy occurrence %v shows %+v", l.RecurrenceID, s)
			}
		}
	}
	if len(got) != visible {
		t.Errorf("output has %d instances in the window, want %d", len(got), visible)
	}
	again, err := Apply(src, data, "cal", chain, opts)
	if err != nil || !bytes.Equal(again, out) {
		t.Errorf("output not deterministic")
	}
	return levels
}

func weekly(rrule string, times []string, overrides ...[]string) []byte {
	lines := []string{"BEGIN:VEVENT", "UID:w1", "DTSTAMP:20250101T000000Z", "SUMMARY:Standup",
		"DESCRIPTION:master-desc", "ATTENDEE;CN=master-attendee:mailto:a@example.com", "X-SECRET:master-x"}
	lines = append(lines, times...)
	if rrule != "" {
		lines = append(lines, "RRULE:"+rrule)
	}
	lines = append(lines, "BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT5M", "DESCRIPTION:master-alarm", "END:VALARM", "END:VEVENT")
	for _, ov := range overrides {
		lines = append(lines, "BEGIN:VEVENT", "UID:w1", "DTSTAMP:20250101T000000Z", "SUMMARY:Standup moved", "DESCRIPTION:override-desc", "LOCATION:override-location")
		lines = append(lines, ov...)
		lines = append(lines, "END:VEVENT")
	}
	return event(lines...)
}

var mondayNine = []string{"DTSTART;TZID=Asia/Tokyo:20250602T090000", "DTEND;TZID=Asia/Tokyo:20250602T100000"}

var movedToEvening = []string{"RECURRENCE-ID;TZID=Asia/Tokyo:20250609T090000",
	"DTSTART;TZID=Asia/Tokyo:20250609T190000", "DTEND;TZID=Asia/Tokyo:20250609T200000"}

func TestOverrideMovedToEveningGetsEveningLevel(t *testing.T) {
	data := weekly("FREQ=WEEKLY;COUNT=4", mondayNine, movedToEvening)
	tests := []struct {
		name          string
		filter        *Filter
		want          []Level // by start
		has, hasNot   []string
		moved         Level
		keepStructure bool
	}{
		{"family", family(), []Level{Summary, Full, Summary, Summary},
			[]string{"override-desc", "RRULE:FREQ=WEEKLY;COUNT=4"}, []string{"master-desc", "master-attendee", "master-x", "master-alarm"}, Full, true},
		{"colleagues", colleagues(), []Level{Full, Summary, Full, Full},
			[]string{"master-desc", "master-alarm", "RRULE:FREQ=WEEKLY;COUNT=4"}, []string{"override-desc", "override-location"}, Summary, true},
		{"friends", friends(), []Level{Hidden, Busy, Hidden, Hidden},
			[]string{"SUMMARY:Busy"}, []string{"Standup", "desc", "master", "override"}, Busy, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chain := []*Filter{tt.filter}
			out, err := Apply(mustParse(t, data), data, "cal", chain, testOpts)
			if err != nil {
				t.Fatal(err)
			}
			levels := checkAgainstLevels(t, data, out, chain, testOpts)
			var got []Level
			for _, l := range levels {
				got = append(got, l.Level)
			}
			// Sorted by start: the moved occurrence (second) is 19:00.
			if len(got) != 4 || got[0] != tt.want[0] || got[1] != tt.want[1] || got[2] != tt.want[2] || got[3] != tt.want[3] {
				t.Fatalf("levels %v, want %v", got, tt.want)
			}
			text := unfold(out)
			for _, s := range tt.has {
				if !strings.Contains(text, s) {
					t.Errorf("output lacks %q:\n%s", s, text)
				}
			}
			for _, s := range tt.hasNot {
				if strings.Contains(text, s) {
					t.Errorf("output contains %q:\n%s", s, text)
				}
			}
			if tt.name == "friends" && strings.Contains(text, "RRULE") {
				t.Errorf("a series with one visible occurrence kept hidden ones through RRULE:\n%s", text)
			}
		})
	}
}

func TestStraddlingSeriesTakesTheStricterLevel(t *testing.T) {
	data := weekly("FREQ=WEEKLY", []string{"DTSTART;TZID=Asia/Tokyo:20250602T163000", "DTEND;TZID=Asia/Tokyo:20250602T173000"})
	obj := mustParse(t, data)
	opts := Options{Window: windowOf("2025-06-01", "2025-08-01")}
	for _, tt := range []struct {
		name   string
		filter *Filter
		want   Level
	}{{"family", family(), Summary}, {"colleagues", colleagues(), Summary}, {"friends", friends(), Hidden}} {
		t.Run(tt.name, func(t *testing.T) {
			levels, err := LevelsFor(obj, "cal", []*Filter{tt.filter}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(levels) != 9 {
				t.Fatalf("%d occurrences in the window, want 9", len(levels))
			}
			for _, l := range levels {
				if l.Level != tt.want {
					t.Fatalf("occurrence %v at %v, want %v", l.Start, l.Level, tt.want)
				}
			}
			out, err := Apply(obj, data, "cal", []*Filter{tt.filter}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == Hidden {
				if out != nil {
					t.Fatalf("all hidden, yet emitted:\n%s", out)
				}
				return
			}
			checkAgainstLevels(t, data, out, []*Filter{tt.filter}, opts)
			// Time conditions apply, so the infinite series is bounded.
			if text := unfold(out); strings.Contains(text, "RRULE") || !strings.Contains(text, "RDATE;TZID=Asia/Tokyo:") {
				t.Errorf("infinite series with time rules not bounded to the window:\n%s", text)
			}
		})
	}
}

func windowOf(from, to string) ical.TimeRange {
	s, _ := time.Parse(time.DateOnly, from)
	e, _ := time.Parse(time.DateOnly, to)
	return ical.TimeRange{Start: s, End: e}
}

func TestInfiniteSeriesWithMixedLevels(t *testing.T) {
	data := weekly("FREQ=DAILY", []string{"DTSTART;TZID=Asia/Tokyo:20250602T120000", "DTEND;TZID=Asia/Tokyo:20250602T130000"})
	opts := Options{Window: windowOf("2025-06-01", "2025-07-01")}
	for _, f := range []*Filter{family(), colleagues(), friends()} {
		chain := []*Filter{f}
		out, err := Apply(mustParse(t, data), data, "cal", chain, opts)
		if err != nil {
			t.Fatal(err)
		}
		levels := checkAgainstLevels(t, data, out, chain, opts)
		if len(levels) != 29 {
			t.Fatalf("%d occurrences in June from the 2nd, want 29", len(levels))
		}
		// Nothing outside the window: the series is bounded.
		all, _ := recur.Expand(mustParse(t, out).Cal.Children, recur.Options{Floating: time.UTC})
		for _, in := range all {
			if in.Start.Before(opts.Window.Start) || !in.Start.Before(opts.Window.End) {
				t.Fatalf("instance %v outside the window", in.Start)
			}
		}
	}
}

func TestTimeInvariantSeriesKeepsItsRule(t *testing.T) {
	data := weekly("FREQ=WEEKLY", mondayNine,
		append([]string{"CATEGORIES:secret"}, movedToEvening...))
	f := &Filter{Default: Summary, Rules: []Rule{{Level: Hidden, Categories: []string{"Secret"}}}}
	chain := []*Filter{f}
	out, err := Apply(mustParse(t, data), data, "cal", chain, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	checkAgainstLevels(t, data, out, chain, testOpts)
	text := unfold(out)
	if !strings.Contains(text, "RRULE:FREQ=WEEKLY\r\n") || !strings.Contains(text, "EXDATE;TZID=Asia/Tokyo:20250609T090000") {
		t.Errorf("want the rule kept and the hidden override as EXDATE:\n%s", text)
	}
	if strings.Contains(text, "override") || strings.Contains(text, "Standup moved") || strings.Contains(text, "RECURRENCE-ID") {
		t.Errorf("hidden override leaked:\n%s", text)
	}
}

func TestFiniteSeriesHiddenOccurrencesBecomeEXDATE(t *testing.T) {
	data := weekly("FREQ=DAILY;COUNT=7", []string{"DTSTART;VALUE=DATE:20250602"})
	chain := []*Filter{colleagues()}
	out, err := Apply(mustParse(t, data), data, "cal", chain, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	checkAgainstLevels(t, data, out, chain, testOpts)
	text := unfold(out)
	if !strings.Contains(text, "RRULE:FREQ=DAILY;COUNT=7") || !strings.Contains(text, "EXDATE;VALUE=DATE:20250607,20250608") {
		t.Errorf("want the rule with the weekend as EXDATE:\n%s", text)
	}
}

func TestThisAndFutureOverride(t *testing.T) {
	data := weekly("FREQ=WEEKLY;COUNT=4", mondayNine, []string{"RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Asia/Tokyo:20250609T090000",
		"DTSTART;TZID=Asia/Tokyo:20250609T190000", "DTEND;TZID=Asia/Tokyo:20250609T200000"})
	chain := []*Filter{family()}
	out, err := Apply(mustParse(t, data), data, "cal", chain, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	levels := checkAgainstLevels(t, data, out, chain, testOpts)
	var full int
	for _, l := range levels {
		if l.Level == Full {
			full++
		}
	}
	if full != 3 {
		t.Errorf("%d occurrences moved to the evening are full, want 3: %+v", full, levels)
	}
	if strings.Contains(unfold(out), "RANGE") {
		t.Errorf("RANGE kept in explicit overrides:\n%s", out)
	}
}

func TestFilterChainTakesTheStricterLevel(t *testing.T) {
	data := weekly("FREQ=WEEKLY;COUNT=4", mondayNine, movedToEvening)
	// Family sees the evening in full, but the outer filter caps
	// everything from this source at busy.
	outer := &Filter{Default: Full, Rules: []Rule{{Level: Busy, Sources: []string{"cal"}}}}
	chain := []*Filter{family(), outer}
	out, err := Apply(mustParse(t, data), data, "cal", chain, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range checkAgainstLevels(t, data, out, chain, testOpts) {
		if l.Level != Busy {
			t.Errorf("occurrence %v at %v, want busy", l.Start, l.Level)
		}
	}
	if text := unfold(out); strings.Contains(text, "Standup") {
		t.Errorf("title leaked through the chain:\n%s", text)
	}
}
