package tree

import (
	"errors"

	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/store"
)

// ObjectErrors turns the errors of storing an object in a collection of
// one kind into the preconditions of that kind's protocol (RFC 4791
// 5.3.2.1, RFC 6352 6.3.2.1); conflict is the href of the object that
// already holds a UID, for a UID conflict. It returns nil for an error it
// does not name, which then gets the namespace's answer.
type ObjectErrors func(err error, conflict string) *dav.Error

// RegisterObjectErrors sets how errors of storing objects in collections
// of kind are answered.
func (t *Tree) RegisterObjectErrors(kind store.Kind, fn ObjectErrors) { t.objectErrors[kind] = fn }

// mapObjectError answers an error of storing an object in c at path.
func (t *Tree) mapObjectError(err error, c Container, path string) error {
	if err == nil {
		return nil
	}
	if c != nil {
		if fn, ok := t.objectErrors[c.Target().Kind()]; ok {
			if e := fn(err, conflictHref(c, err)); e != nil {
				return e
			}
		}
	}
	return mapErrorAt(err, path)
}

// conflictHref is the DAV:href of the object that holds a UID err says is
// taken, in the spelling it was created with; "" for another error.
func conflictHref(c Container, err error) string {
	var uc *store.UIDConflictError
	if !errors.As(err, &uc) || uc.Name == "" {
		return "" // a view names no object: the one holding the UID may be hidden
	}
	href := objectHref(c.Path(), uc.Href)
	if href == "" {
		href = dav.EscapePath(c.Path() + uc.Name)
	}
	return "<D:href>" + dav.EscapeText(href) + "</D:href>"
}
