package ical

import (
	"strings"
	"testing"
)

func TestMerge(t *testing.T) {
	tokyo := "BEGIN:VTIMEZONE\r\nTZID:Asia/Tokyo\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0900\r\n" +
		"TZOFFSETTO:+0900\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
	a := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//A//EN\r\n" + tokyo +
		"BEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=Asia/Tokyo:20260101T090000\r\nDESCRIPTION:a long line folded\r\n  here\r\n" +
		"BEGIN:VALARM\r\nACTION:DISPLAY\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	// Another object with the same zone, bare LF line ends, lower case
	// and a folded TZID of another zone.
	b := strings.ReplaceAll("begin:vcalendar\r\nversion:2.0\r\n"+tokyo+"BEGIN:VTIMEZONE\r\nTZID:Europe/\r\n Berlin\r\nEND:VTIMEZONE\r\n"+
		"begin:vtodo\r\nuid:b\r\nend:vtodo\r\nend:vcalendar\r\n", "\r\n", "\n")
	got, err := Merge([][]byte{[]byte(a), []byte(b)}, "Work; private")
	if err != nil {
		t.Fatal(err)
	}
	want := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Koyomi//Koyomi//EN\r\nX-WR-CALNAME:Work\\; private\r\n" + tokyo +
		"BEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=Asia/Tokyo:20260101T090000\r\nDESCRIPTION:a long line folded\r\n  here\r\n" +
		"BEGIN:VALARM\r\nACTION:DISPLAY\r\nEND:VALARM\r\nEND:VEVENT\r\n" +
		"BEGIN:VTIMEZONE\r\nTZID:Europe/\r\n Berlin\r\nEND:VTIMEZONE\r\n" +
		"begin:vtodo\r\nuid:b\r\nend:vtodo\r\nEND:VCALENDAR\r\n"
	if string(got) != want {
		t.Errorf("Merge:\n%q\nwant\n%q", got, want)
	}
	// Once parsed, the merged calendar holds every component.
	if _, err := ParseCalendar(got); err != nil {
		t.Errorf("merged calendar does not parse: %v", err)
	}
}

func TestMergeEmpty(t *testing.T) {
	got, err := Merge(nil, "")
	if err != nil || string(got) != "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Koyomi//Koyomi//EN\r\nEND:VCALENDAR\r\n" {
		t.Errorf("Merge(nil) = %q, %v", got, err)
	}
}
