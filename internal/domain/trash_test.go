package domain

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/auth"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

// trashWorld is a service over a real SQLite store with a clock the test
// moves, and users alice and bob.
type trashWorld struct {
	st  store.Store
	s   *Service
	now time.Time
}

func newTrashWorld(t *testing.T) *trashWorld {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := &trashWorld{st: st, now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	w.s = New(st, Options{Clock: func() time.Time { return w.now },
		PasswordParams: auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 16}})
	for _, u := range []string{"alice", "bob"} {
		if err := w.s.CreateUser(ctx, u, "password-"+u, ""); err != nil {
			t.Fatal(err)
		}
		if err := w.s.EnsureHome(ctx, u, store.KindCalendar); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func (w *trashWorld) calendar(t *testing.T, owner, name string) *store.Collection {
	t.Helper()
	ctx := context.Background()
	c, err := w.s.Collection(ctx, owner, name)
	if errors.Is(err, ErrNotFound) {
		c = &store.Collection{Owner: owner, Name: name, Kind: store.KindCalendar, DisplayName: "Work", Color: "#FF0000FF"}
		err = w.s.CreateCollection(ctx, c, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func event(uid string) []byte {
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nDTSTAMP:20260301T090000Z\r\nDTSTART:20260302T090000Z\r\nDURATION:PT1H\r\nSUMMARY:Dentist\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
}

func (w *trashWorld) put(t *testing.T, ctx context.Context, c *store.Collection, name, uid string) {
	t.Helper()
	if _, _, err := w.s.PutObject(ctx, c, name, "", event(uid), "text/calendar", store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// onlyItem returns a check that a listing holds one item, and that item.
func onlyItem(t *testing.T) func([]*store.TrashItem, error) *store.TrashItem {
	return func(items []*store.TrashItem, err error) *store.TrashItem {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 1 {
			t.Fatalf("trash holds %d items, want 1: %+v", len(items), items)
		}
		return items[0]
	}
}

// TestTrashObject: a deleted event goes to the owner's trash (also when a
// sharee deletes it), comes back as a new change that sync reports, and
// cannot come back over a new holder of its name or UID, or into a
// calendar that is gone.
func TestTrashObject(t *testing.T) {
	ctx := context.Background()
	w := newTrashWorld(t)
	work := w.calendar(t, "alice", "work")
	w.put(t, ctx, work, "dentist.ics", "dentist")
	if err := w.s.PatchProperties(ctx, ObjectKey(work, "dentist.ics"), []PropChange{{Property: store.Property{Namespace: "urn:x", Local: "note",
		XML: []byte(`<note xmlns="urn:x">keep</note>`)}}}); err != nil {
		t.Fatal(err)
	}
	before, err := w.s.Collection(ctx, "alice", "work")
	if err != nil {
		t.Fatal(err)
	}

	if _, err := w.s.Share(ctx, work, "user:bob", LevelReadWrite); err != nil {
		t.Fatal(err)
	}
	asBob := WithPrincipal(ctx, "bob")
	if err := w.s.DeleteObject(asBob, work, "dentist.ics", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.Object(ctx, work, "dentist.ics"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v, want ErrNotFound", err)
	}
	if items, err := w.s.Trash(asBob, "bob"); err != nil || len(items) != 0 {
		t.Errorf("bob's own trash: %v, %v; want empty (it is alice's event)", items, err)
	}
	asAlice := WithPrincipal(ctx, "alice")
	it := onlyItem(t)(w.s.Trash(asAlice, "alice"))
	if it.Kind != store.TrashObject || it.Name != "work/dentist.ics" || it.DeletedBy != "bob" || it.Size == 0 || it.Payload != nil {
		t.Errorf("trash item %+v", it)
	}

	// Nobody else lists, restores or purges it.
	if _, err := w.s.Trash(asBob, "alice"); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob lists alice's trash: %v", err)
	}
	if _, err := w.s.RestoreTrash(asBob, "alice", it.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob restores alice's item: %v", err)
	}
	if _, err := w.s.RestoreTrash(asBob, "bob", it.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob restores alice's item as his own: %v", err)
	}
	if _, err := w.s.PurgeTrash(asBob, "bob", it.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob purges alice's item as his own: %v", err)
	}

	// A new event holding the UID blocks the restore, then its name does.
	w.put(t, ctx, work, "other.ics", "dentist")
	if _, err := w.s.RestoreTrash(asAlice, "alice", it.ID); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "UID dentist") {
		t.Errorf("restore over the UID: %v, want a conflict naming the UID", err)
	}
	if err := w.s.DeleteObject(asAlice, work, "other.ics", ""); err != nil {
		t.Fatal(err)
	}
	w.put(t, ctx, work, "dentist.ics", "another")
	if _, err := w.s.RestoreTrash(asAlice, "alice", it.ID); !errors.Is(err, ErrConflict) {
		t.Errorf("restore over the name: %v, want ErrConflict", err)
	}
	if err := w.s.DeleteObject(asAlice, work, "dentist.ics", ""); err != nil {
		t.Fatal(err)
	}

	if _, err := w.s.RestoreTrash(asAlice, "alice", it.ID); err != nil {
		t.Fatal(err)
	}
	o, err := w.s.Object(ctx, work, "dentist.ics")
	if err != nil || !strings.Contains(string(o.Data), "UID:dentist") {
		t.Fatalf("restored object %v, %v", o, err)
	}
	props, err := w.s.Properties(ctx, ObjectKey(work, "dentist.ics"))
	if err != nil || len(props) != 1 || props[0].Local != "note" {
		t.Errorf("restored properties %v, %v; want the note", props, err)
	}
	changes, err := w.s.Changes(ctx, work, before.Revision)
	if err != nil {
		t.Fatal(err)
	}
	last := changes[len(changes)-1]
	if last.Name != "dentist.ics" || last.Deleted {
		t.Errorf("changes since before the delete end with %+v, want dentist.ics live", last)
	}

	// Into a calendar that is gone: a conflict naming it.
	if err := w.s.DeleteObject(asAlice, work, "dentist.ics", ""); err != nil {
		t.Fatal(err)
	}
	if err := w.s.DeleteCollection(asAlice, work); err != nil {
		t.Fatal(err)
	}
	items, err := w.s.Trash(asAlice, "alice")
	if err != nil {
		t.Fatal(err)
	}
	var obj *store.TrashItem
	for _, x := range items {
		if x.Name == "work/dentist.ics" {
			obj = x
		}
	}
	if obj == nil {
		t.Fatalf("trash %+v: no work/dentist.ics", items)
	}
	var tc *TrashConflictError
	if _, err := w.s.RestoreTrash(asAlice, "alice", obj.ID); !errors.As(err, &tc) || !strings.Contains(err.Error(), "the collection work it was in was deleted") {
		t.Errorf("restore into a deleted calendar: %v, want a *TrashConflictError", err)
	}
	// Once the calendar is back, so can the event be.
	for _, x := range items {
		if x.Kind == store.TrashCollection {
			if _, err := w.s.RestoreTrash(asAlice, "alice", x.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := w.s.RestoreTrash(asAlice, "alice", obj.ID); err != nil {
		t.Errorf("restore into the restored calendar: %v", err)
	}
	back, err := w.s.Collection(ctx, "alice", "work")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.Object(ctx, back, "dentist.ics"); err != nil {
		t.Errorf("the event in the restored calendar: %v", err)
	}
}

// TestTrashCollection: a deleted calendar comes back under its name with
// its objects, properties, shares and connector.
func TestTrashCollection(t *testing.T) {
	ctx := context.Background()
	w := newTrashWorld(t)
	work := w.calendar(t, "alice", "work")
	w.put(t, ctx, work, "a.ics", "a")
	w.put(t, ctx, work, "b.ics", "b")
	if err := w.s.PatchProperties(ctx, CollectionKey(work), []PropChange{{Property: store.Property{Namespace: "urn:x", Local: "tag",
		XML: []byte(`<tag xmlns="urn:x">t</tag>`)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.Share(ctx, work, "user:bob", LevelRead); err != nil {
		t.Fatal(err)
	}
	if err := w.st.Update(ctx, func(tx store.Tx) error {
		cn := &store.Connector{Owner: "alice", Name: "office", CollectionID: work.ID, Kind: "ics", URL: "https://example.org/f.ics",
			Direction: "pull", Policy: "remote", Interval: time.Hour}
		if err := tx.CreateConnector(ctx, cn); err != nil {
			return err
		}
		return tx.PutConnectorItem(ctx, &store.ConnectorItem{ConnectorID: cn.ID, UID: "a", LocalName: "a.ics"})
	}); err != nil {
		t.Fatal(err)
	}

	asAlice := WithPrincipal(ctx, "alice")
	if err := w.s.DeleteCollection(WithPrincipal(ctx, "bob"), work); !errors.Is(err, ErrForbidden) && !errors.Is(err, ErrNotFound) {
		t.Errorf("bob deletes alice's calendar: %v, want refused", err)
	}
	if err := w.s.DeleteCollection(asAlice, work); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.Collection(ctx, "alice", "work"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	it := onlyItem(t)(w.s.Trash(asAlice, "alice"))
	if it.Kind != store.TrashCollection || it.Name != "work" || it.Size <= 0 {
		t.Errorf("trash item %+v", it)
	}

	// A new calendar under the name blocks the restore.
	w.calendar(t, "alice", "work")
	if _, err := w.s.RestoreTrash(asAlice, "alice", it.ID); !errors.Is(err, ErrConflict) {
		t.Errorf("restore over a new calendar: %v, want ErrConflict", err)
	}
	if err := w.s.DeleteCollection(asAlice, w.calendar(t, "alice", "work")); err != nil {
		t.Fatal(err)
	}

	if _, err := w.s.RestoreTrash(asAlice, "alice", it.ID); err != nil {
		t.Fatal(err)
	}
	back, err := w.s.Collection(ctx, "alice", "work")
	if err != nil {
		t.Fatal(err)
	}
	if back.DisplayName != "Work" || back.Color != "#FF0000FF" {
		t.Errorf("restored calendar %+v: want its name and colour", back)
	}
	objs, err := w.s.ListObjects(ctx, back, false)
	if err != nil || len(objs) != 2 {
		t.Errorf("restored objects %v, %v; want 2", objs, err)
	}
	props, err := w.s.Properties(ctx, CollectionKey(back))
	if err != nil || len(props) != 1 {
		t.Errorf("restored properties %v, %v", props, err)
	}
	grants, err := w.s.Grants(ctx, back)
	if err != nil || len(grants) != 1 || grants[0].Grantee != "user:bob" {
		t.Errorf("restored grants %v, %v; want bob's", grants, err)
	}
	err = w.st.View(ctx, func(tx store.Tx) error {
		conns, err := tx.ListConnectors(ctx, "alice")
		if err != nil {
			return err
		}
		if len(conns) != 1 || conns[0].CollectionID != back.ID || conns[0].URL != "https://example.org/f.ics" {
			t.Errorf("restored connectors %+v, want office on the calendar", conns)
			return nil
		}
		items, err := tx.ConnectorItems(ctx, conns[0].ID)
		if err != nil || len(items) != 1 {
			t.Errorf("restored connector items %v, %v", items, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if items, err := w.s.Trash(asAlice, "alice"); err != nil || len(items) != 1 {
		t.Errorf("trash after restore: %d items (the replaced new calendar stays), %v", len(items), err)
	}
}

// TestTrashUser: a deleted user keeps their name until purged or
// restored, and comes back with password, app passwords, groups and
// calendars.
func TestTrashUser(t *testing.T) {
	ctx := context.Background()
	w := newTrashWorld(t)
	work := w.calendar(t, "bob", "work")
	w.put(t, ctx, work, "a.ics", "a")
	secret, _, err := w.s.CreateAppPassword(ctx, "bob", "phone")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.s.CreateGroup(ctx, "team", "Team", false); err != nil {
		t.Fatal(err)
	}
	if err := w.s.AddMember(ctx, "team", "bob", nil); err != nil {
		t.Fatal(err)
	}
	alices := w.calendar(t, "alice", "work")
	if _, err := w.s.Share(ctx, alices, "user:bob", LevelRead); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.CreateVC(ctx, "bob", VCSpec{Name: "mine", Definition: VCNode{Calendar: "work"}}); err != nil {
		t.Fatal(err)
	}

	if err := w.s.DeleteUser(WithPrincipal(ctx, "alice"), "bob"); !errors.Is(err, ErrNotFound) {
		t.Errorf("alice deletes bob: %v", err)
	}
	if err := w.s.DeleteUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.User(ctx, "bob"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	var inTrash *UserInTrashError
	if err := w.s.CreateUser(ctx, "bob", "password1", ""); !errors.As(err, &inTrash) || !strings.Contains(err.Error(), "koyomi trash purge bob") {
		t.Errorf("re-using the name: %v, want a *UserInTrashError naming the way out", err)
	}
	if _, err := w.s.RestoreUser(WithPrincipal(ctx, "alice"), "bob"); !errors.Is(err, ErrForbidden) {
		t.Errorf("alice restores bob: %v", err)
	}

	if _, err := w.s.RestoreUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	hash, err := w.s.PasswordHash(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := auth.VerifyPassword(hash, "password-bob"); !ok {
		t.Error("restored bob's password does not verify")
	}
	pws, err := w.s.AppPasswords(ctx, "bob")
	if err != nil || len(pws) != 1 || pws[0].Hash != auth.AppPasswordHash(secret) {
		t.Errorf("restored app passwords %v, %v", pws, err)
	}
	ms, err := w.s.Members(ctx, "team")
	if err != nil || len(ms) != 1 || ms[0].User != "bob" {
		t.Errorf("restored membership %v, %v", ms, err)
	}
	back, err := w.s.Collection(ctx, "bob", "work")
	if err != nil {
		t.Fatal(err)
	}
	if grants, err := w.s.Grants(ctx, alices); err != nil || len(grants) != 1 || grants[0].Grantee != "user:bob" {
		t.Errorf("alice's share with bob after the restore: %v, %v", grants, err)
	}
	if vc, _, err := w.s.VC(ctx, "bob", "mine"); err != nil || vc.Name != "mine" {
		t.Errorf("bob's virtual calendar after the restore: %v, %v", vc, err)
	}
	if objs, err := w.s.ListObjects(ctx, back, false); err != nil || len(objs) != 1 {
		t.Errorf("restored objects %v, %v", objs, err)
	}

	// Purged, the name is free again and nothing of bob's trash is left.
	if err := w.s.DeleteObject(ctx, back, "a.ics", ""); err != nil {
		t.Fatal(err)
	}
	if err := w.s.DeleteUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	user := onlyUserItem(t, w.s, "bob")
	n, err := w.s.PurgeTrash(ctx, "bob", user.ID)
	if err != nil || n != 2 {
		t.Errorf("purge bob: %d items, %v; want 2 (bob and his deleted event)", n, err)
	}
	if err := w.s.CreateUser(ctx, "bob", "password1", ""); err != nil {
		t.Errorf("the name after purging: %v", err)
	}
}

func onlyUserItem(t *testing.T, s *Service, name string) *store.TrashItem {
	t.Helper()
	items, err := s.Trash(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Kind == store.TrashUser {
			return it
		}
	}
	t.Fatalf("no user item in %+v", items)
	return nil
}

// TestTrashRetention: an item older than the retention is neither listed
// nor restored, and the purge job removes it; a younger one stays.
func TestTrashRetention(t *testing.T) {
	ctx := context.Background()
	w := newTrashWorld(t)
	work := w.calendar(t, "alice", "work")
	w.put(t, ctx, work, "old.ics", "old")
	w.put(t, ctx, work, "new.ics", "new")
	if err := w.s.DeleteObject(ctx, work, "old.ics", ""); err != nil {
		t.Fatal(err)
	}
	w.now = w.now.Add(DefaultTrashRetention - time.Hour)
	if err := w.s.DeleteObject(ctx, work, "new.ics", ""); err != nil {
		t.Fatal(err)
	}
	if items, err := w.s.Trash(ctx, "alice"); err != nil || len(items) != 2 {
		t.Fatalf("within the retention: %d items, %v; want 2", len(items), err)
	}
	w.now = w.now.Add(2 * time.Hour)
	it := onlyItem(t)(w.s.Trash(ctx, "alice"))
	if it.Name != "work/new.ics" {
		t.Errorf("listed %s, want only work/new.ics", it.Name)
	}
	if _, err := w.s.PurgeExpiredTrash(WithPrincipal(ctx, "alice")); !errors.Is(err, ErrForbidden) {
		t.Errorf("alice runs the purge: %v", err)
	}
	n, err := w.s.PurgeExpiredTrash(ctx)
	if err != nil || n != 1 {
		t.Errorf("PurgeExpiredTrash = %d, %v; want 1", n, err)
	}
	var size int64
	if err := w.st.View(ctx, func(tx store.Tx) error {
		var items int64
		items, size, err = tx.TrashSize(ctx)
		if items != 1 {
			t.Errorf("trash holds %d items after the purge, want 1", items)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if size != int64(len(event("new"))) {
		t.Errorf("trash size %d, want %d", size, len(event("new")))
	}
}

// TestTrashPurgeLease: of two nodes, one purges per period; the other
// takes over once the period is over.
func TestTrashPurgeLease(t *testing.T) {
	ctx := context.Background()
	w := newTrashWorld(t)
	other := New(w.st, Options{Clock: func() time.Time { return w.now }})
	work := w.calendar(t, "alice", "work")
	w.put(t, ctx, work, "a.ics", "a")
	if err := w.s.DeleteObject(ctx, work, "a.ics", ""); err != nil {
		t.Fatal(err)
	}
	w.now = w.now.Add(DefaultTrashRetention + time.Minute)
	ran, n, err := w.s.PurgeExpiredTrashOnce(ctx, "node-1", time.Hour)
	if err != nil || !ran || n != 1 {
		t.Fatalf("node-1: ran %v, purged %d, %v; want it to purge the one item", ran, n, err)
	}
	if ran, _, err := other.PurgeExpiredTrashOnce(ctx, "node-2", time.Hour); err != nil || ran {
		t.Errorf("node-2 in the same period: ran %v, %v; want it to leave the purge to node-1", ran, err)
	}
	w.now = w.now.Add(time.Hour + time.Second)
	if ran, _, err := other.PurgeExpiredTrashOnce(ctx, "node-2", time.Hour); err != nil || !ran {
		t.Errorf("node-2 the next period: ran %v, %v; want it to purge", ran, err)
	}
}

// BenchmarkTrashCalendar deletes a calendar of 1,000 events into the trash
// and restores it, on SQLite.
func BenchmarkTrashCalendar(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, b.TempDir(), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s := New(st, Options{PasswordParams: auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 16}})
	if err := s.CreateUser(ctx, "alice", "password1", ""); err != nil {
		b.Fatal(err)
	}
	c := &store.Collection{Owner: "alice", Name: "big", Kind: store.KindCalendar}
	if err := s.CreateCollection(ctx, c, nil); err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		uid := "e" + strconv.Itoa(i)
		if _, _, err := s.PutObject(ctx, c, uid+".ics", "", event(uid), "text/calendar", store.PutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		c, err := s.Collection(ctx, "alice", "big")
		if err != nil {
			b.Fatal(err)
		}
		if err := s.DeleteCollection(ctx, c); err != nil {
			b.Fatal(err)
		}
		items, err := s.Trash(ctx, "alice")
		if err != nil || len(items) != 1 {
			b.Fatalf("trash %v, %v", items, err)
		}
		if _, err := s.RestoreTrash(ctx, "alice", items[0].ID); err != nil {
			b.Fatal(err)
		}
	}
}

// The size of every user's trash is the operator's (metrics) to read: a
// signed-in user is refused it.
func TestTrashSizeIsTheSystems(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := New(st, Options{PasswordParams: auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 16}})
	if err := s.CreateUser(ctx, "alice", "password1", ""); err != nil {
		t.Fatal(err)
	}
	c := &store.Collection{Owner: "alice", Name: "work", Kind: store.KindCalendar}
	if err := s.CreateCollection(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutObject(ctx, c, "a.ics", "", event("a"), "text/calendar", store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteObject(WithPrincipal(ctx, "alice"), c, "a.ics", ""); err != nil {
		t.Fatal(err)
	}
	if items, size, err := s.TrashSize(ctx); err != nil || items != 1 || size < int64(len(event("a"))) {
		t.Errorf("TrashSize = %d, %d, %v; want 1 item of the event's size", items, size, err)
	}
	if _, _, err := s.TrashSize(WithPrincipal(ctx, "alice")); !errors.Is(err, ErrForbidden) {
		t.Errorf("alice's TrashSize: %v, want ErrForbidden", err)
	}
}

// What others gave a user (a virtual calendar shared with them, a
// delegation) comes back with them; what cannot, because the other side
// is gone meanwhile, is reported.
func TestTrashUserKeepsWhatOthersGaveThem(t *testing.T) {
	ctx := context.Background()
	w := newTrashWorld(t)
	w.calendar(t, "alice", "work")
	if err := w.s.CreateUser(ctx, "carol", "password-carol", ""); err != nil {
		t.Fatal(err)
	}
	w.calendar(t, "carol", "work")
	for _, owner := range []string{"alice", "carol"} {
		if _, err := w.s.CreateVC(ctx, owner, VCSpec{Name: "fam", Definition: VCNode{Calendar: "work"}, SharedWith: []string{"user:bob"}}); err != nil {
			t.Fatal(err)
		}
		if err := w.s.SetDelegate(ctx, owner, "bob", false); err != nil {
			t.Fatal(err)
		}
	}
	fam, _, err := w.s.VC(ctx, "alice", "fam")
	if err != nil {
		t.Fatal(err)
	}
	mine := "Family"
	if _, err := w.s.SetSubscription(ctx, "bob", fam.ID, Subscription{Personal: Personal{DisplayName: &mine}}); err != nil {
		t.Fatal(err)
	}
	if err := w.s.DeleteUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := w.s.DeleteUser(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	notes, err := w.s.RestoreUser(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	vc, _, err := w.s.VC(ctx, "alice", "fam")
	if err != nil || strings.Join(vc.SharedWith, ",") != "user:bob" {
		t.Errorf("alice's fam after bob's restore: %+v, %v; want shared with user:bob", vc, err)
	}
	ds, err := w.s.DelegatorsOf(ctx, "bob")
	if err != nil || len(ds) != 1 || ds[0].Owner != "alice" || ds[0].Write {
		t.Errorf("bob's delegators after the restore: %+v, %v; want alice's read delegation", ds, err)
	}
	if v, err := w.s.ViewVC(ctx, "bob", fam.ID); err != nil || v.sub == nil || v.sub.DisplayName != "Family" {
		t.Errorf("bob's own name for alice's fam after the restore: %+v, %v; want Family", v, err)
	}
	joined := strings.Join(notes, "\n")
	for _, want := range []string{"carol/fam", "delegate of carol"} {
		if !strings.Contains(joined, want) {
			t.Errorf("restore notes %q do not name %q", notes, want)
		}
	}
}

// An event whose calendar was deleted, and another made under its name,
// is not said to have lost a calendar that is there: the message says the
// one it was in was deleted, and how to bring it back.
func TestTrashObjectOfADeletedCalendar(t *testing.T) {
	ctx := context.Background()
	w := newTrashWorld(t)
	hol := w.calendar(t, "alice", "holidays")
	w.put(t, ctx, hol, "easter.ics", "easter")
	if err := w.s.DeleteObject(ctx, hol, "easter.ics", ""); err != nil {
		t.Fatal(err)
	}
	if err := w.s.DeleteCollection(ctx, hol); err != nil {
		t.Fatal(err)
	}
	newHol := w.calendar(t, "alice", "holidays")
	items, err := w.s.Trash(ctx, "alice")
	if err != nil || len(items) != 2 || items[0].Kind != store.TrashObject {
		t.Fatalf("alice's trash %+v, %v; want the event, then the calendar", items, err)
	}
	_, err = w.s.RestoreTrash(ctx, "alice", items[0].ID)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "the collection holidays it was in was deleted") ||
		!strings.Contains(err.Error(), "trash item "+strconv.FormatInt(items[1].ID, 10)) || !strings.Contains(err.Error(), "another collection") {
		t.Errorf("restore into a deleted calendar: %v; want it to name the deleted calendar and its trash item", err)
	}
	// An event deleted from the new calendar goes back into it, whatever
	// ID the new one has.
	w.put(t, ctx, newHol, "xmas.ics", "xmas")
	if err := w.s.DeleteObject(ctx, newHol, "xmas.ics", ""); err != nil {
		t.Fatal(err)
	}
	all, err := w.s.Trash(ctx, "alice")
	if err != nil || len(all) != 3 {
		t.Fatalf("alice's trash %+v, %v; want three items", all, err)
	}
	if _, err := w.s.RestoreTrash(ctx, "alice", all[2].ID); err != nil {
		t.Errorf("restore into the new calendar: %v", err)
	}
	if _, err := w.s.Object(ctx, newHol, "xmas.ics"); err != nil {
		t.Errorf("xmas.ics after its restore: %v", err)
	}
	if err := w.s.DeleteObject(ctx, newHol, "xmas.ics", ""); err != nil {
		t.Fatal(err)
	}
	// Purged, the calendar's ID may be the new one's: the event still does
	// not go into it.
	if _, err := w.s.PurgeTrash(ctx, "alice", items[1].ID); err != nil {
		t.Fatal(err)
	}
	_, err = w.s.RestoreTrash(ctx, "alice", items[0].ID)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "no longer in the trash") {
		t.Errorf("restore after the calendar was purged: %v; want a conflict", err)
	}
	if objs, err := w.s.ListObjects(ctx, w.calendar(t, "alice", "holidays"), false); err != nil || len(objs) != 0 {
		t.Errorf("the new holidays holds %d objects (%v), want none", len(objs), err)
	}
}

// A share given to a trashed user comes back only to the collection that
// was shared: not to one of the same name made since, which its owner
// never shared (nor to whatever a copied store numbered with the old ID).
func TestTrashUserShareOnlyOfTheSharedCollection(t *testing.T) {
	ctx := context.Background()
	for _, remake := range []bool{false, true} {
		w := newTrashWorld(t)
		work := w.calendar(t, "alice", "work")
		if _, err := w.s.Share(ctx, work, "user:bob", LevelRead); err != nil {
			t.Fatal(err)
		}
		if err := w.s.DeleteUser(ctx, "bob"); err != nil {
			t.Fatal(err)
		}
		if remake {
			if err := w.s.DeleteCollection(ctx, work); err != nil {
				t.Fatal(err)
			}
			work = w.calendar(t, "alice", "work")
		}
		notes, err := w.s.RestoreUser(ctx, "bob")
		if err != nil {
			t.Fatal(err)
		}
		grants, err := w.s.Grants(ctx, work)
		if err != nil {
			t.Fatal(err)
		}
		if remake {
			if len(grants) != 0 || len(notes) != 1 || !strings.Contains(notes[0], "alice/work") {
				t.Errorf("remade work: grants %v, notes %q; want none, and a note naming alice/work", grants, notes)
			}
		} else if len(grants) != 1 || grants[0].Grantee != "user:bob" || len(notes) != 0 {
			t.Errorf("work: grants %v, notes %q; want bob's share back", grants, notes)
		}
	}
}
