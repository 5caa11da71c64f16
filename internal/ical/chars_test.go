package ical

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckCharacters(t *testing.T) {
	const head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//T//EN\r\nBEGIN:VEVENT\r\nUID:a\r\n"
	const tail = "DTSTART:20260101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	tests := []struct {
		name, body, want string // want: "" for accepted, else a part of the message
	}{
		{"plain", head + "SUMMARY:Lunch\ttogether, café ☕\r\n" + tail, ""},
		{"LF line ends", strings.ReplaceAll(head+"SUMMARY:x\r\n"+tail, "\r\n", "\n"), ""},
		{"C1 and other Unicode", head + "SUMMARY:\u0085 \u2028 \U0001F600\r\n" + tail, ""},
		{"bell", head + "SUMMARY:ding\a\r\n" + tail, "line 6 (SUMMARY): character U+0007"},
		{"U+0001 in a parameter", head + "ATTENDEE;CN=A\x01B:mailto:a@example.org\r\n" + tail, "line 6 (ATTENDEE): character U+0001"},
		{"in a folded line", head + "DESCRIPTION:one\r\n two\x1b\r\n" + tail, "line 7 (DESCRIPTION): character U+001B"},
		{"DEL", head + "LOCATION:x\x7f\r\n" + tail, "line 6 (LOCATION): character U+007F"},
		{"bare CR", head + "SUMMARY:a\rb\r\n" + tail, "line 6 (SUMMARY): character U+000D"},
		{"NUL", head + "SUMMARY:a\x00\r\n" + tail, "character U+0000"},
		{"noncharacter", head + "SUMMARY:\uFFFF\r\n" + tail, "line 6 (SUMMARY): character U+FFFF"},
		{"control in the name", head + "X-\aNAME:v\r\n" + tail, "line 6 (X-?NAME): character U+0007"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckCharacters([]byte(tt.body))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidData) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalidData saying %q", err, tt.want)
			}
		})
	}
}

// FuzzCheckCharacters checks that what CheckCharacters accepts holds no
// character it is meant to refuse, and that it never panics.
func FuzzCheckCharacters(f *testing.F) {
	f.Add([]byte("BEGIN:VCALENDAR\r\nSUMMARY:a\tb\r\nEND:VCALENDAR\r\n"))
	f.Add([]byte("SUMMARY:\a\r\n \x01"))
	f.Add([]byte("X:\xef\xbf\xbe\xff"))
	f.Add([]byte("X:a\r"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if CheckCharacters(data) != nil {
			return
		}
		s := strings.ReplaceAll(string(data), "\r\n", "\n")
		for _, r := range s {
			if (r < 0x20 && r != '\t' && r != '\n') || r == 0x7f || r == 0xFFFE || r == 0xFFFF {
				t.Fatalf("accepted %U in %q", r, data)
			}
		}
	})
}
