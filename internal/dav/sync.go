package dav

import (
	"context"
	"net/http"
	"strconv"
	"strings"
)

// registerSyncCollection adds the RFC 6578 REPORT, served when the Backend
// implements SyncBackend.
func (h *Handler) registerSyncCollection() {
	h.RegisterReport(Report{
		Name: Name("sync-collection"),
		Applies: func(r *Resource) bool {
			_, ok := h.Backend.(SyncBackend)
			return ok && r.Collection && syncable(r)
		},
		Serve: h.syncCollection,
	})
}

// Syncable marks resource types whose collections keep a change log; a
// Backend sets it through the resource's Data implementing this interface.
type Syncable interface{ Syncable() bool }

func syncable(r *Resource) bool {
	s, ok := r.Data.(Syncable)
	return ok && s.Syncable()
}

func (h *Handler) syncCollection(ctx context.Context, w http.ResponseWriter, req *http.Request, res *Resource, d *Decoder, _ int) error {
	sb := h.Backend.(SyncBackend)
	var (
		token    string
		level    string
		limit    int
		pr       PropRequest
		hasToken bool
	)
	for {
		se, ok, err := d.Next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch se.Name {
		case Name("sync-token"):
			hasToken = true
			if token, err = d.Text(); err != nil {
				return err
			}
			token = strings.TrimSpace(token)
		case Name("sync-level"):
			if level, err = d.Text(); err != nil {
				return err
			}
			level = strings.TrimSpace(level)
		case Name("limit"):
			for {
				le, ok, err := d.Next()
				if err != nil {
					return err
				}
				if !ok {
					break
				}
				if le.Name != Name("nresults") {
					if err := d.Skip(); err != nil {
						return err
					}
					continue
				}
				txt, err := d.Text()
				if err != nil {
					return err
				}
				n, err := strconv.Atoi(strings.TrimSpace(txt))
				if err != nil || n < 1 {
					return Errorf(http.StatusBadRequest, "invalid DAV:nresults")
				}
				limit = n
			}
		case Name("prop"):
			if pr.Names, err = d.Names(); err != nil {
				return err
			}
		default:
			if err := d.Skip(); err != nil {
				return err
			}
		}
	}
	if !hasToken {
		return Errorf(http.StatusBadRequest, "sync-collection requires a DAV:sync-token element")
	}
	// RFC 6578 requires DAV:sync-level, but clients written to its drafts
	// leave it out and mean the only level the drafts had: 1.
	switch level {
	case "1", "":
	case "infinite", "infinity":
		return Precondition(http.StatusForbidden, Name("sync-traversal-supported"), "only sync-level 1 is supported")
	default:
		return Errorf(http.StatusBadRequest, "sync-level must be 1")
	}
	changes, newToken, truncated, err := sb.SyncChanges(ctx, res, token, limit)
	if err != nil {
		return err
	}
	ms := NewMultistatus(w)
	for _, c := range changes {
		if c.Resource == nil {
			ms.StatusResponseAt(c.URL(), http.StatusNotFound, nil)
			continue
		}
		ps, err := h.PropStats(ctx, c.Resource, pr, nil)
		if err != nil {
			return err
		}
		ms.ResponseAt(c.Resource.URL(), ps)
	}
	if truncated {
		ms.StatusResponse(res.Path, http.StatusInsufficientStorage, &Error{Condition: Name("number-of-matches-within-limits")})
	}
	return ms.Close("<D:sync-token>" + EscapeText(newToken) + "</D:sync-token>")
}
