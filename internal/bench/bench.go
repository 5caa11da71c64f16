// Package bench is Koyomi's load tool: it fills a calendar and an address
// book on any CalDAV/CardDAV server with reproducible generated data whose
// right answers it knows, then measures phases of typical requests (queries,
// expansions, multigets, sync, GET/PUT, free-busy, a mixed load) and checks
// every answer. It speaks only HTTP to the server it measures and must not
// know Koyomi's internals, so that Koyomi, Radicale and Xandikos are
// measured by the same yardstick.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Config is one run of the tool.
type Config struct {
	URL            string // server root or a collection home; used to derive the collection URLs for Koyomi
	User, Password string
	CalendarURL    string // full URL of the calendar to fill (derived from URL and User when empty)
	AddressBookURL string // full URL of the address book to fill
	Create         bool   // MKCALENDAR / extended MKCOL the collections first
	Preseeded      bool   // the collections already hold the data: check it instead of PUTting it

	// ExportCalendar and ExportAddressBook, when set, are directories to
	// write the data set into (see Export) instead of running.
	ExportCalendar, ExportAddressBook string

	Events, Contacts int
	RandSeed         uint64

	Duration         time.Duration // per phase, unless Requests is set
	Requests         int           // per phase (and per concurrency level of mixed)
	Concurrency      []int         // levels of the mixed phase
	PhaseConcurrency int           // workers of the other phases (sync-incremental always uses one)
	Phases           []string

	PID   int  // server process whose RSS is sampled, 0 for none
	JSON  bool // print the report as JSON instead of a table
	Floor bool // also run the phases against a handler replaying recorded answers
}

// Validate reports a configuration the tool cannot run with.
func (c *Config) Validate() error {
	var errs []error
	exporting := c.ExportCalendar != "" || c.ExportAddressBook != ""
	if exporting && (c.Create || c.Preseeded || c.Floor) {
		errs = append(errs, errors.New("--export-calendar and --export-addressbook only write files: --create, --preseeded and --floor need a server run"))
	}
	if c.Create && c.Preseeded {
		errs = append(errs, errors.New("--create and --preseeded exclude each other: a preseeded collection exists already"))
	}
	if !exporting && (c.CalendarURL == "" || c.AddressBookURL == "") {
		if c.URL == "" || c.User == "" {
			errs = append(errs, errors.New("--url and --user are needed to derive the collection URLs (or give --calendar-url and --addressbook-url)"))
		}
	}
	if c.Events < 1 {
		errs = append(errs, errors.New("--seed must be at least 1 event"))
	}
	if c.Contacts < 0 {
		errs = append(errs, errors.New("--contacts must not be negative"))
	}
	if c.Requests <= 0 && c.Duration <= 0 {
		errs = append(errs, errors.New("--duration or --requests must be positive"))
	}
	if len(c.Concurrency) == 0 || slices.ContainsFunc(c.Concurrency, func(n int) bool { return n < 1 }) {
		errs = append(errs, errors.New("--concurrency must list positive numbers, e.g. 1,8,32"))
	}
	if c.PhaseConcurrency < 1 {
		errs = append(errs, errors.New("--phase-concurrency must be at least 1"))
	}
	for _, p := range c.Phases {
		if !slices.Contains(PhaseNames, p) {
			errs = append(errs, fmt.Errorf("unknown phase %q (known: %s)", p, strings.Join(PhaseNames, ",")))
		}
	}
	return errors.Join(errs...)
}

// collectionURLs returns the calendar and address book URLs, deriving them
// for Koyomi's layout (/dav/calendars/USER/bench/ and
// /dav/addressbooks/USER/bench-contacts/) when not given.
func (c *Config) collectionURLs() (cal, ab *url.URL, err error) {
	derive := func(given, kind, name string) (*url.URL, error) {
		if given == "" {
			base, err := url.Parse(c.URL)
			if err != nil {
				return nil, fmt.Errorf("bench: --url: %w", err)
			}
			root := base.Path
			if i := strings.Index(root, "/dav/"); i >= 0 {
				root = root[:i]
			}
			base.Path = strings.TrimSuffix(root, "/") + "/dav/" + kind + "/" + c.User + "/" + name + "/"
			return base, nil
		}
		u, err := url.Parse(given)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		u.Path = collectionPath(u.Path)
		return u, nil
	}
	if cal, err = derive(c.CalendarURL, "calendars", "bench"); err != nil {
		return nil, nil, err
	}
	if ab, err = derive(c.AddressBookURL, "addressbooks", "bench-contacts"); err != nil {
		return nil, nil, err
	}
	if cal.Scheme == "" || cal.Host == "" || cal.Scheme != ab.Scheme || cal.Host != ab.Host {
		return nil, nil, fmt.Errorf("bench: the calendar (%s) and address book (%s) must be absolute URLs on one server", cal, ab)
	}
	return cal, ab, nil
}

// parseFlags reads the command line into a Config.
func parseFlags(args []string, stderr io.Writer) (*Config, error) {
	cfg := &Config{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8008/", "server root or collection home (Koyomi layout)")
	fs.StringVar(&cfg.User, "user", "", "user name")
	fs.StringVar(&cfg.Password, "password", "", "password")
	fs.StringVar(&cfg.CalendarURL, "calendar-url", "", "full calendar URL (default: derived for Koyomi from --url and --user)")
	fs.StringVar(&cfg.AddressBookURL, "addressbook-url", "", "full address book URL (default: derived for Koyomi)")
	fs.BoolVar(&cfg.Create, "create", false, "create the calendar and address book first (existing ones are fine)")
	fs.BoolVar(&cfg.Preseeded, "preseeded", false, "the collections already hold the generated data (see --export-calendar): check every object instead of PUTting")
	fs.StringVar(&cfg.ExportCalendar, "export-calendar", "", "write the events as NAME.ics files into this directory and exit")
	fs.StringVar(&cfg.ExportAddressBook, "export-addressbook", "", "write the contacts as NAME.vcf files into this directory and exit")
	fs.IntVar(&cfg.Events, "seed", 1000, "number of events to generate")
	fs.IntVar(&cfg.Contacts, "contacts", 200, "number of contacts to generate")
	fs.Uint64Var(&cfg.RandSeed, "rand-seed", 1, "random seed: the same seed gives the same data and requests")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "length of each phase")
	fs.IntVar(&cfg.Requests, "requests", 0, "requests per phase instead of --duration")
	conc := fs.String("concurrency", "1,8,32", "concurrency levels of the mixed phase")
	fs.IntVar(&cfg.PhaseConcurrency, "phase-concurrency", 1, "workers of every other phase")
	phases := fs.String("phases", strings.Join(PhaseNames, ","), "phases to run")
	fs.IntVar(&cfg.PID, "pid", 0, "server process id whose RSS (/proc/PID/status) is sampled")
	fs.BoolVar(&cfg.JSON, "json", false, "print the report as JSON")
	fs.BoolVar(&cfg.Floor, "floor", false, "also run the phases against a handler that replays recorded answers")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("bench: unexpected arguments %q", fs.Args())
	}
	for _, f := range strings.Split(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("bench: --concurrency: %w", err)
		}
		cfg.Concurrency = append(cfg.Concurrency, n)
	}
	for _, p := range strings.Split(*phases, ",") {
		if p = strings.TrimSpace(p); p != "" {
			cfg.Phases = append(cfg.Phases, p)
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return cfg, nil
}

// Main is the `koyomi bench` command: it parses args, runs, prints the
// report to stdout and progress to stderr, and fails when any request
// failed or any answer was wrong.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if cfg.ExportCalendar != "" || cfg.ExportAddressBook != "" {
		return Export(cfg, stderr)
	}
	rep, err := Run(ctx, cfg, stderr)
	if rep == nil || len(rep.Results) == 0 {
		return err
	}
	// An interrupted run still prints what it measured.
	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	} else {
		WriteTable(stdout, rep)
	}
	if err != nil {
		return err
	}
	if errs, wrong := rep.Failures(); errs+wrong > 0 {
		return fmt.Errorf("bench: %d failed requests and %d wrong answers", errs, wrong)
	}
	return nil
}

// Run seeds the target (or, with cfg.Preseeded, checks what it holds), runs
// the phases and, with cfg.Floor, runs them again against the replay
// handler. Progress goes to log.
func Run(ctx context.Context, cfg *Config, log io.Writer) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	calURL, abURL, err := cfg.collectionURLs()
	if err != nil {
		return nil, err
	}
	ds, err := generate(cfg.RandSeed, cfg.Events, cfg.Contacts)
	if err != nil {
		return nil, err
	}
	rep := &Report{CalendarURL: calURL.String(), AddressBookURL: abURL.String(), Events: cfg.Events,
		Contacts: cfg.Contacts, RandSeed: cfg.RandSeed, Started: time.Now().UTC()}
	conns := max(slices.Max(cfg.Concurrency), cfg.PhaseConcurrency, 8)
	base := &url.URL{Scheme: calURL.Scheme, Host: calURL.Host, User: calURL.User}
	c := newClient(base, cfg.User, cfg.Password, conns)
	defer c.close()
	if cfg.Floor {
		c.recorder = map[string]*recorded{}
	}
	server := &target{name: "server", c: c, calDir: calURL.Path, abDir: abURL.Path, verify: true}
	r := newRunner(ds)
	rss := newRSSSampler(cfg.PID)
	defer rss.stop()

	if cfg.Preseeded {
		rep.Seeding = SeedingPreseeded
		fmt.Fprintf(log, "checking that %s holds the %d generated events and %s the %d contacts (preseeded, not PUT)\n",
			calURL, cfg.Events, abURL, cfg.Contacts)
		t0 := time.Now()
		if err := checkPreseeded(ctx, server, r, log); err != nil {
			return rep, err
		}
		rep.CheckSeconds = time.Since(t0).Seconds()
		fmt.Fprintf(log, "preseeded collections checked in %.1fs\n", rep.CheckSeconds)
	} else {
		rep.Seeding = SeedingPUT
		fmt.Fprintf(log, "seeding %d events into %s and %d contacts into %s\n", cfg.Events, calURL, cfg.Contacts, abURL)
		t0 := time.Now()
		if err := seed(ctx, cfg, server, r, log); err != nil {
			return rep, err
		}
		rep.SeedSeconds = time.Since(t0).Seconds()
		fmt.Fprintf(log, "seeded by PUT in %.1fs\n", rep.SeedSeconds)
	}
	rep.Results = runPhases(ctx, cfg, server, r, rss, log)
	rep.HWMKiB = rss.hwm()
	if cfg.Floor && ctx.Err() == nil {
		floor, err := startFloor(c.recorder)
		if err != nil {
			return nil, err
		}
		defer floor.close()
		fc := newClient(floor.url, "", "", conns)
		defer fc.close()
		ft := &target{name: "floor", c: fc, calDir: server.calDir, abDir: server.abDir}
		fmt.Fprintf(log, "floor: replaying %d recorded answers from %s\n", len(c.recorder), floor.url)
		rep.Results = append(rep.Results, runPhases(ctx, cfg, ft, r, nil, log)...)
	}
	return rep, ctx.Err()
}

func runPhases(ctx context.Context, cfg *Config, t *target, r *runner, rss *rssSampler, log io.Writer) []Result {
	var results []Result
	for i, name := range cfg.Phases {
		levels := []int{cfg.PhaseConcurrency}
		o, serial := r.phaseOp(name)
		if name == "mixed" {
			levels = cfg.Concurrency
		}
		if serial {
			levels = []int{1}
		}
		for _, conc := range levels {
			if ctx.Err() != nil {
				return results
			}
			if name == "sync-incremental" {
				o, _ = r.phaseOp(name) // a fresh token per target
			}
			res := runPhase(ctx, cfg, t, name, conc, o, rss, cfg.RandSeed+uint64(i)*1000+uint64(conc))
			fmt.Fprintf(log, "%s %s c=%d: %d requests, %d errors, %d wrong, %.0f req/s\n",
				t.name, name, conc, res.Count, res.Errors, res.Wrong, res.RPS)
			for _, s := range res.ErrorSample {
				fmt.Fprintf(log, "  error: %s\n", s)
			}
			for _, s := range res.WrongSample {
				fmt.Fprintf(log, "  wrong: %s\n", s)
			}
			results = append(results, res)
		}
	}
	return results
}

// WriteTable prints the report for people.
func WriteTable(w io.Writer, rep *Report) {
	fmt.Fprintf(w, "calendar %s, address book %s\n", rep.CalendarURL, rep.AddressBookURL)
	seeding := fmt.Sprintf("seeded by PUT in %.1fs", rep.SeedSeconds)
	if rep.Seeding == SeedingPreseeded {
		seeding = fmt.Sprintf("preseeded, checked in %.1fs", rep.CheckSeconds)
	}
	fmt.Fprintf(w, "%d events, %d contacts, rand-seed %d, %s\n", rep.Events, rep.Contacts, rep.RandSeed, seeding)
	if rep.HWMKiB > 0 {
		fmt.Fprintf(w, "server peak RSS (VmHWM): %.1f MiB\n", float64(rep.HWMKiB)/1024)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tphase\tconc\tcount\terrors\twrong\treq/s\tp50 ms\tp95 ms\tp99 ms\tRSS MiB\t")
	for _, r := range rep.Results {
		rss := "-"
		if r.PeakRSSKiB > 0 {
			rss = fmt.Sprintf("%.1f", float64(r.PeakRSSKiB)/1024)
		}
		wrong := strconv.Itoa(r.Wrong)
		if r.Target == "floor" {
			wrong = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%.1f\t%.2f\t%.2f\t%.2f\t%s\t\n", r.Target, r.Phase, r.Concurrency,
			r.Count, r.Errors, wrong, r.RPS, r.P50ms, r.P95ms, r.P99ms, rss)
	}
	tw.Flush()
}
