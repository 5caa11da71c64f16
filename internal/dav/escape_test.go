package dav

import (
	"math/rand/v2"
	"testing"
)

// TestAppendEscapedText checks AppendEscapedText against EscapeText on
// fixed cases and on random text built from the characters that matter.
func TestAppendEscapedText(t *testing.T) {
	cases := []string{"", "plain", "BEGIN:VCALENDAR\r\nSUMMARY:a & b <c>\r\n", "&&&", "\r", "<>", "ü\r\n€&"}
	rng := rand.New(rand.NewPCG(7, 7))
	alphabet := []string{"a", "&", "<", ">", "\r", "\n", "\"", "'", "é", ";"}
	for range 500 {
		var b []byte
		for range rng.IntN(40) {
			b = append(b, alphabet[rng.IntN(len(alphabet))]...)
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		want := "prefix:" + EscapeText(c)
		if got := string(AppendEscapedText([]byte("prefix:"), []byte(c))); got != want {
			t.Fatalf("AppendEscapedText(%q) = %q, want %q", c, got, want)
		}
	}
}
