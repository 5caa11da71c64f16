package bench

import (
	"bufio"
	"fmt"
	"slices"
	"strings"
	"time"
)

func clip(iv, r interval) interval {
	if iv.Start.Before(r.Start) {
		iv.Start = r.Start
	}
	if iv.End.After(r.End) {
		iv.End = r.End
	}
	return iv
}

// merge sorts intervals and joins those that overlap or touch, so two
// servers that split busy time differently compare equal.
func merge(ivs []interval) []interval {
	slices.SortFunc(ivs, func(a, b interval) int { return a.Start.Compare(b.Start) })
	var out []interval
	for _, iv := range ivs {
		if !iv.End.After(iv.Start) {
			continue
		}
		if n := len(out); n > 0 && !iv.Start.After(out[n-1].End) {
			if iv.End.After(out[n-1].End) {
				out[n-1].End = iv.End
			}
			continue
		}
		out = append(out, iv)
	}
	return out
}

// unfold joins folded content lines (RFC 5545 3.1).
func unfold(text string) []string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for sc.Scan() {
		l := strings.TrimRight(sc.Text(), "\r")
		if (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")) && len(lines) > 0 {
			lines[len(lines)-1] += l[1:]
			continue
		}
		lines = append(lines, l)
	}
	return lines
}

// parseFreeBusy reads the busy periods of the VFREEBUSY in an answer to a
// free-busy-query: every FREEBUSY value whose FBTYPE is not FREE.
func parseFreeBusy(text string) ([]interval, error) {
	var busy []interval
	inFB := false
	seen := false
	for _, l := range unfold(text) {
		switch {
		case strings.EqualFold(l, "BEGIN:VFREEBUSY"):
			inFB, seen = true, true
			continue
		case strings.EqualFold(l, "END:VFREEBUSY"):
			inFB = false
			continue
		}
		if !inFB {
			continue
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		params := strings.Split(name, ";")
		if !strings.EqualFold(params[0], "FREEBUSY") {
			continue
		}
		free := false
		for _, p := range params[1:] {
			if k, v, _ := strings.Cut(p, "="); strings.EqualFold(k, "FBTYPE") && strings.EqualFold(v, "FREE") {
				free = true
			}
		}
		if free {
			continue
		}
		for _, period := range strings.Split(value, ",") {
			iv, err := parsePeriod(period)
			if err != nil {
				return nil, err
			}
			busy = append(busy, iv)
		}
	}
	if !seen {
		return nil, fmt.Errorf("bench: no VFREEBUSY in the answer")
	}
	return busy, nil
}

// parsePeriod reads a UTC PERIOD: start/end or start/duration.
func parsePeriod(s string) (interval, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return interval{}, fmt.Errorf("bench: bad PERIOD %q", s)
	}
	start, err := time.Parse(icalUTC, a)
	if err != nil {
		return interval{}, fmt.Errorf("bench: bad PERIOD %q: %w", s, err)
	}
	if strings.HasPrefix(b, "P") || strings.HasPrefix(b, "+P") {
		d, err := parseDuration(strings.TrimPrefix(b, "+"))
		if err != nil {
			return interval{}, fmt.Errorf("bench: bad PERIOD %q: %w", s, err)
		}
		return interval{start, start.Add(d)}, nil
	}
	end, err := time.Parse(icalUTC, b)
	if err != nil {
		return interval{}, fmt.Errorf("bench: bad PERIOD %q: %w", s, err)
	}
	return interval{start, end}, nil
}

// parseDuration reads a positive RFC 5545 DURATION such as P1DT2H30M or P2W.
func parseDuration(s string) (time.Duration, error) {
	if !strings.HasPrefix(s, "P") {
		return 0, fmt.Errorf("duration %q", s)
	}
	var d time.Duration
	n := 0
	digits := false
	for _, r := range s[1:] {
		if r >= '0' && r <= '9' {
			n = n*10 + int(r-'0')
			digits = true
			continue
		}
		unit := map[rune]time.Duration{'W': 7 * 24 * time.Hour, 'D': 24 * time.Hour, 'H': time.Hour,
			'M': time.Minute, 'S': time.Second}[r]
		switch {
		case r == 'T':
			continue
		case unit == 0 || !digits:
			return 0, fmt.Errorf("duration %q", s)
		}
		d += time.Duration(n) * unit
		n, digits = 0, false
	}
	return d, nil
}

// sameIntervals reports whether two merged lists are equal, and if not,
// describes the first difference.
func sameIntervals(got, want []interval) (bool, string) {
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			return false, fmt.Sprintf("busy %s missing", fmtInterval(want[i]))
		case i >= len(want):
			return false, fmt.Sprintf("unexpected busy %s", fmtInterval(got[i]))
		case !got[i].Start.Equal(want[i].Start) || !got[i].End.Equal(want[i].End):
			return false, fmt.Sprintf("busy %s, expected %s", fmtInterval(got[i]), fmtInterval(want[i]))
		}
	}
	return true, ""
}

func fmtInterval(iv interval) string {
	return iv.Start.Format(icalUTC) + "/" + iv.End.Format(icalUTC)
}
