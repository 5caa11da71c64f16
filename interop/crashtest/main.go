// Command crashtest proves that Koyomi keeps every acknowledged write when
// it is killed: concurrent writers create, update (If-Match) and delete
// calendar objects over HTTP while the server is killed with SIGKILL at
// random moments and restarted; afterwards every object must be in exactly
// the state its writer last saw acknowledged, and "koyomi check" must find
// the store consistent.
//
//	go run ./interop/crashtest --bin ./koyomi [--postgres postgres://...]
//
// It runs on SQLite in a temporary directory, and then, with --postgres
// (an administrative URL), once more on a fresh PostgreSQL database that it
// creates and drops with psql. It talks to the server over loopback only and
// knows the server only as a binary and its HTTP interface.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"koyomi.dev/koyomi/internal/check"
)

const (
	user     = "crash"
	password = "crash-secret-1"
)

type options struct {
	bin      string
	postgres string // administrative URL; empty: SQLite only
	duration time.Duration
	kills    int
	writers  int
	seed     uint64
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "koyomi `binary` to test (required)")
	flag.StringVar(&o.postgres, "postgres", "", "administrative PostgreSQL `URL`; when set, also run on a fresh database")
	flag.DurationVar(&o.duration, "duration", 15*time.Second, "how long the writers write, per store")
	flag.IntVar(&o.kills, "kills", 5, "SIGKILLs per store")
	flag.IntVar(&o.writers, "writers", 4, "concurrent writers")
	flag.Uint64Var(&o.seed, "seed", uint64(time.Now().UnixNano()), "random `seed`, printed so a run can be repeated")
	flag.Parse()
	if o.bin == "" {
		fmt.Fprintln(os.Stderr, "crashtest: --bin is required")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*o.duration+2*time.Minute)
	defer cancel()
	fmt.Printf("crashtest: seed %d\n", o.seed)
	failed := false
	if err := runSQLite(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "crashtest: SQLite:", err)
		failed = true
	}
	if o.postgres != "" {
		if err := runPostgres(ctx, o); err != nil {
			fmt.Fprintln(os.Stderr, "crashtest: PostgreSQL:", err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

func runSQLite(ctx context.Context, o options) error {
	work, err := os.MkdirTemp("", "koyomi-crash-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	return runOne(ctx, o, "SQLite", work, []string{"--data", filepath.Join(work, "data")})
}

func runPostgres(ctx context.Context, o options) error {
	work, err := os.MkdirTemp("", "koyomi-crash-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	db := fmt.Sprintf("koyomi_crash_%d", os.Getpid())
	drop := "DROP DATABASE IF EXISTS " + db + " WITH (FORCE)"
	if err := psql(ctx, o.postgres, drop, "CREATE DATABASE "+db); err != nil {
		return err
	}
	defer psql(context.WithoutCancel(ctx), o.postgres, drop)
	u, err := url.Parse(o.postgres)
	if err != nil {
		return fmt.Errorf("--postgres: %w", err)
	}
	u.Path = "/" + db
	return runOne(ctx, o, "PostgreSQL", work, []string{"--data", filepath.Join(work, "data"), "--store", u.String()})
}

func psql(ctx context.Context, admin string, stmts ...string) error {
	args := []string{admin, "-q", "-v", "ON_ERROR_STOP=1"}
	for _, s := range stmts {
		args = append(args, "-c", s)
	}
	out, err := exec.CommandContext(ctx, "psql", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("psql: %w: %s", err, out)
	}
	return nil
}

// runOne runs the whole scenario against one store.
func runOne(ctx context.Context, o options, label, work string, storeArgs []string) error {
	if out, err := exec.CommandContext(ctx, o.bin, append([]string{"init"}, storeArgs...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("init: %w: %s", err, out)
	}
	add := exec.CommandContext(ctx, o.bin, append([]string{"user", "add", user}, storeArgs...)...)
	add.Stdin = strings.NewReader(password + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		return fmt.Errorf("user add: %w: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	srv := &server{bin: o.bin, args: append([]string{"serve", "--listen", port}, storeArgs...),
		log: filepath.Join(work, "server.log"), base: "http://" + port}
	if err := srv.start(ctx); err != nil {
		return err
	}
	defer srv.stop()
	err = exercise(ctx, o, label, srv)
	if err == nil {
		err = srv.terminate()
	}
	if err != nil {
		srv.showLog()
		return err
	}
	out, err := exec.CommandContext(ctx, o.bin, append([]string{"check"}, storeArgs...)...).CombinedOutput()
	fmt.Printf("koyomi check on %s: %s", label, out)
	if err != nil {
		return fmt.Errorf("koyomi check: %w", err)
	}
	return nil
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// server is the koyomi process under test; one at a time.
type server struct {
	bin, log, base string
	args           []string
	mu             sync.Mutex
	cmd            *exec.Cmd
	done           chan struct{}
}

func (s *server) start(ctx context.Context) error {
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	return s.waitReady(ctx, done)
}

// waitReady polls until the server answers an authenticated request (which
// also provisions the user's default calendar), for at most 30 s.
func (s *server) waitReady(ctx context.Context, done chan struct{}) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return errors.New("server exited before becoming ready")
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, "PROPFIND", s.base+"/dav/calendars/"+user+"/", nil)
		req.SetBasicAuth(user, password)
		req.Header.Set("Depth", "0")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusMultiStatus {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("server not ready after 30s")
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// terminate stops the server cleanly and reports if it would not stop.
func (s *server) terminate() error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		return nil
	case <-time.After(10 * time.Second):
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		return errors.New("server did not stop within 10s of SIGTERM")
	}
}

func (s *server) stop() { s.kill() }

func (s *server) showLog() {
	data, _ := os.ReadFile(s.log)
	if len(data) > 8000 {
		data = data[len(data)-8000:]
	}
	fmt.Fprintf(os.Stderr, "---- server log (end) ----\n%s---- end of server log ----\n", data)
}

// exercise runs the writers while killing and restarting the server, then
// kills it once more and verifies every object after the restart.
func exercise(ctx context.Context, o options, label string, srv *server) error {
	rng := rand.New(rand.NewPCG(o.seed, 0x6b6f796f6d69))
	client := &http.Client{Timeout: 10 * time.Second}
	writers := make([]*writer, o.writers)
	for i := range writers {
		writers[i] = &writer{id: i, base: srv.base, client: client,
			rng: rand.New(rand.NewPCG(rng.Uint64(), uint64(i))), state: map[string]string{}}
	}
	// Writing lasts at least o.duration and until every kill has happened:
	// restarts take time, so a fixed deadline could cut the last kills off.
	writeCtx, stopWriting := context.WithCancel(ctx)
	defer stopWriting()
	started := time.Now()
	errs := make(chan error, len(writers))
	var wg sync.WaitGroup
	for _, w := range writers {
		wg.Go(func() { errs <- w.run(writeCtx, ctx) })
	}

	// Kill at random moments spread over the writing time.
	slot := o.duration / time.Duration(o.kills+1)
	kills := 0
	var killErr error
	for range o.kills {
		wait := slot/2 + time.Duration(rng.Int64N(int64(slot)))
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		if ctx.Err() != nil {
			break
		}
		srv.kill()
		kills++
		if killErr = srv.start(ctx); killErr != nil {
			killErr = fmt.Errorf("restart after kill %d: %w", kills, killErr)
			break
		}
	}
	if rest := o.duration - time.Since(started); killErr == nil && rest > 0 {
		select {
		case <-ctx.Done():
		case <-time.After(rest):
		}
	}
	stopWriting()
	wg.Wait()
	close(errs)
	var problems []error
	if killErr != nil {
		problems = append(problems, killErr)
	}
	for err := range errs {
		if err != nil {
			problems = append(problems, err)
		}
	}
	if len(problems) > 0 {
		return errors.Join(problems...)
	}

	// One last kill with every writer idle, then verify from a fresh process.
	srv.kill()
	if err := srv.start(ctx); err != nil {
		return fmt.Errorf("final restart: %w", err)
	}
	var acked, objects, live int
	for _, w := range writers {
		acked += w.acked
		objects += len(w.state)
		for name, etag := range w.state {
			if etag != "" {
				live++
			}
			got, body, err := w.get(ctx, name)
			if err != nil {
				return fmt.Errorf("verify %s: %w", name, err)
			}
			switch {
			case got != etag:
				problems = append(problems, fmt.Errorf("%s: ETag %q after the kills, acknowledged state %q", name, got, etag))
			case etag != "" && check.ETag(body) != etag:
				problems = append(problems, fmt.Errorf("%s: body does not match its ETag %q", name, etag))
			}
		}
	}
	fmt.Printf("crashtest on %s: %d kills, %d acknowledged writes on %d objects (%d live), all verified: %t\n",
		label, kills+1, acked, objects, live, len(problems) == 0)
	if kills < o.kills {
		problems = append(problems, fmt.Errorf("only %d of %d kills happened", kills, o.kills))
	}
	if acked < 20*o.writers {
		problems = append(problems, fmt.Errorf("only %d writes were acknowledged; the test proves little", acked))
	}
	return errors.Join(problems...)
}

// writer creates, updates and deletes its own objects one request at a
// time, so that it always knows the state it was last acknowledged.
type writer struct {
	id     int
	base   string
	client *http.Client
	rng    *rand.Rand
	// state maps each object name ever written to its acknowledged ETag
	// ("" for absent).
	state map[string]string
	next  int
	acked int
}

func (w *writer) url(name string) string {
	return w.base + "/dav/calendars/" + user + "/default/" + name
}

// run writes until writeCtx ends; ctx bounds each request, including the
// last one.
func (w *writer) run(writeCtx, ctx context.Context) error {
	var names []string
	for writeCtx.Err() == nil {
		var name string
		if len(names) == 0 || w.rng.IntN(5) == 0 {
			name = fmt.Sprintf("w%d-%d.ics", w.id, w.next)
			w.next++
			names = append(names, name)
			w.state[name] = ""
		} else {
			name = names[w.rng.IntN(len(names))]
		}
		if err := w.step(ctx, name); err != nil {
			return fmt.Errorf("writer %d, %s: %w", w.id, name, err)
		}
	}
	return nil
}

// step makes one write to name and brings w.state[name] up to date. A
// request that failed without an answer may or may not have been applied;
// the object is then read back once the server answers, and must be in the
// old state or the attempted one.
func (w *writer) step(ctx context.Context, name string) error {
	old := w.state[name]
	method, data := http.MethodPut, []byte(nil)
	if old != "" && w.rng.IntN(8) == 0 {
		method = http.MethodDelete
	} else {
		data = w.event(name)
	}
	attempted := ""
	if data != nil {
		attempted = check.ETag(data)
	}
	// Not writeCtx: a request cancelled by the client could still be
	// applied by a live server after it has been read back.
	req, _ := http.NewRequestWithContext(ctx, method, w.url(name), bytes.NewReader(data))
	req.SetBasicAuth(user, password)
	if old == "" {
		req.Header.Set("If-None-Match", "*")
	} else {
		req.Header.Set("If-Match", `"`+old+`"`)
	}
	if data != nil {
		req.Header.Set("Content-Type", "text/calendar; charset=utf-8")
	}
	resp, err := w.client.Do(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode/100 == 2:
			if etag := strings.Trim(resp.Header.Get("ETag"), `"`); data != nil && etag != "" && etag != attempted {
				return fmt.Errorf("%s answered ETag %q for data hashing to %q", method, etag, attempted)
			}
			w.state[name] = attempted
			w.acked++
			return nil
		case resp.StatusCode == http.StatusServiceUnavailable, resp.StatusCode == http.StatusInternalServerError:
			// The server is going down or lost its store mid-request:
			// the outcome is unknown, as for a dropped connection.
		default:
			return fmt.Errorf("%s answered %s", method, resp.Status)
		}
	}
	// Unknown outcome: read back once the server is there again.
	for {
		etag, _, err := w.get(ctx, name)
		if err == nil {
			if etag != old && etag != attempted {
				return fmt.Errorf("after a %s of unknown outcome the ETag is %q, neither the old %q nor the attempted %q", method, etag, old, attempted)
			}
			w.state[name] = etag
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("reading back after a failed %s: %w", method, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// get returns name's current ETag ("" when absent) and body. An error means
// the server could not be asked.
func (w *writer) get(ctx context.Context, name string) (string, []byte, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.url(name), nil)
	req.SetBasicAuth(user, password)
	resp, err := w.client.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return "", nil, err
	case resp.StatusCode == http.StatusNotFound:
		return "", nil, nil
	case resp.StatusCode != http.StatusOK:
		return "", nil, fmt.Errorf("GET answered %s", resp.Status)
	}
	return strings.Trim(resp.Header.Get("ETag"), `"`), body, nil
}

// event returns a new version of name's event: sometimes recurring, so
// that the occurrence index is written too, always different in content.
func (w *writer) event(name string) []byte {
	uid := strings.TrimSuffix(name, ".ics")
	start := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(w.rng.IntN(24*365)) * time.Hour)
	rule := ""
	if w.rng.IntN(3) == 0 {
		rule = fmt.Sprintf("RRULE:FREQ=WEEKLY;COUNT=%d\r\n", 2+w.rng.IntN(50))
	}
	return fmt.Appendf(nil, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Koyomi//crashtest//EN\r\nBEGIN:VEVENT\r\n"+
		"UID:%s\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:%s\r\nDURATION:PT1H\r\n%sSUMMARY:version %d\r\n"+
		"END:VEVENT\r\nEND:VCALENDAR\r\n", uid, start.Format("20060102T150405Z"), rule, w.rng.Uint32())
}
