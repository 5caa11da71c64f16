package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/publiclink"
)

// linkCommand runs `link add|list|del`: public links of a user's calendars
// and virtual calendars, made and revoked as their owner would.
func linkCommand(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 {
		return errors.New("link: expected add, list or del")
	}
	sub, args := args[0], args[1:]
	var vc string
	cfg, pos, err := resolve(env, "link "+sub, args, func(fs *flag.FlagSet) {
		if sub == "add" {
			fs.StringVar(&vc, "vc", "", "publish the owner's virtual calendar `NAME` instead of a calendar")
		}
	})
	if err != nil {
		return err
	}
	switch {
	case sub == "add" && vc == "" && len(pos) != 2:
		return errors.New("link add: expected OWNER CALENDAR, or OWNER --vc NAME")
	case sub == "add" && vc != "" && len(pos) != 1:
		return errors.New("link add: give OWNER CALENDAR or OWNER --vc NAME, not both")
	case sub == "list" && len(pos) != 1:
		return errors.New("link list: expected OWNER")
	case sub == "del" && len(pos) != 1:
		return errors.New("link del: expected TOKEN")
	case sub != "add" && sub != "list" && sub != "del":
		return fmt.Errorf("link: unknown subcommand %q (add, list, del)", sub)
	}
	svc, st, err := openService(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "add":
		l, err := linkAdd(ctx, svc, pos, vc)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "public link %s of %s: %s (on this server; anyone with it reads %s without signing in)\n",
			l.Token, linkTarget(l), publiclink.Path(l.Token), linkTarget(l))
	case "list":
		if _, err := svc.User(ctx, pos[0]); err != nil {
			if errors.Is(err, domain.ErrNotFound) {
				return fmt.Errorf("no user %s", pos[0])
			}
			return err
		}
		links, err := svc.PublicLinks(ctx, pos[0])
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TOKEN\tSHOWS\tPATH\tCREATED")
		for _, l := range links {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", l.Token, linkTarget(l), publiclink.Path(l.Token), l.Created.Format("2006-01-02"))
		}
		return tw.Flush()
	case "del":
		if err := svc.RevokePublicLink(ctx, pos[0]); err != nil {
			if errors.Is(err, domain.ErrNotFound) {
				return fmt.Errorf("no public link %s", pos[0])
			}
			return err
		}
		fmt.Fprintf(env.Stdout, "public link %s revoked\n", pos[0])
	}
	return nil
}

// linkAdd publishes OWNER CALENDAR (pos), or OWNER's virtual calendar vc.
func linkAdd(ctx context.Context, svc *domain.Service, pos []string, vc string) (*domain.PublicLink, error) {
	owner := pos[0]
	// The default calendar exists before its owner's first login, so that
	// it can be published at once.
	if err := ensureCalendarHome(ctx, svc, owner); err != nil {
		return nil, err
	}
	if vc != "" {
		l, err := svc.CreateVCPublicLink(ctx, owner, vc)
		if errors.Is(err, domain.ErrNotFound) {
			return nil, fmt.Errorf("%s has no virtual calendar %q", owner, vc)
		}
		return l, err
	}
	c, err := svc.Collection(ctx, owner, pos[1])
	if errors.Is(err, domain.ErrNotFound) {
		return nil, fmt.Errorf("%s has no calendar %q", owner, pos[1])
	}
	if err != nil {
		return nil, err
	}
	return svc.CreatePublicLink(ctx, c)
}

// linkTarget names what a link shows: OWNER/CALENDAR, or the virtual
// calendar OWNER/NAME.
func linkTarget(l *domain.PublicLink) string {
	if l.VC != "" {
		return "virtual calendar " + l.Owner + "/" + l.VC
	}
	return l.Owner + "/" + l.Calendar
}
