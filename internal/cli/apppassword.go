package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"koyomi.dev/koyomi/internal/domain"
)

// appPasswordCommand runs `user app-password add|list|revoke`; args are the
// positional arguments after "app-password".
func appPasswordCommand(ctx context.Context, env Env, svc *domain.Service, args []string) error {
	if len(args) == 0 {
		return errors.New("user app-password: expected add, list or revoke")
	}
	sub, args := args[0], args[1:]
	noUser := func(user string, err error) error {
		if errors.Is(err, domain.ErrNotFound) {
			return fmt.Errorf("no user %s", user)
		}
		return err
	}
	switch sub {
	case "add":
		if len(args) != 2 {
			return errors.New("user app-password add: expected USER LABEL")
		}
		user, label := args[0], args[1]
		secret, p, err := svc.CreateAppPassword(ctx, user, label)
		if err != nil {
			return noUser(user, err)
		}
		fmt.Fprintf(env.Stdout, "app password %d (%s) of %s created; it is shown only now:\n\n    %s\n\n", p.ID, p.Label, user, secret)
		fmt.Fprintln(env.Stdout, "Use it instead of the password on that device; dashes and case may be left out.")
	case "list":
		if len(args) != 1 {
			return errors.New("user app-password list: expected USER")
		}
		user := args[0]
		ps, err := svc.AppPasswords(ctx, user)
		if err != nil {
			return noUser(user, err)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tLABEL\tCREATED\tLAST USED")
		for _, p := range ps {
			used := "never"
			if !p.LastUsed.IsZero() {
				used = p.LastUsed.Format(time.DateTime)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", p.ID, p.Label, p.Created.Format(time.DateTime), used)
		}
		return tw.Flush()
	case "revoke":
		if len(args) != 2 {
			return errors.New("user app-password revoke: expected USER ID")
		}
		user := args[0]
		id, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil {
			return fmt.Errorf("user app-password revoke: %q is not an app password id (see user app-password list)", args[1])
		}
		if err := svc.RevokeAppPassword(ctx, user, id); err != nil {
			if errors.Is(err, domain.ErrNotFound) {
				return fmt.Errorf("%s has no app password %d", user, id)
			}
			return err
		}
		fmt.Fprintf(env.Stdout, "app password %d of %s revoked\n", id, user)
	default:
		return fmt.Errorf("user app-password: unknown subcommand %q (add, list, revoke)", sub)
	}
	return nil
}
