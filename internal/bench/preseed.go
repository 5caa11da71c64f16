package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Seeding a server over HTTP costs what its PUT costs: for servers whose
// PUT slows down as a collection grows, that is hours at ten thousand
// objects. Export writes the data set as files instead, for a script to
// place into a server's own storage before the server starts, and
// checkPreseeded then confirms over HTTP that the collections hold exactly
// that data before any phase runs, so the expected answers still hold.

// Export writes the generated data set into cfg.ExportCalendar and
// cfg.ExportAddressBook, one file per object named as the tool names it
// on the server and holding the bytes the tool would PUT. The directories
// are made when missing; files of the same name are overwritten and other
// entries are left alone (a later --preseeded run reports them).
func Export(cfg *Config, log io.Writer) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	ds, err := generate(cfg.RandSeed, cfg.Events, cfg.Contacts)
	if err != nil {
		return err
	}
	if dir := cfg.ExportCalendar; dir != "" {
		objs := make([]exportedObject, len(ds.events))
		for i, ev := range ds.events {
			objs[i] = exportedObject{ev.Name, ev.ics(0)}
		}
		if err := writeObjects(dir, objs); err != nil {
			return err
		}
		fmt.Fprintf(log, "wrote %d events to %s\n", len(objs), dir)
	}
	if dir := cfg.ExportAddressBook; dir != "" {
		objs := make([]exportedObject, len(ds.contacts))
		for i, c := range ds.contacts {
			objs[i] = exportedObject{c.Name, c.vcf(ds.photo)}
		}
		if err := writeObjects(dir, objs); err != nil {
			return err
		}
		fmt.Fprintf(log, "wrote %d contacts to %s\n", len(objs), dir)
	}
	return nil
}

type exportedObject struct{ name, body string }

func writeObjects(dir string, objs []exportedObject) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench: export: %w", err)
	}
	for _, o := range objs {
		if err := os.WriteFile(filepath.Join(dir, o.name), []byte(o.body), 0o644); err != nil {
			return fmt.Errorf("bench: export: %w", err)
		}
	}
	return nil
}

// checkTimeout bounds one request of the check. The first read of a
// collection filled behind a server's back may parse every object (Radicale
// builds its item cache then): minutes at ten thousand objects.
const checkTimeout = 30 * time.Minute

// multigetBatch is how many objects one multiget of the check fetches.
const multigetBatch = 100

// checkPreseeded makes sure the collections hold exactly the generated
// objects, as PUT seeding would have left them, and learns every ETag: it
// fetches every object with its data and compares that with what the tool
// generates, lists both collections (nothing missing, nothing else) and
// syncs the calendar once (see warmSync). An event may be at any revision
// the tool writes (a run's put-ifmatch phase leaves later ones); all
// revisions have the same times, so every expected answer holds.
func checkPreseeded(ctx context.Context, t *target, r *runner, log io.Writer) error {
	slow := *t
	slow.c = newClient(t.c.base, t.c.user, t.c.password, 1)
	slow.c.hc.Timeout = checkTimeout
	defer slow.c.close()

	ctNames := make([]string, len(r.ds.contacts))
	for i, c := range r.ds.contacts {
		ctNames[i] = c.Name
	}
	checks := []collectionCheck{{
		what: "events", dir: t.calDir, names: r.allEventNames(),
		query: `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">` +
			`<D:prop><D:getetag/><C:calendar-data/></D:prop>` +
			`<C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>`,
		multiget: `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">` +
			`<D:prop><D:getetag/><C:calendar-data/></D:prop>%s</C:calendar-multiget>`,
		check: func(name, data string) (*objState, string) {
			k := r.eventIndex(name)
			rev, ok := sequenceOf(data)
			if !ok {
				return nil, "has no SEQUENCE"
			}
			if !sameObject(data, r.ds.events[k].ics(rev)) {
				return nil, fmt.Sprintf("is not revision %d of the generated event", rev)
			}
			st := r.events[k]
			st.rev = rev
			return st, ""
		},
	}, {
		what: "contacts", dir: t.abDir, names: ctNames,
		// A filter without tests matches every address object.
		query: `<CR:addressbook-query xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav">` +
			`<D:prop><D:getetag/><CR:address-data/></D:prop><CR:filter test="allof"/></CR:addressbook-query>`,
		multiget: `<CR:addressbook-multiget xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav">` +
			`<D:prop><D:getetag/><CR:address-data/></D:prop>%s</CR:addressbook-multiget>`,
		check: func(name, data string) (*objState, string) {
			k := r.contactIndex(name)
			if !sameObject(data, r.ds.contacts[k].vcf(r.ds.photo)) {
				return nil, "is not the generated contact"
			}
			return r.contacts[k], ""
		},
	}}
	for _, cc := range checks {
		if err := cc.run(ctx, &slow, log); err != nil {
			return err
		}
	}
	warmSync(ctx, &slow, checks[0].names, log)
	return nil
}

// collectionCheck checks one preseeded collection.
type collectionCheck struct {
	what     string // "events" or "contacts", for messages
	dir      string
	names    []string // every object the collection must hold
	query    string   // a REPORT asking for every object with its data
	multiget string   // a multiget REPORT with one %s for the hrefs
	// check judges one object's data, returning its state or why the data
	// is wrong.
	check func(name, data string) (*objState, string)
}

// run fetches every object with one query, or, when the server cannot
// answer that query, with multigets of multigetBatch objects (as many
// requests as objects/multigetBatch, slow on a server whose lookups are
// slow), judges each, and lists the collection.
func (cc *collectionCheck) run(ctx context.Context, t *target, log io.Writer) error {
	t0 := time.Now()
	ms, _, err := report(ctx, t, "check-query", "REPORT", cc.dir, xmlHeader+cc.query)
	if err == nil {
		wrong, members := checkSet(t, ms, cc.dir, cc.names)
		if wrong == "" {
			if err := cc.judge(members); err != nil {
				return err
			}
			if err := checkListing(ctx, t, cc.dir, cc.names); err != nil {
				return err
			}
			fmt.Fprintf(log, "checking: %d %s in %s, fetched by one query, all right, in %.1fs\n",
				len(cc.names), cc.what, cc.dir, time.Since(t0).Seconds())
			return nil
		}
		err = errors.New(wrong)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	// Whatever the query missed, a collection holding other objects stops
	// the run here rather than after the multigets.
	if err := checkListing(ctx, t, cc.dir, cc.names); err != nil {
		return err
	}
	fmt.Fprintf(log, "checking: asking %s for all %s at once failed (%v); fetching them by multiget, %d at a time\n",
		cc.dir, cc.what, err, multigetBatch)
	for start := 0; start < len(cc.names); start += multigetBatch {
		batch := cc.names[start:min(start+multigetBatch, len(cc.names))]
		var hrefs strings.Builder
		for _, n := range batch {
			hrefs.WriteString("<D:href>" + escapeXML(cc.dir+n) + "</D:href>")
		}
		ms, _, err := report(ctx, t, "check-multiget", "REPORT", cc.dir, xmlHeader+fmt.Sprintf(cc.multiget, hrefs.String()))
		if err != nil {
			return fmt.Errorf("bench: checking %s: %w", cc.dir, err)
		}
		wrong, members := checkSet(t, ms, cc.dir, batch)
		if wrong != "" {
			return fmt.Errorf("bench: checking %s: multiget: %s", cc.dir, wrong)
		}
		if err := cc.judge(members); err != nil {
			return err
		}
		if done := start + len(batch); done%(10*multigetBatch) == 0 || done == len(cc.names) {
			fmt.Fprintf(log, "checking: %d of %d %s of %s right, %.0fs so far\n",
				done, len(cc.names), cc.what, cc.dir, time.Since(t0).Seconds())
		}
	}
	return nil
}

// judge checks the data of members and learns their ETags.
func (cc *collectionCheck) judge(members []member) error {
	for _, m := range members {
		st, bad := cc.check(m.name, m.data)
		if bad == "" && m.etag == "" {
			bad = "has no ETag"
		}
		if bad != "" {
			return fmt.Errorf("bench: %s%s %s (--preseeded needs exactly the exported objects)", cc.dir, m.name, bad)
		}
		st.etag = m.etag
	}
	return nil
}

// warmSync sends the calendar one sync-collection without a token. A
// server may record sync state as objects arrive (Radicale keeps a history
// entry per object) and build it on the first sync otherwise, which would
// then land in the first timed sync request. A failure here is only
// logged: the sync phases measure and report it.
func warmSync(ctx context.Context, t *target, names []string, log io.Writer) {
	t0 := time.Now()
	ms, _, err := report(ctx, t, "check-sync", "REPORT", t.calDir, syncBody(""))
	if err == nil {
		if wrong, _ := checkSet(t, ms, t.calDir, names); wrong != "" {
			err = errors.New(wrong)
		}
	}
	if err != nil {
		fmt.Fprintf(log, "checking: sync-collection on %s: %v (the sync phases will show it)\n", t.calDir, err)
		return
	}
	fmt.Fprintf(log, "checking: %s synced once, in %.1fs\n", t.calDir, time.Since(t0).Seconds())
}

// checkListing fails unless a Depth 1 PROPFIND of dir lists exactly want.
func checkListing(ctx context.Context, t *target, dir string, want []string) error {
	body := xmlHeader + `<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/></D:prop></D:propfind>`
	ms, _, err := report(ctx, t, "check-list", "PROPFIND", dir, body)
	if err != nil {
		return fmt.Errorf("bench: listing %s (--preseeded needs it filled with the exported objects): %w", dir, err)
	}
	members, foreign := ms.members(dir)
	if len(foreign) > 0 {
		return fmt.Errorf("bench: %s lists hrefs outside itself: %s", dir, firstFew(foreign))
	}
	got := make([]string, len(members))
	for i, m := range members {
		got[i] = m.name
	}
	if diff := compareSets(got, want); diff != "" {
		return fmt.Errorf("bench: %s does not hold exactly the generated objects (--preseeded): %s", dir, diff)
	}
	return nil
}

// sequenceOf reads the first SEQUENCE of an iCalendar text: the revision
// the tool wrote.
func sequenceOf(data string) (int, bool) {
	_, rest, ok := strings.Cut(data, "\nSEQUENCE:")
	if !ok {
		return 0, false
	}
	line, _, _ := strings.Cut(rest, "\n")
	n, err := strconv.Atoi(strings.TrimSpace(line))
	return n, err == nil && n >= 0
}

// sameObject reports whether got holds the same content lines as want.
// Neither their order nor line endings and folding are compared: XML
// parsing turns CRLF into LF, and servers may fold lines their own way and
// write properties in another order (Radicale sorts them).
func sameObject(got, want string) bool {
	g, w := contentLines(got), contentLines(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

// contentLines unfolds text and returns its non-empty lines.
func contentLines(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	text = strings.ReplaceAll(text, "\n ", "")
	text = strings.ReplaceAll(text, "\n\t", "")
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}
