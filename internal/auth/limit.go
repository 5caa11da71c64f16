package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"sync"
	"time"
)

// LimitOptions configure a Limiter. The zero value is usable.
type LimitOptions struct {
	// UserFailures is how many failed logins for one user name within
	// Window lock that name: from anywhere for passwords not already
	// verified, and for everything from an address that sent that many;
	// zero means 10.
	UserFailures int
	// IPFailures is how many failed password checks from one client
	// address, for any names, within Window lock that address for every
	// name; zero means 30. Attempts refused without a check (because their
	// name is locked) do not count here.
	IPFailures int
	// Window is the period failures are counted in; zero means 15 minutes.
	Window time.Duration
	// MaxBackoff caps how long one lock lasts; zero means 15 minutes.
	MaxBackoff time.Duration
	// MaxEntries bounds how many user names, and separately how many
	// addresses, are tracked; zero means 10000.
	MaxEntries int
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
}

const (
	defaultUserFailures = 10
	defaultIPFailures   = 30
	defaultLimitWindow  = 15 * time.Minute
	defaultMaxBackoff   = 15 * time.Minute
	defaultLimitEntries = 10000
)

// Limiter counts failed logins per user name, per user name from one
// client address, and per client address, and tells the caller when to
// refuse further attempts without checking the password. Once a count
// reaches its threshold its key is locked for 2^k seconds (k counting the
// failures past the threshold, capped at MaxBackoff), so an attacker's
// guesses slow down exponentially while a user who mistyped a few times is
// unaffected.
//
// The three locks differ in what they stop. A locked name refuses passwords
// not already verified, from anywhere: the user's devices keep working
// while their password is being guessed. A name locked from one address
// refuses everything for that name from there, verified or not: whoever
// keeps guessing behind that address learns nothing more, not even from
// the cache of verified passwords. A locked address refuses everything
// from it; it counts only failed password checks, so it locks when one
// address guesses at many names, not when it keeps trying one locked name.
// That way an attack on one account behind a shared address (an office
// NAT, a proxy not named in trusted_proxies) locks that account, and the
// other users behind the address can still log in.
//
// Failures are counted in a fixed window starting at the first one; a
// locked entry is kept until a whole Window has passed since its lock ended,
// so that the back-off keeps growing while an attack goes on.
//
// Concurrent attempts that start before the threshold is reached are all
// checked: the number of guesses past the threshold is bounded by the
// requests in flight, which the cost of password hashing already limits.
//
// It is safe for concurrent use.
type Limiter struct {
	window     time.Duration
	maxBackoff time.Duration
	now        func() time.Time

	mu    sync.Mutex
	users failureTable
	pairs failureTable // a user name from one address
	ips   failureTable
}

// failureTable counts failures per key, holding at most max keys.
type failureTable struct {
	threshold int
	max       int
	entries   map[string]*failures
}

type failures struct {
	count       int
	start       time.Time // first failure of the current window
	last        time.Time
	lockedUntil time.Time // meaningful once count reaches the threshold
}

// NewLimiter returns a Limiter with nothing counted.
func NewLimiter(opts LimitOptions) *Limiter {
	l := &Limiter{
		window:     opts.Window,
		maxBackoff: opts.MaxBackoff,
		now:        opts.Clock,
		users:      failureTable{threshold: opts.UserFailures, max: opts.MaxEntries, entries: map[string]*failures{}},
		pairs:      failureTable{threshold: opts.UserFailures, max: opts.MaxEntries, entries: map[string]*failures{}},
		ips:        failureTable{threshold: opts.IPFailures, max: opts.MaxEntries, entries: map[string]*failures{}},
	}
	if l.window <= 0 {
		l.window = defaultLimitWindow
	}
	if l.maxBackoff <= 0 {
		l.maxBackoff = defaultMaxBackoff
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.users.threshold <= 0 {
		l.users.threshold = defaultUserFailures
		l.pairs.threshold = defaultUserFailures
	}
	if l.ips.threshold <= 0 {
		l.ips.threshold = defaultIPFailures
	}
	for _, t := range []*failureTable{&l.users, &l.pairs, &l.ips} {
		if t.max <= 0 {
			t.max = defaultLimitEntries
		}
	}
	return l
}

// UserWait returns how long attempts for user must still be refused,
// unless their password is already verified; zero means go ahead.
func (l *Limiter) UserWait(user string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.users.wait(nameKey(user), l.now())
}

// UserFromWait returns how long attempts for user from the client address
// ip must still be refused, whatever the password; zero means go ahead.
func (l *Limiter) UserFromWait(user, ip string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pairs.wait(pairKey(user, ip), l.now())
}

// IPWait returns how long attempts from the client address ip must still be
// refused; zero means go ahead.
func (l *Limiter) IPWait(ip string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ips.wait(addressKey(ip), l.now())
}

// Fail records a failed password check for user from ip and returns the
// locks now in force on the name and on the address (zero if none).
func (l *Limiter) Fail(user, ip string) (userWait, ipWait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.record(&l.pairs, pairKey(user, ip), now)
	return l.record(&l.users, nameKey(user), now), l.record(&l.ips, addressKey(ip), now)
}

// Refused records an attempt for user from ip refused without a password
// check because a lock was in force, and returns how long the name is now
// locked from that address. Counting those against the name from that
// address keeps a locked user from being an unlimited oracle (through the
// cache of verified passwords) for whoever guesses from there, without
// holding them against the other names behind the address.
func (l *Limiter) Refused(user, ip string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.record(&l.pairs, pairKey(user, ip), l.now())
}

// Succeed records a successful login for user from ip and forgets the
// failures of the name, unless it is locked at the moment: a device let
// through during a lock (see Authenticator.IsCached) must not lift the lock
// an attacker earned. Failures counted against the client address are
// kept; an address that guesses many names is not redeemed by knowing one
// password.
func (l *Limiter) Succeed(user, ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if key := nameKey(user); l.users.wait(key, now) == 0 {
		delete(l.users.entries, key)
	}
	if key := pairKey(user, ip); l.pairs.wait(key, now) == 0 {
		delete(l.pairs.entries, key)
	}
}

func (l *Limiter) record(t *failureTable, key string, now time.Time) time.Duration {
	f := t.entries[key]
	if f != nil && l.expired(t, f, now) {
		f = nil
	}
	if f == nil {
		if _, exists := t.entries[key]; !exists && len(t.entries) >= t.max {
			l.makeRoom(t, now)
		}
		f = &failures{start: now}
		t.entries[key] = f
	}
	f.count++
	f.last = now
	if f.count < t.threshold {
		return 0
	}
	f.lockedUntil = now.Add(l.backoff(f.count - t.threshold))
	return f.lockedUntil.Sub(now)
}

// backoff is 2^k seconds, capped.
func (l *Limiter) backoff(k int) time.Duration {
	if k >= 30 {
		return l.maxBackoff
	}
	return min(time.Duration(1<<k)*time.Second, l.maxBackoff)
}

// expired reports whether f can be forgotten: its window ended before it
// reached the threshold, or a whole window has passed since its lock ended.
func (l *Limiter) expired(t *failureTable, f *failures, now time.Time) bool {
	if f.count < t.threshold {
		return !now.Before(f.start.Add(l.window))
	}
	return !now.Before(f.lockedUntil.Add(l.window))
}

// makeRoom drops expired entries, and if none were, the least recently
// failed one, preferring entries that are not locked, so that flooding the
// table with new names does not free a locked one. It runs only when the
// table is full and a new key comes in, each time after a password check
// far more costly than the scan.
func (l *Limiter) makeRoom(t *failureTable, now time.Time) {
	var (
		victim       string
		victimLocked bool
		victimLast   time.Time
		found        bool
	)
	before := len(t.entries)
	for key, f := range t.entries {
		if l.expired(t, f, now) {
			delete(t.entries, key)
			continue
		}
		locked := f.count >= t.threshold
		if !found || (!locked && victimLocked) || (locked == victimLocked && f.last.Before(victimLast)) {
			victim, victimLocked, victimLast, found = key, locked, f.last, true
		}
	}
	if len(t.entries) == before && found {
		delete(t.entries, victim)
	}
}

func (t *failureTable) wait(key string, now time.Time) time.Duration {
	f := t.entries[key]
	if f == nil || f.count < t.threshold || !now.Before(f.lockedUntil) {
		return 0
	}
	return f.lockedUntil.Sub(now)
}

// maxNameKey is the longest user name kept as it is in a table; longer
// names, which no account has, are kept as their hash, so that an attacker
// sending huge names cannot make the tables hold much memory.
const maxNameKey = 128

func nameKey(user string) string {
	if len(user) <= maxNameKey {
		return user
	}
	sum := sha256.Sum256([]byte(user))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// pairKey is the key of a user name from a client address.
func pairKey(user, ip string) string { return addressKey(ip) + "\x00" + nameKey(user) }

// addressKey groups IPv6 addresses by their /64 prefix, since one host or
// customer usually holds a whole /64 and could otherwise rotate through it.
// Anything that does not parse as an address is used as it is.
func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}
