package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/tree"
)

type memberJSON struct {
	User   string    `json:"user"`
	Joined time.Time `json:"joined"`
}

// groupJSON is a group as one of its members sees it.
type groupJSON struct {
	Name        string       `json:"name"`
	DisplayName string       `json:"displayname"`
	KeepPast    bool         `json:"keep_past"`
	Members     []memberJSON `json:"members"`
	// Contributions are the caller's: what they add to the group calendar.
	Contributions []domain.Contribution `json:"contributions"`
	// URL is the group calendar's path in the caller's calendar home.
	URL string `json:"url,omitempty"`
}

// myGroups returns the groups the caller currently belongs to.
func (h *Handler) myGroups(ctx context.Context, me string) ([]groupJSON, error) {
	groups, err := h.svc.Groups(ctx)
	if err != nil {
		return nil, err
	}
	views, err := h.svc.VisibleVCs(ctx, me)
	if err != nil {
		return nil, err
	}
	urls := map[string]string{} // owner → view path of the group calendar
	for _, v := range views {
		urls[v.VC.Owner] = tree.VCPath(me, v.VC.ID)
	}
	out := []groupJSON{}
	for _, g := range groups {
		ms, err := h.svc.Members(ctx, g.Name)
		if err != nil {
			return nil, err
		}
		gj, mine := groupJSON{Name: g.Name, DisplayName: g.DisplayName, KeepPast: g.KeepPast,
			Members: []memberJSON{}, Contributions: []domain.Contribution{}, URL: urls[domain.GroupOwner(g.Name)]}, false
		for _, m := range ms {
			if !m.Left.IsZero() {
				continue
			}
			gj.Members = append(gj.Members, memberJSON{User: m.User, Joined: m.Joined})
			if m.User == me {
				mine = true
				if err := json.Unmarshal(m.Contributions, &gj.Contributions); err != nil || gj.Contributions == nil {
					gj.Contributions = []domain.Contribution{}
				}
			}
		}
		if mine {
			out = append(out, gj)
		}
	}
	return out, nil
}

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request) error {
	out, err := h.myGroups(r.Context(), caller(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// putContribution replaces what the caller contributes to a group.
func (h *Handler) putContribution(w http.ResponseWriter, r *http.Request) error {
	var contribs []domain.Contribution
	if err := decode(w, r, &contribs); err != nil {
		return err
	}
	ctx, me, group := r.Context(), caller(r), r.PathValue("group")
	// Check what the body names before storing it: a contribution at an
	// unknown level or of a calendar that is not there would silently add
	// nothing to the group calendar.
	for i, c := range contribs {
		if _, err := domain.ParseLevel(c.Level); err != nil {
			return badRequest(fmt.Errorf("contribution %d: %w", i+1, err))
		}
		coll, err := h.svc.Collection(ctx, me, c.Calendar)
		if err != nil && !errors.Is(err, domain.ErrNotFound) {
			return err
		}
		if err != nil || coll.Kind != store.KindCalendar {
			return &Error{Status: http.StatusBadRequest, Msg: fmt.Sprintf("contribution %d: you have no calendar %q", i+1, c.Calendar), Err: err}
		}
	}
	if contribs == nil {
		contribs = []domain.Contribution{}
	}
	if err := h.svc.SetContributions(ctx, group, me, contribs); err != nil {
		return err
	}
	groups, err := h.myGroups(ctx, me)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if g.Name == group {
			writeJSON(w, http.StatusOK, g)
			return nil
		}
	}
	return fmt.Errorf("group %s vanished after its contributions were set", group)
}
