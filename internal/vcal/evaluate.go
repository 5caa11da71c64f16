package vcal

import (
	"slices"
	"strings"
	"time"

	goical "github.com/emersion/go-ical"
)

// span is the time of one occurrence, [start, end). Floating and all-day
// occurrences hold their wall-clock times as UTC and are read on the wall
// clock of every rule's zone.
type span struct {
	start, end time.Time
	floating   bool
}

// maxEvaluatedSpan bounds the occurrences evaluated instant by instant; a
// longer one gets the most restrictive level its rules could give.
const maxEvaluatedSpan = 400 * 24 * time.Hour

// chain is a compiled filter chain. An empty chain is the source calendar
// itself: everything is Full, subject to the CLASS caps.
type chain []*filter

func compileChain(fs []*Filter) (chain, error) {
	ch := make(chain, 0, len(fs))
	for _, f := range fs {
		cf, err := compileFilter(f)
		if err != nil {
			return nil, err
		}
		ch = append(ch, cf)
	}
	return ch, nil
}

// level is the level of an occurrence of component c spanning sp (nil for a
// component without time, which gets the most restrictive level possible).
func (ch chain) level(sp *span, c *goical.Component, source string, owner bool) Level {
	p := componentProps(c)
	lvl := Full
	for _, f := range ch {
		lvl = max(lvl, f.levelOf(sp, p, source))
		if !owner {
			lvl = max(lvl, f.capFor(p.class))
		}
	}
	if len(ch) == 0 && !owner && p.class != "PUBLIC" {
		lvl = max(lvl, Busy)
	}
	return lvl
}

func (f *filter) capFor(class string) Level {
	switch class {
	case "PUBLIC":
		return Full
	case "CONFIDENTIAL":
		return f.confidentialCap
	default:
		return f.privateCap
	}
}

// levelOf is the most restrictive level of any instant of sp.
func (f *filter) levelOf(sp *span, p props, source string) Level {
	var active []*rule
	for i := range f.rules {
		if r := &f.rules[i]; r.matchStatic(p, source) {
			active = append(active, r)
		}
	}
	if sp == nil || sp.end.Sub(sp.start) > maxEvaluatedSpan {
		return f.worst(active)
	}
	lvl := Level(0)
	for _, t := range cutPoints(sp, active) {
		lvl = max(lvl, f.levelAt(t, sp.floating, active))
	}
	return lvl
}

// worst is the most restrictive level the active rules could give at any
// instant: the default counts unless a rule without time conditions
// covers every instant.
func (f *filter) worst(active []*rule) Level {
	lvl, covered := Level(0), false
	for _, r := range active {
		lvl = max(lvl, r.level)
		covered = covered || !r.timed()
	}
	if !covered {
		lvl = max(lvl, f.def)
	}
	return lvl
}

func (f *filter) levelAt(t time.Time, floating bool, active []*rule) Level {
	lvl := Level(0)
	for _, r := range active {
		if r.level > lvl && r.matchAt(t, wallClock(t, r.loc, floating)) {
			lvl = r.level
		}
	}
	if lvl == 0 {
		return f.def
	}
	return lvl
}

func wallClock(t time.Time, loc *time.Location, floating bool) time.Time {
	if floating || loc == nil {
		return t.UTC()
	}
	return t.In(loc)
}

// cutPoints returns sp.start and every instant inside sp at which a time
// condition of the active rules may change: midnights, the ends of
// time-of-day windows, the ends of date ranges (both instants of a wall
// time repeated when clocks go back) and the zones' offset changes. The
// conditions are constant between consecutive points, so the level of sp
// is the most restrictive level at these points.
func cutPoints(sp *span, active []*rule) []time.Time {
	points := []time.Time{sp.start}
	if !sp.end.After(sp.start) {
		return points
	}
	add := func(t time.Time) {
		if t.After(sp.start) && t.Before(sp.end) {
			points = append(points, t)
		}
	}
	for _, r := range active {
		if !r.timed() {
			continue
		}
		if r.hasSince {
			add(r.since)
		}
		if !r.zoned() {
			continue
		}
		loc := r.loc
		if sp.floating {
			loc = time.UTC
		}
		offsets := zoneOffsets(sp, loc, add)
		atWall := func(w time.Time) {
			for _, off := range offsets {
				t := w.Add(-time.Duration(off) * time.Second)
				if sameWall(t.In(loc), w) {
					add(t)
				}
			}
		}
		first := wallDay(sp.start.In(loc)).AddDate(0, 0, -1)
		last := wallDay(sp.end.In(loc)).AddDate(0, 0, 1)
		for day := first; !day.After(last); day = day.AddDate(0, 0, 1) {
			atWall(day)
			if r.hasTime {
				atWall(day.Add(time.Duration(r.from) * time.Second))
				atWall(day.Add(time.Duration(r.to) * time.Second))
			}
		}
		if r.hasDates {
			if !r.openFrom {
				atWall(time.Unix(r.fromDay*86400, 0).UTC())
			}
			if !r.openTo {
				atWall(time.Unix(r.toDay*86400, 0).UTC())
			}
		}
	}
	slices.SortFunc(points, func(a, b time.Time) int { return a.Compare(b) })
	return slices.CompactFunc(points, func(a, b time.Time) bool { return a.Equal(b) })
}

// zoneOffsets returns the UTC offsets loc uses during sp and passes each
// offset change inside sp to add.
func zoneOffsets(sp *span, loc *time.Location, add func(time.Time)) []int {
	_, off := sp.start.In(loc).Zone()
	offsets := []int{off}
	t := sp.start
	for range 1000 {
		_, end := t.In(loc).ZoneBounds()
		if end.IsZero() || !end.Before(sp.end) {
			break
		}
		add(end)
		_, off := end.In(loc).Zone()
		if !slices.Contains(offsets, off) {
			offsets = append(offsets, off)
		}
		t = end
	}
	return offsets
}

// wallDay is midnight of t's wall-clock date, held as UTC.
func wallDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func sameWall(t, w time.Time) bool {
	y1, m1, d1 := t.Date()
	y2, m2, d2 := w.Date()
	h1, n1, s1 := t.Clock()
	h2, n2, s2 := w.Clock()
	return y1 == y2 && m1 == m2 && d1 == d2 && h1 == h2 && n1 == n2 && s1 == s2
}

// isFloating reports whether c's times are floating or dates, which are
// read on the wall clock.
func isFloating(c *goical.Component) bool {
	p := c.Props.Get(goical.PropDateTimeStart)
	if p == nil {
		p = c.Props.Get(goical.PropDue)
	}
	if p == nil {
		return false
	}
	if strings.EqualFold(p.Params.Get(goical.ParamValue), "DATE") {
		return true
	}
	v := strings.TrimSpace(p.Value)
	return len(v) == 8 || (p.Params.Get(goical.ParamTimezoneID) == "" && !strings.HasSuffix(strings.ToUpper(v), "Z"))
}
