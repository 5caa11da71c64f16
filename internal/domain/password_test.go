package domain

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"koyomi.dev/koyomi/internal/auth"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

// A new password has at least the minimum number of characters (not
// bytes), when created and when changed; a refused one changes nothing.
func TestMinPasswordLength(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fast := auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 16}
	s := New(st, Options{PasswordParams: fast})

	tooShort := func(what string, err error, n, min int) {
		t.Helper()
		var invalid *InvalidError
		if !errors.Is(err, ErrPasswordTooShort) || !errors.As(err, &invalid) || invalid.Field != "password" {
			t.Fatalf("%s: err = %v, want a password InvalidError wrapping ErrPasswordTooShort", what, err)
		}
		if want := fmt.Sprintf("password: too short: %d characters, at least %d", n, min); err.Error() != want {
			t.Errorf("%s: message %q, want %q", what, err, want)
		}
	}
	tooShort("create", s.CreateUser(ctx, "alice", "seven77", ""), 7, DefaultMinPasswordLength)
	if _, err := s.User(ctx, "alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused user was created: %v", err)
	}
	// Eight characters in 24 bytes.
	if err := s.CreateUser(ctx, "alice", "パスワードです。", ""); err != nil {
		t.Fatalf("eight characters refused: %v", err)
	}
	tooShort("change", s.SetPassword(ctx, "alice", "short"), 5, DefaultMinPasswordLength)
	u, _ := s.User(ctx, "alice")
	if ok, _ := auth.VerifyPassword(u.PasswordHash, "パスワードです。"); !ok {
		t.Error("a refused change replaced the password")
	}

	strict := New(st, Options{PasswordParams: fast, MinPasswordLength: 12})
	tooShort("configured minimum", strict.SetPassword(ctx, "alice", "elevenchars"), 11, 12)
	if err := strict.SetPassword(ctx, "alice", "twelve-chars"); err != nil {
		t.Errorf("twelve characters refused: %v", err)
	}
}
