// Package caldav plugs CalDAV (RFC 4791, with Apple's and CalendarServer's
// calendar properties) into the generic WebDAV engine: the calendar
// resourcetype, calendar collection properties, MKCALENDAR, and the
// calendar-query, calendar-multiget and free-busy-query REPORTs.
//
// It parses and writes CalDAV XML and calls the domain service and the ical
// content package; it knows nothing of storage or of the engine's internals.
package caldav

import (
	"context"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
	"time"

	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/tree"
)

// C returns a CalDAV element name.
func C(local string) xml.Name { return xml.Name{Space: dav.NSCalDAV, Local: local} }

func apple(local string) xml.Name { return xml.Name{Space: dav.NSAppleICal, Local: local} }

// Bounds advertised as min-date-time and max-date-time.
const (
	minDateTime = "19000101T000000Z"
	maxDateTime = "99991231T235959Z"
)

// handler bundles what the CalDAV methods need.
type handler struct {
	h      *dav.Handler
	t      *tree.Tree
	svc    *domain.Service
	now    func() time.Time
	maxN   int // most instances one expand may produce
	limits Limits
}

// Limits bound what one REPORT may produce; zero fields take the defaults
// MaxReportInstances and MaxQueryResults.
type Limits struct {
	ReportInstances int // instances one calendar-data expand may produce across a REPORT
	QueryResults    int // resources one calendar-query answers with
}

// Register adds CalDAV to the engine h serving tree t, with the given
// limits (at most one; none means the defaults).
func Register(h *dav.Handler, t *tree.Tree, limits ...Limits) {
	var l Limits
	if len(limits) > 0 {
		l = limits[0]
	}
	if l.ReportInstances <= 0 {
		l.ReportInstances = MaxReportInstances
	}
	if l.QueryResults <= 0 {
		l.QueryResults = MaxQueryResults
	}
	c := &handler{h: h, t: t, svc: t.Service(), now: t.Service().Now, maxN: 100000, limits: l}
	h.DAVClasses = append(h.DAVClasses, "extended-mkcol", "calendar-access")
	t.RegisterKind(store.KindCalendar, C("calendar"))
	t.RegisterObjectErrors(store.KindCalendar, objectErrors)
	c.registerProperties()
	h.RegisterMethod(dav.Method{Name: "MKCALENDAR", Serve: c.mkcalendar, Allowed: mkcalendarAllowed})
	isCal := func(r *dav.Resource) bool {
		switch d := r.Data.(type) {
		case tree.Container:
			return d.Target().Kind() == store.KindCalendar
		case *tree.Object:
			return d.Kind() == store.KindCalendar
		}
		return false
	}
	h.RegisterReport(dav.Report{Name: C("calendar-query"), Applies: isCal, Serve: c.calendarQuery})
	h.RegisterReport(dav.Report{Name: C("calendar-multiget"), Applies: func(r *dav.Resource) bool {
		if isCal(r) {
			return true
		}
		_, home := r.Data.(*tree.Home)
		return home
	}, Serve: c.calendarMultiget})
	h.RegisterReport(dav.Report{Name: C("free-busy-query"), Applies: isCalendarCollection, Serve: c.freeBusyQuery})
}

// mkcalendarAllowed reports whether the Allow header of r at path offers
// MKCALENDAR: where a calendar can be made (a free path in a calendar
// home) or made inside (the calendar home and its plain collections).
func mkcalendarAllowed(r *dav.Resource, path string) bool {
	if r == nil {
		return tree.InCalendarHome(path)
	}
	switch d := r.Data.(type) {
	case *tree.Home:
		return !d.Books
	case *tree.Collection:
		return d.Kind == store.KindPlain && tree.InCalendarHome(r.Path)
	}
	return false
}

// isCalendarCollection reports whether r is a calendar or a virtual one.
func isCalendarCollection(r *dav.Resource) bool {
	c, ok := r.Data.(tree.Container)
	return ok && c.Target().Kind() == store.KindCalendar
}

// viewComponents are the components a virtual calendar may hold.
var viewComponents = []string{"VEVENT", "VTODO", "VJOURNAL"}

func calendarOf(r *dav.Resource) (*store.Collection, bool) {
	d, ok := r.Data.(*tree.Collection)
	if !ok || d.Kind != store.KindCalendar {
		return nil, false
	}
	return d.Collection, true
}

func textProp(get func(c *store.Collection) string) func(context.Context, *dav.Resource) ([]byte, error) {
	return func(ctx context.Context, r *dav.Resource) ([]byte, error) {
		c, ok := calendarOf(r)
		if !ok {
			return nil, dav.ErrNoProperty
		}
		v := get(c)
		if v == "" {
			return nil, dav.ErrNoProperty
		}
		return []byte(dav.EscapeText(v)), nil
	}
}

func (c *handler) registerProperties() {
	h, t := c.h, c.t
	h.RegisterProperty(dav.Property{Name: C("calendar-description"),
		Get: textProp(func(c *store.Collection) string { return c.Description }),
		Lang: func(r *dav.Resource) string {
			if c, ok := calendarOf(r); ok {
				return c.DescriptionLang
			}
			return ""
		}})
	t.RegisterSetter(C("calendar-description"), func(col *store.Collection, op dav.PropOp) error {
		v, err := textValue(op)
		col.Description, col.DescriptionLang = v, ""
		if !op.Remove {
			col.DescriptionLang = op.Prop.Lang()
		}
		return err
	})
	h.RegisterProperty(dav.Property{Name: C("calendar-timezone"),
		Get: textProp(func(c *store.Collection) string { return c.Timezone })})
	t.RegisterSetter(C("calendar-timezone"), func(col *store.Collection, op dav.PropOp) error {
		v, err := textValue(op)
		if err != nil {
			return err
		}
		if v != "" {
			if _, _, err := ical.ParseTimezone([]byte(v)); err != nil {
				return dav.Precondition(http.StatusForbidden, C("valid-calendar-data"), "calendar-timezone must be a VCALENDAR holding one VTIMEZONE: "+err.Error())
			}
		}
		col.Timezone = v
		return nil
	})
	h.RegisterProperty(dav.Property{Name: apple("calendar-color"),
		Get: func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			if v, ok := r.Data.(*tree.Virtual); ok {
				if v.View.Color() == "" {
					return nil, dav.ErrNoProperty
				}
				return []byte(dav.EscapeText(v.View.Color())), nil
			}
			return textProp(func(c *store.Collection) string { return c.Color })(ctx, r)
		}})
	t.RegisterSetter(apple("calendar-color"), func(col *store.Collection, op dav.PropOp) error {
		v, err := textValue(op)
		col.Color = strings.TrimSpace(v)
		return err
	})
	h.RegisterProperty(dav.Property{Name: apple("calendar-order"),
		Get: func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			if v, ok := r.Data.(*tree.Virtual); ok {
				return []byte(strconv.Itoa(v.View.Order())), nil
			}
			col, ok := calendarOf(r)
			if !ok {
				return nil, dav.ErrNoProperty
			}
			return []byte(strconv.Itoa(col.Order)), nil
		}})
	t.RegisterSetter(apple("calendar-order"), func(col *store.Collection, op dav.PropOp) error {
		v, err := textValue(op)
		if err != nil {
			return err
		}
		if strings.TrimSpace(v) == "" {
			col.Order = 0
			return nil
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return dav.Errorf(http.StatusConflict, "calendar-order must be an integer")
		}
		col.Order = n
		return nil
	})
	h.RegisterProperty(dav.Property{Name: C("supported-calendar-component-set"), Protected: false,
		Get: func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			var comps []string
			if col, ok := calendarOf(r); ok {
				comps = col.Components
			} else if _, ok := r.Data.(*tree.Virtual); ok {
				comps = viewComponents
			} else {
				return nil, dav.ErrNoProperty
			}
			var b strings.Builder
			for _, comp := range comps {
				b.WriteString(`<C:comp name="` + dav.EscapeAttr(comp) + `"/>`)
			}
			return []byte(b.String()), nil
		}})
	t.RegisterSetter(C("supported-calendar-component-set"), func(col *store.Collection, op dav.PropOp) error {
		if col.ID != 0 {
			return dav.Precondition(http.StatusForbidden, dav.Name("cannot-modify-protected-property"), "the supported components of a calendar are fixed at creation")
		}
		comps, err := componentSet(op.Prop)
		if err != nil {
			return err
		}
		col.Components = comps
		return nil
	})
	static := func(v string) func(context.Context, *dav.Resource) ([]byte, error) {
		return func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			if !isCalendarCollection(r) {
				return nil, dav.ErrNoProperty
			}
			return []byte(v), nil
		}
	}
	h.RegisterProperty(dav.Property{Name: C("supported-calendar-data"), Protected: true,
		Get: static(`<C:calendar-data content-type="text/calendar" version="2.0"/>`)})
	h.RegisterProperty(dav.Property{Name: C("max-resource-size"), Protected: true,
		Get: static(strconv.FormatInt(c.svc.MaxResourceSize(), 10))})
	h.RegisterProperty(dav.Property{Name: C("min-date-time"), Protected: true, Get: static(minDateTime)})
	h.RegisterProperty(dav.Property{Name: C("max-date-time"), Protected: true, Get: static(maxDateTime)})
	h.RegisterProperty(dav.Property{Name: C("max-instances"), Protected: true, Get: static(strconv.Itoa(c.maxN))})
	h.RegisterProperty(dav.Property{Name: C("supported-collation-set"), Protected: true,
		Get: static(`<C:supported-collation>i;ascii-casemap</C:supported-collation><C:supported-collation>i;octet</C:supported-collation><C:supported-collation>i;unicode-casemap</C:supported-collation>`)})
	h.RegisterProperty(dav.Property{Name: C("schedule-calendar-transp"), Protected: true,
		Get: static(`<C:opaque/>`)})
}

func textValue(op dav.PropOp) (string, error) {
	if op.Remove {
		return "", nil
	}
	v, err := op.Prop.Text()
	if err != nil {
		return "", dav.Errorf(http.StatusConflict, "%v", err)
	}
	return v, nil
}

// componentSet reads a supported-calendar-component-set value.
func componentSet(e dav.RawElement) ([]string, error) {
	d, err := e.Decoder()
	if err != nil {
		return nil, err
	}
	var comps []string
	for {
		se, ok, err := d.Next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if se.Name == C("comp") {
			for _, a := range se.Attr {
				if a.Name.Local == "name" {
					name := strings.ToUpper(a.Value)
					switch name {
					case "VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VAVAILABILITY":
						comps = append(comps, name)
					default:
						return nil, dav.Precondition(http.StatusForbidden, C("supported-calendar-component"), "unsupported component "+a.Value)
					}
				}
			}
		}
		if err := d.Skip(); err != nil {
			return nil, err
		}
	}
	if len(comps) == 0 {
		return nil, dav.Precondition(http.StatusForbidden, C("supported-calendar-component"), "at least one component is required")
	}
	return comps, nil
}

// mkcalendar implements RFC 4791 5.3.1.
func (c *handler) mkcalendar(w http.ResponseWriter, r *http.Request) error {
	if _, err := c.h.Backend.Resolve(r.Context(), dav.CleanPath(r.URL.Path)); err == nil {
		return dav.Precondition(http.StatusForbidden, dav.Name("resource-must-be-null"), "a resource already exists here")
	}
	body, err := c.h.ReadBody(r)
	if err != nil {
		return err
	}
	ops, err := c.h.XMLLimits.ParseMkcol(body, C("mkcalendar"))
	if err != nil {
		return err
	}
	return c.h.MakeCollection(w, r, []xml.Name{C("calendar")}, ops)
}
