package tree

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/store"
)

// Virtual calendars appear in each viewer's calendar home under this
// prefix and their id, so that clients that follow only one home (Apple's)
// see them.
const vcPrefix = "vc-"

type (
	// Virtual is a virtual calendar as the requesting user sees it.
	Virtual struct{ View *domain.VCView }
	// VirtualObject is one object of a virtual calendar view.
	VirtualObject struct {
		*domain.VCObject
		View *domain.VCView
	}
)

// Syncable implements dav.Syncable: views have sync tokens.
func (v *Virtual) Syncable() bool { return true }

// VCPath returns the path of a virtual calendar in viewer's home.
func VCPath(viewer string, id int64) string {
	return HomePath(viewer) + vcPrefix + strconv.FormatInt(id, 10) + "/"
}

func vcID(segment string) (int64, bool) {
	rest, ok := strings.CutPrefix(segment, vcPrefix)
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	return id, err == nil && id > 0
}

func (t *Tree) virtualResource(v *domain.VCView) *dav.Resource {
	r := &dav.Resource{Path: VCPath(v.Viewer, v.VC.ID), Collection: true, LastModified: v.VC.Modified, Data: &Virtual{View: v}}
	for _, k := range t.kinds {
		if k.Kind == store.KindCalendar {
			r.Types = append(r.Types, k.Type)
		}
	}
	return r
}

// VirtualObjectResource describes an object of a view.
func VirtualObjectResource(v *domain.VCView, o *domain.VCObject) *dav.Resource {
	return &dav.Resource{Path: VCPath(v.Viewer, v.VC.ID) + o.Name, ETag: o.ETag, LastModified: o.Modified,
		ContentType: "text/calendar; charset=utf-8", Size: int64(len(o.Data)), Data: &VirtualObject{VCObject: o, View: v}}
}

// resolveVirtual resolves a path below a viewer's home that names a view.
func (t *Tree) resolveVirtual(ctx context.Context, user string, segs []string, trailing bool) (*dav.Resource, bool, error) {
	id, ok := vcID(segs[0])
	if !ok {
		return nil, false, nil
	}
	v, err := t.svc.ViewVC(ctx, user, id)
	if err != nil {
		return nil, true, mapError(err)
	}
	switch {
	case len(segs) == 1:
		return t.virtualResource(v), true, nil
	case len(segs) == 2 && !trailing:
		o, err := t.svc.VCObjectByName(ctx, v, segs[1])
		if err != nil {
			return nil, true, mapError(err)
		}
		return VirtualObjectResource(v, o), true, nil
	}
	return nil, true, notFound()
}

// virtualChildren lists what a view shows.
func (t *Tree) virtualChildren(ctx context.Context, v *domain.VCView) ([]*dav.Resource, error) {
	objs, err := t.svc.VCObjects(ctx, v, nil)
	if err != nil {
		return nil, mapError(err)
	}
	out := make([]*dav.Resource, 0, len(objs))
	for _, o := range objs {
		out = append(out, VirtualObjectResource(v, o))
	}
	return out, nil
}

// VirtualQuery returns the view's objects that may have occurrences in tr
// (all when tr is nil), as resources.
func (t *Tree) VirtualQuery(ctx context.Context, v *domain.VCView, tr *ical.TimeRange) ([]*dav.Resource, error) {
	objs, err := t.svc.VCObjects(ctx, v, tr)
	if err != nil {
		return nil, mapError(err)
	}
	out := make([]*dav.Resource, 0, len(objs))
	for _, o := range objs {
		out = append(out, VirtualObjectResource(v, o))
	}
	return out, nil
}

func (t *Tree) virtualSyncToken(ctx context.Context, v *domain.VCView) (string, error) {
	revs, err := t.svc.VCRevisions(ctx, v)
	if err != nil {
		return "", mapError(err)
	}
	return domain.VCSyncToken(v, revs), nil
}

// virtualSyncChanges implements sync-collection on a view: the token
// carries the view's key and each source's revision; a changed definition
// invalidates it, so the client resynchronises.
func (t *Tree) virtualSyncChanges(ctx context.Context, v *domain.VCView, token string, limit int) ([]dav.SyncChange, string, bool, error) {
	current, err := t.virtualSyncToken(ctx, v)
	if err != nil {
		return nil, "", false, err
	}
	base := VCPath(v.Viewer, v.VC.ID)
	var changes []dav.SyncChange
	if token == "" {
		objs, err := t.svc.VCObjects(ctx, v, nil)
		if err != nil {
			return nil, "", false, mapError(err)
		}
		for _, o := range objs {
			changes = append(changes, dav.SyncChange{Path: base + o.Name, Resource: VirtualObjectResource(v, o)})
		}
	} else {
		prefix := fmt.Sprintf("urn:koyomi:vc:%d:%s:", v.VC.ID, v.Key())
		revsPart, ok := strings.CutPrefix(token, prefix)
		if !ok {
			return nil, "", false, invalidSyncToken("the virtual calendar changed or the token is foreign; synchronise again")
		}
		since := map[int64]int64{}
		for _, p := range strings.Split(revsPart, ".") {
			id, rev, ok := strings.Cut(p, "-")
			i, err1 := strconv.ParseInt(id, 10, 64)
			r, err2 := strconv.ParseInt(rev, 10, 64)
			if !ok || err1 != nil || err2 != nil {
				return nil, "", false, invalidSyncToken("malformed sync token")
			}
			since[i] = r
		}
		all, err := t.svc.VCChanges(ctx, v, since)
		if err != nil {
			return nil, "", false, invalidSyncToken("the virtual calendar's sources changed; synchronise again")
		}
		// Only what changed is evaluated: O(changes), as for calendars.
		seen := map[string]bool{}
		for _, c := range v.Sources() {
			for _, ch := range all[c.ID] {
				name, err := t.svc.VCNameOf(ctx, v, c.ID, ch.Name)
				if err != nil {
					return nil, "", false, mapError(err)
				}
				if seen[name] {
					continue
				}
				seen[name] = true
				sc := dav.SyncChange{Path: base + name}
				if !ch.Deleted {
					if o, err := t.svc.VCObjectByName(ctx, v, name); err == nil {
						sc.Resource = VirtualObjectResource(v, o)
					}
				}
				changes = append(changes, sc)
			}
		}
	}
	// Views are evaluated whole, so a limit truncates without a resumable
	// token: the client gets the current token only when nothing was cut.
	if limit > 0 && len(changes) > limit {
		return changes[:limit], token, true, nil
	}
	return changes, current, false, nil
}

// putVirtual stores a PUT into a view in its write target.
func (t *Tree) putVirtual(ctx context.Context, v *domain.VCView, name string, body []byte, contentType string, cond dav.Conditions) (*dav.Resource, bool, error) {
	if !v.Writable() {
		return nil, false, dav.Precondition(http.StatusForbidden, dav.Name("need-privileges"), "this virtual calendar is read-only")
	}
	_, created, err := t.svc.PutThroughVC(ctx, v, name, body, contentType, store.PutOptions{IfMatch: cond.IfMatch, IfNoneMatch: cond.IfNoneMatch})
	if err != nil {
		return nil, false, mapObjectError(err, &store.Collection{Kind: store.KindCalendar, Owner: v.Viewer})
	}
	vo, err := t.svc.VCObjectByName(ctx, v, name)
	if err != nil {
		// Stored, but the view's own rules hide it from its writer.
		return &dav.Resource{Path: VCPath(v.Viewer, v.VC.ID) + name, ETag: ""}, created, nil
	}
	return VirtualObjectResource(v, vo), created, nil
}

// MayLock implements dav.LockPermitter: a lock is a write, so read-only
// views and their objects cannot be locked.
func (t *Tree) MayLock(ctx context.Context, r *dav.Resource) error {
	var v *domain.VCView
	switch d := r.Data.(type) {
	case *Virtual:
		v = d.View
	case *VirtualObject:
		v = d.View
	default:
		return nil
	}
	if !v.Writable() {
		return dav.Precondition(http.StatusForbidden, dav.Name("need-privileges"), "this virtual calendar is read-only")
	}
	return nil
}
