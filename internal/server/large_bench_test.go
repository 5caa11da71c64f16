package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

// BenchmarkLargeStore asks for one week of one user's calendar in a store
// of many users, next to the same question asked of a store that holds only
// that calendar: the two should answer at the same speed, since a query
// reads one calendar's rows whatever else the store holds.
//
// KOYOMI_BENCH_LARGE=USERSxEVENTS (e.g. 1000x1000) sizes the large store.
// Every user's calendar holds the same EVENTS events, generated as
// newBenchEnv generates them, so the one-calendar store is the same
// calendar and the two answers must match byte for byte but for the
// calendar's path. Building a million events takes a while, so both stores
// are kept under $KOYOMI_BENCH_DIR (else the system's temporary directory)
// and reused by later runs; delete the koyomi-bench-large-* directories to
// rebuild them.
func BenchmarkLargeStore(b *testing.B) {
	spec := os.Getenv("KOYOMI_BENCH_LARGE")
	if spec == "" {
		b.Skip("set KOYOMI_BENCH_LARGE=USERSxEVENTS (e.g. 1000x1000) to build and query a large store")
	}
	users, events, err := parseLargeSpec(spec)
	if err != nil {
		b.Fatal(err)
	}
	large := openLargeStore(b, users, events)
	small := openLargeStore(b, 1, events)

	want := small.weekAnswer(b)
	got := large.weekAnswer(b)
	if !bytes.Equal(bytes.ReplaceAll(got, []byte(large.cal), []byte(small.cal)), want) {
		b.Fatalf("the week in %s's calendar among %d users differs from the same calendar alone:\n%s",
			large.user, users, firstDifference(got, want))
	}

	for _, s := range []*largeStore{large, small} {
		b.Run(fmt.Sprintf("users=%d/events=%d", s.users, events), func(b *testing.B) {
			matches := bytes.Count(want, []byte("<D:response>"))
			b.SetBytes(int64(len(want)))
			cpu := processCPU()
			for b.Loop() {
				if rec := serveAs(s.srv, s.user, "REPORT", s.cal, "1", weekQuery); rec.Code != http.StatusMultiStatus {
					b.Fatalf("REPORT: %d", rec.Code)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(matches), "events/op")
			b.ReportMetric(s.sizeMB(b), "MB")
			// Logged here, not by the parent, whose log go test shows only
			// with -v.
			b.Logf("%s", s.origin)
		})
	}
}

// parseLargeSpec reads "USERSxEVENTS".
func parseLargeSpec(spec string) (users, events int, err error) {
	u, e, ok := strings.Cut(spec, "x")
	users, errU := strconv.Atoi(u)
	events, errE := strconv.Atoi(e)
	if !ok || errU != nil || errE != nil || users <= 0 || events <= 0 {
		return 0, 0, fmt.Errorf("KOYOMI_BENCH_LARGE: %q is not USERSxEVENTS, e.g. 1000x1000", spec)
	}
	return users, events, nil
}

// largeStore is an open store of users calendars and the server over it,
// with the user whose calendar the benchmark asks about.
type largeStore struct {
	dir   string
	users int
	srv   *Server
	user  string
	cal   string
	// origin says whether this run built the store or found it built, and
	// how long building took.
	origin string
}

const (
	largePassword = "bench-password"
	// largeComplete marks a directory whose store was built to the end;
	// it holds how long the build took.
	largeComplete = "complete"
)

func largeUserName(i int) string { return fmt.Sprintf("user%05d", i) }

func calendarPath(user string) string { return "/dav/calendars/" + user + "/default/" }

// openLargeStore opens the store of users calendars of events events,
// building it first unless an earlier run finished building it.
func openLargeStore(b *testing.B, users, events int) *largeStore {
	b.Helper()
	base := os.Getenv("KOYOMI_BENCH_DIR")
	if base == "" {
		base = os.TempDir()
	}
	dir := filepath.Join(base, fmt.Sprintf("koyomi-bench-large-%dx%d", users, events))
	var origin string
	took, err := os.ReadFile(filepath.Join(dir, largeComplete))
	switch {
	case err == nil:
		origin = fmt.Sprintf("reused %s (built in %s)", dir, bytes.TrimSpace(took))
	case errors.Is(err, os.ErrNotExist):
		// Whatever an interrupted build left is started over.
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := buildLargeStore(b, dir, users, events); err != nil {
			b.Fatalf("building %s: %v", dir, err)
		}
		elapsed := time.Since(start).Round(time.Millisecond)
		if err := os.WriteFile(filepath.Join(dir, largeComplete), []byte(elapsed.String()+"\n"), 0o600); err != nil {
			b.Fatal(err)
		}
		origin = fmt.Sprintf("built %s (%d users x %d events) in %s", dir, users, events, elapsed)
	default:
		b.Fatal(err)
	}

	ctx := context.Background()
	st, err := sqlite.Open(ctx, dir, sqlite.Options{Now: fixedClock})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	srv, err := New(st, Options{Clock: fixedClock, PasswordParams: cheapParams, MaxResourceSize: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	user := largeUserName(users / 2)
	return &largeStore{dir: dir, users: users, srv: srv, user: user, cal: calendarPath(user), origin: origin}
}

// buildLargeStore creates users users, each with a default calendar of the
// events of newBenchEnv's calendar of that size, written in one transaction
// per calendar. Users and calendars are made as the server makes them (the
// domain creates the user, the first request provisions the calendar); the
// events are parsed and indexed once, as the domain indexes them, and the
// same objects are written into every calendar.
func buildLargeStore(b *testing.B, dir string, users, events int) error {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dir, sqlite.Options{Now: fixedClock})
	if err != nil {
		return err
	}
	defer st.Close()
	srv, err := New(st, Options{Clock: fixedClock, PasswordParams: cheapParams, MaxResourceSize: 1 << 20})
	if err != nil {
		return err
	}
	objs, err := benchObjects(events)
	if err != nil {
		return err
	}
	start := time.Now()
	for u := range users {
		user := largeUserName(u)
		if err := srv.Service().CreateUser(ctx, user, largePassword, user+"@example.org"); err != nil {
			return err
		}
		if rec := serveAs(srv, user, "PROPFIND", calendarPath(user), "0", ""); rec.Code != http.StatusMultiStatus {
			return fmt.Errorf("provisioning PROPFIND for %s: %d %s", user, rec.Code, rec.Body)
		}
		err := st.Update(ctx, func(tx store.Tx) error {
			coll, err := tx.GetCollection(ctx, user, "default")
			if err != nil {
				return err
			}
			for _, tmpl := range objs {
				o := *tmpl
				o.CollectionID = coll.ID
				if _, err := tx.PutObject(ctx, &o, store.PutOptions{}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("calendar of %s: %w", user, err)
		}
		// The log shows only at the end; a build of many calendars says
		// how far it got while it runs.
		if users >= 20 && (u+1)%(users/10) == 0 {
			fmt.Fprintf(os.Stderr, "%s: %d of %d calendars in %s\n", filepath.Base(dir), u+1, users,
				time.Since(start).Round(time.Second))
		}
	}
	return nil
}

// benchObjects returns the events of newBenchEnv's calendar of n events as
// store objects, parsed and indexed as the domain does on a PUT, without a
// collection.
func benchObjects(n int) ([]*store.Object, error) {
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	horizon := fixedClock().Add(benchHorizon)
	objs := make([]*store.Object, 0, n)
	for i := range n {
		data := benchEvent(i, rng)
		p, err := ical.Parse(data)
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		o := &store.Object{Name: fmt.Sprintf("ev-%06d.ics", i), Data: data,
			ContentType: "text/calendar; charset=utf-8; component=vevent"}
		p.Index(o, horizon)
		objs = append(objs, o)
	}
	return objs, nil
}

// weekAnswer returns the body of the one-week calendar-query of the
// store's user's calendar.
func (s *largeStore) weekAnswer(b *testing.B) []byte {
	b.Helper()
	rec := serveAs(s.srv, s.user, "REPORT", s.cal, "1", weekQuery)
	if rec.Code != http.StatusMultiStatus {
		b.Fatalf("REPORT %s: %d %s", s.cal, rec.Code, rec.Body)
	}
	if !strings.Contains(rec.Body.String(), "<D:response>") {
		b.Fatalf("REPORT %s: the week matched nothing", s.cal)
	}
	return rec.Body.Bytes()
}

// sizeMB is the size of the store's files (database and write-ahead log)
// in megabytes.
func (s *largeStore) sizeMB(b *testing.B) float64 {
	var size int64
	for _, name := range []string{sqlite.FileName, sqlite.FileName + "-wal"} {
		fi, err := os.Stat(filepath.Join(s.dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		size += fi.Size()
	}
	return float64(size) / 1e6
}

// serveAs runs one request as user (whose password is largePassword).
func serveAs(h http.Handler, user, method, target, depth, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.SetBasicAuth(user, largePassword)
	if depth != "" {
		req.Header.Set("Depth", depth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/xml; charset=utf-8")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// firstDifference shows where two answers part.
func firstDifference(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-200)
	return fmt.Sprintf("at byte %d of %d (want %d):\n got: %.400q\nwant: %.400q", i, len(got), len(want), got[lo:], want[lo:])
}
