package remotetest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fault is an answer a FaultProxy gives instead of forwarding a request.
type Fault struct {
	Status int         // the status to answer with
	Header http.Header // extra headers, e.g. Retry-After
	Body   string
	// Methods limits the fault to these methods; empty means any.
	Methods []string
	// After is how many matching requests pass untouched before the fault
	// applies.
	After int
	// Times is how many matching requests get the fault; zero means every
	// one until Heal or Reset.
	Times int
	// Drop closes the connection without any answer, instead of Status.
	Drop bool
}

// FaultProxy is a reverse proxy to a remote server that can be told to
// fail: to answer some requests itself with an error (Fail, FailAfter), to
// delay every answer (Delay), and to count the requests it sees (Requests,
// Count). Paths pass through unchanged
// and Host is rewritten to the target's, so the target serves as usual
// and the absolute paths in its answers stay valid through the proxy.
type FaultProxy struct {
	// URL is the proxy's base URL, to use in place of the target's.
	URL string

	srv    *httptest.Server
	target *url.URL

	closeOnce sync.Once

	mu     sync.Mutex
	faults []*Fault
	delay  time.Duration
	counts map[string]int
}

// NewFaultProxy starts a proxy to target (a base URL); it is closed when
// the test ends.
func NewFaultProxy(t testing.TB, target string) *FaultProxy {
	t.Helper()
	tu, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	tu.Path, tu.RawPath = "", ""
	p := &FaultProxy{target: tu, counts: map[string]int{}}
	proxy := newReverseProxy(tu)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		delay, fault := p.take(r.Method)
		if delay > 0 {
			// Read the body first: only then does the server notice a
			// client that gives up, and end r.Context().
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if fault == nil {
			proxy.ServeHTTP(w, r)
			return
		}
		if fault.Drop {
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		}
		for k, vs := range fault.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(fault.Status)
		w.Write([]byte(fault.Body))
	}))
	p.URL = p.srv.URL
	t.Cleanup(p.Close)
	return p
}

// take counts a request and returns the delay and fault (or nil) for it.
func (p *FaultProxy) take(method string) (time.Duration, *Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts[method]++
	for i, f := range p.faults {
		if len(f.Methods) > 0 && !slices.ContainsFunc(f.Methods, func(m string) bool { return strings.EqualFold(m, method) }) {
			continue
		}
		if f.After > 0 {
			f.After--
			return p.delay, nil
		}
		answer := *f
		if f.Times > 0 {
			if f.Times--; f.Times == 0 {
				p.faults = slices.Delete(p.faults, i, i+1)
			}
		}
		return p.delay, &answer
	}
	return p.delay, nil
}

// Fail queues a fault; a request gets the first queued fault that matches
// its method.
func (p *FaultProxy) Fail(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f.Header = f.Header.Clone()
	p.faults = append(p.faults, &f)
}

// FailAfter lets n more requests with method through, then answers the
// following ones with f (f.Times of them, or all).
func (p *FaultProxy) FailAfter(method string, n int, f Fault) {
	f.Methods = []string{method}
	f.After = n
	p.Fail(f)
}

// Delay makes every answer, forwarded or injected, wait d first (or until
// the client gives up).
func (p *FaultProxy) Delay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// Count returns how many requests with method the proxy has seen since
// the last Reset; "" counts all.
func (p *FaultProxy) Count(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if method != "" {
		return p.counts[strings.ToUpper(method)]
	}
	n := 0
	for _, c := range p.counts {
		n += c
	}
	return n
}

// Requests returns how many requests the proxy has seen since the last
// Reset.
func (p *FaultProxy) Requests() int { return p.Count("") }

// Heal clears the faults and the delay: requests pass through again.
func (p *FaultProxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults, p.delay = nil, 0
}

// Reset clears faults, delay and counts.
func (p *FaultProxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults, p.delay, p.counts = nil, 0, map[string]int{}
}

// Rebase returns rawURL (a URL of the target) with the proxy's scheme and
// host instead, path unchanged.
func (p *FaultProxy) Rebase(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	pu, _ := url.Parse(p.URL)
	u.Scheme, u.Host = pu.Scheme, pu.Host
	return u.String()
}

// Close stops the proxy.
func (p *FaultProxy) Close() {
	p.closeOnce.Do(func() {
		p.srv.CloseClientConnections()
		p.srv.Close()
	})
}
