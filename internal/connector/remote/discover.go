package remote

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// Calendar is a calendar collection on the remote server.
type Calendar struct {
	URL         string // absolute
	DisplayName string
	CTag        string // CS:getctag, "" if the server has none
	SyncToken   string // DAV:sync-token, "" if the server has none
	// SupportsSync tells that the collection answers sync-collection
	// (RFC 6578): it lists the report, or has a sync token and no report
	// set to say otherwise.
	SupportsSync bool
	// Components are the component names the calendar accepts (VEVENT,
	// VTODO, ...); nil when the server does not say (any).
	Components []string
}

// calendarProps are the properties that describe a calendar.
var calendarProps = []string{
	`<D:resourcetype/>`, `<D:displayname/>`, `<CS:getctag/>`, `<D:sync-token/>`,
	`<D:supported-report-set/>`, `<C:supported-calendar-component-set/>`,
}

// discoveryProps add what leads from a principal or any resource to the
// calendar homes.
var discoveryProps = append([]string{`<D:current-user-principal/>`, `<C:calendar-home-set/>`}, calendarProps...)

// calendarOf reads a Calendar from a response carrying calendarProps.
func calendarOf(res *davResult, r *response) Calendar {
	cal := Calendar{
		URL:         res.abs(r.href),
		DisplayName: r.prop(nsDAV, "displayname").value(),
		CTag:        r.prop(nsCS, "getctag").value(),
		SyncToken:   r.prop(nsDAV, "sync-token").value(),
	}
	if set := r.prop(nsDAV, "supported-report-set"); set != nil {
		// RFC 3253 puts the report inside DAV:report; some servers put it
		// directly inside DAV:supported-report.
		cal.SupportsSync = set.find(nsDAV, "sync-collection") != nil
	} else {
		cal.SupportsSync = cal.SyncToken != ""
	}
	for _, comp := range r.prop(nsCalDAV, "supported-calendar-component-set").all(nsCalDAV, "comp") {
		for _, a := range comp.attr {
			if a.Name.Local == "name" && a.Value != "" {
				cal.Components = append(cal.Components, strings.ToUpper(a.Value))
			}
		}
	}
	return cal
}

// Info describes the calendar collection at collURL (PROPFIND Depth 0).
// An error matching ErrNotCalendar tells that collURL is something else.
func (c *Client) Info(ctx context.Context, collURL string) (*Calendar, error) {
	res, err := c.propfind(ctx, collURL, "0", calendarProps...)
	if err != nil {
		return nil, err
	}
	self := res.self()
	if err := missing(res, self, "PROPFIND"); err != nil {
		return nil, err
	}
	if self == nil || !self.ok() || !isCalendar(self) {
		return nil, errNotCalendar(collURL)
	}
	cal := calendarOf(res, self)
	return &cal, nil
}

// Discover finds the calendars rawURL leads to. rawURL may be a calendar
// collection (the result is just it), a calendar home (its calendars), a
// principal (the calendars of its homes) or a server root (RFC 6764: the
// calendars of the principal /.well-known/caldav leads to).
func (c *Client) Discover(ctx context.Context, rawURL string) ([]Calendar, error) {
	u, creds, err := c.target(rawURL)
	if err != nil {
		return nil, err
	}
	if creds != c.auth {
		// Credentials given in the URL apply to every URL found from it.
		withCreds := *c
		withCreds.auth = creds
		c = &withCreds
	}
	rawURL = u.String()
	root := u.Path == "" || u.Path == "/"
	var res *davResult
	if root {
		wellKnown := *u
		wellKnown.Path, wellKnown.RawPath = "/.well-known/caldav", ""
		res, err = c.propfind(ctx, wellKnown.String(), "0", discoveryProps...)
		if err != nil && ctx.Err() != nil {
			return nil, err
		}
	}
	if res == nil {
		if res, err = c.propfind(ctx, rawURL, "0", discoveryProps...); err != nil {
			return nil, err
		}
	}
	self := res.self()
	if err := missing(res, self, "PROPFIND"); err != nil {
		return nil, err
	}
	if self == nil {
		return nil, fmt.Errorf("remote: discovery: the server said nothing about %s", redact(res.base))
	}
	if isCalendar(self) {
		return []Calendar{calendarOf(res, self)}, nil
	}
	homes := absAll(res, self.prop(nsCalDAV, "calendar-home-set").hrefs())
	if len(homes) == 0 && !root && isCollection(self) {
		// Perhaps a calendar home, or a collection of calendars.
		cals, err := c.listCalendars(ctx, res.abs(self.href))
		if err != nil || len(cals) > 0 {
			return cals, err
		}
	}
	if len(homes) == 0 {
		principal := self.prop(nsDAV, "current-user-principal").child(nsDAV, "href").value()
		if principal == "" {
			return nil, fmt.Errorf("%w: no calendar home found at %s", ErrNotCalendar, redact(res.base))
		}
		pres, err := c.propfind(ctx, res.abs(principal), "0", `<C:calendar-home-set/>`)
		if err != nil {
			return nil, err
		}
		if ps := pres.self(); ps != nil {
			homes = absAll(pres, ps.prop(nsCalDAV, "calendar-home-set").hrefs())
		}
		if len(homes) == 0 {
			return nil, fmt.Errorf("%w: principal %s has no calendar home", ErrNotCalendar, redact(pres.base))
		}
	}
	var all []Calendar
	seen := map[string]bool{}
	for _, home := range homes {
		cals, err := c.listCalendars(ctx, home)
		if err != nil {
			return nil, err
		}
		for _, cal := range cals {
			if key := canonPath(hrefPath(cal.URL)); !seen[key] {
				seen[key] = true
				all = append(all, cal)
			}
		}
	}
	return all, nil
}

// missing returns a 404 *Error when a multistatus says the resource asked
// about does not exist (Xandikos answers a PROPFIND of a missing resource
// this way, not with a 404).
func missing(res *davResult, self *response, method string) error {
	if self == nil || self.status != http.StatusNotFound && self.status != http.StatusGone {
		return nil
	}
	return &Error{Status: self.status, Method: method, URL: redact(res.base), Message: http.StatusText(self.status)}
}

// listCalendars returns the calendars among the members of home.
func (c *Client) listCalendars(ctx context.Context, home string) ([]Calendar, error) {
	res, err := c.propfind(ctx, home, "1", calendarProps...)
	if err != nil {
		return nil, err
	}
	var cals []Calendar
	for i := range res.responses {
		r := &res.responses[i]
		if res.isSelf(r.href) || !r.ok() || !isCalendar(r) {
			continue
		}
		cals = append(cals, calendarOf(res, r))
	}
	return cals, nil
}

func absAll(res *davResult, hrefs []string) []string {
	out := make([]string, len(hrefs))
	for i, h := range hrefs {
		out[i] = res.abs(h)
	}
	return out
}
