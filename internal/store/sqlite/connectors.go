package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// Connectors, their item mappings, run history, conflicts and permissions.

// isForeignKeyViolation reports a FOREIGN KEY constraint failure.
func isForeignKeyViolation(err error) bool {
	var coded interface{ Code() int }
	if !errors.As(err, &coded) {
		return false
	}
	const sqliteConstraintForeignKey = 787
	return coded.Code() == sqliteConstraintForeignKey
}

func (t *tx) collectionExists(ctx context.Context, id int64) (bool, error) {
	var one int
	err := t.tx.QueryRowContext(ctx, `SELECT 1 FROM collections WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// truncateConnectorTimes brings the caller's times to the stored precision,
// so that c equals what a later read returns.
func truncateConnectorTimes(c *store.Connector) {
	c.NextRun = truncate(c.NextRun)
	c.LastRun = truncate(c.LastRun)
	c.LastOK = truncate(c.LastOK)
}

func (t *tx) CreateConnector(ctx context.Context, c *store.Connector) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("create connector %q of %q", c.Name, c.Owner)
	// Checked before the insert to say which one is missing; the foreign
	// keys stand behind the checks.
	ok, err := t.userExists(ctx, c.Owner)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if !ok {
		return fmt.Errorf("sqlite: %s: owner: %w", what, store.ErrNotFound)
	}
	if ok, err = t.collectionExists(ctx, c.CollectionID); err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if !ok {
		return fmt.Errorf("sqlite: %s: collection %d: %w", what, c.CollectionID, store.ErrNotFound)
	}
	now := truncate(t.now())
	truncateConnectorTimes(c)
	var id int64
	err = t.tx.QueryRowContext(ctx, `INSERT INTO connectors
		(owner, name, collection_id, kind, url, username, secret, auth_type, direction, policy, interval_ns,
		enabled, state, reason, next_run_us, last_run_us, last_ok_us, failures, sync_token, ctag, created_us, modified_us)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		c.Owner, c.Name, c.CollectionID, c.Kind, c.URL, c.Username, nonNil(c.Secret), c.AuthType, c.Direction,
		c.Policy, int64(c.Interval), c.Enabled, c.State, c.Reason, micros(c.NextRun), micros(c.LastRun),
		micros(c.LastOK), c.Failures, c.SyncToken, c.CTag, micros(now), micros(now)).Scan(&id)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	c.ID = id
	c.Created = now
	c.Modified = now
	return nil
}

const connectorColumns = `id, owner, name, collection_id, kind, url, username, secret, auth_type, direction, policy,
	interval_ns, enabled, state, reason, next_run_us, last_run_us, last_ok_us, failures, sync_token, ctag,
	created_us, modified_us`

func scanConnector(row interface{ Scan(...any) error }) (*store.Connector, error) {
	var c store.Connector
	var interval int64
	var nextRun, lastRun, lastOK, created, modified sql.NullInt64
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
	c, err := scanConnector(t.tx.QueryRowContext(ctx, `SELECT `+connectorColumns+` FROM connectors WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: connector %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get connector %d: %w", id, err)
	}
	return c, nil
}

func (t *tx) ListConnectors(ctx context.Context, owner string) ([]*store.Connector, error) {
	what := fmt.Sprintf("list connectors of %q", owner)
	query, args := `SELECT `+connectorColumns+` FROM connectors WHERE owner = ? ORDER BY id`, []any{owner}
	if owner == "" {
		what, query, args = "list connectors", `SELECT `+connectorColumns+` FROM connectors ORDER BY id`, nil
	}
	rows, err := t.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	defer rows.Close()
	var cs []*store.Connector
	for rows.Next() {
		c, err := scanConnector(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", what, err)
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return cs, nil
}

func (t *tx) UpdateConnector(ctx context.Context, c *store.Connector) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("update connector %d", c.ID)
	ok, err := t.collectionExists(ctx, c.CollectionID)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if !ok {
		return fmt.Errorf("sqlite: %s: collection %d: %w", what, c.CollectionID, store.ErrNotFound)
	}
	now := truncate(t.now())
	truncateConnectorTimes(c)
	res, err := t.tx.ExecContext(ctx, `UPDATE connectors SET name = ?, collection_id = ?, kind = ?, url = ?,
		username = ?, secret = ?, auth_type = ?, direction = ?, policy = ?, interval_ns = ?, enabled = ?, state = ?,
		reason = ?, next_run_us = ?, last_run_us = ?, last_ok_us = ?, failures = ?, sync_token = ?, ctag = ?,
		modified_us = ? WHERE id = ?`,
		c.Name, c.CollectionID, c.Kind, c.URL, c.Username, nonNil(c.Secret), c.AuthType, c.Direction, c.Policy,
		int64(c.Interval), c.Enabled, c.State, c.Reason, micros(c.NextRun), micros(c.LastRun), micros(c.LastOK),
		c.Failures, c.SyncToken, c.CTag, micros(now), c.ID)
	if err := expectOneRow(res, err, what); err != nil {
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
	res, err := t.tx.ExecContext(ctx, `DELETE FROM connectors WHERE id = ?`, id)
	return expectOneRow(res, err, fmt.Sprintf("delete connector %d", id))
}

// Item mappings.

func (t *tx) ConnectorItems(ctx context.Context, connectorID int64) ([]*store.ConnectorItem, error) {
	what := fmt.Sprintf("items of connector %d", connectorID)
	rows, err := t.tx.QueryContext(ctx, `SELECT connector_id, uid, local_name, local_etag, remote_href, remote_etag
		FROM connector_items WHERE connector_id = ? ORDER BY uid`, connectorID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	defer rows.Close()
	var items []*store.ConnectorItem
	for rows.Next() {
		var it store.ConnectorItem
		if err := rows.Scan(&it.ConnectorID, &it.UID, &it.LocalName, &it.LocalETag, &it.RemoteHref, &it.RemoteETag); err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", what, err)
		}
		items = append(items, &it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return items, nil
}

func (t *tx) PutConnectorItem(ctx context.Context, it *store.ConnectorItem) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("put item %q of connector %d", it.UID, it.ConnectorID)
	_, err := t.tx.ExecContext(ctx, `INSERT INTO connector_items
		(connector_id, uid, local_name, local_etag, remote_href, remote_etag) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (connector_id, uid) DO UPDATE SET local_name = excluded.local_name,
			local_etag = excluded.local_etag, remote_href = excluded.remote_href, remote_etag = excluded.remote_etag`,
		it.ConnectorID, it.UID, it.LocalName, it.LocalETag, it.RemoteHref, it.RemoteETag)
	if isForeignKeyViolation(err) {
		return fmt.Errorf("sqlite: %s: connector: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return nil
}

func (t *tx) DeleteConnectorItem(ctx context.Context, connectorID int64, uid string) error {
	if err := t.writable(); err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM connector_items WHERE connector_id = ? AND uid = ?`,
		connectorID, uid); err != nil {
		return fmt.Errorf("sqlite: delete item %q of connector %d: %w", uid, connectorID, err)
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
	err := t.tx.QueryRowContext(ctx, `INSERT INTO connector_runs
		(connector_id, started_us, ended_us, node, status, pulled_created, pulled_updated, pulled_deleted,
		pushed_created, pushed_updated, pushed_deleted, conflicts, remote_status, error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.ConnectorID, micros(started), micros(ended), r.Node, r.Status, r.PulledCreated, r.PulledUpdated,
		r.PulledDeleted, r.PushedCreated, r.PushedUpdated, r.PushedDeleted, r.Conflicts, r.RemoteStatus,
		r.Error).Scan(&id)
	if isForeignKeyViolation(err) {
		return fmt.Errorf("sqlite: %s: connector: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
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
	res, err := t.tx.ExecContext(ctx, `UPDATE connector_runs SET started_us = ?, ended_us = ?, node = ?, status = ?,
		pulled_created = ?, pulled_updated = ?, pulled_deleted = ?, pushed_created = ?, pushed_updated = ?,
		pushed_deleted = ?, conflicts = ?, remote_status = ?, error = ? WHERE id = ? AND connector_id = ?`,
		micros(started), micros(ended), r.Node, r.Status, r.PulledCreated, r.PulledUpdated, r.PulledDeleted,
		r.PushedCreated, r.PushedUpdated, r.PushedDeleted, r.Conflicts, r.RemoteStatus, r.Error, r.ID, r.ConnectorID)
	if err := expectOneRow(res, err, fmt.Sprintf("update run %d of connector %d", r.ID, r.ConnectorID)); err != nil {
		return err
	}
	r.Started, r.Ended = started, ended
	return nil
}

// ConnectorRuns orders by ID: the newest run is the one added last,
// whatever its times say, so a clock that steps back cannot hide it.
func (t *tx) ConnectorRuns(ctx context.Context, connectorID int64, limit int) ([]*store.ConnectorRun, error) {
	what := fmt.Sprintf("runs of connector %d", connectorID)
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT id, connector_id, started_us, ended_us, node, status,
		pulled_created, pulled_updated, pulled_deleted, pushed_created, pushed_updated, pushed_deleted, conflicts,
		remote_status, error
		FROM connector_runs WHERE connector_id = ? ORDER BY id DESC LIMIT ?`, connectorID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	defer rows.Close()
	var runs []*store.ConnectorRun
	for rows.Next() {
		var r store.ConnectorRun
		var started, ended sql.NullInt64
		if err := rows.Scan(&r.ID, &r.ConnectorID, &started, &ended, &r.Node, &r.Status, &r.PulledCreated,
			&r.PulledUpdated, &r.PulledDeleted, &r.PushedCreated, &r.PushedUpdated, &r.PushedDeleted, &r.Conflicts,
			&r.RemoteStatus, &r.Error); err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", what, err)
		}
		r.Started = fromMicros(started)
		r.Ended = fromMicros(ended)
		runs = append(runs, &r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
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
	err := t.tx.QueryRowContext(ctx, `INSERT INTO connector_conflicts (connector_id, run_id, uid, side, data, created_us)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		c.ConnectorID, c.RunID, c.UID, c.Side, nonNil(c.Data), micros(created)).Scan(&id)
	if isForeignKeyViolation(err) {
		return fmt.Errorf("sqlite: %s: connector: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	c.ID = id
	c.Created = created
	return nil
}

// ConnectorConflicts orders by ID, newest first, for the reason
// ConnectorRuns does.
func (t *tx) ConnectorConflicts(ctx context.Context, connectorID int64) ([]*store.ConnectorConflict, error) {
	what := fmt.Sprintf("conflicts of connector %d", connectorID)
	rows, err := t.tx.QueryContext(ctx, `SELECT id, connector_id, run_id, uid, side, data, created_us
		FROM connector_conflicts WHERE connector_id = ? ORDER BY id DESC`, connectorID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	defer rows.Close()
	var cs []*store.ConnectorConflict
	for rows.Next() {
		var c store.ConnectorConflict
		var created sql.NullInt64
		if err := rows.Scan(&c.ID, &c.ConnectorID, &c.RunID, &c.UID, &c.Side, &c.Data, &created); err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", what, err)
		}
		c.Data = nonNil(c.Data)
		c.Created = fromMicros(created)
		cs = append(cs, &c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return cs, nil
}

// Permissions.

func (t *tx) SetConnectorPermission(ctx context.Context, p *store.ConnectorPermission) error {
	if err := t.writable(); err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO connector_permissions (subject, allowed) VALUES (?, ?)
		ON CONFLICT (subject) DO UPDATE SET allowed = excluded.allowed`, p.Subject, p.Allowed); err != nil {
		return fmt.Errorf("sqlite: set connector permission of %q: %w", p.Subject, err)
	}
	return nil
}

func (t *tx) DeleteConnectorPermission(ctx context.Context, subject string) error {
	if err := t.writable(); err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM connector_permissions WHERE subject = ?`, subject); err != nil {
		return fmt.Errorf("sqlite: delete connector permission of %q: %w", subject, err)
	}
	return nil
}

func (t *tx) ConnectorPermissions(ctx context.Context) ([]*store.ConnectorPermission, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT subject, allowed FROM connector_permissions ORDER BY subject`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: connector permissions: %w", err)
	}
	defer rows.Close()
	var ps []*store.ConnectorPermission
	for rows.Next() {
		var p store.ConnectorPermission
		if err := rows.Scan(&p.Subject, &p.Allowed); err != nil {
			return nil, fmt.Errorf("sqlite: connector permissions: %w", err)
		}
		ps = append(ps, &p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: connector permissions: %w", err)
	}
	return ps, nil
}
