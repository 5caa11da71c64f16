package vcard

import (
	"errors"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// vcf joins lines into a vCard stream with CRLF line ends.
func vcf(lines ...string) []byte {
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

// card3 and card4 wrap property lines in a vCard of that version.
func card3(lines ...string) []byte { return wrapCard("3.0", lines) }
func card4(lines ...string) []byte { return wrapCard("4.0", lines) }

func wrapCard(version string, lines []string) []byte {
	all := append([]string{"BEGIN:VCARD", "VERSION:" + version}, lines...)
	return vcf(append(all, "END:VCARD")...)
}

func mustParse(t *testing.T, data []byte) *Card {
	t.Helper()
	c, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, data)
	}
	return c
}

func TestParseValidation(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		wantMsg string
	}{
		{"empty", []byte(" \r\n\r\n"), "empty body"},
		{"invalid utf-8", card4("FN:\xff\xfe"), "UTF-8"},
		{"nul byte", card4("FN:a\x00b"), "line 3 (FN): control character U+0000"},
		{"bare cr", card4("FN:a\rb"), "line 3 (FN): control character U+000D"},
		{"bell in a folded line", card4("NOTE:one", " two\a"), "line 4 (NOTE): control character U+0007"},
		{"not a vcard", vcf("BEGIN:VCALENDAR", "VERSION:2.0", "END:VCALENDAR"), "starts with BEGIN:VCARD"},
		{"garbage first", vcf("hello", "BEGIN:VCARD"), "no ':'"},
		{"no colon", card4("FN:x", "garbage"), `line 4: no ':' between property name and value in "garbage"`},
		{"bad name", card4("FN:x", "BAD NAME:x"), `invalid property name "BAD NAME"`},
		{"bad group", card4("FN:x", "a b.EMAIL:x"), `invalid group "a b"`},
		{"unterminated quote", card4(`FN;X-A="abc:x`), "unterminated quoted value of FN parameter X-A"},
		{"junk after quote", card4(`FN;X-A="abc"d:x`), `unexpected 'd' after the quoted value`},
		{"params without value", card4("FN;TYPE=a"), "FN parameters not followed by ':'"},
		{"orphan fold", vcf(" BEGIN:VCARD"), "without a line to continue"},
		{"no end", vcf("BEGIN:VCARD", "VERSION:4.0", "FN:x"), "BEGIN:VCARD without END:VCARD"},
		{"wrong end", vcf("BEGIN:VCARD", "VERSION:4.0", "FN:x", "END:VCALENDAR"), "END:VCALENDAR where END:VCARD"},
		{"nested", card4("FN:x", "BEGIN:VCARD", "END:VCARD"), "nested vCards"},
		{"nested other", card4("FN:x", "BEGIN:VEVENT"), "BEGIN:VEVENT is not allowed"},
		{"two cards", append(card4("FN:a"), card4("FN:b")...), "a second vCard; an address object resource holds exactly one"},
		{"trailing data", append(card4("FN:a"), "X:y\r\n"...), "data after END:VCARD"},
		{"no version", vcf("BEGIN:VCARD", "FN:x", "END:VCARD"), "no VERSION property"},
		{"two versions", card4("VERSION:4.0", "FN:x"), "2 VERSION properties"},
		{"version 2.1", wrapCard("2.1", []string{"FN:x"}), "vCard 2.1 is not supported"},
		{"version 5", wrapCard("5.0", []string{"FN:x"}), `unsupported VERSION "5.0"`},
		{"two uids", card4("FN:x", "UID:a", "UID:b"), "2 UID properties"},
		{"no fn 4.0", card4("UID:a", "N:Doe;John;;;"), "no FN property (vCard 4.0"},
		{"no fn 3.0", card3("UID:a", "N:Doe;John;;;"), "no FN property (vCard 3.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.data)
			if err == nil {
				t.Fatalf("Parse accepted %q: %+v", tt.data, c)
			}
			if !errors.Is(err, ErrInvalidData) {
				t.Errorf("error %v does not wrap ErrInvalidData", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name                   string
		data                   []byte
		uid, version, kind, fn string
	}{
		{"minimal 4.0", card4("FN:Jane Doe", "UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1"),
			"urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1", "4.0", "individual", "Jane Doe"},
		{"3.0 without uid", card3("N:Doe;Jane;;;", "FN:Jane Doe"), "", "3.0", "individual", "Jane Doe"},
		{"lower case names and lf", []byte("begin:vcard\nversion:3.0\nfn:x\nuid:u1\nend:vcard\n"), "u1", "3.0", "individual", "x"},
		{"blank lines around", []byte("\r\nBEGIN:VCARD\r\nVERSION:4.0\r\n\r\nFN:x\r\nEND:VCARD\r\n\r\n"), "", "4.0", "individual", "x"},
		{"no final newline", []byte("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:x\r\nEND:VCARD"), "", "4.0", "individual", "x"},
		{"kind group", card4("FN:Friends", "KIND:group", "MEMBER:urn:uuid:a"), "", "4.0", "group", "Friends"},
		{"apple kind", card3("FN:Friends", "X-ADDRESSBOOKSERVER-KIND:group"), "", "3.0", "group", "Friends"},
		{"kind org upper", card4("FN:ACME", "KIND:ORG"), "", "4.0", "org", "ACME"},
		{"escaped fn", card4(`FN:Doe\, Jane\nSr.`), "", "4.0", "individual", "Doe, Jane\nSr."},
		{"folded fn", vcf("BEGIN:VCARD", "VERSION:4.0", "FN:Jan", " e Doe", "END:VCARD"), "", "4.0", "individual", "Jane Doe"},
		{"tab fold", vcf("BEGIN:VCARD", "VERSION:4.0", "FN:Jan", "\te", "END:VCARD"), "", "4.0", "individual", "Jane"},
		{"bare type params", card3("FN:x", "TEL;WORK;VOICE:+1 555 0100"), "", "3.0", "individual", "x"},
		{"empty fn", card3("FN:", "ORG:ACME"), "", "3.0", "individual", ""},
		{"empty uid", card4("FN:x", "UID:"), "", "4.0", "individual", "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.data)
			if c.UID != tt.uid || c.Version != tt.version || c.Kind != tt.kind || c.FN != tt.fn {
				t.Errorf("got UID %q Version %q Kind %q FN %q, want %q %q %q %q",
					c.UID, c.Version, c.Kind, c.FN, tt.uid, tt.version, tt.kind, tt.fn)
			}
		})
	}
}

func TestParseParameters(t *testing.T) {
	c := mustParse(t, card4(
		"FN:x",
		`item1.EMAIL;TYPE=work,"internet";PREF=1;X-NOTE="a;b:c,d";X-CARET=^'q^' ^^ ^n:jane@example.com`,
		"TEL;WORK;VOICE:+1",
	))
	email := c.props[2]
	if email.group != "item1" || email.name != "EMAIL" || email.value != "jane@example.com" {
		t.Fatalf("EMAIL parsed as group %q name %q value %q", email.group, email.name, email.value)
	}
	if got := strings.Join(email.paramValues("TYPE"), "|"); got != "work|internet" {
		t.Errorf("TYPE values %q", got)
	}
	if got := email.paramValues("X-NOTE"); len(got) != 1 || got[0] != "a;b:c,d" {
		t.Errorf("quoted X-NOTE %q", got)
	}
	if got := email.paramValues("X-CARET"); len(got) != 1 || got[0] != "\"q\" ^ \n" {
		t.Errorf("caret-encoded X-CARET %q", got)
	}
	tel := c.props[3]
	if got := strings.Join(tel.paramValues("TYPE"), "|"); got != "WORK|VOICE" {
		t.Errorf("bare TYPE values %q", got)
	}
}

func TestRawLinesKeepBytes(t *testing.T) {
	data := []byte("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ren\r\n \u00e9e Ca\r\n\tdieux\r\nNOTE:\u65e5\u672c\r\n \u8a9e\nEND:VCARD")
	c := mustParse(t, data)
	if c.FN != "Ren\u00e9e Cadieux" {
		t.Errorf("FN %q", c.FN)
	}
	var joined string
	joined += c.begin.raw
	for _, p := range c.props {
		joined += p.raw
	}
	joined += c.end.raw
	if joined != string(data) {
		t.Errorf("raw lines do not add up to the input:\n%q\n%q", joined, data)
	}
	if note := c.props[2]; note.value != "\u65e5\u672c\u8a9e" || note.line != 6 {
		t.Errorf("NOTE value %q at line %d", note.value, note.line)
	}
}

func TestIndex(t *testing.T) {
	c := mustParse(t, card3("FN:x", "UID:abc-123"))
	dst := store.Object{
		UID: "old", Component: "VEVENT", Recurring: true,
		SpanStart: time.Unix(1, 0), SpanEnd: time.Unix(2, 0), IndexedUntil: time.Unix(3, 0),
		Occurrences: []store.Period{{Start: time.Unix(1, 0), End: time.Unix(2, 0)}},
		Name:        "abc.vcf",
	}
	c.Index(&dst)
	want := store.Object{UID: "abc-123", Component: "VCARD", Name: "abc.vcf"}
	if dst.UID != want.UID || dst.Component != want.Component || dst.Name != want.Name || dst.Recurring ||
		!dst.SpanStart.IsZero() || !dst.SpanEnd.IsZero() || !dst.IndexedUntil.IsZero() || dst.Occurrences != nil {
		t.Errorf("Index gave %+v", dst)
	}
}

func TestCheckCharacters(t *testing.T) {
	if err := CheckCharacters(card4("FN:Zoë ☕ \u0085")); err != nil {
		t.Fatalf("refused: %v", err)
	}
	err := CheckCharacters(card4("FN:x", "NOTE:a", " b\uFFFE"))
	if !errors.Is(err, ErrInvalidData) || !strings.Contains(err.Error(), "line 5 (NOTE): character U+FFFE") {
		t.Fatalf("err = %v, want line 5 (NOTE) and U+FFFE", err)
	}
}
