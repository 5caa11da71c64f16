package sqlshared

import (
	"context"
	"fmt"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// Connectors, their item mappings, run history, conflicts and permissions.
//
// Where a store names the foreign key a write violated (PostgreSQL), the
// keys, not prior lookups, detect a missing owner, collection or connector:
// they also hold when the row is being deleted by another node right now,
// so nothing is ever left behind by a cascade. Elsewhere (SQLite) the rows
// are looked up first, with the keys behind the checks.

// truncateConnectorTimes brings the caller's times to the stored precision,
// so that c equals what a later read returns.
func truncateConnectorTimes(c *store.Connector) {
	c.NextRun = truncate(c.NextRun)
	c.LastRun = truncate(c.LastRun)
	c.LastOK = truncate(c.LastOK)
}

// connectorWriteError maps the foreign keys of the connectors table to
// ErrNotFound for the owner or the collection.
func (t Tx) connectorWriteError(what string, c *store.Connector, err error) error {
	switch v, constraint := t.violated(err); {
	case v == ForeignKeyViolation && constraint == "connectors_owner_fkey":
		return t.errorf("%s: owner: %w", what, store.ErrNotFound)
	case v == ForeignKeyViolation && constraint == "connectors_collection_fkey":
		return t.errorf("%s: collection %d: %w", what, c.CollectionID, store.ErrNotFound)
	}
	return t.errorf("%s: %w", what, err)
}

// checkConnectorCollection looks up a connector's collection, where the
// dialect asks for it (CheckReferences).
func (t Tx) checkConnectorCollection(ctx context.Context, what string, c *store.Connector) error {
	return t.checkReference(ctx, what, fmt.Sprintf("collection %d", c.CollectionID),
		`SELECT 1 FROM collections WHERE id = ?`, c.CollectionID)
}

// connectorMissing maps a foreign key violation of a write to a connector's
// items, runs or conflicts to ErrNotFound for the connector.
func (t Tx) connectorMissing(what string, err error) error {
	if v, _ := t.violated(err); v == ForeignKeyViolation {
		return t.errorf("%s: connector: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return t.errorf("%s: %w", what, err)
	}
	return nil
}

// CreateConnector implements store.Connectors.
func (t Tx) CreateConnector(ctx context.Context, c *store.Connector) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("create connector %q of %q", c.Name, c.Owner)
	if err := t.checkReference(ctx, what, "owner", `SELECT 1 FROM users WHERE name = ?`, c.Owner); err != nil {
		return err
	}
	if err := t.checkConnectorCollection(ctx, what, c); err != nil {
		return err
	}
	now := t.now()
	truncateConnectorTimes(c)
	id, err := t.returning(ctx, `INSERT INTO connectors
		(owner, name, collection_id, kind, url, username, secret, auth_type, direction, policy, interval_ns,
		enabled, state, reason, next_run_us, last_run_us, last_ok_us, failures, sync_token, ctag, created_us, modified_us)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		c.Owner, c.Name, c.CollectionID, c.Kind, c.URL, c.Username, nonNil(c.Secret), c.AuthType, c.Direction,
		c.Policy, int64(c.Interval), c.Enabled, c.State, c.Reason, nullMicros(c.NextRun), nullMicros(c.LastRun),
		nullMicros(c.LastOK), c.Failures, c.SyncToken, c.CTag, micros(now), micros(now))
	if err != nil {
		return t.connectorWriteError(what, c, err)
	}
	c.ID = id
	c.Created = now
	c.Modified = now
	return nil
}

const connectorColumns = `id, owner, name, collection_id, kind, url, username, secret, auth_type, direction, policy,
	interval_ns, enabled, state, reason, next_run_us, last_run_us, last_ok_us, failures, sync_token, ctag,
	created_us, modified_us`

func scanConnector(r Rows) (*store.Connector, error) {
	var c store.Connector
	var interval int64
	var nextRun, lastRun, lastOK, created, modified *int64
	if err := r.Scan(&c.ID, &c.Owner, &c.Name, &c.CollectionID, &c.Kind, &c.URL, &c.Username, &c.Secret,
		&c.AuthType, &c.Direction, &c.Policy, &interval, &c.Enabled, &c.State, &c.Reason, &nextRun, &lastRun,
		&lastOK, &c.Failures, &c.SyncToken, &c.CTag, &created, &modified); err != nil {
		return nil, err
	}
	c.Secret = nonNil(c.Secret)
	c.Interval = time.Duration(interval)
	c.NextRun = fromNullMicros(nextRun)
	c.LastRun = fromNullMicros(lastRun)
	c.LastOK = fromNullMicros(lastOK)
	c.Created = fromNullMicros(created)
	c.Modified = fromNullMicros(modified)
	return &c, nil
}

// GetConnector implements store.Connectors.
func (t Tx) GetConnector(ctx context.Context, id int64) (*store.Connector, error) {
	c, err := first(ctx, t, scanConnector, `SELECT `+connectorColumns+` FROM connectors WHERE id = ?`, id)
	if err != nil {
		return nil, t.errorf("connector %d: %w", id, err)
	}
	return c, nil
}

// ListConnectors implements store.Connectors.
func (t Tx) ListConnectors(ctx context.Context, owner string) ([]*store.Connector, error) {
	what := fmt.Sprintf("list connectors of %q", owner)
	query, args := `SELECT `+connectorColumns+` FROM connectors WHERE owner = ? ORDER BY id`, []any{owner}
	if owner == "" {
		what, query, args = "list connectors", `SELECT `+connectorColumns+` FROM connectors ORDER BY id`, nil
	}
	cs, err := collect(ctx, t, scanConnector, query, args...)
	if err != nil {
		return nil, t.errorf("%s: %w", what, err)
	}
	return cs, nil
}

// UpdateConnector implements store.Connectors.
func (t Tx) UpdateConnector(ctx context.Context, c *store.Connector) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("update connector %d", c.ID)
	if err := t.checkConnectorCollection(ctx, what, c); err != nil {
		return err
	}
	now := t.now()
	truncateConnectorTimes(c)
	n, err := t.Q.Exec(ctx, `UPDATE connectors SET name = ?, collection_id = ?, kind = ?, url = ?,
		username = ?, secret = ?, auth_type = ?, direction = ?, policy = ?, interval_ns = ?, enabled = ?,
		state = ?, reason = ?, next_run_us = ?, last_run_us = ?, last_ok_us = ?, failures = ?,
		sync_token = ?, ctag = ?, modified_us = ? WHERE id = ?`,
		c.Name, c.CollectionID, c.Kind, c.URL, c.Username, nonNil(c.Secret), c.AuthType, c.Direction, c.Policy,
		int64(c.Interval), c.Enabled, c.State, c.Reason, nullMicros(c.NextRun), nullMicros(c.LastRun),
		nullMicros(c.LastOK), c.Failures, c.SyncToken, c.CTag, micros(now), c.ID)
	if v, _ := t.violated(err); v == ForeignKeyViolation {
		return t.connectorWriteError(what, c, err)
	}
	if err := t.expectRow(n, err, what); err != nil {
		return err
	}
	c.Modified = now
	return nil
}

// DeleteConnector implements store.Connectors.
func (t Tx) DeleteConnector(ctx context.Context, id int64) error {
	if err := t.writable(); err != nil {
		return err
	}
	// Items, runs and conflicts go by ON DELETE CASCADE.
	n, err := t.Q.Exec(ctx, `DELETE FROM connectors WHERE id = ?`, id)
	return t.expectRow(n, err, fmt.Sprintf("delete connector %d", id))
}

// Item mappings.

// ConnectorItems implements store.Connectors.
func (t Tx) ConnectorItems(ctx context.Context, connectorID int64) ([]*store.ConnectorItem, error) {
	items, err := collect(ctx, t, func(r Rows) (*store.ConnectorItem, error) {
		var it store.ConnectorItem
		return &it, r.Scan(&it.ConnectorID, &it.UID, &it.LocalName, &it.LocalETag, &it.RemoteHref, &it.RemoteETag)
	}, `SELECT connector_id, uid, local_name, local_etag, remote_href, remote_etag
		FROM connector_items WHERE connector_id = ? ORDER BY uid`, connectorID)
	if err != nil {
		return nil, t.errorf("items of connector %d: %w", connectorID, err)
	}
	return items, nil
}

// PutConnectorItem implements store.Connectors.
func (t Tx) PutConnectorItem(ctx context.Context, it *store.ConnectorItem) error {
	if err := t.writable(); err != nil {
		return err
	}
	_, err := t.Q.Exec(ctx, `INSERT INTO connector_items
		(connector_id, uid, local_name, local_etag, remote_href, remote_etag) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (connector_id, uid) DO UPDATE SET local_name = excluded.local_name,
			local_etag = excluded.local_etag, remote_href = excluded.remote_href, remote_etag = excluded.remote_etag`,
		it.ConnectorID, it.UID, it.LocalName, it.LocalETag, it.RemoteHref, it.RemoteETag)
	return t.connectorMissing(fmt.Sprintf("put item %q of connector %d", it.UID, it.ConnectorID), err)
}

// DeleteConnectorItem implements store.Connectors.
func (t Tx) DeleteConnectorItem(ctx context.Context, connectorID int64, uid string) error {
	if err := t.writable(); err != nil {
		return err
	}
	if _, err := t.Q.Exec(ctx, `DELETE FROM connector_items WHERE connector_id = ? AND uid = ?`,
		connectorID, uid); err != nil {
		return t.errorf("delete item %q of connector %d: %w", uid, connectorID, err)
	}
	return nil
}

// Run history.

// AddConnectorRun implements store.Connectors.
func (t Tx) AddConnectorRun(ctx context.Context, r *store.ConnectorRun) error {
	if err := t.writable(); err != nil {
		return err
	}
	started, ended := truncate(r.Started), truncate(r.Ended)
	id, err := t.returning(ctx, `INSERT INTO connector_runs
		(connector_id, started_us, ended_us, node, status, pulled_created, pulled_updated, pulled_deleted,
		pushed_created, pushed_updated, pushed_deleted, conflicts, remote_status, error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.ConnectorID, nullMicros(started), nullMicros(ended), r.Node, r.Status, r.PulledCreated, r.PulledUpdated,
		r.PulledDeleted, r.PushedCreated, r.PushedUpdated, r.PushedDeleted, r.Conflicts, r.RemoteStatus, r.Error)
	if err := t.connectorMissing(fmt.Sprintf("add run of connector %d", r.ConnectorID), err); err != nil {
		return err
	}
	r.ID, r.Started, r.Ended = id, started, ended
	return nil
}

// UpdateConnectorRun implements store.Connectors. It finds the run by ID
// within its connector: a run never moves to another connector.
func (t Tx) UpdateConnectorRun(ctx context.Context, r *store.ConnectorRun) error {
	if err := t.writable(); err != nil {
		return err
	}
	started, ended := truncate(r.Started), truncate(r.Ended)
	n, err := t.Q.Exec(ctx, `UPDATE connector_runs SET started_us = ?, ended_us = ?, node = ?, status = ?,
		pulled_created = ?, pulled_updated = ?, pulled_deleted = ?, pushed_created = ?, pushed_updated = ?,
		pushed_deleted = ?, conflicts = ?, remote_status = ?, error = ? WHERE id = ? AND connector_id = ?`,
		nullMicros(started), nullMicros(ended), r.Node, r.Status, r.PulledCreated, r.PulledUpdated, r.PulledDeleted,
		r.PushedCreated, r.PushedUpdated, r.PushedDeleted, r.Conflicts, r.RemoteStatus, r.Error, r.ID, r.ConnectorID)
	if err := t.expectRow(n, err, fmt.Sprintf("update run %d of connector %d", r.ID, r.ConnectorID)); err != nil {
		return err
	}
	r.Started, r.Ended = started, ended
	return nil
}

// ConnectorRuns implements store.Connectors. It orders by ID: the newest
// run is the one added last, whatever its times say, so a clock that steps
// back cannot hide it. A limit of 0 or less leaves out the LIMIT clause,
// whose "no limit" the dialects spell differently.
func (t Tx) ConnectorRuns(ctx context.Context, connectorID int64, limit int) ([]*store.ConnectorRun, error) {
	query, args := `SELECT id, connector_id, started_us, ended_us, node, status,
		pulled_created, pulled_updated, pulled_deleted, pushed_created, pushed_updated, pushed_deleted, conflicts,
		remote_status, error
		FROM connector_runs WHERE connector_id = ? ORDER BY id DESC`, []any{connectorID}
	if limit > 0 {
		query, args = query+` LIMIT ?`, append(args, int64(limit))
	}
	runs, err := collect(ctx, t, func(row Rows) (*store.ConnectorRun, error) {
		var r store.ConnectorRun
		var started, ended *int64
		err := row.Scan(&r.ID, &r.ConnectorID, &started, &ended, &r.Node, &r.Status, &r.PulledCreated,
			&r.PulledUpdated, &r.PulledDeleted, &r.PushedCreated, &r.PushedUpdated, &r.PushedDeleted, &r.Conflicts,
			&r.RemoteStatus, &r.Error)
		r.Started = fromNullMicros(started)
		r.Ended = fromNullMicros(ended)
		return &r, err
	}, query, args...)
	if err != nil {
		return nil, t.errorf("runs of connector %d: %w", connectorID, err)
	}
	return runs, nil
}

// Conflicts.

// AddConnectorConflict implements store.Connectors. It keeps c.Created
// when given and stamps now otherwise, like User.Created.
func (t Tx) AddConnectorConflict(ctx context.Context, c *store.ConnectorConflict) error {
	if err := t.writable(); err != nil {
		return err
	}
	created := c.Created
	if created.IsZero() {
		created = t.now()
	}
	created = truncate(created)
	id, err := t.returning(ctx, `INSERT INTO connector_conflicts (connector_id, run_id, uid, side, data, created_us)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		c.ConnectorID, c.RunID, c.UID, c.Side, nonNil(c.Data), micros(created))
	if err := t.connectorMissing(fmt.Sprintf("add conflict %q of connector %d", c.UID, c.ConnectorID), err); err != nil {
		return err
	}
	c.ID, c.Created = id, created
	return nil
}

// ConnectorConflicts implements store.Connectors. It orders by ID, newest
// first, for the reason ConnectorRuns does.
func (t Tx) ConnectorConflicts(ctx context.Context, connectorID int64) ([]*store.ConnectorConflict, error) {
	cs, err := collect(ctx, t, func(r Rows) (*store.ConnectorConflict, error) {
		var c store.ConnectorConflict
		var created *int64
		err := r.Scan(&c.ID, &c.ConnectorID, &c.RunID, &c.UID, &c.Side, &c.Data, &created)
		c.Data = nonNil(c.Data)
		c.Created = fromNullMicros(created)
		return &c, err
	}, `SELECT id, connector_id, run_id, uid, side, data, created_us
		FROM connector_conflicts WHERE connector_id = ? ORDER BY id DESC`, connectorID)
	if err != nil {
		return nil, t.errorf("conflicts of connector %d: %w", connectorID, err)
	}
	return cs, nil
}

// Permissions.

// SetConnectorPermission implements store.Connectors.
func (t Tx) SetConnectorPermission(ctx context.Context, p *store.ConnectorPermission) error {
	if err := t.writable(); err != nil {
		return err
	}
	if _, err := t.Q.Exec(ctx, `INSERT INTO connector_permissions (subject, allowed) VALUES (?, ?)
		ON CONFLICT (subject) DO UPDATE SET allowed = excluded.allowed`, p.Subject, p.Allowed); err != nil {
		return t.errorf("set connector permission of %q: %w", p.Subject, err)
	}
	return nil
}

// DeleteConnectorPermission implements store.Connectors.
func (t Tx) DeleteConnectorPermission(ctx context.Context, subject string) error {
	if err := t.writable(); err != nil {
		return err
	}
	if _, err := t.Q.Exec(ctx, `DELETE FROM connector_permissions WHERE subject = ?`, subject); err != nil {
		return t.errorf("delete connector permission of %q: %w", subject, err)
	}
	return nil
}

// ConnectorPermissions implements store.Connectors.
func (t Tx) ConnectorPermissions(ctx context.Context) ([]*store.ConnectorPermission, error) {
	ps, err := collect(ctx, t, func(r Rows) (*store.ConnectorPermission, error) {
		var p store.ConnectorPermission
		return &p, r.Scan(&p.Subject, &p.Allowed)
	}, `SELECT subject, allowed FROM connector_permissions ORDER BY subject`)
	if err != nil {
		return nil, t.errorf("connector permissions: %w", err)
	}
	return ps, nil
}
