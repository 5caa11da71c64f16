package auth

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// appUsers is a UserLookup with app passwords.
type appUsers struct {
	*users
	mu      sync.Mutex
	apps    map[string][]AppPassword
	touches map[int64][]time.Time
	err     error
	reads   int
}

func (u *appUsers) LookupAppPasswords(_ context.Context, user string) ([]AppPassword, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.reads++
	if u.err != nil {
		return nil, u.err
	}
	return append([]AppPassword(nil), u.apps[user]...), nil
}

func (u *appUsers) AppPasswordUsed(_ context.Context, id int64, at time.Time) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.touches[id] = append(u.touches[id], at)
	return nil
}

func (u *appUsers) revoke(user string, id int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	kept := u.apps[user][:0:0]
	for _, p := range u.apps[user] {
		if p.ID != id {
			kept = append(kept, p)
		}
	}
	u.apps[user] = kept
}

func newAppFixture(t *testing.T) (*fixture, *appUsers) {
	t.Helper()
	f := newFixture(t, Options{})
	u := &appUsers{users: f.users, apps: map[string][]AppPassword{
		"alice": {{ID: 1, Hash: AppPasswordHash("abcd-efgh")}, {ID: 2, Hash: AppPasswordHash("ijkl-mnop")}},
	}, touches: map[int64][]time.Time{}}
	a, err := New(u, Options{Clock: f.clock.Now, Params: cheapParams(), Verify: func(hash, password string) (bool, error) {
		f.verifies.Add(1)
		return VerifyPassword(hash, password)
	}})
	if err != nil {
		t.Fatal(err)
	}
	f.a = a
	return f, u
}

func TestAppPasswords(t *testing.T) {
	f, _ := newAppFixture(t)
	tests := []struct {
		user, password string
		want           bool
	}{
		{"alice", "wonderland", true},
		{"alice", "abcd-efgh", true},
		{"alice", "ABCDEFGH", true},
		{"alice", "abcd efgh", true},
		{"alice", "ijkl-mnop", true},
		{"alice", "abcd-efgi", false},
		{"alice", "", false},
		{"bob", "abcd-efgh", false},
	}
	for _, tt := range tests {
		if got := f.auth(t, tt.user, tt.password); got != tt.want {
			t.Errorf("Authenticate(%q, %q) = %v; want %v", tt.user, tt.password, got, tt.want)
		}
	}
}

func TestAppPasswordNeedsNoHashing(t *testing.T) {
	f, _ := newAppFixture(t)
	for range 3 {
		if !f.auth(t, "alice", "abcd-efgh") {
			t.Fatal("app password rejected")
		}
	}
	if n := f.verifies.Load(); n != 0 {
		t.Errorf("%d password hashes for app password logins, want 0", n)
	}
}

func TestRevokedAppPasswordFailsAtOnce(t *testing.T) {
	f, u := newAppFixture(t)
	if !f.auth(t, "alice", "abcd-efgh") {
		t.Fatal("app password rejected before revoke")
	}
	u.revoke("alice", 1)
	if f.auth(t, "alice", "abcd-efgh") {
		t.Error("revoked app password still accepted")
	}
	if !f.auth(t, "alice", "ijkl-mnop") || !f.auth(t, "alice", "wonderland") {
		t.Error("the other passwords stopped working")
	}
	if f.a.IsCached(context.Background(), "alice", "abcd-efgh") {
		t.Error("IsCached accepts a revoked app password")
	}
	if !f.a.IsCached(context.Background(), "alice", "ijkl-mnop") {
		t.Error("IsCached refuses a current app password")
	}
}

func TestAppPasswordUseRecordedOncePerMinute(t *testing.T) {
	f, u := newAppFixture(t)
	for _, step := range []time.Duration{0, 10 * time.Second, 40 * time.Second, 15 * time.Second} {
		f.clock.Advance(step)
		if !f.auth(t, "alice", "abcd-efgh") {
			t.Fatal("app password rejected")
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	// At 0 and 65s; 10s and 50s fall within the minute after 0.
	if got := len(u.touches[1]); got != 2 {
		t.Errorf("use recorded %d times, want 2: %v", got, u.touches[1])
	}
	if len(u.touches[2]) != 0 {
		t.Errorf("unused password recorded as used: %v", u.touches[2])
	}
}

func TestUnknownUserReadsAppPasswordsToo(t *testing.T) {
	f, u := newAppFixture(t)
	f.auth(t, "nobody", "abcd-efgh")
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.reads != 1 {
		t.Errorf("%d app password reads for an unknown user, want 1 as for a known one", u.reads)
	}
	if f.verifies.Load() != 1 {
		t.Errorf("%d hashes for an unknown user, want 1", f.verifies.Load())
	}
}

func TestAppPasswordLookupError(t *testing.T) {
	f, u := newAppFixture(t)
	u.err = errors.New("disk on fire")
	if _, err := f.a.Authenticate(context.Background(), "alice", "abcd-efgh"); err == nil {
		t.Error("lookup failure not reported")
	}
}

func TestAppPasswordHash(t *testing.T) {
	// SHA-256 of "abcd", the normalised form of each input.
	const want = "88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589"
	for _, in := range []string{"abcd", "ABCD", "ab-cd", " a b c d "} {
		if got := AppPasswordHash(in); got != want {
			t.Errorf("AppPasswordHash(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestCheckReasons checks that Check tells an unknown user, a wrong password
// and a revoked app password apart, and that a revoked app password is not
// accepted (nor taken as cached) even though its hash matches.
func TestCheckReasons(t *testing.T) {
	f, u := newAppFixture(t)
	u.mu.Lock()
	u.apps["alice"] = append(u.apps["alice"], AppPassword{ID: 3, Hash: AppPasswordHash("qrst-uvwx"), Revoked: true})
	u.mu.Unlock()
	tests := []struct {
		user, password string
		want           Failure
	}{
		{"alice", "wonderland", ""},
		{"alice", "abcd-efgh", ""},
		{"alice", "qrst-uvwx", RevokedAppPassword},
		{"alice", "nope", WrongPassword},
		{"nobody", "wonderland", UnknownUser},
	}
	for _, tt := range tests {
		got, err := f.a.Check(t.Context(), tt.user, tt.password)
		if err != nil || got != tt.want {
			t.Errorf("Check(%q, %q) = %q, %v; want %q", tt.user, tt.password, got, err, tt.want)
		}
		ok, err := f.a.Authenticate(t.Context(), tt.user, tt.password)
		if err != nil || ok != (tt.want == "") {
			t.Errorf("Authenticate(%q, %q) = %v, %v; want %v", tt.user, tt.password, ok, err, tt.want == "")
		}
	}
	if f.a.IsCached(t.Context(), "alice", "qrst-uvwx") {
		t.Error("a revoked app password counts as cached")
	}
	if len(u.touches[3]) != 0 {
		t.Errorf("revoked app password's use recorded: %v", u.touches[3])
	}
}
