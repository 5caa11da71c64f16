package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
)

// trashCommand runs `trash list|restore|purge`: what a user deleted, kept
// for the retention period (trash_retention).
func trashCommand(ctx context.Context, env Env, args []string) error {
	sub, pos, svc, st, err := subcommands{
		name:  "trash",
		order: []string{"list", "restore", "purge"},
		args: map[string]positional{"list": {1, "USER"}, "restore": {2, "USER ID"},
			"purge": {-1, "USER [ID]"}},
		check: func(sub string, pos []string) error {
			if sub == "purge" && (len(pos) < 1 || len(pos) > 2) {
				return errors.New("trash purge: expected USER, or USER ID")
			}
			if len(pos) == 2 {
				if _, err := strconv.ParseInt(pos[1], 10, 64); err != nil {
					return fmt.Errorf("trash %s: ID %q is not a number (see koyomi trash list %s)", sub, pos[1], pos[0])
				}
			}
			return nil
		},
	}.open(ctx, env, args)
	if err != nil {
		return err
	}
	defer st.Close()
	var id int64
	if len(pos) == 2 {
		id, _ = strconv.ParseInt(pos[1], 10, 64)
	}
	owner := pos[0]
	switch sub {
	case "list":
		items, err := svc.Trash(ctx, owner)
		if errors.Is(err, domain.ErrNotFound) {
			return fmt.Errorf("no user %s", owner)
		}
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tNAME\tSIZE\tDELETED\tBY")
		for _, it := range items {
			by := it.DeletedBy
			if by == "" {
				by = "(administrator)"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", it.ID, it.Kind, it.Name, it.Size,
				it.Deleted.UTC().Format("2006-01-02 15:04"), by)
		}
		return tw.Flush()
	case "restore":
		// A user comes back through RestoreUser, which says what of them
		// could not (a name is in the trash as a user at most once).
		if items, err := svc.Trash(ctx, owner); err == nil && slices.ContainsFunc(items, func(it *store.TrashItem) bool {
			return it.ID == id && it.Kind == store.TrashUser
		}) {
			notes, err := svc.RestoreUser(ctx, owner)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "user %s restored\n", owner)
			for _, n := range notes {
				fmt.Fprintln(env.Stderr, "not restored:", n)
			}
			return nil
		}
		it, err := svc.RestoreTrash(ctx, owner, id)
		if err != nil {
			if errors.Is(err, domain.ErrNotFound) {
				return fmt.Errorf("no item %d in the trash of %s", id, owner)
			}
			return err
		}
		fmt.Fprintf(env.Stdout, "%s %s of %s restored\n", it.Kind, it.Name, owner)
	case "purge":
		n, err := svc.PurgeTrash(ctx, owner, id)
		if err != nil {
			if errors.Is(err, domain.ErrNotFound) {
				return fmt.Errorf("no item %d in the trash of %s", id, owner)
			}
			return err
		}
		fmt.Fprintf(env.Stdout, "%d item(s) of %s purged for good\n", n, owner)
	}
	return nil
}

// confirmUserDelete asks on a terminal before a user goes to the trash,
// and refuses without yes when nobody is there to ask.
func confirmUserDelete(env Env, name string, yes bool) error {
	if yes {
		return nil
	}
	if !env.StdinIsTerminal {
		return fmt.Errorf("user del: standard input is not a terminal; give --yes to delete %s "+
			"(they go to the trash, from where `koyomi user restore %s` brings them back)", name, name)
	}
	fmt.Fprintf(env.Stderr, "Delete user %s with all their calendars, contacts and settings? "+
		"They stay in the trash until trash_retention is over. Type the user name to confirm: ", name)
	line, err := bufio.NewReader(env.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("user del: no confirmation: %w", err)
	}
	if strings.TrimSpace(line) != name {
		return errors.New("user del: not confirmed; nothing deleted")
	}
	return nil
}
