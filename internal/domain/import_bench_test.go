package domain

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/auth"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/postgres"
	"koyomi.dev/koyomi/internal/store/postgres/pgtest"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

// BenchmarkImport imports a generated .ics file (writeImportCalendar:
// KOYOMI_IMPORT_BENCH_EVENTS events, 2,000 by default) into an empty
// calendar, read from disk (KOYOMI_IMPORT_BENCH_BATCH objects a
// transaction, the default when unset), on SQLite and (with KOYOMI_TEST_POSTGRES) on
// PostgreSQL. It reports events per second and the peak of the heap in
// use, sampled every 10 ms: the import must stay bounded whatever the
// file's size.
func BenchmarkImport(b *testing.B) {
	events := 2000
	if v := os.Getenv("KOYOMI_IMPORT_BENCH_EVENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("KOYOMI_IMPORT_BENCH_EVENTS=%q: want a positive count", v)
		}
		events = n
	}
	batch, _ := strconv.Atoi(os.Getenv("KOYOMI_IMPORT_BENCH_BATCH")) // 0: the default
	file := filepath.Join(b.TempDir(), "import.ics")
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	writeImportCalendar(w, events)
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	stores := map[string]func(b *testing.B) store.Store{
		"sqlite": func(b *testing.B) store.Store {
			st, err := sqlite.Open(context.Background(), b.TempDir(), sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return st
		},
		"postgres": func(b *testing.B) store.Store {
			st, err := postgres.Open(context.Background(), pgtest.Database(b), postgres.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return st
		},
	}
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				st := stores[name](b)
				s := New(st, Options{PasswordParams: auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 16}})
				ctx := context.Background()
				if err := s.CreateUser(ctx, "alice", "alice-password", ""); err != nil {
					b.Fatal(err)
				}
				if err := s.EnsureHome(ctx, "alice", store.KindCalendar); err != nil {
					b.Fatal(err)
				}
				c, err := s.Collection(ctx, "alice", "default")
				if err != nil {
					b.Fatal(err)
				}
				in, err := os.Open(file)
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				peak, stop := samplePeakHeap()
				start := time.Now()
				b.StartTimer()
				res, err := s.Import(ctx, c, bufio.NewReader(in), ImportOptions{BatchSize: batch})
				b.StopTimer()
				elapsed := time.Since(start)
				stop()
				in.Close()
				if err != nil || res.Imported != events || res.BadCount != 0 {
					b.Fatalf("import: %d imported, %d bad %v, %v", res.Imported, res.BadCount, res.Bad, err)
				}
				b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
				b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
				st.Close()
				b.StartTimer()
			}
		})
	}
}

// samplePeakHeap samples the heap in use every 10 ms until stop is called.
func samplePeakHeap() (peak *atomic.Uint64, stop func()) {
	peak = new(atomic.Uint64)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return peak, func() { close(done); <-finished }
}
