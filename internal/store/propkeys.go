package store

import "strconv"

// Keys of dead properties (see Properties), built from IDs and names the
// store keeps, never from URLs, so that renaming or moving a collection
// changes no key. Segments are separated by "/", so that prefix operations
// (DeleteProperties) take what lies below a key with it:
//
//	u:USER/principal      a user's principal
//	u:USER/calendars      their calendar home
//	u:USER/addressbooks   their address book home
//	c:ID                  a collection
//	c:ID/NAME             an object of collection ID
//	v:ID/VIEWER           a viewer's own properties of virtual calendar ID

// PrincipalKey is the key of a user's principal.
func PrincipalKey(user string) string { return UserKeyPrefix(user) + "/principal" }

// HomeKey is the key of the home of user holding collections of kind: the
// address book home for address books, the calendar home otherwise.
func HomeKey(user string, kind Kind) string {
	if kind == KindAddressBook {
		return UserKeyPrefix(user) + "/addressbooks"
	}
	return UserKeyPrefix(user) + "/calendars"
}

// UserKeys are the keys of a user's principal and homes.
func UserKeys(user string) []string {
	return []string{PrincipalKey(user), HomeKey(user, KindCalendar), HomeKey(user, KindAddressBook)}
}

// CollectionKey is the key of collection id; its objects' keys lie below.
func CollectionKey(id int64) string { return "c:" + strconv.FormatInt(id, 10) }

// ObjectKey is the key of the object name of collection id.
func ObjectKey(id int64, name string) string { return CollectionKey(id) + "/" + name }

// VCKey is the key of viewer's own properties of virtual calendar id.
func VCKey(id int64, viewer string) string {
	return VCKeyPrefix(id) + "/" + viewer
}

// UserKeyPrefix is the prefix of the keys of a user's principal and homes.
func UserKeyPrefix(user string) string { return "u:" + user }

// VCKeyPrefix is the prefix of every viewer's keys of virtual calendar id.
func VCKeyPrefix(id int64) string { return "v:" + strconv.FormatInt(id, 10) }
