// Package pgtest gives tests a fresh PostgreSQL database of their own on the
// server named by KOYOMI_TEST_POSTGRES, dropped when the test ends. Without
// that variable the tests that need PostgreSQL are skipped, so `go test ./...`
// passes on SQLite alone.
//
// It is test support only; it knows nothing of Koyomi's schema.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the DSN of a server tests may create and drop databases on,
// e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
const EnvVar = "KOYOMI_TEST_POSTGRES"

// ServerDSN returns the test server's DSN, or skips the test.
func ServerDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvVar)
	if dsn == "" {
		t.Skip(EnvVar + " not set: PostgreSQL store tests skipped")
	}
	return dsn
}

// WithDatabase returns dsn with its database replaced by name, for both DSN
// forms libpq accepts.
func WithDatabase(t testing.TB, dsn, name string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("%s: %v", EnvVar, err)
		}
		u.Path = "/" + name
		return u.String()
	}
	return dsn + " dbname=" + name
}

// Database creates an empty database for this test, drops it when the test
// ends, and returns its DSN. It skips the test when no server is configured.
func Database(t testing.TB) string {
	t.Helper()
	dsn := ServerDSN(t)
	ctx := context.WithoutCancel(t.Context())
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	random := make([]byte, 8)
	rand.Read(random)
	name := "koyomi_test_" + hex.EncodeToString(random)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close(ctx)
		t.Fatalf("create test database: %v", err)
	}
	// Registered before the tests' own cleanups (which close the stores), so
	// it runs after them; FORCE ends any connection a failed test leaked.
	t.Cleanup(func() {
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return WithDatabase(t, dsn, name)
}
