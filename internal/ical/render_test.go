package ical

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/render")

func TestRenderIdentity(t *testing.T) {
	data := readFixture(t, "recurring.ics")
	o := mustParse(t, data)
	for _, d := range []*CalendarData{nil, {}} {
		got, err := o.Render(data, d, nil)
		if err != nil {
			t.Fatal(err)
		}
		if &got[0] != &data[0] {
			t.Fatalf("identity render copied or changed the bytes")
		}
	}
}

func TestRenderGolden(t *testing.T) {
	tests := []struct {
		golden  string
		fixture string
		data    *CalendarData
	}{
		{"expand.ics", "recurring.ics", &CalendarData{Expand: rng(t, "20060103T000000Z", "20060105T000000Z")}},
		{"limit-recurrence-set.ics", "recurring.ics", &CalendarData{LimitRecurrenceSet: rng(t, "20060103T000000Z", "20060105T000000Z")}},
		{"limit-freebusy-set.ics", "freebusy.ics", &CalendarData{LimitFreeBusySet: rng(t, "20060102T000000Z", "20060103T000000Z")}},
		{"partial.ics", "recurring.ics", &CalendarData{Comp: &CompSelector{
			Name:  "VCALENDAR",
			Props: []PropSelector{{Name: "VERSION"}},
			Comps: []CompSelector{{
				Name:  "VEVENT",
				Props: []PropSelector{{Name: "SUMMARY"}, {Name: "UID"}, {Name: "DTSTART"}, {Name: "RECURRENCE-ID", NoValue: true}},
			}},
		}}},
		{"partial-expand.ics", "recurring.ics", &CalendarData{
			Expand: rng(t, "20060104T000000Z", "20060107T000000Z"),
			Comp: &CompSelector{Name: "VCALENDAR", AllProps: true, Comps: []CompSelector{{
				Name: "VEVENT", Props: []PropSelector{{Name: "SUMMARY"}, {Name: "DTSTART"}, {Name: "DURATION"}, {Name: "RECURRENCE-ID"}},
			}}},
		}},
		{"allcomp.ics", "attendees.ics", &CalendarData{Comp: &CompSelector{Name: "VCALENDAR", AllProps: true, AllComps: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			data := readFixture(t, tt.fixture)
			o := mustParse(t, data)
			got, err := o.Render(data, tt.data, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ParseCalendar(got); err != nil {
				t.Fatalf("rendered output does not parse: %v\n%s", err, got)
			}
			path := filepath.Join("testdata", "render", tt.golden)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestRenderExpandInstances(t *testing.T) {
	o := mustParse(t, readFixture(t, "recurring.ics"))
	got, err := o.Render(nil, &CalendarData{Expand: rng(t, "20060103T000000Z", "20060105T000000Z")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cal, err := ParseCalendar(got)
	if err != nil {
		t.Fatal(err)
	}
	var starts, rids []string
	for _, c := range cal.Children {
		if c.Name != "VEVENT" {
			t.Fatalf("unexpected %s in expanded output", c.Name)
		}
		for _, name := range []string{"RRULE", "RDATE", "EXDATE"} {
			if len(c.Props[name]) > 0 {
				t.Errorf("expanded instance keeps %s", name)
			}
		}
		starts = append(starts, propValue(c, "DTSTART"))
		rids = append(rids, propValue(c, "RECURRENCE-ID"))
	}
	if want := "20060103T170000Z 20060104T190000Z"; strings.Join(starts, " ") != want {
		t.Errorf("DTSTARTs = %v, want %s", starts, want)
	}
	if want := "20060103T170000Z 20060104T170000Z"; strings.Join(rids, " ") != want {
		t.Errorf("RECURRENCE-IDs = %v, want %s", rids, want)
	}
}

func TestRenderFoldsLongLines(t *testing.T) {
	long := strings.Repeat("Grüße aus Köln, ", 20)
	data := event("DTSTART:20240110T100000Z", "SUMMARY:"+long)
	o := mustParse(t, data)
	got, err := o.Render(data, &CalendarData{Comp: &CompSelector{Name: "VCALENDAR", AllProps: true, AllComps: true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(got), "\r\n") {
		if len(line) > 75 {
			t.Fatalf("line of %d octets: %q", len(line), line)
		}
	}
	back := mustParse(t, got)
	if s := propValue(back.components()[0], "SUMMARY"); s != long {
		t.Fatalf("folded summary reads back as %q", s)
	}
}

func TestRenderWrongRoot(t *testing.T) {
	data := readFixture(t, "attendees.ics")
	o := mustParse(t, data)
	if _, err := o.Render(data, &CalendarData{Comp: &CompSelector{Name: "VCARD"}}, nil); err == nil {
		t.Fatal("selector for VCARD accepted")
	}
}

func TestRenderInstanceBudget(t *testing.T) {
	daily := wrap("BEGIN:VEVENT", "UID:d", "DTSTAMP:20260101T000000Z", "DTSTART:20260101T090000Z",
		"DURATION:PT1H", "RRULE:FREQ=DAILY", "END:VEVENT")
	single := wrap("BEGIN:VEVENT", "UID:s", "DTSTAMP:20260101T000000Z", "DTSTART:20260101T090000Z",
		"DURATION:PT1H", "END:VEVENT")
	tenDays := rng(t, "20260101T000000Z", "20260111T000000Z")
	tests := []struct {
		name   string
		budget int
		data   [][]byte
		// ok is how many renders succeed, in order; left is the budget after.
		ok, left int
	}{
		{"within", 25, [][]byte{daily, daily}, 2, 5},
		{"exact", 20, [][]byte{daily, daily}, 2, 0},
		{"second overdraws", 15, [][]byte{daily, daily}, 1, 5},
		{"first overdraws", 9, [][]byte{daily}, 0, 9},
		{"single events are not counted", 0, [][]byte{single, single}, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewInstanceBudget(tt.budget)
			cd := &CalendarData{Expand: tenDays, Budget: b}
			ok := 0
			for _, data := range tt.data {
				out, err := mustParse(t, data).Render(data, cd, nil)
				if err != nil {
					if !errors.Is(err, ErrInstanceLimit) {
						t.Fatalf("Render: %v", err)
					}
					break
				}
				if strings.Contains(string(out), "RRULE") {
					t.Fatalf("not expanded:\n%s", out)
				}
				ok++
			}
			if ok != tt.ok || b.Left() != tt.left {
				t.Errorf("renders ok = %d, left = %d; want %d, %d", ok, b.Left(), tt.ok, tt.left)
			}
		})
	}
}
