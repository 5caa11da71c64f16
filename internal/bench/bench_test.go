package bench

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/auth"
	"koyomi.dev/koyomi/internal/server"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

// newKoyomi serves a real Koyomi over a temporary SQLite store with user
// alice (password "alice-password").
func newKoyomi(t *testing.T) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cheap := auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	srv, err := server.New(st, server.Options{PasswordParams: cheap, MaxResourceSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Service().CreateUser(ctx, "alice", "alice-password", "alice@example.org"); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts
}

func smallConfig(url string) *Config {
	return &Config{URL: url, User: "alice", Password: "alice-password", Create: true, Events: 200, Contacts: 50,
		RandSeed: 7, Requests: 6, Concurrency: []int{1, 4}, PhaseConcurrency: 2, Phases: PhaseNames}
}

func TestAllPhasesAgainstKoyomi(t *testing.T) {
	ts := newKoyomi(t)
	cfg := smallConfig(ts.URL)
	cfg.Floor = true
	var log bytes.Buffer
	rep, err := Run(context.Background(), cfg, &log)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, log.String())
	}
	seen := map[string]bool{}
	for _, r := range rep.Results {
		if r.Count == 0 {
			t.Errorf("%s %s c=%d ran no requests", r.Target, r.Phase, r.Concurrency)
		}
		if r.Target == "floor" {
			if r.Errors > 0 {
				t.Errorf("floor %s: %d errors: %v", r.Phase, r.Errors, r.ErrorSample)
			}
			continue
		}
		seen[r.Phase] = true
		if r.Errors > 0 || r.Wrong > 0 {
			t.Errorf("%s c=%d: %d errors %v, %d wrong %v", r.Phase, r.Concurrency, r.Errors, r.ErrorSample, r.Wrong, r.WrongSample)
		}
	}
	for _, p := range PhaseNames {
		if !seen[p] {
			t.Errorf("phase %s has no result", p)
		}
	}
	var table bytes.Buffer
	WriteTable(&table, rep)
	if !strings.Contains(table.String(), "expand-month") || !strings.Contains(table.String(), "floor") {
		t.Errorf("table lacks rows:\n%s", table.String())
	}
	if t.Failed() {
		t.Log(log.String())
	}
}
