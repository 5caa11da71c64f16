// Package auth verifies Koyomi users' passwords: argon2id hashing in the PHC
// string format, and an Authenticator that checks HTTP Basic credentials
// against stored hashes and caches successful checks briefly, since CalDAV and
// CardDAV clients send their credentials with every request.
//
// It must not know about HTTP routing, WebDAV or how users are stored: the
// caller adapts its store to UserLookup and decides what a failed login means.
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// ErrNoSuchUser is wrapped by UserLookup errors for names that do not exist.
var ErrNoSuchUser = errors.New("auth: no such user")

// UserLookup returns the stored password hash of a user. For an unknown user
// it returns an error wrapping ErrNoSuchUser; any other error is treated as a
// failure of the lookup itself and passed on to the caller.
//
// It is called on every Authenticate, so a changed password takes effect at
// once; it should be cheap (one indexed read).
type UserLookup interface {
	PasswordHash(ctx context.Context, name string) (hash string, err error)
}

// Options configure an Authenticator. The zero value is usable.
type Options struct {
	// CacheTTL is how long a successful verification is remembered.
	// Zero means 5 minutes; a negative value disables the cache.
	CacheTTL time.Duration
	// MaxCacheEntries bounds the cache; zero means 4096.
	MaxCacheEntries int
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Logger receives lookup errors; nil discards them. Failed logins are
	// the caller's to log, with what it knows of the client (see Check).
	Logger *slog.Logger
	// Params are used for the hash that unknown users are checked against, so
	// that they cost as much as real users. Set them to the parameters new
	// passwords are hashed with; the zero value means DefaultParams.
	Params Params
	// Verify checks a password against a hash; nil means VerifyPassword.
	// Tests use it to observe how much hashing work is done.
	Verify func(hash, password string) (bool, error)
}

const (
	defaultCacheTTL        = 5 * time.Minute
	defaultMaxCacheEntries = 4096
)

// Authenticator checks user names and passwords. It is safe for concurrent
// use.
type Authenticator struct {
	lookup    UserLookup
	apps      AppPasswordLookup // nil unless lookup implements it
	ttl       time.Duration
	max       int
	now       func() time.Time
	log       *slog.Logger
	verify    func(hash, password string) (bool, error)
	dummyHash string
	// cacheKey keys the password digests kept in the cache, so a memory dump
	// does not yield digests that can be attacked offline with a fast hash.
	cacheKey [32]byte

	mu      sync.Mutex
	entries map[string]map[digest]cacheEntry // user → password digest → entry
	count   int
	flights map[flightKey]*flight
	touched map[int64]time.Time // app password id → last use recorded
}

type digest [sha256.Size]byte

type cacheEntry struct {
	hash    string // the stored hash the password was verified against
	expires time.Time
}

type flightKey struct {
	user, hash string
	pw         digest
}

type flight struct {
	done chan struct{}
	ok   bool
	err  error
}

// New returns an Authenticator reading hashes through lookup. It computes one
// hash for the unknown-user path, so it fails only if opts.Params is invalid.
func New(lookup UserLookup, opts Options) (*Authenticator, error) {
	a := &Authenticator{
		lookup:  lookup,
		ttl:     opts.CacheTTL,
		max:     opts.MaxCacheEntries,
		now:     opts.Clock,
		log:     opts.Logger,
		verify:  opts.Verify,
		entries: make(map[string]map[digest]cacheEntry),
		flights: make(map[flightKey]*flight),
		touched: make(map[int64]time.Time),
	}
	a.apps, _ = lookup.(AppPasswordLookup)
	if a.ttl == 0 {
		a.ttl = defaultCacheTTL
	}
	if a.max <= 0 {
		a.max = defaultMaxCacheEntries
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.verify == nil {
		a.verify = VerifyPassword
	}
	params := opts.Params
	if params == (Params{}) {
		params = DefaultParams()
	}
	if _, err := rand.Read(a.cacheKey[:]); err != nil {
		return nil, fmt.Errorf("auth: reading cache key: %w", err)
	}
	dummy, err := HashPassword(rand.Text(), params)
	if err != nil {
		return nil, err
	}
	a.dummyHash = dummy
	return a, nil
}

// Failure is why a login was refused, as logged and counted.
type Failure string

// The reasons a login is refused. RateLimited is decided by the caller's
// Limiter, before the Authenticator is asked.
const (
	UnknownUser        Failure = "unknown_user"
	WrongPassword      Failure = "wrong_password"
	RevokedAppPassword Failure = "revoked_app_password"
	RateLimited        Failure = "rate_limited"
)

// Authenticate reports whether password is user's password. A wrong password
// and an unknown user both give (false, nil) after the same amount of hashing
// work, so neither the answer nor its timing tells them apart. An error means
// the check could not be made (lookup failure, unreadable stored hash, ctx
// done while waiting for an identical check in progress).
//
// If the lookup implements AppPasswordLookup, one of the user's app
// passwords is accepted too. App password successes are not cached: checking
// one costs a read and a SHA-256, and not caching them is what makes a
// revoked one fail on the very next request.
func (a *Authenticator) Authenticate(ctx context.Context, user, password string) (bool, error) {
	failure, err := a.Check(ctx, user, password)
	return err == nil && failure == "", err
}

// Check is Authenticate telling why a login failed: "" for success, else
// the Failure. The reason is for the operator's log and metrics only; the
// client must be answered alike for all of them.
func (a *Authenticator) Check(ctx context.Context, user, password string) (Failure, error) {
	hash, err := a.lookup.PasswordHash(ctx, user)
	if errors.Is(err, ErrNoSuchUser) {
		// Burn the same work as a real check, the app passwords' read
		// included; the results are irrelevant.
		_, _ = a.matchAppPassword(ctx, user, password)
		_, _ = a.verify(a.dummyHash, password)
		return UnknownUser, nil
	}
	if err != nil {
		return "", fmt.Errorf("auth: looking up %q: %w", user, err)
	}

	pw := a.digest(password)
	if a.cached(user, pw, hash) {
		return "", nil
	}
	// App passwords before the main one: a device using one then costs no
	// password hashing per request. Their secrets are too long to guess,
	// so answering them quickly helps no one guessing the main password.
	app, err := a.matchAppPassword(ctx, user, password)
	if err != nil {
		return "", fmt.Errorf("auth: looking up app passwords of %q: %w", user, err)
	}
	if app.Revoked {
		return RevokedAppPassword, nil
	}
	if app.ID != 0 {
		a.touch(ctx, user, app.ID)
		return "", nil
	}
	ok, err := a.verifyOnce(ctx, flightKey{user: user, hash: hash, pw: pw}, password)
	if err != nil {
		a.log.ErrorContext(ctx, "cannot verify password", "user", user, "err", err)
		return "", fmt.Errorf("auth: verifying %q: %w", user, err)
	}
	if !ok {
		return WrongPassword, nil
	}
	a.store(user, pw, hash)
	return "", nil
}

// IsCached reports whether password is user's current password as verified
// recently and still cached, without any password hashing. A caller refusing
// a locked-out user can let such requests through: they prove the password
// at no cost and come from the user's own devices. Cached passwords are
// found by a keyed digest, so the time taken reveals nothing about them. A
// failed lookup gives false. An app password of user counts as cached: it
// too is proven without password hashing, and is too long to guess.
func (a *Authenticator) IsCached(ctx context.Context, user, password string) bool {
	hash, err := a.lookup.PasswordHash(ctx, user)
	if err != nil {
		return false
	}
	if a.cached(user, a.digest(password), hash) {
		return true
	}
	app, err := a.matchAppPassword(ctx, user, password)
	return err == nil && app.ID != 0 && !app.Revoked
}

// Forget drops every cached verification for user. Call it when a user's
// password is changed or the user is removed; a change is also noticed on the
// next request through the stored hash, Forget just frees the memory early.
func (a *Authenticator) Forget(user string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.count -= len(a.entries[user])
	delete(a.entries, user)
}

func (a *Authenticator) digest(password string) digest {
	m := hmac.New(sha256.New, a.cacheKey[:])
	m.Write([]byte(password))
	var d digest
	m.Sum(d[:0])
	return d
}

func (a *Authenticator) cached(user string, pw digest, hash string) bool {
	if a.ttl < 0 {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.entries[user][pw]
	if !ok {
		return false
	}
	if e.hash != hash || !a.now().Before(e.expires) {
		a.remove(user, pw)
		return false
	}
	return true
}

func (a *Authenticator) store(user string, pw digest, hash string) {
	if a.ttl < 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if _, exists := a.entries[user][pw]; !exists && a.count >= a.max {
		a.makeRoom(now)
	}
	byPW := a.entries[user]
	if byPW == nil {
		byPW = make(map[digest]cacheEntry)
		a.entries[user] = byPW
	}
	if _, exists := byPW[pw]; !exists {
		a.count++
	}
	byPW[pw] = cacheEntry{hash: hash, expires: now.Add(a.ttl)}
}

// makeRoom drops expired entries, and if none were, the one closest to
// expiring. It runs only after a full password hash, so a linear scan is
// cheap by comparison. a.mu must be held.
func (a *Authenticator) makeRoom(now time.Time) {
	var (
		oldUser string
		oldPW   digest
		oldExp  time.Time
		found   bool
	)
	before := a.count
	for user, byPW := range a.entries {
		for pw, e := range byPW {
			if !now.Before(e.expires) {
				a.remove(user, pw)
				continue
			}
			if !found || e.expires.Before(oldExp) {
				oldUser, oldPW, oldExp, found = user, pw, e.expires, true
			}
		}
	}
	if a.count == before && found {
		a.remove(oldUser, oldPW)
	}
}

// remove deletes one entry; a.mu must be held.
func (a *Authenticator) remove(user string, pw digest) {
	byPW := a.entries[user]
	if _, ok := byPW[pw]; !ok {
		return
	}
	delete(byPW, pw)
	a.count--
	if len(byPW) == 0 {
		delete(a.entries, user)
	}
}

// verifyOnce runs the password hash, sharing one run among concurrent
// identical requests: a client that opens several connections at once with
// the same credentials costs one hash, not one per connection.
func (a *Authenticator) verifyOnce(ctx context.Context, key flightKey, password string) (bool, error) {
	a.mu.Lock()
	if f, ok := a.flights[key]; ok {
		a.mu.Unlock()
		select {
		case <-f.done:
			return f.ok, f.err
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{})}
	a.flights[key] = f
	a.mu.Unlock()

	f.ok, f.err = a.verify(key.hash, password)

	a.mu.Lock()
	delete(a.flights, key)
	a.mu.Unlock()
	close(f.done)
	return f.ok, f.err
}

// Challenge returns the WWW-Authenticate header value asking for Basic
// credentials in realm, announcing UTF-8 as RFC 7617 allows so that clients
// encode non-ASCII names and passwords predictably.
func Challenge(realm string) string {
	var b strings.Builder
	b.WriteString(`Basic realm="`)
	for _, r := range realm {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			// Control characters cannot appear in a quoted-string.
		default:
			b.WriteRune(r)
		}
	}
	b.WriteString(`", charset="UTF-8"`)
	return b.String()
}
