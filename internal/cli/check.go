package cli

import (
	"context"
	"fmt"

	"koyomi.dev/koyomi/internal/check"
)

// checkCommand implements "koyomi check": it verifies the store's integrity
// and fails when a problem is found, so that scripts can act on the exit
// status.
func checkCommand(ctx context.Context, env Env, args []string) error {
	cfg, rest, err := resolve(env, "check", args, nil)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("check: unexpected argument %q", rest[0])
	}
	st, err := openExisting(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	p := newProgress(env, "collections checked")
	problems, err := check.Options{Progress: p.report}.Run(ctx, st, env.Stdout)
	p.Done()
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	if problems > 0 {
		return fmt.Errorf("check: %d problems found", problems)
	}
	return nil
}
