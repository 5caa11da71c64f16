package domain

import (
	"context"
	"errors"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/store"
)

// A store's "not found" reaches people as the domain's, naming what was
// missing, without the store's prefixes; errors.Is still sees both.
func TestStoreErrorsReadInTheDomainsTerms(t *testing.T) {
	s, _ := newGroupService(t)
	ctx := context.Background()
	_, err := s.Collection(ctx, "alice", "nope")
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("err = %v; want ErrNotFound and store.ErrNotFound", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "sqlite") || strings.Contains(msg, "store:") || !strings.Contains(msg, "nope") {
		t.Errorf("message %q: want the collection named, no store prefixes", msg)
	}
}
