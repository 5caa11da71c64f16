package rrule

import (
	"errors"
	"slices"
	"sort"
	"time"
)

// ErrTooMuchWork is returned by Iterator.Err when a rule needed more steps
// than IterOptions.MaxWork allows (absurd rules such as a SECONDLY rule that
// never matches must not hang the caller).
var ErrTooMuchWork = errors.New("rrule: rule needs too much work to expand")

// DefaultMaxWork bounds the steps (periods and candidates examined) of one
// iterator when IterOptions.MaxWork is 0.
const DefaultMaxWork = 2_000_000

// lastYear is the last year iCalendar values can express.
const lastYear = 9999

// IterOptions tune an iteration.
type IterOptions struct {
	// Loc is the zone of DTSTART; it is used only to turn a UTC UNTIL into
	// wall-clock time. nil means UTC.
	Loc *time.Location
	// From lets the iterator skip periods that cannot produce times at or
	// after From (a wall-clock time). It is ignored for rules with COUNT,
	// which must be counted from DTSTART. DTSTART is still returned first.
	From time.Time
	// MaxWork bounds the work of the iterator; 0 means DefaultMaxWork.
	MaxWork int
	// OnlyMatches drops the rule that DTSTART is always the first time:
	// DTSTART is returned only if the rule itself generates it (as an
	// EXRULE needs).
	OnlyMatches bool
}

// Iterator yields the wall-clock times of a rule in increasing order. The
// first time is always DTSTART itself (RFC 5545 3.8.5.3: DTSTART counts as
// the first occurrence), even when it does not match the rule or lies after
// UNTIL; later times are those the rule generates strictly after DTSTART.
type Iterator struct {
	r       Rule
	dtstart time.Time
	until   time.Time // wall clock, inclusive; zero means none
	from    time.Time
	// lower is the latest time not to return from the rule (DTSTART
	// itself, or just before it with OnlyMatches).
	lower time.Time

	emitted int
	started bool
	done    bool
	err     error
	work    int
	maxWork int

	period time.Time // start of the current period
	// candidates of the current period: days × times (sorted product),
	// optionally restricted to the indexes in pos (BYSETPOS).
	days  []time.Time
	times []int // seconds of day
	pos   []int
	next  int // cursor into pos, or into the product
	total int
}

// Iter starts iterating the rule from dtstart, a wall-clock time.
func (r *Rule) Iter(dtstart time.Time, opt IterOptions) *Iterator {
	dtstart = naive(dtstart)
	it := &Iterator{r: *r, dtstart: dtstart, maxWork: opt.MaxWork}
	if it.maxWork <= 0 {
		it.maxWork = DefaultMaxWork
	}
	if it.r.Interval < 1 {
		it.r.Interval = 1
	}
	if !r.Until.IsZero() {
		switch {
		case r.UntilUTC:
			loc := opt.Loc
			if loc == nil {
				loc = time.UTC
			}
			it.until = naive(r.Until.In(loc))
		case r.UntilDate:
			// A DATE UNTIL includes the whole day.
			it.until = naive(r.Until).Add(24*time.Hour - time.Second)
		default:
			it.until = naive(r.Until)
		}
	}
	it.lower = dtstart
	if opt.OnlyMatches {
		it.started = true
		it.lower = dtstart.Add(-time.Second)
	}
	it.fillDefaults()
	it.period = it.firstPeriod()
	if r.Count == 0 && !opt.From.IsZero() {
		it.from = naive(opt.From)
		it.skipTo(it.from)
	}
	return it
}

// naive drops the location while keeping the wall clock.
func naive(t time.Time) time.Time {
	y, m, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, m, d, h, mi, s, 0, time.UTC)
}

// fillDefaults applies the implicit BYxxx values RFC 5545 derives from
// DTSTART (e.g. a plain MONTHLY rule recurs on DTSTART's day of month).
func (it *Iterator) fillDefaults() {
	r, dt := &it.r, it.dtstart
	switch r.Freq {
	case Yearly:
		if len(r.ByWeekNo) == 0 && len(r.ByYearDay) == 0 && len(r.ByMonthDay) == 0 && len(r.ByDay) == 0 {
			if len(r.ByMonth) == 0 {
				r.ByMonth = []int{int(dt.Month())}
			}
			r.ByMonthDay = []int{dt.Day()}
		} else if len(r.ByWeekNo) > 0 && len(r.ByYearDay) == 0 && len(r.ByMonthDay) == 0 && len(r.ByDay) == 0 {
			r.ByDay = []WeekdayNum{{Day: dt.Weekday()}}
		}
	case Monthly:
		if len(r.ByMonthDay) == 0 && len(r.ByDay) == 0 && len(r.ByYearDay) == 0 {
			r.ByMonthDay = []int{dt.Day()}
		}
	case Weekly:
		if len(r.ByDay) == 0 && len(r.ByMonthDay) == 0 && len(r.ByYearDay) == 0 {
			r.ByDay = []WeekdayNum{{Day: dt.Weekday()}}
		}
	}
	if r.Freq >= Daily && len(r.ByHour) == 0 {
		r.ByHour = []int{dt.Hour()}
	}
	if r.Freq >= Hourly && len(r.ByMinute) == 0 {
		r.ByMinute = []int{dt.Minute()}
	}
	if r.Freq >= Minutely && len(r.BySecond) == 0 {
		r.BySecond = []int{dt.Second()}
	}
	for _, l := range [][]int{r.ByHour, r.ByMinute, r.BySecond} {
		slices.Sort(l)
	}
}

func (it *Iterator) firstPeriod() time.Time {
	dt := it.dtstart
	y, m, d := dt.Date()
	switch it.r.Freq {
	case Yearly:
		return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	case Monthly:
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	case Weekly:
		back := (int(dt.Weekday()) - int(it.r.Wkst) + 7) % 7
		return time.Date(y, m, d-back, 0, 0, 0, 0, time.UTC)
	case Daily:
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	default:
		return dt.Truncate(stepOf(it.r.Freq))
	}
}

func stepOf(f Freq) time.Duration {
	switch f {
	case Hourly:
		return time.Hour
	case Minutely:
		return time.Minute
	default:
		return time.Second
	}
}

// skipTo moves the period forward, in whole intervals, to shortly before
// target, so that expanding a range years after DTSTART does not walk every
// period in between.
func (it *Iterator) skipTo(target time.Time) {
	p, iv := it.period, int64(it.r.Interval)
	if !target.After(p) {
		return
	}
	var k int64
	switch it.r.Freq {
	case Yearly:
		k = int64(target.Year()-p.Year())/iv - 1
		if k > 0 {
			it.period = p.AddDate(int(k*iv), 0, 0)
		}
	case Monthly:
		months := int64(target.Year()-p.Year())*12 + int64(target.Month()-p.Month())
		k = months/iv - 1
		if k > 0 {
			it.period = p.AddDate(0, int(k*iv), 0)
		}
	case Weekly, Daily:
		days := (target.Unix() - p.Unix()) / 86400
		unit := iv
		if it.r.Freq == Weekly {
			unit *= 7
		}
		k = days/unit - 1
		if k > 0 {
			it.period = p.AddDate(0, 0, int(k*unit))
		}
	default:
		step := int64(stepOf(it.r.Freq)/time.Second) * iv
		k = (target.Unix()-p.Unix())/step - 1
		if k > 0 {
			it.period = time.Unix(p.Unix()+k*step, 0).UTC()
		}
	}
}

// Err reports why the iteration stopped early, if it did.
func (it *Iterator) Err() error { return it.err }

// Next returns the next wall-clock time, or false when the rule is exhausted
// (or Err is set).
func (it *Iterator) Next() (time.Time, bool) {
	if it.done {
		return time.Time{}, false
	}
	if !it.started {
		it.started = true
		it.emitted++
		return it.dtstart, true
	}
	for {
		if it.next < it.total {
			t := it.candidate()
			it.next++
			if !it.until.IsZero() && t.After(it.until) {
				it.done = true
				return time.Time{}, false
			}
			if it.r.Count > 0 && it.emitted >= it.r.Count {
				it.done = true
				return time.Time{}, false
			}
			it.emitted++
			return t, true
		}
		if !it.fillPeriod() {
			it.done = true
			return time.Time{}, false
		}
	}
}

func (it *Iterator) candidate() time.Time {
	i := it.next
	if it.pos != nil {
		i = it.pos[i]
	}
	n := len(it.times)
	return it.days[i/n].Add(time.Duration(it.times[i%n]) * time.Second)
}

// spend accounts for work and reports whether the budget is exhausted.
func (it *Iterator) spend(n int) bool {
	it.work += n
	if it.work > it.maxWork {
		it.err = ErrTooMuchWork
		return true
	}
	return false
}

// fillPeriod computes the candidates of the current period and advances the
// period; it returns false when no further period can produce anything.
func (it *Iterator) fillPeriod() bool {
	for {
		if it.spend(1) {
			return false
		}
		p := it.period
		if p.Year() > lastYear {
			return false
		}
		if !it.until.IsZero() && p.After(it.until) {
			return false
		}
		it.days, it.times, it.pos = it.days[:0], it.times[:0], nil
		it.next, it.total = 0, 0
		if it.r.Freq < Daily {
			if !it.subDailyPeriod(p) {
				continue
			}
		} else {
			it.dailyPeriod(p)
			it.advance()
			if it.err != nil {
				return false
			}
		}
		if len(it.days) == 0 || len(it.times) == 0 {
			continue
		}
		it.total = len(it.days) * len(it.times)
		if len(it.r.BySetPos) > 0 {
			it.pos = setPositions(it.r.BySetPos, it.total)
			it.total = len(it.pos)
		}
		it.skipEarly()
		if it.next < it.total {
			return true
		}
	}
}

// skipEarly moves the cursor past candidates not after DTSTART (and, when
// skipping ahead, before From) with a binary search: the candidates of a
// period are sorted.
func (it *Iterator) skipEarly() {
	lower := it.lower
	if !it.from.IsZero() && it.from.After(lower) {
		lower = it.from.Add(-time.Second)
	}
	it.next = sort.Search(it.total, func(i int) bool {
		saved := it.next
		it.next = i
		t := it.candidate()
		it.next = saved
		return t.After(lower)
	})
}

func setPositions(setpos []int, n int) []int {
	var out []int
	for _, p := range setpos {
		i := p - 1
		if p < 0 {
			i = n + p
		}
		if i >= 0 && i < n && !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out
}

func (it *Iterator) advance() {
	iv := it.r.Interval
	switch it.r.Freq {
	case Yearly:
		it.period = it.period.AddDate(iv, 0, 0)
	case Monthly:
		it.period = it.period.AddDate(0, iv, 0)
	case Weekly:
		it.period = it.period.AddDate(0, 0, 7*iv)
	case Daily:
		it.period = it.period.AddDate(0, 0, iv)
	default:
		step := int64(stepOf(it.r.Freq)/time.Second) * int64(iv)
		it.period = time.Unix(it.period.Unix()+step, 0).UTC()
	}
}

// dailyPeriod fills days and times for a DAILY or coarser period.
func (it *Iterator) dailyPeriod(p time.Time) {
	var end time.Time
	switch it.r.Freq {
	case Yearly:
		end = p.AddDate(1, 0, 0)
	case Monthly:
		end = p.AddDate(0, 1, 0)
	case Weekly:
		end = p.AddDate(0, 0, 7)
	default:
		end = p.AddDate(0, 0, 1)
	}
	if it.r.Freq == Yearly && len(it.r.ByMonth) > 0 && len(it.r.ByWeekNo) == 0 {
		// Only the listed months can match: do not walk the whole year.
		for m := time.January; m <= time.December; m++ {
			if slices.Contains(it.r.ByMonth, int(m)) {
				first := time.Date(p.Year(), m, 1, 0, 0, 0, 0, time.UTC)
				it.scanDays(first, first.AddDate(0, 1, 0))
			}
		}
	} else {
		it.scanDays(p, end)
	}
	if len(it.days) == 0 {
		return
	}
	for _, h := range it.r.ByHour {
		for _, m := range it.r.ByMinute {
			for _, s := range it.r.BySecond {
				it.times = append(it.times, h*3600+m*60+s)
			}
		}
	}
}

// scanDays appends the days in [from, to) that match the day rules.
func (it *Iterator) scanDays(from, to time.Time) {
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		if it.spend(1) {
			return
		}
		if it.matchDay(d) {
			it.days = append(it.days, d)
		}
	}
}

// subDailyPeriod fills days and times for an HOURLY, MINUTELY or SECONDLY
// period and advances; when the period is filtered out it jumps straight to
// the first period of the next day, hour or minute that could match.
func (it *Iterator) subDailyPeriod(p time.Time) bool {
	day := time.Date(p.Year(), p.Month(), p.Day(), 0, 0, 0, 0, time.UTC)
	r := &it.r
	switch {
	case !it.matchDay(day):
		it.jumpTo(day.AddDate(0, 0, 1))
		return false
	case len(r.ByHour) > 0 && !slices.Contains(r.ByHour, p.Hour()):
		it.jumpTo(p.Truncate(time.Hour).Add(time.Hour))
		return false
	case r.Freq < Hourly && len(r.ByMinute) > 0 && !slices.Contains(r.ByMinute, p.Minute()):
		it.jumpTo(p.Truncate(time.Minute).Add(time.Minute))
		return false
	case r.Freq < Minutely && len(r.BySecond) > 0 && !slices.Contains(r.BySecond, p.Second()):
		it.advance()
		return false
	}
	it.days = append(it.days, day)
	base := p.Hour() * 3600
	switch r.Freq {
	case Hourly:
		for _, m := range r.ByMinute {
			for _, s := range r.BySecond {
				it.times = append(it.times, base+m*60+s)
			}
		}
	case Minutely:
		for _, s := range r.BySecond {
			it.times = append(it.times, base+p.Minute()*60+s)
		}
	default:
		it.times = append(it.times, base+p.Minute()*60+p.Second())
	}
	it.advance()
	return true
}

// jumpTo advances the period by whole intervals to the first one at or
// after t.
func (it *Iterator) jumpTo(t time.Time) {
	step := int64(stepOf(it.r.Freq)/time.Second) * int64(it.r.Interval)
	gap := t.Unix() - it.period.Unix()
	k := (gap + step - 1) / step
	if k < 1 {
		k = 1
	}
	it.period = time.Unix(it.period.Unix()+k*step, 0).UTC()
}

func (it *Iterator) matchDay(d time.Time) bool {
	r := &it.r
	if len(r.ByMonth) > 0 && !slices.Contains(r.ByMonth, int(d.Month())) {
		return false
	}
	if len(r.ByWeekNo) > 0 && r.Freq == Yearly && !matchWeekNo(r.ByWeekNo, d, r.Wkst) {
		return false
	}
	if len(r.ByYearDay) > 0 {
		yd := d.YearDay()
		n := daysIn(d.Year())
		if !slices.Contains(r.ByYearDay, yd) && !slices.Contains(r.ByYearDay, yd-n-1) {
			return false
		}
	}
	if len(r.ByMonthDay) > 0 {
		md := d.Day()
		n := daysInMonth(d.Year(), d.Month())
		if !slices.Contains(r.ByMonthDay, md) && !slices.Contains(r.ByMonthDay, md-n-1) {
			return false
		}
	}
	if len(r.ByDay) > 0 && !it.matchByDay(d) {
		return false
	}
	return true
}

func (it *Iterator) matchByDay(d time.Time) bool {
	r := &it.r
	wd := d.Weekday()
	for _, b := range r.ByDay {
		if b.Day != wd {
			continue
		}
		ordinal := b.N != 0 && (r.Freq == Monthly || (r.Freq == Yearly && len(r.ByWeekNo) == 0))
		if !ordinal {
			return true
		}
		var nth, fromEnd int
		if r.Freq == Monthly || len(r.ByMonth) > 0 {
			n := daysInMonth(d.Year(), d.Month())
			nth, fromEnd = (d.Day()-1)/7+1, -((n-d.Day())/7 + 1)
		} else {
			n := daysIn(d.Year())
			nth, fromEnd = (d.YearDay()-1)/7+1, -((n-d.YearDay())/7 + 1)
		}
		if b.N == nth || b.N == fromEnd {
			return true
		}
	}
	return false
}

// matchWeekNo reports whether d lies in one of the weeks (RFC 5545 week
// numbering: weeks start on wkst, week 1 is the first with at least four
// days in the year).
func matchWeekNo(weeks []int, d time.Time, wkst time.Weekday) bool {
	back := (int(d.Weekday()) - int(wkst) + 7) % 7
	ws := d.AddDate(0, 0, -back)
	wy := ws.AddDate(0, 0, 3).Year()
	first := firstWeekStart(wy, wkst)
	wn := int(ws.Sub(first).Hours()/24)/7 + 1
	total := int(firstWeekStart(wy+1, wkst).Sub(first).Hours()/24) / 7
	return slices.Contains(weeks, wn) || slices.Contains(weeks, wn-total-1)
}

func firstWeekStart(year int, wkst time.Weekday) time.Time {
	jan4 := time.Date(year, 1, 4, 0, 0, 0, 0, time.UTC)
	back := (int(jan4.Weekday()) - int(wkst) + 7) % 7
	return jan4.AddDate(0, 0, -back)
}

func daysIn(year int) int {
	return time.Date(year, 12, 31, 0, 0, 0, 0, time.UTC).YearDay()
}

func daysInMonth(year int, m time.Month) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
