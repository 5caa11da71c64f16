package storecopy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

// clock stands still, so that two stores filled alike hold equal data.
func clock() time.Time { return time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC) }

func openSQLite(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// fill writes two users with calendars, a nested plain collection, objects
// (one with indexed occurrences) and dead properties (of a home, of each
// collection and of one object in each).
func fill(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	day := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	err := st.Update(ctx, func(tx store.Tx) error {
		for _, u := range []string{"alice", "bob"} {
			if err := tx.CreateUser(ctx, &store.User{Name: u, Email: u + "@example.org", PasswordHash: "$argon2id$x"}); err != nil {
				return err
			}
			if err := tx.SetProperty(ctx, store.HomeKey(u, store.KindCalendar), "urn:x", "me", []byte(`<me xmlns="urn:x">`+u+`</me>`)); err != nil {
				return err
			}
			for _, name := range []string{"work", "plain", "plain/inner"} {
				kind := store.KindCalendar
				if strings.HasPrefix(name, "plain") {
					kind = store.KindPlain
				}
				c := &store.Collection{Owner: u, Name: name, Kind: kind, DisplayName: "Coll " + name, Components: []string{"VEVENT"}}
				if err := tx.CreateCollection(ctx, c); err != nil {
					return err
				}
				if err := tx.SetProperty(ctx, store.CollectionKey(c.ID), "urn:x", "color", []byte(`<color xmlns="urn:x">red</color>`)); err != nil {
					return err
				}
				for i := range 5 {
					o := &store.Object{CollectionID: c.ID, Name: fmt.Sprintf("o%d.ics", i), UID: fmt.Sprintf("%s-%s-%d", u, name, i),
						Component: "VEVENT", ContentType: "text/calendar", Data: []byte(fmt.Sprintf("data %s %s %d", u, name, i)),
						SpanStart: day, SpanEnd: day.Add(time.Duration(i+1) * 24 * time.Hour)}
					if i == 0 {
						o.Recurring = true
						o.Occurrences = []store.Period{{Start: day, End: day.Add(time.Hour)}, {Start: day.Add(48 * time.Hour), End: day.Add(49 * time.Hour)}}
					}
					if _, err := tx.PutObject(ctx, o, store.PutOptions{}); err != nil {
						return err
					}
					if i == 1 {
						if err := tx.SetProperty(ctx, store.ObjectKey(c.ID, o.Name), "urn:x", "seen", []byte(`<seen xmlns="urn:x"/>`)); err != nil {
							return err
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCopyMovesEverythingAndVerifies(t *testing.T) {
	ctx := context.Background()
	src, dst := openSQLite(t), openSQLite(t)
	fill(t, src)
	sum, err := Copy(ctx, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Users != 2 || sum.Collections != 6 || sum.Objects != 30 || sum.Properties != 14 {
		t.Fatalf("summary = %v", sum)
	}
	// The occurrence index came along: a range query finds the recurring
	// object only through its second occurrence.
	err = dst.View(ctx, func(tx store.Tx) error {
		c, err := tx.GetCollection(ctx, "alice", "work")
		if err != nil {
			return err
		}
		start := time.Date(2026, 3, 3, 9, 30, 0, 0, time.UTC)
		objs, err := tx.FindObjectsInRange(ctx, c.ID, start, start.Add(10*time.Minute))
		if err != nil {
			return err
		}
		for _, o := range objs {
			if o.Name == "o0.ics" {
				return nil
			}
		}
		return fmt.Errorf("recurring object not found through its copied occurrences (got %d objects)", len(objs))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCopyRefusesANonEmptyDestination(t *testing.T) {
	ctx := context.Background()
	src, dst := openSQLite(t), openSQLite(t)
	fill(t, src)
	fill(t, dst)
	if _, err := Copy(ctx, src, dst); !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "empty store") {
		t.Fatalf("err = %v, want refusal of a non-empty destination", err)
	}
}

// changeObject appends a byte to one object that fill stores.
func changeObject(ctx context.Context, tx store.Tx) error {
	c, err := tx.GetCollection(ctx, "bob", "work")
	if err != nil {
		return err
	}
	o, err := tx.GetObject(ctx, c.ID, "o3.ics")
	if err != nil {
		return err
	}
	o.Data = append(o.Data, '!')
	_, err = tx.PutObject(ctx, o, store.PutOptions{})
	return err
}

func TestSummaryDetectsADifference(t *testing.T) {
	ctx := context.Background()
	a, b := openSQLite(t), openSQLite(t)
	fill(t, a)
	fill(t, b)
	sa, err := Summarize(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	err = b.Update(ctx, func(tx store.Tx) error { return changeObject(ctx, tx) })
	if err != nil {
		t.Fatal(err)
	}
	sb, err := Summarize(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if sa.Checksum == sb.Checksum || sa.Objects != sb.Objects {
		t.Fatalf("one changed object went unnoticed: %v vs %v", sa, sb)
	}
}

// TestCopyOfAStoreInUse copies a store while another writer adds objects
// to it: the copy is of one snapshot, so it verifies, and it holds a
// prefix of the writer's objects, whose count the summary agrees with.
func TestCopyOfAStoreInUse(t *testing.T) {
	ctx := context.Background()
	src, dst := openSQLite(t), openSQLite(t)
	fill(t, src)
	var coll int64
	err := src.View(ctx, func(tx store.Tx) error {
		c, err := tx.GetCollection(ctx, "alice", "work")
		coll = c.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	stop, done := make(chan struct{}), make(chan int)
	go func() {
		n := 0
		defer func() { done <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			err := src.Update(ctx, func(tx store.Tx) error {
				_, err := tx.PutObject(ctx, &store.Object{CollectionID: coll, Name: fmt.Sprintf("w%d.ics", n),
					UID: fmt.Sprintf("w%d", n), Component: "VEVENT", Data: []byte(fmt.Sprint(n))}, store.PutOptions{})
				return err
			})
			if err != nil {
				t.Error(err)
				return
			}
			n++
		}
	}()
	for range 3 {
		// Let some writes land before and while the copy runs.
		time.Sleep(20 * time.Millisecond)
	}
	sum, err := Copy(ctx, src, dst)
	close(stop)
	written := <-done
	if err != nil {
		t.Fatal(err)
	}
	if written == 0 {
		t.Fatal("the writer wrote nothing")
	}
	copied := sum.Objects - 30
	if copied < 1 || copied > written {
		t.Fatalf("copy holds %d of the writer's objects, written %d", copied, written)
	}
	err = dst.View(ctx, func(tx store.Tx) error {
		c, err := tx.GetCollection(ctx, "alice", "work")
		if err != nil {
			return err
		}
		for i := range copied {
			o, err := tx.GetObject(ctx, c.ID, fmt.Sprintf("w%d.ics", i))
			if err != nil {
				return fmt.Errorf("object w%d of a prefix of %d: %w", i, copied, err)
			}
			if string(o.Data) != fmt.Sprint(i) {
				return fmt.Errorf("w%d holds %q", i, o.Data)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Holdings says whether a store is empty; a copy reports its progress
// user by user.
func TestHoldingsAndProgress(t *testing.T) {
	ctx := context.Background()
	src, dst := openSQLite(t), openSQLite(t)
	if held, err := Holdings(ctx, src); err != nil || len(held) != 0 {
		t.Fatalf("empty store holds %v (%v)", held, err)
	}
	fill(t, src)
	held, err := Holdings(ctx, src)
	if err != nil || len(held) == 0 || held[0] != "2 users" {
		t.Fatalf("filled store holds %v (%v), want 2 users first", held, err)
	}
	var calls [][2]int
	if _, err := (Options{Progress: func(done, total int) { calls = append(calls, [2]int{done, total}) }}).Copy(ctx, src, dst); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(calls) != "[[1 2] [2 2]]" {
		t.Errorf("progress calls %v, want [[1 2] [2 2]]", calls)
	}
}
