package connector

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"

	"koyomi.dev/koyomi/internal/connector/remote"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/store"
)

// syncRun is one run of one connector: what it knows of both sides and
// what it has done so far. Each object's outcome is committed to the store
// as soon as it is done (its item mapping), so a run killed midway leaves
// a state the next run continues from: objects are matched by UID, never
// duplicated, never lost.
type syncRun struct {
	m      *Manager
	ctx    context.Context // acts as the connector's owner
	c      *store.Connector
	col    *store.Collection
	cl     *remote.Client
	rec    *store.ConnectorRun
	items  map[string]*store.ConnectorItem // by UID
	byHref map[string]*store.ConnectorItem // by remote.HrefKey of RemoteHref
	// problems are per-object failures that did not stop the run.
	problems []string
	// feed holds every object of an ICS feed by UID (ICS runs only).
	feed map[string]*remoteVersion
	// incomplete is set when a remote change could not be applied here;
	// the remote's sync state is then not advanced, so the change is seen
	// again by the next run.
	incomplete bool
	// local is the local calendar's listing, read once (localObjects).
	local []*store.Object
}

// at returns the mapping of the remote member href, however the server
// spells it.
func (r *syncRun) at(href string) *store.ConnectorItem { return r.byHref[remote.HrefKey(href)] }

// remoteVersion is one object as the remote has it now.
type remoteVersion struct {
	uid, href, etag string
	data            []byte
}

// plan is what changed on each side since the last run, by UID.
type plan struct {
	remoteChanged map[string]*remoteVersion
	remoteGone    map[string]bool
	local         map[string]*store.Object // every local object, by UID (no data)
	localChanged  map[string]bool
	localGone     map[string]bool
}

func (r *syncRun) loadItems() error {
	var items []*store.ConnectorItem
	err := r.m.opts.Store.View(r.ctx, func(tx store.Tx) error {
		var err error
		items, err = tx.ConnectorItems(r.ctx, r.c.ID)
		return err
	})
	if err != nil {
		return err
	}
	r.items = map[string]*store.ConnectorItem{}
	r.byHref = map[string]*store.ConnectorItem{}
	for _, it := range items {
		r.items[it.UID] = it
		if it.RemoteHref != "" {
			r.byHref[remote.HrefKey(it.RemoteHref)] = it
		}
	}
	return nil
}

// syncCalDAV runs against a remote CalDAV collection. It returns the
// remote state to remember (sync token, ctag) when the run completes.
func (r *syncRun) syncCalDAV() (token, ctag string, err error) {
	info, err := r.cl.Info(r.ctx, r.c.URL)
	if err != nil {
		return "", "", err
	}
	p := &plan{remoteChanged: map[string]*remoteVersion{}, remoteGone: map[string]bool{}}
	var changed []remote.Item
	var deleted []string
	full := true
	switch {
	case info.SupportsSync:
		var ch []remote.Item
		ch, deleted, token, err = r.cl.SyncCollection(r.ctx, r.c.URL, r.c.SyncToken)
		if errors.Is(err, remote.ErrSyncTokenInvalid) && r.c.SyncToken != "" {
			ch, deleted, token, err = r.cl.SyncCollection(r.ctx, r.c.URL, "")
			r.c.SyncToken = ""
		}
		if err != nil {
			return "", "", err
		}
		changed, full = ch, r.c.SyncToken == ""
	case info.CTag != "" && info.CTag == r.c.CTag:
		full = false // nothing changed remotely
	default:
		if changed, err = r.cl.List(r.ctx, r.c.URL); err != nil {
			return "", "", err
		}
	}
	if full {
		// A full listing: whatever was mapped and is not listed is gone.
		listed := map[string]bool{}
		for _, it := range changed {
			listed[remote.HrefKey(it.Href)] = true
		}
		deleted = deleted[:0]
		for key, it := range r.byHref {
			if !listed[key] {
				deleted = append(deleted, it.RemoteHref)
			}
		}
	}
	var fetch []string
	for _, it := range changed {
		if known := r.at(it.Href); known != nil && known.RemoteETag == it.ETag && it.ETag != "" {
			continue // unchanged, or our own write
		}
		fetch = append(fetch, it.Href)
	}
	if len(fetch) > 0 {
		got, err := r.cl.Multiget(r.ctx, r.c.URL, fetch)
		if err != nil {
			return "", "", err
		}
		for _, it := range got {
			r.addRemote(p, it.Href, it.ETag, it.Data)
		}
	}
	for _, href := range deleted {
		if it := r.at(href); it != nil {
			p.remoteGone[it.UID] = true
		}
	}
	if err := r.reconcile(p); err != nil {
		return "", "", err
	}
	return token, info.CTag, nil
}

// addRemote records a fetched remote object in the plan.
func (r *syncRun) addRemote(p *plan, href, etag string, data []byte) {
	obj, err := ical.Parse(data)
	if err != nil {
		r.problem("remote object %s: %v", href, err)
		r.incomplete = true
		return
	}
	p.remoteChanged[obj.UID] = &remoteVersion{uid: obj.UID, href: href, etag: etag, data: data}
	// The href held another UID before: that one is gone from it.
	if old := r.at(href); old != nil && old.UID != obj.UID {
		p.remoteGone[old.UID] = true
	}
}

// syncICS pulls a feed: each UID of the feed is one local object; a UID
// that leaves the feed is deleted locally. The feed's ETag is kept in the
// connector's CTag so an unchanged feed costs one conditional GET.
func (r *syncRun) syncICS() (ctag string, err error) {
	known := r.c.CTag
	if lost, err := r.localLost(); err != nil {
		return "", err
	} else if lost {
		known = "" // an unchanged feed must still be read to restore them
	}
	body, etag, notModified, err := r.cl.FetchICS(r.ctx, r.c.URL, known)
	if err != nil {
		return "", err
	}
	if notModified {
		return r.c.CTag, nil
	}
	parts, skipped, err := ical.Split(body)
	if err != nil {
		return "", fmt.Errorf("the feed is not valid iCalendar: %w", err)
	}
	if skipped > 0 {
		r.problem("%d feed entries have no UID and were skipped", skipped)
	}
	p := &plan{remoteChanged: map[string]*remoteVersion{}, remoteGone: map[string]bool{}}
	r.feed = map[string]*remoteVersion{}
	for _, part := range parts {
		sum := sha256.Sum256(part.Data)
		v := &remoteVersion{uid: part.UID, href: r.c.URL + "#" + url.PathEscape(part.UID),
			etag: hex.EncodeToString(sum[:16]), data: part.Data}
		r.feed[part.UID] = v
		if it := r.items[part.UID]; it != nil && it.RemoteETag == v.etag {
			continue
		}
		p.remoteChanged[part.UID] = v
	}
	for uid, it := range r.items {
		if r.feed[uid] == nil && it.RemoteHref != "" {
			p.remoteGone[uid] = true
		}
	}
	if err := r.reconcile(p); err != nil {
		return "", err
	}
	return etag, nil
}

// localObjects lists the local calendar (without data) once per run.
func (r *syncRun) localObjects() ([]*store.Object, error) {
	if r.local == nil {
		objs, err := r.m.opts.Domain.ListObjects(r.ctx, r.col, false)
		if err != nil {
			return nil, err
		}
		r.local = objs
	}
	return r.local, nil
}

// localLost reports whether an object the connector brought in is no
// longer in the local calendar.
func (r *syncRun) localLost() (bool, error) {
	objs, err := r.localObjects()
	if err != nil {
		return false, err
	}
	names := make(map[string]bool, len(objs))
	for _, o := range objs {
		names[o.Name] = true
	}
	for _, it := range r.items {
		if it.LocalName != "" && !names[it.LocalName] {
			return true, nil
		}
	}
	return false, nil
}

// reconcile compares the local calendar with the mappings and applies
// both sides' changes, UID by UID in a fixed order.
func (r *syncRun) reconcile(p *plan) error {
	objs, err := r.localObjects()
	if err != nil {
		return err
	}
	p.local = map[string]*store.Object{}
	p.localChanged, p.localGone = map[string]bool{}, map[string]bool{}
	for _, o := range objs {
		if o.UID == "" {
			continue
		}
		p.local[o.UID] = o
		it := r.items[o.UID]
		if it == nil || it.LocalName != o.Name || it.LocalETag != o.ETag {
			p.localChanged[o.UID] = true
		}
	}
	for uid, it := range r.items {
		if it.LocalName != "" && p.local[uid] == nil {
			p.localGone[uid] = true
		}
	}
	uids := map[string]bool{}
	for _, set := range []map[string]bool{p.remoteGone, p.localChanged, p.localGone} {
		for uid := range set {
			uids[uid] = true
		}
	}
	for uid := range p.remoteChanged {
		uids[uid] = true
	}
	order := make([]string, 0, len(uids))
	for uid := range uids {
		order = append(order, uid)
	}
	sort.Strings(order)
	for _, uid := range order {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		if err := r.one(p, uid); err != nil {
			if fatal(err) {
				return err
			}
			r.problem("%s: %v", uid, err)
		}
	}
	return nil
}

// refused reports a 403 answer to a write of one object: the remote keeps
// that object from us (read-only event, a component it does not take, a
// precondition) but not the whole calendar, so the run goes on. 401 and a
// 403 on the collection itself still stop the connector.
func refused(err error) bool {
	var re *remote.Error
	return errors.As(err, &re) && re.Status == 403 && remote.Classify(err) == remote.KindPermission
}

// fatal reports whether err ends the run (the remote refuses us, limits
// us or is unreachable) rather than affecting one object.
func fatal(err error) bool {
	switch remote.Classify(err) {
	case remote.KindPermission, remote.KindRateLimit, remote.KindTransient:
		return true
	}
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// one decides and applies what happens to one UID.
func (r *syncRun) one(p *plan, uid string) error {
	it := r.items[uid]
	rv := p.remoteChanged[uid]
	rGone := p.remoteGone[uid] && rv == nil
	local := p.local[uid]
	lChanged, lGone := p.localChanged[uid], p.localGone[uid]
	dir := r.c.Direction
	switch {
	case rGone && lGone, rGone && local == nil && it != nil && it.LocalName == "":
		return r.forget(uid)

	case rv != nil && !lChanged && !lGone:
		if dir == PushOnly {
			if local == nil {
				return nil // made there, not ours to mirror
			}
			// The remote mirrors us: overwrite its change, keeping it.
			lo, err := r.localData(local)
			if err != nil {
				return err
			}
			if err := r.keepLoser(uid, "remote", rv.data); err != nil {
				return err
			}
			return r.push(lo, rv.href, rv.etag)
		}
		return r.pull(rv, local, it)

	case rv != nil && lGone:
		// Changed there, deleted here.
		if dir == PushOnly || (dir == TwoWay && r.c.Policy == LocalWins) {
			if err := r.keepLoser(uid, "remote", rv.data); err != nil {
				return err
			}
			return r.deleteRemote(uid, rv.href, rv.etag)
		}
		if dir == TwoWay {
			r.rec.Conflicts++
		}
		return r.pull(rv, nil, it)

	case rv != nil && lChanged:
		lo, err := r.localData(local)
		if err != nil {
			return err
		}
		if bytes.Equal(lo.Data, rv.data) {
			return r.remember(&store.ConnectorItem{ConnectorID: r.c.ID, UID: uid, LocalName: lo.Name,
				LocalETag: lo.ETag, RemoteHref: rv.href, RemoteETag: rv.etag})
		}
		if r.localWins(lo.Data, rv.data) {
			if dir == TwoWay {
				r.rec.Conflicts++
			}
			if err := r.keepLoser(uid, "remote", rv.data); err != nil {
				return err
			}
			return r.push(lo, rv.href, rv.etag)
		}
		if dir == TwoWay {
			r.rec.Conflicts++
		}
		if err := r.keepLoser(uid, "local", lo.Data); err != nil {
			return err
		}
		return r.pull(rv, local, it)

	case rGone && !lChanged:
		if dir == PushOnly && local != nil {
			// The remote mirrors us: put it back.
			lo, err := r.localData(local)
			if err != nil {
				return err
			}
			return r.push(lo, it.RemoteHref, "")
		}
		if local != nil {
			if err := r.deleteLocal(local); err != nil {
				return err
			}
		}
		return r.forget(uid)

	case rGone && lChanged:
		lo, err := r.localData(local)
		if err != nil {
			return err
		}
		if dir == PullOnly || (dir == TwoWay && r.c.Policy == RemoteWins) {
			if dir == TwoWay {
				r.rec.Conflicts++
			}
			if err := r.keepLoser(uid, "local", lo.Data); err != nil {
				return err
			}
			if err := r.deleteLocal(local); err != nil {
				return err
			}
			return r.forget(uid)
		}
		if dir == TwoWay {
			r.rec.Conflicts++
		}
		return r.push(lo, it.RemoteHref, "")

	case lChanged:
		if dir == PullOnly {
			return nil // kept here, never sent
		}
		lo, err := r.localData(local)
		if err != nil {
			return err
		}
		href, etag := "", ""
		if it != nil {
			href, etag = it.RemoteHref, it.RemoteETag
		}
		return r.push(lo, href, etag)

	case lGone:
		if dir == PullOnly {
			// We mirror the remote: fetch it back.
			if r.feed != nil {
				if v := r.feed[uid]; v != nil {
					return r.pull(v, nil, it)
				}
				return r.forget(uid)
			}
			got, err := r.cl.Get(r.ctx, it.RemoteHref)
			if err != nil {
				return err
			}
			return r.pull(&remoteVersion{uid: uid, href: got.Href, etag: got.ETag, data: got.Data}, nil, it)
		}
		if it.RemoteHref != "" {
			return r.deleteRemote(uid, it.RemoteHref, it.RemoteETag)
		}
		return r.forget(uid)
	}
	return nil
}

// localWins decides a conflict between two versions by the policy.
func (r *syncRun) localWins(local, remote []byte) bool {
	switch r.c.Direction {
	case PushOnly:
		return true
	case PullOnly:
		return false
	}
	switch r.c.Policy {
	case LocalWins:
		return true
	case MostRecent:
		return lastModified(local).After(lastModified(remote))
	}
	return false
}

// lastModified is when a version was last changed: the newest
// LAST-MODIFIED of its components, else the newest DTSTAMP.
func lastModified(data []byte) time.Time {
	obj, err := ical.Parse(data)
	if err != nil {
		return time.Time{}
	}
	var lm, stamp time.Time
	for _, comp := range obj.Cal.Children {
		if comp.Name != obj.Component {
			continue
		}
		if t, err := comp.Props.DateTime("LAST-MODIFIED", time.UTC); err == nil && t.After(lm) {
			lm = t
		}
		if t, err := comp.Props.DateTime("DTSTAMP", time.UTC); err == nil && t.After(stamp) {
			stamp = t
		}
	}
	if !lm.IsZero() {
		return lm
	}
	return stamp
}

func (r *syncRun) localData(o *store.Object) (*store.Object, error) {
	if o.Data != nil {
		return o, nil
	}
	return r.m.opts.Domain.Object(r.ctx, r.col, o.Name)
}

// pull writes the remote version into the local calendar, replacing local
// (when it exists) only if it is still the version seen.
func (r *syncRun) pull(rv *remoteVersion, local *store.Object, it *store.ConnectorItem) error {
	opts := store.PutOptions{IfNoneMatch: true}
	var name string
	switch {
	case local != nil:
		name, opts = local.Name, store.PutOptions{IfMatch: local.ETag}
	case it != nil && it.LocalName != "":
		name = it.LocalName
	default:
		name = r.localName(rv)
	}
	o, created, err := r.m.opts.Domain.PutObject(r.ctx, r.col, name, "", rv.data, "text/calendar", opts)
	if errors.Is(err, domain.ErrPrecondition) && local == nil {
		// The name is taken by an object with another UID: use a fresh one.
		name = r.localName(&remoteVersion{uid: rv.uid + "-" + domain.ShortHash(rv.href)})
		o, created, err = r.m.opts.Domain.PutObject(r.ctx, r.col, name, "", rv.data, "text/calendar", store.PutOptions{IfNoneMatch: true})
	}
	if err != nil {
		r.incomplete = true
		return fmt.Errorf("writing the remote version here: %w", err)
	}
	if created {
		r.rec.PulledCreated++
	} else {
		r.rec.PulledUpdated++
	}
	return r.remember(&store.ConnectorItem{ConnectorID: r.c.ID, UID: rv.uid, LocalName: name, LocalETag: o.ETag,
		RemoteHref: rv.href, RemoteETag: rv.etag})
}

// push writes the local version to the remote: to href when known (with
// If-Match etag, or as a creation when etag is empty), else as a new
// member named like the local object.
func (r *syncRun) push(lo *store.Object, href, etag string) error {
	if href == "" || strings.Contains(href, "#") {
		href = memberURL(r.c.URL, lo.Name)
		etag = ""
	}
	newETag, err := r.cl.Put(r.ctx, href, lo.Data, etag)
	if err != nil {
		switch {
		case remote.Classify(err) == remote.KindConflict:
			// Changed (or created) there meanwhile: the next run sees it
			// as a conflict and applies the policy.
			r.problem("%s changed on the remote during the run; left for the next run", lo.UID)
			r.incomplete = true
			return nil
		case refused(err):
			r.problem("the remote refused %s: %v", lo.UID, err)
			return nil
		}
		return err
	}
	if etag == "" {
		r.rec.PushedCreated++
	} else {
		r.rec.PushedUpdated++
	}
	return r.remember(&store.ConnectorItem{ConnectorID: r.c.ID, UID: lo.UID, LocalName: lo.Name, LocalETag: lo.ETag,
		RemoteHref: href, RemoteETag: newETag})
}

// errChangedHere: a local object changed while the run was deciding about
// it; the next run decides again.
var errChangedHere = errors.New("changed here during the run; left for the next run")

func (r *syncRun) deleteLocal(o *store.Object) error {
	err := r.m.opts.Domain.DeleteObject(r.ctx, r.col, o.Name, o.ETag)
	switch {
	case errors.Is(err, domain.ErrNotFound):
	case errors.Is(err, domain.ErrPrecondition):
		r.incomplete = true
		return errChangedHere
	case err != nil:
		return err
	default:
		r.rec.PulledDeleted++
	}
	return nil
}

func (r *syncRun) deleteRemote(uid, href, etag string) error {
	err := r.cl.Delete(r.ctx, href, etag)
	switch kind := remote.Classify(err); {
	case kind == remote.KindNotFound:
	case kind == remote.KindConflict:
		r.problem("%s changed on the remote during the run; left for the next run", uid)
		r.incomplete = true
		return nil
	case refused(err):
		r.problem("the remote refused to delete %s: %v", uid, err)
		return nil
	default:
		if err != nil {
			return err
		}
		r.rec.PushedDeleted++
	}
	return r.forget(uid)
}

// remember commits one object's new state.
func (r *syncRun) remember(it *store.ConnectorItem) error {
	err := r.m.opts.Store.Update(r.ctx, func(tx store.Tx) error { return tx.PutConnectorItem(r.ctx, it) })
	if err != nil {
		return err
	}
	if old := r.items[it.UID]; old != nil && old.RemoteHref != "" {
		delete(r.byHref, remote.HrefKey(old.RemoteHref))
	}
	r.items[it.UID] = it
	if it.RemoteHref != "" {
		r.byHref[remote.HrefKey(it.RemoteHref)] = it
	}
	return nil
}

func (r *syncRun) forget(uid string) error {
	err := r.m.opts.Store.Update(r.ctx, func(tx store.Tx) error { return tx.DeleteConnectorItem(r.ctx, r.c.ID, uid) })
	if err != nil {
		return err
	}
	if old := r.items[uid]; old != nil {
		delete(r.byHref, remote.HrefKey(old.RemoteHref))
	}
	delete(r.items, uid)
	return nil
}

// keepLoser stores the version that lost a conflict.
func (r *syncRun) keepLoser(uid, side string, data []byte) error {
	return r.m.opts.Store.Update(r.ctx, func(tx store.Tx) error {
		return tx.AddConnectorConflict(r.ctx, &store.ConnectorConflict{ConnectorID: r.c.ID, RunID: r.rec.ID,
			UID: uid, Side: side, Data: data, Created: r.m.now()})
	})
}

func (r *syncRun) problem(format string, args ...any) {
	if len(r.problems) < 20 {
		r.problems = append(r.problems, fmt.Sprintf(format, args...))
	}
}

// localName picks the local object name for a pulled object: the remote
// member's name when it is a usable one, else one made from the UID.
func (r *syncRun) localName(rv *remoteVersion) string {
	if rv.href != "" && !strings.Contains(rv.href, "#") {
		if u, err := url.Parse(rv.href); err == nil {
			if name, err := url.PathUnescape(path.Base(u.EscapedPath())); err == nil && domain.ValidObjectName(name) &&
				strings.HasSuffix(strings.ToLower(name), ".ics") {
				return name
			}
		}
	}
	return domain.ObjectNameForUID(rv.uid, ".ics")
}

// memberURL is the URL of a member named name in the collection at coll.
func memberURL(coll, name string) string {
	if !strings.HasSuffix(coll, "/") {
		coll += "/"
	}
	return coll + url.PathEscape(name)
}
