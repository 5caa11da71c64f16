// Package connector keeps a Koyomi calendar in step with a calendar on
// another server: two-way, push-only or pull-only sync with any CalDAV
// collection, or pulling an ICS/webcal feed. It owns the connector rules
// (who may have one, what settings are valid, the states and their
// transitions), the sync algorithm, the run history and the periodic
// runner, which takes a store lease per run so that on many nodes exactly
// one node syncs a connector at a time.
//
// Local objects are read and written only through the domain service, so
// every rule of an ordinary client write (validation, UID uniqueness,
// indexing) applies to what a connector brings in. Remote servers are
// reached through package remote. The package knows nothing of HTTP
// routing, WebDAV serving or how callers authenticate.
package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/secret"
	"koyomi.dev/koyomi/internal/store"
)

// Kinds of remote.
const (
	KindCalDAV = "caldav"
	KindICS    = "ics"
)

// Directions.
const (
	TwoWay   = "two-way"
	PushOnly = "push"
	PullOnly = "pull"
)

// Conflict policies: which version wins when both sides changed.
const (
	RemoteWins = "remote"
	LocalWins  = "local"
	MostRecent = "recent" // the newer LAST-MODIFIED (then DTSTAMP); remote on a tie
)

// States.
const (
	StateIdle     = "idle"
	StateRunning  = "running"
	StateStopped  = "stopped"
	StateDisabled = "disabled" // by an administrator
)

// Run outcomes recorded in the history.
const (
	RunRunning     = "running"
	RunOK          = "ok"
	RunPartial     = "partial" // finished, some objects could not be synced
	RunRetry       = "retry"   // rate limited or remote unavailable: backing off
	RunStopped     = "stopped" // permission failure: the connector was stopped
	RunError       = "error"
	RunInterrupted = "interrupted" // the node died or lost its lease midway
)

// DefaultInterval is the period of a connector that does not set one;
// MinInterval the shortest one may set.
const (
	DefaultInterval = 15 * time.Minute
	MinInterval     = 5 * time.Minute
)

// Errors of the connector rules.
var (
	ErrInvalid = errors.New("invalid connector settings")
	// ErrNotAllowed: an administrator has not allowed connectors for the user.
	ErrNotAllowed = errors.New("connectors are disabled for this user by an administrator")
	// ErrBusy: a run of the connector is already in progress (here or on
	// another node).
	ErrBusy = errors.New("a sync of this connector is already running")
)

// Options configure a Manager.
type Options struct {
	Store  store.Store
	Domain *domain.Service
	// Box encrypts credentials at rest.
	Box    *secret.Box
	Logger *slog.Logger
	Clock  func() time.Time
	// Node names this process in leases and history (host name, pid).
	Node string
	// HTTPClient reaches remote servers; nil: a client with a 60 s timeout.
	HTTPClient *http.Client
	// MinInterval is the shortest interval accepted (MinInterval when zero;
	// tests lower it).
	MinInterval time.Duration
	// LeaseTTL is how long a run's lease lasts without renewal (default 2
	// minutes); a run renews it at a third of that.
	LeaseTTL time.Duration
	// DefaultAllowed is the permission of users no rule names.
	DefaultAllowed bool
	// Workers is how many runs one node performs at once (default 4).
	Workers int
	// RunFinished, if set, is told the outcome (a Run constant) of each
	// run as it is recorded (for metrics).
	RunFinished func(status string)

	// Hooks inject faults for tests; nil ones are skipped.
	Hooks Hooks
}

// Hooks are called at fixed points of the connector service's work, so
// that tests can make it fail (panic, say) where no real fault is at hand.
type Hooks struct {
	// Pass is called as each pass of the runner (RunDue) begins.
	Pass func(ctx context.Context)
	// Run is called as each run of a connector begins its sync.
	Run func(ctx context.Context, c *store.Connector)
}

// Manager is the connector service: settings, permissions, runs, history.
type Manager struct {
	opts Options
	log  *slog.Logger
	wake chan struct{}
	mu   sync.Mutex
	// running holds the IDs this process is syncing right now.
	running  map[int64]bool
	holderID string
}

// New returns a Manager.
func New(opts Options) *Manager {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Node == "" {
		opts.Node = "koyomi"
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if opts.MinInterval <= 0 {
		opts.MinInterval = MinInterval
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 2 * time.Minute
	}
	return &Manager{opts: opts, log: opts.Logger, wake: make(chan struct{}, 1), running: map[int64]bool{}}
}

// Settings are what a user chooses for a connector. On update, nil fields
// keep their value.
type Settings struct {
	Name     *string
	Calendar *string // the local calendar's name in the owner's home
	Kind     *string
	URL      *string
	Username *string
	// Password and Token are write-only: stored encrypted, never returned.
	// Setting one clears the other.
	Password  *string
	Token     *string
	Direction *string
	Policy    *string
	Interval  *time.Duration
	Enabled   *bool
}

// caller returns the user a context acts as ("" for an administrator)
// and checks that they may see connector c.
func visible(ctx context.Context, c *store.Connector) error {
	if err := domain.CheckOwner(ctx, c.Owner); err != nil {
		return fmt.Errorf("connector %d: %w", c.ID, err)
	}
	return nil
}

func (m *Manager) now() time.Time { return m.opts.Clock().UTC() }

// Create adds a connector for owner (the caller, or any user when called
// by an administrator).
func (m *Manager) Create(ctx context.Context, owner string, s Settings) (*store.Connector, error) {
	if domain.CheckOwner(ctx, owner) != nil {
		return nil, fmt.Errorf("%w: cannot create connectors for another user", domain.ErrForbidden)
	}
	c := &store.Connector{Owner: owner, Kind: KindCalDAV, Direction: TwoWay, Policy: RemoteWins,
		Interval: DefaultInterval, Enabled: true, State: StateIdle, AuthType: "basic"}
	if s.Calendar != nil {
		id, err := m.calendarID(ctx, owner, *s.Calendar)
		if err != nil {
			return nil, err
		}
		c.CollectionID = id
	}
	if s.Kind != nil && *s.Kind == KindICS && s.Direction == nil {
		c.Direction = PullOnly
	}
	if err := m.apply(c, s); err != nil {
		return nil, err
	}
	now := m.now()
	c.NextRun = now
	err := m.opts.Store.Update(ctx, func(tx store.Tx) error {
		ok, err := m.allowed(ctx, tx, owner)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotAllowed
		}
		return tx.CreateConnector(ctx, c)
	})
	if err != nil {
		return nil, mapErr(err)
	}
	m.Wake()
	return c, nil
}

// calendarID resolves the owner's local calendar by name.
func (m *Manager) calendarID(ctx context.Context, owner, name string) (int64, error) {
	col, err := m.opts.Domain.Collection(domain.WithPrincipal(ctx, owner), owner, name)
	if errors.Is(err, domain.ErrNotFound) {
		return 0, fmt.Errorf("%w: %s has no calendar %q", ErrInvalid, owner, name)
	}
	if err != nil {
		return 0, err
	}
	if col.Kind != store.KindCalendar {
		return 0, fmt.Errorf("%w: %q is not a calendar", ErrInvalid, name)
	}
	return col.ID, nil
}

// apply validates s and writes it into c (except the calendar, which the
// caller resolves).
func (m *Manager) apply(c *store.Connector, s Settings) error {
	if s.Name != nil {
		c.Name = strings.TrimSpace(*s.Name)
	}
	if s.Kind != nil {
		c.Kind = *s.Kind
	}
	if s.URL != nil {
		c.URL = strings.TrimSpace(*s.URL)
	}
	if s.Username != nil {
		c.Username = *s.Username
	}
	if s.Password != nil {
		c.Secret, c.AuthType = m.opts.Box.Seal([]byte(*s.Password)), "basic"
	}
	if s.Token != nil {
		c.Secret, c.AuthType = m.opts.Box.Seal([]byte(*s.Token)), "bearer"
	}
	if s.Direction != nil {
		c.Direction = *s.Direction
	}
	if s.Policy != nil {
		c.Policy = *s.Policy
	}
	if s.Interval != nil {
		c.Interval = *s.Interval
	}
	if s.Enabled != nil {
		c.Enabled = *s.Enabled
	}
	return validate(c, m.opts.MinInterval)
}

func validate(c *store.Connector, floor time.Duration) error {
	var problems []string
	if c.Name == "" {
		problems = append(problems, "a name is required")
	} else if err := domain.CheckLabel("name", c.Name); err != nil {
		problems = append(problems, err.Error())
	}
	if err := domain.CheckLabel("username", c.Username); err != nil {
		problems = append(problems, err.Error())
	}
	if c.CollectionID == 0 {
		problems = append(problems, "a local calendar is required")
	}
	switch c.Kind {
	case KindCalDAV, KindICS:
	default:
		problems = append(problems, fmt.Sprintf("kind %q (use caldav or ics)", c.Kind))
	}
	if err := domain.CheckURL("URL", c.URL); err != nil {
		problems = append(problems, err.Error())
	} else if u, err := url.Parse(c.URL); err != nil || u.Host == "" ||
		!slices.Contains([]string{"http", "https", "webcal", "webcals"}, u.Scheme) ||
		(c.Kind == KindCalDAV && strings.HasPrefix(u.Scheme, "webcal")) {
		problems = append(problems, fmt.Sprintf("URL %q (an http or https URL%s)", c.URL,
			map[bool]string{true: ", or webcal for an ICS feed"}[c.Kind == KindICS]))
	} else if u.User != nil {
		problems = append(problems, "put credentials in username/password, not in the URL")
	}
	switch c.Direction {
	case TwoWay, PushOnly, PullOnly:
		if c.Kind == KindICS && c.Direction != PullOnly {
			problems = append(problems, "an ICS feed can only be pulled (direction pull)")
		}
	default:
		problems = append(problems, fmt.Sprintf("direction %q (use two-way, push or pull)", c.Direction))
	}
	switch c.Policy {
	case RemoteWins, LocalWins, MostRecent:
	default:
		problems = append(problems, fmt.Sprintf("conflict policy %q (use remote, local or recent)", c.Policy))
	}
	if c.Interval < floor {
		problems = append(problems, fmt.Sprintf("interval %v (at least %v)", c.Interval, floor))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	return nil
}

// visibleConnector reads connector id if the caller may see it.
func visibleConnector(ctx context.Context, tx store.Connectors, id int64) (*store.Connector, error) {
	c, err := tx.GetConnector(ctx, id)
	if err != nil {
		return nil, err
	}
	return c, visible(ctx, c)
}

// Get returns a connector the caller may see.
func (m *Manager) Get(ctx context.Context, id int64) (*store.Connector, error) {
	var c *store.Connector
	err := m.opts.Store.View(ctx, func(tx store.Tx) error {
		var err error
		c, err = visibleConnector(ctx, tx, id)
		return err
	})
	return c, mapErr(err)
}

// List returns the caller's connectors (all of them for an
// administrator; owner narrows an administrator's list).
func (m *Manager) List(ctx context.Context, owner string) ([]*store.Connector, error) {
	if p := domain.Principal(ctx); p != "" {
		owner = p
	}
	var cs []*store.Connector
	err := m.opts.Store.View(ctx, func(tx store.Tx) error {
		var err error
		cs, err = tx.ListConnectors(ctx, owner)
		return err
	})
	return cs, mapErr(err)
}

// Update changes a connector's settings. Changing where it points (URL,
// kind or calendar) forgets what it knew of the remote, so the next run
// starts afresh (matching objects by UID).
func (m *Manager) Update(ctx context.Context, id int64, s Settings) (*store.Connector, error) {
	// The calendar is resolved before the transaction (the domain reads it
	// in a transaction of its own).
	current, err := m.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	calendarID := current.CollectionID
	if s.Calendar != nil {
		if calendarID, err = m.calendarID(ctx, current.Owner, *s.Calendar); err != nil {
			return nil, err
		}
	}
	var c *store.Connector
	err = m.opts.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		if c, err = visibleConnector(ctx, tx, id); err != nil {
			return err
		}
		before := *c
		c.CollectionID = calendarID
		if err := m.apply(c, s); err != nil {
			return err
		}
		if c.URL != before.URL || c.Kind != before.Kind || c.CollectionID != before.CollectionID {
			c.SyncToken, c.CTag = "", ""
			if err := dropItems(ctx, tx, c.ID); err != nil {
				return err
			}
		}
		if s.Enabled != nil {
			m.setEnabled(c, *s.Enabled)
		}
		return tx.UpdateConnector(ctx, c)
	})
	if err != nil {
		return nil, mapErr(err)
	}
	m.Wake()
	return c, nil
}

// dropItems forgets every mapping of connector id.
func dropItems(ctx context.Context, tx store.Connectors, id int64) error {
	items, err := tx.ConnectorItems(ctx, id)
	if err != nil {
		return err
	}
	for _, it := range items {
		if err := tx.DeleteConnectorItem(ctx, id, it.UID); err != nil {
			return err
		}
	}
	return nil
}

// setEnabled starts or stops c. Starting clears a stop's reason (a
// permission failure's too: the user says they fixed it) and runs soon.
func (m *Manager) setEnabled(c *store.Connector, on bool) {
	c.Enabled = on
	switch {
	case on && c.State == StateStopped:
		c.State, c.Reason, c.Failures, c.NextRun = StateIdle, "", 0, m.now()
	case !on && c.State != StateDisabled:
		c.State, c.Reason = StateStopped, "stopped by its owner"
	}
}

// SetEnabled starts (true) or stops (false) a connector.
func (m *Manager) SetEnabled(ctx context.Context, id int64, on bool) (*store.Connector, error) {
	return m.Update(ctx, id, Settings{Enabled: &on})
}

// Delete removes a connector with its history. The local calendar and
// the remote one keep their objects.
func (m *Manager) Delete(ctx context.Context, id int64) error {
	return mapErr(m.opts.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := visibleConnector(ctx, tx, id); err != nil {
			return err
		}
		return tx.DeleteConnector(ctx, id)
	}))
}

// History returns a connector's runs, newest first (at most limit; all
// when limit <= 0).
func (m *Manager) History(ctx context.Context, id int64, limit int) ([]*store.ConnectorRun, error) {
	var runs []*store.ConnectorRun
	err := m.opts.Store.View(ctx, func(tx store.Tx) error {
		if _, err := visibleConnector(ctx, tx, id); err != nil {
			return err
		}
		var err error
		runs, err = tx.ConnectorRuns(ctx, id, limit)
		return err
	})
	return runs, mapErr(err)
}

// Conflicts returns the versions that lost conflicts, newest first.
func (m *Manager) Conflicts(ctx context.Context, id int64) ([]*store.ConnectorConflict, error) {
	var cs []*store.ConnectorConflict
	err := m.opts.Store.View(ctx, func(tx store.Tx) error {
		if _, err := visibleConnector(ctx, tx, id); err != nil {
			return err
		}
		var err error
		cs, err = tx.ConnectorConflicts(ctx, id)
		return err
	})
	return cs, mapErr(err)
}

// Permit allows or forbids connectors for a subject ("user:NAME",
// "group:NAME" or "*"). Administrators only. Connectors of users who lose
// the permission are disabled at once and come back when it returns.
func (m *Manager) Permit(ctx context.Context, subject string, allowed bool) error {
	if err := checkSubject(ctx, subject); err != nil {
		return err
	}
	return m.changeRules(ctx, func(tx store.Tx) error {
		return tx.SetConnectorPermission(ctx, &store.ConnectorPermission{Subject: subject, Allowed: allowed})
	})
}

// Unpermit removes a subject's rule (the defaults apply again).
func (m *Manager) Unpermit(ctx context.Context, subject string) error {
	if err := checkSubject(ctx, subject); err != nil {
		return err
	}
	return m.changeRules(ctx, func(tx store.Tx) error { return tx.DeleteConnectorPermission(ctx, subject) })
}

// changeRules applies change to the permission rules and brings every
// connector's state in line with the result, in one transaction.
func (m *Manager) changeRules(ctx context.Context, change func(store.Tx) error) error {
	err := m.opts.Store.Update(ctx, func(tx store.Tx) error {
		if err := change(tx); err != nil {
			return err
		}
		return m.applyPermissions(ctx, tx)
	})
	m.Wake()
	return mapErr(err)
}

// Permissions lists the rules. Administrators only.
func (m *Manager) Permissions(ctx context.Context) ([]*store.ConnectorPermission, error) {
	if domain.Principal(ctx) != "" {
		return nil, fmt.Errorf("%w: only administrators manage connector permissions", domain.ErrForbidden)
	}
	var ps []*store.ConnectorPermission
	err := m.opts.Store.View(ctx, func(tx store.Tx) error {
		var err error
		ps, err = tx.ConnectorPermissions(ctx)
		return err
	})
	return ps, mapErr(err)
}

// Allowed reports whether user may have connectors.
func (m *Manager) Allowed(ctx context.Context, user string) (bool, error) {
	var ok bool
	err := m.opts.Store.View(ctx, func(tx store.Tx) error {
		var err error
		ok, err = m.allowed(ctx, tx, user)
		return err
	})
	return ok, mapErr(err)
}

func checkSubject(ctx context.Context, subject string) error {
	if domain.Principal(ctx) != "" {
		return fmt.Errorf("%w: only administrators manage connector permissions", domain.ErrForbidden)
	}
	kind, name, _ := strings.Cut(subject, ":")
	if subject == "*" || ((kind == "user" || kind == "group") && domain.ValidUserName(name)) {
		return nil
	}
	return fmt.Errorf("%w: subject %q (use user:NAME, group:NAME or *)", ErrInvalid, subject)
}

// allowed applies the rules: the user's own rule; else their groups' (a
// group that forbids wins over one that allows); else "*"; else the
// default.
func (m *Manager) allowed(ctx context.Context, tx store.Tx, user string) (bool, error) {
	perms, err := tx.ConnectorPermissions(ctx)
	if err != nil {
		return false, err
	}
	rules := map[string]bool{}
	for _, p := range perms {
		rules[p.Subject] = p.Allowed
	}
	if v, ok := rules["user:"+user]; ok {
		return v, nil
	}
	ms, err := tx.UserMemberships(ctx, user)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	decided, verdict := false, true
	for _, mb := range ms {
		if !mb.Left.IsZero() {
			continue
		}
		if v, ok := rules["group:"+mb.Group]; ok {
			decided = true
			verdict = verdict && v
		}
	}
	if decided {
		return verdict, nil
	}
	if v, ok := rules["*"]; ok {
		return v, nil
	}
	return m.opts.DefaultAllowed, nil
}

// applyPermissions brings every connector's disabled state in line with
// the rules.
func (m *Manager) applyPermissions(ctx context.Context, tx store.Tx) error {
	cs, err := tx.ListConnectors(ctx, "")
	if err != nil {
		return err
	}
	verdicts := map[string]bool{}
	for _, c := range cs {
		ok, seen := verdicts[c.Owner]
		if !seen {
			if ok, err = m.allowed(ctx, tx, c.Owner); err != nil {
				return err
			}
			verdicts[c.Owner] = ok
		}
		switch {
		case !ok && c.State != StateDisabled:
			c.State, c.Reason = StateDisabled, "disabled by an administrator"
		case ok && c.State == StateDisabled:
			c.State, c.Reason, c.NextRun = StateIdle, "", m.now()
			if !c.Enabled {
				c.State, c.Reason = StateStopped, "stopped by its owner"
			}
		default:
			continue
		}
		if err := tx.UpdateConnector(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// mapErr turns store errors into domain errors for callers.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: %w", domain.ErrNotFound, err)
	case errors.Is(err, store.ErrExists):
		return fmt.Errorf("%w: %w", domain.ErrExists, err)
	}
	return err
}
