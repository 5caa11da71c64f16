// Package domain holds Koyomi's rules: accounts, collections and the objects
// in them, who may do what, what a valid calendar object is and how it is
// indexed. The DAV layer, the CLI (and later the web UI and JSON API) all
// call this one Service.
//
// It knows nothing of HTTP, WebDAV XML or URL layout; it speaks in users,
// collections and objects, and returns the errors below.
package domain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"koyomi.dev/koyomi/internal/auth"
	"koyomi.dev/koyomi/internal/store"
)

// Errors of the domain. Protocol layers map them to their own answers.
var (
	ErrNotFound  = errors.New("not found")
	ErrExists    = errors.New("already exists")
	ErrForbidden = errors.New("forbidden")
	// ErrPrecondition: an ETag condition did not hold.
	ErrPrecondition = errors.New("precondition failed")
	// ErrInvalidName: a user, collection or object name that cannot be used.
	ErrInvalidName = errors.New("invalid name")
	// ErrTooLarge: an object larger than the collection allows.
	ErrTooLarge = errors.New("object too large")
	// ErrUnsupportedComponent: the calendar does not accept the object's
	// component type.
	ErrUnsupportedComponent = errors.New("component type not supported by this calendar")
	// ErrUnsupportedMediaType: the object's content type is not accepted.
	ErrUnsupportedMediaType = errors.New("unsupported media type")
	// ErrConflict: the request conflicts with the namespace (missing parent,
	// calendar inside a calendar ...).
	ErrConflict = errors.New("conflict")
	// ErrUIDChanged: an object would be replaced by one with another UID,
	// which CalDAV and CardDAV forbid (RFC 4791 5.3.2.1, RFC 6352
	// 6.3.2.1): a new UID is a new resource.
	ErrUIDChanged = errors.New("an object cannot be replaced by one with another UID")
	// ErrMalformed: a body that is not the iCalendar or vCard stream it
	// should be (an import of something else).
	ErrMalformed = errors.New("malformed data")
	// ErrPasswordTooShort: a new password shorter than the configured
	// minimum (Options.MinPasswordLength).
	ErrPasswordTooShort = errors.New("too short")
)

// DefaultMinPasswordLength is the fewest characters a new password may
// have unless Options say otherwise.
const DefaultMinPasswordLength = 8

// DefaultMaxImportSize is the largest file one Import reads unless
// Options say otherwise: 256 MiB, over a million events.
const DefaultMaxImportSize = 256 << 20

// Options configure a Service.
type Options struct {
	Logger *slog.Logger
	// Clock returns the current time; time.Now when nil.
	Clock func() time.Time
	// PasswordParams are the argon2id costs for new passwords.
	PasswordParams auth.Params
	// MaxResourceSize bounds object sizes (default 10 MiB).
	MaxResourceSize int64
	// IndexHorizon is how far past now recurring objects' occurrences are
	// indexed (default 3 years); later ranges are answered by evaluating
	// the objects.
	IndexHorizon time.Duration
	// TrashRetention is how long deleted objects, collections and users
	// stay in the trash (default DefaultTrashRetention).
	TrashRetention time.Duration
	// MinPasswordLength is the fewest characters (not bytes) a password
	// given to CreateUser or SetPassword may have; zero means
	// DefaultMinPasswordLength.
	MinPasswordLength int
	// MaxImportSize is the most bytes one Import reads (zero:
	// DefaultMaxImportSize); a larger file is ErrTooLarge.
	MaxImportSize int64
	// RenderCacheLookup, if set, is told whether each lookup in the
	// virtual calendars' render cache hit (for metrics).
	RenderCacheLookup func(hit bool)
}

// Service is the domain layer over a store.
type Service struct {
	store store.Store
	opts  Options
	homes sync.Map // users whose home was provisioned by this process
	// renders caches virtual calendar output (see renderCache).
	renders *renderCache
}

// New returns a Service over st.
func New(st store.Store, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.PasswordParams == (auth.Params{}) {
		opts.PasswordParams = auth.DefaultParams()
	}
	if opts.MaxResourceSize <= 0 {
		opts.MaxResourceSize = 10 << 20
	}
	if opts.IndexHorizon <= 0 {
		opts.IndexHorizon = 3 * 365 * 24 * time.Hour
	}
	if opts.MinPasswordLength <= 0 {
		opts.MinPasswordLength = DefaultMinPasswordLength
	}
	if opts.TrashRetention <= 0 {
		opts.TrashRetention = DefaultTrashRetention
	}
	if opts.MaxImportSize <= 0 {
		opts.MaxImportSize = DefaultMaxImportSize
	}
	return &Service{store: st, opts: opts, renders: newRenderCache(64 << 20)}
}

// MaxResourceSize is the largest object accepted.
func (s *Service) MaxResourceSize() int64 { return s.opts.MaxResourceSize }

// Now returns the service clock's time.
func (s *Service) Now() time.Time { return s.opts.Clock() }

type principalKey struct{}

// WithPrincipal returns a context acting as user name. A context without a
// principal acts as the system (the CLI): no access checks.
func WithPrincipal(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, principalKey{}, name)
}

// Principal returns the user a context acts as, or "" for the system.
func Principal(ctx context.Context) string {
	name, _ := ctx.Value(principalKey{}).(string)
	return name
}

// CheckOwner reports whether the context may act on something owner owns
// that is not shared with anyone (their connectors, app passwords,
// account): ErrNotFound for anyone but owner and the system.
func CheckOwner(ctx context.Context, owner string) error { return authorize(ctx, owner) }

// authorize reports whether the context may access what owner owns.
// Another user's data is answered as not found, so that its existence is
// not revealed.
func authorize(ctx context.Context, owner string) error {
	p := Principal(ctx)
	if p == "" || p == owner {
		return nil
	}
	return fmt.Errorf("%w: %s's data", ErrNotFound, owner)
}

var userNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$`)

// ValidUserName reports whether name can be a user name (it is a URL path
// segment).
func ValidUserName(name string) bool { return userNameRE.MatchString(name) }

func mapStoreErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return &storeError{kind: ErrNotFound, err: err}
	case errors.Is(err, store.ErrExists):
		return &storeError{kind: ErrExists, err: err}
	case errors.Is(err, store.ErrConflict):
		return &storeError{kind: ErrPrecondition, err: err}
	}
	return err
}

// storeError is a store's answer in the domain's terms: it is kind (and
// still the store's error, for errors.Is), and it reads as kind and what the
// store named ("not found: collection alice/nope"), without the store's
// own prefixes, which mean nothing to the people reading it.
type storeError struct {
	kind, err error
}

func (e *storeError) Unwrap() []error { return []error{e.kind, e.err} }

func (e *storeError) Error() string {
	msg := e.err.Error()
	for _, prefix := range []string{"sqlite: ", "postgres: "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	for _, sentinel := range []error{store.ErrNotFound, store.ErrExists, store.ErrConflict} {
		msg = strings.TrimSuffix(msg, ": "+sentinel.Error())
	}
	return e.kind.Error() + ": " + msg
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
