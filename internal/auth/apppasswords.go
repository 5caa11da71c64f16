package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
	"time"
)

// AppPassword is what the Authenticator needs of a stored app password: an
// id to record its use by, and the hex SHA-256 that AppPasswordHash gives
// for its secret.
type AppPassword struct {
	ID      int64
	Hash    string
	Revoked bool // matches, but never authenticates
}

// AppPasswordLookup is implemented by a UserLookup that also keeps app
// passwords: per-device secrets a user can revoke one by one, accepted
// beside the main password. The Authenticator detects it by type
// assertion.
//
// LookupAppPasswords is called on every request that the main password's
// cache does not answer, so that a revoked app password stops working at
// once; for an unknown user it returns no passwords (or an error wrapping
// ErrNoSuchUser). AppPasswordUsed records a successful use; failures are
// only logged.
type AppPasswordLookup interface {
	LookupAppPasswords(ctx context.Context, user string) ([]AppPassword, error)
	AppPasswordUsed(ctx context.Context, id int64, at time.Time) error
}

// touchInterval is how often the use of one app password is recorded: the
// last use shown to the user need not be finer, and clients authenticate on
// every request.
const touchInterval = time.Minute

// AppPasswordHash returns the hex SHA-256 under which the app password
// secret is stored. Dashes, spaces and case are ignored, so the grouped form
// shown to the user and a hand-typed one without separators both match.
// A fast hash suffices: the secrets are long random tokens, not chosen by
// people.
func AppPasswordHash(secret string) string {
	var b strings.Builder
	for _, r := range secret {
		switch {
		case r == '-' || r == ' ':
		case 'A' <= r && r <= 'Z':
			b.WriteRune(r + ('a' - 'A'))
		default:
			b.WriteRune(r)
		}
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// matchAppPassword returns user's app password that password is, or the
// zero AppPassword. Every stored hash is compared in constant time, and all
// of them are, so the time taken does not tell how much of any hash
// matched.
func (a *Authenticator) matchAppPassword(ctx context.Context, user, password string) (AppPassword, error) {
	if a.apps == nil {
		return AppPassword{}, nil
	}
	list, err := a.apps.LookupAppPasswords(ctx, user)
	if err != nil {
		return AppPassword{}, err
	}
	presented := []byte(AppPasswordHash(password))
	var found AppPassword
	for _, p := range list {
		if subtle.ConstantTimeCompare(presented, []byte(p.Hash)) == 1 {
			found = p
		}
	}
	return found, nil
}

// touch records the use of app password id, at most once per
// touchInterval; it is best effort.
func (a *Authenticator) touch(ctx context.Context, user string, id int64) {
	now := a.now()
	a.mu.Lock()
	if last, ok := a.touched[id]; ok && now.Sub(last) < touchInterval {
		a.mu.Unlock()
		return
	}
	if len(a.touched) >= a.max {
		// Forget the old records rather than grow without bound; revoked
		// passwords' ids would otherwise stay forever.
		for k, t := range a.touched {
			if now.Sub(t) >= touchInterval {
				delete(a.touched, k)
			}
		}
	}
	a.touched[id] = now
	a.mu.Unlock()
	if err := a.apps.AppPasswordUsed(ctx, id, now); err != nil {
		a.log.WarnContext(ctx, "cannot record app password use", "user", user, "id", id, "err", err)
	}
}
