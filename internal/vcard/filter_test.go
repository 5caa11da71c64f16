package vcard

import (
	"errors"
	"testing"
)

// The cards of RFC 6352 section 8.6, plus one with groups, parameters and
// structured values, and one with non-ASCII text.
var (
	cyrusCard = card3("NICKNAME:me", "UID:34222-232@example.com", "FN:Cyrus Daboo", "EMAIL:daboo@example.com")
	davidCard = card3("UID:other", "FN:David Boo", "N:Boo;David;;;",
		"EMAIL:dboo@example.org",
		"item1.EMAIL;TYPE=HOME,pref:d@Example.COM",
		"item1.X-ABLabel:home",
		"TEL;TYPE=CELL:+1 555 0100",
		`ADR;TYPE=work:;;1 Main St\, Apt 4;Springfield;;;`)
	reneeCard = card4("FN:Renée Cadieux", "NICKNAME:ΣΊΣΥΦΟΣ")
)

func text(s string) TextMatch { return TextMatch{Text: s} }

func TestMatch(t *testing.T) {
	cyrus, david, renee := mustParseT(cyrusCard), mustParseT(davidCard), mustParseT(reneeCard)
	prop := func(name string, tms ...TextMatch) PropFilter { return PropFilter{Name: name, TextMatches: tms} }
	tests := []struct {
		name                string
		filter              *Filter
		cyrus, david, renee bool
	}{
		{"nil filter", nil, true, true, true},
		{"empty filter", &Filter{}, true, true, true},
		{"empty allof filter", &Filter{Test: "allof"}, true, true, true},
		// RFC 6352 section 8.6.
		{"rfc 8.6 nickname equals me", &Filter{Props: []PropFilter{
			prop("NICKNAME", TextMatch{Text: "me", Collation: "i;unicode-casemap", MatchType: "equals"}),
		}}, true, false, false},
		{"rfc 8.6 anyof fn or email contains daboo", &Filter{Test: "anyof", Props: []PropFilter{
			prop("FN", TextMatch{Text: "daboo", Collation: "i;unicode-casemap", MatchType: "contains"}),
			prop("EMAIL", TextMatch{Text: "daboo", Collation: "i;unicode-casemap", MatchType: "contains"}),
		}}, true, false, false},
		{"allof fn and nickname", &Filter{Test: "allof", Props: []PropFilter{
			prop("FN", text("d")), {Name: "NICKNAME"},
		}}, true, false, true},
		{"anyof fn or nickname", &Filter{Props: []PropFilter{
			prop("FN", text("david")), {Name: "NICKNAME"},
		}}, true, true, true},
		// Existence and is-not-defined.
		{"tel defined", &Filter{Props: []PropFilter{{Name: "TEL"}}}, false, true, false},
		{"tel not defined", &Filter{Props: []PropFilter{{Name: "TEL", IsNotDefined: true}}}, true, false, true},
		{"lower-case name", &Filter{Props: []PropFilter{{Name: "tel"}}}, false, true, false},
		// Groups.
		{"name without group matches grouped", &Filter{Props: []PropFilter{
			prop("EMAIL", TextMatch{Text: "d@example.com", MatchType: "equals"}),
		}}, false, true, false},
		{"group prefix", &Filter{Props: []PropFilter{prop("item1.EMAIL", text("d@"))}}, false, true, false},
		{"group prefix case-insensitive", &Filter{Props: []PropFilter{prop("ITEM1.email", text("d@"))}}, false, true, false},
		{"other group", &Filter{Props: []PropFilter{prop("item2.EMAIL", text("d@"))}}, false, false, false},
		{"group does not match ungrouped", &Filter{Props: []PropFilter{prop("item1.EMAIL", text("dboo"))}}, false, false, false},
		// Collations and match types.
		{"octet equals differs in case", &Filter{Props: []PropFilter{
			prop("EMAIL", TextMatch{Text: "d@example.com", Collation: "i;octet", MatchType: "equals"}),
		}}, false, false, false},
		{"octet equals exact", &Filter{Props: []PropFilter{
			prop("EMAIL", TextMatch{Text: "d@Example.COM", Collation: "i;octet", MatchType: "equals"}),
		}}, false, true, false},
		{"ascii-casemap leaves non-ascii", &Filter{Props: []PropFilter{
			prop("FN", TextMatch{Text: "RENÉE", Collation: "i;ascii-casemap"}),
		}}, false, false, false},
		{"ascii-casemap folds ascii", &Filter{Props: []PropFilter{
			prop("FN", TextMatch{Text: "RENé", Collation: "i;ascii-casemap"}),
		}}, false, false, true},
		{"unicode-casemap default", &Filter{Props: []PropFilter{prop("FN", text("RENÉE"))}}, false, false, true},
		{"unicode-casemap final sigma", &Filter{Props: []PropFilter{
			prop("NICKNAME", TextMatch{Text: "σίσυφος", MatchType: "equals"}),
		}}, false, false, true},
		{"starts-with", &Filter{Props: []PropFilter{prop("FN", TextMatch{Text: "cyrus", MatchType: "starts-with"})}}, true, false, false},
		{"starts-with is anchored", &Filter{Props: []PropFilter{prop("FN", TextMatch{Text: "daboo", MatchType: "starts-with"})}}, false, false, false},
		{"ends-with", &Filter{Props: []PropFilter{prop("FN", TextMatch{Text: "boo", MatchType: "ends-with"})}}, true, true, false},
		{"equals whole value", &Filter{Props: []PropFilter{prop("FN", TextMatch{Text: "cyrus", MatchType: "equals"})}}, false, false, false},
		// negate-condition.
		{"negate", &Filter{Props: []PropFilter{prop("FN", TextMatch{Text: "cyrus", Negate: true})}}, false, true, true},
		{"negate needs the property", &Filter{Props: []PropFilter{prop("TEL", TextMatch{Text: "x", Negate: true})}}, false, true, false},
		{"negate any instance", &Filter{Props: []PropFilter{prop("EMAIL", TextMatch{Text: "dboo", Negate: true})}}, true, true, false},
		// Several text-matches: the prop-filter's test, per property instance.
		{"text-matches anyof", &Filter{Props: []PropFilter{
			prop("EMAIL", text("dboo"), text("example.com")),
		}}, true, true, false},
		{"text-matches allof on one instance", &Filter{Props: []PropFilter{
			{Name: "EMAIL", Test: "allof", TextMatches: []TextMatch{text("dboo"), text("example.com")}},
		}}, false, false, false},
		{"text-matches allof satisfied", &Filter{Props: []PropFilter{
			{Name: "EMAIL", Test: "allof", TextMatches: []TextMatch{text("dboo"), text("example.org")}},
		}}, false, true, false},
		// Param filters.
		{"param text-match", &Filter{Props: []PropFilter{
			{Name: "TEL", Params: []ParamFilter{{Name: "type", TextMatch: &TextMatch{Text: "cell", MatchType: "equals"}}}},
		}}, false, true, false},
		{"param text-match one of several values", &Filter{Props: []PropFilter{
			{Name: "EMAIL", Params: []ParamFilter{{Name: "TYPE", TextMatch: &TextMatch{Text: "PREF", MatchType: "equals"}}}},
		}}, false, true, false},
		{"param text-match no", &Filter{Props: []PropFilter{
			{Name: "TEL", Params: []ParamFilter{{Name: "TYPE", TextMatch: &TextMatch{Text: "home"}}}},
		}}, false, false, false},
		{"param negated over all values", &Filter{Props: []PropFilter{
			{Name: "EMAIL", Params: []ParamFilter{{Name: "TYPE", TextMatch: &TextMatch{Text: "home", MatchType: "equals", Negate: true}}}},
		}}, false, false, false},
		{"param negated", &Filter{Props: []PropFilter{
			{Name: "TEL", Params: []ParamFilter{{Name: "TYPE", TextMatch: &TextMatch{Text: "home", Negate: true}}}},
		}}, false, true, false},
		{"param defined", &Filter{Props: []PropFilter{{Name: "TEL", Params: []ParamFilter{{Name: "TYPE"}}}}}, false, true, false},
		{"param undefined name", &Filter{Props: []PropFilter{{Name: "TEL", Params: []ParamFilter{{Name: "X-FOO"}}}}}, false, false, false},
		{"param is-not-defined", &Filter{Props: []PropFilter{
			{Name: "EMAIL", Params: []ParamFilter{{Name: "TYPE", IsNotDefined: true}}},
		}}, true, true, false},
		{"param is-not-defined fails", &Filter{Props: []PropFilter{
			{Name: "TEL", Params: []ParamFilter{{Name: "TYPE", IsNotDefined: true}}},
		}}, false, false, false},
		// text-match and param-filter combined by the prop-filter's test.
		{"text or param anyof", &Filter{Props: []PropFilter{
			{Name: "EMAIL", TextMatches: []TextMatch{text("dboo")}, Params: []ParamFilter{{Name: "TYPE", TextMatch: &TextMatch{Text: "home"}}}},
		}}, false, true, false},
		{"text and param allof, no instance has both", &Filter{Props: []PropFilter{
			{Name: "EMAIL", Test: "allof", TextMatches: []TextMatch{text("dboo")}, Params: []ParamFilter{{Name: "TYPE", TextMatch: &TextMatch{Text: "home"}}}},
		}}, false, false, false},
		{"text and param allof", &Filter{Props: []PropFilter{
			{Name: "EMAIL", Test: "allof", TextMatches: []TextMatch{text("example.com")}, Params: []ParamFilter{{Name: "TYPE", TextMatch: &TextMatch{Text: "home"}}}},
		}}, false, true, false},
		// Structured values are matched with their separators, escapes decoded.
		{"adr unescaped component", &Filter{Props: []PropFilter{prop("ADR", text("1 Main St, Apt 4"))}}, false, true, false},
		{"adr separators", &Filter{Props: []PropFilter{prop("ADR", text(";Springfield;"))}}, false, true, false},
		{"n equals raw structure", &Filter{Props: []PropFilter{prop("N", TextMatch{Text: "boo;david;;;", MatchType: "equals"})}}, false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.filter != nil {
				if err := tt.filter.Validate(); err != nil {
					t.Fatalf("Validate: %v", err)
				}
			}
			for _, c := range []struct {
				name string
				card *Card
				want bool
			}{{"cyrus", cyrus, tt.cyrus}, {"david", david, tt.david}, {"renee", renee, tt.renee}} {
				if got := c.card.Match(tt.filter); got != c.want {
					t.Errorf("%s: Match = %v, want %v", c.name, got, c.want)
				}
			}
		})
	}
}

func mustParseT(data []byte) *Card {
	c, err := Parse(data)
	if err != nil {
		panic(err)
	}
	return c
}

func TestFilterValidate(t *testing.T) {
	tm := func(collation, matchType string) []TextMatch {
		return []TextMatch{{Text: "x", Collation: collation, MatchType: matchType}}
	}
	tests := []struct {
		name   string
		filter Filter
		want   error
	}{
		{"valid", Filter{Test: "allof", Props: []PropFilter{
			{Name: "item1.EMAIL", Test: "anyof", TextMatches: tm("i;octet", "ends-with")},
			{Name: "FN", TextMatches: tm("i;ascii-casemap", "equals")},
			{Name: "N", TextMatches: tm("i;unicode-casemap", "starts-with")},
			{Name: "TEL", Params: []ParamFilter{{Name: "TYPE", TextMatch: &TextMatch{Text: "cell", MatchType: "contains"}}}},
		}}, nil},
		{"unknown collation", Filter{Props: []PropFilter{{Name: "FN", TextMatches: tm("i;basic", "")}}}, ErrUnsupportedCollation},
		{"unknown collation in param", Filter{Props: []PropFilter{
			{Name: "TEL", Params: []ParamFilter{{Name: "TYPE", TextMatch: &TextMatch{Collation: "en-US"}}}},
		}}, ErrUnsupportedCollation},
		{"unknown match type", Filter{Props: []PropFilter{{Name: "FN", TextMatches: tm("", "regex")}}}, ErrUnsupportedMatchType},
		{"bad filter test", Filter{Test: "oneof"}, ErrInvalidFilter},
		{"bad prop test", Filter{Props: []PropFilter{{Name: "FN", Test: "noneof"}}}, ErrInvalidFilter},
		{"empty prop name", Filter{Props: []PropFilter{{Name: ""}}}, ErrInvalidFilter},
		{"bad prop name", Filter{Props: []PropFilter{{Name: "E MAIL"}}}, ErrInvalidFilter},
		{"empty group", Filter{Props: []PropFilter{{Name: ".EMAIL"}}}, ErrInvalidFilter},
		{"bad param name", Filter{Props: []PropFilter{{Name: "TEL", Params: []ParamFilter{{Name: "TY:PE"}}}}}, ErrInvalidFilter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.filter.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Validate = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestTextMatchMatches(t *testing.T) {
	tests := []struct {
		tm    TextMatch
		value string
		want  bool
	}{
		{TextMatch{Text: ""}, "anything", true},
		{TextMatch{Text: "", MatchType: "equals"}, "", true},
		{TextMatch{Text: "ABC"}, "xabcx", true},
		{TextMatch{Text: "ABC", Collation: "i;octet"}, "xabcx", false},
		{TextMatch{Text: "straße", MatchType: "equals"}, "STRAßE", true},
		{TextMatch{Text: "ǅ", MatchType: "equals"}, "ǆ", true},      // titlecase digraph folds with both cases
		{TextMatch{Text: "k", MatchType: "equals"}, "\u212a", true}, // KELVIN SIGN
		{TextMatch{Text: "k", Collation: "i;ascii-casemap", MatchType: "equals"}, "\u212a", false},
		{TextMatch{Text: "x", MatchType: "ends-with", Negate: true}, "abc", true},
	}
	for _, tt := range tests {
		if got := tt.tm.Matches(tt.value); got != tt.want {
			t.Errorf("%+v.Matches(%q) = %v, want %v", tt.tm, tt.value, got, tt.want)
		}
	}
}
