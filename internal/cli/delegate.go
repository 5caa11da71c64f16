package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"

	"koyomi.dev/koyomi/internal/domain"
)

// delegateCommand runs `delegate add|list|del`: the members of a user's
// calendar proxy groups, who read (or also change) all of their
// calendars.
func delegateCommand(ctx context.Context, env Env, args []string) error {
	var write, read bool
	pair := positional{2, "OWNER DELEGATE"}
	sub, pos, svc, st, err := subcommands{
		name:  "delegate",
		order: []string{"add", "list", "del"},
		args:  map[string]positional{"add": pair, "del": pair, "list": {1, "OWNER"}},
		flags: func(sub string, fs *flag.FlagSet) {
			if sub == "add" {
				fs.BoolVar(&write, "write", false, "the delegate reads and changes all of the owner's calendars")
				fs.BoolVar(&read, "read", false, "the delegate reads all of the owner's calendars")
			}
		},
		check: func(sub string, _ []string) error {
			if sub == "add" && write == read {
				return errors.New("delegate add: give --write or --read")
			}
			return nil
		},
	}.open(ctx, env, args)
	if err != nil {
		return err
	}
	defer st.Close()
	owner := pos[0]
	if err := needUser(ctx, svc, owner); err != nil {
		return err
	}
	switch sub {
	case "add":
		if err := svc.SetDelegate(ctx, owner, pos[1], write); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s %s %s's calendars as a delegate\n", pos[1], delegateAccess(write), owner)
	case "del":
		if err := svc.RemoveDelegate(ctx, owner, pos[1]); err != nil {
			if errors.Is(err, domain.ErrNotFound) {
				return fmt.Errorf("%s is not a delegate of %s", pos[1], owner)
			}
			return err
		}
		fmt.Fprintf(env.Stdout, "%s is no longer a delegate of %s\n", pos[1], owner)
	case "list":
		ds, err := svc.Delegates(ctx, owner)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DELEGATE\tACCESS\tSINCE")
		for _, d := range ds {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", d.Delegate, delegateAccess(d.Write), d.Created.Format("2006-01-02"))
		}
		return tw.Flush()
	}
	return nil
}

func delegateAccess(write bool) string {
	if write {
		return "reads and writes"
	}
	return "reads"
}
