package tz

import (
	"errors"
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"
)

// TestVCalendarMatchesZone builds each zone's VTIMEZONE, reads it back as
// an unknown zone would be read (from its observances alone) and compares
// the offsets with the IANA zone's every six hours through two years.
func TestVCalendarMatchesZone(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, name := range []string{"Asia/Tokyo", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
		"America/Santiago", "Pacific/Auckland", "UTC", "Asia/Kolkata"} {
		t.Run(name, func(t *testing.T) {
			text, err := VCalendar(name, now)
			if err != nil {
				t.Fatal(err)
			}
			cal, err := goical.NewDecoder(strings.NewReader(text)).Decode()
			if err != nil {
				t.Fatalf("decode: %v\n%s", err, text)
			}
			if len(cal.Children) != 1 || cal.Children[0].Name != goical.CompTimezone {
				t.Fatalf("want one VTIMEZONE:\n%s", text)
			}
			own := fromVTimezone("Synthetic/"+name, cal.Children[0])
			if own == nil {
				t.Fatalf("observances do not build a zone:\n%s", text)
			}
			loc, _ := LoadIANA(name)
			for at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); at.Year() < 2028; at = at.Add(6 * time.Hour) {
				_, want := at.In(loc).Zone()
				if _, got := at.In(own).Zone(); got != want {
					t.Fatalf("at %s: offset %d, want %d\n%s", at, got, want, text)
				}
			}
		})
	}
}

func TestVCalendarRefusesNonIANA(t *testing.T) {
	for _, name := range []string{"", "Local", "Tokyo Standard Time", "+09:00", "Mars/Olympus"} {
		if _, err := VCalendar(name, time.Now()); !errors.Is(err, ErrUnknownZone) {
			t.Errorf("%q: err %v, want ErrUnknownZone", name, err)
		}
	}
}

func TestTZID(t *testing.T) {
	text, err := VCalendar("Europe/Berlin", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := TZID(text); got != "Europe/Berlin" {
		t.Errorf("TZID = %q", got)
	}
	if got := TZID("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"); got != "" {
		t.Errorf("TZID of no zone = %q", got)
	}
}
