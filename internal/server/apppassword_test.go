package server

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/auth"
)

func TestAppPasswordAuthenticatesDAV(t *testing.T) {
	srv := newTestServer(t)
	ctx := context.Background()
	secret, p, err := srv.Service().CreateAppPassword(ctx, "alice", "phone")
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name, user, password string
		want                 int
	}{
		{"app password", "alice", secret, http.StatusMultiStatus},
		{"app password typed without dashes", "alice", strings.ToUpper(strings.ReplaceAll(secret, "-", "")), http.StatusMultiStatus},
		{"main password", "alice", "alice-password", http.StatusMultiStatus},
		{"app password as another user", "bob", secret, http.StatusUnauthorized},
	}
	for _, s := range steps {
		if rec := login(t, srv, s.user, s.password, "192.0.2.1"); rec.Code != s.want {
			t.Errorf("%s: status %d, want %d", s.name, rec.Code, s.want)
		}
	}
	list, err := srv.Service().AppPasswords(ctx, "alice")
	if err != nil || len(list) != 1 || list[0].LastUsed.IsZero() {
		t.Errorf("after use: %v, %v; want the password's last use recorded", list, err)
	}
	if err := srv.Service().RevokeAppPassword(ctx, "alice", p.ID); err != nil {
		t.Fatal(err)
	}
	if rec := login(t, srv, "alice", secret, "192.0.2.1"); rec.Code != http.StatusUnauthorized {
		t.Errorf("revoked app password: status %d, want 401", rec.Code)
	}
	if rec := login(t, srv, "alice", "alice-password", "192.0.2.1"); rec.Code != http.StatusMultiStatus {
		t.Errorf("main password after revoke: status %d, want 207", rec.Code)
	}
}

func TestAppPasswordNeverLogged(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, _ := newLimitServer(t, logger)
	ctx := context.Background()
	secret, p, err := srv.Service().CreateAppPassword(ctx, "alice", "phone")
	if err != nil {
		t.Fatal(err)
	}
	if rec := login(t, srv, "alice", secret, "192.0.2.1"); rec.Code != http.StatusMultiStatus {
		t.Fatalf("app password: status %d", rec.Code)
	}
	if err := srv.Service().RevokeAppPassword(ctx, "alice", p.ID); err != nil {
		t.Fatal(err)
	}
	if rec := login(t, srv, "alice", secret, "192.0.2.1"); rec.Code != http.StatusUnauthorized {
		t.Fatalf("revoked app password: status %d", rec.Code)
	}
	if logs.Len() == 0 {
		t.Fatal("nothing logged: the check below would prove nothing")
	}
	compact := strings.ReplaceAll(secret, "-", "")
	for _, s := range []string{secret, compact, auth.AppPasswordHash(secret)} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("logs hold %q:\n%s", s, logs.String())
		}
	}
}
