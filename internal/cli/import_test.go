package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

func TestImportCommands(t *testing.T) {
	data, _ := seed(t)
	addAddressBook(t, data, "alice", "people")
	dir := t.TempDir()
	ics := filepath.Join(dir, "work.ics")
	if err := os.WriteFile(ics, []byte(strings.Join([]string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN",
		"BEGIN:VEVENT", "UID:cli-1", "DTSTAMP:20260101T000000Z", "DTSTART:20260301T090000Z", "END:VEVENT",
		"BEGIN:VEVENT", "UID:cli-2", "DTSTAMP:20260101T000000Z", "DTSTART:2026-03-02", "END:VEVENT",
		"BEGIN:VEVENT", "UID:cli-3", "DTSTAMP:20260101T000000Z", "DTSTART:20260303T090000Z", "END:VEVENT",
		"END:VCALENDAR"}, "\r\n")+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n"
	for i := range 10 {
		big += strings.Join([]string{"BEGIN:VEVENT", "UID:big-" + string(rune('a'+i)), "DTSTAMP:20260101T000000Z",
			"DTSTART:20260301T090000Z", "SUMMARY:A big file", "END:VEVENT", ""}, "\r\n")
	}
	big += "END:VCALENDAR\r\n"
	bigFile := filepath.Join(dir, "big.ics")
	conf := filepath.Join(dir, "small.toml")
	if err := os.WriteFile(bigFile, []byte(big), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("max_import_size = 700\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bom := "\uFEFFBEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:bom\r\n" +
		"DTSTAMP:20260101T000000Z\r\nDTSTART:20260301T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	cards := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:zed\r\nFN:Zed\r\nN:;Zed;;;\r\nEND:VCARD\r\n"
	runCLISteps(t, data, []cliStep{
		{name: "calendar", args: []string{"calendar", "import", "alice", "default", ics},
			stdout: []string{"into alice/default: 2 imported, 0 updated, 0 unchanged, 0 skipped, 1 bad", "line 9 (UID cli-2): ", "DTSTART"}},
		{name: "skip", args: []string{"calendar", "import", "alice", "default", ics, "--on-conflict", "skip"},
			stdout: []string{"0 imported, 0 updated, 0 unchanged, 2 skipped, 1 bad"}},
		{name: "update", args: []string{"calendar", "import", "alice", "default", ics, "--on-conflict=update"},
			stdout: []string{"0 imported, 0 updated, 2 unchanged, 0 skipped, 1 bad"}},
		{name: "byte order mark", stdin: bom, args: []string{"calendar", "import", "alice", "default", "-"},
			stdout: []string{"1 imported, 0 updated, 0 unchanged, 0 skipped, 0 bad"}},
		{name: "file too large", args: []string{"calendar", "import", "alice", "default", bigFile, "--config", conf}, code: 1,
			stderr: []string{"larger than max_import_size (700 bytes)"}, noStdout: []string{"imported"}},
		{name: "stream too large", stdin: big, args: []string{"calendar", "import", "alice", "default", "-", "--config", conf}, code: 1,
			stderr:   []string{"larger than max_import_size (700 bytes)"},
			stdout:   []string{"imported, 0 updated, 0 unchanged, 0 skipped, 0 bad"},
			noStdout: []string{": 0 imported", "line "}},
		{name: "cards from stdin", stdin: cards, args: []string{"addressbook", "import", "alice", "people", "-"},
			stdout: []string{"cards into alice/people: 1 imported"}},
		{name: "bad policy", args: []string{"calendar", "import", "alice", "default", ics, "--on-conflict", "merge"}, code: 1,
			stderr: []string{"want update or skip"}},
		{name: "wrong kind", args: []string{"addressbook", "import", "alice", "default", ics}, code: 1,
			stderr: []string{"alice/default is a calendar, not an address book"}},
		{name: "no such calendar", args: []string{"calendar", "import", "alice", "nope", ics}, code: 1,
			stderr: []string{"alice has no calendar nope"}},
		{name: "no such user", args: []string{"calendar", "import", "nobody", "default", ics}, code: 1,
			stderr: []string{"no user nobody"}},
		{name: "no such file", args: []string{"calendar", "import", "alice", "default", filepath.Join(dir, "missing.ics")}, code: 1,
			stderr: []string{"missing.ics"}},
		{name: "not a calendar", stdin: "hello\n", args: []string{"calendar", "import", "alice", "default", "-"}, code: 1,
			stderr: []string{"expected BEGIN:VCALENDAR"}, noStdout: []string{"imported"}},
		{name: "arguments", args: []string{"calendar", "import", "alice", "default"}, code: 1,
			stderr: []string{"expected USER NAME FILE"}},
		{name: "other subcommand", args: []string{"calendar", "frobnicate"}, code: 1, stderr: []string{"import"}},
	})

	st, err := sqlite.Open(context.Background(), data, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := domain.New(st, domain.Options{})
	c, err := svc.Collection(context.Background(), "alice", "default")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := svc.ListObjects(context.Background(), c, false)
	if err != nil {
		t.Fatal(err)
	}
	var imported []string
	for _, o := range objs {
		if strings.HasPrefix(o.UID, "cli-") {
			imported = append(imported, o.Name)
		}
	}
	if strings.Join(imported, " ") != "cli-1.ics cli-3.ics" {
		t.Errorf("imported objects %v, want cli-1.ics and cli-3.ics", imported)
	}
	var fromBig int
	for _, o := range objs {
		if strings.HasPrefix(o.UID, "big-") {
			fromBig++
		}
	}
	if fromBig == 0 || fromBig >= 10 {
		t.Errorf("%d objects of the file too large: want those before the limit from the stream, none from the file", fromBig)
	}
}
