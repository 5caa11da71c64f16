package domain

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"koyomi.dev/koyomi/internal/auth"
	"koyomi.dev/koyomi/internal/store"
)

// appSecretBytes is the entropy of an app password: 200 bits, which base32
// spells in exactly 40 characters.
const appSecretBytes = 25

// newAppSecret returns a random app password in lower-case base32, in
// dash-separated groups of four, which is easy to read off a screen and type
// on a phone. auth.AppPasswordHash ignores the dashes and case.
func newAppSecret() (string, error) {
	raw := make([]byte, appSecretBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("app password: %w", err)
	}
	s := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw))
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String(), nil
}

// CreateAppPassword creates an app password for user's device label and
// returns its secret, which is stored only as a hash: this is the one time
// it can be shown.
func (s *Service) CreateAppPassword(ctx context.Context, user, label string) (string, *store.AppPassword, error) {
	if err := authorize(ctx, user); err != nil {
		return "", nil, err
	}
	label = strings.TrimSpace(label)
	if label == "" {
		return "", nil, fmt.Errorf("%w: empty app password label", ErrInvalidName)
	}
	if err := CheckLabel("label", label); err != nil {
		return "", nil, err
	}
	secret, err := newAppSecret()
	if err != nil {
		return "", nil, err
	}
	p := &store.AppPassword{User: user, Label: label, Hash: auth.AppPasswordHash(secret)}
	if err := s.store.Update(ctx, func(tx store.Tx) error { return tx.CreateAppPassword(ctx, p) }); err != nil {
		return "", nil, mapStoreErr(err)
	}
	return secret, p, nil
}

// AppPasswords lists user's app passwords in use, oldest first.
func (s *Service) AppPasswords(ctx context.Context, user string) ([]*store.AppPassword, error) {
	if err := authorize(ctx, user); err != nil {
		return nil, err
	}
	var ps []*store.AppPassword
	err := s.store.View(ctx, func(tx store.Tx) error {
		if _, err := tx.GetUser(ctx, user); err != nil {
			return err
		}
		all, err := tx.AppPasswords(ctx, user)
		for _, p := range all {
			if p.Revoked.IsZero() {
				ps = append(ps, p)
			}
		}
		return err
	})
	return ps, mapStoreErr(err)
}

// RevokeAppPassword revokes one of user's app passwords; the next request
// made with it is refused, and logged as made with a revoked one.
func (s *Service) RevokeAppPassword(ctx context.Context, user string, id int64) error {
	if err := authorize(ctx, user); err != nil {
		return err
	}
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error { return tx.RevokeAppPassword(ctx, user, id, s.Now()) }))
}

// AppPasswordHashes returns user's app passwords for authentication, revoked
// ones included, without access check: the caller is establishing who the
// principal is. An unknown user has none.
func (s *Service) AppPasswordHashes(ctx context.Context, user string) ([]store.AppPassword, error) {
	var ps []*store.AppPassword
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		ps, err = tx.AppPasswords(ctx, user)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]store.AppPassword, len(ps))
	for i, p := range ps {
		out[i] = *p
	}
	return out, nil
}

// LookupAppPasswords implements auth.AppPasswordLookup.
func (s *Service) LookupAppPasswords(ctx context.Context, user string) ([]auth.AppPassword, error) {
	ps, err := s.AppPasswordHashes(ctx, user)
	if err != nil {
		return nil, err
	}
	out := make([]auth.AppPassword, len(ps))
	for i, p := range ps {
		out[i] = auth.AppPassword{ID: p.ID, Hash: p.Hash, Revoked: !p.Revoked.IsZero()}
	}
	return out, nil
}

// AppPasswordUsed implements auth.AppPasswordLookup. A password revoked
// meanwhile is no error: there is nothing left to record.
func (s *Service) AppPasswordUsed(ctx context.Context, id int64, at time.Time) error {
	err := s.store.Update(ctx, func(tx store.Tx) error { return tx.TouchAppPassword(ctx, id, at) })
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

var _ auth.AppPasswordLookup = (*Service)(nil)
