package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/domain"
)

// blockingHandler answers 200 once released; entered reports each request
// that got in.
type blockingHandler struct {
	entered chan string
	release chan struct{}
}

func (b *blockingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.entered <- domain.Principal(r.Context())
	<-b.release
}

func limitedRequest(h http.Handler, user string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/dav/", nil)
	if user != "" {
		req = req.WithContext(domain.WithPrincipal(req.Context(), user))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestPerUserConcurrencyLimit(t *testing.T) {
	s := &Server{opts: Options{Logger: slog.New(slog.DiscardHandler)}, users: newUserLimiter(2, 100*time.Millisecond)}
	b := &blockingHandler{entered: make(chan string, 10), release: make(chan struct{})}
	h := s.perUser(b)

	// alice fills her two slots.
	var wg sync.WaitGroup
	codes := make(chan int, 10)
	for range 2 {
		wg.Go(func() { codes <- limitedRequest(h, "alice").Code })
	}
	for range 2 {
		<-b.entered
	}
	// A third waits briefly, then is refused with Retry-After.
	start := time.Now()
	rec := limitedRequest(h, "alice")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("third request: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if waited := time.Since(start); waited < 100*time.Millisecond {
		t.Errorf("refused after %v, without waiting for a slot", waited)
	}
	// Other users and requests without a principal are not held up by
	// alice's.
	wg.Go(func() { codes <- limitedRequest(h, "bob").Code })
	if who := <-b.entered; who != "bob" {
		t.Fatalf("entered: %q, want bob", who)
	}
	wg.Go(func() { codes <- limitedRequest(h, "").Code })
	if who := <-b.entered; who != "" {
		t.Fatalf("entered: %q, want the anonymous request", who)
	}
	close(b.release)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Errorf("an admitted request answered %d", c)
		}
	}
	s.users.mu.Lock()
	defer s.users.mu.Unlock()
	if len(s.users.users) != 0 {
		t.Errorf("%d idle users still tracked", len(s.users.users))
	}
}

// A request over the limit gets the slot another request frees while it
// waits.
func TestPerUserLimitWaitsForSlot(t *testing.T) {
	s := &Server{opts: Options{Logger: slog.New(slog.DiscardHandler)}, users: newUserLimiter(1, 5*time.Second)}
	b := &blockingHandler{entered: make(chan string, 10), release: make(chan struct{})}
	h := s.perUser(b)
	first := make(chan int, 1)
	go func() { first <- limitedRequest(h, "alice").Code }()
	<-b.entered
	second := make(chan int, 1)
	go func() { second <- limitedRequest(h, "alice").Code }()
	select {
	case <-b.entered:
		t.Fatal("the second request got in while the first held the only slot")
	case <-time.After(50 * time.Millisecond):
	}
	b.release <- struct{}{} // the first finishes
	if c := <-first; c != http.StatusOK {
		t.Fatalf("first: %d", c)
	}
	select {
	case <-b.entered:
	case <-time.After(2 * time.Second):
		t.Fatal("the waiting request did not get the freed slot")
	}
	b.release <- struct{}{}
	if c := <-second; c != http.StatusOK {
		t.Fatalf("second: %d", c)
	}
}

// The limit is wired after authentication for DAV and the API: with
// alice's only slot taken, her next request is refused (its deadline ends
// the wait early) while bob's is served.
func TestPerUserLimitWired(t *testing.T) {
	ctx := context.Background()
	st := backends[0].open(t)
	srv, err := New(st, Options{Clock: fixedClock, PasswordParams: cheapParams, MaxConcurrentPerUser: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		if err := srv.Service().CreateUser(ctx, u, u+"-password", ""); err != nil {
			t.Fatal(err)
		}
	}
	release, ok := srv.users.acquire(ctx, "alice")
	if !ok {
		t.Fatal("cannot take alice's slot")
	}
	for _, path := range []string{"/dav/calendars/USER/", "/api/v1/vcs"} {
		for _, user := range []string{"alice", "bob"} {
			path := strings.Replace(path, "USER", user, 1)
			req := httptest.NewRequest(http.MethodGet, path, nil)
			// Only alice's wait is cut short; bob's request gets time
			// enough on a loaded machine.
			deadline := 30 * time.Second
			if user == "alice" {
				deadline = 50 * time.Millisecond
			}
			rctx, cancel := context.WithTimeout(ctx, deadline)
			req = req.WithContext(rctx)
			req.SetBasicAuth(user, user+"-password")
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			cancel()
			want := http.StatusOK
			if user == "alice" {
				want = http.StatusServiceUnavailable
			}
			if rec.Code != want {
				t.Errorf("%s GET %s: %d, want %d", user, path, rec.Code, want)
			}
		}
	}
	release()
	if rec := request(t, srv, http.MethodGet, "/api/v1/vcs", ""); rec.Code != http.StatusOK {
		t.Errorf("after the slot is freed: %d", rec.Code)
	}
	// Unauthenticated requests are answered 401 before the limit is asked.
	if r := send(srv, "", http.MethodGet, "/dav/calendars/alice/", ""); r.code != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", r.code)
	}
}
