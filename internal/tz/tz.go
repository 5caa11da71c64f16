// Package tz resolves iCalendar TZIDs to time zones: IANA names, Windows and
// Outlook names, vendor-prefixed names (e.g. "/mozilla.org/.../Europe/Berlin")
// and calendars' own VTIMEZONE definitions. It never fails: an unknown TZID
// resolves to a usable zone so that no client data is refused for it.
//
// It also maps wall-clock times to instants with the RFC 5545 rules for DST
// gaps and overlaps (FromWall). It knows nothing of storage, HTTP or event
// recurrence; VTIMEZONE observance rules are evaluated with the recur/rrule
// package.
package tz

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	// Embedded zone data, so that IANA names resolve on hosts without a
	// zoneinfo database (containers, Windows).
	_ "time/tzdata"

	goical "github.com/emersion/go-ical"
)

// Resolver maps the TZIDs used inside one calendar object to locations. It is
// safe for concurrent use; results are cached per resolver.
type Resolver struct {
	vtimezones map[string]*goical.Component

	mu    sync.Mutex
	cache map[string]resolved
}

type resolved struct {
	loc *time.Location
	ok  bool
}

// NewResolver prepares a resolver for the VTIMEZONE components of cal (which
// may be nil).
func NewResolver(cal *goical.Calendar) *Resolver {
	r := &Resolver{vtimezones: map[string]*goical.Component{}, cache: map[string]resolved{}}
	if cal == nil || cal.Component == nil {
		return r
	}
	for _, c := range cal.Children {
		if c == nil || !strings.EqualFold(c.Name, "VTIMEZONE") {
			continue
		}
		p := c.Props.Get("TZID")
		if p == nil {
			continue
		}
		id := strings.TrimSpace(p.Value)
		if _, dup := r.vtimezones[id]; !dup {
			r.vtimezones[id] = c
		}
	}
	return r
}

// Location returns the zone for tzid. The second result is false when the
// TZID was not recognised at all and a fallback (UTC) was used.
//
// Resolution order: IANA name; vendor-prefixed IANA name; Windows zone ID;
// Outlook display name naming a city; the calendar's VTIMEZONE (its
// X-LIC-LOCATION, else a zone built from its observances); a bare UTC offset.
// A VTIMEZONE of a name the first four know defines that TZID for the
// calendar (RFC 5545 3.6.5): where its observances give other offsets than
// the known zone from its first transition on, the zone built from them is
// used, and the known zone only where the two agree.
func (r *Resolver) Location(tzid string) (*time.Location, bool) {
	if r == nil {
		r = NewResolver(nil)
	}
	r.mu.Lock()
	if res, hit := r.cache[tzid]; hit {
		r.mu.Unlock()
		return res.loc, res.ok
	}
	r.mu.Unlock()

	loc, ok := r.resolve(tzid)
	if loc == nil {
		loc, ok = time.UTC, false
	}

	r.mu.Lock()
	if r.cache == nil { // a zero Resolver is usable too
		r.cache = map[string]resolved{}
	}
	r.cache[tzid] = resolved{loc, ok}
	r.mu.Unlock()
	return loc, ok
}

func (r *Resolver) resolve(tzid string) (*time.Location, bool) {
	name := strings.TrimSpace(strings.Trim(strings.TrimSpace(tzid), `"`))
	if name == "" {
		return nil, false
	}
	vt := r.vtimezones[strings.TrimSpace(tzid)]
	if vt == nil {
		vt = r.vtimezones[name]
	}
	if loc := byName(name); loc != nil {
		if vt != nil {
			return calendarsOwn(name, loc, vt), true
		}
		return loc, true
	}
	if vt != nil {
		if p := vt.Props.Get("X-LIC-LOCATION"); p != nil {
			if loc := byName(strings.TrimSpace(p.Value)); loc != nil {
				return loc, true
			}
		}
		if loc := fromVTimezone(name, vt); loc != nil {
			return loc, true
		}
	}
	if off, ok := parseOffsetName(name); ok {
		return time.FixedZone(name, off), true
	}
	// A display name whose cities we do not know still gives the offset.
	if off, _, ok := splitDisplayName(name); ok {
		return time.FixedZone(name, off), true
	}
	return nil, false
}

// calendarsOwn returns the zone a VTIMEZONE named like the known zone
// known defines: known itself when the VTIMEZONE's observances agree with
// it from their first transition to the end of the years zones are built
// for, which keeps its exact history; otherwise the zone built from the
// observances. Decisions are shared by every resolver, by the name and the
// VTIMEZONE's content, since clients repeat one VTIMEZONE in every object.
func calendarsOwn(name string, known *time.Location, vt *goical.Component) *time.Location {
	var key strings.Builder
	key.WriteString(name)
	writeComponentKey(&key, vt)
	if loc, ok := ownZones.Load(key.String()); ok {
		return loc.(*time.Location)
	}
	chosen := known
	if own := fromVTimezone(name, vt); own != nil && !agree(known, own) {
		chosen = own
	}
	if ownZonesCount.Add(1) <= maxOwnZones {
		ownZones.Store(key.String(), chosen)
	}
	return chosen
}

// ownZones memoizes calendarsOwn, at most maxOwnZones entries (counted by
// ownZonesCount); beyond that, decisions are made again each time.
var (
	ownZones      sync.Map
	ownZonesCount atomic.Int64
)

const maxOwnZones = 4096

// agree reports whether known gives the offsets own does from own's first
// transition until lastTransitionYear.
func agree(known, own *time.Location) bool {
	at := time.Date(firstTransitionYear, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, first := at.In(own).ZoneBounds(); !first.IsZero() {
		at = first
	}
	until := time.Date(lastTransitionYear, 1, 1, 0, 0, 0, 0, time.UTC)
	for steps := 0; at.Before(until) && steps < 4*maxTransitions; steps++ {
		_, offKnown := at.In(known).Zone()
		_, offOwn := at.In(own).Zone()
		if offKnown != offOwn {
			return false
		}
		_, endKnown := at.In(known).ZoneBounds()
		_, endOwn := at.In(own).ZoneBounds()
		next := endKnown
		if next.IsZero() || !endOwn.IsZero() && endOwn.Before(next) {
			next = endOwn
		}
		if next.IsZero() {
			return true
		}
		at = next
	}
	return true
}

// writeComponentKey writes c (properties in name order, then children)
// so that equal components write equal keys.
func writeComponentKey(b *strings.Builder, c *goical.Component) {
	b.WriteString("\nBEGIN:" + c.Name)
	for _, name := range slices.Sorted(maps.Keys(c.Props)) {
		for _, p := range c.Props[name] {
			b.WriteString("\n" + name)
			for _, pn := range slices.Sorted(maps.Keys(p.Params)) {
				b.WriteString(";" + pn + "=" + strings.Join(p.Params[pn], ","))
			}
			b.WriteString(":" + p.Value)
		}
	}
	for _, child := range c.Children {
		if child != nil {
			writeComponentKey(b, child)
		}
	}
	b.WriteString("\nEND:" + c.Name)
}

// byName resolves names that identify a zone by themselves, without a
// VTIMEZONE.
func byName(name string) *time.Location {
	if loc := loadIANA(name); loc != nil {
		return loc
	}
	if loc := vendorSuffix(name); loc != nil {
		return loc
	}
	if loc := windowsName(name); loc != nil {
		return loc
	}
	return displayName(name)
}

// loadIANA loads an IANA zone name, refusing what time.LoadLocation would
// interpret specially ("Local") or that cannot be a zone name.
func loadIANA(name string) *time.Location {
	if name == "" || name == "Local" || len(name) > 64 {
		return nil
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("/_+-", c)) {
			return nil
		}
	}
	if strings.HasPrefix(name, "/") || strings.Contains(name, "//") {
		return nil
	}
	if loc, ok := ianaZones.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	ianaZones.Store(name, loc)
	return loc
}

// ianaZones memoizes the zones loadIANA has loaded, by name. Every parsed
// object gets its own Resolver, and time.LoadLocation reads and decodes the
// zone file on each call, which made loading zones a tenth of a calendar
// query's time. Locations are immutable and only names that load are kept,
// so the map holds at most the few hundred IANA zones.
var ianaZones sync.Map

// vendorSuffix handles "/mozilla.org/20050126_1/Europe/Berlin" and the like:
// the longest trailing run of path elements that is an IANA name.
func vendorSuffix(name string) *time.Location {
	parts := strings.Split(strings.Trim(name, "/"), "/")
	for i := 1; i < len(parts); i++ {
		if loc := loadIANA(strings.Join(parts[i:], "/")); loc != nil {
			return loc
		}
	}
	return nil
}

func windowsName(name string) *time.Location {
	if iana, ok := windowsZones[name]; ok {
		return loadIANA(iana)
	}
	for win, iana := range windowsZones {
		if strings.EqualFold(win, name) {
			return loadIANA(iana)
		}
	}
	return nil
}
