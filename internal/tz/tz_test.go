package tz

import (
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func parseCal(t testing.TB, text string) *goical.Calendar {
	t.Helper()
	text = strings.ReplaceAll(strings.TrimSpace(text), "\n", "\r\n") + "\r\n"
	cal, err := goical.NewDecoder(strings.NewReader(text)).Decode()
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return cal
}

// sameRules reports the first sample instant at which a and b disagree on
// the UTC offset: twice a month over two decades, plus the instants either
// side of b's transitions in those years.
func sameRules(a, b *time.Location) (time.Time, bool) {
	var samples []time.Time
	for y := 2010; y <= 2030; y++ {
		for m := time.January; m <= time.December; m++ {
			samples = append(samples, time.Date(y, m, 1, 12, 0, 0, 0, time.UTC), time.Date(y, m, 15, 12, 0, 0, 0, time.UTC))
		}
	}
	t := time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)
	for t.Year() <= 2030 {
		_, end := t.In(b).ZoneBounds()
		if end.IsZero() {
			break
		}
		samples = append(samples, end.Add(-time.Second), end)
		t = end
	}
	for _, s := range samples {
		_, oa := s.In(a).Zone()
		_, ob := s.In(b).Zone()
		if oa != ob {
			return s, false
		}
	}
	return time.Time{}, true
}

const customCal = `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VTIMEZONE
TZID:My Eastern
BEGIN:STANDARD
DTSTART:20071104T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
TZNAME:EST
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:20070311T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
TZNAME:EDT
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VTIMEZONE
TZID:Licensed
X-LIC-LOCATION:Europe/Berlin
BEGIN:STANDARD
DTSTART:19701025T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
END:VTIMEZONE
BEGIN:VTIMEZONE
TZID:Fixed India
BEGIN:STANDARD
DTSTART:19700101T000000
TZOFFSETFROM:+0530
TZOFFSETTO:+0530
END:STANDARD
END:VTIMEZONE
BEGIN:VTIMEZONE
TZID:Berlin by RDATE
BEGIN:DAYLIGHT
DTSTART:20240331T020000
RDATE:20240331T020000,20250330T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
BEGIN:STANDARD
DTSTART:20241027T030000
RDATE:20241027T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
END:VTIMEZONE
BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:STANDARD
DTSTART:19700101T000000
TZOFFSETFROM:+0900
TZOFFSETTO:+0900
END:STANDARD
END:VTIMEZONE
BEGIN:VTIMEZONE
TZID:Europe/Paris
BEGIN:DAYLIGHT
DTSTART:19960331T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
END:DAYLIGHT
BEGIN:STANDARD
DTSTART:19961027T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
END:STANDARD
END:VTIMEZONE
END:VCALENDAR`

func TestLocation(t *testing.T) {
	r := NewResolver(parseCal(t, customCal))
	tests := []struct {
		tzid   string
		want   string // IANA zone with the same rules; "" with wantOK=false means UTC fallback
		wantOK bool
	}{
		{"Europe/Berlin", "Asia/Tokyo", true},  // the calendar's VTIMEZONE (+0900) defines its TZID
		{"Europe/Paris", "Europe/Paris", true}, // its VTIMEZONE agrees: the IANA zone, with its history
		{"America/New_York", "America/New_York", true},
		{"UTC", "UTC", true},
		{"Etc/GMT+5", "Etc/GMT+5", true},
		{" \"Asia/Tokyo\" ", "Asia/Tokyo", true},
		{"/mozilla.org/20050126_1/Europe/Berlin", "Europe/Berlin", true},
		{"/citadel.org/20190914_1/Europe/Paris", "Europe/Paris", true},
		{"/freeassociation.sourceforge.net/Tzfile/Europe/London", "Europe/London", true},
		{"/freeassociation.sourceforge.net/Tzfile/America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires", true},
		{"/softwarestudio.org/Olson_20011030_5/America/Chicago", "America/Chicago", true},
		{"W. Europe Standard Time", "Europe/Berlin", true},
		{"w. europe standard time", "Europe/Berlin", true},
		{"Eastern Standard Time", "America/New_York", true},
		{"Pacific Standard Time", "America/Los_Angeles", true},
		{"Central Standard Time", "America/Chicago", true},
		{"Mountain Standard Time", "America/Denver", true},
		{"GMT Standard Time", "Europe/London", true},
		{"Tokyo Standard Time", "Asia/Tokyo", true},
		{"China Standard Time", "Asia/Shanghai", true},
		{"India Standard Time", "Asia/Kolkata", true},
		{"AUS Eastern Standard Time", "Australia/Sydney", true},
		{"Central Europe Standard Time", "Europe/Budapest", true},
		{"Romance Standard Time", "Europe/Paris", true},
		{"(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna", "Europe/Berlin", true},
		{"(UTC-05:00) Eastern Time (US & Canada)", "America/New_York", true},
		{"(GMT-08:00) Pacific Time (US & Canada)", "America/Los_Angeles", true},
		{"(UTC+05:30) Chennai, Kolkata, Mumbai, New Delhi", "Asia/Kolkata", true},
		{"(UTC+10:00) Canberra, Melbourne, Sydney", "Australia/Sydney", true},
		{"(UTC+09:00) Osaka, Sapporo, Tokyo", "Asia/Tokyo", true},
		{"(UTC) Dublin, Edinburgh, Lisbon, London", "Europe/London", true},
		{"Licensed", "Europe/Berlin", true},
		{"My Eastern", "America/New_York", true},
		{"Fixed India", "Asia/Kolkata", true},
		{"GMT+0100", "Etc/GMT-1", true},
		{"(UTC+03:00) Atlantis, Lemuria", "Etc/GMT-3", true},
		{"Nowhere/Special", "", false},
		{"Local", "", false},
		{"", "", false},
		{"../../etc/passwd", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.tzid, func(t *testing.T) {
			loc, ok := r.Location(tc.tzid)
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v (loc %v)", ok, tc.wantOK, loc)
			}
			want := time.UTC
			if tc.want != "" {
				want = mustLoad(t, tc.want)
			}
			if at, same := sameRules(loc, want); !same {
				t.Errorf("%v differs from %v at %v", loc, want, at)
			}
		})
	}
}

// TestVTimezoneOfKnownName: a VTIMEZONE whose TZID is an IANA name defines
// that TZID for its calendar where the two differ; where they agree, the
// IANA zone itself serves, so that its exact history is kept.
func TestVTimezoneOfKnownName(t *testing.T) {
	r := NewResolver(parseCal(t, customCal))
	berlin, _ := r.Location("Europe/Berlin")
	if _, off := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC).In(berlin).Zone(); off != 9*3600 {
		t.Errorf("Europe/Berlin as the calendar defines it: offset %d in July, want +0900", off)
	}
	if paris, _ := r.Location("Europe/Paris"); paris != loadIANA("Europe/Paris") {
		t.Errorf("Europe/Paris agrees with its VTIMEZONE, yet %p is not the IANA zone", paris)
	}
	if again, _ := NewResolver(parseCal(t, customCal)).Location("Europe/Berlin"); again != berlin {
		t.Errorf("the same VTIMEZONE built a second zone")
	}
}

func TestCustomVTimezoneTransitions(t *testing.T) {
	loc, ok := NewResolver(parseCal(t, customCal)).Location("Berlin by RDATE")
	if !ok {
		t.Fatal("not resolved")
	}
	for _, c := range []struct {
		at   string
		want int
	}{
		{"2024-03-31T00:59:59Z", 3600},
		{"2024-03-31T01:00:00Z", 7200},
		{"2024-10-27T00:59:59Z", 7200},
		{"2024-10-27T01:00:00Z", 3600},
		{"2025-03-30T01:00:00Z", 7200},
	} {
		at, _ := time.Parse(time.RFC3339, c.at)
		if _, off := at.In(loc).Zone(); off != c.want {
			t.Errorf("offset at %s = %d, want %d", c.at, off, c.want)
		}
	}
}

func TestWindowsTableLoads(t *testing.T) {
	if len(windowsZones) < 130 {
		t.Fatalf("only %d Windows zones", len(windowsZones))
	}
	for win, iana := range windowsZones {
		if loadIANA(iana) == nil {
			t.Errorf("%q maps to %q, which does not load", win, iana)
		}
	}
}

func TestResolverCachesAndNil(t *testing.T) {
	r := NewResolver(nil)
	a, _ := r.Location("Europe/Berlin")
	b, _ := r.Location("Europe/Berlin")
	if a != b {
		t.Error("second lookup did not come from the cache")
	}
	var zero Resolver
	if loc, ok := zero.Location("Asia/Tokyo"); !ok || loc.String() != "Asia/Tokyo" {
		t.Errorf("zero resolver: %v %v", loc, ok)
	}
	var nilResolver *Resolver
	if loc, ok := nilResolver.Location("Asia/Tokyo"); !ok || loc.String() != "Asia/Tokyo" {
		t.Errorf("nil resolver: %v %v", loc, ok)
	}
}

func TestFromWall(t *testing.T) {
	tests := []struct {
		zone, wall, want string
	}{
		{"Europe/Berlin", "2024-07-01T09:00:00", "2024-07-01T07:00:00Z"},
		{"Europe/Berlin", "2024-03-31T02:30:00", "2024-03-31T01:30:00Z"}, // gap: 03:30 CEST
		{"Europe/Berlin", "2024-10-27T02:30:00", "2024-10-27T00:30:00Z"}, // overlap: first, CEST
		{"Europe/Berlin", "2024-10-27T03:00:00", "2024-10-27T02:00:00Z"},
		{"America/New_York", "2024-03-10T02:30:00", "2024-03-10T07:30:00Z"}, // gap: 03:30 EDT
		{"America/New_York", "2024-11-03T01:30:00", "2024-11-03T05:30:00Z"}, // overlap: EDT
		{"America/New_York", "2024-11-03T02:00:00", "2024-11-03T07:00:00Z"},
		{"Australia/Lord_Howe", "2024-10-06T02:15:00", "2024-10-05T15:45:00Z"}, // 30-minute gap: 02:45 +11
		{"UTC", "2024-10-06T02:15:00", "2024-10-06T02:15:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.zone+" "+tc.wall, func(t *testing.T) {
			w, err := time.Parse("2006-01-02T15:04:05", tc.wall)
			if err != nil {
				t.Fatal(err)
			}
			got := FromWall(w, mustLoad(t, tc.zone)).UTC().Format(time.RFC3339)
			if got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func FuzzLocation(f *testing.F) {
	f.Add("My Zone", "BEGIN:STANDARD\nDTSTART:19701025T030000\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\nTZOFFSETFROM:+0200\nTZOFFSETTO:+0100\nEND:STANDARD\n")
	f.Add("/mozilla.org/x/Europe/Berlin", "X-LIC-LOCATION:Europe/Paris\n")
	f.Add("(UTC+99:00) Nowhere", "BEGIN:DAYLIGHT\nDTSTART:20000101T000000\nRRULE:FREQ=SECONDLY\nTZOFFSETTO:+2359\nEND:DAYLIGHT\n")
	f.Add("W. Europe Standard Time", "BEGIN:STANDARD\nRDATE:20000101T000000Z,1/2\nTZOFFSETTO:-0000\nEND:STANDARD\n")
	f.Fuzz(func(t *testing.T, tzid, body string) {
		loc, _ := NewResolver(fuzzCalendar(tzid, body)).Location(tzid)
		if loc == nil {
			t.Fatal("nil location")
		}
		FromWall(time.Date(2024, 3, 31, 2, 30, 0, 0, time.UTC), loc)
	})
}

// fuzzCalendar builds a calendar holding one VTIMEZONE whose body is made of
// "NAME:VALUE" lines and BEGIN/END pairs. It builds components directly
// rather than through a decoder so the fuzzer exercises this package, not
// the parser.
func fuzzCalendar(tzid, body string) *goical.Calendar {
	cal := goical.NewCalendar()
	vt := goical.NewComponent("VTIMEZONE")
	vt.Props.SetText("TZID", tzid)
	vt.Props.Get("TZID").Value = tzid
	cal.Children = append(cal.Children, vt)
	stack := []*goical.Component{vt}
	for line := range strings.SplitSeq(body, "\n") {
		name, value, _ := strings.Cut(line, ":")
		cur := stack[len(stack)-1]
		switch strings.ToUpper(name) {
		case "BEGIN":
			c := goical.NewComponent(value)
			cur.Children = append(cur.Children, c)
			stack = append(stack, c)
		case "END":
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		default:
			p := goical.NewProp(name)
			p.Value = value
			cur.Props.Add(p)
		}
	}
	return cal
}

// TestFromWallProperties checks FromWall every quarter hour of 2024 in zones
// with various DST rules: the instant shows the wanted wall time (or, in a gap, a later
// one less than the gap away), and no earlier instant shows it.
func TestFromWallProperties(t *testing.T) {
	for _, name := range []string{"Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Pacific/Chatham", "Asia/Kolkata"} {
		loc := mustLoad(t, name)
		for w := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC); w.Year() == 2024; w = w.Add(15 * time.Minute) {
			got := FromWall(w, loc)
			shown := time.Date(got.Year(), got.Month(), got.Day(), got.Hour(), got.Minute(), got.Second(), 0, time.UTC)
			if shown.Before(w) || shown.Sub(w) > 2*time.Hour {
				t.Fatalf("%s %v: shows %v", name, w, shown)
			}
			for _, d := range []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour} {
				e := got.Add(-d).In(loc)
				if time.Date(e.Year(), e.Month(), e.Day(), e.Hour(), e.Minute(), e.Second(), 0, time.UTC).Equal(w) {
					t.Fatalf("%s %v: earlier instant %v shows it too", name, w, e)
				}
			}
		}
	}
}
