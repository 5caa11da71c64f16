package cli

import (
	"regexp"
	"strings"
	"testing"
)

func TestAppPasswordCommands(t *testing.T) {
	data := initStore(t)
	if code, _, stderr := runCmd(t, "password1\n", "user", "add", "alice", "--data", data); code != 0 {
		t.Fatalf("user add: %s", stderr)
	}
	secretRE := regexp.MustCompile(`(?m)^\s+([a-z2-7]{4}(?:-[a-z2-7]{4}){9})$`)

	code, stdout, stderr := runCmd(t, "", "user", "app-password", "add", "alice", "phone", "--data", data)
	if code != 0 {
		t.Fatalf("add: exit %d: %s", code, stderr)
	}
	m := secretRE.FindStringSubmatch(stdout)
	if m == nil || !strings.Contains(stdout, "app password 1 (phone) of alice created") {
		t.Fatalf("add output lacks the id or the secret:\n%s", stdout)
	}
	secret := m[1]
	if code, _, stderr := runCmd(t, "", "user", "app-password", "add", "alice", "laptop", "--data", data); code != 0 {
		t.Fatalf("second add: %s", stderr)
	}

	_, stdout, _ = runCmd(t, "", "user", "app-password", "list", "alice", "--data", data)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") ||
		!regexp.MustCompile(`^1\s+phone\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+never$`).MatchString(lines[1]) ||
		!strings.HasPrefix(lines[2], "2 ") {
		t.Errorf("list output:\n%s", stdout)
	}
	if strings.Contains(stdout, secret) {
		t.Error("list shows the secret")
	}

	steps := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"revoke", []string{"revoke", "alice", "1"}, 0, "app password 1 of alice revoked", ""},
		{"revoke again", []string{"revoke", "alice", "1"}, 1, "", "alice has no app password 1"},
		{"revoke bad id", []string{"revoke", "alice", "one"}, 1, "", "not an app password id"},
		{"add unknown user", []string{"add", "bob", "phone"}, 1, "", "no user bob"},
		{"list unknown user", []string{"list", "bob"}, 1, "", "no user bob"},
		{"add empty label", []string{"add", "alice", " "}, 1, "", "label"},
		{"add missing label", []string{"add", "alice"}, 1, "", "expected USER LABEL"},
		{"list missing user", []string{"list"}, 1, "", "expected USER"},
		{"no subcommand", nil, 1, "", "expected add, list or revoke"},
		{"unknown subcommand", []string{"rotate", "alice"}, 1, "", "unknown subcommand"},
	}
	for _, s := range steps {
		args := append(append([]string{"user", "app-password"}, s.args...), "--data", data)
		code, stdout, stderr := runCmd(t, "", args...)
		if code != s.code || !strings.Contains(stdout, s.stdout) || !strings.Contains(stderr, s.stderr) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d, %q, %q",
				s.name, code, stdout, stderr, s.code, s.stdout, s.stderr)
		}
	}

	_, stdout, _ = runCmd(t, "", "user", "app-password", "list", "alice", "--data", data)
	if strings.Contains(stdout, "phone") || !strings.Contains(stdout, "laptop") {
		t.Errorf("list after revoke:\n%s", stdout)
	}
}
