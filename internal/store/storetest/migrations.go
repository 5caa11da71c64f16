package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// Support for each store's migration tests: a database built as an older
// schema left it, with rows written then, and what the migrated store must
// answer. The statements run alike in both dialects.

// BuildLegacy brings an empty database, through exec, to the schema that
// version of a store's migrations left, recording each version in
// schema_version as the store does, and then runs fill.
func BuildLegacy(exec func(stmt string) error, migrations []string, version int, fill ...string) error {
	stmts := []string{`CREATE TABLE schema_version (version integer PRIMARY KEY, applied bigint NOT NULL)`}
	for v, step := range migrations[:version] {
		stmts = append(stmts, step, fmt.Sprintf(`INSERT INTO schema_version VALUES (%d, 0)`, v+1))
	}
	for _, s := range append(stmts, fill...) {
		if err := exec(s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// RangeMigrationRows returns statements that fill a database at schema
// version 3 of both stores, before occurrences knew whether their object
// recurs: a month-long event, a weekly one, and a non-recurring object
// with occurrences rows it should never have had.
func RangeMigrationRows() []string {
	day := int64(24 * time.Hour / time.Microsecond)
	may := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	return []string{
		`INSERT INTO users (name) VALUES ('alice')`,
		`INSERT INTO collections (id, owner, name, kind) VALUES (1, 'alice', 'cal', 'calendar')`,
		fmt.Sprintf(`INSERT INTO objects (id, collection_id, name, etag, data, size, has_span, span_start, span_end, recurring)
			VALUES (1, 1, 'month', 'e1', 'x', 1, true, %d, %d, false),
			       (2, 1, 'weekly', 'e2', 'x', 1, true, %d, %d, true),
			       (3, 1, 'odd', 'e3', 'x', 1, true, %d, %d, false)`,
			may, may+30*day, may, may+10*day, may, may+day/24),
		fmt.Sprintf(`INSERT INTO occurrences (object_id, collection_id, start_us, end_us)
			VALUES (2, 1, %d, %d), (2, 1, %d, %d), (3, 1, %d, %d)`,
			may, may+3*day, may+7*day, may+10*day, may+20*day, may+21*day),
	}
}

// CheckRangeMigration checks a store opened on a database filled by
// RangeMigrationRows, and so migrated since: range lookups answer as on a
// database written afterwards, the long event found from inside, the
// non-recurring object's occurrences ignored.
func CheckRangeMigration(t *testing.T, s store.Store) {
	t.Helper()
	tests := []struct {
		day  int // of May, a one-hour range at noon
		want []string
	}{
		{3, []string{"month", "weekly"}},
		{6, []string{"month"}},
		{9, []string{"month", "weekly"}},
		{21, []string{"month"}},
	}
	for _, tt := range tests {
		start := time.Date(2026, 5, tt.day, 12, 0, 0, 0, time.UTC)
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			objs, err := tx.FindObjectsInRange(ctx, 1, start, start.Add(time.Hour))
			if err != nil {
				return err
			}
			if names := objectNames(objs); !slices.Equal(names, tt.want) {
				t.Errorf("May %d: %v, want %v", tt.day, names, tt.want)
			}
			return nil
		})
	}
}

// PathKeyedProperties returns statements that fill a database at the schema
// before dead properties were keyed by IDs (SQLite's version 12,
// PostgreSQL's 11) as the DAV namespace left it, properties under the
// unescaped URL paths of their resources, and the properties the migration
// must leave, as "KEY=VALUE" lines in byte order. Each value is the path
// it was stored under, so that a property at the wrong key shows where it
// came from. The statements run alike in both dialects.
func PathKeyedProperties() (stmts, want []string) {
	stmts = []string{
		`INSERT INTO users (name) VALUES ('alice'), ('bob'), ('a_c')`,
		`INSERT INTO collections (id, owner, name, kind) VALUES
			(1, 'alice', 'work', 'calendar'), (2, 'alice', 'contacts', 'addressbook'),
			(3, 'alice', 'plain', 'plain'), (4, 'alice', 'plain/inner', 'calendar'),
			(5, 'alice', 'vc-7', 'calendar'), (6, 'bob', 'work', 'calendar'), (7, 'a_c', 'work', 'calendar')`,
		`INSERT INTO objects (id, collection_id, name, etag, data, size) VALUES
			(1, 1, 'a b.ics', 'e', 'x', 1), (2, 2, 'card.vcf', 'e', 'x', 1), (3, 4, 'x.ics', 'e', 'x', 1),
			(4, 6, 'o%1.ics', 'e', 'x', 1), (5, 1, 'c.ics', 'e', 'x', 1)`,
		`INSERT INTO virtual_calendars (id, owner, name, definition, version) VALUES (7, 'bob', 'team', 'x', 1)`,
		`INSERT INTO vc_subscriptions (vc_id, viewer) VALUES (7, 'alice'), (7, 'bob')`,
	}
	work := &store.Collection{ID: 1, Owner: "alice"}
	contacts := &store.Collection{ID: 2, Owner: "alice"}
	inner := &store.Collection{ID: 4, Owner: "alice"}
	bobs := &store.Collection{ID: 6, Owner: "bob"}
	kept := []struct {
		path string
		key  string
	}{
		{"/dav/principals/alice/", store.PrincipalKey("alice")},
		{"/dav/calendars/alice/", store.HomeKey("alice", store.KindCalendar)},
		{"/dav/addressbooks/alice/", store.HomeKey("alice", store.KindAddressBook)},
		{"/dav/calendars/a_c/", store.HomeKey("a_c", store.KindCalendar)},
		{"/dav/calendars/alice/work/", store.CollectionKey(work.ID)},
		{"/dav/calendars/alice/work/a b.ics", store.ObjectKey(work.ID, "a b.ics")},
		{"/dav/addressbooks/alice/contacts/", store.CollectionKey(contacts.ID)},
		{"/dav/addressbooks/alice/contacts/card.vcf", store.ObjectKey(contacts.ID, "card.vcf")},
		{"/dav/calendars/alice/plain/inner/", store.CollectionKey(inner.ID)},
		{"/dav/calendars/alice/plain/inner/x.ics", store.ObjectKey(inner.ID, "x.ics")},
		{"/dav/calendars/bob/work/", store.CollectionKey(bobs.ID)},
		{"/dav/calendars/bob/work/o%1.ics", store.ObjectKey(bobs.ID, "o%1.ics")},
		// A view shadows the collection named like it.
		{"/dav/calendars/alice/vc-7/", store.VCKey(7, "alice")},
		{"/dav/calendars/bob/vc-7/", store.VCKey(7, "bob")},
	}
	dropped := []string{
		"/dav/principals/carol/",              // no such user
		"/dav/calendars/alice/gone/",          // no such collection
		"/dav/calendars/alice/work/gone.ics",  // no such object
		"/dav/calendars/alice/contacts/",      // an address book outside its home
		"/dav/calendars/alice/work/a%20b.ics", // an escaped spelling
		"/dav/calendars/alice/work",           // no trailing slash
		"/dav/calendars/a_c/vc-7/",            // a view a_c never subscribed to
	}
	var values []string
	for _, k := range kept {
		values = append(values, fmt.Sprintf("('%s', 'urn:x', 'p', '%s')", k.path, k.path))
		want = append(want, k.key+"="+k.path)
	}
	// A second property of a path goes with the first.
	values = append(values, "('/dav/calendars/alice/', 'urn:x', 'q', 'second')")
	want = append(want, store.HomeKey("alice", store.KindCalendar)+"=second")
	for _, path := range dropped {
		values = append(values, fmt.Sprintf("('%s', 'urn:x', 'p', '%s')", path, path))
	}
	stmts = append(stmts, `INSERT INTO properties (path, namespace, local, xml) VALUES `+strings.Join(values, ", "))
	slices.Sort(want)
	return stmts, want
}
