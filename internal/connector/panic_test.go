package connector_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/connector"
	"koyomi.dev/koyomi/internal/store"
)

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestPanicsInRunsAndPassesAreRecorded: a panic in a pass of the runner
// or in a connector's run is recovered and logged with its stack; the run
// is recorded as failed with the reason and backs off; the next pass and
// run proceed normally.
func TestPanicsInRunsAndPassesAreRecorded(t *testing.T) {
	ts := bareCalendar(t, "")
	l := newLocal(t)
	var logs syncBuffer
	var passes, runs atomic.Int32
	m := connector.New(connector.Options{Store: l.st, Domain: l.svc, Box: l.box, Clock: l.clock.Now, Node: "test",
		MinInterval: time.Minute, DefaultAllowed: true, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Hooks: connector.Hooks{
			Pass: func(context.Context) {
				if passes.Add(1) == 1 {
					panic("injected pass panic")
				}
			},
			Run: func(context.Context, *store.Connector) {
				if runs.Add(1) == 1 {
					panic("injected run panic")
				}
			},
		}})
	ctx := context.Background()
	c, err := m.Create(ctx, "alice", connector.Settings{Name: ptr("bare"), Calendar: ptr("work"),
		URL: ptr(ts.URL + "/cal/"), Direction: ptr(connector.PullOnly)})
	if err != nil {
		t.Fatal(err)
	}

	if next := m.RunDue(ctx); !next.After(l.clock.Now()) {
		t.Errorf("a pass that panicked schedules the next at %v (now %v)", next, l.clock.Now())
	}
	if h, _ := m.History(ctx, c.ID, 0); len(h) != 0 {
		t.Errorf("a pass that panicked before listing ran %+v", h)
	}

	m.RunDue(ctx)
	h, _ := m.History(ctx, c.ID, 0)
	got, _ := m.Get(ctx, c.ID)
	if len(h) != 1 || h[0].Status != connector.RunError || !strings.Contains(h[0].Error, "injected run panic") ||
		h[0].Ended.IsZero() {
		t.Fatalf("history after a run panicked: %+v, want one ended error run naming the panic", h)
	}
	if got.State != connector.StateIdle || !got.Enabled || got.Failures != 1 ||
		!strings.Contains(got.Reason, "injected run panic") || got.NextRun.Sub(l.clock.Now()) != time.Minute {
		t.Errorf("connector after a run panicked: state %s enabled %v failures %d reason %q next run in %v",
			got.State, got.Enabled, got.Failures, got.Reason, got.NextRun.Sub(l.clock.Now()))
	}

	l.clock.Add(time.Minute)
	m.RunDue(ctx)
	if h, _ := m.History(ctx, c.ID, 1); len(h) != 1 || h[0].Status != connector.RunOK {
		t.Errorf("run after the panic: %+v, want ok", h)
	}
	wantState(t, "local", l.state(t), map[string]string{"bare": "from a bare server"})

	out := logs.String()
	for _, want := range []string{"connector pass panicked", "injected pass panic", "connector run panicked",
		"injected run panic", "panic_test.go"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
