package secret

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestSealOpenRoundTrip(t *testing.T) {
	key, err := LoadKey(filepath.Join(t.TempDir(), "k"), true)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, plain := range [][]byte{nil, []byte("p"), []byte("correct horse battery staple"), bytes.Repeat([]byte{0xff}, 4096)} {
		sealed := b.Seal(plain)
		if len(plain) > 3 && bytes.Contains(sealed, plain) {
			t.Errorf("sealed value contains the plain text")
		}
		got, err := b.Open(sealed)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("Open(Seal(%q)) = %q, %v", plain, got, err)
		}
	}
	if bytes.Equal(b.Seal([]byte("x")), b.Seal([]byte("x"))) {
		t.Error("two seals of one value are equal: nonce reused")
	}
}

func TestOpenRefusesOtherKeysAndDamage(t *testing.T) {
	dir := t.TempDir()
	k1, _ := LoadKey(filepath.Join(dir, "1"), true)
	k2, _ := LoadKey(filepath.Join(dir, "2"), true)
	b1, _ := New(k1)
	b2, _ := New(k2)
	sealed := b1.Seal([]byte("password"))
	if _, err := b2.Open(sealed); !errors.Is(err, ErrCorrupt) {
		t.Errorf("other key: %v, want ErrCorrupt", err)
	}
	damaged := bytes.Clone(sealed)
	damaged[len(damaged)-1] ^= 1
	if _, err := b1.Open(damaged); !errors.Is(err, ErrCorrupt) {
		t.Errorf("damaged: %v, want ErrCorrupt", err)
	}
	for _, short := range [][]byte{nil, {version}, sealed[:10]} {
		if _, err := b1.Open(short); !errors.Is(err, ErrCorrupt) {
			t.Errorf("short %d bytes: %v, want ErrCorrupt", len(short), err)
		}
	}
}

func TestLoadKeyCreatesOnceAndReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "secret.key")
	if _, err := LoadKey(path, false); err == nil {
		t.Fatal("missing key without create: no error")
	}
	var wg sync.WaitGroup
	keys := make([][]byte, 8)
	for i := range keys {
		wg.Go(func() {
			k, err := LoadKey(path, true)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if !bytes.Equal(k, keys[0]) {
			t.Fatal("concurrent first loads made different keys")
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	again, err := LoadKey(path, true)
	if err != nil || !bytes.Equal(again, keys[0]) {
		t.Errorf("reload = %x, %v", again, err)
	}
	os.WriteFile(path, []byte("not hex\n"), 0o600)
	if _, err := LoadKey(path, true); err == nil {
		t.Error("garbage key file accepted")
	}
}

func TestWriteKeyReplacesAndLoadKeyReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "secret.key")
	first, err := LoadKey(path, true)
	if err != nil {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{9}, KeySize)
	if err := WriteKey(path, key); err != nil {
		t.Fatal(err)
	}
	got, err := LoadKey(path, false)
	if err != nil || !bytes.Equal(got, key) || bytes.Equal(got, first) {
		t.Fatalf("LoadKey after WriteKey = %x, %v; want %x", got, err, key)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v, %v", fi, err)
	}
	if err := WriteKey(path, key[:5]); err == nil {
		t.Fatal("a short key was written")
	}
}
