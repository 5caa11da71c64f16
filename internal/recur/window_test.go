package recur

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"
)

// TestWindowedExpansionMatchesFull generates recurring events from the
// features the engine supports (DAILY to YEARLY rules with INTERVAL,
// COUNT, UNTIL, BYDAY, BYMONTHDAY, BYMONTH and BYSETPOS; long RDATE and
// EXDATE lists in the series' zone, in UTC and as dates; PERIOD RDATEs;
// moved overrides and RANGE=THISANDFUTURE; DTSTART in UTC, floating, as a
// date, or in zones with DST, including a half-hour change), and checks
// that expanding a window gives exactly the instances of a full expansion
// that overlap it. A window lets the rule iterator start near it and the
// expansion skip RDATE and EXDATE values far from it; the full expansion
// walks every instance from DTSTART and reads every value.
func TestWindowedExpansionMatchesFull(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 11))
	zones := []string{"Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	compared, nonEmpty := 0, 0
	for i := range 300 {
		zone := zones[r.IntN(len(zones))]
		start := base.Add(time.Duration(r.IntN(400*24*4)) * 15 * time.Minute)
		kind := r.IntN(5)
		var dtstart string
		allDay := false
		switch kind {
		case 0:
			dtstart = "DTSTART:" + start.Format("20060102T150405Z")
		case 1:
			dtstart = "DTSTART:" + start.Format("20060102T150405")
		case 2:
			dtstart = "DTSTART;VALUE=DATE:" + start.Format("20060102")
			allDay = true
		default:
			dtstart = "DTSTART;TZID=" + zone + ":" + start.Format("20060102T150405")
		}
		// value formats a list value in the series' own form, or
		// (mixed) in UTC or as a date.
		value := func(t time.Time) string {
			switch {
			case allDay:
				return t.Format("20060102")
			case kind == 0 || (kind >= 3 && r.IntN(4) == 0):
				return t.Format("20060102T150405Z")
			default:
				return t.Format("20060102T150405")
			}
		}
		listParam := ""
		switch {
		case allDay:
			listParam = ";VALUE=DATE"
		case kind >= 3:
			listParam = ";TZID=" + zone
		}
		freq := []string{"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}[r.IntN(4)]
		rule := "FREQ=" + freq
		if r.IntN(3) == 0 {
			rule += fmt.Sprintf(";INTERVAL=%d", 1+r.IntN(3))
		}
		switch freq {
		case "WEEKLY":
			if r.IntN(2) == 0 {
				rule += ";BYDAY=MO,WE,FR"
			}
		case "MONTHLY":
			switch r.IntN(3) {
			case 0:
				rule += ";BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"
			case 1:
				rule += ";BYMONTHDAY=1,15,-1"
			}
		case "YEARLY":
			if r.IntN(2) == 0 {
				rule += ";BYMONTH=3,10;BYDAY=-1SU"
			}
		}
		switch r.IntN(3) {
		case 0:
			rule += fmt.Sprintf(";COUNT=%d", 1+r.IntN(400))
		case 1:
			rule += ";UNTIL=" + start.AddDate(0, 1+r.IntN(30), 0).Format("20060102T150405Z")
		}
		lines := []string{"BEGIN:VEVENT", "UID:w" + fmt.Sprint(i), dtstart, "RRULE:" + rule}
		if !allDay && r.IntN(2) == 0 {
			lines = append(lines, fmt.Sprintf("DURATION:PT%dM", 15*r.IntN(200)))
		} else if allDay && r.IntN(2) == 0 {
			lines = append(lines, fmt.Sprintf("DURATION:P%dD", 1+r.IntN(3)))
		}
		// Long lists of dates on the series' grid (so that some coincide
		// with instances) and off it.
		for _, name := range []string{"RDATE", "EXDATE"} {
			if r.IntN(3) == 0 {
				continue
			}
			var vals []string
			step := []int{1, 7, 30}[r.IntN(3)]
			for k := range 50 + r.IntN(400) {
				at := start.AddDate(0, 0, k*step)
				if r.IntN(5) == 0 {
					at = at.Add(time.Duration(r.IntN(48)) * 30 * time.Minute)
				}
				vals = append(vals, value(at))
			}
			lines = append(lines, name+listParam+":"+strings.Join(vals, ","))
		}
		if !allDay && r.IntN(4) == 0 {
			p := start.AddDate(0, 0, r.IntN(300)).Format("20060102T150405Z")
			lines = append(lines, "RDATE;VALUE=PERIOD:"+p+"/P"+fmt.Sprint(1+r.IntN(20))+"D")
		}
		lines = append(lines, "END:VEVENT")
		// Overrides of instances the rule makes, moved by up to a few
		// days either way; now and then one for this and all later ones.
		if r.IntN(2) == 0 {
			all, _ := Expand(mustComps(t, lines), Options{End: base.AddDate(3, 0, 0), Max: 300})
			for k := range min(len(all), 1+r.IntN(4)) {
				in := all[r.IntN(len(all))]
				rid := value(in.RecurrenceID.In(locOf(zone, kind)))
				ridLine := "RECURRENCE-ID" + listParam + ":" + rid
				if k == 0 && r.IntN(4) == 0 {
					ridLine = "RECURRENCE-ID" + listParam + ";RANGE=THISANDFUTURE:" + rid
				}
				moved := in.Start.Add(time.Duration(r.IntN(9*24)-4*24) * time.Hour)
				ovStart := "DTSTART:" + moved.UTC().Format("20060102T150405Z")
				if allDay {
					ovStart = "DTSTART;VALUE=DATE:" + moved.Format("20060102")
				}
				lines = append(lines, "BEGIN:VEVENT", "UID:w"+fmt.Sprint(i), ridLine, ovStart, "END:VEVENT")
			}
		}
		comps := mustComps(t, lines)
		for range 6 {
			from := start.Add(time.Duration(r.IntN(500*24)-24*30) * time.Hour)
			to := from.Add(time.Duration(1+r.IntN(24*45)) * time.Hour)
			for _, floating := range []*time.Location{time.UTC, locOf("Pacific/Kiritimati", 3)} {
				opts := Options{Start: from, End: to, Floating: floating, Max: 5000}
				window, errW := Expand(comps, opts)
				full, errF := Expand(comps, Options{End: to, Floating: floating, Max: 50000})
				if errF != nil || errW != nil {
					continue // too many instances to compare
				}
				var want []Instance
				for _, in := range full {
					if Overlaps(in.Start, in.End, from, to) {
						want = append(want, in)
					}
				}
				compared++
				if len(want) > 0 {
					nonEmpty++
				}
				if got, exp := describe(window), describe(want); got != exp {
					t.Fatalf("window %s – %s (floating %s) of\n%s\ngot  %s\nwant %s",
						from.Format(time.RFC3339), to.Format(time.RFC3339), floating, strings.Join(lines, "\n"), got, exp)
				}
			}
		}
	}
	if compared < 1500 || nonEmpty < 500 {
		t.Errorf("compared %d windows, %d with instances: the test exercises too little", compared, nonEmpty)
	}
}

func mustComps(t *testing.T, lines []string) []*goical.Component {
	t.Helper()
	comps, _ := parse(t, strings.Join(lines, "\n"))
	return comps
}

func locOf(zone string, kind int) *time.Location {
	if kind < 3 {
		return time.UTC
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		panic(err)
	}
	return loc
}

// describe lists every field of the instances that an expansion decides.
func describe(ins []Instance) string {
	var b strings.Builder
	for _, in := range ins {
		fmt.Fprintf(&b, "%s/%s/%s/%t/%t/%p ", in.RecurrenceID.UTC().Format("20060102T150405Z"),
			in.Start.UTC().Format("20060102T150405Z"), in.End.UTC().Format("20060102T150405Z"), in.AllDay, in.Override, in.Component)
	}
	return b.String()
}
