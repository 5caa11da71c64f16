package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// users is an in-memory UserLookup.
type users struct {
	mu     sync.Mutex
	hashes map[string]string
	err    error
}

func (u *users) PasswordHash(_ context.Context, name string) (string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err != nil {
		return "", u.err
	}
	h, ok := u.hashes[name]
	if !ok {
		return "", fmt.Errorf("user %q: %w", name, ErrNoSuchUser)
	}
	return h, nil
}

func (u *users) set(t *testing.T, name, password string) {
	t.Helper()
	h, err := HashPassword(password, cheapParams())
	if err != nil {
		t.Fatal(err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.hashes[name] = h
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture wires an Authenticator to fakes and counts password hashing work.
type fixture struct {
	a        *Authenticator
	users    *users
	clock    *fakeClock
	verifies atomic.Int64
	hashes   sync.Map // hash → number of verifications against it
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	f := &fixture{
		users: &users{hashes: map[string]string{}},
		clock: &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	f.users.set(t, "alice", "wonderland")
	opts.Clock = f.clock.Now
	opts.Params = cheapParams()
	if opts.Verify == nil {
		opts.Verify = func(hash, password string) (bool, error) {
			f.verifies.Add(1)
			n, _ := f.hashes.LoadOrStore(hash, new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
			return VerifyPassword(hash, password)
		}
	}
	a, err := New(f.users, opts)
	if err != nil {
		t.Fatal(err)
	}
	f.a = a
	return f
}

func (f *fixture) auth(t *testing.T, user, password string) bool {
	t.Helper()
	ok, err := f.a.Authenticate(context.Background(), user, password)
	if err != nil {
		t.Fatalf("Authenticate(%q): %v", user, err)
	}
	return ok
}

func TestAuthenticate(t *testing.T) {
	f := newFixture(t, Options{})
	tests := []struct {
		user, password string
		want           bool
	}{
		{"alice", "wonderland", true},
		{"alice", "Wonderland", false},
		{"alice", "", false},
		{"Alice", "wonderland", false},
		{"bob", "wonderland", false},
	}
	for _, tt := range tests {
		if got := f.auth(t, tt.user, tt.password); got != tt.want {
			t.Errorf("Authenticate(%q, %q) = %v; want %v", tt.user, tt.password, got, tt.want)
		}
	}
}

func TestUnknownUserDoesFullVerification(t *testing.T) {
	f := newFixture(t, Options{})
	if f.auth(t, "mallory", "guess") {
		t.Fatal("unknown user authenticated")
	}
	if n := f.verifies.Load(); n != 1 {
		t.Fatalf("unknown user cost %d verifications; want 1, as for a wrong password", n)
	}
	// The work must be against a real argon2id hash with the configured
	// parameters, not a shortcut.
	var dummy string
	f.hashes.Range(func(k, _ any) bool { dummy = k.(string); return false })
	if !strings.HasPrefix(dummy, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("dummy verification against %q; want an argon2id hash with the configured parameters", dummy)
	}
	if _, _, _, err := decodePHC(dummy); err != nil {
		t.Errorf("dummy hash is malformed: %v", err)
	}
	// Unknown users are never cached: every attempt costs the same.
	f.auth(t, "mallory", "guess")
	if n := f.verifies.Load(); n != 2 {
		t.Errorf("second unknown-user attempt: %d verifications in total; want 2", n)
	}
}

func TestLookupErrorIsReturned(t *testing.T) {
	f := newFixture(t, Options{})
	boom := errors.New("database on fire")
	f.users.err = boom
	ok, err := f.a.Authenticate(context.Background(), "alice", "wonderland")
	if ok || !errors.Is(err, boom) {
		t.Fatalf("Authenticate with failing lookup = %v, %v; want false and an error wrapping the cause", ok, err)
	}
}

func TestMalformedStoredHashIsError(t *testing.T) {
	f := newFixture(t, Options{})
	f.users.hashes["carol"] = "plaintext-oops"
	ok, err := f.a.Authenticate(context.Background(), "carol", "plaintext-oops")
	if ok || !errors.Is(err, ErrMalformedHash) {
		t.Fatalf("Authenticate against malformed hash = %v, %v; want false, ErrMalformedHash", ok, err)
	}
}

func TestCacheHitAvoidsHashing(t *testing.T) {
	f := newFixture(t, Options{})
	for range 5 {
		if !f.auth(t, "alice", "wonderland") {
			t.Fatal("correct password rejected")
		}
	}
	if n := f.verifies.Load(); n != 1 {
		t.Errorf("5 logins cost %d verifications; want 1", n)
	}
	// A wrong password must never be answered from the cache.
	if f.auth(t, "alice", "wonderlan") {
		t.Fatal("wrong password accepted")
	}
	if n := f.verifies.Load(); n != 2 {
		t.Errorf("wrong password after cached login: %d verifications; want 2", n)
	}
	// Failures are not cached either.
	f.auth(t, "alice", "wonderlan")
	if n := f.verifies.Load(); n != 3 {
		t.Errorf("repeated wrong password: %d verifications; want 3", n)
	}
}

func TestCacheExpiry(t *testing.T) {
	f := newFixture(t, Options{CacheTTL: time.Minute})
	f.auth(t, "alice", "wonderland")
	f.clock.Advance(59 * time.Second)
	f.auth(t, "alice", "wonderland")
	if n := f.verifies.Load(); n != 1 {
		t.Fatalf("within TTL: %d verifications; want 1", n)
	}
	f.clock.Advance(time.Second)
	if !f.auth(t, "alice", "wonderland") {
		t.Fatal("correct password rejected after expiry")
	}
	if n := f.verifies.Load(); n != 2 {
		t.Fatalf("after TTL: %d verifications; want 2", n)
	}
	f.auth(t, "alice", "wonderland")
	if n := f.verifies.Load(); n != 2 {
		t.Fatalf("re-cached after expiry: %d verifications; want 2", n)
	}
}

func TestDefaultTTLIsFiveMinutes(t *testing.T) {
	f := newFixture(t, Options{})
	f.auth(t, "alice", "wonderland")
	f.clock.Advance(5*time.Minute - time.Nanosecond)
	f.auth(t, "alice", "wonderland")
	f.clock.Advance(time.Nanosecond)
	f.auth(t, "alice", "wonderland")
	if n := f.verifies.Load(); n != 2 {
		t.Fatalf("%d verifications; want 2 (hit before 5m, miss at 5m)", n)
	}
}

func TestNegativeTTLDisablesCache(t *testing.T) {
	f := newFixture(t, Options{CacheTTL: -1})
	f.auth(t, "alice", "wonderland")
	f.auth(t, "alice", "wonderland")
	if n := f.verifies.Load(); n != 2 {
		t.Fatalf("%d verifications with cache disabled; want 2", n)
	}
}

func TestPasswordChangeInvalidatesCache(t *testing.T) {
	f := newFixture(t, Options{})
	f.auth(t, "alice", "wonderland")
	f.users.set(t, "alice", "looking-glass")
	if f.auth(t, "alice", "wonderland") {
		t.Fatal("old password still accepted after change")
	}
	if !f.auth(t, "alice", "looking-glass") {
		t.Fatal("new password rejected")
	}
	// Even changing back to the same password yields a new salt, hence a new
	// hash; the cache must follow the stored hash, not the plaintext.
	f.users.set(t, "alice", "wonderland")
	before := f.verifies.Load()
	if !f.auth(t, "alice", "wonderland") {
		t.Fatal("password rejected after changing back")
	}
	if f.verifies.Load() != before+1 {
		t.Error("cached result reused across a hash change")
	}
}

func TestDeletedUserIsRejected(t *testing.T) {
	f := newFixture(t, Options{})
	f.auth(t, "alice", "wonderland")
	f.users.mu.Lock()
	delete(f.users.hashes, "alice")
	f.users.mu.Unlock()
	if f.auth(t, "alice", "wonderland") {
		t.Fatal("deleted user still authenticated from cache")
	}
}

func TestForget(t *testing.T) {
	f := newFixture(t, Options{})
	f.users.set(t, "bob", "builder")
	f.auth(t, "alice", "wonderland")
	f.auth(t, "bob", "builder")
	f.a.Forget("alice")
	f.auth(t, "alice", "wonderland")
	f.auth(t, "bob", "builder")
	if n := f.verifies.Load(); n != 3 {
		t.Fatalf("%d verifications; want 3 (Forget drops alice only)", n)
	}
	f.a.Forget("nobody") // no-op, must not disturb the count
	if f.a.count != 2 {
		t.Errorf("cache holds %d entries; want 2", f.a.count)
	}
}

func TestCacheBounded(t *testing.T) {
	f := newFixture(t, Options{MaxCacheEntries: 3})
	for i := range 10 {
		name := fmt.Sprintf("u%d", i)
		f.users.set(t, name, "pw")
		f.clock.Advance(time.Second) // distinct expiry times: oldest goes first
		f.auth(t, name, "pw")
		if f.a.count > 3 {
			t.Fatalf("after %d logins the cache holds %d entries; want at most 3", i+1, f.a.count)
		}
	}
	// The most recent logins are the ones kept.
	before := f.verifies.Load()
	f.auth(t, "u9", "pw")
	f.auth(t, "u8", "pw")
	if f.verifies.Load() != before {
		t.Error("recent logins were evicted")
	}
	f.auth(t, "u0", "pw")
	if f.verifies.Load() != before+1 {
		t.Error("oldest login was not evicted")
	}
}

func TestConcurrentAuthenticate(t *testing.T) {
	f := newFixture(t, Options{})
	f.users.set(t, "bob", "builder")
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			user, pw, want := "alice", "wonderland", true
			switch i % 4 {
			case 1:
				user, pw = "bob", "builder"
			case 2:
				pw, want = "nope", false
			case 3:
				user, want = "mallory", false
			}
			ok, err := f.a.Authenticate(context.Background(), user, pw)
			if err != nil || ok != want {
				t.Errorf("Authenticate(%q, %q) = %v, %v; want %v", user, pw, ok, err, want)
			}
			if i%10 == 0 {
				f.a.Forget("alice")
			}
		})
	}
	wg.Wait()
}

func TestConcurrentIdenticalVerificationsCollapse(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	var calls atomic.Int64
	f := newFixture(t, Options{Verify: func(hash, password string) (bool, error) {
		calls.Add(1)
		started <- struct{}{}
		<-release
		return VerifyPassword(hash, password)
	}})
	const n = 8
	var wg sync.WaitGroup
	results := make(chan bool, n)
	wg.Go(func() { ok, _ := f.a.Authenticate(context.Background(), "alice", "wonderland"); results <- ok })
	<-started // the first verification is running; the others must join it
	for range n - 1 {
		wg.Go(func() { ok, _ := f.a.Authenticate(context.Background(), "alice", "wonderland"); results <- ok })
	}
	// Give the joiners time to reach the wait; a join that came too late
	// would hit the cache instead, which also costs no verification.
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	close(results)
	for ok := range results {
		if !ok {
			t.Error("a collapsed verification reported failure")
		}
	}
	if c := calls.Load(); c != 1 {
		t.Errorf("%d identical concurrent logins cost %d verifications; want 1", n, c)
	}
}

func TestWaiterHonoursContext(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	f := newFixture(t, Options{Verify: func(hash, password string) (bool, error) {
		started <- struct{}{}
		<-release
		return VerifyPassword(hash, password)
	}})
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.a.Authenticate(context.Background(), "alice", "wonderland")
	}()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ok, err := f.a.Authenticate(ctx, "alice", "wonderland")
	if ok || !errors.Is(err, context.Canceled) {
		t.Errorf("waiting with cancelled ctx = %v, %v; want false, context.Canceled", ok, err)
	}
	close(release)
	<-done
}

func TestNewRejectsBadParams(t *testing.T) {
	_, err := New(&users{}, Options{Params: Params{Memory: 1}})
	if err == nil {
		t.Fatal("New accepted invalid params")
	}
}

func TestChallenge(t *testing.T) {
	tests := []struct{ realm, want string }{
		{"Koyomi", `Basic realm="Koyomi", charset="UTF-8"`},
		{"", `Basic realm="", charset="UTF-8"`},
		{`My "home" \ cal`, `Basic realm="My \"home\" \\ cal", charset="UTF-8"`},
		{"暦\r\nX-Evil: 1", `Basic realm="暦X-Evil: 1", charset="UTF-8"`},
	}
	for _, tt := range tests {
		if got := Challenge(tt.realm); got != tt.want {
			t.Errorf("Challenge(%q) = %s; want %s", tt.realm, got, tt.want)
		}
	}
}
