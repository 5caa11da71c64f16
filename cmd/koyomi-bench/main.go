// Command koyomi-bench measures a CalDAV/CardDAV server under load and
// checks every answer; see internal/bench/README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"koyomi.dev/koyomi/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := bench.Main(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
