package caldav

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/ical"
)

// wellFormed parses a whole document.
func wellFormed(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func checkClientError(t *testing.T, err error) {
	t.Helper()
	var e *dav.Error
	if !errors.As(err, &e) || e.Status < 400 || e.Status >= 500 {
		t.Fatalf("parse error is not a client error: %v", err)
	}
}

func condition(err error) string {
	var e *dav.Error
	if errors.As(err, &e) {
		return e.Condition.Local
	}
	return ""
}

const cNS = `xmlns="urn:ietf:params:xml:ns:caldav"`

// parseFilterDoc parses a document whose root is a comp-filter.
func parseFilterDoc(t *testing.T, doc string) (*ical.CompFilter, error) {
	t.Helper()
	d := dav.NewDecoder(strings.NewReader(doc))
	root, err := d.Root()
	if err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	return parseCompFilter(d, root, 0)
}

func TestParseCompFilter(t *testing.T) {
	utc := func(s string) time.Time { tm, _ := time.Parse("20060102T150405Z", s); return tm }
	doc := `<comp-filter ` + cNS + ` name="vcalendar"><comp-filter name="VEVENT">
  <time-range start="20260101T000000Z" end="20260201T000000Z"/>
  <prop-filter name="attendee">
    <text-match collation="i;octet" negate-condition="yes" match-type="equals">bob</text-match>
    <param-filter name="partstat"><text-match>ACCEPTED</text-match></param-filter>
    <param-filter name="role"><is-not-defined/></param-filter>
  </prop-filter>
  <prop-filter name="LOCATION"><is-not-defined/></prop-filter>
  <unknown-extension><x/></unknown-extension>
</comp-filter><comp-filter name="VTODO"><is-not-defined/></comp-filter></comp-filter>`
	got, err := parseFilterDoc(t, doc)
	if err != nil {
		t.Fatal(err)
	}
	want := &ical.CompFilter{Name: "VCALENDAR", Comps: []ical.CompFilter{
		{Name: "VEVENT", TimeRange: &ical.TimeRange{Start: utc("20260101T000000Z"), End: utc("20260201T000000Z")},
			Props: []ical.PropFilter{
				{Name: "ATTENDEE",
					TextMatch: &ical.TextMatch{Collation: "i;octet", Negate: true, MatchType: "equals", Text: "bob"},
					Params: []ical.ParamFilter{
						{Name: "PARTSTAT", TextMatch: &ical.TextMatch{Collation: "i;ascii-casemap", MatchType: "contains", Text: "ACCEPTED"}},
						{Name: "ROLE", IsNotDefined: true},
					}},
				{Name: "LOCATION", IsNotDefined: true},
			}},
		{Name: "VTODO", IsNotDefined: true},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestParseCompFilterErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		cond      string
		status    int
	}{
		{"no name", `<comp-filter ` + cNS + `/>`, "valid-filter", 403},
		{"empty name", `<comp-filter ` + cNS + ` name=""/>`, "valid-filter", 403},
		{"prop-filter without name", `<comp-filter ` + cNS + ` name="VCALENDAR"><prop-filter/></comp-filter>`, "valid-filter", 403},
		{"local time", `<comp-filter ` + cNS + ` name="VEVENT"><time-range start="20260101T000000"/></comp-filter>`, "valid-filter", 403},
		{"offset time", `<comp-filter ` + cNS + ` name="VEVENT"><time-range start="2026-01-01T00:00:00+01:00"/></comp-filter>`, "valid-filter", 403},
		{"date only", `<comp-filter ` + cNS + ` name="VEVENT"><time-range start="20260101"/></comp-filter>`, "valid-filter", 403},
		{"no bounds", `<comp-filter ` + cNS + ` name="VEVENT"><time-range/></comp-filter>`, "valid-filter", 403},
		{"end before start", `<comp-filter ` + cNS + ` name="VEVENT"><time-range start="20260102T000000Z" end="20260101T000000Z"/></comp-filter>`, "valid-filter", 403},
		{"empty range", `<comp-filter ` + cNS + ` name="VEVENT"><time-range start="20260102T000000Z" end="20260102T000000Z"/></comp-filter>`, "valid-filter", 403},
		{"prop time-range local", `<comp-filter ` + cNS + ` name="VEVENT"><prop-filter name="DTSTART"><time-range end="20260101T000000"/></prop-filter></comp-filter>`, "valid-filter", 403},
		{"too deep", `<comp-filter ` + cNS + ` name="A">` + strings.Repeat(`<comp-filter name="B">`, 9) + strings.Repeat(`</comp-filter>`, 10), "valid-filter", 403},
		{"truncated", `<comp-filter ` + cNS + ` name="VEVENT"><prop-filter name="X">`, "", 400},
		{"undeclared prefix", `<comp-filter ` + cNS + ` name="VEVENT"><q:prop-filter name="X"/></comp-filter>`, "", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFilterDoc(t, tt.doc)
			if err == nil {
				t.Fatal("accepted")
			}
			var e *dav.Error
			if !errors.As(err, &e) || e.Status != tt.status || condition(err) != tt.cond {
				t.Errorf("err = %v, want %d %s", err, tt.status, tt.cond)
			}
		})
	}
}

func TestParseTimeRange(t *testing.T) {
	se := func(attrs ...string) xml.StartElement {
		s := xml.StartElement{Name: C("time-range")}
		for i := 0; i+1 < len(attrs); i += 2 {
			s.Attr = append(s.Attr, xml.Attr{Name: xml.Name{Local: attrs[i]}, Value: attrs[i+1]})
		}
		return s
	}
	tr, err := parseTimeRange(se("start", "20260101T000000Z"))
	if err != nil || !tr.End.IsZero() || tr.Start != time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) {
		t.Errorf("open end: %+v %v", tr, err)
	}
	tr, err = parseTimeRange(se("end", "20260101T000000Z"))
	if err != nil || !tr.Start.IsZero() || tr.End.IsZero() {
		t.Errorf("open start: %+v %v", tr, err)
	}
	// A namespaced attribute is not the time-range's start.
	s := se()
	s.Attr = []xml.Attr{{Name: xml.Name{Space: "urn:x", Local: "start"}, Value: "20260101T000000Z"}}
	if _, err := parseTimeRange(s); condition(err) != "valid-filter" {
		t.Errorf("namespaced start accepted: %v", err)
	}
}

func TestParseCalendarData(t *testing.T) {
	doc := `<prop xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><getetag/><C:calendar-data content-type="text/calendar" version="2.0">
<C:comp name="vcalendar"><C:allprop/><C:comp name="VEVENT"><C:prop name="summary"/><C:prop name="UID" novalue="yes"/><C:allcomp/></C:comp></C:comp>
<C:expand start="20260101T000000Z" end="20260201T000000Z"/></C:calendar-data></prop>`
	d := dav.NewDecoder(strings.NewReader(doc))
	root, err := d.Root()
	if err != nil {
		t.Fatal(err)
	}
	var rp reportProps
	if ok, err := rp.read(d, root); !ok || err != nil {
		t.Fatalf("read = %v, %v", ok, err)
	}
	if !rp.wantData || !reflect.DeepEqual(rp.pr.Names, []xml.Name{dav.Name("getetag"), C("calendar-data")}) {
		t.Fatalf("props = %v, wantData %v", rp.pr.Names, rp.wantData)
	}
	want := &ical.CompSelector{Name: "VCALENDAR", AllProps: true, Comps: []ical.CompSelector{
		{Name: "VEVENT", AllComps: true, Props: []ical.PropSelector{{Name: "SUMMARY"}, {Name: "UID", NoValue: true}}},
	}}
	if !reflect.DeepEqual(rp.data.Comp, want) {
		t.Errorf("comp = %+v, want %+v", rp.data.Comp, want)
	}
	if rp.data.Expand == nil || rp.data.Expand.End != time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC) {
		t.Errorf("expand = %+v", rp.data.Expand)
	}
}

func TestParseCalendarDataErrors(t *testing.T) {
	tests := []struct {
		name, inner string
		status      int
		cond        string
	}{
		{"other content type", `<C:calendar-data content-type="application/calendar+json"/>`, 403, "supported-calendar-data"},
		{"other version", `<C:calendar-data version="1.0"/>`, 403, "supported-calendar-data"},
		{"expand without end", `<C:calendar-data><C:expand start="20260101T000000Z"/></C:calendar-data>`, 400, ""},
		{"expand local", `<C:calendar-data><C:expand start="20260101T000000" end="20260201T000000Z"/></C:calendar-data>`, 403, "valid-filter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := dav.NewDecoder(strings.NewReader(`<prop xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">` + tt.inner + `</prop>`))
			root, err := d.Root()
			if err != nil {
				t.Fatal(err)
			}
			var rp reportProps
			_, err = rp.read(d, root)
			var e *dav.Error
			if !errors.As(err, &e) || e.Status != tt.status || condition(err) != tt.cond {
				t.Errorf("err = %v, want %d %s", err, tt.status, tt.cond)
			}
		})
	}
}

// TestCalendarQueryResponses runs reports through the engine.
func TestCalendarQueryResponses(t *testing.T) {
	h := newTestHandler(t)
	q := func(filter string) string {
		return `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter>` + filter + `</C:filter></C:calendar-query>`
	}
	tests := []struct {
		name, path, depth, body string
		status                  int
		contains                string
	}{
		{"in range", calendarPath, "1", q(`<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20260112T000000Z" end="20260113T000000Z"/></C:comp-filter></C:comp-filter>`), 207, "weekly.ics"},
		// Occurrences are at 09:00 Paris, 08:00 UTC; one hour long.
		{"between occurrences", calendarPath, "1", q(`<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20260112T090000Z" end="20260113T000000Z"/></C:comp-filter></C:comp-filter>`), 207, "!weekly.ics"},
		{"depth 0 on collection", calendarPath, "0", q(`<C:comp-filter name="VCALENDAR"/>`), 207, "!weekly.ics"},
		{"on the object", calendarPath + "weekly.ics", "0", q(`<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY"><C:text-match>STAND</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter>`), 207, "weekly.ics"},
		{"no filter", calendarPath, "1", `<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav"/>`, 403, "valid-filter"},
		{"not vcalendar", calendarPath, "1", q(`<C:comp-filter name="VEVENT"/>`), 403, "valid-filter"},
		{"two comp-filters", calendarPath, "1", q(`<C:comp-filter name="VCALENDAR"/><C:comp-filter name="VCALENDAR"/>`), 403, "valid-filter"},
		{"non-UTC time-range", calendarPath, "1", q(`<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20260112T000000"/></C:comp-filter></C:comp-filter>`), 403, "valid-filter"},
		{"unknown collation", calendarPath, "1", q(`<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY"><C:text-match collation="x;nope">a</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter>`), 403, "supported-collation"},
		{"malformed", calendarPath, "1", `<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter>`, 400, ""},
		{"free-busy on the object", calendarPath + "weekly.ics", "0", `<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="20260101T000000Z" end="20260201T000000Z"/></C:free-busy-query>`, 403, "supported-report"},
		{"free-busy open range", calendarPath, "1", `<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="20260101T000000Z"/></C:free-busy-query>`, 400, ""},
		{"free-busy", calendarPath, "1", `<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="20260112T000000Z" end="20260113T000000Z"/></C:free-busy-query>`, 200, "FREEBUSY:20260112T080000Z/20260112T090000Z"},
		{"multiget without href", calendarPath, "1", `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop></C:calendar-multiget>`, 400, ""},
		{"multiget missing", calendarPath, "1", `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><D:href>/dav/calendars/alice/default/none.ics</D:href></C:calendar-multiget>`, 207, "404 Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := report(h, tt.path, tt.depth, []byte(tt.body))
			body := rec.Body.String()
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, body)
			}
			if want, absent := strings.CutPrefix(tt.contains, "!"); absent {
				if strings.Contains(body, want) {
					t.Errorf("body holds %q: %s", want, body)
				}
			} else if !strings.Contains(body, tt.contains) {
				t.Errorf("body lacks %q: %s", tt.contains, body)
			}
			if rec.Code == http.StatusMultiStatus {
				if err := wellFormed(rec.Body.Bytes()); err != nil {
					t.Errorf("not well-formed: %v", err)
				}
			}
		})
	}
}

// TestReportInstanceLimit checks that <C:expand> stops at
// MaxReportInstances across one REPORT: a calendar-query returns what fits
// and a 507 for the collection, a multiget a 507 propstat for the rest.
func TestReportInstanceLimit(t *testing.T) {
	h := newTestHandler(t)
	for _, name := range []string{"m1.ics", "m2.ics"} {
		ev := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Test//EN\r\nBEGIN:VEVENT\r\nUID:" + name +
			"\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260301T000000Z\r\nDURATION:PT1M\r\nRRULE:FREQ=MINUTELY\r\nSUMMARY:dense\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
		req := httptest.NewRequest("PUT", calendarPath+name, strings.NewReader(ev))
		req.Header.Set("Content-Type", "text/calendar")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", name, rec.Code, rec.Body.String())
		}
	}
	// One day holds 1440 instances of each event; five days 7200, so the
	// second event's would pass the limit of 10000.
	if 2*1440 > MaxReportInstances || 7200 > MaxReportInstances || 2*7200 <= MaxReportInstances {
		t.Fatalf("the cases below assume a limit between 7200 and 14400, not %d", MaxReportInstances)
	}
	expand := func(end string) string {
		return `<D:prop><C:calendar-data><C:expand start="20260301T000000Z" end="` + end + `"/></C:calendar-data></D:prop>`
	}
	query := func(end string) string {
		return `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">` + expand(end) +
			`<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY"><C:text-match>dense</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`
	}
	multiget := func(end string) string {
		return `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">` + expand(end) +
			`<D:href>` + calendarPath + `m1.ics</D:href><D:href>` + calendarPath + `m2.ics</D:href></C:calendar-multiget>`
	}
	tests := []struct {
		name, body string
		// instances is the number of expanded components in the answer.
		instances int
		limited   bool
	}{
		{"query within the limit", query("20260302T000000Z"), 2 * 1440, false},
		{"query past the limit", query("20260306T000000Z"), 7200, true},
		{"multiget within the limit", multiget("20260302T000000Z"), 2 * 1440, false},
		{"multiget past the limit", multiget("20260306T000000Z"), 7200, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := report(h, calendarPath, "1", []byte(tt.body))
			body := rec.Body.String()
			if rec.Code != http.StatusMultiStatus {
				t.Fatalf("status %d: %.500s", rec.Code, body)
			}
			if err := wellFormed(rec.Body.Bytes()); err != nil {
				t.Fatalf("not well-formed: %v", err)
			}
			if got := strings.Count(body, "BEGIN:VEVENT"); got != tt.instances {
				t.Errorf("%d instances, want %d", got, tt.instances)
			}
			limited := strings.Contains(body, "number-of-matches-within-limits") && strings.Contains(body, "507 Insufficient Storage")
			if limited != tt.limited {
				t.Errorf("limited = %v, want %v: %.2000s", limited, tt.limited, body[max(0, len(body)-2000):])
			}
		})
	}
}
