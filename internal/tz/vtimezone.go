package tz

import (
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"time"

	goical "github.com/emersion/go-ical"

	"koyomi.dev/koyomi/internal/recur/rrule"
)

// Limits on what a VTIMEZONE may make us compute: observance rules are
// expanded up to lastTransitionYear, with at most maxTransitions in total.
const (
	firstTransitionYear = 1900
	lastTransitionYear  = 2100
	maxTransitions      = 2000
	maxObservances      = 20
	maxRuleWork         = 100_000
)

// observance is one STANDARD or DAYLIGHT sub-component.
type observance struct {
	daylight   bool
	from, to   int // offsets in seconds east of UTC
	name       string
	start      time.Time // wall clock (in the "from" offset)
	rule       *rrule.Rule
	rdates     []time.Time // wall clock, or UTC when rdateUTC
	rdateUTC   []bool
	hasOffsets bool
}

type transition struct {
	at  int64 // Unix seconds
	obs *observance
}

// fromVTimezone builds a zone from the observances of a VTIMEZONE that names
// no known zone. The zone is synthesised as TZif data so that it carries
// every transition, not just one offset; when that is impossible the
// STANDARD offset is used as a fixed zone. nil means nothing usable.
func fromVTimezone(name string, vt *goical.Component) *time.Location {
	var obs []*observance
	for _, c := range vt.Children {
		if c == nil {
			continue
		}
		if o := parseObservance(c); o != nil && len(obs) < maxObservances {
			obs = append(obs, o)
		}
	}
	if len(obs) == 0 {
		return nil
	}
	var trans []transition
	for _, o := range obs {
		trans = appendOnsets(trans, o)
		if len(trans) > maxTransitions {
			break
		}
	}
	if loc := buildTZif(name, obs, trans); loc != nil {
		return loc
	}
	std := obs[0]
	for _, o := range obs {
		if !o.daylight {
			std = o
			break
		}
	}
	return time.FixedZone(name, std.to)
}

func parseObservance(c *goical.Component) *observance {
	o := &observance{}
	switch strings.ToUpper(c.Name) {
	case "STANDARD":
	case "DAYLIGHT":
		o.daylight = true
	default:
		return nil
	}
	to, okTo := propOffset(c, "TZOFFSETTO")
	if !okTo {
		return nil
	}
	from, okFrom := propOffset(c, "TZOFFSETFROM")
	if !okFrom {
		from = to
	}
	o.to, o.from, o.hasOffsets = to, from, true
	if p := c.Props.Get("TZNAME"); p != nil {
		o.name = strings.TrimSpace(p.Value)
	}
	if p := c.Props.Get("DTSTART"); p != nil {
		if t, _, ok := parseWall(p.Value); ok {
			o.start = t
		}
	}
	if p := c.Props.Get("RRULE"); p != nil && !o.start.IsZero() {
		if r, err := rrule.Parse(p.Value); err == nil {
			o.rule = r
		}
	}
	for _, p := range c.Props.Values("RDATE") {
		for v := range strings.SplitSeq(p.Value, ",") {
			if v, _, _ = strings.Cut(v, "/"); v == "" {
				continue
			}
			if t, utc, ok := parseWall(v); ok {
				o.rdates = append(o.rdates, t)
				o.rdateUTC = append(o.rdateUTC, utc)
			}
		}
	}
	return o
}

func propOffset(c *goical.Component, name string) (int, bool) {
	p := c.Props.Get(name)
	if p == nil {
		return 0, false
	}
	return parseUTCOffset(p.Value)
}

// parseUTCOffset parses a UTC-OFFSET value: ("+" / "-") hhmm [ss].
func parseUTCOffset(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if len(s) != 5 && len(s) != 7 {
		return 0, false
	}
	sign := 1
	switch s[0] {
	case '+':
	case '-':
		sign = -1
	default:
		return 0, false
	}
	n, err := strconv.Atoi(s[1:])
	if err != nil || n < 0 {
		return 0, false
	}
	if len(s) == 5 {
		n *= 100
	}
	h, m, sec := n/10000, n/100%100, n%100
	if h > 23 || m > 59 || sec > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60 + sec), true
}

// parseWall parses a DATE-TIME (or DATE) value as wall-clock time; utc
// reports a trailing "Z".
func parseWall(v string) (t time.Time, utc, ok bool) {
	v = strings.TrimSpace(v)
	var err error
	switch {
	case len(v) == 16 && (v[15] == 'Z' || v[15] == 'z'):
		t, err = time.Parse("20060102T150405", v[:15])
		utc = true
	case len(v) == 15:
		t, err = time.Parse("20060102T150405", v)
	case len(v) == 8:
		t, err = time.Parse("20060102", v)
	default:
		return time.Time{}, false, false
	}
	return t, utc, err == nil
}

// appendOnsets adds the instants at which o takes effect.
func appendOnsets(trans []transition, o *observance) []transition {
	add := func(wall time.Time, utc bool) bool {
		at := wall.Unix()
		if !utc {
			at -= int64(o.from)
		}
		trans = append(trans, transition{at: at, obs: o})
		return len(trans) <= maxTransitions
	}
	for i, rd := range o.rdates {
		if !add(rd, o.rdateUTC[i]) {
			return trans
		}
	}
	if o.start.IsZero() {
		return trans
	}
	if o.rule == nil {
		add(o.start, false)
		return trans
	}
	// Older transitions do not matter to calendar data: skip ahead.
	from := time.Date(firstTransitionYear, 1, 1, 0, 0, 0, 0, time.UTC)
	it := o.rule.Iter(o.start, rrule.IterOptions{Loc: time.FixedZone("", o.from), From: from, MaxWork: maxRuleWork})
	for {
		w, more := it.Next()
		if !more || w.Year() > lastTransitionYear || !add(w, false) {
			return trans
		}
	}
}

// buildTZif encodes the transitions as TZif version 2 data (64-bit times)
// and loads it.
func buildTZif(name string, obs []*observance, trans []transition) *time.Location {
	slices.SortStableFunc(trans, func(a, b transition) int {
		switch {
		case a.at < b.at:
			return -1
		case a.at > b.at:
			return 1
		}
		return 0
	})
	// Keep one transition per instant (the last listed wins).
	var uniq []transition
	for _, t := range trans {
		if n := len(uniq); n > 0 && uniq[n-1].at == t.at {
			uniq[n-1] = t
			continue
		}
		uniq = append(uniq, t)
	}

	type zoneType struct {
		off   int
		dst   bool
		abbr  string
		index int
	}
	var types []zoneType
	var abbrs []byte
	typeOf := func(off int, dst bool, abbr string) int {
		if abbr == "" || len(abbr) > 32 {
			abbr = offsetAbbr(off)
		}
		for i, zt := range types {
			if zt.off == off && zt.dst == dst && zt.abbr == abbr {
				return i
			}
		}
		idx := strings.Index(string(abbrs), abbr+"\x00")
		if idx < 0 {
			idx = len(abbrs)
			abbrs = append(append(abbrs, abbr...), 0)
		}
		types = append(types, zoneType{off, dst, abbr, idx})
		return len(types) - 1
	}

	// Type 0 applies before the first transition: the offset the earliest
	// observance changes from.
	first := obs[0]
	if len(uniq) > 0 {
		first = uniq[0].obs
		typeOf(first.from, false, "")
	} else {
		typeOf(first.to, first.daylight, first.name)
	}
	idx := make([]byte, len(uniq))
	for i, t := range uniq {
		ti := typeOf(t.obs.to, t.obs.daylight, t.obs.name)
		if ti > 255 {
			return nil
		}
		idx[i] = byte(ti)
	}

	var b []byte
	header := func(timecnt, typecnt, charcnt int) {
		b = append(b, "TZif2"...)
		b = append(b, make([]byte, 15)...)
		for _, n := range []int{0, 0, 0, timecnt, typecnt, charcnt} {
			b = binary.BigEndian.AppendUint32(b, uint32(n))
		}
	}
	// An empty version 1 block, then the 64-bit block readers use.
	header(0, 0, 0)
	header(len(uniq), len(types), len(abbrs))
	for _, t := range uniq {
		b = binary.BigEndian.AppendUint64(b, uint64(t.at))
	}
	b = append(b, idx...)
	for _, zt := range types {
		b = binary.BigEndian.AppendUint32(b, uint32(int32(zt.off)))
		dst := byte(0)
		if zt.dst {
			dst = 1
		}
		b = append(b, dst, byte(zt.index))
	}
	b = append(b, abbrs...)
	loc, err := time.LoadLocationFromTZData(name, b)
	if err != nil {
		return nil
	}
	return loc
}

func offsetAbbr(off int) string {
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	s := string(sign) + twoDigits(off/3600) + twoDigits(off/60%60)
	if off%60 != 0 {
		s += twoDigits(off % 60)
	}
	return s
}

func twoDigits(n int) string {
	return string([]byte{byte('0' + n/10%10), byte('0' + n%10)})
}
