package tree

import (
	"context"
	"errors"
	"net/http"

	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
)

func invalidSyncToken(msg string) error {
	return dav.Precondition(http.StatusForbidden, dav.Name("valid-sync-token"), msg)
}

// SyncChanges implements dav.SyncBackend from the collection's change log.
func (t *Tree) SyncChanges(ctx context.Context, r *dav.Resource, token string, limit int) ([]dav.SyncChange, string, bool, error) {
	if v, ok := r.Data.(*Virtual); ok {
		return t.virtualSyncChanges(ctx, v.View, token, limit)
	}
	d, ok := r.Data.(*Collection)
	if !ok || !d.Syncable() {
		return nil, "", false, dav.Precondition(http.StatusForbidden, dav.Name("supported-report"), "not a synchronisable collection")
	}
	var since int64
	if token != "" {
		rev, ok := ParseSyncToken(token, d.ID)
		if !ok {
			return nil, "", false, invalidSyncToken("the sync token does not belong to this collection")
		}
		since = rev
	}
	c := d.Collection
	changes, err := t.svc.Changes(ctx, c, since)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, "", false, invalidSyncToken("the sync token is newer than the collection")
	}
	if err != nil {
		return nil, "", false, mapError(err)
	}
	// The token to return is the collection's revision unless the answer
	// is truncated, in which case it is the last revision included.
	newRev := c.Revision
	for _, ch := range changes {
		if ch.Revision > newRev {
			newRev = ch.Revision
		}
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
		objs, err = t.svc.ListObjects(ctx, c, false)
	} else {
		objs, err = t.svc.Objects(ctx, c, live)
	}
	if err != nil {
		return nil, "", false, mapError(err)
	}
	byName := make(map[string]*store.Object, len(objs))
	for _, o := range objs {
		byName[o.Name] = o
	}
	out := make([]dav.SyncChange, 0, len(changes))
	for _, ch := range changes {
		o, shown := byName[ch.Name]
		if !ch.Deleted && !shown {
			// Not shown to this principal (a free-busy sharee sees no
			// tasks), or gone since the change log was read.
			continue
		}
		sc := dav.SyncChange{Path: d.path + ch.Name, Href: objectHref(d.path, ch.Href)}
		if !ch.Deleted {
			sc.Resource = d.ObjectResource(o)
		}
		out = append(out, sc)
	}
	tok := *c
	tok.Revision = newRev
	return out, SyncToken(&tok), truncated, nil
}
