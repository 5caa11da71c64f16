package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"koyomi.dev/koyomi/internal/domain"
)

// givenBool is a boolean flag that knows whether it was given, so that
// "set" commands change only what they are told to.
type givenBool struct{ given, value bool }

func (b *givenBool) String() string {
	if b == nil {
		return "false"
	}
	return strconv.FormatBool(b.value)
}

func (b *givenBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	b.given, b.value = true, v
	return nil
}

func (b *givenBool) IsBoolFlag() bool { return true }

// givenString is a string flag that knows whether it was given.
type givenString struct {
	given bool
	value string
}

func (s *givenString) String() string {
	if s == nil {
		return ""
	}
	return s.value
}

func (s *givenString) Set(v string) error { s.given, s.value = true, v; return nil }

// groupCommand runs `group add|set|del|list` and `group member ...`.
func groupCommand(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 {
		return errors.New("group: expected add, set, del, list or member")
	}
	sub, args := args[0], args[1:]
	if sub == "member" {
		if len(args) == 0 {
			return errors.New("group member: expected add, set, del or list")
		}
		return memberCommand(ctx, env, args[0], args[1:])
	}
	var display givenString
	var keepPast givenBool
	var admins listFlag
	cfg, pos, err := resolve(env, "group "+sub, args, func(fs *flag.FlagSet) {
		if sub == "add" || sub == "set" {
			fs.Var(&display, "display", "the group's display `name`")
			fs.Var(&keepPast, "keep-past", "members who leave keep read access to what ended before they left (--keep-past=false: they lose it)")
		}
		if sub == "add" {
			fs.Var(&admins, "admin", "make `USER` a member who administers the group; repeatable")
		}
	})
	if err != nil {
		return err
	}
	svc, st, err := openService(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	noGroup := func(name string, err error) error {
		if errors.Is(err, domain.ErrNotFound) {
			return fmt.Errorf("no group %s", name)
		}
		return err
	}
	switch sub {
	case "add", "set", "del":
		if len(pos) != 1 {
			return fmt.Errorf("group %s: expected exactly one group name", sub)
		}
		name := pos[0]
		switch sub {
		case "del":
			if err := svc.DeleteGroup(ctx, name); err != nil {
				return noGroup(name, err)
			}
			fmt.Fprintf(env.Stdout, "group %s deleted\n", name)
		case "set":
			if !display.given && !keepPast.given {
				return errors.New("group set: give --display or --keep-past")
			}
			var change domain.GroupChange
			if display.given {
				change.DisplayName = &display.value
			}
			if keepPast.given {
				change.KeepPast = &keepPast.value
			}
			g, err := svc.UpdateGroup(ctx, name, change)
			if err != nil {
				return noGroup(name, err)
			}
			fmt.Fprintf(env.Stdout, "group %s is called %q; members who leave %s\n", name, g.DisplayName, leavingPolicy(g.KeepPast))
		case "add":
			if err := svc.CreateGroup(ctx, name, display.value, keepPast.value, admins...); err != nil {
				if errors.Is(err, domain.ErrExists) {
					return fmt.Errorf("group %s already exists", name)
				}
				return err
			}
			fmt.Fprintf(env.Stdout, "group %s created; members who leave %s", name, leavingPolicy(keepPast.value))
			if len(admins) > 0 {
				fmt.Fprintf(env.Stdout, "; administered by %s", strings.Join(admins, ", "))
			}
			fmt.Fprintln(env.Stdout)
		}
	case "list":
		if len(pos) != 0 {
			return fmt.Errorf("group list: unexpected argument %q", pos[0])
		}
		groups, err := svc.Groups(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tDISPLAY\tON LEAVING\tMEMBERS\tADMINS")
		for _, g := range groups {
			ms, err := svc.Members(ctx, g.Name)
			if err != nil {
				return err
			}
			var current, admins []string
			for _, m := range ms {
				if m.Left.IsZero() {
					current = append(current, m.User)
					if m.Admin {
						admins = append(admins, m.User)
					}
				}
			}
			onLeaving := "lose access"
			if g.KeepPast {
				onLeaving = "keep the past"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", g.Name, g.DisplayName, onLeaving, strings.Join(current, ","), strings.Join(admins, ","))
		}
		return tw.Flush()
	default:
		return fmt.Errorf("group: unknown subcommand %q (add, set, del, list, member)", sub)
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

// parseContributions reads the --contribute flags; "" is none, so that
// `--contribute ""` clears them.
func parseContributions(flags listFlag) ([]domain.Contribution, error) {
	contribs := []domain.Contribution{}
	for _, s := range slices.DeleteFunc(slices.Clone([]string(flags)), func(s string) bool { return s == "" }) {
		c, err := parseContribution(s)
		if err != nil {
			return nil, err
		}
		contribs = append(contribs, c)
	}
	return contribs, nil
}

// memberCommand runs `group member add|set|del|list`.
func memberCommand(ctx context.Context, env Env, sub string, args []string) error {
	var contribute listFlag
	var admin givenBool
	cfg, pos, err := resolve(env, "group member "+sub, args, func(fs *flag.FlagSet) {
		if sub == "add" || sub == "set" {
			fs.Var(&contribute, "contribute", "add `CAL:LEVEL` (one of the user's calendars at full, summary, busy or hidden) to the group calendar; repeatable")
			fs.Var(&admin, "admin", "the member administers the group (--admin=false: no longer)")
		}
	})
	if err != nil {
		return err
	}
	svc, st, err := openService(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "add", "set", "del":
		if len(pos) != 2 {
			return fmt.Errorf("group member %s: expected GROUP USER", sub)
		}
		group, user := pos[0], pos[1]
		switch sub {
		case "del":
			if err := svc.RemoveMember(ctx, group, user); err != nil {
				if errors.Is(err, domain.ErrNotFound) {
					return fmt.Errorf("%s is not a member of %s", user, group)
				}
				return err
			}
			fmt.Fprintf(env.Stdout, "%s left %s\n", user, group)
		case "add":
			return memberAdd(ctx, env, svc, group, user, admin.value, contribute)
		case "set":
			return memberSet(ctx, env, svc, group, user, admin, contribute)
		}
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
		fmt.Fprintln(tw, "USER\tROLE\tJOINED\tLEFT\tCONTRIBUTES")
		for _, m := range ms {
			left := "-"
			if !m.Left.IsZero() {
				left = m.Left.Format("2006-01-02")
			}
			role := "member"
			if m.Admin {
				role = "admin"
			}
			var contribs []domain.Contribution
			_ = json.Unmarshal(m.Contributions, &contribs)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.User, role, m.Joined.Format("2006-01-02"), left, describeContributions(contribs))
		}
		return tw.Flush()
	default:
		return fmt.Errorf("group member: unknown subcommand %q (add, set, del, list)", sub)
	}
	return nil
}

// memberAdd implements "koyomi group member add".
func memberAdd(ctx context.Context, env Env, svc *domain.Service, group, user string, admin bool, contribute listFlag) error {
	contribs, err := parseContributions(contribute)
	if err != nil {
		return err
	}
	if err := ensureCalendarHome(ctx, svc, user); err != nil {
		return err
	}
	if err := svc.AddGroupMember(ctx, group, domain.NewMember{User: user, Admin: admin, Contributions: contribs}); err != nil {
		if errors.Is(err, domain.ErrExists) {
			return fmt.Errorf("%s is already a member of %s (change what they contribute or their role with group member set)", user, group)
		}
		return err
	}
	role := "a member"
	if admin {
		role = "an administrator"
	}
	fmt.Fprintf(env.Stdout, "%s is %s of %s, contributing %s\n", user, role, group, describeContributions(contribs))
	return nil
}

// memberSet implements "koyomi group member set": --admin and --contribute
// change what they say (--contribute "" clears the contributions); the rest
// stays.
func memberSet(ctx context.Context, env Env, svc *domain.Service, group, user string, admin givenBool, contribute listFlag) error {
	if !admin.given && contribute == nil {
		return errors.New("group member set: give --admin or --contribute")
	}
	if contribute != nil {
		contribs, err := parseContributions(contribute)
		if err != nil {
			return err
		}
		if err := ensureCalendarHome(ctx, svc, user); err != nil {
			return err
		}
		if err := svc.SetContributions(ctx, group, user, contribs); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s contributes %s to %s\n", user, describeContributions(contribs), group)
	}
	if admin.given {
		if err := svc.SetMemberAdmin(ctx, group, user, admin.value); err != nil {
			return err
		}
		if admin.value {
			fmt.Fprintf(env.Stdout, "%s administers %s\n", user, group)
		} else {
			fmt.Fprintf(env.Stdout, "%s no longer administers %s\n", user, group)
		}
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
