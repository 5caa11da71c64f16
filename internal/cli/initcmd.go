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
	existing, err := openURL(ctx, u, nil, true)
	found := err == nil
	if found {
		existing.Close()
	} else if !errors.Is(err, store.ErrNoStore) {
		return err
	}
	st, err := openCreating(ctx, env, cfg)
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
