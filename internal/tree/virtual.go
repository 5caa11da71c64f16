package tree

import (
	"context"
	"encoding/xml"
	"errors"
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
	rev, err := t.svc.VCSyncRevision(ctx, v)
	if err != nil {
		return "", mapError(err)
	}
	return domain.VCSyncToken(v, rev), nil
}

// virtualSyncChanges implements sync-collection on a view from the
// viewer's sync log (see domain.VCSyncChanges): it names only what the
// viewer was shown.
func (t *Tree) virtualSyncChanges(ctx context.Context, v *domain.VCView, token string, limit int) ([]dav.SyncChange, string, bool, error) {
	var since int64
	if token != "" {
		rev, ok := domain.ParseVCSyncToken(v, token)
		if !ok {
			return nil, "", false, invalidSyncToken("the sync token does not belong to this calendar; synchronise again")
		}
		since = rev
	}
	all, rev, err := t.svc.VCSyncChanges(ctx, v, since)
	if errors.Is(err, domain.ErrPrecondition) {
		return nil, "", false, invalidSyncToken("the sync token is unknown to this calendar; synchronise again")
	}
	if err != nil {
		return nil, "", false, mapError(err)
	}
	base := VCPath(v.Viewer, v.VC.ID)
	changes := make([]dav.SyncChange, 0, len(all))
	for _, ch := range all {
		sc := dav.SyncChange{Path: base + ch.Name}
		if ch.Object != nil {
			sc.Resource = VirtualObjectResource(v, ch.Object)
		}
		changes = append(changes, sc)
	}
	// The log answers from a revision, not a position in it, so a limit
	// truncates without a resumable token: the client gets the current
	// token only when nothing was cut.
	if limit > 0 && len(changes) > limit {
		return changes[:limit], token, true, nil
	}
	return changes, domain.VCSyncToken(v, rev), false, nil
}

// mapViewWriteError turns the errors of writing through a view into
// answers: a refusal is need-privileges, and a UID conflict names no
// object, since the one holding the UID may be hidden from the writer.
func (t *Tree) mapViewWriteError(err error, v *domain.VCView) error {
	switch {
	case errors.Is(err, domain.ErrForbidden):
		return dav.Precondition(http.StatusForbidden, dav.Name("need-privileges"), err.Error())
	case v.WriteTarget() == nil:
		return mapError(err)
	case errors.Is(err, store.ErrUIDConflict):
		return &dav.Error{Status: http.StatusConflict, Condition: xml.Name{Space: dav.NSCalDAV, Local: "no-uid-conflict"},
			Msg: "the UID is already used in the calendar this view writes into", Err: err}
	}
	return t.mapObjectError(err, ownCollection(v.WriteTarget()), "")
}

// putVirtual stores a PUT into a view in its write target.
func (t *Tree) putVirtual(ctx context.Context, v *domain.VCView, name string, body []byte, contentType string, cond dav.Conditions) (*dav.Resource, bool, error) {
	if !v.Writable() {
		return nil, false, dav.Precondition(http.StatusForbidden, dav.Name("need-privileges"), "this virtual calendar is read-only for you")
	}
	_, created, err := t.svc.PutThroughVC(ctx, v, name, body, contentType, store.PutOptions{IfMatch: cond.IfMatch, IfNoneMatch: cond.IfNoneMatch})
	if err != nil {
		return nil, false, t.mapViewWriteError(err, v)
	}
	vo, err := t.svc.VCObjectByName(ctx, v, name)
	if err != nil {
		// Stored, but the view's own rules hide it from its writer.
		return &dav.Resource{Path: VCPath(v.Viewer, v.VC.ID) + name, ETag: ""}, created, nil
	}
	return VirtualObjectResource(v, vo), created, nil
}

// deleteVirtual deletes an object through a writable view; a DELETE of
// the view itself unsubscribes its viewer (the owner's definition stays).
func (t *Tree) deleteVirtual(ctx context.Context, r *dav.Resource, cond dav.Conditions) error {
	switch d := r.Data.(type) {
	case *Virtual:
		no := false
		_, err := t.svc.SetSubscription(ctx, d.View.Viewer, d.View.VC.ID, domain.Subscription{Subscribed: &no})
		return mapError(err)
	case *VirtualObject:
		if !d.View.Writable() {
			return dav.Precondition(http.StatusForbidden, dav.Name("need-privileges"), "this virtual calendar is read-only for you")
		}
		err := t.svc.DeleteThroughVC(ctx, d.View, d.Name, cond.IfMatch)
		if err != nil {
			return t.mapViewWriteError(err, d.View)
		}
		return nil
	}
	return dav.Errorf(http.StatusForbidden, "%s cannot be deleted", r.Path)
}

// patchVirtual changes the viewer's own settings of a view: display name,
// colour and order through the same setters as a calendar's, anything else
// as the viewer's dead properties.
func (t *Tree) patchVirtual(ctx context.Context, v *domain.VCView, ops []dav.PropOp) error {
	c := store.Collection{Kind: store.KindCalendar, DisplayName: v.DisplayName(), Color: v.Color(), Order: v.Order()}
	before := c
	dead, err := t.applyOps(&c, ops)
	if err != nil {
		return err
	}
	for _, op := range ops {
		if _, ok := t.setters[op.Prop.Name]; !ok {
			continue
		}
		switch op.Prop.Name {
		case dav.Name("displayname"), xmlName(dav.NSAppleICal, "calendar-color"), xmlName(dav.NSAppleICal, "calendar-order"):
		default:
			return &dav.PropError{Name: op.Prop.Name, Err: dav.Precondition(http.StatusForbidden, dav.Name("cannot-modify-protected-property"),
				"a shared virtual calendar's definition is its owner's")}
		}
	}
	var change domain.Subscription
	if c.DisplayName != before.DisplayName {
		change.DisplayName = &c.DisplayName
	}
	if c.Color != before.Color {
		change.Color = &c.Color
	}
	if c.Order != before.Order {
		change.Order = &c.Order
	}
	if _, err := t.svc.SetSubscription(ctx, v.Viewer, v.VC.ID, change); err != nil {
		return mapError(err)
	}
	return mapError(t.svc.PatchProperties(ctx, domain.VCKey(v.VC.ID, v.Viewer), dead))
}

// exportVirtual answers GET on a view with what it shows as one iCalendar
// stream, as a calendar's GET does.
func (t *Tree) exportVirtual(ctx context.Context, v *domain.VCView, r *dav.Resource) ([]byte, error) {
	out, err := t.svc.ExportVC(ctx, v)
	if err != nil {
		return nil, mapError(err)
	}
	r.ContentType = calendarExportType
	return out, nil
}

// MayLock implements dav.LockPermitter: a lock is a write (RFC 3744
// appendix B: LOCK needs write-content), so read-only views, collections
// shared read-only and their objects cannot be locked.
func (t *Tree) MayLock(ctx context.Context, r *dav.Resource) error {
	var v *domain.VCView
	switch d := r.Data.(type) {
	case *Virtual:
		v = d.View
	case *VirtualObject:
		v = d.View
	case *Directory, *DirectoryCard:
		return refuseDirectoryWrite(domain.ActWrite, r.Path)
	case *Collection:
		return mapErrorAt(t.svc.Authorize(ctx, d.Collection, domain.ActWrite), r.Path)
	case *Object:
		return mapErrorAt(t.svc.Authorize(ctx, d.Coll, domain.ActWrite), r.Path)
	default:
		return nil
	}
	if !v.Writable() {
		return dav.Precondition(http.StatusForbidden, dav.Name("need-privileges"), "this virtual calendar is read-only")
	}
	return nil
}
