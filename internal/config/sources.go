package config

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"
)

// setting describes one configuration value and how the environment and the
// command line name it, so that both sources stay in step with the file.
type setting struct {
	key      string // TOML key, dotted for tables
	env      string
	flag     string
	usage    string
	duration bool
	set      func(c *Config, v string) error
	get      func(c *Config) string
}

func setString(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *field(c) = v; return nil }
}

func getString(field func(*Config) *string) func(*Config) string {
	return func(c *Config) string { return *field(c) }
}

func setInt(field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("want a whole number, got %q", v)
		}
		*field(c) = n
		return nil
	}
}

func getInt(field func(*Config) *int) func(*Config) string {
	return func(c *Config) string { return strconv.Itoa(*field(c)) }
}

func setDuration(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("want a duration such as 5m or 90s, got %q", v)
		}
		*field(c) = d
		return nil
	}
}

func getDuration(field func(*Config) *time.Duration) func(*Config) string {
	return func(c *Config) string { return field(c).String() }
}

// settings returns the table of configurable values, in the order flags and
// environment variables are applied.
func settings() []setting {
	return []setting{
		{key: "listen", env: "KOYOMI_LISTEN", flag: "listen", usage: "TCP `address` to serve on, host:port",
			set: setString(func(c *Config) *string { return &c.Listen }), get: getString(func(c *Config) *string { return &c.Listen })},
		{key: "data", env: "KOYOMI_DATA", flag: "data", usage: "data `directory`",
			set: setString(func(c *Config) *string { return &c.Data }), get: getString(func(c *Config) *string { return &c.Data })},
		{key: "store", env: "KOYOMI_STORE", flag: "store", usage: "database `URL` (empty: SQLite in the data directory)",
			set: setString(func(c *Config) *string { return &c.Store }), get: getString(func(c *Config) *string { return &c.Store })},
		{key: "realm", env: "KOYOMI_REALM", flag: "realm", usage: "HTTP authentication `realm`",
			set: setString(func(c *Config) *string { return &c.Realm }), get: getString(func(c *Config) *string { return &c.Realm })},
		{key: "base_url", env: "KOYOMI_BASE_URL", flag: "base-url", usage: "external `URL` when behind a reverse proxy",
			set: setString(func(c *Config) *string { return &c.BaseURL }), get: getString(func(c *Config) *string { return &c.BaseURL })},
		{key: "max_resource_size", env: "KOYOMI_MAX_RESOURCE_SIZE", flag: "max-resource-size", usage: "largest accepted calendar object or contact, in `bytes`",
			set: func(c *Config, v string) error {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return fmt.Errorf("want a whole number of bytes, got %q", v)
				}
				c.MaxResourceSize = n
				return nil
			},
			get: func(c *Config) string { return strconv.FormatInt(c.MaxResourceSize, 10) }},
		{key: "max_import_size", env: "KOYOMI_MAX_IMPORT_SIZE", flag: "max-import-size", usage: "largest file one import reads, in `bytes`",
			set: func(c *Config, v string) error {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return fmt.Errorf("want a whole number of bytes, got %q", v)
				}
				c.MaxImportSize = n
				return nil
			},
			get: func(c *Config) string { return strconv.FormatInt(c.MaxImportSize, 10) }},
		{key: "log_level", env: "KOYOMI_LOG_LEVEL", flag: "log-level", usage: "log `level`: debug, info, warn or error",
			set: setString(func(c *Config) *string { return &c.LogLevel }), get: getString(func(c *Config) *string { return &c.LogLevel })},
		{key: "log_format", env: "KOYOMI_LOG_FORMAT", flag: "log-format", usage: "log `format`: text or json",
			set: setString(func(c *Config) *string { return &c.LogFormat }), get: getString(func(c *Config) *string { return &c.LogFormat })},
		{key: "auth_cache_ttl", env: "KOYOMI_AUTH_CACHE_TTL", flag: "auth-cache-ttl", usage: "how long a verified password is remembered, a `duration` (0 disables)",
			duration: true,
			set: func(c *Config, v string) error {
				d, err := time.ParseDuration(v)
				if err != nil {
					return fmt.Errorf("want a duration such as 5m or 90s, got %q", v)
				}
				c.AuthCacheTTL = d
				return nil
			},
			get: func(c *Config) string { return c.AuthCacheTTL.String() }},
		{key: "login_max_failures", env: "KOYOMI_LOGIN_MAX_FAILURES", flag: "login-max-failures",
			usage: "failed logins per user `name` within the login window before attempts must wait",
			set:   setInt(func(c *Config) *int { return &c.LoginMaxFailures }), get: getInt(func(c *Config) *int { return &c.LoginMaxFailures })},
		{key: "login_max_failures_per_ip", env: "KOYOMI_LOGIN_MAX_FAILURES_PER_IP", flag: "login-max-failures-per-ip",
			usage: "failed logins per client `address` within the login window before attempts must wait",
			set:   setInt(func(c *Config) *int { return &c.LoginMaxFailuresPerIP }), get: getInt(func(c *Config) *int { return &c.LoginMaxFailuresPerIP })},
		{key: "min_password_length", env: "KOYOMI_MIN_PASSWORD_LENGTH", flag: "min-password-length",
			usage: "fewest `characters` a new password may have (user add, user passwd)",
			set:   setInt(func(c *Config) *int { return &c.MinPasswordLength }), get: getInt(func(c *Config) *int { return &c.MinPasswordLength })},
		{key: "login_window", env: "KOYOMI_LOGIN_WINDOW", flag: "login-window", usage: "period failed logins are counted in, a `duration`",
			duration: true,
			set:      setDuration(func(c *Config) *time.Duration { return &c.LoginWindow }), get: getDuration(func(c *Config) *time.Duration { return &c.LoginWindow })},
		{key: "login_max_backoff", env: "KOYOMI_LOGIN_MAX_BACKOFF", flag: "login-max-backoff", usage: "longest wait imposed after failed logins, a `duration`",
			duration: true,
			set:      setDuration(func(c *Config) *time.Duration { return &c.LoginMaxBackoff }), get: getDuration(func(c *Config) *time.Duration { return &c.LoginMaxBackoff })},
		{key: "trash_retention", env: "KOYOMI_TRASH_RETENTION", flag: "trash-retention",
			usage: "how long deleted objects, collections and users stay in the trash, a `duration`", duration: true,
			set: setDuration(func(c *Config) *time.Duration { return &c.TrashRetention }), get: getDuration(func(c *Config) *time.Duration { return &c.TrashRetention })},
		{key: "tls.cert", env: "KOYOMI_TLS_CERT", flag: "tls-cert", usage: "TLS certificate chain `file` (PEM)",
			set: setString(func(c *Config) *string { return &c.TLS.Cert }), get: getString(func(c *Config) *string { return &c.TLS.Cert })},
		{key: "tls.key", env: "KOYOMI_TLS_KEY", flag: "tls-key", usage: "TLS private key `file` (PEM)",
			set: setString(func(c *Config) *string { return &c.TLS.Key }), get: getString(func(c *Config) *string { return &c.TLS.Key })},
		{key: "redirect_http", env: "KOYOMI_REDIRECT_HTTP", flag: "redirect-http", usage: "`address` for plain HTTP that redirects to HTTPS, host:port (needs TLS)",
			set: setString(func(c *Config) *string { return &c.RedirectHTTP }), get: getString(func(c *Config) *string { return &c.RedirectHTTP })},
		{key: "trusted_proxies", env: "KOYOMI_TRUSTED_PROXIES", flag: "trusted-proxies", usage: "comma-separated `networks` of reverse proxies whose X-Forwarded-* headers are believed",
			set: func(c *Config, v string) error { c.TrustedProxies = AddressList(v); return nil },
			get: func(c *Config) string { return string(c.TrustedProxies) }},
		{key: "metrics_allow", env: "KOYOMI_METRICS_ALLOW", flag: "metrics-allow", usage: "comma-separated `networks` that may read /metrics",
			set: func(c *Config, v string) error { c.MetricsAllow = AddressList(v); return nil },
			get: func(c *Config) string { return string(c.MetricsAllow) }},
		{key: "secret_key_file", env: "KOYOMI_SECRET_KEY_FILE", flag: "secret-key-file",
			usage: "server key `file` encrypting connector credentials (default: secret.key in the data directory; created on first use)",
			set:   setString(func(c *Config) *string { return &c.SecretKeyFile }), get: getString(func(c *Config) *string { return &c.SecretKeyFile })},
		{key: "connectors", env: "KOYOMI_CONNECTORS", flag: "connectors",
			usage: "`allow` or forbid sync connectors for users no administrator rule names",
			set:   setString(func(c *Config) *string { return &c.Connectors }), get: getString(func(c *Config) *string { return &c.Connectors })},
		{key: "admins", env: "KOYOMI_ADMINS", flag: "admins", usage: "comma-separated user `names` who may administer through the JSON API",
			set: func(c *Config, v string) error { c.Admins = NameList(v); return nil },
			get: func(c *Config) string { return string(c.Admins) }},
		{key: "node_name", env: "KOYOMI_NODE_NAME", flag: "node-name", usage: "`name` of this node in connector history (default: the host name)",
			set: setString(func(c *Config) *string { return &c.NodeName }), get: getString(func(c *Config) *string { return &c.NodeName })},
	}
}

// EnvVars lists the environment variables ApplyEnv reads, for help texts.
func EnvVars() []string {
	names := make([]string, len(settings()))
	for i, s := range settings() {
		names[i] = s.env
	}
	return names
}

// ApplyEnv overrides c with the KOYOMI_* variables that getenv returns
// non-empty (KOYOMI_LISTEN, KOYOMI_DATA, KOYOMI_STORE, KOYOMI_REALM,
// KOYOMI_BASE_URL, KOYOMI_MAX_RESOURCE_SIZE, KOYOMI_LOG_LEVEL,
// KOYOMI_LOG_FORMAT, KOYOMI_AUTH_CACHE_TTL, KOYOMI_TLS_CERT, KOYOMI_TLS_KEY,
// KOYOMI_REDIRECT_HTTP, KOYOMI_TRUSTED_PROXIES, KOYOMI_SECRET_KEY_FILE,
// KOYOMI_CONNECTORS, KOYOMI_NODE_NAME).
// Pass os.Getenv in production and a map lookup in tests.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	var errs []error
	for _, s := range settings() {
		v := getenv(s.env)
		if v == "" {
			continue
		}
		if err := s.set(c, v); err != nil {
			errs = append(errs, fmt.Errorf("environment %s: %w", s.env, err))
		}
	}
	return errors.Join(errs...)
}

// Flags records the configuration flags given on a command line, to be
// applied after the file and the environment.
type Flags struct {
	given map[string]string // flag name → value, in the order of settings when applied
}

// RegisterFlags defines a flag on fs for every setting (--listen, --data,
// --store, --realm, --base-url, --max-resource-size, --log-level,
// --log-format, --auth-cache-ttl, --tls-cert, --tls-key, --redirect-http,
// --trusted-proxies, --secret-key-file, --connectors, --admins, --node-name). Only
// flags that appear on the command line are recorded; apply them with
// Flags.Apply or Resolve. Bad values are reported by fs.Parse.
func RegisterFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{given: map[string]string{}}
	def := Default()
	for _, s := range settings() {
		fs.Var(&flagValue{flags: f, s: s, def: s.get(&def)}, s.flag, s.usage)
	}
	return f
}

// Apply overrides c with the flags that were given.
func (f *Flags) Apply(c *Config) error {
	for _, s := range settings() {
		v, ok := f.given[s.flag]
		if !ok {
			continue
		}
		if err := s.set(c, v); err != nil {
			return fmt.Errorf("flag --%s: %w", s.flag, err)
		}
	}
	return nil
}

// flagValue checks a flag's value when parsed but only records it, since the
// file and environment it must override have not been read yet.
type flagValue struct {
	flags *Flags
	s     setting
	def   string
}

func (v *flagValue) String() string {
	if v == nil || v.flags == nil {
		return ""
	}
	if given, ok := v.flags.given[v.s.flag]; ok {
		return given
	}
	return v.def
}

func (v *flagValue) Set(s string) error {
	var scratch Config
	if err := v.s.set(&scratch, s); err != nil {
		return err
	}
	v.flags.given[v.s.flag] = s
	return nil
}
