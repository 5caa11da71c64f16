package ical

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const feed = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example//Feed//EN\r\nX-WR-CALNAME:Holidays\r\n" +
	"BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n" +
	"BEGIN:VTIMEZONE\r\nTZID:Asia/Tokyo\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0900\r\nTZOFFSETTO:+0900\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n" +
	"BEGIN:VEVENT\r\nUID:b@example\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Europe/Paris:20260105T090000\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\nSUMMARY:Weekly \r\n with a folded line\r\nEND:VEVENT\r\n" +
	"BEGIN:VEVENT\r\nUID:a@example\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20260101\r\nSUMMARY:New year\r\nEND:VEVENT\r\n" +
	"BEGIN:VEVENT\r\nUID:b@example\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID;TZID=Europe/Paris:20260112T090000\r\nDTSTART;TZID=Europe/Paris:20260112T100000\r\nSUMMARY:Moved\r\nEND:VEVENT\r\n" +
	"BEGIN:VEVENT\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260101T000000Z\r\nSUMMARY:no uid\r\nEND:VEVENT\r\n" +
	"END:VCALENDAR\r\n"

func TestSplitGroupsByUIDWithTheirZones(t *testing.T) {
	parts, skipped, err := Split([]byte(feed))
	if err != nil {
		t.Fatal(err)
	}
	if skipped != 1 {
		t.Errorf("skipped = %d, want 1 (the component without UID)", skipped)
	}
	if len(parts) != 2 || parts[0].UID != "a@example" || parts[1].UID != "b@example" {
		t.Fatalf("parts = %+v, want a@example then b@example", parts)
	}
	a, b := string(parts[0].Data), string(parts[1].Data)
	if strings.Contains(a, "VTIMEZONE") {
		t.Errorf("a@example needs no zone but got one:\n%s", a)
	}
	if !strings.Contains(b, "TZID:Europe/Paris") || strings.Contains(b, "Asia/Tokyo") {
		t.Errorf("b@example should carry exactly the Paris zone:\n%s", b)
	}
	if !strings.Contains(b, "SUMMARY:Weekly \r\n with a folded line\r\n") || !strings.Contains(b, "SUMMARY:Moved") {
		t.Errorf("b@example lost its override or its folded line:\n%s", b)
	}
	for _, p := range parts {
		o, err := Parse(p.Data)
		if err != nil || o.UID != p.UID {
			t.Errorf("part %s: Parse = %v, %v", p.UID, o, err)
		}
	}
	again, _, _ := Split([]byte(feed))
	for i := range parts {
		if !bytes.Equal(parts[i].Data, again[i].Data) {
			t.Errorf("part %s differs between two splits of the same feed", parts[i].UID)
		}
	}
}

func TestSplitRefusesMalformedFeeds(t *testing.T) {
	for _, bad := range []string{"", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n", "not a calendar"} {
		if _, _, err := Split([]byte(bad)); !errors.Is(err, ErrInvalidData) {
			t.Errorf("Split(%q) error = %v, want ErrInvalidData", bad, err)
		}
	}
}
