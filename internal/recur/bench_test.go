package recur

import "testing"

func BenchmarkExpandDailyBerlinYear(b *testing.B) {
	comps, res := parse(b, `BEGIN:VEVENT
		UID:a
		DTSTART;TZID=Europe/Berlin:20200101T090000
		DTEND;TZID=Europe/Berlin:20200101T100000
		RRULE:FREQ=DAILY
		EXDATE;TZID=Europe/Berlin:20300105T090000
		END:VEVENT`)
	opts := Options{TZ: res, Start: utc(b, "20300101T000000Z"), End: utc(b, "20310101T000000Z")}
	for b.Loop() {
		got, err := Expand(comps, opts)
		if err != nil || len(got) != 364 {
			b.Fatalf("%d instances, %v", len(got), err)
		}
	}
}

func BenchmarkExpandMaxInstances(b *testing.B) {
	comps, res := parse(b, `BEGIN:VEVENT
		UID:a
		DTSTART;TZID=America/New_York:20200101T090000
		RRULE:FREQ=DAILY;COUNT=100000
		END:VEVENT`)
	for b.Loop() {
		got, err := Expand(comps, Options{TZ: res})
		if err != nil || len(got) != 100000 {
			b.Fatalf("%d instances, %v", len(got), err)
		}
	}
}
