package auth

import (
	"errors"
	"strings"
	"testing"
)

// cheapParams keep tests fast; the algorithm is the same at any cost.
func cheapParams() Params {
	return Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
}

func TestHashVerifyRoundTrip(t *testing.T) {
	for _, pw := range []string{"correct horse", "", "pässwörd ✓", strings.Repeat("x", 1000)} {
		hash, err := HashPassword(pw, cheapParams())
		if err != nil {
			t.Fatalf("HashPassword(%q): %v", pw, err)
		}
		if !strings.HasPrefix(hash, "$argon2id$v=19$m=64,t=1,p=1$") {
			t.Errorf("hash %q lacks the PHC prefix", hash)
		}
		ok, err := VerifyPassword(hash, pw)
		if err != nil || !ok {
			t.Errorf("VerifyPassword(own hash of %q) = %v, %v; want true, nil", pw, ok, err)
		}
		ok, err = VerifyPassword(hash, pw+"!")
		if err != nil || ok {
			t.Errorf("VerifyPassword(wrong password) = %v, %v; want false, nil", ok, err)
		}
	}
}

func TestHashUsesFreshSalt(t *testing.T) {
	a, _ := HashPassword("same", cheapParams())
	b, _ := HashPassword("same", cheapParams())
	if a == b {
		t.Fatalf("two hashes of the same password are identical: %s", a)
	}
}

func TestDefaultParamsHash(t *testing.T) {
	hash, err := HashPassword("pw", DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q does not record the default parameters", hash)
	}
	if NeedsRehash(hash, DefaultParams()) {
		t.Error("NeedsRehash is true for a hash made with the same parameters")
	}
	if !NeedsRehash(hash, cheapParams()) {
		t.Error("NeedsRehash is false for a hash made with other parameters")
	}
}

// The argon2id test vector of the reference implementation (password
// "password", salt "somesalt", t=1, m=64 KiB, p=1, 24-byte key) in PHC form,
// so the encoding is known to interoperate with other tools.
func TestVerifyReferenceHash(t *testing.T) {
	const ref = "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"
	ok, err := VerifyPassword(ref, "password")
	if err != nil || !ok {
		t.Fatalf("VerifyPassword(reference) = %v, %v; want true, nil", ok, err)
	}
}

func TestVerifyMalformed(t *testing.T) {
	good, _ := HashPassword("pw", cheapParams())
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	tests := []struct {
		name, hash string
	}{
		{"empty", ""},
		{"plaintext", "hunter2"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"old version", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key},
		{"missing key", "$argon2id$v=19$m=64,t=1,p=1$" + salt},
		{"extra field", good + "$x"},
		{"params order", "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key},
		{"params missing", "$argon2id$v=19$m=64,t=1$" + salt + "$" + key},
		{"non-numeric", "$argon2id$v=19$m=lots,t=1,p=1$" + salt + "$" + key},
		{"zero time", "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key},
		{"zero lanes", "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key},
		{"lanes overflow", "$argon2id$v=19$m=64,t=1,p=256$" + salt + "$" + key},
		{"huge memory", "$argon2id$v=19$m=4294967295,t=1,p=1$" + salt + "$" + key},
		{"bad base64 salt", "$argon2id$v=19$m=64,t=1,p=1$!!!$" + key},
		{"padded key", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "="},
		{"short key", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$AAAA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := VerifyPassword(tt.hash, "pw")
			if !errors.Is(err, ErrMalformedHash) {
				t.Errorf("VerifyPassword(%q) error = %v; want ErrMalformedHash", tt.hash, err)
			}
			if ok {
				t.Error("malformed hash verified")
			}
		})
	}
}

func TestHashRejectsBadParams(t *testing.T) {
	bad := []Params{
		{},
		{Memory: 64, Iterations: 0, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 4, KeyLength: 32},
		{Memory: 4, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32},
	}
	for _, p := range bad {
		if _, err := HashPassword("pw", p); err == nil {
			t.Errorf("HashPassword with %+v succeeded", p)
		}
	}
}

func FuzzVerifyPassword(f *testing.F) {
	good, _ := HashPassword("pw", cheapParams())
	f.Add(good, "pw")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$$", "")
	f.Add("$argon2id$v=19$m=,t=,p=$x$y", "pw")
	f.Fuzz(func(t *testing.T, hash, pw string) {
		p, salt, key, err := decodePHC(hash)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("error %v does not wrap ErrMalformedHash", err)
			}
			return
		}
		// Whatever decodes must survive re-encoding unchanged in meaning.
		p2, salt2, key2, err := decodePHC(encodePHC(p, salt, key))
		if err != nil || p2 != p || string(salt2) != string(salt) || string(key2) != string(key) {
			t.Fatalf("re-encoding %q: got %+v, %v", hash, p2, err)
		}
		if p.Memory > 4096 || p.Iterations > 4 {
			return // valid but too slow to hash in a fuzz loop
		}
		if _, err := VerifyPassword(hash, pw); err != nil {
			t.Fatalf("decodable hash %q failed to verify: %v", hash, err)
		}
	})
}
