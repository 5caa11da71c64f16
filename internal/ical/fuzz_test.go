package ical

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// FuzzParse checks that no input makes Parse panic and that whatever it
// accepts can be indexed, filtered and rendered.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.ics"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(event("DTSTART:20240110T100000Z", "RRULE:FREQ=DAILY;COUNT=3"))
	f.Add(todo("DUE;VALUE=DATE:20240110", "BEGIN:VALARM", "TRIGGER;RELATED=END:-PT5M", "REPEAT:3", "DURATION:PT1M", "END:VALARM"))
	f.Add([]byte("BEGIN:VCALENDAR\r\nX;A=\"b\"\r\nEND:VCALENDAR\r\n"))
	horizon := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tr := TimeRange{Start: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := Parse(data)
		if err != nil {
			return
		}
		var dst store.Object
		o.Index(&dst, horizon)
		comp := CompFilter{Name: o.Component, TimeRange: &tr}
		if o.Component == "VEVENT" || o.Component == "VTODO" {
			comp.Comps = []CompFilter{{Name: "VALARM", TimeRange: &tr}}
		}
		filter := calFilter(comp)
		if _, err := o.Match(filter, nil); err != nil {
			t.Fatalf("Match: %v", err)
		}
		out, err := o.Render(data, &CalendarData{Expand: &tr}, nil)
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		if _, err := ParseCalendar(out); err != nil {
			t.Fatalf("rendered output does not parse: %v\n%q", err, out)
		}
		if _, err := o.BusyPeriods(tr, nil); err != nil {
			t.Fatalf("BusyPeriods: %v", err)
		}
	})
}
