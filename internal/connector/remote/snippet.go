package remote

import (
	"bytes"
	"encoding/xml"
	"io"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxSnippet is the length, in characters, of the body excerpt an Error
// keeps.
const maxSnippet = 200

// bodySnippet returns a one-line excerpt of an error response's body: the
// text of an HTML or XML body (with the conditions of a DAV:error named),
// or the body itself, whitespace collapsed and cut to maxSnippet
// characters.
func bodySnippet(body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return ""
	}
	text := string(body)
	if body[0] == '<' {
		text = markupText(body)
	}
	text = strings.ToValidUTF8(text, "?")
	text = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return ' '
		}
		return r
	}, text)
	text = strings.Join(strings.Fields(text), " ")
	if utf8.RuneCountInString(text) > maxSnippet {
		text = string([]rune(text)[:maxSnippet]) + "…"
	}
	return text
}

// markupText extracts the readable text of an HTML or XML document. The
// elements inside a DAV:error (preconditions such as valid-sync-token) are
// named, since they are the whole message.
func markupText(body []byte) string {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	d.CharsetReader = charsetReader
	var parts []string
	var stack []xml.Name
	skip := 0 // depth inside <script> or <style>
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			// Not markup after all, or broken: strip what looks like tags.
			return stripTags(string(body))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			local := strings.ToLower(t.Name.Local)
			if skip > 0 || local == "script" || local == "style" {
				skip++
			}
			if len(stack) > 0 && stack[len(stack)-1].Local == "error" && stack[len(stack)-1].Space == nsDAV {
				parts = append(parts, t.Name.Local)
			}
			stack = append(stack, t.Name)
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			if skip > 0 {
				skip--
			}
		case xml.CharData:
			if skip == 0 {
				if s := strings.TrimSpace(string(t)); s != "" {
					parts = append(parts, s)
				}
			}
		}
	}
	return strings.Join(parts, " ")
}

func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
			b.WriteByte(' ')
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Credentials a server may echo in an error page, whoever's they are: an
// Authorization value, or a key=value pair naming a secret.
var (
	authValueRE  = regexp.MustCompile(`(?i)\b(basic|bearer)\s+[A-Za-z0-9._~+/=-]{8,}`)
	secretPairRE = regexp.MustCompile(`(?i)\b(token|access_token|password|passwd|pwd|secret)(["']?\s*[:=]\s*["']?)[^\s"'&,;}]+`)
)

// scrub replaces every secret in s, and anything that looks like one.
func scrub(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "***")
		}
	}
	s = authValueRE.ReplaceAllString(s, "$1 ***")
	return secretPairRE.ReplaceAllString(s, "$1$2***")
}
