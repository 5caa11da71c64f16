package ical

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// hostileRules are rules a client may send that are valid but absurd; a PUT
// of one must stay cheap.
func hostileRules() []struct{ name, rule string } {
	by := func(n int) string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprint(i)
		}
		return strings.Join(s, ",")
	}
	return []struct{ name, rule string }{
		{"secondly-count", "FREQ=SECONDLY;COUNT=5000000"},
		{"yearly-flood", "FREQ=YEARLY;BYMONTH=1,2,3,4,5,6,7,8,9,10,11,12;BYHOUR=" + by(24) + ";BYMINUTE=" + by(60) + ";BYSECOND=" + by(60)},
		{"secondly-forever", "FREQ=SECONDLY"},
	}
}

func hostileEvent(rule string) []byte {
	return wrap("BEGIN:VEVENT", "UID:hostile", "DTSTAMP:20260101T000000Z", "DTSTART:20260110T000000Z",
		"DURATION:PT1S", "RRULE:"+rule, "END:VEVENT")
}

// BenchmarkIndexHostile measures the CPU a PUT spends on parsing and on
// indexing an absurd rule.
func BenchmarkIndexHostile(b *testing.B) {
	horizon := time.Date(2029, 1, 10, 0, 0, 0, 0, time.UTC)
	for _, c := range hostileRules() {
		data := hostileEvent(c.rule)
		b.Run(c.name+"/parse", func(b *testing.B) {
			for b.Loop() {
				if _, err := Parse(data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/index", func(b *testing.B) {
			o, err := Parse(data)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				var dst store.Object
				o.Index(&dst, horizon)
			}
		})
	}
}
