package config

import (
	"flag"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// trusted_proxies is an array in TOML and a comma-separated list in the
// environment and on the command line; all three give the same networks.
func TestTrustedProxiesSources(t *testing.T) {
	want := []netip.Prefix{
		netip.MustParsePrefix("127.0.0.1/32"),
		netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("10.0.0.0/8"),
	}
	fromFile, err := Load(writeFile(t, `trusted_proxies = ["127.0.0.1/32", "::1", "10.1.2.3/8"]`+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	fromEnv := Default()
	if err := fromEnv.ApplyEnv(env(map[string]string{"KOYOMI_TRUSTED_PROXIES": "127.0.0.1/32, ::1,10.1.2.3/8"})); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	flags := RegisterFlags(fs)
	if err := fs.Parse([]string{"--trusted-proxies", "127.0.0.1/32,::1,10.1.2.3/8"}); err != nil {
		t.Fatal(err)
	}
	fromFlag := Default()
	if err := flags.Apply(&fromFlag); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]Config{"file": fromFile, "environment": fromEnv, "flag": fromFlag} {
		got, err := c.TrustedProxies.Prefixes()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: trusted proxies %v, want %v", name, got, want)
		}
	}
	if got, err := Default().TrustedProxies.Prefixes(); err != nil || len(got) != 0 {
		t.Errorf("default trusts %v (%v), want none", got, err)
	}
	if _, err := Load(writeFile(t, "trusted_proxies = [1, 2]\n")); err == nil || !strings.Contains(err.Error(), "array of strings") {
		t.Errorf("array of numbers: got %v", err)
	}
}

func TestValidateNetworkSettings(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   []string // substrings of the message; nil means valid
	}{
		{"redirect with tls", func(c *Config) { c.RedirectHTTP = ":8080"; c.TLS = TLS{"c", "k"} }, nil},
		{"redirect without tls", func(c *Config) { c.RedirectHTTP = ":8080" }, []string{"redirect_http", "needs [tls]"}},
		{"redirect bad address", func(c *Config) { c.RedirectHTTP = "8080"; c.TLS = TLS{"c", "k"} }, []string{"redirect_http", "host:port"}},
		{"proxies", func(c *Config) { c.TrustedProxies = "192.168.0.0/16, fd00::/8, 127.0.0.1" }, nil},
		{"proxy not an address", func(c *Config) { c.TrustedProxies = "127.0.0.1/32, proxy.example" }, []string{"trusted_proxies", `"proxy.example"`}},
		{"proxy bad mask", func(c *Config) { c.TrustedProxies = "10.0.0.0/33" }, []string{"trusted_proxies", `"10.0.0.0/33"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.modify(&c)
			err := c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want one mentioning %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
