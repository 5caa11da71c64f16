package vcard

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Convert returns c (whose stored bytes are data) as a vCard of the given
// version, "3.0" or "4.0": data itself when c already has that version,
// otherwise new vCard text folded at 75 octets with CRLF line ends, for
// address-data requests that ask for the other version (RFC 6352 section
// 10.4). What changes:
//
//   - VERSION;
//   - inline PHOTO, LOGO, SOUND and KEY: 3.0 ENCODING=b;TYPE=JPEG:<base64>
//     and 4.0 data:image/jpeg;base64,<base64> URIs (the base64 text is
//     carried over, so the decoded bytes are identical); URI values get
//     VALUE=uri in 3.0 and MEDIATYPE for TYPE in 4.0;
//   - TYPE values: upper case in 3.0, lower case in 4.0; 3.0 TYPE=pref and
//     4.0 PREF=1; the 3.0 EMAIL TYPE=internet, which 4.0 does not define,
//     is dropped;
//   - KIND and MEMBER (4.0) and X-ADDRESSBOOKSERVER-KIND and
//     X-ADDRESSBOOKSERVER-MEMBER (3.0, as Apple writes groups); member URIs
//     such as urn:uuid: are kept;
//   - 4.0 TEL;VALUE=uri:tel:... becomes a 3.0 phone number;
//   - 3.0 NAME, PROFILE and CHARSET, which 4.0 removed, are dropped, and a
//     3.0 card gets the N property RFC 2426 requires when it has none.
//
// Every other property, x-properties and group prefixes included, is
// carried over with its value as sent.
func Convert(data []byte, c *Card, version string) ([]byte, error) {
	if version != Version3 && version != Version4 {
		return nil, fmt.Errorf("vcard: cannot convert to vCard version %q (want 3.0 or 4.0)", version)
	}
	if version == c.Version {
		return data, nil
	}
	var b bytes.Buffer
	writeLine(&b, &property{name: "BEGIN", value: "VCARD"})
	writeLine(&b, &property{name: "VERSION", value: version})
	hasKind, hasAppleKind, hasN := c.has("KIND"), c.has("X-ADDRESSBOOKSERVER-KIND"), c.has("N")
	for i := range c.props {
		var (
			p    property
			keep bool
		)
		if version == Version4 {
			p, keep = to4(c.props[i], hasKind)
		} else {
			p, keep = to3(c.props[i], hasAppleKind)
		}
		if !keep {
			continue
		}
		writeLine(&b, &p)
		if p.name == "FN" && !hasN {
			n := ";;;;"
			if c.Kind == "group" {
				// Apple names a group card by N as well.
				n = p.value + n
			}
			writeLine(&b, &property{name: "N", value: n})
			hasN = true
		}
	}
	writeLine(&b, &property{name: "END", value: "VCARD"})
	return b.Bytes(), nil
}

func (c *Card) has(name string) bool {
	for i := range c.props {
		if c.props[i].name == name {
			return true
		}
	}
	return false
}

// isMediaProp reports whether name holds inline binary data in 3.0 and a
// URI (possibly a data: URI) in 4.0.
func isMediaProp(name string) bool {
	switch name {
	case "PHOTO", "LOGO", "SOUND", "KEY":
		return true
	}
	return false
}

// to4 converts one 3.0 property; keep is false when 4.0 has no place for it.
// p is a copy; its parameter slices are shared with the Card and are not
// modified.
func to4(p property, hasKind bool) (out property, keep bool) {
	switch p.name {
	case "VERSION", "NAME", "PROFILE":
		return p, false
	case "X-ADDRESSBOOKSERVER-KIND":
		if hasKind {
			return p, false
		}
		p.name, p.value = "KIND", strings.ToLower(p.value)
	case "X-ADDRESSBOOKSERVER-MEMBER":
		p.name = "MEMBER"
	}
	var (
		params       []param
		types        []string
		typeAt       = -1
		binary, pref bool
		valueText    bool
	)
	for _, pa := range p.params {
		switch pa.name {
		case "ENCODING":
			if len(pa.values) == 1 && (strings.EqualFold(pa.values[0], "b") || strings.EqualFold(pa.values[0], "base64")) {
				binary = true
				continue
			}
		case "CHARSET":
			continue
		case "VALUE":
			if len(pa.values) == 1 && strings.EqualFold(pa.values[0], "binary") {
				continue
			}
			valueText = len(pa.values) == 1 && strings.EqualFold(pa.values[0], "text")
		case "TYPE":
			if typeAt < 0 {
				typeAt = len(params)
				params = append(params, param{name: "TYPE"})
			}
			for _, v := range pa.values {
				switch {
				case strings.EqualFold(v, "pref"):
					pref = true
				case p.name == "EMAIL" && strings.EqualFold(v, "internet"):
				default:
					types = append(types, v)
				}
			}
			continue
		}
		params = append(params, pa)
	}
	media := isMediaProp(p.name)
	switch {
	case media && binary:
		// In 3.0 the TYPE of an inline PHOTO, LOGO, SOUND or KEY is its
		// format, which 4.0 puts into the data: URI.
		p.value = "data:" + mediaType(p.name, types) + ";base64," + stripSpace(p.value)
		types = nil
	case media && len(types) > 0 && !valueText:
		params = append(params, param{name: "MEDIATYPE", values: []string{mediaType(p.name, types)}})
		types = nil
	case binary:
		// ENCODING=b on a property 4.0 has no binary form for: keep it so
		// that the value is not misread.
		params = append(params, param{name: "ENCODING", values: []string{"b"}})
	}
	if typeAt >= 0 {
		lower := make([]string, len(types))
		for i, v := range types {
			lower[i] = strings.ToLower(v)
		}
		params[typeAt].values = lower
	}
	if pref && !p.hasParam("PREF") {
		params = append(params, param{name: "PREF", values: []string{"1"}})
	}
	p.params = dropEmpty(params)
	return p, true
}

// to3 converts one 4.0 property; see to4.
func to3(p property, hasAppleKind bool) (out property, keep bool) {
	switch p.name {
	case "VERSION":
		return p, false
	case "KIND":
		if hasAppleKind {
			return p, false
		}
		p.name, p.value = "X-ADDRESSBOOKSERVER-KIND", strings.ToLower(p.value)
	case "MEMBER":
		p.name = "X-ADDRESSBOOKSERVER-MEMBER"
	}
	media := isMediaProp(p.name)
	var (
		params            []param
		types             []string
		typeAt            = -1
		mediatype         string
		pref, valueURI    bool
		valueText, hasVal bool
	)
	for _, pa := range p.params {
		switch pa.name {
		case "PREF":
			pref = len(pa.values) == 1 && strings.TrimSpace(pa.values[0]) == "1"
			continue
		case "TYPE":
			if typeAt < 0 {
				typeAt = len(params)
				params = append(params, param{name: "TYPE"})
			}
			types = append(types, pa.values...)
			continue
		case "MEDIATYPE":
			if media && len(pa.values) > 0 {
				mediatype = pa.values[0]
				continue
			}
		case "VALUE":
			hasVal = true
			if len(pa.values) == 1 && strings.EqualFold(pa.values[0], "uri") && (media || p.name == "TEL") {
				valueURI = true
				continue
			}
			valueText = len(pa.values) == 1 && strings.EqualFold(pa.values[0], "text")
		}
		params = append(params, pa)
	}
	switch {
	case media && hasPrefixFold(p.value, "data:"):
		if mt, payload, ok := parseDataURI(p.value); ok {
			if mt == "" {
				mt = mediatype
			}
			p.value = payload
			params = append(params, param{name: "ENCODING", values: []string{"b"}})
			if mt != "" {
				types = append(types, formatOf(mt))
			}
			break
		}
		params = append(params, param{name: "VALUE", values: []string{"uri"}})
	case media && !valueText && (valueURI || !hasVal):
		// A 4.0 PHOTO is a URI by default, a 3.0 one binary: say so.
		params = append(params, param{name: "VALUE", values: []string{"uri"}})
		if mediatype != "" {
			types = append(types, formatOf(mediatype))
		}
	case p.name == "TEL" && hasPrefixFold(p.value, "tel:"):
		p.value = p.value[len("tel:"):]
	case valueURI:
		params = append(params, param{name: "VALUE", values: []string{"uri"}})
	}
	if pref {
		types = append(types, "PREF")
	}
	if len(types) > 0 && typeAt < 0 {
		typeAt = len(params)
		params = append(params, param{name: "TYPE"})
	}
	if typeAt >= 0 {
		upper := make([]string, len(types))
		for i, v := range types {
			upper[i] = strings.ToUpper(v)
		}
		params[typeAt].values = upper
	}
	p.params = dropEmpty(params)
	return p, true
}

// dropEmpty removes parameters left without values.
func dropEmpty(params []param) []param {
	out := params[:0]
	for _, pa := range params {
		if len(pa.values) > 0 {
			out = append(out, pa)
		}
	}
	return out
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
}

// mediaType turns the 3.0 format of an inline value (TYPE=JPEG, or already
// a media type) into a media type for a data: URI or MEDIATYPE.
func mediaType(prop string, types []string) string {
	if len(types) == 0 || !isMediaToken(types[0]) {
		return "application/octet-stream"
	}
	f := strings.ToLower(types[0])
	if strings.Contains(f, "/") {
		return f
	}
	switch f {
	case "jpeg", "jpg":
		return "image/jpeg"
	case "pgp":
		return "application/pgp-keys"
	case "x509":
		return "application/pkix-cert"
	}
	switch prop {
	case "PHOTO", "LOGO":
		return "image/" + f
	case "SOUND":
		return "audio/" + f
	}
	return "application/" + f
}

// formatOf is the inverse of mediaType: the 3.0 TYPE for a media type.
func formatOf(mt string) string {
	mt = strings.ToLower(strings.TrimSpace(mt))
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	switch mt {
	case "application/pgp-keys":
		return "PGP"
	case "application/pkix-cert":
		return "X509"
	}
	if i := strings.IndexByte(mt, '/'); i >= 0 {
		mt = mt[i+1:]
	}
	return strings.ToUpper(mt)
}

// isMediaToken reports whether s can stand in a media type: a data: URI
// built from anything else would not parse back.
func isMediaToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-+./_", c) >= 0) {
			return false
		}
	}
	return true
}

// parseDataURI splits an RFC 2397 data: URI into its media type and its
// payload as base64. Producers that escape the comma as TEXT (\,) are
// tolerated.
func parseDataURI(uri string) (mediatype, b64 string, ok bool) {
	rest := strings.Replace(uri[len("data:"):], `\,`, ",", 1)
	meta, payload, found := strings.Cut(rest, ",")
	if !found {
		return "", "", false
	}
	isBase64 := false
	if m, cut := strings.CutSuffix(meta, ";base64"); cut {
		meta, isBase64 = m, true
	}
	mediatype, _, _ = strings.Cut(meta, ";")
	if isBase64 {
		return mediatype, stripSpace(payload), true
	}
	raw, err := url.PathUnescape(payload)
	if err != nil {
		return "", "", false
	}
	return mediatype, base64.StdEncoding.EncodeToString([]byte(raw)), true
}

// maxLineOctets is the longest content line RFC 6350 section 3.2 wants,
// line break excluded.
const maxLineOctets = 75

// writeLine encodes p as a content line, folded at maxLineOctets octets
// without splitting a UTF-8 sequence, with a CRLF line end.
func writeLine(b *bytes.Buffer, p *property) {
	var sb strings.Builder
	if p.group != "" {
		sb.WriteString(p.group)
		sb.WriteByte('.')
	}
	if strings.EqualFold(p.sentName, p.name) {
		sb.WriteString(p.sentName)
	} else {
		sb.WriteString(p.name)
	}
	for _, pa := range p.params {
		sb.WriteByte(';')
		sb.WriteString(pa.name)
		sb.WriteByte('=')
		for i, v := range pa.values {
			if i > 0 {
				sb.WriteByte(',')
			}
			writeParamValue(&sb, v)
		}
	}
	sb.WriteByte(':')
	sb.WriteString(p.value)
	fold(b, sb.String())
}

// writeParamValue writes v caret-encoded (RFC 6868) and quoted when it holds
// a character that would end it.
func writeParamValue(sb *strings.Builder, v string) {
	if strings.ContainsAny(v, "^\n\"") {
		v = strings.NewReplacer("^", "^^", "\n", "^n", `"`, "^'").Replace(v)
	}
	if strings.ContainsAny(v, ";:,") {
		sb.WriteByte('"')
		sb.WriteString(v)
		sb.WriteByte('"')
		return
	}
	sb.WriteString(v)
}

func fold(b *bytes.Buffer, line string) {
	limit := maxLineOctets
	for len(line) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		b.WriteString(line[:cut])
		b.WriteString("\r\n ")
		line = line[cut:]
		limit = maxLineOctets - 1 // the leading space counts
	}
	b.WriteString(line)
	b.WriteString("\r\n")
}
