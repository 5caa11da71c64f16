package caldav

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/tree"
)

// MaxReportInstances is the default bound on the instances a calendar-data <C:expand> may
// produce across one REPORT, so that dense rules cannot make an answer of
// unbounded size. A calendar-query that reaches it returns the resources
// rendered so far and a 507 response for the request-URI with
// DAV:number-of-matches-within-limits (RFC 4791 7.8's postcondition, in
// the form RFC 5323 and RFC 6578 use for truncated results); a
// calendar-multiget answers 507 for the calendar-data of the resources
// beyond it.
const MaxReportInstances = 10000

// MaxQueryResults is the default bound on the resources one calendar-query
// answers with (both are configurable through Limits); a
// query matching more gets the first ones and a 507 response for the
// request-URI with DAV:number-of-matches-within-limits.
const MaxQueryResults = 20000

// errInstanceLimit is the wire form of ical.ErrInstanceLimit.
func errInstanceLimit(err error, limit int) *dav.Error {
	return &dav.Error{Status: http.StatusInsufficientStorage, Condition: dav.Name("number-of-matches-within-limits"),
		Msg: "the expanded instances exceed the server's limit of " + strconv.Itoa(limit) + "; narrow the time range", Err: err}
}

// reportProps is the property part of a calendar REPORT: the DAV:prop
// request and the calendar-data specification, if any.
type reportProps struct {
	pr       dav.PropRequest
	data     *ical.CalendarData
	wantData bool
	// maxInstances bounds what an expand may produce in this report.
	maxInstances int
}

func validFilter(msg string) error {
	return dav.Precondition(http.StatusForbidden, C("valid-filter"), msg)
}

// parseUTC parses a time-range attribute (RFC 4791 9.9: UTC date-time).
func parseUTC(v string) (time.Time, error) {
	t, err := time.Parse("20060102T150405Z", v)
	if err != nil {
		return time.Time{}, validFilter("time-range values must be UTC date-times like 20060104T000000Z: " + v)
	}
	return t, nil
}

func parseTimeRange(se xml.StartElement) (*ical.TimeRange, error) {
	var tr ical.TimeRange
	var err error
	s, hasS := dav.Attr(se, "start")
	e, hasE := dav.Attr(se, "end")
	if !hasS && !hasE {
		return nil, validFilter("time-range needs start or end")
	}
	if hasS {
		if tr.Start, err = parseUTC(s); err != nil {
			return nil, err
		}
	}
	if hasE {
		if tr.End, err = parseUTC(e); err != nil {
			return nil, err
		}
	}
	if hasS && hasE && !tr.End.After(tr.Start) {
		return nil, validFilter("time-range end must be after start")
	}
	return &tr, nil
}

// read handles the property part of a REPORT body (see
// dav.ReadReportProps), collecting calendar-data's specification.
func (rp *reportProps) read(d *dav.Decoder, se xml.StartElement) (bool, error) {
	return dav.ReadReportProps(d, se, &rp.pr, C("calendar-data"), func(cd xml.StartElement) error {
		rp.wantData = true
		if ct, ok := dav.Attr(cd, "content-type"); ok && ct != "text/calendar" {
			return dav.Precondition(http.StatusForbidden, C("supported-calendar-data"), "only text/calendar is supported")
		}
		if v, ok := dav.Attr(cd, "version"); ok && v != "2.0" {
			return dav.Precondition(http.StatusForbidden, C("supported-calendar-data"), "only iCalendar 2.0 is supported")
		}
		data, err := parseCalendarData(d)
		if data != nil && data.Expand != nil {
			data.Budget = ical.NewInstanceBudget(rp.maxInstances)
		}
		rp.data = data
		return err
	})
}

func parseCalendarData(d *dav.Decoder) (*ical.CalendarData, error) {
	cd := &ical.CalendarData{}
	for {
		se, ok, err := d.Next()
		if err != nil {
			return nil, err
		}
		if !ok {
			// An empty VCALENDAR selector would select a calendar without
			// properties or components; clients that send one mean the
			// whole object.
			if s := cd.Comp; s != nil && s.Name == "VCALENDAR" && !s.AllProps && !s.AllComps && len(s.Props) == 0 && len(s.Comps) == 0 {
				cd.Comp = nil
			}
			return cd, nil
		}
		switch se.Name {
		case C("comp"):
			sel, err := parseCompSelector(d, se)
			if err != nil {
				return nil, err
			}
			cd.Comp = sel
		case C("expand"), C("limit-recurrence-set"), C("limit-freebusy-set"):
			s, hasS := dav.Attr(se, "start")
			e, hasE := dav.Attr(se, "end")
			if !hasS || !hasE {
				return nil, dav.Errorf(http.StatusBadRequest, "%s needs start and end", se.Name.Local)
			}
			var tr ical.TimeRange
			if tr.Start, err = parseUTC(s); err != nil {
				return nil, err
			}
			if tr.End, err = parseUTC(e); err != nil {
				return nil, err
			}
			switch se.Name.Local {
			case "expand":
				cd.Expand = &tr
			case "limit-recurrence-set":
				cd.LimitRecurrenceSet = &tr
			default:
				cd.LimitFreeBusySet = &tr
			}
			if err := d.Skip(); err != nil {
				return nil, err
			}
		default:
			if err := d.Skip(); err != nil {
				return nil, err
			}
		}
	}
}

func parseCompSelector(d *dav.Decoder, se xml.StartElement) (*ical.CompSelector, error) {
	name, _ := dav.Attr(se, "name")
	sel := &ical.CompSelector{Name: strings.ToUpper(name)}
	for {
		child, ok, err := d.Next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return sel, nil
		}
		switch child.Name {
		case C("allprop"):
			sel.AllProps = true
			err = d.Skip()
		case C("allcomp"):
			sel.AllComps = true
			err = d.Skip()
		case C("prop"):
			n, _ := dav.Attr(child, "name")
			nv, _ := dav.Attr(child, "novalue")
			sel.Props = append(sel.Props, ical.PropSelector{Name: strings.ToUpper(n), NoValue: nv == "yes"})
			err = d.Skip()
		case C("comp"):
			var sub *ical.CompSelector
			sub, err = parseCompSelector(d, child)
			if err == nil {
				sel.Comps = append(sel.Comps, *sub)
			}
		default:
			err = d.Skip()
		}
		if err != nil {
			return nil, err
		}
	}
}

func parseTextMatch(d *dav.Decoder, se xml.StartElement) (*ical.TextMatch, error) {
	tm := &ical.TextMatch{Collation: "i;ascii-casemap", MatchType: "contains"}
	if v, ok := dav.Attr(se, "collation"); ok {
		tm.Collation = v
	}
	if v, ok := dav.Attr(se, "negate-condition"); ok {
		tm.Negate = v == "yes"
	}
	if v, ok := dav.Attr(se, "match-type"); ok {
		tm.MatchType = v
	}
	text, err := d.Text()
	if err != nil {
		return nil, err
	}
	tm.Text = text
	return tm, nil
}

// filterCommon reads the children comp-filter and prop-filter share:
// is-not-defined and time-range. It reports whether se was one of them.
func filterCommon(d *dav.Decoder, se xml.StartElement, notDefined *bool, tr **ical.TimeRange) (bool, error) {
	switch se.Name {
	case C("is-not-defined"):
		*notDefined = true
		return true, d.Skip()
	case C("time-range"):
		r, err := parseTimeRange(se)
		if err != nil {
			return true, err
		}
		*tr = r
		return true, d.Skip()
	}
	return false, nil
}

// filterName reads the name attribute a filter element must have.
func filterName(se xml.StartElement) (string, error) {
	name, ok := dav.Attr(se, "name")
	if !ok || name == "" {
		return "", validFilter(se.Name.Local + " needs a name")
	}
	return strings.ToUpper(name), nil
}

func parseCompFilter(d *dav.Decoder, se xml.StartElement, depth int) (*ical.CompFilter, error) {
	if depth > 8 {
		return nil, validFilter("filter nested too deeply")
	}
	name, err := filterName(se)
	if err != nil {
		return nil, err
	}
	f := &ical.CompFilter{Name: name}
	err = d.Each(func(child xml.StartElement) error {
		if ok, err := filterCommon(d, child, &f.IsNotDefined, &f.TimeRange); ok || err != nil {
			return err
		}
		switch child.Name {
		case C("prop-filter"):
			pf, err := parsePropFilter(d, child)
			if err == nil {
				f.Props = append(f.Props, *pf)
			}
			return err
		case C("comp-filter"):
			cf, err := parseCompFilter(d, child, depth+1)
			if err == nil {
				f.Comps = append(f.Comps, *cf)
			}
			return err
		}
		return d.Skip()
	})
	return f, err
}

func parsePropFilter(d *dav.Decoder, se xml.StartElement) (*ical.PropFilter, error) {
	name, err := filterName(se)
	if err != nil {
		return nil, err
	}
	f := &ical.PropFilter{Name: name}
	err = d.Each(func(child xml.StartElement) error {
		if ok, err := filterCommon(d, child, &f.IsNotDefined, &f.TimeRange); ok || err != nil {
			return err
		}
		switch child.Name {
		case C("text-match"):
			tm, err := parseTextMatch(d, child)
			f.TextMatch = tm
			return err
		case C("param-filter"):
			pname, _ := dav.Attr(child, "name")
			pf := ical.ParamFilter{Name: strings.ToUpper(pname)}
			err := d.Each(func(pc xml.StartElement) error {
				switch pc.Name {
				case C("is-not-defined"):
					pf.IsNotDefined = true
					return d.Skip()
				case C("text-match"):
					tm, err := parseTextMatch(d, pc)
					pf.TextMatch = tm
					return err
				}
				return d.Skip()
			})
			f.Params = append(f.Params, pf)
			return err
		}
		return d.Skip()
	})
	return f, err
}

// floatingZone is the zone floating times are read in: the query's
// C:timezone, else the calendar's calendar-timezone, else UTC.
func floatingZone(queryTZ string, c *store.Collection) *time.Location {
	for _, v := range []string{queryTZ, c.Timezone} {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		if loc, _, err := ical.ParseTimezone([]byte(v)); err == nil && loc != nil {
			return loc
		}
	}
	return time.UTC
}

// calendarDataGetter renders calendar-data for object resources.
func (c *handler) calendarDataGetter(rp *reportProps, floating func(*store.Collection) *time.Location, parsed map[string]*ical.Object) map[xml.Name]func(*dav.Resource) ([]byte, error) {
	if !rp.wantData {
		return nil
	}
	return map[xml.Name]func(*dav.Resource) ([]byte, error){
		C("calendar-data"): func(r *dav.Resource) ([]byte, error) {
			var data []byte
			zone := time.UTC
			o, ok := r.Data.(*tree.Object)
			if !ok || o.Kind() != store.KindCalendar {
				return nil, dav.ErrNoProperty
			}
			data, zone = o.Data, floating(o.Source)
			out := data
			if !rp.data.IsIdentity() {
				p := parsed[r.Path]
				if p == nil {
					var err error
					if p, err = ical.Parse(data); err != nil {
						return nil, err
					}
				}
				var err error
				out, err = p.Render(data, rp.data, zone)
				if errors.Is(err, ical.ErrInstanceLimit) {
					return nil, errInstanceLimit(err, rp.maxInstances)
				}
				if err != nil {
					return nil, err
				}
			}
			return dav.AppendEscapedText(nil, out), nil
		},
	}
}

func (c *handler) calendarQuery(ctx context.Context, w http.ResponseWriter, req *http.Request, r *dav.Resource, d *dav.Decoder, depth int) error {
	rp := reportProps{maxInstances: c.limits.ReportInstances}
	var filter *ical.CompFilter
	var queryTZ string
	err := d.Each(func(se xml.StartElement) error {
		if ok, err := rp.read(d, se); ok || err != nil {
			return err
		}
		switch se.Name {
		case C("filter"):
			return d.Each(func(fe xml.StartElement) error {
				if fe.Name != C("comp-filter") || filter != nil {
					return validFilter("filter must hold exactly one comp-filter")
				}
				var err error
				filter, err = parseCompFilter(d, fe, 0)
				return err
			})
		case C("timezone"):
			var err error
			queryTZ, err = d.Text()
			return err
		}
		return d.Skip()
	})
	if err != nil {
		return err
	}
	if filter == nil || filter.Name != "VCALENDAR" {
		return validFilter("the filter must be a VCALENDAR comp-filter")
	}
	if tz := strings.TrimSpace(queryTZ); tz != "" {
		if _, _, err := ical.ParseTimezone([]byte(tz)); err != nil {
			return &dav.Error{Status: http.StatusForbidden, Condition: C("valid-calendar-data"),
				Msg: "the query's timezone must be a VCALENDAR holding one VTIMEZONE: " + err.Error(), Err: err}
		}
	}
	if err := filter.Validate(); err != nil {
		if errors.Is(err, ical.ErrUnsupportedCollation) {
			return dav.Precondition(http.StatusForbidden, C("supported-collation"), err.Error())
		}
		return validFilter(err.Error())
	}
	floating := func(col *store.Collection) *time.Location { return floatingZone(queryTZ, col) }
	var resources []*dav.Resource
	parsed := map[string]*ical.Object{}
	switch data := r.Data.(type) {
	case tree.Container:
		if depth == 0 {
			break
		}
		// Parsed forms are kept only where calendar-data is rendered
		// from them rather than served as stored.
		items, ps, err := data.Target().QueryCalendar(ctx, filter, floating, rp.wantData && !rp.data.IsIdentity())
		if err != nil {
			if errors.Is(err, ical.ErrUnsupportedCollation) {
				return dav.Precondition(http.StatusForbidden, C("supported-collation"), err.Error())
			}
			return err
		}
		for i, it := range items {
			res := tree.ItemResource(data, it)
			if i < len(ps) && ps[i] != nil {
				parsed[res.Path] = ps[i]
			}
			resources = append(resources, res)
		}
	case *tree.Object:
		p, err := ical.Parse(data.Data)
		if err != nil {
			return err
		}
		ok, err := p.Match(filter, floating(data.Source))
		if err != nil {
			return err
		}
		if ok {
			parsed[r.Path] = p
			resources = append(resources, r)
		}
	}
	getters := c.calendarDataGetter(&rp, floating, parsed)
	truncatedAt := ""
	// Answers are bounded in size, as RFC 4791 7.8 allows: the first
	// MaxQueryResults matches, and a 507 saying more matched.
	if len(resources) > c.limits.QueryResults {
		resources, truncatedAt = resources[:c.limits.QueryResults], r.Path
	}
	if rp.wantData && rp.data != nil && rp.data.Budget != nil {
		var cut string
		if resources, getters, cut = renderWithinLimit(r.Path, resources, getters); cut != "" {
			truncatedAt = cut
		}
	}
	return c.h.WriteResources(ctx, w, resources, rp.pr, getters, truncatedAt)
}

// renderWithinLimit renders calendar-data ahead of writing, so that the
// answer stops at the first resource whose expansion would pass
// MaxReportInstances and says so (truncatedAt is then the request's path).
// Any other error is left for the resource's own propstat.
func renderWithinLimit(path string, resources []*dav.Resource, getters map[xml.Name]func(*dav.Resource) ([]byte, error)) (
	[]*dav.Resource, map[xml.Name]func(*dav.Resource) ([]byte, error), string) {
	get := getters[C("calendar-data")]
	type rendered struct {
		data []byte
		err  error
	}
	done := make(map[string]rendered, len(resources))
	truncatedAt := ""
	for i, res := range resources {
		data, err := get(res)
		var de *dav.Error
		if errors.As(err, &de) && de.Condition == dav.Name("number-of-matches-within-limits") {
			resources, truncatedAt = resources[:i], path
			break
		}
		done[res.Path] = rendered{data, err}
	}
	getters[C("calendar-data")] = func(res *dav.Resource) ([]byte, error) {
		if r, ok := done[res.Path]; ok {
			return r.data, r.err
		}
		return get(res)
	}
	return resources, getters, truncatedAt
}

func (c *handler) calendarMultiget(ctx context.Context, w http.ResponseWriter, req *http.Request, r *dav.Resource, d *dav.Decoder, _ int) error {
	rp := reportProps{maxInstances: c.limits.ReportInstances}
	hrefs, err := dav.ReadHrefs(d, "calendar-multiget", func(se xml.StartElement) (bool, error) { return rp.read(d, se) })
	if err != nil {
		return err
	}
	floating := func(col *store.Collection) *time.Location { return floatingZone("", col) }
	return c.t.Multiget(ctx, w, c.h, r, store.KindCalendar, hrefs, rp.pr, c.calendarDataGetter(&rp, floating, nil))
}

func (c *handler) freeBusyQuery(ctx context.Context, w http.ResponseWriter, req *http.Request, r *dav.Resource, d *dav.Decoder, _ int) error {
	if !isCalendarCollection(r) {
		return dav.Precondition(http.StatusForbidden, dav.Name("supported-report"), "free-busy-query needs a calendar")
	}
	var tr *ical.TimeRange
	for {
		se, ok, err := d.Next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if se.Name == C("time-range") {
			// A free-busy-query has no filter, so a bad range is a bad
			// request rather than valid-filter.
			if tr, err = parseTimeRange(se); err != nil {
				var de *dav.Error
				if errors.As(err, &de) {
					return dav.Errorf(http.StatusBadRequest, "%s", de.Msg)
				}
				return err
			}
		}
		if err := d.Skip(); err != nil {
			return err
		}
	}
	if tr == nil || tr.Start.IsZero() || tr.End.IsZero() {
		return dav.Errorf(http.StatusBadRequest, "free-busy-query needs a time-range with start and end")
	}
	objs, err := c.busyObjects(ctx, r, tr)
	if err != nil {
		return err
	}
	var periods []ical.BusyPeriod
	for _, o := range objs {
		ps, err := o.BusyPeriods(*tr, o.floating)
		if err != nil {
			continue
		}
		periods = append(periods, ps...)
	}
	body := ical.FreeBusyCalendar(periods, *tr, c.now())
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(body)
	return err
}

// busyObject is an object that may contribute busy time, parsed, with the
// zone of its floating times.
type busyObject struct {
	*ical.Object
	floating *time.Location
}

// busyObjects returns the objects of a calendar or a virtual one that may
// contribute busy time to tr.
func (c *handler) busyObjects(ctx context.Context, r *dav.Resource, tr *ical.TimeRange) ([]busyObject, error) {
	target := r.Data.(tree.Container).Target()
	floating := func(col *store.Collection) *time.Location { return floatingZone("", col) }
	var out []busyObject
	for _, comp := range []string{"VEVENT", "VFREEBUSY"} {
		filter := &ical.CompFilter{Name: "VCALENDAR", Comps: []ical.CompFilter{{Name: comp, TimeRange: tr}}}
		items, parsed, err := target.QueryCalendar(ctx, filter, floating, true)
		if err != nil {
			return nil, err
		}
		for i, p := range parsed {
			if p == nil { // matched by its index alone
				if p, err = ical.Parse(items[i].Data); err != nil {
					continue
				}
			}
			out = append(out, busyObject{p, floating(items[i].Source)})
		}
	}
	return out, nil
}
