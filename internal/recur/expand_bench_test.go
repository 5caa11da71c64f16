package recur

import (
	"fmt"
	"strings"
	"testing"
)

// berlin is the VTIMEZONE clients send with Europe/Berlin events.
const berlin = `BEGIN:VTIMEZONE
	TZID:Europe/Berlin
	BEGIN:DAYLIGHT
	TZOFFSETFROM:+0100
	TZOFFSETTO:+0200
	DTSTART:19700329T020000
	RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
	END:DAYLIGHT
	BEGIN:STANDARD
	TZOFFSETFROM:+0200
	TZOFFSETTO:+0100
	DTSTART:19701025T030000
	RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
	END:STANDARD
	END:VTIMEZONE
`

// BenchmarkExpand covers the expansions a time-range query does most: a
// long-running weekly meeting asked for one year ten years after it began,
// an open-ended daily rule, and a monthly BYDAY rule with moved instances.
func BenchmarkExpand(b *testing.B) {
	var overrides strings.Builder
	// Five second Tuesdays of 2025 moved to the Wednesday after.
	for _, day := range []string{"20250211", "20250408", "20250610", "20250812", "20251014"} {
		moved := day[:6] + fmt.Sprintf("%02d", (int(day[6]-'0')*10+int(day[7]-'0'))+1)
		fmt.Fprintf(&overrides, "BEGIN:VEVENT\nUID:m\nRECURRENCE-ID;TZID=Europe/Berlin:%sT140000\n"+
			"DTSTART;TZID=Europe/Berlin:%sT150000\nDTEND;TZID=Europe/Berlin:%sT160000\nSUMMARY:moved\nEND:VEVENT\n",
			day, moved, moved)
	}
	tests := []struct {
		name       string
		text       string
		start, end string
		want       int
	}{
		{"weekly-10y", berlin + `BEGIN:VEVENT
			UID:w
			DTSTART;TZID=Europe/Berlin:20160104T100000
			DTEND;TZID=Europe/Berlin:20160104T110000
			RRULE:FREQ=WEEKLY;BYDAY=MO
			END:VEVENT`, "20260101T000000Z", "20270101T000000Z", 52},
		{"daily-infinite", `BEGIN:VEVENT
			UID:d
			DTSTART:20240101T070000Z
			DTEND:20240101T071500Z
			RRULE:FREQ=DAILY
			END:VEVENT`, "20260101T000000Z", "20270101T000000Z", 365},
		{"monthly-byday-overrides", berlin + `BEGIN:VEVENT
			UID:m
			DTSTART;TZID=Europe/Berlin:20240109T140000
			DTEND;TZID=Europe/Berlin:20240109T150000
			RRULE:FREQ=MONTHLY;BYDAY=2TU
			EXDATE;TZID=Europe/Berlin:20250311T140000
			END:VEVENT
			` + overrides.String(), "20250101T000000Z", "20260101T000000Z", 11},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			comps, res := parse(b, tt.text)
			opts := Options{TZ: res, Start: utc(b, tt.start), End: utc(b, tt.end)}
			for b.Loop() {
				got, err := Expand(comps, opts)
				if err != nil || len(got) != tt.want {
					b.Fatalf("%d instances, want %d: %v", len(got), tt.want, err)
				}
			}
		})
	}
}
