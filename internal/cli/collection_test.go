package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCollectionCommands(t *testing.T) {
	data, _ := seed(t)
	out := filepath.Join(t.TempDir(), "default.ics")
	runCLISteps(t, data, []cliStep{
		{name: "add", args: []string{"calendar", "add", "alice", "holidays", "--display", "Holidays", "--color", "#FF8800",
			"--description", "Public holidays", "--components", "vevent", "--timezone", "Asia/Tokyo"},
			stdout: []string{"calendar alice/holidays created"}},
		{name: "add twice", args: []string{"calendar", "add", "alice", "holidays"}, code: 1,
			stderr: []string{`alice already has a collection "holidays"`}},
		{name: "add bad components", args: []string{"calendar", "add", "alice", "x", "--components", "VEVENT,VCARD"}, code: 1,
			stderr: []string{"components", `"VCARD" is not a component`}},
		{name: "add no components", args: []string{"calendar", "add", "alice", "x", "--components", ""}, code: 1,
			stderr: []string{"at least one"}},
		{name: "add bad zone", args: []string{"calendar", "add", "alice", "x", "--timezone", "Tokyo Standard Time"}, code: 1,
			stderr: []string{"timezone", "not an IANA time zone"}},
		{name: "add bad colour", args: []string{"calendar", "add", "alice", "x", "--color", "orange"}, code: 1,
			stderr: []string{"color", "#RRGGBB"}},
		{name: "add bad name", args: []string{"calendar", "add", "alice", "a/../b"}, code: 1, stderr: []string{"invalid name"}},
		{name: "add for nobody", args: []string{"calendar", "add", "nobody", "x"}, code: 1, stderr: []string{"no user nobody"}},
		{name: "address book has no zone", args: []string{"addressbook", "add", "alice", "x", "--timezone", "UTC"}, code: 1,
			stderr: []string{"flag provided but not defined: -timezone"}},
		{name: "add book", args: []string{"addressbook", "add", "alice", "work", "--display", "Work"},
			stdout: []string{"addressbook alice/work created"}},
		{name: "list", args: []string{"calendar", "list", "alice"},
			stdout: []string{"NAME", "OBJECTS", "holidays", "Holidays", "VEVENT ", "default", "VEVENT,VTODO", "2\n"}, noStdout: []string{"work", "contacts"}},
		{name: "list books", args: []string{"addressbook", "list", "alice"}, stdout: []string{"work", "contacts"}, noStdout: []string{"holidays"}},
		{name: "show", args: []string{"calendar", "show", "alice", "holidays"},
			stdout: []string{"Holidays", "#FF8800", "Public holidays", "VEVENT", "timezone:", "Asia/Tokyo", "objects:", "sync-token:"}},
		{name: "show book as calendar", args: []string{"calendar", "show", "alice", "work"}, code: 1,
			stderr: []string{`alice has no calendar "work"`}},
		{name: "set", args: []string{"calendar", "set", "alice", "holidays", "--display", "Japan", "--timezone", "Europe/Berlin"},
			stdout: []string{"calendar alice/holidays changed"}},
		{name: "set kept the rest", args: []string{"calendar", "show", "alice", "holidays"},
			stdout: []string{"Japan", "Europe/Berlin", "#FF8800", "Public holidays"}, noStdout: []string{"Asia/Tokyo"}},
		{name: "set clears zone", args: []string{"calendar", "set", "alice", "holidays", "--timezone", ""}, stdout: []string{"changed"}},
		{name: "zone cleared", args: []string{"calendar", "show", "alice", "holidays"}, noStdout: []string{"Europe/Berlin"}},
		{name: "set nothing", args: []string{"calendar", "set", "alice", "holidays"}, code: 1, stderr: []string{"nothing to change"}},
		{name: "set bad colour", args: []string{"calendar", "set", "alice", "holidays", "--color", "#12"}, code: 1, stderr: []string{"color"}},
		{name: "set missing", args: []string{"calendar", "set", "alice", "nope", "--display", "x"}, code: 1,
			stderr: []string{`alice has no calendar "nope"`}},
		{name: "export", args: []string{"calendar", "export", "alice", "default"},
			stdout: []string{"BEGIN:VCALENDAR", "X-WR-CALNAME:Calendar", "SUMMARY:Lunch with Ken", "SUMMARY:Concert", "END:VCALENDAR"}},
		{name: "export to file", args: []string{"calendar", "export", "alice", "default", "-o", out}, stderr: []string{"written to"}},
		{name: "export book", args: []string{"addressbook", "export", "alice", "work"}},
		{name: "vc export", args: []string{"vc", "export", "alice", "nope"}, code: 1, stderr: []string{"no virtual calendar alice/nope"}},
		{name: "del refuses without a terminal", args: []string{"calendar", "del", "alice", "holidays"}, code: 1,
			stderr: []string{"--yes"}},
		{name: "still there", args: []string{"calendar", "list", "alice"}, stdout: []string{"holidays"}},
		{name: "del", args: []string{"calendar", "del", "alice", "holidays", "--yes"}, stdout: []string{"calendar alice/holidays moved to the trash"}},
		{name: "gone", args: []string{"calendar", "list", "alice"}, noStdout: []string{"holidays"}},
		{name: "import wants a file", args: []string{"calendar", "import", "alice", "default"}, code: 1,
			stderr: []string{"expected USER NAME FILE"}},
		{name: "unknown subcommand", args: []string{"calendar", "rename", "alice", "x"}, code: 1, stderr: []string{"unknown subcommand"}},
		{name: "missing args", args: []string{"calendar", "show", "alice"}, code: 1, stderr: []string{"expected USER NAME"}},
	})
	file, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(file); !strings.HasPrefix(s, "BEGIN:VCALENDAR\r\n") || strings.Count(s, "BEGIN:VEVENT") != 2 {
		t.Errorf("exported file:\n%s", s)
	}
}

func TestVCExportCommand(t *testing.T) {
	data, _ := seed(t)
	runCLISteps(t, data, []cliStep{
		{name: "add", args: []string{"vc", "add", "alice", "busy", "--definition", `{"filter":{"default":"busy"},"of":{"calendar":"default"}}`}},
		{name: "export", args: []string{"vc", "export", "alice", "busy"},
			stdout: []string{"BEGIN:VCALENDAR", "SUMMARY:Busy"}, noStdout: []string{"Lunch", "Concert", "merger"}},
	})
}

// TestCollectionDeleteConfirmation answers the question on a terminal.
func TestCollectionDeleteConfirmation(t *testing.T) {
	data, _ := seed(t)
	del := func(answer string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		env := Env{Args: []string{"calendar", "del", "alice", "default", "--data", data}, Stdin: strings.NewReader(answer),
			Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }, StdinIsTerminal: true}
		return Main(context.Background(), env), stdout.String(), stderr.String()
	}
	code, _, stderr := del("n\n")
	if code != 1 || !strings.Contains(stderr, "Move calendar alice/default and its 2 objects to the trash? [y/N]") || !strings.Contains(stderr, "not deleted") {
		t.Errorf("answer n: exit %d, stderr %q", code, stderr)
	}
	if _, stdout, _ := runCmd(t, "", "calendar", "list", "alice", "--data", data); !strings.Contains(stdout, "default") {
		t.Fatalf("deleted after no:\n%s", stdout)
	}
	if code, stdout, stderr := del("y\n"); code != 0 || !strings.Contains(stdout, "alice/default moved to the trash") {
		t.Errorf("answer y: exit %d, %q %q", code, stdout, stderr)
	}
	if _, stdout, _ := runCmd(t, "", "calendar", "list", "alice", "--data", data); strings.Contains(stdout, "default") {
		t.Errorf("not deleted after yes:\n%s", stdout)
	}
}
