// Package textmatch implements the text comparison shared by CalDAV and
// CardDAV filters (RFC 4791 9.7.5, RFC 6352 10.5.4): the collations
// i;ascii-casemap, i;octet and i;unicode-casemap (RFC 4790, RFC 5051 without
// its normalisation step), and the match types equals, contains,
// starts-with and ends-with.
//
// It knows nothing of iCalendar, vCard or XML.
package textmatch

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Errors for requests the server cannot evaluate (the supported-collation
// precondition, and a malformed filter).
var (
	ErrUnsupportedCollation = errors.New("unsupported collation")
	ErrUnsupportedMatchType = errors.New("unsupported match-type")
)

// Collations.
const (
	ASCIICasemap   = "i;ascii-casemap"
	Octet          = "i;octet"
	UnicodeCasemap = "i;unicode-casemap"
)

// Validate checks a collation and match type; empty ones stand for the
// caller's defaults.
func Validate(collation, matchType string) error {
	switch collation {
	case "", ASCIICasemap, Octet, UnicodeCasemap:
	default:
		return fmt.Errorf("%w: %q", ErrUnsupportedCollation, collation)
	}
	switch matchType {
	case "", "contains", "equals", "starts-with", "ends-with":
	default:
		return fmt.Errorf("%w: %q (want equals, contains, starts-with or ends-with)", ErrUnsupportedMatchType, matchType)
	}
	return nil
}

// Folder returns the function that maps a string to its comparison form
// under collation (after Validate).
func Folder(collation string) func(string) string {
	switch collation {
	case Octet:
		return func(s string) string { return s }
	case UnicodeCasemap:
		return foldUnicode
	}
	return foldASCII
}

// Holds reports whether the folded value satisfies the folded text under
// matchType ("" means contains).
func Holds(value, text, matchType string) bool {
	switch matchType {
	case "equals":
		return value == text
	case "starts-with":
		return strings.HasPrefix(value, text)
	case "ends-with":
		return strings.HasSuffix(value, text)
	}
	return strings.Contains(value, text)
}

func foldASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// foldUnicode maps every rune to the smallest rune of its simple case
// folding orbit, so that strings equal under simple case folding map to the
// same string.
func foldUnicode(s string) string {
	var sb strings.Builder
	sb.Grow(len(s))
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < least {
				least = f
			}
		}
		sb.WriteRune(least)
	}
	return sb.String()
}
