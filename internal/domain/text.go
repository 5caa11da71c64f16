package domain

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"koyomi.dev/koyomi/internal/store"
)

// Bounds on the text people give things. Names and labels are shown to
// everyone a calendar is shared with, in each of their PROPFINDs, and go
// into logs; without a bound one user's megabyte of name is everyone's.
const (
	// MaxLabelLength bounds names, labels and display names, in
	// characters.
	MaxLabelLength = 200
	// MaxURLLength bounds URLs, in bytes (as browsers and proxies do).
	MaxURLLength = 2048
	// maxDescriptionLength bounds descriptions, in characters.
	maxDescriptionLength = 4096
	// maxColorLength bounds colours ("#RRGGBBAA", or a CSS name).
	maxColorLength = 32
)

// CheckLabel refuses a name or label (what is called field in the message)
// longer than MaxLabelLength characters or holding a character no client
// could show (controls, U+FFFE, U+FFFF, bytes that are not UTF-8).
func CheckLabel(field, s string) error { return checkText(field, s, MaxLabelLength, false) }

// CheckURL refuses a URL longer than MaxURLLength bytes or holding
// anything but printable characters.
func CheckURL(field, s string) error {
	if len(s) > MaxURLLength {
		return textErrorf("%s: %d bytes, at most %d", field, len(s), MaxURLLength)
	}
	if !validText(s) || strings.ContainsAny(s, " \t") {
		return textErrorf("%s: spaces and control characters are not allowed in a URL", field)
	}
	return nil
}

// CheckCollectionText refuses c's descriptive fields (display name,
// description, colour) that differ from old's (all of them when old is nil)
// and break the bounds. Fields left as they are pass, whatever they hold,
// so that data stored before the bounds does not block other changes.
func CheckCollectionText(old, c *store.Collection) error {
	if old == nil {
		old = &store.Collection{}
	}
	checks := []struct {
		field, old, new string
		max             int
		multiline       bool
	}{
		{"displayname", old.DisplayName, c.DisplayName, MaxLabelLength, false},
		{"description", old.Description, c.Description, maxDescriptionLength, true},
		{"color", old.Color, c.Color, maxColorLength, false},
	}
	for _, ch := range checks {
		if ch.new == ch.old {
			continue
		}
		if err := checkText(ch.field, ch.new, ch.max, ch.multiline); err != nil {
			return err
		}
	}
	return nil
}

// checkText refuses s longer than max characters or holding a character
// that is not text; multiline allows tab, LF and CR.
func checkText(field, s string, max int, multiline bool) error {
	if n := utf8.RuneCountInString(s); n > max {
		return textErrorf("%s: %d characters, at most %d", field, n, max)
	}
	ok := utf8.ValidString(s)
	for _, r := range s {
		if !textRune(r) && !(multiline && (r == '\t' || r == '\n' || r == '\r')) {
			ok = false
			break
		}
	}
	if !ok {
		return textErrorf("%s: control characters are not allowed", field)
	}
	return nil
}

// validText reports whether s is UTF-8 text without control characters.
func validText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !textRune(r) {
			return false
		}
	}
	return true
}

// textRune reports whether r can be shown as text: no C0 or C1 control,
// no DEL, and not U+FFFE or U+FFFF, which XML cannot carry.
func textRune(r rune) bool {
	return r >= 0x20 && r != 0x7f && !(r >= 0x80 && r < 0xa0) && r != 0xFFFE && r != 0xFFFF
}

// textError is a refusal of text given for a field: ErrInvalidName to
// callers, in words that name the field rather than say "invalid name".
type textError struct{ msg string }

func textErrorf(format string, args ...any) error {
	return &textError{msg: fmt.Sprintf(format, args...)}
}

func (e *textError) Error() string { return e.msg }
func (e *textError) Unwrap() error { return ErrInvalidName }
