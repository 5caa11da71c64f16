package server

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestLoggedName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"alice", "alice"},
		{"Zoë", "Zoë"},
		{"a\nb\x1b[31m", `a\nb\x1b[31m`},
		{strings.Repeat("x", 80), strings.Repeat("x", 80)},
		{strings.Repeat("x", 81), strings.Repeat("x", 80) + "... (81 characters)"},
		{strings.Repeat("é", 100000), strings.Repeat("é", 80) + "... (100000 characters)"},
	} {
		if got := loggedName(tc.in); got != tc.want {
			t.Errorf("loggedName(%.20q) = %.120q, want %.120q", tc.in, got, tc.want)
		}
	}
}

// A user name sent with failed logins reaches the log clipped and escaped:
// however long, and whatever it holds, each record stays one short line.
func TestLoginLogClipsUserNames(t *testing.T) {
	var logs bytes.Buffer
	srv, _ := newLimitServer(t, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	name := "mallory\n{\"level\":\"INFO\",\"msg\":\"forged\"}" + strings.Repeat("m", 50000)
	for range 4 {
		if rec := login(t, srv, name, "guess", "203.0.113.9"); rec.Code != http.StatusUnauthorized && rec.Code != http.StatusTooManyRequests {
			t.Fatalf("status %d", rec.Code)
		}
	}
	if !strings.Contains(logs.String(), "too many failed logins") {
		t.Fatalf("the lock was not logged:\n%.2000s", logs.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if len(line) > 1000 {
			t.Errorf("a log record is %d bytes long: %.200s...", len(line), line)
		}
		if strings.Contains(line, `"msg":"forged"`) {
			t.Errorf("the user name forged a record: %s", line)
		}
	}
}
