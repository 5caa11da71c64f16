package storetest

import (
	"context"
	"slices"
	"testing"

	"koyomi.dev/koyomi/internal/store"
)

const nsApple = "http://apple.com/ns/ical/"

// propertyPaths lists, for every path in the store, the local names of its
// properties, so whole-store states compare in one line.
func propertyState(t *testing.T, s store.Store, paths []string) map[string][]string {
	t.Helper()
	state := map[string][]string{}
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, p := range paths {
			props, err := tx.Properties(ctx, p)
			if err != nil {
				return err
			}
			for _, prop := range props {
				state[p] = append(state[p], prop.Local+"="+string(prop.XML))
			}
		}
		return nil
	})
	return state
}

func testProperties(t *testing.T, s store.Store) {
	const path = "/dav/calendars/alice/cal/"
	colorXML := []byte(`<x:calendar-color xmlns:x="http://apple.com/ns/ical/">#FF0000FF</x:calendar-color>`)
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.SetProperty(ctx, path, nsApple, "calendar-color", colorXML); err != nil {
			return err
		}
		if err := tx.SetProperty(ctx, path, "urn:x", "a", []byte(`<a xmlns="urn:x">1</a>`)); err != nil {
			return err
		}
		// Same local name, other namespace: a different property.
		return tx.SetProperty(ctx, path, "urn:y", "a", []byte(`<a xmlns="urn:y">2</a>`))
	})
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		props, err := tx.Properties(ctx, path)
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
		props, err = tx.Properties(ctx, "/nowhere")
		if err != nil || len(props) != 0 {
			t.Errorf("Properties(/nowhere) = %v, %v", props, err)
		}
		return nil
	})

	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.SetProperty(ctx, path, "urn:x", "a", []byte(`<a xmlns="urn:x">one</a>`)); err != nil {
			return err
		}
		if err := tx.RemoveProperty(ctx, path, "urn:y", "a"); err != nil {
			return err
		}
		// Removing what is not there is not an error (PROPPATCH remove).
		return tx.RemoveProperty(ctx, path, "urn:y", "missing")
	})
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		props, err := tx.Properties(ctx, path)
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

	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.SetProperty(ctx, "/copy/target", "urn:x", "stale", []byte("<stale/>")); err != nil {
			return err
		}
		return tx.CopyProperties(ctx, path, "/copy/target")
	})
	got := propertyState(t, s, []string{path, "/copy/target"})
	if len(got[path]) != 2 || !slices.Equal(got["/copy/target"][:2], got[path]) {
		t.Errorf("after CopyProperties: %v", got)
	}
}

func testPropertyPrefixes(t *testing.T, s store.Store) {
	// Paths with LIKE wildcards and case variants: a prefix operation must
	// treat them literally.
	paths := []string{
		"/c/a%b", "/c/a%b/x.ics", "/c/a%b/sub/y.ics",
		"/c/aXb", "/c/aXb/x.ics", // would match a%b as a LIKE pattern
		"/c/a_c/", "/c/a_c/z.ics",
		"/c/abc/z.ics",  // would match a_c as a LIKE pattern
		"/c/A%B/x.ics",  // would match a%b under case-insensitive LIKE
		"/c/a%bc/x.ics", // shares a string prefix but is a sibling
	}
	setAll := func() {
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			if err := tx.DeleteProperties(ctx, "/"); err != nil {
				return err
			}
			for _, p := range paths {
				if err := tx.SetProperty(ctx, p, "urn:x", "p", []byte(p)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	all := append(slices.Clone(paths), "/d/n", "/d/n/x.ics", "/d/n/sub/y.ics", "/d/m/", "/d/m/z.ics")
	present := func() []string {
		state := propertyState(t, s, all)
		var ps []string
		for p := range state {
			ps = append(ps, p)
		}
		slices.Sort(ps)
		return ps
	}

	tests := []struct {
		name string
		op   func(ctx context.Context, tx store.Tx) error
		want []string
	}{
		{
			"move percent", func(ctx context.Context, tx store.Tx) error { return tx.MoveProperties(ctx, "/c/a%b", "/d/n") },
			[]string{"/c/A%B/x.ics", "/c/a%bc/x.ics", "/c/aXb", "/c/aXb/x.ics", "/c/a_c/", "/c/a_c/z.ics", "/c/abc/z.ics",
				"/d/n", "/d/n/sub/y.ics", "/d/n/x.ics"},
		},
		{
			"move underscore with trailing slash", func(ctx context.Context, tx store.Tx) error { return tx.MoveProperties(ctx, "/c/a_c/", "/d/m/") },
			[]string{"/c/A%B/x.ics", "/c/a%b", "/c/a%b/sub/y.ics", "/c/a%b/x.ics", "/c/a%bc/x.ics", "/c/aXb", "/c/aXb/x.ics",
				"/c/abc/z.ics", "/d/m/", "/d/m/z.ics"},
		},
		{
			"delete percent", func(ctx context.Context, tx store.Tx) error { return tx.DeleteProperties(ctx, "/c/a%b") },
			[]string{"/c/A%B/x.ics", "/c/a%bc/x.ics", "/c/aXb", "/c/aXb/x.ics", "/c/a_c/", "/c/a_c/z.ics", "/c/abc/z.ics"},
		},
		{
			"delete underscore", func(ctx context.Context, tx store.Tx) error { return tx.DeleteProperties(ctx, "/c/a_c/") },
			[]string{"/c/A%B/x.ics", "/c/a%b", "/c/a%b/sub/y.ics", "/c/a%b/x.ics", "/c/a%bc/x.ics", "/c/aXb", "/c/aXb/x.ics",
				"/c/abc/z.ics"},
		},
		{
			"move single object", func(ctx context.Context, tx store.Tx) error {
				return tx.MoveProperties(ctx, "/c/aXb/x.ics", "/d/n/x.ics")
			},
			[]string{"/c/A%B/x.ics", "/c/a%b", "/c/a%b/sub/y.ics", "/c/a%b/x.ics", "/c/a%bc/x.ics", "/c/aXb", "/c/a_c/",
				"/c/a_c/z.ics", "/c/abc/z.ics", "/d/n/x.ics"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setAll()
			update(t, s, tt.op)
			if got := present(); !slices.Equal(got, tt.want) {
				t.Errorf("paths with properties = %v\nwant %v", got, tt.want)
			}
		})
	}

	// Moved values travel with their keys.
	setAll()
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.MoveProperties(ctx, "/c/a%b", "/d/n") })
	if got := propertyState(t, s, []string{"/d/n/sub/y.ics"}); !slices.Equal(got["/d/n/sub/y.ics"], []string{"p=/c/a%b/sub/y.ics"}) {
		t.Errorf("moved property value = %v", got)
	}
}
