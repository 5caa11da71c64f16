package vcard

import (
	"strings"
	"testing"
)

func TestBuilder(t *testing.T) {
	w, err := NewBuilder(Version3)
	if err != nil {
		t.Fatal(err)
	}
	w.Add("UID", nil, "urn:uuid:00000000-0000-5000-8000-000000000000")
	w.Add("FN", nil, `Smith, Jane; "JS" \ Co`)
	w.Add("N", nil, "Smith", "Jane", "", "", "")
	w.Add("EMAIL", []string{"INTERNET"}, "jane@example.org")
	w.Add("NOTE", nil, "line one\r\nline two, and a tail long enough to be folded across two physical lines\x00")
	got := string(w.Bytes())
	want := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:urn:uuid:00000000-0000-5000-8000-000000000000\r\n" +
		"FN:Smith\\, Jane\\; \"JS\" \\\\ Co\r\nN:Smith;Jane;;;\r\nEMAIL;TYPE=INTERNET:jane@example.org\r\n" +
		"NOTE:line one\\nline two\\, and a tail long enough to be folded across two ph\r\n ysical lines\r\nEND:VCARD\r\n"
	if got != want {
		t.Fatalf("built\n%q\nwant\n%q", got, want)
	}
	c, err := Parse([]byte(got))
	if err != nil {
		t.Fatal(err)
	}
	if c.FN != `Smith, Jane; "JS" \ Co` || c.UID != "urn:uuid:00000000-0000-5000-8000-000000000000" {
		t.Fatalf("parsed back FN %q UID %q", c.FN, c.UID)
	}
	if _, err := NewBuilder("2.1"); err == nil {
		t.Fatal("NewBuilder accepted vCard 2.1")
	}
}

// FuzzBuilder checks that whatever text a profile holds, the card built
// from it parses, says the same name, is found by a filter on that name,
// and converts to vCard 4.0.
func FuzzBuilder(f *testing.F) {
	f.Add("Jane Smith", "jane@example.org")
	f.Add("山田 花子", "")
	f.Add("a;b,c\\d\r\ne\rf\x01\xff\uFFFE", "x@y")
	f.Add(strings.Repeat("é", 80), strings.Repeat("a", 100))
	f.Fuzz(func(t *testing.T, name, email string) {
		w, err := NewBuilder(Version3)
		if err != nil {
			t.Fatal(err)
		}
		w.Add("FN", nil, name)
		w.Add("N", nil, name, "", "", "", "")
		w.Add("EMAIL", []string{"INTERNET"}, email)
		data := w.Bytes()
		c, err := Parse(data)
		if err != nil {
			t.Fatalf("built card does not parse: %v\n%q", err, data)
		}
		want := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(strings.Map(func(r rune) rune {
			if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f || r == 0xFFFE || r == 0xFFFF {
				return -1
			}
			return r
		}, strings.ToValidUTF8(name, "")))
		if c.FN != want {
			t.Fatalf("FN %q, want %q", c.FN, want)
		}
		f := &Filter{Props: []PropFilter{{Name: "FN", TextMatches: []TextMatch{{Text: want, Collation: "i;octet", MatchType: "equals"}}}}}
		if !c.Match(f) {
			t.Fatalf("a filter on FN %q does not find the card\n%q", want, data)
		}
		out, err := Convert(data, c, Version4)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := Parse(out); err != nil || back.FN != want {
			t.Fatalf("converted card: %v, FN %q\n%q", err, back.FN, out)
		}
	})
}
