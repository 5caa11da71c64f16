package domain

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"slices"
	"strings"

	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/tz"
)

// OnConflict says what an import does with an object whose UID the
// collection already holds.
type OnConflict int

const (
	// ImportUpdate replaces the stored object with the file's.
	ImportUpdate OnConflict = iota
	// ImportSkip keeps the stored object and leaves the file's out.
	ImportSkip
)

// ParseOnConflict reads "update" or "skip" ("" is update).
func ParseOnConflict(s string) (OnConflict, error) {
	switch s {
	case "", "update":
		return ImportUpdate, nil
	case "skip":
		return ImportSkip, nil
	}
	return ImportUpdate, &InvalidError{Field: "on_conflict",
		Err: fmt.Errorf("%w: %q (want update or skip)", ErrMalformed, s)}
}

// ImportOptions configure an Import.
type ImportOptions struct {
	OnConflict OnConflict
	// BatchSize is how many objects one transaction writes (default 500).
	BatchSize int
	// ContentType, when set, is the media type the stream was sent as:
	// text/calendar for a calendar, text/vcard for an address book
	// (ErrUnsupportedMediaType otherwise).
	ContentType string
	// Progress, when set, is called after each batch with the counts so
	// far.
	Progress func(ImportResult)
	// Size, when positive, is the length the stream announced (an HTTP
	// Content-Length): a stream announced larger than the service's
	// MaxImportSize is refused before anything is read.
	Size int64
}

// importLimit reads at most n bytes of r; reading more is ErrTooLarge.
type importLimit struct {
	r    io.Reader
	left int64
	max  int64
}

func (l *importLimit) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, fmt.Errorf("%w: the file is larger than max_import_size (%d bytes)", ErrTooLarge, l.max)
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		// The byte beyond the limit is not handed on.
		return n - 1, fmt.Errorf("%w: the file is larger than max_import_size (%d bytes)", ErrTooLarge, l.max)
	}
	return n, err
}

// ImportResult counts what an import did.
type ImportResult struct {
	// Imported objects are new; Updated replaced an object of the same
	// UID; Unchanged were not written, the stored object being the same
	// to the byte; Skipped were left out because the collection holds
	// their UID (ImportSkip).
	Imported  int `json:"imported"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Skipped   int `json:"skipped"`
	// Bad are the entries that could not be imported, in file order, at
	// most maxBadEntries of them; BadCount counts them all.
	Bad      []BadEntry `json:"bad"`
	BadCount int        `json:"bad_count"`
}

// BadEntry is a part of an imported file that was not imported.
type BadEntry struct {
	// Line is the line of the file where the entry begins.
	Line   int    `json:"line"`
	UID    string `json:"uid,omitempty"`
	Reason string `json:"reason"`
}

// maxBadEntries bounds the bad entries an ImportResult lists: a file that
// is wrong throughout should not turn into an answer as large.
const maxBadEntries = 1000

// add counts what a batch did into r, its bad entries too (still at most
// maxBadEntries listed, all counted).
func (r *ImportResult) add(batch ImportResult) {
	r.Imported += batch.Imported
	r.Updated += batch.Updated
	r.Unchanged += batch.Unchanged
	r.Skipped += batch.Skipped
	r.BadCount += batch.BadCount
	r.Bad = append(r.Bad, batch.Bad[:min(len(batch.Bad), maxBadEntries-len(r.Bad))]...)
}

func (r *ImportResult) bad(line int, uid string, err error) {
	r.BadCount++
	if len(r.Bad) < maxBadEntries {
		r.Bad = append(r.Bad, BadEntry{Line: line, UID: uid, Reason: err.Error()})
	}
}

// Import reads an iCalendar stream (into a calendar) or a vCard stream
// (into an address book) and stores one object per UID, with the rights of
// a writer of c. The stream is read one component at a time: what is held
// in memory is one batch of objects, the time zones seen, the UIDs
// written and the stored series held back (below), not the file.
//
// In a calendar, the components sharing a UID (a recurring event and its
// overrides) become one object, also when an override comes long after
// its master: it is then merged into the stored object. Overrides whose
// master the file lacks join the object the collection holds for their
// UID (ImportUpdate), replacing its overrides of the same occurrences. A
// stored series whose master comes with only some of the overrides it
// holds is kept aside and written at the end, if the file changes it, so
// that an unchanged series is not written and one that is, is written
// once; an import that stops with an error leaves such series as they
// were. An object the import would write to the same bytes as stored is
// not written but counted as unchanged: the collection's sync token
// moves only for what changed. An object carries the VTIMEZONEs it names
// that the stream has defined by the time its batch is written, and for
// a known IANA name the stream leaves undefined, the zone tz makes. A card without a UID gets one made from its content,
// so that importing one file twice updates rather than duplicates.
//
// An entry that is malformed or fails validation is reported in the
// result with its line, and the rest is imported; an error is returned
// only when the stream cannot be read or is not of the collection's kind,
// with the result of what was written before.
//
// Each batch is one transaction through the store's ordinary object
// writes, so clients see the imported objects in the collection's change
// log (RFC 6578).
func (s *Service) Import(ctx context.Context, c *store.Collection, r io.Reader, opts ImportOptions) (res ImportResult, err error) {
	// A malformed component is reported as it is read, one that fails
	// validation when its batch is written: the list is put in file
	// order at the end.
	// Bad is never nil, so that it reads as a list ([]) in JSON.
	defer func() {
		if res.Bad == nil {
			res.Bad = []BadEntry{}
		}
		slices.SortStableFunc(res.Bad, func(a, b BadEntry) int { return cmp.Compare(a.Line, b.Line) })
	}()
	if _, err := s.authorizeColl(ctx, c, ActWrite); err != nil {
		return ImportResult{}, err
	}
	split := ical.SplitOptions{MaxSize: int(s.opts.MaxResourceSize)}
	switch c.Kind {
	case store.KindCalendar:
		split.Container = "VCALENDAR"
	case store.KindAddressBook:
	default:
		return ImportResult{}, fmt.Errorf("%w: %s is neither a calendar nor an address book", ErrUnsupportedMediaType, c.Name)
	}
	if err := checkImportType(c, opts.ContentType); err != nil {
		return ImportResult{}, err
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	max := s.opts.MaxImportSize
	if opts.Size > max {
		return ImportResult{}, fmt.Errorf("%w: the file (%d bytes) is larger than max_import_size (%d bytes)", ErrTooLarge, opts.Size, max)
	}
	r = &importLimit{r: r, left: max, max: max}
	im := &importer{s: s, c: c, opts: opts, zones: map[string][]byte{}, done: map[string]string{},
		pendingByUID: map[string]*pendingObject{}, left: map[string]bool{}, held: map[string]*heldObject{}, generated: map[string][]byte{}}
	sp := ical.NewSplitter(r, split)
	for {
		if err := ctx.Err(); err != nil {
			return im.res, err
		}
		ch, err := sp.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if ferr := im.flush(ctx); ferr != nil {
				return im.res, ferr
			}
			if errors.Is(err, ical.ErrInvalidData) {
				err = fmt.Errorf("%w: %w", ErrMalformed, err)
			}
			return im.res, err
		}
		im.add(ch)
		if len(im.pending) >= opts.BatchSize {
			if err := im.flush(ctx); err != nil {
				return im.res, err
			}
		}
	}
	if err := im.flush(ctx); err != nil {
		return im.res, err
	}
	return im.res, im.writeHeld(ctx)
}

// importer is the state of one Import.
type importer struct {
	s    *Service
	c    *store.Collection
	opts ImportOptions
	res  ImportResult
	// zones are the VTIMEZONEs seen so far, by TZID.
	zones map[string][]byte
	// generated are the VTIMEZONEs made for IANA names the file names
	// without defining them (nil for other names).
	generated map[string][]byte
	// done maps the UIDs this import wrote to their objects' names.
	done map[string]string
	// left are the UIDs left out (ImportSkip), whose late overrides are
	// left out too.
	left map[string]bool
	// pending is the batch being gathered, in file order.
	pending      []*pendingObject
	pendingByUID map[string]*pendingObject
	// held are the stored objects whose master came with some of their
	// overrides and the others may come later: the file's version is
	// gathered here and written at the end only if it differs.
	held map[string]*heldObject
}

// heldObject is the file's version of a stored object, gathered until
// the end of the import.
type heldObject struct {
	name  string
	line  int
	comps []component
	zones [][]byte
	// stored is the object's data when it was held.
	stored []byte
}

// pendingObject is one UID's components gathered for the next batch.
type pendingObject struct {
	uid   string
	line  int
	comps []component
	zones []string
}

// component is one component of a calendar object (or a card) and its
// RECURRENCE-ID as sent, "" for a master.
type component struct {
	rid  string
	data []byte
}

// hasMaster reports whether p holds a component that is no override.
func (p *pendingObject) hasMaster() bool {
	for _, c := range p.comps {
		if c.rid == "" {
			return true
		}
	}
	return false
}

func (im *importer) add(ch *ical.Chunk) {
	if ch.Err != nil {
		im.res.bad(ch.Line, ch.UID, ch.Err)
		return
	}
	switch {
	case im.c.Kind == store.KindAddressBook && ch.Name != "VCARD":
		im.res.bad(ch.Line, ch.UID, fmt.Errorf("%w: %s in a vCard stream", ErrMalformed, ch.Name))
		return
	case ch.Name == "VTIMEZONE":
		if ch.TZID == "" {
			im.res.bad(ch.Line, "", fmt.Errorf("%w: VTIMEZONE without TZID", ical.ErrInvalidObject))
			return
		}
		im.zones[ch.TZID] = ch.Data
		return
	}
	uid, data := ch.UID, ch.Data
	if im.c.Kind == store.KindAddressBook {
		if uid == "" {
			uid = contentUID(data)
			data = withUID(data, uid)
		}
		if p := im.pendingByUID[uid]; p != nil {
			im.res.bad(ch.Line, uid, fmt.Errorf("%w: a card with UID %q is already in the file at line %d", ErrExists, uid, p.line))
			return
		}
		if _, ok := im.done[uid]; ok {
			im.res.bad(ch.Line, uid, fmt.Errorf("%w: a card with UID %q is already in the file", ErrExists, uid))
			return
		}
	} else if uid == "" {
		im.res.bad(ch.Line, "", fmt.Errorf("%w: %s without UID", ical.ErrInvalidObject, ch.Name))
		return
	}
	p := im.pendingByUID[uid]
	if p == nil {
		p = &pendingObject{uid: uid, line: ch.Line}
		im.pending = append(im.pending, p)
		im.pendingByUID[uid] = p
	}
	p.comps = append(p.comps, component{rid: ch.RecurrenceID, data: data})
	for _, z := range ch.Zones {
		if !containsFold(p.zones, z) {
			p.zones = append(p.zones, z)
		}
	}
}

// flush writes the pending batch in one transaction.
func (im *importer) flush(ctx context.Context) error {
	if len(im.pending) == 0 {
		return nil
	}
	var batch ImportResult
	var written map[string]string
	var left []string
	var held map[string]*heldObject
	err := im.s.store.Update(ctx, func(tx store.Tx) error {
		batch, written, left = ImportResult{}, map[string]string{}, nil
		held = maps.Clone(im.held)
		for _, p := range im.pending {
			if err := im.write(ctx, tx, p, &batch, written, &left, held); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return mapStoreErr(err)
	}
	im.res.add(batch)
	for uid, name := range written {
		im.done[uid] = name
	}
	for _, uid := range left {
		im.left[uid] = true
	}
	im.held = held
	im.pending, im.pendingByUID = im.pending[:0], map[string]*pendingObject{}
	if im.opts.Progress != nil {
		im.opts.Progress(im.res)
	}
	return nil
}

// write stores one pending object inside tx, counting it in batch; an
// object that fails validation is counted as bad, not returned.
func (im *importer) write(ctx context.Context, tx store.Tx, p *pendingObject, batch *ImportResult, written map[string]string, left *[]string, held map[string]*heldObject) error {
	if im.left[p.uid] {
		return nil
	}
	comps, zones := p.comps, im.zonesOf(p.zones)
	if h := held[p.uid]; h != nil {
		h.comps = mergeOverrides(h.comps, comps)
		h.zones = mergeZones(h.zones, zones)
		return nil
	}
	name, merge := im.done[p.uid]
	var updated bool
	if !merge {
		existing, err := tx.FindObjectByUID(ctx, im.c.ID, p.uid)
		switch {
		case err == nil && im.opts.OnConflict == ImportSkip:
			batch.Skipped++
			*left = append(*left, p.uid)
			return nil
		case err == nil:
			name, updated = existing, true
		case errors.Is(err, store.ErrNotFound):
			name = ObjectNameForUID(p.uid, im.ext())
		default:
			return err
		}
	}
	var old *store.Object
	if merge || updated {
		var err error
		if old, err = getObjectData(ctx, tx, im.c.ID, name); err != nil {
			return err
		}
	}
	if old != nil && im.c.Kind == store.KindCalendar && (merge || !p.hasMaster()) {
		// Overrides without their master in the file (or in this
		// batch) join the stored object, replacing those it holds for
		// the same occurrence.
		oldZones, oldComps, err := splitObject(old.Data)
		if err != nil {
			batch.bad(p.line, p.uid, err)
			return nil
		}
		comps = mergeOverrides(oldComps, comps)
		zones = mergeZones(oldZones, zones)
	} else if old != nil && im.c.Kind == store.KindCalendar && holdsAll(old.Data, comps) {
		// The stored object holds this master and these overrides and
		// more: the rest may come later in the file. Written now, it
		// would lose them until then, and an unchanged series would be
		// written twice.
		held[p.uid] = &heldObject{name: name, line: p.line, comps: slices.Clone(comps), zones: zones, stored: old.Data}
		written[p.uid] = name
		return nil
	}
	var data []byte
	if im.c.Kind == store.KindCalendar {
		data = ical.Assemble(zones, componentData(comps))
	} else {
		data = comps[0].data
	}
	o, err := im.s.prepare(im.c, name, data, "")
	if err != nil {
		batch.bad(p.line, p.uid, err)
		return nil
	}
	if old != nil && bytes.Equal(old.Data, o.Data) {
		// Writing the same bytes again would only move the sync token
		// and have every client fetch the object anew.
		written[p.uid] = name
		if !merge {
			batch.Unchanged++
		}
		return nil
	}
	// A new object must not replace another that has its name: that one
	// holds another UID (or none). Its name with a hash of the UID is
	// then taken instead. The refusal comes before the store writes
	// anything, so the transaction goes on.
	isNew := !merge && !updated
	_, err = tx.PutObject(ctx, o, store.PutOptions{IfNoneMatch: isNew})
	if isNew && errors.Is(err, store.ErrConflict) {
		o.Name = strings.TrimSuffix(name, im.ext()) + "-" + ShortHash(p.uid) + im.ext()
		_, err = tx.PutObject(ctx, o, store.PutOptions{IfNoneMatch: true})
		if errors.Is(err, store.ErrConflict) {
			batch.bad(p.line, p.uid, fmt.Errorf("%w: the names %s and %s are taken by other objects", ErrExists, name, o.Name))
			return nil
		}
	}
	if err != nil {
		return err
	}
	written[p.uid] = o.Name
	switch {
	case merge:
	case updated:
		batch.Updated++
	default:
		batch.Imported++
	}
	return nil
}

// writeHeld writes the held objects that the file changes, in one
// transaction.
func (im *importer) writeHeld(ctx context.Context) error {
	if len(im.held) == 0 {
		return nil
	}
	var batch ImportResult
	err := im.s.store.Update(ctx, func(tx store.Tx) error {
		batch = ImportResult{}
		for uid, h := range im.held {
			o, err := im.s.prepare(im.c, h.name, ical.Assemble(h.zones, componentData(h.comps)), "")
			switch {
			case err != nil:
				batch.bad(h.line, uid, err)
				continue
			case bytes.Equal(o.Data, h.stored):
				batch.Unchanged++
				continue
			}
			if _, err := tx.PutObject(ctx, o, store.PutOptions{}); err != nil {
				return err
			}
			batch.Updated++
		}
		return nil
	})
	if err != nil {
		return mapStoreErr(err)
	}
	im.res.add(batch)
	im.held = map[string]*heldObject{}
	if im.opts.Progress != nil {
		im.opts.Progress(im.res)
	}
	return nil
}

// holdsAll reports whether the stored calendar object data holds each of
// comps, to the byte, and more components besides.
func holdsAll(data []byte, comps []component) bool {
	_, stored, err := splitObject(data)
	if err != nil || len(stored) <= len(comps) {
		return false
	}
	for _, c := range comps {
		if !slices.ContainsFunc(stored, func(s component) bool { return s.rid == c.rid && bytes.Equal(s.data, c.data) }) {
			return false
		}
	}
	return true
}

// mergeOverrides adds more to have: a component replaces the one of have
// with the same RECURRENCE-ID (or the master another master), the others
// are added after have's.
func mergeOverrides(have, more []component) []component {
	out := slices.Clone(have)
	for _, c := range more {
		i := slices.IndexFunc(out, func(h component) bool { return h.rid == c.rid })
		if i >= 0 {
			out[i] = c
		} else {
			out = append(out, c)
		}
	}
	return out
}

func componentData(comps []component) [][]byte {
	out := make([][]byte, len(comps))
	for i, c := range comps {
		out[i] = c.data
	}
	return out
}

// zonesOf returns the VTIMEZONEs known for tzids: the file's, else one
// made for a known IANA name, so that clients reading the object find the
// zone it names (RFC 5545 3.2.19 wants it there).
func (im *importer) zonesOf(tzids []string) [][]byte {
	var out [][]byte
	for _, id := range tzids {
		if z, ok := im.zones[id]; ok {
			out = append(out, z)
		} else if z := im.generatedZone(id); z != nil {
			out = append(out, z)
		}
	}
	return out
}

// generatedZone returns the VTIMEZONE tz makes for the IANA zone id, nil
// for another name. A zone the file defines later takes its place in
// im.zones.
func (im *importer) generatedZone(id string) []byte {
	if z, ok := im.generated[id]; ok {
		return z
	}
	var zone []byte
	if cal, err := tz.VCalendar(id, im.s.Now()); err == nil {
		if i := strings.Index(cal, "BEGIN:VTIMEZONE\r\n"); i >= 0 {
			zone = []byte(strings.TrimSuffix(cal[i:], "END:VCALENDAR\r\n"))
		}
	}
	im.generated[id] = zone
	return zone
}

// ext is the file name extension of the collection's objects.
func (im *importer) ext() string {
	if im.c.Kind == store.KindAddressBook {
		return ".vcf"
	}
	return ".ics"
}

// splitObject cuts a stored calendar object into its VTIMEZONEs and its
// other components.
func splitObject(data []byte) (zones [][]byte, comps []component, err error) {
	sp := ical.NewSplitter(bytes.NewReader(data), ical.SplitOptions{Container: "VCALENDAR", MaxSize: len(data) + 1})
	for {
		ch, err := sp.Next()
		if errors.Is(err, io.EOF) {
			return zones, comps, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if ch.Err != nil {
			return nil, nil, ch.Err
		}
		if ch.Name == "VTIMEZONE" {
			zones = append(zones, ch.Data)
		} else {
			comps = append(comps, component{rid: ch.RecurrenceID, data: ch.Data})
		}
	}
}

// mergeZones adds to have the zones of more whose TZID it lacks.
func mergeZones(have, more [][]byte) [][]byte {
	ids := map[string]bool{}
	for _, z := range have {
		ids[zoneID(z)] = true
	}
	for _, z := range more {
		if !ids[zoneID(z)] {
			have = append(have, z)
		}
	}
	return have
}

func zoneID(zone []byte) string {
	sp := ical.NewSplitter(bytes.NewReader(zone), ical.SplitOptions{MaxSize: len(zone) + 1})
	if ch, err := sp.Next(); err == nil {
		return ch.TZID
	}
	return ""
}

// ObjectNameForUID is the name of a new object of uid: the UID itself
// when it is made of characters safe in a URL and is not too long, else
// its safe characters followed by a hash of it; ext ends it (".ics").
func ObjectNameForUID(uid, ext string) string {
	var b strings.Builder
	for _, ch := range uid {
		if ch < 0x80 && (ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.ContainsRune("-_.@", ch)) {
			b.WriteRune(ch)
		} else {
			b.WriteByte('_')
		}
	}
	name := b.String()
	if len(name) > 100 || name == "" || name != uid {
		name = strings.Trim(name[:min(len(name), 60)], ".") + "-" + ShortHash(uid)
	}
	return name + ext
}

// ShortHash is a short hex hash of s, for names made unique.
func ShortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}

// importNamespace names the UIDs made for imported cards that have none
// (a random UUID chosen once; RFC 9562 section 5.5).
const importNamespace = "\x3b\x91\x0e\x7c\x55\x2a\x4f\x08\x9d\x61\xe4\x17\xb2\x8c\x40\x5e"

// contentUID is a name-based (version 5) UUID of a card's bytes, as a
// urn:uuid.
func contentUID(card []byte) string {
	h := sha1.Sum(append([]byte(importNamespace), card...))
	u := h[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	x := hex.EncodeToString(u)
	return "urn:uuid:" + x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// withUID adds a UID property to a card, before its END line (the
// VERSION must stay right after BEGIN, RFC 6350 6.7.9).
func withUID(card []byte, uid string) []byte {
	body := bytes.TrimRight(card, "\r\n")
	i := bytes.LastIndex(body, []byte("\n"))
	out := make([]byte, 0, len(card)+len(uid)+8)
	out = append(out, card[:i+1]...)
	out = append(out, "UID:"+uid+"\r\n"...)
	return append(out, card[i+1:]...)
}

// checkImportType refuses a stream sent as another type than c holds.
func checkImportType(c *store.Collection, contentType string) error {
	if contentType == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	switch {
	case err == nil && c.Kind == store.KindCalendar && mt == "text/calendar":
		return nil
	case err == nil && c.Kind == store.KindAddressBook && (mt == "text/vcard" || mt == "text/x-vcard"):
		return nil
	case c.Kind == store.KindCalendar:
		return fmt.Errorf("%w: %q, a calendar imports text/calendar", ErrUnsupportedMediaType, contentType)
	}
	return fmt.Errorf("%w: %q, an address book imports text/vcard", ErrUnsupportedMediaType, contentType)
}
