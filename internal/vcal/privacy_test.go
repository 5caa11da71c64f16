package vcal

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"

	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/recur"
)

// The privacy property: for random objects and random filter chains, no
// data an occurrence's level strips reaches the output unless another
// occurrence of the same component may show it; hidden occurrences are not
// in the output; visible ones are, at their own times; and the output
// parses. Levels are checked against a reference evaluator that samples
// every quarter hour, independent of the engine's cut points.

var propWindow = ical.TimeRange{
	Start: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC),
	End:   time.Date(2025, 4, 15, 0, 0, 0, 0, time.UTC),
}

// markerFields are the planted fields and the least restrictive level
// that may not show them.
var markerFields = map[string]Level{
	"desc": Summary, "loc": Summary, "cn": Summary, "att": Summary, "orgcn": Summary, "org": Summary,
	"attach": Summary, "url": Summary, "x": Summary, "xparam": Summary, "comment": Summary,
	"contact": Summary, "resources": Summary, "cat": Summary, "alarm": Summary, "altrep": Summary,
	"sum": Busy,
}

func marker(k int, field string) string { return fmt.Sprintf("Q%02d%sQ", k, field) }

type generated struct {
	data  []byte
	comps int // components with markers, numbered 0..comps-1 in order
}

var propZones = []string{"Europe/Berlin", "Asia/Tokyo", "America/New_York"}

// genObject writes a random event: single or recurring (finite or not,
// with EXDATE and overrides), timed in UTC, with a TZID, floating or
// all-day, with every kind of detail marked.
func genObject(r *rand.Rand) generated {
	day := propWindow.Start.AddDate(0, 0, 1+r.IntN(20))
	start := day.Add(time.Duration(r.IntN(96)) * 15 * time.Minute)
	form := r.IntN(5)
	allDay := form == 4
	fmtTime := func(name string, t time.Time) string {
		switch form {
		case 0:
			return name + ":" + t.Format("20060102T150405Z")
		case 1, 2:
			return name + ";TZID=" + propZones[form-1] + ":" + t.Format("20060102T150405")
		case 3:
			return name + ":" + t.Format("20060102T150405")
		}
		return name + ";VALUE=DATE:" + t.Format("20060102")
	}
	var endLine string
	if allDay {
		switch r.IntN(3) {
		case 0:
			endLine = fmtTime("DTEND", start.AddDate(0, 0, 1+r.IntN(3)))
		case 1:
			endLine = fmt.Sprintf("DURATION:P%dD", 1+r.IntN(2))
		}
	} else {
		durs := []time.Duration{0, 30 * time.Minute, time.Hour, 2 * time.Hour, 5 * time.Hour, 26 * time.Hour, 72 * time.Hour}
		switch d := durs[r.IntN(len(durs))]; r.IntN(3) {
		case 0:
			endLine = fmtTime("DTEND", start.Add(d))
		case 1:
			if d > 0 {
				endLine = fmt.Sprintf("DURATION:PT%dM", int(d.Minutes()))
			}
		}
	}
	if allDay {
		start = day
	}
	k := 0
	master := []string{"BEGIN:VEVENT", "UID:p1", "DTSTAMP:20250101T000000Z", fmtTime("DTSTART", start)}
	if endLine != "" {
		master = append(master, endLine)
	}
	rules := []string{"", "", "FREQ=DAILY;COUNT=5", "FREQ=WEEKLY;BYDAY=MO,TH,SA", "FREQ=DAILY;INTERVAL=2",
		"FREQ=WEEKLY", "FREQ=DAILY;UNTIL=20250320T000000Z"}
	rule := rules[r.IntN(len(rules))]
	if rule != "" {
		master = append(master, "RRULE:"+rule)
	}
	master = append(master, details(r, k)...)
	master = append(master, "END:VEVENT")
	lines := master
	if rule != "" {
		obj, err := ical.Parse(event(master...))
		if err == nil {
			insts, _ := recur.Expand(obj.Cal.Children, recur.Options{Start: propWindow.Start, End: propWindow.End, TZ: obj.TZ, Floating: time.UTC, Max: 40})
			if len(insts) > 2 && r.IntN(2) == 0 {
				ex := insts[1+r.IntN(len(insts)-1)].RecurrenceID
				lines = slices.Insert(lines, 4, fmtTime("EXDATE", ex))
			}
			for i := 0; i < 2 && len(insts) > 1; i++ {
				in := insts[r.IntN(len(insts))]
				if slices.Contains(lines, fmtTime("RECURRENCE-ID", in.RecurrenceID)) {
					continue
				}
				moved := in.Start.Add(time.Duration(r.IntN(40)-20) * time.Hour)
				if allDay {
					moved = in.Start.AddDate(0, 0, r.IntN(3)-1)
				}
				if moved.Before(propWindow.Start.AddDate(0, 0, 1)) || moved.After(propWindow.End.AddDate(0, 0, -4)) {
					// Overrides stay inside the window, where the test
					// sees every occurrence.
					continue
				}
				k++
				ov := []string{"BEGIN:VEVENT", "UID:p1", "DTSTAMP:20250101T000000Z",
					fmtTime("RECURRENCE-ID", in.RecurrenceID), fmtTime("DTSTART", moved)}
				if r.IntN(2) == 0 && !allDay {
					ov = append(ov, fmtTime("DTEND", moved.Add(90*time.Minute)))
				}
				ov = append(ov, details(r, k)...)
				lines = append(lines, append(ov, "END:VEVENT")...)
			}
		}
	}
	return generated{data: event(lines...), comps: k + 1}
}

// details are the properties of component k, each carrying a marker.
func details(r *rand.Rand, k int) []string {
	m := func(f string) string { return marker(k, f) }
	lines := []string{
		fmt.Sprintf(`SUMMARY;ALTREP="https://example.com/%s":%s`, m("altrep"), m("sum")),
		"DESCRIPTION:" + m("desc"),
		"LOCATION:" + m("loc"),
		fmt.Sprintf("ATTENDEE;CN=%s:mailto:%s@example.com", m("cn"), m("att")),
		fmt.Sprintf("ORGANIZER;CN=%s:mailto:%s@example.com", m("orgcn"), m("org")),
		"ATTACH:https://example.com/" + m("attach"),
		"URL:https://example.com/" + m("url"),
		"X-SECRET:" + m("x"),
		"COMMENT:" + m("comment"),
		"CONTACT:" + m("contact"),
		"RESOURCES:" + m("resources"),
		"TRANSP:" + []string{"OPAQUE", "TRANSPARENT"}[r.IntN(2)],
		"SEQUENCE:1",
		"BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT10M", "DESCRIPTION:" + m("alarm"), "END:VALARM",
	}
	cats := []string{m("cat")}
	for _, c := range []string{"work", "family", "secret"} {
		if r.IntN(3) == 0 {
			cats = append(cats, c)
		}
	}
	lines = append(lines, "CATEGORIES:"+strings.Join(cats, ","))
	if c := r.IntN(5); c < 3 {
		lines = append(lines, "CLASS:"+[]string{"PUBLIC", "PRIVATE", "CONFIDENTIAL"}[c])
	}
	// A data-carrying parameter on a kept property must go.
	lines = append(lines, "STATUS;X-NOTE="+m("xparam")+":CONFIRMED")
	return lines
}

// genChain returns one or two random valid filters.
func genChain(r *rand.Rand) []*Filter {
	var chain []*Filter
	for range 1 + r.IntN(2) {
		f := &Filter{Default: Level(1 + r.IntN(4)), Zone: propZones[r.IntN(len(propZones))]}
		if r.IntN(3) == 0 {
			f.PrivateCap = Level(1 + r.IntN(4))
		}
		if r.IntN(3) == 0 {
			f.ConfidentialCap = Level(1 + r.IntN(4))
		}
		for range r.IntN(5) {
			rule := Rule{Level: Level(1 + r.IntN(4))}
			for {
				switch r.IntN(8) {
				case 0:
					for d := time.Sunday; d <= time.Saturday; d++ {
						if r.IntN(3) == 0 {
							rule.Weekdays = append(rule.Weekdays, d)
						}
					}
					rule.NotWeekdays = len(rule.Weekdays) > 0 && r.IntN(4) == 0
				case 1:
					from, to := r.IntN(48), r.IntN(49)
					if from == to || (from == 0 && to == 48) {
						continue
					}
					clock := func(h int) string { return fmt.Sprintf("%02d:%02d", h/2, h%2*30) }
					rule.TimeOfDay = &TimeWindow{From: clock(from), To: clock(to)}
					rule.NotTimeOfDay = r.IntN(4) == 0
				case 2:
					from := propWindow.Start.AddDate(0, 0, r.IntN(40))
					rule.Dates = &DateRange{From: from.Format(time.DateOnly), To: from.AddDate(0, 0, 1+r.IntN(10)).Format(time.DateOnly)}
					rule.NotDates = r.IntN(4) == 0
				case 3:
					rule.Categories = []string{[]string{"work", "family", "secret"}[r.IntN(3)]}
					rule.NotCategories = r.IntN(4) == 0
				case 4:
					rule.Sources = []string{[]string{"a", "b"}[r.IntN(2)]}
					rule.NotSources = r.IntN(4) == 0
				case 5:
					rule.Classes = []string{[]string{"PUBLIC", "PRIVATE", "CONFIDENTIAL"}[r.IntN(3)]}
					rule.NotClasses = r.IntN(4) == 0
				case 6:
					rule.Transp = []string{"OPAQUE", "TRANSPARENT"}[r.IntN(2)]
					rule.NotTransp = r.IntN(4) == 0
				case 7:
					rule.Zone = propZones[r.IntN(len(propZones))]
				}
				if r.IntN(2) == 0 && (len(rule.Weekdays) > 0 || rule.TimeOfDay != nil || rule.Dates != nil ||
					len(rule.Categories) > 0 || len(rule.Sources) > 0 || len(rule.Classes) > 0 || rule.Transp != "") {
					break
				}
			}
			f.Rules = append(f.Rules, rule)
		}
		chain = append(chain, f)
	}
	return chain
}

// refLevel is the reference evaluation of one occurrence: the most
// restrictive level at any quarter hour it spans (every boundary in these
// tests falls on a quarter hour).
func refLevel(t *testing.T, chain []*Filter, c *goical.Component, source string, in recur.Instance, owner bool) Level {
	floating := isFloating(c)
	var cats []string
	for _, p := range c.Props[goical.PropCategories] {
		for _, v := range strings.Split(p.Value, ",") {
			cats = append(cats, strings.ToLower(v))
		}
	}
	class, transp := "PUBLIC", "OPAQUE"
	if p := c.Props.Get(goical.PropClass); p != nil {
		class = p.Value
	}
	if p := c.Props.Get(goical.PropTransparency); p != nil {
		transp = p.Value
	}
	zones := map[string]*time.Location{}
	for _, name := range propZones {
		zones[name], _ = time.LoadLocation(name)
	}
	level := Full
	for _, f := range chain {
		at := func(ts time.Time) Level {
			l := Level(0)
			for _, r := range f.Rules {
				zone := r.Zone
				if zone == "" {
					zone = f.Zone
				}
				loc := zones[zone]
				w := ts.In(loc)
				if floating {
					w = ts.UTC()
				}
				ok := true
				if len(r.Weekdays) > 0 {
					ok = ok && slices.Contains(r.Weekdays, w.Weekday()) != r.NotWeekdays
				}
				if r.TimeOfDay != nil {
					clock := w.Format("15:04")
					var in bool
					if r.TimeOfDay.From < r.TimeOfDay.To {
						in = clock >= r.TimeOfDay.From && clock < r.TimeOfDay.To
					} else {
						in = clock >= r.TimeOfDay.From || clock < r.TimeOfDay.To
					}
					ok = ok && in != r.NotTimeOfDay
				}
				if r.Dates != nil {
					d := w.Format(time.DateOnly)
					ok = ok && (d >= r.Dates.From && d < r.Dates.To) != r.NotDates
				}
				if len(r.Categories) > 0 {
					ok = ok && slices.Contains(cats, r.Categories[0]) != r.NotCategories
				}
				if len(r.Sources) > 0 {
					ok = ok && (r.Sources[0] == source) != r.NotSources
				}
				if len(r.Classes) > 0 {
					ok = ok && (r.Classes[0] == class) != r.NotClasses
				}
				if r.Transp != "" {
					ok = ok && (r.Transp == transp) != r.NotTransp
				}
				if ok {
					l = max(l, r.Level)
				}
			}
			if l == 0 {
				return f.Default
			}
			return l
		}
		level = max(level, at(in.Start))
		for ts := in.Start.Truncate(15 * time.Minute).Add(15 * time.Minute); ts.Before(in.End); ts = ts.Add(15 * time.Minute) {
			level = max(level, at(ts))
		}
		if !owner && class != "PUBLIC" {
			limit, configured := Busy, f.PrivateCap
			if class == "CONFIDENTIAL" {
				configured = f.ConfidentialCap
			}
			if configured != 0 {
				limit = configured
			}
			level = max(level, limit)
		}
	}
	return level
}

func checkPrivacy(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := genObject(r)
	chain := genChain(r)
	source := []string{"a", "b"}[r.IntN(2)]
	opts := Options{Window: propWindow, OwnerView: r.IntN(4) == 0}
	src, err := ical.Parse(g.data)
	if err != nil {
		t.Fatalf("generated object does not parse: %v\n%s", err, g.data)
	}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d: "+format+"\nsource:\n%s\nchain: %s", append([]any{seed}, append(args, g.data, describe(chain))...)...)
	}
	out, err := Apply(src, g.data, source, chain, opts)
	if err != nil {
		fail("Apply: %v", err)
	}
	insts, err := recur.Expand(src.Cal.Children, recur.Options{Start: propWindow.Start, End: propWindow.End, TZ: src.TZ, Floating: time.UTC})
	if err != nil {
		fail("expand source: %v", err)
	}
	levels, err := LevelsFor(src, source, chain, opts)
	if err != nil || len(levels) != len(insts) {
		fail("LevelsFor: %d levels for %d instances, %v", len(levels), len(insts), err)
	}
	// Most revealing level of each component, by marker number.
	compOf := map[*goical.Component]int{}
	for i, c := range src.Cal.Children {
		compOf[c] = i
	}
	reveal := map[int]Level{}
	want := map[time.Time]recur.Instance{}
	wantLevel := map[time.Time]Level{}
	for i, in := range insts {
		l := refLevel(t, chain, in.Component, source, in, opts.OwnerView)
		if levels[i].Level != l || !levels[i].Start.Equal(in.Start) {
			fail("occurrence %v: engine says %v, reference %v", in.Start, levels[i].Level, l)
		}
		k := compOf[in.Component]
		if old, ok := reveal[k]; !ok || l < old {
			reveal[k] = l
		}
		if l != Hidden {
			want[in.RecurrenceID], wantLevel[in.RecurrenceID] = in, l
		}
	}
	if len(want) == 0 {
		if out != nil {
			fail("every occurrence hidden, yet emitted:\n%s", out)
		}
		return
	}
	if out == nil {
		fail("visible occurrences, nothing emitted")
	}
	text := unfold(out)
	for k := range g.comps {
		for field, strippedAt := range markerFields {
			l, ok := reveal[k]
			allowed := ok && l < strippedAt
			if strings.Contains(text, marker(k, field)) && !allowed {
				fail("marker %s of component %d (most revealing level %v) leaked:\n%s", marker(k, field), k, l, text)
			}
		}
	}
	res, err := ical.Parse(out)
	if err != nil {
		fail("output does not parse: %v\n%s", err, out)
	}
	got, err := recur.Expand(res.Cal.Children, recur.Options{Start: propWindow.Start, End: propWindow.End, TZ: res.TZ, Floating: time.UTC})
	if err != nil {
		fail("expand output: %v\n%s", err, out)
	}
	if len(got) != len(want) {
		fail("output has %d instances in the window, want %d\n%s", len(got), len(want), out)
	}
	for _, in := range got {
		w, ok := want[in.RecurrenceID]
		if !ok {
			fail("output instance %v is hidden or unknown\n%s", in.RecurrenceID, out)
		}
		if !in.Start.Equal(w.Start) || !in.End.Equal(w.End) {
			fail("instance %v: output %v-%v, source %v-%v\n%s", in.RecurrenceID, in.Start, in.End, w.Start, w.End, out)
		}
		desc := in.Component.Props.Get(goical.PropDescription)
		summary := in.Component.Props.Get(goical.PropSummary)
		switch wantLevel[in.RecurrenceID] {
		case Full:
			if desc == nil || desc.Value != marker(compOf[w.Component], "desc") {
				fail("full instance %v lost its description\n%s", in.RecurrenceID, out)
			}
		case Summary:
			if desc != nil || summary == nil || summary.Value != marker(compOf[w.Component], "sum") {
				fail("summary instance %v shows the wrong fields\n%s", in.RecurrenceID, out)
			}
		case Busy:
			if desc != nil || summary == nil || summary.Value != BusySummary {
				fail("busy instance %v shows the wrong fields\n%s", in.RecurrenceID, out)
			}
		}
	}
	if again, _ := Apply(src, g.data, source, chain, opts); string(again) != string(out) {
		fail("output not deterministic")
	}
}

func describe(chain []*Filter) string {
	var sb strings.Builder
	for _, f := range chain {
		fmt.Fprintf(&sb, "\n  default %v zone %s privatecap %v", f.Default, f.Zone, f.PrivateCap)
		for _, r := range f.Rules {
			fmt.Fprintf(&sb, "\n    %+v", r)
			if r.TimeOfDay != nil {
				fmt.Fprintf(&sb, " time %+v", *r.TimeOfDay)
			}
			if r.Dates != nil {
				fmt.Fprintf(&sb, " dates %+v", *r.Dates)
			}
		}
	}
	return sb.String()
}

func TestPrivacyProperty(t *testing.T) {
	n := 1500
	if testing.Short() {
		n = 200
	}
	for seed := range uint64(n) {
		checkPrivacy(t, seed)
	}
}

func FuzzPrivacy(f *testing.F) {
	for seed := range uint64(20) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed uint64) { checkPrivacy(t, seed) })
}
