package dav

import (
	"encoding/xml"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func statusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

func TestParsePropfind(t *testing.T) {
	z := func(l string) xml.Name { return xml.Name{Space: "urn:example:z", Local: l} }
	tests := []struct {
		name   string
		body   string
		want   PropRequest
		status int
	}{
		{name: "empty means allprop", body: "  \n", want: PropRequest{AllProp: true}},
		{name: "allprop", body: `<propfind xmlns="DAV:"><allprop/></propfind>`, want: PropRequest{AllProp: true}},
		{name: "allprop include", body: `<D:propfind xmlns:D="DAV:"><D:allprop/><D:include><D:supported-report-set/></D:include></D:propfind>`,
			want: PropRequest{AllProp: true, Include: []xml.Name{Name("supported-report-set")}}},
		{name: "propname", body: `<propfind xmlns="DAV:"><propname/></propfind>`, want: PropRequest{PropName: true}},
		{name: "prop with prefixes", body: `<?xml version="1.0"?><A:propfind xmlns:A="DAV:" xmlns:B="urn:example:z"><A:prop><A:getetag/><B:color>ignored</B:color><size xmlns="urn:example:z"/></A:prop></A:propfind>`,
			want: PropRequest{Names: []xml.Name{Name("getetag"), z("color"), z("size")}}},
		{name: "unknown children skipped", body: `<propfind xmlns="DAV:"><x:y xmlns:x="urn:x"><deep/></x:y><propname/></propfind>`, want: PropRequest{PropName: true}},
		{name: "malformed", body: `<propfind xmlns="DAV:"><prop>`, status: 400},
		{name: "mismatched end", body: `<propfind xmlns="DAV:"></prop>`, status: 400},
		{name: "not xml", body: `hello`, status: 400},
		{name: "wrong root", body: `<propertyupdate xmlns="DAV:"/>`, status: 400},
		{name: "root without namespace", body: `<propfind><allprop/></propfind>`, status: 400},
		{name: "undeclared prefix", body: `<D:propfind><D:allprop/></D:propfind>`, status: 400},
		{name: "undeclared prefix in prop", body: `<propfind xmlns="DAV:"><prop><Z:color/></prop></propfind>`, status: 400},
		{name: "prefix bound to empty", body: `<propfind xmlns="DAV:" xmlns:z=""><prop><getetag/></prop></propfind>`, status: 400},
		{name: "none", body: `<propfind xmlns="DAV:"/>`, status: 400},
		{name: "two kinds", body: `<propfind xmlns="DAV:"><allprop/><prop><getetag/></prop></propfind>`, status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePropfind([]byte(tt.body))
			if tt.status != 0 {
				if statusOf(err) != tt.status {
					t.Fatalf("err = %v, want status %d", err, tt.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParsePropertyUpdate(t *testing.T) {
	body := `<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:example:z" xmlns:A="urn:example:attr">
  <D:set><D:prop>
    <Z:authors><Z:author A:role="lead">Jane &amp; Co</Z:author><!-- dropped --><author>plain</author></Z:authors>
  </D:prop></D:set>
  <D:remove><D:prop><Z:old/></D:prop></D:remove>
  <D:set><D:prop><D:displayname>Réunion &lt;2&gt;</D:displayname></D:prop></D:set>
</D:propertyupdate>`
	ops, err := ParsePropertyUpdate([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		remove bool
		name   xml.Name
		xml    string
	}{
		{false, xml.Name{Space: "urn:example:z", Local: "authors"},
			`<authors xmlns="urn:example:z"><author xmlns:a0="urn:example:attr" a0:role="lead">Jane &amp; Co</author><author xmlns="">plain</author></authors>`},
		{true, xml.Name{Space: "urn:example:z", Local: "old"}, `<old xmlns="urn:example:z"></old>`},
		{false, Name("displayname"), `<displayname xmlns="DAV:">Réunion &lt;2&gt;</displayname>`},
	}
	if len(ops) != len(want) {
		t.Fatalf("%d ops, want %d: %+v", len(ops), len(want), ops)
	}
	for i, w := range want {
		if ops[i].Remove != w.remove || ops[i].Prop.Name != w.name || string(ops[i].Prop.XML) != w.xml {
			t.Errorf("op %d = {%v %v %s}, want {%v %v %s}", i, ops[i].Remove, ops[i].Prop.Name, ops[i].Prop.XML, w.remove, w.name, w.xml)
		}
	}
	if text, err := ops[2].Prop.Text(); err != nil || text != "Réunion <2>" {
		t.Errorf("displayname text = %q, %v", text, err)
	}
	if _, err := ops[0].Prop.Text(); err == nil {
		t.Errorf("Text of an element with children should fail")
	}
}

func TestParsePropertyUpdateErrors(t *testing.T) {
	tests := []struct {
		name, body string
		status     int
	}{
		{"empty", "", 400},
		{"wrong root", `<propfind xmlns="DAV:"/>`, 400},
		{"truncated", `<propertyupdate xmlns="DAV:"><set><prop><x xmlns="urn:z">`, 400},
		// "Z:0" is an XML name but not a QName (Namespaces in XML 1.0,
		// section 4): its local part "0" is no NCName, and capturing it
		// would store "<0 xmlns=...>", which is not well-formed and breaks
		// every later PROPFIND of the resource.
		{"local name not an NCName", `<propertyupdate xmlns="DAV:"><set><prop><Z:0 xmlns:Z="urn:z"/></prop></set></propertyupdate>`, 400},
		{"nested local name not an NCName", `<propertyupdate xmlns="DAV:"><set><prop><x xmlns="urn:z"><Z:1a xmlns:Z="urn:z"/></x></prop></set></propertyupdate>`, 400},
		{"undeclared prefix in value", `<propertyupdate xmlns="DAV:"><set><prop><x xmlns="urn:z"><q:y/></x></prop></set></propertyupdate>`, 400},
		{"too deep", `<propertyupdate xmlns="DAV:"><set><prop>` + strings.Repeat("<x>", maxXMLDepth+1) + strings.Repeat("</x>", maxXMLDepth+1) + `</prop></set></propertyupdate>`, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePropertyUpdate([]byte(tt.body))
			if statusOf(err) != tt.status {
				t.Errorf("err = %v, want status %d", err, tt.status)
			}
		})
	}
}

func TestParseMkcol(t *testing.T) {
	ops, err := ParseMkcol([]byte(`<D:mkcol xmlns:D="DAV:"><D:set><D:prop><D:resourcetype><D:collection/></D:resourcetype><D:displayname>Notes</D:displayname></D:prop></D:set><D:remove><D:prop><D:x/></D:prop></D:remove></D:mkcol>`), Name("mkcol"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 2 || ops[0].Prop.Name != Name("resourcetype") || ops[1].Prop.Name != Name("displayname") {
		t.Fatalf("ops = %+v (remove must be ignored in MKCOL)", ops)
	}
	d, err := ops[0].Prop.Decoder()
	if err != nil {
		t.Fatal(err)
	}
	names, err := d.Names()
	if err != nil || !reflect.DeepEqual(names, []xml.Name{Name("collection")}) {
		t.Errorf("resourcetype names = %v, %v", names, err)
	}
	if ops, err := ParseMkcol(nil, Name("mkcol")); err != nil || ops != nil {
		t.Errorf("empty body: %v, %v", ops, err)
	}
	if _, err := ParseMkcol([]byte(`<D:propertyupdate xmlns:D="DAV:"/>`), Name("mkcol")); statusOf(err) != http.StatusUnsupportedMediaType {
		t.Errorf("wrong root: %v, want 415", err)
	}
}

func TestDecoderText(t *testing.T) {
	d := NewDecoder(strings.NewReader(`<a>one<b>two</b>three</a><after/>`))
	if _, err := d.Root(); err != nil {
		t.Fatal(err)
	}
	got, err := d.Text()
	if err != nil || got != "onetwothree" {
		t.Errorf("Text = %q, %v", got, err)
	}
}

func TestCaptureIsSelfContained(t *testing.T) {
	tests := []struct{ in, want string }{
		{`<Z:a xmlns:Z="urn:z"/>`, `<a xmlns="urn:z"></a>`},
		{`<Z:a xmlns:Z="urn:z"><Z:b/><c xmlns="urn:c"><Z:d/></c></Z:a>`, `<a xmlns="urn:z"><b></b><c xmlns="urn:c"><d xmlns="urn:z"></d></c></a>`},
		{`<a xmlns="urn:z" plain="1" xmlns:p="urn:p" p:x="&quot;&lt;"/>`, `<a xmlns="urn:z" plain="1" xmlns:a0="urn:p" a0:x="&#34;&lt;"></a>`},
		{`<a xmlns="urn:z">line1&#13;&#10;line2</a>`, `<a xmlns="urn:z">line1&#xD;&#xA;line2</a>`},
		{`<a xmlns="urn:z"><![CDATA[<b>]]></a>`, `<a xmlns="urn:z">&lt;b&gt;</a>`},
		{`<a xmlns="urn:z"><b xmlns="">x</b></a>`, `<a xmlns="urn:z"><b xmlns="">x</b></a>`},
	}
	for _, tt := range tests {
		d := NewDecoder(strings.NewReader(tt.in))
		root, err := d.Root()
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		raw, err := d.Capture(root)
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if string(raw.XML) != tt.want {
			t.Errorf("Capture(%s)\n got %s\nwant %s", tt.in, raw.XML, tt.want)
		}
		checkRecapture(t, raw)
	}
}

// A property keeps its xml:lang, its own or inherited from DAV:prop, set or
// propertyupdate, as xml:lang: the prefix xml may not be declared (the
// stored form once was xmlns:a0="http://www.w3.org/XML/1998/namespace").
func TestPropertyUpdateKeepsLang(t *testing.T) {
	tests := []struct {
		name, body, want, lang string
	}{
		{"own", `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:z" xml:lang="fr">Bonjour</x></D:prop></D:set></D:propertyupdate>`,
			`<x xmlns="urn:z" xml:lang="fr">Bonjour</x>`, "fr"},
		{"from prop", `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop xml:lang="de"><x xmlns="urn:z">Hallo</x></D:prop></D:set></D:propertyupdate>`,
			`<x xmlns="urn:z" xml:lang="de">Hallo</x>`, "de"},
		{"from the root", `<D:propertyupdate xmlns:D="DAV:" xml:lang="ja"><D:set><D:prop><x xmlns="urn:z">今日は</x></D:prop></D:set></D:propertyupdate>`,
			`<x xmlns="urn:z" xml:lang="ja">今日は</x>`, "ja"},
		{"own wins", `<D:propertyupdate xmlns:D="DAV:" xml:lang="ja"><D:set><D:prop xml:lang="de"><x xmlns="urn:z" xml:lang="">t</x></D:prop></D:set></D:propertyupdate>`,
			`<x xmlns="urn:z" xml:lang="">t</x>`, ""},
		{"on a child", `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:z"><y xml:lang="en-GB">colour</y></x></D:prop></D:set></D:propertyupdate>`,
			`<x xmlns="urn:z"><y xml:lang="en-GB">colour</y></x>`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops, err := ParsePropertyUpdate([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(ops) != 1 {
				t.Fatalf("%d ops, want 1", len(ops))
			}
			if got := string(ops[0].Prop.XML); got != tt.want {
				t.Errorf("captured %s, want %s", got, tt.want)
			}
			if got := ops[0].Prop.Lang(); got != tt.lang {
				t.Errorf("Lang() = %q, want %q", got, tt.lang)
			}
		})
	}
}

// Dead properties stored with a declared xml prefix are written with xml:.
func TestFixXMLPrefix(t *testing.T) {
	stored := `<x xmlns="urn:z" xmlns:a0="http://www.w3.org/XML/1998/namespace" a0:lang="fr" xmlns:a1="urn:q" a1:b="1">t</x>`
	want := `<x xmlns="urn:z" xml:lang="fr" xmlns:a1="urn:q" a1:b="1">t</x>`
	if got := string(fixXMLPrefix([]byte(stored))); got != want {
		t.Errorf("fixXMLPrefix = %s, want %s", got, want)
	}
}
