package tz

import (
	"strconv"
	"strings"
	"time"
)

// Outlook (and Windows) sometimes write a zone's display name as TZID, e.g.
// "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna" or the older
// "(GMT-05:00) Eastern Time (US & Canada)". Display names are localised and
// change between Windows versions, so rather than a table of them the city
// list is matched against IANA names, checking the standard offset.

// regionNames are the IANA areas a display-name city is looked up in.
var regionNames = []string{"Europe", "America", "Asia", "Africa", "Australia", "Pacific", "Atlantic", "Indian", "America/Argentina"}

// displayPhrases maps display-name phrases that are not city names.
var displayPhrases = []struct{ phrase, iana string }{
	{"Eastern Time (US", "America/New_York"},
	{"Central Time (US", "America/Chicago"},
	{"Mountain Time (US", "America/Denver"},
	{"Pacific Time (US", "America/Los_Angeles"},
	{"Atlantic Time (Canada", "America/Halifax"},
	{"Indiana (East)", "America/Indiana/Indianapolis"},
	{"Alaska", "America/Anchorage"},
	{"Hawaii", "Pacific/Honolulu"},
	{"Arizona", "America/Phoenix"},
	{"Saskatchewan", "America/Regina"},
	{"Newfoundland", "America/St_Johns"},
	{"Coordinated Universal Time", "UTC"},
	{"Beijing", "Asia/Shanghai"},
	{"New Delhi", "Asia/Kolkata"},
	{"Canberra", "Australia/Sydney"},
	{"Brisbane", "Australia/Brisbane"},
	{"Dublin", "Europe/Dublin"},
	{"Kyiv", "Europe/Kyiv"},
}

// displayName resolves an Outlook display-name TZID.
func displayName(name string) *time.Location {
	off, rest, ok := splitDisplayName(name)
	if !ok {
		return nil
	}
	for _, p := range displayPhrases {
		if strings.Contains(rest, p.phrase) {
			if loc := loadIANA(p.iana); loc != nil && standardOffset(loc) == off {
				return loc
			}
		}
	}
	for city := range strings.SplitSeq(rest, ",") {
		city = strings.TrimSpace(city)
		if i := strings.IndexByte(city, '('); i >= 0 {
			city = strings.TrimSpace(city[:i])
		}
		if city == "" {
			continue
		}
		city = strings.ReplaceAll(city, " ", "_")
		for _, region := range regionNames {
			if loc := loadIANA(region + "/" + city); loc != nil && standardOffset(loc) == off {
				return loc
			}
		}
	}
	return nil
}

// splitDisplayName splits "(UTC+01:00) Amsterdam, ..." into the offset in
// seconds and the text after the parenthesis.
func splitDisplayName(name string) (off int, rest string, ok bool) {
	if !strings.HasPrefix(name, "(") {
		return 0, "", false
	}
	end := strings.IndexByte(name, ')')
	if end < 0 {
		return 0, "", false
	}
	off, ok = parseOffsetName(name[1:end])
	return off, strings.TrimSpace(name[end+1:]), ok
}

// parseOffsetName parses "UTC", "GMT", "UTC+01:00", "GMT-0500", "UTC+5:30",
// "UTC+1", "+0100" into an offset in seconds east of UTC.
func parseOffsetName(s string) (int, bool) {
	s = strings.TrimSpace(s)
	for _, p := range []string{"UTC", "GMT"} {
		if len(s) >= 3 && strings.EqualFold(s[:3], p) {
			s = s[3:]
			break
		}
	}
	if s == "" {
		return 0, true
	}
	sign := 1
	switch s[0] {
	case '+':
	case '-':
		sign = -1
	default:
		return 0, false
	}
	s = s[1:]
	var hh, mm string
	if h, m, found := strings.Cut(s, ":"); found {
		hh, mm = h, m
	} else if len(s) > 2 {
		hh, mm = s[:len(s)-2], s[len(s)-2:]
	} else {
		hh, mm = s, "0"
	}
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if err1 != nil || err2 != nil || h < 0 || h > 14 || m < 0 || m > 59 || len(hh) > 2 || len(mm) > 2 {
		return 0, false
	}
	return sign * (h*3600 + m*60), true
}

// standardOffset is loc's offset outside daylight saving time, sampled in a
// fixed recent year (display names describe current rules).
func standardOffset(loc *time.Location) int {
	for _, m := range []time.Month{time.January, time.July} {
		t := time.Date(2025, m, 1, 12, 0, 0, 0, loc)
		if !t.IsDST() {
			_, off := t.Zone()
			return off
		}
	}
	_, off := time.Date(2025, 1, 1, 12, 0, 0, 0, loc).Zone()
	return off
}
