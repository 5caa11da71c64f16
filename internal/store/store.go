// Package store defines Koyomi's persistence contract: principals, collections
// (calendars and address books), objects with their client bytes and index
// fields, a per-collection change log with tombstones, an occurrence index and
// dead properties. Implementations live in sub-packages (sqlite, postgres) and
// are verified by one conformance suite (storetest).
//
// The store knows nothing of HTTP, WebDAV, or iCalendar syntax: callers hand it
// bytes together with already-extracted index fields.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors returned by every implementation. Callers test them with errors.Is.
var (
	ErrNotFound = errors.New("store: not found")
	ErrExists   = errors.New("store: already exists")
	// ErrConflict is returned when a conditional write finds a different ETag
	// (or an existing object where none was expected).
	ErrConflict = errors.New("store: precondition failed")
	// ErrUIDConflict is returned by PutObject when another object in the same
	// collection already carries the UID. The error wraps *UIDConflictError.
	ErrUIDConflict = errors.New("store: uid already used in collection")
	// ErrNoStore is returned by an Open told that the store must exist
	// (MustExist) when there is none: no database file, or a database
	// without Koyomi's schema. Stores are created only on purpose.
	ErrNoStore = errors.New("store: no store")
)

// UIDConflictError names the object that already holds a UID.
type UIDConflictError struct {
	UID  string
	Name string // object name inside the same collection
	Href string // that object's Href
}

func (e *UIDConflictError) Error() string {
	return "store: uid " + e.UID + " already used by " + e.Name
}

func (e *UIDConflictError) Unwrap() error { return ErrUIDConflict }

// Store is a transactional database. View runs fn in a read-only
// transaction; Update in a read-write one that commits when fn returns nil
// and rolls back otherwise. Transactions are serialisable with respect to each
// other: an Update sees the effects of every Update committed before it.
type Store interface {
	View(ctx context.Context, fn func(Tx) error) error
	Update(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// SchemaVersioner is a Store that tells the version of the schema it holds
// and the version this program writes; they differ while a migration is
// pending (or when the database was written by a newer program).
type SchemaVersioner interface {
	SchemaVersion(ctx context.Context) (have, want int, err error)
}

// Kind tells what a collection holds.
type Kind string

const (
	KindCalendar    Kind = "calendar"
	KindAddressBook Kind = "addressbook"
	// KindPlain is a WebDAV collection created with a plain MKCOL.
	KindPlain Kind = "plain"
)

// User is an account (a principal that can log in).
type User struct {
	Name         string // login name, also the last path segment of its URLs
	DisplayName  string
	Email        string
	Phone        string // shown in the directory address book
	PasswordHash string // PHC-formatted argon2id hash
	Created      time.Time
}

// Collection is a calendar, address book or plain collection in a home.
type Collection struct {
	ID          int64  // assigned by CreateCollection
	Owner       string // user name
	Name        string // path segment inside the owner's home
	Kind        Kind
	DisplayName string
	Description string
	// DescriptionLang is the language a client gave Description (the
	// xml:lang of calendar-description, RFC 4918 section 4.3); "" if none.
	DescriptionLang string
	Color           string // Apple calendar-color, e.g. "#FF0000FF"
	Order           int    // Apple calendar-order
	Timezone        string // calendar-timezone: a VCALENDAR with one VTIMEZONE, as sent
	// Components lists the supported component names (VEVENT, VTODO,
	// VJOURNAL); empty means all.
	Components []string
	Revision   int64 // incremented on every change to the collection's members
	Created    time.Time
	Modified   time.Time
}

// Object is a member resource of a collection: the client's bytes plus
// indexed fields.
type Object struct {
	CollectionID int64
	Name         string // path segment, e.g. "abc.ics"
	ETag         string // strong entity tag without quotes, computed by the store from Data
	ContentType  string
	UID          string
	Component    string // VEVENT, VTODO, VJOURNAL, VCARD, ...
	Data         []byte
	Size         int64
	Modified     time.Time
	// Href is the path segment as the client spelled it in the URL that
	// created the object (percent-encoded, e.g. "a%40b.ics" for "a@b.ics"),
	// when that differs from the plain escaping of Name; "" otherwise. It is
	// set when the object is created and kept by later PutObjects.
	Href string
	// Span is the overall time the object covers, in UTC; SpanEnd is the zero
	// time when the object never ends (an infinite recurrence) and both are
	// zero when the object has no time at all (a VTODO without dates matches
	// every time-range).
	SpanStart time.Time
	SpanEnd   time.Time
	// Occurrences are the object's instances up to IndexedUntil, used to pick
	// candidates for time-range queries without parsing every object. Only
	// recurring objects need them; a non-recurring object is represented by
	// its span.
	Occurrences  []Period
	IndexedUntil time.Time // zero: Occurrences is complete
	Recurring    bool
}

// Period is a half-open time interval [Start, End) in UTC.
type Period struct {
	Start, End time.Time
}

// Change is one entry of a collection's change log, as read by
// sync-collection: the latest revision at which an object name changed.
type Change struct {
	Name     string
	Href     string // the object's Href, also for a deleted one
	Revision int64
	Deleted  bool
}

// PutOptions are the preconditions of a PutObject.
type PutOptions struct {
	// IfMatch, when non-empty, requires the existing object's ETag to equal it.
	IfMatch string
	// IfNoneMatch requires that no object exists under the name.
	IfNoneMatch bool
}

// Tx is one transaction. Its methods are valid only inside the View or
// Update callback that received it; write methods fail inside View.
//
// Tx is the sum of one small interface per concept. A function that needs
// only some of them takes those (a Users, an Objects ...) rather than a Tx,
// which says what it touches and lets a test hand it less.
type Tx interface {
	Users
	Collections
	Objects
	Properties
	Leases
	Locks
	VirtualCalendars
	Groups
	Views
	Sharing
	AppPasswords
	Connectors
	Trash
}

// Users are the accounts: principals that can log in.
type Users interface {
	CreateUser(ctx context.Context, u *User) error // ErrExists
	GetUser(ctx context.Context, name string) (*User, error)
	ListUsers(ctx context.Context) ([]*User, error)
	UpdateUser(ctx context.Context, u *User) error // by Name; ErrNotFound
	// DeleteUser removes the user and everything they own.
	DeleteUser(ctx context.Context, name string) error
}

// Collections are the calendars, address books and plain collections in
// the users' homes.
type Collections interface {
	CreateCollection(ctx context.Context, c *Collection) error // sets ID, Revision, Created; ErrExists
	GetCollection(ctx context.Context, owner, name string) (*Collection, error)
	GetCollectionByID(ctx context.Context, id int64) (*Collection, error)
	ListCollections(ctx context.Context, owner string) ([]*Collection, error) // ordered by Order, then Name
	// UpdateCollection stores the descriptive fields (DisplayName,
	// Description, Color, Order, Timezone, Components) of c.ID.
	UpdateCollection(ctx context.Context, c *Collection) error
	// RenameCollection moves a collection (and all it holds) to another
	// owner/name. The sync history is kept.
	RenameCollection(ctx context.Context, id int64, owner, name string) error
	DeleteCollection(ctx context.Context, id int64) error
}

// Objects are the members of collections: their bytes and index fields,
// the time-range lookups the occurrence index answers, and each
// collection's change log.
type Objects interface {
	GetObject(ctx context.Context, collectionID int64, name string) (*Object, error)
	// GetObjects returns the named objects that exist, in no special order.
	GetObjects(ctx context.Context, collectionID int64, names []string) ([]*Object, error)
	// ListObjects returns all objects of a collection; with withData false
	// the Data field is left nil (and Occurrences empty).
	ListObjects(ctx context.Context, collectionID int64, withData bool) ([]*Object, error)
	// FindObjectsInRange returns, with data, the objects that may have an
	// instance overlapping [start, end): objects with no span, objects whose
	// span overlaps and which either do not recur or have an indexed
	// occurrence overlapping, or whose index stops before end. A zero start
	// or end means unbounded. Callers refine the answer by evaluating the
	// data.
	FindObjectsInRange(ctx context.Context, collectionID int64, start, end time.Time) ([]*Object, error)
	// RecurringStartingIn returns the names of the recurring objects of a
	// collection with an indexed occurrence that starts in [start, end), in
	// no particular order and each once. A zero start or end means
	// unbounded. An occurrence row is a real instance, so a name listed here
	// has an instance starting in the range whatever the rest of its index.
	RecurringStartingIn(ctx context.Context, collectionID int64, start, end time.Time) ([]string, error)
	// FindObjectByUID returns the name of the object carrying uid, or ErrNotFound.
	FindObjectByUID(ctx context.Context, collectionID int64, uid string) (string, error)
	// PutObject creates or replaces o (by CollectionID and Name), computes
	// its ETag, Size and Modified, bumps the collection's revision and logs
	// the change. A replaced object keeps its Href, which is written back
	// to o. It returns whether the object was created. ErrConflict
	// when opts fail, ErrUIDConflict (wrapping *UIDConflictError) when
	// another name in the collection holds o.UID (and o.UID is not empty).
	PutObject(ctx context.Context, o *Object, opts PutOptions) (created bool, err error)
	// DeleteObject removes an object, bumps the revision and logs a
	// tombstone. ErrNotFound, or ErrConflict when ifMatch is set and differs.
	DeleteObject(ctx context.Context, collectionID int64, name, ifMatch string) error

	// Changes returns, for every name changed after revision since, its
	// latest change, ordered by revision. since 0 lists all live objects
	// (no tombstones). ErrNotFound when since is newer than the collection's
	// revision.
	Changes(ctx context.Context, collectionID int64, since int64) ([]Change, error)
}

// Properties are the dead properties, under an opaque key naming what
// they belong to (the domain builds keys from IDs). Keys are compared byte
// by byte; "/" separates a key's segments. The value is the property's
// XML element, stored as-is (namespaces included).
type Properties interface {
	SetProperty(ctx context.Context, key, namespace, local string, xml []byte) error
	RemoveProperty(ctx context.Context, key, namespace, local string) error
	// Properties returns the dead properties under key.
	Properties(ctx context.Context, key string) ([]Property, error)
	// CopyProperties sets under toKey every dead property fromKey has,
	// replacing one of the same name; toKey's others stay.
	CopyProperties(ctx context.Context, fromKey, toKey string) error
	// DeleteProperties drops the dead properties under prefix and under
	// every key below it (prefix + "/" + anything); a trailing "/" on
	// prefix is ignored.
	DeleteProperties(ctx context.Context, prefix string) error
}

// Leases let exactly one node of a cluster run each periodic job.
type Leases interface {
	// AcquireLease claims (or renews) the lease name for holder until
	// now+ttl. It succeeds when the lease is free, expired at now, or
	// already held by holder, and returns false (no error) when another
	// holder's lease is still valid. ReleaseLease gives it up if holder
	// holds it.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Locks are the WebDAV locks, kept in the store so that every node of a
// cluster sees the same ones.
type Locks interface {
	// Locks returns every stored WebDAV lock. ReplaceLocks replaces the
	// whole set. Inside one Update, Locks then ReplaceLocks is atomic
	// with respect to every other Update that calls Locks: implementations
	// serialise them (e.g. with a row or advisory lock taken by Locks in a
	// writable transaction), so lock managers on several nodes never
	// grant conflicting locks.
	Locks(ctx context.Context) ([]LockRecord, error)
	ReplaceLocks(ctx context.Context, locks []LockRecord) error
}

// VirtualCalendars are the stored definitions of virtual calendars.
// DeleteUser also deletes the user's virtual calendars and memberships;
// DeleteGroup deletes the group's virtual calendars (Owner "group:NAME")
// and memberships.
type VirtualCalendars interface {
	CreateVirtualCalendar(ctx context.Context, vc *VirtualCalendar) error // sets ID, Version=1, Created, Modified; ErrExists
	GetVirtualCalendar(ctx context.Context, owner, name string) (*VirtualCalendar, error)
	GetVirtualCalendarByID(ctx context.Context, id int64) (*VirtualCalendar, error)
	ListVirtualCalendars(ctx context.Context) ([]*VirtualCalendar, error) // all, ordered by Owner, Name
	// UpdateVirtualCalendar stores DisplayName, Color, Definition and
	// SharedWith of vc.ID, increments Version (written back to vc) and
	// sets Modified.
	UpdateVirtualCalendar(ctx context.Context, vc *VirtualCalendar) error
	DeleteVirtualCalendar(ctx context.Context, id int64) error
}

// Groups are the groups of users and their memberships, past ones
// included.
type Groups interface {
	CreateGroup(ctx context.Context, g *Group) error // ErrExists
	GetGroup(ctx context.Context, name string) (*Group, error)
	ListGroups(ctx context.Context) ([]*Group, error) // ordered by Name
	UpdateGroup(ctx context.Context, g *Group) error  // DisplayName, KeepPast
	DeleteGroup(ctx context.Context, name string) error
	// PutMembership creates or replaces the membership (Group, User); the
	// group and user must exist (ErrNotFound).
	PutMembership(ctx context.Context, m *Membership) error
	// Memberships lists a group's memberships, past ones included, ordered
	// by User; UserMemberships lists a user's, ordered by Group.
	Memberships(ctx context.Context, group string) ([]*Membership, error)
	UserMemberships(ctx context.Context, user string) ([]*Membership, error)
	DeleteMembership(ctx context.Context, group, user string) error
}

// AppPasswords are the users' per-device passwords. DeleteUser also
// deletes the user's app passwords.
type AppPasswords interface {
	CreateAppPassword(ctx context.Context, p *AppPassword) error           // sets ID and Created; ErrNotFound for an unknown user
	AppPasswords(ctx context.Context, user string) ([]*AppPassword, error) // ordered by ID, revoked ones included
	DeleteAppPassword(ctx context.Context, user string, id int64) error    // ErrNotFound
	TouchAppPassword(ctx context.Context, id int64, at time.Time) error    // sets LastUsed; ErrNotFound
	// RevokeAppPassword sets Revoked; ErrNotFound for an unknown or an
	// already revoked one. The row is kept, so that a device still using
	// it is told apart from a wrong password.
	RevokeAppPassword(ctx context.Context, user string, id int64, at time.Time) error
}

// Connectors link local calendars with remote ones: the connectors, their
// item mappings, run history and kept conflicts, and the administrators'
// permissions. DeleteUser deletes the user's connectors and
// DeleteCollection the connectors of the collection, each with its items,
// runs and conflicts.
type Connectors interface {
	CreateConnector(ctx context.Context, c *Connector) error // sets ID, Created, Modified; ErrNotFound for an unknown owner or collection
	GetConnector(ctx context.Context, id int64) (*Connector, error)
	// ListConnectors returns the owner's connectors, or every connector
	// when owner is empty, ordered by ID.
	ListConnectors(ctx context.Context, owner string) ([]*Connector, error)
	// UpdateConnector stores every field of c.ID except Owner, ID and
	// Created, and sets Modified. ErrNotFound.
	UpdateConnector(ctx context.Context, c *Connector) error
	DeleteConnector(ctx context.Context, id int64) error // ErrNotFound
	// ConnectorItems returns the connector's item mappings ordered by UID.
	ConnectorItems(ctx context.Context, connectorID int64) ([]*ConnectorItem, error)
	// PutConnectorItem creates or replaces the mapping (ConnectorID, UID).
	PutConnectorItem(ctx context.Context, it *ConnectorItem) error
	DeleteConnectorItem(ctx context.Context, connectorID int64, uid string) error // no error when absent
	// AddConnectorRun stores a new run (sets ID); UpdateConnectorRun
	// replaces every field of r.ID. ConnectorRuns returns the newest
	// runs first, at most limit (all when limit <= 0).
	AddConnectorRun(ctx context.Context, r *ConnectorRun) error
	UpdateConnectorRun(ctx context.Context, r *ConnectorRun) error // ErrNotFound
	ConnectorRuns(ctx context.Context, connectorID int64, limit int) ([]*ConnectorRun, error)
	// AddConnectorConflict keeps the losing version of a conflict (sets
	// ID); ConnectorConflicts lists them newest first.
	AddConnectorConflict(ctx context.Context, c *ConnectorConflict) error
	ConnectorConflicts(ctx context.Context, connectorID int64) ([]*ConnectorConflict, error)
	// Connector permissions set by administrators: Subject is "user:NAME",
	// "group:NAME" or "*". SetConnectorPermission creates or replaces.
	SetConnectorPermission(ctx context.Context, p *ConnectorPermission) error
	DeleteConnectorPermission(ctx context.Context, subject string) error      // no error when absent
	ConnectorPermissions(ctx context.Context) ([]*ConnectorPermission, error) // ordered by Subject
}

// Trash keeps what users deleted (objects, collections, whole users) for a
// while, so that it can be restored. The store treats an item's Payload as
// opaque data (the domain's snapshot); Owner names no live row, since a
// user in the trash has none.
type Trash interface {
	// AddTrash stores it (sets ID; Deleted is kept, or set to now when
	// zero).
	AddTrash(ctx context.Context, it *TrashItem) error
	// GetTrash returns an item with its Payload; ErrNotFound.
	GetTrash(ctx context.Context, id int64) (*TrashItem, error)
	// ListTrash returns owner's items, or every item when owner is empty,
	// without their Payload, ordered by ID.
	ListTrash(ctx context.Context, owner string) ([]*TrashItem, error)
	DeleteTrash(ctx context.Context, id int64) error // ErrNotFound
	// RetargetTrash makes the items naming collection from name to
	// instead (a collection restored under a new ID).
	RetargetTrash(ctx context.Context, from, to int64) error
	// PurgeTrash deletes the items deleted before before and returns how
	// many went.
	PurgeTrash(ctx context.Context, before time.Time) (int64, error)
	// TrashSize is how many items the trash holds and the sum of their
	// Sizes.
	TrashSize(ctx context.Context) (items, bytes int64, err error)
}

// TrashKind tells what a trash item holds.
type TrashKind string

const (
	TrashObject     TrashKind = "object"
	TrashCollection TrashKind = "collection"
	TrashUser       TrashKind = "user"
)

// TrashItem is one deleted thing kept in the trash.
type TrashItem struct {
	ID    int64 // assigned by AddTrash
	Owner string
	Kind  TrashKind
	// Name is what the owner knew it as: "collection/object" for an
	// object, the collection's name, or the user's.
	Name string
	// CollectionID is, for an object, the collection it was deleted from.
	CollectionID int64
	Size         int64 // bytes of client data it holds
	Deleted      time.Time
	DeletedBy    string // the principal who deleted it; "" for the system
	Payload      []byte
}

// DataReader is an optional capability of a Tx: reading objects with their
// data but without their occurrences (Occurrences left empty). Serving an
// object's bytes never needs the occurrences, which for an open-ended daily
// event are a thousand rows. Both implementations provide it; callers
// discover it with a type assertion.
type DataReader interface {
	GetObjectData(ctx context.Context, collectionID int64, name string) (*Object, error)
	GetObjectsData(ctx context.Context, collectionID int64, names []string) ([]*Object, error)
	// ListObjectsData is ListObjects with data, in name order.
	ListObjectsData(ctx context.Context, collectionID int64) ([]*Object, error)
}

// Lease is a named, time-limited claim that lets exactly one node of a
// cluster run a periodic job (connector runs, trash purge ...).
type Lease struct {
	Name    string
	Holder  string // node identity
	Expires time.Time
}

// LockRecord is one WebDAV lock as stored, so that every node of a cluster
// sees the same locks. The store treats the fields as data; the lock
// manager interprets them.
type LockRecord struct {
	Token     string
	Root      string
	Infinite  bool
	Exclusive bool
	Owner     []byte
	Principal string
	Timeout   time.Duration
	Expires   time.Time // zero: never
}

// VirtualCalendar is a virtual calendar's stored definition. The store
// treats Definition as opaque data (the domain reads it as JSON).
type VirtualCalendar struct {
	ID          int64  // assigned by CreateVirtualCalendar
	Owner       string // user name, or "group:NAME" for a group's calendar
	Name        string // path segment, unique per owner among virtual calendars
	DisplayName string
	Color       string
	Definition  []byte
	// SharedWith lists who sees it: "user:NAME" or "group:NAME".
	SharedWith []string
	// Version starts at 1 and is incremented by every update, so that
	// anything derived from an old definition (ETags, sync tokens) changes.
	Version  int64
	Created  time.Time
	Modified time.Time
}

// Group is a set of users with a shared calendar.
type Group struct {
	Name        string
	DisplayName string
	// KeepPast: a member who leaves keeps read access to the group
	// calendar's occurrences that ended before they left.
	KeepPast bool
	Created  time.Time
}

// Membership is a user's place in a group, kept after they leave (Left
// set) so that the group's policy on leaving can be applied.
type Membership struct {
	Group  string
	User   string
	Joined time.Time
	Left   time.Time // zero while a member
	// Contributions is what the member adds to the group calendar (opaque
	// to the store; JSON for the domain).
	Contributions []byte
	// Admin: the member administers the group (adds and removes members,
	// sets its policy).
	Admin bool
}

// Views is what the store keeps per viewer of a virtual calendar: the
// viewer's subscription (their own name, colour, order, hidden flag, and
// whether it is listed at all) and the view's sync log, which records what
// the viewer was served so that incremental sync names only what they
// could see. Rows go with the virtual calendar and with the viewer.
type Views interface {
	// GetViewSubscription returns viewer's subscription to vc, or
	// ErrNotFound when they never changed it.
	GetViewSubscription(ctx context.Context, vc int64, viewer string) (*ViewSubscription, error)
	// PutViewSubscription creates or replaces a subscription; the virtual
	// calendar and the viewer must exist (ErrNotFound).
	PutViewSubscription(ctx context.Context, s *ViewSubscription) error
	// ViewSubscriptions lists viewer's subscriptions, ordered by VC.
	ViewSubscriptions(ctx context.Context, viewer string) ([]*ViewSubscription, error)
	// GetViewSyncState returns the state of viewer's sync log of vc, or
	// ErrNotFound before the first sync.
	GetViewSyncState(ctx context.Context, vc int64, viewer string) (*ViewSyncState, error)
	// ViewMembers lists the log's entries changed after revision since
	// (0: all, tombstones included), ordered by Revision then Name.
	ViewMembers(ctx context.Context, vc int64, viewer string, since int64) ([]*ViewMember, error)
	// RecordViewSync stores the log's new state and upserts the changed
	// entries; the virtual calendar and the viewer must exist (ErrNotFound).
	RecordViewSync(ctx context.Context, st *ViewSyncState, changed []*ViewMember) error
}

// ViewSubscription is one viewer's own settings for a virtual calendar
// they see. Empty DisplayName or Color and zero Order fall back to the
// owner's.
type ViewSubscription struct {
	VC          int64
	Viewer      string
	DisplayName string
	Color       string
	Order       int
	Hidden      bool
	// Subscribed: listed in the viewer's calendar home.
	Subscribed bool
}

// ViewSyncState is the head of a viewer's sync log of a virtual calendar.
type ViewSyncState struct {
	VC     int64
	Viewer string
	// Key identifies the definition the log was last brought up to date
	// with; Sources the source collections' revisions then (opaque to the
	// store).
	Key      string
	Sources  string
	Revision int64
}

// ViewMember is one object name in a viewer's sync log of a virtual
// calendar: what was last served under it, or a tombstone.
type ViewMember struct {
	Name     string
	ETag     string
	Revision int64 // the log revision of its last change
	// FirstSeen is the revision at which the name was first served: a
	// removal is reported only to clients whose token is at least that
	// old, so that nothing the viewer never had is named.
	FirstSeen int64
	Deleted   bool
	Modified  time.Time // when what is served under the name last changed
}

// AppPassword is a per-device password of a user, revocable on its own.
// Hash is the hex SHA-256 of the generated secret: app passwords are long
// random tokens, so a fast hash suffices and checking one costs nothing.
type AppPassword struct {
	ID       int64 // assigned by CreateAppPassword
	User     string
	Label    string // the device, as the user named it
	Hash     string
	Created  time.Time
	LastUsed time.Time // zero: never
	Revoked  time.Time // zero: in use; else it no longer authenticates
}

// Property is a dead (client-defined) WebDAV property.
type Property struct {
	Namespace string
	Local     string
	XML       []byte // the complete element as the client sent it
}

// Connector links one local calendar with one remote calendar (CalDAV
// collection or ICS feed). The store treats every field as data; the
// connector package gives them meaning.
type Connector struct {
	ID           int64  // assigned by CreateConnector
	Owner        string // user name
	Name         string // label chosen by the owner
	CollectionID int64  // the local calendar
	Kind         string // "caldav" or "ics"
	URL          string // remote collection or feed URL
	Username     string
	// Secret is the password or bearer token, encrypted by the caller;
	// the store never sees it in clear.
	Secret    []byte
	AuthType  string // "basic" or "bearer"
	Direction string // "two-way", "push", "pull"
	Policy    string // conflict policy: "remote", "local", "recent"
	Interval  time.Duration
	Enabled   bool   // false: stopped by its owner or by a permission failure
	State     string // "idle", "running", "stopped", "disabled"
	Reason    string // why it is stopped, disabled or backing off
	NextRun   time.Time
	LastRun   time.Time // start of the last run that finished
	LastOK    time.Time // end of the last successful run
	Failures  int       // consecutive transient failures (for back-off)
	// Remote state from the last complete run.
	SyncToken string
	CTag      string
	Created   time.Time
	Modified  time.Time
}

// ConnectorItem maps one UID between the two sides of a connector, with the
// ETags both sides had when they were last in step.
type ConnectorItem struct {
	ConnectorID int64
	UID         string
	LocalName   string
	LocalETag   string
	RemoteHref  string
	RemoteETag  string
}

// ConnectorRun is one entry of a connector's history.
type ConnectorRun struct {
	ID          int64 // assigned by AddConnectorRun
	ConnectorID int64
	Started     time.Time
	Ended       time.Time // zero while running
	Node        string
	Status      string // "running", "ok", "error", "stopped", "retry"
	// Counts per direction: Pulled* changed the local calendar, Pushed*
	// the remote one.
	PulledCreated, PulledUpdated, PulledDeleted int
	PushedCreated, PushedUpdated, PushedDeleted int
	Conflicts                                   int
	RemoteStatus                                int    // HTTP status of the failing remote answer, 0 if none
	Error                                       string // what went wrong, as shown to the user
}

// ConnectorConflict keeps the version that lost a conflict.
type ConnectorConflict struct {
	ID          int64 // assigned by AddConnectorConflict
	ConnectorID int64
	RunID       int64
	UID         string
	Side        string // the side whose version lost: "local" or "remote"
	Data        []byte
	Created     time.Time
}

// ConnectorPermission allows or forbids connectors for a subject.
type ConnectorPermission struct {
	Subject string // "user:NAME", "group:NAME" or "*"
	Allowed bool
}

// Sharing is who besides a collection's owner may use it: grants on a
// collection to a user, a group or every signed-in user; each sharee's own
// settings for a collection shared with them; the owner's delegates (the
// members of their calendar proxy groups); and public links. Grants and
// settings go with the collection, the user and the group they name;
// public links with the collection or virtual calendar and their owner.
type Sharing interface {
	// PutGrant creates or replaces the grant (CollectionID, Grantee) and
	// sets Created when it is new; ErrNotFound for an unknown collection.
	PutGrant(ctx context.Context, g *Grant) error
	DeleteGrant(ctx context.Context, collectionID int64, grantee string) error // ErrNotFound
	// Grants lists the grants on a collection, ordered by Grantee.
	Grants(ctx context.Context, collectionID int64) ([]*Grant, error)
	// GrantsTo lists the grants to any of grantees, ordered by
	// CollectionID then Grantee.
	GrantsTo(ctx context.Context, grantees []string) ([]*Grant, error)

	// GetShareSettings returns user's own settings for a collection shared
	// with them, or ErrNotFound when they never changed them.
	GetShareSettings(ctx context.Context, collectionID int64, user string) (*ShareSettings, error)
	// PutShareSettings creates or replaces them; the collection and user
	// must exist (ErrNotFound).
	PutShareSettings(ctx context.Context, s *ShareSettings) error
	// UserShareSettings lists user's settings, ordered by CollectionID.
	UserShareSettings(ctx context.Context, user string) ([]*ShareSettings, error)

	// PutDelegate creates or replaces (Owner, Delegate); both users must
	// exist (ErrNotFound). Delegates lists an owner's, ordered by
	// Delegate; DelegatorsOf the owners who made user a delegate, ordered
	// by Owner.
	PutDelegate(ctx context.Context, d *Delegate) error
	DeleteDelegate(ctx context.Context, owner, delegate string) error // ErrNotFound
	Delegates(ctx context.Context, owner string) ([]*Delegate, error)
	DelegatorsOf(ctx context.Context, user string) ([]*Delegate, error)

	// CreatePublicLink stores l (sets Created); ErrExists for a used
	// token, ErrNotFound for an unknown owner, collection or virtual
	// calendar.
	CreatePublicLink(ctx context.Context, l *PublicLink) error
	GetPublicLink(ctx context.Context, token string) (*PublicLink, error) // ErrNotFound
	PublicLinks(ctx context.Context, owner string) ([]*PublicLink, error) // ordered by Created, then Token
	DeletePublicLink(ctx context.Context, token string) error             // ErrNotFound
}

// Grant gives a grantee access to a collection.
type Grant struct {
	CollectionID int64
	// Grantee is "user:NAME", "group:NAME" or "*" (every signed-in user).
	Grantee string
	// Level is "free-busy", "read", "read-write" or "admin" (the store
	// treats it as data; the domain gives it meaning).
	Level   string
	Created time.Time
}

// ShareSettings are one sharee's own name, colour, order and hidden flag
// for a collection shared with them. Empty DisplayName or Color and zero
// Order fall back to the owner's.
type ShareSettings struct {
	CollectionID int64
	User         string
	DisplayName  string
	Color        string
	Order        int
	Hidden       bool
}

// Delegate is a member of one of Owner's calendar proxy groups: with Write
// calendar-proxy-write, otherwise calendar-proxy-read.
type Delegate struct {
	Owner    string
	Delegate string
	Write    bool
	Created  time.Time
}

// PublicLink is a revocable, unguessable token that reads one calendar or
// virtual calendar of Owner's without signing in. Exactly one of
// CollectionID and VCID is set.
type PublicLink struct {
	Token        string
	Owner        string
	CollectionID int64
	VCID         int64
	Created      time.Time
}
