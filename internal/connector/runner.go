package connector

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"koyomi.dev/koyomi/internal/connector/remote"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
)

// pollEvery bounds how long the runner sleeps, so that connectors changed
// through another node are picked up without a wake-up from this one.
const pollEvery = 30 * time.Second

// Wake makes Run look for due connectors now.
func (m *Manager) Wake() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Run runs due connectors until ctx is done.
func (m *Manager) Run(ctx context.Context) {
	for {
		next := m.RunDue(ctx)
		wait := pollEvery
		if !next.IsZero() {
			wait = min(max(next.Sub(m.now()), time.Second), pollEvery)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-m.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// RunDue runs every connector that is due, a few at a time (so one slow
// remote does not hold up the others), and returns when the next one will
// be (zero if none is scheduled). A panic during the pass is logged and
// the pass ends; the next one comes as after a failed listing.
func (m *Manager) RunDue(ctx context.Context) (next time.Time) {
	defer func() {
		if v := recover(); v != nil {
			m.recovered(ctx, v, "connector pass")
			next = m.now().Add(pollEvery)
		}
	}()
	if hook := m.opts.Hooks.Pass; hook != nil {
		hook(ctx)
	}
	// Rules can change without Permit (group memberships, the default in
	// the configuration): bring the states in line on every pass.
	var cs []*store.Connector
	err := m.opts.Store.Update(ctx, func(tx store.Tx) error {
		if err := m.applyPermissions(ctx, tx); err != nil {
			return err
		}
		var err error
		cs, err = tx.ListConnectors(ctx, "")
		return err
	})
	if err != nil {
		m.log.WarnContext(ctx, "connectors: listing failed", "err", err)
		return m.now().Add(pollEvery)
	}
	var wg sync.WaitGroup
	defer wg.Wait() // on a panic too: no run outlives its pass
	slots := make(chan struct{}, m.opts.Workers)
	for _, c := range cs {
		if ctx.Err() != nil {
			break
		}
		if !runnable(c) {
			continue
		}
		if c.NextRun.After(m.now()) {
			if next.IsZero() || c.NextRun.Before(next) {
				next = c.NextRun
			}
			continue
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			run, err := m.runOne(ctx, c.ID, false)
			switch {
			case errors.Is(err, ErrBusy), errors.Is(err, errNotDue):
			case err != nil:
				m.log.WarnContext(ctx, "connector run failed", "connector", c.ID, "err", err)
			case run != nil:
				m.log.InfoContext(ctx, "connector run", "connector", c.ID, "owner", c.Owner, "status", run.Status,
					"error", run.Error)
			}
		})
	}
	return next
}

func runnable(c *store.Connector) bool {
	return c.Enabled && (c.State == StateIdle || c.State == StateRunning)
}

var errNotDue = errors.New("connector not due")

// errLeaseLost ends a run whose lease another node took over (after this
// one stalled past the lease's lifetime).
var errLeaseLost = errors.New("lost the run's lease to another node")

// SyncNow runs a connector at once and returns the run's history entry.
// It fails with ErrBusy when a run is already in progress.
func (m *Manager) SyncNow(ctx context.Context, id int64) (*store.ConnectorRun, error) {
	if _, err := m.Get(ctx, id); err != nil {
		return nil, err
	}
	return m.runOne(context.WithoutCancel(ctx), id, true)
}

// runOne performs one run of connector id under its lease. A panic in
// the sync is recorded as the run's failure (see performRecovering); one
// anywhere else is returned as an error.
func (m *Manager) runOne(ctx context.Context, id int64, manual bool) (run *store.ConnectorRun, err error) {
	defer func() {
		if v := recover(); v != nil {
			run, err = nil, m.recovered(ctx, v, "connector run", "connector", id)
		}
	}()
	m.mu.Lock()
	if m.running[id] {
		m.mu.Unlock()
		return nil, ErrBusy
	}
	m.running[id] = true
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.running, id)
		m.mu.Unlock()
	}()

	lease := "connector:" + strconv.FormatInt(id, 10)
	holder := m.holder()
	if ok, err := m.acquire(ctx, lease, holder); err != nil {
		return nil, err
	} else if !ok {
		return nil, ErrBusy
	}
	defer func() {
		rctx := context.WithoutCancel(ctx)
		m.opts.Store.Update(rctx, func(tx store.Tx) error { return tx.ReleaseLease(rctx, lease, holder) })
	}()

	c, rec, err := m.begin(ctx, id, manual)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go m.renew(runCtx, cancel, lease, holder)

	err = m.performRecovering(runCtx, c, rec)
	if cause := context.Cause(runCtx); cause != nil && err != nil && errors.Is(err, context.Canceled) {
		err = cause
	}
	return m.finish(context.WithoutCancel(ctx), c, rec, err)
}

// holder names this Manager in leases: the node plus a per-process
// random part, so two processes on one host never share a lease.
func (m *Manager) holder() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.holderID == "" {
		b := make([]byte, 6)
		rand.Read(b)
		m.holderID = m.opts.Node + "/" + hex.EncodeToString(b)
	}
	return m.holderID
}

func (m *Manager) acquire(ctx context.Context, lease, holder string) (bool, error) {
	var ok bool
	err := m.opts.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		ok, err = tx.AcquireLease(ctx, lease, holder, m.opts.LeaseTTL, m.now())
		return err
	})
	return ok, err
}

// renew keeps the lease while the run lasts; losing it (another node took
// it after a stall) cancels the run, whose progress is already committed.
func (m *Manager) renew(ctx context.Context, cancel context.CancelCauseFunc, lease, holder string) {
	defer func() {
		if v := recover(); v != nil {
			cancel(m.recovered(ctx, v, "connector lease renewal", "lease", lease))
		}
	}()
	t := time.NewTicker(m.opts.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			ok, err := m.acquire(ctx, lease, holder)
			if ctx.Err() != nil {
				return
			}
			if err == nil && !ok {
				cancel(errLeaseLost)
				return
			}
		}
	}
}

// begin checks that the run may happen, marks runs a dead node left
// behind as interrupted, and records the new run.
func (m *Manager) begin(ctx context.Context, id int64, manual bool) (*store.Connector, *store.ConnectorRun, error) {
	var c *store.Connector
	var rec *store.ConnectorRun
	var refuse error
	err := m.opts.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		if c, err = tx.GetConnector(ctx, id); err != nil {
			return err
		}
		ok, err := m.allowed(ctx, tx, c.Owner)
		if err != nil {
			return err
		}
		now := m.now()
		if !ok {
			// Recorded (the transaction commits); the run is refused below.
			refuse = errNotDue
			if manual {
				refuse = ErrNotAllowed
			}
			if c.State != StateDisabled {
				c.State, c.Reason = StateDisabled, "disabled by an administrator"
				return tx.UpdateConnector(ctx, c)
			}
			return nil
		}
		if !manual && (!runnable(c) || c.NextRun.After(now)) {
			return errNotDue
		}
		if manual && !c.Enabled {
			return fmt.Errorf("%w: the connector is stopped (%s); start it first", ErrInvalid, c.Reason)
		}
		runs, err := tx.ConnectorRuns(ctx, id, 3)
		if err != nil {
			return err
		}
		for _, old := range runs {
			if old.Status == RunRunning {
				old.Status, old.Ended = RunInterrupted, now
				old.Error = "the run was interrupted (the server stopped or lost contact); the next run continued it"
				if err := tx.UpdateConnectorRun(ctx, old); err != nil {
					return err
				}
			}
		}
		rec = &store.ConnectorRun{ConnectorID: id, Started: now, Node: m.opts.Node, Status: RunRunning}
		if err := tx.AddConnectorRun(ctx, rec); err != nil {
			return err
		}
		c.State = StateRunning
		return tx.UpdateConnector(ctx, c)
	})
	if err == nil && refuse != nil {
		err = refuse
	}
	if err != nil && !errors.Is(err, errNotDue) && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrNotAllowed) {
		err = mapErr(err)
	}
	return c, rec, err
}

// performRecovering is perform, with a panic turned into the run's error
// so that the run is recorded as failed, with the reason, and the
// connector backs off like after any other error.
func (m *Manager) performRecovering(ctx context.Context, c *store.Connector, rec *store.ConnectorRun) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = m.recovered(ctx, v, "connector run", "connector", c.ID, "owner", c.Owner)
		}
	}()
	return m.perform(ctx, c, rec)
}

// panicError is a panic recovered from connector work.
type panicError struct{ value any }

func (e *panicError) Error() string {
	return fmt.Sprintf("internal error (a bug; the server log has the details): %v", e.value)
}

// recovered logs the panic v of what with its stack and returns it as an
// error. It must be called from the deferred function that recovered v,
// for the stack to show where the panic happened.
func (m *Manager) recovered(ctx context.Context, v any, what string, attrs ...any) error {
	attrs = append(attrs, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	m.log.ErrorContext(ctx, what+" panicked", attrs...)
	return &panicError{value: v}
}

// perform runs the sync itself.
func (m *Manager) perform(ctx context.Context, c *store.Connector, rec *store.ConnectorRun) error {
	if hook := m.opts.Hooks.Run; hook != nil {
		hook(ctx, c)
	}
	ctx = domain.WithPrincipal(ctx, c.Owner)
	var col *store.Collection
	err := m.opts.Store.View(ctx, func(tx store.Tx) error {
		var err error
		col, err = tx.GetCollectionByID(ctx, c.CollectionID)
		return err
	})
	if err != nil {
		return fmt.Errorf("the local calendar is gone: %w", err)
	}
	auth := remote.Auth{Username: c.Username}
	if len(c.Secret) > 0 {
		plain, err := m.opts.Box.Open(c.Secret)
		if err != nil {
			return fmt.Errorf("the stored credentials cannot be read with this server's key: %w", err)
		}
		if c.AuthType == "bearer" {
			auth.Bearer = string(plain)
		} else {
			auth.Password = string(plain)
		}
	}
	r := &syncRun{m: m, ctx: ctx, c: c, col: col, cl: remote.New(m.opts.HTTPClient, auth), rec: rec}
	if err := r.loadItems(); err != nil {
		return err
	}
	switch c.Kind {
	case KindICS:
		ctag, err := r.syncICS()
		if err == nil && !r.incomplete {
			c.CTag = ctag
		}
		rec.Error = strings.Join(r.problems, "; ")
		return err
	default:
		token, ctag, err := r.syncCalDAV()
		if err == nil && !r.incomplete {
			c.SyncToken, c.CTag = token, ctag
		}
		rec.Error = strings.Join(r.problems, "; ")
		return err
	}
}

// finish records the outcome: the history entry, and the connector's
// state — idle and scheduled, backing off, or stopped.
func (m *Manager) finish(ctx context.Context, c *store.Connector, rec *store.ConnectorRun, runErr error) (*store.ConnectorRun, error) {
	now := m.now()
	rec.Ended = now
	c.LastRun = rec.Started
	c.State = StateIdle
	switch kind := remote.Classify(runErr); {
	case errors.Is(runErr, context.Canceled) || errors.Is(runErr, errLeaseLost):
		// Shut down or superseded midway: what was done is committed, and
		// the rest is picked up as soon as possible.
		rec.Status = RunInterrupted
		c.NextRun = now
	case runErr == nil:
		rec.Status = RunOK
		if rec.Error != "" {
			rec.Status = RunPartial
		}
		c.Failures, c.Reason, c.LastOK = 0, "", now
		c.NextRun = now.Add(c.Interval)
	case kind == remote.KindPermission:
		rec.Status = RunStopped
		c.Enabled, c.State, c.Reason = false, StateStopped, runErr.Error()
		c.Failures = 0
	case kind == remote.KindRateLimit || kind == remote.KindTransient:
		rec.Status = RunRetry
		c.Failures++
		delay := backoff(c.Failures, retryAfter(runErr), c.Interval)
		c.NextRun = now.Add(delay)
		c.Reason = fmt.Sprintf("%s; retrying at %s", runErr, c.NextRun.Format(time.RFC3339))
	default:
		rec.Status = RunError
		c.Failures++
		c.NextRun = now.Add(backoff(c.Failures, 0, c.Interval))
		c.Reason = runErr.Error()
	}
	if runErr != nil {
		rec.Error = strings.TrimPrefix(strings.Join([]string{runErr.Error(), rec.Error}, "; "), "; ")
		rec.Error = strings.TrimSuffix(rec.Error, "; ")
		var re *remote.Error
		if errors.As(runErr, &re) {
			rec.RemoteStatus = re.Status
		}
	}
	err := m.opts.Store.Update(ctx, func(tx store.Tx) error {
		if err := tx.UpdateConnectorRun(ctx, rec); err != nil {
			return err
		}
		// Keep settings changed during the run; take only run state.
		cur, err := tx.GetConnector(ctx, c.ID)
		if err != nil {
			return err
		}
		cur.LastRun, cur.LastOK, cur.NextRun, cur.Failures = c.LastRun, c.LastOK, c.NextRun, c.Failures
		cur.SyncToken, cur.CTag = c.SyncToken, c.CTag
		if cur.URL != c.URL || cur.CollectionID != c.CollectionID || cur.Kind != c.Kind {
			// Repointed meanwhile: start afresh, forgetting the mappings
			// this run wrote for the old pair.
			cur.SyncToken, cur.CTag = "", ""
			if err := dropItems(ctx, tx, c.ID); err != nil {
				return err
			}
		}
		switch {
		case cur.State == StateDisabled:
		case c.State == StateStopped:
			cur.Enabled, cur.State, cur.Reason = false, StateStopped, c.Reason
		case !cur.Enabled:
			cur.State = StateStopped
		default:
			cur.State, cur.Reason = c.State, c.Reason
		}
		return tx.UpdateConnector(ctx, cur)
	})
	if err != nil {
		return rec, fmt.Errorf("recording the run: %w", err)
	}
	if observe := m.opts.RunFinished; observe != nil {
		observe(rec.Status)
	}
	return rec, nil
}

// backoff is the wait before retrying after failures consecutive failures:
// a minute, doubling, at most the connector's interval (or the server's
// Retry-After when longer, up to a day).
func backoff(failures int, retryAfter, interval time.Duration) time.Duration {
	d := time.Minute << min(max(failures-1, 0), 10)
	if d > interval {
		d = interval
	}
	if retryAfter > d {
		d = min(retryAfter, 24*time.Hour)
	}
	return d
}

func retryAfter(err error) time.Duration {
	var re *remote.Error
	if errors.As(err, &re) {
		return re.RetryAfter
	}
	return 0
}
