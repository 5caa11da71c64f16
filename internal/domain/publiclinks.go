package domain

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/store"
)

// Public links. A public link is an unguessable token that reads one
// calendar, or one virtual calendar, without signing in. It belongs to the
// owner of what it shows, who sees and may revoke every link to their
// data; the calendar's admins may publish it and revoke its links too. A
// link answers only while it exists, what it shows exists and still
// belongs to its owner: a revoked link or a deleted calendar is not found
// at once.
//
// A calendar's link shows its objects as stored. A virtual calendar's link
// shows it as its definition shows it to nobody in particular: filtered
// for every source, CLASS caps included (the owner's own events are not
// shown whole, as they are to the owner), written through by no one, and
// drawn from the owner's own calendars only. Calendars of others that reach
// the view (shared with its owner, through a group or a view shared with
// them) contribute nothing: they were shared with the owner, not with the
// public.

// publicTokenBytes is the randomness of a token: 192 bits, far beyond
// guessing, in 32 URL-safe characters.
const publicTokenBytes = 24

var publicTokenLength = base64.RawURLEncoding.EncodedLen(publicTokenBytes)

// A token never starts with '-': on a command line (koyomi link del TOKEN)
// it would be read as a flag. Drawing again costs under 0.03 bits.
func newPublicToken() string {
	b := make([]byte, publicTokenBytes)
	for {
		_, _ = rand.Read(b) // crypto/rand.Read never fails; it crashes the program when it cannot read randomness
		if t := base64.RawURLEncoding.EncodeToString(b); t[0] != '-' {
			return t
		}
	}
}

// ValidPublicToken reports whether s is shaped like a token, so that
// anything else is refused before the store is asked.
func ValidPublicToken(s string) bool {
	if len(s) != publicTokenLength {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// PublicLink is a public link with the name of what it shows: Calendar,
// a calendar in Owner's home, or VC, one of Owner's virtual calendars.
type PublicLink struct {
	store.PublicLink
	Calendar string
	VC       string
}

// errNoPublicLink is every failure to find or use a link, alike, so that
// an answer does not tell which part failed.
var errNoPublicLink = fmt.Errorf("%w: no such public link", ErrNotFound)

// CreatePublicLink publishes calendar c. Its owner and its admins may.
func (s *Service) CreatePublicLink(ctx context.Context, c *store.Collection) (*PublicLink, error) {
	if c.Kind != store.KindCalendar {
		return nil, &InvalidError{Field: "collection", Err: fmt.Errorf("%w: only calendars can be published", ErrInvalidName)}
	}
	var out *PublicLink
	err := s.store.Update(ctx, func(tx store.Tx) error {
		current, err := tx.GetCollectionByID(ctx, c.ID)
		if err != nil {
			return err
		}
		if _, err := authorizeCollTx(ctx, tx, current, ActShare); err != nil {
			return err
		}
		l := &store.PublicLink{Owner: current.Owner, CollectionID: current.ID}
		if err := createPublicLink(ctx, tx, l); err != nil {
			return err
		}
		out = &PublicLink{PublicLink: *l, Calendar: current.Name}
		return nil
	})
	return out, mapStoreErr(err)
}

// CreateVCPublicLink publishes owner's virtual calendar name; only owner
// (and the system) may. A group's calendar cannot be published.
func (s *Service) CreateVCPublicLink(ctx context.Context, owner, name string) (*PublicLink, error) {
	if err := authorize(ctx, owner); err != nil {
		return nil, err
	}
	if strings.HasPrefix(owner, "group:") {
		return nil, &InvalidError{Field: "vc", Err: fmt.Errorf("%w: a group's calendar cannot be published", ErrInvalidName)}
	}
	var out *PublicLink
	err := s.store.Update(ctx, func(tx store.Tx) error {
		vc, err := tx.GetVirtualCalendar(ctx, owner, name)
		if err != nil {
			return err
		}
		l := &store.PublicLink{Owner: owner, VCID: vc.ID}
		if err := createPublicLink(ctx, tx, l); err != nil {
			return err
		}
		out = &PublicLink{PublicLink: *l, VC: vc.Name}
		return nil
	})
	return out, mapStoreErr(err)
}

// createPublicLink stores l under a new token. Two draws of 192 bits do
// not collide; the retry only keeps a broken random source from
// overwriting a link.
func createPublicLink(ctx context.Context, tx store.Tx, l *store.PublicLink) error {
	var err error
	for range 3 {
		l.Token = newPublicToken()
		if err = tx.CreatePublicLink(ctx, l); !errors.Is(err, store.ErrExists) {
			return err
		}
	}
	return err
}

// PublicLinks lists the links to owner's calendars and virtual
// calendars, whoever made them; owner and the system may ask.
func (s *Service) PublicLinks(ctx context.Context, owner string) ([]*PublicLink, error) {
	if err := authorize(ctx, owner); err != nil {
		return nil, err
	}
	var out []*PublicLink
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = namedLinks(ctx, tx, owner, nil)
		return err
	})
	return out, mapStoreErr(err)
}

// CollectionPublicLinks lists the links to calendar c; its owner and its
// admins may ask.
func (s *Service) CollectionPublicLinks(ctx context.Context, c *store.Collection) ([]*PublicLink, error) {
	var out []*PublicLink
	err := s.store.View(ctx, func(tx store.Tx) error {
		if _, err := authorizeCollTx(ctx, tx, c, ActShare); err != nil {
			return err
		}
		var err error
		out, err = namedLinks(ctx, tx, c.Owner, func(l *store.PublicLink) bool { return l.CollectionID == c.ID })
		return err
	})
	return out, mapStoreErr(err)
}

// namedLinks lists owner's links that keep passes (all when nil), named.
func namedLinks(ctx context.Context, tx store.Tx, owner string, keep func(*store.PublicLink) bool) ([]*PublicLink, error) {
	links, err := tx.PublicLinks(ctx, owner)
	if err != nil {
		return nil, err
	}
	out := make([]*PublicLink, 0, len(links))
	for _, l := range links {
		if keep != nil && !keep(l) {
			continue
		}
		pl, err := nameLink(ctx, tx, l)
		if err != nil {
			return nil, err
		}
		out = append(out, pl)
	}
	return out, nil
}

func nameLink(ctx context.Context, tx store.Tx, l *store.PublicLink) (*PublicLink, error) {
	pl := &PublicLink{PublicLink: *l}
	if l.CollectionID != 0 {
		c, err := tx.GetCollectionByID(ctx, l.CollectionID)
		if err != nil {
			return nil, err
		}
		pl.Calendar = c.Name
		return pl, nil
	}
	vc, err := tx.GetVirtualCalendarByID(ctx, l.VCID)
	if err != nil {
		return nil, err
	}
	pl.VC = vc.Name
	return pl, nil
}

// RevokePublicLink deletes the link token. Its owner (and the system) may,
// and so may an admin of the calendar it shows; to anyone else it is not
// found.
func (s *Service) RevokePublicLink(ctx context.Context, token string) error {
	if !ValidPublicToken(token) {
		return errNoPublicLink
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		l, err := tx.GetPublicLink(ctx, token)
		if err != nil {
			if isNotFound(err) {
				return errNoPublicLink
			}
			return err
		}
		if p := Principal(ctx); p != "" && p != l.Owner {
			if l.CollectionID == 0 {
				return errNoPublicLink
			}
			c, err := tx.GetCollectionByID(ctx, l.CollectionID)
			if err != nil {
				return err
			}
			if _, err := authorizeCollTx(ctx, tx, c, ActShare); err != nil {
				if errors.Is(err, ErrNotFound) {
					return errNoPublicLink // not "alice's collection": whose it is is not theirs to learn
				}
				return err
			}
		}
		return tx.DeletePublicLink(ctx, token)
	})
	return mapStoreErr(err)
}

// PublicFeed is what a public link shows.
type PublicFeed struct {
	// Data is the calendar or view as one iCalendar stream, as a GET of
	// it answers its owner.
	Data []byte
	// Modified is when the calendar last changed. It is zero for a
	// virtual calendar: its sources change where it hides them too, and a
	// date would tell the public when.
	Modified time.Time
}

// OpenPublicLink returns what the link token shows, to anyone: it asks
// nothing of the context's principal. Every failure to find the link or
// what it shows is one ErrNotFound.
func (s *Service) OpenPublicLink(ctx context.Context, token string) (*PublicFeed, error) {
	if !ValidPublicToken(token) {
		return nil, errNoPublicLink
	}
	var feed *PublicFeed
	var view *VCView
	err := s.store.View(ctx, func(tx store.Tx) error {
		l, err := tx.GetPublicLink(ctx, token)
		if err != nil {
			return err
		}
		if l.CollectionID != 0 {
			c, err := tx.GetCollectionByID(ctx, l.CollectionID)
			if err != nil {
				return err
			}
			if c.Owner != l.Owner || c.Kind != store.KindCalendar {
				return errNoPublicLink
			}
			objs, err := listObjects(ctx, tx, c.ID, true)
			if err != nil {
				return err
			}
			datas := make([][]byte, 0, len(objs))
			for _, o := range objs {
				datas = append(datas, o.Data)
			}
			data, err := ical.Merge(datas, c.DisplayName)
			feed = &PublicFeed{Data: data, Modified: c.Modified}
			return err
		}
		vc, err := tx.GetVirtualCalendarByID(ctx, l.VCID)
		if err != nil {
			return err
		}
		if vc.Owner != l.Owner {
			return errNoPublicLink
		}
		view, err = s.publicView(ctx, tx, vc)
		return err
	})
	if err != nil {
		// A definition that no longer evaluates (a cycle another
		// owner's change made) shows nothing, as in VisibleVCs.
		if isNotFound(err) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrInvalidName) {
			return nil, errNoPublicLink
		}
		return nil, mapStoreErr(err)
	}
	if view == nil {
		return feed, nil
	}
	var data bytes.Buffer
	if err := s.exportVC(ctx, view, &data); err != nil {
		return nil, err
	}
	return &PublicFeed{Data: data.Bytes()}, nil
}

// publicView is vc as its link shows it (see the comment at the top): a
// view with no viewer, no write target and no sources but the owner's.
func (s *Service) publicView(ctx context.Context, tx store.Tx, vc *store.VirtualCalendar) (*VCView, error) {
	r := newResolver(ctx, tx, false)
	srcs, err := r.vc(vc, nil)
	if err != nil {
		return nil, err
	}
	srcs = slices.DeleteFunc(distinctSources(srcs), func(src vcSource) bool { return src.coll.Owner != vc.Owner })
	v := &VCView{VC: vc, sources: srcs, window: evaluationWindow(s.opts.Clock())}
	fmt.Fprintf(&r.key, "|w:%s|public", v.window.Start.Format("200601"))
	sum := sha256.Sum256([]byte(r.key.String()))
	v.key = hex.EncodeToString(sum[:8])
	return v, nil
}
