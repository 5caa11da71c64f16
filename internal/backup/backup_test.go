package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/postgres"
	"koyomi.dev/koyomi/internal/store/postgres/pgtest"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

func embedded() Embedded {
	return Embedded{
		Open: func(ctx context.Context, dir string) (store.Store, error) {
			return sqlite.Open(ctx, dir, sqlite.Options{})
		},
		File:          sqlite.FileName,
		SchemaVersion: sqlite.SchemaVersion(),
	}
}

// opener makes empty stores of one kind: place gives a new one's
// location, open opens a handle on it (several handles on one place are
// as several processes on one store).
type opener struct {
	name  string
	place func(t *testing.T) string
	open  func(t *testing.T, place string) store.Store
}

var (
	sqliteStore = opener{"sqlite", func(t *testing.T) string { return t.TempDir() },
		func(t *testing.T, dir string) store.Store {
			st, err := sqlite.Open(context.Background(), dir, sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}}
	postgresStore = opener{"postgres", func(t *testing.T) string { return pgtest.Database(t) }, func(t *testing.T, dsn string) store.Store {
		st, err := postgres.Open(context.Background(), dsn, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}}
)

// fresh opens a new, empty store of kind k.
func fresh(t *testing.T, k opener) store.Store { return k.open(t, k.place(t)) }

var testKey = bytes.Repeat([]byte{0x5a}, 32)

// options seal testKey with a passphrase at a low work factor.
func options(passphrase string) Options {
	return Options{Key: testKey, Passphrase: passphrase, KoyomiVersion: "test", WorkFactor: 10}
}

func event(uid, text string) []byte {
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nDTSTAMP:20260301T090000Z\r\nDTSTART:20260301T090000Z\r\nSUMMARY:" + text + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
}

// state is what a store holds, object by object: "owner/collection/name"
// → data.
type state map[string]string

func put(ctx context.Context, tx store.Tx, want state, owner, coll, name, data string) error {
	c, err := tx.GetCollection(ctx, owner, coll)
	if err != nil {
		return err
	}
	if _, err := tx.PutObject(ctx, &store.Object{CollectionID: c.ID, Name: name, UID: owner + "/" + coll + "/" + name,
		Component: "VEVENT", ContentType: "text/calendar", Data: event(name, data)}, store.PutOptions{}); err != nil {
		return err
	}
	if want != nil {
		want[owner+"/"+coll+"/"+name] = data
	}
	return nil
}

func readState(t *testing.T, st store.Store) state {
	t.Helper()
	ctx := context.Background()
	got := state{}
	err := st.View(ctx, func(tx store.Tx) error {
		users, err := tx.ListUsers(ctx)
		if err != nil {
			return err
		}
		for _, u := range users {
			colls, err := tx.ListCollections(ctx, u.Name)
			if err != nil {
				return err
			}
			for _, c := range colls {
				objs, err := tx.ListObjects(ctx, c.ID, true)
				if err != nil {
					return err
				}
				for _, o := range objs {
					got[u.Name+"/"+c.Name+"/"+o.Name] = string(o.Data)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

const writers = 3

// seed makes alice's and bob's collections and a bulk of events, enough
// that a backup takes a while; it returns what it wrote.
func seed(t *testing.T, st store.Store) state {
	t.Helper()
	ctx := context.Background()
	want := state{}
	err := st.Update(ctx, func(tx store.Tx) error {
		for _, u := range []string{"alice", "bob"} {
			if err := tx.CreateUser(ctx, &store.User{Name: u, PasswordHash: "$argon2id$x"}); err != nil {
				return err
			}
		}
		colls := []string{"alice/bulk", "alice/heads", "bob/a", "bob/b"}
		for i := range writers {
			colls = append(colls, fmt.Sprintf("bob/log%d", i))
		}
		for _, oc := range colls {
			owner, name, _ := strings.Cut(oc, "/")
			if err := tx.CreateCollection(ctx, &store.Collection{Owner: owner, Name: name, Kind: store.KindCalendar,
				Components: []string{"VEVENT"}}); err != nil {
				return err
			}
		}
		for i := range 600 {
			if err := put(ctx, tx, want, "alice", "bulk", fmt.Sprintf("b%d.ics", i), fmt.Sprintf("bulk %d", i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return want
}

// write is writer i's n-th transaction: a new event in its log, its head
// (in a collection all writers share) set to n, and its mover taken out
// of one collection and put into the other. A snapshot holds all of it
// or none.
func write(ctx context.Context, st store.Store, i, n int) error {
	return st.Update(ctx, func(tx store.Tx) error {
		if err := put(ctx, tx, nil, "bob", fmt.Sprintf("log%d", i), fmt.Sprintf("e%d.ics", n), fmt.Sprintf("w%d e%d", i, n)); err != nil {
			return err
		}
		if err := put(ctx, tx, nil, "alice", "heads", fmt.Sprintf("w%d.ics", i), fmt.Sprint(n)); err != nil {
			return err
		}
		from, to := moverColl(n-1), moverColl(n)
		if n > 1 {
			c, err := tx.GetCollection(ctx, "bob", from)
			if err != nil {
				return err
			}
			if err := tx.DeleteObject(ctx, c.ID, fmt.Sprintf("m%d.ics", i), ""); err != nil {
				return err
			}
		}
		return put(ctx, tx, nil, "bob", to, fmt.Sprintf("m%d.ics", i), fmt.Sprint(n))
	})
}

func moverColl(n int) string { return []string{"a", "b"}[n%2] }

// after is the state once writer i has committed n transactions, for
// each i.
func after(seeded state, n [writers]int) state {
	want := state{}
	for k, v := range seeded {
		want[k] = v
	}
	for i := range writers {
		for e := 1; e <= n[i]; e++ {
			want[fmt.Sprintf("bob/log%d/e%d.ics", i, e)] = fmt.Sprintf("w%d e%d", i, e)
		}
		if n[i] > 0 {
			want[fmt.Sprintf("alice/heads/w%d.ics", i)] = fmt.Sprint(n[i])
			want[fmt.Sprintf("bob/%s/m%d.ics", moverColl(n[i]), i)] = fmt.Sprint(n[i])
		}
	}
	for k, v := range want {
		want[k] = string(event(k[strings.LastIndex(k, "/")+1:], v))
	}
	return want
}

// TestBackupUnderWritesRestoresIntoTheOtherKind backs up a store while
// writers commit to it, restores the backup into a store of the other
// kind, and checks the restored store object by object against the state
// after some number of each writer's transactions: the snapshot. Every
// transaction that committed before the backup began is in it, none that
// began after it ended, and no transaction is there in part.
func TestBackupUnderWritesRestoresIntoTheOtherKind(t *testing.T) {
	for _, tc := range []struct{ from, to opener }{{sqliteStore, postgresStore}, {postgresStore, sqliteStore}} {
		t.Run(tc.from.name+"_to_"+tc.to.name, func(t *testing.T) {
			ctx := context.Background()
			place := tc.from.place(t)
			// The server's handle, which the writers use, and the backup's
			// own, as koyomi backup opens the store beside a running server.
			src, backupSide := tc.from.open(t, place), tc.from.open(t, place)
			seeded := seed(t, src)

			var committed [writers]atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for i := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := 1; ; n++ {
						select {
						case <-stop:
							return
						default:
						}
						if err := write(ctx, src, i, n); err != nil {
							t.Errorf("writer %d, transaction %d: %v", i, n, err)
							return
						}
						committed[i].Store(int64(n))
					}
				}()
			}
			for i := range writers {
				for committed[i].Load() < 3 {
					time.Sleep(time.Millisecond)
				}
			}
			var before, afterBackup [writers]int
			for i := range writers {
				before[i] = int(committed[i].Load())
			}
			path := filepath.Join(t.TempDir(), "koyomi.backup")
			m, err := Create(ctx, backupSide, embedded(), path, options("correct horse"))
			for i := range writers {
				afterBackup[i] = int(committed[i].Load())
			}
			close(stop)
			wg.Wait()
			if err != nil {
				t.Fatal(err)
			}
			during := 0
			for i := range writers {
				during += afterBackup[i] - before[i]
			}
			if during == 0 {
				t.Fatal("no write committed while the backup ran: the test proves nothing")
			}

			dst := fresh(t, tc.to)
			b, err := Read(ctx, path, embedded())
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			key, err := b.OpenKey("correct horse")
			if err != nil || !bytes.Equal(key, testKey) {
				t.Fatalf("OpenKey = %x, %v", key, err)
			}
			keyPath := filepath.Join(t.TempDir(), "secret.key")
			if _, err := b.Restore(ctx, dst, key, keyPath, RestoreOptions{}); err != nil {
				t.Fatal(err)
			}
			got := readState(t, dst)

			// The heads say how far each writer got in the snapshot.
			var snap [writers]int
			for i := range writers {
				head, ok := got[fmt.Sprintf("alice/heads/w%d.ics", i)]
				if !ok {
					t.Fatalf("writer %d's head is missing", i)
				}
				for n := before[i]; n <= afterBackup[i]; n++ {
					if head == string(event(fmt.Sprintf("w%d.ics", i), fmt.Sprint(n))) {
						snap[i] = n
					}
				}
				if snap[i] == 0 {
					t.Fatalf("writer %d's head is not between %d (committed before the backup) and %d (after it)",
						i, before[i], afterBackup[i])
				}
			}
			want := after(seeded, snap)
			compareStates(t, want, got)
			if m.Counts["objects"] != len(want) {
				t.Errorf("manifest counts %d objects, the snapshot holds %d", m.Counts["objects"], len(want))
			}
			t.Logf("%d writes committed during the backup; snapshot at %v of %v..%v; %d objects",
				during, snap, before, afterBackup, len(want))
		})
	}
}

func compareStates(t *testing.T, want, got state) {
	t.Helper()
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	bad := 0
	for _, k := range keys {
		w, inWant := want[k]
		g, inGot := got[k]
		switch {
		case !inGot:
			t.Errorf("%s is missing", k)
		case !inWant:
			t.Errorf("%s is there and should not be", k)
		case w != g:
			t.Errorf("%s holds %q, want %q", k, g, w)
		default:
			continue
		}
		if bad++; bad > 10 {
			t.Fatal("and more")
		}
	}
}

// backupOf writes a small store's backup and returns its path.
func backupOf(t *testing.T, opts Options) (string, state) {
	t.Helper()
	src := fresh(t, sqliteStore)
	seeded := seed(t, src)
	path := filepath.Join(t.TempDir(), "koyomi.backup")
	if _, err := Create(context.Background(), src, embedded(), path, opts); err != nil {
		t.Fatal(err)
	}
	return path, after(seeded, [writers]int{})
}

func TestSealedKeyOpensOnlyWithItsPassphrase(t *testing.T) {
	path, _ := backupOf(t, options("correct horse"))
	if _, err := os.Stat(KeyPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a sealed key was also written beside the backup: %v", err)
	}
	b, err := Read(context.Background(), path, embedded())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, wrong := range []string{"", "correct horse ", "Correct horse", "battery staple"} {
		if key, err := b.OpenKey(wrong); !errors.Is(err, ErrWrongPassphrase) || key != nil {
			t.Errorf("OpenKey(%q) = %x, %v; want ErrWrongPassphrase", wrong, key, err)
		}
	}
	key, err := b.OpenKey("correct horse")
	if err != nil || !bytes.Equal(key, testKey) {
		t.Fatalf("OpenKey = %x, %v", key, err)
	}
	if _, err := b.KeyBesideFile(""); err == nil {
		t.Fatal("KeyBesideFile read a key from a backup that seals it")
	}
}

func TestKeyBesideTheBackup(t *testing.T) {
	path, _ := backupOf(t, options(""))
	fi, err := os.Stat(KeyPath(path))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
	}
	b, err := Read(context.Background(), path, embedded())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Manifest.Key != KeyBeside {
		t.Fatalf("manifest key = %q", b.Manifest.Key)
	}
	if _, err := b.OpenKey("anything"); err == nil {
		t.Fatal("OpenKey opened a key the backup does not seal")
	}
	key, err := b.KeyBesideFile("")
	if err != nil || !bytes.Equal(key, testKey) {
		t.Fatalf("KeyBesideFile = %x, %v", key, err)
	}
	other := filepath.Join(t.TempDir(), "other.key")
	if err := os.WriteFile(other, []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := b.KeyBesideFile(other); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("another key file: err = %v, want ErrKeyMismatch", err)
	}
	if _, err := b.KeyBesideFile(filepath.Join(t.TempDir(), "none")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing key file: err = %v", err)
	}
}

func TestRestoreRefusesANonEmptyStore(t *testing.T) {
	for _, kind := range []opener{sqliteStore, postgresStore} {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			path, _ := backupOf(t, options("pw"))
			dst := fresh(t, kind)
			if err := dst.Update(ctx, func(tx store.Tx) error {
				return tx.CreateUser(ctx, &store.User{Name: "zoe", PasswordHash: "$argon2id$z"})
			}); err != nil {
				t.Fatal(err)
			}
			b, err := Read(ctx, path, embedded())
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			keyPath := filepath.Join(t.TempDir(), "secret.key")
			if _, err := b.Restore(ctx, dst, testKey, keyPath, RestoreOptions{}); !errors.Is(err, ErrNotEmpty) {
				t.Fatalf("err = %v, want ErrNotEmpty", err)
			}
			if got := readState(t, dst); len(got) != 0 {
				t.Fatalf("the refused restore wrote %d objects", len(got))
			}
			if _, err := os.Stat(keyPath); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the refused restore wrote the key: %v", err)
			}
		})
	}
}

func TestRestoreKeepsAnotherKeyUnlessTold(t *testing.T) {
	ctx := context.Background()
	path, want := backupOf(t, options("pw"))
	keyPath := filepath.Join(t.TempDir(), "secret.key")
	other := bytes.Repeat([]byte{1}, 32)
	if err := os.WriteFile(keyPath, []byte(fmt.Sprintf("%x\n", other)), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := Read(ctx, path, embedded())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dst := fresh(t, sqliteStore)
	if _, err := b.Restore(ctx, dst, testKey, keyPath, RestoreOptions{}); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("err = %v, want ErrKeyMismatch", err)
	}
	if got := readState(t, dst); len(got) != 0 {
		t.Fatalf("the refused restore wrote %d objects", len(got))
	}
	if _, err := b.Restore(ctx, dst, testKey, keyPath, RestoreOptions{ReplaceKey: true}); err != nil {
		t.Fatal(err)
	}
	compareStates(t, want, readState(t, dst))
	if text, _ := os.ReadFile(keyPath); string(text) != fmt.Sprintf("%x\n", testKey) {
		t.Fatalf("key file holds %q", text)
	}
}

// TestDamagedBackupIsDetected damages a backup in several ways; each is
// ErrCorrupt, from Read or from Verify.
func TestDamagedBackupIsDetected(t *testing.T) {
	path, _ := backupOf(t, options("pw"))
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(at int) []byte {
		b := bytes.Clone(good)
		b[at] ^= 0x40
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not gzip", []byte("BEGIN:VCALENDAR\r\n")},
		{"truncated to half", good[:len(good)/2]},
		{"last byte missing", good[:len(good)-1]},
		{"byte changed early", flip(len(good) / 10)},
		{"byte changed in the middle", flip(len(good) / 2)},
		{"byte changed near the end", flip(len(good) - 12)},
		{"gzip trailer changed", flip(len(good) - 5)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "damaged.backup")
			if err := os.WriteFile(p, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			b, err := Read(context.Background(), p, embedded())
			if err == nil {
				_, err = b.Verify(context.Background())
				b.Close()
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
		})
	}
	b, err := Read(context.Background(), path, embedded())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Verify(context.Background()); err != nil {
		t.Fatalf("the undamaged backup: %v", err)
	}
}

// repack rewrites the backup at path member by member through change,
// which may alter a member's bytes or drop it (nil), into a well-formed
// archive.
func repack(t *testing.T, path string, change func(name string, data []byte) []byte) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	out := filepath.Join(t.TempDir(), "repacked.backup")
	o, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(o)
	tw := tar.NewWriter(zw)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if data = change(hdr.Name, data); data == nil {
			continue
		}
		hdr.Size = int64(len(data))
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	if err := errors.Join(tw.Close(), zw.Close(), o.Close()); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWellFormedButWrongBackupIsDetected changes members inside a
// well-formed archive: checksums, the manifest's counts and the members'
// presence are each checked.
func TestWellFormedButWrongBackupIsDetected(t *testing.T) {
	ctx := context.Background()
	path, _ := backupOf(t, options("pw"))
	for _, tc := range []struct {
		name   string
		change func(name string, data []byte) []byte
		want   string
	}{
		{"unchanged", func(_ string, d []byte) []byte { return d }, ""},
		{"database changed", func(n string, d []byte) []byte {
			if n == dbMember {
				d[len(d)/2] ^= 1
			}
			return d
		}, "does not match its checksum"},
		{"sealed key changed", func(n string, d []byte) []byte {
			if n == keyMember {
				d[len(d)-1] ^= 1
			}
			return d
		}, "does not match its checksum"},
		{"sealed key dropped", func(n string, d []byte) []byte {
			if n == keyMember {
				return nil
			}
			return d
		}, "missing"},
		{"manifest dropped", func(n string, d []byte) []byte {
			if n == manifestMember {
				return nil
			}
			return d
		}, "out of place"},
		{"count changed", func(n string, d []byte) []byte {
			if n == manifestMember {
				return bytes.Replace(d, []byte(`"objects": 600`), []byte(`"objects": 601`), 1)
			}
			return d
		}, "600 objects, the manifest says 601"},
		{"checksum changed", func(n string, d []byte) []byte {
			if n == manifestMember {
				var m Manifest
				if err := json.Unmarshal(d, &m); err != nil {
					t.Fatal(err)
				}
				m.Checksum = strings.Repeat("0", 64)
				d, _ = json.Marshal(&m)
			}
			return d
		}, "checksum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Read(ctx, repack(t, path, tc.change), embedded())
			if err == nil {
				_, err = b.Verify(ctx)
				b.Close()
			}
			if tc.want == "" {
				if err != nil {
					t.Fatalf("the repacked, unchanged backup: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrCorrupt saying %q", err, tc.want)
			}
		})
	}
}

// A store without a server key yet is backed up without one, and
// restored without writing one; a key given for it is refused.
func TestBackupWithoutAKey(t *testing.T) {
	ctx := context.Background()
	path, want := backupOf(t, Options{KoyomiVersion: "test"})
	if _, err := os.Stat(KeyPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a backup without a key wrote a key file: %v", err)
	}
	b, err := Read(ctx, path, embedded())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Manifest.Key != KeyNone {
		t.Fatalf("manifest key %q, want %q", b.Manifest.Key, KeyNone)
	}
	if _, err := b.OpenKey("pw"); err == nil {
		t.Error("OpenKey of a backup without a key succeeded")
	}
	keyPath := filepath.Join(t.TempDir(), "secret.key")
	dst := fresh(t, sqliteStore)
	if _, err := b.Restore(ctx, dst, testKey, keyPath, RestoreOptions{}); err == nil {
		t.Fatal("a key given for a backup without one was taken")
	}
	if _, err := b.Restore(ctx, dst, nil, keyPath, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	compareStates(t, want, readState(t, dst))
	if _, err := os.Stat(keyPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the restore wrote a key: %v", err)
	}
}
