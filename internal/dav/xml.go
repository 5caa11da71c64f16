package dav

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// XMLLimits bound the request bodies parsed as XML: nesting depth and the
// number of elements (skipped ones included).
type XMLLimits struct {
	Depth, Elements int
}

// The limits used when none are configured.
const (
	maxXMLDepth    = 64
	maxXMLElements = 100000
)

func (l XMLLimits) orDefault() XMLLimits {
	if l.Depth <= 0 {
		l.Depth = maxXMLDepth
	}
	if l.Elements <= 0 {
		l.Elements = maxXMLElements
	}
	return l
}

// RawElement is an XML element captured from a request, re-serialised so that
// it is self-contained: every element and attribute carries its namespace
// declaration, whatever prefixes the client used.
type RawElement struct {
	Name xml.Name
	XML  []byte
}

// Decoder reads an XML request body with depth and size limits.
type Decoder struct {
	d        *xml.Decoder
	elements int
	limits   XMLLimits
	root     *xml.StartElement
}

// RootElement returns the document's root element once Root has read it,
// for its attributes.
func (d *Decoder) RootElement() (xml.StartElement, bool) {
	if d.root == nil {
		return xml.StartElement{}, false
	}
	return *d.root, true
}

// NewDecoder returns a decoder over a request body with the default limits.
func NewDecoder(r io.Reader) *Decoder { return XMLLimits{}.NewDecoder(r) }

// NewDecoder returns a decoder over a request body with limits l.
func (l XMLLimits) NewDecoder(r io.Reader) *Decoder {
	d := xml.NewDecoder(r)
	d.Strict = true
	return &Decoder{d: d, limits: l.orDefault()}
}

var errBadXML = func(err error) *Error {
	return &Error{Status: http.StatusBadRequest, Msg: "malformed XML request body", Err: err}
}

// Root returns the start element of the document.
func (d *Decoder) Root() (xml.StartElement, error) {
	for {
		tok, err := d.d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return xml.StartElement{}, &Error{Status: http.StatusBadRequest, Msg: "empty XML request body"}
			}
			return xml.StartElement{}, errBadXML(err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			d.root = &se
			return se, checkNamespace(se)
		}
	}
}

// Next returns the next child start element of the current element, or
// ok=false at its end. Character data between children is skipped.
func (d *Decoder) Next() (se xml.StartElement, ok bool, err error) {
	for {
		tok, err := d.d.Token()
		if err != nil {
			return xml.StartElement{}, false, errBadXML(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			d.elements++
			if d.elements > d.limits.Elements {
				return xml.StartElement{}, false, &Error{Status: http.StatusRequestEntityTooLarge, Msg: "too many XML elements"}
			}
			if err := checkNamespace(t); err != nil {
				return xml.StartElement{}, false, err
			}
			return t, true, nil
		case xml.EndElement:
			return xml.StartElement{}, false, nil
		}
	}
}

// Skip skips the rest of the current element, within the same limits as
// the elements read: what is skipped is parsed all the same.
func (d *Decoder) Skip() error {
	depth := 1
	for depth > 0 {
		tok, err := d.d.Token()
		if err != nil {
			return errBadXML(err)
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
			d.elements++
			if depth > d.limits.Depth || d.elements > d.limits.Elements {
				return &Error{Status: http.StatusRequestEntityTooLarge, Msg: "XML too deep or too large"}
			}
		case xml.EndElement:
			depth--
		}
	}
	return nil
}

// Text returns the character data of the current element (which must have
// no child elements) and consumes its end.
func (d *Decoder) Text() (string, error) {
	var buf bytes.Buffer
	depth := 0
	for {
		tok, err := d.d.Token()
		if err != nil {
			return "", errBadXML(err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			buf.Write(t)
		case xml.StartElement:
			depth++
		case xml.EndElement:
			if depth == 0 {
				return buf.String(), nil
			}
			depth--
		}
	}
}

// Capture re-serialises the element started by se (whose start token was
// just read) into a self-contained RawElement.
func (d *Decoder) Capture(se xml.StartElement) (RawElement, error) {
	var buf bytes.Buffer
	w := &canonicalWriter{buf: &buf}
	w.start(se)
	depth := 1
	for depth > 0 {
		tok, err := d.d.Token()
		if err != nil {
			return RawElement{}, errBadXML(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			d.elements++
			if depth > d.limits.Depth || d.elements > d.limits.Elements {
				return RawElement{}, &Error{Status: http.StatusRequestEntityTooLarge, Msg: "XML too deep or too large"}
			}
			if err := checkNamespace(t); err != nil {
				return RawElement{}, err
			}
			w.start(t)
		case xml.EndElement:
			depth--
			w.end(t)
		case xml.CharData:
			xml.EscapeText(&buf, t)
		}
	}
	return RawElement{Name: se.Name, XML: buf.Bytes()}, nil
}

// checkNamespace refuses an element whose prefix was never declared:
// encoding/xml leaves the bare prefix in Name.Space, which is no URI.
// A prefix bound to the empty string is not allowed either (Namespaces in
// XML 1.0, section 3).
func checkNamespace(se xml.StartElement) error {
	if !isNCName(se.Name.Local) {
		return &Error{Status: http.StatusBadRequest, Msg: "invalid XML element name " + se.Name.Local}
	}
	if n := se.Name; n.Space != "" && !strings.Contains(n.Space, ":") {
		return &Error{Status: http.StatusBadRequest, Msg: "undeclared XML namespace prefix " + n.Space}
	}
	if se.Name.Space == xmlNamespace || se.Name.Space == xmlnsNamespace {
		return &Error{Status: http.StatusBadRequest, Msg: "element " + se.Name.Local + " in the reserved namespace " + se.Name.Space}
	}
	for _, a := range se.Attr {
		if a.Name.Space == "xmlns" && a.Value == "" {
			return &Error{Status: http.StatusBadRequest, Msg: "namespace prefix " + a.Name.Local + " bound to an empty name"}
		}
		declares := a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns")
		if (declares && a.Value == xmlnsNamespace) || a.Name.Space == xmlnsNamespace ||
			(declares && (a.Value == xmlNamespace) != (a.Name.Local == "xml")) {
			return &Error{Status: http.StatusBadRequest, Msg: "the reserved prefixes xml and xmlns and their namespaces cannot be redeclared"}
		}
	}
	return nil
}

// isNCName reports whether s is an XML NCName (Namespaces in XML 1.0),
// which encoding/xml does not fully check.
func isNCName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || unicode.IsLetter(r):
		case i > 0 && (r == '-' || r == '.' || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)):
		default:
			return false
		}
	}
	return true
}

// The namespaces of the reserved prefixes xml (xml:lang) and xmlns, which
// no other prefix may be bound to (Namespaces in XML 1.0, section 3).
const (
	xmlNamespace   = "http://www.w3.org/XML/1998/namespace"
	xmlnsNamespace = "http://www.w3.org/2000/xmlns/"
)

// oldXMLPrefix matches how dead properties with xml:lang were stored before
// xml kept its own prefix: a numbered prefix declared for the xml
// namespace, used at once by the attribute.
var oldXMLPrefix = regexp.MustCompile(` xmlns:(a[0-9]+)="` + regexp.QuoteMeta(xmlNamespace) + `" (a[0-9]+):`)

// fixXMLPrefix rewrites a stored element that declares a prefix for the
// xml namespace (which XML parsers reject) to use the prefix xml.
func fixXMLPrefix(raw []byte) []byte {
	if !bytes.Contains(raw, []byte(xmlNamespace)) {
		return raw
	}
	return oldXMLPrefix.ReplaceAllFunc(raw, func(m []byte) []byte {
		sub := oldXMLPrefix.FindSubmatch(m)
		if !bytes.Equal(sub[1], sub[2]) {
			return m
		}
		return []byte(" xml:")
	})
}

// canonicalWriter writes elements with explicit default-namespace
// declarations and numbered prefixes for namespaced attributes (xml:lang
// and the like keep the prefix xml).
type canonicalWriter struct {
	buf   *bytes.Buffer
	stack []string // namespace of each open element
}

func (w *canonicalWriter) start(se xml.StartElement) {
	w.buf.WriteByte('<')
	w.buf.WriteString(se.Name.Local)
	parent := "\x00"
	if n := len(w.stack); n > 0 {
		parent = w.stack[n-1]
	}
	if se.Name.Space != parent {
		w.buf.WriteString(` xmlns="`)
		xml.EscapeText(w.buf, []byte(se.Name.Space))
		w.buf.WriteByte('"')
	}
	n := 0
	for _, a := range se.Attr {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue // namespace declarations are regenerated
		}
		w.buf.WriteByte(' ')
		switch a.Name.Space {
		case "":
		case xmlNamespace:
			// xml:lang, xml:space: the prefix xml is bound to its
			// namespace in every document and may not be declared for
			// another prefix.
			w.buf.WriteString("xml:")
		default:
			p := "a" + strconv.Itoa(n)
			n++
			fmt.Fprintf(w.buf, `xmlns:%s="`, p)
			xml.EscapeText(w.buf, []byte(a.Name.Space))
			w.buf.WriteString(`" `)
			w.buf.WriteString(p + ":")
		}
		w.buf.WriteString(a.Name.Local)
		w.buf.WriteString(`="`)
		xml.EscapeText(w.buf, []byte(a.Value))
		w.buf.WriteByte('"')
	}
	w.buf.WriteByte('>')
	w.stack = append(w.stack, se.Name.Space)
}

func (w *canonicalWriter) end(ee xml.EndElement) {
	w.buf.WriteString("</")
	w.buf.WriteString(ee.Name.Local)
	w.buf.WriteByte('>')
	w.stack = w.stack[:len(w.stack)-1]
}

// PropRequest is what a PROPFIND (or a REPORT's DAV:prop) asks for.
type PropRequest struct {
	AllProp  bool
	PropName bool
	Include  []xml.Name // with allprop
	Names    []xml.Name
}

// ParsePropfind parses a PROPFIND body with the default limits.
func ParsePropfind(body []byte) (PropRequest, error) { return XMLLimits{}.ParsePropfind(body) }

// ParsePropfind parses a PROPFIND body; an empty body means allprop.
func (l XMLLimits) ParsePropfind(body []byte) (PropRequest, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return PropRequest{AllProp: true}, nil
	}
	d := l.NewDecoder(bytes.NewReader(body))
	root, err := d.Root()
	if err != nil {
		return PropRequest{}, err
	}
	if root.Name != Name("propfind") {
		return PropRequest{}, Errorf(http.StatusBadRequest, "expected DAV:propfind, got %s", root.Name.Local)
	}
	var pr PropRequest
	kinds := 0
	for {
		se, ok, err := d.Next()
		if err != nil {
			return pr, err
		}
		if !ok {
			break
		}
		switch se.Name {
		case Name("allprop"):
			pr.AllProp = true
			kinds++
			err = d.Skip()
		case Name("propname"):
			pr.PropName = true
			kinds++
			err = d.Skip()
		case Name("prop"):
			kinds++
			pr.Names, err = d.Names()
		case Name("include"):
			pr.Include, err = d.Names()
		default:
			err = d.Skip()
		}
		if err != nil {
			return pr, err
		}
	}
	if kinds != 1 {
		return pr, Errorf(http.StatusBadRequest, "propfind must hold exactly one of allprop, propname, prop")
	}
	return pr, nil
}

// Names reads the child element names of the current element (a DAV:prop
// listing property names) and consumes it.
func (d *Decoder) Names() ([]xml.Name, error) {
	var names []xml.Name
	for {
		se, ok, err := d.Next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return names, nil
		}
		names = append(names, se.Name)
		if err := d.Skip(); err != nil {
			return nil, err
		}
	}
}

// PropOp is one instruction of a PROPPATCH or extended MKCOL: set a property
// to a value (Remove false) or remove it.
type PropOp struct {
	Remove bool
	Prop   RawElement
}

// ParsePropertyUpdate parses a PROPPATCH body with the default limits.
func ParsePropertyUpdate(body []byte) ([]PropOp, error) { return XMLLimits{}.ParsePropertyUpdate(body) }

// ParsePropertyUpdate parses a PROPPATCH body (DAV:propertyupdate), keeping
// the document order of set and remove instructions.
func (l XMLLimits) ParsePropertyUpdate(body []byte) ([]PropOp, error) {
	d := l.NewDecoder(bytes.NewReader(body))
	root, err := d.Root()
	if err != nil {
		return nil, err
	}
	if root.Name != Name("propertyupdate") {
		return nil, Errorf(http.StatusBadRequest, "expected DAV:propertyupdate")
	}
	return d.propOps(root, map[xml.Name]bool{Name("set"): false, Name("remove"): true})
}

// ParseMkcol parses an extended MKCOL or MKCALENDAR body with the default
// limits.
func ParseMkcol(body []byte, root xml.Name) ([]PropOp, error) {
	return XMLLimits{}.ParseMkcol(body, root)
}

// ParseMkcol parses an extended MKCOL body (RFC 5689) or a MKCALENDAR body
// (RFC 4791 5.3.1): root is the expected root element.
func (l XMLLimits) ParseMkcol(body []byte, root xml.Name) ([]PropOp, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	d := l.NewDecoder(bytes.NewReader(body))
	se, err := d.Root()
	if err != nil {
		return nil, err
	}
	if se.Name != root {
		return nil, &Error{Status: http.StatusUnsupportedMediaType, Msg: "unexpected request body " + se.Name.Local}
	}
	return d.propOps(se, map[xml.Name]bool{Name("set"): false})
}

// propOps reads the set and remove instructions of the element root. An
// xml:lang on root, set or prop is inherited by the properties inside,
// which are captured with it: a property keeps its language (RFC 4918
// section 4.3) wherever the client put it.
func (d *Decoder) propOps(root xml.StartElement, kinds map[xml.Name]bool) ([]PropOp, error) {
	var ops []PropOp
	rootLang := langOf(root, "")
	for {
		se, ok, err := d.Next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return ops, nil
		}
		remove, known := kinds[se.Name]
		if !known {
			if err := d.Skip(); err != nil {
				return nil, err
			}
			continue
		}
		setLang := langOf(se, rootLang)
		for {
			pe, ok, err := d.Next()
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			if pe.Name != Name("prop") {
				if err := d.Skip(); err != nil {
					return nil, err
				}
				continue
			}
			propLang := langOf(pe, setLang)
			for {
				p, ok, err := d.Next()
				if err != nil {
					return nil, err
				}
				if !ok {
					break
				}
				if _, own := ownLang(p); !own && propLang != "" {
					p.Attr = append(p.Attr, xml.Attr{Name: xml.Name{Space: xmlNamespace, Local: "lang"}, Value: propLang})
				}
				raw, err := d.Capture(p)
				if err != nil {
					return nil, err
				}
				ops = append(ops, PropOp{Remove: remove, Prop: raw})
			}
		}
	}
}

// InnerXML returns the content of a captured element (between its start
// and end tags) with its default namespace still resolvable: it is only
// meaningful for text-only properties such as displayname.
func (e RawElement) Text() (string, error) {
	d := xml.NewDecoder(bytes.NewReader(e.XML))
	var buf bytes.Buffer
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return buf.String(), nil
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > 1 {
				return "", fmt.Errorf("property %s must hold text only", e.Name.Local)
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			buf.Write(t)
		}
	}
}

// Hrefs returns the text of the DAV:href children of a captured element,
// for properties whose value is a set of hrefs (group-member-set).
func (e RawElement) Hrefs() ([]string, error) {
	d, err := e.Decoder()
	if err != nil {
		return nil, err
	}
	var out []string
	err = d.Each(func(se xml.StartElement) error {
		if se.Name != Name("href") {
			return d.Skip()
		}
		h, err := d.Text()
		out = append(out, strings.TrimSpace(h))
		return err
	})
	return out, err
}

// Lang returns the captured element's xml:lang, "" if it has none.
func (e RawElement) Lang() string {
	d := xml.NewDecoder(bytes.NewReader(e.XML))
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok {
			return langOf(se, "")
		}
	}
}

// langOf returns the xml:lang of se, or inherited if it has none.
func langOf(se xml.StartElement, inherited string) string {
	if lang, ok := ownLang(se); ok {
		return lang
	}
	return inherited
}

// ownLang returns the xml:lang attribute of se itself and whether it has
// one (xml:lang="" is one: it undoes an inherited language).
func ownLang(se xml.StartElement) (string, bool) {
	for _, a := range se.Attr {
		if a.Name.Space == xmlNamespace && a.Name.Local == "lang" {
			return a.Value, true
		}
	}
	return "", false
}

// Children decodes the captured element's children names, for properties
// whose value is a set of elements (resourcetype, supported-calendar-component-set).
func (e RawElement) Decoder() (*Decoder, error) {
	d := NewDecoder(bytes.NewReader(e.XML))
	if _, err := d.Root(); err != nil {
		return nil, err
	}
	return d, nil
}

// Each calls fn for every child element of the current element, in order;
// fn must consume the element it is given (Skip, Text, Names, Capture or a
// nested Each).
func (d *Decoder) Each(fn func(se xml.StartElement) error) error {
	for {
		se, ok, err := d.Next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if err := fn(se); err != nil {
			return err
		}
	}
}

// ReadReportProps reads the property part of a REPORT body into pr when se
// is DAV:prop, DAV:allprop or DAV:propname, and reports whether it was. A
// child of DAV:prop named dataElem (calendar-data, address-data) is handed
// to data, which must consume it.
func ReadReportProps(d *Decoder, se xml.StartElement, pr *PropRequest, dataElem xml.Name, data func(xml.StartElement) error) (bool, error) {
	switch se.Name {
	case Name("allprop"):
		pr.AllProp = true
		return true, d.Skip()
	case Name("propname"):
		pr.PropName = true
		return true, d.Skip()
	case Name("prop"):
		return true, d.Each(func(p xml.StartElement) error {
			pr.Names = append(pr.Names, p.Name)
			if p.Name == dataElem && data != nil {
				return data(p)
			}
			return d.Skip()
		})
	}
	return false, nil
}

// Attr returns the value of the unqualified attribute name of se.
func Attr(se xml.StartElement, name string) (string, bool) {
	for _, a := range se.Attr {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value, true
		}
	}
	return "", false
}
