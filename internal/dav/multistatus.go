package dav

import (
	"bufio"
	"encoding/xml"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// prefixes are the namespace prefixes declared on every response document.
var prefixes = []struct{ prefix, space string }{
	{"D", NS},
	{"C", NSCalDAV},
	{"CR", NSCardDAV},
	{"CS", NSCalServer},
	{"ICAL", NSAppleICal},
}

func prefixFor(space string) (string, bool) {
	for _, p := range prefixes {
		if p.space == space {
			return p.prefix, true
		}
	}
	return "", false
}

func writeRootStart(w *bufio.Writer, local string) {
	w.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n<D:" + local)
	for _, p := range prefixes {
		w.WriteString(` xmlns:` + p.prefix + `="` + p.space + `"`)
	}
	w.WriteByte('>')
}

// openTag writes the start tag of name; it returns the matching end tag.
func openTag(w *bufio.Writer, name xml.Name, empty bool) string {
	return openTagLang(w, name, "", empty)
}

// openTagLang is openTag with xml:lang set to lang (none when "").
func openTagLang(w *bufio.Writer, name xml.Name, lang string, empty bool) string {
	var tag, end string
	if p, ok := prefixFor(name.Space); ok {
		tag = p + ":" + name.Local
		end = "</" + tag + ">"
		w.WriteString("<" + tag)
	} else {
		end = "</" + name.Local + ">"
		w.WriteString("<" + name.Local + ` xmlns="`)
		xml.EscapeText(w, []byte(name.Space))
		w.WriteString(`"`)
	}
	if lang != "" {
		w.WriteString(` xml:lang="` + EscapeAttr(lang) + `"`)
	}
	if empty {
		w.WriteString("/>")
		return ""
	}
	w.WriteByte('>')
	return end
}

// HrefPath turns a DAV:href of a request (an absolute URL or a path,
// percent-encoded) into a cleaned path.
func HrefPath(href string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(href))
	if err != nil {
		return "", false
	}
	return CleanPath(u.Path), true
}

// EscapePath escapes a path for a URL: the plain spelling of a resource
// whose client spelled it no other way.
func EscapePath(path string) string {
	u := url.URL{Path: path}
	return u.EscapedPath()
}

// hrefText writes an escaped href as the text of a DAV:href element.
func hrefText(href string) string { return string(xmlSafe([]byte(EscapeText(href)))) }

// Href escapes a path for a DAV:href element.
func Href(path string) string {
	u := url.URL{Path: path}
	var b strings.Builder
	xml.EscapeText(&b, []byte(u.EscapedPath()))
	return b.String()
}

// Multistatus streams a 207 Multi-Status response.
type Multistatus struct {
	w       *bufio.Writer
	started bool
	hw      http.ResponseWriter
}

// NewMultistatus prepares a multistatus response on w. Nothing is written
// until the first response or Close, so errors found before then can still
// be answered with a plain status.
func NewMultistatus(w http.ResponseWriter) *Multistatus {
	return &Multistatus{hw: w}
}

func (m *Multistatus) start() {
	if m.started {
		return
	}
	m.started = true
	m.hw.Header().Set("Content-Type", "application/xml; charset=utf-8")
	m.hw.WriteHeader(http.StatusMultiStatus)
	m.w = bufio.NewWriterSize(m.hw, 32<<10)
	writeRootStart(m.w, "multistatus")
}

// PropStat is one propstat group: properties (already rendered) sharing a status.
type PropStat struct {
	Status int
	Props  []PropValue
	Error  *Error // optional DAV:error inside the propstat (RFC 5689 / 4918)
}

// PropValue is a property to be written: either a name with inner XML (and
// the xml:lang of its value, if any), or a complete self-contained element
// (Raw).
type PropValue struct {
	Name  xml.Name
	Inner []byte
	Lang  string
	Raw   []byte
}

// Response writes a DAV:response with propstats for path. A response
// must hold a status or a propstat (RFC 4918 14.24), so one for which no
// property was asked (an empty DAV:prop) gets an empty propstat with 200.
func (m *Multistatus) Response(path string, propstats []PropStat) {
	m.ResponseAt(EscapePath(path), propstats)
}

// ResponseAt is Response for a resource whose URL is given as an escaped
// href, spelled as the client spelled it (see Resource.URL).
func (m *Multistatus) ResponseAt(href string, propstats []PropStat) {
	m.start()
	w := m.w
	w.WriteString("<D:response><D:href>" + hrefText(href) + "</D:href>")
	written := 0
	for _, ps := range propstats {
		if len(ps.Props) == 0 {
			continue
		}
		written++
		w.WriteString("<D:propstat><D:prop>")
		for _, p := range ps.Props {
			if p.Raw != nil {
				w.Write(xmlSafe(fixXMLPrefix(p.Raw)))
				continue
			}
			if len(p.Inner) == 0 {
				openTagLang(w, p.Name, p.Lang, true)
				continue
			}
			end := openTagLang(w, p.Name, p.Lang, false)
			w.Write(xmlSafe(p.Inner))
			w.WriteString(end)
		}
		w.WriteString("</D:prop>" + statusLine(ps.Status))
		if ps.Error != nil {
			writeErrorBody(w, ps.Error)
		}
		w.WriteString("</D:propstat>")
	}
	if written == 0 {
		w.WriteString("<D:propstat><D:prop/>" + statusLine(http.StatusOK) + "</D:propstat>")
	}
	w.WriteString("</D:response>")
}

// StatusResponse writes a DAV:response holding only a status for path (e.g.
// 404 for a multiget href, or a tombstone in sync-collection).
func (m *Multistatus) StatusResponse(path string, status int, e *Error) {
	m.StatusResponseAt(EscapePath(path), status, e)
}

// StatusResponseAt is StatusResponse for an escaped href.
func (m *Multistatus) StatusResponseAt(href string, status int, e *Error) {
	m.start()
	m.w.WriteString("<D:response><D:href>" + hrefText(href) + "</D:href>" + statusLine(status))
	if e != nil {
		writeErrorBody(m.w, e)
	}
	m.w.WriteString("</D:response>")
}

// Close ends the document; extra is inner XML written before the end tag
// (e.g. DAV:sync-token).
func (m *Multistatus) Close(extra string) error {
	m.start()
	m.w.Write(xmlSafe([]byte(extra)))
	m.w.WriteString("</D:multistatus>\n")
	return m.w.Flush()
}

// Started reports whether the 207 header was sent.
func (m *Multistatus) Started() bool { return m.started }

func statusLine(code int) string {
	return "<D:status>HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code) + "</D:status>"
}

// writeErrorBody writes e inside a DAV:response or DAV:propstat: DAV:error
// holding only the condition element, if e names one, and the human
// explanation next to it as DAV:responsedescription, which both elements
// allow (RFC 4918 sections 14.22 and 14.24).
func writeErrorBody(w *bufio.Writer, e *Error) {
	if e.Condition.Local != "" {
		w.WriteString("<D:error>")
		writeCondition(w, e)
		w.WriteString("</D:error>")
	}
	if e.Msg != "" {
		w.WriteString("<D:responsedescription>")
		xml.EscapeText(w, []byte(e.Msg))
		w.WriteString("</D:responsedescription>")
	}
}

// writeCondition writes e's condition element.
func writeCondition(w *bufio.Writer, e *Error) {
	if e.ConditionBody == "" {
		openTag(w, e.Condition, true)
		return
	}
	end := openTag(w, e.Condition, false)
	w.Write(xmlSafe([]byte(e.ConditionBody)))
	w.WriteString(end)
}

// writeError answers a request with e: a DAV:error body when e names a
// condition, plain text otherwise.
//
// Every child element of DAV:error is a condition code to clients (RFC 4918
// section 14.5), and the document has no other place for text, so the
// explanation goes in an XML comment after the condition: clients that
// list the conditions see only the condition, a person reading the body
// sees why.
func writeError(hw http.ResponseWriter, e *Error) {
	if e.Condition.Local == "" {
		hw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		hw.WriteHeader(e.Status)
		msg := e.Msg
		if msg == "" {
			msg = http.StatusText(e.Status)
		}
		hw.Write([]byte(msg + "\n"))
		return
	}
	hw.Header().Set("Content-Type", "application/xml; charset=utf-8")
	hw.WriteHeader(e.Status)
	w := bufio.NewWriter(hw)
	writeRootStart(w, "error")
	writeCondition(w, e)
	if e.Msg != "" {
		w.WriteString("<!-- " + commentText(e.Msg) + " -->")
	}
	w.WriteString("</D:error>\n")
	w.Flush()
}

// commentText makes s the content of an XML comment: no "--" (XML 1.0
// section 2.5) and no character XML forbids.
func commentText(s string) string {
	s = string(xmlSafe([]byte(s)))
	for strings.Contains(s, "--") {
		s = strings.ReplaceAll(s, "--", "- -")
	}
	return s
}

// replacementChar stands in for characters an XML document cannot hold.
const replacementChar = "\uFFFD"

// isXMLChar reports whether r may appear in an XML 1.0 document (section
// 2.2: tab, line feed, carriage return and the code points from U+0020 on,
// except the surrogates, U+FFFE and U+FFFF).
func isXMLChar(r rune) bool {
	switch {
	case r < 0x20:
		return r == '\t' || r == '\n' || r == '\r'
	case r <= 0xD7FF:
		return true
	case r < 0xE000:
		return false
	case r <= 0xFFFD:
		return true
	}
	return r >= 0x10000 && r <= utf8.MaxRune
}

// xmlSafe returns b with every character XML 1.0 forbids, and every byte
// that is not UTF-8, replaced by U+FFFD; b itself when there is none.
// Markup is left alone: b may be a fragment of XML. Stored data is checked
// when it comes in, but what is already stored (or comes from a remote)
// must still not break the answer it is written into.
func xmlSafe(b []byte) []byte {
	bad := badXMLChar(b)
	if bad < 0 {
		return b
	}
	out := make([]byte, 0, len(b)+8)
	out = append(out, b[:bad]...)
	for i := bad; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if (r == utf8.RuneError && n <= 1) || !isXMLChar(r) {
			out = append(out, replacementChar...)
		} else {
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return out
}

// badXMLChar returns the offset of the first character of b that xmlSafe
// replaces, or -1. ASCII, nearly all of what is written, is checked a byte
// at a time.
func badXMLChar(b []byte) int {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if (r == utf8.RuneError && n <= 1) || !isXMLChar(r) {
			return i
		}
		i += n
	}
	return -1
}

// textEscaper escapes character data: markup characters, and CR so that
// CRLF line ends of iCalendar data survive XML line-end normalisation.
// Line feeds and quotes stay as they are, keeping large calendar-data small.
var textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#13;")

// EscapeText returns s escaped for XML character data, with the characters
// XML forbids replaced by U+FFFD.
func EscapeText(s string) string {
	if badXMLChar([]byte(s)) >= 0 {
		s = string(xmlSafe([]byte(s)))
	}
	return textEscaper.Replace(s)
}

// AppendEscapedText appends src escaped as EscapeText does to dst, growing
// it once: calendar and address data are escaped into an answer this way
// without the copies a string conversion and a Replacer make.
func AppendEscapedText(dst, src []byte) []byte {
	src = xmlSafe(src)
	extra := 0
	for _, c := range src {
		switch c {
		case '&':
			extra += len("&amp;") - 1
		case '<', '>':
			extra += len("&lt;") - 1
		case '\r':
			extra += len("&#13;") - 1
		}
	}
	dst = slices.Grow(dst, len(src)+extra)
	last := 0
	for i, c := range src {
		var esc string
		switch c {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\r':
			esc = "&#13;"
		default:
			continue
		}
		dst = append(dst, src[last:i]...)
		dst = append(dst, esc...)
		last = i + 1
	}
	return append(dst, src[last:]...)
}

// EscapeAttr returns s escaped for an XML attribute value.
func EscapeAttr(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
