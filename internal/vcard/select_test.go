package vcard

import (
	"bytes"
	"strings"
	"testing"
)

func selectProps(t *testing.T, data []byte, props ...string) string {
	t.Helper()
	out, err := Select(data, mustParse(t, data), props)
	if err != nil {
		t.Fatalf("Select(%q): %v", props, err)
	}
	// Partial data may lack FN, so only its syntax is checked.
	if _, err := contentLines(out); err != nil {
		t.Errorf("selected card is not vCard syntax: %v\n%s", err, out)
	}
	return string(out)
}

func TestSelectRFC6352Example(t *testing.T) {
	// The stored card of RFC 6352 section 8.6 with more than the query asks
	// for; the response holds the requested properties in stored order.
	data := card3("NICKNAME:me", "UID:34222-232@example.com", "FN:Cyrus Daboo",
		"N:Daboo;Cyrus;;;", "TEL;TYPE=WORK:+1 555 0100", "EMAIL:daboo@example.com", "NOTE:not asked for")
	got := selectProps(t, data, "VERSION", "UID", "NICKNAME", "EMAIL", "FN")
	want := string(vcf("BEGIN:VCARD", "VERSION:3.0", "NICKNAME:me", "UID:34222-232@example.com",
		"FN:Cyrus Daboo", "EMAIL:daboo@example.com", "END:VCARD"))
	if got != want {
		t.Errorf("Select =\n%s\nwant\n%s", got, want)
	}
}

func TestSelect(t *testing.T) {
	apple := readTestdata(t, "apple-3.0.vcf")
	tests := []struct {
		name  string
		data  []byte
		props []string
		want  string
	}{
		{"version kept unasked", card4("FN:x", "UID:u", "NOTE:n"), []string{"FN"},
			"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:x\r\nEND:VCARD\r\n"},
		{"name case-insensitive", card4("FN:x", "note:n"), []string{"Note"},
			"BEGIN:VCARD\r\nVERSION:4.0\r\nnote:n\r\nEND:VCARD\r\n"},
		{"unknown name selects nothing more", card4("FN:x"), []string{"X-NOPE"},
			"BEGIN:VCARD\r\nVERSION:4.0\r\nEND:VCARD\r\n"},
		{"name matches every group", card3("FN:x", "EMAIL:a@x", "item1.EMAIL:b@x", "item1.X-ABLabel:l"), []string{"EMAIL"},
			"BEGIN:VCARD\r\nVERSION:3.0\r\nEMAIL:a@x\r\nitem1.EMAIL:b@x\r\nEND:VCARD\r\n"},
		{"group name matches its group only", card3("FN:x", "EMAIL:a@x", "item1.EMAIL:b@x", "item2.EMAIL:c@x"), []string{"item1.EMAIL"},
			"BEGIN:VCARD\r\nVERSION:3.0\r\nitem1.EMAIL:b@x\r\nEND:VCARD\r\n"},
		{"lf and folding kept", []byte("BEGIN:VCARD\nVERSION:4.0\nFN:Ren\n ée\nNOTE:a\nEND:VCARD"), []string{"FN"},
			"BEGIN:VCARD\nVERSION:4.0\nFN:Ren\n ée\nEND:VCARD\r\n"},
		{"empty list is everything", apple, nil, string(apple)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := selectProps(t, tt.data, tt.props...); got != tt.want {
				t.Errorf("Select =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestSelectKeepsFoldedPhotoBytes(t *testing.T) {
	data := readTestdata(t, "apple-3.0.vcf")
	start := bytes.Index(data, []byte("PHOTO;"))
	end := start + bytes.Index(data[start:], []byte("\r\nX-SOCIALPROFILE")) + 2
	photoLines := data[start:end]
	if bytes.Count(photoLines, []byte("\r\n ")) < 2 {
		t.Fatalf("test photo is not folded: %q", photoLines)
	}
	noteStart := bytes.Index(data, []byte("NOTE:"))
	noteLines := data[noteStart : noteStart+bytes.Index(data[noteStart:], []byte("\r\nPHOTO"))+2]

	got := selectProps(t, data, "PHOTO", "NOTE", "UID")
	want := "BEGIN:VCARD\r\nVERSION:3.0\r\n" + string(noteLines) + string(photoLines) +
		"UID:6C8E3A5B-1F0D-4C2B-9E7A-3D2F1B0A9C8E\r\nEND:VCARD\r\n"
	if got != want {
		t.Errorf("Select =\n%q\nwant\n%q", got, want)
	}
}

func TestSelectRejectsBadNames(t *testing.T) {
	data := card4("FN:x")
	for _, name := range []string{"", "E MAIL", "a.", ".FN"} {
		if _, err := Select(data, mustParse(t, data), []string{"FN", name}); err == nil || !strings.Contains(err.Error(), "not a vCard property name") {
			t.Errorf("Select with %q: error %v", name, err)
		}
	}
}
