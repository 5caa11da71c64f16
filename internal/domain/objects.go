package domain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"slices"
	"strings"
	"time"

	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/vcard"
)

// ValidObjectName reports whether name can name an object (one path segment).
func ValidObjectName(name string) bool { return validSegment(name) }

// Object returns one object with its data. Its Occurrences may be left
// empty.
func (s *Service) Object(ctx context.Context, c *store.Collection, name string) (*store.Object, error) {
	level, err := s.authorizeColl(ctx, c, ActFreeBusy)
	if err != nil {
		return nil, err
	}
	var o *store.Object
	err = s.store.View(ctx, func(tx store.Tx) error {
		var err error
		o, err = getObjectData(ctx, tx, c.ID, name)
		return err
	})
	if err != nil {
		return nil, mapStoreErr(err)
	}
	if level == LevelFreeBusy {
		if o, err = s.busyOnly(c, o); err == nil && o == nil {
			err = fmt.Errorf("%w: %s shows no busy time", ErrNotFound, name)
		}
	}
	return o, err
}

// Objects returns the named objects of c that exist. Their Occurrences may
// be left empty.
func (s *Service) Objects(ctx context.Context, c *store.Collection, names []string) ([]*store.Object, error) {
	level, err := s.authorizeColl(ctx, c, ActFreeBusy)
	if err != nil {
		return nil, err
	}
	var objs []*store.Object
	err = s.store.View(ctx, func(tx store.Tx) error {
		var err error
		if r, ok := tx.(store.DataReader); ok {
			objs, err = r.GetObjectsData(ctx, c.ID, names)
		} else {
			objs, err = tx.GetObjects(ctx, c.ID, names)
		}
		return err
	})
	if err == nil && level == LevelFreeBusy {
		objs = s.busyOnlyAll(ctx, c, objs)
	}
	return objs, mapStoreErr(err)
}

// ListObjects lists the objects of c, with or without their data.
// A free-busy sharee gets the objects' busy blocks (see busyOnly).
func (s *Service) ListObjects(ctx context.Context, c *store.Collection, withData bool) ([]*store.Object, error) {
	level, err := s.authorizeColl(ctx, c, ActFreeBusy)
	if err != nil {
		return nil, err
	}
	busy := level == LevelFreeBusy
	var objs []*store.Object
	err = s.store.View(ctx, func(tx store.Tx) error {
		var err error
		objs, err = listObjects(ctx, tx, c.ID, withData || busy)
		return err
	})
	if err == nil && busy {
		objs = s.busyOnlyAll(ctx, c, objs)
		if !withData {
			for _, o := range objs {
				o.Data = nil
			}
		}
	}
	return objs, mapStoreErr(err)
}

// listObjects lists a collection's objects, with data but without
// occurrences where the store can.
func listObjects(ctx context.Context, tx store.Objects, collectionID int64, withData bool) ([]*store.Object, error) {
	if r, ok := tx.(store.DataReader); ok && withData {
		return r.ListObjectsData(ctx, collectionID)
	}
	return tx.ListObjects(ctx, collectionID, withData)
}

// prepare validates data for collection c and builds the object to store.
func (s *Service) prepare(c *store.Collection, name string, data []byte, contentType string) (*store.Object, error) {
	if !ValidObjectName(name) {
		return nil, fmt.Errorf("%w: object name %q", ErrInvalidName, name)
	}
	if int64(len(data)) > s.opts.MaxResourceSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d allowed", ErrTooLarge, len(data), s.opts.MaxResourceSize)
	}
	if c.Kind == store.KindCalendar || c.Kind == store.KindAddressBook {
		// A byte-order mark is no part of iCalendar or vCard text, but
		// editors on Windows write one.
		data = bytes.TrimPrefix(data, utf8BOM)
	}
	o := &store.Object{CollectionID: c.ID, Name: name, Data: data}
	switch c.Kind {
	case store.KindCalendar:
		if contentType != "" {
			mt, _, err := mime.ParseMediaType(contentType)
			if err != nil || (mt != "text/calendar" && mt != "application/octet-stream") {
				return nil, fmt.Errorf("%w: %q, a calendar accepts text/calendar", ErrUnsupportedMediaType, contentType)
			}
		}
		if err := ical.CheckCharacters(data); err != nil {
			return nil, err
		}
		obj, err := ical.Parse(data)
		if err != nil {
			return nil, err
		}
		if len(c.Components) > 0 && !containsFold(c.Components, obj.Component) {
			return nil, fmt.Errorf("%w: %s (accepted: %s)", ErrUnsupportedComponent, obj.Component, strings.Join(c.Components, ", "))
		}
		o.ContentType = "text/calendar; charset=utf-8; component=" + strings.ToLower(obj.Component)
		obj.Index(o, s.opts.Clock().Add(s.opts.IndexHorizon))
	case store.KindAddressBook:
		if contentType != "" {
			mt, _, err := mime.ParseMediaType(contentType)
			if err != nil || (mt != "text/vcard" && mt != "text/x-vcard" && mt != "application/octet-stream") {
				return nil, fmt.Errorf("%w: %q, an address book accepts text/vcard", ErrUnsupportedMediaType, contentType)
			}
		}
		if err := vcard.CheckCharacters(data); err != nil {
			return nil, err
		}
		card, err := vcard.Parse(data)
		if err != nil {
			return nil, err
		}
		// vcard.Parse reads cards without UID, which vCard 3.0 allows,
		// but an address object resource must have one (RFC 6352 5.1).
		if card.UID == "" {
			return nil, fmt.Errorf("%w: no UID property (an address object resource needs one, RFC 6352 section 5.1)", vcard.ErrInvalidData)
		}
		o.ContentType = "text/vcard; charset=utf-8"
		card.Index(o)
	default:
		if contentType == "" {
			contentType = "application/octet-stream"
		}
		o.ContentType = contentType
	}
	return o, nil
}

// utf8BOM is U+FEFF encoded in UTF-8.
var utf8BOM = []byte("\xEF\xBB\xBF")

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// PutObject validates and stores an object. The returned object carries
// its new ETag.
//
// href is how the client spelled name in the object's URL when that
// differs from its plain escaping (see store.Object.Href), or "".
func (s *Service) PutObject(ctx context.Context, c *store.Collection, name, href string, data []byte, contentType string, opts store.PutOptions) (*store.Object, bool, error) {
	if _, err := s.authorizeColl(ctx, c, ActWrite); err != nil {
		return nil, false, err
	}
	o, err := s.prepare(c, name, data, contentType)
	if err != nil {
		return nil, false, err
	}
	o.Href = href
	var created bool
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := keepsUID(ctx, tx, o); err != nil {
			return err
		}
		var err error
		created, err = tx.PutObject(ctx, o, opts)
		return err
	})
	if err != nil {
		return nil, false, mapStoreErr(err)
	}
	return o, created, nil
}

// keepsUID refuses to replace an object that has a UID with o when o
// carries another one (ErrUIDChanged).
func keepsUID(ctx context.Context, tx store.Objects, o *store.Object) error {
	if o.UID == "" {
		return nil
	}
	old, err := getObjectData(ctx, tx, o.CollectionID, o.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return err
	case old.UID != "" && old.UID != o.UID:
		return fmt.Errorf("%w: %s holds UID %q, the new data %q (delete it and create a new resource instead)", ErrUIDChanged, o.Name, old.UID, o.UID)
	}
	return nil
}

// DeleteObject moves an object with its dead properties into the trash
// of the collection's owner (also when a sharee deletes it).
func (s *Service) DeleteObject(ctx context.Context, c *store.Collection, name, ifMatch string) error {
	if _, err := s.authorizeColl(ctx, c, ActWrite); err != nil {
		return err
	}
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error {
		return s.trashObjectTx(ctx, tx, c, name, ifMatch)
	}))
}

// CopyMoveObject copies or moves an object between collections of one
// owner, validating it for the destination, with its dead properties. An
// existing destination is replaced only when overwrite is set.
func (s *Service) CopyMoveObject(ctx context.Context, src *store.Collection, srcName string, dst *store.Collection, dstName, dstHref string, move, overwrite bool) (created bool, err error) {
	srcNeeds := ActRead
	if move {
		srcNeeds = ActWrite
	}
	if _, err := s.authorizeColl(ctx, src, srcNeeds); err != nil {
		return false, err
	}
	if _, err := s.authorizeColl(ctx, dst, ActWrite); err != nil {
		return false, err
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		o, err := tx.GetObject(ctx, src.ID, srcName)
		if err != nil {
			return err
		}
		n, err := s.prepare(dst, dstName, o.Data, o.ContentType)
		if err != nil {
			return err
		}
		n.Href = dstHref
		if move {
			if err := tx.DeleteObject(ctx, src.ID, srcName, ""); err != nil {
				return err
			}
		}
		if err := keepsUID(ctx, tx, n); err != nil {
			return err
		}
		opts := store.PutOptions{IfNoneMatch: !overwrite}
		created, err = tx.PutObject(ctx, n, opts)
		if err != nil {
			return err
		}
		from, to := ObjectKey(src, srcName).key, ObjectKey(dst, dstName).key
		if err := tx.DeleteProperties(ctx, to); err != nil {
			return err
		}
		if err := tx.CopyProperties(ctx, from, to); err != nil {
			return err
		}
		if move {
			return tx.DeleteProperties(ctx, from)
		}
		return nil
	})
	return created, mapStoreErr(err)
}

// queryCalendar returns the objects of c matching a calendar-query
// filter, with their parsed forms when keepParsed. Candidates come from
// the store's index; each is then evaluated exactly, unless its index
// alone proves the match (ical.IndexProvesMatch): such an object is not
// parsed, and its parsed form is nil. Without keepParsed each parsed form
// is garbage as soon as its object is decided, instead of living, often
// ten times the size of the data, until the whole answer is written.
func (s *Service) queryCalendar(ctx context.Context, c *store.Collection, filter *ical.CompFilter, floating *time.Location, keepParsed bool) ([]*store.Object, []*ical.Object, error) {
	level, err := s.authorizeColl(ctx, c, ActFreeBusy)
	if err != nil {
		return nil, nil, err
	}
	busy := level == LevelFreeBusy
	var (
		candidates []*store.Object
		occurs     map[string]bool // recurring candidates proved by their index
	)
	window, provable := ical.ProofWindow(filter)
	// A free-busy sharee's filter is evaluated on what they see.
	provable = provable && !busy
	err = s.store.View(ctx, func(tx store.Tx) error {
		var err error
		if tr, ok := ical.QueryRange(filter); ok {
			candidates, err = tx.FindObjectsInRange(ctx, c.ID, tr.Start, tr.End)
		} else {
			candidates, err = listObjects(ctx, tx, c.ID, true)
		}
		if err != nil || !provable || !slices.ContainsFunc(candidates, func(o *store.Object) bool { return o.Recurring }) {
			return err
		}
		names, err := tx.RecurringStartingIn(ctx, c.ID, window.Start, window.End)
		occurs = make(map[string]bool, len(names))
		for _, name := range names {
			occurs[name] = true
		}
		return err
	})
	if err != nil {
		return nil, nil, mapStoreErr(err)
	}
	if busy {
		candidates = s.busyOnlyAll(ctx, c, candidates)
	}
	var objs []*store.Object
	var parsed []*ical.Object
	for _, o := range candidates {
		if provable && ical.IndexProvesMatch(window, o, occurs[o.Name]) {
			objs = append(objs, o)
			parsed = append(parsed, nil)
			continue
		}
		p, err := ical.Parse(o.Data)
		if err != nil {
			s.opts.Logger.WarnContext(ctx, "stored object does not parse", "collection", c.ID, "name", o.Name, "err", err)
			continue
		}
		ok, err := p.Match(filter, floating)
		if err != nil {
			if errors.Is(err, ical.ErrUnsupportedCollation) {
				return nil, nil, err
			}
			s.opts.Logger.WarnContext(ctx, "filter evaluation failed", "name", o.Name, "err", err)
			continue
		}
		if ok {
			objs = append(objs, o)
			if !keepParsed {
				p = nil
			}
			parsed = append(parsed, p)
		}
	}
	return objs, parsed, nil
}

// Changes returns c's change log since a revision (0: all live objects).
func (s *Service) Changes(ctx context.Context, c *store.Collection, since int64) ([]store.Change, error) {
	if _, err := s.authorizeColl(ctx, c, ActFreeBusy); err != nil {
		return nil, err
	}
	var changes []store.Change
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		changes, err = tx.Changes(ctx, c.ID, since)
		return err
	})
	return changes, mapStoreErr(err)
}

// queryAddressBook returns the objects of c matching an addressbook-query
// filter, in name order.
func (s *Service) queryAddressBook(ctx context.Context, c *store.Collection, filter *vcard.Filter) ([]*store.Object, error) {
	objs, err := s.ListObjects(ctx, c, true)
	if err != nil {
		return nil, err
	}
	// Most cards of a large address book fail a filter on one or two
	// properties: the prefilter rules them out without parsing them.
	pre := vcard.NewPrefilter(filter)
	out := objs[:0]
	for _, o := range objs {
		if !pre.MayMatch(o.Data) {
			continue
		}
		card, err := vcard.Parse(o.Data)
		if err != nil {
			s.opts.Logger.WarnContext(ctx, "stored vCard does not parse", "collection", c.ID, "name", o.Name, "err", err)
			continue
		}
		if card.Match(filter) {
			out = append(out, o)
		}
	}
	return out, nil
}
