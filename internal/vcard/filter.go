package vcard

import (
	"errors"
	"fmt"
	"koyomi.dev/koyomi/internal/textmatch"
	"strings"
)

// Filter is the CARDDAV:filter element of an addressbook-query (RFC 6352
// section 10.5). Test is "anyof" (the default, also for "") or "allof": a
// card matches when any (all) of Props match. A filter without
// prop-filters matches every card.
type Filter struct {
	Test  string
	Props []PropFilter
}

// PropFilter is RFC 6352 section 10.5.1. Name is a property name, optionally
// with a group prefix: "EMAIL" matches EMAIL properties with any group or
// none, "item1.EMAIL" only those in group item1. A card satisfies a
// prop-filter when
//   - IsNotDefined is set and it has no property of that name; or
//   - it has no text-match and no param-filter and some property of that
//     name exists; or
//   - some property of that name satisfies any ("anyof", the default) or all
//     ("allof") of TextMatches and Params, as Test says.
type PropFilter struct {
	Name         string
	Test         string
	IsNotDefined bool
	TextMatches  []TextMatch
	Params       []ParamFilter
}

// ParamFilter is RFC 6352 section 10.5.2: the property has a parameter of
// that name (IsNotDefined: has none), and if TextMatch is set one of the
// parameter's values matches it.
type ParamFilter struct {
	Name         string
	IsNotDefined bool
	TextMatch    *TextMatch
}

// TextMatch is RFC 6352 section 10.5.4. Collation is "i;unicode-casemap"
// (the default, also for ""), "i;ascii-casemap" or "i;octet"; MatchType is
// "contains" (the default, also for ""), "equals", "starts-with" or
// "ends-with". Negate inverts the result.
//
// i;unicode-casemap is approximated by Unicode simple case folding (each
// rune compared by its case-folding orbit); the normalisation step of RFC
// 5051 is not applied.
type TextMatch struct {
	Text      string
	Collation string
	MatchType string
	Negate    bool
}

// Filter errors. CardDAV answers ErrUnsupportedCollation with the
// supported-collation precondition and the others as a bad request.
var (
	ErrUnsupportedCollation = textmatch.ErrUnsupportedCollation
	ErrUnsupportedMatchType = textmatch.ErrUnsupportedMatchType
	ErrInvalidFilter        = errors.New("vcard: invalid filter")
)

// Validate checks every test attribute, name, collation and match type in
// f, so that errors do not depend on the data being filtered.
func (f *Filter) Validate() error {
	if err := validateTest(f.Test); err != nil {
		return fmt.Errorf("%w: filter %v", ErrInvalidFilter, err)
	}
	for i := range f.Props {
		pf := &f.Props[i]
		if err := validateName(pf.Name); err != nil {
			return fmt.Errorf("%w: prop-filter %v", ErrInvalidFilter, err)
		}
		if err := validateTest(pf.Test); err != nil {
			return fmt.Errorf("%w: prop-filter %s %v", ErrInvalidFilter, pf.Name, err)
		}
		for j := range pf.TextMatches {
			if err := pf.TextMatches[j].Validate(); err != nil {
				return err
			}
		}
		for _, pa := range pf.Params {
			if !isToken(pa.Name) {
				return fmt.Errorf("%w: param-filter name %q", ErrInvalidFilter, pa.Name)
			}
			if pa.TextMatch != nil {
				if err := pa.TextMatch.Validate(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func validateTest(test string) error {
	switch test {
	case "", "anyof", "allof":
		return nil
	}
	return fmt.Errorf("test %q (want anyof or allof)", test)
}

// validateName accepts NAME or GROUP.NAME.
func validateName(name string) error {
	group, n := splitGroup(name)
	if !isToken(n) || (group != "" && !isToken(group)) || strings.HasPrefix(name, ".") {
		return fmt.Errorf("name %q is not a vCard property name", name)
	}
	return nil
}

func splitGroup(name string) (group, n string) {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[:i], name[i+1:]
	}
	return "", name
}

// Validate checks the collation and match type of tm.
func (tm *TextMatch) Validate() error { return textmatch.Validate(tm.Collation, tm.MatchType) }

// Matches reports whether value satisfies tm. Unknown collations and
// match types (which Validate rejects) act as their defaults.
func (tm *TextMatch) Matches(value string) bool {
	return tm.matchesAny([]string{value})
}

// matchesAny applies tm to a list of values (the values of a multi-valued
// parameter): the positive condition holds when any value matches, and
// Negate inverts that, so that a negated match on TYPE=home,work for "home"
// fails.
func (tm *TextMatch) matchesAny(values []string) bool {
	collation := tm.Collation
	if collation == "" {
		collation = textmatch.UnicodeCasemap // RFC 6352 10.5.4's default
	}
	fold := textmatch.Folder(collation)
	t := fold(tm.Text)
	found := false
	for _, value := range values {
		if found = textmatch.Holds(fold(value), t, tm.MatchType); found {
			break
		}
	}
	return found != tm.Negate
}

// Match reports whether c satisfies f. A nil filter matches every card.
// Callers run f.Validate first; Match treats values Validate rejects as
// their defaults.
func (c *Card) Match(f *Filter) bool {
	if f == nil || len(f.Props) == 0 {
		return true
	}
	allof := f.Test == "allof"
	for i := range f.Props {
		ok := c.matchProp(&f.Props[i])
		if ok && !allof {
			return true
		}
		if !ok && allof {
			return false
		}
	}
	return allof
}

func (c *Card) matchProp(f *PropFilter) bool {
	var props []*property
	for i := range c.props {
		if nameMatches(&c.props[i], f.Name) {
			props = append(props, &c.props[i])
		}
	}
	if f.IsNotDefined {
		return len(props) == 0
	}
	for _, p := range props {
		if propMatches(p, f) {
			return true
		}
	}
	return false
}

// nameMatches applies the group rule of RFC 6352 sections 10.4.2 and 10.5.1:
// a name without a group matches any group, one with a group only that
// group.
func nameMatches(p *property, name string) bool {
	group, n := splitGroup(name)
	if !strings.EqualFold(p.name, n) {
		return false
	}
	return group == "" || strings.EqualFold(p.group, group)
}

// propMatches checks one property instance against the text-matches and
// param-filters of f, combined as f.Test says.
func propMatches(p *property, f *PropFilter) bool {
	if len(f.TextMatches) == 0 && len(f.Params) == 0 {
		return true
	}
	allof := f.Test == "allof"
	// Structured values (N, ADR, ORG ...) are compared as sent, with their
	// ';' separators, after the text escapes are decoded: RFC 6352 defines
	// text-match on "the property value" and nothing finer.
	text := unescapeText(p.value)
	for i := range f.TextMatches {
		ok := f.TextMatches[i].Matches(text)
		if ok && !allof {
			return true
		}
		if !ok && allof {
			return false
		}
	}
	for i := range f.Params {
		ok := paramMatches(p, &f.Params[i])
		if ok && !allof {
			return true
		}
		if !ok && allof {
			return false
		}
	}
	return allof
}

func paramMatches(p *property, f *ParamFilter) bool {
	name := strings.ToUpper(f.Name)
	if f.IsNotDefined {
		return !p.hasParam(name)
	}
	if !p.hasParam(name) {
		return false
	}
	if f.TextMatch == nil {
		return true
	}
	return f.TextMatch.matchesAny(p.paramValues(name))
}
