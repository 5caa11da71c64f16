package api

import (
	"net/http"
	"strconv"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// The trash: what the caller deleted (or a sharee deleted from the
// caller's collections), kept for the server's retention period. Only the
// owner sees, restores and purges it; an item that is not theirs is
// answered as not found.

// trashItemJSON is one item of the trash.
type trashItemJSON struct {
	ID        int64     `json:"id"`
	Kind      string    `json:"kind"` // object, collection
	Name      string    `json:"name"` // "collection/object" or the collection's name
	Size      int64     `json:"size"`
	Deleted   time.Time `json:"deleted"`
	DeletedBy string    `json:"deleted_by,omitempty"`
}

func toTrashItemJSON(it *store.TrashItem) trashItemJSON {
	return trashItemJSON{ID: it.ID, Kind: string(it.Kind), Name: it.Name, Size: it.Size, Deleted: it.Deleted,
		DeletedBy: it.DeletedBy}
}

func (h *Handler) listTrash(w http.ResponseWriter, r *http.Request) error {
	items, err := h.svc.Trash(r.Context(), caller(r))
	if err != nil {
		return err
	}
	out := make([]trashItemJSON, 0, len(items))
	for _, it := range items {
		out = append(out, toTrashItemJSON(it))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// trashID reads the {id} of a trash item's path.
func trashID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &Error{Status: http.StatusNotFound, Msg: "no such trash item"}
	}
	return id, nil
}

// restoreTrash brings an item back: 200 with the item, 409 when its name
// or UID is taken again or its collection is gone.
func (h *Handler) restoreTrash(w http.ResponseWriter, r *http.Request) error {
	id, err := trashID(r)
	if err != nil {
		return err
	}
	it, err := h.svc.RestoreTrash(r.Context(), caller(r), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toTrashItemJSON(it))
	return nil
}

// purgeTrash deletes an item for good.
func (h *Handler) purgeTrash(w http.ResponseWriter, r *http.Request) error {
	id, err := trashID(r)
	if err != nil {
		return err
	}
	if _, err := h.svc.PurgeTrash(r.Context(), caller(r), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
