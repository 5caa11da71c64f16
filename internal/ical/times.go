package ical

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	goical "github.com/emersion/go-ical"

	"koyomi.dev/koyomi/internal/tz"
)

const (
	dateLayout        = "20060102"
	localTimeLayout   = "20060102T150405"
	utcDateTimeLayout = "20060102T150405Z"
)

// parseTime reads a DATE or DATE-TIME property value (the first one of a
// list). Dates and floating times are placed in floating; TZIDs are resolved
// with r (nil: UTC for every TZID). date is true for DATE values.
func parseTime(p *goical.Prop, r *tz.Resolver, floating *time.Location) (t time.Time, date bool, err error) {
	v := strings.TrimSpace(p.Value)
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	if floating == nil {
		floating = time.UTC
	}
	if strings.EqualFold(p.Params.Get(goical.ParamValue), "DATE") || len(v) == len(dateLayout) {
		t, err = time.ParseInLocation(dateLayout, v, floating)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("%q is not a DATE", p.Value)
		}
		return t, true, nil
	}
	switch {
	case len(v) == len(utcDateTimeLayout) && (v[len(v)-1] == 'Z' || v[len(v)-1] == 'z'):
		t, err = time.ParseInLocation(utcDateTimeLayout, strings.ToUpper(v), time.UTC)
	case len(v) == len(localTimeLayout):
		loc := floating
		if tzid := p.Params.Get(goical.ParamTimezoneID); tzid != "" {
			loc = resolve(r, tzid)
		}
		// Parse as wall-clock time, then place it in the zone with the
		// RFC 5545 rules for nonexistent and ambiguous local times.
		var wall time.Time
		if wall, err = time.Parse(localTimeLayout, strings.ToUpper(v)); err == nil {
			t = tz.FromWall(wall, loc)
		}
	default:
		err = fmt.Errorf("bad length")
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("%q is not a DATE or DATE-TIME", p.Value)
	}
	return t, false, nil
}

func resolve(r *tz.Resolver, tzid string) *time.Location {
	if r == nil {
		return time.UTC
	}
	loc, _ := r.Location(tzid)
	if loc == nil {
		return time.UTC
	}
	return loc
}

// timeProp returns the time of property name in c, interpreted with o's
// time zones; ok is false when it is absent or malformed.
func (o *Object) timeProp(c *goical.Component, name string, floating *time.Location) (time.Time, bool) {
	t, _, ok := o.timePropDate(c, name, floating)
	return t, ok
}

func (o *Object) timePropDate(c *goical.Component, name string, floating *time.Location) (t time.Time, date, ok bool) {
	p := c.Props.Get(name)
	if p == nil {
		return time.Time{}, false, false
	}
	t, date, err := parseTime(p, o.TZ, floating)
	return t, date, err == nil
}

// icalDuration is an RFC 5545 duration: days (and weeks) are nominal and
// follow wall-clock time across DST changes; the rest is exact.
type icalDuration struct {
	days int
	secs time.Duration
}

func (d icalDuration) addTo(t time.Time) time.Time {
	return t.AddDate(0, 0, d.days).Add(d.secs)
}

func (d icalDuration) negate() icalDuration { return icalDuration{-d.days, -d.secs} }

// approx is the duration as an exact length, for widening ranges.
func (d icalDuration) approx() time.Duration {
	return time.Duration(d.days)*24*time.Hour + d.secs
}

func parseDuration(s string) (icalDuration, error) {
	var d icalDuration
	orig := s
	s = strings.ToUpper(strings.TrimSpace(s))
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	if !strings.HasPrefix(s, "P") || len(s) < 3 {
		return d, fmt.Errorf("%q is not a DURATION", orig)
	}
	s = s[1:]
	inTime := false
	for s != "" {
		if s[0] == 'T' {
			if inTime {
				return d, fmt.Errorf("%q is not a DURATION", orig)
			}
			inTime, s = true, s[1:]
			continue
		}
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) || i > 9 {
			return d, fmt.Errorf("%q is not a DURATION", orig)
		}
		n, _ := strconv.Atoi(s[:i])
		unit := s[i]
		s = s[i+1:]
		switch {
		case !inTime && unit == 'W':
			d.days += 7 * n
		case !inTime && unit == 'D':
			d.days += n
		case inTime && unit == 'H':
			d.secs += time.Duration(n) * time.Hour
		case inTime && unit == 'M':
			d.secs += time.Duration(n) * time.Minute
		case inTime && unit == 'S':
			d.secs += time.Duration(n) * time.Second
		default:
			return d, fmt.Errorf("%q is not a DURATION", orig)
		}
	}
	if neg {
		d = d.negate()
	}
	return d, nil
}

// parsePeriod reads "start/end" or "start/duration".
func parsePeriod(v string, r *tz.Resolver, floating *time.Location) (start, end time.Time, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(v), "/")
	if !ok {
		return start, end, fmt.Errorf("%q is not a PERIOD", v)
	}
	start, _, err = parseTime(&goical.Prop{Value: a, Params: goical.Params{}}, r, floating)
	if err != nil {
		return start, end, err
	}
	if strings.ContainsAny(b, "Pp") {
		d, err := parseDuration(b)
		if err != nil {
			return start, end, err
		}
		return start, d.addTo(start), nil
	}
	end, _, err = parseTime(&goical.Prop{Value: b, Params: goical.Params{}}, r, floating)
	return start, end, err
}

// componentFreeBusy returns the FREEBUSY periods of a VFREEBUSY with their
// FBTYPE (BUSY when absent).
func (o *Object) componentFreeBusy(c *goical.Component, floating *time.Location) []BusyPeriod {
	var out []BusyPeriod
	for _, p := range c.Props[goical.PropFreeBusy] {
		typ := strings.ToUpper(p.Params.Get("FBTYPE"))
		if typ == "" {
			typ = "BUSY"
		}
		for _, v := range strings.Split(p.Value, ",") {
			s, e, err := parsePeriod(v, o.TZ, floating)
			if err != nil {
				continue
			}
			out = append(out, BusyPeriod{Start: s.UTC(), End: e.UTC(), Type: typ})
		}
	}
	return out
}

func formatUTC(t time.Time) string { return t.UTC().Format(utcDateTimeLayout) }
