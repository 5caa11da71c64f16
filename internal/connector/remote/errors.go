package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var (
	// ErrSyncTokenInvalid is matched (errors.Is) by the error of a
	// SyncCollection whose token the server no longer accepts: the caller
	// starts over with an initial sync.
	ErrSyncTokenInvalid = errors.New("remote: sync token no longer valid")
	// ErrNotFound is matched (errors.Is) by an *Error with status 404 or 410.
	ErrNotFound = errors.New("remote: not found")
	// ErrNotCalendar is matched by the error of Info for a URL that is not a
	// calendar collection, and of Discover when it finds no calendar.
	ErrNotCalendar = errors.New("remote: not a calendar collection")
)

// Error is a failed exchange with a remote server: an HTTP status the
// operation does not accept (Status set), or a transport failure (Status 0,
// Err set). It never holds credentials: URLs carry no user information and
// Message is scrubbed of the client's password and token.
type Error struct {
	Status  int
	Method  string
	URL     string
	Message string // status text and a short, cleaned snippet of the body
	// RetryAfter is the server's Retry-After, if it sent one.
	RetryAfter time.Duration
	Err        error

	server      string // what answered, for Error: "CalDAV server", "calendar feed"
	rateLimited bool   // a header or the body said "rate limit"/"quota"
}

func (e *Error) Error() string {
	server := e.server
	if server == "" {
		server = "CalDAV server"
	}
	switch {
	case e.Status == 0:
		return fmt.Sprintf("%s request failed: %v (%s %s)", server, e.Err, e.Method, e.URL)
	case e.Status >= 200 && e.Status < 300:
		return fmt.Sprintf("%s sent an unusable response: %v (%s %s: %d)", server, e.Err, e.Method, e.URL, e.Status)
	}
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return fmt.Sprintf("%s error: %s (%s %s: %d)", server, msg, e.Method, e.URL, e.Status)
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNotFound) true for 404 and 410 answers.
func (e *Error) Is(target error) bool {
	return target == ErrNotFound && (e.Status == http.StatusNotFound || e.Status == http.StatusGone)
}

// Kind is what a caller should do about an error.
type Kind int

const (
	// KindOther: a failure that retrying will not fix by itself (bad URL,
	// unsupported server, protocol error, cancellation).
	KindOther Kind = iota
	// KindPermission: the credentials are wrong or lack a right (401, 403).
	KindPermission
	// KindRateLimit: the server asks the client to slow down (429, or 403
	// saying so); wait RetryAfter if set.
	KindRateLimit
	// KindTransient: the server or network failed (5xx, timeouts, refused or
	// reset connections); retry later.
	KindTransient
	// KindConflict: a precondition failed (412): the remote item changed,
	// or already exists.
	KindConflict
	// KindNotFound: the remote resource is gone (404, 410).
	KindNotFound
)

func (k Kind) String() string {
	switch k {
	case KindPermission:
		return "permission"
	case KindRateLimit:
		return "rate-limit"
	case KindTransient:
		return "transient"
	case KindConflict:
		return "conflict"
	case KindNotFound:
		return "not-found"
	}
	return "other"
}

// Classify sorts an error of this package (or a wrapped one) into a Kind.
// An invalid sync token is KindOther: check errors.Is(err,
// ErrSyncTokenInvalid) first.
func Classify(err error) Kind {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, ErrSyncTokenInvalid) {
		return KindOther
	}
	var e *Error
	if errors.As(err, &e) && e.Status != 0 {
		switch s := e.Status; {
		case s == http.StatusUnauthorized:
			return KindPermission
		case s == http.StatusForbidden:
			if e.rateLimited || saysRateLimit(e.Message) {
				return KindRateLimit
			}
			return KindPermission
		case s == http.StatusTooManyRequests:
			return KindRateLimit
		case s == http.StatusPreconditionFailed:
			return KindConflict
		case s == http.StatusNotFound || s == http.StatusGone:
			return KindNotFound
		case s == http.StatusRequestTimeout || s >= 500 && s <= 599:
			return KindTransient
		}
		if isTransientNetError(e.Err) { // a body cut short
			return KindTransient
		}
		return KindOther
	}
	if isTransientNetError(err) {
		return KindTransient
	}
	return KindOther
}

func isTransientNetError(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) && (dns.IsTemporary || dns.IsTimeout) {
		return true
	}
	return false
}

// rateLimitWords are what servers put in a 403 that means "slow down"
// rather than "not allowed" (Google answers 403 rateLimitExceeded,
// quotaExceeded, userRateLimitExceeded with domain usageLimits).
var rateLimitWords = []string{"ratelimit", "rate limit", "rate-limit", "rate_limit", "quota", "too many", "usagelimits", "throttl"}

func saysRateLimit(s string) bool {
	s = strings.ToLower(s)
	for _, w := range rateLimitWords {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// headersSayRateLimit reports a 403's headers that mean throttling: a
// Retry-After, or an exhausted X-RateLimit-Remaining.
func headersSayRateLimit(h http.Header) bool {
	if h.Get("Retry-After") != "" {
		return true
	}
	for k, vs := range h {
		lk := strings.ToLower(k)
		if strings.Contains(lk, "ratelimit-remaining") || strings.Contains(lk, "rate-limit-remaining") {
			for _, v := range vs {
				if strings.TrimSpace(v) == "0" {
					return true
				}
			}
		}
	}
	return false
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date
// (RFC 9110 10.2.3). Dates in the past and junk give 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		const maxSeconds = int64(1<<63-1) / int64(time.Second)
		return time.Duration(min(n, maxSeconds)) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	if d := t.Sub(now); d > 0 {
		return d
	}
	return 0
}
