package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/sqlshared"
)

// errReadOnly is returned by write methods called inside View.
var errReadOnly = errors.New("sqlite: write in a read-only transaction")

// tx implements store.Tx on one database/sql transaction.
type tx struct {
	db       *DB
	tx       *sql.Tx
	readOnly bool
	// Tx runs the statements both stores share (see sqlshared).
	sqlshared.Tx
}

func (db *DB) newTx(sqlTx *sql.Tx, readOnly bool) *tx {
	return &tx{db: db, tx: sqlTx, readOnly: readOnly,
		Tx: sqlshared.Tx{Q: querier{sqlTx}, Name: "sqlite", ReadOnly: readOnly, Now: db.now,
			Violated: violated, CheckReferences: true, Lists: jsonLists{},
			NextID: func(ctx context.Context, table string) (int64, error) { return nextID(ctx, sqlTx, table) }}}
}

// querier adapts a database/sql transaction to sqlshared.Querier.
type querier struct{ tx *sql.Tx }

func (q querier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := q.tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q querier) Query(ctx context.Context, query string, args ...any) (sqlshared.Rows, error) {
	return q.tx.QueryContext(ctx, query, args...)
}

var _ store.Tx = (*tx)(nil)

// stmtKey names a prepared statement: its query, on the writer or the
// reader pool.
type stmtKey struct {
	query    string
	readOnly bool
}

// preparedQueries are the statements of object writes and lookups, which
// Open prepares (the lookups on both pools): SQLite spends longer parsing
// such a short statement than running it, and a transaction writing many
// objects (an import) runs the same few for each.
var preparedQueries = map[bool][]string{
	false: {findUIDQuery, currentETagQuery, uidHolderQuery, putObjectQuery, deleteOccurrencesQuery,
		insertOccurrenceQuery, bumpRevisionQuery, insertChangeQuery, revisionQuery},
	true: {findUIDQuery, currentETagQuery, uidHolderQuery, revisionQuery},
}

// prepare prepares preparedQueries. It runs before any transaction: the
// writer pool has one connection, which a transaction holds.
func (db *DB) prepare(ctx context.Context) error {
	for _, readOnly := range []bool{false, true} {
		pool := db.writer
		if readOnly {
			pool = db.reader
		}
		for _, q := range preparedQueries[readOnly] {
			s, err := pool.PrepareContext(ctx, q)
			if err != nil {
				return fmt.Errorf("sqlite: prepare %q: %w", q, err)
			}
			db.stmts.Store(stmtKey{q, readOnly}, s)
		}
	}
	return nil
}

// prepared returns query prepared on t's connection (by the first use
// on each connection), or prepares it for this transaction only when it
// is not one of preparedQueries.
func (t *tx) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if v, ok := t.db.stmts.Load(stmtKey{query, t.readOnly}); ok {
		return t.tx.StmtContext(ctx, v.(*sql.Stmt)), nil
	}
	return t.tx.PrepareContext(ctx, query)
}

// queryRow is QueryRowContext of a prepared statement.
func (t *tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := t.prepared(ctx, query)
	if err != nil {
		return t.tx.QueryRowContext(ctx, query, args...) // reports err again, as a Row
	}
	return s.QueryRowContext(ctx, args...)
}

// exec is ExecContext of a prepared statement.
func (t *tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := t.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

func (t *tx) writable() error {
	if t.readOnly {
		return errReadOnly
	}
	return nil
}

func (t *tx) now() time.Time { return t.db.now().UTC() }

// micros converts t to the stored form: unix microseconds, NULL for the zero
// time.
func micros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

// fromMicros is the inverse of micros; it always yields UTC.
func fromMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

// truncate drops what the database cannot keep, so values handed back to the
// caller equal the ones a later read returns.
func truncate(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// jsonLists stores a list of strings as a JSON array, "[]" for none. JSON
// keeps every entry intact whatever characters it holds.
type jsonLists struct{}

func (jsonLists) Encode(list []string) (any, error) {
	if len(list) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(list)
	return string(b), err
}

func (jsonLists) Decoder() (any, func() ([]string, error)) {
	var stored string
	return &stored, func() ([]string, error) {
		var list []string
		if err := json.Unmarshal([]byte(stored), &list); err != nil {
			return nil, err
		}
		if len(list) == 0 {
			return nil, nil
		}
		return list, nil
	}
}

// isUniqueViolation reports a UNIQUE or PRIMARY KEY constraint failure.
func isUniqueViolation(err error) bool {
	var coded interface{ Code() int }
	if !errors.As(err, &coded) {
		return false
	}
	const (
		sqliteConstraintPrimaryKey = 1555
		sqliteConstraintUnique     = 2067
	)
	c := coded.Code()
	return c == sqliteConstraintPrimaryKey || c == sqliteConstraintUnique
}

// isForeignKeyViolation reports a FOREIGN KEY constraint failure.
func isForeignKeyViolation(err error) bool {
	var coded interface{ Code() int }
	if !errors.As(err, &coded) {
		return false
	}
	const sqliteConstraintForeignKey = 787
	return coded.Code() == sqliteConstraintForeignKey
}

// violated classifies a constraint failure for sqlshared. SQLite names no
// violated constraint, so the shared writes check references first.
func violated(err error) (sqlshared.Violation, string) {
	switch {
	case isUniqueViolation(err):
		return sqlshared.UniqueViolation, ""
	case isForeignKeyViolation(err):
		return sqlshared.ForeignKeyViolation, ""
	}
	return sqlshared.NoViolation, ""
}

// Users.

func (t *tx) CreateUser(ctx context.Context, u *store.User) error {
	if err := t.writable(); err != nil {
		return err
	}
	if u.Created.IsZero() {
		u.Created = t.now()
	}
	u.Created = truncate(u.Created)
	_, err := t.tx.ExecContext(ctx, `INSERT INTO users (name, display_name, email, phone, password_hash, created)
		VALUES (?, ?, ?, ?, ?, ?)`, u.Name, u.DisplayName, u.Email, u.Phone, u.PasswordHash, micros(u.Created))
	if isUniqueViolation(err) {
		return fmt.Errorf("sqlite: create user %q: %w", u.Name, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create user %q: %w", u.Name, err)
	}
	return nil
}

const userColumns = `name, display_name, email, phone, password_hash, created`

func scanUser(row interface{ Scan(...any) error }) (*store.User, error) {
	var u store.User
	var created sql.NullInt64
	if err := row.Scan(&u.Name, &u.DisplayName, &u.Email, &u.Phone, &u.PasswordHash, &created); err != nil {
		return nil, err
	}
	u.Created = fromMicros(created)
	return &u, nil
}

func (t *tx) GetUser(ctx context.Context, name string) (*store.User, error) {
	u, err := scanUser(t.tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: user %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get user %q: %w", name, err)
	}
	return u, nil
}

func (t *tx) ListUsers(ctx context.Context) ([]*store.User, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	defer rows.Close()
	var users []*store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list users: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	return users, nil
}

func (t *tx) UpdateUser(ctx context.Context, u *store.User) error {
	if err := t.writable(); err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE users SET display_name = ?, email = ?, phone = ?, password_hash = ? WHERE name = ?`,
		u.DisplayName, u.Email, u.Phone, u.PasswordHash, u.Name)
	return expectOneRow(res, err, "update user "+u.Name)
}

func (t *tx) DeleteUser(ctx context.Context, name string) error {
	if err := t.writable(); err != nil {
		return err
	}
	// Collections, and through them objects, occurrences and change logs,
	// go with the user by ON DELETE CASCADE, as do memberships.
	res, err := t.tx.ExecContext(ctx, `DELETE FROM users WHERE name = ?`, name)
	if err := expectOneRow(res, err, "delete user "+name); err != nil {
		return err
	}
	if err := t.DropGrantee(ctx, "user:"+name); err != nil {
		return err
	}
	return t.DropVirtualCalendarsOf(ctx, name)
}

// expectOneRow turns "no row affected" into ErrNotFound.
func expectOneRow(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: %s: %w", what, store.ErrNotFound)
	}
	return nil
}

// Collections.

func joinComponents(c []string) string { return strings.Join(c, ",") }

func splitComponents(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func (t *tx) userExists(ctx context.Context, name string) (bool, error) {
	var one int
	err := t.tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE name = ?`, name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func (t *tx) CreateCollection(ctx context.Context, c *store.Collection) error {
	if err := t.writable(); err != nil {
		return err
	}
	ok, err := t.userExists(ctx, c.Owner)
	if err != nil {
		return fmt.Errorf("sqlite: create collection %s/%s: %w", c.Owner, c.Name, err)
	}
	if !ok {
		return fmt.Errorf("sqlite: create collection %s/%s: owner: %w", c.Owner, c.Name, store.ErrNotFound)
	}
	now := t.now()
	id, err := nextID(ctx, t.tx, "collections")
	if err != nil {
		return fmt.Errorf("sqlite: create collection %s/%s: %w", c.Owner, c.Name, err)
	}
	err = t.tx.QueryRowContext(ctx, `INSERT INTO collections
		(id, owner, name, kind, display_name, description, description_lang, color, ord, timezone, components, revision, created, modified)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?) RETURNING id`,
		id, c.Owner, c.Name, string(c.Kind), c.DisplayName, c.Description, c.DescriptionLang, c.Color, c.Order, c.Timezone,
		joinComponents(c.Components), micros(now), micros(now)).Scan(&c.ID)
	if isUniqueViolation(err) {
		return fmt.Errorf("sqlite: create collection %s/%s: %w", c.Owner, c.Name, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create collection %s/%s: %w", c.Owner, c.Name, err)
	}
	c.Revision = 0
	c.Created = truncate(now)
	c.Modified = truncate(now)
	return nil
}

const collectionColumns = `id, owner, name, kind, display_name, description, description_lang, color, ord, timezone, components, revision, created, modified`

func scanCollection(row interface{ Scan(...any) error }) (*store.Collection, error) {
	var c store.Collection
	var kind, components string
	var created, modified sql.NullInt64
	if err := row.Scan(&c.ID, &c.Owner, &c.Name, &kind, &c.DisplayName, &c.Description, &c.DescriptionLang, &c.Color, &c.Order,
		&c.Timezone, &components, &c.Revision, &created, &modified); err != nil {
		return nil, err
	}
	c.Kind = store.Kind(kind)
	c.Components = splitComponents(components)
	c.Created = fromMicros(created)
	c.Modified = fromMicros(modified)
	return &c, nil
}

func (t *tx) GetCollection(ctx context.Context, owner, name string) (*store.Collection, error) {
	c, err := scanCollection(t.tx.QueryRowContext(ctx,
		`SELECT `+collectionColumns+` FROM collections WHERE owner = ? AND name = ?`, owner, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: collection %s/%s: %w", owner, name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get collection %s/%s: %w", owner, name, err)
	}
	return c, nil
}

func (t *tx) GetCollectionByID(ctx context.Context, id int64) (*store.Collection, error) {
	c, err := scanCollection(t.tx.QueryRowContext(ctx,
		`SELECT `+collectionColumns+` FROM collections WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: collection %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get collection %d: %w", id, err)
	}
	return c, nil
}

func (t *tx) ListCollections(ctx context.Context, owner string) ([]*store.Collection, error) {
	rows, err := t.tx.QueryContext(ctx,
		`SELECT `+collectionColumns+` FROM collections WHERE owner = ? ORDER BY ord, name`, owner)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list collections of %s: %w", owner, err)
	}
	defer rows.Close()
	var cs []*store.Collection
	for rows.Next() {
		c, err := scanCollection(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list collections of %s: %w", owner, err)
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list collections of %s: %w", owner, err)
	}
	return cs, nil
}

func (t *tx) UpdateCollection(ctx context.Context, c *store.Collection) error {
	if err := t.writable(); err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE collections SET display_name = ?, description = ?, description_lang = ?,
		color = ?, ord = ?, timezone = ?, components = ?, modified = ? WHERE id = ?`,
		c.DisplayName, c.Description, c.DescriptionLang, c.Color, c.Order, c.Timezone, joinComponents(c.Components),
		micros(t.now()), c.ID)
	return expectOneRow(res, err, fmt.Sprintf("update collection %d", c.ID))
}

func (t *tx) RenameCollection(ctx context.Context, id int64, owner, name string) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("rename collection %d to %s/%s", id, owner, name)
	ok, err := t.userExists(ctx, owner)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if !ok {
		return fmt.Errorf("sqlite: %s: owner: %w", what, store.ErrNotFound)
	}
	// The row keeps its id, so objects, occurrences and the change log stay
	// attached and sync tokens issued before the move remain valid.
	res, err := t.tx.ExecContext(ctx, `UPDATE collections SET owner = ?, name = ?, modified = ? WHERE id = ?`,
		owner, name, micros(t.now()), id)
	if isUniqueViolation(err) {
		return fmt.Errorf("sqlite: %s: %w", what, store.ErrExists)
	}
	return expectOneRow(res, err, what)
}

func (t *tx) DeleteCollection(ctx context.Context, id int64) error {
	if err := t.writable(); err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `DELETE FROM collections WHERE id = ?`, id)
	return expectOneRow(res, err, fmt.Sprintf("delete collection %d", id))
}

// nextID gives the ID of a new row of table (collections or
// virtual_calendars): past every ID the table ever gave (migration 17),
// and past any row written with an ID of its own.
func nextID(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, table string) (int64, error) {
	if table != "collections" && table != "virtual_calendars" {
		return 0, fmt.Errorf("next id: no high-water mark for %s", table)
	}
	// table is one of the two names above, never input.
	query := `UPDATE id_high_water SET last = max(last, (SELECT coalesce(max(id), 0) FROM ` + table + `)) + 1
		WHERE tbl = ? RETURNING last`
	var id int64
	if err := q.QueryRowContext(ctx, query, table).Scan(&id); err != nil {
		return 0, fmt.Errorf("next id of %s: %w", table, err)
	}
	return id, nil
}
