package recur

import (
	"fmt"
	"slices"
	"time"

	"koyomi.dev/koyomi/internal/recur/rrule"
)

// zoneSlack covers the difference between a wall-clock range computed from
// instants and the instants its wall-clock times map back to around a DST
// change (at most two hours anywhere).
const zoneSlack = 3 * time.Hour

// keySet matches values the way RFC 5545 compares recurrence instances:
// as instants, except that DATE values (and any value of an all-day series)
// match by calendar date.
type keySet[T any] struct {
	allDay   bool
	instants map[int64]T
	days     map[int64]T
}

func newKeySet[T any](allDay bool) *keySet[T] {
	return &keySet[T]{allDay: allDay, instants: map[int64]T{}, days: map[int64]T{}}
}

func (k *keySet[T]) put(v value, x T) {
	if k.allDay || v.date {
		k.days[v.day()] = x
		return
	}
	k.instants[v.instant().UnixNano()] = x
}

// get looks up a generated instance start, whose wall clock is in the
// series' zone.
func (k *keySet[T]) get(v value) (T, bool) {
	if !k.allDay {
		if x, ok := k.instants[v.instant().UnixNano()]; ok {
			return x, true
		}
	}
	x, ok := k.days[v.day()]
	return x, ok
}

// generate returns the master's instances (RRULE, RDATE, minus EXDATE and
// EXRULE), with individual overrides left out (they are added by the
// caller from their own times) and RANGE=THISANDFUTURE overrides applied.
func (e *expander) generate(m *master, overrides []*override) []Instance {
	loc := m.start.loc
	individual := newKeySet[*override](m.start.date)
	var future []*override
	slack := m.dur.approx() + zoneSlack
	for _, ov := range overrides {
		individual.put(ov.rid, ov)
		if ov.thisAndFuture {
			future = append(future, ov)
			shift := ov.start.instant().Sub(ov.rid.instant()).Abs()
			slack = max(slack, shift+ov.dur.approx()+m.dur.approx()+zoneSlack)
		}
	}
	slices.SortFunc(future, func(a, b *override) int { return a.rid.instant().Compare(b.rid.instant()) })

	var wallFrom, wallTo time.Time
	if !e.opts.Start.IsZero() {
		wallFrom = wallOf(e.opts.Start.Add(-slack).In(loc))
	}
	if !e.opts.End.IsZero() {
		wallTo = wallOf(e.opts.End.Add(slack).In(loc))
	}
	limit := e.max + len(m.exdates) + m.farExdates + len(overrides) + 1

	starts := newKeySet[value](m.start.date)
	var order []value
	inWindow := 0
	add := func(v value) bool {
		if _, dup := starts.get(v); dup {
			return true
		}
		// Only instances inside the requested range count against Max;
		// those wholly before it are dropped at once (unless a
		// THISANDFUTURE override could still move them).
		start := v.instant()
		end := endOf(start, loc, m.dur)
		if Overlaps(start, end, e.opts.Start, e.opts.End) {
			inWindow++
		} else if len(future) == 0 && !v.hasEnd && start.Before(e.opts.Start) {
			return true
		}
		starts.put(v, v)
		order = append(order, v)
		if inWindow > limit {
			e.res.truncated = true
			return false
		}
		return true
	}
	iterate := func(r *rrule.Rule, exclude bool, emit func(value) bool) {
		it := r.Iter(m.start.wall, rrule.IterOptions{Loc: loc, From: wallFrom, OnlyMatches: exclude, MaxWork: e.opts.MaxWork})
		for {
			w, ok := it.Next()
			if !ok || (!wallTo.IsZero() && w.After(wallTo)) {
				break
			}
			if !emit(value{wall: w, loc: loc, date: m.start.date}.resolve()) {
				return
			}
		}
		if err := it.Err(); err != nil {
			e.res.truncated = true
			e.fail(fmt.Errorf("%w: %w", ErrTooManyInstances, err))
		}
	}

	add(m.start)
	for _, r := range m.rules {
		iterate(r, false, add)
	}
	for _, v := range m.rdates {
		add(v)
	}

	excluded := newKeySet[bool](m.start.date)
	for _, v := range m.exdates {
		excluded.put(v, true)
	}
	if len(m.exrules) > 0 && len(order) > 0 {
		// Exclusion rules need not run past the last generated time.
		last := order[0].instant()
		for _, v := range order {
			if at := v.instant(); at.After(last) {
				last = at
			}
		}
		if w := wallOf(last.Add(zoneSlack).In(loc)); wallTo.IsZero() || w.Before(wallTo) {
			wallTo = w
		}
	}
	for _, r := range m.exrules {
		iterate(r, true, func(v value) bool { excluded.put(v, true); return true })
	}

	var out []Instance
	for _, v := range order {
		if _, ok := excluded.get(v); ok {
			continue
		}
		if _, ok := individual.get(v); ok {
			continue
		}
		rid := v.instant()
		in := Instance{RecurrenceID: rid, Start: rid, AllDay: v.date, Component: m.comp}
		dur := m.dur
		if ov := applicableFuture(future, rid); ov != nil {
			in.Start = shifted(v, m.start, ov)
			in.AllDay = ov.start.date
			in.Component, in.Override = ov.comp, true
			if ov.hasDur {
				dur = ov.dur
			}
		}
		if v.hasEnd {
			in.End = v.end
			if in.End.Before(in.Start) {
				in.End = in.Start
			}
		} else {
			in.End = endOf(in.Start, loc, dur)
		}
		out = append(out, in)
	}
	return out
}

// applicableFuture returns the latest RANGE=THISANDFUTURE override whose
// RECURRENCE-ID is before rid.
func applicableFuture(future []*override, rid time.Time) *override {
	var found *override
	for _, ov := range future {
		if !ov.rid.instant().Before(rid) {
			break
		}
		found = ov
	}
	return found
}

// shifted moves instance v by the shift ov applied to its own instance:
// whole days on the wall clock for all-day series, else exactly.
func shifted(v, start value, ov *override) time.Time {
	if start.date && ov.rid.date && ov.start.date {
		days := int(ov.start.day() - ov.rid.day())
		return duration{days: days}.addTo(v.instant(), v.loc)
	}
	return v.instant().Add(ov.start.instant().Sub(ov.rid.instant()))
}

func wallOf(t time.Time) time.Time {
	y, m, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, m, d, h, mi, s, t.Nanosecond(), time.UTC)
}
