// Package storecopy moves a whole installation from one store to another
// (e.g. from the embedded SQLite store to PostgreSQL) and proves the copy
// complete by comparing counts and checksums of both sides, kind by kind.
//
// It copies everything the store contract keeps: users, groups and their
// memberships (past ones included), collections with their objects (client
// bytes and index fields), dead properties, virtual calendars with their
// viewers' subscriptions and own properties, sharing (grants, sharees'
// settings, delegates and public links), app passwords, connectors with
// their item mappings, run history and conflicts, and connector
// permissions, and the trash. WebDAV locks and job leases are runtime state of a running
// server and are not copied. Nor are viewers' sync logs of virtual
// calendars: they are derived from the sources, and a viewer's next sync
// rebuilds theirs.
//
// The contract lets a store assign IDs and some timestamps itself. A copy
// keeps every other field, and of those:
//   - Collections get new revision counters and Created/Modified times,
//     objects new Modified times; ETags are unchanged. Collections also get
//     new IDs, all above the source's, so that every sync token a client
//     kept is refused and the client synchronises again (see
//     raiseCollectionIDs). Connectors follow their calendar to its new ID.
//   - Virtual calendars, connectors and app passwords keep their IDs (a
//     virtual calendar's is part of its URL, a connector's of its API
//     URL) wherever the destination allows it (see idKeeper); Copy lists
//     any it could not keep in Summary.Warnings. Their Created (and
//     Modified) times are new; an app password's LastUsed is kept.
//   - A virtual calendar's Version is one more than in the source, so that
//     every ETag and sync token a client derived from the source changes.
//     Subscriptions follow their virtual calendar to its ID in the
//     destination.
//   - Grants, sharees' settings and public links follow their collection
//     or virtual calendar to its ID in the destination. Grants, delegates
//     and public links get new Created times; tokens are kept, so every
//     public link still works.
//   - Trash items get new IDs, in the source's order; a deleted object's
//     item follows its collection to its ID in the destination, or names
//     none (0) when the collection is gone too.
//   - Runs and conflicts get new IDs, assigned oldest first so that the
//     newest-first order survives; a conflict follows its run to its new ID,
//     or names no run (0) when its run had already left the history.
//   - Users, groups and memberships keep all their times.
//   - Dead properties are keyed by IDs (string): those of a
//     collection, its objects and a virtual calendar follow them to their
//     IDs in the destination.
//
// Sealed connector secrets are copied as they are: the destination's
// servers need the source's secret key file to open them.
//
// It works through the store contract only, and takes the keys of dead
// properties from the store (store.CollectionKey and the rest); it knows
// nothing of URLs.
package storecopy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"koyomi.dev/koyomi/internal/store"
)

// Options tune a copy. The zero value is usable.
type Options struct {
	// Progress, when not nil, is called after each user is copied with
	// how many of how many users are done.
	Progress func(done, total int)
}

// Copy copies everything in src into dst, which must be empty, then
// verifies that both summarise identically: src as Copy read it, in one
// read transaction (a snapshot, so src may be in use meanwhile); the error names every kind
// that does not. The Summary returned is the destination's, with the
// copy's Warnings.
func Copy(ctx context.Context, src, dst store.Store) (Summary, error) {
	return Options{}.Copy(ctx, src, dst)
}

// Copy is the package-level Copy with these options.
func (o Options) Copy(ctx context.Context, src, dst store.Store) (Summary, error) {
	if err := requireEmpty(ctx, dst); err != nil {
		return Summary{}, err
	}
	c := &copier{ctx: ctx, dst: dst, collIDs: map[int64]int64{}, vcIDs: map[int64]int64{}, progress: o.Progress}
	var want Summary
	err := src.View(ctx, func(stx store.Tx) error {
		c.stx = stx
		// In an order that creates everything before what refers to it.
		for _, step := range []func() error{
			c.users, c.groups, c.virtualCalendars, c.viewSubscriptions, c.sharing, c.appPasswords, c.connectors,
			c.permissions, c.trash,
		} {
			if err := step(); err != nil {
				return err
			}
		}
		// In the transaction that was copied: the source of a running
		// server changes meanwhile, and the copy is of this snapshot.
		var err error
		if want, err = summarizeTx(ctx, stx); err != nil {
			return fmt.Errorf("storecopy: summarise the source: %w", err)
		}
		return nil
	})
	if err != nil {
		return Summary{}, err
	}
	got, err := Summarize(ctx, dst)
	if err != nil {
		return Summary{}, fmt.Errorf("storecopy: summarise the destination: %w", err)
	}
	got.Warnings = c.warnings
	if diffs := want.differences(got); len(diffs) > 0 {
		return got, fmt.Errorf("storecopy: verification failed: %s; source has %v, destination %v",
			strings.Join(diffs, "; "), want, got)
	}
	return got, nil
}

// ErrNotEmpty is returned by Copy for a destination that holds data.
var ErrNotEmpty = errors.New("storecopy: destination is not empty")

// requireEmpty refuses a destination that holds anything a copy would
// write: merging two installations is not what a copy does.
func requireEmpty(ctx context.Context, dst store.Store) error {
	held, err := Holdings(ctx, dst)
	if err != nil {
		return err
	}
	if len(held) > 0 {
		return fmt.Errorf("%w: the destination already holds %s; copy into an empty store", ErrNotEmpty, strings.Join(held, ", "))
	}
	return nil
}

// Holdings says what st holds of the kinds everything else hangs from
// ("2 users", "1 groups", virtual calendars, connector permissions, trash
// items); none means st is empty. A store holding only a deleted user's
// trash is not empty.
func Holdings(ctx context.Context, st store.Store) ([]string, error) {
	var held []string
	err := st.View(ctx, func(tx store.Tx) error {
		users, err := tx.ListUsers(ctx)
		if err != nil {
			return err
		}
		groups, err := tx.ListGroups(ctx)
		if err != nil {
			return err
		}
		vcs, err := tx.ListVirtualCalendars(ctx)
		if err != nil {
			return err
		}
		perms, err := tx.ConnectorPermissions(ctx)
		if err != nil {
			return err
		}
		trash, err := tx.ListTrash(ctx, "")
		if err != nil {
			return err
		}
		for _, k := range []struct {
			n    int
			what string
		}{{len(users), "users"}, {len(groups), "groups"}, {len(vcs), "virtual calendars"}, {len(perms), "connector permissions"},
			{len(trash), "trash items"}} {
			if k.n > 0 {
				held = append(held, fmt.Sprintf("%d %s", k.n, k.what))
			}
		}
		return nil
	})
	return held, err
}

// copier carries one copy's state: the source transaction and the IDs
// the destination assigned.
type copier struct {
	ctx     context.Context
	stx     store.Tx
	dst     store.Store
	collIDs map[int64]int64 // source collection ID → destination's
	vcIDs   map[int64]int64 // source virtual calendar ID → destination's
	// collFloor is the highest collection ID of the source; every
	// collection in the destination gets a higher one.
	collFloor   int64
	collsRaised bool
	warnings    []string
	progress    func(done, total int)
}

// users copies each user with their dead properties, collections and
// objects, in one destination transaction per user: transactions stay
// bounded while a user's data still arrives whole or not at all.
func (c *copier) users() error {
	users, err := c.stx.ListUsers(c.ctx)
	if err != nil {
		return err
	}
	for _, u := range users {
		colls, err := c.stx.ListCollections(c.ctx, u.Name)
		if err != nil {
			return err
		}
		for _, sc := range colls {
			c.collFloor = max(c.collFloor, sc.ID)
		}
	}
	for i, u := range users {
		if err := c.dst.Update(c.ctx, func(dtx store.Tx) error { return c.user(dtx, u) }); err != nil {
			return fmt.Errorf("storecopy: user %s: %w", u.Name, err)
		}
		if c.progress != nil {
			c.progress(i+1, len(users))
		}
	}
	return nil
}

func (c *copier) user(dtx store.Tx, u *store.User) error {
	ctx := c.ctx
	nu := *u
	if err := dtx.CreateUser(ctx, &nu); err != nil {
		return err
	}
	for _, k := range store.UserKeys(u.Name) {
		if err := c.props(dtx, k, k); err != nil {
			return err
		}
	}
	colls, err := c.stx.ListCollections(ctx, u.Name)
	if err != nil {
		return err
	}
	var placeholders []int64
	if len(colls) > 0 && !c.collsRaised {
		if placeholders, err = c.raiseCollectionIDs(dtx, u.Name, colls); err != nil {
			return err
		}
		c.collsRaised = true
	}
	// Parents before children, for nested plain collections.
	sort.Slice(colls, func(i, j int) bool { return colls[i].Name < colls[j].Name })
	for _, sc := range colls {
		nc := *sc
		nc.ID, nc.Revision = 0, 0
		if err := dtx.CreateCollection(ctx, &nc); err != nil {
			return err
		}
		c.collIDs[sc.ID] = nc.ID
		if nc.ID <= c.collFloor {
			c.warnings = append(c.warnings, fmt.Sprintf("collection %s/%s: ID %d was in use in the source, "+
				"so clients may take their old sync tokens for it as valid", sc.Owner, sc.Name, nc.ID))
		}
		if err := c.props(dtx, store.CollectionKey(sc.ID), store.CollectionKey(nc.ID)); err != nil {
			return err
		}
		objs, err := c.stx.ListObjects(ctx, sc.ID, false)
		if err != nil {
			return err
		}
		for _, o := range objs {
			full, err := c.stx.GetObject(ctx, sc.ID, o.Name)
			if err != nil {
				return err
			}
			full.CollectionID = nc.ID
			if _, err := dtx.PutObject(ctx, full, store.PutOptions{IfNoneMatch: true}); err != nil {
				return fmt.Errorf("object %s/%s: %w", sc.Name, o.Name, err)
			}
			if err := c.props(dtx, store.ObjectKey(sc.ID, o.Name), store.ObjectKey(nc.ID, o.Name)); err != nil {
				return err
			}
		}
	}
	for _, id := range placeholders {
		if err := dtx.DeleteCollection(ctx, id); err != nil {
			return fmt.Errorf("placeholder collection %d: %w", id, err)
		}
	}
	return nil
}

// raiseCollectionIDs makes placeholder collections of owner until the
// destination's next collection ID is above every ID the source uses, and
// returns them for deletion once real collections hold higher IDs. A sync
// token names its collection by ID and revision, and revisions start again
// in the destination: were a collection to get its old ID back, a client's
// old token could pass for valid and the client would miss changes. With
// new IDs every old token is refused and the client synchronises again.
func (c *copier) raiseCollectionIDs(dtx store.Tx, owner string, colls []*store.Collection) ([]int64, error) {
	names := newPlaceholderNames()
	for _, sc := range colls {
		names.reserve(owner, sc.Name)
	}
	var ids []int64
	for {
		p := &store.Collection{Owner: owner, Name: names.name(owner), Kind: store.KindPlain}
		if err := dtx.CreateCollection(c.ctx, p); err != nil {
			return ids, fmt.Errorf("placeholder collection: %w", err)
		}
		ids = append(ids, p.ID)
		if p.ID >= c.collFloor || int64(len(ids)) > c.collFloor {
			return ids, nil
		}
	}
}

// props copies the dead properties under from in the source to to in the
// destination.
func (c *copier) props(dtx store.Tx, from, to string) error {
	props, err := c.stx.Properties(c.ctx, from)
	if err != nil {
		return err
	}
	for _, p := range props {
		if err := dtx.SetProperty(c.ctx, to, p.Namespace, p.Local, p.XML); err != nil {
			return err
		}
	}
	return nil
}

// groups copies the groups and every membership, past ones with their
// Left time, after the users they name.
func (c *copier) groups() error {
	groups, err := c.stx.ListGroups(c.ctx)
	if err != nil {
		return err
	}
	err = c.dst.Update(c.ctx, func(dtx store.Tx) error {
		for _, g := range groups {
			ng := *g
			if err := dtx.CreateGroup(c.ctx, &ng); err != nil {
				return fmt.Errorf("group %s: %w", g.Name, err)
			}
			ms, err := c.stx.Memberships(c.ctx, g.Name)
			if err != nil {
				return err
			}
			for _, m := range ms {
				nm := *m
				if err := dtx.PutMembership(c.ctx, &nm); err != nil {
					return fmt.Errorf("membership of %s in %s: %w", m.User, m.Group, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storecopy: groups: %w", err)
	}
	return nil
}

// placeholderNames hands out names for placeholders that no real item of
// the same owner has, so a placeholder never takes a name a later item
// needs.
type placeholderNames struct {
	taken map[string]bool // "owner\x00name"
	next  int
}

func newPlaceholderNames() *placeholderNames { return &placeholderNames{taken: map[string]bool{}} }

func (n *placeholderNames) reserve(owner, name string) { n.taken[owner+"\x00"+name] = true }

func (n *placeholderNames) name(owner string) string {
	for {
		name := fmt.Sprintf(".storecopy-placeholder-%d", n.next)
		n.next++
		if !n.taken[owner+"\x00"+name] {
			return name
		}
	}
}

// virtualCalendars copies the virtual calendars after the users and
// groups that own them. Definitions name their sources by owner and name,
// never by ID, so they are copied unchanged.
func (c *copier) virtualCalendars() error {
	ctx := c.ctx
	vcs, err := c.stx.ListVirtualCalendars(ctx)
	if err != nil {
		return err
	}
	sort.Slice(vcs, func(i, j int) bool { return vcs[i].ID < vcs[j].ID })
	names := newPlaceholderNames()
	for _, vc := range vcs {
		names.reserve(vc.Owner, vc.Name)
	}
	k := &idKeeper{what: "virtual calendar"}
	err = c.dst.Update(ctx, func(dtx store.Tx) error {
		var gaps []int64
		for _, vc := range vcs {
			nv := *vc
			id, g, err := k.create(vc.ID, vc.Owner+"/"+vc.Name, func() (int64, error) {
				nv.ID = 0
				err := dtx.CreateVirtualCalendar(ctx, &nv)
				return nv.ID, err
			}, func() (int64, error) {
				p := &store.VirtualCalendar{Owner: vc.Owner, Name: names.name(vc.Owner)}
				err := dtx.CreateVirtualCalendar(ctx, p)
				return p.ID, err
			})
			gaps = append(gaps, g...)
			if err != nil {
				return fmt.Errorf("virtual calendar %s/%s: %w", vc.Owner, vc.Name, err)
			}
			c.vcIDs[vc.ID] = id
			for range vc.Version {
				if err := dtx.UpdateVirtualCalendar(ctx, &nv); err != nil {
					return fmt.Errorf("virtual calendar %s/%s: %w", vc.Owner, vc.Name, err)
				}
			}
		}
		for _, id := range gaps {
			if err := dtx.DeleteVirtualCalendar(ctx, id); err != nil {
				return fmt.Errorf("placeholder virtual calendar %d: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storecopy: %w", err)
	}
	c.warnings = append(c.warnings, k.renumbered...)
	return nil
}

// viewSubscriptions copies every viewer's subscriptions, after the
// virtual calendars they belong to, each onto its calendar's ID in the
// destination, with the viewer's own properties of the calendar (which
// exist only with a subscription).
func (c *copier) viewSubscriptions() error {
	ctx := c.ctx
	users, err := c.stx.ListUsers(ctx)
	if err != nil {
		return err
	}
	err = c.dst.Update(ctx, func(dtx store.Tx) error {
		for _, u := range users {
			subs, err := c.stx.ViewSubscriptions(ctx, u.Name)
			if err != nil {
				return err
			}
			for _, s := range subs {
				vc, ok := c.vcIDs[s.VC]
				if !ok {
					return fmt.Errorf("subscription of %s: its virtual calendar %d was not copied", s.Viewer, s.VC)
				}
				ns := *s
				ns.VC = vc
				if err := dtx.PutViewSubscription(ctx, &ns); err != nil {
					return fmt.Errorf("subscription of %s to virtual calendar %d: %w", s.Viewer, s.VC, err)
				}
				if err := c.props(dtx, store.VCKey(s.VC, s.Viewer), store.VCKey(vc, s.Viewer)); err != nil {
					return fmt.Errorf("properties of %s of virtual calendar %d: %w", s.Viewer, s.VC, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storecopy: %w", err)
	}
	return nil
}

// sharing copies, after the collections, virtual calendars and users they
// name, every grant and sharee's settings (each onto its collection's ID
// in the destination), every delegate, and every public link (onto its
// collection's or virtual calendar's ID), in one transaction.
func (c *copier) sharing() error {
	ctx := c.ctx
	users, err := c.stx.ListUsers(ctx)
	if err != nil {
		return err
	}
	err = c.dst.Update(ctx, func(dtx store.Tx) error {
		for _, u := range users {
			if err := c.userSharing(dtx, u.Name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storecopy: %w", err)
	}
	return nil
}

// userSharing copies the grants on user's collections, user's own
// settings for collections shared with them, user's delegates and user's
// public links.
func (c *copier) userSharing(dtx store.Tx, user string) error {
	ctx := c.ctx
	colls, err := c.stx.ListCollections(ctx, user)
	if err != nil {
		return err
	}
	for _, sc := range colls {
		grants, err := c.stx.Grants(ctx, sc.ID)
		if err != nil {
			return err
		}
		for _, g := range grants {
			ng := *g
			ng.CollectionID = c.collIDs[sc.ID]
			if err := dtx.PutGrant(ctx, &ng); err != nil {
				return fmt.Errorf("grant on %s/%s to %s: %w", sc.Owner, sc.Name, g.Grantee, err)
			}
		}
	}
	settings, err := c.stx.UserShareSettings(ctx, user)
	if err != nil {
		return err
	}
	for _, s := range settings {
		coll, ok := c.collIDs[s.CollectionID]
		if !ok {
			return fmt.Errorf("share settings of %s: their collection %d was not copied", user, s.CollectionID)
		}
		ns := *s
		ns.CollectionID = coll
		if err := dtx.PutShareSettings(ctx, &ns); err != nil {
			return fmt.Errorf("share settings of %s for collection %d: %w", user, s.CollectionID, err)
		}
	}
	delegates, err := c.stx.Delegates(ctx, user)
	if err != nil {
		return err
	}
	for _, d := range delegates {
		nd := *d
		if err := dtx.PutDelegate(ctx, &nd); err != nil {
			return fmt.Errorf("delegate %s of %s: %w", d.Delegate, user, err)
		}
	}
	// Oldest first, so that the new Created times keep their order.
	links, err := c.stx.PublicLinks(ctx, user)
	if err != nil {
		return err
	}
	for _, l := range links {
		nl := *l
		var ok bool
		if l.CollectionID != 0 {
			nl.CollectionID, ok = c.collIDs[l.CollectionID]
		} else {
			nl.VCID, ok = c.vcIDs[l.VCID]
		}
		if !ok {
			return fmt.Errorf("public link of %s: its calendar was not copied", user)
		}
		if err := dtx.CreatePublicLink(ctx, &nl); err != nil {
			return fmt.Errorf("public link of %s: %w", user, err)
		}
	}
	return nil
}

// appPasswords copies every user's app passwords in one transaction, in
// ID order across users, so that their IDs can be kept.
func (c *copier) appPasswords() error {
	ctx := c.ctx
	users, err := c.stx.ListUsers(ctx)
	if err != nil {
		return err
	}
	var all []*store.AppPassword
	for _, u := range users {
		pws, err := c.stx.AppPasswords(ctx, u.Name)
		if err != nil {
			return err
		}
		all = append(all, pws...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	k := &idKeeper{what: "app password"}
	err = c.dst.Update(ctx, func(dtx store.Tx) error {
		type gap struct {
			user string
			id   int64
		}
		var gaps []gap
		for _, p := range all {
			np := *p
			_, g, err := k.create(p.ID, fmt.Sprintf("%q of %s", p.Label, p.User), func() (int64, error) {
				np.ID = 0
				err := dtx.CreateAppPassword(ctx, &np)
				return np.ID, err
			}, func() (int64, error) {
				// An empty hash matches no password.
				ph := &store.AppPassword{User: p.User, Label: "storecopy placeholder"}
				err := dtx.CreateAppPassword(ctx, ph)
				return ph.ID, err
			})
			for _, id := range g {
				gaps = append(gaps, gap{p.User, id})
			}
			if err != nil {
				return fmt.Errorf("app password %d of %s: %w", p.ID, p.User, err)
			}
		}
		for _, g := range gaps {
			if err := dtx.DeleteAppPassword(ctx, g.user, g.id); err != nil {
				return fmt.Errorf("placeholder app password %d: %w", g.id, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storecopy: %w", err)
	}
	c.warnings = append(c.warnings, k.renumbered...)
	return nil
}

// connectors copies each connector, in ID order, with its items, runs
// and conflicts, in one destination transaction per connector.
func (c *copier) connectors() error {
	conns, err := c.stx.ListConnectors(c.ctx, "")
	if err != nil {
		return err
	}
	k := &idKeeper{what: "connector"}
	for _, sc := range conns {
		if err := c.dst.Update(c.ctx, func(dtx store.Tx) error { return c.connector(dtx, k, sc) }); err != nil {
			return fmt.Errorf("storecopy: connector %d (%q of %s): %w", sc.ID, sc.Name, sc.Owner, err)
		}
	}
	c.warnings = append(c.warnings, k.renumbered...)
	return nil
}

func (c *copier) connector(dtx store.Tx, k *idKeeper, sc *store.Connector) error {
	ctx := c.ctx
	collID, ok := c.collIDs[sc.CollectionID]
	if !ok {
		return fmt.Errorf("its calendar %d was not copied", sc.CollectionID)
	}
	items, err := c.stx.ConnectorItems(ctx, sc.ID)
	if err != nil {
		return err
	}
	runs, err := c.stx.ConnectorRuns(ctx, sc.ID, 0)
	if err != nil {
		return err
	}
	conflicts, err := c.stx.ConnectorConflicts(ctx, sc.ID)
	if err != nil {
		return err
	}
	nc := *sc
	nc.CollectionID = collID
	id, gaps, err := k.create(sc.ID, fmt.Sprintf("%q of %s", sc.Name, sc.Owner), func() (int64, error) {
		nc.ID = 0
		err := dtx.CreateConnector(ctx, &nc)
		return nc.ID, err
	}, func() (int64, error) {
		p := &store.Connector{Owner: sc.Owner, Name: "storecopy placeholder", CollectionID: collID}
		err := dtx.CreateConnector(ctx, p)
		return p.ID, err
	})
	if err != nil {
		return err
	}
	for _, g := range gaps {
		if err := dtx.DeleteConnector(ctx, g); err != nil {
			return fmt.Errorf("placeholder connector %d: %w", g, err)
		}
	}
	for _, it := range items {
		ni := *it
		ni.ConnectorID = id
		if err := dtx.PutConnectorItem(ctx, &ni); err != nil {
			return fmt.Errorf("item %q: %w", it.UID, err)
		}
	}
	// Runs and conflicts are listed newest first and ordered by ID, so
	// they are added oldest first.
	runIDs := map[int64]int64{}
	for i := len(runs) - 1; i >= 0; i-- {
		nr := *runs[i]
		nr.ID, nr.ConnectorID = 0, id
		if err := dtx.AddConnectorRun(ctx, &nr); err != nil {
			return fmt.Errorf("run %d: %w", runs[i].ID, err)
		}
		runIDs[runs[i].ID] = nr.ID
	}
	for i := len(conflicts) - 1; i >= 0; i-- {
		nf := *conflicts[i]
		// A run already pruned from the history maps to no run, rather
		// than to whichever run takes its number here.
		nf.ID, nf.ConnectorID, nf.RunID = 0, id, runIDs[nf.RunID]
		if err := dtx.AddConnectorConflict(ctx, &nf); err != nil {
			return fmt.Errorf("conflict %d: %w", conflicts[i].ID, err)
		}
	}
	return nil
}

func (c *copier) permissions() error {
	perms, err := c.stx.ConnectorPermissions(c.ctx)
	if err != nil {
		return err
	}
	err = c.dst.Update(c.ctx, func(dtx store.Tx) error {
		for _, p := range perms {
			np := *p
			if err := dtx.SetConnectorPermission(c.ctx, &np); err != nil {
				return fmt.Errorf("connector permission of %s: %w", p.Subject, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storecopy: %w", err)
	}
	return nil
}

// trash copies the trash items, oldest first, in one transaction.
func (c *copier) trash() error {
	items, err := c.stx.ListTrash(c.ctx, "")
	if err != nil {
		return err
	}
	err = c.dst.Update(c.ctx, func(dtx store.Tx) error {
		for _, it := range items {
			full, err := c.stx.GetTrash(c.ctx, it.ID)
			if err != nil {
				return err
			}
			full.ID, full.CollectionID = 0, c.collIDs[full.CollectionID]
			if err := dtx.AddTrash(c.ctx, full); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storecopy: trash: %w", err)
	}
	return nil
}
