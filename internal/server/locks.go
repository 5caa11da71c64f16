package server

import (
	"context"

	"koyomi.dev/koyomi/internal/davlock"
	"koyomi.dev/koyomi/internal/store"
)

// storeLocks keeps WebDAV locks in the store (a davlock.Backing), so every
// node of a cluster sees the same locks and they survive restarts.
type storeLocks struct{ st store.Store }

func (s storeLocks) Load(ctx context.Context) ([]davlock.Lock, error) {
	var out []davlock.Lock
	err := s.st.View(ctx, func(tx store.Tx) error {
		recs, err := tx.Locks(ctx)
		out = fromRecords(recs)
		return err
	})
	return out, err
}

func (s storeLocks) Update(ctx context.Context, fn func([]davlock.Lock) ([]davlock.Lock, error)) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		recs, err := tx.Locks(ctx)
		if err != nil {
			return err
		}
		locks, err := fn(fromRecords(recs))
		if err != nil {
			return err
		}
		return tx.ReplaceLocks(ctx, toRecords(locks))
	})
}

func fromRecords(recs []store.LockRecord) []davlock.Lock {
	out := make([]davlock.Lock, 0, len(recs))
	for _, r := range recs {
		out = append(out, davlock.Lock{Token: r.Token, Root: r.Root, Infinite: r.Infinite, Exclusive: r.Exclusive,
			Owner: r.Owner, Principal: r.Principal, Timeout: r.Timeout, Expires: r.Expires})
	}
	return out
}

func toRecords(locks []davlock.Lock) []store.LockRecord {
	out := make([]store.LockRecord, 0, len(locks))
	for _, l := range locks {
		out = append(out, store.LockRecord{Token: l.Token, Root: l.Root, Infinite: l.Infinite, Exclusive: l.Exclusive,
			Owner: l.Owner, Principal: l.Principal, Timeout: l.Timeout, Expires: l.Expires})
	}
	return out
}
