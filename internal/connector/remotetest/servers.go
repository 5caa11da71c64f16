package remotetest

import (
	"bytes"
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/auth"
	"koyomi.dev/koyomi/internal/server"
	"koyomi.dev/koyomi/internal/store/sqlite"
	"koyomi.dev/koyomi/internal/tree"
)

// startupTimeout bounds how long a server subprocess may take to answer.
const startupTimeout = 30 * time.Second

// StartKoyomi runs a Koyomi server in-process (SQLite store in
// t.TempDir(), behind httptest) with the account and a calendar.
func StartKoyomi(t testing.TB) *Remote {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv, err := server.New(st, server.Options{
		// Cheap hashing keeps the tests fast; nothing here guards secrets.
		PasswordParams: auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Service().CreateUser(ctx, Username, Password, Username+"@example.org"); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	r := &Remote{Name: "koyomi", BaseURL: ts.URL, Username: Username, Password: Password, Koyomi: srv,
		PrincipalURL: ts.URL + tree.PrincipalPath(Username), HomeURL: ts.URL + tree.HomePath(Username)}
	r.makeCalendar(t)
	return r
}

// StartRadicale runs /usr/bin/radicale on a free loopback port, storing in
// t.TempDir(), with htpasswd authentication of the account.
func StartRadicale(t testing.TB) *Remote {
	t.Helper()
	bin := requireTool(t, "radicale", "/usr/bin/radicale")
	dir := t.TempDir()
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(Username+":"+Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := startOnFreePort(t, "radicale", func(port int) []string {
		config := filepath.Join(dir, "config")
		text := fmt.Sprintf(`[server]
hosts = 127.0.0.1:%d
[auth]
type = htpasswd
htpasswd_filename = %s
htpasswd_encryption = plain
delay = 0
[rights]
type = owner_only
[storage]
filesystem_folder = %s
[web]
type = none
[logging]
level = warning
`, port, htpasswd, filepath.Join(dir, "collections"))
		if err := os.WriteFile(config, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return []string{bin, "--config", config}
	})
	r := &Remote{Name: "radicale", BaseURL: base, Username: Username, Password: Password,
		PrincipalURL: base + "/" + Username + "/", HomeURL: base + "/" + Username + "/"}
	r.makeCalendar(t)
	return r
}

// StartXandikos runs /usr/bin/xandikos on a free loopback port, storing in
// t.TempDir(). Xandikos has no authentication of its own: a proxy in front
// of it demands the account's Basic credentials, so that clients' handling
// of them is exercised.
func StartXandikos(t testing.TB) *Remote {
	t.Helper()
	bin := requireTool(t, "xandikos", "/usr/bin/xandikos")
	dir := t.TempDir()
	direct := startOnFreePort(t, "xandikos", func(port int) []string {
		return []string{bin, "--directory", filepath.Join(dir, "data"), "--defaults",
			"--current-user-principal", "/" + Username + "/",
			"--listen-address", "127.0.0.1", "--port", strconv.Itoa(port)}
	})
	target, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(basicAuth(Username, Password, newReverseProxy(target)))
	t.Cleanup(front.Close)
	base := front.URL
	r := &Remote{Name: "xandikos", BaseURL: base, Username: Username, Password: Password,
		PrincipalURL: base + "/" + Username + "/", HomeURL: base + "/" + Username + "/calendars/"}
	r.makeCalendar(t)
	return r
}

// basicAuth admits only requests with the given Basic credentials.
func basicAuth(user, password string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(user)) != 1 ||
			subtle.ConstantTimeCompare([]byte(p), []byte(password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="remotetest"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		r.Header.Del("Authorization")
		next.ServeHTTP(w, r)
	})
}

// newReverseProxy forwards to target, with Host rewritten to target's, and
// paths unchanged.
func newReverseProxy(target *url.URL) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite:  func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		ErrorLog: log.New(io.Discard, "", 0),
	}
}

// startOnFreePort starts a server subprocess on a free loopback port and
// waits until it answers, retrying with another port if it dies first
// (another process may take the port between the check and the bind). It
// returns the base URL; the process is stopped when the test ends.
func startOnFreePort(t testing.TB, name string, command func(port int) []string) string {
	t.Helper()
	var lastErr error
	for range 3 {
		port := freePort(t)
		p := startProcess(t, name, command(port))
		base := "http://127.0.0.1:" + strconv.Itoa(port)
		err := waitReady(base+"/", p.exited, startupTimeout)
		if err == nil {
			return base
		}
		lastErr = fmt.Errorf("%w\n%s", err, p.log.String())
		p.stop()
	}
	t.Fatalf("%s did not start: %v", name, lastErr)
	return ""
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// process is a server subprocess started by a test.
type process struct {
	cmd    *exec.Cmd
	log    *lockedBuffer
	exited chan struct{}
	once   sync.Once
}

// startProcess runs argv with its output captured, and stops it when the
// test ends (showing its output if the test failed).
func startProcess(t testing.TB, name string, argv []string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(argv[0], argv[1:]...), log: &lockedBuffer{}, exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1")
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.log.tail(4000))
		}
	})
	return p
}

// stop ends the process: SIGTERM, then SIGKILL if it lingers.
func (p *process) stop() {
	p.once.Do(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
}

// lockedBuffer collects a subprocess's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *lockedBuffer) tail(n int) string {
	s := b.String()
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}
