package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A store never served has no server key yet: backup goes on without
// one, says so, and restore brings the data back without writing a key.
func TestBackupOfAStoreWithoutAKey(t *testing.T) {
	data := initStore(t)
	if code, _, stderr := runCmd(t, "alice-password\n", "user", "add", "alice", "--data", data, "--email", "alice@example.org"); code != 0 {
		t.Fatal(stderr)
	}
	file := filepath.Join(t.TempDir(), "koyomi.backup")
	mustRun(t, 0, "1 users", "no server key", "backup", file, "--data", data, "--key-out")
	if _, err := os.Stat(file + ".key"); !os.IsNotExist(err) {
		t.Fatalf("a backup without a key wrote %s.key: %v", file, err)
	}
	mustRun(t, 0, "server key: none", "", "backup", "verify", file)
	restored := filepath.Join(t.TempDir(), "restored")
	mustRun(t, 0, "restored into sqlite:"+restored, "", "restore", file, "--data", restored)
	if _, err := os.Stat(filepath.Join(restored, "secret.key")); !os.IsNotExist(err) {
		t.Fatalf("a restore without a key wrote one: %v", err)
	}
	mustRun(t, 0, "alice@example.org", "", "user", "list", "--data", restored)

	typo := filepath.Join(t.TempDir(), "typo")
	mustRun(t, 1, "", "no store at "+typo, "backup", file, "--data", typo, "--key-out")
}

// A store holding only a user in the trash is not empty: restore refuses
// it before writing, and store copy copies it.
func TestRestoreAndStoreCopyCountTheTrash(t *testing.T) {
	data, _ := serverWithData(t)
	file := filepath.Join(t.TempDir(), "koyomi.backup")
	mustRun(t, 0, "", "", "backup", file, "--data", data, "--key-out")

	trashOnly := initStore(t)
	if code, _, stderr := runCmd(t, "carol-password\n", "user", "add", "carol", "--data", trashOnly); code != 0 {
		t.Fatal(stderr)
	}
	mustRun(t, 0, "", "", "user", "del", "carol", "--yes", "--data", trashOnly)
	mustRun(t, 1, "", "1 trash items", "restore", file, "--data", trashOnly)
	if out := mustRun(t, 0, "NAME", "", "user", "list", "--data", trashOnly); strings.Contains(out, "alice") {
		t.Fatalf("the refused restore wrote users:\n%s", out)
	}
	copied := filepath.Join(t.TempDir(), "copy")
	mustRun(t, 0, "1 trash items", "", "store", "copy", "--from", "sqlite:"+trashOnly, "--to", "sqlite:"+copied)
}

// A running server holds its store: restore refuses it unless --force.
func TestRestoreRefusesAServedStore(t *testing.T) {
	data, _ := serverWithData(t)
	file := filepath.Join(t.TempDir(), "koyomi.backup")
	mustRun(t, 0, "", "", "backup", file, "--data", data, "--key-out")
	dst := initStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	served := make(chan int, 1)
	go func() {
		served <- Main(ctx, Env{Args: []string{"serve", "--listen", "127.0.0.1:0", "--data", dst},
			Stdin: strings.NewReader(""), Stdout: &logs, Stderr: &logs, Getenv: func(string) string { return "" }})
	}()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), "koyomi is serving"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", logs.String())
		}
	}
	mustRun(t, 1, "", "a running server is using sqlite:"+dst, "restore", file, "--data", dst)
	mustRun(t, 1, "", "--force", "restore", file, "--data", dst)
	if out := mustRun(t, 0, "NAME", "", "user", "list", "--data", dst); strings.Contains(out, "alice") {
		t.Fatalf("the refused restore wrote users:\n%s", out)
	}
	mustRun(t, 0, "restored into", "", "restore", file, "--data", dst, "--force", "--replace-key")
	cancel()
	<-served
}

// Messages name the way out.
func TestBackupAndTrashMessages(t *testing.T) {
	data, _ := serverWithData(t)
	dir := t.TempDir()
	mustRun(t, 1, "", "is a directory", "backup", dir, "--data", data, "--key-out")
	if _, err := os.Stat(dir + ".key"); !os.IsNotExist(err) {
		t.Fatalf("a refused backup into a directory wrote %s.key: %v", dir, err)
	}

	beside := filepath.Join(t.TempDir(), "beside.backup")
	mustRun(t, 0, "", "", "backup", beside, "--data", data, "--key-out")
	if err := os.Rename(beside+".key", beside+".moved"); err != nil {
		t.Fatal(err)
	}
	mustRun(t, 1, "", "--key", "backup", "verify", beside)
	mustRun(t, 0, "it matches", "", "backup", "verify", beside, "--key", beside+".moved")
	other := initStore(t)
	if err := os.WriteFile(filepath.Join(other, "secret.key"), []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, 1, "", "--replace-key", "restore", beside, "--data", other, "--key", beside+".moved")

	pass := writeFile(t, "pass", "correct horse\n")
	sealed := filepath.Join(t.TempDir(), "sealed.backup")
	mustRun(t, 0, "", "", "backup", sealed, "--data", data, "--passphrase-file", pass)
	mustRun(t, 1, "", "--key", "backup", "verify", sealed, "--key", beside+".moved")
	mustRun(t, 1, "", "--key", "restore", sealed, "--data", t.TempDir(), "--key", beside+".moved", "--passphrase-file", pass)

	mustRun(t, 1, "", "no user nobody", "trash", "list", "nobody", "--data", data)
}

// The user trial: what alice gave bob comes back with him; what carol gave
// him, carol being deleted meanwhile, is listed as not restored.
func TestUserRestoreKeepsWhatOthersGave(t *testing.T) {
	data, _ := seed(t)
	runCLISteps(t, data, []cliStep{
		{name: "alice's vc", args: []string{"vc", "add", "alice", "fam", "--definition", `{"calendar":"default"}`, "--share", "user:bob"},
			stdout: []string{"user:bob"}},
		{name: "alice delegates", args: []string{"delegate", "add", "alice", "bob", "--read"}, stdout: []string{"bob reads"}},
		{name: "carol delegates", args: []string{"delegate", "add", "carol", "bob", "--read"}, stdout: []string{"bob reads"}},
		{name: "del bob", args: []string{"user", "del", "bob", "--yes"}, stdout: []string{"moved to the trash"}},
		{name: "del carol", args: []string{"user", "del", "carol", "--yes"}, stdout: []string{"moved to the trash"}},
		{name: "restore bob", args: []string{"user", "restore", "bob"}, stdout: []string{"user bob restored"},
			stderr: []string{"not restored: delegate of carol: the user is gone"}},
		{name: "fam shared again", args: []string{"vc", "show", "alice", "fam"}, stdout: []string{`"user:bob"`}},
		{name: "delegation back", args: []string{"delegate", "list", "alice"}, stdout: []string{"bob"}},
		{name: "trash of nobody", args: []string{"trash", "list", "nobody"}, code: 1, stderr: []string{"no user nobody"}},
		{name: "trash of deleted carol", args: []string{"trash", "list", "carol"}, stdout: []string{"user", "carol"}},
		{name: "del bob again", args: []string{"user", "del", "bob", "--yes"}, stdout: []string{"moved to the trash"}},
	})
	_, out, _ := runCmd(t, "", "trash", "list", "bob", "--data", data)
	var id string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[1] == "user" {
			id = f[0]
		}
	}
	// Through trash restore too (carol's delegation went with the first).
	mustRun(t, 0, "user bob restored", "", "trash", "restore", "bob", id, "--data", data)
	mustRun(t, 0, "bob", "", "delegate", "list", "alice", "--data", data)
	mustRun(t, 0, `"user:bob"`, "", "vc", "show", "alice", "fam", "--data", data)
}
