package vcard

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes Parse panic and that whatever it
// accepts can be filtered, selected and converted to both versions, with
// converted output that parses again as the version asked for.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.vcf"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(cyrusCard)
	f.Add(davidCard)
	f.Add([]byte("begin:vcard\nversion:3.0\nfn:x\ntel;work;voice:1\nEND:VCARD"))
	f.Add(card4("FN:x", `PHOTO;MEDIATYPE="a;b":data:,%zz`, "X-A;P=\"^n^'\",b:c"))
	f.Add(card3("FN:x", "PHOTO;ENCODING=b;TYPE=\"a,b\":AA", "KIND:group", "X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:1"))
	filter := &Filter{Test: "anyof", Props: []PropFilter{
		{Name: "FN", TextMatches: []TextMatch{{Text: "a"}}},
		{Name: "EMAIL", Test: "allof", TextMatches: []TextMatch{{Text: "x", Negate: true}},
			Params: []ParamFilter{{Name: "TYPE", TextMatch: &TextMatch{Text: "home"}}}},
		{Name: "TEL", IsNotDefined: true},
	}}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		c.Match(filter)
		if _, err := Select(data, c, []string{"FN", "item1.EMAIL", "PHOTO"}); err != nil {
			t.Fatalf("Select: %v", err)
		}
		for _, version := range []string{Version3, Version4} {
			out, err := Convert(data, c, version)
			if err != nil {
				t.Fatalf("Convert to %s: %v", version, err)
			}
			back, err := Parse(out)
			if err != nil {
				t.Fatalf("Convert to %s gave data that does not parse: %v\n%q\nfrom\n%q", version, err, out, data)
			}
			if back.Version != version || back.UID != c.UID || back.FN != c.FN {
				t.Fatalf("Convert to %s: got Version %q UID %q FN %q, want UID %q FN %q",
					version, back.Version, back.UID, back.FN, c.UID, c.FN)
			}
		}
	})
}
