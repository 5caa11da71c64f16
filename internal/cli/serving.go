package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// A running server holds the serving lease in its store, renewing it while
// it runs and releasing it when it stops, so that commands that must not
// run under a live server (store copy) can tell. In a cluster the nodes
// take turns holding it: whichever holds it, the store is in use.
const (
	servingLease = "koyomi-serving"
	servingTTL   = 30 * time.Second
	servingRenew = 10 * time.Second
)

// holdServing takes the serving lease for holder and renews it until ctx
// ends; the function it returns stops renewing and releases the lease.
func holdServing(ctx context.Context, st store.Store, holder string, logger *slog.Logger) (release func()) {
	acquire := func() {
		err := st.Update(ctx, func(tx store.Tx) error {
			_, err := tx.AcquireLease(ctx, servingLease, holder, servingTTL, time.Now())
			return err
		})
		if err != nil && ctx.Err() == nil {
			logger.Warn("could not renew the serving lease", "err", err)
		}
	}
	acquire()
	ctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(servingRenew)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				acquire()
			}
		}
	}()
	return func() {
		stop()
		<-done
		// The request's context has ended by now; the release must still run.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err := st.Update(ctx, func(tx store.Tx) error { return tx.ReleaseLease(ctx, servingLease, holder) })
		if err != nil {
			logger.Warn("could not release the serving lease", "err", err)
		}
	}
}

// servingHolder names this process in the serving lease.
func servingHolder(node string) string { return fmt.Sprintf("%s/%d", node, os.Getpid()) }

// refuseServed fails when a running server holds the serving lease of st;
// verb names what --force would do anyway ("copy"). It checks by taking the
// lease for a moment under another holder's name.
func refuseServed(ctx context.Context, st store.Store, where, verb string) error {
	holder := servingHolder("store-" + verb)
	var free bool
	err := st.Update(ctx, func(tx store.Tx) error {
		var err error
		free, err = tx.AcquireLease(ctx, servingLease, holder, time.Second, time.Now())
		return err
	})
	if err != nil {
		return fmt.Errorf("is a server running on %s? %w", where, err)
	}
	if !free {
		return fmt.Errorf("a running server is using %s (it holds the %s lease); stop the server first, or pass --force to %s anyway",
			where, servingLease, verb)
	}
	return st.Update(ctx, func(tx store.Tx) error { return tx.ReleaseLease(ctx, servingLease, holder) })
}
