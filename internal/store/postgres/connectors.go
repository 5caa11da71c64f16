package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"koyomi.dev/koyomi/internal/store"
)

// Connectors, their item mappings, run history, conflicts and permissions.
//
// Foreign keys, not prior lookups, detect a missing owner, collection or
// connector: they also hold when the row is being deleted by another node
// right now, so nothing is ever left behind by a cascade.

// truncateConnectorTimes brings the caller's times to the stored precision,
// so that c equals what a later read returns.
func truncateConnectorTimes(c *store.Connector) {
	c.NextRun = truncate(c.NextRun)
	c.LastRun = truncate(c.LastRun)
	c.LastOK = truncate(c.LastOK)
}

// connectorWriteError maps the foreign keys of the connectors table to
// ErrNotFound for the owner or the collection.
func connectorWriteError(what string, c *store.Connector, err error) error {
	switch code, constraint := pgCode(err); {
	case code == foreignKeyViolation && constraint == "connectors_owner_fkey":
		return fmt.Errorf("postgres: %s: owner: %w", what, store.ErrNotFound)
	case code == foreignKeyViolation && constraint == "connectors_collection_fkey":
		return fmt.Errorf("postgres: %s: collection %d: %w", what, c.CollectionID, store.ErrNotFound)
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}

func (t *tx) CreateConnector(ctx context.Context, c *store.Connector) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("create connector %q of %q", c.Name, c.Owner)
	now := truncate(t.now())
	truncateConnectorTimes(c)
	var id int64
	err := t.tx.QueryRow(ctx, `INSERT INTO connectors
		(owner, name, collection_id, kind, url, username, secret, auth_type, direction, policy, interval_ns,
		enabled, state, reason, next_run_us, last_run_us, last_ok_us, failures, sync_token, ctag, created_us, modified_us)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21)
		RETURNING id`,
		c.Owner, c.Name, c.CollectionID, c.Kind, c.URL, c.Username, nonNil(c.Secret), c.AuthType, c.Direction,
		c.Policy, int64(c.Interval), c.Enabled, c.State, c.Reason, micros(c.NextRun), micros(c.LastRun),
		micros(c.LastOK), c.Failures, c.SyncToken, c.CTag, micros(now)).Scan(&id)
	if err != nil {
		return connectorWriteError(what, c, err)
	}
	c.ID = id
	c.Created = now
	c.Modified = now
	return nil
}

const connectorColumns = `id, owner, name, collection_id, kind, url, username, secret, auth_type, direction, policy,
	interval_ns, enabled, state, reason, next_run_us, last_run_us, last_ok_us, failures, sync_token, ctag,
	created_us, modified_us`

func scanConnector(row pgx.Row) (*store.Connector, error) {
	var c store.Connector
	var interval int64
	var nextRun, lastRun, lastOK, created, modified *int64
	if err := row.Scan(&c.ID, &c.Owner, &c.Name, &c.CollectionID, &c.Kind, &c.URL, &c.Username, &c.Secret,
		&c.AuthType, &c.Direction, &c.Policy, &interval, &c.Enabled, &c.State, &c.Reason, &nextRun, &lastRun,
		&lastOK, &c.Failures, &c.SyncToken, &c.CTag, &created, &modified); err != nil {
		return nil, err
	}
	c.Secret = nonNil(c.Secret)
	c.Interval = time.Duration(interval)
	c.NextRun = fromMicros(nextRun)
	c.LastRun = fromMicros(lastRun)
	c.LastOK = fromMicros(lastOK)
	c.Created = fromMicros(created)
	c.Modified = fromMicros(modified)
	return &c, nil
}

func (t *tx) GetConnector(ctx context.Context, id int64) (*store.Connector, error) {
	c, err := scanConnector(t.tx.QueryRow(ctx, `SELECT `+connectorColumns+` FROM connectors WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: connector %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get connector %d: %w", id, err)
	}
	return c, nil
}

func (t *tx) ListConnectors(ctx context.Context, owner string) ([]*store.Connector, error) {
	what := fmt.Sprintf("list connectors of %q", owner)
	query, args := `SELECT `+connectorColumns+` FROM connectors WHERE owner = $1 ORDER BY id`, []any{owner}
	if owner == "" {
		what, query, args = "list connectors", `SELECT `+connectorColumns+` FROM connectors ORDER BY id`, nil
	}
	rows, err := t.tx.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	cs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*store.Connector, error) { return scanConnector(row) })
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	if len(cs) == 0 {
		return nil, nil
	}
	return cs, nil
}

func (t *tx) UpdateConnector(ctx context.Context, c *store.Connector) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("update connector %d", c.ID)
	now := truncate(t.now())
	truncateConnectorTimes(c)
	tag, err := t.tx.Exec(ctx, `UPDATE connectors SET name = $1, collection_id = $2, kind = $3, url = $4,
		username = $5, secret = $6, auth_type = $7, direction = $8, policy = $9, interval_ns = $10, enabled = $11,
		state = $12, reason = $13, next_run_us = $14, last_run_us = $15, last_ok_us = $16, failures = $17,
		sync_token = $18, ctag = $19, modified_us = $20 WHERE id = $21`,
		c.Name, c.CollectionID, c.Kind, c.URL, c.Username, nonNil(c.Secret), c.AuthType, c.Direction, c.Policy,
		int64(c.Interval), c.Enabled, c.State, c.Reason, micros(c.NextRun), micros(c.LastRun), micros(c.LastOK),
		c.Failures, c.SyncToken, c.CTag, micros(now), c.ID)
	if code, _ := pgCode(err); code == foreignKeyViolation {
		return connectorWriteError(what, c, err)
	}
	if err := expectOneRow(tag, err, what); err != nil {
		return err
	}
	c.Modified = now
	return nil
}

func (t *tx) DeleteConnector(ctx context.Context, id int64) error {
	if err := t.writable(); err != nil {
		return err
	}
	// Items, runs and conflicts go by ON DELETE CASCADE.
	tag, err := t.tx.Exec(ctx, `DELETE FROM connectors WHERE id = $1`, id)
	return expectOneRow(tag, err, fmt.Sprintf("delete connector %d", id))
}

// Item mappings.

func (t *tx) ConnectorItems(ctx context.Context, connectorID int64) ([]*store.ConnectorItem, error) {
	what := fmt.Sprintf("items of connector %d", connectorID)
	rows, err := t.tx.Query(ctx, `SELECT connector_id, uid, local_name, local_etag, remote_href, remote_etag
		FROM connector_items WHERE connector_id = $1 ORDER BY uid`, connectorID)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*store.ConnectorItem, error) {
		var it store.ConnectorItem
		err := row.Scan(&it.ConnectorID, &it.UID, &it.LocalName, &it.LocalETag, &it.RemoteHref, &it.RemoteETag)
		return &it, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	if len(items) == 0 {
		return nil, nil
	}
	return items, nil
}

func (t *tx) PutConnectorItem(ctx context.Context, it *store.ConnectorItem) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("put item %q of connector %d", it.UID, it.ConnectorID)
	_, err := t.tx.Exec(ctx, `INSERT INTO connector_items
		(connector_id, uid, local_name, local_etag, remote_href, remote_etag) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (connector_id, uid) DO UPDATE SET local_name = excluded.local_name,
			local_etag = excluded.local_etag, remote_href = excluded.remote_href, remote_etag = excluded.remote_etag`,
		it.ConnectorID, it.UID, it.LocalName, it.LocalETag, it.RemoteHref, it.RemoteETag)
	if code, _ := pgCode(err); code == foreignKeyViolation {
		return fmt.Errorf("postgres: %s: connector: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	return nil
}

func (t *tx) DeleteConnectorItem(ctx context.Context, connectorID int64, uid string) error {
	if err := t.writable(); err != nil {
		return err
	}
	if _, err := t.tx.Exec(ctx, `DELETE FROM connector_items WHERE connector_id = $1 AND uid = $2`,
		connectorID, uid); err != nil {
		return fmt.Errorf("postgres: delete item %q of connector %d: %w", uid, connectorID, err)
	}
	return nil
}

// Run history.

func (t *tx) AddConnectorRun(ctx context.Context, r *store.ConnectorRun) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("add run of connector %d", r.ConnectorID)
	started, ended := truncate(r.Started), truncate(r.Ended)
	var id int64
	err := t.tx.QueryRow(ctx, `INSERT INTO connector_runs
		(connector_id, started_us, ended_us, node, status, pulled_created, pulled_updated, pulled_deleted,
		pushed_created, pushed_updated, pushed_deleted, conflicts, remote_status, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
		r.ConnectorID, micros(started), micros(ended), r.Node, r.Status, r.PulledCreated, r.PulledUpdated,
		r.PulledDeleted, r.PushedCreated, r.PushedUpdated, r.PushedDeleted, r.Conflicts, r.RemoteStatus,
		r.Error).Scan(&id)
	if code, _ := pgCode(err); code == foreignKeyViolation {
		return fmt.Errorf("postgres: %s: connector: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	r.ID, r.Started, r.Ended = id, started, ended
	return nil
}

// UpdateConnectorRun finds the run by ID within its connector: a run never
// moves to another connector.
func (t *tx) UpdateConnectorRun(ctx context.Context, r *store.ConnectorRun) error {
	if err := t.writable(); err != nil {
		return err
	}
	started, ended := truncate(r.Started), truncate(r.Ended)
	tag, err := t.tx.Exec(ctx, `UPDATE connector_runs SET started_us = $1, ended_us = $2, node = $3, status = $4,
		pulled_created = $5, pulled_updated = $6, pulled_deleted = $7, pushed_created = $8, pushed_updated = $9,
		pushed_deleted = $10, conflicts = $11, remote_status = $12, error = $13 WHERE id = $14 AND connector_id = $15`,
		micros(started), micros(ended), r.Node, r.Status, r.PulledCreated, r.PulledUpdated, r.PulledDeleted,
		r.PushedCreated, r.PushedUpdated, r.PushedDeleted, r.Conflicts, r.RemoteStatus, r.Error, r.ID, r.ConnectorID)
	if err := expectOneRow(tag, err, fmt.Sprintf("update run %d of connector %d", r.ID, r.ConnectorID)); err != nil {
		return err
	}
	r.Started, r.Ended = started, ended
	return nil
}

// ConnectorRuns orders by ID: the newest run is the one added last,
// whatever its times say, so a clock that steps back cannot hide it.
func (t *tx) ConnectorRuns(ctx context.Context, connectorID int64, limit int) ([]*store.ConnectorRun, error) {
	what := fmt.Sprintf("runs of connector %d", connectorID)
	var limitArg *int64 // LIMIT NULL: no limit
	if limit > 0 {
		l := int64(limit)
		limitArg = &l
	}
	rows, err := t.tx.Query(ctx, `SELECT id, connector_id, started_us, ended_us, node, status,
		pulled_created, pulled_updated, pulled_deleted, pushed_created, pushed_updated, pushed_deleted, conflicts,
		remote_status, error
		FROM connector_runs WHERE connector_id = $1 ORDER BY id DESC LIMIT $2`, connectorID, limitArg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	runs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*store.ConnectorRun, error) {
		var r store.ConnectorRun
		var started, ended *int64
		if err := row.Scan(&r.ID, &r.ConnectorID, &started, &ended, &r.Node, &r.Status, &r.PulledCreated,
			&r.PulledUpdated, &r.PulledDeleted, &r.PushedCreated, &r.PushedUpdated, &r.PushedDeleted, &r.Conflicts,
			&r.RemoteStatus, &r.Error); err != nil {
			return nil, err
		}
		r.Started = fromMicros(started)
		r.Ended = fromMicros(ended)
		return &r, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	if len(runs) == 0 {
		return nil, nil
	}
	return runs, nil
}

// Conflicts.

// AddConnectorConflict keeps c.Created when given and stamps now otherwise,
// like User.Created.
func (t *tx) AddConnectorConflict(ctx context.Context, c *store.ConnectorConflict) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("add conflict %q of connector %d", c.UID, c.ConnectorID)
	created := c.Created
	if created.IsZero() {
		created = t.now()
	}
	created = truncate(created)
	var id int64
	err := t.tx.QueryRow(ctx, `INSERT INTO connector_conflicts (connector_id, run_id, uid, side, data, created_us)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		c.ConnectorID, c.RunID, c.UID, c.Side, nonNil(c.Data), micros(created)).Scan(&id)
	if code, _ := pgCode(err); code == foreignKeyViolation {
		return fmt.Errorf("postgres: %s: connector: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	c.ID, c.Created = id, created
	return nil
}

// ConnectorConflicts orders by ID, newest first, for the reason
// ConnectorRuns does.
func (t *tx) ConnectorConflicts(ctx context.Context, connectorID int64) ([]*store.ConnectorConflict, error) {
	what := fmt.Sprintf("conflicts of connector %d", connectorID)
	rows, err := t.tx.Query(ctx, `SELECT id, connector_id, run_id, uid, side, data, created_us
		FROM connector_conflicts WHERE connector_id = $1 ORDER BY id DESC`, connectorID)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	cs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*store.ConnectorConflict, error) {
		var c store.ConnectorConflict
		var created *int64
		if err := row.Scan(&c.ID, &c.ConnectorID, &c.RunID, &c.UID, &c.Side, &c.Data, &created); err != nil {
			return nil, err
		}
		c.Data = nonNil(c.Data)
		c.Created = fromMicros(created)
		return &c, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	if len(cs) == 0 {
		return nil, nil
	}
	return cs, nil
}

// Permissions.

func (t *tx) SetConnectorPermission(ctx context.Context, p *store.ConnectorPermission) error {
	if err := t.writable(); err != nil {
		return err
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO connector_permissions (subject, allowed) VALUES ($1, $2)
		ON CONFLICT (subject) DO UPDATE SET allowed = excluded.allowed`, p.Subject, p.Allowed); err != nil {
		return fmt.Errorf("postgres: set connector permission of %q: %w", p.Subject, err)
	}
	return nil
}

func (t *tx) DeleteConnectorPermission(ctx context.Context, subject string) error {
	if err := t.writable(); err != nil {
		return err
	}
	if _, err := t.tx.Exec(ctx, `DELETE FROM connector_permissions WHERE subject = $1`, subject); err != nil {
		return fmt.Errorf("postgres: delete connector permission of %q: %w", subject, err)
	}
	return nil
}

func (t *tx) ConnectorPermissions(ctx context.Context) ([]*store.ConnectorPermission, error) {
	rows, err := t.tx.Query(ctx, `SELECT subject, allowed FROM connector_permissions ORDER BY subject`)
	if err != nil {
		return nil, fmt.Errorf("postgres: connector permissions: %w", err)
	}
	ps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*store.ConnectorPermission, error) {
		var p store.ConnectorPermission
		err := row.Scan(&p.Subject, &p.Allowed)
		return &p, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: connector permissions: %w", err)
	}
	if len(ps) == 0 {
		return nil, nil
	}
	return ps, nil
}
