package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run executes one command line with stdin as standard input.
func runCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := Env{Args: args, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(string) string { return "" }}
	code = Main(context.Background(), env)
	return code, out.String(), errb.String()
}

// initStore creates a store with "koyomi init" and returns its data
// directory.
func initStore(t *testing.T) string {
	t.Helper()
	data := t.TempDir()
	if code, stdout, stderr := runCmd(t, "", "init", "--data", data); code != 0 || !strings.Contains(stdout, "created a store at "+data) {
		t.Fatalf("init: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	return data
}

func TestUserLifecycle(t *testing.T) {
	data := initStore(t)
	steps := []struct {
		name     string
		stdin    string
		args     []string
		code     int
		stdout   string // substring of standard output
		stderr   string // substring of standard error
		noStdout string // must not appear in standard output
	}{
		{name: "add", stdin: "s3cret-password\n", args: []string{"user", "add", "alice", "--data", data, "--email", "alice@example.org"},
			stdout: "user alice created"},
		{name: "add without newline", stdin: "password1", args: []string{"user", "add", "bob", "--data", data, "--display", "Bob B."}, stdout: "user bob created"},
		{name: "set display", args: []string{"user", "set", "alice", "--display", "ユーザA", "--data", data}, stdout: "display name of alice is now ユーザA"},
		{name: "set nothing", args: []string{"user", "set", "alice", "--data", data}, code: 1, stderr: "nothing to change"},
		{name: "set missing", args: []string{"user", "set", "nobody", "--display", "x", "--data", data}, code: 1, stderr: "no user nobody"},
		{name: "set phone", args: []string{"user", "set", "alice", "--phone", "+81 3 1234 5678", "--data", data}, stdout: `phone number of alice is now "+81 3 1234 5678"`},
		{name: "set phone with control", args: []string{"user", "set", "alice", "--phone", "1\x01", "--data", data}, code: 1, stderr: "phone"},
		{name: "clear phone", args: []string{"user", "set", "alice", "--phone", "", "--data", data}, stdout: `phone number of alice is now ""`},
		{name: "taken email", stdin: "password1\n", args: []string{"user", "add", "dave", "--data", data, "--email", "ALICE@example.org"}, code: 1, stderr: "another user has the address"},
		{name: "set email taken", args: []string{"user", "set", "bob", "--email", "Alice@Example.org", "--data", data}, code: 1, stderr: "another user has the address"},
		{name: "set email invalid", args: []string{"user", "set", "bob", "--email", "bob at example", "--data", data}, code: 1, stderr: "no e-mail address"},
		{name: "set email", args: []string{"user", "set", "bob", "--email", "bob@example.org", "--data", data}, stdout: `e-mail address of bob is now "bob@example.org"`},
		{name: "list email", args: []string{"user", "list", "--data", data}, stdout: "bob@example.org"},
		{name: "clear email", args: []string{"user", "set", "bob", "--email", "", "--data", data}, stdout: `e-mail address of bob is now ""`},
		{name: "list cleared email", args: []string{"user", "list", "--data", data}, noStdout: "bob@example.org"},
		{name: "own email again", args: []string{"user", "set", "alice", "--email", "alice@example.org", "--data", data}, stdout: `e-mail address of alice is now "alice@example.org"`},
		{name: "list display", args: []string{"user", "list", "--data", data}, stdout: "ユーザA"},
		{name: "list display of add", args: []string{"user", "list", "--data", data}, stdout: "Bob B."},
		{name: "list", args: []string{"user", "list", "--data", data}, stdout: "alice@example.org"},
		{name: "duplicate", stdin: "other-password\n", args: []string{"user", "add", "alice", "--data", data},
			code: 1, stderr: "koyomi: user alice already exists"},
		{name: "empty password", stdin: "\n", args: []string{"user", "add", "carol", "--data", data}, code: 1, stderr: "empty password"},
		{name: "no password", stdin: "", args: []string{"user", "add", "carol", "--data", data}, code: 1, stderr: "password"},
		{name: "no name", stdin: "password1\n", args: []string{"user", "add", "--data", data}, code: 1, stderr: "expected exactly one user name"},
		{name: "passwd", stdin: "new-password\n", args: []string{"user", "passwd", "alice", "--data", data}, stdout: "password of alice changed"},
		{name: "passwd missing", stdin: "new-password\n", args: []string{"user", "passwd", "nobody", "--data", data}, code: 1, stderr: "no user nobody"},
		{name: "del without a terminal", args: []string{"user", "del", "bob", "--data", data}, code: 1, stderr: "give --yes"},
		{name: "del", args: []string{"user", "del", "bob", "--yes", "--data", data}, stdout: "user bob moved to the trash"},
		{name: "name in the trash", stdin: "password1\n", args: []string{"user", "add", "bob", "--data", data}, code: 1, stderr: "koyomi trash purge bob"},
		{name: "del missing", args: []string{"user", "del", "bob", "--yes", "--data", data}, code: 1, stderr: "no user bob"},
		{name: "list after del", args: []string{"user", "list", "--data", data}, stdout: "alice", noStdout: "bob"},
		{name: "unknown subcommand", args: []string{"user", "rename", "--data", data}, code: 1, stderr: "unknown subcommand"},
	}
	for _, s := range steps {
		code, stdout, stderr := runCmd(t, s.stdin, s.args...)
		if code != s.code {
			t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", s.name, code, s.code, stdout, stderr)
		}
		if !strings.Contains(stdout, s.stdout) {
			t.Errorf("%s: stdout %q lacks %q", s.name, stdout, s.stdout)
		}
		if !strings.Contains(stderr, s.stderr) {
			t.Errorf("%s: stderr %q lacks %q", s.name, stderr, s.stderr)
		}
		if s.noStdout != "" && strings.Contains(stdout, s.noStdout) {
			t.Errorf("%s: stdout %q holds %q", s.name, stdout, s.noStdout)
		}
	}
}

func TestListShowsHeaderAndUser(t *testing.T) {
	data := initStore(t)
	if code, _, stderr := runCmd(t, "password1\n", "user", "add", "alice", "--data", data); code != 0 {
		t.Fatalf("add: %s", stderr)
	}
	_, stdout, _ := runCmd(t, "", "user", "list", "--data", data)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME") || !strings.HasPrefix(lines[1], "alice ") {
		t.Errorf("list output:\n%s", stdout)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "koyomi.toml")
	if err := os.WriteFile(cfg, []byte("listen = \"127.0.0.1:0\"\nlisten_adress = \"oops\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		stderr []string
	}{
		{"unknown key", []string{"user", "list", "--config", cfg, "--data", dir}, []string{"listen_adress", "unknown key"}},
		{"unknown key for serve", []string{"serve", "--config", cfg, "--data", dir}, []string{"listen_adress"}},
		{"missing config file", []string{"user", "list", "--config", filepath.Join(dir, "none.toml"), "--data", dir}, []string{"none.toml"}},
		{"listen without port", []string{"serve", "--listen", "localhost", "--data", dir}, []string{"listen", "localhost", "host:port"}},
		{"listen garbage", []string{"serve", "--listen", "::::", "--data", dir}, []string{"listen"}},
		{"unknown flag", []string{"user", "list", "--bogus", "--data", dir}, []string{"bogus"}},
		{"unknown command", []string{"frobnicate"}, []string{`unknown command "frobnicate"`}},
		{"no command", nil, []string{"no command given"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCmd(t, "", tt.args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1; stderr: %s", code, stderr)
			}
			for _, want := range tt.stderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr %q lacks %q", stderr, want)
				}
			}
		})
	}
}

// TestServeListenFailure checks that an address that cannot be bound is
// reported, not a hang: the port is taken by another listener.
func TestServeListenFailure(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb bytes.Buffer
	code := Main(ctx, Env{Args: []string{"serve", "--listen", "256.1.1.1:8008", "--data", dir},
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	if code != 1 || !strings.Contains(errb.String(), "256.1.1.1:8008") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}

func TestHelp(t *testing.T) {
	code, stdout, _ := runCmd(t, "", "help")
	if code != 0 || !strings.Contains(stdout, "user add NAME") {
		t.Errorf("help: exit %d\n%s", code, stdout)
	}
}

// The minimum password length is a setting; user add and user passwd
// refuse a shorter password with both lengths.
func TestMinPasswordLength(t *testing.T) {
	data := initStore(t)
	runCLISteps(t, data, []cliStep{
		{name: "too short", stdin: "seven77\n", args: []string{"user", "add", "zed"}, code: 1,
			stderr: []string{"password: too short: 7 characters, at least 8"}},
		{name: "lowered", stdin: "seven77\n", args: []string{"user", "add", "zed", "--min-password-length", "6"}, stdout: []string{"user zed created"}},
		{name: "passwd too short", stdin: "short\n", args: []string{"user", "passwd", "zed"}, code: 1,
			stderr: []string{"at least 8"}},
		{name: "passwd raised", stdin: "eight888\n", args: []string{"user", "passwd", "zed", "--min-password-length", "10"}, code: 1,
			stderr: []string{"8 characters, at least 10"}},
		{name: "passwd", stdin: "eight888\n", args: []string{"user", "passwd", "zed"}, stdout: []string{"password of zed changed"}},
	})
}
