package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/store/postgres/pgtest"
)

// Stores are created only on purpose: every command but serve, migrate and
// init refuses a missing store, names the place it looked and says what to
// do, and creates nothing there.
func TestCommandsRefuseMissingStore(t *testing.T) {
	// Run from another directory with no --data: the default ./koyomi-data
	// is not there.
	cwd := t.TempDir()
	t.Chdir(cwd)
	defaultDir := filepath.Join(cwd, "koyomi-data")
	typo := filepath.Join(t.TempDir(), "typo")
	tests := []struct {
		name string
		args []string
		dir  string // the directory the message must name and that must not appear
	}{
		{"user add from another directory", []string{"user", "add", "zed"}, defaultDir},
		{"user list", []string{"user", "list", "--data", typo}, typo},
		{"user passwd", []string{"user", "passwd", "zed", "--data", typo}, typo},
		{"user app-password list", []string{"user", "app-password", "list", "zed", "--data", typo}, typo},
		{"check", []string{"check", "--data", typo}, typo},
		{"group list", []string{"group", "list", "--data", typo}, typo},
		{"group member list", []string{"group", "member", "list", "g", "--data", typo}, typo},
		{"share list", []string{"share", "list", "a", "c", "--data", typo}, typo},
		{"delegate list", []string{"delegate", "list", "a", "--data", typo}, typo},
		{"link list", []string{"link", "list", "a", "--data", typo}, typo},
		{"vc list", []string{"vc", "list", "a", "--data", typo}, typo},
		{"connector list", []string{"connector", "list", "--data", typo}, typo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, "password1\n", tt.args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			for _, want := range []string{"koyomi: using " + tt.dir + "\n", "no store at " + tt.dir, `run "koyomi init"`, "--data DIR or --store URL"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if strings.Contains(stdout, "problems") || strings.Contains(stdout, "created") {
				t.Errorf("stdout claims work done: %s", stdout)
			}
			if _, err := os.Stat(tt.dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s was created (stat: %v)", tt.dir, err)
			}
		})
	}
}

// koyomi init creates the store and says where; serve and migrate may
// create one too; everything else then finds it.
func TestInitCreatesStore(t *testing.T) {
	cwd := t.TempDir()
	t.Chdir(cwd)
	data := filepath.Join(cwd, "koyomi-data")
	code, stdout, stderr := runCmd(t, "", "init")
	if code != 0 || !strings.Contains(stdout, "created a store at "+data) || !strings.Contains(stderr, "koyomi: using "+data) {
		t.Fatalf("init: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "database schema migrated") || strings.Count(stderr, "database schema migrated") != 1 {
		t.Errorf("init should log one migration line:\n%s", stderr)
	}
	code, stdout, _ = runCmd(t, "", "init")
	if code != 0 || !strings.Contains(stdout, "already exists at "+data) {
		t.Errorf("second init: exit %d: %s", code, stdout)
	}
	if code, stdout, stderr := runCmd(t, "password1\n", "user", "add", "zed"); code != 0 || !strings.Contains(stdout, "user zed created") {
		t.Errorf("user add after init: exit %d\n%s%s", code, stdout, stderr)
	}
	other := filepath.Join(t.TempDir(), "migrated")
	if code, stdout, stderr := runCmd(t, "", "migrate", "--data", other); code != 0 || !strings.Contains(stdout, "schema is up to date") {
		t.Errorf("migrate on a new directory: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := runCmd(t, "", "user", "list", "--data", other); code != 0 {
		t.Errorf("user list after migrate: %s", stderr)
	}
}

// On PostgreSQL a database without Koyomi's schema is no store; init
// creates the schema; the password of a store URL is never shown.
func TestPostgresStoreOnPurpose(t *testing.T) {
	dsn := pgtest.Database(t)
	code, _, stderr := runCmd(t, "", "user", "list", "--store", dsn)
	if code != 1 || !strings.Contains(stderr, "has no Koyomi schema") || !strings.Contains(stderr, "koyomi init") {
		t.Fatalf("user list on an empty database: exit %d\n%s", code, stderr)
	}
	if code, stdout, stderr := runCmd(t, "", "init", "--store", dsn); code != 0 || !strings.Contains(stdout, "created a store at") {
		t.Fatalf("init: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := runCmd(t, "", "user", "list", "--store", dsn); code != 0 || !strings.Contains(stderr, "koyomi: using postgres://") {
		t.Errorf("user list after init: exit %d\n%s", code, stderr)
	}
	withPassword := strings.Replace(dsn, "postgres://postgres@", "postgres://postgres:hunter22@", 1)
	_, _, stderr = runCmd(t, "", "user", "list", "--store", withPassword)
	if strings.Contains(stderr, "hunter22") || !strings.Contains(stderr, "koyomi: using postgres://postgres:xxxxx@") {
		t.Errorf("the password shows, or the store is not named:\n%s", stderr)
	}
}

func TestStoreCopyRefusals(t *testing.T) {
	typo := filepath.Join(t.TempDir(), "typo")
	dst := filepath.Join(t.TempDir(), "dst")
	code, stdout, stderr := runCmd(t, "", "store", "copy", "--from", "sqlite:"+typo, "--to", "sqlite:"+dst)
	if code != 1 || strings.Contains(stdout, "copied") || !strings.Contains(stderr, "no store at "+typo) || !strings.Contains(stderr, "check --from") {
		t.Errorf("missing source: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for _, dir := range []string{typo, dst} {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s was created (stat: %v)", dir, err)
		}
	}
	empty := initStore(t)
	code, stdout, stderr = runCmd(t, "", "store", "copy", "--from", "sqlite:"+empty, "--to", "sqlite:"+dst)
	if code != 1 || strings.Contains(stdout, "copied") || !strings.Contains(stderr, "is empty") {
		t.Errorf("empty source: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the destination was created for an empty source (stat: %v)", err)
	}
}

// syncBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A running server holds its store: store copy refuses it until the
// server stops, unless --force.
func TestStoreCopyRefusesServedSource(t *testing.T) {
	data := initStore(t)
	if code, _, stderr := runCmd(t, "password1\n", "user", "add", "alice", "--data", data); code != 0 {
		t.Fatal(stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	served := make(chan int, 1)
	go func() {
		served <- Main(ctx, Env{Args: []string{"serve", "--listen", "127.0.0.1:0", "--data", data},
			Stdin: strings.NewReader(""), Stdout: &logs, Stderr: &logs, Getenv: func(string) string { return "" }})
	}()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), "koyomi is serving"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", logs.String())
		}
	}
	dst := filepath.Join(t.TempDir(), "copy")
	code, stdout, stderr := runCmd(t, "", "store", "copy", "--from", "sqlite:"+data, "--to", "sqlite:"+dst)
	if code != 1 || strings.Contains(stdout, "copied") || !strings.Contains(stderr, "a running server is using "+data) ||
		!strings.Contains(stderr, "--force") {
		t.Errorf("copy from a served store: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	forced := filepath.Join(t.TempDir(), "forced")
	code, stdout, stderr = runCmd(t, "", "store", "copy", "--force", "--from", "sqlite:"+data, "--to", "sqlite:"+forced)
	if code != 0 || !strings.Contains(stdout, "copied and verified") {
		t.Errorf("copy --force: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	cancel()
	if code := <-served; code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, logs.String())
	}
	code, stdout, stderr = runCmd(t, "", "store", "copy", "--from", "sqlite:"+data, "--to", "sqlite:"+dst)
	if code != 0 || !strings.Contains(stdout, "copied and verified") || !strings.Contains(stdout, "1 users") {
		t.Errorf("copy after the server stopped: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "koyomi: using "+data+" as the source") || !strings.Contains(stderr, "koyomi: using "+dst+" as the destination") {
		t.Errorf("stderr does not name both stores:\n%s", stderr)
	}
}

// A refusal names the place looked at as an absolute path, also when
// --data was given relative to where the command ran.
func TestMissingStoreNamedAbsolutely(t *testing.T) {
	code, _, stderr := runCmd(t, "", "user", "list", "--data", "no-such-koyomi-data")
	abs, err := filepath.Abs(filepath.Join("no-such-koyomi-data", "koyomi.db"))
	if err != nil {
		t.Fatal(err)
	}
	if code != 1 || !strings.Contains(stderr, "("+abs+" does not exist)") {
		t.Errorf("exit %d, stderr %q; want the database named as %s", code, stderr, abs)
	}
	if _, err := os.Stat("no-such-koyomi-data"); !os.IsNotExist(err) {
		t.Errorf("the refused command created the directory: %v", err)
	}
}
