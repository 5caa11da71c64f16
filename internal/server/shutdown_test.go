package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Stopping the server drains requests in flight: a PUT whose body is still
// arriving when shutdown begins completes and is acknowledged, and the
// server stops accepting new connections.
func TestShutdownDrainsRequestsInFlight(t *testing.T) {
	srv := newTestServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(ctx, "127.0.0.1:0", TLS{}, func(a net.Addr) { addrc <- a }) }()
	addr := (<-addrc).String()

	body := ics("BEGIN:VEVENT", "UID:drain", "DTSTART:20260120T090000Z", "SUMMARY:in flight", "END:VEVENT")
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPut, "http://"+addr+"/dav/calendars/alice/default/drain.ics", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("alice", "alice-password")
	req.Header.Set("Content-Type", "text/calendar")
	req.ContentLength = int64(len(body))
	respc := make(chan *http.Response, 1)
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			errc <- err
			return
		}
		respc <- resp
	}()
	half := len(body) / 2
	if _, err := pw.Write([]byte(body[:half])); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the server start reading the request
	cancel()                           // shutdown begins with the PUT half sent
	time.Sleep(100 * time.Millisecond)
	if _, err := pw.Write([]byte(body[half:])); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	select {
	case resp := <-respc:
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT in flight during shutdown: %d", resp.StatusCode)
		}
	case err := <-errc:
		t.Fatalf("PUT in flight during shutdown failed: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("PUT in flight never answered")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ListenAndServe: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("server still accepts connections after shutdown")
	}
	// The acknowledged write is in the store.
	rec := request(t, srv, http.MethodGet, "/dav/calendars/alice/default/drain.ics", "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "in flight") {
		t.Fatalf("drained write not stored: %d", rec.Code)
	}
}
