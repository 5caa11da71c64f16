package davacl

import (
	"encoding/json"
	"net/http"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/tree"
)

// importPost answers a POST of an iCalendar or vCard stream to a calendar
// or address book: its objects are imported, one per UID (the query's
// on_conflict, update or skip, says what happens to a UID the collection
// holds), and the answer is the summary as JSON. A PUT still stores one
// object of one UID.
func (a *acl) importPost(w http.ResponseWriter, r *http.Request, d *tree.Collection) error {
	onConflict, err := domain.ParseOnConflict(r.URL.Query().Get("on_conflict"))
	if err != nil {
		return err
	}
	res, err := a.svc.Import(r.Context(), d.Stored(), r.Body, domain.ImportOptions{OnConflict: onConflict,
		ContentType: r.Header.Get("Content-Type"), Size: r.ContentLength})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	return json.NewEncoder(w).Encode(res)
}
