package server

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Over a real connection, headers beyond MaxHeaderBytes are answered 431,
// headers just below it are served.
func TestHeaderLimit(t *testing.T) {
	srv := newTestServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(ctx, "127.0.0.1:0", TLS{}, func(a net.Addr) { addrc <- a }) }()
	addr := (<-addrc).String()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ListenAndServe: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("server did not stop")
		}
	}()
	for _, tc := range []struct {
		name   string
		header int // bytes in one X-Filler header
		want   int
	}{
		{"small", 100, http.StatusMultiStatus},
		{"just below the limit", MaxHeaderBytes - 1024, http.StatusMultiStatus},
		{"above the limit", MaxHeaderBytes + 8<<10, http.StatusRequestHeaderFieldsTooLarge},
		{"a 1 MiB line", 1 << 20, http.StatusRequestHeaderFieldsTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("PROPFIND", "http://"+addr+"/dav/calendars/alice/", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.SetBasicAuth("alice", "alice-password")
			req.Header.Set("Depth", "0")
			req.Header.Set("X-Filler", strings.Repeat("a", tc.header))
			// A fresh connection each time: the server closes one it
			// refused.
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}
