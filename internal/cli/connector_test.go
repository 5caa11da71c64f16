package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/auth"
	"koyomi.dev/koyomi/internal/server"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

// startKoyomi runs a second Koyomi server, the remote of the connectors
// under test, with one user (password NAME-password) who has logged in once.
func startKoyomi(t *testing.T, user string) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv, err := server.New(st, server.Options{
		PasswordParams: auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	if err := srv.Service().CreateUser(ctx, user, user+"-password", ""); err != nil {
		t.Fatal(err)
	}
	if status, _ := get(t, ts, user, "/dav/calendars/"+user+"/"); status != http.StatusOK {
		t.Fatalf("first request of %s: %d", user, status)
	}
	return ts
}

func get(t *testing.T, ts *httptest.Server, user, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.URL+path, nil)
	req.SetBasicAuth(user, user+"-password")
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestConnectorCommands(t *testing.T) {
	data, _ := seed(t)
	remote := startKoyomi(t, "rem")
	calURL := remote.URL + "/dav/calendars/rem/default/"
	steps := []cliStep{
		{name: "add", stdin: "rem-password\n", args: []string{"connector", "add", "alice", "--name", "Work", "--calendar", "default",
			"--url", calURL, "--username", "rem", "--password-stdin"},
			stdout: []string{"connector 1 (Work) created for alice: two-way sync of calendar default with " + calURL + " every 15m0s"}},
		{name: "list", args: []string{"connector", "list"}, stdout: []string{"OWNER", "alice", "Work", "default", "caldav", "two-way", "idle"}},
		{name: "list of another user", args: []string{"connector", "list", "bob"}, noStdout: []string{"Work"}},
		{name: "show", args: []string{"connector", "show", "1"},
			stdout: []string{"url:", calURL, "username:", "rem", "credentials:", "password (stored encrypted)", "state:", "idle"}},

		{name: "sync", args: []string{"connector", "sync", "1"},
			stdout: []string{"run 1: ok", "pushed (changed there): 2 created, 0 updated, 0 deleted", "conflicts: 0"}},
		{name: "history", args: []string{"connector", "history", "1"}, stdout: []string{"RUN", "ok", "0/0/0", "2/0/0"}},
		{name: "no conflicts", args: []string{"connector", "conflicts", "1"}, stdout: []string{"no conflicts"}},
		{name: "show after a run", args: []string{"connector", "show", "1"}, stdout: []string{"last success (UTC):", "cache age:"}},

		{name: "stop", args: []string{"connector", "stop", "1"}, stdout: []string{"connector 1 is stopped (stopped by its owner)"}},
		{name: "no sync while stopped", args: []string{"connector", "sync", "1"}, code: 1, stderr: []string{"start it first"}},
		{name: "start", args: []string{"connector", "start", "1"}, stdout: []string{"connector 1 is idle"}},
		{name: "interval too short", args: []string{"connector", "set", "1", "--interval", "1m"}, code: 1,
			stderr: []string{"interval 1m0s (at least 5m0s)"}},
		{name: "bad interval", args: []string{"connector", "set", "1", "--interval", "soon"}, code: 1, stderr: []string{"--interval"}},
		{name: "set", args: []string{"connector", "set", "1", "--direction", "pull", "--policy", "recent", "--interval", "1h"},
			stdout: []string{"connector 1 (Work) of alice changed"}},
		{name: "set kept the rest", args: []string{"connector", "show", "1"},
			stdout: []string{"pull", "recent", "1h0m0s", "password (stored encrypted)", "Work"}},

		{name: "forbid", args: []string{"connector", "forbid", "user:alice"}, stdout: []string{"connectors forbidden for user:alice"}},
		{name: "disabled", args: []string{"connector", "show", "1"}, stdout: []string{"disabled", "disabled by an administrator"}},
		{name: "no new one", args: []string{"connector", "add", "alice", "--name", "x", "--calendar", "default", "--url", calURL},
			code: 1, stderr: []string{"disabled for this user by an administrator"}},
		{name: "no sync", args: []string{"connector", "sync", "1"}, code: 1, stderr: []string{"administrator"}},
		{name: "allow a group", args: []string{"connector", "allow", "group:staff"}, stdout: []string{"connectors allowed for group:staff"}},
		{name: "permissions", args: []string{"connector", "permissions"},
			stdout: []string{"user:alice", "forbidden", "group:staff", "allowed", `users no rule names: allowed (setting connectors = "allow")`}},
		{name: "unset", args: []string{"connector", "unset", "user:alice"}, stdout: []string{"rule for user:alice removed"}},
		{name: "back", args: []string{"connector", "show", "1"}, stdout: []string{"state:", "idle"}, noStdout: []string{"disabled"}},
		{name: "bad subject", args: []string{"connector", "allow", "alice"}, code: 1, stderr: []string{`subject "alice"`, "user:NAME"}},

		{name: "discover", stdin: "rem-password\n", args: []string{"connector", "discover", remote.URL + "/", "--username", "rem", "--password-stdin"},
			stdout: []string{"URL", calURL, "true"}},
		{name: "discover refused", stdin: "wrong-password\n", args: []string{"connector", "discover", calURL, "--username", "rem", "--password-stdin"},
			code: 1, stderr: []string{"401"}},

		{name: "ics feed", args: []string{"connector", "add", "carol", "--name", "Holidays", "--calendar", "default", "--kind", "ics",
			"--url", "https://example.org/holidays.ics"}, stdout: []string{"pull sync of calendar default"}},
		{name: "no secret flag", args: []string{"connector", "add", "alice", "--name", "x", "--calendar", "default", "--url", calURL,
			"--password", "rem-password"}, code: 1, stderr: []string{"-password"}},
		{name: "both secrets", stdin: "x\n", args: []string{"connector", "set", "1", "--password-stdin", "--token-stdin"},
			code: 1, stderr: []string{"not both"}},
		{name: "empty secret", stdin: "\n", args: []string{"connector", "set", "1", "--token-stdin"}, code: 1, stderr: []string{"empty token"}},
		{name: "missing flags", args: []string{"connector", "add", "alice", "--name", "x"}, code: 1, stderr: []string{"--calendar and --url"}},
		{name: "unknown user", args: []string{"connector", "add", "nobody", "--name", "x", "--calendar", "default", "--url", calURL},
			code: 1, stderr: []string{"no user nobody"}},
		{name: "unknown calendar", args: []string{"connector", "add", "alice", "--name", "x", "--calendar", "work", "--url", calURL},
			code: 1, stderr: []string{`calendar "work"`}},
		{name: "not an id", args: []string{"connector", "show", "one"}, code: 1, stderr: []string{"not a connector id"}},
		{name: "no such id", args: []string{"connector", "sync", "99"}, code: 1, stderr: []string{"no connector 99"}},
		{name: "no id", args: []string{"connector", "show"}, code: 1, stderr: []string{"expected ID"}},
		{name: "unknown subcommand", args: []string{"connector", "pause", "1"}, code: 1, stderr: []string{"unknown subcommand"}},

		{name: "del", args: []string{"connector", "del", "1"}, stdout: []string{"connector 1 deleted"}},
		{name: "gone", args: []string{"connector", "show", "1"}, code: 1, stderr: []string{"no connector 1"}},
	}
	// The password is never echoed, whatever the command.
	for i := range steps {
		steps[i].noStdout = append(steps[i].noStdout, "rem-password")
	}
	runCLISteps(t, data, steps)

	// The run really went over: alice's events are on the remote.
	if status, body := get(t, remote, "rem", "/dav/calendars/rem/default/lunch.ics"); status != http.StatusOK ||
		!strings.Contains(body, "SUMMARY:Lunch with Ken") {
		t.Errorf("alice's event on the remote: %d %s", status, body)
	}
	// The key file was made private, and the store holds only sealed
	// credentials.
	fi, err := os.Stat(filepath.Join(data, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("secret.key mode %v, want 0600", fi.Mode().Perm())
	}
	st, err := sqlite.Open(context.Background(), data, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.View(context.Background(), func(tx store.Tx) error {
		cs, err := tx.ListConnectors(context.Background(), "")
		for _, c := range cs {
			if len(c.Secret) > 0 && bytes.Contains(c.Secret, []byte("rem-password")) {
				t.Errorf("connector %d keeps its password in clear", c.ID)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestConnectorSecretKeyFile: credentials sealed with one key file cannot
// be used with another, and the run says so instead of sending garbage.
func TestConnectorSecretKeyFile(t *testing.T) {
	data, _ := seed(t)
	remote := startKoyomi(t, "rem")
	calURL := remote.URL + "/dav/calendars/rem/default/"
	other := filepath.Join(t.TempDir(), "other.key")
	runCLISteps(t, data, []cliStep{
		{name: "add", stdin: "rem-password\n", args: []string{"connector", "add", "alice", "--name", "Work", "--calendar", "default",
			"--url", calURL, "--username", "rem", "--password-stdin"}, stdout: []string{"created"}},
		{name: "sync with another key", args: []string{"connector", "sync", "1", "--secret-key-file", other}, code: 1,
			stdout: []string{"run 1: error", "cannot be read with this server's key"}},
		{name: "sync with the right key", args: []string{"connector", "sync", "1"}, stdout: []string{"run 2: ok"}},
	})
}

// TestServeRunsConnectors: koyomi serve runs due connectors in the
// background and stops them on shutdown.
func TestServeRunsConnectors(t *testing.T) {
	data, _ := seed(t)
	remote := startKoyomi(t, "rem")
	runCLISteps(t, data, []cliStep{
		{name: "add", stdin: "rem-password\n", args: []string{"connector", "add", "alice", "--name", "Work", "--calendar", "default",
			"--url", remote.URL + "/dav/calendars/rem/default/", "--username", "rem", "--password-stdin"}, stdout: []string{"created"}},
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan int, 1)
	go func() {
		var out, errb bytes.Buffer
		served <- Main(ctx, Env{Args: []string{"serve", "--listen", "127.0.0.1:0", "--data", data, "--log-level", "error"},
			Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	}()
	// A new connector is due at once; wait (generously) for its run.
	var history string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		_, history, _ = runCmd(t, "", "connector", "history", "1", "--data", data)
		if strings.Contains(history, " ok ") {
			break
		}
	}
	if !strings.Contains(history, " ok ") || !strings.Contains(history, "2/0/0") {
		t.Errorf("serve did not run the connector:\n%s", history)
	}
	if status, _ := get(t, remote, "rem", "/dav/calendars/rem/default/concert.ics"); status != http.StatusOK {
		t.Errorf("alice's event on the remote: %d", status)
	}
	cancel()
	if code := <-served; code != 0 {
		t.Errorf("serve exited %d after shutdown", code)
	}
}
