package tree

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
)

// Virtual calendars appear in each viewer's calendar home under this
// prefix and their id, so that clients that follow only one home (Apple's)
// see them.
const vcPrefix = "vc-"

// Virtual is a virtual calendar as the requesting user sees it.
type Virtual struct {
	View   *domain.VCView
	target domain.Target
}

// Target implements Container.
func (v *Virtual) Target() domain.Target { return v.target }

// Path implements Container.
func (v *Virtual) Path() string { return VCPath(v.View.Viewer, v.View.VC.ID) }

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
	r := &dav.Resource{Path: VCPath(v.Viewer, v.VC.ID), Collection: true, LastModified: v.VC.Modified, Data: &Virtual{View: v, target: t.svc.ViewTarget(v)}}
	for _, k := range t.kinds {
		if k.Kind == store.KindCalendar {
			r.Types = append(r.Types, k.Type)
		}
	}
	return r
}

// resolveVirtual resolves a path below a viewer's home that names a view.
func (t *Tree) resolveVirtual(ctx context.Context, user string, segs []string, trailing bool) (*dav.Resource, bool, error) {
	id, ok := vcID(segs[0])
	if !ok {
		return nil, false, nil
	}
	v, err := t.svc.ViewVC(ctx, user, id)
	if err != nil {
		return nil, true, err
	}
	res := t.virtualResource(v)
	switch {
	case len(segs) == 1:
		return res, true, nil
	case len(segs) == 2 && !trailing:
		res, err := t.resolveItem(ctx, res.Data.(*Virtual), segs[1])
		return res, true, err
	}
	return nil, true, notFound()
}

// patchVirtual changes the viewer's own settings of a view: display name,
// colour and order through the same setters as a calendar's, anything else
// as the viewer's dead properties.
func (t *Tree) patchVirtual(ctx context.Context, d *Virtual, ops []dav.PropOp) error {
	v := d.View
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
	if err := d.Target().Personalize(ctx, personalChange(&before, &c)); err != nil {
		return err
	}
	return t.svc.PatchProperties(ctx, domain.VCKey(v.VC.ID, v.Viewer), dead)
}

// MayLock implements dav.LockPermitter: a lock is a write (RFC 3744
// appendix B: LOCK needs write-content), so containers and members the
// requesting user may not write cannot be locked.
func (t *Tree) MayLock(ctx context.Context, r *dav.Resource) error {
	switch d := r.Data.(type) {
	case Container:
		return holds(d.Target().Privileges(), domain.PrivBind, r.Path)
	case *Object:
		return holds(d.Parent.Target().ItemPrivileges(d.Item), domain.PrivWriteContent, r.Path)
	}
	return nil
}
