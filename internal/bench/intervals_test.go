package bench

import (
	"testing"
	"time"
)

func TestParseFreeBusy(t *testing.T) {
	text := "BEGIN:VCALENDAR\r\nBEGIN:VFREEBUSY\r\nDTSTART:20250101T000000Z\r\n" +
		"FREEBUSY;FBTYPE=BUSY:20250101T090000Z/20250101T100000Z,20250101T093000Z/PT1H\r\n" +
		"FREEBUSY;FBTYPE=FREE:20250101T120000Z/20250101T130000Z\r\n" +
		"FREEBUSY:20250102T080000Z/\r\n 20250102T081500Z\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n"
	got, err := parseFreeBusy(text)
	if err != nil {
		t.Fatal(err)
	}
	merged := merge(got)
	want := []string{"20250101T090000Z/20250101T103000Z", "20250102T080000Z/20250102T081500Z"}
	if len(merged) != len(want) {
		t.Fatalf("got %v", merged)
	}
	for i := range want {
		if fmtInterval(merged[i]) != want[i] {
			t.Errorf("period %d: %s, want %s", i, fmtInterval(merged[i]), want[i])
		}
	}
	if _, err := parseFreeBusy("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"); err == nil {
		t.Error("an answer without VFREEBUSY was accepted")
	}
	if _, err := parseFreeBusy("BEGIN:VFREEBUSY\r\nFREEBUSY:garbage\r\nEND:VFREEBUSY\r\n"); err == nil {
		t.Error("a bad period was accepted")
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"PT1H30M", 90 * time.Minute, true},
		{"P1DT2H", 26 * time.Hour, true},
		{"P2W", 14 * 24 * time.Hour, true},
		{"PT45S", 45 * time.Second, true},
		{"1H", 0, false},
		{"PTH", 0, false},
	} {
		got, err := parseDuration(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%s: %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestPercentile(t *testing.T) {
	var lats []time.Duration
	for i := 1; i <= 100; i++ {
		lats = append(lats, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    int
		want float64
	}{{50, 50}, {95, 95}, {99, 99}, {100, 100}} {
		if got := percentile(lats, tc.p); got != tc.want {
			t.Errorf("p%d = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := percentile(lats[:1], 99); got != 1 {
		t.Errorf("p99 of one sample = %v", got)
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("p50 of nothing = %v", got)
	}
}

func FuzzParseFreeBusy(f *testing.F) {
	f.Add("BEGIN:VFREEBUSY\r\nFREEBUSY:20250101T090000Z/PT1H\r\nEND:VFREEBUSY\r\n")
	f.Add("BEGIN:VFREEBUSY\r\nFREEBUSY;FBTYPE=BUSY-TENTATIVE:20250101T090000Z/20250101T100000Z\r\n")
	f.Fuzz(func(t *testing.T, text string) {
		ivs, err := parseFreeBusy(text)
		if err != nil {
			return
		}
		merge(ivs) // must not panic
	})
}
