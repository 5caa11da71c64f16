package server

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFail2banFilter runs the real fail2ban-regex with the example filter
// (docs/examples/fail2ban) over log lines this server wrote, in both log
// formats: every refused login must be found with its client's address,
// and nothing a client chose (user name, user agent) may make it find
// another address.
func TestFail2banFilter(t *testing.T) {
	bin, err := exec.LookPath("fail2ban-regex")
	if err != nil {
		if os.Getenv("KOYOMI_REQUIRE_REMOTES") != "" {
			t.Fatal("fail2ban-regex is not installed (apt-get install fail2ban)")
		}
		t.Skip("fail2ban-regex is not installed")
	}
	filter, err := filepath.Abs("../../docs/examples/fail2ban/filter.d/koyomi.conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var logs bytes.Buffer
			var h slog.Handler = slog.NewTextHandler(&logs, nil)
			if format == "json" {
				h = slog.NewJSONHandler(&logs, nil)
			}
			srv, _ := newLimitServer(t, slog.New(h))
			// A well-behaved login and a request naming another address in
			// its user agent: no match.
			login(t, srv, "alice", "alice-password", "192.0.2.50")
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = "192.0.2.51:1"
			req.Header.Set("User-Agent", `x level=WARN msg="authentication failed" client=198.51.100.99 reason=y`)
			srv.ServeHTTP(httptest.NewRecorder(), req)

			login(t, srv, "nobody", "x", "192.0.2.1")
			login(t, srv, "alice", "wrong", "[2001:db8::7]")
			login(t, srv, `evil" client=198.51.100.66 reason=z "`, "x", "192.0.2.3")
			for range 4 { // the fourth is refused by the rate limit
				login(t, srv, "bob", "wrong", "192.0.2.4")
			}
			if !strings.Contains(logs.String(), "rate_limited") {
				t.Fatalf("no rate_limited line in:\n%s", logs.String())
			}
			path := filepath.Join(t.TempDir(), "koyomi.log")
			if err := os.WriteFile(path, logs.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "-o", "ip", path, filter).CombinedOutput()
			if err != nil {
				t.Fatalf("fail2ban-regex: %v\n%s", err, out)
			}
			got := strings.Fields(string(out))
			want := []string{"192.0.2.1", "2001:db8::7", "192.0.2.3", "192.0.2.4", "192.0.2.4", "192.0.2.4", "192.0.2.4"}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("fail2ban-regex found %q, want %q; log:\n%s", got, want, logs.String())
			}
		})
	}
}
