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
	"net"
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
	// StderrIsTerminal reports whether progress may be shown on standard
	// error.
	StderrIsTerminal bool
}

// OSEnv returns the process's environment.
func OSEnv() Env {
	return Env{Args: os.Args[1:], Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Getenv: os.Getenv, StdinIsTerminal: term.IsTerminal(int(os.Stdin.Fd())),
		StderrIsTerminal: term.IsTerminal(int(os.Stderr.Fd()))}
}

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
	args := env.Args
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		args = append([]string{"version"}, args[1:]...)
	}
	name, rest, helped, err := walkCommands(env, args)
	if err != nil || helped {
		return err
	}
	// The command's own words are checked; each command takes what
	// follows its first word.
	words := strings.Fields(name)
	cmd, args := words[0], append(slices.Clone(words[1:]), rest...)
	switch cmd {
	case "serve":
		return serve(ctx, env, args)
	case "user":
		if len(args) == 0 {
			return errors.New("user: expected add, passwd, set, del, restore or list")
		}
		return userCommand(ctx, env, args[0], args[1:])
	case "group":
		return groupCommand(ctx, env, args)
	case "trash":
		return trashCommand(ctx, env, args)
	case "calendar":
		return collectionCommand(ctx, env, store.KindCalendar, args)
	case "addressbook":
		return collectionCommand(ctx, env, store.KindAddressBook, args)
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
	case "backup":
		return backupCommand(ctx, env, args)
	case "restore":
		return restoreCommand(ctx, env, args)
	case "bench":
		return bench.Main(ctx, args, env.Stdout, env.Stderr)
	case "check":
		return checkCommand(ctx, env, args)
	case "init":
		return initCommand(ctx, env, args)
	case "migrate":
		cfg, _, err := resolve(env, "migrate", args, nil)
		if err != nil {
			return err
		}
		st, err := openCreating(ctx, env, cfg)
		if err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, "schema is up to date")
		return st.Close()
	case "version":
		return versionCommand(env, args)
	}
	return fmt.Errorf("unknown command %q", cmd)
}

// resolve parses flags for a command and builds its configuration. Asked
// for help (-h, --help), it writes the command's help on standard output
// and returns flag.ErrHelp.
func resolve(env Env, name string, args []string, extra func(*flag.FlagSet)) (config.Config, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// Errors are returned, and help written, here rather than by fs.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	path := fs.String("config", env.Getenv("KOYOMI_CONFIG"), "configuration `file` (TOML)")
	flags := config.RegisterFlags(fs)
	configFlags := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { configFlags[f.Name] = true })
	if extra != nil {
		extra(fs)
	}
	// Flags may follow positional arguments (koyomi user add NAME --data D).
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				// A subcommand given as an argument (user app-password
				// add) has its own help.
				for _, p := range positional {
					if _, ok := lookupCommand(name + " " + p); !ok {
						break
					}
					name += " " + p
				}
				commandHelp(env.Stdout, name, fs, configFlags)
				return config.Config{}, nil, err
			}
			return config.Config{}, nil, fmt.Errorf("%s: %w (see koyomi %s --help)", name, err, name)
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

// storeCopy implements "koyomi store copy". The source must exist, hold
// something and not be in use by a running server (unless --force); the
// destination is created when missing.
func storeCopy(ctx context.Context, env Env, args []string) error {
	var from, to string
	var force bool
	_, pos, err := resolve(env, "store copy", args, func(fs *flag.FlagSet) {
		fs.StringVar(&from, "from", "", "source `store` (sqlite:DIR or postgres://...)")
		fs.StringVar(&to, "to", "", "destination `store`, which must hold no users")
		fs.BoolVar(&force, "force", false, "copy even while a server is running on the source")
	})
	if err != nil {
		return err
	}
	if from == "" || to == "" || len(pos) > 0 {
		return errors.New("store copy: give --from STORE and --to STORE")
	}
	src, err := openNamed(ctx, env, from, "source", nil, true)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	defer src.Close()
	where := describeStore(from)
	held, err := storecopy.Holdings(ctx, src)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	if len(held) == 0 {
		return fmt.Errorf("store copy: the source %s is empty (no users, groups, virtual calendars, connector permissions or trash items); nothing to copy", where)
	}
	if !force {
		if err := refuseServed(ctx, src, where, "copy"); err != nil {
			return fmt.Errorf("store copy: %w", err)
		}
	}
	dst, err := openNamed(ctx, env, to, "destination", nil, false)
	if err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	defer dst.Close()
	p := newProgress(env, "users copied")
	sum, err := storecopy.Options{Progress: p.report}.Copy(ctx, src, dst)
	p.Done()
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
	st, err := openCreating(ctx, env, cfg)
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
		Admins: cfg.Admins.Names(), TrashRetention: cfg.TrashRetention,
		MaxImportSize: cfg.MaxImportSize, MinPasswordLength: cfg.MinPasswordLength})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer holdServing(ctx, st, servingHolder(cfg.Node()), logger)()
	// Connectors run until shutdown; the store closes only after the
	// runner has recorded the run it was in.
	runners, stopRunners := context.WithCancel(ctx)
	runnersDone := make(chan struct{})
	go func() {
		defer close(runnersDone)
		srv.Connectors().Run(runners)
	}()
	purgeDone := make(chan struct{})
	go func() {
		defer close(purgeDone)
		srv.RunTrashPurge(runners)
	}()
	defer func() {
		stopRunners()
		<-runnersDone
		<-purgeDone
	}()
	scheme := "http"
	if cfg.TLS.Cert != "" {
		scheme = "https"
	}
	return srv.ListenAndServe(ctx, cfg.Listen, server.TLS{Cert: cfg.TLS.Cert, Key: cfg.TLS.Key, RedirectHTTP: cfg.RedirectHTTP}, func(a net.Addr) {
		where := describeStore(storeURL(cfg))
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
	var yes bool
	cfg, pos, err := resolve(env, "user "+sub, args, func(fs *flag.FlagSet) {
		if sub == "add" || sub == "set" {
			fs.Func("email", "the user's e-mail `address` (\"\" removes it)", func(s string) error { email = &s; return nil })
		}
		if sub == "del" {
			fs.BoolVar(&yes, "yes", false, "delete without asking (needed when standard input is not a terminal)")
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
	svc, st, err := openService(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
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
			var inTrash *domain.UserInTrashError
			if errors.Is(err, domain.ErrExists) && !errors.As(err, &inTrash) {
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
		if err := needUser(ctx, svc, name); err != nil {
			return err
		}
		if err := confirmUserDelete(env, name, yes); err != nil {
			return err
		}
		if err := svc.DeleteUser(ctx, name); err != nil {
			if errors.Is(err, domain.ErrNotFound) {
				return fmt.Errorf("no user %s", name)
			}
			return err
		}
		fmt.Fprintf(env.Stdout, "user %s moved to the trash (koyomi user restore %s brings them back)\n", name, name)
	case "restore":
		name, err := needName()
		if err != nil {
			return err
		}
		notes, err := svc.RestoreUser(ctx, name)
		if err != nil {
			if errors.Is(err, domain.ErrNotFound) {
				return fmt.Errorf("no user %s in the trash", name)
			}
			return err
		}
		fmt.Fprintf(env.Stdout, "user %s restored\n", name)
		for _, n := range notes {
			fmt.Fprintln(env.Stderr, "not restored:", n)
		}
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
		return fmt.Errorf("user: unknown subcommand %q (add, passwd, set, del, restore, list, app-password)", sub)
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

// openService opens the configured store, which must exist, and the
// domain service over it; the caller closes the store.
func openService(ctx context.Context, env Env, cfg config.Config) (*domain.Service, store.Store, error) {
	st, err := openExisting(ctx, env, cfg)
	if err != nil {
		return nil, nil, err
	}
	return domain.New(st, domain.Options{MaxResourceSize: cfg.MaxResourceSize, MinPasswordLength: cfg.MinPasswordLength, TrashRetention: cfg.TrashRetention,
		MaxImportSize: cfg.MaxImportSize}), st, nil
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
	output                                        string
}

func vcCommand(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 {
		return errors.New("vc: expected add, set, list, show, del, preview or export")
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
		case "export":
			fs.StringVar(&f.output, "o", "", "write to `file` instead of standard output")
		case "preview":
			fs.StringVar(&f.as, "as", "", "the `viewer` to preview as (default: the owner)")
			fs.StringVar(&f.start, "start", "", "first `date` (YYYY-MM-DD; default: this week's Monday)")
			fs.StringVar(&f.end, "end", "", "last `date` (YYYY-MM-DD; default: a week after start)")
		}
	})
	if err != nil {
		return err
	}
	wantArgs := map[string]int{"add": 2, "set": 2, "list": 1, "show": 2, "del": 2, "preview": 2, "export": 2}
	n, ok := wantArgs[sub]
	if !ok {
		return fmt.Errorf("vc: unknown subcommand %q (add, set, list, show, del, preview, export)", sub)
	}
	if len(pos) != n {
		if n == 1 {
			return fmt.Errorf("vc %s: expected OWNER", sub)
		}
		return fmt.Errorf("vc %s: expected OWNER NAME", sub)
	}
	svc, st, err := openService(ctx, env, cfg)
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
	case "export":
		target, err := svc.OwnVCTarget(ctx, owner, pos[1])
		if err != nil {
			return notFound(err)
		}
		return exportTo(env, f.output, func(w io.Writer) error { return target.Export(ctx, w) })
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
