package ical

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func calFilter(comps ...CompFilter) *CompFilter {
	return &CompFilter{Name: "VCALENDAR", Comps: comps}
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func event(lines ...string) []byte {
	return wrap(append(append([]string{"BEGIN:VEVENT", "UID:e", "DTSTAMP:20240101T000000Z"}, lines...), "END:VEVENT")...)
}

func todo(lines ...string) []byte {
	return wrap(append(append([]string{"BEGIN:VTODO", "UID:t", "DTSTAMP:20240101T000000Z"}, lines...), "END:VTODO")...)
}

func journal(lines ...string) []byte {
	return wrap(append(append([]string{"BEGIN:VJOURNAL", "UID:j", "DTSTAMP:20240101T000000Z"}, lines...), "END:VJOURNAL")...)
}

func TestMatch(t *testing.T) {
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	text := func(s string) *TextMatch { return &TextMatch{Text: s} }
	propText := func(name string, tm *TextMatch) PropFilter { return PropFilter{Name: name, TextMatch: tm} }
	vevent := func(tr *TimeRange, props ...PropFilter) *CompFilter {
		return calFilter(CompFilter{Name: "VEVENT", TimeRange: tr, Props: props})
	}
	vtodo := func(tr *TimeRange) *CompFilter { return calFilter(CompFilter{Name: "VTODO", TimeRange: tr}) }
	vjournal := func(tr *TimeRange) *CompFilter { return calFilter(CompFilter{Name: "VJOURNAL", TimeRange: tr}) }
	alarm := func(parent string, tr *TimeRange) *CompFilter {
		return calFilter(CompFilter{Name: parent, Comps: []CompFilter{{Name: "VALARM", TimeRange: tr}}})
	}

	attendees := readFixture(t, "attendees.ics")
	recurring := readFixture(t, "recurring.ics")
	todoAlarm := readFixture(t, "todo-alarm.ics")
	todoCancelled := readFixture(t, "todo-cancelled.ics")
	freebusy := readFixture(t, "freebusy.ics")
	timed := event("DTSTART:20240110T100000Z", "DTEND:20240110T110000Z")
	zero := event("DTSTART:20240110T100000Z", "DURATION:PT0S")
	instant := event("DTSTART:20240110T100000Z")
	withAlarm := event("DTSTART:20240110T100000Z", "DTEND:20240110T110000Z",
		"BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER;RELATED=END:PT5M", "REPEAT:2", "DURATION:PT10M", "END:VALARM")
	absAlarm := event("DTSTART:20240110T100000Z",
		"BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER;VALUE=DATE-TIME:20240109T080000Z", "END:VALARM")
	dailyAlarm := event("DTSTART:20240110T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=5",
		"BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT15M", "END:VALARM")

	tests := []struct {
		name     string
		data     []byte
		filter   *CompFilter
		floating *time.Location
		want     bool
	}{
		// RFC 4791 section 7.8.6: event by UID, i;octet.
		{"7.8.6 uid octet", attendees, vevent(nil, propText("UID", &TextMatch{Text: "DC6C50A017428C5216A2F1CD@example.com", Collation: "i;octet"})), nil, true},
		{"7.8.6 uid octet is case-sensitive", attendees, vevent(nil, propText("UID", &TextMatch{Text: "dc6c50a017428c5216a2f1cd@example.com", Collation: "i;octet"})), nil, false},
		{"uid ascii-casemap folds", attendees, vevent(nil, propText("UID", text("dc6c50a017428c5216a2f1cd@EXAMPLE.com"))), nil, true},
		// Section 7.8.7: by PARTSTAT of one attendee.
		{"7.8.7 partstat", attendees, vevent(nil, PropFilter{Name: "ATTENDEE", TextMatch: text("mailto:lisa@example.com"),
			Params: []ParamFilter{{Name: "PARTSTAT", TextMatch: text("NEEDS-ACTION")}}}), nil, true},
		{"7.8.7 partstat of another attendee", attendees, vevent(nil, PropFilter{Name: "ATTENDEE", TextMatch: text("mailto:cyrus@example.com"),
			Params: []ParamFilter{{Name: "PARTSTAT", TextMatch: text("NEEDS-ACTION")}}}), nil, false},
		{"param is-not-defined", attendees, vevent(nil, PropFilter{Name: "ATTENDEE", Params: []ParamFilter{{Name: "ROLE", IsNotDefined: true}}}), nil, true},
		{"param missing", attendees, vevent(nil, PropFilter{Name: "LOCATION", Params: []ParamFilter{{Name: "LANGUAGE"}}}), nil, false},
		// Section 7.8.8: events only.
		{"7.8.8 events only", attendees, calFilter(CompFilter{Name: "VEVENT"}), nil, true},
		{"7.8.8 todo is not an event", todoAlarm, calFilter(CompFilter{Name: "VEVENT"}), nil, false},
		{"comp is-not-defined", attendees, calFilter(CompFilter{Name: "VTODO", IsNotDefined: true}), nil, true},
		{"comp is-not-defined fails", attendees, calFilter(CompFilter{Name: "VEVENT", IsNotDefined: true}), nil, false},
		{"nested comp is-not-defined", attendees, calFilter(CompFilter{Name: "VEVENT", Comps: []CompFilter{{Name: "VALARM", IsNotDefined: true}}}), nil, true},
		{"wrong root", attendees, &CompFilter{Name: "VCARD"}, nil, false},
		// Section 7.8.9: pending to-dos.
		{"7.8.9 pending", todoAlarm, calFilter(CompFilter{Name: "VTODO", Props: []PropFilter{{Name: "COMPLETED", IsNotDefined: true},
			{Name: "STATUS", TextMatch: &TextMatch{Text: "CANCELLED", Negate: true}}}}), nil, true},
		{"7.8.9 cancelled is not pending", todoCancelled, calFilter(CompFilter{Name: "VTODO", Props: []PropFilter{{Name: "COMPLETED", IsNotDefined: true},
			{Name: "STATUS", TextMatch: &TextMatch{Text: "CANCELLED", Negate: true}}}}), nil, false},
		// Section 7.8.5: to-dos by alarm time.
		{"7.8.5 alarm in range", todoAlarm, alarm("VTODO", rng(t, "20060106T100000Z", "20060107T100000Z")), nil, true},
		{"7.8.5 alarm out of range", todoAlarm, alarm("VTODO", rng(t, "20060106T102100Z", "20060107T100000Z")), nil, false},

		// Text matching.
		{"text unescaped", attendees, vevent(nil, propText("SUMMARY", text("#3, the one"))), nil, true},
		{"equals", attendees, vevent(nil, propText("LOCATION", &TextMatch{Text: "office", MatchType: "equals"})), nil, true},
		{"equals is whole value", attendees, vevent(nil, propText("LOCATION", &TextMatch{Text: "offic", MatchType: "equals"})), nil, false},
		{"starts-with", attendees, vevent(nil, propText("LOCATION", &TextMatch{Text: "OFF", MatchType: "starts-with"})), nil, true},
		{"ends-with", attendees, vevent(nil, propText("LOCATION", &TextMatch{Text: "ice", MatchType: "ends-with"})), nil, true},
		{"ends-with fails", attendees, vevent(nil, propText("LOCATION", &TextMatch{Text: "off", MatchType: "ends-with"})), nil, false},
		{"negated contains", attendees, vevent(nil, propText("LOCATION", &TextMatch{Text: "home", Negate: true})), nil, true},
		{"negate does not match missing property", attendees, vevent(nil, propText("DESCRIPTION", &TextMatch{Text: "home", Negate: true})), nil, false},
		{"unicode-casemap", event("DTSTART:20240110T100000Z", "SUMMARY:ÄRGER im Büro"), vevent(nil, propText("SUMMARY", &TextMatch{Text: "ärger IM bÜro", Collation: "i;unicode-casemap"})), nil, true},
		{"ascii-casemap leaves non-ascii", event("DTSTART:20240110T100000Z", "SUMMARY:ÄRGER"), vevent(nil, propText("SUMMARY", text("ärger"))), nil, false},
		{"prop is-not-defined", attendees, vevent(nil, PropFilter{Name: "DESCRIPTION", IsNotDefined: true}), nil, true},
		{"prop exists", attendees, vevent(nil, PropFilter{Name: "X-ABC-GUID"}), nil, true},
		{"all prop-filters must match", attendees, vevent(nil, PropFilter{Name: "X-ABC-GUID"}, PropFilter{Name: "DESCRIPTION"}), nil, false},

		// Property time-range.
		{"dtstamp in range", attendees, vevent(nil, PropFilter{Name: "DTSTAMP", TimeRange: rng(t, "20090101T000000Z", "20100101T000000Z")}), nil, true},
		{"dtstamp out of range", attendees, vevent(nil, PropFilter{Name: "DTSTAMP", TimeRange: rng(t, "20080101T000000Z", "20090101T000000Z")}), nil, false},

		// VEVENT time-range (section 9.9).
		{"dtend touching start", timed, vevent(rng(t, "20240110T110000Z", "20240110T120000Z")), nil, false},
		{"dtend overlapping", timed, vevent(rng(t, "20240110T105900Z", "20240110T120000Z")), nil, true},
		{"dtend touching end", timed, vevent(rng(t, "20240110T090000Z", "20240110T100000Z")), nil, false},
		{"open start", timed, vevent(rng(t, "", "20240110T100100Z")), nil, true},
		{"open end", timed, vevent(rng(t, "20240110T105900Z", "")), nil, true},
		{"zero duration at start", zero, vevent(rng(t, "20240110T100000Z", "20240110T100100Z")), nil, true},
		{"zero duration at end", zero, vevent(rng(t, "20240110T090000Z", "20240110T100000Z")), nil, false},
		{"no dtend at start", instant, vevent(rng(t, "20240110T100000Z", "20240110T100100Z")), nil, true},
		{"no dtend before", instant, vevent(rng(t, "20240110T095900Z", "20240110T100000Z")), nil, false},
		{"all-day in UTC", attendees, vevent(rng(t, "20060104T000000Z", "20060104T010000Z")), nil, true},
		{"all-day in New York", attendees, vevent(rng(t, "20060104T000000Z", "20060104T010000Z")), newYork, false},
		{"all-day next day in New York", attendees, vevent(rng(t, "20060105T040000Z", "20060105T050000Z")), newYork, true},
		{"floating in New York", event("DTSTART:20240110T100000", "DTEND:20240110T110000"), vevent(rng(t, "20240110T150000Z", "20240110T153000Z")), newYork, true},
		{"floating in UTC", event("DTSTART:20240110T100000", "DTEND:20240110T110000"), vevent(rng(t, "20240110T150000Z", "20240110T153000Z")), nil, false},

		// Recurrence (expansion with overrides).
		{"generated instance", recurring, vevent(rng(t, "20060103T170000Z", "20060103T180000Z")), nil, true},
		{"override moved into range", recurring, vevent(rng(t, "20060104T185900Z", "20060104T200000Z")), nil, true},
		{"overridden instance's old slot is free", recurring, vevent(rng(t, "20060104T170000Z", "20060104T180000Z")), nil, false},
		{"after the last instance", recurring, vevent(rng(t, "20060107T000000Z", "20060110T000000Z")), nil, false},
		{"override's own properties", recurring, vevent(rng(t, "20060104T185900Z", "20060104T200000Z"), propText("SUMMARY", text("bis"))), nil, true},
		{"master's summary does not leak into override slot", recurring, vevent(rng(t, "20060104T185900Z", "20060104T200000Z"), propText("SUMMARY", &TextMatch{Text: "Event #2", MatchType: "equals"})), nil, false},

		// VTODO table (section 9.9), one row per case.
		{"todo dtstart+duration in", todo("DTSTART:20240110T100000Z", "DURATION:PT1H"), vtodo(rng(t, "20240110T110000Z", "20240110T120000Z")), nil, true},
		{"todo dtstart+duration after", todo("DTSTART:20240110T100000Z", "DURATION:PT1H"), vtodo(rng(t, "20240110T110001Z", "20240110T120000Z")), nil, false},
		{"todo dtstart+duration before", todo("DTSTART:20240110T100000Z", "DURATION:PT1H"), vtodo(rng(t, "20240110T090000Z", "20240110T100000Z")), nil, false},
		{"todo dtstart+due in", todo("DTSTART:20240110T100000Z", "DUE:20240110T110000Z"), vtodo(rng(t, "20240110T105900Z", "20240110T120000Z")), nil, true},
		{"todo dtstart+due at due", todo("DTSTART:20240110T100000Z", "DUE:20240110T110000Z"), vtodo(rng(t, "20240110T110000Z", "20240110T120000Z")), nil, false},
		{"todo dtstart+due ending at due", todo("DTSTART:20240110T100000Z", "DUE:20240110T110000Z"), vtodo(rng(t, "20240110T090000Z", "20240110T100000Z")), nil, false},
		{"todo dtstart only in", todo("DTSTART:20240110T100000Z"), vtodo(rng(t, "20240110T100000Z", "20240110T100001Z")), nil, true},
		{"todo dtstart only after", todo("DTSTART:20240110T100000Z"), vtodo(rng(t, "20240110T100001Z", "")), nil, false},
		{"todo due only in", todo("DUE:20240110T100000Z"), vtodo(rng(t, "20240110T095959Z", "20240110T100000Z")), nil, true},
		{"todo due only at due", todo("DUE:20240110T100000Z"), vtodo(rng(t, "20240110T100000Z", "20240110T110000Z")), nil, false},
		{"todo completed+created in", todo("CREATED:20240101T000000Z", "COMPLETED:20240110T000000Z"), vtodo(rng(t, "20240105T000000Z", "20240106T000000Z")), nil, true},
		{"todo completed+created before", todo("CREATED:20240101T000000Z", "COMPLETED:20240110T000000Z"), vtodo(rng(t, "20231201T000000Z", "20231231T000000Z")), nil, false},
		{"todo completed+created after", todo("CREATED:20240101T000000Z", "COMPLETED:20240110T000000Z"), vtodo(rng(t, "20240111T000000Z", "")), nil, false},
		{"todo completed only at", todo("COMPLETED:20240110T000000Z"), vtodo(rng(t, "20240110T000000Z", "20240110T000000Z")), nil, true},
		{"todo completed only before", todo("COMPLETED:20240110T000000Z"), vtodo(rng(t, "20240110T000001Z", "")), nil, false},
		{"todo created only", todo("CREATED:20240110T000000Z"), vtodo(rng(t, "20240201T000000Z", "")), nil, true},
		{"todo created only after end", todo("CREATED:20240110T000000Z"), vtodo(rng(t, "", "20240110T000000Z")), nil, false},
		{"todo without dates", todo("SUMMARY:x"), vtodo(rng(t, "19000101T000000Z", "19000102T000000Z")), nil, true},
		{"thisandfuture: a later instance where it moved", thisAndFuture, vevent(rng(t, "20240113T140000Z", "20240113T170000Z")), nil, true},
		{"thisandfuture: not where it was", thisAndFuture, vevent(rng(t, "20240113T083000Z", "20240113T093000Z")), nil, false},
		{"thisandfuture: earlier instances stay", thisAndFuture, vevent(rng(t, "20240111T083000Z", "20240111T093000Z")), nil, true},
		{"recurring todo third instance", todo("DTSTART:20240110T100000Z", "DUE:20240110T110000Z", "RRULE:FREQ=DAILY;COUNT=5"), vtodo(rng(t, "20240112T103000Z", "20240112T104000Z")), nil, true},
		{"recurring todo between instances", todo("DTSTART:20240110T100000Z", "DUE:20240110T110000Z", "RRULE:FREQ=DAILY;COUNT=5"), vtodo(rng(t, "20240112T120000Z", "20240112T130000Z")), nil, false},

		// VJOURNAL.
		{"journal date-time", journal("DTSTART:20240110T100000Z"), vjournal(rng(t, "20240110T100000Z", "20240110T110000Z")), nil, true},
		{"journal date-time before", journal("DTSTART:20240110T100000Z"), vjournal(rng(t, "20240110T090000Z", "20240110T100000Z")), nil, false},
		{"journal date covers the day", journal("DTSTART;VALUE=DATE:20240110"), vjournal(rng(t, "20240110T230000Z", "20240111T000000Z")), nil, true},
		{"journal date next day", journal("DTSTART;VALUE=DATE:20240110"), vjournal(rng(t, "20240111T000000Z", "20240112T000000Z")), nil, false},
		{"journal without dtstart", journal("SUMMARY:x"), vjournal(rng(t, "", "20300101T000000Z")), nil, false},

		// VFREEBUSY.
		{"freebusy period", freebusy, calFilter(CompFilter{Name: "VFREEBUSY", TimeRange: rng(t, "20060110T103000Z", "20060110T110000Z")}), nil, true},
		{"freebusy gap", freebusy, calFilter(CompFilter{Name: "VFREEBUSY", TimeRange: rng(t, "20060105T000000Z", "20060106T000000Z")}), nil, false},
		{"freebusy dtstart/dtend", wrap("BEGIN:VFREEBUSY", "UID:f", "DTSTART:20060101T000000Z", "DTEND:20060102T000000Z", "END:VFREEBUSY"),
			calFilter(CompFilter{Name: "VFREEBUSY", TimeRange: rng(t, "20060101T120000Z", "20060101T130000Z")}), nil, true},

		// VALARM.
		{"alarm repeat in range", withAlarm, alarm("VEVENT", rng(t, "20240110T112000Z", "20240110T113000Z")), nil, true},
		{"alarm after last repeat", withAlarm, alarm("VEVENT", rng(t, "20240110T112600Z", "20240110T120000Z")), nil, false},
		{"alarm absolute", absAlarm, alarm("VEVENT", rng(t, "20240109T080000Z", "20240109T080100Z")), nil, true},
		{"alarm absolute out", absAlarm, alarm("VEVENT", rng(t, "20240110T000000Z", "20240111T000000Z")), nil, false},
		{"alarm of third instance", dailyAlarm, alarm("VEVENT", rng(t, "20240112T094000Z", "20240112T095000Z")), nil, true},
		{"alarm between instances", dailyAlarm, alarm("VEVENT", rng(t, "20240112T095000Z", "20240112T200000Z")), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := mustParse(t, tt.data)
			got, err := o.Match(tt.filter, tt.floating)
			if err != nil {
				t.Fatalf("Match: %v", err)
			}
			if got != tt.want {
				t.Fatalf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMatchUnsupported(t *testing.T) {
	o := mustParse(t, readFixture(t, "attendees.ics"))
	// Section 7.8.10: an unknown collation is refused even where no
	// property would be compared.
	f := calFilter(CompFilter{Name: "VTODO", Props: []PropFilter{{Name: "SUMMARY", TextMatch: &TextMatch{Text: "x", Collation: "i;ascii-numeric"}}}})
	if _, err := o.Match(f, nil); !errors.Is(err, ErrUnsupportedCollation) {
		t.Fatalf("err = %v, want ErrUnsupportedCollation", err)
	}
	f = calFilter(CompFilter{Name: "VEVENT", Props: []PropFilter{{Name: "ATTENDEE", Params: []ParamFilter{{Name: "PARTSTAT", TextMatch: &TextMatch{Text: "x", Collation: "en-US"}}}}}})
	if _, err := o.Match(f, nil); !errors.Is(err, ErrUnsupportedCollation) {
		t.Fatalf("param collation: err = %v", err)
	}
	f = calFilter(CompFilter{Name: "VEVENT", Props: []PropFilter{{Name: "SUMMARY", TextMatch: &TextMatch{Text: "x", MatchType: "regex"}}}})
	if _, err := o.Match(f, nil); !errors.Is(err, ErrUnsupportedMatchType) {
		t.Fatalf("match type: err = %v", err)
	}
}

// TestValidateFilter: RFC 4791 7.8's valid-filter precondition refuses
// filters that nest components as iCalendar does not, or put a time-range
// where section 9.9 gives it no meaning; unknown names pass.
func TestValidateFilter(t *testing.T) {
	tr := &TimeRange{Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	tests := []struct {
		name   string
		filter *CompFilter
		valid  bool
	}{
		{"event in range", calFilter(CompFilter{Name: "VEVENT", TimeRange: tr}), true},
		{"alarm in todo", calFilter(CompFilter{Name: "VTODO", Comps: []CompFilter{{Name: "VALARM", TimeRange: tr}}}), true},
		{"dtstart in range", calFilter(CompFilter{Name: "VEVENT", Props: []PropFilter{{Name: "DTSTART", TimeRange: tr}}}), true},
		{"x- property in range", calFilter(CompFilter{Name: "VEVENT", Props: []PropFilter{{Name: "X-WHEN", TimeRange: tr}}}), true},
		{"x- component in event", calFilter(CompFilter{Name: "VEVENT", Comps: []CompFilter{{Name: "X-THING"}}}), true},
		{"standard in timezone", calFilter(CompFilter{Name: "VTIMEZONE", Comps: []CompFilter{{Name: "STANDARD"}}}), true},
		{"time-range on vcalendar", &CompFilter{Name: "VCALENDAR", TimeRange: tr}, false},
		{"time-range on vtimezone", calFilter(CompFilter{Name: "VTIMEZONE", TimeRange: tr}), false},
		{"time-range on summary", calFilter(CompFilter{Name: "VEVENT", Props: []PropFilter{{Name: "SUMMARY", TimeRange: tr}}}), false},
		{"event in event", calFilter(CompFilter{Name: "VEVENT", Comps: []CompFilter{{Name: "VEVENT"}}}), false},
		{"alarm in journal", calFilter(CompFilter{Name: "VJOURNAL", Comps: []CompFilter{{Name: "VALARM"}}}), false},
		{"vcalendar inside", calFilter(CompFilter{Name: "VCALENDAR"}), false},
		{"event at the root", &CompFilter{Name: "VEVENT"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.filter.Validate()
			if tt.valid && err != nil {
				t.Fatalf("Validate = %v, want nil", err)
			}
			if !tt.valid && !errors.Is(err, ErrInvalidFilter) {
				t.Fatalf("Validate = %v, want ErrInvalidFilter", err)
			}
		})
	}
}

func TestQueryRange(t *testing.T) {
	tr := rng(t, "20240110T000000Z", "20240111T000000Z")
	tests := []struct {
		name   string
		filter *CompFilter
		ok     bool
	}{
		{"event range", calFilter(CompFilter{Name: "VEVENT", TimeRange: tr}), true},
		{"no range", calFilter(CompFilter{Name: "VEVENT"}), false},
		{"alarm range only", calFilter(CompFilter{Name: "VEVENT", Comps: []CompFilter{{Name: "VALARM", TimeRange: tr}}}), false},
		{"negated", calFilter(CompFilter{Name: "VEVENT", IsNotDefined: true, TimeRange: tr}), false},
		{"two ranges", calFilter(CompFilter{Name: "VEVENT", TimeRange: tr}, CompFilter{Name: "VTODO", TimeRange: tr}), false},
		{"root negated", &CompFilter{Name: "VCALENDAR", IsNotDefined: true, Comps: []CompFilter{{Name: "VEVENT", TimeRange: tr}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := QueryRange(tt.filter)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if ok && (!got.Start.Equal(tr.Start.Add(-FloatingSlack)) || !got.End.Equal(tr.End.Add(FloatingSlack))) {
				t.Fatalf("range = %+v, want %+v widened by %v", got, tr, FloatingSlack)
			}
		})
	}
}
