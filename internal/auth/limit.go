package auth

import (
	"net/netip"
	"sync"
	"time"
)

// LimitOptions configure a Limiter. The zero value is usable.
type LimitOptions struct {
	// UserFailures is how many failed logins for one user name, from
	// anywhere, within Window lock that name; zero means 10.
	UserFailures int
	// IPFailures is how many failed logins from one client address within
	// Window lock that address; zero means 30.
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

// Limiter counts failed logins per user name and per client address and
// tells the caller when to refuse further attempts without checking the
// password. Once a name or address reaches its threshold it is locked for
// 2^k seconds (k counting the failures past the threshold, capped at
// MaxBackoff), so an attacker's guesses slow down exponentially while a
// user who mistyped a few times is unaffected.
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
	}
	if l.ips.threshold <= 0 {
		l.ips.threshold = defaultIPFailures
	}
	for _, t := range []*failureTable{&l.users, &l.ips} {
		if t.max <= 0 {
			t.max = defaultLimitEntries
		}
	}
	return l
}

// UserWait returns how long attempts for user must still be refused; zero
// means go ahead.
func (l *Limiter) UserWait(user string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.users.wait(user, l.now())
}

// IPWait returns how long attempts from the client address ip must still be
// refused; zero means go ahead.
func (l *Limiter) IPWait(ip string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ips.wait(addressKey(ip), l.now())
}

// Fail records a failed login for user from ip and returns the locks now in
// force for each (zero if none).
func (l *Limiter) Fail(user, ip string) (userWait, ipWait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	return l.record(&l.users, user, now), l.record(&l.ips, addressKey(ip), now)
}

// FailIP records a failed attempt from ip that is not held against any user
// name, such as a guess refused because its user is locked. Counting those
// keeps a locked user from being an unlimited oracle for the address.
func (l *Limiter) FailIP(ip string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.record(&l.ips, addressKey(ip), l.now())
}

// Succeed records a successful login for user and forgets its failures,
// unless user is locked at the moment: a device let through during a lock
// (see Authenticator.IsCached) must not lift the lock an attacker earned.
// Failures counted against the client address are kept; an address that
// guesses many names is not redeemed by knowing one password.
func (l *Limiter) Succeed(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.users.wait(user, l.now()) == 0 {
		delete(l.users.entries, user)
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
