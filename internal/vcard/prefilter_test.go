package vcard

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"koyomi.dev/koyomi/internal/textmatch"
)

// checkPrefilter fails t unless the Prefilter for f agrees with Parse and
// Match on data: it may let a card that Parse rejects through or not, but
// for a card that parses it answers exactly what Match does (a filter
// that Validate rejects lets every card through). It returns whether data
// parsed and what Match said.
func checkPrefilter(t *testing.T, data []byte, f *Filter) (parsed, matched bool) {
	t.Helper()
	got := NewPrefilter(f).MayMatch(data)
	c, err := Parse(data)
	if err != nil {
		return false, false
	}
	want := c.Match(f)
	if f != nil && f.Validate() != nil {
		if !got {
			t.Fatalf("MayMatch = false for a filter Validate rejects\nfilter %s", describeFilter(f))
		}
		return true, want
	}
	if got != want {
		t.Fatalf("MayMatch = %v, Match = %v\nfilter %s\ncard %q", got, want, describeFilter(f), data)
	}
	return true, got
}

func describeFilter(f *Filter) string {
	if f == nil {
		return "nil"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "test=%q", f.Test)
	for _, pf := range f.Props {
		fmt.Fprintf(&b, "\n  prop-filter %q test=%q not-defined=%v", pf.Name, pf.Test, pf.IsNotDefined)
		for _, tm := range pf.TextMatches {
			fmt.Fprintf(&b, "\n    text-match %+v", tm)
		}
		for _, pa := range pf.Params {
			fmt.Fprintf(&b, "\n    param-filter %q not-defined=%v", pa.Name, pa.IsNotDefined)
			if pa.TextMatch != nil {
				fmt.Fprintf(&b, " text-match %+v", *pa.TextMatch)
			}
		}
	}
	return b.String()
}

func TestPrefilterCases(t *testing.T) {
	contains := func(name, s string) *Filter {
		return &Filter{Props: []PropFilter{{Name: name, TextMatches: []TextMatch{{Text: s}}}}}
	}
	photo := "PHOTO;ENCODING=b;TYPE=JPEG:" + strings.Repeat("QUJDRE\r\n ", 300) + "QUJD"
	tests := []struct {
		name   string
		data   string
		filter *Filter
		want   bool
	}{
		{"plain match", string(cyrusCard), contains("FN", "daboo"), true},
		{"plain miss", string(cyrusCard), contains("FN", "boo d"), false},
		{"value folded inside the text", string(card3("FN:Cyrus Da\r\n boo")), contains("FN", "daboo"), true},
		{"value folded with a tab", string(card3("FN:Cyrus Da\r\n\tboo")), contains("FN", "DABOO"), true},
		{"name folded", string(card3("F\r\n N:Cyrus Daboo")), contains("FN", "daboo"), true},
		{"name folded, other property", string(card3("FN:x", "NO\r\n TE:Cyrus Daboo")), contains("FN", "daboo"), false},
		{"lower-case name", string(card3("fn:Cyrus Daboo")), contains("FN", "daboo"), true},
		{"lower-case filter name", string(cyrusCard), contains("fn", "daboo"), true},
		{"grouped property", string(card3("FN:x", "item1.EMAIL:d@example.com")), contains("EMAIL", "d@"), true},
		{"other group", string(card3("FN:x", "item1.EMAIL:d@example.com")), contains("item2.EMAIL", "d@"), false},
		{"escaped comma decoded", string(card3(`FN:Boo\, David`)), contains("FN", "boo, d"), true},
		{"escape not matched as sent", string(card3(`FN:Boo\, David`)), contains("FN", `\,`), false},
		{"escape folded", string(card3("FN:Boo\\\r\n , David")), contains("FN", "boo, d"), true},
		{"newline escape", string(card3(`FN:a\nb`)), contains("FN", "a\nb"), true},
		{"unicode casemap", string(reneeCard), contains("NICKNAME", "σίσυφος"), true},
		{"kelvin sign", string(card3("FN:\u212Aelvin")), contains("FN", "kelvin"), true},
		{"ascii casemap leaves kelvin", string(card3("FN:\u212Aelvin")), &Filter{Props: []PropFilter{{Name: "FN",
			TextMatches: []TextMatch{{Text: "kelvin", Collation: textmatch.ASCIICasemap}}}}}, false},
		{"octet", string(cyrusCard), &Filter{Props: []PropFilter{{Name: "FN",
			TextMatches: []TextMatch{{Text: "daboo", Collation: textmatch.Octet}}}}}, false},
		{"negated", string(cyrusCard), &Filter{Props: []PropFilter{{Name: "FN",
			TextMatches: []TextMatch{{Text: "daboo", Negate: true}}}}}, false},
		{"negated on a missing property", string(cyrusCard), &Filter{Props: []PropFilter{{Name: "TEL",
			TextMatches: []TextMatch{{Text: "1", Negate: true}}}}}, false},
		{"is-not-defined", string(cyrusCard), &Filter{Props: []PropFilter{{Name: "TEL", IsNotDefined: true}}}, true},
		{"is-not-defined, defined", string(cyrusCard), &Filter{Props: []PropFilter{{Name: "FN", IsNotDefined: true}}}, false},
		{"BEGIN is not a property", string(cyrusCard), &Filter{Props: []PropFilter{{Name: "BEGIN"}}}, false},
		{"END is not defined", string(cyrusCard), &Filter{Props: []PropFilter{{Name: "END", IsNotDefined: true}}}, true},
		{"param-filter", string(davidCard), &Filter{Props: []PropFilter{{Name: "EMAIL",
			Params: []ParamFilter{{Name: "type", TextMatch: &TextMatch{Text: "home", MatchType: "equals"}}}}}}, true},
		{"bare TYPE value", string(card3("FN:x", "TEL;WORK;VOICE:1")), &Filter{Props: []PropFilter{{Name: "TEL",
			Params: []ParamFilter{{Name: "TYPE", TextMatch: &TextMatch{Text: "voice"}}}}}}, true},
		{"allof props", string(davidCard), &Filter{Test: "allof", Props: []PropFilter{
			{Name: "FN", TextMatches: []TextMatch{{Text: "david"}}}, {Name: "NICKNAME"}}}, false},
		{"after a long photo", string(card3(photo, "FN:Cyrus Daboo")), contains("FN", "daboo"), true},
		{"text inside a photo", string(card3("FN:x", photo)), contains("FN", "QUJD"), false},
		{"LF line ends", "BEGIN:VCARD\nVERSION:3.0\nFN:Cyrus\n  Daboo\nEND:VCARD\n", contains("FN", "cyrus daboo"), true},
		{"blank lines", "BEGIN:VCARD\r\n\r\n  \r\nVERSION:3.0\r\nFN:Cyrus\r\n\u00a0\r\nEND:VCARD\r\n", contains("FN", "cyrus"), true},
		{"no filter", string(cyrusCard), nil, true},
		{"empty filter", string(cyrusCard), &Filter{Test: "allof"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parsed, matched := checkPrefilter(t, []byte(tt.data), tt.filter)
			if !parsed {
				t.Fatalf("the card does not parse: %q", tt.data)
			}
			if matched != tt.want {
				t.Errorf("matched %v, want %v", matched, tt.want)
			}
		})
	}
}

func TestPrefilterInvalid(t *testing.T) {
	// Data Parse rejects may be let through or not, but never crash, and
	// an invalid filter lets everything through for Parse and Match to
	// judge.
	f := &Filter{Props: []PropFilter{{Name: "FN", TextMatches: []TextMatch{{Text: "x"}}}}}
	for _, data := range []string{"", "BEGIN:VCARD", "FN:x", " FN:x", "BEGIN:VCARD\r\n\r\n FN:x\r\nEND:VCARD", "\xff"} {
		NewPrefilter(f).MayMatch([]byte(data))
	}
	bad := &Filter{Props: []PropFilter{{Name: "FN", TextMatches: []TextMatch{{Text: "x", Collation: "i;klingon"}}}}}
	if !NewPrefilter(bad).MayMatch(cyrusCard) {
		t.Error("a filter Validate rejects must let every card through")
	}
}

func TestFoldUnicodeASCII(t *testing.T) {
	fold := textmatch.Folder(textmatch.UnicodeCasemap)
	fast := foldUnicodeASCII(fold)
	var all []byte
	for c := range 0x80 {
		all = append(all, byte(c))
	}
	for _, s := range []string{string(all), "", "Anna Nakamura", "ANNA", "a-b_c.d@e", "Émile", "k\u212A", "ſs"} {
		if got, want := fast(s), fold(s); got != want {
			t.Errorf("fold(%q) = %q, want %q", s, got, want)
		}
	}
}

// TestPrefilterRandom compares the Prefilter with Parse and Match over
// generated cards (folded at random places, escapes, non-ASCII text,
// photos, groups, parameters, blank lines, LF line ends, and now and then
// a defect) and filters drawn partly from each card's own values.
func TestPrefilterRandom(t *testing.T) {
	cards := 4000
	if testing.Short() {
		cards = 500
	}
	rng := rand.New(rand.NewPCG(7, 11))
	var checks, valid, matched, rejected int
	for range cards {
		g := &cardGen{rng: rng}
		data := g.card()
		for range 12 {
			f := g.filter()
			parsed, m := checkPrefilter(t, data, f)
			checks++
			if parsed {
				valid++
				if m {
					matched++
				} else {
					rejected++
				}
			}
		}
	}
	t.Logf("%d checks: %d on cards that parse, %d matched, %d did not", checks, valid, matched, rejected)
	// The generator must exercise both answers on cards that parse, and
	// leave some cards invalid.
	if valid < checks/2 || valid == checks || matched < valid/10 || rejected < valid/10 {
		t.Errorf("generator out of balance: %d checks, %d valid, %d matched, %d rejected", checks, valid, matched, rejected)
	}
}

// cardGen generates one random card and filters for it.
type cardGen struct {
	rng    *rand.Rand
	values []string // the values written, as sent
}

var (
	genNames = []string{"FN", "N", "EMAIL", "TEL", "NOTE", "NICKNAME", "ORG", "X-ABLabel", "ADR", "CATEGORIES", "TITLE"}
	genWords = []string{"Anna", "Nakamura", "Cyrus", "Daboo", "daboo@example.com", "+1 555 0100", "Émile", "Straße",
		"STRASSE", "ΣΊΣΥΦΟΣ", "σίσυφος", "山田 花子", "\u212Aelvin", "ſun", "İstanbul", "ǅ", "a", "", " ", "work", "HOME",
		"x;y", "1 Main St", "Renée", "ÉCOLE", "école", "k", "s", "ss"}
	genEscapes = []string{`\,`, `\;`, `\n`, `\N`, `\\`, `\`, `\x`, ";", ","}
	genParams  = []string{"TYPE=HOME", "TYPE=home,work", `TYPE="work,voice"`, "WORK", "VOICE", "PREF=1", `X-P="a:b;c"`,
		"ENCODING=b", "CHARSET=utf-8", "X-Q=^n^^^'", "type=Cell", `LABEL="Straße 1"`, "TYPE=", "X-E"}
	genBlanks = []string{"", "  ", "\t", "\u00a0", "\u3000 "}
)

func (g *cardGen) pick(list []string) string { return list[g.rng.IntN(len(list))] }

func (g *cardGen) chance(p float64) bool { return g.rng.Float64() < p }

func (g *cardGen) value() string {
	var b strings.Builder
	for range 1 + g.rng.IntN(4) {
		if b.Len() > 0 {
			b.WriteString(g.pick([]string{" ", ";", ",", ""}))
		}
		if g.chance(0.2) {
			b.WriteString(g.pick(genEscapes))
		}
		b.WriteString(g.pick(genWords))
	}
	return b.String()
}

func (g *cardGen) name() string {
	name := g.pick(genNames)
	switch g.rng.IntN(6) {
	case 0:
		name = strings.ToLower(name)
	case 1:
		name = g.pick([]string{"item1.", "ITEM2.", "a-b."}) + name
	case 2:
		if g.chance(0.1) {
			name = "a.b." + name // a group Parse rejects
		}
	}
	return name
}

// fold folds an unfolded content line at random places, as a client
// folding at 75 octets would, or inside names, escapes and UTF-8
// sequences.
func (g *cardGen) fold(line, eol string) string {
	if !g.chance(0.4) || len(line) < 2 {
		return line + eol
	}
	var b strings.Builder
	for len(line) > 0 {
		n := 1 + g.rng.IntN(min(len(line), 40))
		if g.chance(0.8) { // mostly keep UTF-8 sequences whole
			for n < len(line) && !utf8.RuneStart(line[n]) {
				n++
			}
		}
		b.WriteString(line[:n])
		line = line[n:]
		if len(line) > 0 {
			b.WriteString(eol + g.pick([]string{" ", " ", "\t"}))
		}
	}
	return b.String() + eol
}

func (g *cardGen) card() []byte {
	eol := "\r\n"
	if g.chance(0.2) {
		eol = "\n"
	}
	var lines []string
	lines = append(lines, g.pick([]string{"BEGIN:VCARD", "begin:vcard", "Begin:VCard"}))
	var body []string
	version := g.pick([]string{"3.0", "4.0"})
	if g.chance(0.03) {
		version = "2.1" // which Parse rejects
	}
	body = append(body, "VERSION:"+version)
	if g.chance(0.95) {
		v := g.value()
		g.values = append(g.values, v)
		body = append(body, g.pick([]string{"FN", "fn", "item1.FN"})+":"+v)
	}
	for range g.rng.IntN(8) {
		var line strings.Builder
		line.WriteString(g.name())
		for range g.rng.IntN(3) {
			line.WriteString(";" + g.pick(genParams))
		}
		v := g.value()
		g.values = append(g.values, v)
		line.WriteString(":" + v)
		body = append(body, line.String())
	}
	if g.chance(0.2) {
		photo := make([]byte, g.rng.IntN(2000))
		for i := range photo {
			photo[i] = byte(g.rng.UintN(256))
		}
		body = append(body, "PHOTO;ENCODING=b;TYPE=JPEG:"+base64.StdEncoding.EncodeToString(photo))
	}
	g.rng.Shuffle(len(body), func(i, j int) { body[i], body[j] = body[j], body[i] })
	lines = append(lines, body...)
	lines = append(lines, g.pick([]string{"END:VCARD", "end:vcard"}))
	var b strings.Builder
	for i, line := range lines {
		if i > 0 && g.chance(0.03) {
			b.WriteString(g.pick(genBlanks) + eol)
		}
		b.WriteString(g.fold(line, eol))
	}
	data := b.String()
	if g.chance(0.05) { // a defect
		switch g.rng.IntN(5) {
		case 0:
			data = strings.Replace(data, "END:VCARD", "", 1)
		case 1:
			data += "BEGIN:VCARD" + eol
		case 2:
			data = strings.Replace(data, eol, eol+eol+" x", 1)
		case 3:
			data = strings.Replace(data, "FN", "FN\x01", 1)
		case 4:
			data = strings.Replace(data, ":", "", 1)
		}
	}
	return []byte(data)
}

func (g *cardGen) textMatch() *TextMatch {
	tm := &TextMatch{
		Collation: g.pick([]string{"", textmatch.ASCIICasemap, textmatch.Octet, textmatch.UnicodeCasemap}),
		MatchType: g.pick([]string{"", "contains", "equals", "starts-with", "ends-with"}),
		Negate:    g.chance(0.2),
	}
	switch {
	case len(g.values) > 0 && g.chance(0.7):
		// A piece of a value the card holds, as sent or decoded, in
		// some case.
		v := g.pick(g.values)
		if g.chance(0.5) {
			v = unescapeText(v)
		}
		runes := []rune(v)
		i := g.rng.IntN(len(runes) + 1)
		j := i + g.rng.IntN(len(runes)-i+1)
		if g.chance(0.3) {
			i, j = 0, len(runes)
		}
		tm.Text = string(runes[i:j])
		switch g.rng.IntN(4) {
		case 0:
			tm.Text = strings.ToUpper(tm.Text)
		case 1:
			tm.Text = strings.ToLower(tm.Text)
		}
	default:
		tm.Text = g.pick(genWords)
	}
	return tm
}

func (g *cardGen) filter() *Filter {
	if g.chance(0.02) {
		return nil
	}
	f := &Filter{Test: g.pick([]string{"", "anyof", "allof"})}
	for range g.rng.IntN(4) {
		pf := PropFilter{Test: g.pick([]string{"", "anyof", "allof"})}
		switch {
		case g.chance(0.1):
			pf.Name = g.pick([]string{"BEGIN", "END", "VERSION", "PHOTO", "X-UNKNOWN", "end"})
		default:
			pf.Name = g.name()
		}
		if g.chance(0.15) {
			pf.IsNotDefined = true
		}
		for range g.rng.IntN(3) {
			pf.TextMatches = append(pf.TextMatches, *g.textMatch())
		}
		for range g.rng.IntN(3) {
			pa := ParamFilter{Name: g.pick([]string{"TYPE", "type", "PREF", "ENCODING", "X-P", "X-Q", "LABEL", "X-E"})}
			switch {
			case g.chance(0.2):
				pa.IsNotDefined = true
			case g.chance(0.6):
				pa.TextMatch = &TextMatch{
					Text:      g.pick([]string{"home", "WORK", "voice", "cell", "1", "a:b;c", "\n^\"", "straße", "", "b"}),
					Collation: g.pick([]string{"", textmatch.ASCIICasemap, textmatch.Octet, textmatch.UnicodeCasemap}),
					MatchType: g.pick([]string{"", "contains", "equals", "starts-with", "ends-with"}),
					Negate:    g.chance(0.2),
				}
			}
			pf.Params = append(pf.Params, pa)
		}
		f.Props = append(f.Props, pf)
	}
	return f
}

// FuzzPrefilter checks that on any data the Prefilter agrees with Parse
// and Match for a few filters.
func FuzzPrefilter(f *testing.F) {
	f.Add(cyrusCard, "daboo")
	f.Add(davidCard, "home")
	f.Add(reneeCard, "σίσυφος")
	f.Add([]byte("BEGIN:VCARD\nVERSION:3.0\nF\n N:a\\\n ,b\nEND:VCARD"), "a,b")
	f.Fuzz(func(t *testing.T, data []byte, text string) {
		filters := []*Filter{
			{Props: []PropFilter{{Name: "FN", TextMatches: []TextMatch{{Text: text}}}}},
			{Test: "allof", Props: []PropFilter{
				{Name: "EMAIL", Test: "allof", TextMatches: []TextMatch{{Text: text, Negate: true, MatchType: "equals"}},
					Params: []ParamFilter{{Name: "TYPE", TextMatch: &TextMatch{Text: text, Collation: textmatch.ASCIICasemap}}}},
				{Name: "item1.TEL", IsNotDefined: true},
			}},
			{Props: []PropFilter{{Name: "NICKNAME", TextMatches: []TextMatch{{Text: text, Collation: textmatch.Octet, MatchType: "starts-with"}}}, {Name: "BEGIN"}}},
		}
		for _, filter := range filters {
			checkPrefilter(t, data, filter)
		}
	})
}
