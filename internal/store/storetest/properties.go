package storetest

import (
	"context"
	"slices"
	"testing"

	"koyomi.dev/koyomi/internal/store"
)

const nsApple = "http://apple.com/ns/ical/"

// propertyState lists, for each of keys, the local names and values of its
// properties, so whole-store states compare in one line.
func propertyState(t *testing.T, s store.Store, keys []string) map[string][]string {
	t.Helper()
	state := map[string][]string{}
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, k := range keys {
			props, err := tx.Properties(ctx, k)
			if err != nil {
				return err
			}
			for _, prop := range props {
				state[k] = append(state[k], prop.Local+"="+string(prop.XML))
			}
		}
		return nil
	})
	return state
}

// Keys are opaque to the store; these have the forms the domain builds
// (domain.PropKey): "c:ID" for a collection, "c:ID/NAME" for its objects,
// "u:USER/…" for a user's principal and homes, "v:ID/VIEWER" for a viewer
// of a virtual calendar.

func testProperties(t *testing.T, s store.Store) {
	const key = "c:1"
	colorXML := []byte(`<x:calendar-color xmlns:x="http://apple.com/ns/ical/">#FF0000FF</x:calendar-color>`)
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.SetProperty(ctx, key, nsApple, "calendar-color", colorXML); err != nil {
			return err
		}
		if err := tx.SetProperty(ctx, key, "urn:x", "a", []byte(`<a xmlns="urn:x">1</a>`)); err != nil {
			return err
		}
		// Same local name, other namespace: a different property.
		return tx.SetProperty(ctx, key, "urn:y", "a", []byte(`<a xmlns="urn:y">2</a>`))
	})
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		props, err := tx.Properties(ctx, key)
		if err != nil {
			return err
		}
		if len(props) != 3 {
			t.Fatalf("Properties = %d, want 3", len(props))
		}
		i := slices.IndexFunc(props, func(p store.Property) bool { return p.Namespace == nsApple })
		if i < 0 || props[i].Local != "calendar-color" || string(props[i].XML) != string(colorXML) {
			t.Errorf("calendar-color not kept as sent: %+v", props)
		}
		// Nor below the key, nor beside it.
		for _, other := range []string{"c:9", "c:1/x.ics", "c:10"} {
			props, err = tx.Properties(ctx, other)
			if err != nil || len(props) != 0 {
				t.Errorf("Properties(%s) = %v, %v", other, props, err)
			}
		}
		return nil
	})

	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.SetProperty(ctx, key, "urn:x", "a", []byte(`<a xmlns="urn:x">one</a>`)); err != nil {
			return err
		}
		if err := tx.RemoveProperty(ctx, key, "urn:y", "a"); err != nil {
			return err
		}
		// Removing what is not there is not an error (PROPPATCH remove).
		return tx.RemoveProperty(ctx, key, "urn:y", "missing")
	})
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		props, err := tx.Properties(ctx, key)
		if err != nil {
			return err
		}
		if len(props) != 2 {
			t.Fatalf("after overwrite and remove: %+v", props)
		}
		for _, p := range props {
			if p.Namespace == "urn:x" && string(p.XML) != `<a xmlns="urn:x">one</a>` {
				t.Errorf("overwrite lost: %s", p.XML)
			}
			if p.Namespace == "urn:y" {
				t.Errorf("removed property still there: %+v", p)
			}
		}
		return nil
	})

	// A copy replaces what the target has of the same name and keeps the
	// rest, and leaves the source as it was.
	const target = "c:2"
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.SetProperty(ctx, target, "urn:x", "stale", []byte("<stale/>")); err != nil {
			return err
		}
		if err := tx.SetProperty(ctx, target, "urn:x", "a", []byte(`<a xmlns="urn:x">old</a>`)); err != nil {
			return err
		}
		return tx.CopyProperties(ctx, key, target)
	})
	got := propertyState(t, s, []string{key, target})
	want := append(slices.Clone(got[key]), "stale=<stale/>")
	if len(got[key]) != 2 || !slices.Equal(got[target], want) {
		t.Errorf("after CopyProperties: %v", got)
	}
}

func testPropertyPrefixes(t *testing.T, s store.Store) {
	// Keys with LIKE wildcards and case variants (object names may hold
	// any of them, user names _): a prefix operation must treat them
	// literally, and a prefix ends at a segment.
	keys := []string{
		"c:1", "c:1/x.ics", "c:1/a%b.ics", "c:1/A_B.ics", "c:1/aXb.ics",
		"c:12", "c:12/x.ics", // shares a string prefix with c:1 but is a sibling
		"c:1.ics", // sorts just before c:1/
		"u:a_c/principal", "u:a_c/calendars",
		"u:abc/principal", // would match u:a_c as a LIKE pattern
		"u:A_C/principal", // would match u:a_c under case-insensitive LIKE
		"v:3/alice", "v:3/bob", "v:30/alice",
	}
	setAll := func() {
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, k := range keys {
				if err := tx.DeleteProperties(ctx, k); err != nil {
					return err
				}
				if err := tx.SetProperty(ctx, k, "urn:x", "p", []byte(k)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	// without returns keys but the ones named.
	without := func(gone ...string) []string {
		var out []string
		for _, k := range keys {
			if !slices.Contains(gone, k) {
				out = append(out, k)
			}
		}
		slices.Sort(out)
		return out
	}
	present := func() []string {
		state := propertyState(t, s, keys)
		var ks []string
		for k := range state {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}

	tests := []struct {
		name   string
		prefix string
		want   []string
	}{
		{"collection with its objects", "c:1", without("c:1", "c:1/x.ics", "c:1/a%b.ics", "c:1/A_B.ics", "c:1/aXb.ics")},
		{"trailing slash ignored", "c:1/", without("c:1", "c:1/x.ics", "c:1/a%b.ics", "c:1/A_B.ics", "c:1/aXb.ics")},
		{"object with percent", "c:1/a%b.ics", without("c:1/a%b.ics")},
		{"object with underscore", "c:1/A_B.ics", without("c:1/A_B.ics")},
		{"user with underscore", "u:a_c", without("u:a_c/principal", "u:a_c/calendars")},
		{"one home", "u:a_c/calendars", without("u:a_c/calendars")},
		{"virtual calendar with every viewer", "v:3", without("v:3/alice", "v:3/bob")},
		{"one viewer", "v:3/alice", without("v:3/alice")},
		{"nothing there", "c:7", without()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setAll()
			update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteProperties(ctx, tt.prefix) })
			if got := present(); !slices.Equal(got, tt.want) {
				t.Errorf("keys with properties = %v\nwant %v", got, tt.want)
			}
		})
	}

	// Copied values travel to their new key, the source keeps its own.
	setAll()
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.CopyProperties(ctx, "c:1/a%b.ics", "c:12/y.ics")
	})
	got := propertyState(t, s, []string{"c:1/a%b.ics", "c:12/y.ics"})
	if !slices.Equal(got["c:12/y.ics"], []string{"p=c:1/a%b.ics"}) || !slices.Equal(got["c:1/a%b.ics"], []string{"p=c:1/a%b.ics"}) {
		t.Errorf("copied property values = %v", got)
	}
}
