package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"koyomi.dev/koyomi/internal/auth"
	"koyomi.dev/koyomi/internal/publiclink"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/tree"
)

// DefaultMetricsAllow is who may scrape /metrics when Options.MetricsAllow
// is empty: this machine only.
var DefaultMetricsAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// headerRequestID carries a request's ID, from a proxy that assigned one and
// back to the client.
const headerRequestID = "X-Request-ID"

// requestInfo is what the request log learns while the request is served:
// who it authenticated as.
type requestInfo struct {
	id     string
	user   string
	client string // ClientIP's answer, worked out once
}

// clientOf is the client's address (ClientIP), as observe worked it out
// for the request when it did.
func (s *Server) clientOf(r *http.Request) string {
	if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		return info.client
	}
	return s.ClientIP(r)
}

type requestInfoKey struct{}

func infoOf(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	return info
}

// RequestID returns the ID of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	if info := infoOf(ctx); info != nil {
		return info.id
	}
	return ""
}

// requestID returns the client's (or its proxy's) X-Request-ID when it is a
// sane token, else a new random one: what is logged and echoed must not
// carry spaces, quotes or control characters into a log line.
func requestID(r *http.Request) string {
	if id := r.Header.Get(headerRequestID); saneRequestID(id) {
		return id
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.ContainsRune("-_.:+=/", c):
		default:
			return false
		}
	}
	return true
}

// routeName is the route a path is counted under in metrics: one of a small
// fixed set, never the path itself.
func routeName(path string) string {
	switch {
	case path == "/metrics":
		return "metrics"
	case path == "/healthz" || path == "/readyz":
		return "health"
	case strings.HasPrefix(path, "/.well-known/"):
		return "wellknown"
	case strings.HasPrefix(path, "/api/"):
		return "api"
	case strings.HasPrefix(path, tree.Prefix+"calendars/"):
		return "dav_calendar"
	case strings.HasPrefix(path, tree.Prefix+"addressbooks/"):
		return "dav_addressbook"
	case strings.HasPrefix(path, tree.Prefix+"principals/"), strings.HasPrefix(path, tree.Prefix+"groups/"):
		return "dav_principal"
	case path == "/" || strings.HasPrefix(path, publiclink.Prefix):
		return "web"
	}
	return "other"
}

// observe logs one line per request and counts it in the metrics: its ID
// (echoed in X-Request-ID), the client's address (through trusted
// proxies), the user it authenticated as, method, path, status, bytes
// sent, duration and user agent.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		done := s.metrics.RequestStarted()
		defer done()
		info := &requestInfo{id: requestID(r), client: s.ClientIP(r)}
		w.Header().Set(headerRequestID, info.id)
		rec := &statusRecorder{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
		defer func() {
			// Also when the handler aborts with a panic: the line is
			// written and the answer counted before the panic goes on.
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			took := time.Since(start)
			s.metrics.Request(r.Method, routeName(r.URL.Path), status, took)
			s.opts.Logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("request_id", info.id), slog.String("client", info.client),
				slog.String("user", info.user), slog.String("method", r.Method),
				slog.String("path", loggedPath(r.URL.Path)), slog.Int("status", status),
				slog.Int64("bytes", rec.bytes), slog.Duration("duration", took),
				slog.String("user_agent", loggedName(r.UserAgent())))
		}()
		next.ServeHTTP(rec, r)
	})
}

// authFailed logs and counts a refused login. The client's address comes
// first after the message, so that a pattern matching it (a fail2ban
// filter) cannot be fooled by a user name that contains "client=".
func (s *Server) authFailed(r *http.Request, user string, reason auth.Failure) {
	s.metrics.AuthFailure(string(reason))
	s.opts.Logger.LogAttrs(r.Context(), slog.LevelWarn, "authentication failed",
		slog.String("client", s.clientOf(r)), slog.String("reason", string(reason)),
		slog.String("user", loggedName(user)), slog.String("request_id", RequestID(r.Context())))
}

// serveMetrics serves the metrics to the addresses in MetricsAllow, and
// answers everyone else 403 Forbidden. The address is the client's, as
// ClientIP establishes it: a proxy is believed only when it is trusted.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	ip, err := netip.ParseAddr(s.clientOf(r))
	if err != nil || !isTrusted(ip, s.opts.MetricsAllow) {
		http.Error(w, "metrics are not served to this address", http.StatusForbidden)
		return
	}
	s.metrics.Handler().ServeHTTP(w, r)
}

// readiness is /readyz's answer.
type readiness struct {
	Status        string `json:"status"` // "ready" or "unavailable"
	Error         string `json:"error,omitempty"`
	SchemaVersion int    `json:"schema_version,omitempty"`
	SchemaWanted  int    `json:"schema_wanted,omitempty"`
}

// ready answers whether this process can serve: the store answers a read,
// and its schema is the version this program writes. 200 if so, else 503;
// either way with a short JSON body saying which.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ans := readiness{Status: "ready"}
	if err := pingStore(ctx, s.rawStore); err != nil {
		s.opts.Logger.WarnContext(ctx, "readiness: store unavailable", "err", err)
		ans = readiness{Status: "unavailable", Error: "store unavailable"}
	} else if v, ok := s.rawStore.(store.SchemaVersioner); ok {
		have, want, err := v.SchemaVersion(ctx)
		ans.SchemaVersion, ans.SchemaWanted = have, want
		switch {
		case err != nil:
			s.opts.Logger.WarnContext(ctx, "readiness: schema version unreadable", "err", err)
			ans.Status, ans.Error = "unavailable", "schema version unreadable"
		case have != want:
			ans.Status, ans.Error = "unavailable", "schema version differs from this program's"
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if ans.Status != "ready" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(ans)
}
