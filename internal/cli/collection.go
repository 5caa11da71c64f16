package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
)

// collectionFlags are the flags of "koyomi calendar" and "koyomi
// addressbook"; the settings remember whether they were given, so that
// set changes only what the command line names.
type collectionFlags struct {
	display, color, description, components, timezone optString
	yes                                               bool
	output                                            string
}

// settings are the settings the flags give.
func (f *collectionFlags) settings() domain.CollectionSettings {
	cs := domain.CollectionSettings{DisplayName: f.display.v, Color: f.color.v, Description: f.description.v, TimeZone: f.timezone.v}
	if f.components.v != nil {
		cs.Components = []string{}
		for _, c := range strings.Split(*f.components.v, ",") {
			if c = strings.TrimSpace(c); c != "" {
				cs.Components = append(cs.Components, c)
			}
		}
	}
	return cs
}

// collectionCommand runs `calendar|addressbook add|list|show|set|del|export`
// on a user's calendars or address books, as an administrator.
func collectionCommand(ctx context.Context, env Env, kind store.Kind, args []string) error {
	word := string(kind)
	if len(args) > 0 && args[0] == "import" {
		return importCommand(ctx, env, word, args[1:])
	}
	var f collectionFlags
	settings := map[string]bool{"add": true, "set": true}
	named := positional{2, "USER NAME"}
	sub, pos, svc, st, err := subcommands{
		name:  word,
		order: []string{"add", "list", "show", "set", "del", "export"},
		args: map[string]positional{"add": named, "list": {1, "USER"}, "show": named, "set": named, "del": named,
			"export": named},
		flags: func(sub string, fs *flag.FlagSet) {
			switch {
			case settings[sub]:
				fs.Var(&f.display, "display", "display `name`")
				fs.Var(&f.color, "color", "`colour` (#RRGGBB)")
				fs.Var(&f.description, "description", "description `text`")
				if kind == store.KindCalendar {
					fs.Var(&f.components, "components", "component `types` it accepts (VEVENT,VTODO,VJOURNAL)")
					fs.Var(&f.timezone, "timezone", "IANA time `zone` (e.g. Asia/Tokyo; \"\" removes it)")
				}
			case sub == "del":
				fs.BoolVar(&f.yes, "yes", false, "delete without asking")
			case sub == "export":
				fs.StringVar(&f.output, "o", "", "write to `file` instead of standard output")
			}
		},
	}.open(ctx, env, args)
	if err != nil {
		return err
	}
	defer st.Close()
	user := pos[0]
	if err := needUser(ctx, svc, user); err != nil {
		return err
	}
	// The default collection exists before its owner's first login, as
	// it will after it.
	if err := svc.EnsureHome(ctx, user, kind); err != nil {
		return err
	}
	if sub == "list" {
		return listCollections(ctx, env, svc, user, kind)
	}
	name := pos[1]
	if sub == "add" {
		c, err := svc.CreateCollectionWith(ctx, user, name, kind, f.settings())
		if errors.Is(err, domain.ErrExists) {
			return fmt.Errorf("%s already has a collection %q", user, name)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s %s/%s created\n", word, user, c.Name)
		return nil
	}
	c, err := svc.CollectionOfKind(ctx, user, name, kind)
	if errors.Is(err, domain.ErrNotFound) {
		return fmt.Errorf("%s has no %s %q", user, word, name)
	}
	if err != nil {
		return err
	}
	switch sub {
	case "show":
		return showCollection(ctx, env, svc, c)
	case "set":
		cs := f.settings()
		if cs.DisplayName == nil && cs.Color == nil && cs.Description == nil && cs.Components == nil && cs.TimeZone == nil {
			flags := "--display, --color, --description"
			if kind == store.KindCalendar {
				flags += ", --components, --timezone"
			}
			return fmt.Errorf("%s set: nothing to change (give %s)", word, flags)
		}
		if _, err := svc.UpdateCollectionWith(ctx, c, cs); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s %s/%s changed\n", word, user, name)
	case "del":
		if err := confirmDelete(ctx, env, svc, c, f.yes); err != nil {
			return err
		}
		if err := svc.DeleteCollection(ctx, c); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s %s/%s moved to the trash (koyomi trash list %s)\n", word, user, name, user)
	case "export":
		target, err := svc.CollectionTarget(ctx, c)
		if err != nil {
			return err
		}
		return exportTo(env, f.output, func(w io.Writer) error { return target.Export(ctx, w) })
	}
	return nil
}

// listCollections prints user's collections of kind as a table.
func listCollections(ctx context.Context, env Env, svc *domain.Service, user string, kind store.Kind) error {
	colls, err := svc.Collections(ctx, user)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDISPLAY\tCOMPONENTS\tOBJECTS")
	for _, c := range colls {
		if c.Kind != kind {
			continue
		}
		objs, err := svc.ListObjects(ctx, c, false)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", c.Name, c.DisplayName, orDash(strings.Join(c.Components, ",")), len(objs))
	}
	return tw.Flush()
}

// showCollection prints every property of c, one a line.
func showCollection(ctx context.Context, env Env, svc *domain.Service, c *store.Collection) error {
	objs, err := svc.ListObjects(ctx, c, false)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	for _, row := range [][2]string{
		{"name", c.Name}, {"owner", c.Owner}, {"kind", string(c.Kind)}, {"display", c.DisplayName},
		{"description", strings.ReplaceAll(c.Description, "\n", " ")}, {"color", c.Color},
		{"components", strings.Join(c.Components, ",")}, {"timezone", domain.TimeZoneName(c)},
		{"objects", fmt.Sprint(len(objs))}, {"sync-token", domain.SyncToken(c)},
		{"created", c.Created.UTC().Format("2006-01-02 15:04:05 UTC")},
		{"modified", c.Modified.UTC().Format("2006-01-02 15:04:05 UTC")},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], orDash(row[1]))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// confirmDelete asks on a terminal before a collection and its objects go;
// elsewhere (a script, a pipe) nothing can answer, so --yes is required.
func confirmDelete(ctx context.Context, env Env, svc *domain.Service, c *store.Collection, yes bool) error {
	if yes {
		return nil
	}
	if !env.StdinIsTerminal {
		return fmt.Errorf("%s del: standard input is not a terminal to confirm on; give --yes to delete %s/%s",
			c.Kind, c.Owner, c.Name)
	}
	objs, err := svc.ListObjects(ctx, c, false)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "Move %s %s/%s and its %d objects to the trash? [y/N] ", c.Kind, c.Owner, c.Name, len(objs))
	answer, _ := bufio.NewReader(env.Stdin).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		return errors.New("not deleted")
	}
	return nil
}

// exportTo writes what write produces to file, or to standard output when
// file is "". A file is written whole or not at all: a failure removes it.
func exportTo(env Env, file string, write func(io.Writer) error) error {
	if file == "" || file == "-" {
		bw := bufio.NewWriter(env.Stdout)
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	fh, err := os.Create(file)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(fh)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(file)
		return err
	}
	fmt.Fprintf(env.Stderr, "written to %s\n", file)
	return nil
}
