package remotetest_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/connector/remote"
	"koyomi.dev/koyomi/internal/connector/remotetest"
)

// TestRemoteHelpers drives each server through the Remote's helpers, and
// checks the credentials are demanded.
func TestRemoteHelpers(t *testing.T) {
	for name, start := range map[string]func(testing.TB) *remotetest.Remote{
		"koyomi":   remotetest.StartKoyomi,
		"radicale": remotetest.StartRadicale,
		"xandikos": remotetest.StartXandikos,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := start(t)
			if r.Name != name || r.Username != remotetest.Username || r.Password != remotetest.Password ||
				!strings.HasPrefix(r.CalendarURL, r.BaseURL+"/") || !strings.HasSuffix(r.CalendarURL, "/") {
				t.Fatalf("Remote = %+v", r)
			}
			if items := r.List(t); len(items) != 0 {
				t.Errorf("new calendar holds %d objects", len(items))
			}
			etag := r.Put(t, "one.ics", remotetest.Event("one", "first"))
			etag2 := r.Put(t, "one.ics", remotetest.Event("one", "second")) // overwrites
			data, got, ok := r.Get(t, "one.ics")
			if !ok || got != etag2 || etag2 == etag || !bytes.Contains(data, []byte("SUMMARY:second")) {
				t.Errorf("Get = %q %q %v; ETags %q then %q", data, got, ok, etag, etag2)
			}
			if items := r.List(t); len(items) != 1 || items[0].Href != r.URL("one.ics") || items[0].ETag != etag2 {
				t.Errorf("List = %+v", items)
			}
			r.Delete(t, "one.ics")
			r.Delete(t, "one.ics") // already gone: fine
			if _, _, ok := r.Get(t, "one.ics"); ok {
				t.Error("object still there after Delete")
			}
			anon := remote.New(nil, remote.Auth{})
			if _, err := anon.Info(context.Background(), r.CalendarURL); remote.Classify(err) != remote.KindPermission {
				t.Errorf("request without credentials: %v, want 401", err)
			}
		})
	}
}

func TestFaultProxy(t *testing.T) {
	var seen []string
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.Host+" "+r.URL.Path)
		body, _ := io.ReadAll(r.Body)
		w.Write(append([]byte("ok "), body...))
	}))
	defer target.Close()
	p := remotetest.NewFaultProxy(t, target.URL)
	do := func(method, path string) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(method, p.URL+path, strings.NewReader("body"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error(), nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	if code, body, _ := do("PUT", "/a/b%20c"); code != 200 || body != "ok body" {
		t.Errorf("pass-through: %d %q", code, body)
	}
	if want := "PUT " + strings.TrimPrefix(target.URL, "http://") + " /a/b c"; len(seen) != 1 || seen[0] != want {
		t.Errorf("target saw %v, want %q (Host rewritten, path kept)", seen, want)
	}

	p.Fail(remotetest.Fault{Status: 429, Header: http.Header{"Retry-After": {"7"}}, Body: "slow down", Times: 2, Methods: []string{"REPORT"}})
	if code, _, _ := do("PUT", "/x"); code != 200 {
		t.Errorf("fault for REPORT applied to PUT: %d", code)
	}
	for i := range 2 {
		if code, body, h := do("REPORT", "/x"); code != 429 || body != "slow down" || h.Get("Retry-After") != "7" {
			t.Errorf("REPORT %d: %d %q %v", i, code, body, h)
		}
	}
	if code, _, _ := do("REPORT", "/x"); code != 200 {
		t.Errorf("after Times ran out: %d", code)
	}

	p.FailAfter("PUT", 1, remotetest.Fault{Status: 503})
	codes := []int{}
	for range 3 {
		code, _, _ := do("PUT", "/x")
		codes = append(codes, code)
	}
	if codes[0] != 200 || codes[1] != 503 || codes[2] != 503 {
		t.Errorf("FailAfter(PUT, 1): %v, want 200 then 503s", codes)
	}
	p.Heal()
	if code, _, _ := do("PUT", "/x"); code != 200 {
		t.Errorf("after Heal: %d", code)
	}

	p.Fail(remotetest.Fault{Drop: true, Times: 1})
	if code, _, _ := do("DELETE", "/x"); code != 0 {
		t.Errorf("dropped connection answered %d", code)
	}

	if p.Count("PUT") != 6 || p.Count("REPORT") != 3 || p.Count("DELETE") != 1 || p.Requests() != 10 {
		t.Errorf("counts: PUT %d REPORT %d DELETE %d all %d", p.Count("PUT"), p.Count("REPORT"), p.Count("DELETE"), p.Requests())
	}
	p.Reset()
	if p.Requests() != 0 {
		t.Errorf("after Reset: %d requests", p.Requests())
	}

	// A delayed answer is abandoned by a client that gives up, and the
	// proxy notices.
	p.Delay(10 * time.Second)
	hc := &http.Client{Timeout: 100 * time.Millisecond}
	if _, err := hc.Post(p.URL+"/slow", "text/plain", strings.NewReader("x")); err == nil {
		t.Error("delayed answer arrived before the client's timeout")
	}
	if got := p.Rebase(target.URL + "/a/b%20c/"); got != p.URL+"/a/b%20c/" {
		t.Errorf("Rebase = %s", got)
	}
}

func TestFeed(t *testing.T) {
	f := remotetest.NewFeed(t)
	get := func(etag string) (int, string) {
		req, _ := http.NewRequest("GET", f.URL(), nil)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get(""); code != 404 {
		t.Errorf("feed before Set: %d", code)
	}
	f.Set("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
	etag := f.ETag()
	if code, body := get(""); code != 200 || !strings.HasPrefix(body, "BEGIN:VCALENDAR") {
		t.Errorf("feed: %d %q", code, body)
	}
	if code, _ := get(etag); code != 304 {
		t.Errorf("conditional GET: %d", code)
	}
	f.Set("BEGIN:VCALENDAR\r\nX-CHANGED:1\r\nEND:VCALENDAR\r\n")
	if code, _ := get(etag); code != 200 || f.ETag() == etag {
		t.Errorf("changed feed: %d, ETag %s (was %s)", code, f.ETag(), etag)
	}
	if f.Requests() != 4 || f.NotModified() != 1 {
		t.Errorf("requests %d, not modified %d", f.Requests(), f.NotModified())
	}
}
