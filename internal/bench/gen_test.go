package bench

import (
	"strings"
	"testing"
	"time"
)

func TestGenerateIsReproducible(t *testing.T) {
	a, err := generate(42, 300, 40)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := generate(42, 300, 40)
	c, _ := generate(43, 300, 40)
	same, differ := true, false
	for i := range a.events {
		same = same && a.events[i].ics(0) == b.events[i].ics(0)
		differ = differ || a.events[i].ics(0) != c.events[i].ics(0)
	}
	for i := range a.contacts {
		same = same && a.contacts[i].vcf(a.photo) == b.contacts[i].vcf(b.photo)
	}
	if !same {
		t.Error("the same seed gave different data")
	}
	if !differ {
		t.Error("different seeds gave the same events")
	}
}

func TestGeneratedMix(t *testing.T) {
	ds, err := generate(1, 2000, 500)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	recurring := 0
	for _, ev := range ds.events {
		if ev.freq != "" {
			recurring++
		}
		text := ev.ics(0)
		for _, feature := range []string{"RRULE", "EXDATE", "RECURRENCE-ID", "VALUE=DATE", "TZID=Europe/Berlin",
			"TZID=America/New_York", "BEGIN:VTIMEZONE", "ATTENDEE", "BEGIN:VALARM", "UNTIL=", "COUNT="} {
			if strings.Contains(text, feature) {
				count[feature]++
			}
		}
		for _, l := range strings.Split(text, "\r\n") {
			if len(l) > 75 {
				t.Fatalf("%s: line longer than 75 octets: %q", ev.Name, l)
			}
		}
		if len(ev.instances) == 0 {
			t.Fatalf("%s has no instances", ev.Name)
		}
	}
	if r := recurring; r < 300 || r > 500 {
		t.Errorf("%d recurring events of 2000, want about 20%%", r)
	}
	for _, f := range []string{"EXDATE", "RECURRENCE-ID", "VALUE=DATE", "TZID=Europe/Berlin", "TZID=America/New_York",
		"BEGIN:VTIMEZONE", "ATTENDEE", "BEGIN:VALARM", "UNTIL=", "COUNT="} {
		if count[f] == 0 {
			t.Errorf("no event has %s", f)
		}
	}
	photos := 0
	for _, c := range ds.contacts {
		if strings.Contains(c.vcf(ds.photo), "PHOTO;") {
			photos++
		}
	}
	if photos < 25 || photos > 80 {
		t.Errorf("%d of 500 contacts have a photo, want about 10%%", photos)
	}
}

// A weekly Berlin event across the spring change keeps its wall-clock
// time, so its UTC start moves by an hour; EXDATE and a moved override are
// honoured; ranges are half-open.
func TestExpandKnownEvent(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	ev := &event{tzid: "Europe/Berlin", start: time.Date(2025, 3, 20, 9, 0, 0, 0, time.UTC), duration: time.Hour,
		freq: "WEEKLY", interval: 1, ruleN: 4, exdate: 2, override: 3, moveShift: 26 * time.Hour}
	ev.expand(berlin)
	// Summer time starts on 30 March: CET before, CEST after.
	want := []string{"20250320T080000Z", "20250327T080000Z", "20250411T090000Z"}
	if len(ev.instances) != len(want) {
		t.Fatalf("instances %v, want %v", ev.instances, want)
	}
	for i, iv := range ev.instances {
		if got := iv.Start.Format(icalUTC); got != want[i] {
			t.Errorf("instance %d starts %s, want %s", i, got, want[i])
		}
	}
	ds := &dataset{events: []*event{ev}}
	for _, tc := range []struct {
		from, to  string
		matches   int
		instances int
	}{
		{"20250401T000000Z", "20250408T000000Z", 0, 0}, // the excluded week
		{"20250410T000000Z", "20250412T000000Z", 1, 1}, // the moved instance
		{"20250417T000000Z", "20250418T000000Z", 0, 0}, // where it was
		{"20250301T000000Z", "20250501T000000Z", 1, 3},
		{"20250327T090000Z", "20250327T100000Z", 0, 0}, // ends exactly at the range start
		{"20250327T085959Z", "20250327T100000Z", 1, 1},
	} {
		from, _ := time.Parse(icalUTC, tc.from)
		to, _ := time.Parse(icalUTC, tc.to)
		idx, n := ds.matching(interval{from, to})
		if len(idx) != tc.matches || n != tc.instances {
			t.Errorf("%s..%s: %d matches, %d instances; want %d, %d", tc.from, tc.to, len(idx), n, tc.matches, tc.instances)
		}
	}
	ev.count = 0
	ev.expand(berlin)
	if got := ev.until.Format(icalUTC); got != "20250410T080000Z" {
		t.Errorf("UNTIL %s, want an hour after the last rule start", got)
	}
}

func TestContactsMatching(t *testing.T) {
	ds := &dataset{contacts: []*contact{{FN: "Anna Weber"}, {FN: "Paul Webster"}, {FN: "Rosa Xu"}}}
	for _, tc := range []struct {
		text string
		want int
	}{{"weber", 1}, {"WEB", 2}, {"xu", 1}, {"zz", 0}} {
		if got := len(ds.contactsMatching(tc.text)); got != tc.want {
			t.Errorf("%q: %d matches, want %d", tc.text, got, tc.want)
		}
	}
}
