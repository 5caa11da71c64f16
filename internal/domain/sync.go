package domain

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"

	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/store"
)

// ErrInvalidSyncToken: a sync token that does not belong to the
// collection, or that is newer than it (RFC 6578 3.2: valid-sync-token).
var ErrInvalidSyncToken = errors.New("invalid sync token")

// SyncToken is a collection's sync token (and ctag) at its current
// revision.
func SyncToken(c *store.Collection) string {
	return fmt.Sprintf("urn:koyomi:sync:%d:%d", c.ID, c.Revision)
}

// ExportETag is the entity tag of a target's export offered under the file
// name name: its CTag, which changes with its objects, and the name, which
// the file carries (X-WR-CALNAME) but the CTag does not follow.
func ExportETag(ctag, name string) string {
	h := fnv.New32a()
	h.Write([]byte(name))
	return fmt.Sprintf("%s-%08x", ctag, h.Sum32())
}

// ExportFile is the media type and file name of the export of a target of
// kind whose people see it as display (its name when display is empty):
// without characters file systems refuse, with the kind's extension. ok is
// false for kinds that export nothing.
func ExportFile(kind store.Kind, display, name string) (contentType, filename string, ok bool) {
	ext := ".ics"
	switch kind {
	case store.KindCalendar:
		contentType = "text/calendar; charset=utf-8"
	case store.KindAddressBook:
		contentType, ext = "text/vcard; charset=utf-8", ".vcf"
	default:
		return "", "", false
	}
	if strings.TrimSpace(display) == "" {
		display = path.Base(name)
	}
	filename = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`/\:*?"<>|`, r) {
			return '_'
		}
		return r
	}, strings.TrimSpace(display))
	if filename == "" || filename == "." || filename == ".." {
		filename = "export"
	}
	return contentType, filename + ext, true
}

// parseSyncToken returns the revision a token names for collection id.
func parseSyncToken(token string, id int64) (rev int64, ok bool) {
	rest, found := strings.CutPrefix(token, "urn:koyomi:sync:")
	if !found {
		return 0, false
	}
	idStr, revStr, found := strings.Cut(rest, ":")
	if !found || idStr != strconv.FormatInt(id, 10) {
		return 0, false
	}
	rev, err := strconv.ParseInt(revStr, 10, 64)
	return rev, err == nil && rev >= 0
}

// SyncResult is what changed in a collection since a sync token: each
// name's latest change (Object nil for a removal), at most limit of them,
// and the token to continue from.
type SyncResult struct {
	Changes   []SyncChange
	Token     string
	Truncated bool
}

// SyncChange is one name in a SyncResult.
type SyncChange struct {
	Name   string
	Href   string // the client's spelling of Name (see store.Object.Href)
	Object *store.Object
}

// syncCollection answers sync-collection on c from its change log: since
// token ("" for an initial sync), at most limit changes (0: all). A
// free-busy sharee's objects are their busy blocks.
func (s *Service) syncCollection(ctx context.Context, c *store.Collection, token string, limit int) (*SyncResult, error) {
	var since int64
	if token != "" {
		rev, ok := parseSyncToken(token, c.ID)
		if !ok {
			return nil, fmt.Errorf("%w: the sync token does not belong to this collection", ErrInvalidSyncToken)
		}
		since = rev
	}
	if _, err := s.authorizeColl(ctx, c, ActFreeBusy); err != nil {
		return nil, err
	}
	changes, err := s.Changes(ctx, c, since)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: the sync token is newer than the collection", ErrInvalidSyncToken)
	}
	if err != nil {
		return nil, err
	}
	// The token to return is the collection's revision unless the answer
	// is truncated, in which case it is the last revision included.
	newRev := c.Revision
	for _, ch := range changes {
		newRev = max(newRev, ch.Revision)
	}
	truncated := false
	if limit > 0 && len(changes) > limit {
		changes = changes[:limit]
		newRev = changes[limit-1].Revision
		truncated = true
	}
	var live []string
	for _, ch := range changes {
		if !ch.Deleted {
			live = append(live, ch.Name)
		}
	}
	// sync-collection serves properties but never calendar or address
	// data, so an initial sync, which names every object, lists their
	// metadata (from an index) rather than reading all their data.
	var objs []*store.Object
	if since == 0 {
		objs, err = s.ListObjects(ctx, c, false)
	} else {
		objs, err = s.Objects(ctx, c, live)
	}
	if err != nil {
		return nil, err
	}
	byName := make(map[string]*store.Object, len(objs))
	for _, o := range objs {
		byName[o.Name] = o
	}
	out := &SyncResult{Changes: make([]SyncChange, 0, len(changes)), Truncated: truncated}
	for _, ch := range changes {
		o, shown := byName[ch.Name]
		if !ch.Deleted && !shown {
			// Not shown to this principal (a free-busy sharee sees no
			// tasks), or gone since the change log was read.
			continue
		}
		sc := SyncChange{Name: ch.Name, Href: ch.Href}
		if !ch.Deleted {
			sc.Object = o
		}
		out.Changes = append(out.Changes, sc)
	}
	tok := *c
	tok.Revision = newRev
	out.Token = SyncToken(&tok)
	return out, nil
}

// exportCollection writes c's objects, as the context may see them, to w
// as one file (what a GET of the collection answers): a calendar as one
// iCalendar stream, an address book as its cards one after another.
func (s *Service) exportCollection(ctx context.Context, c *store.Collection, w io.Writer) error {
	if c.Kind != store.KindCalendar && c.Kind != store.KindAddressBook {
		return fmt.Errorf("%w: %s is neither a calendar nor an address book", ErrNotFound, c.Name)
	}
	objs, err := s.ListObjects(ctx, c, true)
	if err != nil {
		return err
	}
	if c.Kind == store.KindAddressBook {
		return writeCards(w, objs)
	}
	m, err := ical.NewMerger(w, c.DisplayName)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := m.Add(o.Data); err != nil {
			return err
		}
	}
	return m.Close()
}

// writeCards writes vCards one after another, each ending its last line.
func writeCards(w io.Writer, objs []*store.Object) error {
	for _, o := range objs {
		data := o.Data
		if len(data) > 0 && data[len(data)-1] != '\n' {
			data = append(slices.Clip(data), '\r', '\n')
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
	return nil
}

// exportVC writes a view's objects, as its viewer sees them, to w as one
// iCalendar stream.
func (s *Service) exportVC(ctx context.Context, v *VCView, w io.Writer) error {
	objs, err := s.VCObjects(ctx, v, nil)
	if err != nil {
		return err
	}
	m, err := ical.NewMerger(w, v.DisplayName())
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := m.Add(o.Data); err != nil {
			return err
		}
	}
	return m.Close()
}
