package auth

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func newTestLimiter(opts LimitOptions) (*Limiter, *fakeClock) {
	c := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	opts.Clock = c.Now
	return NewLimiter(opts), c
}

// A step of a limiter scenario: advance the clock, then act, then check the
// waits in force.
type limitStep struct {
	advance  time.Duration
	action   string // "fail", "refused", "succeed" or "" (only check)
	user, ip string
	userWait time.Duration // expected UserWait(user) after the action
	ipWait   time.Duration // expected IPWait(ip) after the action
}

func TestLimiterScenarios(t *testing.T) {
	opts := LimitOptions{UserFailures: 3, IPFailures: 5, Window: 10 * time.Minute, MaxBackoff: 10 * time.Second}
	fails := func(n int, user, ip string) []limitStep {
		s := make([]limitStep, n)
		for i := range s {
			s[i] = limitStep{action: "fail", user: user, ip: ip, userWait: -1, ipWait: -1}
		}
		return s
	}
	cat := func(parts ...[]limitStep) []limitStep {
		var all []limitStep
		for _, p := range parts {
			all = append(all, p...)
		}
		return all
	}
	tests := []struct {
		name  string
		steps []limitStep
	}{
		{"below threshold nothing is locked", cat(
			fails(2, "alice", "192.0.2.1"),
			[]limitStep{{user: "alice", ip: "192.0.2.1"}},
		)},
		{"threshold locks the user for one second", cat(
			fails(3, "alice", "192.0.2.1"),
			[]limitStep{
				{user: "alice", ip: "192.0.2.1", userWait: time.Second},
				{advance: time.Second, user: "alice", ip: "192.0.2.1"},
			},
		)},
		{"back-off doubles and is capped", cat(
			fails(2, "alice", "192.0.2.1"),
			[]limitStep{
				{action: "fail", user: "alice", ip: "192.0.2.1", userWait: time.Second},
				{advance: time.Second, action: "fail", user: "alice", ip: "192.0.2.2", userWait: 2 * time.Second},
				{advance: 2 * time.Second, action: "fail", user: "alice", ip: "192.0.2.3", userWait: 4 * time.Second},
				{advance: 4 * time.Second, action: "fail", user: "alice", ip: "192.0.2.4", userWait: 8 * time.Second},
				{advance: 8 * time.Second, action: "fail", user: "alice", ip: "192.0.2.5", userWait: 10 * time.Second},
				{advance: 10 * time.Second, action: "fail", user: "alice", ip: "192.0.2.6", userWait: 10 * time.Second},
				{advance: 3 * time.Second, user: "alice", ip: "192.0.2.6", userWait: 7 * time.Second},
			},
		)},
		{"the user lock holds from any address", cat(
			fails(3, "alice", "192.0.2.1"),
			[]limitStep{{user: "alice", ip: "198.51.100.7", userWait: time.Second}},
		)},
		{"success resets the user", cat(
			fails(2, "alice", "192.0.2.1"),
			[]limitStep{
				{action: "succeed", user: "alice", ip: "192.0.2.1"},
				{action: "fail", user: "alice", ip: "192.0.2.9"},
				{action: "fail", user: "alice", ip: "192.0.2.9"},
			},
		)},
		{"success during a lock keeps the lock", cat(
			fails(3, "alice", "192.0.2.1"),
			[]limitStep{{action: "succeed", user: "alice", ip: "192.0.2.1", userWait: time.Second}},
		)},
		{"success after a lock ended resets", cat(
			fails(3, "alice", "192.0.2.1"),
			[]limitStep{
				{advance: time.Second, action: "succeed", user: "alice", ip: "192.0.2.1"},
				{action: "fail", user: "alice", ip: "192.0.2.9"},
			},
		)},
		{"the window forgets failures below the threshold", cat(
			fails(2, "alice", "192.0.2.1"),
			[]limitStep{
				{advance: 10 * time.Minute, action: "fail", user: "alice", ip: "192.0.2.1"},
				{action: "fail", user: "alice", ip: "192.0.2.1"},
				{action: "fail", user: "alice", ip: "192.0.2.1", userWait: time.Second},
			},
		)},
		{"a lock is forgotten a window after it ended", cat(
			fails(3, "alice", "192.0.2.1"),
			[]limitStep{
				{advance: time.Second + 10*time.Minute, action: "fail", user: "alice", ip: "192.0.2.1"},
			},
		)},
		{"a failure soon after a lock ended grows the back-off", cat(
			fails(3, "alice", "192.0.2.1"),
			[]limitStep{
				{advance: 5 * time.Minute, action: "fail", user: "alice", ip: "192.0.2.1", userWait: 2 * time.Second},
			},
		)},
		{"the address locks independently of user names", cat(
			fails(2, "a", "192.0.2.1"), fails(2, "b", "192.0.2.1"),
			[]limitStep{
				{action: "fail", user: "c", ip: "192.0.2.1", ipWait: time.Second},
				{user: "d", ip: "192.0.2.2"},
			},
		)},
		{"refused guesses do not count against the address", cat(
			fails(3, "a", "192.0.2.1"),
			[]limitStep{
				{action: "refused", user: "a", ip: "192.0.2.1", userWait: time.Second, ipWait: 0},
				{action: "refused", user: "a", ip: "192.0.2.1", userWait: time.Second, ipWait: 0},
				{action: "fail", user: "b", ip: "192.0.2.1", ipWait: 0},
				{action: "fail", user: "c", ip: "192.0.2.1", ipWait: time.Second},
			},
		)},
		{"IPv6 addresses are grouped by /64", cat(
			fails(2, "a", "2001:db8::1"), fails(2, "b", "2001:db8::2"),
			[]limitStep{
				{action: "fail", user: "c", ip: "2001:db8::ffff:3", ipWait: time.Second},
				{user: "d", ip: "2001:db8:0:1::1"},
			},
		)},
		{"IPv4-mapped addresses count as IPv4", cat(
			fails(4, "a", "::ffff:192.0.2.1"),
			[]limitStep{{action: "fail", user: "c", ip: "192.0.2.1", ipWait: time.Second}},
		)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, clock := newTestLimiter(opts)
			for i, s := range tt.steps {
				clock.Advance(s.advance)
				switch s.action {
				case "fail":
					l.Fail(s.user, s.ip)
				case "refused":
					l.Refused(s.user, s.ip)
				case "succeed":
					l.Succeed(s.user, s.ip)
				}
				if s.userWait >= 0 {
					if got := l.UserWait(s.user); got != s.userWait {
						t.Errorf("step %d: UserWait(%q) = %v, want %v", i, s.user, got, s.userWait)
					}
				}
				if s.ipWait >= 0 {
					if got := l.IPWait(s.ip); got != s.ipWait {
						t.Errorf("step %d: IPWait(%q) = %v, want %v", i, s.ip, got, s.ipWait)
					}
				}
			}
		})
	}
}

// A name locked from one address: failed checks and refusals there lock it
// for everything from there, growing with each refusal, without touching
// the name elsewhere or the address for other names; success from there
// (once unlocked) forgets it.
func TestLimiterNameFromAddress(t *testing.T) {
	l, clock := newTestLimiter(LimitOptions{UserFailures: 3, IPFailures: 5, Window: 10 * time.Minute, MaxBackoff: time.Minute})
	const office, home = "192.0.2.1", "198.51.100.1"
	for range 3 {
		l.Fail("alice", office)
	}
	if w := l.UserFromWait("alice", office); w != time.Second {
		t.Fatalf("after 3 failures: UserFromWait = %v, want 1s", w)
	}
	if w := l.UserFromWait("alice", home); w != 0 {
		t.Errorf("from another address: UserFromWait = %v, want 0", w)
	}
	if w := l.UserFromWait("bob", office); w != 0 {
		t.Errorf("another name from the address: UserFromWait = %v, want 0", w)
	}
	for i, want := range []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second} {
		if w := l.Refused("alice", office); w != want {
			t.Errorf("refusal %d: lock %v, want %v", i+1, w, want)
		}
	}
	if w := l.IPWait(office); w != 0 {
		t.Errorf("refusals locked the address for %v", w)
	}
	clock.Advance(time.Second)
	if w := l.UserWait("alice"); w != 0 {
		t.Errorf("the name itself stays locked for %v: refusals must not grow its lock", w)
	}
	l.Succeed("alice", office)
	if w := l.UserFromWait("alice", office); w != 7*time.Second {
		t.Errorf("success during the lock lifted it: UserFromWait = %v, want 7s", w)
	}
	clock.Advance(7 * time.Second)
	l.Succeed("alice", office)
	if _, ok := l.pairs.entries[pairKey("alice", office)]; ok {
		t.Error("success after the lock kept the failures")
	}
}

// User names no account can have are kept as a hash: a flood of huge
// names holds little memory.
func TestLimiterHashesLongNames(t *testing.T) {
	l, _ := newTestLimiter(LimitOptions{UserFailures: 2})
	huge := strings.Repeat("m", 64<<10)
	l.Fail(huge, "192.0.2.1")
	l.Fail(huge, "192.0.2.1")
	if w := l.UserWait(huge); w != time.Second {
		t.Errorf("UserWait of a long name = %v, want 1s", w)
	}
	for key := range l.users.entries {
		if len(key) > 200 {
			t.Errorf("a key of %d bytes is kept", len(key))
		}
	}
	for key := range l.pairs.entries {
		if len(key) > 300 {
			t.Errorf("a pair key of %d bytes is kept", len(key))
		}
	}
}

func TestLimiterFailReturnsWaits(t *testing.T) {
	l, _ := newTestLimiter(LimitOptions{UserFailures: 2, IPFailures: 3})
	if u, ip := l.Fail("alice", "192.0.2.1"); u != 0 || ip != 0 {
		t.Errorf("first failure: waits %v, %v; want none", u, ip)
	}
	if u, ip := l.Fail("alice", "192.0.2.1"); u != time.Second || ip != 0 {
		t.Errorf("second failure: waits %v, %v; want 1s, 0", u, ip)
	}
	if u, ip := l.Fail("bob", "192.0.2.1"); u != 0 || ip != time.Second {
		t.Errorf("third failure: waits %v, %v; want 0, 1s", u, ip)
	}
}

func TestLimiterDefaults(t *testing.T) {
	l, clock := newTestLimiter(LimitOptions{})
	for range 9 {
		l.Fail("alice", "192.0.2.1")
	}
	if w := l.UserWait("alice"); w != 0 {
		t.Fatalf("after 9 failures: UserWait = %v, want 0", w)
	}
	l.Fail("alice", "192.0.2.1")
	if w := l.UserWait("alice"); w != time.Second {
		t.Fatalf("after 10 failures: UserWait = %v, want 1s", w)
	}
	for range 40 {
		clock.Advance(time.Hour / 4)
		l.Fail("alice", "192.0.2.1")
	}
	if w := l.UserWait("alice"); w != 15*time.Minute {
		t.Errorf("after a long attack: UserWait = %v, want the 15m cap", w)
	}
	// Spread out like this, failures from one address never reach 30 in
	// a window.
	if w := l.IPWait("192.0.2.1"); w != 0 {
		t.Errorf("one failure per window from an address: IPWait = %v, want 0", w)
	}
	for i := range 30 {
		if w := l.IPWait("198.51.100.1"); w != 0 {
			t.Fatalf("after %d failures from one address: IPWait = %v, want 0", i, w)
		}
		l.Fail(fmt.Sprintf("user%d", i), "198.51.100.1")
	}
	if w := l.IPWait("198.51.100.1"); w != time.Second {
		t.Errorf("after 30 failures from one address: IPWait = %v, want 1s", w)
	}
}

func TestLimiterEvictionBound(t *testing.T) {
	l, clock := newTestLimiter(LimitOptions{UserFailures: 2, IPFailures: 1000, MaxEntries: 50})
	// A locked user must survive a flood of new names.
	l.Fail("victim", "192.0.2.1")
	l.Fail("victim", "192.0.2.1")
	for i := range 500 {
		clock.Advance(time.Millisecond)
		l.Fail(fmt.Sprintf("flood%d", i), fmt.Sprintf("198.51.100.%d", i%250))
	}
	if n := len(l.users.entries); n > 50 {
		t.Errorf("%d user entries, want at most 50", n)
	}
	if n := len(l.ips.entries); n > 50 {
		t.Errorf("%d address entries, want at most 50", n)
	}
	if n := len(l.pairs.entries); n > 50 {
		t.Errorf("%d name-from-address entries, want at most 50", n)
	}
	if w := l.UserWait("victim"); w <= 0 {
		t.Error("the locked user was evicted by a flood of unlocked names")
	}
	// The most recent names are kept; the oldest went first.
	if _, ok := l.users.entries["flood499"]; !ok {
		t.Error("the newest entry was evicted")
	}
	if _, ok := l.users.entries["flood0"]; ok {
		t.Error("the oldest unlocked entry was kept")
	}
}

func TestLimiterEvictsExpiredFirst(t *testing.T) {
	l, clock := newTestLimiter(LimitOptions{UserFailures: 5, Window: time.Minute, MaxEntries: 3})
	l.Fail("old1", "192.0.2.1")
	l.Fail("old2", "192.0.2.1")
	clock.Advance(30 * time.Second)
	l.Fail("recent", "192.0.2.1")
	clock.Advance(31 * time.Second) // old1, old2 expired; recent not
	l.Fail("new", "192.0.2.1")
	if _, ok := l.users.entries["recent"]; !ok {
		t.Error("an unexpired entry was evicted while expired ones were available")
	}
	if n := len(l.users.entries); n != 2 {
		t.Errorf("%d entries, want 2 (recent, new)", n)
	}
}

func TestLimiterConcurrent(t *testing.T) {
	l, _ := newTestLimiter(LimitOptions{UserFailures: 1000, IPFailures: 1000, MaxEntries: 20})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				user := fmt.Sprintf("u%d-%d", g, i%30)
				l.Fail(user, fmt.Sprintf("192.0.2.%d", i%40))
				l.UserWait(user)
				l.IPWait("192.0.2.1")
				l.Succeed(user, "192.0.2.1")
			}
		})
	}
	wg.Wait()
	if n := len(l.users.entries); n > 20 {
		t.Errorf("%d user entries, want at most 20", n)
	}
}

func TestIsCached(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	if f.a.IsCached(ctx, "alice", "wonderland") {
		t.Fatal("IsCached before any login")
	}
	if ok, err := f.a.Authenticate(ctx, "alice", "wonderland"); !ok || err != nil {
		t.Fatalf("Authenticate = %v, %v", ok, err)
	}
	before := f.verifies.Load()
	if !f.a.IsCached(ctx, "alice", "wonderland") {
		t.Error("IsCached after a successful login = false")
	}
	for _, c := range []struct{ user, pw string }{
		{"alice", "wrong"}, {"alice", "wonderlan"}, {"bob", "wonderland"},
	} {
		if f.a.IsCached(ctx, c.user, c.pw) {
			t.Errorf("IsCached(%q, %q) = true", c.user, c.pw)
		}
	}
	if n := f.verifies.Load() - before; n != 0 {
		t.Errorf("IsCached hashed %d times, want 0", n)
	}
	f.users.set(t, "alice", "looking-glass")
	if f.a.IsCached(ctx, "alice", "wonderland") {
		t.Error("IsCached after the password changed = true")
	}
	f.clock.Advance(time.Hour)
	if f.a.IsCached(ctx, "alice", "looking-glass") {
		t.Error("IsCached of a never-verified password = true")
	}
}
