package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// certFiles is a certificate and key pair on disk that a test can replace.
type certFiles struct {
	dir, cert, key string
	version        int
}

func newCertFiles(t *testing.T) *certFiles {
	dir := t.TempDir()
	return &certFiles{dir: dir, cert: filepath.Join(dir, "cert.pem"), key: filepath.Join(dir, "key.pem")}
}

// write replaces the pair with a fresh self-signed certificate for
// localhost whose common name is cn. Each version gets a later modification
// time, so the change is seen even on a file system with coarse timestamps.
func (f *certFiles) write(t *testing.T, cn string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(int64(f.version + 1)),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	f.writeRaw(t, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
}

func (f *certFiles) writeRaw(t *testing.T, cert, key []byte) {
	t.Helper()
	f.version++
	stamp := time.Now().Add(time.Duration(f.version) * time.Second)
	for _, file := range []struct {
		path string
		data []byte
	}{{f.cert, cert}, {f.key, key}} {
		if err := os.WriteFile(file.path, file.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(file.path, stamp, stamp); err != nil {
			t.Fatal(err)
		}
	}
}

// servedName connects to addr and returns the common name of the
// certificate presented.
func servedName(t *testing.T, addr string) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", addr, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// logBuffer collects log output from concurrent handshakes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A renewed certificate is served without a restart; a broken renewal is
// logged and the last good certificate stays in service.
func TestCertificateReload(t *testing.T) {
	files := newCertFiles(t)
	files.write(t, "first")
	var logs logBuffer
	certs, err := newCertReloader(files.cert, files.key, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	certs.interval = 10 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{TLSConfig: tlsConfig(certs), ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()

	if got := servedName(t, addr); got != "first" {
		t.Fatalf("served %q, want the initial certificate", got)
	}
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for got := servedName(t, addr); got != want; got = servedName(t, addr) {
			if time.Now().After(deadline) {
				t.Fatalf("still serving %q, want %q", got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	files.write(t, "second")
	waitFor("second")

	files.writeRaw(t, []byte("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n"), []byte("not a key"))
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "cannot load the changed TLS certificate") {
		if time.Now().After(deadline) {
			t.Fatalf("broken certificate not reported; log:\n%s", logs.String())
		}
		if got := servedName(t, addr); got != "second" {
			t.Fatalf("after a broken renewal served %q, want the previous certificate", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for range 5 {
		if got := servedName(t, addr); got != "second" {
			t.Fatalf("after a broken renewal served %q, want the previous certificate", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := strings.Count(logs.String(), "cannot load the changed TLS certificate"); n != 1 {
		t.Errorf("the same broken files were reported %d times, want once", n)
	}

	files.write(t, "third")
	waitFor("third")
}

// The files are looked at no more often than the check interval.
func TestCertificateCheckInterval(t *testing.T) {
	files := newCertFiles(t)
	files.write(t, "first")
	certs, err := newCertReloader(files.cert, files.key, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	certs.now = func() time.Time { return now }
	certs.checked = now
	name := func() string {
		c, err := certs.GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		return c.Leaf.Subject.CommonName
	}
	files.write(t, "second")
	now = now.Add(certCheckInterval - time.Millisecond)
	if got := name(); got != "first" {
		t.Fatalf("reloaded after %s, before the interval of %s: %q", certCheckInterval-time.Millisecond, certCheckInterval, got)
	}
	now = now.Add(time.Millisecond)
	if got := name(); got != "second" {
		t.Fatalf("not reloaded once the interval passed: %q", got)
	}
}

func TestCertificateLoadErrors(t *testing.T) {
	files := newCertFiles(t)
	if _, err := newCertReloader(files.cert, files.key, slog.New(slog.DiscardHandler)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing files: got %v, want a not-exist error", err)
	}
	files.write(t, "a")
	other := newCertFiles(t)
	other.write(t, "b")
	if _, err := newCertReloader(files.cert, other.key, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), other.key) {
		t.Errorf("mismatched key: got %v, want an error naming the key file", err)
	}
	srv := newTestServer(t)
	err := srv.ListenAndServe(context.Background(), "127.0.0.1:0", TLS{RedirectHTTP: "127.0.0.1:0"}, nil)
	if err == nil || !strings.Contains(err.Error(), "needs a TLS certificate") {
		t.Errorf("redirect without TLS: got %v", err)
	}
}

func TestHTTPSRedirect(t *testing.T) {
	tests := []struct {
		name, method, host, target, port string
		wantCode                         int
		wantLocation                     string
	}{
		{"path and query kept", "GET", "cal.example.org", "/dav/calendars/a/?x=1", "8443", 308, "https://cal.example.org:8443/dav/calendars/a/?x=1"},
		{"client's port replaced", "GET", "cal.example.org:8080", "/", "8443", 308, "https://cal.example.org:8443/"},
		{"default port omitted", "PUT", "cal.example.org:80", "/dav/x.ics", "443", 308, "https://cal.example.org/dav/x.ics"},
		{"method kept by 308", "PROPFIND", "cal.example.org", "/.well-known/caldav", "443", 308, "https://cal.example.org/.well-known/caldav"},
		{"ipv6", "GET", "[::1]:8080", "/a", "8443", 308, "https://[::1]:8443/a"},
		{"ipv4", "GET", "127.0.0.1:8080", "/a", "8443", 308, "https://127.0.0.1:8443/a"},
		{"no host", "GET", "", "/a", "8443", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader("<body/>"))
			r.Host = tt.host
			w := httptest.NewRecorder()
			httpsRedirect(tt.port).ServeHTTP(w, r)
			if w.Code != tt.wantCode || w.Header().Get("Location") != tt.wantLocation {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Header().Get("Location"), tt.wantCode, tt.wantLocation)
			}
		})
	}
}

// freeAddr returns a loopback address with a port nothing listens on (a
// small race with other processes is accepted in tests).
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// ListenAndServe with a certificate speaks HTTP/2 over TLS 1.2 or later,
// refuses older versions, and redirects plain HTTP when asked.
func TestListenAndServeTLS(t *testing.T) {
	files := newCertFiles(t)
	files.write(t, "koyomi-test")
	srv := newTestServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	redirectAddr := freeAddr(t)
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- srv.ListenAndServe(ctx, "127.0.0.1:0", TLS{Cert: files.cert, Key: files.key, RedirectHTTP: redirectAddr},
			func(a net.Addr) { addrc <- a })
	}()
	var addr string
	select {
	case a := <-addrc:
		addr = a.String()
	case err := <-done:
		t.Fatalf("ListenAndServe: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ListenAndServe after shutdown: %v", err)
		}
	})

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}}
	resp, err := client.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("healthz: %d over %s, TLS version %x; want 200 over HTTP/2, TLS 1.2 or later", resp.StatusCode, resp.Proto, resp.TLS.Version)
	}
	if conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}); err == nil {
		conn.Close()
		t.Error("a TLS 1.1 handshake succeeded")
	}

	plain := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("PROPFIND", "http://"+redirectAddr+"/dav/calendars/?a=b", strings.NewReader("<propfind/>"))
	resp, err = plain.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := "https://" + addr + "/dav/calendars/?a=b"; resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
		t.Errorf("plain HTTP: %d to %q, want 308 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
}
