package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// certCheckInterval bounds how often the certificate files are looked at:
// a handshake costs at most two stat calls every few seconds, and a renewed
// certificate is picked up within that time without a restart.
const certCheckInterval = 3 * time.Second

// fileStamp identifies one version of the certificate pair on disk. Renewal
// tools rewrite or replace both files, which changes the modification time
// or the size of at least one of them.
type fileStamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

func statPair(certFile, keyFile string) (fileStamp, error) {
	c, err := os.Stat(certFile)
	if err != nil {
		return fileStamp{}, err
	}
	k, err := os.Stat(keyFile)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{certMod: c.ModTime(), keyMod: k.ModTime(), certSize: c.Size(), keySize: k.Size()}, nil
}

// certReloader hands out the certificate pair for TLS handshakes and loads
// it again when the files change. A pair that fails to load (a renewal
// caught half-written, a key that does not match) is logged and the
// previous pair kept, so a bad renewal never takes the server offline.
type certReloader struct {
	certFile, keyFile string
	logger            *slog.Logger
	now               func() time.Time
	interval          time.Duration

	mu      sync.Mutex
	cert    *tls.Certificate
	seen    fileStamp // the files as last examined, loaded or not
	checked time.Time
}

// newCertReloader loads the pair once; an error here is a configuration
// mistake the operator must hear about at startup.
func newCertReloader(certFile, keyFile string, logger *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, logger: logger, now: time.Now, interval: certCheckInterval}
	stamp, err := statPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("server: TLS certificate: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("server: TLS certificate %s with key %s: %w", certFile, keyFile, err)
	}
	r.cert, r.seen, r.checked = &cert, stamp, r.now()
	return r, nil
}

// GetCertificate implements tls.Config.GetCertificate.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.now(); now.Sub(r.checked) >= r.interval {
		r.checked = now
		r.reloadIfChanged()
	}
	return r.cert, nil
}

// reloadIfChanged must be called with mu held.
func (r *certReloader) reloadIfChanged() {
	stamp, err := statPair(r.certFile, r.keyFile)
	if err != nil {
		// A file briefly missing while a renewal tool swaps it in is
		// normal; the next check will see the new one.
		if !errors.Is(err, os.ErrNotExist) {
			r.logger.Error("cannot check TLS certificate files; serving the loaded certificate", "err", err)
		}
		return
	}
	if stamp == r.seen {
		return
	}
	// Remember the stamp even if loading fails: the same broken files are
	// not retried (and logged) on every check, only once they change again.
	r.seen = stamp
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		r.logger.Error("cannot load the changed TLS certificate; still serving the previous one",
			"cert", r.certFile, "key", r.keyFile, "err", err)
		return
	}
	r.cert = &cert
	attrs := []any{"cert", r.certFile}
	if cert.Leaf != nil {
		attrs = append(attrs, "subject", cert.Leaf.Subject.String(), "not_after", cert.Leaf.NotAfter)
	}
	r.logger.Info("TLS certificate reloaded", attrs...)
}

// tlsConfig is the HTTPS configuration: TLS 1.2 or later with Go's default
// cipher suites, which Go keeps current (no RSA key exchange, RC4 or 3DES;
// TLS 1.3 suites are not configurable) better than a list pinned here. http.Server.ServeTLS adds HTTP/2 to the
// offered protocols.
func tlsConfig(certs *certReloader) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: certs.GetCertificate,
	}
}

// httpsRedirect answers every plain HTTP request with a permanent redirect
// to the same host and path over HTTPS on httpsPort. 308 rather than 301 so
// that clients repeat PUT, PROPFIND and REPORT with their bodies instead of
// turning them into GETs.
func httpsRedirect(httpsPort string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host == "" {
			http.Error(w, "a Host header is required", http.StatusBadRequest)
			return
		}
		if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
			host = "[" + host + "]"
		}
		if httpsPort != "" && httpsPort != "443" {
			host += ":" + httpsPort
		}
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}

// portOf returns the port of a bound listener address.
func portOf(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return strconv.Itoa(t.Port)
	}
	_, port, _ := net.SplitHostPort(a.String())
	return port
}
