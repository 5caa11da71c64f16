// Package rrule parses RFC 5545 recurrence rules (RRULE values) and iterates
// the wall-clock times they generate.
//
// It works purely on "naive" wall-clock times (time.Time values whose
// location is ignored and which are handled as UTC), so that a weekly 09:00
// rule stays at 09:00 whatever the zone does; mapping wall-clock times to
// instants (DST gaps and overlaps) is the caller's business. It knows nothing
// of iCalendar components, time zones, storage or HTTP.
package rrule

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Freq is the FREQ rule part.
type Freq int

// Frequencies, from the finest to the coarsest.
const (
	Secondly Freq = iota
	Minutely
	Hourly
	Daily
	Weekly
	Monthly
	Yearly
)

var freqNames = map[string]Freq{
	"SECONDLY": Secondly, "MINUTELY": Minutely, "HOURLY": Hourly, "DAILY": Daily,
	"WEEKLY": Weekly, "MONTHLY": Monthly, "YEARLY": Yearly,
}

var dayNames = map[string]time.Weekday{
	"SU": time.Sunday, "MO": time.Monday, "TU": time.Tuesday, "WE": time.Wednesday,
	"TH": time.Thursday, "FR": time.Friday, "SA": time.Saturday,
}

// WeekdayNum is one BYDAY entry: a weekday with an optional ordinal (N=0 means
// every such weekday of the period; -1 the last, 2 the second...).
type WeekdayNum struct {
	N   int
	Day time.Weekday
}

// Rule is a parsed RRULE.
type Rule struct {
	Freq     Freq
	Interval int
	// Count is 0 when the rule has no COUNT.
	Count int
	// Until is the zero time when the rule has no UNTIL. UntilUTC tells
	// whether it was given in UTC ("Z"); otherwise it is a wall-clock time
	// (or a date, when UntilDate is set) in the zone of DTSTART.
	Until     time.Time
	UntilUTC  bool
	UntilDate bool

	BySecond, ByMinute, ByHour      []int
	ByDay                           []WeekdayNum
	ByMonthDay, ByYearDay, ByWeekNo []int
	ByMonth, BySetPos               []int
	Wkst                            time.Weekday
}

// ErrSyntax is wrapped by every Parse error.
var ErrSyntax = errors.New("rrule: invalid recurrence rule")

// Finite reports whether the rule ends (has COUNT or UNTIL).
func (r *Rule) Finite() bool { return r.Count > 0 || !r.Until.IsZero() }

// Parse parses an RRULE value such as "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10".
// A leading "RRULE:" is accepted. Unknown rule parts are ignored so that
// extensions do not make an event unusable.
func Parse(s string) (*Rule, error) {
	s = strings.TrimSpace(s)
	if len(s) >= 6 && strings.EqualFold(s[:6], "RRULE:") {
		s = s[6:]
	}
	r := &Rule{Interval: 1, Wkst: time.Monday}
	haveFreq := false
	for part := range strings.SplitSeq(s, ";") {
		if part == "" {
			continue
		}
		key, val, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%w: part %q has no value", ErrSyntax, part)
		}
		key = strings.ToUpper(strings.TrimSpace(key))
		val = strings.TrimSpace(val)
		var err error
		switch key {
		case "FREQ":
			f, known := freqNames[strings.ToUpper(val)]
			if !known {
				return nil, fmt.Errorf("%w: unknown FREQ %q", ErrSyntax, val)
			}
			r.Freq, haveFreq = f, true
		case "INTERVAL":
			r.Interval, err = parseInt(val, 1, 1<<31-1)
		case "COUNT":
			r.Count, err = parseInt(val, 1, 1<<31-1)
		case "UNTIL":
			err = r.parseUntil(val)
		case "BYSECOND":
			r.BySecond, err = parseList(val, 0, 60, false)
			// Go has no leap seconds: drop 60 rather than let it roll over
			// into the next minute and break ordering.
			r.BySecond = slices.DeleteFunc(r.BySecond, func(v int) bool { return v == 60 })
		case "BYMINUTE":
			r.ByMinute, err = parseList(val, 0, 59, false)
		case "BYHOUR":
			r.ByHour, err = parseList(val, 0, 23, false)
		case "BYMONTHDAY":
			r.ByMonthDay, err = parseList(val, 1, 31, true)
		case "BYYEARDAY":
			r.ByYearDay, err = parseList(val, 1, 366, true)
		case "BYWEEKNO":
			r.ByWeekNo, err = parseList(val, 1, 53, true)
		case "BYMONTH":
			r.ByMonth, err = parseList(val, 1, 12, false)
		case "BYSETPOS":
			r.BySetPos, err = parseList(val, 1, 366, true)
		case "BYDAY":
			r.ByDay, err = parseByDay(val)
		case "WKST":
			d, known := dayNames[strings.ToUpper(val)]
			if !known {
				return nil, fmt.Errorf("%w: unknown WKST %q", ErrSyntax, val)
			}
			r.Wkst = d
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrSyntax, key, err)
		}
	}
	if !haveFreq {
		return nil, fmt.Errorf("%w: missing FREQ", ErrSyntax)
	}
	return r, nil
}

func (r *Rule) parseUntil(val string) error {
	v := strings.ToUpper(val)
	switch {
	case len(v) == 8:
		t, err := time.Parse("20060102", v)
		if err != nil {
			return err
		}
		r.Until, r.UntilDate = t, true
	case len(v) == 16 && v[15] == 'Z':
		t, err := time.Parse("20060102T150405Z", v)
		if err != nil {
			return err
		}
		r.Until, r.UntilUTC = t, true
	case len(v) == 15:
		t, err := time.Parse("20060102T150405", v)
		if err != nil {
			return err
		}
		r.Until = t
	default:
		return fmt.Errorf("bad date %q", val)
	}
	return nil
}

func parseInt(s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(s, "+"))
	if err != nil {
		return 0, err
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%d out of range", n)
	}
	return n, nil
}

// parseList parses a comma-separated list of integers in [lo, hi], or also
// in [-hi, -lo] when signed.
func parseList(s string, lo, hi int, signed bool) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(f), "+"))
		if err != nil {
			return nil, err
		}
		a := n
		if signed && a < 0 {
			a = -a
		}
		if a < lo || a > hi {
			return nil, fmt.Errorf("%d out of range", n)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

func parseByDay(s string) ([]WeekdayNum, error) {
	var out []WeekdayNum
	for f := range strings.SplitSeq(s, ",") {
		f = strings.ToUpper(strings.TrimSpace(f))
		if len(f) < 2 {
			return nil, fmt.Errorf("bad weekday %q", f)
		}
		d, ok := dayNames[f[len(f)-2:]]
		if !ok {
			return nil, fmt.Errorf("bad weekday %q", f)
		}
		n := 0
		if num := f[:len(f)-2]; num != "" {
			v, err := strconv.Atoi(strings.TrimPrefix(num, "+"))
			if err != nil || v == 0 || v < -53 || v > 53 {
				return nil, fmt.Errorf("bad weekday ordinal %q", f)
			}
			n = v
		}
		wd := WeekdayNum{N: n, Day: d}
		if !slices.Contains(out, wd) {
			out = append(out, wd)
		}
	}
	return out, nil
}
