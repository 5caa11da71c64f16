// Package secret keeps small secrets (the passwords and tokens connectors
// use to reach other servers) encrypted at rest with a server key, using
// AES-256-GCM. A sealed value names the key version it was sealed with, so
// keys can be rotated later without guessing.
//
// It knows nothing of what the secrets are for or where they are stored.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the length of a server key in bytes.
const KeySize = 32

// version is the first byte of every sealed value.
const version = 1

// ErrCorrupt is returned by Open for data that was not sealed with this
// box's key (a different key, or damaged data).
var ErrCorrupt = errors.New("secret: cannot decrypt (wrong server key or damaged data)")

// Box seals and opens secrets with one key.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box over a KeySize-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret: key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plain. Sealing the same value twice gives different bytes.
func (b *Box) Seal(plain []byte) []byte {
	nonce := make([]byte, b.aead.NonceSize(), 1+b.aead.NonceSize()+len(plain)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic("secret: no randomness: " + err.Error()) // crypto/rand never fails on supported systems
	}
	out := append([]byte{version}, nonce...)
	return b.aead.Seal(out, nonce, plain, []byte{version})
}

// Open decrypts what Seal produced.
func (b *Box) Open(sealed []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < 1+n+b.aead.Overhead() || sealed[0] != version {
		return nil, ErrCorrupt
	}
	plain, err := b.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte{version})
	if err != nil {
		return nil, ErrCorrupt
	}
	return plain, nil
}

// LoadKey reads a key file: the key as 64 hexadecimal digits (surrounding
// white space ignored). When the file does not exist and create is set, a
// new random key is written to it, readable by its owner only.
func LoadKey(path string, create bool) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		return createKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("secret: read server key: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("secret: server key file %s must hold %d hexadecimal digits", path, 2*KeySize)
	}
	return key, nil
}

func createKey(path string) ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("secret: create server key: %w", err)
	}
	// Written whole to a private file first, then linked into place: the
	// link fails if another process made the key meanwhile (then theirs
	// is used), and nobody ever reads a half-written key.
	tmp, err := os.CreateTemp(dir, ".secret-key-*")
	if err != nil {
		return nil, fmt.Errorf("secret: create server key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(hex.EncodeToString(key) + "\n")
	if err := errors.Join(werr, tmp.Chmod(0o600), tmp.Sync(), tmp.Close()); err != nil {
		return nil, fmt.Errorf("secret: write server key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return LoadKey(path, false)
	} else if err != nil {
		return nil, fmt.Errorf("secret: create server key: %w", err)
	}
	// The key's directory entry must survive a crash: a lost key would
	// make every stored credential unreadable.
	if d, err := os.Open(dir); err == nil {
		serr := d.Sync()
		d.Close()
		if serr != nil {
			return nil, fmt.Errorf("secret: create server key: %w", serr)
		}
	}
	return key, nil
}

// WriteKey writes key to path in the form LoadKey reads, readable by its
// owner only, replacing any file there. The file is written whole before
// it takes the name, so a reader never sees half a key.
func WriteKey(path string, key []byte) error {
	if len(key) != KeySize {
		return fmt.Errorf("secret: key is %d bytes, want %d", len(key), KeySize)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("secret: write server key: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".secret-key-*")
	if err != nil {
		return fmt.Errorf("secret: write server key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(hex.EncodeToString(key) + "\n")
	if err := errors.Join(werr, tmp.Chmod(0o600), tmp.Sync(), tmp.Close()); err != nil {
		return fmt.Errorf("secret: write server key: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("secret: write server key: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		serr := d.Sync()
		d.Close()
		if serr != nil {
			return fmt.Errorf("secret: write server key: %w", serr)
		}
	}
	return nil
}
