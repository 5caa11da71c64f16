package domain

import (
	"koyomi.dev/koyomi/internal/store"
)

// PropKey names what a set of dead properties belongs to. Keys are built
// from IDs and names the store keeps, never from URLs, so that renaming or
// moving a collection changes no key and nothing below the protocol layer
// knows URL paths. Their forms, segments separated by "/" so that the
// store's prefix operations (DeleteProperties) take what lies below a key
// with it:
//
//	u:USER/principal      a user's principal
//	u:USER/calendars      their calendar home
//	u:USER/addressbooks   their address book home
//	c:ID                  a collection
//	c:ID/NAME             an object of collection ID
//	v:ID/VIEWER           a viewer's own properties of virtual calendar ID
//
// A key also carries whose properties they are, for the access check.
type PropKey struct {
	owner string
	key   string
}

// String returns the key as the store keeps it.
func (k PropKey) String() string { return k.key }

// PrincipalKey is the key of a user's principal.
func PrincipalKey(user string) PropKey {
	return PropKey{owner: user, key: store.PrincipalKey(user)}
}

// HomeKey is the key of the home of a user holding collections of kind:
// the address book home for address books, the calendar home otherwise.
func HomeKey(user string, kind store.Kind) PropKey {
	return PropKey{owner: user, key: store.HomeKey(user, kind)}
}

// UserKeys are the keys of a user's principal and homes.
func UserKeys(user string) []PropKey {
	return []PropKey{PrincipalKey(user), HomeKey(user, store.KindCalendar), HomeKey(user, store.KindAddressBook)}
}

// CollectionKey is the key of collection c; its objects' keys lie below it.
func CollectionKey(c *store.Collection) PropKey {
	return PropKey{owner: c.Owner, key: store.CollectionKey(c.ID)}
}

// ObjectKey is the key of the object name of collection c.
func ObjectKey(c *store.Collection, name string) PropKey {
	return PropKey{owner: c.Owner, key: store.ObjectKey(c.ID, name)}
}

// VCKey is the key of viewer's own properties of virtual calendar id.
func VCKey(id int64, viewer string) PropKey {
	return PropKey{owner: viewer, key: store.VCKey(id, viewer)}
}
