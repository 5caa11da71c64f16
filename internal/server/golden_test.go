package server

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/auth"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/postgres"
	"koyomi.dev/koyomi/internal/store/postgres/pgtest"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite golden files with the responses received")

// fixedClock is the time every golden test runs at.
var fixedClock = func() time.Time { return time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC) }

// cheapParams keep password hashing fast in tests.
var cheapParams = auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// backend opens a fresh, empty store of one kind for a test.
type backend struct {
	name string
	open func(t testing.TB) store.Store
}

// backends are the stores every protocol test runs against: SQLite always,
// PostgreSQL when pgtest.EnvVar names a server.
var backends = []backend{
	{"sqlite", func(t testing.TB) store.Store {
		st, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.Options{Now: fixedClock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
	{"postgres", func(t testing.TB) store.Store {
		st, err := postgres.Open(context.Background(), pgtest.Database(t), postgres.Options{Now: fixedClock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
}

// newTestServer returns a server over a fresh SQLite store with users
// alice and bob (passwords "alice-password", "bob-password").
func newTestServer(t testing.TB) *Server { return newTestServerOn(t, backends[0]) }

// newTestServerOn is newTestServer over a store of the given backend.
func newTestServerOn(t testing.TB, b backend) *Server {
	t.Helper()
	ctx := context.Background()
	st := b.open(t)
	srv, err := New(st, Options{Clock: fixedClock, PasswordParams: cheapParams, MaxResourceSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		if err := srv.Service().CreateUser(ctx, u, u+"-password", u+"@example.org"); err != nil {
			t.Fatal(err)
		}
	}
	return srv
}

// A golden file is a txtar archive of exchanges: "-- NAME.request --"
// holds a raw HTTP request (user given by an "X-Test-User" header, default
// alice), and the following "-- NAME.response --" the expected status
// line, the headers listed in "X-Test-Headers" of the request, and the body.
// In a request body, {U+XXXX} stands for that character, so that control
// characters can be sent without being written into the file.
type exchange struct {
	name, request, response string
}

func parseTxtar(data string) (comment string, files []exchange) {
	marker := regexp.MustCompile(`(?m)^-- (.+)\.(request|response) --$`)
	locs := marker.FindAllStringSubmatchIndex(data, -1)
	if len(locs) == 0 {
		return data, nil
	}
	comment = data[:locs[0][0]]
	for i, loc := range locs {
		end := len(data)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		name, kind := data[loc[2]:loc[3]], data[loc[4]:loc[5]]
		body := strings.TrimPrefix(data[loc[1]:end], "\n")
		if kind == "request" {
			files = append(files, exchange{name: name, request: body})
		} else if len(files) > 0 && files[len(files)-1].name == name {
			files[len(files)-1].response = body
		}
	}
	return comment, files
}

func formatTxtar(comment string, exs []exchange) string {
	var b strings.Builder
	b.WriteString(comment)
	for _, ex := range exs {
		fmt.Fprintf(&b, "-- %s.request --\n%s", ex.name, ensureNL(ex.request))
		fmt.Fprintf(&b, "-- %s.response --\n%s", ex.name, ensureNL(ex.response))
	}
	return b.String()
}

func ensureNL(s string) string {
	if s == "" || strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}

// codePoint is how a request body in a golden file spells a character.
var codePoint = regexp.MustCompile(`\{U\+[0-9A-F]{4,6}\}`)

// do runs one raw request against srv and renders the response.
func do(t *testing.T, srv http.Handler, raw string) string {
	t.Helper()
	head, body, _ := strings.Cut(raw, "\n\n")
	lines := strings.Split(head, "\n")
	method, target, _ := strings.Cut(lines[0], " ")
	// Bodies are written with LF; iCalendar ones are sent with CRLF.
	if strings.HasPrefix(body, "BEGIN:") {
		body = strings.ReplaceAll(body, "\n", "\r\n")
	}
	body = codePoint.ReplaceAllStringFunc(body, func(m string) string {
		n, _ := strconv.ParseUint(m[3:len(m)-1], 16, 32)
		return string(rune(n))
	})
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body == "" {
		req.Body = http.NoBody
		req.ContentLength = 0
	}
	user := "alice"
	var show []string
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, ":")
		v = strings.TrimSpace(v)
		switch k {
		case "X-Test-User":
			user = v
		case "X-Test-Headers":
			show = strings.Fields(v)
		default:
			req.Header.Add(k, v)
		}
	}
	if user != "-" {
		req.SetBasicAuth(user, user+"-password")
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	var out strings.Builder
	fmt.Fprintf(&out, "%d %s\n", rec.Code, http.StatusText(rec.Code))
	sort.Strings(show)
	for _, h := range show {
		if v := rec.Header().Get(h); v != "" {
			fmt.Fprintf(&out, "%s: %s\n", h, v)
		}
	}
	respBody := rec.Body.String()
	respBody = strings.ReplaceAll(respBody, "\r\n", "\n")
	if respBody != "" {
		out.WriteString("\n")
		out.WriteString(prettyXML(respBody))
	}
	return out.String()
}

// prettyXML puts each DAV:response on its own line so golden files read
// and diff well; other bodies are unchanged.
func prettyXML(s string) string {
	if !strings.HasPrefix(s, "<?xml") {
		return s
	}
	r := strings.NewReplacer("<D:response>", "\n<D:response>", "<D:propstat>", "\n <D:propstat>", "</D:multistatus>", "\n</D:multistatus>", "<D:sync-token>", "\n<D:sync-token>")
	return r.Replace(s)
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, file := range files {
				t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
					runGolden(t, b, file)
				})
			}
		})
	}
}

// runGolden replays one golden file against a fresh server.
func runGolden(t *testing.T, b backend, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	comment, exs := parseTxtar(string(data))
	srv := newTestServerOn(t, b)
	changed := false
	for i := range exs {
		got := do(t, srv, exs[i].request)
		if got != exs[i].response {
			if *update {
				exs[i].response = got
				changed = true
				continue
			}
			t.Errorf("%s: response differs\n--- got ---\n%s\n--- want ---\n%s", exs[i].name, got, exs[i].response)
		}
	}
	if changed {
		if err := os.WriteFile(file, []byte(formatTxtar(comment, exs)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
