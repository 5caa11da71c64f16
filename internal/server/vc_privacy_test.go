package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/vcal"
)

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// randomEvent returns an event whose every stripped field carries a marker
// naming it.
func randomEvent(r *rand.Rand, i int) string {
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(14*24*4)) * 15 * time.Minute)
	dur := time.Duration(1+r.IntN(40)) * 15 * time.Minute
	if r.IntN(8) == 0 {
		dur = time.Duration(1+r.IntN(3)) * 24 * time.Hour
	}
	uid := fmt.Sprintf("ev%d", i)
	lines := []string{"BEGIN:VEVENT", "UID:" + uid, "DTSTAMP:20260101T000000Z"}
	if r.IntN(6) == 0 {
		lines = append(lines, "DTSTART;VALUE=DATE:"+start.Format("20060102"))
	} else {
		lines = append(lines, "DTSTART:"+start.Format("20060102T150405Z"), "DTEND:"+start.Add(dur).Format("20060102T150405Z"))
	}
	recurring := r.IntN(3) == 0
	if recurring {
		lines = append(lines, fmt.Sprintf("RRULE:FREQ=DAILY;INTERVAL=%d;COUNT=%d", 1+r.IntN(3), 2+r.IntN(5)))
	}
	classes := []string{"PUBLIC", "PUBLIC", "PUBLIC", "PRIVATE", "CONFIDENTIAL"}
	lines = append(lines,
		fmt.Sprintf("SUMMARY:TITLE-%d", i), fmt.Sprintf("DESCRIPTION:SECRET-D-%d", i), fmt.Sprintf("LOCATION:SECRET-L-%d", i),
		fmt.Sprintf("ATTENDEE;CN=SECRET-A-%d:mailto:a%d@example.org", i, i), fmt.Sprintf("X-PRIVATE-NOTE:SECRET-X-%d", i),
		"CLASS:"+classes[r.IntN(len(classes))],
		"BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT15M", fmt.Sprintf("DESCRIPTION:SECRET-V-%d", i), "END:VALARM", "END:VEVENT")
	if recurring && r.IntN(2) == 0 {
		moved := start.Add(24*time.Hour + time.Duration(r.IntN(24))*time.Hour)
		lines = append(lines, "BEGIN:VEVENT", "UID:"+uid, "DTSTAMP:20260101T000000Z",
			"RECURRENCE-ID:"+start.Add(24*time.Hour).Format("20060102T150405Z"),
			"DTSTART:"+moved.Format("20060102T150405Z"), "DTEND:"+moved.Add(dur).Format("20060102T150405Z"),
			fmt.Sprintf("SUMMARY:TITLE-%d", i), fmt.Sprintf("DESCRIPTION:SECRET-D-%d", i), "END:VEVENT")
	}
	return ics(lines...)
}

// randomFilter returns the same random filter for the engine and as a
// definition.
func randomFilter(r *rand.Rand) (*vcal.Filter, *domain.FilterDef) {
	levels := []string{"full", "summary", "busy", "hidden"}
	def := &domain.FilterDef{Default: levels[r.IntN(4)], Zone: "Europe/Berlin"}
	for range r.IntN(4) {
		rd := domain.RuleDef{Level: levels[r.IntN(4)]}
		switch r.IntN(3) {
		case 0:
			from := r.IntN(23)
			rd.From, rd.To = fmt.Sprintf("%02d:00", from), fmt.Sprintf("%02d:30", from+1)
		case 1:
			for d := range 7 {
				if r.IntN(3) == 0 {
					rd.Weekdays = append(rd.Weekdays, dayNames[d])
				}
			}
			if len(rd.Weekdays) == 0 {
				rd.Weekdays = []string{"sat"}
			}
		default:
			rd.Classes, rd.NotClasses = []string{"PUBLIC"}, r.IntN(2) == 0
		}
		def.Rules = append(def.Rules, rd)
	}
	f := &vcal.Filter{Zone: def.Zone}
	f.Default, _ = vcal.ParseLevel(def.Default)
	for _, rd := range def.Rules {
		vr := vcal.Rule{Classes: rd.Classes, NotClasses: rd.NotClasses}
		vr.Level, _ = vcal.ParseLevel(rd.Level)
		if rd.From != "" {
			vr.TimeOfDay = &vcal.TimeWindow{From: rd.From, To: rd.To}
		}
		for _, d := range rd.Weekdays {
			for i, n := range dayNames {
				if n == d {
					vr.Weekdays = append(vr.Weekdays, time.Weekday(i))
				}
			}
		}
		f.Rules = append(f.Rules, vr)
	}
	return f, def
}

// For random events and random rules, no marker of a field that every
// occurrence's level strips reaches the viewer, through any REPORT, GET or
// sync; an event all of whose occurrences are hidden does not appear.
func TestVirtualCalendarPrivacyOverHTTP(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(2026, 11))
	const events, filters = 30, 6
	srv := newTestServer(t)
	svc := srv.Service()
	sources := make([][]byte, events)
	for i := range events {
		sources[i] = []byte(randomEvent(r, i))
		putEvent(t, srv, "alice", fmt.Sprintf("/dav/calendars/alice/default/ev%d.ics", i), string(sources[i]))
	}
	window := ical.TimeRange{Start: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)}
	for k := range filters {
		f, def := randomFilter(r)
		vc, err := svc.CreateVC(ctx, "alice", domain.VCSpec{Name: fmt.Sprintf("view%d", k), SharedWith: []string{"user:bob"},
			Definition: domain.VCNode{Filter: def, Of: &domain.VCNode{Calendar: "default"}}})
		if err != nil {
			t.Fatalf("filter %d %+v: %v", k, def, err)
		}
		base := "/dav/calendars/bob/vc-" + itoa(vc.ID) + "/"
		var seen strings.Builder
		for _, q := range []string{
			`<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>`,
			`<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data><C:expand start="20260101T000000Z" end="20260301T000000Z"/></C:calendar-data></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20260101T000000Z" end="20260301T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
			`<D:sync-collection xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><C:calendar-data/></D:prop></D:sync-collection>`,
		} {
			code, body := as(t, srv, "bob", "REPORT", base, q, "Depth", "1")
			if code != http.StatusMultiStatus {
				t.Fatalf("REPORT: %d %s", code, body)
			}
			seen.WriteString(body)
		}
		var multiget strings.Builder
		multiget.WriteString(`<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop>`)
		for i := range events {
			fmt.Fprintf(&multiget, "<D:href>%sev%d.ics</D:href>", base, i)
			_, body := as(t, srv, "bob", http.MethodGet, fmt.Sprintf("%sev%d.ics", base, i), "")
			seen.WriteString(body)
		}
		multiget.WriteString(`</C:calendar-multiget>`)
		_, body := as(t, srv, "bob", "REPORT", base, multiget.String(), "Depth", "1")
		seen.WriteString(body)
		all := seen.String()

		for i := range events {
			obj, err := ical.Parse(sources[i])
			if err != nil {
				t.Fatal(err)
			}
			levels, err := vcal.LevelsFor(obj, "alice/default", []*vcal.Filter{f}, vcal.Options{Window: window, Now: fixedClock()})
			if err != nil {
				t.Fatal(err)
			}
			best := vcal.Hidden
			for _, l := range levels {
				best = min(best, l.Level)
			}
			for _, field := range []string{"D", "L", "A", "X", "V"} {
				marker := fmt.Sprintf("SECRET-%s-%d<", field, i)
				marker2 := fmt.Sprintf("SECRET-%s-%d\r", field, i)
				if best != vcal.Full && (strings.Contains(all, marker) || strings.Contains(all, marker2)) {
					t.Errorf("filter %d (%+v): event %d at best %v leaks %s", k, def, i, best, strings.TrimSuffix(marker, "<"))
				}
			}
			title := fmt.Sprintf("TITLE-%d\r", i)
			if best > vcal.Summary && strings.Contains(all, title) {
				t.Errorf("filter %d: event %d at best %v leaks its title", k, i, best)
			}
			if best == vcal.Hidden && strings.Contains(all, fmt.Sprintf("UID:ev%d\r", i)) {
				t.Errorf("filter %d: event %d is hidden but appears", k, i)
			}
			if best == vcal.Full && !strings.Contains(all, fmt.Sprintf("SECRET-D-%d", i)) {
				t.Errorf("filter %d: event %d has a full occurrence but its description never appears", k, i)
			}
		}
	}
}
