package tree

import (
	"context"
	"net/http"

	"koyomi.dev/koyomi/internal/dav"
)

// SyncChanges implements dav.SyncBackend from the target's change log: a
// stored collection's, or the viewer's log of a view.
func (t *Tree) SyncChanges(ctx context.Context, r *dav.Resource, token string, limit int) ([]dav.SyncChange, string, bool, error) {
	c, ok := r.Data.(Container)
	if !ok {
		return nil, "", false, dav.Precondition(http.StatusForbidden, dav.Name("supported-report"), "not a synchronisable collection")
	}
	res, err := c.Target().Changes(ctx, token, limit)
	if err != nil {
		return nil, "", false, err
	}
	base := c.Path()
	out := make([]dav.SyncChange, 0, len(res.Changes))
	for _, ch := range res.Changes {
		sc := dav.SyncChange{Path: base + ch.Name, Href: objectHref(base, ch.Href)}
		if ch.Item != nil {
			sc.Resource = ItemResource(c, ch.Item)
		}
		out = append(out, sc)
	}
	return out, res.Token, res.Truncated, nil
}
