package dav

import (
	"bytes"
	"encoding/xml"
	"errors"
	"testing"

	"koyomi.dev/koyomi/internal/xmltest"
)

var xmlSeeds = []string{
	``,
	`<propfind xmlns="DAV:"><allprop/></propfind>`,
	`<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><Z:x xmlns:Z="urn:z"/></D:prop></D:propfind>`,
	`<D:propfind xmlns:D="DAV:"><D:allprop/><D:include><D:x/></D:include></D:propfind>`,
	`<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:a Z:b="1" c="2">t&amp;<Z:d/></Z:a></D:prop></D:set><D:remove><D:prop><Z:e/></D:prop></D:remove></D:propertyupdate>`,
	`<propertyupdate xmlns="DAV:"><set><prop><x xmlns=""><y xmlns:p="urn:p" p:a="&#13;"/></x></prop></set></propertyupdate>`,
	`<propertyupdate xmlns="DAV:"><set><prop><xml:lang>fr</xml:lang></prop></set></propertyupdate>`,
	`<propertyupdate xmlns="DAV:"><set><prop><x xmlns="urn:z" xml:lang="fr"><![CDATA[<>]]></x></prop></set></propertyupdate>`,
	`<propertyupdate xmlns="DAV:"><set><prop><a:b:c xmlns:a="urn:a"/></prop></set></propertyupdate>`,
	`<propertyupdate xmlns="DAV:"><set><prop><x xmlns="urn:z" xmlns:l="http://www.w3.org/XML/1998/namespace" l:lang="fr"/></prop></set></propertyupdate>`,
	`<propertyupdate xmlns="DAV:"><set><prop><x xmlns="http://www.w3.org/XML/1998/namespace"/></prop></set></propertyupdate>`,
	`<propertyupdate xmlns="DAV:"><set><prop><x xmlns="urn:z" xmlns:n="http://www.w3.org/2000/xmlns/" n:a="1"/></prop></set></propertyupdate>`,
	`<propertyupdate xmlns="DAV:"><set><prop><x q:y="1"/></prop></set></propertyupdate>`,
	// A prefixed name whose local part is not an NCName.
	`<propertyupdate xmlns="DAV:"><set><prop><Z:0 xmlns:Z="urn:z"/></prop></set></propertyupdate>`,
	`<propertyupdate xmlns="DAV:"><set><prop><p:x xmlns:p=""/></prop></set></propertyupdate>`,
	"<propertyupdate xmlns=\"DAV:\"><set><prop><x>\xff\xfe</x></prop></set></propertyupdate>",
	`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><propertyupdate xmlns="DAV:"><set><prop><x>&e;</x></prop></set></propertyupdate>`,
}

// checkRecapture asserts the property-preservation invariant: a captured
// element is well-formed on its own, names the same element when parsed
// again, and capturing it again yields the same bytes.
func checkRecapture(t *testing.T, raw RawElement) {
	t.Helper()
	d := NewDecoder(bytes.NewReader(raw.XML))
	root, err := d.Root()
	if err != nil {
		t.Fatalf("captured %v is not well-formed: %v\n%s", raw.Name, err, raw.XML)
	}
	xmltest.CheckWellFormed(t, "captured element", raw.XML)
	if root.Name != raw.Name {
		t.Fatalf("captured element re-parses as %v, want %v\n%s", root.Name, raw.Name, raw.XML)
	}
	again, err := d.Capture(root)
	if err != nil {
		t.Fatalf("captured %v cannot be captured again: %v\n%s", raw.Name, err, raw.XML)
	}
	if !bytes.Equal(again.XML, raw.XML) {
		t.Fatalf("capture is not stable:\nfirst  %s\nsecond %s", raw.XML, again.XML)
	}
	// Nothing may follow the element.
	for {
		tok, err := d.d.Token()
		if err != nil {
			break
		}
		if _, ok := tok.(xml.CharData); !ok {
			t.Fatalf("captured %v has trailing %T\n%s", raw.Name, tok, raw.XML)
		}
	}
}

// checkError asserts that a parse failure is a client error, never a 5xx.
func checkError(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error is not a *dav.Error: %v", err)
	}
	if e.Status < 400 || e.Status >= 500 {
		t.Fatalf("parse error has status %d: %v", e.Status, err)
	}
}

func FuzzParsePropfind(f *testing.F) {
	for _, s := range xmlSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		pr, err := ParsePropfind(body)
		if err != nil {
			checkError(t, err)
			return
		}
		kinds := 0
		for _, b := range []bool{pr.AllProp, pr.PropName, pr.Names != nil} {
			if b {
				kinds++
			}
		}
		if kinds > 1 {
			t.Fatalf("more than one kind of request accepted: %+v", pr)
		}
	})
}

func FuzzParsePropertyUpdate(f *testing.F) {
	for _, s := range xmlSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ops, err := ParsePropertyUpdate(body)
		if err != nil {
			checkError(t, err)
			return
		}
		for _, op := range ops {
			checkRecapture(t, op.Prop)
		}
	})
}

// FuzzCapture captures the root element of arbitrary documents.
func FuzzCapture(f *testing.F) {
	for _, s := range xmlSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		d := NewDecoder(bytes.NewReader(body))
		root, err := d.Root()
		if err != nil {
			checkError(t, err)
			return
		}
		raw, err := d.Capture(root)
		if err != nil {
			checkError(t, err)
			return
		}
		checkRecapture(t, raw)
		if _, err := raw.Text(); err != nil && bytes.Count(raw.XML, []byte("<")) == 2 {
			t.Fatalf("Text of a text-only element failed: %v\n%s", err, raw.XML)
		}
	})
}
