package rrule

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const layout = "20060102T150405"

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(layout, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// collect runs the rule and returns at most n times (formatted).
func collect(t *testing.T, rule, dtstart string, loc *time.Location, n int) []string {
	t.Helper()
	r, err := Parse(rule)
	if err != nil {
		t.Fatalf("Parse(%q): %v", rule, err)
	}
	it := r.Iter(mustTime(t, dtstart), IterOptions{Loc: loc})
	var out []string
	for len(out) < n {
		v, ok := it.Next()
		if !ok {
			break
		}
		out = append(out, v.Format(layout))
	}
	if err := it.Err(); err != nil {
		t.Fatalf("%s: %v", rule, err)
	}
	return out
}

// expand turns "19970902T090000 0904 0916T1200" shorthand into full values:
// a short item reuses the missing leading digits (and time) of the previous.
func expand(spec string) []string {
	var out []string
	prev := ""
	for f := range strings.FieldsSeq(spec) {
		date, clock, hasClock := strings.Cut(f, "T")
		if prev != "" {
			pd, pc, _ := strings.Cut(prev, "T")
			date = pd[:8-len(date)] + date
			if !hasClock {
				clock = pc
			}
		}
		prev = date + "T" + clock
		out = append(out, prev)
	}
	return out
}

// TestRFC5545Examples runs the examples of RFC 5545 section 3.8.5.3. Times
// are wall-clock times in America/New_York, as in the RFC.
func TestRFC5545Examples(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dtstart, rule string
		want                string // shorthand, see expand
		limit               int    // how many to take (0 = len(want))
		wantCount           int    // when set, also check the total count
		skipFirst           bool   // DTSTART is not part of the RFC's set
	}{
		{name: "daily for 10", dtstart: "19970902T090000", rule: "FREQ=DAILY;COUNT=10",
			want: "19970902T090000 0903 0904 0905 0906 0907 0908 0909 0910 0911"},
		{name: "daily until Dec 24", dtstart: "19970902T090000", rule: "FREQ=DAILY;UNTIL=19971224T000000Z",
			want: "19970902T090000 0903", limit: 2, wantCount: 113},
		{name: "every other day", dtstart: "19970902T090000", rule: "FREQ=DAILY;INTERVAL=2",
			want: "19970902T090000 0904 0906 0908 0910 0912 0914", limit: 7},
		{name: "every 10 days, 5", dtstart: "19970902T090000", rule: "FREQ=DAILY;INTERVAL=10;COUNT=5",
			want: "19970902T090000 0912 0922 1002 1012"},
		{name: "every day in January for 3 years (yearly)", dtstart: "19980101T090000",
			rule: "FREQ=YEARLY;UNTIL=20000131T140000Z;BYMONTH=1;BYDAY=SU,MO,TU,WE,TH,FR,SA",
			want: "19980101T090000 0102 0103", limit: 3, wantCount: 93},
		{name: "every day in January for 3 years (daily)", dtstart: "19980101T090000",
			rule: "FREQ=DAILY;UNTIL=20000131T140000Z;BYMONTH=1", want: "19980101T090000", limit: 1, wantCount: 93},
		{name: "weekly for 10", dtstart: "19970902T090000", rule: "FREQ=WEEKLY;COUNT=10",
			want: "19970902T090000 0909 0916 0923 0930 1007 1014 1021 1028 1104"},
		{name: "weekly until Dec 24", dtstart: "19970902T090000", rule: "FREQ=WEEKLY;UNTIL=19971224T000000Z",
			want: "19970902T090000", limit: 1, wantCount: 17},
		{name: "every other week forever", dtstart: "19970902T090000", rule: "FREQ=WEEKLY;INTERVAL=2;WKST=SU",
			want: "19970902T090000 0916 0930 1014 1028 1111 1125 1209 1223 19980106 0120 0203 0217"},
		{name: "weekly on Tu and Th for five weeks", dtstart: "19970902T090000",
			rule: "FREQ=WEEKLY;UNTIL=19971007T000000Z;WKST=SU;BYDAY=TU,TH",
			want: "19970902T090000 0904 0909 0911 0916 0918 0923 0925 0930 1002"},
		{name: "every other week on Mo, We, Fr until Dec 24", dtstart: "19970901T090000",
			rule:  "FREQ=WEEKLY;INTERVAL=2;UNTIL=19971224T000000Z;WKST=SU;BYDAY=MO,WE,FR",
			want:  "19970901T090000 0903 0905 0915 0917 0919 0929 1001 1003 1013 1015 1017 1027 1029 1031 1110 1112 1114 1124 1126 1128 1208 1210 1212 1222",
			limit: 100},
		{name: "every other week on Tu and Th, 8", dtstart: "19970902T090000",
			rule: "FREQ=WEEKLY;INTERVAL=2;COUNT=8;WKST=SU;BYDAY=TU,TH",
			want: "19970902T090000 0904 0916 0918 0930 1002 1014 1016"},
		{name: "monthly on first Friday, 10", dtstart: "19970905T090000", rule: "FREQ=MONTHLY;COUNT=10;BYDAY=1FR",
			want: "19970905T090000 1003 1107 1205 19980102 0206 0306 0403 0501 0605"},
		{name: "monthly on first Friday until Dec 24", dtstart: "19970905T090000",
			rule: "FREQ=MONTHLY;UNTIL=19971224T000000Z;BYDAY=1FR", want: "19970905T090000 1003 1107 1205", limit: 100},
		{name: "every other month on first and last Sunday", dtstart: "19970907T090000",
			rule: "FREQ=MONTHLY;INTERVAL=2;COUNT=10;BYDAY=1SU,-1SU",
			want: "19970907T090000 0928 1102 1130 19980104 0125 0301 0329 0503 0531"},
		{name: "second-to-last Monday, 6", dtstart: "19970922T090000", rule: "FREQ=MONTHLY;COUNT=6;BYDAY=-2MO",
			want: "19970922T090000 1020 1117 1222 19980119 0216"},
		{name: "third-to-the-last day", dtstart: "19970928T090000", rule: "FREQ=MONTHLY;BYMONTHDAY=-3",
			want: "19970928T090000 1029 1128 1229 19980129 0226"},
		{name: "2nd and 15th, 10", dtstart: "19970902T090000", rule: "FREQ=MONTHLY;COUNT=10;BYMONTHDAY=2,15",
			want: "19970902T090000 0915 1002 1015 1102 1115 1202 1215 19980102 0115"},
		{name: "first and last day, 10", dtstart: "19970930T090000", rule: "FREQ=MONTHLY;COUNT=10;BYMONTHDAY=1,-1",
			want: "19970930T090000 1001 1031 1101 1130 1201 1231 19980101 0131 0201"},
		{name: "every 18 months 10th to 15th", dtstart: "19970910T090000",
			rule: "FREQ=MONTHLY;INTERVAL=18;COUNT=10;BYMONTHDAY=10,11,12,13,14,15",
			want: "19970910T090000 0911 0912 0913 0914 0915 19990310 0311 0312 0313"},
		{name: "every Tuesday, every other month", dtstart: "19970902T090000", rule: "FREQ=MONTHLY;INTERVAL=2;BYDAY=TU",
			want: "19970902T090000 0909 0916 0923 0930 1104 1111 1118 1125 19980106 0113 0120 0127 0303 0310 0317 0324 0331"},
		{name: "yearly in June and July", dtstart: "19970610T090000", rule: "FREQ=YEARLY;COUNT=10;BYMONTH=6,7",
			want: "19970610T090000 0710 19980610 0710 19990610 0710 20000610 0710 20010610 0710"},
		{name: "every other year Jan-Mar", dtstart: "19970310T090000", rule: "FREQ=YEARLY;INTERVAL=2;COUNT=10;BYMONTH=1,2,3",
			want: "19970310T090000 19990110 0210 0310 20010110 0210 0310 20030110 0210 0310"},
		{name: "every third year on days 1, 100, 200", dtstart: "19970101T090000",
			rule: "FREQ=YEARLY;INTERVAL=3;COUNT=10;BYYEARDAY=1,100,200",
			want: "19970101T090000 0410 0719 20000101 0409 0718 20030101 0410 0719 20060101"},
		{name: "every 20th Monday", dtstart: "19970519T090000", rule: "FREQ=YEARLY;BYDAY=20MO",
			want: "19970519T090000 19980518 19990517"},
		{name: "Monday of week 20", dtstart: "19970512T090000", rule: "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO",
			want: "19970512T090000 19980511 19990517"},
		{name: "every Thursday in March", dtstart: "19970313T090000", rule: "FREQ=YEARLY;BYMONTH=3;BYDAY=TH",
			want: "19970313T090000 0320 0327 19980305 0312 0319 0326 19990304 0311 0318 0325"},
		{name: "Thursdays in summer", dtstart: "19970605T090000", rule: "FREQ=YEARLY;BYDAY=TH;BYMONTH=6,7,8",
			want: "19970605T090000 0612 0619 0626 0703 0710 0717 0724 0731 0807 0814 0821 0828 19980604 0611 0618 0625 0702 0709 0716 0723 0730 0806 0813 0820 0827"},
		{name: "Friday the 13th", dtstart: "19970902T090000", rule: "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13",
			want: "19980213T090000 0313 1113 19990813 20001013", skipFirst: true},
		{name: "first Saturday after first Sunday", dtstart: "19970913T090000",
			rule: "FREQ=MONTHLY;BYDAY=SA;BYMONTHDAY=7,8,9,10,11,12,13",
			want: "19970913T090000 1011 1108 1213 19980110 0207 0307 0411 0509 0613"},
		{name: "US presidential election day", dtstart: "19961105T090000",
			rule: "FREQ=YEARLY;INTERVAL=4;BYMONTH=11;BYDAY=TU;BYMONTHDAY=2,3,4,5,6,7,8",
			want: "19961105T090000 20001107 20041102"},
		{name: "third Tu/We/Th, 3 months", dtstart: "19970904T090000", rule: "FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3",
			want: "19970904T090000 1007 1106"},
		{name: "second-to-last weekday", dtstart: "19970929T090000", rule: "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-2",
			want: "19970929T090000 1030 1127 1230 19980129 0226 0330"},
		{name: "every 3 hours until 17:00 EDT", dtstart: "19970902T090000", rule: "FREQ=HOURLY;INTERVAL=3;UNTIL=19970902T210000Z",
			want: "19970902T090000 0902T120000 0902T150000", limit: 100},
		{name: "every 15 minutes, 6", dtstart: "19970902T090000", rule: "FREQ=MINUTELY;INTERVAL=15;COUNT=6",
			want: "19970902T090000 0902T091500 0902T093000 0902T094500 0902T100000 0902T101500"},
		{name: "every hour and a half, 4", dtstart: "19970902T090000", rule: "FREQ=MINUTELY;INTERVAL=90;COUNT=4",
			want: "19970902T090000 0902T103000 0902T120000 0902T133000"},
		{name: "every 20 minutes 9:00-16:40 (daily)", dtstart: "19970902T090000",
			rule: "FREQ=DAILY;BYHOUR=9,10,11,12,13,14,15,16;BYMINUTE=0,20,40",
			want: "19970902T090000 0902T092000 0902T094000 0902T100000", limit: 4},
		{name: "every 20 minutes 9:00-16:40 (minutely), day wrap", dtstart: "19970902T160000",
			rule: "FREQ=MINUTELY;INTERVAL=20;BYHOUR=9,10,11,12,13,14,15,16",
			want: "19970902T160000 0902T162000 0902T164000 0903T090000 0903T092000"},
		{name: "WKST=MO", dtstart: "19970805T090000", rule: "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO",
			want: "19970805T090000 0810 0819 0824"},
		{name: "WKST=SU", dtstart: "19970805T090000", rule: "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU",
			want: "19970805T090000 0817 0819 0831"},
		{name: "invalid dates are skipped", dtstart: "20070115T090000", rule: "FREQ=MONTHLY;BYMONTHDAY=15,30;COUNT=5",
			want: "20070115T090000 0130 0215 0315 0330"},
		{name: "Feb 29 yearly", dtstart: "20000229T090000", rule: "FREQ=YEARLY;COUNT=3",
			want: "20000229T090000 20040229 20080229"},
		{name: "last day of the year, negative yearday", dtstart: "19971231T090000", rule: "FREQ=YEARLY;BYYEARDAY=-1;COUNT=3",
			want: "19971231T090000 19981231 19991231"},
		{name: "last week of the year", dtstart: "19971229T090000", rule: "FREQ=YEARLY;BYWEEKNO=-1;BYDAY=MO;COUNT=3",
			want: "19971229T090000 19981228 19991227"},
		{name: "last workday of the month", dtstart: "20240131T170000",
			rule: "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=4",
			want: "20240131T170000 0229 0329 0430"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := expand(tc.want)
			limit := tc.limit
			if limit == 0 {
				limit = len(want)
				if tc.skipFirst {
					limit++
				}
			}
			got := collect(t, tc.rule, tc.dtstart, ny, limit)
			if tc.skipFirst {
				got = got[1:]
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("got  %v\nwant %v", got, want)
			}
			if tc.wantCount > 0 {
				all := collect(t, tc.rule, tc.dtstart, ny, 100000)
				if len(all) != tc.wantCount {
					t.Errorf("count = %d, want %d (last %s)", len(all), tc.wantCount, all[len(all)-1])
				}
			}
		})
	}
}

func TestFromSkipsAhead(t *testing.T) {
	r, err := Parse("FREQ=SECONDLY")
	if err != nil {
		t.Fatal(err)
	}
	start := mustTime(t, "20000101T000000")
	from := mustTime(t, "20300101T000000")
	it := r.Iter(start, IterOptions{From: from, MaxWork: 1000})
	if v, _ := it.Next(); !v.Equal(start) {
		t.Fatalf("first = %v, want DTSTART", v)
	}
	v, ok := it.Next()
	if !ok || !v.Equal(from) {
		t.Fatalf("second = %v %v (err %v), want %v", v, ok, it.Err(), from)
	}
}

func TestOnlyMatches(t *testing.T) {
	r, err := Parse("FREQ=WEEKLY;BYDAY=FR;COUNT=2")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dtstart, want string
	}{
		{"20240101T090000", "20240105T090000 20240112T090000"}, // a Monday: not generated
		{"20240105T090000", "20240105T090000 20240112T090000"}, // a Friday: generated
	} {
		it := r.Iter(mustTime(t, tc.dtstart), IterOptions{OnlyMatches: true})
		var got []string
		for v, ok := it.Next(); ok; v, ok = it.Next() {
			got = append(got, v.Format(layout))
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("from %s: got %v, want %s", tc.dtstart, got, tc.want)
		}
	}
}

func TestWorkLimit(t *testing.T) {
	// Never matches: every other hour starting at 00:00 never hits 03:00.
	r, err := Parse("FREQ=HOURLY;INTERVAL=2;BYHOUR=3")
	if err != nil {
		t.Fatal(err)
	}
	it := r.Iter(mustTime(t, "20000101T000000"), IterOptions{MaxWork: 10000})
	it.Next()
	if _, ok := it.Next(); ok {
		t.Fatal("unexpected instance")
	}
	if !errors.Is(it.Err(), ErrTooMuchWork) {
		t.Fatalf("err = %v, want ErrTooMuchWork", it.Err())
	}
}

func TestImpossibleRuleEnds(t *testing.T) {
	// February 30th never exists: the iterator must stop at year 9999
	// without error rather than loop.
	got := collect(t, "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "20000101T000000", nil, 10)
	if len(got) != 1 {
		t.Fatalf("got %v, want only DTSTART", got)
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{
		"", "COUNT=3", "FREQ=FORTNIGHTLY", "FREQ=DAILY;COUNT=x", "FREQ=DAILY;INTERVAL=0",
		"FREQ=DAILY;BYHOUR=24", "FREQ=MONTHLY;BYMONTHDAY=0", "FREQ=WEEKLY;BYDAY=XX",
		"FREQ=MONTHLY;BYDAY=0MO", "FREQ=DAILY;UNTIL=1997", "FREQ=DAILY;WKST=XY", "FREQ",
	} {
		if _, err := Parse(s); !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) err = %v, want ErrSyntax", s, err)
		}
	}
}

func FuzzIter(f *testing.F) {
	for _, s := range []string{
		"FREQ=DAILY;COUNT=10", "FREQ=MONTHLY;BYDAY=-1FR;BYSETPOS=1", "FREQ=YEARLY;BYWEEKNO=53;BYDAY=SU",
		"FREQ=SECONDLY;BYSECOND=1,2,3;BYMINUTE=5", "FREQ=YEARLY;BYHOUR=1,2;BYMINUTE=0,1;BYSECOND=0,59;BYSETPOS=-1",
		"FREQ=WEEKLY;INTERVAL=2147483647", "FREQ=MINUTELY;UNTIL=19000101T000000Z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		it := r.Iter(time.Date(2020, 2, 29, 1, 30, 0, 0, time.UTC), IterOptions{MaxWork: 20000})
		prev := time.Time{}
		for range 200 {
			v, ok := it.Next()
			if !ok {
				break
			}
			if !prev.IsZero() && !v.After(prev) {
				t.Fatalf("%q: %v not after %v", s, v, prev)
			}
			prev = v
		}
	})
}
