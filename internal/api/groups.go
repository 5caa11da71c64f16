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
)

type memberJSON struct {
	User   string    `json:"user"`
	Joined time.Time `json:"joined"`
	Admin  bool      `json:"admin"`
}

// groupJSON is a group as one of its members sees it.
type groupJSON struct {
	Name        string       `json:"name"`
	DisplayName string       `json:"displayname"`
	KeepPast    bool         `json:"keep_past"`
	Members     []memberJSON `json:"members"` // current ones
	// Role is the caller's: "admin" or "member".
	Role string `json:"role"`
	// Contributions are the caller's: what they add to the group calendar.
	Contributions []domain.Contribution `json:"contributions"`
	// URL is the group calendar's path in the caller's calendar home.
	URL string `json:"url,omitempty"`
}

// groupsOf describes groups as their member me sees them.
func (h *Handler) groupsOf(ctx context.Context, me string, groups []*store.Group) ([]groupJSON, error) {
	views, err := h.svc.VisibleVCs(ctx, me)
	if err != nil {
		return nil, err
	}
	urls := map[string]string{} // owner → view path of the group calendar
	for _, v := range views {
		urls[v.VC.Owner] = h.viewPath(me, v.VC.ID)
	}
	out := []groupJSON{}
	for _, g := range groups {
		ms, err := h.svc.Members(ctx, g.Name)
		if err != nil {
			return nil, err
		}
		gj := groupJSON{Name: g.Name, DisplayName: g.DisplayName, KeepPast: g.KeepPast, Members: []memberJSON{},
			Contributions: []domain.Contribution{}, URL: urls[domain.GroupOwner(g.Name)]}
		for _, m := range ms {
			if !m.Left.IsZero() {
				continue
			}
			gj.Members = append(gj.Members, memberJSON{User: m.User, Joined: m.Joined, Admin: m.Admin})
			if m.User != me {
				continue
			}
			gj.Role = "member"
			if m.Admin {
				gj.Role = "admin"
			}
			if err := json.Unmarshal(m.Contributions, &gj.Contributions); err != nil || gj.Contributions == nil {
				gj.Contributions = []domain.Contribution{}
			}
		}
		out = append(out, gj)
	}
	return out, nil
}

// writeGroup answers with one group as the caller sees it.
func (h *Handler) writeGroup(w http.ResponseWriter, r *http.Request, status int, name string) error {
	ctx := r.Context()
	g, err := h.svc.Group(ctx, name)
	if err != nil {
		return err
	}
	out, err := h.groupsOf(ctx, caller(r), []*store.Group{g})
	if err != nil {
		return err
	}
	writeJSON(w, status, out[0])
	return nil
}

// listGroups answers with the groups the caller currently belongs to.
func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	groups, err := h.svc.Groups(ctx)
	if err != nil {
		return err
	}
	out, err := h.groupsOf(ctx, caller(r), groups)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// createGroup makes a group that the caller administers.
func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Name        string `json:"name"`
		DisplayName string `json:"displayname"`
		KeepPast    bool   `json:"keep_past"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	if err := h.svc.CreateGroup(r.Context(), body.Name, body.DisplayName, body.KeepPast); err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"groups/"+body.Name)
	return h.writeGroup(w, r, http.StatusCreated, body.Name)
}

func (h *Handler) getGroup(w http.ResponseWriter, r *http.Request) error {
	return h.writeGroup(w, r, http.StatusOK, r.PathValue("group"))
}

// updateGroup changes the settings the body names; the others stay.
func (h *Handler) updateGroup(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		DisplayName *string `json:"displayname"`
		KeepPast    *bool   `json:"keep_past"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	group := r.PathValue("group")
	if _, err := h.svc.UpdateGroup(r.Context(), group, domain.GroupChange{DisplayName: body.DisplayName, KeepPast: body.KeepPast}); err != nil {
		return err
	}
	return h.writeGroup(w, r, http.StatusOK, group)
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.DeleteGroup(r.Context(), r.PathValue("group")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// writeMember answers with a current member of a group.
func (h *Handler) writeMember(w http.ResponseWriter, r *http.Request, status int, group, user string) error {
	ms, err := h.svc.Members(r.Context(), group)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.User == user && m.Left.IsZero() {
			writeJSON(w, status, memberJSON{User: m.User, Joined: m.Joined, Admin: m.Admin})
			return nil
		}
	}
	return fmt.Errorf("%s vanished from group %s", user, group)
}

// addMember adds someone to a group the caller administers. What the new
// member contributes is theirs to choose, so the body cannot say.
func (h *Handler) addMember(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		User  string `json:"user"`
		Admin bool   `json:"admin"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	group := r.PathValue("group")
	if err := h.svc.AddGroupMember(r.Context(), group, domain.NewMember{User: body.User, Admin: body.Admin}); err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"groups/"+group+"/members/"+body.User)
	return h.writeMember(w, r, http.StatusCreated, group, body.User)
}

// setMember makes a member an administrator of the group, or no longer one.
func (h *Handler) setMember(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Admin *bool `json:"admin"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	if body.Admin == nil {
		return &Error{Status: http.StatusBadRequest, Msg: `the body must say "admin": true or false`}
	}
	group, user := r.PathValue("group"), r.PathValue("user")
	if err := h.svc.SetMemberAdmin(r.Context(), group, user, *body.Admin); err != nil {
		return err
	}
	return h.writeMember(w, r, http.StatusOK, group, user)
}

// removeMember removes a member; the caller removing themselves leaves.
func (h *Handler) removeMember(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.RemoveMember(r.Context(), r.PathValue("group"), r.PathValue("user")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
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
	return h.writeGroup(w, r, http.StatusOK, group)
}
