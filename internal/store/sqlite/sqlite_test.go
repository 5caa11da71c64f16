package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/sqlshared"
	"koyomi.dev/koyomi/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		db, err := Open(t.Context(), t.TempDir(), Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return db
	})
}

func openTemp(t *testing.T, dir string) *DB {
	t.Helper()
	db, err := Open(t.Context(), dir, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	// Spaces and URI metacharacters in the directory must not confuse the
	// driver's file: URI.
	dir := filepath.Join(t.TempDir(), "data dir?#%")
	db := openTemp(t, dir)
	ctx := t.Context()
	err := db.Update(ctx, func(tx store.Tx) error { return tx.CreateUser(ctx, &store.User{Name: "alice"}) })
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Fatalf("database file not where expected: %v", err)
	}

	db = openTemp(t, dir)
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	err = db.View(ctx, func(tx store.Tx) error {
		_, err := tx.GetUser(ctx, "alice")
		return err
	})
	if err != nil {
		t.Fatalf("user lost across reopen: %v", err)
	}
	var versions, maxVersion int
	if err := db.reader.QueryRowContext(ctx, `SELECT count(*), max(version) FROM schema_version`).Scan(&versions, &maxVersion); err != nil {
		t.Fatal(err)
	}
	if versions != len(migrations()) || maxVersion != len(migrations()) {
		t.Errorf("schema_version has %d rows up to %d, want %d", versions, maxVersion, len(migrations()))
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	db := openTemp(t, dir)
	ctx := t.Context()
	if _, err := db.writer.ExecContext(ctx, `INSERT INTO schema_version (version, applied) VALUES (?, 0)`, len(migrations())+1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err := Open(ctx, dir, Options{})
	if err == nil {
		db.Close()
		t.Fatal("Open accepted a database from a newer version")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Errorf("error does not say why: %v", err)
	}
}

func TestConnectionSettings(t *testing.T) {
	db := openTemp(t, t.TempDir())
	defer db.Close()
	ctx := t.Context()
	tests := []struct {
		pool   string
		pragma string
		want   string
	}{
		{"writer", "journal_mode", "wal"},
		{"writer", "synchronous", "2"}, // FULL
		{"writer", "foreign_keys", "1"},
		{"writer", "busy_timeout", "5000"},
		{"reader", "journal_mode", "wal"},
		{"reader", "foreign_keys", "1"},
		{"reader", "query_only", "1"},
	}
	for _, tt := range tests {
		pool := db.writer
		if tt.pool == "reader" {
			pool = db.reader
		}
		var got string
		if err := pool.QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got); err != nil {
			t.Fatalf("%s PRAGMA %s: %v", tt.pool, tt.pragma, err)
		}
		if got != tt.want {
			t.Errorf("%s PRAGMA %s = %q, want %q", tt.pool, tt.pragma, got, tt.want)
		}
	}
}

// TestQueriesUseIndexes guards against a query silently turning into a full
// table scan as the schema evolves.
func TestQueriesUseIndexes(t *testing.T) {
	db := openTemp(t, t.TempDir())
	defer db.Close()
	subtree, subtreeArgs := sqlshared.PropertySubtree("/a")
	queries := []struct {
		name  string
		query string
		args  []any
	}{
		{"range", fmt.Sprintf(rangeQuery, objectColumns(true)), []any{1, 0, 100, earliestShortStart(0)}},
		{"uid", `SELECT name, href FROM objects WHERE collection_id = ? AND uid = ? AND name <> ? LIMIT 1`, []any{1, "u", "n"}},
		{"uid lookup", `SELECT name FROM objects WHERE collection_id = ? AND uid = ? LIMIT 1`, []any{1, "u"}},
		{"changes", `SELECT name, revision, deleted FROM changes WHERE collection_id = ? AND revision > ? ORDER BY revision`, []any{1, 0}},
		{"properties subtree", `DELETE FROM properties WHERE ` + subtree, subtreeArgs},
		{"occurrences", `SELECT object_id FROM occurrences WHERE object_id IN (SELECT value FROM json_each(?))`, []any{"[1]"}},
		{"recurring starting in", recurringStartingQuery, []any{1, 0, 100}},
		{"list without data", listQuery(false), []any{1}},
	}
	for _, q := range queries {
		t.Run(q.name, func(t *testing.T) {
			rows, err := db.writer.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q.query, q.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			for _, step := range plan {
				// json_each is a table-valued function: scanning it is the point.
				if strings.HasPrefix(step, "SCAN ") && !strings.Contains(step, "json_each") {
					t.Errorf("full scan in plan:\n%s", strings.Join(plan, "\n"))
					break
				}
			}
			if q.name == "range" {
				checkRangePlan(t, plan)
			}
			// A SEARCH on the collection alone reads all of it: a UID must
			// be looked up by both columns.
			if strings.HasPrefix(q.name, "uid") && !slices.ContainsFunc(plan, func(s string) bool {
				return strings.Contains(s, "objects_uid (collection_id=? AND uid=?)")
			}) {
				t.Errorf("UID lookup does not use objects_uid on both columns:\n%s", strings.Join(plan, "\n"))
			}
			if q.name == "list without data" && !slices.ContainsFunc(plan, func(s string) bool { return strings.Contains(s, "COVERING INDEX objects_list") }) {
				t.Errorf("listing reads the table, not the covering index:\n%s", strings.Join(plan, "\n"))
			}
		})
	}
}

// checkRangePlan asserts that rangeQuery reads every branch by an index
// range bounded on both sides: a start index only with a lower bound, and
// the long periods through their partial indexes.
func checkRangePlan(t *testing.T, plan []string) {
	t.Helper()
	all := strings.Join(plan, "\n")
	for _, index := range []string{"objects_long", "occurrences_long", "objects_indexed_until"} {
		if !strings.Contains(all, "INDEX "+index+" ") {
			t.Errorf("range plan does not use %s:\n%s", index, all)
		}
	}
	for _, step := range plan {
		for _, col := range []string{"span_start", "start_us"} {
			if strings.Contains(step, col+"<?") && !strings.Contains(step, col+">?") {
				t.Errorf("range plan reads %s without a lower bound: %s", col, step)
			}
		}
	}
}

// TestBusyWriterWaits checks that an Update waiting for the single writer
// connection gives up when its context ends instead of hanging.
func TestBusyWriterWaits(t *testing.T) {
	db := openTemp(t, t.TempDir())
	defer db.Close()
	held := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- db.Update(t.Context(), func(tx store.Tx) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := db.Update(ctx, func(tx store.Tx) error { return nil })
	close(release)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second Update while the first held the writer: %v, want deadline exceeded", err)
	}
	if err := <-done; err != nil {
		t.Errorf("first Update: %v", err)
	}
}

// BenchmarkPutObject measures one Update with one PutObject: dominated by the
// fsync synchronous=FULL does at every commit. Set KOYOMI_BENCH_DIR to
// measure on a real disk rather than the temporary directory.
func BenchmarkPutObject(b *testing.B) {
	dir := b.TempDir()
	if d := os.Getenv("KOYOMI_BENCH_DIR"); d != "" {
		var err error
		if dir, err = os.MkdirTemp(d, "bench"); err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(dir)
	}
	db, err := Open(b.Context(), dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := b.Context()
	c := &store.Collection{Owner: "alice", Name: "cal", Kind: store.KindCalendar}
	err = db.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateUser(ctx, &store.User{Name: "alice"}); err != nil {
			return err
		}
		return tx.CreateCollection(ctx, c)
	})
	if err != nil {
		b.Fatal(err)
	}
	data := []byte(strings.Repeat("BEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VEVENT\r\n", 20))
	// A daily series indexed for a year, next to a single event.
	start := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	var daily []store.Period
	for d := range 365 {
		t := start.AddDate(0, 0, d)
		daily = append(daily, store.Period{Start: t, End: t.Add(time.Hour)})
	}
	for _, kind := range []string{"single", "daily-year"} {
		b.Run(kind, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				name := fmt.Sprintf("%s-%d.ics", kind, i%1000)
				o := &store.Object{CollectionID: c.ID, Name: name, UID: name, Data: data}
				if kind == "daily-year" {
					o.Recurring, o.SpanStart, o.SpanEnd = true, start, daily[len(daily)-1].End
					o.Occurrences = slices.Clone(daily)
				}
				err := db.Update(ctx, func(tx store.Tx) error {
					_, err := tx.PutObject(ctx, o, store.PutOptions{})
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRangeMigrationFillsExistingRows builds a database as schema version 3
// left it (storetest.RangeMigrationRows) and checks the migrated store.
func TestRangeMigrationFillsExistingRows(t *testing.T) {
	dir := t.TempDir()
	buildLegacy(t, dir, 3, storetest.RangeMigrationRows()...)
	db := openTemp(t, dir)
	defer db.Close()
	storetest.CheckRangeMigration(t, db)
}

// buildLegacy builds, in dir, a database as schema version left it, with
// the rows fill writes (storetest.BuildLegacy).
func buildLegacy(t *testing.T, dir string, version int, fill ...string) {
	t.Helper()
	raw, err := sql.Open("sqlite", dsn(filepath.Join(dir, FileName), time.Second, false))
	if err != nil {
		t.Fatal(err)
	}
	err = storetest.BuildLegacy(func(stmt string) error {
		_, err := raw.ExecContext(t.Context(), stmt)
		return err
	}, migrations(), version, fill...)
	if cerr := raw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestPropertyKeyMigration builds a database as schema version 12 left it,
// dead properties under URL paths, and checks that migrating it keys them
// by IDs as the domain does, dropping those that name nothing.
func TestPropertyKeyMigration(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	fill, want := storetest.PathKeyedProperties()
	buildLegacy(t, dir, 12, fill...)

	db := openTemp(t, dir)
	defer db.Close()
	rows, err := db.writer.QueryContext(ctx, `SELECT key, xml FROM properties`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var key string
		var xml []byte
		if err := rows.Scan(&key, &xml); err != nil {
			t.Fatal(err)
		}
		got = append(got, key+"="+string(xml))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("properties after the migration:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Stores are created only on purpose: with MustExist, a missing directory,
// a missing database file or a file without the schema is no store, and
// nothing is created looking for it.
func TestOpenMustExist(t *testing.T) {
	ctx := t.Context()
	missing := filepath.Join(t.TempDir(), "typo")
	if db, err := Open(ctx, missing, Options{MustExist: true}); !errors.Is(err, store.ErrNoStore) {
		if db != nil {
			db.Close()
		}
		t.Fatalf("missing directory: err = %v, want ErrNoStore", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("looking for a store created %s (stat: %v)", missing, err)
	}
	empty := t.TempDir()
	if _, err := Open(ctx, empty, Options{MustExist: true}); !errors.Is(err, store.ErrNoStore) || !strings.Contains(err.Error(), FileName) {
		t.Fatalf("directory without database: err = %v, want ErrNoStore naming %s", err, FileName)
	}
	if err := os.WriteFile(filepath.Join(empty, FileName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, empty, Options{MustExist: true}); !errors.Is(err, store.ErrNoStore) {
		t.Fatalf("database without schema: err = %v, want ErrNoStore", err)
	}
	dir := t.TempDir()
	openTemp(t, dir).Close()
	db, err := Open(ctx, dir, Options{MustExist: true})
	if err != nil {
		t.Fatalf("existing store: %v", err)
	}
	db.Close()
}

// A start that migrates logs one line naming both versions, however many
// steps it ran; a start with nothing to do logs none.
func TestMigrationLogsOneLine(t *testing.T) {
	var logs strings.Builder
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	dir := t.TempDir()
	db, err := Open(t.Context(), dir, Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	want := fmt.Sprintf("from=0 to=%d", len(migrations()))
	if n := strings.Count(logs.String(), "database schema migrated"); n != 1 || !strings.Contains(logs.String(), want) {
		t.Errorf("first open logged %d migration lines, want 1 with %q:\n%s", n, want, logs.String())
	}
	logs.Reset()
	db, err = Open(t.Context(), dir, Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if strings.Contains(logs.String(), "migrated") {
		t.Errorf("second open logged a migration:\n%s", logs.String())
	}
}
