package ical

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	goical "github.com/emersion/go-ical"

	"koyomi.dev/koyomi/internal/recur"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/textmatch"
)

// TimeRange is a CalDAV time-range; zero Start or End means unbounded.
type TimeRange struct {
	Start, End time.Time
}

// The comparisons of RFC 4791 section 9.9, with a zero bound standing for
// -infinity (Start) or +infinity (End).
func (tr TimeRange) startLE(t time.Time) bool { return tr.Start.IsZero() || !tr.Start.After(t) }
func (tr TimeRange) startLT(t time.Time) bool { return tr.Start.IsZero() || tr.Start.Before(t) }
func (tr TimeRange) endGT(t time.Time) bool   { return tr.End.IsZero() || tr.End.After(t) }
func (tr TimeRange) endGE(t time.Time) bool   { return tr.End.IsZero() || !tr.End.Before(t) }

// overlaps applies the VEVENT rule of section 9.9 to an interval: a
// non-empty interval must intersect the range, an empty one must lie in it.
func (tr TimeRange) overlaps(start, end time.Time) bool {
	if end.After(start) {
		return tr.startLT(end) && tr.endGT(start)
	}
	return tr.startLE(start) && tr.endGT(start)
}

// widen extends the bounded sides of tr by d.
func (tr TimeRange) widen(d time.Duration) TimeRange {
	if !tr.Start.IsZero() {
		tr.Start = tr.Start.Add(-d)
	}
	if !tr.End.IsZero() {
		tr.End = tr.End.Add(d)
	}
	return tr
}

// CompFilter is RFC 4791 section 9.7.1.
type CompFilter struct {
	Name         string
	IsNotDefined bool
	TimeRange    *TimeRange
	Props        []PropFilter
	Comps        []CompFilter
}

// PropFilter is RFC 4791 section 9.7.2.
type PropFilter struct {
	Name         string
	IsNotDefined bool
	TimeRange    *TimeRange
	TextMatch    *TextMatch
	Params       []ParamFilter
}

// ParamFilter is RFC 4791 section 9.7.3.
type ParamFilter struct {
	Name         string
	IsNotDefined bool
	TextMatch    *TextMatch
}

// TextMatch is RFC 4791 section 9.7.5. Collation is one of "i;ascii-casemap"
// (the default), "i;octet" or "i;unicode-casemap"; MatchType is "contains"
// (the default, and the only one CalDAV defines) or equals/starts-with/
// ends-with as RFC 6352 adds them.
//
// i;unicode-casemap is approximated by Unicode simple case folding (each
// rune compared by its case-folding orbit); the normalisation step of RFC
// 5051 is not applied.
type TextMatch struct {
	Text      string
	Collation string
	MatchType string
	Negate    bool
}

// Errors of filters CalDAV answers with supported-collation or as a
// malformed filter; they are the textmatch package's.
var (
	ErrUnsupportedCollation = textmatch.ErrUnsupportedCollation
	ErrUnsupportedMatchType = textmatch.ErrUnsupportedMatchType
)

// Validate checks the collation and match type of tm; Match calls it first
// so that an error does not depend on the data.
func (tm *TextMatch) Validate() error { return textmatch.Validate(tm.Collation, tm.MatchType) }

// ErrInvalidFilter: a filter that asks what iCalendar cannot hold, such as
// a VEVENT inside a VEVENT or a time-range on SUMMARY (CalDAV answers it
// with valid-filter, RFC 4791 7.8).
var ErrInvalidFilter = errors.New("ical: invalid filter")

// Validate checks the filter rooted at f (a VCALENDAR filter): components
// nest as iCalendar nests them, time-ranges stand only where section 9.9
// gives them a meaning, and every text-match is supported. Names it does
// not know (X- components and properties among them) are accepted.
func (f *CompFilter) Validate() error { return f.validate("") }

// compParents lists, for the components iCalendar defines, the components
// they can be children of ("" for the root).
var compParents = map[string][]string{
	"VCALENDAR":     {""},
	"VEVENT":        {"VCALENDAR"},
	"VTODO":         {"VCALENDAR"},
	"VJOURNAL":      {"VCALENDAR"},
	"VFREEBUSY":     {"VCALENDAR"},
	"VTIMEZONE":     {"VCALENDAR"},
	"VAVAILABILITY": {"VCALENDAR"},
	"VALARM":        {"VEVENT", "VTODO"},
	"STANDARD":      {"VTIMEZONE"},
	"DAYLIGHT":      {"VTIMEZONE"},
	"AVAILABLE":     {"VAVAILABILITY"},
}

// timelessComps are the known components section 9.9 gives no time-range
// rule: they have no time of their own.
var timelessComps = map[string]bool{"VCALENDAR": true, "VTIMEZONE": true, "STANDARD": true, "DAYLIGHT": true}

// timelessProps are the properties iCalendar defines whose values are
// neither DATE nor DATE-TIME, so that a time-range cannot apply to them
// (section 9.9).
var timelessProps = map[string]bool{
	"CALSCALE": true, "METHOD": true, "PRODID": true, "VERSION": true, "ATTACH": true, "CATEGORIES": true,
	"CLASS": true, "COMMENT": true, "DESCRIPTION": true, "GEO": true, "LOCATION": true, "PERCENT-COMPLETE": true,
	"PRIORITY": true, "RESOURCES": true, "STATUS": true, "SUMMARY": true, "DURATION": true, "TRANSP": true,
	"TZID": true, "TZNAME": true, "TZOFFSETFROM": true, "TZOFFSETTO": true, "TZURL": true, "ATTENDEE": true,
	"CONTACT": true, "ORGANIZER": true, "RELATED-TO": true, "URL": true, "UID": true, "RRULE": true,
	"ACTION": true, "REPEAT": true, "SEQUENCE": true, "REQUEST-STATUS": true, "NAME": true, "COLOR": true,
	"IMAGE": true, "CONFERENCE": true, "SOURCE": true, "REFRESH-INTERVAL": true,
}

func (f *CompFilter) validate(parent string) error {
	name := strings.ToUpper(f.Name)
	if parents, known := compParents[name]; known && !slices.Contains(parents, parent) {
		if parent == "" {
			return fmt.Errorf("%w: the filter must start with VCALENDAR, not %s", ErrInvalidFilter, name)
		}
		return fmt.Errorf("%w: %s cannot be inside %s", ErrInvalidFilter, name, parent)
	}
	if f.TimeRange != nil && timelessComps[name] {
		return fmt.Errorf("%w: a time-range does not apply to %s", ErrInvalidFilter, name)
	}
	for i := range f.Props {
		if err := f.Props[i].validate(); err != nil {
			return err
		}
	}
	for i := range f.Comps {
		if err := f.Comps[i].validate(name); err != nil {
			return err
		}
	}
	return nil
}

func (f *PropFilter) validate() error {
	if name := strings.ToUpper(f.Name); f.TimeRange != nil && timelessProps[name] {
		return fmt.Errorf("%w: a time-range applies to DATE and DATE-TIME values, not to %s", ErrInvalidFilter, name)
	}
	if f.TextMatch != nil {
		if err := f.TextMatch.Validate(); err != nil {
			return err
		}
	}
	for _, pf := range f.Params {
		if pf.TextMatch != nil {
			if err := pf.TextMatch.Validate(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Matches reports whether value satisfies tm (after Validate); the
// default collation is i;ascii-casemap (RFC 4791 9.7.5).
func (tm *TextMatch) Matches(value string) bool {
	fold := textmatch.Folder(tm.Collation)
	return textmatch.Holds(fold(value), fold(tm.Text), tm.MatchType) != tm.Negate
}

// Match reports whether o satisfies the filter rooted at f (f.Name is
// "VCALENDAR"). floating is the zone for floating times (the collection's
// calendar-timezone, or UTC). A filter Validate refuses is an error.
func (o *Object) Match(f *CompFilter, floating *time.Location) (bool, error) {
	if err := f.Validate(); err != nil {
		return false, err
	}
	if floating == nil {
		floating = time.UTC
	}
	if !strings.EqualFold(f.Name, o.Cal.Name) {
		return f.IsNotDefined, nil
	}
	if f.IsNotDefined {
		return false, nil
	}
	e := &evaluator{o: o, floating: floating, set: o.components()}
	return e.matchBody(o.Cal.Component, f), nil
}

// evaluator carries what filter evaluation needs besides the filter.
type evaluator struct {
	o        *Object
	floating *time.Location
	set      []*goical.Component // master and overrides
}

// matchBody checks the prop-filters and nested comp-filters of f on c.
func (e *evaluator) matchBody(c *goical.Component, f *CompFilter) bool {
	for i := range f.Props {
		if !e.matchProp(c, &f.Props[i]) {
			return false
		}
	}
	for i := range f.Comps {
		if !e.matchComps(c, &f.Comps[i]) {
			return false
		}
	}
	return true
}

// matchComps applies f to the children of parent: with is-not-defined, no
// child of that name may exist; otherwise any child of that name must match.
func (e *evaluator) matchComps(parent *goical.Component, f *CompFilter) bool {
	found := false
	for _, c := range parent.Children {
		if !strings.EqualFold(c.Name, f.Name) {
			continue
		}
		found = true
		if f.IsNotDefined {
			return false
		}
		if f.TimeRange != nil && !e.compInRange(parent, c, *f.TimeRange) {
			continue
		}
		if e.matchBody(c, f) {
			return true
		}
	}
	return f.IsNotDefined && !found
}

func (e *evaluator) matchProp(c *goical.Component, f *PropFilter) bool {
	props := c.Props[strings.ToUpper(f.Name)]
	if f.IsNotDefined {
		return len(props) == 0
	}
	for i := range props {
		if e.propMatches(&props[i], f) {
			return true
		}
	}
	return false
}

func (e *evaluator) propMatches(p *goical.Prop, f *PropFilter) bool {
	if f.TimeRange != nil && !e.propInRange(p, *f.TimeRange) {
		return false
	}
	if f.TextMatch != nil && !f.TextMatch.Matches(propText(p)) {
		return false
	}
	for _, pf := range f.Params {
		if !paramMatches(p, &pf) {
			return false
		}
	}
	return true
}

func paramMatches(p *goical.Prop, f *ParamFilter) bool {
	values, ok := p.Params[strings.ToUpper(f.Name)]
	if f.IsNotDefined {
		return !ok
	}
	if !ok {
		return false
	}
	if f.TextMatch == nil {
		return true
	}
	for _, v := range values {
		if f.TextMatch.Matches(v) {
			return true
		}
	}
	return false
}

// propText is the value a text-match compares: TEXT values unescaped.
func propText(p *goical.Prop) string {
	if p.ValueType() != goical.ValueText || !strings.Contains(p.Value, `\`) {
		return p.Value
	}
	var sb strings.Builder
	escaped := false
	for _, r := range p.Value {
		switch {
		case escaped && (r == 'n' || r == 'N'):
			sb.WriteByte('\n')
		case escaped:
			sb.WriteRune(r)
		case r == '\\':
			escaped = true
			continue
		default:
			sb.WriteRune(r)
		}
		escaped = false
	}
	return sb.String()
}

// propInRange is the property rule of section 9.9: some DATE or DATE-TIME
// value v of the property satisfies start <= v < end.
func (e *evaluator) propInRange(p *goical.Prop, tr TimeRange) bool {
	for _, v := range strings.Split(p.Value, ",") {
		t, _, err := parseTime(&goical.Prop{Name: p.Name, Params: p.Params, Value: v}, e.o.TZ, e.floating)
		if err == nil && tr.startLE(t) && tr.endGT(t) {
			return true
		}
	}
	return false
}

// compInRange applies the time-range rules of section 9.9 to c, a child of
// parent.
func (e *evaluator) compInRange(parent, c *goical.Component, tr TimeRange) bool {
	switch c.Name {
	case goical.CompEvent, goical.CompJournal:
		for _, in := range e.instances(c, tr.widen(48*time.Hour)) {
			if in.hasStart && tr.overlaps(in.start, in.end) {
				return true
			}
		}
	case goical.CompToDo:
		margin := 48 * time.Hour
		if in, ok := e.o.ownInstance(c, e.floating); ok && in.hasStart {
			if in.hasDue {
				margin += absDuration(in.due.Sub(in.start))
			}
			if in.hasDuration {
				margin += absDuration(in.durEnd.Sub(in.start))
			}
		}
		for _, in := range e.instances(c, tr.widen(margin)) {
			if todoInRange(in, tr) {
				return true
			}
		}
	case goical.CompFreeBusy:
		return e.freeBusyInRange(c, tr)
	case goical.CompAlarm:
		return e.alarmInRange(parent, c, tr)
	}
	return false
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// todoInRange is the VTODO table of section 9.9, evaluated on one instance.
func todoInRange(in instance, tr TimeRange) bool {
	switch {
	case in.hasStart && in.hasDuration:
		return tr.startLE(in.durEnd) && (tr.endGT(in.start) || tr.endGE(in.durEnd))
	case in.hasStart && in.hasDue:
		return (tr.startLT(in.due) || tr.startLE(in.start)) && (tr.endGT(in.start) || tr.endGE(in.due))
	case in.hasStart:
		return tr.startLE(in.start) && tr.endGT(in.start)
	case in.hasDue:
		return tr.startLT(in.due) && tr.endGE(in.due)
	case in.hasCompleted && in.hasCreated:
		return (tr.startLE(in.created) || tr.startLE(in.completed)) &&
			(tr.endGE(in.created) || tr.endGE(in.completed))
	case in.hasCompleted:
		return tr.startLE(in.completed) && tr.endGE(in.completed)
	case in.hasCreated:
		return tr.endGT(in.created)
	default:
		return true
	}
}

func (e *evaluator) freeBusyInRange(c *goical.Component, tr TimeRange) bool {
	if len(c.Props[goical.PropFreeBusy]) > 0 {
		for _, p := range e.o.componentFreeBusy(c, e.floating) {
			if tr.startLT(p.End) && tr.endGT(p.Start) {
				return true
			}
		}
		return false
	}
	s, okS := e.o.timeProp(c, goical.PropDateTimeStart, e.floating)
	end, okE := e.o.timeProp(c, goical.PropDateTimeEnd, e.floating)
	return okS && okE && tr.startLE(end) && tr.endGT(s)
}

// alarmInRange reports whether any trigger time of alarm, for any instance
// of its parent component, falls in the range (section 9.9).
func (e *evaluator) alarmInRange(parent, alarm *goical.Component, tr TimeRange) bool {
	trig, ok := parseTrigger(alarm, e.o)
	if !ok {
		return false
	}
	if trig.absolute {
		for _, t := range trig.times(trig.at) {
			if tr.startLE(t) && tr.endGT(t) {
				return true
			}
		}
		return false
	}
	margin := 48*time.Hour + absDuration(trig.offset.approx()) + time.Duration(trig.repeat)*absDuration(trig.every.approx())
	for _, in := range e.instances(parent, tr.widen(margin)) {
		base, ok := in.alarmBase(trig.relatedEnd)
		if !ok {
			continue
		}
		for _, t := range trig.times(trig.offset.addTo(base)) {
			if tr.startLE(t) && tr.endGT(t) {
				return true
			}
		}
	}
	return false
}

// trigger is a parsed VALARM TRIGGER with its repetitions.
type trigger struct {
	absolute   bool
	at         time.Time
	offset     icalDuration
	relatedEnd bool
	repeat     int
	every      icalDuration
}

func parseTrigger(alarm *goical.Component, o *Object) (trigger, bool) {
	var tg trigger
	p := alarm.Props.Get(goical.PropTrigger)
	if p == nil {
		return tg, false
	}
	if strings.EqualFold(p.Params.Get(goical.ParamValue), "DATE-TIME") {
		t, _, err := parseTime(p, o.TZ, time.UTC)
		if err != nil {
			return tg, false
		}
		tg.absolute, tg.at = true, t
	} else {
		d, err := parseDuration(p.Value)
		if err != nil {
			return tg, false
		}
		tg.offset = d
		tg.relatedEnd = strings.EqualFold(p.Params.Get(goical.ParamRelated), "END")
	}
	if r := alarm.Props.Get(goical.PropRepeat); r != nil {
		n, errN := r.Int()
		d := alarm.Props.Get(goical.PropDuration)
		if errN == nil && n > 0 && d != nil {
			if every, err := parseDuration(d.Value); err == nil {
				tg.repeat, tg.every = min(n, 1000), every
			}
		}
	}
	return tg, true
}

// times lists the first trigger time and its repetitions.
func (tg trigger) times(first time.Time) []time.Time {
	out := []time.Time{first}
	t := first
	for range tg.repeat {
		t = tg.every.addTo(t)
		out = append(out, t)
	}
	return out
}

// instance is one occurrence of a component with the effective values of
// its time properties (section 9.9: "infer an effective value for DTSTART,
// DTEND, DURATION, and DUE properties for an instance").
type instance struct {
	comp     *goical.Component
	hasStart bool
	start    time.Time
	date     bool
	// end is the effective end for VEVENT and VJOURNAL: DTEND,
	// DTSTART+DURATION, or DTSTART plus one day for dates, else DTSTART.
	end         time.Time
	hasDuration bool
	durEnd      time.Time // DTSTART+DURATION
	hasDue      bool
	due         time.Time

	hasCompleted, hasCreated bool
	completed, created       time.Time
}

// alarmBase is the time a relative trigger counts from: the start, or the
// end (DTEND, DUE or DTSTART+DURATION) when RELATED=END.
func (in instance) alarmBase(relatedEnd bool) (time.Time, bool) {
	if !relatedEnd {
		if in.hasStart {
			return in.start, true
		}
		return in.due, in.hasDue
	}
	switch {
	case in.hasDue:
		return in.due, true
	case in.hasDuration:
		return in.durEnd, true
	case in.hasStart:
		return in.end, true
	}
	return time.Time{}, false
}

// ownInstance reads c's own time properties as a single occurrence.
func (o *Object) ownInstance(c *goical.Component, floating *time.Location) (instance, bool) {
	in := instance{comp: c}
	in.start, in.date, in.hasStart = o.timePropDate(c, goical.PropDateTimeStart, floating)
	in.due, in.hasDue = o.timeProp(c, goical.PropDue, floating)
	in.completed, in.hasCompleted = o.timeProp(c, goical.PropCompleted, floating)
	in.created, in.hasCreated = o.timeProp(c, goical.PropCreated, floating)
	if p := c.Props.Get(goical.PropDuration); p != nil && in.hasStart {
		if d, err := parseDuration(p.Value); err == nil {
			in.hasDuration, in.durEnd = true, d.addTo(in.start)
		}
	}
	if !in.hasStart {
		// A to-do is still evaluated by its other properties (or matches
		// every range); other components without DTSTART have no time.
		return in, c.Name == goical.CompToDo
	}
	switch end, ok := o.timeProp(c, goical.PropDateTimeEnd, floating); {
	case ok:
		in.end = end
	case in.hasDuration:
		in.end = in.durEnd
	case in.date:
		in.end = in.start.AddDate(0, 0, 1)
	default:
		in.end = in.start
	}
	return in, true
}

// shiftTo moves a master's occurrence to a generated instance of it.
func (in instance) shiftTo(ri recur.Instance, isEvent bool) instance {
	out := in
	loc := in.start.Location()
	out.start = ri.Start.In(loc)
	delta := out.start.Sub(in.start)
	if isEvent && !ri.End.Before(ri.Start) {
		out.end = ri.End.In(loc)
	} else {
		out.end = in.end.Add(delta)
		if in.date {
			out.end = out.start.AddDate(0, 0, daysBetween(in.start, in.end))
		}
	}
	out.durEnd = in.durEnd.Add(delta)
	out.due = in.due.Add(delta)
	return out
}

func daysBetween(a, b time.Time) int {
	return int((b.Sub(a) + 12*time.Hour) / (24 * time.Hour))
}

// instances lists the occurrences attributed to c (a member of the
// object's recurrence set) that may touch tr: for a recurring master, the
// instances recur generates from it; for a RANGE=THISANDFUTURE override of
// one, its own and the later instances it moves; otherwise c's own times.
func (e *evaluator) instances(c *goical.Component, tr TimeRange) []instance {
	own, ok := e.o.ownInstance(c, e.floating)
	if !ok {
		return nil
	}
	generated := isMaster(c) && hasRule(c) || isThisAndFuture(c) && e.recurs()
	if !generated || !own.hasStart {
		return []instance{own}
	}
	ris, _ := recur.Expand(e.set, recur.Options{
		Start: tr.Start, End: tr.End, Max: maxFilterInstances, Floating: e.floating, TZ: e.o.TZ,
	})
	var out []instance
	for _, ri := range ris {
		if ri.Component != c {
			continue
		}
		out = append(out, own.shiftTo(ri, c.Name == goical.CompEvent))
	}
	return out
}

// recurs reports whether the object's recurrence set has a master with a
// rule or dates, whose later instances a THISANDFUTURE override moves.
func (e *evaluator) recurs() bool {
	return slices.ContainsFunc(e.set, func(c *goical.Component) bool { return isMaster(c) && hasRule(c) })
}

func isMaster(c *goical.Component) bool { return len(c.Props[goical.PropRecurrenceID]) == 0 }

func isThisAndFuture(c *goical.Component) bool {
	p := c.Props.Get(goical.PropRecurrenceID)
	return p != nil && strings.EqualFold(p.Params.Get("RANGE"), "THISANDFUTURE")
}

func hasRule(c *goical.Component) bool {
	return len(c.Props[goical.PropRecurrenceRule]) > 0 || len(c.Props[goical.PropRecurrenceDates]) > 0
}

// ProofWindow returns the window in which an indexed start proves that an
// object matches f without parsing it, and whether f allows such a proof:
// f asks only for VEVENTs overlapping a time-range, and the window is that
// range narrowed by FloatingSlack on each bounded side (a zero Start or End
// is unbounded). The index holds floating and all-day times as if they were
// UTC, and their instant differs from that by at most FloatingSlack in any
// zone, so an instance indexed as starting in the window starts inside the
// range whatever the floating zone; and an instance starting inside the
// range overlaps it under every rule of RFC 4791 section 9.9 for VEVENT,
// whatever its end.
func ProofWindow(f *CompFilter) (TimeRange, bool) {
	if f == nil || f.Name != "VCALENDAR" || f.IsNotDefined || f.TimeRange != nil || len(f.Props) != 0 || len(f.Comps) != 1 {
		return TimeRange{}, false
	}
	cf := &f.Comps[0]
	if cf.Name != goical.CompEvent || cf.IsNotDefined || cf.TimeRange == nil || len(cf.Props) != 0 || len(cf.Comps) != 0 {
		return TimeRange{}, false
	}
	w := *cf.TimeRange
	if !w.Start.IsZero() {
		w.Start = w.Start.Add(FloatingSlack)
	}
	if !w.End.IsZero() {
		w.End = w.End.Add(-FloatingSlack)
	}
	if !w.Start.IsZero() && !w.End.IsZero() && !w.Start.Before(w.End) {
		return TimeRange{}, false
	}
	return w, true
}

// IndexProvesMatch reports whether the stored index of o proves that o
// matches the filter whose ProofWindow is w: o is a VEVENT and either a
// single event whose indexed start lies in w, or a recurring one with an
// indexed occurrence starting in w (occurs, as the store's
// RecurringStartingIn answers for w). Occurrence rows are instances that
// the same expansion as Match produced, so one of them is enough when the
// set of instances does not depend on the floating zone (see
// oneTimeFrame, which reads o.Data); their absence proves nothing, as the
// index may stop early.
func IndexProvesMatch(w TimeRange, o *store.Object, occurs bool) bool {
	if o.Component != goical.CompEvent {
		return false
	}
	if o.Recurring {
		return occurs && len(o.Data) > 0 && oneTimeFrame(o.Data)
	}
	if o.SpanStart.IsZero() {
		return false
	}
	return (w.Start.IsZero() || !o.SpanStart.Before(w.Start)) && (w.End.IsZero() || o.SpanStart.Before(w.End))
}

// QueryRange returns the time range a filter constrains its top-level
// component to, so the store can pick candidates; ok is false when the
// filter does not restrict time. The range is already widened for floating
// times.
func QueryRange(f *CompFilter) (tr TimeRange, ok bool) {
	if f == nil || f.IsNotDefined {
		return tr, false
	}
	n := 0
	for _, cf := range f.Comps {
		if cf.IsNotDefined || cf.TimeRange == nil {
			continue
		}
		tr = *cf.TimeRange
		n++
	}
	if n != 1 || (tr.Start.IsZero() && tr.End.IsZero()) {
		return TimeRange{}, false
	}
	return WidenForFloating(tr), true
}
