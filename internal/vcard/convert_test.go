package vcard

import (
	"bytes"
	"encoding/base64"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// unfolded returns the content lines of a CRLF vCard stream, unfolded.
func unfolded(data []byte) []string {
	s := strings.ReplaceAll(string(data), "\r\n ", "")
	return strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n")
}

// checkWellFormed asserts the output rules of Convert: CRLF line ends,
// physical lines of at most 75 octets, no UTF-8 sequence split by a fold.
func checkWellFormed(t *testing.T, out []byte) {
	t.Helper()
	if !bytes.HasSuffix(out, []byte("\r\n")) {
		t.Errorf("output does not end with CRLF")
	}
	for i, line := range strings.Split(strings.TrimSuffix(string(out), "\r\n"), "\r\n") {
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i+1, line)
		}
		if len(line) > 75 {
			t.Errorf("line %d has %d octets: %q", i+1, len(line), line)
		}
		if !utf8.ValidString(line) {
			t.Errorf("line %d splits a UTF-8 sequence: %q", i+1, line)
		}
	}
}

// photoBytes decodes the inline photo of a card in either version.
func photoBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	for _, line := range unfolded(data) {
		if !strings.HasPrefix(line, "PHOTO") {
			continue
		}
		_, v, _ := strings.Cut(line, ":")
		v = strings.TrimPrefix(v, "data:image/jpeg;base64,")
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			t.Fatalf("photo %q: %v", line, err)
		}
		return b
	}
	t.Fatalf("no PHOTO in\n%s", data)
	return nil
}

func convert(t *testing.T, data []byte, version string) []byte {
	t.Helper()
	c := mustParse(t, data)
	out, err := Convert(data, c, version)
	if err != nil {
		t.Fatalf("Convert to %s: %v", version, err)
	}
	if c.Version != version {
		checkWellFormed(t, out)
	}
	back, err := Parse(out)
	if err != nil {
		t.Fatalf("converted card does not parse: %v\n%s", err, out)
	}
	if back.Version != version || back.UID != c.UID || back.FN != c.FN || back.Kind != c.Kind {
		t.Errorf("converted card: Version %q UID %q FN %q Kind %q, want %q %q %q %q",
			back.Version, back.UID, back.FN, back.Kind, version, c.UID, c.FN, c.Kind)
	}
	return out
}

func wantLines(t *testing.T, out []byte, want ...string) {
	t.Helper()
	lines := unfolded(out)
	for _, w := range want {
		if !slices.Contains(lines, w) {
			t.Errorf("missing line %q in\n%s", w, strings.Join(lines, "\n"))
		}
	}
}

func noLinesWith(t *testing.T, out []byte, prefixes ...string) {
	t.Helper()
	for _, line := range unfolded(out) {
		for _, p := range prefixes {
			if strings.HasPrefix(line, p) {
				t.Errorf("unexpected line %q", line)
			}
		}
	}
}

func TestConvertSameVersionKeepsBytes(t *testing.T) {
	for _, name := range []string{"apple-3.0.vcf", "rfc6350-4.0.vcf"} {
		data := readTestdata(t, name)
		c := mustParse(t, data)
		out, err := Convert(data, c, c.Version)
		if err != nil || &out[0] != &data[0] || len(out) != len(data) {
			t.Errorf("%s: Convert to its own version did not return the stored bytes (err %v)", name, err)
		}
	}
}

func TestConvertRejectsUnknownVersion(t *testing.T) {
	data := card4("FN:x")
	for _, v := range []string{"", "2.1", "4"} {
		if _, err := Convert(data, mustParse(t, data), v); err == nil || !strings.Contains(err.Error(), "want 3.0 or 4.0") {
			t.Errorf("Convert to %q: error %v", v, err)
		}
	}
}

func TestConvertApple3To4AndBack(t *testing.T) {
	data := readTestdata(t, "apple-3.0.vcf")
	photo := photoBytes(t, data)
	v4 := convert(t, data, Version4)
	wantLines(t, v4,
		"BEGIN:VCARD",
		"VERSION:4.0",
		"PRODID:-//Apple Inc.//iPhone OS 17.4//EN",
		"N:Cadieux;Renée;;;",
		"FN:Renée Cadieux",
		"ORG:Société Générale;Équipe Ünïcödé",
		"item1.EMAIL;PREF=1:renee@example.com",
		"item1.X-ABLabel:_$!<Other>!$_",
		"EMAIL;TYPE=work:rc@example.org",
		"TEL;TYPE=cell,voice;PREF=1:+33 6 12 34 56 78",
		`item2.ADR;TYPE=home;PREF=1:;;12 rue de la Paix\, Bât. B;Paris;;75002;France`,
		"item2.X-ABADR:fr",
		"NOTE:日本語のメモ、とても長い行は七十五オクテットで折り返されるべきですが、UTF-8の文字を分割してはいけません。",
		"X-SOCIALPROFILE;TYPE=twitter:https://twitter.com/renee",
		"UID:6C8E3A5B-1F0D-4C2B-9E7A-3D2F1B0A9C8E",
		"END:VCARD",
	)
	if lines := unfolded(v4); lines[1] != "VERSION:4.0" {
		t.Errorf("VERSION is not right after BEGIN: %q", lines[1])
	}
	if !strings.Contains(string(v4), "\r\nPHOTO:data:image/jpeg;base64,/9j/") {
		t.Errorf("photo not a data: URI:\n%s", v4)
	}
	if got := photoBytes(t, v4); !bytes.Equal(got, photo) {
		t.Errorf("photo changed in 4.0: %x, want %x", got, photo)
	}
	noLinesWith(t, v4, "VERSION:3.0", "PHOTO;")

	v3 := convert(t, v4, Version3)
	wantLines(t, v3,
		"VERSION:3.0",
		"item1.EMAIL;TYPE=PREF:renee@example.com",
		"EMAIL;TYPE=WORK:rc@example.org",
		"TEL;TYPE=CELL,VOICE,PREF:+33 6 12 34 56 78",
		`item2.ADR;TYPE=HOME,PREF:;;12 rue de la Paix\, Bât. B;Paris;;75002;France`,
	)
	if !strings.Contains(string(v3), "\r\nPHOTO;ENCODING=b;TYPE=JPEG:/9j/") {
		t.Errorf("photo not ENCODING=b:\n%s", v3)
	}
	if got := photoBytes(t, v3); !bytes.Equal(got, photo) {
		t.Errorf("photo changed after 3.0 -> 4.0 -> 3.0: %x, want %x", got, photo)
	}
}

func TestConvertRFC6350To3AndBack(t *testing.T) {
	data := readTestdata(t, "rfc6350-4.0.vcf")
	photo := photoBytes(t, data)
	v3 := convert(t, data, Version3)
	wantLines(t, v3,
		"VERSION:3.0",
		"FN:Simon Perreault",
		"N:Perreault;Simon;;;ing. jr,M.Sc.",
		"LANG;TYPE=PREF:fr",
		"LANG:en",
		"ORG;TYPE=WORK:Viagenie",
		"TEL;TYPE=WORK,VOICE,PREF:+1-418-656-9254;ext=102",
		"TEL;TYPE=WORK,CELL,VOICE,VIDEO,TEXT:+1-418-262-6501",
		"KEY;TYPE=WORK;VALUE=uri:http://www.viagenie.ca/simon.perreault/simon.asc",
		"URL;TYPE=HOME:http://nomis80.org",
		"UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1",
	)
	noLinesWith(t, v3, "PHOTO:data:", "TEL;VALUE")
	if got := photoBytes(t, v3); !bytes.Equal(got, photo) {
		t.Errorf("photo changed in 3.0: %x, want %x", got, photo)
	}
	if n := strings.Count(string(v3), "\r\nN:"); n != 1 {
		t.Errorf("%d N lines, want the original one", n)
	}

	v4 := convert(t, v3, Version4)
	wantLines(t, v4,
		"LANG;PREF=1:fr",
		"TEL;TYPE=work,voice;PREF=1:+1-418-656-9254;ext=102",
	)
	if got := photoBytes(t, v4); !bytes.Equal(got, photo) {
		t.Errorf("photo changed after 4.0 -> 3.0 -> 4.0: %x, want %x", got, photo)
	}
}

func TestConvertGroups(t *testing.T) {
	v4 := convert(t, readTestdata(t, "group-3.0.vcf"), Version4)
	wantLines(t, v4,
		"KIND:group",
		"MEMBER:urn:uuid:6C8E3A5B-1F0D-4C2B-9E7A-3D2F1B0A9C8E",
		"MEMBER:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1",
	)
	noLinesWith(t, v4, "X-ADDRESSBOOKSERVER")

	v3 := convert(t, readTestdata(t, "group-4.0.vcf"), Version3)
	wantLines(t, v3,
		"X-ADDRESSBOOKSERVER-KIND:group",
		"X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:6C8E3A5B-1F0D-4C2B-9E7A-3D2F1B0A9C8E",
		"X-ADDRESSBOOKSERVER-MEMBER:mailto:guest@example.com",
		"N:Climbing club;;;;",
	)
	noLinesWith(t, v3, "KIND:", "MEMBER:")

	// A 3.0 card that carries both spellings keeps one KIND.
	both := card3("FN:g", "KIND:group", "X-ADDRESSBOOKSERVER-KIND:group")
	if n := strings.Count(string(convert(t, both, Version4)), "KIND:"); n != 1 {
		t.Errorf("%d KIND lines, want 1", n)
	}
}

func TestConvertDetails(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		version string
		want    []string
		absent  []string
	}{
		{"3.0 n added", card3("FN:Jane"), Version3, nil, nil}, // same version: untouched
		{"4.0 without n gets one", card4("FN:Jane"), Version3, []string{"FN:Jane", "N:;;;;"}, nil},
		{"name profile charset dropped", card3("NAME:x", "PROFILE:VCARD", "FN;CHARSET=utf-8:Jane"), Version4,
			[]string{"FN:Jane"}, []string{"NAME:", "PROFILE:"}},
		{"bare type params", card3("FN:x", "TEL;WORK;VOICE:+1 555"), Version4, []string{"TEL;TYPE=work,voice:+1 555"}, nil},
		{"bare encoding", card3("FN:x", "PHOTO;JPEG;BASE64:AAEC"), Version4, []string{"PHOTO:data:image/jpeg;base64,AAEC"}, nil},
		{"photo uri 3 to 4", card3("FN:x", "PHOTO;VALUE=uri;TYPE=GIF:http://example.com/a.gif"), Version4,
			[]string{"PHOTO;VALUE=uri;MEDIATYPE=image/gif:http://example.com/a.gif"}, nil},
		{"photo uri 4 to 3", card4("FN:x", "PHOTO;MEDIATYPE=image/png:https://example.com/a.png"), Version3,
			[]string{"PHOTO;VALUE=uri;TYPE=PNG:https://example.com/a.png"}, nil},
		{"key pgp 3 to 4", card3("FN:x", "KEY;ENCODING=b;TYPE=PGP:AAEC"), Version4,
			[]string{"KEY:data:application/pgp-keys;base64,AAEC"}, nil},
		{"key pgp 4 to 3", card4("FN:x", "KEY:data:application/pgp-keys;base64,AAEC"), Version3,
			[]string{"KEY;ENCODING=b;TYPE=PGP:AAEC"}, nil},
		{"percent data uri", card4("FN:x", "LOGO:data:image/svg+xml,%3Csvg%2F%3E"), Version3,
			[]string{"LOGO;ENCODING=b;TYPE=SVG+XML:" + base64.StdEncoding.EncodeToString([]byte("<svg/>"))}, nil},
		{"escaped comma data uri", card4("FN:x", `PHOTO:data:image/jpeg;base64\,AAEC`), Version3,
			[]string{"PHOTO;ENCODING=b;TYPE=JPEG:AAEC"}, nil},
		{"sound 3 to 4", card3("FN:x", "SOUND;TYPE=OGG;ENCODING=b:AAEC"), Version4,
			[]string{"SOUND:data:audio/ogg;base64,AAEC"}, nil},
		{"binary without type", card3("FN:x", "PHOTO;ENCODING=B:AAEC"), Version4,
			[]string{"PHOTO:data:application/octet-stream;base64,AAEC"}, nil},
		{"tel uri other scheme", card4("FN:x", "TEL;VALUE=uri:sip:jane@example.com"), Version3,
			[]string{"TEL;VALUE=uri:sip:jane@example.com"}, nil},
		{"pref 2 dropped", card4("FN:x", "EMAIL;PREF=2;TYPE=home:a@example.com"), Version3,
			[]string{"EMAIL;TYPE=HOME:a@example.com"}, nil},
		{"existing pref kept", card3("FN:x", "EMAIL;PREF=3;TYPE=pref:a@example.com"), Version4,
			[]string{"EMAIL;PREF=3:a@example.com"}, nil},
		{"unknown x kept", card3("FN:x", "X-EVOLUTION-SPOUSE;X-A=\"a;b\":Sam"), Version4,
			[]string{`X-EVOLUTION-SPOUSE;X-A="a;b":Sam`}, nil},
		{"caret params", card4("FN:x", "ADR;LABEL=\"1 Main St^nSpringfield\":;;1 Main St;Springfield;;;"), Version3,
			[]string{"ADR;LABEL=1 Main St^nSpringfield:;;1 Main St;Springfield;;;"}, nil},
		{"member with group kept", card4("FN:g", "KIND:group", "g1.MEMBER:urn:uuid:x"), Version3,
			[]string{"g1.X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:x", "N:g;;;;"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := convert(t, tt.data, tt.version)
			if tt.want == nil && !bytes.Equal(out, tt.data) {
				t.Errorf("same-version Convert changed the bytes")
			}
			wantLines(t, out, tt.want...)
			noLinesWith(t, out, tt.absent...)
		})
	}
}

func TestFoldKeepsUTF8AndRoundTrips(t *testing.T) {
	long := strings.Repeat("é日本🙂a", 40)
	data := card4("FN:"+long, "NOTE;X-P=\""+strings.Repeat("ü", 50)+"\":"+long)
	out := convert(t, data, Version3)
	c := mustParse(t, out)
	if c.FN != long {
		t.Errorf("FN changed by folding: %q", c.FN)
	}
	wantLines(t, out, "NOTE;X-P="+strings.Repeat("ü", 50)+":"+long)
	if !bytes.Contains(out, []byte("\r\n ")) {
		t.Errorf("long lines were not folded")
	}
}

var update = flag.Bool("update", false, "rewrite the golden files under testdata/convert")

// TestConvertGolden pins Convert's exact output, folding included, in
// testdata/convert/<input>.to-<version>.vcf (go test -update rewrites them).
func TestConvertGolden(t *testing.T) {
	for _, tt := range []struct{ input, version string }{
		{"apple-3.0.vcf", Version4},
		{"rfc6350-4.0.vcf", Version3},
		{"group-3.0.vcf", Version4},
		{"group-4.0.vcf", Version3},
	} {
		t.Run(tt.input, func(t *testing.T) {
			out := convert(t, readTestdata(t, tt.input), tt.version)
			golden := filepath.Join("testdata", "convert", strings.TrimSuffix(tt.input, ".vcf")+".to-"+tt.version+".vcf")
			if *update {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("Convert to %s differs from %s:\n%s", tt.version, golden, out)
			}
		})
	}
}
