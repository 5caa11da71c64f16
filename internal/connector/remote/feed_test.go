package remote_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/connector/remote"
	"koyomi.dev/koyomi/internal/connector/remotetest"
)

func TestFetchICS(t *testing.T) {
	ctx := context.Background()
	feed := remotetest.NewFeed(t)
	v1 := string(remotetest.Event("feed-1", "first"))
	feed.Set(v1)
	c := remote.New(nil, remote.Auth{})
	body, etag, notModified, err := c.FetchICS(ctx, feed.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != v1 || etag != feed.ETag() || notModified {
		t.Errorf("first fetch: %q, ETag %q (want %q), notModified %v", body, etag, feed.ETag(), notModified)
	}
	body, etag2, notModified, err := c.FetchICS(ctx, feed.URL(), etag)
	if err != nil || !notModified || body != nil || etag2 != etag {
		t.Errorf("unchanged feed: body %q, ETag %q, notModified %v, %v; want 304 with the same ETag", body, etag2, notModified, err)
	}
	if feed.NotModified() != 1 || feed.Requests() != 2 {
		t.Errorf("feed saw %d requests, %d answered 304; want 2 and 1", feed.Requests(), feed.NotModified())
	}
	v2 := string(remotetest.Event("feed-1", "second"))
	feed.Set(v2)
	body, etag3, notModified, err := c.FetchICS(ctx, feed.URL(), etag)
	if err != nil || notModified || string(body) != v2 || etag3 == etag || etag3 != feed.ETag() {
		t.Errorf("changed feed: %q, ETag %q, notModified %v, %v", body, etag3, notModified, err)
	}
}

func TestFetchICSWebcal(t *testing.T) {
	cal := remotetest.Event("webcal", "over https")
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"w1"`)
		w.Write(cal)
	}))
	defer ts.Close()
	c := remote.New(ts.Client(), remote.Auth{})
	webcal := strings.Replace(ts.URL, "https://", "webcal://", 1) + "/cal.ics"
	body, etag, _, err := c.FetchICS(context.Background(), webcal, "")
	if err != nil || !bytes.Equal(body, cal) || etag != `"w1"` {
		t.Errorf("webcal:// fetched over https: %q, %q, %v", body, etag, err)
	}
}

func TestFetchICSFailures(t *testing.T) {
	ctx := context.Background()
	mux := http.NewServeMux()
	mux.HandleFunc("/big.ics", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("BEGIN:VCALENDAR\r\n" + strings.Repeat("X-FILL:0123456789\r\n", 100) + "END:VCALENDAR\r\n"))
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<!doctype html><html><body>Please sign in</body></html>"))
	})
	ts := httptest.NewServer(mux)
	defer ts.Close()
	c := remote.New(nil, remote.Auth{})
	c.MaxFeedSize = 1000
	_, _, _, err := c.FetchICS(ctx, ts.URL+"/big.ics", "")
	if err == nil || !strings.Contains(err.Error(), "larger than the 1000 bytes limit") {
		t.Errorf("oversized feed: %v", err)
	}
	_, _, _, err = c.FetchICS(ctx, ts.URL+"/login", "")
	if err == nil || !strings.Contains(err.Error(), "not an iCalendar feed") {
		t.Errorf("HTML page: %v", err)
	}
	_, _, _, err = c.FetchICS(ctx, ts.URL+"/missing.ics", "")
	if remote.Classify(err) != remote.KindNotFound || !strings.HasPrefix(err.Error(), "calendar feed error: Not Found") {
		t.Errorf("missing feed: %v", err)
	}
	c.MaxFeedSize = 0
	if body, _, _, err := c.FetchICS(ctx, ts.URL+"/big.ics", ""); err != nil || len(body) < 1000 {
		t.Errorf("feed within the default limit: %d bytes, %v", len(body), err)
	}
}

// TestPutWithoutETag: when the server's PUT answer has no ETag, Put asks
// for it.
func TestPutWithoutETag(t *testing.T) {
	r := remotetest.StartKoyomi(t)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPut {
			w = &noETag{ResponseWriter: w}
		}
		r.Koyomi.ServeHTTP(w, req)
	}))
	defer ts.Close()
	c := r.Client()
	href := ts.URL + strings.TrimPrefix(r.URL("no-etag.ics"), r.BaseURL)
	etag, err := c.Put(context.Background(), href, remotetest.Event("no-etag", "no etag"), "")
	if err != nil {
		t.Fatal(err)
	}
	item, err := c.Get(context.Background(), href)
	if err != nil {
		t.Fatal(err)
	}
	if etag == "" || etag != item.ETag {
		t.Errorf("Put returned ETag %q; the object has %q", etag, item.ETag)
	}
}

type noETag struct{ http.ResponseWriter }

func (w *noETag) WriteHeader(code int) {
	w.Header().Del("ETag")
	w.ResponseWriter.WriteHeader(code)
}

func (w *noETag) Write(b []byte) (int, error) {
	w.Header().Del("ETag")
	return w.ResponseWriter.Write(b)
}

// TestSyncTokenRejections covers the ways servers refuse a token, and a
// server failing whatever the token.
func TestSyncTokenRejections(t *testing.T) {
	r := remotetest.StartKoyomi(t)
	proxy := remotetest.NewFaultProxy(t, r.BaseURL)
	c := r.Client()
	ctx := context.Background()
	calURL := proxy.Rebase(r.CalendarURL)
	_, _, token, err := c.SyncCollection(ctx, calURL, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []remotetest.Fault{
		{Status: 409, Body: `<?xml version="1.0"?><error xmlns="DAV:"><valid-sync-token/></error>`},
		{Status: 403, Body: `<d:error xmlns:d="DAV:"><d:valid-sync-token/></d:error>`},
		{Status: 400, Body: "Invalid sync token"},
		{Status: 410, Body: `{"error": "Sync token is no longer valid"}`},
	} {
		proxy.Fail(remotetest.Fault{Status: f.Status, Body: f.Body, Methods: []string{"REPORT"}, Times: 1})
		_, _, _, err := c.SyncCollection(ctx, calURL, token)
		if !errors.Is(err, remote.ErrSyncTokenInvalid) {
			t.Errorf("%d %s: %v, want ErrSyncTokenInvalid", f.Status, f.Body, err)
		}
	}
	// A 403 that is not about the token stays a permission error.
	proxy.Fail(remotetest.Fault{Status: 403, Body: "Forbidden", Methods: []string{"REPORT"}, Times: 1})
	if _, _, _, err := c.SyncCollection(ctx, calURL, token); errors.Is(err, remote.ErrSyncTokenInvalid) || remote.Classify(err) != remote.KindPermission {
		t.Errorf("plain 403: %v", err)
	}
	// A server failing every sync is failing, not rejecting the token.
	proxy.Fail(remotetest.Fault{Status: 500, Methods: []string{"REPORT"}})
	_, _, _, err = c.SyncCollection(ctx, calURL, token)
	if errors.Is(err, remote.ErrSyncTokenInvalid) || remote.Classify(err) != remote.KindTransient {
		t.Errorf("500 on every sync: %v, want a transient error", err)
	}
	proxy.Heal()
	if _, _, _, err := c.SyncCollection(ctx, calURL, token); err != nil {
		t.Errorf("sync after healing: %v", err)
	}
}
