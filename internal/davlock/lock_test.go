package davlock

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for deterministic expiry.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

var ctx = context.Background()

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
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

func mustCreate(t *testing.T, m *Manager, l Lock) Lock {
	t.Helper()
	got, err := m.Create(ctx, l)
	if err != nil {
		t.Fatalf("Create(%+v): %v", l, err)
	}
	return got
}

func TestCreateAssignsTokenAndExpiry(t *testing.T) {
	clock := newFakeClock()
	m := New(clock.Now)
	owner := []byte("<D:owner><D:href>mailto:a@example.com</D:href></D:owner>")
	l := mustCreate(t, m, Lock{Root: "/cal/", Exclusive: true, Owner: owner, Timeout: time.Hour, Principal: "alice"})

	if !regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(l.Token) {
		t.Errorf("token %q is not a urn:uuid v4", l.Token)
	}
	if want := clock.Now().Add(time.Hour); !l.Expires.Equal(want) {
		t.Errorf("Expires = %v, want %v", l.Expires, want)
	}
	owner[1] = 'X' // the manager must keep its own copy
	got := locksOf(m, "/cal")
	if len(got) != 1 || string(got[0].Owner) != "<D:owner><D:href>mailto:a@example.com</D:href></D:owner>" {
		t.Errorf("Locks = %+v, want the lock with its owner unchanged", got)
	}
	if got[0].Principal != "alice" || got[0].Root != "/cal/" || !got[0].Exclusive {
		t.Errorf("stored lock = %+v", got[0])
	}

	other := mustCreate(t, m, Lock{Root: "/other", Exclusive: true})
	if other.Token == l.Token {
		t.Errorf("two locks got the same token %q", l.Token)
	}
	if !other.Expires.IsZero() {
		t.Errorf("lock without timeout expires at %v, want never", other.Expires)
	}
}

func TestCreateRejectsBadInput(t *testing.T) {
	m := New(nil)
	for _, l := range []Lock{{Root: "relative"}, {Root: ""}, {Root: "/a", Timeout: -time.Second}} {
		if _, err := m.Create(ctx, l); err == nil {
			t.Errorf("Create(%+v) succeeded", l)
		}
	}
}

func TestConflictMatrix(t *testing.T) {
	type spec struct {
		root      string
		exclusive bool
		infinite  bool
	}
	tests := []struct {
		name     string
		existing spec
		new      spec
		conflict bool
	}{
		// Same resource.
		{"excl/excl same", spec{"/a", true, false}, spec{"/a", true, false}, true},
		{"excl/shared same", spec{"/a", true, false}, spec{"/a", false, false}, true},
		{"shared/excl same", spec{"/a", false, false}, spec{"/a", true, false}, true},
		{"shared/shared same", spec{"/a", false, false}, spec{"/a", false, false}, false},
		{"excl same, trailing slash", spec{"/a/", true, false}, spec{"/a", true, false}, true},
		{"excl inf/excl inf same", spec{"/a/", true, true}, spec{"/a/", true, true}, true},
		{"shared inf/shared inf same", spec{"/a/", false, true}, spec{"/a/", false, true}, false},

		// Existing lock on an ancestor.
		{"excl depth0 ancestor", spec{"/a/", true, false}, spec{"/a/b", true, false}, false},
		{"excl inf ancestor/excl", spec{"/a/", true, true}, spec{"/a/b", true, false}, true},
		{"excl inf ancestor/shared", spec{"/a/", true, true}, spec{"/a/b", false, false}, true},
		{"shared inf ancestor/excl", spec{"/a/", false, true}, spec{"/a/b", true, false}, true},
		{"shared inf ancestor/shared", spec{"/a/", false, true}, spec{"/a/b", false, false}, false},
		{"excl inf grandparent", spec{"/a/", true, true}, spec{"/a/b/c", true, true}, true},
		{"excl inf root", spec{"/", true, true}, spec{"/a", false, false}, true},
		{"excl inf sibling prefix", spec{"/a", true, true}, spec{"/ab", true, false}, false},

		// Existing lock on a descendant.
		{"excl desc/excl depth0", spec{"/a/b", true, false}, spec{"/a/", true, false}, false},
		{"excl desc/excl inf", spec{"/a/b", true, false}, spec{"/a/", true, true}, true},
		{"excl desc/shared inf", spec{"/a/b", true, false}, spec{"/a/", false, true}, true},
		{"shared desc/excl inf", spec{"/a/b", false, false}, spec{"/a/", true, true}, true},
		{"shared desc/shared inf", spec{"/a/b", false, false}, spec{"/a/", false, true}, false},
		{"excl deep desc/excl inf", spec{"/a/b/c/d", true, true}, spec{"/a/", true, true}, true},
		{"excl desc/excl inf root", spec{"/a/b", true, false}, spec{"/", true, true}, true},
		{"excl sibling prefix/excl inf", spec{"/ab", true, false}, spec{"/a", true, true}, false},

		// Unrelated.
		{"siblings", spec{"/a/x", true, true}, spec{"/a/y", true, true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(nil)
			mustCreate(t, m, Lock{Root: tt.existing.root, Exclusive: tt.existing.exclusive, Infinite: tt.existing.infinite})
			_, err := m.Create(ctx, Lock{Root: tt.new.root, Exclusive: tt.new.exclusive, Infinite: tt.new.infinite})
			if tt.conflict {
				var le *LockedError
				if !errors.Is(err, ErrLocked) || !errors.As(err, &le) {
					t.Fatalf("Create = %v, want ErrLocked", err)
				}
				if le.Root != tt.existing.root {
					t.Errorf("conflicting root = %q, want %q", le.Root, tt.existing.root)
				}
				if n := len(locksOf(m, tt.new.root)); tt.new.root == tt.existing.root && n != 1 {
					t.Errorf("%d locks after a refused Create, want 1", n)
				}
			} else if err != nil {
				t.Fatalf("Create = %v, want success", err)
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	clock := newFakeClock()
	m := New(clock.Now)
	short := mustCreate(t, m, Lock{Root: "/a", Exclusive: true, Timeout: time.Minute})
	forever := mustCreate(t, m, Lock{Root: "/b", Exclusive: true})

	clock.Advance(59 * time.Second)
	if !m.TokenApplies(ctx, "/a", short.Token) {
		t.Fatal("lock expired early")
	}
	clock.Advance(time.Second)
	if m.TokenApplies(ctx, "/a", short.Token) {
		t.Error("lock still applies at its expiry")
	}
	if got := locksOf(m, "/a"); len(got) != 0 {
		t.Errorf("Locks after expiry = %+v", got)
	}
	if err := m.Check(ctx, "/a", false, nil); err != nil {
		t.Errorf("Check after expiry = %v", err)
	}
	if _, err := m.Create(ctx, Lock{Root: "/a", Exclusive: true}); err != nil {
		t.Errorf("Create after expiry = %v", err)
	}
	if _, err := m.Refresh(ctx, "/a", short.Token, time.Hour); !errors.Is(err, ErrNoSuchLock) {
		t.Errorf("Refresh of expired lock = %v, want ErrNoSuchLock", err)
	}

	clock.Advance(1000 * time.Hour)
	if !m.TokenApplies(ctx, "/b", forever.Token) {
		t.Error("lock without timeout expired")
	}
}

func TestRefresh(t *testing.T) {
	clock := newFakeClock()
	m := New(clock.Now)
	l := mustCreate(t, m, Lock{Root: "/c/", Infinite: true, Exclusive: true, Timeout: time.Minute})

	clock.Advance(50 * time.Second)
	got, err := m.Refresh(ctx, "/c/member.ics", l.Token, 2*time.Minute)
	if err != nil {
		t.Fatalf("Refresh through a member: %v", err)
	}
	if want := clock.Now().Add(2 * time.Minute); !got.Expires.Equal(want) || got.Timeout != 2*time.Minute {
		t.Errorf("refreshed = %v/%v, want %v/%v", got.Timeout, got.Expires, 2*time.Minute, want)
	}
	clock.Advance(90 * time.Second) // past the original expiry, within the new one
	if !m.TokenApplies(ctx, "/c", l.Token) {
		t.Error("refreshed lock expired at its old time")
	}

	got, err = m.Refresh(ctx, "/c", l.Token, 0)
	if err != nil || !got.Expires.IsZero() {
		t.Errorf("Refresh to infinite = %+v, %v", got, err)
	}

	for _, tc := range []struct{ path, token string }{
		{"/elsewhere", l.Token},
		{"/c", "urn:uuid:00000000-0000-4000-8000-000000000000"},
		{"/c", ""},
	} {
		if _, err := m.Refresh(ctx, tc.path, tc.token, time.Hour); !errors.Is(err, ErrNoSuchLock) {
			t.Errorf("Refresh(%q, %q) = %v, want ErrNoSuchLock", tc.path, tc.token, err)
		}
	}
	if _, err := m.Refresh(ctx, "/c", l.Token, -1); err == nil {
		t.Error("Refresh with a negative timeout succeeded")
	}
}

func TestRefreshDepthZeroDoesNotReachMembers(t *testing.T) {
	m := New(nil)
	l := mustCreate(t, m, Lock{Root: "/c/", Exclusive: true})
	if _, err := m.Refresh(ctx, "/c/x", l.Token, time.Hour); !errors.Is(err, ErrNoSuchLock) {
		t.Errorf("Refresh of a depth-0 lock through a member = %v, want ErrNoSuchLock", err)
	}
}

func TestUnlock(t *testing.T) {
	m := New(nil)
	a := mustCreate(t, m, Lock{Root: "/a/", Infinite: true, Exclusive: true})
	b := mustCreate(t, m, Lock{Root: "/b", Exclusive: true})

	tests := []struct {
		name, path, token string
		wantErr           error
	}{
		{"wrong path", "/b", a.Token, ErrNoSuchLock},
		{"unknown token", "/a", "urn:uuid:nope", ErrNoSuchLock},
		{"member of a depth-0 lock", "/b/x", b.Token, ErrNoSuchLock},
		{"through a member", "/a/x/y", a.Token, nil},
		{"again", "/a", a.Token, ErrNoSuchLock},
		{"direct, trailing slash", "/b/", b.Token, nil},
	}
	for _, tt := range tests {
		if err := m.Unlock(ctx, tt.path, tt.token); !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
			t.Errorf("%s: Unlock(%q, %q) = %v, want %v", tt.name, tt.path, tt.token, err, tt.wantErr)
		}
	}
	if got := locksOf(m, "/a/x"); len(got) != 0 {
		t.Errorf("locks left: %+v", got)
	}
}

func TestLocksInherited(t *testing.T) {
	m := New(nil)
	inf := mustCreate(t, m, Lock{Root: "/c/", Infinite: true, Exclusive: false})
	zero := mustCreate(t, m, Lock{Root: "/c/sub/", Exclusive: false})
	leaf := mustCreate(t, m, Lock{Root: "/c/sub/x.ics", Exclusive: false})
	mustCreate(t, m, Lock{Root: "/d/", Infinite: true, Exclusive: true})

	tests := []struct {
		path string
		want []string
	}{
		{"/c", []string{inf.Token}},
		{"/c/", []string{inf.Token}},
		{"/c/other.ics", []string{inf.Token}},
		{"/c/sub", []string{inf.Token, zero.Token}},
		{"/c/sub/x.ics", []string{inf.Token, leaf.Token}},
		{"/c/sub/y.ics", []string{inf.Token}}, // the depth-0 lock does not reach members
		{"/", nil},
		{"/cx", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, l := range locksOf(m, tt.path) {
			got = append(got, l.Token)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("Locks(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestCheck(t *testing.T) {
	m := New(nil)
	coll := mustCreate(t, m, Lock{Root: "/c/", Infinite: true, Exclusive: true, Principal: "alice"})
	leaf := mustCreate(t, m, Lock{Root: "/d/x.ics", Exclusive: true, Principal: "bob"})
	s1 := mustCreate(t, m, Lock{Root: "/s/", Exclusive: false, Infinite: true, Principal: "alice"})
	s2 := mustCreate(t, m, Lock{Root: "/s/y.ics", Exclusive: false, Principal: "bob"})
	zero := mustCreate(t, m, Lock{Root: "/z/", Exclusive: true, Principal: "alice"})

	tests := []struct {
		name      string
		principal string
		path      string
		infinite  bool
		submitted []string
		wantRoot  string // "" means allowed
	}{
		{"unlocked", "", "/free.ics", false, nil, ""},
		{"locked root, no token", "", "/c/", false, nil, "/c/"},
		{"locked root, token", "", "/c", false, []string{coll.Token}, ""},
		{"member of locked collection, no token", "", "/c/a/b.ics", false, nil, "/c/"},
		{"member of locked collection, token", "", "/c/a/b.ics", false, []string{coll.Token}, ""},
		{"wrong token", "", "/c/a.ics", false, []string{leaf.Token, "urn:uuid:bogus"}, "/c/"},
		{"token among others", "", "/c/a.ics", false, []string{"DAV:no-lock", coll.Token}, ""},
		{"delete parent of locked member, no token", "", "/d/", true, nil, "/d/x.ics"},
		{"delete parent of locked member, token", "", "/d/", true, []string{leaf.Token}, ""},
		{"depth-0 change of parent of locked member", "", "/d/", false, nil, ""},
		{"delete above two locks, one token", "", "/", true, []string{coll.Token}, "/d/x.ics"},
		{"delete above two locks, both tokens", "", "/", true, []string{coll.Token, leaf.Token, s1.Token, zero.Token}, ""},
		{"shared: either token", "", "/s/y.ics", false, []string{s2.Token}, ""},
		{"shared: inherited token", "", "/s/y.ics", false, []string{s1.Token}, ""},
		{"shared: no token", "", "/s/y.ics", false, nil, "/s/"},
		{"depth-0 lock does not cover member", "", "/z/m.ics", false, nil, ""},
		{"depth-0 lock covers collection", "", "/z", false, nil, "/z/"},
		{"depth-0 collection, delete with token", "", "/z/", true, []string{zero.Token}, ""},
		{"creator's token", "alice", "/c/a.ics", false, []string{coll.Token}, ""},
		{"someone else's token", "bob", "/c/a.ics", false, []string{coll.Token}, "/c/"},
		{"shared: own lock among others'", "bob", "/s/y.ics", false, []string{s1.Token, s2.Token}, ""},
		{"shared: only another's", "bob", "/s/y.ics", false, []string{s1.Token}, "/s/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.CheckAs(ctx, tt.principal, tt.path, tt.infinite, tt.submitted)
			if tt.wantRoot == "" {
				if err != nil {
					t.Fatalf("CheckAs = %v, want nil", err)
				}
				return
			}
			var le *LockedError
			if !errors.Is(err, ErrLocked) || !errors.As(err, &le) {
				t.Fatalf("CheckAs = %v, want ErrLocked", err)
			}
			if le.Root != tt.wantRoot {
				t.Errorf("locked root = %q, want %q", le.Root, tt.wantRoot)
			}
		})
	}
	if err := m.Check(ctx, "/c/a.ics", false, []string{coll.Token}); err != nil {
		t.Errorf("Check ignores principals, got %v", err)
	}
}

func TestDeleteAndMove(t *testing.T) {
	m := New(nil)
	parent := mustCreate(t, m, Lock{Root: "/dst/", Infinite: true, Exclusive: false})
	src := mustCreate(t, m, Lock{Root: "/src/", Infinite: true, Exclusive: true})
	srcMember := mustCreate(t, m, Lock{Root: "/srcx", Exclusive: true})
	dst := mustCreate(t, m, Lock{Root: "/dst/new/", Exclusive: false})
	dstMember := mustCreate(t, m, Lock{Root: "/dst/new/m.ics", Exclusive: false})
	ancestor := mustCreate(t, m, Lock{Root: "/", Exclusive: true}) // depth 0: only "/" itself

	m.Move(ctx, "/src", "/dst/new/")

	for _, l := range []Lock{src, dst, dstMember} {
		if m.TokenApplies(ctx, l.Root, l.Token) {
			t.Errorf("lock on %s survived the move", l.Root)
		}
	}
	for _, l := range []Lock{parent, srcMember, ancestor} {
		if !m.TokenApplies(ctx, l.Root, l.Token) {
			t.Errorf("unrelated lock on %s was dropped", l.Root)
		}
	}
	// The moved resource now sits under the destination's parent lock.
	if got := locksOf(m, "/dst/new/m.ics"); len(got) != 1 || got[0].Token != parent.Token {
		t.Errorf("Locks at destination = %+v, want the parent's lock", got)
	}

	m.Delete(ctx, "/dst")
	if m.TokenApplies(ctx, "/dst", parent.Token) {
		t.Error("Delete left a lock rooted at the deleted path")
	}
	m.Delete(ctx, "/")
	if got := locksOf(m, "/srcx"); len(got) != 0 {
		t.Errorf("Delete(\"/\") left %+v", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	clock := newFakeClock()
	m := New(clock.Now)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			root := fmt.Sprintf("/r%d/", i)
			for range 50 {
				l, err := m.Create(ctx, Lock{Root: root, Infinite: true, Exclusive: true, Timeout: time.Second})
				if err != nil {
					t.Errorf("Create: %v", err)
					return
				}
				_ = m.Check(ctx, root+"x", false, []string{l.Token})
				_ = locksOf(m, root)
				clock.Advance(time.Millisecond)
				if err := m.Unlock(ctx, root, l.Token); err != nil {
					t.Errorf("Unlock: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestParseTimeout(t *testing.T) {
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", DefaultTimeout},
		{"Second-3600", time.Hour},
		{"second-60", time.Minute},
		{"Second-1", time.Second},
		{"Infinite", MaxTimeout},
		{"Infinite, Second-4100000000", MaxTimeout},
		{"Second-4100000000", MaxTimeout},
		{"Second-99999999999999999999999", MaxTimeout},
		{"Second-0", DefaultTimeout},
		{"Second-", DefaultTimeout},
		{"Second--5", DefaultTimeout},
		{"Second-12a", DefaultTimeout},
		{"Minute-5", DefaultTimeout},
		{"Minute-5, Second-120", 2 * time.Minute},
		{"  Second-30  ,Infinite", 30 * time.Second},
		{"garbage", DefaultTimeout},
	}
	for _, tt := range tests {
		if got := ParseTimeout(tt.header); got != tt.want {
			t.Errorf("ParseTimeout(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

// locksOf is Locks for tests of the in-memory manager, which cannot fail.
func locksOf(m *Manager, p string) []Lock {
	locks, _ := m.Locks(ctx, p)
	return locks
}
