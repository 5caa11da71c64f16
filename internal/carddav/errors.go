package carddav

import (
	"errors"
	"net/http"

	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/vcard"
)

// objectErrors turns the errors of storing a vCard into RFC 6352 6.3.2.1
// preconditions; conflict names the card holding a taken UID.
func objectErrors(err error, conflict string) *dav.Error {
	var uc *store.UIDConflictError
	switch {
	case errors.As(err, &uc):
		return &dav.Error{Status: http.StatusConflict, Condition: CR("no-uid-conflict"), ConditionBody: conflict,
			Msg: "UID " + uc.UID + " is already used by another contact in this address book", Err: err}
	case errors.Is(err, domain.ErrUIDChanged):
		return &dav.Error{Status: http.StatusConflict, Condition: CR("no-uid-conflict"), Msg: err.Error(), Err: err}
	case errors.Is(err, vcard.ErrInvalidData):
		return &dav.Error{Status: http.StatusForbidden, Condition: CR("valid-address-data"), Msg: err.Error(), Err: err}
	case errors.Is(err, domain.ErrTooLarge):
		return &dav.Error{Status: http.StatusForbidden, Condition: CR("max-resource-size"), Msg: err.Error(), Err: err}
	case errors.Is(err, domain.ErrUnsupportedMediaType):
		return &dav.Error{Status: http.StatusForbidden, Condition: CR("supported-address-data"), Msg: err.Error(), Err: err}
	}
	return nil
}
