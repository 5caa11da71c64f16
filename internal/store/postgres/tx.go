package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/sqlshared"
)

// errReadOnly is returned by write methods called inside View.
var errReadOnly = errors.New("postgres: write in a read-only transaction")

// tx implements store.Tx on one pgx transaction. Once the View or Update
// that created it has ended, pgx refuses further statements (ErrTxClosed).
type tx struct {
	db       *DB
	tx       pgx.Tx
	readOnly bool
	// Tx runs the statements both stores share (see sqlshared).
	sqlshared.Tx
}

func (db *DB) newTx(pgTx pgx.Tx, readOnly bool) *tx {
	return &tx{db: db, tx: pgTx, readOnly: readOnly,
		Tx: sqlshared.Tx{Q: querier{pgTx}, Name: "postgres", ReadOnly: readOnly, Now: db.now, Violated: violated,
			KeyShare: " FOR KEY SHARE", Lists: arrayLists{}}}
}

// querier adapts a pgx transaction to sqlshared.Querier, rewriting ?
// placeholders to $n.
type querier struct{ tx pgx.Tx }

func (q querier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := q.tx.Exec(ctx, rebind(query), args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (q querier) Query(ctx context.Context, query string, args ...any) (sqlshared.Rows, error) {
	rows, err := q.tx.Query(ctx, rebind(query), args...)
	if err != nil {
		return nil, err
	}
	return pgRows{rows}, nil
}

type pgRows struct{ pgx.Rows }

func (r pgRows) Close() error { r.Rows.Close(); return nil }

// rebind rewrites ? placeholders to PostgreSQL's $1, $2 … (the shared
// statements hold no ? inside literals).
func rebind(query string) string {
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

var _ store.Tx = (*tx)(nil)

func (t *tx) writable() error {
	if t.readOnly {
		return errReadOnly
	}
	return nil
}

func (t *tx) now() time.Time { return t.db.now().UTC() }

// micros converts t to the stored form: unix microseconds, NULL (nil) for
// the zero time.
func micros(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	us := t.UnixMicro()
	return &us
}

// fromMicros is the inverse of micros; it always yields UTC.
func fromMicros(v *int64) time.Time {
	if v == nil {
		return time.Time{}
	}
	return time.UnixMicro(*v).UTC()
}

// truncate drops what the database cannot keep, so values handed back to the
// caller equal the ones a later read returns.
func truncate(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// arrayLists stores a list of strings as text[], never NULL.
type arrayLists struct{}

func (arrayLists) Encode(list []string) (any, error) {
	if list == nil {
		return []string{}, nil
	}
	return list, nil
}

func (arrayLists) Decoder() (any, func() ([]string, error)) {
	var list []string
	return &list, func() ([]string, error) {
		if len(list) == 0 {
			return nil, nil
		}
		return list, nil
	}
}

// SQLSTATE codes this package maps to store errors.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

// pgCode returns the SQLSTATE of a server error and the constraint it names.
func pgCode(err error) (code, constraint string) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code, pgErr.ConstraintName
	}
	return "", ""
}

// violated classifies a constraint failure for sqlshared, with the name
// of the constraint.
func violated(err error) (sqlshared.Violation, string) {
	switch code, constraint := pgCode(err); code {
	case uniqueViolation:
		return sqlshared.UniqueViolation, constraint
	case foreignKeyViolation:
		return sqlshared.ForeignKeyViolation, constraint
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
	_, err := t.tx.Exec(ctx, `INSERT INTO users (name, display_name, email, phone, password_hash, created)
		VALUES ($1, $2, $3, $4, $5, $6)`, u.Name, u.DisplayName, u.Email, u.Phone, u.PasswordHash, micros(u.Created))
	if code, _ := pgCode(err); code == uniqueViolation {
		return fmt.Errorf("postgres: create user %q: %w", u.Name, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("postgres: create user %q: %w", u.Name, err)
	}
	return nil
}

const userColumns = `name, display_name, email, phone, password_hash, created`

func scanUser(row pgx.Row) (*store.User, error) {
	var u store.User
	var created *int64
	if err := row.Scan(&u.Name, &u.DisplayName, &u.Email, &u.Phone, &u.PasswordHash, &created); err != nil {
		return nil, err
	}
	u.Created = fromMicros(created)
	return &u, nil
}

func (t *tx) GetUser(ctx context.Context, name string) (*store.User, error) {
	u, err := scanUser(t.tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: user %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get user %q: %w", name, err)
	}
	return u, nil
}

func (t *tx) ListUsers(ctx context.Context) ([]*store.User, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list users: %w", err)
	}
	users, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*store.User, error) { return scanUser(row) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list users: %w", err)
	}
	return users, nil
}

func (t *tx) UpdateUser(ctx context.Context, u *store.User) error {
	if err := t.writable(); err != nil {
		return err
	}
	tag, err := t.tx.Exec(ctx, `UPDATE users SET display_name = $1, email = $2, phone = $3, password_hash = $4 WHERE name = $5`,
		u.DisplayName, u.Email, u.Phone, u.PasswordHash, u.Name)
	return expectOneRow(tag, err, "update user "+u.Name)
}

func (t *tx) DeleteUser(ctx context.Context, name string) error {
	if err := t.writable(); err != nil {
		return err
	}
	// Collections, and through them objects, occurrences and change logs,
	// go with the user by ON DELETE CASCADE, as do memberships.
	tag, err := t.tx.Exec(ctx, `DELETE FROM users WHERE name = $1`, name)
	if err := expectOneRow(tag, err, "delete user "+name); err != nil {
		return err
	}
	if err := t.DropGrantee(ctx, "user:"+name); err != nil {
		return err
	}
	return t.DropVirtualCalendarsOf(ctx, name)
}

// expectOneRow turns "no row affected" into ErrNotFound.
func expectOneRow(tag pgconn.CommandTag, err error, what string) error {
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: %s: %w", what, store.ErrNotFound)
	}
	return nil
}

// Collections.

// components returns the stored form of Collection.Components: never NULL.
func components(c []string) []string {
	if c == nil {
		return []string{}
	}
	return c
}

func (t *tx) CreateCollection(ctx context.Context, c *store.Collection) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("create collection %s/%s", c.Owner, c.Name)
	now := truncate(t.now())
	// The foreign key, not a prior lookup, detects a missing owner: it also
	// holds when the owner is being deleted by another node right now.
	err := t.tx.QueryRow(ctx, `INSERT INTO collections
		(owner, name, kind, display_name, description, description_lang, color, ord, timezone, components, revision, created, modified)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $11) RETURNING id`,
		c.Owner, c.Name, string(c.Kind), c.DisplayName, c.Description, c.DescriptionLang, c.Color, c.Order, c.Timezone,
		components(c.Components), micros(now)).Scan(&c.ID)
	switch code, _ := pgCode(err); {
	case code == uniqueViolation:
		return fmt.Errorf("postgres: %s: %w", what, store.ErrExists)
	case code == foreignKeyViolation:
		return fmt.Errorf("postgres: %s: owner: %w", what, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	c.Revision = 0
	c.Created = now
	c.Modified = now
	return nil
}

const collectionColumns = `id, owner, name, kind, display_name, description, description_lang, color, ord, timezone, components, revision, created, modified`

func scanCollection(row pgx.Row) (*store.Collection, error) {
	var c store.Collection
	var kind string
	var created, modified *int64
	if err := row.Scan(&c.ID, &c.Owner, &c.Name, &kind, &c.DisplayName, &c.Description, &c.DescriptionLang, &c.Color, &c.Order,
		&c.Timezone, &c.Components, &c.Revision, &created, &modified); err != nil {
		return nil, err
	}
	c.Kind = store.Kind(kind)
	if len(c.Components) == 0 {
		c.Components = nil
	}
	c.Created = fromMicros(created)
	c.Modified = fromMicros(modified)
	return &c, nil
}

func (t *tx) GetCollection(ctx context.Context, owner, name string) (*store.Collection, error) {
	c, err := scanCollection(t.tx.QueryRow(ctx,
		`SELECT `+collectionColumns+` FROM collections WHERE owner = $1 AND name = $2`, owner, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: collection %s/%s: %w", owner, name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get collection %s/%s: %w", owner, name, err)
	}
	return c, nil
}

func (t *tx) GetCollectionByID(ctx context.Context, id int64) (*store.Collection, error) {
	c, err := scanCollection(t.tx.QueryRow(ctx,
		`SELECT `+collectionColumns+` FROM collections WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: collection %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get collection %d: %w", id, err)
	}
	return c, nil
}

func (t *tx) ListCollections(ctx context.Context, owner string) ([]*store.Collection, error) {
	rows, err := t.tx.Query(ctx,
		`SELECT `+collectionColumns+` FROM collections WHERE owner = $1 ORDER BY ord, name`, owner)
	if err != nil {
		return nil, fmt.Errorf("postgres: list collections of %s: %w", owner, err)
	}
	cs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*store.Collection, error) { return scanCollection(row) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list collections of %s: %w", owner, err)
	}
	return cs, nil
}

func (t *tx) UpdateCollection(ctx context.Context, c *store.Collection) error {
	if err := t.writable(); err != nil {
		return err
	}
	tag, err := t.tx.Exec(ctx, `UPDATE collections SET display_name = $1, description = $2, description_lang = $3,
		color = $4, ord = $5, timezone = $6, components = $7, modified = $8 WHERE id = $9`,
		c.DisplayName, c.Description, c.DescriptionLang, c.Color, c.Order, c.Timezone, components(c.Components),
		micros(t.now()), c.ID)
	return expectOneRow(tag, err, fmt.Sprintf("update collection %d", c.ID))
}

func (t *tx) RenameCollection(ctx context.Context, id int64, owner, name string) error {
	if err := t.writable(); err != nil {
		return err
	}
	what := fmt.Sprintf("rename collection %d to %s/%s", id, owner, name)
	// The row keeps its id, so objects, occurrences and the change log stay
	// attached and sync tokens issued before the move remain valid.
	tag, err := t.tx.Exec(ctx, `UPDATE collections SET owner = $1, name = $2, modified = $3 WHERE id = $4`,
		owner, name, micros(t.now()), id)
	switch code, _ := pgCode(err); code {
	case uniqueViolation:
		return fmt.Errorf("postgres: %s: %w", what, store.ErrExists)
	case foreignKeyViolation:
		return fmt.Errorf("postgres: %s: owner: %w", what, store.ErrNotFound)
	}
	return expectOneRow(tag, err, what)
}

func (t *tx) DeleteCollection(ctx context.Context, id int64) error {
	if err := t.writable(); err != nil {
		return err
	}
	tag, err := t.tx.Exec(ctx, `DELETE FROM collections WHERE id = $1`, id)
	return expectOneRow(tag, err, fmt.Sprintf("delete collection %d", id))
}
