package remotetest

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Feed serves an iCalendar feed, as a webcal subscription would be, with
// an ETag, answering 304 to a request whose If-None-Match has it.
type Feed struct {
	srv *httptest.Server

	mu                    sync.Mutex
	body, etag            string
	requests, notModified int
}

// feedPath is where a Feed serves its calendar.
const feedPath = "/feed.ics"

// NewFeed starts a feed server with no calendar yet (404 until Set); it is
// closed when the test ends.
func NewFeed(t testing.TB) *Feed {
	t.Helper()
	f := &Feed{}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *Feed) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	body, etag := f.body, f.etag
	found := r.URL.Path == feedPath && etag != ""
	notModified := found && ifNoneMatch(r.Header.Get("If-None-Match"), etag)
	if notModified {
		f.notModified++
	}
	f.mu.Unlock()
	if !found {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("ETag", etag)
	if notModified {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Write([]byte(body))
}

// ifNoneMatch reports whether an If-None-Match value lists etag (or *).
func ifNoneMatch(header, etag string) bool {
	for _, v := range strings.Split(header, ",") {
		v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
		if v == "*" || v == strings.TrimPrefix(etag, "W/") {
			return true
		}
	}
	return false
}

// Set replaces the feed's calendar; its ETag follows the content.
func (f *Feed) Set(body string) {
	sum := sha256.Sum256([]byte(body))
	f.mu.Lock()
	defer f.mu.Unlock()
	f.body, f.etag = body, `"`+hex.EncodeToString(sum[:8])+`"`
}

// URL is the feed's address.
func (f *Feed) URL() string { return f.srv.URL + feedPath }

// ETag is the current calendar's ETag ("" before Set).
func (f *Feed) ETag() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.etag
}

// Requests counts the requests served.
func (f *Feed) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// NotModified counts the requests answered 304.
func (f *Feed) NotModified() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.notModified
}
