package server

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"koyomi.dev/koyomi/internal/api"
	"koyomi.dev/koyomi/internal/publiclink"
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

// loggedPrefix is how much of a public link's token is logged.
const loggedPrefix = 4

// tokenPaths are the paths that end in a public link's token: the link
// itself, and the API's for revoking it.
var tokenPaths = []string{publiclink.Prefix, api.Prefix + "links/"}

// loggedPath returns a request path as it is logged. A public link's
// token is a credential (whoever holds it reads the calendar), and logs
// are read by more people and kept longer than links live: only its
// first characters are kept, enough to tell links apart.
func loggedPath(p string) string {
	for _, prefix := range tokenPaths {
		if rest, ok := strings.CutPrefix(p, prefix); ok && len(rest) > loggedPrefix {
			return prefix + rest[:loggedPrefix] + "..."
		}
	}
	return p
}
