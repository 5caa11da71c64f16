package cli

import (
	"context"
	"errors"
	"fmt"

	"koyomi.dev/koyomi/internal/store"
)

// initCommand implements "koyomi init": it creates the store cfg names and
// brings its schema up to date, and says where. A store that exists is
// left as it is (its schema brought up to date), so init may be run again.
func initCommand(ctx context.Context, env Env, args []string) error {
	cfg, rest, err := resolve(env, "init", args, nil)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("init: unexpected argument %q", rest[0])
	}
	u := storeURL(cfg)
	where := describeStore(u)
	// One open: an existing store is brought up to date (and says so in
	// the log); only a missing one is opened again, to be created.
	logger := cfg.NewLogger(env.Stderr)
	st, err := openNamed(ctx, env, u, "", logger, true)
	found := err == nil
	if errors.Is(err, store.ErrNoStore) {
		st, err = openURL(ctx, u, logger, false)
	}
	if err != nil {
		return err
	}
	if err := st.Close(); err != nil {
		return err
	}
	if found {
		fmt.Fprintf(env.Stdout, "a store already exists at %s; its schema is up to date\n", where)
		return nil
	}
	fmt.Fprintf(env.Stdout, "created a store at %s\nnext: koyomi user add NAME", where)
	if cfg.Store != "" {
		fmt.Fprintln(env.Stdout, " --store URL")
	} else {
		fmt.Fprintf(env.Stdout, " --data %s\n", cfg.Data)
	}
	return nil
}
