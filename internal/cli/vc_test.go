package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

// cliStep is one command line and what its output must (not) hold.
type cliStep struct {
	name           string
	stdin          string
	args           []string
	code           int
	stdout, stderr []string // substrings
	noStdout       []string
}

func runCLISteps(t *testing.T, data string, steps []cliStep) {
	t.Helper()
	for _, s := range steps {
		code, stdout, stderr := runCmd(t, s.stdin, append(s.args, "--data", data)...)
		if code != s.code {
			t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", s.name, code, s.code, stdout, stderr)
			continue
		}
		for _, w := range s.stdout {
			if !strings.Contains(stdout, w) {
				t.Errorf("%s: stdout lacks %q:\n%s", s.name, w, stdout)
			}
		}
		for _, w := range s.stderr {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", s.name, w, stderr)
			}
		}
		for _, w := range s.noStdout {
			if strings.Contains(stdout, w) {
				t.Errorf("%s: stdout holds %q:\n%s", s.name, w, stdout)
			}
		}
	}
}

// seed creates users alice, bob and carol and puts two events in alice's
// default calendar, one in daytime and one in the evening, in the week
// of the present (so that a preview's default range holds them).
func seed(t *testing.T) (data string, day time.Time) {
	t.Helper()
	data = initStore(t)
	for _, u := range []string{"alice", "bob", "carol"} {
		if code, _, stderr := runCmd(t, u+"-password\n", "user", "add", u, "--data", data); code != 0 {
			t.Fatalf("user add %s: %s", u, stderr)
		}
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, data, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := domain.New(st, domain.Options{})
	if err := ensureCalendarHome(ctx, svc, "alice"); err != nil {
		t.Fatal(err)
	}
	c, err := svc.Collection(ctx, "alice", domain.DefaultCalendarName)
	if err != nil {
		t.Fatal(err)
	}
	day = time.Now().UTC()
	for _, ev := range []struct{ name, summary, description, from, to string }{
		{"lunch", "Lunch with Ken", "discuss the merger", "110000", "120000"},
		{"concert", "Concert", "row 7 seats 12-13", "190000", "210000"},
	} {
		d := day.Format("20060102")
		ics := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:" + ev.name + "\r\n" +
			"DTSTAMP:20260101T000000Z\r\nDTSTART:" + d + "T" + ev.from + "Z\r\nDTEND:" + d + "T" + ev.to + "Z\r\n" +
			"SUMMARY:" + ev.summary + "\r\nDESCRIPTION:" + ev.description + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
		if _, _, err := svc.PutObject(ctx, c, ev.name+".ics", "", []byte(ics), "text/calendar", store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return data, day
}

const friendsDefinition = `{"filter":{"default":"full","zone":"UTC","rules":[{"level":"summary","from":"00:00","to":"17:00"}]},"of":{"calendar":"default"}}`

func TestVCCommands(t *testing.T) {
	data, day := seed(t)
	defFile := filepath.Join(t.TempDir(), "family.json")
	if err := os.WriteFile(defFile, []byte(`{"filter":{"default":"busy"},"of":{"calendar":"default"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	date := day.Format(time.DateOnly)
	runCLISteps(t, data, []cliStep{
		{name: "add", args: []string{"vc", "add", "alice", "friends", "--definition", friendsDefinition,
			"--share", "user:bob", "--share", "group:club", "--display", "For friends"},
			stdout: []string{"virtual calendar alice/friends created", "vc-1", "user:bob, group:club"}},
		{name: "add from file", args: []string{"vc", "add", "alice", "family", "--file", defFile}, stdout: []string{"vc-2"}},
		{name: "add from stdin", stdin: `{"calendar":"default"}`, args: []string{"vc", "add", "alice", "mine", "--file", "-",
			"--write-target", "default"}, stdout: []string{"alice/mine created"}},
		{name: "add twice", args: []string{"vc", "add", "alice", "friends", "--definition", `{"calendar":"default"}`},
			code: 1, stderr: []string{"alice already has a virtual calendar friends"}},
		{name: "no definition", args: []string{"vc", "add", "alice", "x"}, code: 1, stderr: []string{"--definition JSON or --file FILE"}},
		{name: "both definitions", args: []string{"vc", "add", "alice", "x", "--definition", "{}", "--file", defFile},
			code: 1, stderr: []string{"not both"}},
		{name: "malformed definition", args: []string{"vc", "add", "alice", "x", "--definition", `{"calendar":`},
			code: 1, stderr: []string{"definition"}},
		{name: "misspelt key", args: []string{"vc", "add", "alice", "x", "--definition", `{"calender":"default"}`},
			code: 1, stderr: []string{"calender"}},
		{name: "bad level", args: []string{"vc", "add", "alice", "x", "--definition", `{"filter":{"default":"all"},"of":{"calendar":"default"}}`},
			code: 1, stderr: []string{`level "all"`}},
		{name: "bad share", args: []string{"vc", "add", "alice", "x", "--definition", `{"calendar":"default"}`, "--share", "bob"},
			code: 1, stderr: []string{`share "bob"`}},
		{name: "unknown owner", args: []string{"vc", "add", "nobody", "x", "--definition", `{"calendar":"default"}`},
			code: 1, stderr: []string{"no user nobody"}},
		{name: "cycle", args: []string{"vc", "add", "alice", "loop", "--definition", `{"union":[{"vc":"friends"},{"vc":"loop"}]}`},
			code: 1, stderr: []string{"cycle", "alice/loop → alice/loop"}},
		{name: "missing args", args: []string{"vc", "show", "alice"}, code: 1, stderr: []string{"expected OWNER NAME"}},
		{name: "unknown subcommand", args: []string{"vc", "rename", "alice"}, code: 1, stderr: []string{"unknown subcommand"}},

		{name: "list", args: []string{"vc", "list", "alice"},
			stdout: []string{"ID", "friends", "For friends", "user:bob,group:club", "family", "mine"}, noStdout: []string{"loop"}},
		{name: "list for another", args: []string{"vc", "list", "bob"}, noStdout: []string{"friends"}},
		{name: "show", args: []string{"vc", "show", "alice", "mine"}, stdout: []string{`"write_target": "default"`, `"calendar": "default"`}},
		{name: "show missing", args: []string{"vc", "show", "alice", "nope"}, code: 1, stderr: []string{"no virtual calendar alice/nope"}},

		{name: "preview as bob", args: []string{"vc", "preview", "alice", "friends", "--as", "bob"},
			stdout:   []string{"BEGIN:VCALENDAR", "SUMMARY:Lunch with Ken", "row 7 seats 12-13"},
			noStdout: []string{"merger"}, stderr: []string{"2 objects visible to bob"}},
		{name: "preview busy", args: []string{"vc", "preview", "alice", "family", "--start", date, "--end", date},
			stdout: []string{"SUMMARY:Busy"}, noStdout: []string{"Lunch", "Concert", "merger", "row 7"}},
		{name: "preview another year", args: []string{"vc", "preview", "alice", "friends", "--as", "bob", "--start", "2001-01-01"},
			stderr: []string{"0 objects"}, noStdout: []string{"VCALENDAR"}},
		{name: "preview as outsider", args: []string{"vc", "preview", "alice", "friends", "--as", "carol"},
			code: 1, stderr: []string{"carol cannot see"}},
		{name: "preview bad date", args: []string{"vc", "preview", "alice", "friends", "--start", "tomorrow"},
			code: 1, stderr: []string{"YYYY-MM-DD"}},

		{name: "set definition", args: []string{"vc", "set", "alice", "family", "--definition",
			`{"filter":{"default":"summary"},"of":{"calendar":"default"}}`, "--display", "Family"},
			stdout: []string{"alice/family is now version 2"}},
		{name: "set kept the rest", args: []string{"vc", "show", "alice", "family"},
			stdout: []string{`"default": "summary"`, `"displayname": "Family"`}},
		{name: "preview after set", args: []string{"vc", "preview", "alice", "family"},
			stdout: []string{"SUMMARY:Lunch with Ken"}, noStdout: []string{"merger", "row 7"}},
		{name: "set shares only", args: []string{"vc", "set", "alice", "friends", "--share", "user:carol"},
			stdout: []string{"version 2"}},
		{name: "shares replaced", args: []string{"vc", "show", "alice", "friends"},
			stdout: []string{`"user:carol"`, `"to": "17:00"`}, noStdout: []string{"user:bob"}},
		{name: "set clears shares", args: []string{"vc", "set", "alice", "friends", "--share", ""}, stdout: []string{"version 3"}},
		{name: "shares cleared", args: []string{"vc", "show", "alice", "friends"}, noStdout: []string{"shared_with"}},
		{name: "set bad definition", args: []string{"vc", "set", "alice", "friends", "--definition", `{"filter":{"default":"busy"}}`},
			code: 1, stderr: []string{`needs "of"`}},
		{name: "set missing", args: []string{"vc", "set", "alice", "nope", "--display", "x"}, code: 1,
			stderr: []string{"no virtual calendar alice/nope"}},

		{name: "del", args: []string{"vc", "del", "alice", "family"}, stdout: []string{"alice/family deleted"}},
		{name: "del again", args: []string{"vc", "del", "alice", "family"}, code: 1, stderr: []string{"no virtual calendar alice/family"}},
		{name: "list after del", args: []string{"vc", "list", "alice"}, stdout: []string{"friends"}, noStdout: []string{"family"}},
	})
}

func TestVCShowRoundTrips(t *testing.T) {
	data, _ := seed(t)
	if code, _, stderr := runCmd(t, "", "vc", "add", "alice", "friends", "--definition", friendsDefinition,
		"--share", "user:bob", "--data", data); code != 0 {
		t.Fatal(stderr)
	}
	_, stdout, _ := runCmd(t, "", "vc", "show", "alice", "friends", "--data", data)
	var spec domain.VCSpec
	if err := json.Unmarshal([]byte(stdout), &spec); err != nil {
		t.Fatalf("vc show is not a spec: %v\n%s", err, stdout)
	}
	def, _ := json.Marshal(spec.Definition)
	if string(def) != friendsDefinition || spec.Name != "friends" || len(spec.SharedWith) != 1 || spec.SharedWith[0] != "user:bob" {
		t.Errorf("vc show gave %+v, definition %s", spec, def)
	}
}
