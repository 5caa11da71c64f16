package vcal

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	goical "github.com/emersion/go-ical"
)

// Filter is one filtering step of a virtual calendar: rules evaluated per
// occurrence, and the level of occurrences no rule matches.
type Filter struct {
	// Default is the level of an instant no rule matches.
	Default Level
	// Rules are evaluated together; none takes precedence by order. At
	// each instant the most restrictive matching rule wins.
	Rules []Rule
	// Zone is the IANA time zone of the weekday, time-of-day and date
	// conditions of rules that do not name their own.
	Zone string
	// PrivateCap and ConfidentialCap bound what non-owners see of events
	// with CLASS:PRIVATE and CLASS:CONFIDENTIAL. Zero means Busy; Full
	// turns the cap off. CLASS values other than PUBLIC, PRIVATE and
	// CONFIDENTIAL are capped like PRIVATE (RFC 5545 section 3.8.1.3).
	PrivateCap, ConfidentialCap Level
	// BusyLabel, when set, is the title of occurrences this filter's chain
	// shows at Busy instead of "Busy": a template in which {owner} is the
	// source owner's display name and {category} the occurrence's first
	// CATEGORIES value ({category|text} gives text when there is none).
	// The outermost filter with a label decides.
	BusyLabel string
}

// Rule gives Level to the instants of an occurrence at which all its
// conditions hold. An unset condition always holds; each Not* field negates
// its condition.
type Rule struct {
	Level Level

	// Weekdays holds at instants whose weekday (in the rule's zone) is in
	// the set.
	Weekdays    []time.Weekday
	NotWeekdays bool
	// TimeOfDay holds at instants whose wall-clock time is in the window.
	TimeOfDay    *TimeWindow
	NotTimeOfDay bool
	// Dates holds at instants whose date is in the range.
	Dates    *DateRange
	NotDates bool
	// Since holds at instants at or after it (zero: unset). It is an
	// absolute instant, read in no zone: what a member who leaves a group
	// keeps is bounded by it.
	Since time.Time
	// Zone is the IANA zone of the three conditions above; empty means the
	// filter's Zone. Floating and all-day events are read on the wall
	// clock, whatever the zone.
	Zone string

	// Categories holds when the component has any of these CATEGORIES
	// (compared without regard to case).
	Categories    []string
	NotCategories bool
	// Sources holds when the object comes from one of these source ids.
	Sources    []string
	NotSources bool
	// Classes holds when the component's CLASS (PUBLIC when absent) is in
	// the set: PUBLIC, PRIVATE or CONFIDENTIAL.
	Classes    []string
	NotClasses bool
	// Transp holds when the component's TRANSP (OPAQUE when absent) is this
	// value: OPAQUE or TRANSPARENT.
	Transp    string
	NotTransp bool
	// Statuses holds when the component's STATUS is in the set (a
	// component without STATUS is in none): TENTATIVE, CONFIRMED,
	// CANCELLED, NEEDS-ACTION, COMPLETED, IN-PROCESS, DRAFT or FINAL.
	Statuses    []string
	NotStatuses bool
}

// TimeWindow is a time of day range [From, To) in "HH:MM" form. To may be
// "24:00"; a From later than To wraps across midnight ("22:00"-"06:00").
type TimeWindow struct {
	From, To string
}

// DateRange is a range of dates [From, To) in "YYYY-MM-DD" form; either
// side may be empty for an open range.
type DateRange struct {
	From, To string
}

// Validate checks the filter and says what to fix.
func (f *Filter) Validate() error {
	_, err := compileFilter(f)
	return err
}

// compiled forms, built for each evaluation so that a Filter stays plain
// data that callers may share between goroutines.
type filter struct {
	def             Level
	rules           []rule
	privateCap      Level
	confidentialCap Level
	busyLabel       string
}

type rule struct {
	level Level
	loc   *time.Location

	hasWeekdays, notWeekdays bool
	weekdays                 [7]bool
	hasTime, notTime         bool
	from, to                 int // seconds of the day
	hasDates, notDates       bool
	fromDay, toDay           int64 // day numbers; openFrom/openTo when unset
	openFrom, openTo         bool
	hasSince                 bool
	since                    time.Time

	categories    []string // lower case
	notCategories bool
	sources       []string
	notSources    bool
	classes       []string // upper case
	notClasses    bool
	transp        string
	notTransp     bool
	statuses      []string // upper case
	notStatuses   bool
}

// timed reports whether the rule's match depends on the instant.
func (r *rule) timed() bool { return r.zoned() || r.hasSince }

// zoned reports whether the rule has conditions read in a time zone.
func (r *rule) zoned() bool { return r.hasWeekdays || r.hasTime || r.hasDates }

func compileFilter(f *Filter) (*filter, error) {
	if f == nil {
		return nil, errors.New("vcal: nil filter")
	}
	if !f.Default.valid() {
		return nil, fmt.Errorf("vcal: filter default level is not set (want full, summary, busy or hidden)")
	}
	out := &filter{def: f.Default, privateCap: Busy, confidentialCap: Busy, busyLabel: f.BusyLabel}
	for _, c := range []struct {
		name string
		in   Level
		out  *Level
	}{{"PrivateCap", f.PrivateCap, &out.privateCap}, {"ConfidentialCap", f.ConfidentialCap, &out.confidentialCap}} {
		switch {
		case c.in == 0:
		case c.in.valid():
			*c.out = c.in
		default:
			return nil, fmt.Errorf("vcal: filter %s is not a level", c.name)
		}
	}
	var filterLoc *time.Location
	if f.Zone != "" {
		loc, err := loadZone(f.Zone)
		if err != nil {
			return nil, fmt.Errorf("vcal: filter zone: %w", err)
		}
		filterLoc = loc
	}
	for i := range f.Rules {
		r, err := compileRule(&f.Rules[i], filterLoc)
		if err != nil {
			return nil, fmt.Errorf("vcal: rule %d: %w", i+1, err)
		}
		out.rules = append(out.rules, r)
	}
	return out, nil
}

func compileRule(in *Rule, filterLoc *time.Location) (rule, error) {
	r := rule{level: in.Level}
	if !in.Level.valid() {
		return r, errors.New("level is not set (want full, summary, busy or hidden)")
	}
	for _, d := range in.Weekdays {
		if d < time.Sunday || d > time.Saturday {
			return r, fmt.Errorf("weekday %d is not a weekday", int(d))
		}
		r.weekdays[d] = true
		r.hasWeekdays = true
	}
	r.notWeekdays = in.NotWeekdays
	if in.TimeOfDay != nil {
		from, err := parseClock(in.TimeOfDay.From, false)
		if err != nil {
			return r, fmt.Errorf("time of day from: %w", err)
		}
		to, err := parseClock(in.TimeOfDay.To, true)
		if err != nil {
			return r, fmt.Errorf("time of day to: %w", err)
		}
		if from == to {
			return r, fmt.Errorf("time of day window %s-%s is empty (From equals To)", in.TimeOfDay.From, in.TimeOfDay.To)
		}
		if from == 0 && to == 24*3600 {
			return r, errors.New("time of day window 00:00-24:00 covers the whole day; leave it out")
		}
		r.hasTime, r.from, r.to = true, from, to
	}
	r.notTime = in.NotTimeOfDay
	if in.Dates != nil {
		if in.Dates.From == "" && in.Dates.To == "" {
			return r, errors.New("date range has neither From nor To")
		}
		var err error
		if r.fromDay, r.openFrom, err = parseDay(in.Dates.From); err != nil {
			return r, fmt.Errorf("date range from: %w", err)
		}
		if r.toDay, r.openTo, err = parseDay(in.Dates.To); err != nil {
			return r, fmt.Errorf("date range to: %w", err)
		}
		if !r.openFrom && !r.openTo && r.fromDay >= r.toDay {
			return r, fmt.Errorf("date range %s to %s is empty (From must be before To; To is exclusive)", in.Dates.From, in.Dates.To)
		}
		r.hasDates = true
	}
	r.notDates = in.NotDates
	if !in.Since.IsZero() {
		r.hasSince, r.since = true, in.Since
	}
	if r.zoned() {
		switch {
		case in.Zone != "":
			loc, err := loadZone(in.Zone)
			if err != nil {
				return r, err
			}
			r.loc = loc
		case filterLoc != nil:
			r.loc = filterLoc
		default:
			return r, errors.New("weekday, time-of-day and date conditions need a time zone: set the filter's Zone or the rule's Zone")
		}
	}
	if (in.NotWeekdays && !r.hasWeekdays) || (in.NotTimeOfDay && !r.hasTime) || (in.NotDates && !r.hasDates) {
		return r, errors.New("a negated weekday, time-of-day or date condition has no condition to negate")
	}
	for _, c := range in.Categories {
		c = strings.TrimSpace(c)
		if c == "" {
			return r, errors.New("empty category name")
		}
		r.categories = append(r.categories, strings.ToLower(c))
	}
	r.notCategories = in.NotCategories
	for _, s := range in.Sources {
		if s == "" {
			return r, errors.New("empty source id")
		}
		r.sources = append(r.sources, s)
	}
	r.notSources = in.NotSources
	for _, c := range in.Classes {
		c = strings.ToUpper(strings.TrimSpace(c))
		if c != "PUBLIC" && c != "PRIVATE" && c != "CONFIDENTIAL" {
			return r, fmt.Errorf("class %q is not PUBLIC, PRIVATE or CONFIDENTIAL", c)
		}
		r.classes = append(r.classes, c)
	}
	r.notClasses = in.NotClasses
	if in.Transp != "" {
		r.transp = strings.ToUpper(strings.TrimSpace(in.Transp))
		if r.transp != "OPAQUE" && r.transp != "TRANSPARENT" {
			return r, fmt.Errorf("transparency %q is not OPAQUE or TRANSPARENT", in.Transp)
		}
	}
	r.notTransp = in.NotTransp
	for _, st := range in.Statuses {
		st = strings.ToUpper(strings.TrimSpace(st))
		if !slices.Contains(statuses, st) {
			return r, fmt.Errorf("status %q is not one of %s", st, strings.Join(statuses, ", "))
		}
		r.statuses = append(r.statuses, st)
	}
	r.notStatuses = in.NotStatuses
	if (in.NotCategories && len(r.categories) == 0) || (in.NotSources && len(r.sources) == 0) ||
		(in.NotClasses && len(r.classes) == 0) || (in.NotTransp && r.transp == "") || (in.NotStatuses && len(r.statuses) == 0) {
		return r, errors.New("a negated condition has no values to negate")
	}
	if !r.timed() && len(r.categories) == 0 && len(r.sources) == 0 && len(r.classes) == 0 && r.transp == "" && len(r.statuses) == 0 {
		return r, errors.New("rule has no conditions and would match everything; set the filter's Default instead")
	}
	return r, nil
}

func loadZone(name string) (*time.Location, error) {
	if name == "Local" {
		return nil, fmt.Errorf("time zone %q: name an IANA zone such as Asia/Tokyo", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: name an IANA zone such as Asia/Tokyo", name)
	}
	return loc, nil
}

// parseClock reads "HH:MM" as seconds of the day; "24:00" only as an end.
func parseClock(s string, end bool) (int, error) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("%q is not a time of day in HH:MM form", s)
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil || m > 59 || h > 24 || (h == 24 && (m != 0 || !end)) {
		return 0, fmt.Errorf("%q is not a time of day in HH:MM form (00:00 to 23:59, or 24:00 as an end)", s)
	}
	return h*3600 + m*60, nil
}

func parseDay(s string) (day int64, open bool, err error) {
	if s == "" {
		return 0, true, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, false, fmt.Errorf("%q is not a date in YYYY-MM-DD form", s)
	}
	return dayNumber(t), false, nil
}

// dayNumber counts days since 1970-01-01 of the wall-clock date of t.
func dayNumber(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// statuses are the values of STATUS (RFC 5545 3.8.1.11) a rule may name.
var statuses = []string{"TENTATIVE", "CONFIRMED", "CANCELLED", "NEEDS-ACTION", "COMPLETED", "IN-PROCESS", "DRAFT", "FINAL"}

// props are the properties of one component that rules look at.
type props struct {
	categories []string // lower case
	class      string   // upper case; PUBLIC when absent
	transp     string   // upper case; OPAQUE when absent
	status     string   // upper case; "" when absent
}

func componentProps(c *goical.Component) props {
	p := props{class: "PUBLIC", transp: "OPAQUE"}
	if v := c.Props.Get(goical.PropClass); v != nil && strings.TrimSpace(v.Value) != "" {
		p.class = strings.ToUpper(strings.TrimSpace(v.Value))
	}
	if v := c.Props.Get(goical.PropTransparency); v != nil && strings.TrimSpace(v.Value) != "" {
		p.transp = strings.ToUpper(strings.TrimSpace(v.Value))
	}
	if v := c.Props.Get(goical.PropStatus); v != nil {
		p.status = strings.ToUpper(strings.TrimSpace(v.Value))
	}
	for _, v := range c.Props[goical.PropCategories] {
		for _, cat := range splitText(v.Value) {
			if cat = strings.TrimSpace(cat); cat != "" {
				p.categories = append(p.categories, strings.ToLower(cat))
			}
		}
	}
	return p
}

// splitText splits a TEXT list at unescaped commas and unescapes the items.
func splitText(v string) []string {
	var out []string
	var sb strings.Builder
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && i+1 < len(v):
			i++
			switch v[i] {
			case 'n', 'N':
				sb.WriteByte('\n')
			default:
				sb.WriteByte(v[i])
			}
		case c == ',':
			out = append(out, sb.String())
			sb.Reset()
		default:
			sb.WriteByte(c)
		}
	}
	return append(out, sb.String())
}

// matchStatic evaluates the conditions that do not depend on time.
func (r *rule) matchStatic(p props, source string) bool {
	if len(r.categories) > 0 {
		any := slices.ContainsFunc(p.categories, func(c string) bool { return slices.Contains(r.categories, c) })
		if any == r.notCategories {
			return false
		}
	}
	if len(r.sources) > 0 && slices.Contains(r.sources, source) == r.notSources {
		return false
	}
	if len(r.classes) > 0 && slices.Contains(r.classes, p.class) == r.notClasses {
		return false
	}
	if r.transp != "" && (p.transp == r.transp) == r.notTransp {
		return false
	}
	if len(r.statuses) > 0 && slices.Contains(r.statuses, p.status) == r.notStatuses {
		return false
	}
	return true
}

// matchAt evaluates the time conditions at instant t, whose wall-clock
// time in the rule's zone is wall.
func (r *rule) matchAt(t, wall time.Time) bool {
	if r.hasSince && t.Before(r.since) {
		return false
	}
	if r.hasWeekdays && r.weekdays[wall.Weekday()] == r.notWeekdays {
		return false
	}
	if r.hasTime {
		h, m, s := wall.Clock()
		sec := h*3600 + m*60 + s
		var in bool
		if r.from < r.to {
			in = sec >= r.from && sec < r.to
		} else {
			in = sec >= r.from || sec < r.to
		}
		if in == r.notTime {
			return false
		}
	}
	if r.hasDates {
		d := dayNumber(wall)
		in := (r.openFrom || d >= r.fromDay) && (r.openTo || d < r.toDay)
		if in == r.notDates {
			return false
		}
	}
	return true
}
