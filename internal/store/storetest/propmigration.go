package storetest

import (
	"fmt"
	"slices"
	"strings"

	"koyomi.dev/koyomi/internal/store"
)

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
