package domain

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"koyomi.dev/koyomi/internal/store"
)

// Synchronising views. Each viewer of a virtual calendar has a sync log in
// the store: what they were served under each name, with tombstones. It is
// brought up to date when the view's definition or a source changed since,
// by evaluating the view and comparing; incremental sync then answers from
// the log, so it names only objects the viewer was shown, and reports an
// object that became hidden as removed, but only to clients that had it.

// VCChange is one entry of an answer to incremental sync on a view: an
// object to fetch (Object set) or a name that is gone.
type VCChange struct {
	Name   string
	Object *VCObject // nil: removed
}

// sourceRevisions encodes the revision of each of the view's sources.
func sourceRevisions(ctx context.Context, tx store.Tx, v *VCView) (string, error) {
	var b strings.Builder
	for i, c := range v.Sources() {
		cur, err := tx.GetCollectionByID(ctx, c.ID)
		if err != nil {
			return "", err
		}
		if i > 0 {
			b.WriteByte('.')
		}
		fmt.Fprintf(&b, "%d-%d", cur.ID, cur.Revision)
	}
	return b.String(), nil
}

// vcSyncRevision brings viewer's sync log of v up to date and returns its
// revision, the view's sync token.
func (s *Service) vcSyncRevision(ctx context.Context, v *VCView) (int64, error) {
	rev, _, err := s.refreshViewLog(ctx, v, false)
	return rev, err
}

// refreshViewLog brings viewer's sync log of v up to date. It returns the
// log's revision and, when it evaluated the view to do so, what the view
// shows, exactly as logged at that revision (nil otherwise). With
// evaluate, it evaluates the view even when the log is current.
func (s *Service) refreshViewLog(ctx context.Context, v *VCView, evaluate bool) (int64, []*VCObject, error) {
	if err := authorize(ctx, v.Viewer); err != nil {
		return 0, nil, err
	}
	var (
		state   *store.ViewSyncState
		sources string
	)
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		if sources, err = sourceRevisions(ctx, tx, v); err != nil {
			return err
		}
		state, err = tx.GetViewSyncState(ctx, v.VC.ID, v.Viewer)
		if isNotFound(err) {
			state, err = nil, nil
		}
		return err
	})
	if err != nil {
		return 0, nil, mapStoreErr(err)
	}
	if !evaluate && state != nil && state.Key == v.key && state.Sources == sources {
		return state.Revision, nil, nil
	}
	// The sources' revisions were read before the view is evaluated, so a
	// change made meanwhile is seen again on the next sync, never lost.
	objs, err := s.VCObjects(ctx, v, nil)
	if err != nil {
		return 0, nil, err
	}
	now := s.opts.Clock().UTC()
	var rev int64
	err = s.store.Update(ctx, func(tx store.Tx) error {
		cur, err := tx.GetViewSyncState(ctx, v.VC.ID, v.Viewer)
		if err != nil && !isNotFound(err) {
			return err
		}
		if cur == nil {
			cur = &store.ViewSyncState{VC: v.VC.ID, Viewer: v.Viewer}
		}
		logged, err := tx.ViewMembers(ctx, v.VC.ID, v.Viewer, 0)
		if err != nil {
			return err
		}
		next := cur.Revision + 1
		byName := make(map[string]*store.ViewMember, len(logged))
		for _, m := range logged {
			byName[m.Name] = m
		}
		var changed []*store.ViewMember
		shown := make(map[string]bool, len(objs))
		for _, o := range objs {
			shown[o.Name] = true
			m := byName[o.Name]
			if m != nil && !m.Deleted && m.ETag == o.ETag {
				continue
			}
			first := next
			if m != nil {
				first = m.FirstSeen
			}
			changed = append(changed, &store.ViewMember{Name: o.Name, ETag: o.ETag, Revision: next, FirstSeen: first, Modified: now})
		}
		for _, m := range logged {
			if !m.Deleted && !shown[m.Name] {
				changed = append(changed, &store.ViewMember{Name: m.Name, Revision: next, FirstSeen: m.FirstSeen, Deleted: true, Modified: now})
			}
		}
		rev = cur.Revision
		if len(changed) > 0 || cur.Revision == 0 {
			rev = next
		}
		return tx.RecordViewSync(ctx, &store.ViewSyncState{VC: v.VC.ID, Viewer: v.Viewer, Key: v.key, Sources: sources, Revision: rev}, changed)
	})
	if err != nil {
		return 0, nil, mapStoreErr(err)
	}
	return rev, objs, nil
}

// vcSyncChanges answers sync-collection on v from revision since (0: an
// initial sync): the objects shown now that changed after it, and the
// names shown to the viewer at since that are gone. It returns the current
// revision. A revision the log does not know is ErrPrecondition.
func (s *Service) vcSyncChanges(ctx context.Context, v *VCView, since int64) ([]VCChange, int64, error) {
	rev, shown, err := s.refreshViewLog(ctx, v, since == 0)
	if err != nil {
		return nil, 0, err
	}
	if since > rev || since < 0 {
		return nil, 0, fmt.Errorf("%w: sync revision %d is not one of this view's", ErrPrecondition, since)
	}
	if since == 0 {
		// An initial sync lists what the view shows, as logged at rev.
		out := make([]VCChange, len(shown))
		for i, o := range shown {
			out[i] = VCChange{Name: o.Name, Object: o}
		}
		return out, rev, nil
	}
	byName := make(map[string]*VCObject, len(shown))
	for _, o := range shown {
		byName[o.Name] = o
	}
	var out []VCChange
	err = s.store.View(ctx, func(tx store.Tx) error {
		logged, err := tx.ViewMembers(ctx, v.VC.ID, v.Viewer, since)
		if err != nil {
			return err
		}
		// Entries logged by a sync that started after this one are left
		// for the next.
		logged = slices.DeleteFunc(logged, func(m *store.ViewMember) bool { return m.Revision > rev })
		var missing []string
		for _, m := range logged {
			if !m.Deleted && byName[m.Name] == nil {
				missing = append(missing, m.Name)
			}
		}
		if len(missing) > 0 {
			found, err := s.lookupVCObjects(ctx, tx, v, missing)
			if err != nil {
				return err
			}
			for n, o := range found {
				byName[n] = o
			}
		}
		for _, m := range logged {
			switch o := byName[m.Name]; {
			case m.Deleted:
				if m.FirstSeen <= since {
					out = append(out, VCChange{Name: m.Name})
				}
			case o != nil:
				out = append(out, VCChange{Name: m.Name, Object: o})
			}
			// A name logged as shown that is gone since: the next sync
			// reports it.
		}
		return nil
	})
	if err != nil {
		return nil, 0, mapStoreErr(err)
	}
	return out, rev, nil
}

// vcSyncToken is the sync token of revision rev of viewer's log of v.
func vcSyncToken(v *VCView, rev int64) string {
	return "urn:koyomi:view:" + strconv.FormatInt(v.VC.ID, 10) + ":" + strconv.FormatInt(rev, 10)
}

// parseVCSyncToken reads a token of vcSyncToken for v.
func parseVCSyncToken(v *VCView, token string) (int64, bool) {
	rest, ok := strings.CutPrefix(token, "urn:koyomi:view:"+strconv.FormatInt(v.VC.ID, 10)+":")
	if !ok {
		return 0, false
	}
	rev, err := strconv.ParseInt(rest, 10, 64)
	return rev, err == nil && rev >= 0
}
