// Package ical is Koyomi's iCalendar content layer: it parses calendar object
// resources, checks them against the CalDAV rules (RFC 4791 section 4.1),
// extracts the fields the store indexes, evaluates calendar-query filters
// (RFC 4791 section 9.7 and the time-range rules of 9.9), renders
// calendar-data (partial component/property selection, expand,
// limit-recurrence-set, limit-freebusy-set) and computes free-busy.
//
// It does no I/O and knows nothing of HTTP, XML or storage.
package ical

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	goical "github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"

	"koyomi.dev/koyomi/internal/recur"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/tz"
)

// Errors of validation; CalDAV maps them to its precondition elements.
var (
	// ErrInvalidData: the bytes are not iCalendar (valid-calendar-data).
	ErrInvalidData = errors.New("ical: invalid iCalendar data")
	// ErrInvalidObject: iCalendar, but not a valid calendar object resource
	// (valid-calendar-object-resource): several UIDs, mixed component
	// types, a METHOD property, no component, missing UID ...
	ErrInvalidObject = errors.New("ical: invalid calendar object resource")
)

// FloatingSlack is how far a floating or all-day time can be from the same
// wall-clock time in UTC (the extreme UTC offsets are -12 and +14 hours).
// The store indexes such times as if they were UTC, so queries against the
// index are widened by this much on each side and then checked exactly.
const FloatingSlack = 14 * time.Hour

// MaxIndexedOccurrences bounds the occurrences Index lists for one object.
// Each is a row the store writes on every PUT, so the bound is what keeps a
// PUT of a secondly rule cheap; it is well above the ~1100 instances of a
// daily event over a three-year horizon. An object with more is marked
// indexed until its last listed occurrence, and later ranges are evaluated
// on read.
const MaxIndexedOccurrences = 5000

// maxIndexWork bounds the rule steps of an index build, far below the
// query-time bound (rrule.DefaultMaxWork): a rule that needs more is
// indexed as far as it got and evaluated on read beyond that.
const maxIndexWork = 100_000

// maxFilterInstances bounds instance expansion while evaluating a filter or
// rendering, so that a pathological rule cannot stall a query.
const maxFilterInstances = 20000

// WidenForFloating widens tr by FloatingSlack on each bounded side, for
// picking candidates from an index that stores floating times as UTC.
func WidenForFloating(tr TimeRange) TimeRange {
	if !tr.Start.IsZero() {
		tr.Start = tr.Start.Add(-FloatingSlack)
	}
	if !tr.End.IsZero() {
		tr.End = tr.End.Add(FloatingSlack)
	}
	return tr
}

// Object is a parsed calendar object resource.
type Object struct {
	Cal       *goical.Calendar
	UID       string
	Component string // VEVENT, VTODO, VJOURNAL or VFREEBUSY
	TZ        *tz.Resolver
}

// mainComponents are the component kinds a calendar object resource can be
// made of (RFC 4791 section 4.1).
var mainComponents = map[string]bool{
	goical.CompEvent:    true,
	goical.CompToDo:     true,
	goical.CompJournal:  true,
	goical.CompFreeBusy: true,
}

// Parse decodes data and validates it as a calendar object resource.
// Errors wrap ErrInvalidData or ErrInvalidObject with a message a user can
// act on.
func Parse(data []byte) (*Object, error) {
	cal, err := ParseCalendar(data)
	if err != nil {
		return nil, err
	}
	uid, kind, err := validateObject(cal)
	if err != nil {
		return nil, err
	}
	return &Object{Cal: cal, UID: uid, Component: kind, TZ: tz.NewResolver(cal)}, nil
}

// ParseCalendar decodes data as exactly one VCALENDAR without checking it
// as a calendar object resource. Errors wrap ErrInvalidData.
func ParseCalendar(data []byte) (*goical.Calendar, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrInvalidData)
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: not valid UTF-8", ErrInvalidData)
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, fmt.Errorf("%w: contains a NUL byte", ErrInvalidData)
	}
	dec := goical.NewDecoder(bytes.NewReader(data))
	cal, err := decodeOne(dec)
	if errors.Is(err, errNoMoreData) {
		return nil, fmt.Errorf("%w: unexpected end of data (a BEGIN without its END)", ErrInvalidData)
	}
	if err != nil {
		return nil, err
	}
	if _, err := decodeOne(dec); !errors.Is(err, errNoMoreData) {
		return nil, fmt.Errorf("%w: data after END:VCALENDAR (only one VCALENDAR is allowed)", ErrInvalidData)
	}
	return cal, nil
}

var errNoMoreData = errors.New("no more data")

// decodeOne decodes one VCALENDAR. The decoder panics on some malformed
// parameter syntax, so panics are turned into errors here.
func decodeOne(dec *goical.Decoder) (cal *goical.Calendar, err error) {
	defer func() {
		if r := recover(); r != nil {
			cal, err = nil, fmt.Errorf("%w: malformed content line (%v)", ErrInvalidData, r)
		}
	}()
	cal, err = dec.Decode()
	switch {
	case err == nil:
		return cal, nil
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return nil, errNoMoreData
	default:
		return nil, fmt.Errorf("%w: %s", ErrInvalidData, strings.TrimPrefix(err.Error(), "ical: "))
	}
}

// ParseTimezone decodes a calendar-timezone value, or the timezone of a
// calendar-query: a VCALENDAR holding exactly one VTIMEZONE and no other
// component (RFC 4791 5.2.2, 9.8), X- components aside. It returns the
// zone and its TZID.
func ParseTimezone(data []byte) (*time.Location, string, error) {
	cal, err := ParseCalendar(data)
	if err != nil {
		return nil, "", err
	}
	var zones []*goical.Component
	for _, c := range cal.Children {
		switch {
		case c.Name == goical.CompTimezone:
			zones = append(zones, c)
		case !strings.HasPrefix(c.Name, "X-"):
			return nil, "", fmt.Errorf("%w: a time zone is a VCALENDAR with one VTIMEZONE and nothing else, not a %s", ErrInvalidObject, c.Name)
		}
	}
	if len(zones) != 1 {
		return nil, "", fmt.Errorf("%w: want exactly one VTIMEZONE, found %d", ErrInvalidObject, len(zones))
	}
	tzid := propValue(zones[0], goical.PropTimezoneID)
	if tzid == "" {
		return nil, "", fmt.Errorf("%w: VTIMEZONE without TZID", ErrInvalidObject)
	}
	loc, _ := tz.NewResolver(cal).Location(tzid)
	return loc, tzid, nil
}

// singleProps may appear at most once in a component; two values make the
// component ambiguous for indexing and expansion.
var singleProps = []string{
	goical.PropUID, goical.PropDateTimeStart, goical.PropDateTimeEnd, goical.PropDuration,
	goical.PropDue, goical.PropRecurrenceID, goical.PropStatus, goical.PropTransparency,
}

// validateObject applies RFC 4791 section 4.1 and the parts of RFC 5545 that
// indexing relies on. It is lenient where widespread clients are sloppy:
// missing DTSTAMP, PRODID or VERSION are accepted.
func validateObject(cal *goical.Calendar) (uid, kind string, err error) {
	invalid := func(format string, args ...any) (string, string, error) {
		return "", "", fmt.Errorf("%w: "+format, append([]any{ErrInvalidObject}, args...)...)
	}
	if len(cal.Props[goical.PropMethod]) > 0 {
		return invalid("METHOD property is not allowed in a calendar object resource")
	}
	var comps []*goical.Component
	for _, c := range cal.Children {
		switch {
		case c.Name == goical.CompTimezone:
			if propValue(c, goical.PropTimezoneID) == "" {
				return invalid("VTIMEZONE without TZID")
			}
		case mainComponents[c.Name]:
			if kind != "" && c.Name != kind {
				return invalid("mixes %s and %s components (one kind per resource)", kind, c.Name)
			}
			kind = c.Name
			comps = append(comps, c)
		case strings.HasPrefix(c.Name, "X-") || c.Name == "VAVAILABILITY":
			// Kept as sent; not indexed.
		default:
			return invalid("%s component is not allowed at the top level of a calendar object resource", c.Name)
		}
	}
	if len(comps) == 0 {
		return invalid("no VEVENT, VTODO, VJOURNAL or VFREEBUSY component")
	}
	masters := 0
	seenRecurrenceID := map[string]bool{}
	for _, c := range comps {
		for _, name := range singleProps {
			if n := len(c.Props[name]); n > 1 {
				return invalid("%s has %d %s properties, at most one is allowed", c.Name, n, name)
			}
		}
		u := propValue(c, goical.PropUID)
		if u == "" {
			return invalid("%s without UID", c.Name)
		}
		if uid == "" {
			uid = u
		} else if u != uid {
			return invalid("components have different UIDs (%q and %q); one UID per resource", uid, u)
		}
		if rid := c.Props.Get(goical.PropRecurrenceID); rid != nil {
			t, _, err := parseTime(rid, nil, time.UTC)
			if err != nil {
				return "", "", fmt.Errorf("%w: %s RECURRENCE-ID: %v", ErrInvalidData, c.Name, err)
			}
			key := t.UTC().Format(time.RFC3339)
			if seenRecurrenceID[key] {
				return invalid("two %s overrides with RECURRENCE-ID %s", c.Name, rid.Value)
			}
			seenRecurrenceID[key] = true
		} else {
			masters++
			if masters > 1 {
				return invalid("more than one %s without RECURRENCE-ID for UID %q", c.Name, uid)
			}
		}
		if err := validateTimes(c); err != nil {
			return "", "", err
		}
	}
	return uid, kind, nil
}

// validateTimes checks the date-time properties of one component. A value
// that does not parse is invalid data (valid-calendar-data); values that
// parse but do not make a calendar object resource are an invalid object
// (valid-calendar-object-resource).
func validateTimes(c *goical.Component) error {
	has := func(name string) bool { return len(c.Props[name]) > 0 }
	object := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidObject}, args...)...)
	}
	data := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidData}, args...)...)
	}
	if c.Name == goical.CompEvent && !has(goical.PropDateTimeStart) {
		return object("VEVENT without DTSTART")
	}
	if has(goical.PropDateTimeEnd) && has(goical.PropDuration) {
		return object("%s has both DTEND and DURATION", c.Name)
	}
	if has(goical.PropDue) && has(goical.PropDuration) {
		return object("%s has both DUE and DURATION", c.Name)
	}
	if c.Name == goical.CompToDo && has(goical.PropDuration) && !has(goical.PropDateTimeStart) {
		return object("VTODO has DURATION without DTSTART")
	}
	for _, name := range []string{goical.PropDateTimeStart, goical.PropDateTimeEnd, goical.PropDue, goical.PropCompleted, goical.PropCreated} {
		if p := c.Props.Get(name); p != nil {
			if _, _, err := parseTime(p, nil, time.UTC); err != nil {
				return data("%s %s: %v", c.Name, name, err)
			}
		}
	}
	if p := c.Props.Get(goical.PropDuration); p != nil {
		if _, err := parseDuration(p.Value); err != nil {
			return data("%s DURATION: %v", c.Name, err)
		}
	}
	for _, p := range c.Props[goical.PropRecurrenceRule] {
		if _, err := rrule.StrToROption(p.Value); err != nil {
			return data("%s RRULE %q: %v", c.Name, p.Value, err)
		}
	}
	for _, name := range []string{goical.PropRecurrenceDates, goical.PropExceptionDates} {
		for _, p := range c.Props[name] {
			if err := validateDateList(&p); err != nil {
				return data("%s %s: %v", c.Name, name, err)
			}
		}
	}
	return nil
}

func validateDateList(p *goical.Prop) error {
	period := strings.EqualFold(p.Params.Get(goical.ParamValue), "PERIOD")
	for _, v := range strings.Split(p.Value, ",") {
		if period {
			if _, _, err := parsePeriod(v, nil, time.UTC); err != nil {
				return err
			}
			continue
		}
		q := goical.Prop{Name: p.Name, Params: p.Params, Value: v}
		if _, _, err := parseTime(&q, nil, time.UTC); err != nil {
			return err
		}
	}
	return nil
}

// components returns the object's components of its own kind: the master
// and its overrides.
func (o *Object) components() []*goical.Component {
	var comps []*goical.Component
	for _, c := range o.Cal.Children {
		if c.Name == o.Component {
			comps = append(comps, c)
		}
	}
	return comps
}

// isRecurring reports whether the set of components describes more than a
// single occurrence.
func isRecurring(comps []*goical.Component) bool {
	for _, c := range comps {
		if len(c.Props[goical.PropRecurrenceRule]) > 0 || len(c.Props[goical.PropRecurrenceDates]) > 0 ||
			len(c.Props[goical.PropRecurrenceID]) > 0 {
			return true
		}
	}
	return false
}

// Index fills the index fields of a store object (UID, Component, SpanStart,
// SpanEnd, Recurring, Occurrences, IndexedUntil) from o. Occurrences are
// listed up to horizon; floating times are indexed as if UTC (callers widen
// queries by FloatingSlack on each side, see WidenForFloating).
func (o *Object) Index(dst *store.Object, horizon time.Time) {
	dst.UID = o.UID
	dst.Component = o.Component
	dst.SpanStart, dst.SpanEnd = time.Time{}, time.Time{}
	dst.Occurrences = nil
	dst.IndexedUntil = time.Time{}
	comps := o.components()
	dst.Recurring = isRecurring(comps)

	switch o.Component {
	case goical.CompFreeBusy:
		dst.SpanStart, dst.SpanEnd = o.freeBusySpan(comps)
		return
	case goical.CompToDo:
		// A to-do without DTSTART and DUE is governed by CREATED and
		// COMPLETED, or matches every range: leave the span open.
		for _, c := range comps {
			if len(c.Props[goical.PropDateTimeStart]) == 0 && len(c.Props[goical.PropDue]) == 0 {
				return
			}
		}
	}
	opts := recur.Options{Floating: time.UTC, TZ: o.TZ, Max: MaxIndexedOccurrences, MaxWork: maxIndexWork}
	start, end, infinite, ok := recur.Span(comps, opts)
	if !ok {
		return
	}
	dst.SpanStart = start.UTC()
	if !infinite {
		dst.SpanEnd = end.UTC()
	}
	if !dst.Recurring {
		return
	}
	opts.End = horizon
	insts, err := recur.Expand(comps, opts)
	for _, in := range insts {
		dst.Occurrences = append(dst.Occurrences, store.Period{Start: in.Start.UTC(), End: in.End.UTC()})
	}
	switch {
	case err != nil && len(insts) > 0:
		dst.IndexedUntil = insts[len(insts)-1].Start.UTC()
	case err != nil, infinite, end.After(horizon):
		dst.IndexedUntil = horizon.UTC()
	}
}

// freeBusySpan is the time a VFREEBUSY covers: DTSTART/DTEND, or else the
// union of its FREEBUSY periods.
func (o *Object) freeBusySpan(comps []*goical.Component) (start, end time.Time) {
	for _, c := range comps {
		for _, p := range o.componentFreeBusy(c, time.UTC) {
			start, end = extend(start, end, p.Start, p.End)
		}
		s, okS := o.timeProp(c, goical.PropDateTimeStart, time.UTC)
		e, okE := o.timeProp(c, goical.PropDateTimeEnd, time.UTC)
		if okS && okE {
			start, end = extend(start, end, s, e)
		}
	}
	return start.UTC(), end.UTC()
}

func extend(start, end, s, e time.Time) (time.Time, time.Time) {
	if start.IsZero() || s.Before(start) {
		start = s
	}
	if end.IsZero() || e.After(end) {
		end = e
	}
	return start, end
}

// propValue returns the value of the first property called name, or "".
func propValue(c *goical.Component, name string) string {
	if p := c.Props.Get(name); p != nil {
		return p.Value
	}
	return ""
}
