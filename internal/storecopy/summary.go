package storecopy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// Summary describes the content of a store, kind by kind.
type Summary struct {
	Users, Groups, Memberships                int
	Collections, Objects, Properties          int
	VirtualCalendars, ViewSubscriptions       int
	Grants, ShareSettings                     int
	Delegates, PublicLinks                    int
	AppPasswords                              int
	Connectors, ConnectorItems, ConnectorRuns int
	ConnectorConflicts, ConnectorPermissions  int
	TrashItems                                int
	// Checksum covers every kind in a canonical order; equal checksums
	// mean equal content. It leaves out only what a copy cannot keep (see
	// the package comment), and stands for references by ID with what
	// they name (the calendar of a connector, a grant or a sharee's
	// settings, the virtual calendar of a subscription and either of a
	// public link by owner and name, a conflict's run by its place in the
	// history).
	Checksum string
	// Checksums holds one checksum per kind, keyed by the kind's name in
	// String, so that a failed verification can say which kind differs.
	Checksums map[string]string
	// Warnings is set by Copy: what the copy could not do as it meant
	// to, one line each (an ID it could not keep, a collection ID it could
	// not keep clear of the source's).
	Warnings []string
}

// counted pairs a kind's name with its count in a Summary. Its order is
// the order of String and of the checksum.
type counted struct {
	name string
	n    *int
}

func (s *Summary) kinds() []counted {
	return []counted{
		{"users", &s.Users}, {"groups", &s.Groups}, {"memberships", &s.Memberships},
		{"collections", &s.Collections}, {"objects", &s.Objects}, {"properties", &s.Properties},
		{"virtual calendars", &s.VirtualCalendars}, {"view subscriptions", &s.ViewSubscriptions},
		{"grants", &s.Grants}, {"share settings", &s.ShareSettings},
		{"delegates", &s.Delegates}, {"public links", &s.PublicLinks},
		{"app passwords", &s.AppPasswords},
		{"connectors", &s.Connectors}, {"connector items", &s.ConnectorItems},
		{"connector runs", &s.ConnectorRuns}, {"connector conflicts", &s.ConnectorConflicts},
		{"connector permissions", &s.ConnectorPermissions},
		{"trash items", &s.TrashItems},
	}
}

func (s Summary) String() string {
	var b strings.Builder
	for _, k := range s.kinds() {
		fmt.Fprintf(&b, "%d %s, ", *k.n, k.name)
	}
	b.WriteString("checksum " + s.Checksum)
	if len(s.Warnings) > 0 {
		b.WriteString("; warnings: " + strings.Join(s.Warnings, "; "))
	}
	return b.String()
}

// differences names the kinds whose count or checksum differ between s
// and o; none means equal content.
func (s Summary) differences(o Summary) []string {
	var out []string
	ok := o.kinds()
	for i, k := range s.kinds() {
		switch {
		case *k.n != *ok[i].n:
			out = append(out, fmt.Sprintf("%s: %d in the source, %d in the destination", k.name, *k.n, *ok[i].n))
		case s.Checksums[k.name] != o.Checksums[k.name]:
			out = append(out, fmt.Sprintf("%s: same count (%d), different content", k.name, *k.n))
		}
	}
	if len(out) == 0 && s.Checksum != o.Checksum {
		out = append(out, "checksums differ")
	}
	return out
}

// tally accumulates the count and checksum of each kind.
type tally struct {
	counts map[string]int
	hashes map[string]hash.Hash
	buf    bytes.Buffer
}

// add counts one item of kind and hashes its exported fields except skip,
// then the extra strings (references resolved to stable names).
func (t *tally) add(kind string, item any, skip []string, extra ...string) error {
	h, ok := t.hashes[kind]
	if !ok {
		h = sha256.New()
		t.hashes[kind] = h
	}
	t.counts[kind]++
	t.buf.Reset()
	if err := encodeStruct(&t.buf, reflect.ValueOf(item), skip); err != nil {
		return err
	}
	for _, e := range extra {
		t.buf.WriteString(strconv.Quote(e))
	}
	fmt.Fprintf(h, "%d\n", t.buf.Len())
	h.Write(t.buf.Bytes())
	return nil
}

func (t *tally) summary() Summary {
	s := Summary{Checksums: map[string]string{}}
	all := sha256.New()
	for _, k := range s.kinds() {
		*k.n = t.counts[k.name]
		sum := sha256.New()
		if h, ok := t.hashes[k.name]; ok {
			sum = h
		}
		s.Checksums[k.name] = hex.EncodeToString(sum.Sum(nil))
		fmt.Fprintf(all, "%s\x00%d\x00%s\n", k.name, *k.n, s.Checksums[k.name])
	}
	s.Checksum = hex.EncodeToString(all.Sum(nil))
	return s
}

// Fields left out of the checksum: what the destination assigns itself
// (see the package comment), and references by ID, which add resolves to
// stable names instead.
var (
	skipNone       []string
	skipCollection = []string{"ID", "Revision", "Created", "Modified"}
	skipObject     = []string{"CollectionID", "Modified"}
	skipVC         = []string{"ID", "Version", "Created", "Modified"}
	skipSub        = []string{"VC"}
	skipGrant      = []string{"CollectionID", "Created"}
	skipSettings   = []string{"CollectionID"}
	skipDelegate   = []string{"Created"}
	skipLink       = []string{"CollectionID", "VCID", "Created"}
	skipAppPass    = []string{"ID", "Created"}
	skipConnector  = []string{"ID", "CollectionID", "Created", "Modified"}
	skipItem       = []string{"ConnectorID"}
	skipRun        = []string{"ID", "ConnectorID"}
	skipConflict   = []string{"ID", "ConnectorID", "RunID"}
	skipTrash      = []string{"ID", "CollectionID"}
)

// encodeStruct writes every exported field of the struct v points to,
// except skip, unambiguously. A field of a type it does not know is an
// error, so that a field added to the contract is never silently left out
// of the checksum.
func encodeStruct(w *bytes.Buffer, v reflect.Value, skip []string) error {
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	t := v.Type()
	for _, name := range skip {
		if _, ok := t.FieldByName(name); !ok {
			return fmt.Errorf("storecopy: %s has no field %s to leave out", t, name)
		}
	}
	w.WriteString(t.Name() + "{")
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || slices.Contains(skip, f.Name) {
			continue
		}
		w.WriteString(f.Name + "=")
		if err := encodeValue(w, v.Field(i)); err != nil {
			return fmt.Errorf("%s.%s: %w", t, f.Name, err)
		}
		w.WriteByte(';')
	}
	w.WriteByte('}')
	return nil
}

var timeType = reflect.TypeFor[time.Time]()

func encodeValue(w *bytes.Buffer, v reflect.Value) error {
	switch v.Kind() {
	case reflect.String:
		w.WriteString(strconv.Quote(v.String()))
	case reflect.Bool:
		w.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		w.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			// nil and empty are one value: stores read empty bytes back
			// either way.
			fmt.Fprintf(w, "%d:", v.Len())
			w.Write(v.Bytes())
			return nil
		}
		fmt.Fprintf(w, "[%d", v.Len())
		for i := range v.Len() {
			w.WriteByte(' ')
			if err := encodeValue(w, v.Index(i)); err != nil {
				return err
			}
		}
		w.WriteByte(']')
	case reflect.Struct:
		if v.Type() == timeType {
			t := v.Interface().(time.Time)
			if t.IsZero() {
				w.WriteString("0")
			} else {
				w.WriteString(t.UTC().Format(time.RFC3339Nano))
			}
			return nil
		}
		return encodeStruct(w, v, nil)
	default:
		return fmt.Errorf("storecopy: cannot checksum a %s", v.Type())
	}
	return nil
}

// Summarize reads a whole store in one transaction and summarises it.
func Summarize(ctx context.Context, st store.Store) (Summary, error) {
	var s Summary
	err := st.View(ctx, func(tx store.Tx) error {
		var err error
		s, err = summarizeTx(ctx, tx)
		return err
	})
	return s, err
}

func summarizeTx(ctx context.Context, tx store.Tx) (Summary, error) {
	t := &tally{counts: map[string]int{}, hashes: map[string]hash.Hash{}}
	for _, step := range []func(context.Context, store.Tx, *tally) error{
		tallyUsers, tallyGroups, tallyVirtualCalendars, tallyViewSubscriptions, tallySharing, tallyConnectors,
		tallyTrash,
	} {
		if err := step(ctx, tx, t); err != nil {
			return Summary{}, err
		}
	}
	return t.summary(), nil
}

// Kinds names the kinds of a Summary, in the order of String.
func Kinds() []string {
	var out []string
	for _, k := range (&Summary{}).kinds() {
		out = append(out, k.name)
	}
	return out
}

// Counts returns the count of each kind, keyed by its name in String.
func (s Summary) Counts() map[string]int {
	out := map[string]int{}
	for _, k := range s.kinds() {
		out[k.name] = *k.n
	}
	return out
}

// tallyUsers covers users with their dead properties, collections,
// objects and app passwords.
func tallyUsers(ctx context.Context, tx store.Tx, t *tally) error {
	users, err := tx.ListUsers(ctx)
	if err != nil {
		return err
	}
	sort.Slice(users, func(i, j int) bool { return users[i].Name < users[j].Name })
	for _, u := range users {
		if err := t.add("users", u, skipNone); err != nil {
			return err
		}
		for _, k := range store.UserKeys(u.Name) {
			if err := tallyProps(ctx, tx, t, k, k); err != nil {
				return err
			}
		}
		colls, err := tx.ListCollections(ctx, u.Name)
		if err != nil {
			return err
		}
		sort.Slice(colls, func(i, j int) bool { return colls[i].Name < colls[j].Name })
		for _, c := range colls {
			if err := t.add("collections", c, skipCollection); err != nil {
				return err
			}
			if err := tallyProps(ctx, tx, t, store.CollectionKey(c.ID), "collection", c.Owner, c.Name); err != nil {
				return err
			}
			objs, err := tx.ListObjects(ctx, c.ID, false)
			if err != nil {
				return err
			}
			sort.Slice(objs, func(i, j int) bool { return objs[i].Name < objs[j].Name })
			for _, o := range objs {
				full, err := tx.GetObject(ctx, c.ID, o.Name)
				if err != nil {
					return err
				}
				if err := t.add("objects", full, skipObject); err != nil {
					return err
				}
				if err := tallyProps(ctx, tx, t, store.ObjectKey(c.ID, o.Name), "object", c.Owner, c.Name, o.Name); err != nil {
					return err
				}
			}
		}
		// In ID order, which a copy keeps even where it cannot keep IDs.
		pws, err := tx.AppPasswords(ctx, u.Name)
		if err != nil {
			return err
		}
		for _, p := range pws {
			if err := t.add("app passwords", p, skipAppPass); err != nil {
				return err
			}
		}
	}
	return nil
}

// tallyProps covers the dead properties under k, each with names, which
// say what they belong to without the IDs a copy changes.
func tallyProps(ctx context.Context, tx store.Tx, t *tally, k string, names ...string) error {
	props, err := tx.Properties(ctx, k)
	if err != nil {
		return err
	}
	sort.Slice(props, func(i, j int) bool {
		if props[i].Namespace != props[j].Namespace {
			return props[i].Namespace < props[j].Namespace
		}
		return props[i].Local < props[j].Local
	})
	for _, pr := range props {
		if err := t.add("properties", &pr, skipNone, names...); err != nil {
			return err
		}
	}
	return nil
}

func tallyGroups(ctx context.Context, tx store.Tx, t *tally) error {
	groups, err := tx.ListGroups(ctx)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if err := t.add("groups", g, skipNone); err != nil {
			return err
		}
		ms, err := tx.Memberships(ctx, g.Name)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if err := t.add("memberships", m, skipNone); err != nil {
				return err
			}
		}
	}
	return nil
}

func tallyVirtualCalendars(ctx context.Context, tx store.Tx, t *tally) error {
	vcs, err := tx.ListVirtualCalendars(ctx)
	if err != nil {
		return err
	}
	for _, vc := range vcs {
		if err := t.add("virtual calendars", vc, skipVC); err != nil {
			return err
		}
	}
	return nil
}

// tallyViewSubscriptions covers every viewer's subscriptions, each with
// its virtual calendar's owner and name, in that order (a copy may have
// to give a virtual calendar a new ID), and the viewer's own properties of
// it.
func tallyViewSubscriptions(ctx context.Context, tx store.Tx, t *tally) error {
	users, err := tx.ListUsers(ctx)
	if err != nil {
		return err
	}
	sort.Slice(users, func(i, j int) bool { return users[i].Name < users[j].Name })
	for _, u := range users {
		subs, err := tx.ViewSubscriptions(ctx, u.Name)
		if err != nil {
			return err
		}
		names := make(map[*store.ViewSubscription]string, len(subs))
		for _, s := range subs {
			vc, err := tx.GetVirtualCalendarByID(ctx, s.VC)
			if err != nil {
				return fmt.Errorf("subscription of %s: virtual calendar: %w", s.Viewer, err)
			}
			names[s] = vc.Owner + "/" + vc.Name
		}
		sort.Slice(subs, func(i, j int) bool { return names[subs[i]] < names[subs[j]] })
		for _, s := range subs {
			if err := t.add("view subscriptions", s, skipSub, names[s]); err != nil {
				return err
			}
			if err := tallyProps(ctx, tx, t, store.VCKey(s.VC, s.Viewer), "view", names[s], s.Viewer); err != nil {
				return err
			}
		}
	}
	return nil
}

// tallySharing covers, user by user, the grants on their collections,
// their settings for collections shared with them, their delegates and
// their public links. Collections and virtual calendars stand for
// themselves by owner and name, as a copy gives them new IDs; settings
// are ordered by their collection's name and links by token, as a copy
// gives links new Created times.
func tallySharing(ctx context.Context, tx store.Tx, t *tally) error {
	users, err := tx.ListUsers(ctx)
	if err != nil {
		return err
	}
	sort.Slice(users, func(i, j int) bool { return users[i].Name < users[j].Name })
	collName := func(id int64) (string, error) {
		c, err := tx.GetCollectionByID(ctx, id)
		if err != nil {
			return "", err
		}
		return c.Owner + "/" + c.Name, nil
	}
	for _, u := range users {
		colls, err := tx.ListCollections(ctx, u.Name)
		if err != nil {
			return err
		}
		sort.Slice(colls, func(i, j int) bool { return colls[i].Name < colls[j].Name })
		for _, c := range colls {
			grants, err := tx.Grants(ctx, c.ID)
			if err != nil {
				return err
			}
			for _, g := range grants {
				if err := t.add("grants", g, skipGrant, c.Owner+"/"+c.Name); err != nil {
					return err
				}
			}
		}

		settings, err := tx.UserShareSettings(ctx, u.Name)
		if err != nil {
			return err
		}
		names := make(map[*store.ShareSettings]string, len(settings))
		for _, s := range settings {
			if names[s], err = collName(s.CollectionID); err != nil {
				return fmt.Errorf("share settings of %s: collection: %w", u.Name, err)
			}
		}
		sort.Slice(settings, func(i, j int) bool { return names[settings[i]] < names[settings[j]] })
		for _, s := range settings {
			if err := t.add("share settings", s, skipSettings, names[s]); err != nil {
				return err
			}
		}

		delegates, err := tx.Delegates(ctx, u.Name)
		if err != nil {
			return err
		}
		for _, d := range delegates {
			if err := t.add("delegates", d, skipDelegate); err != nil {
				return err
			}
		}

		links, err := tx.PublicLinks(ctx, u.Name)
		if err != nil {
			return err
		}
		sort.Slice(links, func(i, j int) bool { return links[i].Token < links[j].Token })
		for _, l := range links {
			var target string
			if l.CollectionID != 0 {
				name, err := collName(l.CollectionID)
				if err != nil {
					return fmt.Errorf("public link of %s: collection: %w", u.Name, err)
				}
				target = "collection " + name
			} else {
				vc, err := tx.GetVirtualCalendarByID(ctx, l.VCID)
				if err != nil {
					return fmt.Errorf("public link of %s: virtual calendar: %w", u.Name, err)
				}
				target = "virtual calendar " + vc.Owner + "/" + vc.Name
			}
			if err := t.add("public links", l, skipLink, target); err != nil {
				return err
			}
		}
	}
	return nil
}

// tallyConnectors covers connectors in ID order (which a copy keeps) with
// their items, runs and conflicts, then the permissions.
func tallyConnectors(ctx context.Context, tx store.Tx, t *tally) error {
	conns, err := tx.ListConnectors(ctx, "")
	if err != nil {
		return err
	}
	for _, c := range conns {
		coll, err := tx.GetCollectionByID(ctx, c.CollectionID)
		if err != nil {
			return fmt.Errorf("connector %d: calendar: %w", c.ID, err)
		}
		if err := t.add("connectors", c, skipConnector, coll.Owner+"/"+coll.Name); err != nil {
			return err
		}
		items, err := tx.ConnectorItems(ctx, c.ID)
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := t.add("connector items", it, skipItem); err != nil {
				return err
			}
		}
		runs, err := tx.ConnectorRuns(ctx, c.ID, 0)
		if err != nil {
			return err
		}
		place := map[int64]int{}
		for i, r := range runs {
			place[r.ID] = i
			if err := t.add("connector runs", r, skipRun); err != nil {
				return err
			}
		}
		conflicts, err := tx.ConnectorConflicts(ctx, c.ID)
		if err != nil {
			return err
		}
		for _, cf := range conflicts {
			run := "none"
			if i, ok := place[cf.RunID]; ok {
				run = strconv.Itoa(i)
			}
			if err := t.add("connector conflicts", cf, skipConflict, run); err != nil {
				return err
			}
		}
	}
	perms, err := tx.ConnectorPermissions(ctx)
	if err != nil {
		return err
	}
	for _, p := range perms {
		if err := t.add("connector permissions", p, skipNone); err != nil {
			return err
		}
	}
	return nil
}

// tallyTrash covers the trash items in ID order (which a copy keeps), with
// their payloads, each object's collection named by owner and name ("" when
// it is gone).
func tallyTrash(ctx context.Context, tx store.Tx, t *tally) error {
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
		if err := t.add("trash items", full, skipTrash, coll); err != nil {
			return err
		}
	}
	return nil
}

// trashCollection names the live collection an object in the trash was
// deleted from, owner/name, or "" when there is none.
func trashCollection(ctx context.Context, tx store.Collections, it *store.TrashItem) (string, error) {
	if it.CollectionID == 0 {
		return "", nil
	}
	c, err := tx.GetCollectionByID(ctx, it.CollectionID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return c.Owner + "/" + c.Name, nil
}
