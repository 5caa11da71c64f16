package tree

import (
	"encoding/xml"
	"errors"
	"net/http"

	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/vcard"
)

func caldavCond(local string) xml.Name { return xml.Name{Space: dav.NSCalDAV, Local: local} }

// mapObjectError turns the errors of storing an object into the
// preconditions of the collection's protocol (RFC 4791 5.3.2.1).
func mapObjectError(err error, c *Collection, path string) error {
	if c != nil && c.Kind == store.KindAddressBook {
		return mapCardError(err, c, path)
	}
	if c == nil || c.Kind != store.KindCalendar {
		return mapErrorAt(err, path)
	}
	var uc *store.UIDConflictError
	switch {
	case errors.As(err, &uc):
		return &dav.Error{Status: http.StatusConflict, Condition: caldavCond("no-uid-conflict"),
			ConditionBody: conflictHref(c, uc),
			Msg:           "UID " + uc.UID + " is already used by another object in this calendar", Err: err}
	case errors.Is(err, domain.ErrUIDChanged):
		return uidChanged(err, c)
	case errors.Is(err, ical.ErrInvalidData):
		return &dav.Error{Status: http.StatusForbidden, Condition: caldavCond("valid-calendar-data"), Msg: err.Error(), Err: err}
	case errors.Is(err, ical.ErrInvalidObject):
		return &dav.Error{Status: http.StatusForbidden, Condition: caldavCond("valid-calendar-object-resource"), Msg: err.Error(), Err: err}
	case errors.Is(err, domain.ErrUnsupportedComponent):
		return &dav.Error{Status: http.StatusForbidden, Condition: caldavCond("supported-calendar-component"), Msg: err.Error(), Err: err}
	case errors.Is(err, domain.ErrTooLarge):
		return &dav.Error{Status: http.StatusForbidden, Condition: caldavCond("max-resource-size"), Msg: err.Error(), Err: err}
	case errors.Is(err, domain.ErrUnsupportedMediaType):
		return &dav.Error{Status: http.StatusForbidden, Condition: caldavCond("supported-calendar-data"), Msg: err.Error(), Err: err}
	case errors.Is(err, domain.ErrInvalidName):
		return &dav.Error{Status: http.StatusForbidden, Msg: err.Error(), Err: err}
	}
	return mapErrorAt(err, path)
}

// conflictHref is the DAV:href of the object that holds a UID, in the
// spelling it was created with.
func conflictHref(c *Collection, uc *store.UIDConflictError) string {
	href := objectHref(c.path, uc.Href)
	if href == "" {
		href = dav.EscapePath(c.path + uc.Name)
	}
	return "<D:href>" + dav.EscapeText(href) + "</D:href>"
}

// uidChanged answers an overwrite with another UID: the no-uid-conflict
// precondition of the collection's protocol, which forbids it too.
func uidChanged(err error, c *Collection) error {
	cond := caldavCond("no-uid-conflict")
	if c.Kind == store.KindAddressBook {
		cond = carddavCond("no-uid-conflict")
	}
	return &dav.Error{Status: http.StatusConflict, Condition: cond, Msg: err.Error(), Err: err}
}

func carddavCond(local string) xml.Name { return xml.Name{Space: dav.NSCardDAV, Local: local} }

// mapCardError turns the errors of storing a vCard into RFC 6352 6.3.2.1
// preconditions.
func mapCardError(err error, c *Collection, path string) error {
	var uc *store.UIDConflictError
	switch {
	case errors.As(err, &uc):
		return &dav.Error{Status: http.StatusConflict, Condition: carddavCond("no-uid-conflict"),
			ConditionBody: conflictHref(c, uc),
			Msg:           "UID " + uc.UID + " is already used by another contact in this address book", Err: err}
	case errors.Is(err, domain.ErrUIDChanged):
		return uidChanged(err, c)
	case errors.Is(err, vcard.ErrInvalidData):
		return &dav.Error{Status: http.StatusForbidden, Condition: carddavCond("valid-address-data"), Msg: err.Error(), Err: err}
	case errors.Is(err, domain.ErrTooLarge):
		return &dav.Error{Status: http.StatusForbidden, Condition: carddavCond("max-resource-size"), Msg: err.Error(), Err: err}
	case errors.Is(err, domain.ErrUnsupportedMediaType):
		return &dav.Error{Status: http.StatusForbidden, Condition: carddavCond("supported-address-data"), Msg: err.Error(), Err: err}
	case errors.Is(err, domain.ErrInvalidName):
		return &dav.Error{Status: http.StatusForbidden, Msg: err.Error(), Err: err}
	}
	return mapErrorAt(err, path)
}
