package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// acquire runs AcquireLease in its own Update.
func acquire(t *testing.T, s store.Store, name, holder string, ttl time.Duration, now time.Time) bool {
	t.Helper()
	var ok bool
	update(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		ok, err = tx.AcquireLease(ctx, name, holder, ttl, now)
		return err
	})
	return ok
}

func release(t *testing.T, s store.Store, name, holder string) {
	t.Helper()
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.ReleaseLease(ctx, name, holder) })
}

func testLeases(t *testing.T, s store.Store) {
	const ttl = time.Minute
	t0 := at(3, 1, 12, 0)
	steps := []struct {
		what   string
		holder string
		now    time.Time
		want   bool
	}{
		{"free lease", "node-a", t0, true},
		{"other holder while valid", "node-b", t0.Add(30 * time.Second), false},
		{"same holder renews", "node-a", t0.Add(30 * time.Second), true},
		// The renewal moved the expiry to t0+90s.
		{"other holder after the old expiry but before the renewed one", "node-b", t0.Add(ttl), false},
		{"other holder just before expiry", "node-b", t0.Add(90*time.Second - time.Microsecond), false},
		{"other holder at expiry", "node-b", t0.Add(90 * time.Second), true},
		{"former holder once taken over", "node-a", t0.Add(100 * time.Second), false},
	}
	for _, st := range steps {
		if got := acquire(t, s, "purge", st.holder, ttl, st.now); got != st.want {
			t.Errorf("%s: AcquireLease(%s) = %v, want %v", st.what, st.holder, got, st.want)
		}
	}
	// Leases are independent of each other.
	if !acquire(t, s, "connectors", "node-a", ttl, t0.Add(100*time.Second)) {
		t.Error("a second lease name was refused because another is held")
	}

	now := t0.Add(100 * time.Second)
	release(t, s, "purge", "node-a") // not the holder: no-op
	if acquire(t, s, "purge", "node-c", ttl, now) {
		t.Error("release by a non-holder freed the lease")
	}
	release(t, s, "purge", "node-b")
	if !acquire(t, s, "purge", "node-c", ttl, now) {
		t.Error("lease still held after its holder released it")
	}
	release(t, s, "never-taken", "node-a") // releasing a lease nobody holds is no error

	// A failed Update takes its lease back with it.
	errBoom := errors.New("boom")
	err := s.Update(t.Context(), func(tx store.Tx) error {
		ok, err := tx.AcquireLease(t.Context(), "rolled-back", "node-a", ttl, now)
		if err != nil || !ok {
			return fmt.Errorf("AcquireLease = %v, %v", ok, err)
		}
		return errBoom
	})
	wantErr(t, "Update", err, errBoom)
	if !acquire(t, s, "rolled-back", "node-b", ttl, now) {
		t.Error("lease acquired in a rolled-back Update is still held")
	}

	ConcurrentLeases(t, s)
}

// ConcurrentLeases has goroutines spread over stores (handles on one
// database, as several nodes would have) race for one lease at the same
// instant: exactly one may win.
func ConcurrentLeases(t *testing.T, stores ...store.Store) {
	t.Helper()
	const contenders = 8
	ctx := t.Context()
	now := at(3, 2, 0, 0)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []string
		errs    []error
	)
	for i := range contenders {
		s := stores[i%len(stores)]
		holder := fmt.Sprintf("node-%d", i)
		wg.Go(func() {
			var ok bool
			err := s.Update(ctx, func(tx store.Tx) (err error) {
				ok, err = tx.AcquireLease(ctx, "contested", holder, time.Minute, now)
				return err
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", holder, err))
			}
			if ok {
				winners = append(winners, holder)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if len(winners) != 1 {
		t.Errorf("lease granted to %v at one instant, want exactly one holder", winners)
	}
}

// sampleLocks exercises every field: owner bytes, both booleans, no expiry,
// a timeout.
func sampleLocks() []store.LockRecord {
	return []store.LockRecord{
		{Token: "opaquelocktoken:a", Root: "/dav/alice/cal/", Infinite: true, Exclusive: true,
			Owner: []byte("<D:href xmlns:D=\"DAV:\">mailto:alice@example.com</D:href>"), Principal: "alice",
			Timeout: 10 * time.Minute, Expires: at(3, 1, 12, 10)},
		{Token: "opaquelocktoken:b", Root: "/dav/bob/book/x.vcf", Exclusive: false,
			Owner: []byte{0, 1, 2, 0xff}, Principal: "bob", Timeout: 0, Expires: time.Time{}},
		{Token: "opaquelocktoken:c", Root: "/dav/alice/cal/ü ß.ics", Principal: "alice",
			Timeout: 1500 * time.Millisecond, Expires: at(3, 1, 12, 0).Add(1500 * time.Millisecond)},
	}
}

func readLocks(t *testing.T, s store.Store) []store.LockRecord {
	t.Helper()
	var locks []store.LockRecord
	view(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		locks, err = tx.Locks(ctx)
		return err
	})
	return locks
}

func replaceLocks(t *testing.T, s store.Store, locks []store.LockRecord) {
	t.Helper()
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.ReplaceLocks(ctx, locks) })
}

// sameLocks compares lock sets as sets (keyed by token), field by field.
func sameLocks(t *testing.T, what string, got, want []store.LockRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d locks, want %d: %+v", what, len(got), len(want), got)
		return
	}
	byToken := make(map[string]store.LockRecord, len(got))
	for _, l := range got {
		byToken[l.Token] = l
	}
	for _, w := range want {
		g, ok := byToken[w.Token]
		switch {
		case !ok:
			t.Errorf("%s: lock %s missing", what, w.Token)
		case g.Root != w.Root || g.Infinite != w.Infinite || g.Exclusive != w.Exclusive ||
			!bytes.Equal(g.Owner, w.Owner) || g.Principal != w.Principal || g.Timeout != w.Timeout ||
			!g.Expires.Equal(w.Expires) || g.Expires.IsZero() != w.Expires.IsZero():
			t.Errorf("%s: lock %s read back as\n%+v\nwant\n%+v", what, w.Token, g, w)
		}
	}
}

func testLocks(t *testing.T, s store.Store) {
	ctx := t.Context()
	if got := readLocks(t, s); len(got) != 0 {
		t.Fatalf("new store has locks: %+v", got)
	}
	all := sampleLocks()
	replaceLocks(t, s, all)
	sameLocks(t, "after ReplaceLocks", readLocks(t, s), all)
	// Inside an Update too, where Locks may take a lock.
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.Locks(ctx)
		sameLocks(t, "Locks in Update", got, all)
		return err
	})

	smaller := all[1:2]
	replaceLocks(t, s, smaller)
	sameLocks(t, "after replacing with a smaller set", readLocks(t, s), smaller)

	err := s.View(ctx, func(tx store.Tx) error { return tx.ReplaceLocks(ctx, all) })
	if err == nil {
		t.Error("ReplaceLocks inside View succeeded")
	}
	sameLocks(t, "after ReplaceLocks in View", readLocks(t, s), smaller)

	errBoom := errors.New("boom")
	err = s.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Locks(ctx); err != nil {
			return err
		}
		if err := tx.ReplaceLocks(ctx, all); err != nil {
			return err
		}
		return errBoom
	})
	wantErr(t, "failing Update", err, errBoom)
	sameLocks(t, "after a failed Update", readLocks(t, s), smaller)

	dup := []store.LockRecord{{Token: "opaquelocktoken:d", Root: "/x"}, {Token: "opaquelocktoken:d", Root: "/y"}}
	err = s.Update(ctx, func(tx store.Tx) error { return tx.ReplaceLocks(ctx, dup) })
	wantErr(t, "ReplaceLocks with a token twice", err, store.ErrExists)
	sameLocks(t, "after a duplicate token", readLocks(t, s), smaller)

	replaceLocks(t, s, nil)
	if got := readLocks(t, s); len(got) != 0 {
		t.Errorf("locks left after replacing with none: %+v", got)
	}

	ConcurrentLockUpdates(t, s)
}

// ConcurrentLockUpdates runs read-modify-write cycles of the lock set (Locks,
// append one, ReplaceLocks) from goroutines spread over stores (handles on
// one database, as several nodes would have). None may be lost: that is what
// keeps two nodes from granting conflicting WebDAV locks. The lock set must
// be empty at the start.
func ConcurrentLockUpdates(t *testing.T, stores ...store.Store) {
	t.Helper()
	const writers, rounds = 8, 3
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		s := stores[w%len(stores)]
		wg.Go(func() {
			for r := range rounds {
				token := fmt.Sprintf("opaquelocktoken:w%d-%d", w, r)
				err := s.Update(ctx, func(tx store.Tx) error {
					locks, err := tx.Locks(ctx)
					if err != nil {
						return err
					}
					// Widen the window between read and write, so that
					// unserialised cycles would overlap and lose records.
					time.Sleep(time.Millisecond)
					return tx.ReplaceLocks(ctx, append(locks, store.LockRecord{Token: token, Root: "/" + token}))
				})
				if err != nil {
					errs <- fmt.Errorf("%s: %w", token, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := readLocks(t, stores[0])
	if len(got) != writers*rounds {
		t.Errorf("%d locks after %d concurrent read-modify-write cycles: updates were lost", len(got), writers*rounds)
	}
}
