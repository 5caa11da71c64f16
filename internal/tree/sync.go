package tree

import (
	"context"
	"net/http"

	"koyomi.dev/koyomi/internal/dav"
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
	res, err := t.svc.SyncCollection(ctx, d.Collection, token, limit)
	if err != nil {
		return nil, "", false, mapError(err)
	}
	out := make([]dav.SyncChange, 0, len(res.Changes))
	for _, ch := range res.Changes {
		sc := dav.SyncChange{Path: d.path + ch.Name, Href: objectHref(d.path, ch.Href)}
		if ch.Object != nil {
			sc.Resource = d.ObjectResource(ch.Object)
		}
		out = append(out, sc)
	}
	return out, res.Token, res.Truncated, nil
}
