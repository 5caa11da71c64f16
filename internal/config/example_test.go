package config_test

import (
	"flag"
	"fmt"

	"koyomi.dev/koyomi/internal/config"
)

// A serve command parses its flags first (it needs --config to find the
// file), then resolves defaults < file < environment < flags in one call.
func Example() {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	path := fs.String("config", "", "configuration file (or KOYOMI_CONFIG)")
	flags := config.RegisterFlags(fs)
	if err := fs.Parse([]string{"--listen", ":9000"}); err != nil {
		fmt.Println(err)
		return
	}
	// In a real program: getenv = os.Getenv, and *path defaults to
	// os.Getenv("KOYOMI_CONFIG").
	getenv := func(name string) string {
		return map[string]string{"KOYOMI_LISTEN": "127.0.0.1:8080", "KOYOMI_LOG_LEVEL": "debug"}[name]
	}
	cfg, err := config.Resolve(*path, getenv, flags)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Listen, cfg.LogLevel, cfg.Data)
	// Output: :9000 debug ./koyomi-data
}
