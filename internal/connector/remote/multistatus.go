package remote

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// XML namespaces of the properties this client reads and writes.
const (
	nsDAV    = "DAV:"
	nsCalDAV = "urn:ietf:params:xml:ns:caldav"
	nsCS     = "http://calendarserver.org/ns/"
)

// node is an element of a parsed XML document. Servers choose their own
// prefixes and nesting details, so responses are read as a tree and
// searched by (namespace, local name) rather than unmarshalled into fixed
// structs.
type node struct {
	name     xml.Name
	attr     []xml.Attr
	children []*node
	text     strings.Builder // character data directly inside the element
}

// maxXMLDepth bounds element nesting in a response; real multistatus
// documents nest fewer than 15 levels.
const maxXMLDepth = 64

// maxXMLElements bounds the elements of one response, so that a hostile
// server cannot make the tree exhaust memory: a multistatus of 100,000
// members with a dozen elements each stays well below it.
const maxXMLElements = 2_000_000

// parseXML reads a whole XML document into a tree and returns its root.
func parseXML(data []byte) (*node, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.CharsetReader = charsetReader
	var root *node
	var stack []*node
	elements := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxXMLDepth {
				return nil, errors.New("XML nested too deeply")
			}
			if elements++; elements > maxXMLElements {
				return nil, errors.New("XML has too many elements")
			}
			n := &node{name: t.Name, attr: t.Attr}
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				parent.children = append(parent.children, n)
			} else if root != nil {
				return nil, errors.New("XML has more than one root element")
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("empty XML document")
	}
	return root, nil
}

// charsetReader accepts the encodings servers declare besides UTF-8.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return input, nil
	case "iso-8859-1", "latin1", "latin-1", "iso8859-1":
		data, err := io.ReadAll(input)
		if err != nil {
			return nil, err
		}
		buf := make([]byte, 0, len(data))
		for _, b := range data {
			buf = utf8.AppendRune(buf, rune(b))
		}
		return bytes.NewReader(buf), nil
	}
	return nil, fmt.Errorf("unsupported XML encoding %q", charset)
}

// is reports whether n is the element {space}local. An element in no
// namespace passes for a DAV: one: some servers forget the declaration.
func (n *node) is(space, local string) bool {
	if n == nil || n.name.Local != local {
		return false
	}
	return n.name.Space == space || space == nsDAV && n.name.Space == ""
}

// child returns the first child {space}local, or nil.
func (n *node) child(space, local string) *node {
	if n == nil {
		return nil
	}
	for _, c := range n.children {
		if c.is(space, local) {
			return c
		}
	}
	return nil
}

// all returns the children {space}local of n (none for nil): a property
// the server left out reads as empty.
func (n *node) all(space, local string) []*node {
	if n == nil {
		return nil
	}
	var out []*node
	for _, c := range n.children {
		if c.is(space, local) {
			out = append(out, c)
		}
	}
	return out
}

// find returns the first descendant {space}local, depth first, or nil.
func (n *node) find(space, local string) *node {
	if n == nil {
		return nil
	}
	for _, c := range n.children {
		if c.is(space, local) {
			return c
		}
		if f := c.find(space, local); f != nil {
			return f
		}
	}
	return nil
}

// value returns the trimmed text of n ("" for nil).
func (n *node) value() string {
	if n == nil {
		return ""
	}
	return strings.TrimSpace(n.text.String())
}

// hrefs returns the texts of the DAV:href children of n.
func (n *node) hrefs() []string {
	if n == nil {
		return nil
	}
	var out []string
	for _, c := range n.children {
		if c.is(nsDAV, "href") {
			if v := c.value(); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// response is one DAV:response of a multistatus.
type response struct {
	href   string // as the server sent it
	status int    // the response's own DAV:status, 0 when it has propstats
	// props holds the properties reported with a 2xx status; missing the
	// names reported with another one (e.g. 404 for an unknown property).
	props   map[xml.Name]*node
	missing map[xml.Name]int
	errElem *node // DAV:error, if any
}

// prop returns the property {space}local if it was reported with 2xx.
func (r *response) prop(space, local string) *node {
	if n, ok := r.props[xml.Name{Space: space, Local: local}]; ok {
		return n
	}
	if space == nsDAV {
		return r.props[xml.Name{Local: local}]
	}
	return nil
}

// ok reports whether the response describes an existing resource: a 2xx
// response status, or propstats of which one succeeded.
func (r *response) ok() bool {
	if r.status != 0 {
		return r.status >= 200 && r.status < 300
	}
	return len(r.props) > 0
}

// multistatus is a parsed DAV:multistatus body.
type multistatus struct {
	responses []response
	syncToken string
}

// parseMultistatus reads a 207 body.
func parseMultistatus(data []byte) (*multistatus, error) {
	root, err := parseXML(data)
	if err != nil {
		return nil, fmt.Errorf("invalid multistatus: %w", err)
	}
	if !root.is(nsDAV, "multistatus") {
		return nil, fmt.Errorf("invalid multistatus: root element is %s", root.name.Local)
	}
	ms := &multistatus{syncToken: root.child(nsDAV, "sync-token").value()}
	for _, rn := range root.children {
		if !rn.is(nsDAV, "response") {
			continue
		}
		hrefs := rn.hrefs()
		if len(hrefs) == 0 {
			continue
		}
		r := response{href: hrefs[0], status: parseStatus(rn.child(nsDAV, "status").value()),
			props: map[xml.Name]*node{}, missing: map[xml.Name]int{}, errElem: rn.child(nsDAV, "error")}
		for _, ps := range rn.children {
			if !ps.is(nsDAV, "propstat") {
				continue
			}
			status := parseStatus(ps.child(nsDAV, "status").value())
			if status == 0 {
				status = 200 // some servers leave out a propstat's status
			}
			prop := ps.child(nsDAV, "prop")
			if prop == nil {
				continue
			}
			for _, p := range prop.children {
				if status >= 200 && status < 300 {
					r.props[p.name] = p
				} else {
					r.missing[p.name] = status
				}
			}
		}
		ms.responses = append(ms.responses, r)
		// A response may name several hrefs sharing one status (RFC 4918
		// 14.24); each is a response of its own to callers.
		for _, h := range hrefs[1:] {
			extra := r
			extra.href = h
			ms.responses = append(ms.responses, extra)
		}
	}
	return ms, nil
}

// parseStatus reads the code of an "HTTP/1.1 404 Not Found" status line,
// or returns 0 for a missing or malformed one.
func parseStatus(line string) int {
	if line == "" {
		return 0
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		return 0
	}
	code, err := strconv.Atoi(f[1])
	if err != nil {
		return 0
	}
	return code
}
