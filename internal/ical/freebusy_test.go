package ical

import (
	"reflect"
	"strings"
	"testing"
)

// thisAndFuture is a daily event at 09:00 whose instances from the 12th
// on move to 15:00 (RFC 5545 3.8.4.4, RANGE=THISANDFUTURE).
var thisAndFuture = wrap(
	"BEGIN:VEVENT", "UID:f", "DTSTAMP:20240101T000000Z", "DTSTART:20240110T090000Z", "DTEND:20240110T100000Z",
	"RRULE:FREQ=DAILY;COUNT=6", "END:VEVENT",
	"BEGIN:VEVENT", "UID:f", "DTSTAMP:20240101T000000Z", "RECURRENCE-ID;RANGE=THISANDFUTURE:20240112T090000Z",
	"DTSTART:20240112T150000Z", "DTEND:20240112T160000Z", "END:VEVENT")

func TestBusyPeriods(t *testing.T) {
	type period struct{ start, end, typ string }
	tests := []struct {
		name string
		data []byte
		tr   *TimeRange
		want []period
	}{
		{"opaque event", event("DTSTART:20240110T100000Z", "DTEND:20240110T110000Z"), rng(t, "20240110T000000Z", "20240111T000000Z"),
			[]period{{"20240110T100000Z", "20240110T110000Z", "BUSY"}}},
		{"clipped", event("DTSTART:20240110T100000Z", "DTEND:20240110T110000Z"), rng(t, "20240110T103000Z", "20240111T000000Z"),
			[]period{{"20240110T103000Z", "20240110T110000Z", "BUSY"}}},
		{"transparent", event("DTSTART:20240110T100000Z", "DTEND:20240110T110000Z", "TRANSP:TRANSPARENT"), rng(t, "20240110T000000Z", "20240111T000000Z"), nil},
		{"cancelled", event("DTSTART:20240110T100000Z", "DTEND:20240110T110000Z", "STATUS:CANCELLED"), rng(t, "20240110T000000Z", "20240111T000000Z"), nil},
		{"tentative", event("DTSTART:20240110T100000Z", "DTEND:20240110T110000Z", "STATUS:TENTATIVE"), rng(t, "20240110T000000Z", "20240111T000000Z"),
			[]period{{"20240110T100000Z", "20240110T110000Z", "BUSY-TENTATIVE"}}},
		{"all-day counts", event("DTSTART;VALUE=DATE:20240110"), rng(t, "20240109T000000Z", "20240112T000000Z"),
			[]period{{"20240110T000000Z", "20240111T000000Z", "BUSY"}}},
		{"zero duration gives nothing", event("DTSTART:20240110T100000Z"), rng(t, "20240110T000000Z", "20240111T000000Z"), nil},
		{"out of range", event("DTSTART:20240110T100000Z", "DTEND:20240110T110000Z"), rng(t, "20240111T000000Z", "20240112T000000Z"), nil},
		{"recurring with override", readFixture(t, "recurring.ics"), rng(t, "20060103T000000Z", "20060105T000000Z"),
			[]period{{"20060103T170000Z", "20060103T180000Z", "BUSY"}, {"20060104T190000Z", "20060104T200000Z", "BUSY"}}},
		{"vfreebusy", readFixture(t, "freebusy.ics"), rng(t, "20060102T110000Z", "20060105T000000Z"),
			[]period{{"20060102T110000Z", "20060102T120000Z", "BUSY"}, {"20060103T100000Z", "20060103T120000Z", "BUSY-TENTATIVE"}}},
		{"thisandfuture moves the later instances", thisAndFuture, rng(t, "20240112T000000Z", "20240114T000000Z"),
			[]period{{"20240112T150000Z", "20240112T160000Z", "BUSY"}, {"20240113T150000Z", "20240113T160000Z", "BUSY"}}},
		{"todo is never busy", todo("DTSTART:20240110T100000Z", "DUE:20240110T110000Z"), rng(t, "20240110T000000Z", "20240111T000000Z"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := mustParse(t, tt.data)
			got, err := o.BusyPeriods(*tt.tr, nil)
			if err != nil {
				t.Fatal(err)
			}
			var gotP []period
			for _, p := range got {
				gotP = append(gotP, period{formatUTC(p.Start), formatUTC(p.End), p.Type})
			}
			if !reflect.DeepEqual(gotP, tt.want) {
				t.Fatalf("got %v, want %v", gotP, tt.want)
			}
		})
	}
}

func TestFreeBusyCalendar(t *testing.T) {
	p := func(s, e, typ string) BusyPeriod { return BusyPeriod{Start: utc(t, s), End: utc(t, e), Type: typ} }
	periods := []BusyPeriod{
		p("20240110T120000Z", "20240110T130000Z", "BUSY"),
		p("20240110T100000Z", "20240110T110000Z", "BUSY"),
		p("20240110T103000Z", "20240110T120000Z", "BUSY"), // bridges the two above
		p("20240110T103000Z", "20240110T113000Z", "BUSY-TENTATIVE"),
		p("20240110T150000Z", "20240110T160000Z", "BUSY-UNAVAILABLE"),
	}
	got := string(FreeBusyCalendar(periods, *rng(t, "20240110T000000Z", "20240111T000000Z"), utc(t, "20240101T120000Z")))
	want := strings.Join([]string{
		"BEGIN:VCALENDAR",
		"VERSION:2.0",
		"PRODID:-//Koyomi//Koyomi//EN",
		"BEGIN:VFREEBUSY",
		"DTSTAMP:20240101T120000Z",
		"DTSTART:20240110T000000Z",
		"DTEND:20240111T000000Z",
		"FREEBUSY:20240110T100000Z/20240110T130000Z",
		"FREEBUSY;FBTYPE=BUSY-TENTATIVE:20240110T103000Z/20240110T113000Z",
		"FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20240110T150000Z/20240110T160000Z",
		"END:VFREEBUSY",
		"END:VCALENDAR",
		"",
	}, "\r\n")
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	if _, err := ParseCalendar([]byte(got)); err != nil {
		t.Fatal(err)
	}
}
