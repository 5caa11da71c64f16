package server

import (
	"strconv"
	"unicode/utf8"
)

// maxLoggedName is how much of a user name a client sent goes into a log
// record: more than any valid user name (64 characters).
const maxLoggedName = 80

// loggedName returns a user name a client sent, which may be anything, as
// it is logged: clipped to maxLoggedName characters (saying how long it
// was) and with unprintable characters escaped, so that a record stays one
// short line whatever an attacker puts in the Authorization header.
func loggedName(name string) string {
	clipped, n := name, 0
	for i := range name {
		if n == maxLoggedName {
			clipped = name[:i]
			break
		}
		n++
	}
	q := strconv.Quote(clipped)
	q = q[1 : len(q)-1]
	if len(clipped) < len(name) {
		q += "... (" + strconv.Itoa(utf8.RuneCountInString(name)) + " characters)"
	}
	return q
}
