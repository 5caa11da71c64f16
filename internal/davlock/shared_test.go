package davlock

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// memBacking is a Backing held in memory, standing in for a store shared
// by several nodes.
type memBacking struct {
	mu    sync.Mutex
	locks []Lock
}

func (b *memBacking) Load(ctx context.Context) ([]Lock, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Lock(nil), b.locks...), nil
}

func (b *memBacking) Update(ctx context.Context, fn func([]Lock) ([]Lock, error)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	out, err := fn(append([]Lock(nil), b.locks...))
	if err != nil {
		return err
	}
	b.locks = out
	return nil
}

// Two managers on one backing act as one: a lock taken through one node
// blocks the other, its token works there, and unlocking anywhere frees it.
func TestSharedManagersActAsOne(t *testing.T) {
	ctx := context.Background()
	b := &memBacking{}
	nodeA, nodeB := NewShared(nil, b), NewShared(nil, b)
	l, err := nodeA.Create(ctx, Lock{Root: "/cal/", Infinite: true, Exclusive: true, Principal: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nodeB.Create(ctx, Lock{Root: "/cal/e.ics", Exclusive: true}); !errors.Is(err, ErrLocked) {
		t.Fatalf("conflicting lock through the other node: err = %v, want ErrLocked", err)
	}
	if err := nodeB.CheckAs(ctx, "alice", "/cal/e.ics", false, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("write without token through the other node: err = %v, want ErrLocked", err)
	}
	if err := nodeB.CheckAs(ctx, "alice", "/cal/e.ics", false, []string{l.Token}); err != nil {
		t.Fatalf("write with the token through the other node: %v", err)
	}
	if !nodeB.TokenApplies(ctx, "/cal/e.ics", l.Token) {
		t.Fatal("token unknown to the other node")
	}
	if err := nodeB.Unlock(ctx, "/cal/", l.Token); err != nil {
		t.Fatal(err)
	}
	if got, err := nodeA.Locks(ctx, "/cal/"); err != nil || len(got) != 0 {
		t.Fatalf("locks after unlock through the other node: %v, %v", got, err)
	}
}

// Concurrent exclusive locks on one resource through two nodes: exactly one
// is granted.
func TestSharedManagersGrantOneExclusiveLock(t *testing.T) {
	ctx := context.Background()
	b := &memBacking{}
	nodes := []*Manager{NewShared(nil, b), NewShared(nil, b)}
	var wg sync.WaitGroup
	granted := make(chan string, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if l, err := nodes[i%2].Create(ctx, Lock{Root: "/x", Exclusive: true}); err == nil {
				granted <- l.Token
			}
		}()
	}
	wg.Wait()
	close(granted)
	if n := len(granted); n != 1 {
		t.Fatalf("%d exclusive locks granted on one resource, want 1", n)
	}
}
