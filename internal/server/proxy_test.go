package server

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

var testTrusted = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.1/32"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("10.0.0.0/8"),
}

func TestClientIP(t *testing.T) {
	tests := []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"no proxies trusted", "127.0.0.1:5000", []string{"203.0.113.7"}, nil, "127.0.0.1"},
		{"untrusted peer's header ignored", "198.51.100.2:5000", []string{"203.0.113.7"}, testTrusted, "198.51.100.2"},
		{"trusted peer without header", "127.0.0.1:5000", nil, testTrusted, "127.0.0.1"},
		{"trusted peer", "127.0.0.1:5000", []string{"203.0.113.7"}, testTrusted, "203.0.113.7"},
		{"client-supplied entries left of the real one ignored", "127.0.0.1:5000", []string{"1.2.3.4, 203.0.113.7"}, testTrusted, "203.0.113.7"},
		{"chain of trusted proxies", "127.0.0.1:5000", []string{"1.2.3.4, 203.0.113.7, 10.1.2.3"}, testTrusted, "203.0.113.7"},
		{"several header lines", "127.0.0.1:5000", []string{"1.2.3.4", "203.0.113.7, 10.1.2.3"}, testTrusted, "203.0.113.7"},
		{"all entries trusted", "127.0.0.1:5000", []string{"10.0.0.9, 10.1.2.3"}, testTrusted, "10.0.0.9"},
		{"entry with port", "127.0.0.1:5000", []string{"203.0.113.7:4711"}, testTrusted, "203.0.113.7"},
		{"ipv6 peer and client", "[::1]:5000", []string{"2001:db8::5"}, testTrusted, "2001:db8::5"},
		{"ipv6 entry with port", "[::1]:5000", []string{"[2001:db8::5]:443"}, testTrusted, "2001:db8::5"},
		{"ipv4-mapped peer", "[::ffff:127.0.0.1]:5000", []string{"203.0.113.7"}, testTrusted, "203.0.113.7"},
		{"garbage stops at last genuine hop", "127.0.0.1:5000", []string{"203.0.113.7, garbage, 10.1.2.3"}, testTrusted, "10.1.2.3"},
		{"garbage only", "127.0.0.1:5000", []string{"unknown"}, testTrusted, "127.0.0.1"},
		{"unparsable remote", "pipe", []string{"203.0.113.7"}, testTrusted, "pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := ClientIP(r, tt.trusted); got != tt.want {
				t.Errorf("ClientIP = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestForwardedHeaders(t *testing.T) {
	type seen struct{ host, scheme, xff, proto, xhost string }
	tests := []struct {
		name   string
		remote string
		tls    bool
		header map[string]string
		want   seen
	}{
		{"trusted proxy", "127.0.0.1:1", false,
			map[string]string{"X-Forwarded-Host": "cal.example.org", "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"},
			seen{"cal.example.org", "https", "203.0.113.7", "https", "cal.example.org"}},
		{"nearest proxy's value wins", "127.0.0.1:1", false,
			map[string]string{"X-Forwarded-Host": "evil.example, cal.example.org", "X-Forwarded-Proto": "http, https"},
			seen{"cal.example.org", "https", "", "http, https", "evil.example, cal.example.org"}},
		{"untrusted peer: headers ignored and removed", "198.51.100.2:1", false,
			map[string]string{"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https", "X-Forwarded-For": "1.2.3.4"},
			seen{"koyomi.internal:8008", "http", "", "", ""}},
		{"untrusted peer over TLS", "198.51.100.2:1", true,
			map[string]string{"X-Forwarded-Proto": "http"},
			seen{"koyomi.internal:8008", "https", "", "", ""}},
		{"trusted proxy without headers", "127.0.0.1:1", true, nil,
			seen{"koyomi.internal:8008", "https", "", "", ""}},
		{"unknown scheme ignored", "127.0.0.1:1", false,
			map[string]string{"X-Forwarded-Proto": "gopher"},
			seen{"koyomi.internal:8008", "http", "", "gopher", ""}},
		{"host with a path ignored", "127.0.0.1:1", false,
			map[string]string{"X-Forwarded-Host": "evil.example/x"},
			seen{"koyomi.internal:8008", "http", "", "", "evil.example/x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got seen
			h := forwarded(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = seen{r.Host, RequestScheme(r), r.Header.Get("X-Forwarded-For"),
					r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Forwarded-Host")}
			}), testTrusted)
			scheme := "http"
			if tt.tls {
				scheme = "https" // httptest gives the request a TLS state
			}
			r := httptest.NewRequest("GET", scheme+"://koyomi.internal:8008/dav/", nil)
			r.RemoteAddr = tt.remote
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got != tt.want {
				t.Errorf("handler saw %+v, want %+v", got, tt.want)
			}
		})
	}
}

// Behind a proxy that rewrites Host, a MOVE whose Destination names the
// client's host is on this server; from an untrusted peer the same
// forwarded host is not believed and the MOVE is refused as cross-server.
func TestDestinationBehindProxy(t *testing.T) {
	// The store comes with alice provisioned; serve it again with proxies trusted.
	srv, err := New(newTestServer(t).store, Options{PasswordParams: cheapParams, TrustedProxies: testTrusted})
	if err != nil {
		t.Fatal(err)
	}
	if code, body := as(t, srv, "alice", http.MethodPut, "/dav/calendars/alice/default/a.ics", event("a", "A")); code != http.StatusCreated {
		t.Fatalf("put: %d %s", code, body)
	}
	moveFrom := func(remote, dest string) int {
		r := httptest.NewRequest("MOVE", "http://127.0.0.1:8008/dav/calendars/alice/default/a.ics", nil)
		r.RemoteAddr = remote
		r.SetBasicAuth("alice", "alice-password")
		r.Header.Set("X-Forwarded-Host", "cal.example.org")
		r.Header.Set("X-Forwarded-Proto", "https")
		r.Header.Set("Destination", dest)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		return w.Code
	}
	if code := moveFrom("198.51.100.2:40000", "https://cal.example.org/dav/calendars/alice/default/c.ics"); code != http.StatusBadGateway {
		t.Errorf("MOVE from an untrusted peer naming the forwarded host: %d, want 502", code)
	}
	if code := moveFrom("127.0.0.1:40000", "https://cal.example.org/dav/calendars/alice/default/b.ics"); code != http.StatusCreated {
		t.Errorf("MOVE through a trusted proxy: %d, want 201", code)
	}
	if got := srv.ClientIP(&http.Request{RemoteAddr: "127.0.0.1:1", Header: http.Header{"X-Forwarded-For": {"203.0.113.7"}}}); got != "203.0.113.7" {
		t.Errorf("Server.ClientIP = %q", got)
	}
}
