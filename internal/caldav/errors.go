package caldav

import (
	"errors"
	"net/http"

	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/store"
)

// objectErrors turns the errors of storing a calendar object into RFC 4791
// 5.3.2.1 preconditions; conflict names the object holding a taken UID.
func objectErrors(err error, conflict string) *dav.Error {
	var uc *store.UIDConflictError
	switch {
	case errors.As(err, &uc):
		return &dav.Error{Status: http.StatusConflict, Condition: C("no-uid-conflict"), ConditionBody: conflict,
			Msg: "UID " + uc.UID + " is already used by another object in this calendar", Err: err}
	case errors.Is(err, domain.ErrUIDChanged):
		return &dav.Error{Status: http.StatusConflict, Condition: C("no-uid-conflict"), Msg: err.Error(), Err: err}
	case errors.Is(err, ical.ErrInvalidData):
		return &dav.Error{Status: http.StatusForbidden, Condition: C("valid-calendar-data"), Msg: err.Error(), Err: err}
	case errors.Is(err, ical.ErrInvalidObject):
		return &dav.Error{Status: http.StatusForbidden, Condition: C("valid-calendar-object-resource"), Msg: err.Error(), Err: err}
	case errors.Is(err, domain.ErrUnsupportedComponent):
		return &dav.Error{Status: http.StatusForbidden, Condition: C("supported-calendar-component"), Msg: err.Error(), Err: err}
	case errors.Is(err, domain.ErrTooLarge):
		return &dav.Error{Status: http.StatusForbidden, Condition: C("max-resource-size"), Msg: err.Error(), Err: err}
	case errors.Is(err, domain.ErrUnsupportedMediaType):
		return &dav.Error{Status: http.StatusForbidden, Condition: C("supported-calendar-data"), Msg: err.Error(), Err: err}
	}
	return nil
}
