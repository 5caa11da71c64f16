package ical

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	goical "github.com/emersion/go-ical"

	"koyomi.dev/koyomi/internal/recur"
)

// CalendarData is the calendar-data element of a REPORT request (RFC 4791
// section 9.6). A nil *CalendarData or one with nothing set asks for the
// stored bytes unchanged.
type CalendarData struct {
	Comp               *CompSelector // nil: all components and properties
	Expand             *TimeRange
	LimitRecurrenceSet *TimeRange
	LimitFreeBusySet   *TimeRange
	// Budget, when set, bounds the instances Expand may produce across
	// all the renders that share it (one REPORT); nil means no bound
	// beyond the per-object one.
	Budget *InstanceBudget
}

// ErrInstanceLimit is returned by Render when expanding would exceed the
// CalendarData's InstanceBudget.
var ErrInstanceLimit = errors.New("ical: expansion exceeds the instance limit")

// InstanceBudget counts down the instances the renders of one request may
// still expand, so that a request over many dense rules cannot produce an
// unbounded answer. It is not safe for concurrent use.
type InstanceBudget struct {
	left int
}

// NewInstanceBudget returns a budget of max instances.
func NewInstanceBudget(max int) *InstanceBudget { return &InstanceBudget{left: max} }

// Left returns the instances still allowed.
func (b *InstanceBudget) Left() int { return b.left }

// CompSelector is a <C:comp> element: which properties and sub-components to
// return. AllProps/AllComps correspond to <C:allprop/> and <C:allcomp/>.
type CompSelector struct {
	Name     string
	AllProps bool
	Props    []PropSelector
	AllComps bool
	Comps    []CompSelector
}

// PropSelector is a <C:prop name="..." novalue="yes|no"/> element.
type PropSelector struct {
	Name    string
	NoValue bool
}

// IsIdentity reports whether d asks for the stored bytes unchanged.
func (d *CalendarData) IsIdentity() bool {
	return d == nil || (d.Comp == nil && d.Expand == nil && d.LimitRecurrenceSet == nil && d.LimitFreeBusySet == nil)
}

// DefaultProdID is the PRODID of iCalendar streams Koyomi generates.
const DefaultProdID = "-//Koyomi//Koyomi//EN"

// Render returns the calendar-data to send for o (whose stored bytes are
// data): the bytes themselves when d.IsIdentity(), otherwise a new
// iCalendar stream. Expanded instances are in UTC as RFC 4791 9.6.5 requires
// (all-day instances keep DATE values, which have no zone). floating is the
// zone for floating times.
func (o *Object) Render(data []byte, d *CalendarData, floating *time.Location) ([]byte, error) {
	if d.IsIdentity() {
		return data, nil
	}
	if floating == nil {
		floating = time.UTC
	}
	var cal *goical.Component
	switch {
	case d.Expand != nil:
		var err error
		if cal, err = o.expand(*d.Expand, floating, d.Budget); err != nil {
			return nil, err
		}
	case d.LimitRecurrenceSet != nil:
		cal = cloneComponent(o.Cal.Component)
		o.limitRecurrenceSet(cal, *d.LimitRecurrenceSet, floating)
	default:
		cal = cloneComponent(o.Cal.Component)
	}
	if d.LimitFreeBusySet != nil {
		o.limitFreeBusySet(cal, *d.LimitFreeBusySet, floating)
	}
	if d.Comp != nil {
		if !strings.EqualFold(d.Comp.Name, cal.Name) {
			return nil, fmt.Errorf("ical: calendar-data selects component %q, the resource is a %s", d.Comp.Name, cal.Name)
		}
		cal = selectComponent(cal, d.Comp)
	} else {
		if len(cal.Props[goical.PropVersion]) == 0 {
			cal.Props.Set(&goical.Prop{Name: goical.PropVersion, Params: goical.Params{}, Value: "2.0"})
		}
		if len(cal.Props[goical.PropProductID]) == 0 {
			cal.Props.Set(&goical.Prop{Name: goical.PropProductID, Params: goical.Params{}, Value: DefaultProdID})
		}
	}
	var out bytes.Buffer
	out.Grow(len(data))
	encodeComponent(&out, cal)
	return out.Bytes(), nil
}

// expand returns a VCALENDAR with one component per instance overlapping tr
// (RFC 4791 section 9.6.5), without recurrence properties and VTIMEZONEs.
// Each instance of a recurring object counts against budget; a render that would overdraw it
// fails with ErrInstanceLimit and leaves it unchanged.
func (o *Object) expand(tr TimeRange, floating *time.Location, budget *InstanceBudget) (*goical.Component, error) {
	out := &goical.Component{Name: o.Cal.Name, Props: cloneProps(o.Cal.Props)}
	set := o.components()
	for _, c := range o.Cal.Children {
		if c.Name != goical.CompTimezone && c.Name != o.Component {
			out.Children = append(out.Children, cloneComponent(c))
		}
	}
	if !isRecurring(set) || o.Component == goical.CompFreeBusy {
		// Not counted: the answer is no larger than what is stored.
		for _, c := range set {
			cc := cloneComponent(c)
			o.toUTC(cc, floating)
			out.Children = append(out.Children, cc)
		}
		return out, nil
	}
	limit := maxFilterInstances
	if budget != nil {
		// One more than the budget allows is enough to know it is overdrawn.
		limit = min(limit, budget.left+1)
	}
	insts, _ := recur.Expand(set, recur.Options{Start: tr.Start, End: tr.End, Max: limit, Floating: floating, TZ: o.TZ})
	if err := budget.spend(len(insts)); err != nil {
		return nil, err
	}
	for _, in := range insts {
		out.Children = append(out.Children, o.instanceComponent(in, floating))
	}
	return out, nil
}

// spend takes n instances from b, or fails without taking any; a nil
// budget allows everything.
func (b *InstanceBudget) spend(n int) error {
	if b == nil {
		return nil
	}
	if n > b.left {
		return fmt.Errorf("%w: %d more instances, %d left", ErrInstanceLimit, n, b.left)
	}
	b.left -= n
	return nil
}

// instanceComponent turns one instance into a stand-alone component. It
// shares the unchanged properties and the sub-components of in.Component,
// which rendering only reads: the properties it sets or drops are replaced
// in the instance's own map.
func (o *Object) instanceComponent(in recur.Instance, floating *time.Location) *goical.Component {
	c := &goical.Component{Name: in.Component.Name, Props: maps.Clone(in.Component.Props),
		Children: slices.Clip(in.Component.Children)}
	if c.Props == nil {
		c.Props = goical.Props{}
	}
	for _, name := range []string{goical.PropRecurrenceRule, goical.PropRecurrenceDates, goical.PropExceptionDates, "EXRULE"} {
		delete(c.Props, name)
	}
	if !in.Override {
		origStart, hasStart := o.timeProp(in.Component, goical.PropDateTimeStart, floating)
		setTime(c, goical.PropDateTimeStart, in.Start, in.AllDay, floating)
		if len(c.Props[goical.PropDateTimeEnd]) > 0 {
			setTime(c, goical.PropDateTimeEnd, in.End, in.AllDay, floating)
		}
		if due, ok := o.timeProp(in.Component, goical.PropDue, floating); ok && hasStart {
			_, dueDate, _ := o.timePropDate(in.Component, goical.PropDue, floating)
			setTime(c, goical.PropDue, due.Add(in.Start.Sub(origStart)), dueDate, floating)
		}
	}
	o.toUTC(c, floating)
	setTime(c, goical.PropRecurrenceID, in.RecurrenceID, in.AllDay, floating)
	return c
}

// setTime writes t as property name: a DATE in the floating zone for
// all-day values, otherwise a UTC DATE-TIME.
func setTime(c *goical.Component, name string, t time.Time, date bool, floating *time.Location) {
	p := goical.Prop{Name: name, Params: goical.Params{}}
	if date {
		p.Params.Set(goical.ParamValue, "DATE")
		p.Value = t.In(floating).Format(dateLayout)
	} else {
		p.Value = formatUTC(t)
	}
	c.Props[name] = []goical.Prop{p}
}

// toUTC rewrites the DATE-TIME values of c's time properties in UTC.
func (o *Object) toUTC(c *goical.Component, floating *time.Location) {
	for _, name := range []string{goical.PropDateTimeStart, goical.PropDateTimeEnd, goical.PropDue, goical.PropRecurrenceID} {
		if t, date, ok := o.timePropDate(c, name, floating); ok && !date {
			setTime(c, name, t, false, floating)
		}
	}
}

// limitRecurrenceSet drops the overrides that neither overlap tr nor
// replace an instance inside it (RFC 4791 section 9.6.6).
func (o *Object) limitRecurrenceSet(cal *goical.Component, tr TimeRange, floating *time.Location) {
	e := &evaluator{o: o, floating: floating, set: o.components()}
	kept := cal.Children[:0]
	for _, c := range cal.Children {
		if c.Name != o.Component || isMaster(c) {
			kept = append(kept, c)
			continue
		}
		rid, ridOK := o.timeProp(c, goical.PropRecurrenceID, floating)
		if e.compInRange(cal, c, tr) || (ridOK && tr.startLE(rid) && tr.endGT(rid)) {
			kept = append(kept, c)
		}
	}
	cal.Children = kept
}

// limitFreeBusySet keeps only the FREEBUSY periods that overlap tr (RFC 4791
// section 9.6.7).
func (o *Object) limitFreeBusySet(cal *goical.Component, tr TimeRange, floating *time.Location) {
	for _, c := range cal.Children {
		if c.Name != goical.CompFreeBusy {
			continue
		}
		var props []goical.Prop
		for _, p := range c.Props[goical.PropFreeBusy] {
			var kept []string
			for _, v := range strings.Split(p.Value, ",") {
				s, e, err := parsePeriod(v, o.TZ, floating)
				if err == nil && tr.startLT(e) && tr.endGT(s) {
					kept = append(kept, v)
				}
			}
			if len(kept) > 0 {
				p.Value = strings.Join(kept, ",")
				props = append(props, p)
			}
		}
		if len(props) == 0 {
			delete(c.Props, goical.PropFreeBusy)
		} else {
			c.Props[goical.PropFreeBusy] = props
		}
	}
}

// selectComponent applies a <C:comp> selection (RFC 4791 section 9.6.1).
func selectComponent(c *goical.Component, s *CompSelector) *goical.Component {
	out := &goical.Component{Name: c.Name, Props: goical.Props{}}
	if s.AllProps {
		out.Props = c.Props
	} else {
		for _, ps := range s.Props {
			name := strings.ToUpper(ps.Name)
			for _, p := range c.Props[name] {
				if ps.NoValue {
					p.Value = ""
				}
				out.Props[name] = append(out.Props[name], p)
			}
		}
	}
	if s.AllComps {
		out.Children = c.Children
		return out
	}
	for _, child := range c.Children {
		for i := range s.Comps {
			if strings.EqualFold(s.Comps[i].Name, child.Name) {
				out.Children = append(out.Children, selectComponent(child, &s.Comps[i]))
				break
			}
		}
	}
	return out
}

func cloneComponent(c *goical.Component) *goical.Component {
	out := &goical.Component{Name: c.Name, Props: cloneProps(c.Props)}
	for _, child := range c.Children {
		out.Children = append(out.Children, cloneComponent(child))
	}
	return out
}

func cloneProps(props goical.Props) goical.Props {
	out := make(goical.Props, len(props))
	for name, list := range props {
		cl := make([]goical.Prop, len(list))
		for i, p := range list {
			params := make(goical.Params, len(p.Params))
			for k, v := range p.Params {
				params[k] = append([]string(nil), v...)
			}
			cl[i] = goical.Prop{Name: p.Name, Params: params, Value: p.Value}
		}
		out[name] = cl
	}
	return out
}
