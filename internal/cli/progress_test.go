package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

// Progress shows on standard error only when it is a terminal.
func TestProgressOnlyOnTerminal(t *testing.T) {
	data := initStore(t)
	for _, u := range []string{"alice", "bob"} {
		if code, _, stderr := runCmd(t, "password1\n", "user", "add", u, "--data", data); code != 0 {
			t.Fatal(stderr)
		}
	}
	// Each user gets a calendar: two collections to check.
	ctx := context.Background()
	st, err := sqlite.Open(ctx, data, sqlite.Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	svc := domain.New(st, domain.Options{})
	for _, u := range []string{"alice", "bob"} {
		if err := ensureCalendarHome(ctx, svc, u); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	for _, terminal := range []bool{false, true} {
		var out, errb bytes.Buffer
		code := Main(context.Background(), Env{Args: []string{"check", "--data", data}, Stdin: strings.NewReader(""),
			Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, StderrIsTerminal: terminal})
		if code != 0 {
			t.Fatalf("check: exit %d: %s", code, errb.String())
		}
		shown := strings.Contains(errb.String(), "\rcollections checked: 2/2\n")
		if shown != terminal {
			t.Errorf("terminal %v: progress shown %v:\n%q", terminal, shown, errb.String())
		}
		if strings.Contains(out.String(), "collections checked") {
			t.Errorf("progress on standard output: %q", out.String())
		}
	}
}

func TestProgressLine(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(Env{Stderr: &b, StderrIsTerminal: true}, "users copied")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return now }
	p.report(1, 3)
	p.report(2, 3) // within progressEvery of the first: not shown
	now = now.Add(progressEvery)
	p.report(3, 3)
	p.Done()
	if got := b.String(); got != "\rusers copied: 1/3\rusers copied: 3/3\rusers copied: 3/3\n" {
		t.Errorf("progress wrote %q", got)
	}
	b.Reset()
	p = newProgress(Env{Stderr: &b}, "users copied")
	p.Add(5)
	p.Done()
	if b.Len() != 0 {
		t.Errorf("silent progress wrote %q", b.String())
	}
}
