package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"

	"koyomi.dev/koyomi/internal/domain"
)

// shareCommand runs `share add|del|list`: grants on a user's calendar or
// address book, made as its owner would make them. It is the one way to
// grant a level CalendarServer's CS:share cannot express (free-busy,
// admin) or to grant a group or everyone. `share mine USER` lists what
// others share with USER.
func shareCommand(ctx context.Context, env Env, args []string) error {
	level := domain.LevelRead.String()
	grant := positional{3, "OWNER COLLECTION GRANTEE (user:NAME, group:NAME or '*')"}
	sub, pos, svc, st, err := subcommands{
		name:  "share",
		order: []string{"add", "del", "list", "mine"},
		args:  map[string]positional{"add": grant, "del": grant, "list": {2, "OWNER COLLECTION"}, "mine": {1, "USER"}},
		flags: func(sub string, fs *flag.FlagSet) {
			if sub == "add" {
				fs.StringVar(&level, "level", level, "what the grantee may do: free-busy, read, read-write or `admin`")
			}
		},
	}.open(ctx, env, args)
	if err != nil {
		return err
	}
	defer st.Close()
	if sub == "mine" {
		return sharedWith(ctx, env, svc, pos[0])
	}
	owner, name := pos[0], pos[1]
	// The default calendar exists before its owner's first login, so that
	// it can be shared at once.
	if err := ensureCalendarHome(ctx, svc, owner); err != nil {
		return err
	}
	c, err := svc.Collection(ctx, owner, name)
	if errors.Is(err, domain.ErrNotFound) {
		return fmt.Errorf("%s has no calendar or address book %q", owner, name)
	}
	if err != nil {
		return err
	}
	switch sub {
	case "add":
		l, err := domain.ParseGrantLevel(level)
		if err != nil {
			return err
		}
		g, err := svc.Share(ctx, c, pos[2], l)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s/%s is shared with %s at %s\n", owner, name, g.Grantee, g.Level)
	case "del":
		if err := svc.Unshare(ctx, c, pos[2]); err != nil {
			if errors.Is(err, domain.ErrNotFound) {
				return fmt.Errorf("%s/%s is not shared with %s", owner, name, pos[2])
			}
			return err
		}
		fmt.Fprintf(env.Stdout, "%s/%s is no longer shared with %s\n", owner, name, pos[2])
	case "list":
		grants, err := svc.Grants(ctx, c)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "GRANTEE\tLEVEL\tCREATED")
		for _, g := range grants {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", g.Grantee, g.Level, g.Created.Format("2006-01-02"))
		}
		return tw.Flush()
	}
	return nil
}

// sharedWith lists what others share with user, as user sees it.
func sharedWith(ctx context.Context, env Env, svc *domain.Service, user string) error {
	if err := needUser(ctx, svc, user); err != nil {
		return err
	}
	shares, err := svc.SharedWith(ctx, user)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COLLECTION\tKIND\tLEVEL\tVIA\tIN THEIR HOME AS\tDISPLAY\tHIDDEN")
	for _, sh := range shares {
		via := "grant"
		if sh.Delegated {
			via = "delegate"
		}
		fmt.Fprintf(tw, "%s/%s\t%s\t%s\t%s\t%s\t%s\t%t\n", sh.Coll.Owner, sh.Coll.Name, sh.Coll.Kind, sh.Level, via, sh.Mount,
			sh.DisplayName(), sh.Hidden())
	}
	return tw.Flush()
}
