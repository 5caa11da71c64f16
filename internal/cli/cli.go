// Package cli implements the koyomi command: serve and the administrative
// subcommands. It parses arguments, resolves configuration and calls the
// server and domain packages; it holds no rules of its own.
package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"koyomi.dev/koyomi/internal/auth"
	"koyomi.dev/koyomi/internal/bench"
	"koyomi.dev/koyomi/internal/caldav"
	"koyomi.dev/koyomi/internal/config"
	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/secret"
	"koyomi.dev/koyomi/internal/server"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/postgres"
	"koyomi.dev/koyomi/internal/store/sqlite"
	"koyomi.dev/koyomi/internal/storecopy"
)

// Env is what a command may touch of the outside world.
type Env struct {
	Args   []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// StdinIsTerminal reports whether passwords should be prompted for.
	StdinIsTerminal bool
}

// OSEnv returns the process's environment.
func OSEnv() Env {
	return Env{Args: os.Args[1:], Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Getenv: os.Getenv, StdinIsTerminal: term.IsTerminal(int(os.Stdin.Fd()))}
}

const usage = `Usage: koyomi <command> [flags]

Commands:
  serve                  run the CalDAV server
  user add NAME [--email ADDR] [--display TEXT] [--phone NUMBER]
                         create a user (password from stdin, or prompted)
  user passwd NAME       change a user's password
  user set NAME [--display TEXT] [--email ADDR] [--phone NUMBER]
                         change the name a user is shown by, their e-mail
                         address, or the phone number on their card in the
                         directory address book
  user del NAME          delete a user and all their data
  user list              list users
  user app-password add USER LABEL
                         create a password for one device (shown once)
  user app-password list USER
                         list a user's app passwords
  user app-password revoke USER ID
                         revoke an app password at once
  group add NAME [--display TEXT] [--keep-past] [--admin USER ...]
                         create a group and its group calendar; with
                         --keep-past, members who leave keep read access to
                         what ended before they left; --admin names members
                         who administer it
  group set NAME [--display TEXT] [--keep-past=true|false]
                         change a group's display name or leaving policy
  group del NAME         delete a group and its calendar
  group list             list groups, their members and administrators
  group member add GROUP USER [--admin] [--contribute CAL:LEVEL ...]
                         add a member, contributing their calendars at a
                         level (full, summary, busy, hidden)
  group member set GROUP USER [--admin=true|false] [--contribute CAL:LEVEL ...]
                         make a member an administrator or no longer one,
                         or replace what they contribute (--contribute ""
                         for nothing)
  group member del GROUP USER
                         record that a member left
  group member list GROUP
                         list members, past ones included
  share add OWNER COLLECTION GRANTEE [--level LEVEL]
                         share a calendar or address book with user:NAME,
                         group:NAME or '*' (every signed-in user) at a
                         level (free-busy, read, read-write, admin;
                         default read), as its owner would
  share del OWNER COLLECTION GRANTEE
                         take a share back
  share list OWNER COLLECTION
                         list who a collection is shared with
  share mine USER        list what others share with USER, as USER sees it
  delegate add OWNER DELEGATE --write|--read
                         let DELEGATE read (and with --write, change) all of
                         OWNER's calendars, which appear in DELEGATE's home
  delegate list OWNER    list OWNER's delegates
  delegate del OWNER DELEGATE
                         take DELEGATE's access to OWNER's calendars away
  link add OWNER CALENDAR | link add OWNER --vc NAME
                         publish a calendar, or a virtual calendar as it
                         shows to nobody in particular, at a secret URL that
                         reads it without signing in (/public/TOKEN.ics)
  link list OWNER        list the public links of OWNER's calendars and views
  link del TOKEN         revoke a public link at once
  vc add OWNER NAME --definition JSON|--file FILE [--share user:X|group:G ...]
         [--write-target CAL [--writer user:X|group:G ...]] [--display TEXT]
         [--color #RRGGBB]
                         define a virtual calendar (see
                         docs/virtual-calendars.md)
  vc set OWNER NAME [--definition JSON|--file FILE] [--share ...] [...]
                         change a virtual calendar: each flag given
                         replaces that part, the rest stays
  vc list OWNER          list a user's virtual calendars
  vc show OWNER NAME     print a virtual calendar's specification as JSON
  vc del OWNER NAME      delete a virtual calendar
  vc preview OWNER NAME [--as VIEWER] [--start DATE --end DATE]
                         print the iCalendar objects VIEWER sees in it
  connector add USER --name N --calendar CAL --url URL [--kind caldav|ics]
         [--username U] [--password-stdin|--token-stdin]
         [--direction two-way|push|pull] [--policy remote|local|recent]
         [--interval 15m]
                         sync one of USER's calendars with a remote CalDAV
                         calendar or ICS feed (the secret is read from
                         standard input)
  connector set ID [same flags]
                         change a connector: only the flags given
  connector list [USER]  list connectors and their state
  connector show ID      show one connector's settings and state
  connector del ID       delete a connector (both calendars keep their events)
  connector start ID | stop ID
                         resume or pause a connector
  connector sync ID      run a connector now and print the run
  connector history ID [--limit N]
                         list its runs, newest first
  connector conflicts ID print the versions that lost conflicts
  connector discover URL [--username U] [--password-stdin|--token-stdin]
                         list the calendars a CalDAV server offers
  connector allow|forbid|unset SUBJECT
                         allow or forbid connectors for user:NAME,
                         group:NAME or '*', or remove that rule
  connector permissions  list the rules
  migrate                bring the store's schema up to date and exit
  check                  verify the store's integrity (change log, index,
                         ETags); exit status 1 when a problem is found
  bench --url URL ...    measure a CalDAV/CardDAV server, verifying every
                         answer (see internal/bench/README.md)
  store copy --from STORE --to STORE
                         copy a whole installation into an empty store and
                         verify it (STORE: sqlite:DIR or postgres://...)

Every command takes --data DIR (or KOYOMI_DATA), --store URL (or
KOYOMI_STORE; empty means SQLite in the data directory) and --config FILE
(or KOYOMI_CONFIG); run "koyomi serve -h" for all settings.
`

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, env Env) int {
	if err := run(ctx, env); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(env.Stderr, "koyomi:", err)
		return 1
	}
	return 0
}

func run(ctx context.Context, env Env) error {
	if len(env.Args) == 0 {
		fmt.Fprint(env.Stderr, usage)
		return errors.New("no command given")
	}
	cmd, args := env.Args[0], env.Args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, env, args)
	case "user":
		if len(args) == 0 {
			return errors.New("user: expected add, passwd, set, del or list")
		}
		return userCommand(ctx, env, args[0], args[1:])
	case "group":
		return groupCommand(ctx, env, args)
	case "vc":
		return vcCommand(ctx, env, args)
	case "share":
		return shareCommand(ctx, env, args)
	case "connector":
		return connectorCommand(ctx, env, args)
	case "delegate":
		return delegateCommand(ctx, env, args)
	case "link":
		return linkCommand(ctx, env, args)
	case "store":
		if len(args) == 0 || args[0] != "copy" {
			return errors.New("store: expected copy")
		}
		return storeCopy(ctx, env, args[1:])
	case "bench":
		return bench.Main(ctx, args, env.Stdout, env.Stderr)
	case "check":
		return checkCommand(ctx, env, args)
	case "migrate":
		cfg, _, err := resolve(env, "migrate", args, nil)
		if err != nil {
			return err
		}
		st, err := openStore(ctx, cfg, nil)
		if err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, "schema is up to date")
		return st.Close()
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, usage)
		return nil
	}
	fmt.Fprint(env.Stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// resolve parses flags for a command and builds its configuration.
func resolve(env Env, name string, args []string, extra func(*flag.FlagSet)) (config.Config, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	path := fs.String("config", env.Getenv("KOYOMI_CONFIG"), "configuration `file` (TOML)")
	flags := config.RegisterFlags(fs)
	if extra != nil {
		extra(fs)
	}
	// Flags may follow positional arguments (koyomi user add NAME --data D).
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return config.Config{}, nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	cfg, err := config.Resolve(*path, env.Getenv, flags)
	return cfg, positional, err
}

func openStore(ctx context.Context, cfg config.Config, logger *slog.Logger) (store.Store, error) {
	if cfg.Store != "" {
		return openURL(ctx, cfg.Store, logger)
	}
	return sqlite.Open(ctx, cfg.Data, sqlite.Options{Logger: logger})
}

// openURL opens a store named by a URL: postgres://... (or postgresql://)
// for PostgreSQL, sqlite:DIR for the embedded store in DIR.
func openURL(ctx context.Context, u string, logger *slog.Logger) (store.Store, error) {
	switch {
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		return postgres.Open(ctx, u, postgres.Options{Logger: logger})
	case strings.HasPrefix(u, "sqlite:"):
		dir := strings.TrimPrefix(strings.TrimPrefix(u, "sqlite:"), "//")
		if dir == "" {
			return nil, errors.New("sqlite: store URL needs a directory, e.g. sqlite:./koyomi-data")
		}
		return sqlite.Open(ctx, dir, sqlite.Options{Logger: logger})
	}
	return nil, fmt.Errorf("unknown store %q: use postgres://... or sqlite:DIR", u)
}

// redactStore hides a password in a store URL for logs.
func redactStore(u string) string {
	if p, err := url.Parse(u); err == nil && p.User != nil {
		if _, has := p.User.Password(); has {
			p.User = url.UserPassword(p.User.Username(), "xxxxx")
		}
		return p.String()
	}
	return u
}

// storeCopy implements "koyomi store copy".
func storeCopy(ctx context.Context, env Env, args []string) error {
	fs := flag.NewFlagSet("store copy", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	from := fs.String("from", "", "source `store` (sqlite:DIR or postgres://...)")
	to := fs.String("to", "", "destination `store`, which must hold no users")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *from == "" || *to == "" || fs.NArg() > 0 {
		return errors.New("store copy: give --from STORE and --to STORE")
	}
	src, err := openURL(ctx, *from, nil)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	defer src.Close()
	dst, err := openURL(ctx, *to, nil)
	if err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	defer dst.Close()
	sum, err := storecopy.Copy(ctx, src, dst)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "copied and verified: %v\n", sum)
	return nil
}

func serve(ctx context.Context, env Env, args []string) error {
	cfg, rest, err := resolve(env, "serve", args, nil)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("serve: unexpected argument %q", rest[0])
	}
	logger := cfg.NewLogger(env.Stderr)
	st, err := openStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	ttl := cfg.AuthCacheTTL
	if ttl == 0 {
		ttl = -1 // zero in the configuration means no cache
	}
	trusted, err := cfg.TrustedProxies.Prefixes()
	if err != nil {
		return fmt.Errorf("trusted_proxies: %w", err)
	}
	metricsAllow, err := cfg.MetricsAllow.Prefixes()
	if err != nil {
		return fmt.Errorf("metrics_allow: %w", err)
	}
	key, err := secret.LoadKey(cfg.SecretKeyPath(), true)
	if err != nil {
		return fmt.Errorf("secret_key_file: %w", err)
	}
	srv, err := server.New(st, server.Options{Logger: logger, Realm: cfg.Realm,
		MaxResourceSize: cfg.MaxResourceSize, AuthCacheTTL: ttl, TrustedProxies: trusted, MetricsAllow: metricsAllow,
		LoginLimits: auth.LimitOptions{UserFailures: cfg.LoginMaxFailures, IPFailures: cfg.LoginMaxFailuresPerIP,
			Window: cfg.LoginWindow, MaxBackoff: cfg.LoginMaxBackoff},
		MaxConcurrentPerUser: cfg.MaxConcurrentPerUser,
		XMLLimits:            dav.XMLLimits{Depth: cfg.MaxXMLDepth, Elements: cfg.MaxXMLElements},
		CalDAVLimits:         caldav.Limits{ReportInstances: cfg.MaxReportInstances, QueryResults: cfg.MaxQueryResults},
		SecretKey:            key, ConnectorsDefaultAllowed: cfg.ConnectorsAllowed(), NodeName: cfg.Node(),
		Admins: cfg.Admins.Names()})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Connectors run until shutdown; the store closes only after the
	// runner has recorded the run it was in.
	runners, stopRunners := context.WithCancel(ctx)
	runnersDone := make(chan struct{})
	go func() {
		defer close(runnersDone)
		srv.Connectors().Run(runners)
	}()
	defer func() {
		stopRunners()
		<-runnersDone
	}()
	scheme := "http"
	if cfg.TLS.Cert != "" {
		scheme = "https"
	}
	return srv.ListenAndServe(ctx, cfg.Listen, server.TLS{Cert: cfg.TLS.Cert, Key: cfg.TLS.Key, RedirectHTTP: cfg.RedirectHTTP}, func(a net.Addr) {
		where := "sqlite:" + cfg.Data
		if cfg.Store != "" {
			where = redactStore(cfg.Store)
		}
		logger.Info("koyomi is serving", "addr", scheme+"://"+a.String()+"/", "store", where)
		if users, err := srv.Service().Users(ctx); err == nil && len(users) == 0 {
			logger.Warn("no users yet: create one with `koyomi user add NAME`", "store", where)
		}
	})
}

// setProfile changes what of a user's profile was given: the display name
// unless empty, the e-mail address and the phone number unless nil.
func setProfile(ctx context.Context, env Env, svc *domain.Service, name, display string, email, phone *string) error {
	if display != "" {
		if err := svc.SetDisplayName(ctx, name, display); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "display name of %s is now %s\n", name, display)
	}
	if email != nil {
		if err := svc.SetEmail(ctx, name, *email); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "e-mail address of %s is now %q\n", name, *email)
	}
	if phone != nil {
		if err := svc.SetPhone(ctx, name, *phone); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "phone number of %s is now %q\n", name, *phone)
	}
	return nil
}

func userCommand(ctx context.Context, env Env, sub string, args []string) error {
	var display string
	var email, phone *string // nil: not given; "" removes it
	cfg, pos, err := resolve(env, "user "+sub, args, func(fs *flag.FlagSet) {
		if sub == "add" || sub == "set" {
			fs.Func("email", "the user's e-mail `address` (\"\" removes it)", func(s string) error { email = &s; return nil })
		}
		if sub == "add" || sub == "set" {
			fs.StringVar(&display, "display", "", "the `name` the user is shown by (in labels of their busy time)")
			fs.Func("phone", "the telephone `number` on the user's card in the directory address book (\"\" removes it)",
				func(s string) error { phone = &s; return nil })
		}
	})
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := domain.New(st, domain.Options{MaxResourceSize: cfg.MaxResourceSize})
	needName := func() (string, error) {
		if len(pos) != 1 {
			return "", fmt.Errorf("user %s: expected exactly one user name", sub)
		}
		return pos[0], nil
	}
	switch sub {
	case "add":
		name, err := needName()
		if err != nil {
			return err
		}
		pw, err := readPassword(env, name)
		if err != nil {
			return err
		}
		addr := ""
		if email != nil {
			addr = *email
		}
		if err := svc.CreateUser(ctx, name, pw, addr); err != nil {
			if errors.Is(err, domain.ErrExists) {
				return fmt.Errorf("user %s already exists", name)
			}
			return err
		}
		if display != "" {
			if err := svc.SetDisplayName(ctx, name, display); err != nil {
				return err
			}
		}
		if phone != nil {
			if err := svc.SetPhone(ctx, name, *phone); err != nil {
				return err
			}
		}
		fmt.Fprintf(env.Stdout, "user %s created\n", name)
	case "set":
		name, err := needName()
		if err != nil {
			return err
		}
		if display == "" && email == nil && phone == nil {
			return errors.New("user set: nothing to change (use --display TEXT, --email ADDR or --phone NUMBER)")
		}
		if err := setProfile(ctx, env, svc, name, display, email, phone); err != nil {
			if errors.Is(err, domain.ErrNotFound) {
				return fmt.Errorf("no user %s", name)
			}
			return err
		}
	case "passwd":
		name, err := needName()
		if err != nil {
			return err
		}
		pw, err := readPassword(env, name)
		if err != nil {
			return err
		}
		if err := svc.SetPassword(ctx, name, pw); err != nil {
			if errors.Is(err, domain.ErrNotFound) {
				return fmt.Errorf("no user %s", name)
			}
			return err
		}
		fmt.Fprintf(env.Stdout, "password of %s changed\n", name)
	case "del":
		name, err := needName()
		if err != nil {
			return err
		}
		if err := svc.DeleteUser(ctx, name); err != nil {
			if errors.Is(err, domain.ErrNotFound) {
				return fmt.Errorf("no user %s", name)
			}
			return err
		}
		fmt.Fprintf(env.Stdout, "user %s deleted\n", name)
	case "app-password":
		return appPasswordCommand(ctx, env, svc, pos)
	case "list":
		users, err := svc.Users(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tEMAIL\tCREATED\tDISPLAY")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, u.Email, u.Created.Format("2006-01-02"), u.DisplayName)
		}
		return tw.Flush()
	default:
		return fmt.Errorf("user: unknown subcommand %q (add, passwd, set, del, list, app-password)", sub)
	}
	return nil
}

// readPassword reads one line from stdin, or prompts twice on a terminal.
func readPassword(env Env, user string) (string, error) {
	if !env.StdinIsTerminal {
		line, err := bufio.NewReader(env.Stdin).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", errors.New("expected the password as one line on standard input")
		}
		pw := strings.TrimRight(line, "\r\n")
		if pw == "" {
			return "", errors.New("empty password")
		}
		return pw, nil
	}
	fd := int(os.Stdin.Fd())
	fmt.Fprintf(env.Stderr, "Password for %s: ", user)
	first, err := term.ReadPassword(fd)
	fmt.Fprintln(env.Stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(env.Stderr, "Repeat password: ")
	second, err := term.ReadPassword(fd)
	fmt.Fprintln(env.Stderr)
	if err != nil {
		return "", err
	}
	if string(first) != string(second) {
		return "", errors.New("passwords do not match")
	}
	if len(first) == 0 {
		return "", errors.New("empty password")
	}
	return string(first), nil
}

// openService opens the configured store and the domain service over it;
// the caller closes the store.
func openService(ctx context.Context, cfg config.Config) (*domain.Service, store.Store, error) {
	st, err := openStore(ctx, cfg, nil)
	if err != nil {
		return nil, nil, err
	}
	return domain.New(st, domain.Options{MaxResourceSize: cfg.MaxResourceSize}), st, nil
}

// listFlag is a flag that may be given several times.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// ensureCalendarHome gives an existing user the default calendar they
// would get at their first login, so that a definition or contribution
// naming it works before they ever connected.
func ensureCalendarHome(ctx context.Context, svc *domain.Service, user string) error {
	if err := needUser(ctx, svc, user); err != nil {
		return err
	}
	return svc.EnsureHome(ctx, user, store.KindCalendar)
}

// vcFlags are the flags of "koyomi vc".
type vcFlags struct {
	definition, file, writeTarget, display, color string
	share, writers                                listFlag
	as, start, end                                string
}

func vcCommand(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 {
		return errors.New("vc: expected add, set, list, show, del or preview")
	}
	sub, args := args[0], args[1:]
	var f vcFlags
	cfg, pos, err := resolve(env, "vc "+sub, args, func(fs *flag.FlagSet) {
		switch sub {
		case "add", "set":
			fs.StringVar(&f.definition, "definition", "", "the definition as `JSON`")
			fs.StringVar(&f.file, "file", "", "read the definition from `FILE` (- for standard input)")
			fs.Var(&f.share, "share", "share with `user:NAME` or group:NAME; repeatable")
			fs.StringVar(&f.writeTarget, "write-target", "", "the owner's `calendar` that events added to the view land in")
			fs.Var(&f.writers, "writer", "who may write through the view (`user:NAME` or group:NAME; repeatable; default: everyone it is shared with)")
			fs.StringVar(&f.display, "display", "", "display `name`")
			fs.StringVar(&f.color, "color", "", "`colour` (#RRGGBB)")
		case "preview":
			fs.StringVar(&f.as, "as", "", "the `viewer` to preview as (default: the owner)")
			fs.StringVar(&f.start, "start", "", "first `date` (YYYY-MM-DD; default: this week's Monday)")
			fs.StringVar(&f.end, "end", "", "last `date` (YYYY-MM-DD; default: a week after start)")
		}
	})
	if err != nil {
		return err
	}
	wantArgs := map[string]int{"add": 2, "set": 2, "list": 1, "show": 2, "del": 2, "preview": 2}
	n, ok := wantArgs[sub]
	if !ok {
		return fmt.Errorf("vc: unknown subcommand %q (add, set, list, show, del, preview)", sub)
	}
	if len(pos) != n {
		if n == 1 {
			return fmt.Errorf("vc %s: expected OWNER", sub)
		}
		return fmt.Errorf("vc %s: expected OWNER NAME", sub)
	}
	svc, st, err := openService(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	owner := pos[0]
	notFound := func(err error) error {
		if errors.Is(err, domain.ErrNotFound) && len(pos) == 2 {
			if _, _, lookErr := svc.VC(ctx, owner, pos[1]); errors.Is(lookErr, domain.ErrNotFound) {
				return fmt.Errorf("no virtual calendar %s/%s", owner, pos[1])
			}
		}
		return err
	}
	switch sub {
	case "add":
		return vcAdd(ctx, env, svc, owner, pos[1], f)
	case "set":
		return vcSet(ctx, env, svc, owner, pos[1], f)
	case "list":
		vcs, err := svc.OwnedVCs(ctx, owner)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tDISPLAY\tVERSION\tSHARED WITH")
		for _, vc := range vcs {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\n", vc.ID, vc.Name, vc.DisplayName, vc.Version, strings.Join(vc.SharedWith, ","))
		}
		return tw.Flush()
	case "show":
		_, spec, err := svc.VC(ctx, owner, pos[1])
		if err != nil {
			return notFound(err)
		}
		out, err := json.MarshalIndent(spec, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s\n", out)
	case "del":
		if err := svc.DeleteVC(ctx, owner, pos[1]); err != nil {
			return notFound(err)
		}
		fmt.Fprintf(env.Stdout, "virtual calendar %s/%s deleted\n", owner, pos[1])
	case "preview":
		tr, err := domain.PreviewRange(f.start, f.end, svc.Now())
		if err != nil {
			return err
		}
		viewer := f.as
		if viewer == "" {
			viewer = owner
		}
		objs, err := svc.PreviewVC(ctx, owner, pos[1], viewer, tr)
		if err != nil {
			return notFound(err)
		}
		// The count goes to standard error so that standard output is
		// iCalendar alone, ready for a file or another tool.
		fmt.Fprintf(env.Stderr, "%d objects visible to %s from %s to %s\n", len(objs), viewer,
			tr.Start.Format(time.DateOnly), tr.End.AddDate(0, 0, -1).Format(time.DateOnly))
		for _, o := range objs {
			if _, err := env.Stdout.Write(o.Data); err != nil {
				return err
			}
		}
	}
	return nil
}

// readDefinition reads the definition given by --definition or --file;
// nil when neither is.
func readDefinition(env Env, f vcFlags) (*domain.VCNode, error) {
	var src io.Reader
	switch {
	case f.definition != "" && f.file != "":
		return nil, errors.New("give --definition or --file, not both")
	case f.definition != "":
		src = strings.NewReader(f.definition)
	case f.file == "-":
		src = env.Stdin
	case f.file != "":
		fh, err := os.Open(f.file)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		src = fh
	default:
		return nil, nil
	}
	var node domain.VCNode
	dec := json.NewDecoder(src)
	// A misspelt key would otherwise drop a rule without a word.
	dec.DisallowUnknownFields()
	if err := dec.Decode(&node); err != nil {
		return nil, fmt.Errorf("definition: %w", err)
	}
	return &node, nil
}

// vcAdd implements "koyomi vc add".
func vcAdd(ctx context.Context, env Env, svc *domain.Service, owner, name string, f vcFlags) error {
	node, err := readDefinition(env, f)
	if err != nil {
		return fmt.Errorf("vc add: %w", err)
	}
	if node == nil {
		return errors.New("vc add: give the definition with --definition JSON or --file FILE")
	}
	if !strings.HasPrefix(owner, "group:") {
		if err := ensureCalendarHome(ctx, svc, owner); err != nil {
			return err
		}
	}
	vc, err := svc.CreateVC(ctx, owner, domain.VCSpec{Name: name, DisplayName: f.display, Color: f.color,
		Definition: *node, SharedWith: f.share, WriteTarget: f.writeTarget, Writers: f.writers})
	if err != nil {
		if errors.Is(err, domain.ErrExists) {
			return fmt.Errorf("%s already has a virtual calendar %s (change it with vc set)", owner, name)
		}
		return err
	}
	fmt.Fprintf(env.Stdout, "virtual calendar %s/%s created: it appears as vc-%d in the calendar list of %s", owner, name, vc.ID, owner)
	if len(f.share) > 0 {
		fmt.Fprintf(env.Stdout, " and of everyone it is shared with (%s)", strings.Join(f.share, ", "))
	}
	fmt.Fprintln(env.Stdout)
	return nil
}

// vcSet implements "koyomi vc set": what a flag gives replaces that part
// of the specification (--share replaces the whole list, --share "" clears
// it); the rest stays. The calendar keeps its id, so viewers' clients keep
// it and resynchronise.
func vcSet(ctx context.Context, env Env, svc *domain.Service, owner, name string, f vcFlags) error {
	node, err := readDefinition(env, f)
	if err != nil {
		return fmt.Errorf("vc set: %w", err)
	}
	_, spec, err := svc.VC(ctx, owner, name)
	if err != nil {
		if errors.Is(err, domain.ErrNotFound) {
			return fmt.Errorf("no virtual calendar %s/%s", owner, name)
		}
		return err
	}
	if node != nil {
		spec.Definition = *node
	}
	if f.share != nil {
		spec.SharedWith = slices.DeleteFunc(slices.Clone([]string(f.share)), func(s string) bool { return s == "" })
	}
	if f.writers != nil {
		spec.Writers = slices.DeleteFunc(slices.Clone([]string(f.writers)), func(s string) bool { return s == "" })
	}
	for _, v := range []struct{ flag, dst *string }{{&f.writeTarget, &spec.WriteTarget}, {&f.display, &spec.DisplayName}, {&f.color, &spec.Color}} {
		if *v.flag != "" {
			*v.dst = *v.flag
		}
	}
	vc, err := svc.UpdateVC(ctx, owner, name, spec)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "virtual calendar %s/%s is now version %d\n", owner, name, vc.Version)
	return nil
}
