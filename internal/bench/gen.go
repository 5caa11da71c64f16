package bench

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	_ "time/tzdata" // the expected answers must not depend on the host's zoneinfo
)

// Epoch is the first day of the two years the generated events are spread
// over. It is fixed, not "now", so that a seed always means the same data.
var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// spanDays is the length of the generated window.
const spanDays = 730

// interval is a half-open span [Start, End) in UTC.
type interval struct{ Start, End time.Time }

func (iv interval) overlaps(r interval) bool {
	return iv.Start.Before(r.End) && iv.End.After(r.Start)
}

// event is one generated calendar object together with everything the tool
// needs to know the right answer to a query about it.
type event struct {
	Name string // resource name in the collection, e.g. ev-000042.ics
	UID  string

	tzid     string // "" for UTC or all-day
	allDay   bool
	start    time.Time // local wall time in loc (UTC for UTC and all-day)
	duration time.Duration
	days     int // all-day length
	opaque   bool
	summary  string
	attendee []string
	alarm    bool

	// Recurrence, only for recurring events.
	freq      string // DAILY, WEEKLY, MONTHLY
	interval  int
	count     int       // COUNT, or 0 when until is used
	until     time.Time // UNTIL in UTC
	ruleN     int       // instances the rule produces before exceptions
	exdate    int       // index of the excluded instance, -1 for none
	override  int       // index of the moved instance, -1 for none
	moveShift time.Duration

	// instances are the occurrences after exceptions, in UTC.
	instances []interval
	bounds    interval // smallest interval holding every instance
}

// contact is one generated vCard.
type contact struct {
	Name  string // resource name, e.g. ct-000007.vcf
	UID   string
	FN    string
	photo bool
}

// dataset is the whole generated data and the source of expected answers.
type dataset struct {
	seed     uint64
	events   []*event
	contacts []*contact
	photo    []byte // one shared random PHOTO payload, ~10 KB
}

var (
	givenNames = []string{"Anna", "Boris", "Chiara", "Daniel", "Emma", "Felix", "Greta", "Hugo", "Ines", "Jonas",
		"Klara", "Lukas", "Marta", "Noah", "Olga", "Paul", "Quentin", "Rosa", "Sven", "Tilda", "Umar", "Vera",
		"Walter", "Xenia", "Yusuf", "Zoe"}
	surnames = []string{"Abbott", "Becker", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia", "Hoffmann",
		"Ivanova", "Jensen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov", "Quinn", "Rossi",
		"Schmidt", "Tanaka", "Usman", "Varga", "Weber", "Xu", "Yilmaz", "Zimmermann"}
	topics = []string{"Standup", "Planning", "Review", "Lunch", "Dentist", "Gym", "1:1", "Retro", "Call",
		"Workshop", "Dinner", "Budget", "Interview", "Demo", "Training"}
)

// zones are the time zones events may be written in, with the VTIMEZONE
// text sent along. The rules are those in force throughout the window.
var zones = map[string]string{
	"Europe/Berlin": "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n" +
		"BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\n" +
		"DTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n" +
		"BEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\n" +
		"DTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n" +
		"END:VTIMEZONE\r\n",
	"America/New_York": "BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\n" +
		"BEGIN:DAYLIGHT\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nTZNAME:EDT\r\n" +
		"DTSTART:19700308T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\nEND:DAYLIGHT\r\n" +
		"BEGIN:STANDARD\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nTZNAME:EST\r\n" +
		"DTSTART:19701101T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\nEND:STANDARD\r\n" +
		"END:VTIMEZONE\r\n",
}

// generate builds n events and m contacts from seed. The same arguments
// always give the same data.
func generate(seed uint64, n, m int) (*dataset, error) {
	rng := rand.New(rand.NewPCG(seed, 0x6b6f796f6d69))
	locs := map[string]*time.Location{}
	for name := range zones {
		loc, err := time.LoadLocation(name)
		if err != nil {
			return nil, fmt.Errorf("bench: time zone %s: %w", name, err)
		}
		locs[name] = loc
	}
	ds := &dataset{seed: seed}
	for i := range n {
		ev := newEvent(rng, seed, i)
		loc := time.UTC
		if ev.tzid != "" {
			loc = locs[ev.tzid]
		}
		ev.expand(loc)
		ds.events = append(ds.events, ev)
	}
	ds.photo = make([]byte, 10*1024)
	for i := range ds.photo {
		ds.photo[i] = byte(rng.UintN(256))
	}
	for i := range m {
		g, s := givenNames[rng.IntN(len(givenNames))], surnames[rng.IntN(len(surnames))]
		ds.contacts = append(ds.contacts, &contact{
			Name:  fmt.Sprintf("ct-%06d.vcf", i),
			UID:   fmt.Sprintf("bench-%d-ct-%d", seed, i),
			FN:    g + " " + s,
			photo: rng.IntN(10) == 0,
		})
	}
	return ds, nil
}

func newEvent(rng *rand.Rand, seed uint64, i int) *event {
	ev := &event{
		Name:     fmt.Sprintf("ev-%06d.ics", i),
		UID:      fmt.Sprintf("bench-%d-ev-%d", seed, i),
		opaque:   true,
		summary:  topics[rng.IntN(len(topics))],
		alarm:    rng.IntN(2) == 0,
		exdate:   -1,
		override: -1,
	}
	for range rng.IntN(4) {
		ev.attendee = append(ev.attendee, fmt.Sprintf("%s.%s@example.org",
			strings.ToLower(givenNames[rng.IntN(len(givenNames))]), strings.ToLower(surnames[rng.IntN(len(surnames))])))
	}
	day := rng.IntN(spanDays)
	recurring := rng.IntN(5) == 0
	if !recurring && rng.IntN(7) == 0 {
		// All-day events are transparent, as calendar clients make them,
		// so that free-busy does not depend on how a server reads a
		// floating date.
		ev.allDay, ev.opaque = true, false
		ev.start = epoch.AddDate(0, 0, day)
		ev.days = 1 + rng.IntN(3)
		return ev
	}
	switch r := rng.IntN(20); {
	case r < 5:
		ev.tzid = "Europe/Berlin"
	case r < 9:
		ev.tzid = "America/New_York"
	}
	// Hours 08-18 never fall into a daylight-saving gap or overlap.
	d := epoch.AddDate(0, 0, day)
	ev.start = time.Date(d.Year(), d.Month(), d.Day(), 8+rng.IntN(11), 15*rng.IntN(4), 0, 0, time.UTC)
	ev.duration = time.Duration(2+rng.IntN(11)) * 15 * time.Minute
	ev.opaque = rng.IntN(10) != 0
	if !recurring {
		return ev
	}
	switch rng.IntN(3) {
	case 0:
		ev.freq, ev.interval, ev.ruleN = "DAILY", 1+rng.IntN(2), 5+rng.IntN(26)
	case 1:
		ev.freq, ev.interval, ev.ruleN = "WEEKLY", 1+rng.IntN(2), 4+rng.IntN(49)
	default:
		ev.freq, ev.interval, ev.ruleN = "MONTHLY", 1, 3+rng.IntN(22)
		if ev.start.Day() > 28 { // every month has the day
			ev.start = ev.start.AddDate(0, 0, -3)
		}
	}
	if rng.IntN(2) == 0 {
		ev.count = ev.ruleN
	}
	if rng.IntN(5) < 2 {
		ev.exdate = 1 + rng.IntN(ev.ruleN-1)
	}
	if rng.IntN(10) < 3 {
		ev.override = 1 + rng.IntN(ev.ruleN-1)
		if ev.override == ev.exdate {
			ev.override = -1
		} else {
			ev.moveShift = 24*time.Hour + time.Duration(1+rng.IntN(3))*time.Hour
		}
	}
	return ev
}

// wall returns the k-th start of the rule as a local wall time in UTC clothing.
func (ev *event) wall(k int) time.Time {
	s := ev.start
	switch ev.freq {
	case "DAILY":
		return s.AddDate(0, 0, k*ev.interval)
	case "WEEKLY":
		return s.AddDate(0, 0, 7*k*ev.interval)
	case "MONTHLY":
		return s.AddDate(0, k*ev.interval, 0)
	}
	return s
}

// inLoc reads a wall time (kept in UTC fields) as a time in loc.
func inLoc(w time.Time, loc *time.Location) time.Time {
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, loc).UTC()
}

// expand computes the instances and, for UNTIL rules, the UNTIL value.
func (ev *event) expand(loc *time.Location) {
	if ev.allDay {
		ev.instances = []interval{{ev.start, ev.start.AddDate(0, 0, ev.days)}}
		ev.bounds = ev.instances[0]
		return
	}
	n := max(ev.ruleN, 1)
	for k := range n {
		if k == ev.exdate {
			continue
		}
		w := ev.wall(k)
		if k == ev.override {
			w = w.Add(ev.moveShift)
		}
		s := inLoc(w, loc)
		ev.instances = append(ev.instances, interval{s, s.Add(ev.duration)})
	}
	if ev.freq != "" && ev.count == 0 {
		// An hour past the last start: the rule ends there without an
		// equality edge for servers to disagree about.
		ev.until = inLoc(ev.wall(ev.ruleN-1), loc).Add(time.Hour)
	}
	ev.bounds = ev.instances[0]
	for _, iv := range ev.instances[1:] {
		if iv.Start.Before(ev.bounds.Start) {
			ev.bounds.Start = iv.Start
		}
		if iv.End.After(ev.bounds.End) {
			ev.bounds.End = iv.End
		}
	}
}

const (
	icalDate     = "20060102"
	icalDateTime = "20060102T150405"
	icalUTC      = "20060102T150405Z"
)

// dtProp renders a DATE-TIME property for wall time w in the event's zone.
func (ev *event) dtProp(name string, w time.Time) string {
	if ev.tzid != "" {
		return name + ";TZID=" + ev.tzid + ":" + w.Format(icalDateTime) + "\r\n"
	}
	return name + ":" + w.Format(icalUTC) + "\r\n"
}

// ics renders the event at revision rev. Revisions change only the text,
// never the times, so every expected answer holds across updates.
func (ev *event) ics(rev int) string {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Koyomi//bench//EN\r\n")
	if ev.tzid != "" {
		b.WriteString(zones[ev.tzid])
	}
	ev.component(&b, rev, -1)
	if ev.override >= 0 {
		ev.component(&b, rev, ev.override)
	}
	b.WriteString("END:VCALENDAR\r\n")
	return b.String()
}

// component writes the master VEVENT (k < 0) or the override of instance k.
func (ev *event) component(b *strings.Builder, rev, k int) {
	b.WriteString("BEGIN:VEVENT\r\nUID:" + ev.UID + "\r\nDTSTAMP:20250101T000000Z\r\n")
	switch {
	case ev.allDay:
		b.WriteString("DTSTART;VALUE=DATE:" + ev.start.Format(icalDate) + "\r\n")
		b.WriteString("DTEND;VALUE=DATE:" + ev.start.AddDate(0, 0, ev.days).Format(icalDate) + "\r\n")
	case k >= 0:
		w := ev.wall(k)
		b.WriteString(ev.dtProp("RECURRENCE-ID", w))
		b.WriteString(ev.dtProp("DTSTART", w.Add(ev.moveShift)))
		b.WriteString(ev.dtProp("DTEND", w.Add(ev.moveShift+ev.duration)))
	default:
		b.WriteString(ev.dtProp("DTSTART", ev.start))
		b.WriteString(ev.dtProp("DTEND", ev.start.Add(ev.duration)))
	}
	if k < 0 && ev.freq != "" {
		rule := "RRULE:FREQ=" + ev.freq
		if ev.interval > 1 {
			rule += fmt.Sprintf(";INTERVAL=%d", ev.interval)
		}
		if ev.count > 0 {
			rule += fmt.Sprintf(";COUNT=%d", ev.count)
		} else {
			rule += ";UNTIL=" + ev.until.Format(icalUTC)
		}
		b.WriteString(rule + "\r\n")
		if ev.exdate >= 0 {
			b.WriteString(ev.dtProp("EXDATE", ev.wall(ev.exdate)))
		}
	}
	fmt.Fprintf(b, "SUMMARY:%s #%d\r\nSEQUENCE:%d\r\n", ev.summary, rev, rev)
	if !ev.opaque {
		b.WriteString("TRANSP:TRANSPARENT\r\n")
	}
	if len(ev.attendee) > 0 {
		b.WriteString("ORGANIZER;CN=Organizer:mailto:organizer@example.org\r\n")
		for _, a := range ev.attendee {
			b.WriteString(fold("ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:" + a))
		}
	}
	if ev.alarm {
		b.WriteString("BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\n")
	}
	b.WriteString("END:VEVENT\r\n")
}

// vcf renders the contact as vCard 3.0.
func (c *contact) vcf(photo []byte) string {
	given, sur, _ := strings.Cut(c.FN, " ")
	var b strings.Builder
	b.WriteString("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + c.UID + "\r\n")
	b.WriteString("FN:" + c.FN + "\r\nN:" + sur + ";" + given + ";;;\r\n")
	b.WriteString("EMAIL;TYPE=INTERNET:" + strings.ToLower(given+"."+sur) + "@example.org\r\n")
	b.WriteString("TEL;TYPE=CELL:+49 30 5550" + c.UID[len(c.UID)-1:] + "\r\n")
	if c.photo {
		b.WriteString(fold("PHOTO;ENCODING=b;TYPE=JPEG:" + base64.StdEncoding.EncodeToString(photo)))
	}
	b.WriteString("END:VCARD\r\n")
	return b.String()
}

// fold splits a content line at 75 octets (RFC 5545 3.1) and ends it.
func fold(line string) string {
	if len(line) <= 75 {
		return line + "\r\n"
	}
	var b strings.Builder
	b.WriteString(line[:75])
	for rest := line[75:]; len(rest) > 0; {
		n := min(74, len(rest))
		b.WriteString("\r\n " + rest[:n])
		rest = rest[n:]
	}
	b.WriteString("\r\n")
	return b.String()
}

// matching returns the indexes of events with an instance overlapping r
// and the number of instances that do (what an expand returns).
func (ds *dataset) matching(r interval) (idx []int, instances int) {
	for i, ev := range ds.events {
		if !ev.bounds.overlaps(r) {
			continue
		}
		n := 0
		for _, iv := range ev.instances {
			if iv.overlaps(r) {
				n++
			}
		}
		if n > 0 {
			idx = append(idx, i)
			instances += n
		}
	}
	return idx, instances
}

// busy returns the merged busy time within r: every instance of an opaque
// event, clipped to r.
func (ds *dataset) busy(r interval) []interval {
	var ivs []interval
	for _, ev := range ds.events {
		if !ev.opaque || !ev.bounds.overlaps(r) {
			continue
		}
		for _, iv := range ev.instances {
			if iv.overlaps(r) {
				ivs = append(ivs, clip(iv, r))
			}
		}
	}
	return merge(ivs)
}

// contactsMatching returns the indexes of contacts whose FN contains s,
// compared as ASCII case-insensitive (all generated names are ASCII).
func (ds *dataset) contactsMatching(s string) []int {
	s = strings.ToLower(s)
	var idx []int
	for i, c := range ds.contacts {
		if strings.Contains(strings.ToLower(c.FN), s) {
			idx = append(idx, i)
		}
	}
	return idx
}
