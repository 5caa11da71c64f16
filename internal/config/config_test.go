package config

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "koyomi.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	c := Default()
	want := Config{
		Listen: "127.0.0.1:8008", Data: "./koyomi-data", Realm: "Koyomi",
		MaxResourceSize: 10 * 1024 * 1024, MaxImportSize: 256 << 20, LogLevel: "info", LogFormat: "text",
		AuthCacheTTL:     5 * time.Minute,
		LoginMaxFailures: 10, MinPasswordLength: 8, LoginMaxFailuresPerIP: 30, LoginWindow: 15 * time.Minute, LoginMaxBackoff: 15 * time.Minute,
		TrashRetention: 720 * time.Hour, Connectors: "allow", MetricsAllow: "127.0.0.0/8, ::1",
	}
	if c != want {
		t.Errorf("Default() = %+v; want %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	// With no file, no environment and no flags, Resolve gives the defaults.
	got, err := Resolve("", env(nil), nil)
	if err != nil || got != want {
		t.Errorf("Resolve with nothing = %+v, %v; want defaults", got, err)
	}
}

func TestLoadOverridesDefaults(t *testing.T) {
	path := writeFile(t, `
listen = "0.0.0.0:443"
store = "postgres://koyomi@db/koyomi"
base_url = "https://cal.example.org/dav"
max_resource_size = 1048576
log_format = "json"
auth_cache_ttl = "90s"

[tls]
cert = "/etc/koyomi/cert.pem"
key = "/etc/koyomi/key.pem"
`)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Listen = "0.0.0.0:443"
	want.Store = "postgres://koyomi@db/koyomi"
	want.BaseURL = "https://cal.example.org/dav"
	want.MaxResourceSize = 1 << 20
	want.LogFormat = "json"
	want.AuthCacheTTL = 90 * time.Second
	want.TLS = TLS{Cert: "/etc/koyomi/cert.pem", Key: "/etc/koyomi/key.pem"}
	if c != want {
		t.Errorf("Load = %+v\nwant   %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string // substrings of the error
	}{
		{"unknown key", "listen = \":80\"\nlisten_addr = \":80\"\n", []string{"unknown key", "listen_addr"}},
		{"unknown nested key", "[tls]\ncert = \"c\"\nfoo = 1\n", []string{"unknown key", "tls.foo"}},
		{"unknown table", "[server]\nport = 1\n", []string{"server"}},
		{"several unknown", "a = 1\nb = 2\n", []string{"a, b"}},
		{"wrong type", "max_resource_size = \"big\"\n", []string{"max_resource_size"}},
		{"integer duration", "auth_cache_ttl = 300\n", []string{"auth_cache_ttl", "duration string"}},
		{"bad duration", "auth_cache_ttl = \"5 minutes\"\n", []string{"5 minutes"}},
		{"syntax", "listen = \n", []string{"line 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.text)
			_, err := Load(path)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range append(tt.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.toml")
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Load(missing) = %v; want an error naming the file", err)
	}
	if _, err := Resolve(path, env(nil), nil); err == nil {
		t.Fatal("Resolve ignored a missing explicit config file")
	}
}

func TestDurationsParse(t *testing.T) {
	for text, want := range map[string]time.Duration{
		`"5m"`: 5 * time.Minute, `"1h30m"`: 90 * time.Minute, `"0s"`: 0, `"250ms"`: 250 * time.Millisecond,
	} {
		c, err := Load(writeFile(t, "auth_cache_ttl = "+text+"\n"))
		if err != nil || c.AuthCacheTTL != want {
			t.Errorf("auth_cache_ttl = %s: got %v, %v; want %v", text, c.AuthCacheTTL, err, want)
		}
	}
	c := Default()
	if err := c.ApplyEnv(env(map[string]string{"KOYOMI_AUTH_CACHE_TTL": "2m"})); err != nil || c.AuthCacheTTL != 2*time.Minute {
		t.Errorf("KOYOMI_AUTH_CACHE_TTL=2m: got %v, %v", c.AuthCacheTTL, err)
	}
	if err := c.ApplyEnv(env(map[string]string{"KOYOMI_AUTH_CACHE_TTL": "300"})); err == nil ||
		!strings.Contains(err.Error(), "KOYOMI_AUTH_CACHE_TTL") {
		t.Errorf("KOYOMI_AUTH_CACHE_TTL=300 (no unit): error %v; want one naming the variable", err)
	}
}

func TestEnvOverridesFile(t *testing.T) {
	path := writeFile(t, "listen = \"127.0.0.1:9000\"\ndata = \"/srv/file\"\nlog_level = \"warn\"\n")
	got, err := Resolve(path, env(map[string]string{
		"KOYOMI_LISTEN":            "[::1]:9001",
		"KOYOMI_MAX_RESOURCE_SIZE": "2048",
		"KOYOMI_LOG_LEVEL":         "",  // empty counts as unset
		"KOYOMI_TLS_CERT":          "c", // nested keys have variables too
		"KOYOMI_TLS_KEY":           "k",
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Listen != "[::1]:9001" || got.Data != "/srv/file" || got.LogLevel != "warn" ||
		got.MaxResourceSize != 2048 || got.TLS != (TLS{"c", "k"}) {
		t.Errorf("Resolve = %+v", got)
	}
}

func TestEnvErrors(t *testing.T) {
	c := Default()
	err := c.ApplyEnv(env(map[string]string{"KOYOMI_MAX_RESOURCE_SIZE": "10MB", "KOYOMI_AUTH_CACHE_TTL": "soon"}))
	if err == nil {
		t.Fatal("ApplyEnv accepted bad values")
	}
	for _, w := range []string{"KOYOMI_MAX_RESOURCE_SIZE", "10MB", "KOYOMI_AUTH_CACHE_TTL", "soon"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

func TestFlagsOverrideEnv(t *testing.T) {
	path := writeFile(t, "listen = \"127.0.0.1:9000\"\nrealm = \"File\"\n")
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	flags := RegisterFlags(fs)
	if err := fs.Parse([]string{"--listen", ":7000", "--log-level=debug", "--auth-cache-ttl", "1m", "extra"}); err != nil {
		t.Fatal(err)
	}
	got, err := Resolve(path, env(map[string]string{
		"KOYOMI_LISTEN": "127.0.0.1:9001", "KOYOMI_LOG_LEVEL": "error", "KOYOMI_DATA": "/env/data",
	}), flags)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Listen = ":7000"   // flag beats env beats file
	want.LogLevel = "debug" // flag beats env
	want.Data = "/env/data" // env, no flag given
	want.Realm = "File"     // file, nothing else given
	want.AuthCacheTTL = time.Minute
	if got != want {
		t.Errorf("Resolve = %+v\nwant      %+v", got, want)
	}
	if fs.Arg(0) != "extra" {
		t.Errorf("positional arguments disturbed: %v", fs.Args())
	}
}

func TestFlagsRejectBadValuesAtParse(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	RegisterFlags(fs)
	err := fs.Parse([]string{"--max-resource-size", "lots"})
	if err == nil || !strings.Contains(err.Error(), "max-resource-size") {
		t.Fatalf("Parse = %v; want an error naming the flag", err)
	}
}

func TestFlagsHelpShowsDefaults(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var out bytes.Buffer
	fs.SetOutput(&out)
	RegisterFlags(fs)
	fs.PrintDefaults()
	for _, w := range []string{"-listen", "(default 127.0.0.1:8008)", "-tls-key file", "-auth-cache-ttl duration", "(default 5m0s)"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("help does not contain %q:\n%s", w, out.String())
		}
	}
	// Unset flags must not show an empty default.
	if strings.Contains(out.String(), "SQLite in the data directory) (default") {
		t.Errorf("store shows a default:\n%s", out.String())
	}
}

func TestEveryEnvVarAndFlagSetsItsKey(t *testing.T) {
	// Each setting's environment variable and flag must reach the same field
	// the TOML key does; a mismatch in the table would go unnoticed otherwise.
	for _, s := range settings() {
		value := "x"
		switch s.key {
		case "max_resource_size", "max_import_size", "login_max_failures", "login_max_failures_per_ip", "min_password_length":
			value = "123"
		case "auth_cache_ttl", "login_window", "login_max_backoff", "trash_retention":
			value = "7s"
		}
		fromEnv := Default()
		if err := fromEnv.ApplyEnv(env(map[string]string{s.env: value})); err != nil {
			t.Fatal(err)
		}
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		flags := RegisterFlags(fs)
		if err := fs.Parse([]string{"--" + s.flag, value}); err != nil {
			t.Fatal(err)
		}
		fromFlag := Default()
		if err := flags.Apply(&fromFlag); err != nil {
			t.Fatal(err)
		}
		fileValue := `"` + value + `"`
		switch s.key {
		case "max_resource_size", "max_import_size", "login_max_failures", "login_max_failures_per_ip", "min_password_length":
			fileValue = value
		}
		text := s.key + " = " + fileValue + "\n"
		if k, ok := strings.CutPrefix(s.key, "tls."); ok {
			text = "[tls]\n" + k + " = " + fileValue + "\n"
		}
		fromFile, err := Load(writeFile(t, text))
		if err != nil {
			t.Fatal(err)
		}
		if fromFile == Default() {
			t.Errorf("%s: file value had no effect", s.key)
		}
		if fromEnv != fromFile || fromFlag != fromFile {
			t.Errorf("%s: env %s gives %+v, flag --%s gives %+v, file gives %+v", s.key, s.env, fromEnv, s.flag, fromFlag, fromFile)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   []string // substrings of the message; nil means valid
	}{
		{"defaults", func(*Config) {}, nil},
		{"all interfaces", func(c *Config) { c.Listen = ":8008" }, nil},
		{"ipv6", func(c *Config) { c.Listen = "[::1]:8008" }, nil},
		{"empty listen", func(c *Config) { c.Listen = "" }, []string{"listen", "empty", "host:port"}},
		{"listen without port", func(c *Config) { c.Listen = "localhost" }, []string{"listen", `"localhost"`, "host:port"}},
		{"listen empty port", func(c *Config) { c.Listen = "localhost:" }, []string{"listen", "no port"}},
		{"listen bad port", func(c *Config) { c.Listen = "localhost:99999" }, []string{"listen", "bad port"}},
		{"empty data", func(c *Config) { c.Data = " " }, []string{"data", "must not be empty"}},
		{"postgres", func(c *Config) { c.Store = "postgres://u:secret@db/k" }, nil},
		{"mysql", func(c *Config) { c.Store = "mysql://u:secret@db/k" }, []string{"store", `"mysql"`, "postgres://"}},
		{"empty realm", func(c *Config) { c.Realm = "" }, []string{"realm", "empty"}},
		{"realm control", func(c *Config) { c.Realm = "a\nb" }, []string{"realm", "control"}},
		{"base url", func(c *Config) { c.BaseURL = "https://cal.example.org/dav/" }, nil},
		{"base url relative", func(c *Config) { c.BaseURL = "cal.example.org" }, []string{"base_url", "https://"}},
		{"base url unparsable", func(c *Config) { c.BaseURL = "http://[::1" }, []string{"base_url", "cannot parse"}},
		{"base url no host", func(c *Config) { c.BaseURL = "https:///dav" }, []string{"base_url", "no host"}},
		{"base url query", func(c *Config) { c.BaseURL = "https://x/?a=b" }, []string{"base_url", "query"}},
		{"base url creds", func(c *Config) { c.BaseURL = "https://u:pw@x/" }, []string{"base_url", "credentials"}},
		{"negative size", func(c *Config) { c.MaxResourceSize = -1 }, []string{"max_resource_size", "positive", "-1"}},
		{"zero size", func(c *Config) { c.MaxResourceSize = 0 }, []string{"max_resource_size", "positive"}},
		{"zero password length", func(c *Config) { c.MinPasswordLength = 0 }, []string{"min_password_length", "at least 1"}},
		{"log level case", func(c *Config) { c.LogLevel = "DEBUG" }, nil},
		{"log level", func(c *Config) { c.LogLevel = "verbose" }, []string{"log_level", `"verbose"`, "debug, info, warn or error"}},
		{"log format", func(c *Config) { c.LogFormat = "xml" }, []string{"log_format", `"xml"`, "text or json"}},
		{"ttl zero", func(c *Config) { c.AuthCacheTTL = 0 }, nil},
		{"ttl negative", func(c *Config) { c.AuthCacheTTL = -time.Second }, []string{"auth_cache_ttl", "negative"}},
		{"no login failures", func(c *Config) { c.LoginMaxFailures = 0 }, []string{"login_max_failures", "at least 1"}},
		{"no login failures per ip", func(c *Config) { c.LoginMaxFailuresPerIP = -1 }, []string{"login_max_failures_per_ip", "at least 1"}},
		{"login window too short", func(c *Config) { c.LoginWindow = time.Millisecond }, []string{"login_window", "at least 1s"}},
		{"trash retention too short", func(c *Config) { c.TrashRetention = time.Second }, []string{"trash_retention", "at least 1m"}},
		{"no login backoff", func(c *Config) { c.LoginMaxBackoff = 0 }, []string{"login_max_backoff", "at least 1s"}},
		{"connectors forbid", func(c *Config) { c.Connectors = "forbid" }, nil},
		{"connectors case", func(c *Config) { c.Connectors = "Allow" }, nil},
		{"connectors unknown", func(c *Config) { c.Connectors = "yes" }, []string{"connectors", `"yes"`, "allow", "forbid"}},
		{"connectors empty", func(c *Config) { c.Connectors = "" }, []string{"connectors", "allow"}},
		{"secret key file", func(c *Config) { c.SecretKeyFile = "/etc/koyomi/secret.key" }, nil},
		{"secret key file spaces", func(c *Config) { c.SecretKeyFile = " k " }, []string{"secret_key_file", "spaces"}},
		{"node name", func(c *Config) { c.NodeName = "node-1" }, nil},
		{"node name control", func(c *Config) { c.NodeName = "a\nb" }, []string{"node_name", "control"}},
		{"node name long", func(c *Config) { c.NodeName = strings.Repeat("n", 101) }, []string{"node_name", "100"}},
		{"tls both", func(c *Config) { c.TLS = TLS{"c", "k"} }, nil},
		{"tls cert only", func(c *Config) { c.TLS.Cert = "c" }, []string{"tls", "key is not"}},
		{"tls key only", func(c *Config) { c.TLS.Key = "k" }, []string{"tls", "cert is not"}},
		{"several", func(c *Config) { c.Listen = ""; c.LogFormat = "xml" }, []string{"listen", "log_format"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.modify(&c)
			err := c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(strings.ReplaceAll(err.Error(), "secret_key_file", ""), "secret") {
				t.Errorf("error %q leaks a password", err)
			}
		})
	}
}

func TestConnectorSettings(t *testing.T) {
	c := Default()
	c.Data = "/var/lib/koyomi"
	if got := c.SecretKeyPath(); got != filepath.Join("/var/lib/koyomi", "secret.key") {
		t.Errorf("default key path = %q; want secret.key in the data directory", got)
	}
	if !c.ConnectorsAllowed() {
		t.Error("connectors are not allowed by default")
	}
	host, _ := os.Hostname()
	if host != "" && c.Node() != host {
		t.Errorf("Node() = %q; want the host name %q", c.Node(), host)
	}
	path := writeFile(t, "secret_key_file = \"/etc/koyomi/key\"\nconnectors = \"forbid\"\nnode_name = \"n1\"\n")
	c, err := Resolve(path, env(map[string]string{"KOYOMI_NODE_NAME": "n2"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.SecretKeyPath() != "/etc/koyomi/key" || c.ConnectorsAllowed() || c.Node() != "n2" {
		t.Errorf("from file and environment: key %q, allowed %v, node %q; want /etc/koyomi/key, false, n2",
			c.SecretKeyPath(), c.ConnectorsAllowed(), c.Node())
	}
}

func TestAdmins(t *testing.T) {
	c, err := Load(writeFile(t, "admins = [\"root\", \" ops \"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(c.Admins.Names()); got != "[root ops]" {
		t.Errorf("admins from TOML = %s; want [root ops]", got)
	}
	c, err = Resolve("", env(map[string]string{"KOYOMI_ADMINS": "a,b"}), nil)
	if err != nil || fmt.Sprint(c.Admins.Names()) != "[a b]" {
		t.Errorf("admins from the environment = %v, %v; want [a b]", c.Admins.Names(), err)
	}
	if _, err := Resolve("", env(map[string]string{"KOYOMI_ADMINS": "user:root"}), nil); err == nil ||
		!strings.Contains(err.Error(), "admins") {
		t.Errorf("a bad admin name: %v; want an error naming admins", err)
	}
}

func TestResolveValidates(t *testing.T) {
	_, err := Resolve("", env(map[string]string{"KOYOMI_LOG_FORMAT": "xml"}), nil)
	if err == nil || !strings.Contains(err.Error(), "log_format") {
		t.Fatalf("Resolve = %v; want a validation error", err)
	}
}

func TestNewLogger(t *testing.T) {
	c := Default()
	c.LogFormat, c.LogLevel = "json", "warn"
	var out bytes.Buffer
	log := c.NewLogger(&out)
	log.Info("hidden")
	log.Warn("shown")
	if strings.Contains(out.String(), "hidden") || !strings.Contains(out.String(), `"msg":"shown"`) {
		t.Errorf("json/warn logger wrote %q", out.String())
	}
	if c.Level() != slog.LevelWarn {
		t.Errorf("Level() = %v", c.Level())
	}
}
