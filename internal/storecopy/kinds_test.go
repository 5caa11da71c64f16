package storecopy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/secret"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/postgres"
	"koyomi.dev/koyomi/internal/store/postgres/pgtest"
)

// txMethods accounts for every method of store.Tx: the kind of data it
// reads or writes (a kind of Summary, which Copy must copy and Summarize
// must check), or why a copy leaves it alone: "runtime:" for state of
// running nodes, "derived:" for state a server rebuilds from what is
// copied. TestEveryTxMethodIsAccountedFor
// fails on a method missing here: a new kind of data needs copying in
// Copy, a place in Summarize, data in fillAll and a field in snapshot.
var txMethods = map[string]string{
	"CreateUser": "users", "GetUser": "users", "ListUsers": "users", "UpdateUser": "users", "DeleteUser": "users",

	"CreateCollection": "collections", "GetCollection": "collections", "GetCollectionByID": "collections",
	"ListCollections": "collections", "UpdateCollection": "collections", "RenameCollection": "collections",
	"DeleteCollection": "collections",

	"GetObject": "objects", "GetObjects": "objects", "ListObjects": "objects", "FindObjectsInRange": "objects", "RecurringStartingIn": "objects",
	"FindObjectByUID": "objects", "PutObject": "objects", "DeleteObject": "objects",
	// The change log is rebuilt by PutObject; revisions start again.
	"Changes": "objects",

	"SetProperty": "properties", "RemoveProperty": "properties", "Properties": "properties",
	"CopyProperties": "properties", "DeleteProperties": "properties",

	"AcquireLease": "runtime: job leases of running nodes", "ReleaseLease": "runtime: job leases of running nodes",
	"Locks": "runtime: WebDAV locks of running nodes", "ReplaceLocks": "runtime: WebDAV locks of running nodes",

	"CreateVirtualCalendar": "virtual calendars", "GetVirtualCalendar": "virtual calendars",
	"GetVirtualCalendarByID": "virtual calendars", "ListVirtualCalendars": "virtual calendars",
	"UpdateVirtualCalendar": "virtual calendars", "DeleteVirtualCalendar": "virtual calendars",
	"GetViewSubscription": "view subscriptions", "PutViewSubscription": "view subscriptions",
	"ViewSubscriptions": "view subscriptions",
	// Without a log, a viewer's next sync rebuilds it; the copy's new
	// Version of each virtual calendar makes old view sync tokens stale.
	"GetViewSyncState": "derived: view sync logs are rebuilt on a viewer's next sync",
	"ViewMembers":      "derived: view sync logs are rebuilt on a viewer's next sync",
	"RecordViewSync":   "derived: view sync logs are rebuilt on a viewer's next sync",

	"CreateGroup": "groups", "GetGroup": "groups", "ListGroups": "groups", "UpdateGroup": "groups",
	"DeleteGroup":   "groups",
	"PutMembership": "memberships", "Memberships": "memberships", "UserMemberships": "memberships",
	"DeleteMembership": "memberships",

	"CreateAppPassword": "app passwords", "AppPasswords": "app passwords", "DeleteAppPassword": "app passwords",
	"TouchAppPassword": "app passwords", "RevokeAppPassword": "app passwords",

	"CreateConnector": "connectors", "GetConnector": "connectors", "ListConnectors": "connectors",
	"UpdateConnector": "connectors", "DeleteConnector": "connectors",
	"ConnectorItems": "connector items", "PutConnectorItem": "connector items", "DeleteConnectorItem": "connector items",
	"AddConnectorRun": "connector runs", "UpdateConnectorRun": "connector runs", "ConnectorRuns": "connector runs",
	"AddConnectorConflict": "connector conflicts", "ConnectorConflicts": "connector conflicts",
	"SetConnectorPermission": "connector permissions", "DeleteConnectorPermission": "connector permissions",
	"ConnectorPermissions": "connector permissions",

	"AddTrash": "trash items", "GetTrash": "trash items", "ListTrash": "trash items", "DeleteTrash": "trash items",
	"PurgeTrash": "trash items", "TrashSize": "trash items", "RetargetTrash": "trash items",

	"PutGrant": "grants", "DeleteGrant": "grants", "Grants": "grants", "GrantsTo": "grants",
	"GetShareSettings": "share settings", "PutShareSettings": "share settings", "UserShareSettings": "share settings",
	"PutDelegate": "delegates", "DeleteDelegate": "delegates", "Delegates": "delegates", "DelegatorsOf": "delegates",
	"CreatePublicLink": "public links", "GetPublicLink": "public links", "PublicLinks": "public links",
	"DeletePublicLink": "public links",
}

func TestEveryTxMethodIsAccountedFor(t *testing.T) {
	kinds := map[string]bool{}
	for _, k := range (&Summary{}).kinds() {
		kinds[k.name] = true
	}
	tx := reflect.TypeFor[store.Tx]()
	for i := range tx.NumMethod() {
		name := tx.Method(i).Name
		kind, ok := txMethods[name]
		switch {
		case !ok:
			t.Errorf("store.Tx.%s is new to storecopy: if it keeps data, copy it in Copy, check it in Summarize, "+
				"fill it in fillAll and compare it in snapshot; then name its kind in txMethods", name)
		case !strings.HasPrefix(kind, "runtime:") && !strings.HasPrefix(kind, "derived:") && !kinds[kind]:
			t.Errorf("store.Tx.%s: kind %q is not a kind of Summary", name, kind)
		}
	}
	for name := range txMethods {
		if _, ok := tx.MethodByName(name); !ok {
			t.Errorf("txMethods names %s, which store.Tx no longer has", name)
		}
	}
}

var day = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// fillAll writes fill's users, collections, objects and properties, and
// every other kind: groups (one with an administrator and a member who
// left), virtual calendars (one shared with a group, one owned by a
// group, one deleted to leave a gap in the IDs), viewers' subscriptions
// (with a view sync log, which a copy leaves behind), app passwords (with a gap and a last use),
// connectors (one deleted, for a gap) with a sealed secret, items, runs
// of two connectors interleaved, conflicts (one whose run left the
// history) and permissions, and sharing (see fillSharing). Carol has a
// phone number.
func fillAll(t *testing.T, st store.Store, sealed []byte) {
	t.Helper()
	fill(t, st)
	ctx := context.Background()
	err := st.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateUser(ctx, &store.User{Name: "carol", DisplayName: "Carol", Email: "carol@example.org",
			Phone: "+1 555 0100", PasswordHash: "$argon2id$y", Created: day.Add(-time.Hour)}); err != nil {
			return err
		}
		if err := tx.CreateGroup(ctx, &store.Group{Name: "team", DisplayName: "The team", KeepPast: true, Created: day}); err != nil {
			return err
		}
		if err := tx.CreateGroup(ctx, &store.Group{Name: "empty"}); err != nil {
			return err
		}
		for _, m := range []*store.Membership{
			{Group: "team", User: "alice", Joined: day, Contributions: []byte(`[{"calendar":"work","level":"busy"}]`), Admin: true},
			{Group: "team", User: "carol", Joined: day, Left: day.Add(72 * time.Hour), Contributions: []byte(`[]`)},
		} {
			if err := tx.PutMembership(ctx, m); err != nil {
				return err
			}
		}

		gone := &store.VirtualCalendar{Owner: "alice", Name: "gone", Definition: []byte(`{}`)}
		if err := tx.CreateVirtualCalendar(ctx, gone); err != nil {
			return err
		}
		mine := &store.VirtualCalendar{Owner: "alice", Name: "mine", DisplayName: "Mine", Color: "#00FF00FF",
			Definition: []byte(`{"node":{"calendar":"work"}}`), SharedWith: []string{"group:team", "user:bob"}}
		if err := tx.CreateVirtualCalendar(ctx, mine); err != nil {
			return err
		}
		mine.DisplayName = "Mine, busy"
		if err := tx.UpdateVirtualCalendar(ctx, mine); err != nil {
			return err
		}
		if err := tx.UpdateVirtualCalendar(ctx, mine); err != nil { // Version 3
			return err
		}
		if err := tx.DeleteVirtualCalendar(ctx, gone.ID); err != nil {
			return err
		}
		team := &store.VirtualCalendar{Owner: "group:team", Name: "team", Definition: []byte(`{"node":{"group":"team"}}`)}
		if err := tx.CreateVirtualCalendar(ctx, team); err != nil {
			return err
		}
		for _, s := range []*store.ViewSubscription{
			{VC: mine.ID, Viewer: "bob", DisplayName: "Alice, busy", Color: "#FF0000FF", Order: 2, Subscribed: true},
			{VC: team.ID, Viewer: "bob", Order: 1, Hidden: true, Subscribed: true},
			{VC: team.ID, Viewer: "alice"},
		} {
			if err := tx.PutViewSubscription(ctx, s); err != nil {
				return err
			}
		}
		if err := tx.SetProperty(ctx, store.VCKey(mine.ID, "bob"), "urn:x", "note", []byte(`<note xmlns="urn:x">busy</note>`)); err != nil {
			return err
		}
		if err := tx.RecordViewSync(ctx, &store.ViewSyncState{VC: mine.ID, Viewer: "bob", Key: "k1", Sources: "1-1", Revision: 1},
			[]*store.ViewMember{{Name: "o1.ics", ETag: "e1", Revision: 1, FirstSeen: 1, Modified: day}}); err != nil {
			return err
		}

		revoked := &store.AppPassword{User: "alice", Label: "old phone", Hash: strings.Repeat("0", 64)}
		if err := tx.CreateAppPassword(ctx, revoked); err != nil {
			return err
		}
		phone := &store.AppPassword{User: "alice", Label: "phone", Hash: strings.Repeat("a", 64)}
		if err := tx.CreateAppPassword(ctx, phone); err != nil {
			return err
		}
		if err := tx.DeleteAppPassword(ctx, "alice", revoked.ID); err != nil {
			return err
		}
		lost := &store.AppPassword{User: "alice", Label: "lost tablet", Hash: strings.Repeat("c", 64)}
		if err := tx.CreateAppPassword(ctx, lost); err != nil {
			return err
		}
		if err := tx.RevokeAppPassword(ctx, "alice", lost.ID, day.Add(time.Minute)); err != nil {
			return err
		}
		if err := tx.TouchAppPassword(ctx, phone.ID, day.Add(5*time.Minute)); err != nil {
			return err
		}
		if err := tx.CreateAppPassword(ctx, &store.AppPassword{User: "bob", Label: "laptop", Hash: strings.Repeat("b", 64)}); err != nil {
			return err
		}

		work := map[string]int64{}
		for _, u := range []string{"alice", "bob"} {
			c, err := tx.GetCollection(ctx, u, "work")
			if err != nil {
				return err
			}
			work[u] = c.ID
		}
		dropped := &store.Connector{Owner: "bob", Name: "dropped", CollectionID: work["bob"], Kind: "ics"}
		if err := tx.CreateConnector(ctx, dropped); err != nil {
			return err
		}
		if err := tx.DeleteConnector(ctx, dropped.ID); err != nil {
			return err
		}
		a := &store.Connector{Owner: "alice", Name: "office", CollectionID: work["alice"], Kind: "caldav",
			URL: "https://cal.example.org/alice/work/", Username: "alice", Secret: sealed,
			AuthType: "basic", Direction: "two-way", Policy: "recent", Interval: 15 * time.Minute, Enabled: true,
			State: "idle", Reason: "backing off", NextRun: day.Add(time.Hour), LastRun: day, LastOK: day.Add(time.Minute),
			Failures: 2, SyncToken: "http://example.org/sync/7", CTag: "ctag-7"}
		b := &store.Connector{Owner: "bob", Name: "feed", CollectionID: work["bob"], Kind: "ics",
			URL: "https://example.org/feed.ics", Direction: "pull", Policy: "remote", Interval: time.Hour,
			State: "stopped", Reason: "stopped by its owner"}
		for _, c := range []*store.Connector{a, b} {
			if err := tx.CreateConnector(ctx, c); err != nil {
				return err
			}
		}
		for _, it := range []*store.ConnectorItem{
			{ConnectorID: a.ID, UID: "alice-work-1", LocalName: "o1.ics", LocalETag: "e1", RemoteHref: "/alice/work/1.ics", RemoteETag: `"r1"`},
			{ConnectorID: a.ID, UID: "alice-work-2", LocalName: "o2.ics", LocalETag: "e2", RemoteHref: "/alice/work/2.ics", RemoteETag: `"r2"`},
			{ConnectorID: b.ID, UID: "feed-1", LocalName: "feed-1.ics", LocalETag: "e3", RemoteHref: "feed.ics#feed-1"},
		} {
			if err := tx.PutConnectorItem(ctx, it); err != nil {
				return err
			}
		}
		// Interleaved, so that the copy must keep each connector's
		// order while the IDs change.
		runs := []*store.ConnectorRun{
			{ConnectorID: a.ID, Started: day, Ended: day.Add(time.Minute), Node: "n1", Status: "error",
				RemoteStatus: 503, Error: "remote server unavailable"},
			{ConnectorID: b.ID, Started: day.Add(time.Minute), Ended: day.Add(2 * time.Minute), Node: "n2", Status: "ok", PulledCreated: 1},
			{ConnectorID: a.ID, Started: day.Add(time.Hour), Ended: day.Add(time.Hour + time.Minute), Node: "n1", Status: "ok",
				PulledCreated: 1, PulledUpdated: 2, PulledDeleted: 3, PushedCreated: 4, PushedUpdated: 5, PushedDeleted: 6, Conflicts: 1},
		}
		for _, r := range runs {
			if err := tx.AddConnectorRun(ctx, r); err != nil {
				return err
			}
		}
		for _, c := range []*store.ConnectorConflict{
			{ConnectorID: a.ID, RunID: runs[2].ID, UID: "alice-work-1", Side: "local", Data: []byte("BEGIN:VCALENDAR\r\n"), Created: day.Add(time.Hour)},
			{ConnectorID: a.ID, RunID: runs[2].ID + 1000, UID: "alice-work-2", Side: "remote", Data: []byte("old"), Created: day},
		} {
			if err := tx.AddConnectorConflict(ctx, c); err != nil {
				return err
			}
		}
		for _, p := range []*store.ConnectorPermission{{Subject: "*", Allowed: true}, {Subject: "group:team"}, {Subject: "user:alice", Allowed: true}} {
			if err := tx.SetConnectorPermission(ctx, p); err != nil {
				return err
			}
		}
		// An object of a live calendar, one of a calendar gone, a user
		// gone; one purged, for a gap.
		for _, it := range []*store.TrashItem{
			{Owner: "alice", Kind: store.TrashObject, Name: "work/gone.ics", CollectionID: work["alice"], Size: 3,
				Deleted: day, DeletedBy: "bob", Payload: []byte("{}")},
			{Owner: "bob", Kind: store.TrashObject, Name: "old/x.ics", CollectionID: work["bob"] + 1000, Size: 1,
				Deleted: day.Add(-time.Hour), Payload: []byte("{}")},
			{Owner: "bob", Kind: store.TrashCollection, Name: "purged", Deleted: day.Add(-2 * time.Hour)},
			{Owner: "dave", Kind: store.TrashUser, Name: "dave", Size: 12, Deleted: day.Add(time.Minute), Payload: []byte(`{"user":{}}`)},
		} {
			if err := tx.AddTrash(ctx, it); err != nil {
				return err
			}
			if it.Name == "purged" {
				if err := tx.DeleteTrash(ctx, it.ID); err != nil {
					return err
				}
			}
		}
		return fillSharing(ctx, tx, work, mine.ID, team.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// fillSharing writes grants on both users' work calendars (one replaced,
// one deleted), sharees' settings, delegates both ways, and public links
// of two users on calendars and on two virtual calendars, one of them a
// group's (and one link revoked).
func fillSharing(ctx context.Context, tx store.Tx, work map[string]int64, mine, team int64) error {
	for _, g := range []*store.Grant{
		{CollectionID: work["alice"], Grantee: "user:bob", Level: "read"},
		{CollectionID: work["alice"], Grantee: "group:team", Level: "free-busy"},
		{CollectionID: work["alice"], Grantee: "*", Level: "free-busy"},
		{CollectionID: work["bob"], Grantee: "user:alice", Level: "admin"},
		{CollectionID: work["bob"], Grantee: "user:carol", Level: "read"},
		{CollectionID: work["alice"], Grantee: "user:bob", Level: "read-write"},
	} {
		if err := tx.PutGrant(ctx, g); err != nil {
			return err
		}
	}
	if err := tx.DeleteGrant(ctx, work["bob"], "user:carol"); err != nil {
		return err
	}
	for _, s := range []*store.ShareSettings{
		{CollectionID: work["alice"], User: "bob", DisplayName: "Alice at work", Color: "#0000FFFF", Order: 2},
		{CollectionID: work["alice"], User: "carol", Hidden: true},
		{CollectionID: work["bob"], User: "alice", Order: -1},
	} {
		if err := tx.PutShareSettings(ctx, s); err != nil {
			return err
		}
	}
	for _, d := range []*store.Delegate{
		{Owner: "alice", Delegate: "bob", Write: true}, {Owner: "alice", Delegate: "carol"}, {Owner: "bob", Delegate: "alice"},
	} {
		if err := tx.PutDelegate(ctx, d); err != nil {
			return err
		}
	}
	for _, l := range []*store.PublicLink{
		{Token: "revoked", Owner: "alice", CollectionID: work["alice"]},
		{Token: "work", Owner: "alice", CollectionID: work["alice"]},
		{Token: "mine", Owner: "alice", VCID: mine},
		{Token: "team", Owner: "alice", VCID: team},
		{Token: "bob", Owner: "bob", CollectionID: work["bob"]},
	} {
		if err := tx.CreatePublicLink(ctx, l); err != nil {
			return err
		}
	}
	return tx.DeletePublicLink(ctx, "revoked")
}

// snapshot is a store's whole content, as the contract returns it, with
// what a copy does not keep zeroed and references by ID resolved to
// what they name.
type snapshot struct {
	Users        []*store.User
	Properties   []string
	Collections  []*store.Collection
	Objects      []*store.Object
	Groups       []*store.Group
	Memberships  []*store.Membership
	VCs          []*store.VirtualCalendar
	Subs         []*store.ViewSubscription
	SubVCs       []string // each subscription's virtual calendar, owner/name
	Grants       []*store.Grant
	GrantColls   []string // each grant's collection, owner/name
	Settings     []*store.ShareSettings
	SettingColls []string // each sharee's settings' collection, owner/name
	Delegates    []*store.Delegate
	Links        []*store.PublicLink
	LinkTargets  []string // each public link's collection or virtual calendar, owner/name
	AppPasswords []*store.AppPassword
	Connectors   []*store.Connector
	Calendars    []string // each connector's calendar, owner/name
	Items        []*store.ConnectorItem
	Runs         []*store.ConnectorRun
	Conflicts    []*store.ConnectorConflict
	ConflictRuns []int // each conflict's run, by place in its connector's history; -1 none
	Permissions  []*store.ConnectorPermission
	Trash        []*store.TrashItem
	TrashColls   []string // each trash item's collection, owner/name; "" none
}

func takeSnapshot(t *testing.T, st store.Store) *snapshot {
	t.Helper()
	ctx := context.Background()
	s := &snapshot{}
	err := st.View(ctx, func(tx store.Tx) error {
		var err error
		if s.Users, err = tx.ListUsers(ctx); err != nil {
			return err
		}
		for _, u := range s.Users {
			for _, k := range store.UserKeys(u.Name) {
				if err := s.addProps(ctx, tx, k, k); err != nil {
					return err
				}
			}
			colls, err := tx.ListCollections(ctx, u.Name)
			if err != nil {
				return err
			}
			for _, c := range colls {
				if err := s.addProps(ctx, tx, store.CollectionKey(c.ID), c.Owner+"/"+c.Name); err != nil {
					return err
				}
				objs, err := tx.ListObjects(ctx, c.ID, false)
				if err != nil {
					return err
				}
				for _, o := range objs {
					full, err := tx.GetObject(ctx, c.ID, o.Name)
					if err != nil {
						return err
					}
					if err := s.addProps(ctx, tx, store.ObjectKey(c.ID, o.Name), c.Owner+"/"+c.Name+" "+o.Name); err != nil {
						return err
					}
					full.CollectionID, full.Modified = 0, time.Time{}
					s.Objects = append(s.Objects, full)
				}
				grants, err := tx.Grants(ctx, c.ID)
				if err != nil {
					return err
				}
				for _, g := range grants {
					g.CollectionID, g.Created = 0, time.Time{}
					s.GrantColls = append(s.GrantColls, c.Owner+"/"+c.Name)
				}
				s.Grants = append(s.Grants, grants...)
				c.ID, c.Revision, c.Created, c.Modified = 0, 0, time.Time{}, time.Time{}
				s.Collections = append(s.Collections, c)
			}
			pws, err := tx.AppPasswords(ctx, u.Name)
			if err != nil {
				return err
			}
			for _, p := range pws {
				p.Created = time.Time{}
				s.AppPasswords = append(s.AppPasswords, p)
			}
			if err := s.addSharing(ctx, tx, u.Name); err != nil {
				return err
			}
		}
		if s.Groups, err = tx.ListGroups(ctx); err != nil {
			return err
		}
		for _, g := range s.Groups {
			ms, err := tx.Memberships(ctx, g.Name)
			if err != nil {
				return err
			}
			s.Memberships = append(s.Memberships, ms...)
		}
		if s.VCs, err = tx.ListVirtualCalendars(ctx); err != nil {
			return err
		}
		for _, vc := range s.VCs {
			vc.Created, vc.Modified = time.Time{}, time.Time{}
		}
		for _, u := range s.Users {
			subs, err := tx.ViewSubscriptions(ctx, u.Name)
			if err != nil {
				return err
			}
			for _, sub := range subs {
				vc, err := tx.GetVirtualCalendarByID(ctx, sub.VC)
				if err != nil {
					return err
				}
				s.SubVCs = append(s.SubVCs, vc.Owner+"/"+vc.Name)
				if err := s.addProps(ctx, tx, store.VCKey(sub.VC, sub.Viewer), vc.Owner+"/"+vc.Name+" of "+sub.Viewer); err != nil {
					return err
				}
				sub.VC = 0
			}
			s.Subs = append(s.Subs, subs...)
		}
		if s.Connectors, err = tx.ListConnectors(ctx, ""); err != nil {
			return err
		}
		for _, c := range s.Connectors {
			coll, err := tx.GetCollectionByID(ctx, c.CollectionID)
			if err != nil {
				return err
			}
			s.Calendars = append(s.Calendars, coll.Owner+"/"+coll.Name)
			items, err := tx.ConnectorItems(ctx, c.ID)
			if err != nil {
				return err
			}
			s.Items = append(s.Items, items...)
			runs, err := tx.ConnectorRuns(ctx, c.ID, 0)
			if err != nil {
				return err
			}
			place := map[int64]int{}
			for i, r := range runs {
				place[r.ID] = i
				r.ID = 0
			}
			s.Runs = append(s.Runs, runs...)
			conflicts, err := tx.ConnectorConflicts(ctx, c.ID)
			if err != nil {
				return err
			}
			for _, cf := range conflicts {
				i, ok := place[cf.RunID]
				if !ok {
					i = -1
				}
				s.ConflictRuns = append(s.ConflictRuns, i)
				cf.ID, cf.RunID = 0, 0
			}
			s.Conflicts = append(s.Conflicts, conflicts...)
			c.CollectionID, c.Created, c.Modified = 0, time.Time{}, time.Time{}
		}
		if s.Permissions, err = tx.ConnectorPermissions(ctx); err != nil {
			return err
		}
		items, err := tx.ListTrash(ctx, "")
		if err != nil {
			return err
		}
		for _, it := range items {
			full, err := tx.GetTrash(ctx, it.ID)
			if err != nil {
				return err
			}
			coll, err := trashCollection(ctx, tx, full)
			if err != nil {
				return err
			}
			s.TrashColls = append(s.TrashColls, coll)
			full.ID, full.CollectionID = 0, 0
			s.Trash = append(s.Trash, full)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// addSharing adds user's settings, ordered by their collection, delegates,
// and public links, ordered by token: a copy gives links new Created
// times.
func (s *snapshot) addSharing(ctx context.Context, tx store.Tx, user string) error {
	name := func(id int64) (string, error) {
		c, err := tx.GetCollectionByID(ctx, id)
		if err != nil {
			return "", err
		}
		return c.Owner + "/" + c.Name, nil
	}
	settings, err := tx.UserShareSettings(ctx, user)
	if err != nil {
		return err
	}
	names := map[*store.ShareSettings]string{}
	for _, ss := range settings {
		if names[ss], err = name(ss.CollectionID); err != nil {
			return err
		}
	}
	slices.SortFunc(settings, func(a, b *store.ShareSettings) int { return strings.Compare(names[a], names[b]) })
	for _, ss := range settings {
		s.SettingColls = append(s.SettingColls, names[ss])
		ss.CollectionID = 0
	}
	s.Settings = append(s.Settings, settings...)

	delegates, err := tx.Delegates(ctx, user)
	if err != nil {
		return err
	}
	for _, d := range delegates {
		d.Created = time.Time{}
	}
	s.Delegates = append(s.Delegates, delegates...)

	links, err := tx.PublicLinks(ctx, user)
	if err != nil {
		return err
	}
	slices.SortFunc(links, func(a, b *store.PublicLink) int { return strings.Compare(a.Token, b.Token) })
	for _, l := range links {
		var target string
		if l.CollectionID != 0 {
			if target, err = name(l.CollectionID); err != nil {
				return err
			}
			target = "collection " + target
		} else {
			vc, err := tx.GetVirtualCalendarByID(ctx, l.VCID)
			if err != nil {
				return err
			}
			target = "virtual calendar " + vc.Owner + "/" + vc.Name
		}
		s.LinkTargets = append(s.LinkTargets, target)
		l.CollectionID, l.VCID, l.Created = 0, 0, time.Time{}
	}
	s.Links = append(s.Links, links...)
	return nil
}

// addProps records the dead properties under k as belonging to what, which
// names it without the IDs a copy changes.
func (s *snapshot) addProps(ctx context.Context, tx store.Tx, k string, what string) error {
	props, err := tx.Properties(ctx, k)
	for _, p := range props {
		s.Properties = append(s.Properties, fmt.Sprintf("%s %s %s %s", what, p.Namespace, p.Local, p.XML))
	}
	return err
}

// compareSnapshots fails for every field of snapshot that differs,
// showing the first line that does.
func compareSnapshots(t *testing.T, want, got *snapshot) {
	t.Helper()
	wv, gv := reflect.ValueOf(want).Elem(), reflect.ValueOf(got).Elem()
	for i := range wv.NumField() {
		name := wv.Type().Field(i).Name
		if wv.Field(i).Len() == 0 {
			t.Errorf("%s: the source holds none, so the test proves nothing about them", name)
		}
		wj, _ := json.MarshalIndent(wv.Field(i).Interface(), "", " ")
		gj, _ := json.MarshalIndent(gv.Field(i).Interface(), "", " ")
		if bytes.Equal(wj, gj) {
			continue
		}
		wl, gl := strings.Split(string(wj), "\n"), strings.Split(string(gj), "\n")
		for j := range max(len(wl), len(gl)) {
			if j >= len(wl) || j >= len(gl) || wl[j] != gl[j] {
				at := func(l []string) string {
					if j < len(l) {
						return strings.TrimSpace(l[j])
					}
					return "(end)"
				}
				t.Errorf("%s differ at line %d: source %s, destination %s", name, j+1, at(wl), at(gl))
				break
			}
		}
	}
}

type opener struct {
	name string
	open func(t *testing.T) store.Store
}

var (
	sqliteStore   = opener{"sqlite", openSQLite}
	postgresStore = opener{"postgres", openPostgres}
)

func openPostgres(t *testing.T) store.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), pgtest.Database(t), postgres.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// testSecret returns a box and a secret sealed with it. fillAll takes the
// sealed bytes, so that two fills hold equal data.
func testSecret(t *testing.T) (*secret.Box, []byte) {
	t.Helper()
	box, err := secret.New(bytes.Repeat([]byte{7}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return box, box.Seal([]byte("s3cret"))
}

func TestCopyKeepsEveryKind(t *testing.T) {
	for _, tc := range []struct{ from, to opener }{
		{sqliteStore, sqliteStore}, {sqliteStore, postgresStore}, {postgresStore, sqliteStore},
	} {
		t.Run(tc.from.name+"-to-"+tc.to.name, func(t *testing.T) {
			ctx := context.Background()
			src, dst := tc.from.open(t), tc.to.open(t)
			box, sealed := testSecret(t)
			fillAll(t, src, sealed)
			sum, err := Copy(ctx, src, dst)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range sum.kinds() {
				if *k.n == 0 {
					t.Errorf("summary counts no %s: %v", k.name, sum)
				}
			}
			if len(sum.Warnings) > 0 {
				t.Errorf("warnings from a copy into an empty destination: %v", sum.Warnings)
			}

			want, got := takeSnapshot(t, src), takeSnapshot(t, dst)
			// The only documented change left in a snapshot: one more
			// version, so that clients' ETags and sync tokens go stale.
			for _, vc := range want.VCs {
				vc.Version++
			}
			compareSnapshots(t, want, got)
			// IDs kept across the gaps the source has.
			if ids := vcIDs(want.VCs); !slices.Equal(ids, []int64{2, 3}) {
				t.Errorf("source virtual calendar IDs %v: the test means to leave a gap at 1", ids)
			}
			if !slices.ContainsFunc(got.Memberships, func(m *store.Membership) bool { return m.Admin }) {
				t.Error("no administrator among the copied memberships")
			}
			// The view sync log stays behind: the viewer's next sync
			// rebuilds it.
			err = dst.View(ctx, func(tx store.Tx) error {
				vc, err := tx.GetVirtualCalendar(ctx, "alice", "mine")
				if err != nil {
					return err
				}
				if _, err := tx.GetViewSyncState(ctx, vc.ID, "bob"); !errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("view sync state in the destination: %v, want ErrNotFound", err)
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}

			// No collection has its old ID, so no old sync token is
			// taken for a token of the copy.
			srcIDs, dstIDs := collectionIDs(t, src), collectionIDs(t, dst)
			if dstIDs[0] <= srcIDs[len(srcIDs)-1] {
				t.Errorf("destination collection IDs %v overlap the source's %v", dstIDs, srcIDs)
			}

			// The sealed secret opens with the source's key.
			err = dst.View(ctx, func(tx store.Tx) error {
				cs, err := tx.ListConnectors(ctx, "alice")
				if err != nil || len(cs) != 1 {
					return fmt.Errorf("alice's connectors: %v, %v", cs, err)
				}
				plain, err := box.Open(cs[0].Secret)
				if err != nil || string(plain) != "s3cret" {
					return fmt.Errorf("secret opens to %q, %v", plain, err)
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
}

// collectionIDs returns the IDs of all collections, ascending.
func collectionIDs(t *testing.T, st store.Store) []int64 {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	err := st.View(ctx, func(tx store.Tx) error {
		users, err := tx.ListUsers(ctx)
		for _, u := range users {
			colls, err := tx.ListCollections(ctx, u.Name)
			if err != nil {
				return err
			}
			for _, c := range colls {
				ids = append(ids, c.ID)
			}
		}
		return err
	})
	if err != nil || len(ids) == 0 {
		t.Fatalf("collection IDs: %v, %v", ids, err)
	}
	slices.Sort(ids)
	return ids
}

func vcIDs(vcs []*store.VirtualCalendar) []int64 {
	var ids []int64
	for _, vc := range vcs {
		ids = append(ids, vc.ID)
	}
	slices.Sort(ids)
	return ids
}

// TestCopyReportsIDsItCannotKeep copies into a PostgreSQL database whose
// ID sequences an earlier use advanced, as a failed copy would.
func TestCopyReportsIDsItCannotKeep(t *testing.T) {
	ctx := context.Background()
	src, dst := openSQLite(t), openPostgres(t)
	_, sealed := testSecret(t)
	fillAll(t, src, sealed)
	err := dst.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateUser(ctx, &store.User{Name: "x"}); err != nil {
			return err
		}
		for range 5 {
			if err := tx.CreateVirtualCalendar(ctx, &store.VirtualCalendar{Owner: "x", Name: fmt.Sprint(time.Now().UnixNano())}); err != nil {
				return err
			}
		}
		return tx.DeleteUser(ctx, "x")
	})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Copy(ctx, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	text := sum.String()
	for _, want := range []string{"virtual calendar alice/mine: ID 2 could not be kept", "virtual calendar group:team/team: ID 3 could not be kept"} {
		if !strings.Contains(text, want) {
			t.Errorf("summary %q does not say %q", text, want)
		}
	}
}

// TestSummaryNamesEachKindThatDiffers changes one thing of each kind and
// expects the verification to name that kind and no other.
func TestSummaryNamesEachKindThatDiffers(t *testing.T) {
	ctx := context.Background()
	box, sealed := testSecret(t)
	base := openSQLite(t)
	fillAll(t, base, sealed)
	want, err := Summarize(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	firstConnector := func(tx store.Tx) (*store.Connector, error) {
		cs, err := tx.ListConnectors(ctx, "alice")
		if err != nil || len(cs) == 0 {
			return nil, fmt.Errorf("no connector: %v", err)
		}
		return cs[0], nil
	}
	for _, tc := range []struct {
		kind   string
		change func(tx store.Tx) error
	}{
		{"users", func(tx store.Tx) error {
			return tx.UpdateUser(ctx, &store.User{Name: "bob", Email: "robert@example.org", PasswordHash: "$argon2id$x"})
		}},
		{"groups", func(tx store.Tx) error {
			return tx.UpdateGroup(ctx, &store.Group{Name: "team", DisplayName: "The team"})
		}},
		{"memberships", func(tx store.Tx) error {
			return tx.PutMembership(ctx, &store.Membership{Group: "team", User: "carol", Joined: day, Contributions: []byte(`[]`)})
		}},
		{"collections", func(tx store.Tx) error {
			c, err := tx.GetCollection(ctx, "bob", "work")
			if err != nil {
				return err
			}
			c.Color = "#123456FF"
			return tx.UpdateCollection(ctx, c)
		}},
		{"objects", func(tx store.Tx) error { return changeObject(ctx, tx) }},
		{"properties", func(tx store.Tx) error {
			return tx.SetProperty(ctx, store.HomeKey("bob", store.KindCalendar), "urn:x", "me", []byte(`<me xmlns="urn:x">robert</me>`))
		}},
		{"virtual calendars", func(tx store.Tx) error {
			vc, err := tx.GetVirtualCalendar(ctx, "alice", "mine")
			if err != nil {
				return err
			}
			vc.SharedWith = vc.SharedWith[:1]
			return tx.UpdateVirtualCalendar(ctx, vc)
		}},
		{"view subscriptions", func(tx store.Tx) error {
			vc, err := tx.GetVirtualCalendar(ctx, "group:team", "team")
			if err != nil {
				return err
			}
			return tx.PutViewSubscription(ctx, &store.ViewSubscription{VC: vc.ID, Viewer: "alice", Subscribed: true})
		}},
		{"grants", func(tx store.Tx) error {
			c, err := tx.GetCollection(ctx, "alice", "work")
			if err != nil {
				return err
			}
			return tx.PutGrant(ctx, &store.Grant{CollectionID: c.ID, Grantee: "group:team", Level: "read"})
		}},
		{"share settings", func(tx store.Tx) error {
			c, err := tx.GetCollection(ctx, "alice", "work")
			if err != nil {
				return err
			}
			return tx.PutShareSettings(ctx, &store.ShareSettings{CollectionID: c.ID, User: "carol"})
		}},
		{"delegates", func(tx store.Tx) error {
			return tx.PutDelegate(ctx, &store.Delegate{Owner: "alice", Delegate: "carol", Write: true})
		}},
		{"public links", func(tx store.Tx) error {
			team, err := tx.GetVirtualCalendar(ctx, "group:team", "team")
			if err != nil {
				return err
			}
			if err := tx.DeletePublicLink(ctx, "mine"); err != nil {
				return err
			}
			return tx.CreatePublicLink(ctx, &store.PublicLink{Token: "mine", Owner: "alice", VCID: team.ID})
		}},
		{"app passwords", func(tx store.Tx) error {
			pws, err := tx.AppPasswords(ctx, "bob")
			if err != nil || len(pws) == 0 {
				return fmt.Errorf("no app password: %v", err)
			}
			return tx.TouchAppPassword(ctx, pws[0].ID, day.Add(time.Hour))
		}},
		{"connectors", func(tx store.Tx) error {
			c, err := firstConnector(tx)
			if err != nil {
				return err
			}
			c.Secret = box.Seal([]byte("s3cret"))
			return tx.UpdateConnector(ctx, c)
		}},
		{"connector items", func(tx store.Tx) error {
			c, err := firstConnector(tx)
			if err != nil {
				return err
			}
			return tx.DeleteConnectorItem(ctx, c.ID, "alice-work-2")
		}},
		{"connector runs", func(tx store.Tx) error {
			c, err := firstConnector(tx)
			if err != nil {
				return err
			}
			runs, err := tx.ConnectorRuns(ctx, c.ID, 1)
			if err != nil || len(runs) == 0 {
				return fmt.Errorf("no run: %v", err)
			}
			runs[0].Error = "changed"
			return tx.UpdateConnectorRun(ctx, runs[0])
		}},
		{"connector conflicts", func(tx store.Tx) error {
			c, err := firstConnector(tx)
			if err != nil {
				return err
			}
			return tx.AddConnectorConflict(ctx, &store.ConnectorConflict{ConnectorID: c.ID, UID: "u", Side: "local", Created: day})
		}},
		{"connector permissions", func(tx store.Tx) error {
			return tx.SetConnectorPermission(ctx, &store.ConnectorPermission{Subject: "group:team", Allowed: true})
		}},
		{"trash items", func(tx store.Tx) error {
			items, err := tx.ListTrash(ctx, "dave")
			if err != nil || len(items) == 0 {
				return fmt.Errorf("no trash item: %v", err)
			}
			if err := tx.DeleteTrash(ctx, items[0].ID); err != nil {
				return err
			}
			it := *items[0]
			it.Payload = []byte(`{"user":{"changed":true}}`)
			return tx.AddTrash(ctx, &it)
		}},
	} {
		t.Run(strings.ReplaceAll(tc.kind, " ", "_"), func(t *testing.T) {
			st := openSQLite(t)
			fillAll(t, st, sealed)
			if err := st.Update(ctx, tc.change); err != nil {
				t.Fatal(err)
			}
			got, err := Summarize(ctx, st)
			if err != nil {
				t.Fatal(err)
			}
			diffs := want.differences(got)
			if len(diffs) != 1 || !strings.HasPrefix(diffs[0], tc.kind+":") {
				t.Fatalf("differences = %q, want one about %s", diffs, tc.kind)
			}
			if want.Checksum == got.Checksum {
				t.Fatal("the overall checksum did not change")
			}
		})
	}
}

// lossyStore is a real store whose transactions silently lose one kind of
// write, standing for a copy step that forgets something.
type lossyStore struct {
	store.Store
	wrap func(store.Tx) store.Tx
}

func (s lossyStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error { return fn(s.wrap(tx)) })
}

type itemLosingTx struct{ store.Tx }

func (itemLosingTx) PutConnectorItem(context.Context, *store.ConnectorItem) error { return nil }

type subscriptionLosingTx struct{ store.Tx }

func (subscriptionLosingTx) PutViewSubscription(context.Context, *store.ViewSubscription) error {
	return nil
}

type grantLosingTx struct{ store.Tx }

func (grantLosingTx) PutGrant(context.Context, *store.Grant) error { return nil }

// linkRetargetingTx points every public link at the first virtual
// calendar of its owner's, as a copy that mixed up the IDs of collections
// and virtual calendars would.
type linkRetargetingTx struct{ store.Tx }

func (t linkRetargetingTx) CreatePublicLink(ctx context.Context, l *store.PublicLink) error {
	vcs, err := t.ListVirtualCalendars(ctx)
	if err != nil || len(vcs) == 0 {
		return fmt.Errorf("no virtual calendar: %v", err)
	}
	wrong := *l
	wrong.CollectionID, wrong.VCID = 0, vcs[0].ID
	return t.Tx.CreatePublicLink(ctx, &wrong)
}

type leaverForgettingTx struct{ store.Tx }

func (t leaverForgettingTx) PutMembership(ctx context.Context, m *store.Membership) error {
	forgot := *m
	forgot.Left = time.Time{}
	return t.Tx.PutMembership(ctx, &forgot)
}

func TestCopyFailsLoudlyOnALoss(t *testing.T) {
	for _, tc := range []struct {
		kind string
		wrap func(store.Tx) store.Tx
	}{
		{"connector items", func(tx store.Tx) store.Tx { return itemLosingTx{tx} }},
		{"memberships", func(tx store.Tx) store.Tx { return leaverForgettingTx{tx} }},
		{"view subscriptions", func(tx store.Tx) store.Tx { return subscriptionLosingTx{tx} }},
		{"grants", func(tx store.Tx) store.Tx { return grantLosingTx{tx} }},
		{"public links", func(tx store.Tx) store.Tx { return linkRetargetingTx{tx} }},
	} {
		t.Run(strings.ReplaceAll(tc.kind, " ", "_"), func(t *testing.T) {
			src := openSQLite(t)
			_, sealed := testSecret(t)
			fillAll(t, src, sealed)
			_, err := Copy(context.Background(), src, lossyStore{openSQLite(t), tc.wrap})
			// A loss may show in more than its own kind: a viewer's
			// properties of a view are checked with their subscription.
			if err == nil || !strings.Contains(err.Error(), "verification failed: ") || !strings.Contains(err.Error(), tc.kind+": ") {
				t.Fatalf("err = %v, want a verification failure naming %s", err, tc.kind)
			}
		})
	}
}

func TestCopyRefusesADestinationHoldingAnything(t *testing.T) {
	ctx := context.Background()
	src := openSQLite(t)
	fill(t, src)
	dst := openSQLite(t)
	if err := dst.Update(ctx, func(tx store.Tx) error {
		return tx.SetConnectorPermission(ctx, &store.ConnectorPermission{Subject: "*"})
	}); err != nil {
		t.Fatal(err)
	}
	_, err := Copy(ctx, src, dst)
	if err == nil || !strings.Contains(err.Error(), "1 connector permissions") {
		t.Fatalf("err = %v, want a refusal naming the permission", err)
	}
	if errors.Is(err, store.ErrExists) {
		t.Fatal("refused by a failed write, not before writing")
	}
}

// A store that holds nothing but a deleted user in the trash is not empty:
// a copy into it would mix two installations.
func TestCopyRefusesADestinationHoldingOnlyTrash(t *testing.T) {
	ctx := context.Background()
	src := openSQLite(t)
	fill(t, src)
	dst := openSQLite(t)
	if err := dst.Update(ctx, func(tx store.Tx) error {
		return tx.AddTrash(ctx, &store.TrashItem{Owner: "carol", Kind: store.TrashUser, Name: "carol", Payload: []byte("{}")})
	}); err != nil {
		t.Fatal(err)
	}
	held, err := Holdings(ctx, dst)
	if err != nil || strings.Join(held, ", ") != "1 trash items" {
		t.Fatalf("holdings %v (%v), want 1 trash items", held, err)
	}
	if _, err := Copy(ctx, src, dst); !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "1 trash items") {
		t.Fatalf("err = %v, want ErrNotEmpty naming the trash", err)
	}
	if users, err := Holdings(ctx, dst); err != nil || len(users) != 1 {
		t.Fatalf("after the refusal the destination holds %v (%v)", users, err)
	}
}
