package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"koyomi.dev/koyomi/internal/config"
	"koyomi.dev/koyomi/internal/connector"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/secret"
	"koyomi.dev/koyomi/internal/store"
)

// optString is a string flag that remembers whether it was given, so that
// "connector set" changes only what the command line names.
type optString struct{ v *string }

func (o *optString) String() string {
	if o == nil || o.v == nil {
		return ""
	}
	return *o.v
}

func (o *optString) Set(s string) error { o.v = &s; return nil }

// connectorFlags are the flags of "koyomi connector".
type connectorFlags struct {
	name, calendar, url, kind, username, direction, policy, interval optString
	passwordStdin, tokenStdin                                        bool
	limit                                                            int
}

func (f *connectorFlags) register(fs *flag.FlagSet, sub string) {
	switch sub {
	case "add", "set":
		fs.Var(&f.name, "name", "the connector's `name`")
		fs.Var(&f.calendar, "calendar", "the owner's local `calendar` to sync")
		fs.Var(&f.url, "url", "the remote calendar collection or ICS feed `URL`")
		fs.Var(&f.kind, "kind", "`kind` of remote: caldav (default) or ics")
		fs.Var(&f.direction, "direction", "`direction`: two-way (default; pull for ics), push or pull")
		fs.Var(&f.policy, "policy", "conflict `policy`: remote (default), local or recent")
		fs.Var(&f.interval, "interval", "how often it runs, a `duration` (default 15m, at least 5m)")
		fallthrough
	case "discover":
		fs.Var(&f.username, "username", "`user` name on the remote server")
		fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the remote password (or app password) from standard input")
		fs.BoolVar(&f.tokenStdin, "token-stdin", false, "read an OAuth 2 access token from standard input")
	case "history":
		fs.IntVar(&f.limit, "limit", 20, "show at most `N` runs, newest first (0: all)")
	}
}

// connectorArgs are the positional arguments each subcommand expects.
var connectorArgs = map[string]struct {
	n    int // positional arguments; -1: zero or one
	args string
}{
	"add": {1, "USER"}, "list": {-1, "[USER]"}, "show": {1, "ID"}, "set": {1, "ID"}, "del": {1, "ID"},
	"start": {1, "ID"}, "stop": {1, "ID"}, "sync": {1, "ID"}, "history": {1, "ID"}, "conflicts": {1, "ID"},
	"discover": {1, "URL"}, "allow": {1, "SUBJECT"}, "forbid": {1, "SUBJECT"}, "unset": {1, "SUBJECT"},
	"permissions": {0, ""},
}

const connectorSubcommands = "add, list, show, set, del, start, stop, sync, history, conflicts, discover, allow, forbid, unset, permissions"

// connectorCommand implements "koyomi connector". It acts as an
// administrator: it sees and manages every user's connectors.
func connectorCommand(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 {
		return errors.New("connector: expected " + connectorSubcommands)
	}
	sub, args := args[0], args[1:]
	want, ok := connectorArgs[sub]
	if !ok {
		return fmt.Errorf("connector: unknown subcommand %q (%s)", sub, connectorSubcommands)
	}
	var f connectorFlags
	cfg, pos, err := resolve(env, "connector "+sub, args, func(fs *flag.FlagSet) { f.register(fs, sub) })
	if err != nil {
		return err
	}
	if (want.n >= 0 && len(pos) != want.n) || (want.n < 0 && len(pos) > 1) {
		if want.args == "" {
			return fmt.Errorf("connector %s: unexpected argument %q", sub, pos[0])
		}
		return fmt.Errorf("connector %s: expected %s", sub, want.args)
	}
	if f.passwordStdin && f.tokenStdin {
		return fmt.Errorf("connector %s: give --password-stdin or --token-stdin, not both", sub)
	}
	// The key is needed to seal new credentials and to open stored ones.
	needKey := sub == "sync" || ((sub == "add" || sub == "set") && (f.passwordStdin || f.tokenStdin))
	mgr, svc, st, err := openConnectors(ctx, env, cfg, needKey)
	if err != nil {
		return err
	}
	defer st.Close()

	var id int64
	if want.args == "ID" {
		if id, err = strconv.ParseInt(pos[0], 10, 64); err != nil {
			return fmt.Errorf("connector %s: %q is not a connector id (see connector list)", sub, pos[0])
		}
	}
	// notFound names the connector a "not found" is about.
	notFound := func(err error) error {
		if errors.Is(err, domain.ErrNotFound) {
			return fmt.Errorf("no connector %d", id)
		}
		return err
	}
	switch sub {
	case "add":
		return connectorAdd(ctx, env, mgr, svc, pos[0], &f)
	case "set":
		s, err := f.settings(env)
		if err != nil {
			return err
		}
		c, err := mgr.Update(ctx, id, s)
		if err != nil {
			return notFound(err)
		}
		fmt.Fprintf(env.Stdout, "connector %d (%s) of %s changed; state %s\n", c.ID, c.Name, c.Owner, c.State)
	case "list":
		owner := ""
		if len(pos) == 1 {
			owner = pos[0]
		}
		cs, err := mgr.List(ctx, owner)
		if err != nil {
			return err
		}
		views, err := mgr.Describe(ctx, cs...)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tOWNER\tNAME\tCALENDAR\tKIND\tDIRECTION\tINTERVAL\tSTATE\tLAST SUCCESS (UTC)")
		for _, v := range views {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Owner, v.Name, v.Calendar, v.Kind, v.Direction,
				v.Interval, v.State, timeOrDash(v.LastOK))
		}
		return tw.Flush()
	case "show":
		c, err := mgr.Get(ctx, id)
		if err != nil {
			return notFound(err)
		}
		views, err := mgr.Describe(ctx, c)
		if err != nil {
			return err
		}
		return printConnector(env.Stdout, views[0])
	case "del":
		if err := mgr.Delete(ctx, id); err != nil {
			return notFound(err)
		}
		fmt.Fprintf(env.Stdout, "connector %d deleted; both calendars keep their events\n", id)
	case "start", "stop":
		c, err := mgr.SetEnabled(ctx, id, sub == "start")
		if err != nil {
			return notFound(err)
		}
		fmt.Fprintf(env.Stdout, "connector %d is %s", c.ID, c.State)
		if c.Reason != "" {
			fmt.Fprintf(env.Stdout, " (%s)", c.Reason)
		}
		fmt.Fprintln(env.Stdout)
	case "sync":
		run, err := mgr.SyncNow(ctx, id)
		if err != nil {
			return notFound(err)
		}
		printRun(env.Stdout, run)
		if run.Status != connector.RunOK {
			return fmt.Errorf("connector %d: the run ended %s", id, run.Status)
		}
	case "history":
		runs, err := mgr.History(ctx, id, f.limit)
		if err != nil {
			return notFound(err)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RUN\tSTARTED (UTC)\tTOOK\tNODE\tSTATUS\tPULLED +/~/-\tPUSHED +/~/-\tCONFLICTS\tERROR")
		for _, r := range runs {
			took := "-"
			if !r.Ended.IsZero() {
				took = r.Ended.Sub(r.Started).Round(time.Millisecond).String()
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d/%d/%d\t%d/%d/%d\t%d\t%s\n", r.ID, r.Started.UTC().Format(time.DateTime), took,
				r.Node, r.Status, r.PulledCreated, r.PulledUpdated, r.PulledDeleted, r.PushedCreated, r.PushedUpdated,
				r.PushedDeleted, r.Conflicts, r.Error)
		}
		return tw.Flush()
	case "conflicts":
		cs, err := mgr.Conflicts(ctx, id)
		if err != nil {
			return notFound(err)
		}
		if len(cs) == 0 {
			fmt.Fprintf(env.Stdout, "connector %d has had no conflicts\n", id)
		}
		for _, c := range cs {
			fmt.Fprintf(env.Stdout, "--- conflict %d, run %d, UID %s: the %s version lost (%s UTC)\n", c.ID, c.RunID, c.UID,
				c.Side, c.Created.UTC().Format(time.DateTime))
			env.Stdout.Write(c.Data)
			if len(c.Data) > 0 && c.Data[len(c.Data)-1] != '\n' {
				fmt.Fprintln(env.Stdout)
			}
		}
	case "discover":
		var password, token string
		if f.passwordStdin || f.tokenStdin {
			s, err := readSecret(env, f.tokenStdin)
			if err != nil {
				return err
			}
			if f.tokenStdin {
				token = s
			} else {
				password = s
			}
		}
		cals, err := mgr.Discover(ctx, pos[0], f.username.String(), password, token)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "URL\tNAME\tCOMPONENTS\tSYNC-COLLECTION")
		for _, c := range cals {
			comps := strings.Join(c.Components, ",")
			if comps == "" {
				comps = "any"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%v\n", c.URL, c.DisplayName, comps, c.SupportsSync)
		}
		return tw.Flush()
	case "allow", "forbid":
		if err := mgr.Permit(ctx, pos[0], sub == "allow"); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "connectors %s for %s\n", map[bool]string{true: "allowed", false: "forbidden"}[sub == "allow"], pos[0])
	case "unset":
		if err := mgr.Unpermit(ctx, pos[0]); err != nil {
			if errors.Is(err, domain.ErrNotFound) {
				return fmt.Errorf("no rule for %s", pos[0])
			}
			return err
		}
		fmt.Fprintf(env.Stdout, "rule for %s removed\n", pos[0])
	case "permissions":
		ps, err := mgr.Permissions(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SUBJECT\tCONNECTORS")
		for _, p := range ps {
			fmt.Fprintf(tw, "%s\t%s\n", p.Subject, map[bool]string{true: "allowed", false: "forbidden"}[p.Allowed])
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "users no rule names: %s (setting connectors = %q)\n",
			map[bool]string{true: "allowed", false: "forbidden"}[cfg.ConnectorsAllowed()], cfg.Connectors)
	}
	return nil
}

// openConnectors opens the store and the connector service over it; the
// caller closes the store. With needKey the server key file is loaded, and
// created if missing; without, a missing file is no error (nothing will be
// sealed or opened).
func openConnectors(ctx context.Context, env Env, cfg config.Config, needKey bool) (*connector.Manager, *domain.Service, store.Store, error) {
	key, err := secret.LoadKey(cfg.SecretKeyPath(), needKey)
	if errors.Is(err, fs.ErrNotExist) && !needKey {
		key, err = make([]byte, secret.KeySize), nil
		rand.Read(key)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	box, err := secret.New(key)
	if err != nil {
		return nil, nil, nil, err
	}
	svc, st, err := openService(ctx, env, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	mgr := connector.New(connector.Options{Store: st, Domain: svc, Box: box, Node: cfg.Node(),
		DefaultAllowed: cfg.ConnectorsAllowed()})
	return mgr, svc, st, nil
}

// settings turns the flags given into connector settings, reading a
// password or token from standard input when asked to.
func (f *connectorFlags) settings(env Env) (connector.Settings, error) {
	s := connector.Settings{Name: f.name.v, Calendar: f.calendar.v, URL: f.url.v, Kind: f.kind.v,
		Username: f.username.v, Direction: f.direction.v, Policy: f.policy.v}
	if f.interval.v != nil {
		d, err := time.ParseDuration(*f.interval.v)
		if err != nil {
			return s, fmt.Errorf("--interval %q: use a duration such as 15m or 1h", *f.interval.v)
		}
		s.Interval = &d
	}
	if f.passwordStdin || f.tokenStdin {
		secret, err := readSecret(env, f.tokenStdin)
		if err != nil {
			return s, err
		}
		if f.tokenStdin {
			s.Token = &secret
		} else {
			s.Password = &secret
		}
	}
	return s, nil
}

// connectorAdd implements "koyomi connector add".
func connectorAdd(ctx context.Context, env Env, mgr *connector.Manager, svc *domain.Service, owner string, f *connectorFlags) error {
	if f.name.v == nil || f.calendar.v == nil || f.url.v == nil {
		return errors.New("connector add: give --name, --calendar and --url")
	}
	s, err := f.settings(env)
	if err != nil {
		return err
	}
	if err := ensureCalendarHome(ctx, svc, owner); err != nil {
		return err
	}
	c, err := mgr.Create(ctx, owner, s)
	if err != nil {
		return err
	}
	views, err := mgr.Describe(ctx, c)
	if err != nil {
		return err
	}
	v := views[0]
	fmt.Fprintf(env.Stdout, "connector %d (%s) created for %s: %s sync of calendar %s with %s every %s\n",
		v.ID, v.Name, v.Owner, v.Direction, v.Calendar, v.URL, v.IntervalS)
	return nil
}

// readSecret reads a password or token: one line from standard input, or
// typed without echo on a terminal. It is never taken from a flag, where
// it would be seen in the process list and the shell's history.
func readSecret(env Env, token bool) (string, error) {
	what := "password"
	if token {
		what = "token"
	}
	var s string
	if env.StdinIsTerminal {
		fmt.Fprintf(env.Stderr, "Remote %s: ", what)
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", err
		}
		s = string(b)
	} else {
		line, err := bufio.NewReader(env.Stdin).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", fmt.Errorf("expected the %s as one line on standard input", what)
		}
		s = strings.TrimRight(line, "\r\n")
	}
	if s == "" {
		return "", fmt.Errorf("empty %s", what)
	}
	return s, nil
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.DateTime)
}

// printConnector writes one connector's settings and state, one per line.
func printConnector(w io.Writer, v connector.View) error {
	creds := map[string]string{"none": "none", "password": "password (stored encrypted)",
		"token": "OAuth 2 token (stored encrypted)"}[v.Auth]
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, row := range [][2]string{
		{"id", strconv.FormatInt(v.ID, 10)}, {"owner", v.Owner}, {"name", v.Name}, {"calendar", v.Calendar},
		{"kind", v.Kind}, {"url", v.URL}, {"username", v.Username}, {"credentials", creds},
		{"direction", v.Direction}, {"conflict policy", v.Policy}, {"interval", v.IntervalS},
		{"enabled", strconv.FormatBool(v.Enabled)}, {"state", v.State}, {"reason", v.Reason},
		{"next run (UTC)", timeOrDash(v.NextRun)}, {"last run (UTC)", timeOrDash(v.LastRun)},
		{"last success (UTC)", timeOrDash(v.LastOK)}, {"cache age", v.CacheAge},
		{"created (UTC)", v.Created.UTC().Format(time.DateTime)},
	} {
		if row[1] == "" {
			continue
		}
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
	}
	return tw.Flush()
}

// printRun writes one run of a connector.
func printRun(w io.Writer, r *store.ConnectorRun) {
	fmt.Fprintf(w, "run %d: %s (took %s)\n", r.ID, r.Status, r.Ended.Sub(r.Started).Round(time.Millisecond))
	fmt.Fprintf(w, "  pulled (changed here): %d created, %d updated, %d deleted\n", r.PulledCreated, r.PulledUpdated, r.PulledDeleted)
	fmt.Fprintf(w, "  pushed (changed there): %d created, %d updated, %d deleted\n", r.PushedCreated, r.PushedUpdated, r.PushedDeleted)
	fmt.Fprintf(w, "  conflicts: %d\n", r.Conflicts)
	if r.RemoteStatus != 0 {
		fmt.Fprintf(w, "  remote status: %d\n", r.RemoteStatus)
	}
	if r.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", r.Error)
	}
}
