package domain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/vcal"
)

// The access model. A principal acts on a collection at a Level: the owner
// (and the system, which the CLI acts as) at LevelOwner; anyone else at the
// highest level their grants give them, directly, through a group they
// currently belong to, through a grant to every signed-in user, or as one
// of the owner's delegates. The authorizer below is the only place that
// decides; every read and write of a collection's objects, of its sharing
// and of its properties asks it.

// Level is what a principal may do with a collection, each level including
// those below it.
type Level int

// The levels, lowest first.
const (
	LevelNone Level = iota
	// LevelFreeBusy sees when the collection's events make its owner
	// busy, as busy blocks with no details.
	LevelFreeBusy
	LevelRead
	// LevelReadWrite also creates, changes and deletes objects.
	LevelReadWrite
	// LevelAdmin also shares the collection on (grants up to read-write
	// and revokes).
	LevelAdmin
	// LevelOwner also renames, moves and deletes the collection and
	// changes its own properties.
	LevelOwner
)

var levelNames = map[Level]string{LevelNone: "none", LevelFreeBusy: "free-busy", LevelRead: "read",
	LevelReadWrite: "read-write", LevelAdmin: "admin", LevelOwner: "owner"}

func (l Level) String() string { return levelNames[l] }

// ParseGrantLevel parses a level that can be granted: free-busy, read,
// read-write or admin.
func ParseGrantLevel(s string) (Level, error) {
	for l, n := range levelNames {
		if n == s && l > LevelNone && l < LevelOwner {
			return l, nil
		}
	}
	return LevelNone, &InvalidError{Field: "level", Err: fmt.Errorf("%w: level %q (want free-busy, read, read-write or admin)", ErrInvalidName, s)}
}

// Action is something done to a collection or its objects.
type Action int

// The actions, with the level each needs.
const (
	// ActFreeBusy reads busy time (free-busy queries, busy blocks).
	ActFreeBusy Action = iota
	// ActRead reads objects, their properties and the collection's.
	ActRead
	// ActWrite creates, replaces and deletes objects.
	ActWrite
	// ActShare grants and revokes others' access.
	ActShare
	// ActManage changes, moves or deletes the collection itself.
	ActManage
)

func (a Action) needs() Level {
	switch a {
	case ActFreeBusy:
		return LevelFreeBusy
	case ActRead:
		return LevelRead
	case ActWrite:
		return LevelReadWrite
	case ActShare:
		return LevelAdmin
	}
	return LevelOwner
}

// Privilege names the DAV privilege an action needs (RFC 3744 3, RFC 4791
// 6.1.1), for the need-privileges answers of protocol layers.
func (a Action) Privilege() string {
	switch a {
	case ActFreeBusy:
		return "read-free-busy"
	case ActRead:
		return "read"
	case ActWrite:
		return "write-content"
	case ActShare:
		return "share"
	}
	return "all"
}

// ForbiddenError is an action refused to a principal who may see the
// collection. It wraps ErrForbidden.
type ForbiddenError struct {
	Action Action
	What   string
	// Reason, when set, says why in words of its own.
	Reason string
}

func (e *ForbiddenError) Error() string {
	if e.Reason != "" {
		return "forbidden: " + e.Reason
	}
	return fmt.Sprintf("forbidden: %s needs the %s privilege", e.What, e.Action.Privilege())
}

func (e *ForbiddenError) Unwrap() error { return ErrForbidden }

// InvalidError is input refused because of one field. It wraps the
// sentinel of the refusal (usually ErrInvalidName).
type InvalidError struct {
	Field string
	Err   error
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

// Grantee forms.
const (
	granteeUser  = "user:"
	granteeGroup = "group:"
	// GranteeEveryone is every signed-in user.
	GranteeEveryone = "*"
)

// accessOf is the authorizer: principal's level on c, inside tx. The
// system ("") and the owner hold everything.
func accessOf(ctx context.Context, tx store.Tx, principal string, c *store.Collection) (Level, error) {
	if principal == "" || principal == c.Owner {
		return LevelOwner, nil
	}
	level := LevelNone
	if c.Kind == store.KindCalendar {
		ds, err := tx.DelegatorsOf(ctx, principal)
		if err != nil {
			return LevelNone, err
		}
		for _, d := range ds {
			if d.Owner == c.Owner {
				level = LevelRead
				if d.Write {
					level = LevelReadWrite
				}
			}
		}
	}
	grants, err := tx.Grants(ctx, c.ID)
	if err != nil || len(grants) == 0 {
		return level, err
	}
	var groups map[string]bool
	for _, g := range grants {
		applies := g.Grantee == granteeUser+principal || g.Grantee == GranteeEveryone
		if name, ok := cutPrefix(g.Grantee, granteeGroup); ok && !applies {
			if groups == nil {
				if groups, err = currentGroups(ctx, tx, principal); err != nil {
					return LevelNone, err
				}
			}
			applies = groups[name]
		}
		if !applies {
			continue
		}
		if l, err := ParseGrantLevel(g.Level); err == nil && l > level {
			level = l
		}
	}
	return level, nil
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return "", false
}

// currentGroups are the groups user belongs to now.
func currentGroups(ctx context.Context, tx store.Groups, user string) (map[string]bool, error) {
	ms, err := tx.UserMemberships(ctx, user)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(ms))
	for _, m := range ms {
		if m.Left.IsZero() {
			out[m.Group] = true
		}
	}
	return out, nil
}

// check answers whether level allows act on c: nil; ErrNotFound when the
// principal may not see c at all, so that its existence is not revealed;
// a *ForbiddenError otherwise.
func check(level Level, act Action, c *store.Collection) error {
	if level >= act.needs() {
		return nil
	}
	if level == LevelNone {
		return fmt.Errorf("%w: %s's collection", ErrNotFound, c.Owner)
	}
	return &ForbiddenError{Action: act, What: c.Name}
}

// Access returns the context's principal's level on c.
func (s *Service) Access(ctx context.Context, c *store.Collection) (Level, error) {
	p := Principal(ctx)
	if p == "" || p == c.Owner {
		return LevelOwner, nil
	}
	var level Level
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		level, err = accessOf(ctx, tx, p, c)
		return err
	})
	return level, mapStoreErr(err)
}

// Authorize asks the authorizer whether the context's principal may do act
// on c: nil; ErrNotFound when they may not see c at all; a
// *ForbiddenError otherwise. Protocol layers ask it before they act on the
// answer themselves: before taking a lock, before evaluating a request's
// preconditions.
func (s *Service) Authorize(ctx context.Context, c *store.Collection, act Action) error {
	_, err := s.authorizeColl(ctx, c, act)
	return err
}

// authorizeColl asks the authorizer whether the context may do act on c,
// and returns its level.
func (s *Service) authorizeColl(ctx context.Context, c *store.Collection, act Action) (Level, error) {
	level, err := s.Access(ctx, c)
	if err != nil {
		return LevelNone, err
	}
	return level, check(level, act, c)
}

// authorizeCollTx is authorizeColl inside a transaction.
func authorizeCollTx(ctx context.Context, tx store.Tx, c *store.Collection, act Action) (Level, error) {
	level, err := accessOf(ctx, tx, Principal(ctx), c)
	if err != nil {
		return LevelNone, err
	}
	return level, check(level, act, c)
}

// busyChain is what a free-busy sharee sees of a calendar: busy blocks,
// and nothing of the occurrences that leave its owner free: transparent
// and cancelled ones (RFC 4791 7.10).
var busyChain = []*vcal.Filter{{Default: vcal.Busy, Rules: []vcal.Rule{
	{Level: vcal.Hidden, Transp: "TRANSPARENT"},
	{Level: vcal.Hidden, Statuses: []string{"CANCELLED"}},
}}}

// busyOnly renders o as a free-busy sharee sees it: its busy blocks only,
// with an ETag of its own and no modification time, so that nothing served
// tells of changes to what they do not see. nil when nothing of o is busy
// time (a transparent event, a task).
func (s *Service) busyOnly(c *store.Collection, o *store.Object) (*store.Object, error) {
	if c.Kind != store.KindCalendar || o.Data == nil {
		return o, nil
	}
	parsed, err := ical.Parse(o.Data)
	if err != nil {
		return nil, err
	}
	if parsed.Component != "VEVENT" {
		return nil, nil // tasks and journal entries are no busy time
	}
	now := s.Now()
	out, err := vcal.Apply(parsed, o.Data, sourceID(c), busyChain, vcal.Options{Window: evaluationWindow(now), Now: now})
	if err != nil || out == nil {
		return nil, err
	}
	sum := sha256.Sum256(out)
	b := *o
	b.Data, b.Size, b.ETag, b.Modified = out, int64(len(out)), "fb-"+hex.EncodeToString(sum[:16]), time.Time{}
	b.Occurrences = nil
	return &b, nil
}

// busyOnlyAll renders objects for a free-busy sharee, dropping those that
// show nothing.
func (s *Service) busyOnlyAll(ctx context.Context, c *store.Collection, objs []*store.Object) []*store.Object {
	out := objs[:0]
	for _, o := range objs {
		b, err := s.busyOnly(c, o)
		if err != nil {
			s.opts.Logger.WarnContext(ctx, "object not rendered for a free-busy share", "collection", c.ID, "name", o.Name, "err", err)
			continue
		}
		if b != nil {
			out = append(out, b)
		}
	}
	return out
}
