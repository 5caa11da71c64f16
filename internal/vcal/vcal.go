package vcal

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	goical "github.com/emersion/go-ical"

	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/recur"
)

// Options are the circumstances of one evaluation.
type Options struct {
	// Window bounds the occurrences evaluated one by one when a series is
	// infinite or too large to evaluate whole. Zero sides default to
	// Now minus one year and Now plus two years. Such a series is emitted
	// as the occurrences inside the window only, so callers should move the
	// window in coarse steps (e.g. monthly) to keep output and ETags stable.
	Window ical.TimeRange
	// Now anchors the default window.
	Now time.Time
	// OwnerView skips the CLASS caps: the viewer owns the source (or is a
	// delegate). Rules still apply.
	OwnerView bool
	// OwnerName is the source owner's display name, for busy labels.
	OwnerName string
}

// OccurrenceLevel is the level one occurrence gets.
type OccurrenceLevel struct {
	// RecurrenceID, Start and End are as in recur.Instance; floating and
	// all-day times are wall-clock times held as UTC. They are zero for a
	// component without time (a to-do without DTSTART and DUE).
	RecurrenceID, Start, End time.Time
	AllDay                   bool
	Override                 bool
	Level                    Level
}

// maxExact bounds the instances of a finite series evaluated whole; larger
// series are evaluated inside the window.
const maxExact = 5000

// maxWindowed bounds the instances evaluated inside a window.
const maxWindowed = 20000

// Apply evaluates chain (innermost filter first; the level of an occurrence
// is the most restrictive the filters give) on obj, whose stored bytes are
// data and which comes from the source calendar with id source. It returns
// the iCalendar a viewer may see: data itself when every occurrence is Full,
// a new calendar object otherwise, or nil when every occurrence is hidden.
// The result is deterministic: equal inputs give equal bytes.
func Apply(obj *ical.Object, data []byte, source string, chain []*Filter, opts Options) ([]byte, error) {
	e, err := newEvaluation(obj, source, chain, opts)
	if err != nil {
		return nil, err
	}
	p := e.plan()
	if p.passthrough {
		if len(data) > 0 {
			return data, nil
		}
		return encode(obj.Cal.Component)
	}
	if len(p.comps) == 0 {
		return nil, nil
	}
	return encode(e.calendar(p.comps))
}

// LevelsFor returns the level of each occurrence of obj: all of them for a
// finite series, those overlapping the window otherwise. It is what Apply
// decides on, for previews ("see my calendar as family sees it").
func LevelsFor(obj *ical.Object, source string, chain []*Filter, opts Options) ([]OccurrenceLevel, error) {
	e, err := newEvaluation(obj, source, chain, opts)
	if err != nil {
		return nil, err
	}
	if e.timeless() {
		var out []OccurrenceLevel
		for _, c := range e.comps {
			out = append(out, OccurrenceLevel{Override: c != e.master, Level: e.ch.level(nil, c, source, opts.OwnerView)})
		}
		return out, nil
	}
	occs, exact := e.exactOccurrences()
	if !exact {
		occs = e.windowOccurrences()
	}
	out := make([]OccurrenceLevel, len(occs))
	for i, o := range occs {
		out[i] = OccurrenceLevel{RecurrenceID: o.RecurrenceID, Start: o.Start, End: o.End, AllDay: o.AllDay, Override: o.Override, Level: o.level}
	}
	return out, nil
}

type evaluation struct {
	obj       *ical.Object
	source    string
	ch        chain
	owner     bool
	ownerName string
	window    ical.TimeRange
	comps     []*goical.Component // master and overrides, in stored order
	master    *goical.Component
	overrides []*goical.Component
}

// occurrence is an instance with its level.
type occurrence struct {
	recur.Instance
	level Level
}

func newEvaluation(obj *ical.Object, source string, filters []*Filter, opts Options) (*evaluation, error) {
	if obj == nil || obj.Cal == nil || obj.Cal.Component == nil {
		return nil, errors.New("vcal: no calendar object")
	}
	ch, err := compileChain(filters)
	if err != nil {
		return nil, err
	}
	e := &evaluation{obj: obj, source: source, ch: ch, owner: opts.OwnerView, ownerName: opts.OwnerName, window: opts.Window}
	if e.window.Start.IsZero() || e.window.End.IsZero() {
		if opts.Now.IsZero() {
			return nil, errors.New("vcal: Options needs a Window or Now")
		}
		if e.window.Start.IsZero() {
			e.window.Start = opts.Now.AddDate(-1, 0, 0)
		}
		if e.window.End.IsZero() {
			e.window.End = opts.Now.AddDate(2, 0, 0)
		}
	}
	if !e.window.Start.Before(e.window.End) {
		return nil, fmt.Errorf("vcal: window %s to %s is empty", e.window.Start.Format(time.RFC3339), e.window.End.Format(time.RFC3339))
	}
	for _, c := range obj.Cal.Children {
		if c.Name != obj.Component {
			continue
		}
		e.comps = append(e.comps, c)
		if c.Props.Get(goical.PropRecurrenceID) == nil {
			if e.master == nil {
				e.master = c
			}
		} else {
			e.overrides = append(e.overrides, c)
		}
	}
	return e, nil
}

func (e *evaluation) expandOptions(start, end time.Time, limit int) recur.Options {
	return recur.Options{Start: start, End: end, Max: limit, Floating: time.UTC, TZ: e.obj.TZ}
}

func (e *evaluation) evaluate(insts []recur.Instance) []occurrence {
	out := make([]occurrence, len(insts))
	for i, in := range insts {
		sp := &span{start: in.Start, end: in.End, floating: isFloating(in.Component)}
		out[i] = occurrence{Instance: in, level: e.ch.level(sp, in.Component, e.source, e.owner)}
	}
	return out
}

// timeless reports whether the object has no time at all (a to-do without
// DTSTART and DUE, a journal without DTSTART).
func (e *evaluation) timeless() bool {
	for _, c := range e.comps {
		if c.Props.Get(goical.PropDateTimeStart) != nil || c.Props.Get(goical.PropDue) != nil || c.Props.Get(goical.PropRecurrenceID) != nil {
			return false
		}
	}
	return true
}

// exactOccurrences returns every occurrence, when the set is finite, small
// enough and free of errors that a client might read differently.
func (e *evaluation) exactOccurrences() ([]occurrence, bool) {
	if e.master != nil {
		if _, _, infinite, _ := recur.Span([]*goical.Component{e.master}, e.expandOptions(time.Time{}, time.Time{}, maxExact)); infinite {
			return nil, false
		}
	}
	insts, err := recur.Expand(e.comps, e.expandOptions(time.Time{}, time.Time{}, maxExact))
	if err != nil {
		return nil, false
	}
	return e.evaluate(insts), true
}

func (e *evaluation) windowOccurrences() []occurrence {
	insts, _ := recur.Expand(e.comps, e.expandOptions(e.window.Start, e.window.End, maxWindowed))
	return e.evaluate(insts)
}

// overrideOccurrence evaluates one override wherever it lies.
func (e *evaluation) overrideOccurrence(ov *goical.Component) (occurrence, bool) {
	alone, _ := recur.Expand([]*goical.Component{ov}, e.expandOptions(time.Time{}, time.Time{}, 1))
	if len(alone) == 0 {
		return occurrence{}, false
	}
	// With the master, a floating RECURRENCE-ID may be read in the master's
	// zone and an override without DTEND takes the master's duration.
	at := alone[0].Start
	insts, _ := recur.Expand([]*goical.Component{e.master, ov}, e.expandOptions(at.Add(-36*time.Hour), at.Add(36*time.Hour), maxWindowed))
	for _, in := range insts {
		if in.Component == ov {
			return e.evaluate([]recur.Instance{in})[0], true
		}
	}
	return occurrence{}, false
}

// timeInvariant reports whether every occurrence the master generates gets
// the same level: no rule with a time condition applies to it.
func (e *evaluation) timeInvariant() bool {
	p := componentProps(e.master)
	for _, f := range e.ch {
		for i := range f.rules {
			if r := &f.rules[i]; r.timed() && r.matchStatic(p, e.source) {
				return false
			}
		}
	}
	return true
}

func hasThisAndFuture(comps []*goical.Component) bool {
	for _, c := range comps {
		if p := c.Props.Get(goical.PropRecurrenceID); p != nil && strings.EqualFold(p.Params.Get("RANGE"), "THISANDFUTURE") {
			return true
		}
	}
	return false
}

// isRecurring reports whether the master generates more than its DTSTART.
func isRecurring(c *goical.Component) bool {
	return c != nil && (len(c.Props[goical.PropRecurrenceRule]) > 0 || len(c.Props[goical.PropRecurrenceDates]) > 0 || len(c.Props["EXRULE"]) > 0)
}

// mostCommonLevel returns the visible level most occurrences have (the
// stricter one on a tie) and false when none is visible.
func mostCommonLevel(occs []occurrence) (Level, bool) {
	var counts [Hidden + 1]int
	for _, o := range occs {
		if o.level != Hidden {
			counts[o.level]++
		}
	}
	best := Level(0)
	for l := Full; l < Hidden; l++ {
		if counts[l] > 0 && counts[l] >= counts[max(best, 0)] {
			best = l
		}
	}
	return best, best != 0
}

func sortByRecurrenceID(comps []*goical.Component, rid map[*goical.Component]time.Time) {
	slices.SortStableFunc(comps, func(a, b *goical.Component) int { return rid[a].Compare(rid[b]) })
}
