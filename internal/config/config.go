// Package config holds Koyomi's server configuration: its defaults, the TOML
// file, KOYOMI_* environment variables, command-line flags, and validation
// with messages a user can act on.
//
// Later sources override earlier ones:
//
//	defaults < config file < environment < command-line flags
//
// The file path itself (--config / KOYOMI_CONFIG) belongs to the command
// line, which must know it before anything else is read. Because flags are
// parsed first but applied last, RegisterFlags records only the flags given
// on the command line and Resolve applies them after the environment:
//
//	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
//	path := fs.String("config", os.Getenv("KOYOMI_CONFIG"), "configuration file")
//	flags := config.RegisterFlags(fs)
//	if err := fs.Parse(args); err != nil { ... }
//	cfg, err := config.Resolve(*path, os.Getenv, flags)
//
// An empty environment variable counts as unset. The package knows nothing of
// what the settings drive (HTTP serving, storage, authentication); it only
// reads, merges and checks them.
package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the server configuration. TOML keys are given in the struct tags.
type Config struct {
	// Listen is the TCP address to serve on, host:port.
	Listen string `toml:"listen"`
	// Data is the directory for the embedded database and other state.
	Data string `toml:"data"`
	// Store selects the database: empty means SQLite inside Data, a
	// postgres:// URL means PostgreSQL.
	Store string `toml:"store"`
	// Realm is the HTTP Basic authentication realm shown by clients.
	Realm string `toml:"realm"`
	// BaseURL is the externally visible URL when Koyomi runs behind a
	// reverse proxy, e.g. https://cal.example.org/dav; empty means derive it
	// from each request.
	BaseURL string `toml:"base_url"`
	// MaxResourceSize is the largest calendar object or contact accepted, in
	// bytes.
	MaxResourceSize int64 `toml:"max_resource_size"`
	// MaxImportSize is the largest file one import (a POST to a
	// collection, the API, koyomi calendar import) reads, in bytes.
	MaxImportSize int64 `toml:"max_import_size"`
	// LogLevel is one of debug, info, warn, error.
	LogLevel string `toml:"log_level"`
	// LogFormat is text or json.
	LogFormat string `toml:"log_format"`
	// AuthCacheTTL is how long a verified password is remembered; zero
	// disables the cache. In TOML it is a string such as "5m".
	AuthCacheTTL time.Duration `toml:"auth_cache_ttl"`
	// LoginMaxFailures is how many failed logins for one user name within
	// LoginWindow make further attempts for it wait: from anywhere for
	// passwords not already verified, and for everything from the address
	// they came from.
	LoginMaxFailures int `toml:"login_max_failures"`
	// MinPasswordLength is the fewest characters a new password may have.
	MinPasswordLength int `toml:"min_password_length"`
	// LoginMaxFailuresPerIP is how many wrong passwords from one client
	// address, for any names, within LoginWindow make every attempt from
	// it wait (see auth.Limiter).
	LoginMaxFailuresPerIP int `toml:"login_max_failures_per_ip"`
	// LoginWindow is the period failed logins are counted in.
	LoginWindow time.Duration `toml:"login_window"`
	// LoginMaxBackoff caps the wait after too many failures, which doubles
	// from one second with each further failure.
	LoginMaxBackoff time.Duration `toml:"login_max_backoff"`
	// TrashRetention is how long deleted objects, collections and users
	// are kept in the trash before they are purged for good.
	TrashRetention time.Duration `toml:"trash_retention"`
	// MaxConcurrentPerUser is how many requests one user may have in
	// flight; more wait briefly, then get 503 with Retry-After. Zero means
	// the server's default, 16.
	MaxConcurrentPerUser int `toml:"max_concurrent_per_user"`
	// MaxXMLDepth and MaxXMLElements bound XML request bodies (nesting and
	// element count); zero means the defaults, 64 and 100,000.
	MaxXMLDepth    int `toml:"max_xml_depth"`
	MaxXMLElements int `toml:"max_xml_elements"`
	// MaxReportInstances bounds the instances one REPORT's expand may
	// produce, MaxQueryResults the resources one calendar-query answers
	// with (507 beyond either); zero means the defaults, 10,000 and 20,000.
	MaxReportInstances int `toml:"max_report_instances"`
	MaxQueryResults    int `toml:"max_query_results"`
	// RedirectHTTP is an address (host:port) for a plain HTTP listener that
	// redirects every request to HTTPS; empty means none. It needs TLS.
	RedirectHTTP string `toml:"redirect_http"`
	// TrustedProxies are the reverse proxies (networks in CIDR notation, or
	// single addresses) whose X-Forwarded-For, X-Forwarded-Proto and
	// X-Forwarded-Host headers are believed; empty trusts none.
	TrustedProxies AddressList `toml:"trusted_proxies"`
	// MetricsAllow are the client addresses (networks in CIDR notation, or
	// single addresses) that may read /metrics; others get 403 Forbidden.
	// The default is loopback only.
	MetricsAllow AddressList `toml:"metrics_allow"`
	// SecretKeyFile holds the server key that encrypts connector
	// credentials at rest; empty means secret.key in Data. It is created
	// on first use. Every node of one installation must use the same key.
	SecretKeyFile string `toml:"secret_key_file"`
	// Connectors is "allow" or "forbid": whether users whom no
	// administrator rule names may have sync connectors.
	Connectors string `toml:"connectors"`
	// Admins are the users who may administer through the JSON API (today:
	// connector permissions). The command line always may.
	Admins NameList `toml:"admins"`
	// NodeName names this process in connector leases and run history;
	// empty means the host name.
	NodeName string `toml:"node_name"`
	// TLS enables HTTPS when both files are given.
	TLS TLS `toml:"tls"`
}

// AddressList is a list of networks and addresses. It is kept as one
// comma-separated string, the form the environment and flags use, so that a
// Config stays comparable; in TOML it is an array of strings.
type AddressList string

// UnmarshalTOML accepts an array of strings, or one comma-separated string.
func (l *AddressList) UnmarshalTOML(v any) error {
	joined, err := joinList(v, `["127.0.0.1/32", "::1"]`)
	*l = AddressList(joined)
	return err
}

// joinList turns a TOML array of strings (or one string) into the
// comma-separated form; example shows the expected shape in errors.
func joinList(v any, example string) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case []any:
		items := make([]string, len(v))
		for i, item := range v {
			s, ok := item.(string)
			if !ok {
				return "", fmt.Errorf("want an array of strings such as %s, got %v", example, item)
			}
			items[i] = strings.TrimSpace(s)
		}
		return strings.Join(items, ","), nil
	}
	return "", fmt.Errorf("want an array of strings such as %s, got %v", example, v)
}

// NameList is a list of user names, kept like AddressList as one
// comma-separated string; in TOML it is an array of strings.
type NameList string

// UnmarshalTOML accepts an array of strings, or one comma-separated string.
func (l *NameList) UnmarshalTOML(v any) error {
	joined, err := joinList(v, `["alice", "bob"]`)
	*l = NameList(joined)
	return err
}

// Names returns the names in the list.
func (l NameList) Names() []string {
	var out []string
	for item := range strings.SplitSeq(string(l), ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// Prefixes parses the list; a single address stands for itself alone
// (a /32 or /128 network).
func (l AddressList) Prefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for item := range strings.SplitSeq(string(l), ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("%q is neither an address nor a network such as 10.0.0.0/8 or fd00::/8", item)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// TLS names the certificate chain and private key files, PEM encoded.
type TLS struct {
	Cert string `toml:"cert"`
	Key  string `toml:"key"`
}

// Default returns the configuration used when nothing else is given: a
// server on localhost port 8008 with its SQLite database in ./koyomi-data.
func Default() Config {
	return Config{
		Listen:          "127.0.0.1:8008",
		Data:            "./koyomi-data",
		Realm:           "Koyomi",
		MaxResourceSize: 10 << 20,
		MaxImportSize:   256 << 20,
		LogLevel:        "info",
		LogFormat:       "text",
		MetricsAllow:    "127.0.0.0/8, ::1",
		AuthCacheTTL:    5 * time.Minute,

		LoginMaxFailures:      10,
		MinPasswordLength:     8,
		LoginMaxFailuresPerIP: 30,
		LoginWindow:           15 * time.Minute,
		LoginMaxBackoff:       15 * time.Minute,

		TrashRetention: 720 * time.Hour,

		Connectors: "allow",
	}
}

// SecretKeyPath is the server key file: SecretKeyFile, or secret.key in
// the data directory.
func (c *Config) SecretKeyPath() string {
	if c.SecretKeyFile != "" {
		return c.SecretKeyFile
	}
	return filepath.Join(c.Data, "secret.key")
}

// ConnectorsAllowed reports whether users no administrator rule names
// may have connectors; it assumes Validate passed.
func (c *Config) ConnectorsAllowed() bool { return !strings.EqualFold(c.Connectors, "forbid") }

// Node is the name of this process in connector leases and history:
// NodeName, else the host name, else "koyomi".
func (c *Config) Node() string {
	if c.NodeName != "" {
		return c.NodeName
	}
	if host, err := os.Hostname(); err == nil && host != "" {
		return host
	}
	return "koyomi"
}

// Load returns the defaults overridden by the TOML file at path. Keys the
// file sets that Koyomi does not know are an error naming them, since a
// misspelt key would otherwise be silently ignored. Load does not validate.
func Load(path string) (Config, error) {
	c := Default()
	md, err := toml.DecodeFile(path, &c)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return Config{}, fmt.Errorf("config file %s: %s", path, perr.ErrorWithPosition())
		}
		return Config{}, fmt.Errorf("config file %s: %w", path, err)
	}
	if unknown := md.Undecoded(); len(unknown) > 0 {
		names := make([]string, len(unknown))
		for i, k := range unknown {
			names[i] = k.String()
		}
		return Config{}, fmt.Errorf("config file %s: unknown key(s): %s", path, strings.Join(names, ", "))
	}
	// An integer would be taken as nanoseconds, which is never what was meant.
	for _, s := range settings() {
		if s.duration && md.IsDefined(strings.Split(s.key, ".")...) && md.Type(strings.Split(s.key, ".")...) != "String" {
			return Config{}, fmt.Errorf("config file %s: %s must be a duration string such as \"5m\" or \"90s\"", path, s.key)
		}
	}
	return c, nil
}

// Resolve builds the effective configuration: defaults, then the file at
// path (skipped when path is empty), then the environment read through
// getenv, then the command-line flags recorded by RegisterFlags (flags may be
// nil), and validates the result.
func Resolve(path string, getenv func(string) string, flags *Flags) (Config, error) {
	c := Default()
	if path != "" {
		var err error
		if c, err = Load(path); err != nil {
			return Config{}, err
		}
	}
	if err := c.ApplyEnv(getenv); err != nil {
		return Config{}, err
	}
	if flags != nil {
		if err := flags.Apply(&c); err != nil {
			return Config{}, err
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Level returns LogLevel as a slog level; it assumes Validate passed and
// falls back to info otherwise.
func (c *Config) Level() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return slog.LevelInfo
	}
	return l
}

// NewLogger returns a logger writing to w in LogFormat at LogLevel.
func (c *Config) NewLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.Level()}
	if strings.EqualFold(c.LogFormat, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Validate checks the configuration and reports every problem found, each
// naming the setting and what would fix it.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}

	if err := checkListen(c.Listen); err != nil {
		bad("listen", "%v", err)
	}
	if strings.TrimSpace(c.Data) == "" {
		bad("data", "the data directory must not be empty (default %q)", Default().Data)
	}
	if c.Store != "" {
		u, err := url.Parse(c.Store)
		switch {
		case err != nil:
			bad("store", "cannot parse %q as a URL; leave it empty for SQLite in the data directory or use postgres://user@host/dbname", redact(c.Store))
		case u.Scheme != "postgres" && u.Scheme != "postgresql":
			bad("store", "unsupported database %q; leave it empty for SQLite in the data directory or use postgres://user@host/dbname", u.Scheme)
		}
	}
	if c.Realm == "" {
		bad("realm", "must not be empty; clients show it when asking for a password")
	} else if strings.ContainsFunc(c.Realm, isControl) {
		bad("realm", "%q contains control characters", c.Realm)
	}
	if c.BaseURL != "" {
		if err := checkBaseURL(c.BaseURL); err != nil {
			bad("base_url", "%v", err)
		}
	}
	if c.MaxImportSize <= 0 {
		bad("max_import_size", "must be a positive number of bytes, got %d (default %d)", c.MaxImportSize, Default().MaxImportSize)
	}
	if c.MaxResourceSize <= 0 {
		bad("max_resource_size", "must be a positive number of bytes, got %d (default %d)", c.MaxResourceSize, Default().MaxResourceSize)
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level", "unknown level %q; use debug, info, warn or error", c.LogLevel)
	}
	switch strings.ToLower(c.LogFormat) {
	case "text", "json":
	default:
		bad("log_format", "unknown format %q; use text or json", c.LogFormat)
	}
	if c.AuthCacheTTL < 0 {
		bad("auth_cache_ttl", "must not be negative, got %s; use 0 to disable the cache", c.AuthCacheTTL)
	}
	if c.RedirectHTTP != "" {
		if err := checkListen(c.RedirectHTTP); err != nil {
			bad("redirect_http", "%v", err)
		} else if c.TLS.Cert == "" {
			bad("redirect_http", "redirecting to HTTPS needs [tls] cert and key; remove redirect_http or configure TLS")
		}
	}
	if _, err := c.TrustedProxies.Prefixes(); err != nil {
		bad("trusted_proxies", "%v", err)
	}
	if c.MinPasswordLength <= 0 {
		bad("min_password_length", "must be at least 1, got %d (default %d)", c.MinPasswordLength, Default().MinPasswordLength)
	}
	if _, err := c.MetricsAllow.Prefixes(); err != nil {
		bad("metrics_allow", "%v", err)
	}
	if c.LoginMaxFailures <= 0 {
		bad("login_max_failures", "must be at least 1, got %d (default %d)", c.LoginMaxFailures, Default().LoginMaxFailures)
	}
	if c.LoginMaxFailuresPerIP <= 0 {
		bad("login_max_failures_per_ip", "must be at least 1, got %d (default %d)", c.LoginMaxFailuresPerIP, Default().LoginMaxFailuresPerIP)
	}
	if c.TrashRetention < time.Minute {
		bad("trash_retention", "must be at least 1m, got %s (default %s, 30 days)", c.TrashRetention, Default().TrashRetention)
	}
	if c.LoginWindow < time.Second {
		bad("login_window", "must be at least 1s, got %s (default %s)", c.LoginWindow, Default().LoginWindow)
	}
	if c.LoginMaxBackoff < time.Second {
		bad("login_max_backoff", "must be at least 1s, got %s (default %s)", c.LoginMaxBackoff, Default().LoginMaxBackoff)
	}
	if c.MaxConcurrentPerUser < 0 {
		bad("max_concurrent_per_user", "must not be negative, got %d; leave it out or 0 for the default of 16", c.MaxConcurrentPerUser)
	}
	if c.MaxXMLDepth < 0 || (c.MaxXMLDepth > 0 && c.MaxXMLDepth < 8) {
		bad("max_xml_depth", "must be 0 (default 64) or at least 8, got %d: CalDAV requests nest about 8 deep", c.MaxXMLDepth)
	}
	if c.MaxReportInstances < 0 {
		bad("max_report_instances", "must not be negative, got %d; 0 means the default of 10000", c.MaxReportInstances)
	}
	if c.MaxQueryResults < 0 {
		bad("max_query_results", "must not be negative, got %d; 0 means the default of 20000", c.MaxQueryResults)
	}
	if c.MaxXMLElements < 0 || (c.MaxXMLElements > 0 && c.MaxXMLElements < 100) {
		bad("max_xml_elements", "must be 0 (default 100000) or at least 100, got %d", c.MaxXMLElements)
	}
	switch strings.ToLower(c.Connectors) {
	case "allow", "forbid":
	default:
		bad("connectors", "unknown value %q; use allow (users may have connectors unless an administrator forbids them) or forbid (only those an administrator allows)", c.Connectors)
	}
	if strings.TrimSpace(c.SecretKeyFile) != c.SecretKeyFile || (c.SecretKeyFile != "" && strings.ContainsFunc(c.SecretKeyFile, isControl)) {
		bad("secret_key_file", "%q has surrounding spaces or control characters", c.SecretKeyFile)
	}
	for _, name := range c.Admins.Names() {
		if strings.ContainsFunc(name, func(r rune) bool { return isControl(r) || r == ' ' || r == '/' || r == ':' }) {
			bad("admins", "%q is not a user name", name)
		}
	}
	if len(c.NodeName) > 100 || strings.ContainsFunc(c.NodeName, isControl) {
		bad("node_name", "must be at most 100 characters without control characters (default: the host name)")
	}
	switch {
	case c.TLS.Cert != "" && c.TLS.Key == "":
		bad("tls", "cert is set but key is not; give both files to enable HTTPS, or neither")
	case c.TLS.Cert == "" && c.TLS.Key != "":
		bad("tls", "key is set but cert is not; give both files to enable HTTPS, or neither")
	}
	return errors.Join(errs...)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func checkListen(addr string) error {
	if addr == "" {
		return fmt.Errorf("address is empty; use host:port, e.g. %s", Default().Listen)
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. %s, or :8008 for all interfaces)", addr, Default().Listen)
	}
	if port == "" {
		return fmt.Errorf("%q has no port", addr)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("%q: bad port %q", addr, port)
	}
	return nil
}

func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("cannot parse %q: %v", s, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q must start with https:// or http://", s)
	case u.Host == "":
		return fmt.Errorf("%q has no host", s)
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%q must not have a query or fragment", s)
	case u.User != nil:
		return fmt.Errorf("%q must not contain credentials", redact(s))
	}
	return nil
}

// redact hides a password in a URL so that error messages can be logged.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
