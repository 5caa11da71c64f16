// Package storecopy moves a whole installation from one store to another
// (e.g. from the embedded SQLite store to PostgreSQL) and proves the copy
// complete by comparing counts and checksums of both sides.
//
// It works through the store contract only; where dead properties live is
// told by a Layout, so it knows nothing of URLs itself.
package storecopy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"

	"koyomi.dev/koyomi/internal/store"
)

// Layout names the resource paths that may carry dead properties.
type Layout struct {
	// UserPaths returns the paths of a user's principal and homes.
	UserPaths func(user string) []string
	// CollectionPath and ObjectPath return the paths of collections and
	// their members.
	CollectionPath func(c *store.Collection) string
	ObjectPath     func(c *store.Collection, name string) string
}

// Summary describes the content of a store.
type Summary struct {
	Users, Collections, Objects, Properties int
	// Checksum covers every user, collection, object (name and bytes) and
	// property, in a canonical order; equal checksums mean equal content.
	Checksum string
}

func (s Summary) String() string {
	return fmt.Sprintf("%d users, %d collections, %d objects, %d properties, checksum %s",
		s.Users, s.Collections, s.Objects, s.Properties, s.Checksum)
}

// Summarize reads a whole store and summarises it.
func Summarize(ctx context.Context, st store.Store, l Layout) (Summary, error) {
	var sum Summary
	h := sha256.New()
	err := st.View(ctx, func(tx store.Tx) error {
		users, err := tx.ListUsers(ctx)
		if err != nil {
			return err
		}
		sort.Slice(users, func(i, j int) bool { return users[i].Name < users[j].Name })
		for _, u := range users {
			sum.Users++
			fmt.Fprintf(h, "user\x00%s\x00%s\x00%s\x00%s\n", u.Name, u.DisplayName, u.Email, u.PasswordHash)
			if err := hashProps(ctx, tx, h, &sum, l.UserPaths(u.Name)...); err != nil {
				return err
			}
			colls, err := tx.ListCollections(ctx, u.Name)
			if err != nil {
				return err
			}
			sort.Slice(colls, func(i, j int) bool { return colls[i].Name < colls[j].Name })
			for _, c := range colls {
				sum.Collections++
				fmt.Fprintf(h, "coll\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%d\x00%s\x00%v\n",
					c.Owner, c.Name, c.Kind, c.DisplayName, c.Description, c.Color, c.Order, c.Timezone, c.Components)
				if err := hashProps(ctx, tx, h, &sum, l.CollectionPath(c)); err != nil {
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
					sum.Objects++
					fmt.Fprintf(h, "obj\x00%s\x00%s\x00%d\x00", o.Name, full.ContentType, len(full.Data))
					h.Write(full.Data)
					if err := hashProps(ctx, tx, h, &sum, l.ObjectPath(c, o.Name)); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	sum.Checksum = hex.EncodeToString(h.Sum(nil))
	return sum, err
}

func hashProps(ctx context.Context, tx store.Tx, w io.Writer, sum *Summary, paths ...string) error {
	for _, p := range paths {
		props, err := tx.Properties(ctx, p)
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
			sum.Properties++
			fmt.Fprintf(w, "prop\x00%s\x00%s\x00%s\x00%s\n", p, pr.Namespace, pr.Local, pr.XML)
		}
	}
	return nil
}

// Copy copies everything in src into dst, which must hold no users, then
// verifies that both summarise identically. Collections get new revision
// counters in dst, so clients' sync tokens become invalid and clients
// resynchronise once; ETags are unchanged.
func Copy(ctx context.Context, src, dst store.Store, l Layout) (Summary, error) {
	if err := dst.View(ctx, func(tx store.Tx) error {
		users, err := tx.ListUsers(ctx)
		if err == nil && len(users) > 0 {
			err = fmt.Errorf("storecopy: the destination already holds %d users; copy into an empty store", len(users))
		}
		return err
	}); err != nil {
		return Summary{}, err
	}
	err := src.View(ctx, func(stx store.Tx) error {
		users, err := stx.ListUsers(ctx)
		if err != nil {
			return err
		}
		for _, u := range users {
			// One destination transaction per user keeps transactions
			// bounded while a user's data still arrives whole or not at all.
			if err := dst.Update(ctx, func(dtx store.Tx) error { return copyUser(ctx, stx, dtx, u, l) }); err != nil {
				return fmt.Errorf("storecopy: user %s: %w", u.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return Summary{}, err
	}
	want, err := Summarize(ctx, src, l)
	if err != nil {
		return Summary{}, err
	}
	got, err := Summarize(ctx, dst, l)
	if err != nil {
		return Summary{}, err
	}
	if want != got {
		return got, fmt.Errorf("storecopy: verification failed: source has %v, destination %v", want, got)
	}
	return got, nil
}

func copyProps(ctx context.Context, stx, dtx store.Tx, path string) error {
	props, err := stx.Properties(ctx, path)
	if err != nil {
		return err
	}
	for _, p := range props {
		if err := dtx.SetProperty(ctx, path, p.Namespace, p.Local, p.XML); err != nil {
			return err
		}
	}
	return nil
}

func copyUser(ctx context.Context, stx, dtx store.Tx, u *store.User, l Layout) error {
	nu := *u
	if err := dtx.CreateUser(ctx, &nu); err != nil {
		return err
	}
	for _, p := range l.UserPaths(u.Name) {
		if err := copyProps(ctx, stx, dtx, p); err != nil {
			return err
		}
	}
	colls, err := stx.ListCollections(ctx, u.Name)
	if err != nil {
		return err
	}
	// Parents before children, for nested plain collections.
	sort.Slice(colls, func(i, j int) bool { return colls[i].Name < colls[j].Name })
	for _, c := range colls {
		nc := *c
		nc.ID, nc.Revision = 0, 0
		if err := dtx.CreateCollection(ctx, &nc); err != nil {
			return err
		}
		if err := copyProps(ctx, stx, dtx, l.CollectionPath(c)); err != nil {
			return err
		}
		objs, err := stx.ListObjects(ctx, c.ID, false)
		if err != nil {
			return err
		}
		for _, o := range objs {
			full, err := stx.GetObject(ctx, c.ID, o.Name)
			if err != nil {
				return err
			}
			full.CollectionID = nc.ID
			if _, err := dtx.PutObject(ctx, full, store.PutOptions{IfNoneMatch: true}); err != nil {
				return fmt.Errorf("object %s/%s: %w", c.Name, o.Name, err)
			}
			if err := copyProps(ctx, stx, dtx, l.ObjectPath(c, o.Name)); err != nil {
				return err
			}
		}
	}
	return nil
}
