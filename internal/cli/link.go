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
	var vc string
	sub, pos, svc, st, err := subcommands{
		name:  "link",
		order: []string{"add", "list", "del"},
		// add counts its own: one argument with --vc, two without.
		args: map[string]positional{"add": {-1, ""}, "list": {1, "OWNER"}, "del": {1, "TOKEN"}},
		flags: func(sub string, fs *flag.FlagSet) {
			if sub == "add" {
				fs.StringVar(&vc, "vc", "", "publish the owner's virtual calendar `NAME` instead of a calendar")
			}
		},
		check: func(sub string, pos []string) error {
			switch {
			case sub == "add" && vc == "" && len(pos) != 2:
				return errors.New("link add: expected OWNER CALENDAR, or OWNER --vc NAME")
			case sub == "add" && vc != "" && len(pos) != 1:
				return errors.New("link add: give OWNER CALENDAR or OWNER --vc NAME, not both")
			}
			return nil
		},
	}.open(ctx, env, args)
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
		if err := needUser(ctx, svc, pos[0]); err != nil {
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
