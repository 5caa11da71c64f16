package cli

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// Help at every level prints that command's own usage and flags on
// standard output, exits 0 and touches no store.
func TestHelpAtEveryLevel(t *testing.T) {
	cwd := t.TempDir()
	t.Chdir(cwd)
	tests := []struct {
		args    []string
		want    []string
		notWant []string
	}{
		{[]string{"--help"}, []string{"Usage: koyomi <command>", "user add NAME", "init", "store copy"}, nil},
		{[]string{"help"}, []string{"Usage: koyomi <command>"}, nil},
		{[]string{"user", "--help"}, []string{"Usage: koyomi user <subcommand>", "user add NAME", "user app-password revoke USER ID"}, []string{"group add"}},
		{[]string{"user", "-h"}, []string{"user passwd NAME"}, nil},
		{[]string{"user", "help"}, []string{"user passwd NAME"}, nil},
		{[]string{"help", "user"}, []string{"user passwd NAME"}, nil},
		{[]string{"user", "add", "--help"}, []string{"Usage: koyomi user add NAME", "--email address", "--data directory", "--store URL"},
			[]string{"--listen", "--tls-cert", "user passwd NAME"}},
		{[]string{"help", "user", "add"}, []string{"Usage: koyomi user add NAME", "--email address"}, nil},
		{[]string{"user", "add", "zed", "-h"}, []string{"Usage: koyomi user add NAME"}, nil},
		{[]string{"user", "app-password", "--help"}, []string{"user app-password add USER LABEL"}, nil},
		{[]string{"user", "app-password", "add", "--help"}, []string{"Usage: koyomi user app-password add USER LABEL"}, []string{"revoke"}},
		{[]string{"group", "member", "add", "--help"}, []string{"Usage: koyomi group member add GROUP USER", "--contribute CAL:LEVEL", "--admin"}, []string{"--listen"}},
		{[]string{"connector", "--help"}, []string{"connector discover URL", "connector permissions"}, nil},
		{[]string{"connector", "history", "--help"}, []string{"Usage: koyomi connector history ID", "--limit N", "--secret-key-file"}, []string{"--listen"}},
		{[]string{"share", "add", "--help"}, []string{"--level admin"}, nil},
		{[]string{"delegate", "add", "-h"}, []string{"--write", "--read"}, nil},
		{[]string{"link", "add", "--help"}, []string{"--vc NAME"}, nil},
		{[]string{"vc", "preview", "--help"}, []string{"--as viewer", "--start date"}, []string{"--definition"}},
		{[]string{"store", "--help"}, []string{"store copy --from STORE --to STORE"}, nil},
		{[]string{"store", "copy", "--help"}, []string{"--from store", "--force"}, []string{"--listen"}},
		{[]string{"check", "--help"}, []string{"Usage: koyomi check", "--data directory"}, []string{"--listen"}},
		{[]string{"init", "--help"}, []string{"Usage: koyomi init", "--store URL"}, nil},
		{[]string{"serve", "--help"}, []string{"Usage: koyomi serve", "--listen", "--tls-cert"}, nil},
		{[]string{"version", "--help"}, []string{"Usage: koyomi version"}, nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := runCmd(t, "", tt.args...)
			if code != 0 {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(stdout, w) {
					t.Errorf("stdout holds %q:\n%s", w, stdout)
				}
			}
			if strings.Contains(stderr, "koyomi: using") {
				t.Errorf("help opened a store: %s", stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(cwd, "koyomi-data")); err == nil {
		t.Error("help created ./koyomi-data")
	}
}

// An unknown or missing subcommand names the valid ones.
func TestUnknownSubcommands(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"user", "rename"}, `user: unknown subcommand "rename"; valid: add, passwd, set, del, restore, list, app-password`},
		{[]string{"user"}, "user: expected add, passwd, set, del, restore, list or app-password"},
		{[]string{"group", "member", "kick"}, "valid: add, set, del, list"},
		{[]string{"connector", "frob"}, "valid: add, set, list, show, del, start, stop, sync"},
		{[]string{"store", "move"}, `store: unknown subcommand "move"; valid: copy`},
		{[]string{"user", "add", "--bogus"}, "user add: flag provided but not defined: -bogus (see koyomi user add --help)"},
	}
	for _, tt := range tests {
		code, stdout, stderr := runCmd(t, "", tt.args...)
		if code != 1 || !strings.Contains(stderr, tt.want) || stdout != "" {
			t.Errorf("%v: exit %d\nstdout: %s\nstderr %q lacks %q", tt.args, code, stdout, stderr, tt.want)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, stdout, _ := runCmd(t, "", args...)
		want := runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
		if code != 0 || !strings.HasPrefix(stdout, "koyomi ") || !strings.Contains(stdout, want) {
			t.Errorf("%v: exit %d: %q lacks %q", args, code, stdout, want)
		}
	}
	info := &debug.BuildInfo{Main: debug.Module{Version: "v0.9.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "8e780ad"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got := versionText("", info); !strings.HasPrefix(got, "koyomi v0.9.0 (revision 8e780ad, 2026-12-01T10:00:00Z, modified)\n") {
		t.Errorf("from build information: %q", got)
	}
	if got := versionText("v1.0.0", info); !strings.HasPrefix(got, "koyomi v1.0.0 (revision") {
		t.Errorf("set by the linker: %q", got)
	}
}

// docs/cli.md holds the command list the binary prints, so the two cannot
// drift apart.
func TestDocsListEveryCommand(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), strings.TrimRight(usageText(), "\n")) {
		t.Error("docs/cli.md does not hold the output of koyomi help; paste it into its Commands section")
	}
}
