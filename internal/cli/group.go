package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"koyomi.dev/koyomi/internal/domain"
)

// groupCommand runs `group add|del|list` and `group member ...`.
func groupCommand(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 {
		return errors.New("group: expected add, del, list or member")
	}
	sub, args := args[0], args[1:]
	if sub == "member" {
		if len(args) == 0 {
			return errors.New("group member: expected add, del or list")
		}
		return memberCommand(ctx, env, args[0], args[1:])
	}
	var display string
	var keepPast bool
	cfg, pos, err := resolve(env, "group "+sub, args, func(fs *flag.FlagSet) {
		if sub == "add" {
			fs.StringVar(&display, "display", "", "the group's display `name`")
			fs.BoolVar(&keepPast, "keep-past", false, "members who leave keep read access to what ended before they left")
		}
	})
	if err != nil {
		return err
	}
	svc, st, err := openService(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "add", "del":
		if len(pos) != 1 {
			return fmt.Errorf("group %s: expected exactly one group name", sub)
		}
		name := pos[0]
		if sub == "del" {
			if err := svc.DeleteGroup(ctx, name); err != nil {
				if errors.Is(err, domain.ErrNotFound) {
					return fmt.Errorf("no group %s", name)
				}
				return err
			}
			fmt.Fprintf(env.Stdout, "group %s deleted\n", name)
			return nil
		}
		if err := svc.CreateGroup(ctx, name, display, keepPast); err != nil {
			if errors.Is(err, domain.ErrExists) {
				return fmt.Errorf("group %s already exists", name)
			}
			return err
		}
		fmt.Fprintf(env.Stdout, "group %s created; members who leave %s\n", name, leavingPolicy(keepPast))
	case "list":
		if len(pos) != 0 {
			return fmt.Errorf("group list: unexpected argument %q", pos[0])
		}
		groups, err := svc.Groups(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tDISPLAY\tON LEAVING\tMEMBERS")
		for _, g := range groups {
			ms, err := svc.Members(ctx, g.Name)
			if err != nil {
				return err
			}
			var current []string
			for _, m := range ms {
				if m.Left.IsZero() {
					current = append(current, m.User)
				}
			}
			onLeaving := "lose access"
			if g.KeepPast {
				onLeaving = "keep the past"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", g.Name, g.DisplayName, onLeaving, strings.Join(current, ","))
		}
		return tw.Flush()
	default:
		return fmt.Errorf("group: unknown subcommand %q (add, del, list, member)", sub)
	}
	return nil
}

func leavingPolicy(keepPast bool) string {
	if keepPast {
		return "keep read access to what ended before they left"
	}
	return "lose access to the group calendar"
}

// parseContribution reads CAL:LEVEL.
func parseContribution(s string) (domain.Contribution, error) {
	i := strings.LastIndex(s, ":")
	if i <= 0 || i == len(s)-1 {
		return domain.Contribution{}, fmt.Errorf("--contribute %q: use CALENDAR:LEVEL, e.g. default:busy", s)
	}
	c := domain.Contribution{Calendar: s[:i], Level: s[i+1:]}
	if _, err := domain.ParseLevel(c.Level); err != nil {
		return c, fmt.Errorf("--contribute %q: %w", s, err)
	}
	return c, nil
}

func memberCommand(ctx context.Context, env Env, sub string, args []string) error {
	var contribute listFlag
	cfg, pos, err := resolve(env, "group member "+sub, args, func(fs *flag.FlagSet) {
		if sub == "add" {
			fs.Var(&contribute, "contribute", "add `CAL:LEVEL` (one of the user's calendars at full, summary, busy or hidden) to the group calendar; repeatable")
		}
	})
	if err != nil {
		return err
	}
	svc, st, err := openService(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "add", "del":
		if len(pos) != 2 {
			return fmt.Errorf("group member %s: expected GROUP USER", sub)
		}
		group, user := pos[0], pos[1]
		if sub == "del" {
			if err := svc.RemoveMember(ctx, group, user); err != nil {
				if errors.Is(err, domain.ErrNotFound) {
					return fmt.Errorf("%s is not a member of %s", user, group)
				}
				return err
			}
			fmt.Fprintf(env.Stdout, "%s left %s\n", user, group)
			return nil
		}
		var contribs []domain.Contribution
		for _, s := range contribute {
			c, err := parseContribution(s)
			if err != nil {
				return err
			}
			contribs = append(contribs, c)
		}
		if err := ensureCalendarHome(ctx, svc, user); err != nil {
			return err
		}
		if err := svc.AddMember(ctx, group, user, contribs); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s is a member of %s, contributing %s\n", user, group, describeContributions(contribs))
	case "list":
		if len(pos) != 1 {
			return errors.New("group member list: expected exactly one group name")
		}
		ms, err := svc.Members(ctx, pos[0])
		if err != nil {
			if errors.Is(err, domain.ErrNotFound) {
				return fmt.Errorf("no group %s", pos[0])
			}
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USER\tJOINED\tLEFT\tCONTRIBUTES")
		for _, m := range ms {
			left := "-"
			if !m.Left.IsZero() {
				left = m.Left.Format("2006-01-02")
			}
			var contribs []domain.Contribution
			_ = json.Unmarshal(m.Contributions, &contribs)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.User, m.Joined.Format("2006-01-02"), left, describeContributions(contribs))
		}
		return tw.Flush()
	default:
		return fmt.Errorf("group member: unknown subcommand %q (add, del, list)", sub)
	}
	return nil
}

func describeContributions(cs []domain.Contribution) string {
	if len(cs) == 0 {
		return "nothing"
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Calendar + ":" + c.Level
	}
	return strings.Join(parts, ",")
}
