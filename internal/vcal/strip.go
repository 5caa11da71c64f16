package vcal

import (
	"slices"
	"strings"

	goical "github.com/emersion/go-ical"

	"koyomi.dev/koyomi/internal/ical"
)

// BusySummary is the SUMMARY of an occurrence shown at level Busy when no
// filter gives a label.
const BusySummary = "Busy"

// StrippedStamp is the DTSTAMP of every component served below Full: the
// stored one changes with every edit, also of fields the viewer does not
// see, and would tell them that something changed.
const StrippedStamp = "20000101T000000Z"

// kept lists, per level below Full, the properties that survive and the
// parameters each keeps. It is an allow-list: a property or parameter not
// named here (DESCRIPTION, LOCATION, ATTENDEE, ORGANIZER, ATTACH, URL,
// CATEGORIES, COMMENT, CONTACT, RESOURCES, GEO, CONFERENCE, IMAGE, X-...,
// ALTREP, CN, ...) is dropped, so that properties added by future clients
// cannot leak. Sub-components (VALARM and any other) are dropped too.
var keptProps = map[Level]map[string][]string{
	Summary: withProps(structureProps, map[string][]string{
		goical.PropSummary: {goical.ParamLanguage},
		goical.PropClass:   nil,
	}),
	Busy: structureProps,
}

// structureProps carry time and recurrence, which every visible level
// shows, and the status that tells a client whether the time is taken.
var structureProps = map[string][]string{
	goical.PropUID:             nil,
	goical.PropDateTimeStart:   {goical.ParamTimezoneID, goical.ParamValue},
	goical.PropDateTimeEnd:     {goical.ParamTimezoneID, goical.ParamValue},
	goical.PropDue:             {goical.ParamTimezoneID, goical.ParamValue},
	goical.PropDuration:        nil,
	goical.PropRecurrenceRule:  nil,
	"EXRULE":                   nil,
	goical.PropRecurrenceDates: {goical.ParamTimezoneID, goical.ParamValue},
	goical.PropExceptionDates:  {goical.ParamTimezoneID, goical.ParamValue},
	goical.PropRecurrenceID:    {goical.ParamTimezoneID, goical.ParamValue, "RANGE"},
	goical.PropTransparency:    nil,
	goical.PropStatus:          nil,
	goical.PropFreeBusy:        {"FBTYPE"},
}

func withProps(base, more map[string][]string) map[string][]string {
	out := make(map[string][]string, len(base)+len(more))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

// strip reduces c (a copy) to what level shows; it returns c.
func (e *evaluation) strip(c *goical.Component, level Level) *goical.Component {
	kept, ok := keptProps[level]
	if !ok {
		return c
	}
	summary := BusySummary
	if level == Busy {
		summary = e.busyLabel(c)
	}
	for name, list := range c.Props {
		params, keep := kept[name]
		if !keep {
			delete(c.Props, name)
			continue
		}
		for i := range list {
			for k := range list[i].Params {
				if !slices.Contains(params, k) {
					delete(list[i].Params, k)
				}
			}
		}
	}
	c.Children = nil
	c.Props[goical.PropDateTimeStamp] = []goical.Prop{{Name: goical.PropDateTimeStamp, Params: goical.Params{}, Value: StrippedStamp}}
	if level == Busy {
		c.Props[goical.PropSummary] = []goical.Prop{{Name: goical.PropSummary, Params: goical.Params{}, Value: summary}}
	}
	return c
}

// busyLabel is the title of c shown at Busy: the outermost filter's label
// with its placeholders filled from c (before stripping), or "Busy".
func (e *evaluation) busyLabel(c *goical.Component) string {
	for _, f := range e.ch {
		if f.busyLabel != "" {
			return ExpandLabel(f.busyLabel, e.ownerName, firstCategory(c))
		}
	}
	return BusySummary
}

func firstCategory(c *goical.Component) string {
	for _, p := range c.Props[goical.PropCategories] {
		for _, v := range strings.Split(p.Value, ",") {
			if v = strings.TrimSpace(v); v != "" {
				return v
			}
		}
	}
	return ""
}

// ExpandLabel fills a busy label template: {owner} becomes owner,
// {category} category, and {category|text} category or, when there is
// none, text. Other text is kept as it is.
func ExpandLabel(template, owner, category string) string {
	var b strings.Builder
	rest := template
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		name, fallback, _ := strings.Cut(rest[i+1:i+j], "|")
		switch name {
		case "owner":
			b.WriteString(owner)
		case "category":
			if category != "" {
				b.WriteString(category)
			} else {
				b.WriteString(fallback)
			}
		default:
			b.WriteString(rest[i : i+j+1])
		}
		rest = rest[i+j+1:]
	}
	return strings.TrimSpace(b.String())
}

// calendar wraps the components in a VCALENDAR with the VTIMEZONEs they
// refer to. Other top-level content of the source (X-WR-CALNAME and other
// extension properties and components) is not carried over.
func (e *evaluation) calendar(comps []*goical.Component) *goical.Component {
	cal := &goical.Component{Name: goical.CompCalendar, Props: goical.Props{}}
	cal.Props.SetText(goical.PropVersion, "2.0")
	cal.Props.SetText(goical.PropProductID, ical.DefaultProdID)
	if p := e.obj.Cal.Props.Get(goical.PropCalendarScale); p != nil {
		cal.Props.SetText(goical.PropCalendarScale, strings.ToUpper(strings.TrimSpace(p.Value)))
	}
	used := map[string]bool{}
	for _, c := range comps {
		collectTZIDs(c, used)
	}
	for _, c := range e.obj.Cal.Children {
		if c.Name != goical.CompTimezone {
			continue
		}
		if p := c.Props.Get(goical.PropTimezoneID); p != nil && used[p.Value] {
			cal.Children = append(cal.Children, cloneComponent(c))
			delete(used, p.Value) // one VTIMEZONE per TZID
		}
	}
	cal.Children = append(cal.Children, comps...)
	return cal
}

func collectTZIDs(c *goical.Component, used map[string]bool) {
	for _, list := range c.Props {
		for _, p := range list {
			if id := p.Params.Get(goical.ParamTimezoneID); id != "" {
				used[id] = true
			}
		}
	}
	for _, child := range c.Children {
		collectTZIDs(child, used)
	}
}

// encode writes cal with the iCalendar encoder of package ical (sorted,
// folded content lines), by rendering a selection of everything.
func encode(cal *goical.Component) ([]byte, error) {
	obj := &ical.Object{Cal: &goical.Calendar{Component: cal}}
	all := &ical.CalendarData{Comp: &ical.CompSelector{Name: cal.Name, AllProps: true, AllComps: true}}
	return obj.Render(nil, all, nil)
}

func cloneComponent(c *goical.Component) *goical.Component {
	out := &goical.Component{Name: c.Name, Props: make(goical.Props, len(c.Props))}
	for name, list := range c.Props {
		cl := make([]goical.Prop, len(list))
		for i, p := range list {
			params := make(goical.Params, len(p.Params))
			for k, v := range p.Params {
				params[k] = slices.Clone(v)
			}
			cl[i] = goical.Prop{Name: p.Name, Params: params, Value: p.Value}
		}
		out.Props[name] = cl
	}
	for _, child := range c.Children {
		out.Children = append(out.Children, cloneComponent(child))
	}
	return out
}
