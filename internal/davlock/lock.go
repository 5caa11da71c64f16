// Package davlock implements WebDAV write locks (RFC 4918 sections 6, 7, 9.10
// and 9.11) and the If request header (RFC 4918 section 10.4) as a library the
// WebDAV engine calls. It knows nothing of HTTP handlers, XML bodies or
// storage: resources are named by cleaned absolute URL paths, where a
// collection may end in "/" ("/a/b" and "/a/b/" name the same resource).
//
// # Locks
//
// A [Manager] holds the active locks in memory:
//
//	m := davlock.New(time.Now)
//	l, err := m.Create(davlock.Lock{Root: "/cal/", Infinite: true, Exclusive: true, Timeout: time.Hour})
//	m.Refresh(path, token, timeout) // LOCK with an empty body
//	m.Unlock(path, token)           // UNLOCK
//	m.Locks(path)                   // DAV:lockdiscovery
//	m.CheckAs(user, path, infinite, tokens) // before PUT, PROPPATCH, DELETE, MOVE, ...
//	m.Move(from, to); m.Delete(path) // after the resources are gone
//
// A lock covers its root and, with depth infinity, every resource below it.
// Expired locks are dropped lazily, judged by the clock given to [New].
//
// To modify a resource a request must submit, in its If header, the token of
// a lock that covers it, and the token must belong to the requesting principal
// (RFC 4918 sections 6.4 and 7.5). A resource is covered either by exactly one
// exclusive lock or by any number of shared locks; for shared locks the token
// of any one of them suffices, since each holder is entitled to write.
// Creating or removing a member also changes its parent collection's member
// list, which a depth-0 lock on the parent protects (RFC 4918 section 7.4), so
// the engine checks the parent as well for PUT of a new resource, MKCOL,
// DELETE, and both ends of MOVE and COPY.
//
// Locks do not travel with MOVE (RFC 4918 section 9.9.4): [Manager.Move] drops
// the locks rooted at or below the source, and those at or below an
// overwritten destination; the moved resource is covered by whatever
// depth-infinity locks cover its new location.
//
// # The If header
//
// [ParseIf] parses both the No-tag-list and Tagged-list forms. [If.Tokens]
// lists the lock tokens a request submits; [If.Evaluate] decides the header as
// RFC 4918 section 10.4.3 says: true when at least one list holds, a list
// holding when all its conditions do, each judged against the resource it is
// tagged with or else the request URI.
package davlock

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// ErrLocked reports that a lock prevents the operation. Errors returned by
// the Manager that match it with errors.Is are *LockedError values naming the
// lock in the way.
var ErrLocked = errors.New("davlock: resource is locked")

// ErrNoSuchLock reports that the given token names no active lock covering
// the given path.
var ErrNoSuchLock = errors.New("davlock: no such lock")

// LockedError names the root of a lock that prevents an operation, for the
// DAV:no-conflicting-lock and DAV:lock-token-submitted precondition elements.
type LockedError struct {
	Root string
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("davlock: resource is locked by a lock rooted at %s", e.Root)
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// Lock is one WebDAV write lock.
type Lock struct {
	// Token is the lock token, "urn:uuid:..." (assigned by Create).
	Token string
	// Root is the path of the locked resource, as given to Create.
	Root string
	// Infinite is true for depth infinity: the lock also covers every
	// resource below Root.
	Infinite bool
	// Exclusive is true for an exclusive lock, false for a shared one.
	Exclusive bool
	// Owner is the raw XML of the DAV:owner element, as sent by the client.
	Owner []byte
	// Timeout is the lock's lifetime from its creation or last refresh;
	// zero means it never expires.
	Timeout time.Duration
	// Expires is when the lock lapses (assigned by Create and Refresh);
	// zero when Timeout is zero.
	Expires time.Time
	// Principal is the user who created the lock; only they may use its token.
	Principal string
}

// covers reports whether the lock applies to the resource at the normalized
// path p.
func (l *Lock) covers(p string) bool {
	root := normalize(l.Root)
	return root == p || (l.Infinite && isBelow(p, root))
}

func (l *Lock) clone() Lock {
	c := *l
	c.Owner = bytes.Clone(l.Owner)
	return c
}

// Backing keeps the lock set outside the process, so that several server
// nodes share one set of locks (and locks survive a restart).
type Backing interface {
	// Load returns the current set.
	Load(ctx context.Context) ([]Lock, error)
	// Update runs fn on the current set and stores the set it returns,
	// atomically with respect to every other Update.
	Update(ctx context.Context, fn func([]Lock) ([]Lock, error)) error
}

// Manager holds the active locks. It is safe for concurrent use.
type Manager struct {
	clock   func() time.Time
	backing Backing

	mu    sync.Mutex
	locks map[string]*Lock // by token; with a backing, loaded for each call
}

// New returns an empty in-memory Manager that reads the time from clock
// (time.Now when nil).
func New(clock func() time.Time) *Manager {
	if clock == nil {
		clock = time.Now
	}
	return &Manager{clock: clock, locks: make(map[string]*Lock)}
}

// NewShared returns a Manager whose locks live in b.
func NewShared(clock func() time.Time, b Backing) *Manager {
	m := New(clock)
	m.backing = b
	return m
}

// read runs fn with m.locks holding the current set.
func (m *Manager) read(ctx context.Context, fn func()) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.backing != nil {
		locks, err := m.backing.Load(ctx)
		if err != nil {
			return fmt.Errorf("davlock: load locks: %w", err)
		}
		m.set(locks)
	}
	m.expire(m.clock())
	fn()
	return nil
}

// write runs fn with m.locks holding the current set and keeps the changes
// fn makes, unless it fails.
func (m *Manager) write(ctx context.Context, fn func() error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.backing == nil {
		m.expire(m.clock())
		return fn()
	}
	return m.backing.Update(ctx, func(locks []Lock) ([]Lock, error) {
		m.set(locks)
		m.expire(m.clock())
		if err := fn(); err != nil {
			return nil, err
		}
		out := make([]Lock, 0, len(m.locks))
		for _, l := range m.sorted() {
			out = append(out, l.clone())
		}
		return out, nil
	})
}

func (m *Manager) set(locks []Lock) {
	m.locks = make(map[string]*Lock, len(locks))
	for _, l := range locks {
		c := l.clone()
		m.locks[c.Token] = &c
	}
}

// Create adds a lock described by l, assigning its Token and Expires. It
// fails with a *LockedError when an existing lock conflicts: an exclusive lock
// conflicts with any lock covering the same resources, a shared lock only with
// exclusive ones. Two locks overlap when one's root is covered by the other.
func (m *Manager) Create(ctx context.Context, l Lock) (Lock, error) {
	if !strings.HasPrefix(l.Root, "/") {
		return Lock{}, fmt.Errorf("davlock: lock root %q is not an absolute path", l.Root)
	}
	if l.Timeout < 0 {
		return Lock{}, fmt.Errorf("davlock: negative timeout %v", l.Timeout)
	}
	token, err := newToken()
	if err != nil {
		return Lock{}, err
	}
	root := normalize(l.Root)
	var created Lock
	err = m.write(ctx, func() error {
		for _, other := range m.sorted() {
			if !l.Exclusive && !other.Exclusive {
				continue
			}
			if other.covers(root) || (l.Infinite && isBelow(normalize(other.Root), root)) {
				return fmt.Errorf("davlock: create lock on %s: %w", l.Root, &LockedError{Root: other.Root})
			}
		}
		stored := l.clone()
		stored.Token = token
		stored.Expires = expiry(m.clock(), l.Timeout)
		m.locks[token] = &stored
		created = stored.clone()
		return nil
	})
	return created, err
}

// Refresh restarts the lock named by token with a new timeout (zero means
// never expire). It fails with ErrNoSuchLock unless that lock covers path.
func (m *Manager) Refresh(ctx context.Context, path, token string, timeout time.Duration) (Lock, error) {
	if timeout < 0 {
		return Lock{}, fmt.Errorf("davlock: negative timeout %v", timeout)
	}
	var refreshed Lock
	err := m.write(ctx, func() error {
		l, ok := m.locks[token]
		if !ok || !l.covers(normalize(path)) {
			return fmt.Errorf("davlock: refresh %s: %w", path, ErrNoSuchLock)
		}
		l.Timeout = timeout
		l.Expires = expiry(m.clock(), timeout)
		refreshed = l.clone()
		return nil
	})
	return refreshed, err
}

// Unlock removes the lock named by token. It fails with ErrNoSuchLock unless
// that lock covers path (RFC 4918 section 9.11: the request URI may name any
// resource in the lock's scope).
func (m *Manager) Unlock(ctx context.Context, path, token string) error {
	return m.write(ctx, func() error {
		l, ok := m.locks[token]
		if !ok || !l.covers(normalize(path)) {
			return fmt.Errorf("davlock: unlock %s: %w", path, ErrNoSuchLock)
		}
		delete(m.locks, token)
		return nil
	})
}

// Locks returns the active locks that cover path, rooted there or inherited
// from an ancestor with depth infinity, ordered by root and token.
func (m *Manager) Locks(ctx context.Context, path string) ([]Lock, error) {
	p := normalize(path)
	var out []Lock
	err := m.read(ctx, func() {
		for _, l := range m.sorted() {
			if l.covers(p) {
				out = append(out, l.clone())
			}
		}
	})
	return out, err
}

// TokenApplies reports whether token names an active lock covering path. It
// is the tokenMatches function for If.Evaluate.
func (m *Manager) TokenApplies(ctx context.Context, path, token string) bool {
	applies := false
	err := m.read(ctx, func() {
		l, ok := m.locks[token]
		applies = ok && l.covers(normalize(path))
	})
	return err == nil && applies
}

// Check is CheckAs without regard to who created the locks: any submitted
// token of a covering lock counts.
func (m *Manager) Check(ctx context.Context, path string, infinite bool, submitted []string) error {
	return m.CheckAs(ctx, "", path, infinite, submitted)
}

// CheckAs reports whether principal may modify path (and, when infinite,
// everything below it, as DELETE or MOVE of a collection do) having submitted
// the given lock tokens. Every locked resource affected must be covered by a
// lock whose token was submitted and, when principal is not empty, which
// principal created. Otherwise it returns a *LockedError naming the root of a
// lock in the way, for DAV:lock-token-submitted.
func (m *Manager) CheckAs(ctx context.Context, principal, path string, infinite bool, submitted []string) error {
	var checkErr error
	if err := m.read(ctx, func() { checkErr = m.check(principal, path, infinite, submitted) }); err != nil {
		return err
	}
	return checkErr
}

func (m *Manager) check(principal, path string, infinite bool, submitted []string) error {
	p := normalize(path)
	locks := m.sorted()

	affected := []string{p}
	if infinite {
		for _, l := range locks {
			if root := normalize(l.Root); isBelow(root, p) {
				affected = append(affected, root)
			}
		}
	}
	for _, r := range affected {
		var blocking *Lock
		satisfied := false
		for _, l := range locks {
			if !l.covers(r) {
				continue
			}
			if slices.Contains(submitted, l.Token) && (principal == "" || l.Principal == principal) {
				satisfied = true
				break
			}
			if blocking == nil {
				blocking = l
			}
		}
		if !satisfied && blocking != nil {
			return fmt.Errorf("davlock: modify %s: %w", path, &LockedError{Root: blocking.Root})
		}
	}
	return nil
}

// Delete drops the locks rooted at path or below it, after the resources
// there were deleted.
func (m *Manager) Delete(ctx context.Context, path string) error {
	return m.write(ctx, func() error {
		m.drop(path)
		return nil
	})
}

func (m *Manager) drop(path string) {
	p := normalize(path)
	for token, l := range m.locks {
		if root := normalize(l.Root); root == p || isBelow(root, p) {
			delete(m.locks, token)
		}
	}
}

// Move drops the locks rooted at or below from, which do not travel with the
// resource, and those rooted at or below to, whose resources were replaced.
func (m *Manager) Move(ctx context.Context, from, to string) error {
	return m.write(ctx, func() error {
		m.drop(from)
		m.drop(to)
		return nil
	})
}

// expire drops the locks that lapsed by now. m.mu must be held.
func (m *Manager) expire(now time.Time) {
	for token, l := range m.locks {
		if !l.Expires.IsZero() && !now.Before(l.Expires) {
			delete(m.locks, token)
		}
	}
}

// sorted returns the locks ordered by root and token, so that results and
// the lock named in errors do not depend on map order. m.mu must be held.
func (m *Manager) sorted() []*Lock {
	out := make([]*Lock, 0, len(m.locks))
	for _, l := range m.locks {
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b *Lock) int {
		if c := strings.Compare(a.Root, b.Root); c != 0 {
			return c
		}
		return strings.Compare(a.Token, b.Token)
	})
	return out
}

func expiry(now time.Time, timeout time.Duration) time.Time {
	if timeout == 0 {
		return time.Time{}
	}
	return now.Add(timeout)
}

// normalize drops a collection's trailing slash so that "/a/" and "/a" compare
// equal; the root stays "/".
func normalize(p string) string {
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
		if p == "" {
			return "/"
		}
	}
	return p
}

// isBelow reports whether the normalized path p lies strictly below the
// normalized path ancestor.
func isBelow(p, ancestor string) bool {
	if ancestor == "/" {
		return p != "/" && strings.HasPrefix(p, "/")
	}
	return strings.HasPrefix(p, ancestor+"/")
}

// newToken returns a fresh "urn:uuid:" lock token holding a random (version 4)
// UUID, as RFC 4918 section 6.5 recommends.
func newToken() (string, error) {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return "", fmt.Errorf("davlock: generate lock token: %w", err)
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]), nil
}
