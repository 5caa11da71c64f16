package ical

import (
	"bytes"
	"slices"
	"strings"
	"time"

	goical "github.com/emersion/go-ical"
)

// BusyPeriod is one period of a free-busy answer.
type BusyPeriod struct {
	Start, End time.Time // UTC
	// Type is the FBTYPE: BUSY, BUSY-TENTATIVE or BUSY-UNAVAILABLE.
	Type string
}

// Free-busy types (RFC 5545 section 3.2.9).
const (
	FBBusy            = "BUSY"
	FBBusyTentative   = "BUSY-TENTATIVE"
	FBBusyUnavailable = "BUSY-UNAVAILABLE"
	fbFree            = "FREE"
)

// BusyPeriods returns the busy time o contributes inside tr following RFC
// 4791 section 7.10: opaque, non-cancelled VEVENTs (TENTATIVE gives
// BUSY-TENTATIVE), VFREEBUSY components' FREEBUSY periods, and VAVAILABILITY is
// not considered. Periods are clipped to tr.
func (o *Object) BusyPeriods(tr TimeRange, floating *time.Location) ([]BusyPeriod, error) {
	if floating == nil {
		floating = time.UTC
	}
	var out []BusyPeriod
	add := func(p BusyPeriod) {
		if p.Type == fbFree {
			return
		}
		if !tr.Start.IsZero() && p.Start.Before(tr.Start) {
			p.Start = tr.Start
		}
		if !tr.End.IsZero() && p.End.After(tr.End) {
			p.End = tr.End
		}
		if p.End.After(p.Start) {
			p.Start, p.End = p.Start.UTC(), p.End.UTC()
			out = append(out, p)
		}
	}
	switch o.Component {
	case goical.CompEvent:
		e := &evaluator{o: o, floating: floating, set: o.components()}
		for _, c := range e.set {
			typ, busy := eventBusyType(c)
			if !busy {
				continue
			}
			for _, in := range e.instances(c, tr) {
				if in.hasStart && tr.overlaps(in.start, in.end) {
					add(BusyPeriod{Start: in.start, End: in.end, Type: typ})
				}
			}
		}
	case goical.CompFreeBusy:
		for _, c := range o.components() {
			for _, p := range o.componentFreeBusy(c, floating) {
				add(p)
			}
		}
	}
	return out, nil
}

// eventBusyType tells how an event instance counts for free-busy.
func eventBusyType(c *goical.Component) (string, bool) {
	if strings.EqualFold(propValue(c, goical.PropTransparency), "TRANSPARENT") {
		return "", false
	}
	switch strings.ToUpper(propValue(c, goical.PropStatus)) {
	case "CANCELLED":
		return "", false
	case "TENTATIVE":
		return FBBusyTentative, true
	}
	return FBBusy, true
}

// MergeBusyPeriods sorts periods and coalesces those of one type that
// overlap or touch.
func MergeBusyPeriods(periods []BusyPeriod) []BusyPeriod {
	ps := slices.Clone(periods)
	slices.SortFunc(ps, func(a, b BusyPeriod) int {
		if c := strings.Compare(a.Type, b.Type); c != 0 {
			return c
		}
		return a.Start.Compare(b.Start)
	})
	var out []BusyPeriod
	for _, p := range ps {
		if n := len(out); n > 0 && out[n-1].Type == p.Type && !p.Start.After(out[n-1].End) {
			if p.End.After(out[n-1].End) {
				out[n-1].End = p.End
			}
			continue
		}
		out = append(out, p)
	}
	slices.SortStableFunc(out, func(a, b BusyPeriod) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.Type, b.Type)
	})
	return out
}

// FreeBusyCalendar returns a VCALENDAR with one VFREEBUSY for tr holding
// the merged periods (overlapping periods of one type coalesced), as answered
// to a free-busy-query REPORT. now stamps DTSTAMP.
func FreeBusyCalendar(periods []BusyPeriod, tr TimeRange, now time.Time) []byte {
	var sb bytes.Buffer
	line := func(s string) { writeLine(&sb, s) }
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:" + DefaultProdID)
	line("BEGIN:VFREEBUSY")
	line("DTSTAMP:" + formatUTC(now))
	if !tr.Start.IsZero() {
		line("DTSTART:" + formatUTC(tr.Start))
	}
	if !tr.End.IsZero() {
		line("DTEND:" + formatUTC(tr.End))
	}
	for _, p := range MergeBusyPeriods(periods) {
		name := "FREEBUSY"
		if p.Type != "" && p.Type != FBBusy {
			name += ";FBTYPE=" + p.Type
		}
		line(name + ":" + formatUTC(p.Start) + "/" + formatUTC(p.End))
	}
	line("END:VFREEBUSY")
	line("END:VCALENDAR")
	return sb.Bytes()
}
