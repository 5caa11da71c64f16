package domain

import (
	"context"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// TrashPurgeLease is the lease that lets one node of a cluster purge the
// expired trash each period.
const TrashPurgeLease = "trash:purge"

// PurgeExpiredTrashOnce purges the expired trash if holder gets the lease
// for the period every: it is held (not released) for the whole period,
// so that however many nodes ask, one purges per period. It reports
// whether this call purged, and how many items went.
func (s *Service) PurgeExpiredTrashOnce(ctx context.Context, holder string, every time.Duration) (ran bool, purged int64, err error) {
	err = s.store.Update(ctx, func(tx store.Tx) error {
		var err error
		ran, err = tx.AcquireLease(ctx, TrashPurgeLease, holder, every, s.opts.Clock())
		return err
	})
	if err != nil || !ran {
		return false, 0, mapStoreErr(err)
	}
	purged, err = s.PurgeExpiredTrash(ctx)
	return true, purged, err
}

// RunTrashPurge purges the expired trash every period, on whichever node
// holds the lease, until ctx ends. Failures are logged and tried again the
// next period.
func (s *Service) RunTrashPurge(ctx context.Context, holder string, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		ran, n, err := s.PurgeExpiredTrashOnce(ctx, holder, every)
		switch {
		case err != nil && ctx.Err() == nil:
			s.opts.Logger.ErrorContext(ctx, "trash purge failed", "err", err)
		case ran && n > 0:
			s.opts.Logger.InfoContext(ctx, "expired trash purged", "items", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
