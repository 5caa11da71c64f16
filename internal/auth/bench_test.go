package auth

import (
	"context"
	"testing"
	"time"
)

// BenchmarkAuthenticateCached is the cost every request pays once a
// client's password has been verified: a lookup of the hash (here from
// memory) and a comparison with the cached digest.
func BenchmarkAuthenticateCached(b *testing.B) {
	a := newBenchAuthenticator(b, 0)
	ctx := context.Background()
	if ok, err := a.Authenticate(ctx, "alice", "alice-pw"); !ok || err != nil {
		b.Fatalf("first Authenticate = %v, %v", ok, err)
	}
	for b.Loop() {
		if ok, err := a.Authenticate(ctx, "alice", "alice-pw"); !ok || err != nil {
			b.Fatalf("Authenticate = %v, %v", ok, err)
		}
	}
}

// BenchmarkAuthenticateUncached verifies the password every time, with
// cheap argon2id parameters, so it measures the path around the hash.
func BenchmarkAuthenticateUncached(b *testing.B) {
	a := newBenchAuthenticator(b, -1)
	ctx := context.Background()
	for b.Loop() {
		if ok, err := a.Authenticate(ctx, "alice", "alice-pw"); !ok || err != nil {
			b.Fatalf("Authenticate = %v, %v", ok, err)
		}
	}
}

func newBenchAuthenticator(b *testing.B, ttl time.Duration) *Authenticator {
	b.Helper()
	hash, err := HashPassword("alice-pw", cheapParams())
	if err != nil {
		b.Fatal(err)
	}
	u := &users{hashes: map[string]string{"alice": hash}}
	a, err := New(u, Options{CacheTTL: ttl, Params: cheapParams()})
	if err != nil {
		b.Fatal(err)
	}
	return a
}
