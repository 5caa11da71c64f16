// Package remotetest starts real CalDAV servers for the tests of the
// connectors: Koyomi in-process, Radicale and Xandikos as subprocesses,
// and a reverse proxy that injects faults. Each server has an account
// "remote" and a fresh calendar collection.
//
// Only tests import it. Radicale and Xandikos come from Debian's packages;
// when one is missing, its tests skip, unless KOYOMI_REQUIRE_REMOTES=1
// makes the absence a failure (as in CI).
package remotetest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/connector/remote"
	"koyomi.dev/koyomi/internal/server"
)

// The account every Remote has.
const (
	Username = "remote"
	Password = "secret-pw"
)

// RequireEnv, set to 1, turns a missing Radicale or Xandikos into a test
// failure instead of a skip.
const RequireEnv = "KOYOMI_REQUIRE_REMOTES"

// calendarName is the collection made on each server for the tests.
const calendarName = "sync-test"

// Remote is a running CalDAV server with one account and one calendar.
type Remote struct {
	Name         string // "koyomi", "radicale", "xandikos"
	BaseURL      string // scheme://host:port, no trailing slash
	PrincipalURL string // the account's principal
	HomeURL      string // the account's calendar home
	CalendarURL  string // a calendar collection made for the test, ending in "/"
	Username     string
	Password     string
	// Koyomi is the in-process server (StartKoyomi only), for tests that
	// look behind the protocol.
	Koyomi *server.Server
}

// Client returns a client with the Remote's credentials.
func (r *Remote) Client() *remote.Client {
	return remote.New(nil, remote.Auth{Username: r.Username, Password: r.Password})
}

// URL returns the absolute URL of the object name in the calendar.
func (r *Remote) URL(name string) string { return r.CalendarURL + name }

// Put writes the object name unconditionally, as another client of the
// remote server would, and returns its ETag.
func (r *Remote) Put(t testing.TB, name string, data []byte) (etag string) {
	t.Helper()
	resp := r.do(t, http.MethodPut, r.URL(name), data)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: PUT %s: %s", r.Name, name, resp.Status)
	}
	if etag = resp.Header.Get("ETag"); etag != "" {
		return etag
	}
	item, err := r.Client().Get(context.Background(), r.URL(name))
	if err != nil {
		t.Fatalf("%s: GET %s after PUT: %v", r.Name, name, err)
	}
	return item.ETag
}

// Get returns the object name and its ETag; ok is false if it does not
// exist.
func (r *Remote) Get(t testing.TB, name string) (data []byte, etag string, ok bool) {
	t.Helper()
	item, err := r.Client().Get(context.Background(), r.URL(name))
	if remote.Classify(err) == remote.KindNotFound {
		return nil, "", false
	}
	if err != nil {
		t.Fatalf("%s: GET %s: %v", r.Name, name, err)
	}
	return item.Data, item.ETag, true
}

// Delete removes the object name unconditionally; a missing one is fine.
func (r *Remote) Delete(t testing.TB, name string) {
	t.Helper()
	resp := r.do(t, http.MethodDelete, r.URL(name), nil)
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusNotFound {
		t.Fatalf("%s: DELETE %s: %s", r.Name, name, resp.Status)
	}
}

// List returns the objects of the calendar with their ETags.
func (r *Remote) List(t testing.TB) []remote.Item {
	t.Helper()
	items, err := r.Client().List(context.Background(), r.CalendarURL)
	if err != nil {
		t.Fatalf("%s: list %s: %v", r.Name, r.CalendarURL, err)
	}
	return items
}

// do sends one plain request with the Remote's credentials.
func (r *Remote) do(t testing.TB, method, url string, body []byte) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(string(body))
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if r.Username != "" {
		req.SetBasicAuth(r.Username, r.Password)
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/calendar; charset=utf-8")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %s %s: %v", r.Name, method, url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// makeCalendar creates the test calendar under home.
func (r *Remote) makeCalendar(t testing.TB) {
	t.Helper()
	r.CalendarURL = r.HomeURL + calendarName + "/"
	if err := r.Client().MakeCalendar(context.Background(), r.CalendarURL, "Sync test"); err != nil {
		t.Fatalf("%s: making the test calendar: %v", r.Name, err)
	}
}

// Event returns a small VCALENDAR with one VEVENT, CRLF line ends.
func Event(uid, summary string) []byte {
	lines := []string{
		"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Koyomi//remotetest//EN",
		"BEGIN:VEVENT", "UID:" + uid, "DTSTAMP:20260101T000000Z",
		"DTSTART:20260115T100000Z", "DTEND:20260115T110000Z", "SUMMARY:" + summary,
		"END:VEVENT", "END:VCALENDAR", "",
	}
	return []byte(strings.Join(lines, "\r\n"))
}

// requireTool returns the path of a server program, or skips (or fails,
// under KOYOMI_REQUIRE_REMOTES=1) the test when it is not installed.
func requireTool(t testing.TB, name, debianPath string) string {
	t.Helper()
	path := debianPath
	if _, err := os.Stat(path); err != nil {
		if path, err = exec.LookPath(name); err != nil {
			msg := fmt.Sprintf("%s is not installed (expected %s; Debian package %q)", name, debianPath, name)
			if os.Getenv(RequireEnv) == "1" {
				t.Fatalf("%s, and %s=1 requires it", msg, RequireEnv)
			}
			t.Skipf("%s; set %s=1 to make this a failure", msg, RequireEnv)
		}
	}
	return path
}

// waitReady polls url until it answers at all (any status), the process
// exits, or the deadline passes.
func waitReady(url string, exited <-chan struct{}, within time.Duration) error {
	deadline := time.Now().Add(within)
	hc := &http.Client{Timeout: time.Second}
	for {
		resp, err := hc.Get(url)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("the server exited")
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer within %v: %v", within, err)
		}
	}
}
