package api

import (
	"net/http"

	"koyomi.dev/koyomi/internal/domain"
)

// importInto imports the request body, an iCalendar or vCard stream, into
// the collection find names, and answers with what was imported, updated,
// skipped and refused (with line numbers). The query's on_conflict says
// what happens to a UID the collection holds: update (the default) or
// skip.
func (h *Handler) importInto(find collectionFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := find(r)
		if err != nil {
			return err
		}
		onConflict, err := domain.ParseOnConflict(r.URL.Query().Get("on_conflict"))
		if err != nil {
			return err
		}
		res, err := h.svc.Import(r.Context(), c, r.Body, domain.ImportOptions{OnConflict: onConflict,
			ContentType: r.Header.Get("Content-Type"), Size: r.ContentLength})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, res)
		return nil
	}
}
