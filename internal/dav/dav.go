// Package dav is Koyomi's generic WebDAV engine (RFC 4918, RFC 6578
// sync-collection, RFC 5397 current-user-principal): it parses requests,
// evaluates conditional headers and locks, dispatches methods and REPORTs,
// computes properties from a registry and streams multistatus responses.
//
// It knows nothing of calendars, contacts or storage. The URL namespace and
// the resources in it come from a Backend; CalDAV and CardDAV plug in by
// registering properties, reports and methods on the Handler. Protocol errors
// are *Error values, turned into responses at one boundary (ServeHTTP).
package dav

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Namespaces used by the protocols Koyomi speaks.
const (
	NS          = "DAV:"
	NSCalDAV    = "urn:ietf:params:xml:ns:caldav"
	NSCardDAV   = "urn:ietf:params:xml:ns:carddav"
	NSCalServer = "http://calendarserver.org/ns/"
	NSAppleICal = "http://apple.com/ns/ical/"
)

// Name returns the DAV: element name local.
func Name(local string) xml.Name { return xml.Name{Space: NS, Local: local} }

// Error is a protocol error: the status and optional precondition element
// the client sees, and the underlying cause, which is only logged.
type Error struct {
	Status int
	// Condition names the RFC precondition/postcondition element sent in a
	// DAV:error body, e.g. {DAV:}propfind-finite-depth.
	Condition xml.Name
	// ConditionBody is inner XML of the condition element (e.g. a DAV:href),
	// written with the prefixes of the engine's namespace map.
	ConditionBody string
	// Msg is a human-readable explanation sent to the client.
	Msg string
	// Err is the cause, logged and never sent.
	Err error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("dav: %d %s", e.Status, http.StatusText(e.Status))
	if e.Condition.Local != "" {
		s += " (" + e.Condition.Local + ")"
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a status and client-visible message.
func Errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// Precondition returns an *Error carrying an RFC condition element.
func Precondition(status int, cond xml.Name, msg string) *Error {
	return &Error{Status: status, Condition: cond, Msg: msg}
}

// ErrNotFound is the plain 404 answer.
var ErrNotFound = &Error{Status: http.StatusNotFound}

func asError(err error) *Error { return (*Handler)(nil).asError(err, "") }

// AsError is err's own *Error, or a 500 carrying err.
func AsError(err error) *Error { return asError(err) }

// asError is the answer to err: its own *Error, the backend's answer
// (MapError), or 500.
func (h *Handler) asError(err error, path string) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if h != nil && h.MapError != nil {
		if e := h.MapError(err, path); e != nil {
			return e
		}
	}
	return &Error{Status: http.StatusInternalServerError, Err: err}
}

// Resource is one resource of the namespace, as described by the Backend.
type Resource struct {
	// Path is the cleaned, unescaped URL path; a collection's ends in "/".
	Path         string
	Collection   bool
	Types        []xml.Name // resourcetype children besides DAV:collection
	ETag         string     // strong entity tag without quotes; "" for none
	LastModified time.Time
	ContentType  string
	Size         int64
	// Data is the Backend's own description of the resource (for property
	// getters registered by protocol packages).
	Data any
	// Href is the escaped URL path as the client spelled it when it
	// created the resource, "" for EscapePath(Path). RFC 3986 2.2 makes
	// a%40b.ics and a@b.ics different URIs, and clients compare hrefs as
	// strings, so answers use the client's spelling.
	Href string
}

// URL returns r's escaped URL path, in the client's spelling.
func (r *Resource) URL() string {
	if r.Href != "" {
		return r.Href
	}
	return EscapePath(r.Path)
}

// HasType reports whether r's resourcetype includes name.
func (r *Resource) HasType(name xml.Name) bool {
	for _, t := range r.Types {
		if t == name {
			return true
		}
	}
	return false
}

// quoteETag returns the entity tag as sent on the wire.
func quoteETag(etag string) string { return `"` + etag + `"` }
