package domain

import (
	"fmt"
	"io"
)

// writeImportCalendar writes an iCalendar file of events events to w
// and returns how many UIDs it holds: two VTIMEZONEs, one event in 20 a
// weekly series in Europe/Berlin whose override comes at the end of the
// file (after every other event), the rest single UTC or New York events.
func writeImportCalendar(w io.Writer, events int) int {
	fmt.Fprint(w, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Koyomi test//EN\r\n", berlin)
	fmt.Fprint(w, "BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\nBEGIN:STANDARD\r\nDTSTART:19701101T020000\r\n"+
		"TZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\nEND:STANDARD\r\n"+
		"BEGIN:DAYLIGHT\r\nDTSTART:19700308T020000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\n"+
		"RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n")
	var series []int
	for i := range events {
		day := 1 + i%28
		month := 1 + (i/28)%12
		switch {
		case i%20 == 0:
			series = append(series, i)
			fmt.Fprintf(w, "BEGIN:VEVENT\r\nUID:series-%d\r\nDTSTAMP:20260101T000000Z\r\n"+
				"DTSTART;TZID=Europe/Berlin:2026%02d%02dT090000\r\nDTEND;TZID=Europe/Berlin:2026%02d%02dT100000\r\n"+
				"RRULE:FREQ=WEEKLY;COUNT=20\r\nSUMMARY:Series %d\r\nEND:VEVENT\r\n", i, month, day, month, day, i)
		case i%7 == 0:
			fmt.Fprintf(w, "BEGIN:VEVENT\r\nUID:ny-%d\r\nDTSTAMP:20260101T000000Z\r\n"+
				"DTSTART;TZID=America/New_York:2026%02d%02dT140000\r\nDURATION:PT30M\r\n"+
				"SUMMARY:Call %d\r\nLOCATION:Room %d\r\nEND:VEVENT\r\n", i, month, day, i, i%50)
		default:
			fmt.Fprintf(w, "BEGIN:VEVENT\r\nUID:event-%d\r\nDTSTAMP:20260101T000000Z\r\n"+
				"DTSTART:2026%02d%02dT%02d0000Z\r\nDTEND:2026%02d%02dT%02d3000Z\r\n"+
				"SUMMARY:Event %d\r\nDESCRIPTION:A generated event to fill the calendar\\, number %d.\r\nEND:VEVENT\r\n",
				i, month, day, 8+i%10, month, day, 8+i%10, i, i)
		}
	}
	for _, i := range series {
		day := 1 + i%28
		month := 1 + (i/28)%12
		fmt.Fprintf(w, "BEGIN:VEVENT\r\nUID:series-%d\r\nDTSTAMP:20260101T000000Z\r\n"+
			"RECURRENCE-ID;TZID=Europe/Berlin:2026%02d%02dT090000\r\n"+
			"DTSTART;TZID=Europe/Berlin:2026%02d%02dT113000\r\nDTEND;TZID=Europe/Berlin:2026%02d%02dT123000\r\n"+
			"SUMMARY:Series %d (moved)\r\nEND:VEVENT\r\n", i, month, day, month, day, month, day, i)
	}
	fmt.Fprint(w, "END:VCALENDAR\r\n")
	return events
}
