package recur

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	goical "github.com/emersion/go-ical"

	"koyomi.dev/koyomi/internal/tz"
)

// value is one DATE or DATE-TIME value (or the start of a PERIOD).
type value struct {
	wall time.Time      // wall-clock date and time, held as UTC
	loc  *time.Location // zone of the wall clock: UTC for "Z" values
	date bool
	// floating marks a DATE-TIME without TZID or "Z".
	floating bool
	// at caches the instant once resolved is set.
	at       time.Time
	resolved bool
	// PERIOD values carry their own end.
	hasEnd bool
	end    time.Time // instant
}

// instant returns the moment the value denotes.
func (v value) instant() time.Time {
	if v.resolved {
		return v.at
	}
	return tz.FromWall(v.wall, v.loc).UTC()
}

// resolve caches the instant: instances are compared and sorted by it many
// times, and zone lookups are not free.
func (v value) resolve() value {
	v.at, v.resolved = tz.FromWall(v.wall, v.loc).UTC(), true
	return v
}

// day numbers the value's calendar date, for comparisons of all-day values.
func (v value) day() int64 { return dayNumber(v.wall) }

func dayNumber(wall time.Time) int64 {
	y, m, d := wall.Date()
	s := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()
	if s < 0 {
		return (s - 86399) / 86400
	}
	return s / 86400
}

// inZoneOf reinterprets a floating value in the zone of ref. Clients often
// omit the TZID on EXDATE, RDATE and RECURRENCE-ID when it equals DTSTART's;
// matching such values against DTSTART's zone is what they mean.
func (v value) inZoneOf(ref value) value {
	if v.floating && !ref.floating && !ref.date {
		v.loc, v.floating = ref.loc, false
		return v.resolve()
	}
	return v
}

// zones turns TZIDs into locations for one expansion.
type zones struct {
	resolver *tz.Resolver
	floating *time.Location
}

// parseProp parses a DATE, DATE-TIME or PERIOD property, possibly holding
// several comma-separated values (RDATE, EXDATE).
func (z zones) parseProp(p *goical.Prop) ([]value, error) {
	out, _, err := z.parseDates(p, allDays)
	return out, err
}

// parseDates is parseProp leaving out, unparsed, the values that near
// says cannot matter; skipped counts them.
func (z zones) parseDates(p *goical.Prop, near dayRange) (out []value, skipped int, err error) {
	for raw := range strings.SplitSeq(p.Value, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		if !near.mayHold(raw) {
			skipped++
			continue
		}
		startText, endText, isPeriod := strings.Cut(raw, "/")
		v, err := z.parseOne(p, startText)
		if err != nil {
			return out, skipped, err
		}
		if isPeriod {
			if strings.HasPrefix(endText, "P") || strings.HasPrefix(endText, "+P") || strings.HasPrefix(endText, "-P") {
				d, err := parseDuration(endText)
				if err != nil {
					return out, skipped, fmt.Errorf("%s %q: %w", p.Name, raw, err)
				}
				v.hasEnd, v.end = true, d.addTo(v.instant(), v.loc)
			} else {
				e, err := z.parseOne(p, endText)
				if err != nil {
					return out, skipped, err
				}
				v.hasEnd, v.end = true, e.instant()
			}
		}
		out = append(out, v)
	}
	return out, skipped, nil
}

// dayRange is a range of calendar dates, as day numbers (see dayNumber),
// inclusive at both ends.
type dayRange struct{ first, last int64 }

// allDays is the range that holds every date.
var allDays = dayRange{first: math.MinInt64, last: math.MaxInt64}

// nearDays returns the dates a DATE or DATE-TIME value, read on its own
// wall clock in any zone, may have when it lies within slack of [start,
// end): two days wider on each side than the range in UTC, as no two
// zones' clocks are more than 26 hours apart.
func nearDays(start, end time.Time, slack time.Duration) dayRange {
	const margin = 48 * time.Hour
	return dayRange{first: dayNumber(start.Add(-slack - margin)), last: dayNumber(end.Add(slack + margin))}
}

// mayHold reports whether raw, one value of a DATE, DATE-TIME or PERIOD
// list, may lie in r: false only for a DATE or DATE-TIME whose date,
// read from its first eight digits, is outside r. A PERIOD, or anything
// else, may.
func (r dayRange) mayHold(raw string) bool {
	if r == allDays || len(raw) < 8 || strings.IndexByte(raw, '/') >= 0 {
		return true
	}
	n := 0
	for _, c := range []byte(raw[:8]) {
		if c < '0' || c > '9' {
			return true
		}
		n = n*10 + int(c-'0')
	}
	y, m, d := n/10000, time.Month(n/100%100), n%100
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return true
	}
	day := dayNumber(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
	return day >= r.first && day <= r.last
}

func (z zones) parseOne(p *goical.Prop, s string) (value, error) {
	t, kind, err := parseDateTime(s)
	if err != nil {
		return value{}, fmt.Errorf("%w: %s: %v", ErrInvalid, p.Name, err)
	}
	v := value{wall: t, loc: z.floating}
	switch kind {
	case kindDate:
		v.date = true
	case kindUTC:
		v.loc = time.UTC
	default:
		if id := p.Params.Get("TZID"); id != "" {
			v.loc, _ = z.resolver.Location(id)
		} else {
			v.floating = true
		}
	}
	return v.resolve(), nil
}

func (z zones) parseSingle(c *goical.Component, name string) (value, bool, error) {
	p := c.Props.Get(name)
	if p == nil {
		return value{}, false, nil
	}
	vs, err := z.parseProp(p)
	if err != nil {
		return value{}, false, err
	}
	if len(vs) == 0 {
		return value{}, false, fmt.Errorf("%w: empty %s", ErrInvalid, name)
	}
	return vs[0], true, nil
}

type valueKind int

const (
	kindFloating valueKind = iota
	kindUTC
	kindDate
)

func parseDateTime(s string) (time.Time, valueKind, error) {
	s = strings.TrimSpace(s)
	switch {
	case len(s) == 8:
		t, err := time.Parse("20060102", s)
		return t, kindDate, err
	case len(s) == 15:
		t, err := time.Parse("20060102T150405", s)
		return t, kindFloating, err
	case len(s) == 16 && (s[15] == 'Z' || s[15] == 'z'):
		t, err := time.Parse("20060102T150405", s[:15])
		return t, kindUTC, err
	}
	return time.Time{}, 0, fmt.Errorf("bad date or date-time %q", s)
}

// duration is an iCalendar DURATION: nominal days (which follow the wall
// clock across DST changes) plus an exact part.
type duration struct {
	days  int
	exact time.Duration
}

// addTo returns start plus d, adding the days on loc's wall clock.
func (d duration) addTo(start time.Time, loc *time.Location) time.Time {
	t := start
	if d.days != 0 {
		w := start.In(loc)
		y, m, day := w.Date()
		h, mi, s := w.Clock()
		t = tz.FromWall(time.Date(y, m, day+d.days, h, mi, s, w.Nanosecond(), time.UTC), loc)
	}
	return t.Add(d.exact).UTC()
}

// approx bounds the duration from above, for range slack.
func (d duration) approx() time.Duration {
	days := d.days
	if days < 0 {
		days = -days
	}
	ex := d.exact
	if ex < 0 {
		ex = -ex
	}
	return time.Duration(days)*25*time.Hour + ex
}

const maxDurationDays = 1 << 20

// parseDuration parses RFC 5545 dur-value: [+/-]P(nW | nD [T...] | T...).
func parseDuration(s string) (duration, error) {
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
		return duration{}, fmt.Errorf("%w: bad duration %q", ErrInvalid, orig)
	}
	s = s[1:]
	var d duration
	var secs int64
	inTime, any := false, false
	for s != "" {
		if s[0] == 'T' {
			if inTime {
				return duration{}, fmt.Errorf("%w: bad duration %q", ErrInvalid, orig)
			}
			inTime, s = true, s[1:]
			continue
		}
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) || i > 9 {
			return duration{}, fmt.Errorf("%w: bad duration %q", ErrInvalid, orig)
		}
		n, _ := strconv.Atoi(s[:i])
		unit := s[i]
		s = s[i+1:]
		any = true
		switch {
		case unit == 'W' && !inTime:
			d.days += 7 * n
		case unit == 'D' && !inTime:
			d.days += n
		case unit == 'H' && inTime:
			secs += int64(n) * 3600
		case unit == 'M' && inTime:
			secs += int64(n) * 60
		case unit == 'S' && inTime:
			secs += int64(n)
		default:
			return duration{}, fmt.Errorf("%w: bad duration %q", ErrInvalid, orig)
		}
	}
	if !any || d.days > maxDurationDays || secs > maxDurationDays*86400 {
		return duration{}, fmt.Errorf("%w: bad duration %q", ErrInvalid, orig)
	}
	d.exact = time.Duration(secs) * time.Second
	if neg {
		d.days, d.exact = -d.days, -d.exact
	}
	return d, nil
}
