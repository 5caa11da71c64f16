package tz

import "time"

// FromWall returns the instant at which clocks in loc show the wall-clock
// date and time of w (w's own location is ignored; nil loc means UTC).
//
// RFC 5545 section 3.3.5 rules apply at DST changes: a wall-clock time that
// does not exist (in a gap) is moved forward by the length of the gap, and an
// ambiguous one (in an overlap) means its first occurrence, the earlier
// instant.
func FromWall(w time.Time, loc *time.Location) time.Time {
	y, m, d := w.Date()
	h, mi, s := w.Clock()
	asUTC := time.Date(y, m, d, h, mi, s, w.Nanosecond(), time.UTC)
	if loc == nil || loc == time.UTC {
		return asUTC
	}
	// The instant lies within a day of asUTC (offsets span -12h..+14h).
	// Walk the zone's periods (spans of one offset) over that window; the
	// candidate asUTC-offset is right when it falls inside its own period.
	const (
		before = 15 * time.Hour
		after  = 13 * time.Hour
	)
	var valid, gap time.Time
	at := asUTC.Add(-before)
	limit := asUTC.Add(after)
	for range 8 { // a handful of periods at most; bounded against odd data
		local := at.In(loc)
		_, off := local.Zone()
		start, end := local.ZoneBounds()
		t := asUTC.Add(-time.Duration(off) * time.Second)
		switch {
		case (start.IsZero() || !t.Before(start)) && (end.IsZero() || t.Before(end)):
			if valid.IsZero() || t.Before(valid) {
				valid = t
			}
		case !end.IsZero() && !t.Before(end):
			// The wall time is past this period's end under its offset
			// but, if nothing is valid, before the next period starts
			// under the next offset: a gap. This candidate shows the
			// wall time shifted forward by the gap.
			if gap.IsZero() || t.Before(gap) {
				gap = t
			}
		}
		if end.IsZero() || !end.Before(limit) {
			break
		}
		at = end
	}
	switch {
	case !valid.IsZero():
		return valid.In(loc)
	case !gap.IsZero():
		return gap.In(loc)
	}
	_, off := asUTC.In(loc).Zone()
	return asUTC.Add(-time.Duration(off) * time.Second).In(loc)
}
