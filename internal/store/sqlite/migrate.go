package sqlite

import (
	"context"
	"fmt"

	"koyomi.dev/koyomi/internal/store/sqlshared"
)

// migrations returns the schema steps in order; step i brings the schema to
// version i+1. Steps are append-only: once released, a step is never edited,
// only followed by another.
//
// Times are INTEGER unix microseconds in UTC; NULL stands for the zero time.
func migrations() []string {
	return []string{
		// 1: initial schema.
		`
CREATE TABLE users (
	name          TEXT PRIMARY KEY,
	display_name  TEXT NOT NULL DEFAULT '',
	email         TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL DEFAULT '',
	created       INTEGER
);

CREATE TABLE collections (
	id           INTEGER PRIMARY KEY,
	owner        TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE ON UPDATE CASCADE,
	name         TEXT NOT NULL,
	kind         TEXT NOT NULL,
	display_name TEXT NOT NULL DEFAULT '',
	description  TEXT NOT NULL DEFAULT '',
	color        TEXT NOT NULL DEFAULT '',
	ord          INTEGER NOT NULL DEFAULT 0,
	timezone     TEXT NOT NULL DEFAULT '',
	components   TEXT NOT NULL DEFAULT '',
	revision     INTEGER NOT NULL DEFAULT 0,
	created      INTEGER,
	modified     INTEGER,
	UNIQUE (owner, name)
);

CREATE TABLE objects (
	id            INTEGER PRIMARY KEY,
	collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
	name          TEXT NOT NULL,
	etag          TEXT NOT NULL,
	content_type  TEXT NOT NULL DEFAULT '',
	uid           TEXT NOT NULL DEFAULT '',
	component     TEXT NOT NULL DEFAULT '',
	data          BLOB,
	size          INTEGER NOT NULL,
	modified      INTEGER,
	-- has_span = 0: the object has no time and matches every range.
	-- span_end NULL with has_span = 1: the object never ends.
	has_span      INTEGER NOT NULL DEFAULT 0,
	span_start    INTEGER,
	span_end      INTEGER,
	recurring     INTEGER NOT NULL DEFAULT 0,
	indexed_until INTEGER,
	UNIQUE (collection_id, name)
);
CREATE INDEX objects_uid ON objects (collection_id, uid);
CREATE INDEX objects_span ON objects (collection_id, span_start, span_end);

CREATE TABLE occurrences (
	object_id     INTEGER NOT NULL REFERENCES objects(id) ON DELETE CASCADE,
	collection_id INTEGER NOT NULL,
	start_us      INTEGER NOT NULL,
	end_us        INTEGER NOT NULL
);
CREATE INDEX occurrences_start ON occurrences (collection_id, start_us);
CREATE INDEX occurrences_object ON occurrences (object_id);

-- One row per name ever present in a collection: its latest change. Keeping
-- only the latest bounds the log by the number of names, while still
-- answering "what changed since revision r" exactly.
CREATE TABLE changes (
	collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
	name          TEXT NOT NULL,
	revision      INTEGER NOT NULL,
	deleted       INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (collection_id, name)
) WITHOUT ROWID;
CREATE INDEX changes_revision ON changes (collection_id, revision);

CREATE TABLE properties (
	path      TEXT NOT NULL,
	namespace TEXT NOT NULL,
	local     TEXT NOT NULL,
	xml       BLOB NOT NULL,
	PRIMARY KEY (path, namespace, local)
) WITHOUT ROWID;
`,
		// 2: cluster coordination: leases for periodic jobs and the shared
		// set of WebDAV locks.
		`
CREATE TABLE leases (
	name       TEXT PRIMARY KEY,
	holder     TEXT NOT NULL,
	expires_us INTEGER NOT NULL
) WITHOUT ROWID;

-- expires_us NULL: the lock never expires.
CREATE TABLE dav_locks (
	token      TEXT PRIMARY KEY,
	root       TEXT NOT NULL,
	infinite   INTEGER NOT NULL,
	exclusive  INTEGER NOT NULL,
	owner      BLOB NOT NULL,
	principal  TEXT NOT NULL,
	timeout_us INTEGER NOT NULL,
	expires_us INTEGER
) WITHOUT ROWID;
`,
		// 3: virtual calendars, groups and memberships.
		`
CREATE TABLE groups (
	name         TEXT PRIMARY KEY,
	display_name TEXT NOT NULL DEFAULT '',
	keep_past    INTEGER NOT NULL DEFAULT 0,
	created_us   INTEGER
) WITHOUT ROWID;

-- left_us NULL: still a member. Rows go with their group or user.
CREATE TABLE memberships (
	group_name    TEXT NOT NULL REFERENCES groups(name) ON DELETE CASCADE,
	user_name     TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE ON UPDATE CASCADE,
	joined_us     INTEGER,
	left_us       INTEGER,
	contributions BLOB NOT NULL,
	PRIMARY KEY (group_name, user_name)
) WITHOUT ROWID;
CREATE INDEX memberships_user ON memberships (user_name, group_name);

-- owner is a user name or "group:NAME", which no foreign key can follow:
-- DeleteUser and DeleteGroup delete the rows themselves. shared_with is a
-- JSON array of strings.
CREATE TABLE virtual_calendars (
	id           INTEGER PRIMARY KEY,
	owner        TEXT NOT NULL,
	name         TEXT NOT NULL,
	display_name TEXT NOT NULL DEFAULT '',
	color        TEXT NOT NULL DEFAULT '',
	definition   BLOB NOT NULL,
	shared_with  TEXT NOT NULL DEFAULT '[]',
	version      INTEGER NOT NULL,
	created_us   INTEGER,
	modified_us  INTEGER,
	UNIQUE (owner, name)
);
`,
		// 4: bounded time-range lookups (see rangeQuery). Occurrence rows
		// learn whether their object recurs, so that the range query need
		// not join objects: only recurring objects' occurrences count, and
		// they are the only ones the domain writes, hence the default.
		// Periods longer than a day (86400000000 µs) and open-ended spans
		// get partial indexes keyed by their end; shorter ones are found
		// through the start indexes. rangeQuery repeats the WHERE clauses
		// verbatim: SQLite uses a partial index only for a query that
		// states its condition.
		`
ALTER TABLE occurrences ADD COLUMN recurring INTEGER NOT NULL DEFAULT 1;
UPDATE occurrences SET recurring = 0 WHERE object_id IN (SELECT id FROM objects WHERE recurring = 0);
CREATE INDEX occurrences_long ON occurrences (collection_id, end_us)
	WHERE recurring = 1 AND end_us - start_us > 86400000000;
CREATE INDEX objects_long ON objects (collection_id, span_end)
	WHERE recurring = 0 AND has_span = 1 AND (span_end IS NULL OR span_end - span_start > 86400000000);
CREATE INDEX objects_indexed_until ON objects (collection_id, indexed_until)
	WHERE recurring = 1 AND indexed_until IS NOT NULL;
`,
		// 5: app passwords, one per device, revocable on their own. hash
		// is the hex SHA-256 of the secret; the secret itself is never
		// stored.
		`
CREATE TABLE app_passwords (
	id           INTEGER PRIMARY KEY,
	user_name    TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE ON UPDATE CASCADE,
	label        TEXT NOT NULL DEFAULT '',
	hash         TEXT NOT NULL,
	created_us   INTEGER NOT NULL,
	last_used_us INTEGER
);
CREATE INDEX app_passwords_user ON app_passwords (user_name, id);
`,
		// 6: connectors, their item mappings, run history and conflicts,
		// and the administrators' connector permissions. A connector goes
		// with its owner and with its local calendar, and takes its items,
		// runs and conflicts with it, all by ON DELETE CASCADE. interval_ns
		// is a duration in nanoseconds, which round-trips exactly. run_id
		// of a conflict is a plain reference: the history it names may be
		// pruned before the conflict is. AUTOINCREMENT: IDs are never
		// reused, so a run still going for a deleted connector can never
		// write into a newer one.
		`
CREATE TABLE connectors (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	owner         TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE ON UPDATE CASCADE,
	name          TEXT NOT NULL DEFAULT '',
	collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
	kind          TEXT NOT NULL DEFAULT '',
	url           TEXT NOT NULL DEFAULT '',
	username      TEXT NOT NULL DEFAULT '',
	secret        BLOB NOT NULL,
	auth_type     TEXT NOT NULL DEFAULT '',
	direction     TEXT NOT NULL DEFAULT '',
	policy        TEXT NOT NULL DEFAULT '',
	interval_ns   INTEGER NOT NULL DEFAULT 0,
	enabled       INTEGER NOT NULL DEFAULT 0,
	state         TEXT NOT NULL DEFAULT '',
	reason        TEXT NOT NULL DEFAULT '',
	next_run_us   INTEGER,
	last_run_us   INTEGER,
	last_ok_us    INTEGER,
	failures      INTEGER NOT NULL DEFAULT 0,
	sync_token    TEXT NOT NULL DEFAULT '',
	ctag          TEXT NOT NULL DEFAULT '',
	created_us    INTEGER NOT NULL,
	modified_us   INTEGER NOT NULL
);
CREATE INDEX connectors_owner ON connectors (owner, id);
CREATE INDEX connectors_collection ON connectors (collection_id);

CREATE TABLE connector_items (
	connector_id INTEGER NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
	uid          TEXT NOT NULL,
	local_name   TEXT NOT NULL DEFAULT '',
	local_etag   TEXT NOT NULL DEFAULT '',
	remote_href  TEXT NOT NULL DEFAULT '',
	remote_etag  TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (connector_id, uid)
) WITHOUT ROWID;

-- ended_us NULL: still running.
CREATE TABLE connector_runs (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	connector_id   INTEGER NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
	started_us     INTEGER,
	ended_us       INTEGER,
	node           TEXT NOT NULL DEFAULT '',
	status         TEXT NOT NULL DEFAULT '',
	pulled_created INTEGER NOT NULL DEFAULT 0,
	pulled_updated INTEGER NOT NULL DEFAULT 0,
	pulled_deleted INTEGER NOT NULL DEFAULT 0,
	pushed_created INTEGER NOT NULL DEFAULT 0,
	pushed_updated INTEGER NOT NULL DEFAULT 0,
	pushed_deleted INTEGER NOT NULL DEFAULT 0,
	conflicts      INTEGER NOT NULL DEFAULT 0,
	remote_status  INTEGER NOT NULL DEFAULT 0,
	error          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX connector_runs_connector ON connector_runs (connector_id, id);

CREATE TABLE connector_conflicts (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	connector_id INTEGER NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
	run_id       INTEGER NOT NULL DEFAULT 0,
	uid          TEXT NOT NULL DEFAULT '',
	side         TEXT NOT NULL DEFAULT '',
	data         BLOB NOT NULL,
	created_us   INTEGER NOT NULL
);
CREATE INDEX connector_conflicts_connector ON connector_conflicts (connector_id, id);

CREATE TABLE connector_permissions (
	subject TEXT PRIMARY KEY,
	allowed INTEGER NOT NULL
) WITHOUT ROWID;
`,
		// 7: covering indexes for rangeQuery's two busiest branches (short
		// occurrences and short single events by their start), so that a
		// time-range lookup reads index pages only, not a table row per
		// candidate. Their WHERE clauses are rangeQuery's, as SQLite needs.
		`
CREATE INDEX occurrences_cover ON occurrences (collection_id, start_us, end_us, object_id) WHERE recurring = 1;
CREATE INDEX objects_span_cover ON objects (collection_id, span_start, span_end, id) WHERE has_span = 1 AND recurring = 0;
`,
		// 8: a covering index for listing a collection without data
		// (PROPFIND Depth 1, sync-collection, ETag checks): in name order
		// with every column but data, so the listing reads index pages
		// only instead of a table page, full of other objects' data, per
		// object. It covers the UID lookups too, which then read the whole
		// collection through it; objects_uid gains the name, so that it
		// covers them with both columns and stays the cheaper plan.
		// occurrences_start goes: every occurrence lookup since migration 7
		// reads occurrences_cover, and each occurrence row written paid for
		// both.
		`
DROP INDEX occurrences_start;
DROP INDEX objects_uid;
CREATE INDEX objects_uid ON objects (collection_id, uid, name);
CREATE INDEX objects_list ON objects (collection_id, name, id, etag, content_type, uid, component, size, modified,
	has_span, span_start, span_end, recurring, indexed_until);
`,
		// 9: group administrators; each viewer's subscription to a virtual
		// calendar (their own name, colour, order, hidden flag, listing);
		// each viewer's sync log of a virtual calendar: what they were
		// served under each name, with tombstones, so that incremental sync
		// names only what they could see. Rows go with the virtual calendar
		// and with the viewer.
		`
ALTER TABLE memberships ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;

CREATE TABLE vc_subscriptions (
	vc_id        INTEGER NOT NULL REFERENCES virtual_calendars(id) ON DELETE CASCADE,
	viewer       TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE ON UPDATE CASCADE,
	display_name TEXT NOT NULL DEFAULT '',
	color        TEXT NOT NULL DEFAULT '',
	sort_order   INTEGER NOT NULL DEFAULT 0,
	hidden       INTEGER NOT NULL DEFAULT 0,
	subscribed   INTEGER NOT NULL DEFAULT 1,
	PRIMARY KEY (vc_id, viewer)
) WITHOUT ROWID;
CREATE INDEX vc_subscriptions_viewer ON vc_subscriptions (viewer, vc_id);

CREATE TABLE vc_sync_state (
	vc_id    INTEGER NOT NULL REFERENCES virtual_calendars(id) ON DELETE CASCADE,
	viewer   TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE ON UPDATE CASCADE,
	key      TEXT NOT NULL DEFAULT '',
	sources  TEXT NOT NULL DEFAULT '',
	revision INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (vc_id, viewer)
) WITHOUT ROWID;

CREATE TABLE vc_sync_members (
	vc_id       INTEGER NOT NULL,
	viewer      TEXT NOT NULL,
	name        TEXT NOT NULL,
	etag        TEXT NOT NULL DEFAULT '',
	revision    INTEGER NOT NULL,
	first_seen  INTEGER NOT NULL,
	deleted     INTEGER NOT NULL DEFAULT 0,
	modified_us INTEGER,
	PRIMARY KEY (vc_id, viewer, name),
	FOREIGN KEY (vc_id, viewer) REFERENCES vc_sync_state(vc_id, viewer) ON DELETE CASCADE ON UPDATE CASCADE
) WITHOUT ROWID;
CREATE INDEX vc_sync_members_revision ON vc_sync_members (vc_id, viewer, revision);
`,
		// 10: the language a client gave a collection's description
		// (xml:lang of calendar-description and addressbook-description).
		`ALTER TABLE collections ADD COLUMN description_lang TEXT NOT NULL DEFAULT '';`,
		// 11: an object's name as the client spelled it in its URL, kept
		// with the object and its change log entry; the covering index for
		// listings gains it.
		`
ALTER TABLE objects ADD COLUMN href TEXT NOT NULL DEFAULT '';
ALTER TABLE changes ADD COLUMN href TEXT NOT NULL DEFAULT '';
DROP INDEX objects_list;
CREATE INDEX objects_list ON objects (collection_id, name, id, etag, content_type, uid, component, size, modified,
	has_span, span_start, span_end, recurring, indexed_until, href);
`,
		// 12: sharing: grants on collections, each sharee's own settings,
		// delegates (calendar proxies), public links; a phone number in
		// user profiles for the directory. The DDL is shared with the other
		// store (sqlshared.Schema).
		sqlshared.Schema("INTEGER"),
		// 13: dead properties keyed by IDs instead of URL paths (see
		// sqlshared.PropertyKeys); the path column becomes key.
		sqlshared.PropertyKeys("TEXT"),
		// 14: the trash: deleted objects, collections and users kept for
		// a while so that they can be restored (sqlshared.TrashSchema).
		sqlshared.TrashSchema("INTEGER PRIMARY KEY AUTOINCREMENT", "TEXT", "BLOB"),
		// 15: revoked app passwords are kept, so that a device still using
		// one is told apart from a wrong password.
		`ALTER TABLE app_passwords ADD COLUMN revoked_us INTEGER;`,
		// 16: PutObject's UID check reads the other object's href since
		// 11, which objects_uid lacked: the planner read the whole
		// collection through objects_list instead, for every write of an
		// object with a UID. objects_uid gains href and covers the check.
		`
DROP INDEX objects_uid;
CREATE INDEX objects_uid ON objects (collection_id, uid, name, href);
`,
		// 17: a collection's or a virtual calendar's ID is never given
		// again. SQLite gives a new row the largest rowid plus one, so
		// deleting the newest freed its ID for the next, and a client's
		// sync token of the old one (urn:koyomi:sync:ID:REV,
		// urn:koyomi:view:ID:REV) read as one of the new. id_high_water
		// keeps the highest ID ever given, per table (see nextID).
		`
CREATE TABLE id_high_water (tbl TEXT PRIMARY KEY, last INTEGER NOT NULL);
INSERT INTO id_high_water SELECT 'collections', coalesce(max(id), 0) FROM collections;
INSERT INTO id_high_water SELECT 'virtual_calendars', coalesce(max(id), 0) FROM virtual_calendars;
`,
	}
}

// Migrate brings the schema up to the newest version this binary knows, in
// one transaction. It is idempotent and runs on every Open; it refuses a
// database written by a newer binary.
func (db *DB) Migrate(ctx context.Context) error {
	steps := migrations()
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: begin: %w", err)
	}
	defer tx.Rollback()

	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version INTEGER PRIMARY KEY,
		applied INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&current); err != nil {
		return fmt.Errorf("sqlite: migrate: read version: %w", err)
	}
	if current > len(steps) {
		return fmt.Errorf("sqlite: migrate: database schema version %d is newer than this program's %d; upgrade Koyomi", current, len(steps))
	}
	for v := current + 1; v <= len(steps); v++ {
		if _, err := tx.ExecContext(ctx, steps[v-1]); err != nil {
			return fmt.Errorf("sqlite: migrate to version %d: %w", v, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version, applied) VALUES (?, ?)`,
			v, db.now().UTC().UnixMicro()); err != nil {
			return fmt.Errorf("sqlite: migrate to version %d: %w", v, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: migrate: commit: %w", err)
	}
	if current < len(steps) {
		db.log.InfoContext(ctx, "database schema migrated", "path", db.path, "from", current, "to", len(steps))
	}
	return nil
}

// SchemaVersion is the schema version Migrate brings a database to.
func SchemaVersion() int { return len(migrations()) }

// SchemaVersion implements store.SchemaVersioner.
func (db *DB) SchemaVersion(ctx context.Context) (have, want int, err error) {
	if err := db.reader.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&have); err != nil {
		return 0, 0, fmt.Errorf("sqlite: read schema version: %w", err)
	}
	return have, len(migrations()), nil
}
