// Package recur expands iCalendar components into their instances: RRULE,
// RDATE, EXDATE and RECURRENCE-ID overrides (including overrides that move an
// instance into or out of a range, and RANGE=THISANDFUTURE), all-day and
// floating times, DST gaps and overlaps, and infinite rules under a limit.
//
// Recurrence is computed on the wall clock of DTSTART's zone (a weekly 09:00
// Europe/Berlin event stays at 09:00 across DST) by the rrule subpackage, and
// wall-clock times become instants with tz.FromWall. This holds for HOURLY,
// MINUTELY and SECONDLY rules too: across a spring-forward change the
// nonexistent wall time lands on the same instant as the next one and the
// duplicate collapses (RFC 5545: duplicate instances are ignored), and the
// repeated hour of a fall-back change is not visited twice. DTSTART always counts
// as the first instance, even when it does not match the rule or an UNTIL
// lies before it (RFC 5545 3.8.5.3).
//
// It works on parsed components (github.com/emersion/go-ical) and knows
// nothing of storage, HTTP or CalDAV queries.
package recur

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	goical "github.com/emersion/go-ical"

	"koyomi.dev/koyomi/internal/recur/rrule"
	"koyomi.dev/koyomi/internal/tz"
)

// ErrTooManyInstances is returned when an expansion would exceed Options.Max,
// or when a rule needs an unreasonable amount of work to expand.
var ErrTooManyInstances = errors.New("recur: too many instances")

// ErrInvalid is wrapped by errors about malformed recurrence data (RRULE,
// DTSTART, RDATE, EXDATE, DURATION...). Expand still returns the instances
// it could compute from the valid parts.
var ErrInvalid = errors.New("recur: invalid recurrence data")

// DefaultMax is the instance limit used when Options.Max is 0.
const DefaultMax = 100000

// Instance is one occurrence of a component.
type Instance struct {
	// RecurrenceID identifies the instance: its original start as computed
	// from the master's rule (for a non-recurring component, its DTSTART).
	RecurrenceID time.Time
	// Start and End are the instance's effective times (an override's own
	// DTSTART/DTEND when one exists). End equals Start for zero-duration
	// instances. Both are in UTC for timed values; for floating and all-day
	// values they are interpreted in Options.Floating and then converted.
	Start, End time.Time
	// AllDay is true when DTSTART is a DATE value.
	AllDay bool
	// Component is the master for generated instances or the overriding
	// component (the one with a matching RECURRENCE-ID, or the
	// RANGE=THISANDFUTURE override that applies to a later instance).
	Component *goical.Component
	// Override is true when Component is an override, not the master.
	Override bool
}

// Options bound an expansion.
type Options struct {
	// Start and End select instances overlapping [Start, End) (RFC 4791
	// section 9.9 rules). Zero values mean unbounded on that side; an
	// unbounded End with an infinite rule relies on Max.
	Start, End time.Time
	// Max is the maximum number of instances to return; 0 means a default
	// of 100000. When exceeded, the instances so far and ErrTooManyInstances
	// are returned.
	Max int
	// Floating is the zone for floating and all-day times; nil means UTC.
	Floating *time.Location
	// TZ resolves TZIDs; nil means a resolver without VTIMEZONEs.
	TZ *tz.Resolver
	// MaxWork bounds the steps each rule may take (see rrule.IterOptions);
	// 0 means rrule.DefaultMaxWork. Callers that may evaluate again later,
	// such as an index build, pass less so that absurd rules stay cheap.
	MaxWork int
}

// Overlaps reports whether an instance [start, end) overlaps the range
// [s, e) under RFC 4791 section 9.9: start < e && end > s, or for a
// zero-duration instance s <= start < e. Zero s or e mean unbounded.
func Overlaps(start, end, s, e time.Time) bool {
	if !e.IsZero() && !start.Before(e) {
		return false
	}
	if s.IsZero() {
		return true
	}
	if !end.After(start) {
		return !start.Before(s)
	}
	return end.After(s)
}

// Expand returns, in order of Start, the instances of the components that
// share one UID (the master, if present, and its overrides) that overlap the
// range in opts.
//
// A VTODO without DTSTART recurs from its DUE; one with neither, like a
// VJOURNAL without DTSTART, has no instances. An override without DTEND or
// DURATION keeps the master's duration.
func Expand(comps []*goical.Component, opts Options) ([]Instance, error) {
	res := expand(comps, opts)
	return res.instances, res.err
}

// Span returns the overall time covered by the components (first start, last
// end). infinite is true when a rule has neither COUNT nor UNTIL, in which case
// end is the zero time. ok is false when the components carry no time at all.
//
// Span is conservative where Expand would fail: a malformed RRULE, or a
// finite rule too large to expand within Options.Max, also yields infinite.
// Other malformed values are skipped.
func Span(comps []*goical.Component, opts Options) (start, end time.Time, infinite, ok bool) {
	opts.Start, opts.End = time.Time{}, time.Time{}
	infinite = hasInfiniteRule(comps)
	if infinite {
		// Only the first instance matters.
		opts.Max = 1
	}
	res := expand(comps, opts)
	if res.badRule || res.truncated {
		infinite = true
	}
	if len(res.instances) == 0 {
		return time.Time{}, time.Time{}, infinite, false
	}
	start = res.instances[0].Start
	if infinite {
		return start, time.Time{}, true, true
	}
	for _, in := range res.instances {
		if in.End.After(end) {
			end = in.End
		}
	}
	return start, end, false, true
}

func hasInfiniteRule(comps []*goical.Component) bool {
	for _, c := range comps {
		if c == nil || c.Props.Get("RECURRENCE-ID") != nil {
			continue
		}
		for _, p := range c.Props.Values("RRULE") {
			if r, err := rrule.Parse(p.Value); err == nil && !r.Finite() {
				return true
			}
		}
	}
	return false
}

// result is the outcome of an expansion, with what Span needs to know.
type result struct {
	instances []Instance
	err       error
	truncated bool // more instances exist than were returned
	badRule   bool // an RRULE could not be parsed
}

// override is a component with a RECURRENCE-ID.
type override struct {
	comp          *goical.Component
	rid           value
	start         value
	dur           duration
	hasDur        bool
	thisAndFuture bool
	seq           int
}

// master is the component without RECURRENCE-ID and its parsed recurrence.
type master struct {
	comp    *goical.Component
	start   value
	dur     duration
	rules   []*rrule.Rule
	exrules []*rrule.Rule
	rdates  []value
	exdates []value
	// farExdates counts the EXDATE values left unread (see nearDays).
	farExdates int
}

type expander struct {
	opts  Options
	zones zones
	max   int
	errs  []error
	res   result
	// thisAndFuture is set when an override has RANGE=THISANDFUTURE.
	thisAndFuture bool
}

func (e *expander) fail(err error) {
	if err != nil {
		e.errs = append(e.errs, err)
	}
}

func expand(comps []*goical.Component, opts Options) result {
	e := &expander{opts: opts, max: opts.Max}
	if e.max <= 0 {
		e.max = DefaultMax
	}
	e.zones = zones{resolver: opts.TZ, floating: opts.Floating}
	if e.zones.resolver == nil {
		e.zones.resolver = tz.NewResolver(nil)
	}
	if e.zones.floating == nil {
		e.zones.floating = time.UTC
	}

	for _, c := range comps {
		if c == nil || !recurring(c.Name) {
			continue
		}
		if p := c.Props.Get("RECURRENCE-ID"); p != nil && strings.EqualFold(p.Params.Get("RANGE"), "THISANDFUTURE") {
			e.thisAndFuture = true
		}
	}
	var m *master
	var overrides []*override
	for _, c := range comps {
		if c == nil || !recurring(c.Name) {
			continue
		}
		if c.Props.Get("RECURRENCE-ID") != nil {
			if ov := e.parseOverride(c); ov != nil {
				overrides = addOverride(overrides, ov)
			}
			continue
		}
		if m == nil {
			m = e.parseMaster(c)
		}
	}

	var all []Instance
	if m != nil {
		for _, ov := range overrides {
			ov.rid = ov.rid.inZoneOf(m.start)
		}
		all = e.generate(m, overrides)
	}
	for _, ov := range overrides {
		dur := ov.dur
		if !ov.hasDur && m != nil {
			dur = m.dur
		}
		start := ov.start.instant()
		all = append(all, Instance{
			RecurrenceID: ov.rid.instant(),
			Start:        start,
			End:          endOf(start, ov.start.loc, dur),
			AllDay:       ov.start.date,
			Component:    ov.comp,
			Override:     true,
		})
	}

	var out []Instance
	for _, in := range all {
		if Overlaps(in.Start, in.End, opts.Start, opts.End) {
			out = append(out, in)
		}
	}
	slices.SortStableFunc(out, func(a, b Instance) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return a.RecurrenceID.Compare(b.RecurrenceID)
	})
	if len(out) > e.max {
		out = out[:e.max]
		e.res.truncated = true
	}
	if e.res.truncated && !errors.Is(errors.Join(e.errs...), ErrTooManyInstances) {
		e.fail(fmt.Errorf("%w: more than %d", ErrTooManyInstances, e.max))
	}
	e.res.instances = out
	e.res.err = errors.Join(e.errs...)
	return e.res
}

func endOf(start time.Time, loc *time.Location, d duration) time.Time {
	end := d.addTo(start, loc)
	if end.Before(start) {
		return start
	}
	return end
}

// addOverride keeps one override per RECURRENCE-ID: the highest SEQUENCE,
// the later one on a tie.
func addOverride(list []*override, ov *override) []*override {
	for i, o := range list {
		if o.rid.instant().Equal(ov.rid.instant()) && o.rid.date == ov.rid.date {
			if ov.seq >= o.seq {
				list[i] = ov
			}
			return list
		}
	}
	return append(list, ov)
}

func (e *expander) parseOverride(c *goical.Component) *override {
	rid, _, err := e.zones.parseSingle(c, "RECURRENCE-ID")
	if err != nil {
		e.fail(err)
		return nil
	}
	ov := &override{comp: c, rid: rid, start: rid}
	if p := c.Props.Get("RECURRENCE-ID"); p != nil {
		ov.thisAndFuture = strings.EqualFold(p.Params.Get("RANGE"), "THISANDFUTURE")
	}
	if p := c.Props.Get("SEQUENCE"); p != nil {
		ov.seq, _ = strconv.Atoi(strings.TrimSpace(p.Value))
	}
	start, hasStart, err := e.zones.parseSingle(c, "DTSTART")
	e.fail(err)
	if hasStart {
		ov.start = start
	}
	ov.dur, ov.hasDur = e.componentDuration(c, ov.start, hasStart)
	return ov
}

func (e *expander) parseMaster(c *goical.Component) *master {
	m := &master{comp: c}
	start, ok, err := e.zones.parseSingle(c, "DTSTART")
	if err != nil {
		e.fail(err)
		return nil
	}
	if !ok {
		if strings.EqualFold(c.Name, "VTODO") {
			due, hasDue, err := e.zones.parseSingle(c, "DUE")
			e.fail(err)
			if hasDue {
				m.start = due
				return e.parseRecurrence(m)
			}
			return nil
		}
		if !strings.EqualFold(c.Name, "VJOURNAL") {
			e.fail(fmt.Errorf("%w: %s without DTSTART", ErrInvalid, c.Name))
		}
		return nil
	}
	m.start = start
	dur, hasDur := e.componentDuration(c, start, true)
	if !hasDur && start.date && !strings.EqualFold(c.Name, "VTODO") {
		dur = duration{days: 1}
	}
	m.dur = dur
	return e.parseRecurrence(m)
}

// componentDuration returns the duration given by DTEND (DUE for a VTODO)
// or DURATION; false when the component has neither.
func (e *expander) componentDuration(c *goical.Component, start value, hasStart bool) (duration, bool) {
	endName := "DTEND"
	if strings.EqualFold(c.Name, "VTODO") {
		endName = "DUE"
	}
	end, hasEnd, err := e.zones.parseSingle(c, endName)
	e.fail(err)
	if hasEnd && hasStart {
		if start.date && end.date {
			return duration{days: max(0, int(end.day()-start.day()))}, true
		}
		return duration{exact: max(0, end.instant().Sub(start.instant()))}, true
	}
	if p := c.Props.Get("DURATION"); p != nil {
		d, err := parseDuration(p.Value)
		if err != nil {
			e.fail(err)
			return duration{}, false
		}
		return d, true
	}
	return duration{}, false
}

func (e *expander) parseRecurrence(m *master) *master {
	c := m.comp
	for _, name := range []string{"RRULE", "EXRULE"} {
		for _, p := range c.Props.Values(name) {
			r, err := rrule.Parse(p.Value)
			if err != nil {
				e.fail(fmt.Errorf("%w: %s: %w", ErrInvalid, name, err))
				e.res.badRule = e.res.badRule || name == "RRULE"
				continue
			}
			if name == "RRULE" {
				m.rules = append(m.rules, r)
			} else {
				m.exrules = append(m.exrules, r)
			}
		}
	}
	near := e.nearDays(m)
	for _, p := range c.Props.Values("RDATE") {
		vs, _, err := e.zones.parseDates(&p, near)
		e.fail(err)
		for _, v := range vs {
			m.rdates = append(m.rdates, v.inZoneOf(m.start))
		}
	}
	for _, p := range c.Props.Values("EXDATE") {
		vs, skipped, err := e.zones.parseDates(&p, near)
		e.fail(err)
		m.farExdates += skipped
		for _, v := range vs {
			m.exdates = append(m.exdates, v.inZoneOf(m.start))
		}
	}
	return m
}

// nearDays returns the dates outside which an RDATE or EXDATE value of m
// cannot touch the requested range, so that it need not be parsed;
// allDays when every value must be read. Clients and virtual calendars list
// hundreds of dates where a query looks at a week, and parsing each was
// most of the work of evaluating such an object.
//
// A value matters only when it is an instance that may overlap the range,
// or excludes one: its start is within the master's duration (and the
// zone slack) before the range, or in it. That bound needs both ends of
// the range, and does not hold when a RANGE=THISANDFUTURE override may
// move instances from far away into the range. A PERIOD value, which
// carries its own end, is always read. Values left unread are not checked
// for errors.
func (e *expander) nearDays(m *master) dayRange {
	if e.opts.Start.IsZero() || e.opts.End.IsZero() || e.thisAndFuture {
		return allDays
	}
	return nearDays(e.opts.Start, e.opts.End, m.dur.approx()+zoneSlack)
}

// recurring reports whether a component of this name has instances; other
// components (VTIMEZONE, VALARM...) passed along are ignored.
func recurring(name string) bool {
	switch strings.ToUpper(name) {
	case "VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VAVAILABILITY", "AVAILABLE":
		return true
	}
	return false
}
