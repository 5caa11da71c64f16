package domain

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// What a reader may read of virtual calendars and groups. A reader is a
// user name, or "group:NAME" for a group's own calendar. These are the only
// places that decide it; the resolver asks them at every evaluation, so a
// revoked share, a left group or a deleted user takes effect on the next
// request of every view built on them.

// vcAccess reports whether reader may read vc, and until when (zero: no
// limit) for a member who left a group it is shared with under a
// keep-the-past policy.
func vcAccess(ctx context.Context, tx store.Tx, vc *store.VirtualCalendar, reader string) (ok bool, until time.Time, err error) {
	if vc.Owner == reader {
		return true, time.Time{}, nil
	}
	if strings.HasPrefix(reader, "group:") {
		// A group's calendar reads its own members' contributions only.
		return false, time.Time{}, nil
	}
	if slices.Contains(vc.SharedWith, "user:"+reader) {
		return true, time.Time{}, nil
	}
	ms, err := tx.UserMemberships(ctx, reader)
	if err != nil {
		return false, time.Time{}, err
	}
	for _, m := range ms {
		if !slices.Contains(vc.SharedWith, "group:"+m.Group) {
			continue
		}
		ok2, until2, err := membershipAccess(ctx, tx, m)
		if err != nil {
			return false, time.Time{}, err
		}
		if !ok2 {
			continue
		}
		if until2.IsZero() {
			return true, time.Time{}, nil
		}
		if !ok || until2.After(until) {
			ok, until = true, until2
		}
	}
	return ok, until, nil
}

// membershipAccess is what a membership gives: everything while current;
// after leaving, what ended before under a keep-the-past policy, or
// nothing.
func membershipAccess(ctx context.Context, tx store.Groups, m *store.Membership) (bool, time.Time, error) {
	if m.Left.IsZero() {
		return true, time.Time{}, nil
	}
	g, err := tx.GetGroup(ctx, m.Group)
	if err != nil {
		if isNotFound(err) {
			return false, time.Time{}, nil
		}
		return false, time.Time{}, err
	}
	if g.KeepPast {
		return true, m.Left, nil
	}
	return false, time.Time{}, nil
}

// groupReadAccess reports whether reader may read group's calendar (what its
// members contribute), and until when: the group itself and its current
// members may; a member who left only under the keep-the-past policy, up to
// when they left; nobody else.
func groupReadAccess(ctx context.Context, tx store.Groups, group, reader string) (bool, time.Time, error) {
	if reader == GroupOwner(group) {
		return true, time.Time{}, nil
	}
	if strings.HasPrefix(reader, "group:") {
		return false, time.Time{}, nil
	}
	ms, err := tx.UserMemberships(ctx, reader)
	if err != nil {
		return false, time.Time{}, err
	}
	for _, m := range ms {
		if m.Group == group {
			return membershipAccess(ctx, tx, m)
		}
	}
	return false, time.Time{}, nil
}

// mayWriteThrough reports whether viewer may write into vc's write target:
// its owner may; others when the definition names them among its writers
// (as user:NAME or group:NAME of a group they currently belong to), or, when
// it names no writers, everyone it is shared with.
func mayWriteThrough(ctx context.Context, tx store.Tx, vc *store.VirtualCalendar, def storedDefinition, viewer string) (bool, error) {
	if def.WriteTarget == "" {
		return false, nil
	}
	if viewer == vc.Owner {
		return true, nil
	}
	if len(def.Writers) == 0 {
		return true, nil // the caller has checked that viewer sees vc
	}
	if slices.Contains(def.Writers, "user:"+viewer) {
		return true, nil
	}
	ms, err := tx.UserMemberships(ctx, viewer)
	if err != nil {
		return false, err
	}
	for _, m := range ms {
		if m.Left.IsZero() && slices.Contains(def.Writers, "group:"+m.Group) {
			return true, nil
		}
	}
	return false, nil
}

// groupWriteTarget is the calendar a current member of group writes into
// through the group's calendar: the first they contribute.
func groupWriteTarget(ctx context.Context, tx store.Tx, group, viewer string) (*store.Collection, error) {
	ms, err := tx.UserMemberships(ctx, viewer)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		var cs []Contribution
		if m.Group != group || !m.Left.IsZero() || json.Unmarshal(m.Contributions, &cs) != nil || len(cs) == 0 {
			continue
		}
		c, err := tx.GetCollection(ctx, viewer, cs[0].Calendar)
		if err != nil {
			if isNotFound(err) {
				return nil, nil
			}
			return nil, err
		}
		if c.Kind == store.KindCalendar {
			return c, nil
		}
	}
	return nil, nil
}
