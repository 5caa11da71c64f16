package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
)

// subcommands describes a command of the form `koyomi NAME SUB ARG… [flags]`
// whose subcommands work on the store: share, delegate, link.
type subcommands struct {
	name string
	// order names the subcommands in the order messages list them.
	order []string
	// args is how many positional arguments each subcommand takes and
	// what they are, for the message when the count is wrong; a count
	// below zero leaves the counting to check.
	args map[string]positional
	// flags, when not nil, adds sub's own flags.
	flags func(sub string, fs *flag.FlagSet)
	// check, when not nil, refuses what the counts cannot see, before the
	// store is opened.
	check func(sub string, pos []string) error
}

// positional is what one subcommand takes after its name.
type positional struct {
	n     int
	usage string
}

// open parses args (the arguments after the command's name), checks them
// and opens the domain service over the configured store; the caller
// closes the store.
func (c subcommands) open(ctx context.Context, env Env, args []string) (sub string, pos []string, svc *domain.Service, st store.Store, err error) {
	if len(args) == 0 {
		return "", nil, nil, nil, fmt.Errorf("%s: expected %s", c.name, orList(c.order))
	}
	sub, args = args[0], args[1:]
	cfg, pos, err := resolve(env, c.name+" "+sub, args, func(fs *flag.FlagSet) {
		if c.flags != nil {
			c.flags(sub, fs)
		}
	})
	if err != nil {
		return "", nil, nil, nil, err
	}
	want, ok := c.args[sub]
	if !ok {
		return "", nil, nil, nil, fmt.Errorf("%s: unknown subcommand %q (%s)", c.name, sub, strings.Join(c.order, ", "))
	}
	if want.n >= 0 && len(pos) != want.n {
		return "", nil, nil, nil, fmt.Errorf("%s %s: expected %s", c.name, sub, want.usage)
	}
	if c.check != nil {
		if err := c.check(sub, pos); err != nil {
			return "", nil, nil, nil, err
		}
	}
	svc, st, err = openService(ctx, env, cfg)
	if err != nil {
		return "", nil, nil, nil, err
	}
	return sub, pos, svc, st, nil
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// needUser refuses a user who does not exist with "no user NAME".
func needUser(ctx context.Context, svc *domain.Service, name string) error {
	if _, err := svc.User(ctx, name); err != nil {
		if errors.Is(err, domain.ErrNotFound) {
			return fmt.Errorf("no user %s", name)
		}
		return err
	}
	return nil
}
