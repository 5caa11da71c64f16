// Package server wires Koyomi's HTTP surface: authentication, discovery
// redirects, health and readiness checks, metrics and the request log, the
// DAV engine with CalDAV plugged in, the JSON API and the connector service
// behind it, and public links. It is the one place where the pieces are
// assembled; it holds no protocol or domain rules of its own.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"koyomi.dev/koyomi/internal/api"
	"koyomi.dev/koyomi/internal/auth"
	"koyomi.dev/koyomi/internal/caldav"
	"koyomi.dev/koyomi/internal/carddav"
	"koyomi.dev/koyomi/internal/connector"
	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/davacl"
	"koyomi.dev/koyomi/internal/davlock"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/metrics"
	"koyomi.dev/koyomi/internal/publiclink"
	"koyomi.dev/koyomi/internal/secret"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/tree"
)

// Options configure a Server.
type Options struct {
	Logger          *slog.Logger
	Realm           string
	MaxResourceSize int64
	// MaxImportSize bounds one import's file (zero:
	// domain.DefaultMaxImportSize).
	MaxImportSize int64
	// MinPasswordLength is the fewest characters a new password may have
	// (zero: domain.DefaultMinPasswordLength).
	MinPasswordLength int
	AuthCacheTTL      time.Duration // negative disables the cache
	PasswordParams    auth.Params   // zero: auth.DefaultParams()
	Clock             func() time.Time
	// TrustedProxies are the peers whose X-Forwarded-For, -Proto and -Host
	// headers are believed; empty trusts none (see ClientIP).
	TrustedProxies []netip.Prefix
	// LoginLimits bound failed logins per user name and per client address
	// (see auth.Limiter); the zero value uses its defaults, and a nil Clock
	// the server's.
	LoginLimits auth.LimitOptions
	// MaxConcurrentPerUser bounds the requests one user has in flight
	// (see perUser); zero means DefaultMaxConcurrentPerUser, negative no
	// bound.
	MaxConcurrentPerUser int
	// XMLLimits bound XML request bodies (zero fields: the defaults).
	XMLLimits dav.XMLLimits
	// CalDAVLimits bound what one REPORT may produce (zero fields: defaults).
	CalDAVLimits caldav.Limits
	// TrashRetention is how long deleted things stay in the trash (zero:
	// domain.DefaultTrashRetention).
	TrashRetention time.Duration

	// SecretKey seals connector credentials at rest (secret.KeySize
	// bytes). Without one, New makes a key that lives as long as the
	// process: good for tests only, since credentials stored with it
	// cannot be read after a restart.
	SecretKey []byte
	// ConnectorsDefaultAllowed is whether users no administrator rule
	// names may have connectors.
	ConnectorsDefaultAllowed bool
	// Admins may call the JSON API's administrative endpoints.
	Admins []string
	// NodeName names this process in connector leases and history.
	NodeName string
	// ConnectorHTTPClient reaches remote servers; nil: the connector
	// package's default.
	ConnectorHTTPClient *http.Client
	// ConnectorMinInterval is the shortest interval a connector may have
	// (zero: connector.MinInterval; tests lower it).
	ConnectorMinInterval time.Duration

	// MetricsAllow are the client addresses /metrics is served to; empty:
	// DefaultMetricsAllow.
	MetricsAllow []netip.Prefix

	// Hooks inject faults for tests; nil ones are skipped.
	Hooks Hooks
}

// Hooks are called at fixed points of the server's work, so that tests can
// make it fail (panic, say) where no real fault is at hand.
type Hooks struct {
	// Request is called with each authenticated DAV or API request, within
	// the user's concurrency limit, before it is handled.
	Request func(r *http.Request)
	// Connectors are the connector service's.
	Connectors connector.Hooks
}

// Server is Koyomi's HTTP handler over a store.
type Server struct {
	opts  Options
	store store.Store
	// rawStore is the store without the metrics' timing, for what only
	// it has (store.SchemaVersioner).
	rawStore store.Store
	metrics  *metrics.Metrics
	svc      *domain.Service
	auth     *auth.Authenticator
	limit    *auth.Limiter
	users    *userLimiter
	dav      *dav.Handler
	conns    *connector.Manager
	handler  http.Handler
}

// New assembles a server over st.
func New(st store.Store, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Realm == "" {
		opts.Realm = "Koyomi"
	}
	if opts.PasswordParams == (auth.Params{}) {
		opts.PasswordParams = auth.DefaultParams()
	}
	mx := metrics.New(opts.Logger)
	if len(opts.MetricsAllow) == 0 {
		opts.MetricsAllow = DefaultMetricsAllow
	}
	raw := st
	st = mx.Store(st)
	svc := domain.New(st, domain.Options{Logger: opts.Logger, Clock: opts.Clock,
		PasswordParams: opts.PasswordParams, MaxResourceSize: opts.MaxResourceSize, TrashRetention: opts.TrashRetention,
		MaxImportSize: opts.MaxImportSize, MinPasswordLength: opts.MinPasswordLength,
		RenderCacheLookup: mx.RenderCacheLookup})
	mx.Trash(svc.TrashSize)
	authn, err := auth.New(svc, auth.Options{CacheTTL: opts.AuthCacheTTL, Clock: opts.Clock,
		Logger: opts.Logger, Params: opts.PasswordParams})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	t := tree.New(svc)
	h := dav.NewHandler(t, opts.Logger, davlock.NewShared(opts.Clock, storeLocks{st}))
	if opts.MaxResourceSize > 0 {
		h.MaxBody = opts.MaxResourceSize
	}
	h.XMLLimits = opts.XMLLimits
	h.Unavailable = func(ctx context.Context) bool { return pingStore(ctx, st) != nil }
	t.Register(h)
	caldav.Register(h, t, opts.CalDAVLimits)
	carddav.Register(h, t)
	davacl.Register(h, t)
	if opts.LoginLimits.Clock == nil {
		opts.LoginLimits.Clock = opts.Clock
	}
	conns, err := newConnectors(st, svc, mx, opts)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s := &Server{opts: opts, store: st, rawStore: raw, metrics: mx, svc: svc, auth: authn, limit: auth.NewLimiter(opts.LoginLimits), dav: h,
		conns: conns}
	if opts.MaxConcurrentPerUser == 0 {
		opts.MaxConcurrentPerUser = DefaultMaxConcurrentPerUser
	}
	s.users = newUserLimiter(opts.MaxConcurrentPerUser, concurrencyWait)
	s.handler = forwarded(s.routes(), opts.TrustedProxies)
	return s, nil
}

// newConnectors builds the connector service over the server's store and
// domain service.
func newConnectors(st store.Store, svc *domain.Service, mx *metrics.Metrics, opts Options) (*connector.Manager, error) {
	key := opts.SecretKey
	if key == nil {
		key = make([]byte, secret.KeySize)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		opts.Logger.Warn("no server key given: connector credentials stored now cannot be read after a restart")
	}
	box, err := secret.New(key)
	if err != nil {
		return nil, err
	}
	return connector.New(connector.Options{Store: st, Domain: svc, Box: box, Logger: opts.Logger, Clock: opts.Clock,
		Node: opts.NodeName, HTTPClient: opts.ConnectorHTTPClient,
		MinInterval: opts.ConnectorMinInterval, DefaultAllowed: opts.ConnectorsDefaultAllowed,
		RunFinished: mx.ConnectorRun, Hooks: opts.Hooks.Connectors}), nil
}

// Service returns the domain service (for administrative commands).
func (s *Server) Service() *domain.Service { return s.svc }

// Connectors returns the connector service. Its periodic runner is not
// started by New: whoever runs the server calls Run on it (koyomi serve
// does, until shutdown).
func (s *Server) Connectors() *connector.Manager { return s.conns }

// RunTrashPurge purges the expired trash hourly, on one node of a cluster
// at a time (see domain.RunTrashPurge), until ctx ends.
func (s *Server) RunTrashPurge(ctx context.Context) {
	b := make([]byte, 6)
	rand.Read(b)
	s.svc.RunTrashPurge(ctx, s.opts.NodeName+"/"+hex.EncodeToString(b), time.Hour)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/caldav", s.wellKnown)
	mux.HandleFunc("/.well-known/carddav", s.wellKnown)
	mux.HandleFunc("/healthz", s.health)
	mux.HandleFunc("/readyz", s.ready)
	mux.HandleFunc("/metrics", s.serveMetrics)
	mux.Handle(tree.Prefix, s.forUsers(s.dav))
	mux.Handle("/api/", s.forUsers(api.New(s.svc, s.conns, s.opts.Logger, s.opts.Admins, tree.VCPath, sharePath)))
	mux.Handle(publiclink.Prefix, s.perLink(publiclink.New(s.svc, s.opts.Logger)))
	mux.Handle("/dav", http.RedirectHandler(tree.Prefix, http.StatusMovedPermanently))
	mux.HandleFunc("/", s.root)
	return s.observe(s.recoverPanics(mux))
}

// sharePath is where a collection shared with user appears in their home.
func sharePath(user string, sh *domain.Share) string {
	return tree.CollectionPath(&store.Collection{Owner: user, Name: sh.Mount, Kind: sh.Coll.Kind})
}

// forUsers serves h to authenticated users, within their concurrency
// limit.
func (s *Server) forUsers(h http.Handler) http.Handler {
	if hook := s.opts.Hooks.Request; hook != nil {
		next := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hook(r)
			next.ServeHTTP(w, r)
		})
	}
	return s.authenticated(s.perUser(h))
}

// recoverPanics keeps a panic in a request from taking more than that
// request: it is logged with its stack and answered 500 Internal Server
// Error, or, when the answer has begun, the response is aborted so that
// the client cannot take a truncated answer for a whole one. Deferred
// cleanups up the stack (the user's concurrency slot, a store
// transaction) have run by then.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// observe's recorder, when it wraps this, already keeps the status.
		rec, ok := w.(*statusRecorder)
		if !ok {
			rec = &statusRecorder{ResponseWriter: w}
		}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v) // a deliberate abort: net/http ends the response quietly
			}
			s.opts.Logger.ErrorContext(r.Context(), "request panicked", "request_id", RequestID(r.Context()),
				"method", r.Method, "path", loggedPath(r.URL.Path),
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if rec.status != 0 {
				panic(http.ErrAbortHandler)
			}
			clear(rec.Header()) // what the handler meant to send with its answer
			http.Error(rec, "internal server error", http.StatusInternalServerError)
		}()
		next.ServeHTTP(rec, r)
	})
}

// wellKnown answers RFC 6764 discovery with a redirect to the DAV root.
// Clients send PROPFIND as well as GET; a 307 keeps their method and body
// (HTTP libraries drop the body of a PROPFIND redirected with 301), and
// RFC 6764 section 5 allows it.
func (s *Server) wellKnown(w http.ResponseWriter, r *http.Request) {
	code := http.StatusMovedPermanently
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		code = http.StatusTemporaryRedirect
	}
	http.Redirect(w, r, tree.Prefix, code)
}

// root serves the front page, and treats DAV requests to "/" as requests
// to the DAV root, for clients given only the server's address.
func (s *Server) root(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "Koyomi calendar server.\nCalDAV: %s (discovery: /.well-known/caldav)\n", tree.Prefix)
	default:
		r2 := r.Clone(r.Context())
		r2.URL.Path = tree.Prefix
		s.forUsers(s.dav).ServeHTTP(w, r2)
	}
}

// pingStore checks that the store answers, within two seconds.
func pingStore(ctx context.Context, st store.Store) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	return st.View(ctx, func(tx store.Tx) error {
		// No user can be called this (names start with a letter or digit):
		// the lookup only proves the store answers.
		_, err := tx.GetUser(ctx, "-health")
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	err := pingStore(ctx, s.store)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err != nil {
		s.opts.Logger.ErrorContext(ctx, "health check failed", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "store unavailable")
		return
	}
	fmt.Fprintln(w, "ok")
}

// authenticated requires HTTP Basic credentials, then acts as that user.
//
// Failed logins are counted per user name, per user name from one client
// address and per client address (see auth.Limiter); past the limits,
// attempts are refused with 429 before any password check. A user name's
// lock still admits a password the Authenticator holds as verified, so the
// user's devices keep working while an attacker's lock runs (as long as the
// cache remembers them); every other attempt refused by it counts against
// that name from its address, which then refuses everything for the name
// from there, so that the cheap cache check is no unlimited oracle. The
// address itself locks only on failed password checks for many names: the
// other users behind it keep logging in while one account is attacked.
// Unknown names are counted like real ones: a 429 tells nothing about
// whether a user exists.
func (s *Server) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok {
			if r.Method == http.MethodOptions {
				next.ServeHTTP(w, r)
				return
			}
			s.challenge(w)
			return
		}
		ctx := r.Context()
		ip := s.clientOf(r)
		if wait := s.limit.IPWait(ip); wait > 0 {
			s.authFailed(r, user, auth.RateLimited)
			tooManyFailures(w, wait)
			return
		}
		if wait := s.limit.UserFromWait(user, ip); wait > 0 {
			s.authFailed(r, user, auth.RateLimited)
			tooManyFailures(w, max(wait, s.limit.Refused(user, ip)))
			return
		}
		if wait := s.limit.UserWait(user); wait > 0 && !s.auth.IsCached(ctx, user, pass) {
			s.authFailed(r, user, auth.RateLimited)
			tooManyFailures(w, max(wait, s.limit.Refused(user, ip)))
			return
		}
		failure, err := s.auth.Check(ctx, user, pass)
		if err != nil {
			s.opts.Logger.ErrorContext(ctx, "authentication unavailable", "err", err)
			http.Error(w, "authentication unavailable", http.StatusServiceUnavailable)
			return
		}
		if failure != "" {
			s.authFailed(r, user, failure)
			if userWait, ipWait := s.limit.Fail(user, ip); userWait > 0 || ipWait > 0 {
				s.opts.Logger.WarnContext(ctx, "too many failed logins", "user", loggedName(user), "ip", ip,
					"user_locked_for", userWait, "ip_locked_for", ipWait)
			}
			s.challenge(w)
			return
		}
		s.limit.Succeed(user, ip)
		if info := infoOf(ctx); info != nil {
			info.user = user
		}
		ctx = domain.WithPrincipal(ctx, user)
		if err := s.ensureHomes(ctx, user); err != nil {
			s.opts.Logger.ErrorContext(ctx, "home provisioning failed", "user", user, "err", err)
			http.Error(w, "cannot prepare your calendars", http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// ensureHomes gives a user their default calendar and address book.
func (s *Server) ensureHomes(ctx context.Context, user string) error {
	if err := s.svc.EnsureHome(ctx, user, store.KindCalendar); err != nil {
		return err
	}
	return s.svc.EnsureHome(ctx, user, store.KindAddressBook)
}

// tooManyFailures refuses a login attempt for wait, in words that do not say
// whether the user exists.
func tooManyFailures(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	http.Error(w, "too many failed logins; try again later", http.StatusTooManyRequests)
}

func (s *Server) challenge(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", auth.Challenge(s.opts.Realm))
	http.Error(w, "authentication required", http.StatusUnauthorized)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// MaxHeaderBytes bounds the request line and headers the server reads;
// above it (plus the 4 KiB net/http allows for its buffer) a request is
// answered 431 Request Header Fields Too Large before it reaches a
// handler. No calendar or contacts client sends more than a few kilobytes;
// the net/http default of 1 MiB let every request make the server hold a
// megabyte.
const MaxHeaderBytes = 64 << 10

// TLS names a certificate chain and key (PEM files) to serve HTTPS with.
// The files are watched: a renewed certificate is served without a restart.
type TLS struct {
	Cert, Key string
	// RedirectHTTP, if set, is an address for a plain HTTP listener that
	// redirects every request to the HTTPS server.
	RedirectHTTP string
}

// ListenAndServe serves on addr until ctx is cancelled, then drains
// requests for up to 10 seconds; with tls set, it serves HTTPS (and, if
// asked, redirects plain HTTP to it). ready, if not nil, is called with the
// bound address once the server accepts connections.
func (s *Server) ListenAndServe(ctx context.Context, addr string, tls TLS, ready func(net.Addr)) error {
	var certs *certReloader
	if tls.Cert != "" {
		var err error
		if certs, err = newCertReloader(tls.Cert, tls.Key, s.opts.Logger); err != nil {
			return err
		}
	} else if tls.RedirectHTTP != "" {
		return errors.New("server: redirecting HTTP to HTTPS needs a TLS certificate and key")
	}
	errorLog := slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 5 * time.Minute,
		MaxHeaderBytes: MaxHeaderBytes, ErrorLog: errorLog}
	if certs != nil {
		srv.TLSConfig = tlsConfig(certs)
	}
	errc := make(chan error, 2)
	servers := []*http.Server{srv}
	if tls.RedirectHTTP != "" {
		rln, err := net.Listen("tcp", tls.RedirectHTTP)
		if err != nil {
			ln.Close()
			return fmt.Errorf("server: listen on %s for the HTTP redirect: %w", tls.RedirectHTTP, err)
		}
		redirect := &http.Server{Handler: httpsRedirect(portOf(ln.Addr())), ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout: time.Minute, MaxHeaderBytes: MaxHeaderBytes, ErrorLog: errorLog}
		servers = append(servers, redirect)
		s.opts.Logger.Info("redirecting plain HTTP to HTTPS", "addr", rln.Addr().String())
		go func() { errc <- redirect.Serve(rln) }()
	}
	if ready != nil {
		ready(ln.Addr())
	}
	go func() {
		if certs != nil {
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(shutdown); err != nil && !strings.Contains(err.Error(), "closed") && serveErr == nil {
			serveErr = err
		}
	}
	return serveErr
}
