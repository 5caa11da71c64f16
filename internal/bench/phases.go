package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// PhaseNames lists every phase in the order they run.
var PhaseNames = []string{
	"propfind-depth1", "query-week", "query-month", "expand-week", "expand-month", "multiget-100",
	"sync-initial", "sync-incremental", "get", "put-ifmatch", "addressbook-query", "freebusy", "mixed",
}

// objState is what the tool knows of one resource on the server. Its lock
// is held across a request so that the tool never races itself: a GET
// always knows the ETag of the last PUT.
type objState struct {
	mu   sync.Mutex
	etag string
	rev  int
}

// target is one server the phases run against.
type target struct {
	name   string // "server" or "floor"
	c      *client
	calDir string // collection paths, with a trailing slash
	abDir  string
	verify bool // false on the floor: replayed bytes answer other questions
}

// outcome is the result of one timed request.
type outcome struct {
	lat   time.Duration
	wrong string // non-empty when the answer was wrong
	err   error
}

func failed(err error) outcome { return outcome{err: err} }

// statusErr is an unexpected HTTP status.
func statusErr(kind string, resp *response) error {
	body := strings.TrimSpace(string(resp.body))
	if len(body) > 200 {
		body = body[:200] + "..."
	}
	return fmt.Errorf("%s: HTTP %d %s", kind, resp.status, body)
}

// op is one request of a phase, run by a worker with its own random source.
type op func(ctx context.Context, t *target, rng *rand.Rand) outcome

// runner holds the data and the known state shared by all phases.
type runner struct {
	ds       *dataset
	events   []*objState
	contacts []*objState

	eventByName, contactByName map[string]int
}

func newRunner(ds *dataset) *runner {
	r := &runner{ds: ds, eventByName: map[string]int{}, contactByName: map[string]int{}}
	for i, ev := range ds.events {
		r.events = append(r.events, &objState{})
		r.eventByName[ev.Name] = i
	}
	for i, c := range ds.contacts {
		r.contacts = append(r.contacts, &objState{})
		r.contactByName[c.Name] = i
	}
	return r
}

// randomRange picks a range starting at a UTC midnight in the window.
func randomRange(rng *rand.Rand, month bool) interval {
	days := 7
	if month {
		days = 30
	}
	s := epoch.AddDate(0, 0, rng.IntN(spanDays-days+1))
	if month {
		return interval{s, s.AddDate(0, 1, 0)}
	}
	return interval{s, s.AddDate(0, 0, days)}
}

// compareSets describes how the names got differ from the names want.
func compareSets(got []string, want []string) string {
	w := make(map[string]bool, len(want))
	for _, n := range want {
		w[n] = true
	}
	var extra, dup []string
	seen := make(map[string]bool, len(got))
	for _, n := range got {
		if seen[n] {
			dup = append(dup, n)
		}
		seen[n] = true
		if !w[n] {
			extra = append(extra, n)
		}
	}
	var missing []string
	for _, n := range want {
		if !seen[n] {
			missing = append(missing, n)
		}
	}
	if len(extra)+len(missing)+len(dup) == 0 {
		return ""
	}
	return fmt.Sprintf("%d missing %s, %d unexpected %s, %d duplicated %s (of %d expected)",
		len(missing), firstFew(missing), len(extra), firstFew(extra), len(dup), firstFew(dup), len(want))
}

func firstFew(s []string) string {
	if len(s) > 3 {
		return "[" + strings.Join(s[:3], " ") + " ...]"
	}
	return "[" + strings.Join(s, " ") + "]"
}

// okNames returns the names of members answered with a 200.
func okNames(ms []member) (names []string, bad string) {
	for _, m := range ms {
		if !m.ok {
			return nil, fmt.Sprintf("%s answered %q", m.name, m.status)
		}
		names = append(names, m.name)
	}
	return names, ""
}

func (r *runner) eventNames(idx []int) []string {
	names := make([]string, len(idx))
	for i, k := range idx {
		names[i] = r.ds.events[k].Name
	}
	return names
}

func (r *runner) allEventNames() []string {
	names := make([]string, len(r.ds.events))
	for i, ev := range r.ds.events {
		names[i] = ev.Name
	}
	return names
}

// report sends a REPORT or PROPFIND with Depth 1 and parses the
// multistatus. Without verification (the floor) it returns a nil multistatus
// and parses nothing, so that the tool's own work weighs as little as possible.
func report(ctx context.Context, t *target, kind, method, dir, body string) (*multistatus, time.Duration, error) {
	resp, lat, err := t.c.do(ctx, kind, method, dir, map[string]string{
		"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}, body)
	if err != nil {
		return nil, lat, err
	}
	if resp.status != http.StatusMultiStatus {
		return nil, lat, statusErr(kind, resp)
	}
	if !t.verify {
		return nil, lat, nil
	}
	ms, err := parseMultistatus(resp.body)
	if err != nil {
		return nil, lat, fmt.Errorf("%s: %w", kind, err)
	}
	return ms, lat, nil
}

// checkSet is the common verification: the members of the answer are
// exactly want, all with 200.
func checkSet(t *target, ms *multistatus, dir string, want []string) (string, []member) {
	members, foreign := ms.members(dir)
	if len(foreign) > 0 {
		return fmt.Sprintf("hrefs outside the collection: %s", firstFew(foreign)), members
	}
	names, bad := okNames(members)
	if bad != "" {
		return bad, members
	}
	return compareSets(names, want), members
}

func (r *runner) propfind(ctx context.Context, t *target, _ *rand.Rand) outcome {
	body := xmlHeader + `<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:resourcetype/></D:prop></D:propfind>`
	ms, lat, err := report(ctx, t, "propfind-depth1", "PROPFIND", t.calDir, body)
	if err != nil || ms == nil {
		return outcome{lat: lat, err: err}
	}
	wrong, _ := checkSet(t, ms, t.calDir, r.allEventNames())
	return outcome{lat: lat, wrong: wrong}
}

func timeRangeFilter(rg interval) string {
	return `<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="` +
		rg.Start.Format(icalUTC) + `" end="` + rg.End.Format(icalUTC) + `"/></C:comp-filter></C:comp-filter></C:filter>`
}

func (r *runner) query(kind string, month, expand bool) op {
	return func(ctx context.Context, t *target, rng *rand.Rand) outcome {
		rg := randomRange(rng, month)
		prop := `<D:getetag/>`
		if expand {
			prop += `<C:calendar-data><C:expand start="` + rg.Start.Format(icalUTC) + `" end="` +
				rg.End.Format(icalUTC) + `"/></C:calendar-data>`
		}
		body := xmlHeader + `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>` +
			prop + `</D:prop>` + timeRangeFilter(rg) + `</C:calendar-query>`
		ms, lat, err := report(ctx, t, kind, "REPORT", t.calDir, body)
		if err != nil || ms == nil {
			return outcome{lat: lat, err: err}
		}
		idx, instances := r.ds.matching(rg)
		wrong, members := checkSet(t, ms, t.calDir, r.eventNames(idx))
		if wrong == "" && expand {
			got := 0
			for _, m := range members {
				got += strings.Count(m.data, "BEGIN:VEVENT")
			}
			if got != instances {
				wrong = fmt.Sprintf("%d instances, expected %d", got, instances)
			}
		}
		if wrong != "" {
			wrong = fmt.Sprintf("%s..%s: %s", rg.Start.Format(icalDate), rg.End.Format(icalDate), wrong)
		}
		return outcome{lat: lat, wrong: wrong}
	}
}

func (r *runner) multiget(ctx context.Context, t *target, rng *rand.Rand) outcome {
	n := min(100, len(r.ds.events))
	idx := rng.Perm(len(r.ds.events))[:n]
	var b strings.Builder
	b.WriteString(xmlHeader + `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">` +
		`<D:prop><D:getetag/><C:calendar-data/></D:prop>`)
	for _, k := range idx {
		b.WriteString("<D:href>" + escapeXML(t.calDir+r.ds.events[k].Name) + "</D:href>")
	}
	b.WriteString(`</C:calendar-multiget>`)
	ms, lat, err := report(ctx, t, "multiget-100", "REPORT", t.calDir, b.String())
	if err != nil || ms == nil {
		return outcome{lat: lat, err: err}
	}
	wrong, members := checkSet(t, ms, t.calDir, r.eventNames(idx))
	if wrong == "" {
		uid := make(map[string]string, n)
		for _, k := range idx {
			uid[r.ds.events[k].Name] = r.ds.events[k].UID
		}
		for _, m := range members {
			if !strings.Contains(m.data, "BEGIN:VCALENDAR") || !strings.Contains(m.data, uid[m.name]) {
				wrong = m.name + ": no calendar-data of the event"
				break
			}
		}
	}
	return outcome{lat: lat, wrong: wrong}
}

func syncBody(token string) string {
	return xmlHeader + `<D:sync-collection xmlns:D="DAV:"><D:sync-token>` + escapeXML(token) +
		`</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`
}

func (r *runner) syncInitial(ctx context.Context, t *target, _ *rand.Rand) outcome {
	ms, lat, err := report(ctx, t, "sync-initial", "REPORT", t.calDir, syncBody(""))
	if err != nil || ms == nil {
		return outcome{lat: lat, err: err}
	}
	wrong, _ := checkSet(t, ms, t.calDir, r.allEventNames())
	if wrong == "" && ms.SyncToken == "" {
		wrong = "no sync-token"
	}
	return outcome{lat: lat, wrong: wrong}
}

// syncIncremental returns the op of the sync-incremental phase: it makes
// ten changes, untimed, then times the sync that must report exactly them.
// It keeps the token between calls, so it runs on one worker.
func (r *runner) syncIncremental() op {
	var token string
	return func(ctx context.Context, t *target, rng *rand.Rand) outcome {
		if token == "" {
			ms, _, err := report(ctx, t, "sync-initial", "REPORT", t.calDir, syncBody(""))
			if err != nil {
				return failed(err)
			}
			token = "floor" // any token will do for replayed answers
			if ms != nil {
				token = ms.SyncToken
			}
		}
		idx := rng.Perm(len(r.ds.events))[:min(10, len(r.ds.events))]
		for _, k := range idx {
			if o := r.update(ctx, t, k); o.err != nil || o.wrong != "" {
				return outcome{err: o.err, wrong: o.wrong}
			}
		}
		ms, lat, err := report(ctx, t, "sync-incremental", "REPORT", t.calDir, syncBody(token))
		if err != nil || ms == nil {
			return outcome{lat: lat, err: err}
		}
		token = ms.SyncToken
		wrong, _ := checkSet(t, ms, t.calDir, r.eventNames(idx))
		return outcome{lat: lat, wrong: wrong}
	}
}

func (r *runner) get(ctx context.Context, t *target, rng *rand.Rand) outcome {
	k := rng.IntN(len(r.ds.events))
	st, ev := r.events[k], r.ds.events[k]
	st.mu.Lock()
	defer st.mu.Unlock()
	resp, lat, err := t.c.do(ctx, "get", http.MethodGet, t.calDir+ev.Name, nil, "")
	if err != nil {
		return outcome{lat: lat, err: err}
	}
	if resp.status != http.StatusOK {
		return outcome{lat: lat, err: statusErr("get", resp)}
	}
	if !t.verify {
		return outcome{lat: lat}
	}
	var wrong string
	switch {
	case resp.etag != st.etag:
		wrong = fmt.Sprintf("%s: ETag %s, expected %s", ev.Name, resp.etag, st.etag)
	case !strings.Contains(string(resp.body), ev.UID):
		wrong = ev.Name + ": body is not the event"
	}
	return outcome{lat: lat, wrong: wrong}
}

func (r *runner) putIfMatch(ctx context.Context, t *target, rng *rand.Rand) outcome {
	return r.update(ctx, t, rng.IntN(len(r.ds.events)))
}

// update PUTs the next revision of event k with If-Match on the known
// ETag and learns the new ETag.
func (r *runner) update(ctx context.Context, t *target, k int) outcome {
	st, ev := r.events[k], r.ds.events[k]
	st.mu.Lock()
	defer st.mu.Unlock()
	hdr := map[string]string{"Content-Type": "text/calendar; charset=utf-8", "If-Match": st.etag}
	resp, lat, err := t.c.do(ctx, "put-ifmatch", http.MethodPut, t.calDir+ev.Name, hdr, ev.ics(st.rev+1))
	if err != nil {
		return outcome{lat: lat, err: err}
	}
	if resp.status == http.StatusPreconditionFailed && t.verify {
		return outcome{lat: lat, wrong: fmt.Sprintf("%s: If-Match %s refused", ev.Name, st.etag)}
	}
	if resp.status < 200 || resp.status > 299 {
		return outcome{lat: lat, err: statusErr("put-ifmatch", resp)}
	}
	if !t.verify {
		return outcome{lat: lat}
	}
	etag := resp.etag
	if etag == "" { // allowed when the server changed the data; ask for it
		if etag, err = r.headETag(ctx, t, t.calDir+ev.Name); err != nil {
			return outcome{lat: lat, err: err}
		}
	}
	old := st.etag
	st.etag, st.rev = etag, st.rev+1
	if etag == old {
		return outcome{lat: lat, wrong: fmt.Sprintf("%s: ETag %s unchanged by PUT", ev.Name, etag)}
	}
	return outcome{lat: lat}
}

func (r *runner) headETag(ctx context.Context, t *target, p string) (string, error) {
	resp, _, err := t.c.do(ctx, "head", http.MethodHead, p, nil, "")
	if err != nil {
		return "", err
	}
	if resp.status != http.StatusOK || resp.etag == "" {
		return "", fmt.Errorf("HEAD %s: HTTP %d, ETag %q", p, resp.status, resp.etag)
	}
	return resp.etag, nil
}

func (r *runner) addressbookQuery(ctx context.Context, t *target, rng *rand.Rand) outcome {
	if len(r.ds.contacts) == 0 {
		return failed(fmt.Errorf("addressbook-query: no contacts (--contacts 0)"))
	}
	_, surname, _ := strings.Cut(r.ds.contacts[rng.IntN(len(r.ds.contacts))].FN, " ")
	body := xmlHeader + `<CR:addressbook-query xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav">` +
		`<D:prop><D:getetag/></D:prop><CR:filter><CR:prop-filter name="FN">` +
		`<CR:text-match match-type="contains">` + escapeXML(surname) + `</CR:text-match>` +
		`</CR:prop-filter></CR:filter></CR:addressbook-query>`
	ms, lat, err := report(ctx, t, "addressbook-query", "REPORT", t.abDir, body)
	if err != nil || ms == nil {
		return outcome{lat: lat, err: err}
	}
	var want []string
	for _, k := range r.ds.contactsMatching(surname) {
		want = append(want, r.ds.contacts[k].Name)
	}
	wrong, _ := checkSet(t, ms, t.abDir, want)
	if wrong != "" {
		wrong = fmt.Sprintf("FN contains %q: %s", surname, wrong)
	}
	return outcome{lat: lat, wrong: wrong}
}

func (r *runner) freebusy(ctx context.Context, t *target, rng *rand.Rand) outcome {
	rg := randomRange(rng, false)
	body := xmlHeader + `<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="` +
		rg.Start.Format(icalUTC) + `" end="` + rg.End.Format(icalUTC) + `"/></C:free-busy-query>`
	resp, lat, err := t.c.do(ctx, "freebusy", "REPORT", t.calDir, map[string]string{
		"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}, body)
	if err != nil {
		return outcome{lat: lat, err: err}
	}
	if resp.status != http.StatusOK {
		return outcome{lat: lat, err: statusErr("freebusy", resp)}
	}
	if !t.verify {
		return outcome{lat: lat}
	}
	got, err := parseFreeBusy(string(resp.body))
	if err != nil {
		return outcome{lat: lat, wrong: err.Error()}
	}
	var wrong string
	if ok, diff := sameIntervals(merge(got), r.ds.busy(rg)); !ok {
		wrong = fmt.Sprintf("%s..%s: %s", rg.Start.Format(icalDate), rg.End.Format(icalDate), diff)
	}
	return outcome{lat: lat, wrong: wrong}
}

// mixed picks one of the verifiable reads and writes with the weights of a
// busy calendar client: mostly GETs and small queries, some writes.
func (r *runner) mixed() op {
	type weighted struct {
		w  int
		op op
	}
	choices := []weighted{
		{30, r.get}, {15, r.putIfMatch}, {15, r.query("query-week", false, false)},
		{10, r.query("expand-week", false, true)}, {10, r.multiget}, {5, r.freebusy}, {5, r.propfind},
	}
	if len(r.ds.contacts) > 0 {
		choices = append(choices, weighted{10, r.addressbookQuery})
	}
	total := 0
	for _, c := range choices {
		total += c.w
	}
	return func(ctx context.Context, t *target, rng *rand.Rand) outcome {
		n := rng.IntN(total)
		for _, c := range choices {
			if n < c.w {
				return c.op(ctx, t, rng)
			}
			n -= c.w
		}
		panic("unreachable")
	}
}

// phaseOp returns the op of a named phase and whether it must run on one
// worker.
func (r *runner) phaseOp(name string) (o op, serial bool) {
	switch name {
	case "propfind-depth1":
		return r.propfind, false
	case "query-week":
		return r.query(name, false, false), false
	case "query-month":
		return r.query(name, true, false), false
	case "expand-week":
		return r.query(name, false, true), false
	case "expand-month":
		return r.query(name, true, true), false
	case "multiget-100":
		return r.multiget, false
	case "sync-initial":
		return r.syncInitial, false
	case "sync-incremental":
		return r.syncIncremental(), true
	case "get":
		return r.get, false
	case "put-ifmatch":
		return r.putIfMatch, false
	case "addressbook-query":
		return r.addressbookQuery, false
	case "freebusy":
		return r.freebusy, false
	case "mixed":
		return r.mixed(), false
	}
	return nil, false
}

// collectionPath returns the path of a collection URL with a trailing slash.
func collectionPath(p string) string {
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return path.Clean(p) + "/"
}
