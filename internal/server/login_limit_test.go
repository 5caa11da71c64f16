package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/auth"
	"koyomi.dev/koyomi/internal/tree"
)

// movingClock is a settable clock for tests that need time to pass.
type movingClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *movingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *movingClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newLimitServer is newTestServer with a clock that can move, low login
// limits (3 failures per user, 5 per address) and a logger.
func newLimitServer(t *testing.T, logger *slog.Logger) (*Server, *movingClock) {
	t.Helper()
	clock := &movingClock{now: fixedClock()}
	srv, err := New(backends[0].open(t), Options{Clock: clock.Now, PasswordParams: cheapParams, Logger: logger,
		LoginLimits: auth.LimitOptions{UserFailures: 3, IPFailures: 5}})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		if err := srv.Service().CreateUser(context.Background(), u, u+"-password", u+"@example.org"); err != nil {
			t.Fatal(err)
		}
	}
	return srv, clock
}

// login sends a PROPFIND of the DAV root as user from ip.
func login(t *testing.T, h http.Handler, user, password, ip string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("PROPFIND", tree.Prefix, nil)
	req.Header.Set("Depth", "0")
	req.RemoteAddr = ip + ":40000"
	req.SetBasicAuth(user, password)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestLoginLimits(t *testing.T) {
	srv, clock := newLimitServer(t, nil)
	const (
		device   = "192.0.2.10"
		attacker = "203.0.113.1"
		other    = "198.51.100.1"
	)
	type step struct {
		advance            time.Duration
		user, password, ip string
		status             int
		retryAfter         string // expected Retry-After; "" means absent
	}
	ok := http.StatusMultiStatus
	steps := []step{
		// alice's device logs in, so its credentials are cached.
		{user: "alice", password: "alice-password", ip: device, status: ok},
		{user: "alice", password: "guess1", ip: attacker, status: http.StatusUnauthorized},
		{user: "alice", password: "guess2", ip: attacker, status: http.StatusUnauthorized},
		{user: "alice", password: "guess3", ip: attacker, status: http.StatusUnauthorized},
		// alice is locked for one second, from anywhere, for anything not
		// already verified; from the attacker's address for everything,
		// and each refusal there doubles that lock.
		{user: "alice", password: "guess4", ip: attacker, status: http.StatusTooManyRequests, retryAfter: "2"},
		{user: "alice", password: "guess4", ip: other, status: http.StatusTooManyRequests, retryAfter: "1"},
		// Her device's cached credentials still work.
		{user: "alice", password: "alice-password", ip: device, status: ok},
		// Another user is unaffected, from anywhere, also from the
		// attacker's address: an attack on one name does not lock it.
		{user: "bob", password: "bob-password", ip: other, status: ok},
		{user: "bob", password: "bob-password", ip: attacker, status: ok},
		// From the attacker's address even the right password is refused:
		// the cache of verified passwords is no oracle there.
		{user: "alice", password: "alice-password", ip: attacker, status: http.StatusTooManyRequests, retryAfter: "4"},
		// The device's success did not lift the lock; after it, one more
		// failure doubles it.
		{advance: time.Second, user: "alice", password: "guess5", ip: other, status: http.StatusUnauthorized},
		{user: "alice", password: "guess6", ip: other, status: http.StatusTooManyRequests, retryAfter: "2"},
		// Once the lock is over, the right password resets alice.
		{advance: 2 * time.Second, user: "alice", password: "alice-password", ip: device, status: ok},
		{user: "alice", password: "typo", ip: device, status: http.StatusUnauthorized},
		{user: "alice", password: "typo", ip: device, status: http.StatusUnauthorized},
		{user: "alice", password: "alice-password", ip: device, status: ok},
		// Guessing at other names from the attacker's address adds failed
		// password checks there (three before, five now): the address is
		// locked for every name.
		{user: "carol", password: "guess", ip: attacker, status: http.StatusUnauthorized},
		{user: "dave", password: "guess", ip: attacker, status: http.StatusUnauthorized},
		{user: "bob", password: "bob-password", ip: attacker, status: http.StatusTooManyRequests, retryAfter: "1"},
		{user: "bob", password: "bob-password", ip: other, status: ok},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		rec := login(t, srv, s.user, s.password, s.ip)
		if rec.Code != s.status {
			t.Fatalf("step %d (%s from %s): status %d, want %d\n%s", i, s.user, s.ip, rec.Code, s.status, rec.Body)
		}
		if got := rec.Header().Get("Retry-After"); got != s.retryAfter {
			t.Errorf("step %d: Retry-After %q, want %q", i, got, s.retryAfter)
		}
		if rec.Code == http.StatusTooManyRequests && rec.Header().Get("WWW-Authenticate") != "" {
			t.Errorf("step %d: a refusal asks for credentials again", i)
		}
	}
}

// Thirty wrong passwords for one user from an address shared by many (an
// office NAT) lock that user, not everyone behind the address: a colleague
// with the right password gets in from there, the attacked account stays
// refused from there even with its right password, and still works from
// its own devices elsewhere.
func TestLoginLimitBehindSharedAddress(t *testing.T) {
	srv, err := New(backends[0].open(t), Options{Clock: fixedClock, PasswordParams: cheapParams})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		if err := srv.Service().CreateUser(context.Background(), u, u+"-password", u+"@example.org"); err != nil {
			t.Fatal(err)
		}
	}
	const office, home = "192.0.2.77", "198.51.100.5"
	if rec := login(t, srv, "alice", "alice-password", home); rec.Code != http.StatusMultiStatus {
		t.Fatalf("alice from home: %d", rec.Code)
	}
	for i := range 30 {
		rec := login(t, srv, "alice", fmt.Sprintf("guess%d", i), office)
		if rec.Code != http.StatusUnauthorized && rec.Code != http.StatusTooManyRequests {
			t.Fatalf("guess %d: status %d", i, rec.Code)
		}
	}
	for _, tc := range []struct {
		who, user, ip string
		want          int
	}{
		{"a colleague in the office", "bob", office, http.StatusMultiStatus},
		{"the attacked account in the office", "alice", office, http.StatusTooManyRequests},
		{"the attacked account's device at home", "alice", home, http.StatusMultiStatus},
	} {
		if rec := login(t, srv, tc.user, tc.user+"-password", tc.ip); rec.Code != tc.want {
			t.Errorf("%s: status %d, want %d", tc.who, rec.Code, tc.want)
		}
	}
}

// A locked name reads the same whether or not the user exists.
func TestLoginLimitDoesNotRevealUsers(t *testing.T) {
	srv, _ := newLimitServer(t, nil)
	refusal := func(user, ip string) *httptest.ResponseRecorder {
		for range 3 {
			if rec := login(t, srv, user, "wrong", ip); rec.Code != http.StatusUnauthorized {
				t.Fatalf("%s: status %d, want 401", user, rec.Code)
			}
		}
		return login(t, srv, user, "wrong", ip)
	}
	real, unknown := refusal("alice", "192.0.2.1"), refusal("nobody", "192.0.2.2")
	if real.Code != http.StatusTooManyRequests || unknown.Code != http.StatusTooManyRequests {
		t.Fatalf("statuses %d and %d, want 429 for both", real.Code, unknown.Code)
	}
	if real.Body.String() != unknown.Body.String() {
		t.Errorf("refusal for a real user %q differs from one for an unknown user %q", real.Body, unknown.Body)
	}
	for _, h := range []string{"Retry-After", "Content-Type"} {
		if real.Header().Get(h) != unknown.Header().Get(h) {
			t.Errorf("%s differs: %q vs %q", h, real.Header().Get(h), unknown.Header().Get(h))
		}
	}
	if strings.Contains(real.Body.String(), "alice") {
		t.Errorf("refusal names the user: %q", real.Body)
	}
}

// No log record and no response carries a password or the Authorization
// header that holds it, through successes, failures, unknown users and
// locks.
func TestPasswordsStayOutOfLogs(t *testing.T) {
	var logs bytes.Buffer
	srv, clock := newLimitServer(t, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	secrets := []string{"alice-password", "s3cret-guess", "other-s3cret", "bob-password"}
	var responses bytes.Buffer
	try := func(user, password, ip string) {
		rec := login(t, srv, user, password, ip)
		responses.WriteString(rec.Body.String())
		for k, v := range rec.Header() {
			responses.WriteString(k + ": " + strings.Join(v, ",") + "\n")
		}
	}
	try("alice", "alice-password", "192.0.2.1")
	for range 4 {
		try("alice", "s3cret-guess", "192.0.2.2")
		try("nobody", "other-s3cret", "192.0.2.3")
	}
	try("alice", "alice-password", "192.0.2.1")
	for range 6 {
		try("bob", "s3cret-guess", "192.0.2.4")
	}
	clock.Advance(time.Hour)
	try("bob", "bob-password", "192.0.2.4")

	if logs.Len() == 0 {
		t.Fatal("nothing was logged; the test would prove nothing")
	}
	if !strings.Contains(logs.String(), "too many failed logins") {
		t.Errorf("locks were not logged:\n%s", logs.String())
	}
	for _, secret := range secrets {
		for _, form := range []string{secret, base64.StdEncoding.EncodeToString([]byte("alice:" + secret)),
			base64.StdEncoding.EncodeToString([]byte("bob:" + secret)), base64.StdEncoding.EncodeToString([]byte("nobody:" + secret))} {
			if strings.Contains(logs.String(), form) {
				t.Errorf("log contains %q:\n%s", form, logs.String())
			}
			if strings.Contains(responses.String(), form) {
				t.Errorf("a response contains %q:\n%s", form, responses.String())
			}
		}
	}
}

// Behind a trusted proxy, the address counted is the forwarded client's, so
// one client's failures do not lock everyone else behind the proxy.
func TestLoginLimitsBehindProxy(t *testing.T) {
	clock := &movingClock{now: fixedClock()}
	srv, err := New(backends[0].open(t), Options{Clock: clock.Now, PasswordParams: cheapParams,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")},
		LoginLimits:    auth.LimitOptions{UserFailures: 100, IPFailures: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Service().CreateUser(context.Background(), "alice", "alice-password", "alice@example.org"); err != nil {
		t.Fatal(err)
	}
	via := func(client, user, password string) int {
		req := httptest.NewRequest("PROPFIND", tree.Prefix, nil)
		req.Header.Set("Depth", "0")
		req.Header.Set("X-Forwarded-For", client)
		req.RemoteAddr = "10.0.0.1:40000"
		req.SetBasicAuth(user, password)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec.Code
	}
	for _, want := range []int{http.StatusUnauthorized, http.StatusUnauthorized, http.StatusTooManyRequests} {
		if got := via("203.0.113.1", "mallory", "guess"); got != want {
			t.Fatalf("attacker behind the proxy: status %d, want %d", got, want)
		}
	}
	if got := via("192.0.2.10", "alice", "alice-password"); got != http.StatusMultiStatus {
		t.Errorf("another client behind the same proxy: status %d, want 207", got)
	}
}
