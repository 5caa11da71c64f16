package check_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/check"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/postgres"
	"koyomi.dev/koyomi/internal/store/postgres/pgtest"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

// written is when the fixture's objects are stored (and indexed).
var written = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func event(uid, extra string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240105T100000Z\r\nDTEND:20240105T110000Z\r\n" + extra +
		"SUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
}

const todo = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VTODO\r\nUID:todo-1\r\n" +
	"DTSTAMP:20240101T000000Z\r\nSUMMARY:undated\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"

func card(uid string) string {
	return "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Someone\r\nUID:" + uid + "\r\nEND:VCARD\r\n"
}

type fixture struct {
	dir    string // SQLite's data directory; empty on PostgreSQL
	st     store.Store
	reopen func(*testing.T) store.Store
	cal    *store.Collection
	ab     *store.Collection
}

// newFixture stores, through the domain as the server does, single,
// infinitely and finitely recurring events, an undated to-do, a card, a
// deleted object, a plain file, a group and a virtual calendar.
func newFixture(t *testing.T, backend string) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{}
	switch backend {
	case "sqlite":
		f.dir = t.TempDir()
		f.reopen = func(t *testing.T) store.Store {
			st, err := sqlite.Open(context.Background(), f.dir, sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
	case "postgres":
		dsn := pgtest.Database(t)
		f.reopen = func(t *testing.T) store.Store {
			st, err := postgres.Open(context.Background(), dsn, postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
	}
	f.open(t)
	svc := domain.New(f.st, domain.Options{Clock: func() time.Time { return written }})
	err := f.st.Update(ctx, func(tx store.Tx) error {
		return tx.CreateUser(ctx, &store.User{Name: "alice", PasswordHash: "x", Created: written})
	})
	if err != nil {
		t.Fatal(err)
	}
	f.cal = &store.Collection{Owner: "alice", Name: "cal", Kind: store.KindCalendar}
	f.ab = &store.Collection{Owner: "alice", Name: "contacts", Kind: store.KindAddressBook}
	plain := &store.Collection{Owner: "alice", Name: "files", Kind: store.KindPlain}
	for _, c := range []*store.Collection{f.cal, f.ab, plain} {
		if err := svc.CreateCollection(ctx, c, nil); err != nil {
			t.Fatal(err)
		}
	}
	put := func(c *store.Collection, name, data string) {
		t.Helper()
		if _, _, err := svc.PutObject(ctx, c, name, "", []byte(data), "", store.PutOptions{}); err != nil {
			t.Fatalf("put %s: %v", name, err)
		}
	}
	put(f.cal, "single.ics", event("single", ""))
	put(f.cal, "weekly.ics", event("weekly", "RRULE:FREQ=WEEKLY\r\n"))
	put(f.cal, "daily.ics", event("daily", "RRULE:FREQ=DAILY;COUNT=5\r\n"))
	put(f.cal, "gone.ics", event("gone", ""))
	put(f.cal, "todo.ics", todo)
	put(f.cal, "single.ics", event("single", "LOCATION:here\r\n"))
	put(f.ab, "someone.vcf", card("card-1"))
	put(plain, "notes.txt", "anything at all")
	if err := svc.DeleteObject(ctx, f.cal, "gone.ics", ""); err != nil {
		t.Fatal(err)
	}
	if err := svc.CreateGroup(ctx, "team", "Team", false); err != nil {
		t.Fatal(err)
	}
	if err := svc.AddMember(ctx, "team", "alice", []domain.Contribution{{Calendar: "cal", Level: "busy"}}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) open(t *testing.T) {
	t.Helper()
	st := f.reopen(t)
	f.st = st
	t.Cleanup(func() { st.Close() })
}

// rawSQL changes the database behind the store's back, for damage the
// store contract cannot express.
func (f *fixture) rawSQL(t *testing.T, stmts ...string) {
	t.Helper()
	if err := f.st.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", filepath.Join(f.dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	f.open(t)
}

// rewrite stores an object back after change changes its index fields.
func (f *fixture) rewrite(t *testing.T, c *store.Collection, name string, change func(*store.Object)) {
	t.Helper()
	ctx := context.Background()
	err := f.st.Update(ctx, func(tx store.Tx) error {
		o, err := tx.GetObject(ctx, c.ID, name)
		if err != nil {
			return err
		}
		change(o)
		_, err = tx.PutObject(ctx, o, store.PutOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func runCheck(t *testing.T, st store.Store, now time.Time) (int, string) {
	t.Helper()
	var report bytes.Buffer
	n, err := check.Options{Now: func() time.Time { return now }}.Run(context.Background(), st, &report)
	if err != nil {
		t.Fatalf("check: %v\n%s", err, report.String())
	}
	return n, report.String()
}

// backends are the stores the check runs against; PostgreSQL when
// pgtest.EnvVar names a server.
func backends() []string {
	if os.Getenv(pgtest.EnvVar) != "" {
		return []string{"sqlite", "postgres"}
	}
	return []string{"sqlite"}
}

func TestHealthyStore(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) { testHealthyStore(t, backend) })
	}
}

func testHealthyStore(t *testing.T, backend string) {
	f := newFixture(t, backend)
	// Checking later than the objects were written moves the fresh
	// occurrence horizon; that alone must not count as a problem.
	for _, now := range []time.Time{written, written.Add(400 * 24 * time.Hour), time.Now()} {
		n, report := runCheck(t, f.st, now)
		if n != 0 {
			t.Errorf("at %s: %d problems in a healthy store:\n%s", now, n, report)
		}
		if !strings.Contains(report, "checked 1 users, 3 collections, 6 objects, 1 virtual calendars: 0 problems") {
			t.Errorf("at %s: summary missing or wrong:\n%s", now, report)
		}
	}
}

func TestCorruptionIsFound(t *testing.T) {
	tests := []struct {
		name     string
		corrupt  func(*testing.T, *fixture)
		location string
		want     string
		raw      bool // corrupt uses rawSQL
	}{
		{"index UID differs from data", func(t *testing.T, f *fixture) {
			f.rewrite(t, f.cal, "single.ics", func(o *store.Object) { o.UID = "someone-else" })
		}, "alice/cal/single.ics", `index UID is "someone-else", the data says "single"`, false},
		{"data UID differs from index", func(t *testing.T, f *fixture) {
			f.rewrite(t, f.cal, "single.ics", func(o *store.Object) { o.Data = []byte(event("other", "")) })
		}, "alice/cal/single.ics", `index UID is "single", the data says "other"`, false},
		{"span moved", func(t *testing.T, f *fixture) {
			f.rewrite(t, f.cal, "single.ics", func(o *store.Object) { o.SpanStart = o.SpanStart.Add(time.Hour) })
		}, "alice/cal/single.ics", "index span is", false},
		{"component wrong", func(t *testing.T, f *fixture) {
			f.rewrite(t, f.cal, "todo.ics", func(o *store.Object) { o.Component = "VEVENT" })
		}, "alice/cal/todo.ics", `index component is "VEVENT", the data says "VTODO"`, false},
		{"recurring flag wrong", func(t *testing.T, f *fixture) {
			f.rewrite(t, f.cal, "daily.ics", func(o *store.Object) { o.Recurring = false })
		}, "alice/cal/daily.ics", "index says recurring=false", false},
		{"occurrence missing", func(t *testing.T, f *fixture) {
			f.rewrite(t, f.cal, "weekly.ics", func(o *store.Object) { o.Occurrences = o.Occurrences[1:] })
		}, "alice/cal/weekly.ics", "occurrence index has", false},
		{"occurrence moved", func(t *testing.T, f *fixture) {
			f.rewrite(t, f.cal, "daily.ics", func(o *store.Object) { o.Occurrences[2].End = o.Occurrences[2].End.Add(time.Minute) })
		}, "alice/cal/daily.ics", "entry 2: stored", false},
		{"calendar data does not parse", func(t *testing.T, f *fixture) {
			f.rewrite(t, f.cal, "single.ics", func(o *store.Object) { o.Data = []byte("not a calendar") })
		}, "alice/cal/single.ics", "stored iCalendar does not parse", false},
		{"card UID differs", func(t *testing.T, f *fixture) {
			f.rewrite(t, f.ab, "someone.vcf", func(o *store.Object) { o.Data = []byte(card("card-2")) })
		}, "alice/contacts/someone.vcf", `index UID is "card-1", the data says "card-2"`, false},
		{"card does not parse", func(t *testing.T, f *fixture) {
			f.rewrite(t, f.ab, "someone.vcf", func(o *store.Object) { o.Data = []byte("BEGIN:VCARD\r\n") })
		}, "alice/contacts/someone.vcf", "stored vCard does not parse", false},
		{"virtual calendar definition not JSON", func(t *testing.T, f *fixture) {
			ctx := context.Background()
			err := f.st.Update(ctx, func(tx store.Tx) error {
				return tx.CreateVirtualCalendar(ctx, &store.VirtualCalendar{Owner: "alice", Name: "broken", Definition: []byte("{")})
			})
			if err != nil {
				t.Fatal(err)
			}
		}, "vc:alice/broken", "definition is not valid JSON", false},
		{"trash payload not JSON", func(t *testing.T, f *fixture) {
			ctx := context.Background()
			err := f.st.Update(ctx, func(tx store.Tx) error {
				return tx.AddTrash(ctx, &store.TrashItem{Owner: "alice", Kind: store.TrashCollection, Name: "old", Payload: []byte("{")})
			})
			if err != nil {
				t.Fatal(err)
			}
		}, "trash:", "payload is not valid JSON", false},
		{"user live and in the trash", func(t *testing.T, f *fixture) {
			ctx := context.Background()
			err := f.st.Update(ctx, func(tx store.Tx) error {
				return tx.AddTrash(ctx, &store.TrashItem{Owner: "alice", Kind: store.TrashUser, Name: "alice", Payload: []byte("{}")})
			})
			if err != nil {
				t.Fatal(err)
			}
		}, "trash:", "user alice is both live and in the trash", false},
		{"object without change-log entry", func(t *testing.T, f *fixture) {
			f.rawSQL(t, `DELETE FROM changes WHERE name = 'single.ics'`)
		}, "alice/cal/single.ics", "object has no change-log entry", true},
		{"live object logged as deleted", func(t *testing.T, f *fixture) {
			f.rawSQL(t, `UPDATE changes SET deleted = 1 WHERE name = 'weekly.ics'`)
		}, "alice/cal/weekly.ics", "change log records its deletion", true},
		{"change newer than collection", func(t *testing.T, f *fixture) {
			f.rawSQL(t, `UPDATE changes SET revision = 999 WHERE name = 'todo.ics'`)
		}, "alice/cal/todo.ics", "newer than the collection's revision", true},
		{"revision used twice", func(t *testing.T, f *fixture) {
			f.rawSQL(t, `UPDATE changes SET revision = (SELECT revision FROM changes WHERE name = 'todo.ics') WHERE name = 'daily.ics'`)
		}, "alice/cal/", "is also the revision of", true},
		{"logged object that does not exist", func(t *testing.T, f *fixture) {
			f.rawSQL(t, `DELETE FROM objects WHERE name = 'daily.ics'`)
		}, "alice/cal/daily.ics", "does not exist", true},
		{"ETag out of step", func(t *testing.T, f *fixture) {
			f.rawSQL(t, `UPDATE objects SET etag = 'abc' WHERE name = 'notes.txt'`)
		}, "alice/files/notes.txt", `ETag "abc" does not match the data`, true},
		{"occurrence rows lost", func(t *testing.T, f *fixture) {
			f.rawSQL(t, `DELETE FROM occurrences WHERE object_id = (SELECT id FROM objects WHERE name = 'weekly.ics')`)
		}, "alice/cal/weekly.ics", "occurrence index has 0 entries", true},
	}
	for _, backend := range backends() {
		for _, tt := range tests {
			if tt.raw && backend != "sqlite" {
				continue // the damage is written in SQLite's schema
			}
			t.Run(backend+"/"+tt.name, func(t *testing.T) {
				f := newFixture(t, backend)
				tt.corrupt(t, f)
				n, report := runCheck(t, f.st, written.Add(24*time.Hour))
				if n == 0 {
					t.Fatalf("no problem found:\n%s", report)
				}
				found := false
				for _, line := range strings.Split(report, "\n") {
					if strings.HasPrefix(line, tt.location) && strings.Contains(line, tt.want) {
						found = true
					}
				}
				if !found {
					t.Errorf("no line at %s containing %q:\n%s", tt.location, tt.want, report)
				}
			})
		}
	}
}

// TestETagRule keeps the check's ETag in step with both stores'.
func TestETagRule(t *testing.T) {
	for _, data := range []string{"", "x", event("a", "")} {
		got := check.ETag([]byte(data))
		if got != sqlite.ETag([]byte(data)) || got != postgres.ETag([]byte(data)) {
			t.Errorf("ETag(%q) = %s, stores say %s and %s", data, got, sqlite.ETag([]byte(data)), postgres.ETag([]byte(data)))
		}
	}
}
