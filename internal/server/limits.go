package server

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"koyomi.dev/koyomi/internal/domain"
)

// DefaultMaxConcurrentPerUser is how many requests one user may have in
// flight when Options.MaxConcurrentPerUser is zero: more than any calendar
// or contacts client opens (they sync one collection at a time, a few in
// parallel at most), few enough that one account cannot occupy the server.
const DefaultMaxConcurrentPerUser = 16

// concurrencyWait is how long a request over the limit waits for a slot
// before it is refused: long enough to absorb a burst from a client that
// opened many connections at once, short enough not to pile up.
const concurrencyWait = 2 * time.Second

// userLimiter bounds the requests each user has in flight. A request over
// the bound waits up to wait for another of the same user's to finish and
// is then answered 503 Service Unavailable with Retry-After. 503 rather than
// 429: calendar and contacts clients retry a 503 after Retry-After as a
// matter of course, and the refusal is about the server's capacity at this
// moment, not about a rate the user exceeded.
type userLimiter struct {
	max  int
	wait time.Duration

	mu    sync.Mutex
	users map[string]*userSlots
}

// userSlots is one user's semaphore; refs counts the requests holding or
// waiting for it, so that it is dropped once the user is idle.
type userSlots struct {
	sem  chan struct{}
	refs int
}

// newUserLimiter returns a limiter admitting max requests per user; max
// below one disables it (nil).
func newUserLimiter(max int, wait time.Duration) *userLimiter {
	if max < 1 {
		return nil
	}
	return &userLimiter{max: max, wait: wait, users: map[string]*userSlots{}}
}

// acquire takes one of user's slots, waiting up to l.wait or until ctx
// ends. It returns the function that gives the slot back, or false.
func (l *userLimiter) acquire(ctx context.Context, user string) (release func(), ok bool) {
	l.mu.Lock()
	u := l.users[user]
	if u == nil {
		u = &userSlots{sem: make(chan struct{}, l.max)}
		l.users[user] = u
	}
	u.refs++
	l.mu.Unlock()

	done := func() {
		l.mu.Lock()
		if u.refs--; u.refs == 0 {
			delete(l.users, user)
		}
		l.mu.Unlock()
	}
	select {
	case u.sem <- struct{}{}:
		return func() { <-u.sem; done() }, true
	default:
	}
	timer := time.NewTimer(l.wait)
	defer timer.Stop()
	select {
	case u.sem <- struct{}{}:
		return func() { <-u.sem; done() }, true
	case <-timer.C:
	case <-ctx.Done():
	}
	done()
	return nil, false
}

// perUser wraps a handler that runs after authentication with the
// per-user concurrency limit. Requests without a principal (unauthenticated
// OPTIONS) pass: they touch no one's data and are cheap.
func (s *Server) perUser(next http.Handler) http.Handler {
	l := s.users
	if l == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := domain.Principal(r.Context())
		if user == "" {
			next.ServeHTTP(w, r)
			return
		}
		release, ok := l.acquire(r.Context(), user)
		if !ok {
			s.opts.Logger.WarnContext(r.Context(), "too many concurrent requests", "user", user, "limit", l.max)
			w.Header().Set("Retry-After", strconv.Itoa(int(max(1, l.wait/time.Second))))
			http.Error(w, "too many requests in progress for this user; try again shortly", http.StatusServiceUnavailable)
			return
		}
		defer release()
		next.ServeHTTP(w, r)
	})
}

// perLink bounds the requests in flight for one public link as perUser
// does for one user (under a key no user name can be: user names hold no
// ":"). Nobody signs in to read a link, so this is what keeps a link
// passed around widely, or fetched in a loop, from taking the server:
// every request of one exports the whole calendar or view.
func (s *Server) perLink(next http.Handler) http.Handler {
	l := s.users
	if l == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		release, ok := l.acquire(r.Context(), "link:"+r.URL.Path)
		if !ok {
			s.opts.Logger.WarnContext(r.Context(), "too many concurrent requests for a public link",
				"path", loggedPath(r.URL.Path), "limit", l.max)
			w.Header().Set("Retry-After", strconv.Itoa(int(max(1, l.wait/time.Second))))
			http.Error(w, "too many requests in progress for this link; try again shortly", http.StatusServiceUnavailable)
			return
		}
		defer release()
		next.ServeHTTP(w, r)
	})
}
