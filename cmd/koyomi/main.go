// Command koyomi is a CalDAV calendar server. See README.md.
package main

import (
	"context"
	"os"

	"koyomi.dev/koyomi/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), cli.OSEnv()))
}
