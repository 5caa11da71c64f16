package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// ErrMalformedHash is wrapped by errors about stored hashes that cannot be
// parsed. It means the stored data is wrong, not that the password is.
var ErrMalformedHash = errors.New("auth: malformed password hash")

// Params are the argon2id cost parameters used when hashing a new password.
// Verification always uses the parameters recorded in the hash itself, so
// raising them later only affects passwords set from then on.
type Params struct {
	Memory      uint32 // KiB
	Iterations  uint32
	Parallelism uint8
	SaltLength  uint32 // bytes
	KeyLength   uint32 // bytes
}

// DefaultParams returns the cost parameters recommended by OWASP for argon2id
// (19 MiB, two passes, one lane). They suit a server that verifies a password
// once per login and caches the result, and keep memory bounded when many
// clients log in at the same moment.
func DefaultParams() Params {
	return Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}
}

// Limits on what a stored hash may ask for. A hash is trusted data, but a
// corrupted or hostile row must not make one login allocate gigabytes.
const (
	maxMemory     = 1 << 20 // KiB, 1 GiB
	maxIterations = 100
	minSaltLength = 8
	maxSaltLength = 64
	minKeyLength  = 16
	maxKeyLength  = 64
)

func (p Params) validate() error {
	switch {
	case p.Parallelism < 1:
		return errors.New("parallelism must be at least 1")
	case p.Memory < 8*uint32(p.Parallelism):
		return fmt.Errorf("memory must be at least %d KiB for parallelism %d", 8*uint32(p.Parallelism), p.Parallelism)
	case p.Memory > maxMemory:
		return fmt.Errorf("memory %d KiB exceeds the limit of %d KiB", p.Memory, maxMemory)
	case p.Iterations < 1 || p.Iterations > maxIterations:
		return fmt.Errorf("iterations must be between 1 and %d", maxIterations)
	case p.SaltLength < minSaltLength || p.SaltLength > maxSaltLength:
		return fmt.Errorf("salt length must be between %d and %d bytes", minSaltLength, maxSaltLength)
	case p.KeyLength < minKeyLength || p.KeyLength > maxKeyLength:
		return fmt.Errorf("key length must be between %d and %d bytes", minKeyLength, maxKeyLength)
	}
	return nil
}

// HashPassword hashes password with argon2id and a fresh random salt, and
// returns it in the PHC string format
// ($argon2id$v=19$m=...,t=...,p=...$salt$key) used by other argon2 tools, so
// hashes can be moved in and out of Koyomi.
func HashPassword(password string, p Params) (string, error) {
	if err := p.validate(); err != nil {
		return "", fmt.Errorf("auth: hashing parameters: %w", err)
	}
	salt := make([]byte, p.SaltLength)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: reading salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
	return encodePHC(p, salt, key), nil
}

func encodePHC(p Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Iterations, p.Parallelism, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// VerifyPassword reports whether password matches hash. A wrong password is
// (false, nil); an error means the hash itself is unusable and wraps
// ErrMalformedHash.
func VerifyPassword(hash, password string) (bool, error) {
	p, salt, key, err := decodePHC(hash)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// NeedsRehash reports whether hash was made with parameters other than p (or
// cannot be read), so a caller holding the plaintext after a successful login
// may store a fresh hash.
func NeedsRehash(hash string, p Params) bool {
	got, _, _, err := decodePHC(hash)
	if err != nil {
		return true
	}
	return got != p
}

func decodePHC(hash string) (p Params, salt, key []byte, err error) {
	fail := func(format string, args ...any) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformedHash, fmt.Sprintf(format, args...))
	}
	// "", "argon2id", "v=19", "m=...,t=...,p=...", salt, key
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" {
		return fail("want $argon2id$v=..$m=..,t=..,p=..$salt$key, got %d fields", len(parts)-1)
	}
	if parts[1] != "argon2id" {
		return fail("unsupported algorithm %q", parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return fail("unsupported version %q", parts[2])
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return fail("want m=..,t=..,p=.. parameters, got %q", parts[3])
	}
	var vals [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(params[i], name+"=")
		if !ok {
			return fail("parameter %d: want %s=, got %q", i+1, name, params[i])
		}
		n, perr := strconv.ParseUint(v, 10, 32)
		if perr != nil {
			return fail("parameter %s: %v", name, perr)
		}
		vals[i] = n
	}
	if vals[2] > 255 {
		return fail("parallelism %d out of range", vals[2])
	}
	b64 := base64.RawStdEncoding.Strict()
	salt, err = b64.DecodeString(parts[4])
	if err != nil {
		return fail("salt: %v", err)
	}
	key, err = b64.DecodeString(parts[5])
	if err != nil {
		return fail("key: %v", err)
	}
	p = Params{
		Memory: uint32(vals[0]), Iterations: uint32(vals[1]), Parallelism: uint8(vals[2]),
		SaltLength: uint32(len(salt)), KeyLength: uint32(len(key)),
	}
	if err := p.validate(); err != nil {
		return fail("%v", err)
	}
	return p, salt, key, nil
}
