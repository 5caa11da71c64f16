package ical

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

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
	zones := []string{"UTC", "Pacific/Kiritimati", "Etc/GMT+12", "America/St_Johns", "Europe/Berlin", "Pacific/Pago_Pago"}
	var locs []*time.Location
	for _, z := range zones {
		loc, err := time.LoadLocation(z)
		if err != nil {
			t.Fatal("zone data is embedded (time/tzdata in package tz), yet:", err)
		}
		locs = append(locs, loc)
	}
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
			if !IndexProvesMatch(f, &so) {
				continue
			}
			proved++
			for _, loc := range locs {
				if ok, err := p.Match(f, loc); err != nil || !ok {
					t.Fatalf("index proves a match the data does not make in %s (err %v):\nrange %v – %v\n%s",
						loc, err, tr.Start, tr.End, data)
				}
			}
		}
	}
	if proved < 1000 {
		t.Errorf("the index proved only %d matches; the test exercises too little", proved)
	}
}

// TestIndexProvesMatchOnlyForPureTimeRanges checks the filters and objects
// the index cannot decide.
func TestIndexProvesMatchOnlyForPureTimeRanges(t *testing.T) {
	start := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	tr := TimeRange{Start: start.AddDate(0, 0, -3), End: start.AddDate(0, 0, 3)}
	single := &store.Object{Component: "VEVENT", SpanStart: start, SpanEnd: start.Add(time.Hour)}
	if !IndexProvesMatch(timeRangeFilter(tr), single) {
		t.Fatal("a single event in the middle of the range is not proved")
	}
	withProp := timeRangeFilter(tr)
	withProp.Comps[0].Props = []PropFilter{{Name: "SUMMARY", IsNotDefined: true}}
	notDefined := timeRangeFilter(tr)
	notDefined.Comps[0].IsNotDefined = true
	todo := timeRangeFilter(tr)
	todo.Comps[0].Name = "VTODO"
	nested := timeRangeFilter(tr)
	nested.Comps[0].Comps = []CompFilter{{Name: "VALARM"}}
	for name, f := range map[string]*CompFilter{"prop-filter": withProp, "is-not-defined": notDefined, "VTODO": todo, "nested": nested,
		"no time-range": {Name: "VCALENDAR", Comps: []CompFilter{{Name: "VEVENT"}}}} {
		if IndexProvesMatch(f, single) {
			t.Errorf("%s: proved from the index", name)
		}
	}
	recurring := *single
	recurring.Recurring = true
	nearEdge := *single
	nearEdge.SpanStart = tr.End.Add(-FloatingSlack)
	for name, o := range map[string]*store.Object{"recurring": &recurring, "near the end": &nearEdge, "no span": {Component: "VEVENT"}} {
		if IndexProvesMatch(timeRangeFilter(tr), o) {
			t.Errorf("%s: proved from the index", name)
		}
	}
}
