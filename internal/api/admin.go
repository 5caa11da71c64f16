package api

import (
	"net/http"

	"koyomi.dev/koyomi/internal/domain"
)

// admin lets only the configured administrators reach next, which then
// acts as the administrator (no principal) towards the services.
func (h *Handler) admin(next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if !h.admins[caller(r)] {
			return &Error{Status: http.StatusForbidden, Msg: "only administrators (the admins setting) may do this"}
		}
		return next(w, r.WithContext(domain.WithPrincipal(r.Context(), "")))
	}
}

// permissionJSON is one connector permission rule.
type permissionJSON struct {
	Subject string `json:"subject"`
	Allowed bool   `json:"allowed"`
}

func (h *Handler) listConnectorPermissions(w http.ResponseWriter, r *http.Request) error {
	ps, err := h.conns.Permissions(r.Context())
	if err != nil {
		return err
	}
	out := make([]permissionJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, permissionJSON{Subject: p.Subject, Allowed: p.Allowed})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) putConnectorPermission(w http.ResponseWriter, r *http.Request) error {
	var p permissionJSON
	if err := decode(w, r, &p); err != nil {
		return err
	}
	if err := h.conns.Permit(r.Context(), p.Subject, p.Allowed); err != nil {
		return connectorErr(err)
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (h *Handler) deleteConnectorPermission(w http.ResponseWriter, r *http.Request) error {
	subject := r.URL.Query().Get("subject")
	if err := h.conns.Unpermit(r.Context(), subject); err != nil {
		return connectorErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
