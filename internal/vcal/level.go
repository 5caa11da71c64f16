// Package vcal evaluates virtual calendars (the HubStar model): it applies a
// chain of visibility filters to one calendar object resource, occurrence by
// occurrence, and emits the iCalendar a viewer may see — the object as
// stored, a reduced copy (master, overrides with RECURRENCE-ID, EXDATE for
// hidden occurrences), or nothing.
//
// The engine is pure: it takes parsed objects (internal/ical), expands
// recurrences with internal/recur and knows nothing of HTTP, XML, storage,
// users or sharing. Which sources feed a virtual calendar, who may read it
// and how unions are assembled are the callers' business: a union is the
// concatenation of the results for each source.
//
// Privacy is the design rule throughout: a rule with a time condition
// matches an occurrence that touches it at any instant, the level of an
// occurrence is the most restrictive level of any instant it spans, data of
// a stripped level is absent from the bytes (not merely hidden), and where
// the engine cannot evaluate something exactly it assumes the most
// restrictive level the filters could give. The decisions are listed in
// README.md next to this file.
package vcal

import (
	"fmt"
	"strings"
)

// Level is how much of an occurrence a viewer sees. Larger values are more
// restrictive; the zero value is not a level, so that a forgotten field
// never means "everything".
type Level int

// The visibility levels, most to least revealing.
const (
	// Full shows the component as stored.
	Full Level = iota + 1
	// Summary shows title, time and status: no description, location,
	// attendees, organizer, attachments, URL, categories, alarms or
	// extension properties.
	Summary
	// Busy shows a block of time titled "Busy".
	Busy
	// Hidden shows nothing.
	Hidden
)

var levelNames = [...]string{Full: "full", Summary: "summary", Busy: "busy", Hidden: "hidden"}

// String returns the level's name as ParseLevel accepts it.
func (l Level) String() string {
	if l.valid() {
		return levelNames[l]
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

func (l Level) valid() bool { return l >= Full && l <= Hidden }

// ParseLevel reads a level name: full, summary, busy or hidden (any case).
func ParseLevel(s string) (Level, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for l := Full; l <= Hidden; l++ {
		if levelNames[l] == name {
			return l, nil
		}
	}
	return 0, fmt.Errorf("vcal: unknown level %q (want full, summary, busy or hidden)", s)
}

// MarshalText and UnmarshalText let levels appear by name in TOML and JSON.
func (l Level) MarshalText() ([]byte, error) {
	if !l.valid() {
		return nil, fmt.Errorf("vcal: invalid level %d", int(l))
	}
	return []byte(l.String()), nil
}

// UnmarshalText parses a level name.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// Stricter returns the more restrictive of a and b.
func Stricter(a, b Level) Level { return max(a, b) }
