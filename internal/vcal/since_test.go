package vcal

import (
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/ical"
)

// A Since rule hides every occurrence that reaches the instant, to the
// second: what ended before it stays visible, what runs across it or after
// it does not.
func TestSinceHidesOccurrencesReachingTheInstant(t *testing.T) {
	left := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	f := &Filter{Default: Full, Rules: []Rule{{Level: Hidden, Since: left}}}
	tests := []struct {
		start, end string
		visible    bool
	}{
		{"20260310T120000Z", "20260310T130000Z", true},  // ended an hour before, same day
		{"20260310T130000Z", "20260310T140000Z", true},  // ends exactly at the instant
		{"20260310T133000Z", "20260310T143000Z", false}, // runs across it
		{"20260311T090000Z", "20260311T100000Z", false}, // after it
	}
	for _, tt := range tests {
		data := []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:e\r\nDTSTART:" + tt.start +
			"\r\nDTEND:" + tt.end + "\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
		obj, err := ical.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		out, err := Apply(obj, data, "s", []*Filter{f}, Options{Now: left})
		if err != nil {
			t.Fatal(err)
		}
		if (out != nil) != tt.visible {
			t.Errorf("%s–%s: visible = %v, want %v", tt.start, tt.end, out != nil, tt.visible)
		}
	}
	if err := (&Filter{Default: Full, Rules: []Rule{{Level: Hidden, Since: left}}}).Validate(); err != nil {
		t.Errorf("a Since rule needs no zone: %v", err)
	}
}
