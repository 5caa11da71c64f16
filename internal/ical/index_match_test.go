package ical

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// floatingZones are the zones the index tests read floating times in: UTC,
// the extreme offsets, a half-hour offset and two with daylight saving time.
func floatingZones(t *testing.T) ([]string, []*time.Location) {
	t.Helper()
	zones := []string{"UTC", "Pacific/Kiritimati", "Etc/GMT+12", "America/St_Johns", "Europe/Berlin", "Pacific/Pago_Pago"}
	var locs []*time.Location
	for _, z := range zones {
		loc, err := time.LoadLocation(z)
		if err != nil {
			t.Fatal("zone data is embedded (time/tzdata in package tz), yet:", err)
		}
		locs = append(locs, loc)
	}
	return zones, locs
}

// matchesInEveryZone fails the test unless the parsed object p matches f
// with its floating times read in each of locs, as an index proof claims.
func matchesInEveryZone(t *testing.T, p *Object, f *CompFilter, locs []*time.Location, data []byte) {
	t.Helper()
	tr := *f.Comps[0].TimeRange
	for _, loc := range locs {
		if ok, err := p.Match(f, loc); err != nil || !ok {
			t.Fatalf("index proves a match the data does not make in %s (err %v):\nrange %v – %v\n%s",
				loc, err, tr.Start, tr.End, data)
		}
	}
}

// timeRangeFilter is the calendar-query filter clients send for a view:
// VEVENTs overlapping tr.
func timeRangeFilter(tr TimeRange) *CompFilter {
	return &CompFilter{Name: "VCALENDAR", Comps: []CompFilter{{Name: "VEVENT", TimeRange: &tr}}}
}

// TestIndexProvesMatchAgreesWithMatch generates single events of every
// kind of start and end (UTC, zoned at the extreme offsets, floating,
// all-day; DTEND, DURATION, none, an end before the start) and ranges
// around them, and checks that whenever the index proves a match, parsing
// and evaluating the event in any floating zone matches too.
func TestIndexProvesMatchAgreesWithMatch(t *testing.T) {
	zones, locs := floatingZones(t)
	r := rand.New(rand.NewPCG(11, 17))
	base := time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC) // a week before Europe's DST change
	proved := 0
	for i := range 4000 {
		wall := base.Add(time.Duration(r.IntN(20*24*4)) * 15 * time.Minute)
		var start, end string
		switch k := r.IntN(5); k {
		case 0:
			start = "DTSTART:" + wall.Format("20060102T150405Z")
		case 1:
			start = "DTSTART;TZID=" + zones[1+r.IntN(len(zones)-1)] + ":" + wall.Format("20060102T150405")
		case 2:
			start = "DTSTART:" + wall.Format("20060102T150405")
		default:
			start = "DTSTART;VALUE=DATE:" + wall.Format("20060102")
		}
		allDay := len(start) > 8 && start[:18] == "DTSTART;VALUE=DATE"
		switch r.IntN(4) {
		case 0:
			if allDay {
				end = "DTEND;VALUE=DATE:" + wall.AddDate(0, 0, 1+r.IntN(3)).Format("20060102")
			} else {
				e := wall.Add(time.Duration(r.IntN(72)-6) * 30 * time.Minute)
				end = "DTEND" + start[len("DTSTART"):len(start)-len("20060102T150405")] + e.Format("20060102T150405")
				if start[len(start)-1] == 'Z' {
					end = "DTEND:" + e.Format("20060102T150405Z")
				}
			}
		case 1:
			end = fmt.Sprintf("DURATION:PT%dM", r.IntN(3000))
		case 2:
			end = fmt.Sprintf("DURATION:P%dD", r.IntN(3))
		}
		lines := []string{"BEGIN:VEVENT", fmt.Sprintf("UID:e%d", i), "DTSTAMP:20260101T000000Z", start}
		if end != "" {
			lines = append(lines, end)
		}
		data := wrap(append(lines, "END:VEVENT")...)
		p, err := Parse(data)
		if err != nil {
			continue // an end before a DATE start, and the like
		}
		var so store.Object
		p.Index(&so, base.AddDate(3, 0, 0))
		for range 8 {
			from := base.Add(time.Duration(r.IntN(24*24)-48) * time.Hour)
			tr := TimeRange{Start: from, End: from.Add(time.Duration(1+r.IntN(24*10)) * time.Hour)}
			switch r.IntN(6) {
			case 0:
				tr.Start = time.Time{}
			case 1:
				tr.End = time.Time{}
			}
			f := timeRangeFilter(tr)
			w, ok := ProofWindow(f)
			if !ok || !IndexProvesMatch(w, &so, false) {
				continue
			}
			proved++
			matchesInEveryZone(t, p, f, locs, data)
		}
	}
	if proved < 1000 {
		t.Errorf("the index proved only %d matches; the test exercises too little", proved)
	}
}

// TestIndexProvesRecurringMatch generates recurring events (daily, weekly
// and monthly rules with COUNT or UNTIL or neither, RDATEs, EXDATEs, moved
// and cancelled instances; UTC, zoned, floating and all-day) and ranges
// around them, and checks that whenever an indexed occurrence starts in the
// proof window, parsing and evaluating the event in any floating zone
// matches too. It also checks the proof is not vacuous.
func TestIndexProvesRecurringMatch(t *testing.T) {
	zones, locs := floatingZones(t)
	r := rand.New(rand.NewPCG(23, 5))
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC) // the series cross Europe's and America's DST changes
	proved, candidates := 0, 0
	for i := range 1000 {
		wall := base.Add(time.Duration(r.IntN(30*24*4)) * 15 * time.Minute)
		allDay := r.IntN(5) == 0
		var value func(time.Time) string
		var param string
		switch k := r.IntN(4); {
		case allDay:
			param, value = ";VALUE=DATE", func(t time.Time) string { return t.Format("20060102") }
		case k == 0:
			value = func(t time.Time) string { return t.Format("20060102T150405Z") }
		case k == 1:
			param = ";TZID=" + zones[1+r.IntN(len(zones)-1)]
			value = func(t time.Time) string { return t.Format("20060102T150405") }
		default:
			value = func(t time.Time) string { return t.Format("20060102T150405") }
		}
		freq := []string{"DAILY", "WEEKLY", "MONTHLY"}[r.IntN(3)]
		step := map[string]func(time.Time, int) time.Time{
			"DAILY":   func(t time.Time, n int) time.Time { return t.AddDate(0, 0, n) },
			"WEEKLY":  func(t time.Time, n int) time.Time { return t.AddDate(0, 0, 7*n) },
			"MONTHLY": func(t time.Time, n int) time.Time { return t.AddDate(0, n, 0) },
		}[freq]
		// Values of another kind than DTSTART (an UTC UNTIL for a
		// floating start, say) make the instances depend on the zone.
		otherKind := func(t time.Time) (string, string) {
			switch r.IntN(4) {
			case 0:
				return "", t.Format("20060102T150405Z")
			case 1:
				return "", t.Format("20060102T150405")
			case 2:
				return ";VALUE=DATE", t.Format("20060102")
			default:
				return ";TZID=America/St_Johns", t.Format("20060102T150405")
			}
		}
		rule := "RRULE:FREQ=" + freq
		switch r.IntN(3) {
		case 0:
			rule += fmt.Sprintf(";COUNT=%d", 1+r.IntN(20))
		case 1:
			until := step(wall, 1+r.IntN(20))
			switch {
			case r.IntN(3) == 0:
				_, v := otherKind(until)
				if !strings.Contains(v, "T") || strings.HasSuffix(v, "Z") || param == "" {
					rule += ";UNTIL=" + v
				}
			case allDay:
				rule += ";UNTIL=" + until.Format("20060102")
			case param == "":
				rule += ";UNTIL=" + until.Format("20060102T150405")
			default:
				rule += ";UNTIL=" + until.Format("20060102T150405Z")
			}
		}
		lines := []string{"BEGIN:VEVENT", fmt.Sprintf("UID:r%d", i), "DTSTAMP:20260101T000000Z", "DTSTART" + param + ":" + value(wall)}
		if allDay {
			lines = append(lines, "DTEND;VALUE=DATE:"+wall.AddDate(0, 0, 1).Format("20060102"))
		} else {
			lines = append(lines, fmt.Sprintf("DURATION:PT%dM", 15*r.IntN(12)))
		}
		lines = append(lines, rule)
		for range r.IntN(3) {
			ex := step(wall, r.IntN(10))
			if r.IntN(4) == 0 {
				p, v := otherKind(ex)
				lines = append(lines, "EXDATE"+p+":"+v)
				continue
			}
			lines = append(lines, "EXDATE"+param+":"+value(ex))
		}
		if r.IntN(4) == 0 {
			lines = append(lines, "RDATE"+param+":"+value(wall.Add(time.Duration(r.IntN(40*24))*time.Hour)))
		}
		lines = append(lines, "END:VEVENT")
		for range r.IntN(3) {
			// A moved (or cancelled) instance.
			rid := step(wall, r.IntN(10))
			moved := rid.Add(time.Duration(r.IntN(96)-48) * time.Hour)
			if allDay {
				moved = rid.AddDate(0, 0, r.IntN(5)-2)
			}
			ridLine := "RECURRENCE-ID" + param + ":" + value(rid)
			if r.IntN(4) == 0 {
				p, v := otherKind(rid)
				ridLine = "RECURRENCE-ID" + p + ":" + v
			}
			ov := []string{"BEGIN:VEVENT", fmt.Sprintf("UID:r%d", i), "DTSTAMP:20260101T000000Z",
				ridLine, "DTSTART" + param + ":" + value(moved)}
			if r.IntN(3) == 0 {
				ov = append(ov, "STATUS:CANCELLED")
			}
			lines = append(lines, append(ov, "END:VEVENT")...)
		}
		data := wrap(lines...)
		p, err := Parse(data)
		if err != nil {
			continue // e.g. two overrides of one instance
		}
		so := store.Object{Data: data}
		p.Index(&so, base.AddDate(3, 0, 0))
		if !so.Recurring {
			t.Fatalf("not indexed as recurring:\n%s", data)
		}
		for range 8 {
			from := base.Add(time.Duration(r.IntN(60*24)-48) * time.Hour)
			tr := TimeRange{Start: from, End: from.Add(time.Duration(1+r.IntN(24*14)) * time.Hour)}
			// Open-ended ranges are left out: Match expands an endless
			// series to its instance limit for them, which is slow.
			if r.IntN(8) == 0 {
				tr.Start = time.Time{}
			}
			f := timeRangeFilter(tr)
			w, ok := ProofWindow(f)
			if !ok {
				continue
			}
			candidates++
			occurs := slices.ContainsFunc(so.Occurrences, func(p store.Period) bool {
				return (w.Start.IsZero() || !p.Start.Before(w.Start)) && (w.End.IsZero() || p.Start.Before(w.End))
			})
			if !IndexProvesMatch(w, &so, occurs) {
				continue
			}
			proved++
			matchesInEveryZone(t, p, f, locs, data)
		}
	}
	t.Logf("the index proved %d of %d candidate matches", proved, candidates)
	if proved < candidates/4 {
		t.Errorf("the index proved %d of %d matches; the test exercises too little", proved, candidates)
	}
}

// TestIndexProvesMatchOnlyForPureTimeRanges checks the filters and objects
// the index cannot decide.
func TestIndexProvesMatchOnlyForPureTimeRanges(t *testing.T) {
	start := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	tr := TimeRange{Start: start.AddDate(0, 0, -3), End: start.AddDate(0, 0, 3)}
	single := &store.Object{Component: "VEVENT", SpanStart: start, SpanEnd: start.Add(time.Hour)}
	w, ok := ProofWindow(timeRangeFilter(tr))
	if !ok || !IndexProvesMatch(w, single, false) {
		t.Fatal("a single event in the middle of the range is not proved")
	}
	withProp := timeRangeFilter(tr)
	withProp.Comps[0].Props = []PropFilter{{Name: "SUMMARY", IsNotDefined: true}}
	notDefined := timeRangeFilter(tr)
	notDefined.Comps[0].IsNotDefined = true
	taskFilter := timeRangeFilter(tr)
	taskFilter.Comps[0].Name = "VTODO"
	nested := timeRangeFilter(tr)
	nested.Comps[0].Comps = []CompFilter{{Name: "VALARM"}}
	narrow := timeRangeFilter(TimeRange{Start: start, End: start.Add(2 * FloatingSlack)})
	for name, f := range map[string]*CompFilter{"prop-filter": withProp, "is-not-defined": notDefined, "VTODO": taskFilter, "nested": nested,
		"no time-range": {Name: "VCALENDAR", Comps: []CompFilter{{Name: "VEVENT"}}}, "narrower than the slack": narrow} {
		if _, ok := ProofWindow(f); ok {
			t.Errorf("%s: a proof window", name)
		}
	}
	recurring := *single
	recurring.Recurring = true
	recurring.Data = wrap("BEGIN:VEVENT", "UID:x", "DTSTART;TZID=Europe/Berlin:20260510T140000", "RRULE:FREQ=DAILY;UNTIL=20260601T000000Z", "END:VEVENT")
	if IndexProvesMatch(w, &recurring, false) {
		t.Error("a recurring event without an occurrence in the window is proved")
	}
	if !IndexProvesMatch(w, &recurring, true) {
		t.Error("a recurring event with an occurrence in the window is not proved")
	}
	mixed := recurring
	mixed.Data = wrap("BEGIN:VEVENT", "UID:x", "DTSTART:20260510T140000", "RRULE:FREQ=DAILY;UNTIL=20260601T000000Z", "END:VEVENT")
	unread := recurring
	unread.Data = nil
	task := *single
	task.Component = "VTODO"
	nearEdge := *single
	nearEdge.SpanStart = tr.End.Add(-FloatingSlack)
	for name, o := range map[string]*store.Object{"near the end": &nearEdge, "floating start, UTC end": &mixed, "without data": &unread, "no span": {Component: "VEVENT"}, "a task": &task} {
		if IndexProvesMatch(w, o, true) {
			t.Errorf("%s: proved from the index", name)
		}
	}
}
