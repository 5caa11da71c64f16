package vcard

import (
	"bytes"
	"strings"

	"koyomi.dev/koyomi/internal/textmatch"
)

// Prefilter screens stored vCard bytes against an addressbook-query filter
// without parsing whole cards, so that a query over an address book parses
// only the cards that can match.
//
// It splits the bytes into content lines by the rules of Parse, but reads
// only the name of each line; the lines named in the filter are parsed in
// full (group, parameters, value) and the filter is evaluated on them with
// Card.Match's rules, its texts folded once rather than once per card. A
// card's PHOTO, however long, is stepped over a physical line at a time
// and never copied or unfolded.
type Prefilter struct {
	test  string // the filter's test
	props []compiledProp
	// names are the upper-case property names (without group) the filter
	// looks at. BEGIN and END are left out: a card that parses has no
	// property of those names besides its own first and last line, which
	// Match does not see.
	names []string
	all   bool // every card may match: no prop-filter, or an invalid filter
}

// compiledProp is a PropFilter with its text-matches folded.
type compiledProp struct {
	filter *PropFilter
	texts  []compiledText
	params []compiledParam
}

type compiledParam struct {
	name         string // upper case
	isNotDefined bool
	text         *compiledText
}

// compiledText is a TextMatch with its collation's fold chosen and its
// text folded.
type compiledText struct {
	fold      func(string) string
	text      string
	matchType string
	negate    bool
}

// NewPrefilter returns the Prefilter for f, which must not change while
// the Prefilter is in use. A nil or empty filter, or one that Validate
// rejects, gives a Prefilter that lets every card through. A Prefilter is
// safe for concurrent use.
func NewPrefilter(f *Filter) *Prefilter {
	if f == nil || len(f.Props) == 0 || f.Validate() != nil {
		return &Prefilter{all: true}
	}
	p := &Prefilter{test: f.Test}
	for i := range f.Props {
		pf := &f.Props[i]
		cp := compiledProp{filter: pf}
		for j := range pf.TextMatches {
			cp.texts = append(cp.texts, compileText(&pf.TextMatches[j]))
		}
		for _, pa := range pf.Params {
			cpa := compiledParam{name: strings.ToUpper(pa.Name), isNotDefined: pa.IsNotDefined}
			if pa.TextMatch != nil {
				t := compileText(pa.TextMatch)
				cpa.text = &t
			}
			cp.params = append(cp.params, cpa)
		}
		p.props = append(p.props, cp)
		_, name := splitGroup(pf.Name)
		name = strings.ToUpper(name)
		if name != "BEGIN" && name != "END" && !contains(p.names, name) {
			p.names = append(p.names, name)
		}
	}
	return p
}

func compileText(tm *TextMatch) compiledText {
	collation := tm.Collation
	if collation == "" {
		collation = textmatch.UnicodeCasemap // RFC 6352 10.5.4's default
	}
	fold := textmatch.Folder(collation)
	if collation == textmatch.UnicodeCasemap {
		fold = foldUnicodeASCII(fold)
	}
	return compiledText{fold: fold, text: fold(tm.Text), matchType: tm.MatchType, negate: tm.Negate}
}

// foldUnicodeASCII wraps the i;unicode-casemap fold with a shortcut for
// ASCII text, the common case: every ASCII letter's simple case folding
// orbit (k, K and the Kelvin sign; s, S and the long s) has the upper-case
// ASCII letter as its least rune, and other ASCII characters fold to
// themselves, so the fold of ASCII text is its ASCII upper case.
func foldUnicodeASCII(fold func(string) string) func(string) string {
	return func(s string) string {
		hasLower := false
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c >= 0x80 {
				return fold(s)
			}
			hasLower = hasLower || ('a' <= c && c <= 'z')
		}
		if !hasLower {
			return s
		}
		b := []byte(s)
		for i, c := range b {
			if 'a' <= c && c <= 'z' {
				b[i] = c - ('a' - 'A')
			}
		}
		return string(b)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// MayMatch reports whether the card in data may satisfy the filter. It is
// false only when the card does not: either Parse rejects data, or the
// parsed card's Match is false. For data that Parse accepts it equals
// Card.Match; callers still parse the cards it lets through, which also
// catches data Parse rejects.
func (p *Prefilter) MayMatch(data []byte) bool {
	if p.all {
		return true
	}
	var (
		props  []property
		inLine bool // a logical line is open (contentLines' cur != nil)
		wanted bool // the open line may be one of the filter's names
		start  int  // offset of the open line's first byte
		end    int  // offset after its last physical line so far
		first  int  // its first physical line number
		lineNo int
	)
	// flush parses the open line if it is wanted; false when it does not
	// parse, which makes Parse reject the card.
	flush := func() bool {
		if !inLine || !wanted {
			return true
		}
		prop, err := parseLine(unfold(data[start:end]), first)
		if err != nil {
			return false
		}
		if contains(p.names, prop.name) {
			props = append(props, prop)
		}
		return true
	}
	for pos := 0; pos < len(data); {
		lineNo++
		next := len(data)
		if i := bytes.IndexByte(data[pos:], '\n'); i >= 0 {
			next = pos + i + 1
		}
		// The cases and their order are those of contentLines.
		if inLine && (data[pos] == ' ' || data[pos] == '\t') {
			end = next // a continuation: only its first byte matters
			pos = next
			continue
		}
		text := bytes.TrimSuffix(data[pos:next], []byte("\n"))
		text = bytes.TrimSuffix(text, []byte("\r"))
		switch {
		case blank(text):
			if !flush() {
				return true // let Parse say what is wrong
			}
			inLine = false
		case text[0] == ' ' || text[0] == '\t':
			// A continuation without a line to continue: Parse rejects
			// the card and says why.
			return true
		default:
			if !flush() {
				return true
			}
			inLine, wanted = true, p.wants(text)
			start, end, first = pos, next, lineNo
		}
		pos = next
	}
	if !flush() {
		return true
	}
	return p.match(props)
}

// blank reports whether contentLines skips the physical line text as
// blank (strings.TrimSpace leaves nothing).
func blank(text []byte) bool {
	if len(text) == 0 {
		return true
	}
	if c := text[0]; c < 0x80 && c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\v' && c != '\f' {
		return false
	}
	return len(bytes.TrimSpace(text)) == 0
}

// wants reports whether the logical line starting with the physical line
// text may carry one of the filter's property names. A line whose name
// runs past the physical line (folded inside the name) is wanted, and
// parsed in full to find out.
func (p *Prefilter) wants(text []byte) bool {
	i := 0
	for i < len(text) && text[i] != ';' && text[i] != ':' {
		i++
	}
	if i == len(text) {
		return true
	}
	name := text[:i]
	if j := bytes.LastIndexByte(name, '.'); j >= 0 {
		name = name[j+1:]
	}
	for _, n := range p.names {
		if equalFoldASCII(name, n) {
			return true
		}
	}
	return false
}

// equalFoldASCII compares b with the upper-case ASCII name n, ignoring the
// case of ASCII letters in b. Property names that parse are ASCII, so a
// name with other bytes is one Parse rejects.
func equalFoldASCII(b []byte, n string) bool {
	if len(b) != len(n) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != n[i] {
			return false
		}
	}
	return true
}

// unfold returns the text of the logical line held in raw (its physical
// lines, line ends included) as contentLines assembles it: each line
// without its line end, continuations without their leading white space.
func unfold(raw []byte) string {
	trim := func(line []byte) []byte {
		line = bytes.TrimSuffix(line, []byte("\n"))
		return bytes.TrimSuffix(line, []byte("\r"))
	}
	i := bytes.IndexByte(raw, '\n')
	if i < 0 || i == len(raw)-1 {
		return string(trim(raw)) // one physical line, the common case
	}
	var sb strings.Builder
	sb.Grow(len(raw))
	for n := 0; len(raw) > 0; n++ {
		next := len(raw)
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			next = i + 1
		}
		text := trim(raw[:next])
		if n > 0 {
			text = text[1:]
		}
		sb.Write(text)
		raw = raw[next:]
	}
	return sb.String()
}

// match evaluates the filter on the card's properties of the filter's
// names, as Card.Match does on all of them.
func (p *Prefilter) match(props []property) bool {
	allof := p.test == "allof"
	for i := range p.props {
		ok := p.props[i].match(props)
		if ok && !allof {
			return true
		}
		if !ok && allof {
			return false
		}
	}
	return allof
}

// match is Card.matchProp.
func (cp *compiledProp) match(props []property) bool {
	found := false
	for i := range props {
		if !nameMatches(&props[i], cp.filter.Name) {
			continue
		}
		if cp.filter.IsNotDefined {
			return false
		}
		found = true
		if cp.matchOne(&props[i]) {
			return true
		}
	}
	return !found && cp.filter.IsNotDefined
}

// matchOne is propMatches.
func (cp *compiledProp) matchOne(prop *property) bool {
	if len(cp.texts) == 0 && len(cp.params) == 0 {
		return true
	}
	allof := cp.filter.Test == "allof"
	if len(cp.texts) > 0 {
		value := unescapeText(prop.value)
		for i := range cp.texts {
			ok := cp.texts[i].matches(value)
			if ok && !allof {
				return true
			}
			if !ok && allof {
				return false
			}
		}
	}
	for i := range cp.params {
		ok := cp.params[i].match(prop)
		if ok && !allof {
			return true
		}
		if !ok && allof {
			return false
		}
	}
	return allof
}

// match is paramMatches.
func (cpa *compiledParam) match(prop *property) bool {
	if cpa.isNotDefined {
		return !prop.hasParam(cpa.name)
	}
	if !prop.hasParam(cpa.name) {
		return false
	}
	if cpa.text == nil {
		return true
	}
	for _, v := range prop.paramValues(cpa.name) {
		if textmatch.Holds(cpa.text.fold(v), cpa.text.text, cpa.text.matchType) {
			return !cpa.text.negate
		}
	}
	return cpa.text.negate
}

// matches is TextMatch.Matches.
func (t *compiledText) matches(value string) bool {
	return textmatch.Holds(t.fold(value), t.text, t.matchType) != t.negate
}
