package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/postgres/pgtest"
	"koyomi.dev/koyomi/internal/store/sqlshared"
	"koyomi.dev/koyomi/internal/store/storetest"
)

func serverDSN(t *testing.T) string { return pgtest.ServerDSN(t) }

func withDatabase(t *testing.T, dsn, name string) string { return pgtest.WithDatabase(t, dsn, name) }

func freshDatabase(t *testing.T) string { return pgtest.Database(t) }

func open(t *testing.T, dsn string) *DB {
	t.Helper()
	db, err := Open(t.Context(), dsn, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

func TestConformance(t *testing.T) {
	serverDSN(t)
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, freshDatabase(t)) })
}

func TestConcurrentMigrations(t *testing.T) {
	dsn := freshDatabase(t)
	const nodes = 4
	dbs := make([]*DB, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { dbs[i], errs[i] = Open(t.Context(), dsn, Options{MaxConns: 2}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: Open: %v", i, err)
			continue
		}
		defer dbs[i].Close()
	}
	if t.Failed() {
		t.FailNow()
	}
	var versions []int
	rows, err := dbs[0].pool.Query(t.Context(), `SELECT version FROM schema_version ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	versions, err = pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	want := make([]int, len(migrations()))
	for i := range want {
		want[i] = i + 1
	}
	if !slices.Equal(versions, want) {
		t.Errorf("schema_version = %v, want each step once: %v", versions, want)
	}
	// Every node sees the schema.
	for i, db := range dbs {
		err := db.Update(t.Context(), func(tx store.Tx) error {
			return tx.CreateUser(t.Context(), &store.User{Name: fmt.Sprintf("node%d", i)})
		})
		if err != nil {
			t.Errorf("node %d: %v", i, err)
		}
	}
}

// TestIndexedNamesOrderByBytes holds every text column in an index to the
// "C" collation, as migrate.go promises: in the database's default, a
// server set up with a linguistic locale would order names unlike the
// SQLite store (the test server's default may well be C, which hides it).
func TestIndexedNamesOrderByBytes(t *testing.T) {
	db := open(t, freshDatabase(t))
	defer db.Close()
	rows, err := db.pool.Query(t.Context(), `SELECT DISTINCT c.relname || '.' || a.attname
		FROM pg_index i
		JOIN pg_class c ON c.oid = i.indrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey)
		WHERE n.nspname = current_schema() AND a.atttypid = 'text'::regtype
			AND a.attcollation <> (SELECT oid FROM pg_collation WHERE collname = 'C')
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	columns, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(columns) > 0 {
		t.Errorf("indexed text columns not in the C collation: %v", columns)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	dsn := freshDatabase(t)
	db := open(t, dsn)
	if _, err := db.pool.Exec(t.Context(), `INSERT INTO schema_version (version, applied) VALUES ($1, 0)`, len(migrations())+1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err := Open(t.Context(), dsn, Options{})
	if err == nil {
		db.Close()
		t.Fatal("Open accepted a database from a newer version")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Errorf("error does not say why: %v", err)
	}
}

func TestOpenFailures(t *testing.T) {
	tests := []struct {
		name, dsn, want string
	}{
		{"malformed", "postgres://user:secret@[::1", "invalid connection string"},
		// Nothing listens on port 1.
		{"unreachable", "postgres://user:secret@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", "connect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(t.Context(), tt.dsn, Options{})
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "secret") {
				t.Errorf("error = %v, want it to mention %q and not the password", err, tt.want)
			}
		})
	}
}

// TestTwoNodes runs writers on two DBs sharing one database, as two server
// nodes would: every write lands, revisions stay unique and gapless, a UID
// is held by one object only, and If-Match read-modify-write cycles lose no
// update.
func TestTwoNodes(t *testing.T) {
	dsn := freshDatabase(t)
	nodes := []*DB{open(t, dsn), open(t, dsn)}
	for _, db := range nodes {
		defer db.Close()
	}
	ctx := t.Context()
	c := &store.Collection{Owner: "alice", Name: "cal", Kind: store.KindCalendar}
	err := nodes[0].Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateUser(ctx, &store.User{Name: "alice"}); err != nil {
			return err
		}
		if err := tx.CreateCollection(ctx, c); err != nil {
			return err
		}
		_, err := tx.PutObject(ctx, &store.Object{CollectionID: c.ID, Name: "counter", UID: "counter", Data: []byte("0")}, store.PutOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	const writers, perWriter, incrementers, increments, claimants = 4, 20, 4, 10, 6
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		errs      []error
		winners   []string
		conflicts []*store.UIDConflictError
	)
	fail := func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }

	for w := range writers {
		db := nodes[w%2]
		wg.Go(func() {
			for i := range perWriter {
				name := fmt.Sprintf("w%d-%d.ics", w, i)
				err := db.Update(ctx, func(tx store.Tx) error {
					_, err := tx.PutObject(ctx, &store.Object{CollectionID: c.ID, Name: name, UID: name, Data: []byte(name)}, store.PutOptions{})
					return err
				})
				if err != nil {
					fail(fmt.Errorf("%s: %w", name, err))
					return
				}
			}
		})
	}
	for w := range incrementers {
		db := nodes[w%2]
		wg.Go(func() {
			for done := 0; done < increments; {
				var current *store.Object
				if err := db.View(ctx, func(tx store.Tx) (err error) {
					current, err = tx.GetObject(ctx, c.ID, "counter")
					return err
				}); err != nil {
					fail(err)
					return
				}
				var n int
				fmt.Sscan(string(current.Data), &n)
				err := db.Update(ctx, func(tx store.Tx) error {
					_, err := tx.PutObject(ctx, &store.Object{CollectionID: c.ID, Name: "counter", UID: "counter",
						Data: []byte(fmt.Sprint(n + 1))}, store.PutOptions{IfMatch: current.ETag})
					return err
				})
				switch {
				case err == nil:
					done++
				case !errors.Is(err, store.ErrConflict):
					fail(fmt.Errorf("increment: %w", err))
					return
				}
			}
		})
	}
	for w := range claimants {
		db := nodes[w%2]
		wg.Go(func() {
			name := fmt.Sprintf("claim%d.ics", w)
			err := db.Update(ctx, func(tx store.Tx) error {
				_, err := tx.PutObject(ctx, &store.Object{CollectionID: c.ID, Name: name, UID: "contested", Data: []byte(name)}, store.PutOptions{})
				return err
			})
			var conflict *store.UIDConflictError
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				winners = append(winners, name)
			case errors.As(err, &conflict):
				conflicts = append(conflicts, conflict)
			default:
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}

	if len(winners) != 1 || len(conflicts) != claimants-1 {
		t.Fatalf("UID claimed by %v, %d conflicts; want one holder and %d conflicts", winners, len(conflicts), claimants-1)
	}
	for _, c := range conflicts {
		if c.Name != winners[0] || c.UID != "contested" {
			t.Errorf("conflict %+v, want it to name %s", c, winners[0])
		}
	}

	// Setup put, the writers' objects, the increments, the one claim.
	const total = 1 + writers*perWriter + incrementers*increments + 1
	err = nodes[1].View(ctx, func(tx store.Tx) error {
		col, err := tx.GetCollectionByID(ctx, c.ID)
		if err != nil {
			return err
		}
		if col.Revision != total {
			t.Errorf("revision = %d, want %d", col.Revision, total)
		}
		counter, err := tx.GetObject(ctx, c.ID, "counter")
		if err != nil {
			return err
		}
		if got, want := string(counter.Data), fmt.Sprint(incrementers*increments); got != want {
			t.Errorf("counter = %s after %s successful If-Match increments: updates were lost", got, want)
		}
		objs, err := tx.ListObjects(ctx, c.ID, false)
		if err != nil {
			return err
		}
		if want := 1 + writers*perWriter + 1; len(objs) != want {
			t.Errorf("%d objects, want %d", len(objs), want)
		}
		// Every revision ever assigned, as seen in the log of names plus
		// the overwritten counter revisions, must be distinct: the log keeps
		// the newest per name, so check it is strictly increasing and ends
		// at the collection's revision.
		changes, err := tx.Changes(ctx, c.ID, 0)
		if err != nil {
			return err
		}
		for i := 1; i < len(changes); i++ {
			if changes[i].Revision <= changes[i-1].Revision {
				t.Errorf("revisions not unique: %v then %v", changes[i-1], changes[i])
			}
		}
		if last := changes[len(changes)-1].Revision; last != total {
			t.Errorf("newest change at revision %d, want %d", last, total)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestQueriesUseIndexes guards against a query silently turning into a
// sequential scan as the schema evolves. The tables hold a few thousand rows
// over many collections, enough for the planner to prefer indexes where they
// help.
func TestQueriesUseIndexes(t *testing.T) {
	db := open(t, freshDatabase(t))
	defer db.Close()
	ctx := t.Context()
	const fill = `
INSERT INTO users (name) VALUES ('alice');
INSERT INTO collections (owner, name, kind) SELECT 'alice', 'cal' || c, 'calendar' FROM generate_series(1, 50) c;
INSERT INTO objects (collection_id, name, etag, uid, data, size, has_span, span_start, span_end, recurring)
	SELECT c, 'o' || i || '.ics', md5(c || '/' || i), 'uid' || i, 'data', 4, i % 10 <> 0,
		CASE WHEN i % 10 <> 0 THEN 1767225600000000 + i * 3600000000::bigint END,
		CASE WHEN i % 10 <> 0 THEN 1767225600000000 + i * 3600000000::bigint + 1800000000 END,
		i % 7 = 0
	FROM generate_series(1, 50) c, generate_series(1, 100) i;
INSERT INTO occurrences (object_id, collection_id, start_us, end_us)
	SELECT id, collection_id, span_start + w * 604800000000, span_start + w * 604800000000 + 1800000000
	FROM objects, generate_series(0, 9) w WHERE recurring AND has_span;
INSERT INTO changes (collection_id, name, revision) SELECT collection_id, name, id FROM objects;
INSERT INTO properties (key, namespace, local, xml)
	SELECT 'c:' || c || '/o' || i || '.ics', 'urn:x', 'p', 'x' FROM generate_series(1, 50) c, generate_series(1, 100) i;
ANALYZE;`
	if _, err := db.pool.Exec(ctx, fill); err != nil {
		t.Fatal(err)
	}
	rs, re := rangeBounds(at(2026, 1, 2), at(2026, 1, 3))
	// Most occurrences start before March: a range lookup unbounded below
	// would read them all.
	lateStart, lateEnd := rangeBounds(at(2026, 3, 1), at(2026, 3, 2))
	subtree, subtreeArgs := sqlshared.PropertySubtree("c:7")
	queries := []struct {
		name    string
		query   string
		args    []any
		indexes []string // the plan must use each
	}{
		{"range", fmt.Sprintf(rangeQuery, objectColumns(true)), []any{7, rs, re, earliestShortStart(rs)}, nil},
		{"range after most occurrences", fmt.Sprintf(rangeQuery, objectColumns(true)),
			[]any{7, lateStart, lateEnd, earliestShortStart(lateStart)},
			[]string{"objects_long", "occurrences_long", "objects_indexed_until"}},
		{"uid", `SELECT name FROM objects WHERE collection_id = $1 AND uid = $2 AND uid <> '' AND name <> $3`, []any{7, "uid5", "x"}, nil},
		{"object", `SELECT etag FROM objects WHERE collection_id = $1 AND name = $2`, []any{7, "o5.ics"}, nil},
		{"changes", `SELECT name, revision, deleted FROM changes WHERE collection_id = $1 AND revision > $2 ORDER BY revision`, []any{7, 650}, nil},
		{"occurrences", `SELECT object_id, start_us, end_us FROM occurrences WHERE object_id = ANY($1)`, []any{[]int64{7, 700}}, nil},
		{"properties subtree", rebind(`SELECT xml FROM properties WHERE ` + subtree), subtreeArgs, nil},
	}
	for _, q := range queries {
		t.Run(q.name, func(t *testing.T) {
			rows, err := db.pool.Query(ctx, "EXPLAIN "+q.query, q.args...)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			for _, step := range plan {
				if strings.Contains(step, "Seq Scan") {
					t.Errorf("sequential scan in plan:\n%s", strings.Join(plan, "\n"))
					break
				}
			}
			for _, index := range q.indexes {
				if !strings.Contains(strings.Join(plan, "\n"), " "+index+" ") {
					t.Errorf("plan does not use %s:\n%s", index, strings.Join(plan, "\n"))
				}
			}
		})
	}
}

func at(year int, month time.Month, day int) time.Time {
	return time.Date(year, month, day, 0, 0, 0, 0, time.UTC)
}

// TestWriterWaitingForLockSeesCommit pins down the ordering the collection
// lock gives: a write on one node that had to wait for another node's
// transaction checks its precondition against what that transaction
// committed, not against the state from before it waited.
func TestWriterWaitingForLockSeesCommit(t *testing.T) {
	dsn := freshDatabase(t)
	first, second := open(t, dsn), open(t, dsn)
	defer first.Close()
	defer second.Close()
	ctx := t.Context()
	c := &store.Collection{Owner: "alice", Name: "cal", Kind: store.KindCalendar}
	var old *store.Object
	err := first.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateUser(ctx, &store.User{Name: "alice"}); err != nil {
			return err
		}
		if err := tx.CreateCollection(ctx, c); err != nil {
			return err
		}
		old = &store.Object{CollectionID: c.ID, Name: "a.ics", UID: "a", Data: []byte("v1")}
		_, err := tx.PutObject(ctx, old, store.PutOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		// firstWrite runs on the first node while the second waits.
		firstWrite func(tx store.Tx) error
		// secondWrite must fail with wantErr once the first commits.
		secondWrite func(tx store.Tx) error
		wantErr     error
	}{
		{"If-Match on a replaced object",
			func(tx store.Tx) error {
				_, err := tx.PutObject(ctx, &store.Object{CollectionID: c.ID, Name: "a.ics", UID: "a", Data: []byte("v2")}, store.PutOptions{})
				return err
			},
			func(tx store.Tx) error {
				_, err := tx.PutObject(ctx, &store.Object{CollectionID: c.ID, Name: "a.ics", UID: "a", Data: []byte("v3")}, store.PutOptions{IfMatch: old.ETag})
				return err
			},
			store.ErrConflict},
		{"If-None-Match on a name just created",
			func(tx store.Tx) error {
				_, err := tx.PutObject(ctx, &store.Object{CollectionID: c.ID, Name: "b.ics", UID: "b", Data: []byte("b1")}, store.PutOptions{IfNoneMatch: true})
				return err
			},
			func(tx store.Tx) error {
				_, err := tx.PutObject(ctx, &store.Object{CollectionID: c.ID, Name: "b.ics", UID: "b", Data: []byte("b2")}, store.PutOptions{IfNoneMatch: true})
				return err
			},
			store.ErrConflict},
		{"UID just taken",
			func(tx store.Tx) error {
				_, err := tx.PutObject(ctx, &store.Object{CollectionID: c.ID, Name: "c1.ics", UID: "c", Data: []byte("c1")}, store.PutOptions{})
				return err
			},
			func(tx store.Tx) error {
				_, err := tx.PutObject(ctx, &store.Object{CollectionID: c.ID, Name: "c2.ics", UID: "c", Data: []byte("c2")}, store.PutOptions{})
				return err
			},
			store.ErrUIDConflict},
		{"delete of an object just deleted",
			func(tx store.Tx) error { return tx.DeleteObject(ctx, c.ID, "b.ics", "") },
			func(tx store.Tx) error { return tx.DeleteObject(ctx, c.ID, "b.ics", "") },
			store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			held, release := make(chan struct{}), make(chan struct{})
			firstDone := make(chan error, 1)
			go func() {
				firstDone <- first.Update(ctx, func(tx store.Tx) error {
					if err := tt.firstWrite(tx); err != nil {
						return err
					}
					close(held)
					<-release
					return nil
				})
			}()
			select {
			case <-held:
			case err := <-firstDone:
				t.Fatalf("first write: %v", err)
			}
			secondDone := make(chan error, 1)
			go func() { secondDone <- second.Update(ctx, tt.secondWrite) }()
			waitForLockWaiter(t, first)
			close(release)
			if err := <-firstDone; err != nil {
				t.Fatalf("first write: %v", err)
			}
			err := <-secondDone
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("second write after waiting: %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// waitForLockWaiter returns once some session of the test database waits for
// a lock.
func waitForLockWaiter(t *testing.T, db *DB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var waiting int
		err := db.pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the second writer never waited for a lock")
}

// TestTwoNodesCoordination runs the lease race and the lock-set
// read-modify-write cycles on two DBs sharing one database, as two server
// nodes would: one holder wins, no lock record is lost.
func TestTwoNodesCoordination(t *testing.T) {
	dsn := freshDatabase(t)
	a, b := open(t, dsn), open(t, dsn)
	defer a.Close()
	defer b.Close()
	t.Run("leases", func(t *testing.T) { storetest.ConcurrentLeases(t, a, b) })
	t.Run("locks", func(t *testing.T) { storetest.ConcurrentLockUpdates(t, a, b) })
}

// TestLocksInViewTakeNoLock checks that reading the lock set in a View does
// not queue behind an Update that holds the lock set.
func TestLocksInViewTakeNoLock(t *testing.T) {
	dsn := freshDatabase(t)
	a, b := open(t, dsn), open(t, dsn)
	defer a.Close()
	defer b.Close()
	ctx := t.Context()
	held, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- a.Update(ctx, func(tx store.Tx) error {
			if _, err := tx.Locks(ctx); err != nil {
				return err
			}
			close(held)
			<-release
			return nil
		})
	}()
	select {
	case <-held:
	case err := <-done:
		t.Fatalf("Update: %v", err)
	}
	viewCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	err := b.View(viewCtx, func(tx store.Tx) error {
		_, err := tx.Locks(viewCtx)
		return err
	})
	close(release)
	if err != nil {
		t.Errorf("Locks in View while an Update holds the lock set: %v", err)
	}
	if err := <-done; err != nil {
		t.Errorf("Update: %v", err)
	}
}

// TestVirtualCalendarOwnerDeletedConcurrently creates a virtual calendar on
// one node while its owner is deleted on another, in both orders: the
// calendar is either refused or deleted with its owner, never left behind.
// No foreign key follows virtual_calendars.owner, so only the owner-row lock
// taken by CreateVirtualCalendar stands between the two.
func TestVirtualCalendarOwnerDeletedConcurrently(t *testing.T) {
	owners := []struct {
		owner  string
		delete func(ctx context.Context, tx store.Tx) error
	}{
		{"alice", func(ctx context.Context, tx store.Tx) error { return tx.DeleteUser(ctx, "alice") }},
		{"group:team", func(ctx context.Context, tx store.Tx) error { return tx.DeleteGroup(ctx, "team") }},
	}
	for _, o := range owners {
		for _, createFirst := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/createFirst=%v", o.owner, createFirst), func(t *testing.T) {
				dsn := freshDatabase(t)
				a, b := open(t, dsn), open(t, dsn)
				defer a.Close()
				defer b.Close()
				ctx := t.Context()
				err := a.Update(ctx, func(tx store.Tx) error {
					if err := tx.CreateUser(ctx, &store.User{Name: "alice"}); err != nil {
						return err
					}
					return tx.CreateGroup(ctx, &store.Group{Name: "team"})
				})
				if err != nil {
					t.Fatal(err)
				}
				create := func(tx store.Tx) error {
					return tx.CreateVirtualCalendar(ctx, &store.VirtualCalendar{Owner: o.owner, Name: "v"})
				}
				remove := func(tx store.Tx) error { return o.delete(ctx, tx) }
				first, second := create, remove
				if !createFirst {
					first, second = remove, create
				}

				held, release := make(chan struct{}), make(chan struct{})
				// Released on every way out, so that a failing check does
				// not leave Close waiting for the held connection.
				releaseFirst := sync.OnceFunc(func() { close(release) })
				defer releaseFirst()
				firstDone := make(chan error, 1)
				go func() {
					firstDone <- a.Update(ctx, func(tx store.Tx) error {
						if err := first(tx); err != nil {
							return err
						}
						close(held)
						<-release
						return nil
					})
				}()
				select {
				case <-held:
				case err := <-firstDone:
					t.Fatalf("first write: %v", err)
				}
				secondDone := make(chan error, 1)
				go func() { secondDone <- b.Update(ctx, second) }()
				waitForLockWaiter(t, a)
				releaseFirst()
				if err := <-firstDone; err != nil {
					t.Fatalf("first write: %v", err)
				}
				err = <-secondDone
				if createFirst && err != nil {
					t.Errorf("delete after a concurrent create: %v", err)
				}
				if !createFirst && !errors.Is(err, store.ErrNotFound) {
					t.Errorf("create after a concurrent delete of its owner: %v, want ErrNotFound", err)
				}
				err = a.View(ctx, func(tx store.Tx) error {
					all, err := tx.ListVirtualCalendars(ctx)
					if len(all) != 0 {
						t.Errorf("virtual calendar %s/%s outlived its owner", all[0].Owner, all[0].Name)
					}
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestRangeMigrationFillsExistingRows builds a database as schema version 3
// left it (storetest.RangeMigrationRows) and checks the migrated store.
func TestRangeMigrationFillsExistingRows(t *testing.T) {
	dsn := freshDatabase(t)
	buildLegacy(t, dsn, 3, storetest.RangeMigrationRows()...)
	db := open(t, dsn)
	defer db.Close()
	storetest.CheckRangeMigration(t, db)
}

// buildLegacy builds, on dsn, a database as schema version left it, with
// the rows fill writes (storetest.BuildLegacy).
func buildLegacy(t *testing.T, dsn string, version int, fill ...string) {
	t.Helper()
	ctx := t.Context()
	raw, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	err = storetest.BuildLegacy(func(stmt string) error {
		_, err := raw.Exec(ctx, stmt)
		return err
	}, migrations(), version, fill...)
	if cerr := raw.Close(ctx); err == nil {
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
	dsn := freshDatabase(t)
	ctx := t.Context()
	fill, want := storetest.PathKeyedProperties()
	buildLegacy(t, dsn, 12, fill...)

	db := open(t, dsn)
	defer db.Close()
	rows, err := db.pool.Query(ctx, `SELECT key || '=' || convert_from(xml, 'UTF8') FROM properties`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("properties after the migration:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Stores are created only on purpose: with MustExist, a database without
// Koyomi's schema is no store and is left as it was.
func TestOpenMustExist(t *testing.T) {
	dsn := freshDatabase(t)
	if db, err := Open(t.Context(), dsn, Options{MustExist: true}); !errors.Is(err, store.ErrNoStore) {
		if db != nil {
			db.Close()
		}
		t.Fatalf("empty database: err = %v, want ErrNoStore", err)
	}
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	var created bool
	err = conn.QueryRow(t.Context(), `SELECT to_regclass('schema_version') IS NOT NULL`).Scan(&created)
	conn.Close(t.Context())
	if err != nil || created {
		t.Fatalf("looking for a store created its schema (%v, %v)", created, err)
	}
	open(t, dsn).Close()
	db, err := Open(t.Context(), dsn, Options{MustExist: true})
	if err != nil {
		t.Fatalf("existing store: %v", err)
	}
	db.Close()
}

// A start that migrates logs one line naming both versions.
func TestMigrationLogsOneLine(t *testing.T) {
	var logs strings.Builder
	db, err := Open(t.Context(), freshDatabase(t), Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	want := fmt.Sprintf("from=0 to=%d", len(migrations()))
	if n := strings.Count(logs.String(), "database schema migrated"); n != 1 || !strings.Contains(logs.String(), want) {
		t.Errorf("logged %d migration lines, want 1 with %q:\n%s", n, want, logs.String())
	}
}

// Connections plan each query with its values unless the DSN says
// otherwise: a generic plan made while a table was empty would scan it
// for good.
func TestCustomPlans(t *testing.T) {
	dsn := pgtest.Database(t)
	for _, tc := range []struct{ dsn, want string }{
		{dsn, "force_custom_plan"},
		{dsn + "&plan_cache_mode=auto", "auto"},
	} {
		db := open(t, tc.dsn)
		var mode string
		if err := db.pool.QueryRow(t.Context(), `SHOW plan_cache_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if mode != tc.want {
			t.Errorf("plan_cache_mode = %q, want %q", mode, tc.want)
		}
		db.Close()
	}
}
