package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

func testUsers(t *testing.T, s store.Store) {
	created := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	alice := &store.User{Name: "alice", DisplayName: "Alice", Email: "alice@example.org", Phone: "+81 3-1234-5678",
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", Created: created}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.CreateUser(ctx, alice); err != nil {
			return err
		}
		return tx.CreateUser(ctx, &store.User{Name: "bob"})
	})

	view(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.GetUser(ctx, "alice")
		if err != nil {
			return err
		}
		if *got != *alice {
			t.Errorf("GetUser = %+v, want %+v", got, alice)
		}
		bob, err := tx.GetUser(ctx, "bob")
		if err != nil {
			return err
		}
		if bob.Created.IsZero() || bob.Created.Location() != time.UTC {
			t.Errorf("bob.Created = %v, want a UTC creation time set by the store", bob.Created)
		}
		_, err = tx.GetUser(ctx, "carol")
		wantErr(t, "GetUser(missing)", err, store.ErrNotFound)

		users, err := tx.ListUsers(ctx)
		if err != nil {
			return err
		}
		names := []string{}
		for _, u := range users {
			names = append(names, u.Name)
			if u.Name == "alice" && *u != *alice {
				t.Errorf("ListUsers has %+v, want %+v", u, alice)
			}
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{"alice", "bob"}) {
			t.Errorf("ListUsers names = %v", names)
		}
		return nil
	})

	ctx := t.Context()
	err := s.Update(ctx, func(tx store.Tx) error { return tx.CreateUser(ctx, &store.User{Name: "alice"}) })
	wantErr(t, "CreateUser(duplicate)", err, store.ErrExists)
	err = s.Update(ctx, func(tx store.Tx) error { return tx.UpdateUser(ctx, &store.User{Name: "carol"}) })
	wantErr(t, "UpdateUser(missing)", err, store.ErrNotFound)
	err = s.Update(ctx, func(tx store.Tx) error { return tx.DeleteUser(ctx, "carol") })
	wantErr(t, "DeleteUser(missing)", err, store.ErrNotFound)

	update(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.UpdateUser(ctx, &store.User{Name: "alice", DisplayName: "Alice A.", Email: "a@example.org",
			Phone: "+81 90-0000-0000", PasswordHash: "new"})
	})
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteUser(ctx, "bob") })
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.GetUser(ctx, "alice")
		if err != nil {
			return err
		}
		want := store.User{Name: "alice", DisplayName: "Alice A.", Email: "a@example.org", Phone: "+81 90-0000-0000",
			PasswordHash: "new", Created: created}
		if *got != want {
			t.Errorf("after UpdateUser: %+v, want %+v (Created must not change)", got, want)
		}
		_, err = tx.GetUser(ctx, "bob")
		wantErr(t, "GetUser(deleted)", err, store.ErrNotFound)
		all, err := tx.ListUsers(ctx)
		if err != nil {
			return err
		}
		if len(all) != 1 || *all[0] != want {
			t.Errorf("ListUsers after UpdateUser = %+v, want only %+v", all, want)
		}
		return nil
	})
}

func testCollections(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := &store.Collection{Owner: "alice", Name: "work", Kind: store.KindCalendar, DisplayName: "Work",
		Description: "Office", DescriptionLang: "en-GB", Color: "#FF0000FF", Order: 3, Timezone: "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
		Components: []string{"VEVENT", "VTODO"}}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.CreateUser(ctx, &store.User{Name: "alice"}); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, &store.User{Name: "bob"}); err != nil {
			return err
		}
		if err := tx.CreateCollection(ctx, c); err != nil {
			return err
		}
		// The same name in another home is a different collection.
		return tx.CreateCollection(ctx, &store.Collection{Owner: "bob", Name: "work", Kind: store.KindAddressBook})
	})
	if c.ID == 0 || c.Revision != 0 || c.Created.IsZero() {
		t.Errorf("CreateCollection left ID=%d Revision=%d Created=%v", c.ID, c.Revision, c.Created)
	}

	err := s.Update(ctx, func(tx store.Tx) error {
		return tx.CreateCollection(ctx, &store.Collection{Owner: "alice", Name: "work", Kind: store.KindPlain})
	})
	wantErr(t, "CreateCollection(duplicate)", err, store.ErrExists)
	err = s.Update(ctx, func(tx store.Tx) error {
		return tx.CreateCollection(ctx, &store.Collection{Owner: "nobody", Name: "x", Kind: store.KindPlain})
	})
	if err == nil {
		t.Error("CreateCollection for a missing owner succeeded")
	}

	check := func(what string, got *store.Collection) {
		t.Helper()
		if got.ID != c.ID || got.Owner != "alice" || got.Name != "work" || got.Kind != store.KindCalendar ||
			got.DisplayName != c.DisplayName || got.Description != c.Description ||
			got.DescriptionLang != c.DescriptionLang || got.Color != c.Color ||
			got.Order != c.Order || got.Timezone != c.Timezone || !slices.Equal(got.Components, c.Components) ||
			got.Revision != 0 || !got.Created.Equal(c.Created) {
			t.Errorf("%s = %+v, want %+v", what, got, c)
		}
	}
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.GetCollection(ctx, "alice", "work")
		if err != nil {
			return err
		}
		check("GetCollection", got)
		got, err = tx.GetCollectionByID(ctx, c.ID)
		if err != nil {
			return err
		}
		check("GetCollectionByID", got)
		_, err = tx.GetCollection(ctx, "alice", "missing")
		wantErr(t, "GetCollection(missing)", err, store.ErrNotFound)
		_, err = tx.GetCollectionByID(ctx, c.ID+1000)
		wantErr(t, "GetCollectionByID(missing)", err, store.ErrNotFound)
		return nil
	})

	c.DisplayName, c.Description, c.DescriptionLang, c.Color, c.Order, c.Timezone, c.Components = "Job", "Travail", "fr", "#00FF00FF", 1, "", nil
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpdateCollection(ctx, c) })
	got := getCollection(t, s, c.ID)
	if got.DisplayName != "Job" || got.Description != "Travail" || got.DescriptionLang != "fr" || got.Color != "#00FF00FF" || got.Order != 1 ||
		got.Timezone != "" || len(got.Components) != 0 || got.Name != "work" || got.Kind != store.KindCalendar {
		t.Errorf("after UpdateCollection: %+v", got)
	}
	err = s.Update(ctx, func(tx store.Tx) error {
		return tx.UpdateCollection(ctx, &store.Collection{ID: c.ID + 1000})
	})
	wantErr(t, "UpdateCollection(missing)", err, store.ErrNotFound)

	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteCollection(ctx, c.ID) })
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.GetCollectionByID(ctx, c.ID)
		wantErr(t, "GetCollectionByID(deleted)", err, store.ErrNotFound)
		if _, err := tx.GetCollection(ctx, "bob", "work"); err != nil {
			t.Errorf("bob's collection went with alice's: %v", err)
		}
		return nil
	})
	err = s.Update(ctx, func(tx store.Tx) error { return tx.DeleteCollection(ctx, c.ID) })
	wantErr(t, "DeleteCollection(missing)", err, store.ErrNotFound)
}

func testCollectionOrder(t *testing.T, s store.Store) {
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, u := range []string{"alice", "bob"} {
			if err := tx.CreateUser(ctx, &store.User{Name: u}); err != nil {
				return err
			}
		}
		for _, c := range []store.Collection{
			{Owner: "alice", Name: "d", Order: 2},
			{Owner: "alice", Name: "b", Order: 1},
			{Owner: "alice", Name: "c", Order: 1},
			{Owner: "alice", Name: "a", Order: 5},
			{Owner: "alice", Name: "z", Order: -1},
			{Owner: "bob", Name: "other"},
		} {
			c.Kind = store.KindCalendar
			if err := tx.CreateCollection(ctx, &c); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		cs, err := tx.ListCollections(ctx, "alice")
		if err != nil {
			return err
		}
		var names []string
		for _, c := range cs {
			names = append(names, c.Name)
		}
		if want := []string{"z", "b", "c", "d", "a"}; !slices.Equal(names, want) {
			t.Errorf("ListCollections = %v, want %v", names, want)
		}
		cs, err = tx.ListCollections(ctx, "nobody")
		if err != nil || len(cs) != 0 {
			t.Errorf("ListCollections(nobody) = %v, %v; want empty", cs, err)
		}
		return nil
	})
}

func testRenameCollection(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := seed(t, s)
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.CreateUser(ctx, &store.User{Name: "bob"}); err != nil {
			return err
		}
		return tx.CreateCollection(ctx, &store.Collection{Owner: "alice", Name: "taken", Kind: store.KindCalendar})
	})
	put(t, s, c.ID, "a.ics", "a", "A")
	put(t, s, c.ID, "b.ics", "b", "B")

	err := s.Update(ctx, func(tx store.Tx) error { return tx.RenameCollection(ctx, c.ID, "alice", "taken") })
	wantErr(t, "RenameCollection onto an existing name", err, store.ErrExists)
	err = s.Update(ctx, func(tx store.Tx) error { return tx.RenameCollection(ctx, c.ID+1000, "alice", "new") })
	wantErr(t, "RenameCollection(missing)", err, store.ErrNotFound)

	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.RenameCollection(ctx, c.ID, "bob", "moved") })
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.GetCollection(ctx, "alice", "cal")
		wantErr(t, "GetCollection(old name)", err, store.ErrNotFound)
		got, err := tx.GetCollection(ctx, "bob", "moved")
		if err != nil {
			return err
		}
		if got.ID != c.ID || got.Revision != 2 || got.Kind != store.KindCalendar {
			t.Errorf("renamed collection = %+v, want ID %d revision 2", got, c.ID)
		}
		objs, err := tx.ListObjects(ctx, c.ID, false)
		if err != nil {
			return err
		}
		if names := objectNames(objs); !slices.Equal(names, []string{"a.ics", "b.ics"}) {
			t.Errorf("objects after rename = %v", names)
		}
		changes, err := tx.Changes(ctx, c.ID, 1)
		if err != nil {
			t.Errorf("Changes(1) after rename: %v (sync history must survive a rename)", err)
		} else if len(changes) != 1 || changes[0].Name != "b.ics" {
			t.Errorf("Changes(1) after rename = %+v", changes)
		}
		return nil
	})
}

func testDeleteCascades(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := seed(t, s)
	other := &store.Collection{Owner: "alice", Name: "other", Kind: store.KindCalendar}
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.CreateCollection(ctx, other) })
	o := &store.Object{CollectionID: c.ID, Name: "r.ics", UID: "r", Data: []byte("R"), Recurring: true,
		SpanStart: at(1, 1, 0, 0), Occurrences: []store.Period{{Start: at(1, 1, 0, 0), End: at(1, 1, 1, 0)}},
		IndexedUntil: at(2, 1, 0, 0)}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.PutObject(ctx, o, store.PutOptions{})
		return err
	})
	put(t, s, other.ID, "keep.ics", "k", "K")

	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteCollection(ctx, c.ID) })
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.GetObject(ctx, c.ID, "r.ics")
		wantErr(t, "GetObject in deleted collection", err, store.ErrNotFound)
		_, err = tx.Changes(ctx, c.ID, 0)
		wantErr(t, "Changes of deleted collection", err, store.ErrNotFound)
		_, err = tx.FindObjectByUID(ctx, c.ID, "r")
		wantErr(t, "FindObjectByUID in deleted collection", err, store.ErrNotFound)
		objs, err := tx.FindObjectsInRange(ctx, c.ID, time.Time{}, time.Time{})
		if err != nil || len(objs) != 0 {
			t.Errorf("FindObjectsInRange in deleted collection = %v, %v", objectNames(objs), err)
		}
		if _, err := tx.GetObject(ctx, other.ID, "keep.ics"); err != nil {
			t.Errorf("object of a sibling collection lost: %v", err)
		}
		return nil
	})

	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteUser(ctx, "alice") })
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.GetCollectionByID(ctx, other.ID)
		wantErr(t, "GetCollectionByID after DeleteUser", err, store.ErrNotFound)
		_, err = tx.GetObject(ctx, other.ID, "keep.ics")
		wantErr(t, "GetObject after DeleteUser", err, store.ErrNotFound)
		cs, err := tx.ListCollections(ctx, "alice")
		if err != nil || len(cs) != 0 {
			t.Errorf("ListCollections after DeleteUser = %d, %v", len(cs), err)
		}
		return nil
	})

	// The name is free again, and the new collection starts a fresh history.
	c2 := seed(t, s)
	if got := getCollection(t, s, c2.ID); got.Revision != 0 {
		t.Errorf("recreated collection has revision %d", got.Revision)
	}
	err := s.View(ctx, func(tx store.Tx) error {
		objs, err := tx.ListObjects(ctx, c2.ID, true)
		if len(objs) != 0 {
			t.Errorf("recreated collection holds %v", objectNames(objs))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testCollectionIDsNotReused checks that a deleted collection's ID is not
// given to a later one, even the newest's: a client's sync token names the
// collection by ID and must not read as a token of another.
func testCollectionIDsNotReused(t *testing.T, s store.Store) {
	var first, newest, later store.Collection
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.CreateUser(ctx, &store.User{Name: "alice"}); err != nil {
			return err
		}
		first = store.Collection{Owner: "alice", Name: "first", Kind: store.KindCalendar}
		newest = store.Collection{Owner: "alice", Name: "newest", Kind: store.KindCalendar}
		if err := tx.CreateCollection(ctx, &first); err != nil {
			return err
		}
		return tx.CreateCollection(ctx, &newest)
	})
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteCollection(ctx, newest.ID) })
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		later = store.Collection{Owner: "alice", Name: "newest", Kind: store.KindCalendar}
		return tx.CreateCollection(ctx, &later)
	})
	if later.ID <= newest.ID {
		t.Errorf("a collection made after deleting ID %d got ID %d; want a new one", newest.ID, later.ID)
	}

	// The same for virtual calendars, whose sync tokens name them by ID.
	var vc, vcLater store.VirtualCalendar
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		vc = store.VirtualCalendar{Owner: "alice", Name: "family", Definition: []byte(`{}`)}
		return tx.CreateVirtualCalendar(ctx, &vc)
	})
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteVirtualCalendar(ctx, vc.ID) })
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		vcLater = store.VirtualCalendar{Owner: "alice", Name: "family", Definition: []byte(`{}`)}
		return tx.CreateVirtualCalendar(ctx, &vcLater)
	})
	if vcLater.ID <= vc.ID {
		t.Errorf("a virtual calendar made after deleting ID %d got ID %d; want a new one", vc.ID, vcLater.ID)
	}
}
