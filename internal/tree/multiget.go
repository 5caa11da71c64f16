package tree

import (
	"context"
	"encoding/xml"
	"net/http"
	"strings"

	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/store"
)

// Multiget answers a multiget REPORT (RFC 4791 7.9, RFC 6352 8.7) on r:
// one response per href, members of r fetched in one query, objects of
// the given kind anywhere else (when r is an object or a home, say)
// resolved with the caller's rights, 404 for the rest. Each response
// names its href as the request spelled it, which is what the client
// looks for.
func (t *Tree) Multiget(ctx context.Context, w http.ResponseWriter, h *dav.Handler, r *dav.Resource, kind store.Kind,
	hrefs []string, pr dav.PropRequest, custom map[xml.Name]func(*dav.Resource) ([]byte, error)) error {
	prefetched := map[string]*dav.Resource{}
	c, prefetch := r.Data.(Container)
	prefetch = prefetch && c.Target().Kind() == kind
	// member tells whether p names a member of r, which the prefetch
	// found if it exists.
	member := func(p string) bool {
		name, found := strings.CutPrefix(p, r.Path)
		return prefetch && found && name != "" && !strings.Contains(name, "/")
	}
	if prefetch {
		var names []string
		for _, href := range hrefs {
			if p, ok := dav.HrefPath(href); ok && member(p) {
				names = append(names, strings.TrimPrefix(p, r.Path))
			}
		}
		items, err := c.Target().GetMany(ctx, names)
		if err != nil {
			return err
		}
		for _, res := range itemResources(c, items) {
			prefetched[res.Path] = res
		}
	}
	ms := dav.NewMultistatus(w)
	for _, href := range hrefs {
		href = strings.TrimSpace(href)
		p, ok := dav.HrefPath(href)
		if !ok {
			ms.StatusResponseAt(href, http.StatusBadRequest, nil)
			continue
		}
		res := prefetched[p]
		if res == nil && !member(p) {
			if rr, err := t.Resolve(ctx, p); err == nil {
				if o, ok := rr.Data.(*Object); ok && o.Kind() == kind {
					res = rr
				}
			}
		}
		if res == nil {
			ms.StatusResponseAt(href, http.StatusNotFound, nil)
			continue
		}
		ps, err := h.PropStats(ctx, res, pr, custom)
		if err != nil {
			return err
		}
		ms.ResponseAt(href, ps)
	}
	return ms.Close("")
}
