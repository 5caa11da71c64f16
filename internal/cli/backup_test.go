package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/secret"
	"koyomi.dev/koyomi/internal/store/postgres/pgtest"
)

// serverWithData makes a data directory with two users, a group and the
// server key a server would have made.
func serverWithData(t *testing.T) (data string, key []byte) {
	t.Helper()
	data = t.TempDir()
	if code, _, stderr := runCmd(t, "", "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	for _, u := range []string{"alice", "bob"} {
		if code, _, stderr := runCmd(t, u+"-password\n", "user", "add", u, "--data", data, "--email", u+"@example.org"); code != 0 {
			t.Fatalf("user add %s: %s", u, stderr)
		}
	}
	if code, _, stderr := runCmd(t, "", "group", "add", "team", "--data", data); code != 0 {
		t.Fatalf("group add: %s", stderr)
	}
	key, err := secret.LoadKey(filepath.Join(data, "secret.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	return data, key
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustRun(t *testing.T, want int, stdout, stderr string, args ...string) string {
	t.Helper()
	code, out, errOut := runCmd(t, "", args...)
	if code != want || !strings.Contains(out, stdout) || !strings.Contains(errOut, stderr) {
		t.Fatalf("koyomi %s: exit %d (want %d)\nstdout:\n%s\nstderr:\n%s\nwant stdout %q, stderr %q",
			strings.Join(args, " "), code, want, out, errOut, stdout, stderr)
	}
	return out
}

func TestBackupRestoreRoundTripWithASealedKey(t *testing.T) {
	data, key := serverWithData(t)
	pass := writeFile(t, "pass", "correct horse\n")
	wrong := writeFile(t, "wrong", "battery staple\n")
	file := filepath.Join(t.TempDir(), "koyomi.backup")

	mustRun(t, 1, "", "no terminal to ask for a passphrase", "backup", file, "--data", data)
	mustRun(t, 1, "", "not both", "backup", file, "--data", data, "--passphrase-file", pass, "--key-out")
	mustRun(t, 1, "", "no store at", "backup", file, "--data", t.TempDir(), "--passphrase-file", pass)
	mustRun(t, 0, "2 users, 1 groups", "", "backup", file, "--data", data, "--passphrase-file", pass)
	if _, err := os.Stat(file + ".key"); !os.IsNotExist(err) {
		t.Fatalf("a sealed backup left its key beside it: %v", err)
	}
	mustRun(t, 0, "server key: sealed (give --passphrase-file", "", "backup", "verify", file)
	mustRun(t, 0, "the passphrase opens it", "", "backup", "verify", file, "--passphrase-file", pass)
	mustRun(t, 1, "", "wrong passphrase", "backup", "verify", file, "--passphrase-file", wrong)

	restored := filepath.Join(t.TempDir(), "restored")
	mustRun(t, 1, "", "wrong passphrase", "restore", file, "--data", restored, "--passphrase-file", wrong)
	mustRun(t, 0, "restored into sqlite:"+restored+" and verified: 2 users, 1 groups", "",
		"restore", file, "--data", restored, "--passphrase-file", pass)
	got, err := secret.LoadKey(filepath.Join(restored, "secret.key"), false)
	if err != nil || string(got) != string(key) {
		t.Fatalf("restored key = %x, %v; want %x", got, err, key)
	}
	mustRun(t, 0, "bob@example.org", "", "user", "list", "--data", restored)
	mustRun(t, 0, "team", "", "group", "list", "--data", restored)
	mustRun(t, 1, "", "is not empty", "restore", file, "--data", restored, "--passphrase-file", pass)
	mustRun(t, 1, "", "is not empty", "restore", file, "--data", data, "--passphrase-file", pass)
}

func TestBackupWithTheKeyBesideAndIntoPostgres(t *testing.T) {
	dsn := pgtest.Database(t)
	data, key := serverWithData(t)
	file := filepath.Join(t.TempDir(), "koyomi.backup")
	mustRun(t, 0, "server key written to "+file+".key", "", "backup", file, "--data", data, "--key-out")
	fi, err := os.Stat(file + ".key")
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	mustRun(t, 0, "beside the backup, and it matches", "", "backup", "verify", file)

	// Another server key where the restore would put it is kept.
	dir := t.TempDir()
	other := writeFile(t, "other.key", strings.Repeat("ab", 32)+"\n")
	conf := writeFile(t, "koyomi.toml", "secret_key_file = \""+filepath.Join(dir, "secret.key")+"\"\n")
	if err := os.Rename(other, filepath.Join(dir, "secret.key")); err != nil {
		t.Fatal(err)
	}
	mustRun(t, 1, "", "holds another server key", "restore", file, "--store", dsn, "--config", conf)
	if out := mustRun(t, 0, "NAME", "", "user", "list", "--store", dsn); strings.Contains(out, "alice") {
		t.Fatalf("the refused restore wrote users:\n%s", out)
	}
	mustRun(t, 0, "restored into postgres://", "", "restore", file, "--store", dsn, "--config", conf, "--replace-key")
	got, err := secret.LoadKey(filepath.Join(dir, "secret.key"), false)
	if err != nil || string(got) != string(key) {
		t.Fatalf("restored key = %x, %v; want %x", got, err, key)
	}
	mustRun(t, 0, "alice@example.org", "", "user", "list", "--store", dsn)

	// A damaged backup is named as such.
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	damaged := writeFile(t, "damaged.backup", string(raw[:len(raw)*2/3]))
	mustRun(t, 1, "", "damaged or not a backup", "backup", "verify", damaged)
	mustRun(t, 1, "", "damaged or not a backup", "restore", damaged, "--data", t.TempDir())
}
