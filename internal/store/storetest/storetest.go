// Package storetest is the conformance suite every store.Store
// implementation must pass. It states the contract of package store as
// executable checks, so that SQLite and PostgreSQL behave alike and a bug
// fixed in one becomes a test for both.
//
// It knows only package store; it must not know about any implementation.
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// Run runs the suite. open must return a new, empty store for each call; Run
// closes it when the subtest ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Users", testUsers},
		{"Collections", testCollections},
		{"CollectionIDsNotReused", testCollectionIDsNotReused},
		{"CollectionOrder", testCollectionOrder},
		{"RenameCollection", testRenameCollection},
		{"DeleteCascades", testDeleteCascades},
		{"Objects", testObjects},
		{"ObjectPreconditions", testObjectPreconditions},
		{"UIDConflict", testUIDConflict},
		{"ObjectHref", testObjectHref},
		{"Changes", testChanges},
		{"FindObjectsInRange", testFindObjectsInRange},
		{"RecurringStartingIn", testRecurringStartingIn},
		{"DataReader", testDataReader},
		{"GetObjectsByUID", testGetObjectsByUID},
		{"Reindex", testReindex},
		{"Properties", testProperties},
		{"PropertyPrefixes", testPropertyPrefixes},
		{"RollbackOnError", testRollbackOnError},
		{"WritesInViewFail", testWritesInViewFail},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"Cancellation", testCancellation},
		{"TxAfterCallback", testTxAfterCallback},
		{"Leases", testLeases},
		{"Locks", testLocks},
		{"VirtualCalendars", testVirtualCalendars},
		{"Groups", testGroups},
		{"Memberships", testMemberships},
		{"VirtualCascades", testVirtualCascades},
		{"VirtualWritesInViewFail", testVirtualWritesInViewFail},
		{"ViewSubscriptions", testViewSubscriptions},
		{"ViewSyncLog", testViewSyncLog},
		{"Grants", testGrants},
		{"ShareSettings", testShareSettings},
		{"Delegates", testDelegates},
		{"PublicLinks", testPublicLinks},
		{"SharingCascades", testSharingCascades},
		{"SharingUserCascades", testSharingUserCascades},
		{"SharingWritesInViewFail", testSharingWritesInViewFail},
		{"ConcurrentSharingWrites", testConcurrentSharingWrites},
		{"AppPasswords", testAppPasswords},
		{"AppPasswordCascade", testAppPasswordCascade},
		{"AppPasswordRevoke", testAppPasswordRevoke},
		{"AppPasswordWritesInViewFail", testAppPasswordWritesInViewFail},
		{"Connectors", testConnectors},
		{"ConnectorUpdate", testConnectorUpdate},
		{"ConnectorItems", testConnectorItems},
		{"ConnectorRuns", testConnectorRuns},
		{"ConnectorConflicts", testConnectorConflicts},
		{"ConnectorPermissions", testConnectorPermissions},
		{"ConnectorCascades", testConnectorCascades},
		{"ConnectorRollback", testConnectorRollback},
		{"ConnectorWritesInViewFail", testConnectorWritesInViewFail},
		{"Trash", testTrash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, s)
		})
	}
}

// update runs fn in an Update and fails the test on error.
func update(t *testing.T, s store.Store, fn func(ctx context.Context, tx store.Tx) error) {
	t.Helper()
	ctx := t.Context()
	if err := s.Update(ctx, func(tx store.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// view runs fn in a View and fails the test on error.
func view(t *testing.T, s store.Store, fn func(ctx context.Context, tx store.Tx) error) {
	t.Helper()
	ctx := t.Context()
	if err := s.View(ctx, func(tx store.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// wantErr fails unless err matches target (errors.Is).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

// at returns a UTC instant in 2026 for compact fixtures.
func at(month time.Month, day, hour, minute int) time.Time {
	return time.Date(2026, month, day, hour, minute, 0, 0, time.UTC)
}

// seed creates user "alice" and a calendar "cal" and returns the calendar.
func seed(t *testing.T, s store.Store) *store.Collection {
	t.Helper()
	c := &store.Collection{Owner: "alice", Name: "cal", Kind: store.KindCalendar}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.CreateUser(ctx, &store.User{Name: "alice"}); err != nil {
			return err
		}
		return tx.CreateCollection(ctx, c)
	})
	return c
}

// put stores an object with the given name, UID and data and returns it
// as filled in by the store.
func put(t *testing.T, s store.Store, collectionID int64, name, uid, data string) *store.Object {
	t.Helper()
	o := &store.Object{CollectionID: collectionID, Name: name, UID: uid, Component: "VEVENT",
		ContentType: "text/calendar; charset=utf-8", Data: []byte(data)}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.PutObject(ctx, o, store.PutOptions{})
		return err
	})
	return o
}

func getCollection(t *testing.T, s store.Store, id int64) *store.Collection {
	t.Helper()
	var c *store.Collection
	view(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		c, err = tx.GetCollectionByID(ctx, id)
		return err
	})
	return c
}

func objectNames(objs []*store.Object) []string {
	names := make([]string, 0, len(objs))
	for _, o := range objs {
		names = append(names, o.Name)
	}
	return names
}
