// Package check verifies the integrity of a store: that every live object
// is recorded in its collection's change log, that revisions are consistent,
// that the stored index fields and ETags agree with the stored bytes, and
// that the JSON documents the domain keeps (virtual calendar definitions,
// group contributions, the trash's snapshots) are readable. It is what "koyomi check" runs and what
// the crash test asks after killing the server.
//
// It works through the store contract only (read-only transactions) and
// knows nothing of SQL, HTTP or URL layout; it re-derives index fields with
// the same parsers the domain uses when it writes.
package check

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/vcard"
)

// DefaultIndexHorizon is the domain's default horizon for indexing
// occurrences of recurring objects.
const DefaultIndexHorizon = 3 * 365 * 24 * time.Hour

// Options tune a check. The zero value checks against the current time.
type Options struct {
	// Now returns the current time; time.Now when nil. With IndexHorizon
	// it bounds the fresh occurrence index computed for comparison.
	Now func() time.Time
	// IndexHorizon is how far past now occurrences are re-derived
	// (default DefaultIndexHorizon).
	IndexHorizon time.Duration
	// Progress, when not nil, is called after each collection is checked
	// with how many of how many collections are done.
	Progress func(done, total int)
}

// Run checks every user, collection, object, virtual calendar and group
// membership of st, writes each problem found on its own line of report
// (prefixed by a path-like location) followed by a summary line, and returns
// the number of problems. err is set only when the store could not be read.
func Run(ctx context.Context, st store.Store, report io.Writer) (problems int, err error) {
	return Options{}.Run(ctx, st, report)
}

// Run is the package-level Run with these options.
func (o Options) Run(ctx context.Context, st store.Store, report io.Writer) (int, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.IndexHorizon <= 0 {
		o.IndexHorizon = DefaultIndexHorizon
	}
	c := &checker{opts: o, report: report}
	if err := c.run(ctx, st); err != nil {
		return c.problems, err
	}
	fmt.Fprintf(report, "checked %d users, %d collections, %d objects, %d virtual calendars: %d problems\n",
		c.users, c.collections, c.objects, c.vcs, c.problems)
	return c.problems, nil
}

type checker struct {
	opts                             Options
	report                           io.Writer
	problems                         int
	users, collections, objects, vcs int
}

func (c *checker) problem(loc, format string, args ...any) {
	c.problems++
	fmt.Fprintf(c.report, "%s: %s\n", loc, fmt.Sprintf(format, args...))
}

func (c *checker) run(ctx context.Context, st store.Store) error {
	var colls []*store.Collection
	var users []*store.User
	err := st.View(ctx, func(tx store.Tx) error {
		var err error
		users, err = tx.ListUsers(ctx)
		if err != nil {
			return fmt.Errorf("list users: %w", err)
		}
		for _, u := range users {
			cs, err := tx.ListCollections(ctx, u.Name)
			if err != nil {
				return fmt.Errorf("list collections of %s: %w", u.Name, err)
			}
			colls = append(colls, cs...)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.users = len(users)
	// One transaction per collection: each is checked in a consistent
	// snapshot, and a large installation is not read in one transaction.
	for i, coll := range colls {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := st.View(ctx, func(tx store.Tx) error { return c.collection(ctx, tx, coll.ID) })
		if err != nil {
			return fmt.Errorf("%s/%s: %w", coll.Owner, coll.Name, err)
		}
		if c.opts.Progress != nil {
			c.opts.Progress(i+1, len(colls))
		}
	}
	if err := st.View(ctx, func(tx store.Tx) error { return c.virtual(ctx, tx, users) }); err != nil {
		return err
	}
	return st.View(ctx, func(tx store.Tx) error { return c.trash(ctx, tx) })
}

// trash checks the items of the trash: a kind the domain writes, a payload
// that is readable JSON, and no user both live and in the trash (the
// domain keeps a trashed user's name from being taken).
func (c *checker) trash(ctx context.Context, tx store.Tx) error {
	items, err := tx.ListTrash(ctx, "")
	if err != nil {
		return fmt.Errorf("list the trash: %w", err)
	}
	for _, it := range items {
		loc := fmt.Sprintf("trash:%d (%s %s of %s)", it.ID, it.Kind, it.Name, it.Owner)
		switch it.Kind {
		case store.TrashObject, store.TrashCollection, store.TrashUser:
		default:
			c.problem(loc, "unknown kind %q", it.Kind)
		}
		full, err := tx.GetTrash(ctx, it.ID)
		if err != nil {
			return fmt.Errorf("trash item %d: %w", it.ID, err)
		}
		if !json.Valid(full.Payload) {
			c.problem(loc, "payload is not valid JSON; it cannot be restored")
		}
		if it.Kind == store.TrashUser {
			if _, err := tx.GetUser(ctx, it.Owner); err == nil {
				c.problem(loc, "user %s is both live and in the trash", it.Owner)
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
	}
	return nil
}

// collection checks one collection, re-read inside tx so that its revision
// and members belong to one snapshot.
func (c *checker) collection(ctx context.Context, tx store.Tx, id int64) error {
	coll, err := tx.GetCollectionByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted since it was listed
	}
	if err != nil {
		return err
	}
	c.collections++
	loc := coll.Owner + "/" + coll.Name
	objs, err := tx.ListObjects(ctx, coll.ID, true)
	if err != nil {
		return fmt.Errorf("list objects: %w", err)
	}
	live, err := tx.Changes(ctx, coll.ID, 0)
	if err != nil {
		return fmt.Errorf("change log: %w", err)
	}
	// Changes since 0 leaves tombstones out; since 1 includes them and
	// misses only revision 1, which cannot be a deletion (the first change
	// of a collection creates something).
	var all []store.Change
	if coll.Revision >= 1 {
		if all, err = tx.Changes(ctx, coll.ID, 1); err != nil {
			return fmt.Errorf("change log: %w", err)
		}
	}
	c.changeLog(loc, coll, objs, live, all)
	for _, o := range objs {
		c.objects++
		c.object(loc+"/"+o.Name, coll, o)
	}
	return nil
}

// changeLog checks that the change log and the objects describe the same
// set of live names, and that revisions are unique and not in the future.
func (c *checker) changeLog(loc string, coll *store.Collection, objs []*store.Object, live, all []store.Change) {
	latest := make(map[string]store.Change, len(all)+len(live))
	byRevision := make(map[int64]string, len(all)+len(live))
	record := func(ch store.Change) {
		if prev, ok := latest[ch.Name]; ok {
			if prev != ch {
				c.problem(loc+"/"+ch.Name, "change log gives two latest changes: revision %d and %d", prev.Revision, ch.Revision)
			}
			return
		}
		latest[ch.Name] = ch
		if ch.Revision > coll.Revision {
			c.problem(loc+"/"+ch.Name, "change at revision %d is newer than the collection's revision %d", ch.Revision, coll.Revision)
		}
		if ch.Revision <= 0 {
			c.problem(loc+"/"+ch.Name, "change at non-positive revision %d", ch.Revision)
		}
		if other, dup := byRevision[ch.Revision]; dup {
			c.problem(loc+"/"+ch.Name, "revision %d is also the revision of %q", ch.Revision, other)
		} else {
			byRevision[ch.Revision] = ch.Name
		}
	}
	for _, ch := range live {
		if ch.Deleted {
			c.problem(loc+"/"+ch.Name, "change log of live objects lists a deletion at revision %d", ch.Revision)
		}
		record(ch)
	}
	for _, ch := range all {
		record(ch)
	}
	exists := make(map[string]bool, len(objs))
	for _, o := range objs {
		exists[o.Name] = true
		ch, ok := latest[o.Name]
		switch {
		case !ok:
			c.problem(loc+"/"+o.Name, "object has no change-log entry")
		case ch.Deleted:
			c.problem(loc+"/"+o.Name, "object exists but the change log records its deletion at revision %d", ch.Revision)
		}
	}
	for _, ch := range live {
		if !ch.Deleted && !exists[ch.Name] {
			c.problem(loc+"/"+ch.Name, "change log lists a live object at revision %d that does not exist", ch.Revision)
		}
	}
}

// ETag is the store's entity tag of data: the hex of the first 16 bytes of
// its SHA-256, as both store implementations compute it.
func ETag(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}

// object checks one object's ETag, size and index fields against its data.
func (c *checker) object(loc string, coll *store.Collection, o *store.Object) {
	if o.CollectionID != coll.ID {
		c.problem(loc, "object carries collection id %d, listed under %d", o.CollectionID, coll.ID)
	}
	if want := ETag(o.Data); o.ETag != want {
		c.problem(loc, "ETag %q does not match the data (hash %q)", o.ETag, want)
	}
	if o.Size != int64(len(o.Data)) {
		c.problem(loc, "size %d, data has %d bytes", o.Size, len(o.Data))
	}
	switch coll.Kind {
	case store.KindCalendar:
		c.calendarObject(loc, o)
	case store.KindAddressBook:
		card, err := vcard.Parse(o.Data)
		if err != nil {
			c.problem(loc, "stored vCard does not parse: %v", err)
			return
		}
		var fresh store.Object
		card.Index(&fresh)
		c.compareField(loc, "UID", o.UID, fresh.UID)
		c.compareField(loc, "component", o.Component, fresh.Component)
	}
}

func (c *checker) compareField(loc, field, stored, fresh string) {
	if stored != fresh {
		c.problem(loc, "index %s is %q, the data says %q", field, stored, fresh)
	}
}

// calendarObject re-derives the index of a calendar object as the domain
// does when storing it and compares. Occurrences are indexed up to a
// horizon relative to the time of writing, so they are compared only below
// the earlier of the stored and the fresh horizon.
func (c *checker) calendarObject(loc string, o *store.Object) {
	p, err := ical.Parse(o.Data)
	if err != nil {
		c.problem(loc, "stored iCalendar does not parse: %v", err)
		return
	}
	var fresh store.Object
	p.Index(&fresh, c.opts.Now().Add(c.opts.IndexHorizon))
	c.compareField(loc, "UID", o.UID, fresh.UID)
	c.compareField(loc, "component", o.Component, fresh.Component)
	if !o.SpanStart.Equal(fresh.SpanStart) || !o.SpanEnd.Equal(fresh.SpanEnd) {
		c.problem(loc, "index span is %s, the data says %s", span(o.SpanStart, o.SpanEnd), span(fresh.SpanStart, fresh.SpanEnd))
	}
	if o.Recurring != fresh.Recurring {
		c.problem(loc, "index says recurring=%t, the data says %t", o.Recurring, fresh.Recurring)
	}
	limit := earlierHorizon(o.IndexedUntil, fresh.IndexedUntil)
	stored, derived := below(o.Occurrences, limit), below(fresh.Occurrences, limit)
	if !slices.EqualFunc(stored, derived, func(a, b store.Period) bool {
		return a.Start.Equal(b.Start) && a.End.Equal(b.End)
	}) {
		c.problem(loc, "occurrence index has %d entries before %s, the data gives %d%s",
			len(stored), horizonText(limit), len(derived), firstDifference(stored, derived))
	}
}

// earlierHorizon returns the earlier of two IndexedUntil values, where zero
// means complete (no horizon).
func earlierHorizon(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}

// below returns the periods starting before limit (all when limit is
// zero), sorted.
func below(ps []store.Period, limit time.Time) []store.Period {
	out := make([]store.Period, 0, len(ps))
	for _, p := range ps {
		if limit.IsZero() || p.Start.Before(limit) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b store.Period) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return a.End.Compare(b.End)
	})
	return out
}

func firstDifference(a, b []store.Period) string {
	for i := range min(len(a), len(b)) {
		if !a[i].Start.Equal(b[i].Start) || !a[i].End.Equal(b[i].End) {
			return fmt.Sprintf(" (entry %d: stored %s, derived %s)", i, span(a[i].Start, a[i].End), span(b[i].Start, b[i].End))
		}
	}
	return ""
}

func horizonText(t time.Time) string {
	if t.IsZero() {
		return "the end"
	}
	return t.UTC().Format(time.RFC3339)
}

func span(start, end time.Time) string {
	f := func(t time.Time, zero string) string {
		if t.IsZero() {
			return zero
		}
		return t.UTC().Format(time.RFC3339)
	}
	if start.IsZero() && end.IsZero() {
		return "none"
	}
	return "[" + f(start, "-") + ", " + f(end, "never") + ")"
}

// virtual checks virtual calendars and group memberships: their JSON
// documents parse and their owners exist.
func (c *checker) virtual(ctx context.Context, tx store.Tx, users []*store.User) error {
	userExists := make(map[string]bool, len(users))
	for _, u := range users {
		userExists[u.Name] = true
	}
	groups, err := tx.ListGroups(ctx)
	if err != nil {
		return fmt.Errorf("list groups: %w", err)
	}
	groupExists := make(map[string]bool, len(groups))
	for _, g := range groups {
		groupExists[g.Name] = true
	}
	vcs, err := tx.ListVirtualCalendars(ctx)
	if err != nil {
		return fmt.Errorf("list virtual calendars: %w", err)
	}
	for _, vc := range vcs {
		c.vcs++
		loc := "vc:" + vc.Owner + "/" + vc.Name
		if !json.Valid(vc.Definition) {
			c.problem(loc, "definition is not valid JSON")
		}
		if g, ok := strings.CutPrefix(vc.Owner, "group:"); ok {
			if !groupExists[g] {
				c.problem(loc, "owned by group %q, which does not exist", g)
			}
		} else if !userExists[vc.Owner] {
			c.problem(loc, "owned by user %q, who does not exist", vc.Owner)
		}
	}
	for _, g := range groups {
		ms, err := tx.Memberships(ctx, g.Name)
		if err != nil {
			return fmt.Errorf("memberships of %s: %w", g.Name, err)
		}
		for _, m := range ms {
			if len(m.Contributions) > 0 && !json.Valid(m.Contributions) {
				c.problem("group:"+g.Name+"/"+m.User, "contributions are not valid JSON")
			}
		}
	}
	return nil
}
