// Package backup writes a whole installation into one portable file and
// restores it into an empty store of either kind.
//
// A backup is a gzip'd tar of three members: manifest.json first (format
// version, time, Koyomi and schema versions, counts per kind, the store
// summary's checksum, and the SHA-256 of every other member), then an
// embedded (SQLite) store holding a copy of the source made by storecopy
// in one read transaction (a snapshot: the source may be a running
// server), and the server key that seals connector credentials, sealed
// with a passphrase (age, scrypt). The key may instead be written beside
// the backup, as FILE.key; the manifest then holds its SHA-256.
//
// It works through the store contract and storecopy; its caller opens the
// stores, the embedded one included (see Embedded). It knows nothing of
// URLs, configuration or terminals.
package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"

	"koyomi.dev/koyomi/internal/secret"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/storecopy"
)

// Format is the version of the file layout this package writes and reads.
const Format = 1

// Names of the members of a backup.
const (
	manifestMember = "manifest.json"
	dbMember       = "koyomi.db"
	keyMember      = "secret.key.age"
)

// Ways a backup keeps the server key (Manifest.Key).
const (
	KeySealed = "sealed" // in the backup, sealed with a passphrase
	KeyBeside = "beside" // in FILE.key beside the backup, as it is
	// KeyNone: the store had no server key yet (one is made on first
	// use), so nothing in it is sealed and there is none to keep.
	KeyNone = "none"
)

var (
	// ErrCorrupt is returned for a backup that is damaged, truncated or
	// not a backup at all.
	ErrCorrupt = errors.New("backup: damaged or not a backup")
	// ErrWrongPassphrase is returned when the passphrase does not open the
	// sealed server key.
	ErrWrongPassphrase = errors.New("backup: wrong passphrase for the server key")
	// ErrNotEmpty is returned by Restore for a destination that holds data.
	ErrNotEmpty = storecopy.ErrNotEmpty
	// ErrKeyMismatch is returned by Restore when a different server key
	// is already where the key goes, and by Read when the key file beside
	// a backup is not the one it was written with.
	ErrKeyMismatch = errors.New("backup: server key does not match")
	// ErrKeyMissing is returned by KeyBesideFile when the key file is not
	// where it was looked for.
	ErrKeyMissing = errors.New("backup: server key file missing")
)

// Limits on members read into memory, so that a hostile or damaged file
// cannot exhaust it.
const (
	maxManifest = 1 << 20
	maxKey      = 64 << 10
)

// Embedded opens the embedded store, the form a backup keeps its data in.
type Embedded struct {
	// Open opens (creating if needed) the embedded store in dir, bringing
	// its schema up to date.
	Open func(ctx context.Context, dir string) (store.Store, error)
	// File is the name of the database file Open keeps in dir.
	File string
	// SchemaVersion is the schema version Open brings a database to.
	SchemaVersion int
}

// Manifest describes a backup.
type Manifest struct {
	Format        int            `json:"format"`
	Created       time.Time      `json:"created"`
	KoyomiVersion string         `json:"koyomi_version"`
	SchemaVersion int            `json:"schema_version"`
	Counts        map[string]int `json:"counts"`
	// Checksum is the store summary's (storecopy.Summary.Checksum).
	Checksum string `json:"checksum"`
	// Key says how the server key is kept: KeySealed or KeyBeside.
	Key string `json:"key"`
	// KeyFileSHA256 is the SHA-256 of FILE.key, with Key KeyBeside.
	KeyFileSHA256 string `json:"key_file_sha256,omitempty"`
	// Members maps each member but the manifest to its SHA-256.
	Members map[string]string `json:"members"`
	// Warnings are the copy's (see storecopy.Summary.Warnings).
	Warnings []string `json:"warnings,omitempty"`
}

// Options set how Create writes a backup.
type Options struct {
	// Key is the server key to keep with the backup; nil for a store
	// that has none yet (Manifest.Key KeyNone).
	Key []byte
	// Passphrase seals Key in the backup; empty writes it beside the
	// backup, to KeyPath(path).
	Passphrase string
	// KoyomiVersion is recorded in the manifest.
	KoyomiVersion string
	// Now is the clock for Manifest.Created; nil means time.Now.
	Now func() time.Time
	// WorkFactor is the scrypt work factor's logarithm; zero means age's
	// default. Tests lower it.
	WorkFactor int
	// Progress, when not nil, is called as users are copied (see
	// storecopy.Options).
	Progress func(done, total int)
}

// KeyPath is where Create writes the server key of a backup at path when
// no passphrase seals it.
func KeyPath(path string) string { return path + ".key" }

// Create backs src up into the file at path, replacing any file there
// only once the new backup is written and verified. It returns the
// backup's manifest.
func Create(ctx context.Context, src store.Store, emb Embedded, path string, opts Options) (*Manifest, error) {
	if opts.Key != nil && len(opts.Key) != secret.KeySize {
		return nil, fmt.Errorf("backup: server key is %d bytes, want %d", len(opts.Key), secret.KeySize)
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	// Beside the destination: one file system, so the finished backup is
	// renamed into place, and no assumption that /tmp holds a whole copy.
	work, err := os.MkdirTemp(filepath.Dir(path), ".koyomi-backup-*")
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(work)

	dbDir := filepath.Join(work, "db")
	dst, err := emb.Open(ctx, dbDir)
	if err != nil {
		return nil, fmt.Errorf("backup: create the embedded store: %w", err)
	}
	sum, err := storecopy.Options{Progress: opts.Progress}.Copy(ctx, src, dst)
	if cerr := dst.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("backup: copy: %w", err)
	}
	dbPath := filepath.Join(dbDir, emb.File)
	if _, err := os.Stat(dbPath + "-wal"); err == nil {
		return nil, errors.New("backup: the embedded store left a write-ahead log behind; its file is not whole")
	}

	m := &Manifest{Format: Format, Created: now().UTC(), KoyomiVersion: opts.KoyomiVersion,
		SchemaVersion: emb.SchemaVersion, Counts: sum.Counts(), Checksum: sum.Checksum,
		Members: map[string]string{}, Warnings: sum.Warnings}
	if m.Members[dbMember], err = fileSHA256(dbPath); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	var sealed []byte
	keyText := []byte(hex.EncodeToString(opts.Key) + "\n")
	switch {
	case opts.Key == nil:
		m.Key = KeyNone
	case opts.Passphrase != "":
		m.Key = KeySealed
		if sealed, err = sealKey(keyText, opts.Passphrase, opts.WorkFactor); err != nil {
			return nil, err
		}
		m.Members[keyMember] = sha256Hex(sealed)
	default:
		m.Key = KeyBeside
		m.KeyFileSHA256 = sha256Hex(keyText)
	}

	tmp := filepath.Join(work, "backup.tar.gz")
	if err := writeArchive(tmp, m, dbPath, sealed); err != nil {
		return nil, err
	}
	// Read back what was written, as Restore will.
	r, err := Read(ctx, tmp, emb)
	if err != nil {
		return nil, fmt.Errorf("backup: verify the written file: %w", err)
	}
	defer r.Close()
	if _, err := r.Verify(ctx); err != nil {
		return nil, fmt.Errorf("backup: verify the written file: %w", err)
	}
	switch {
	case opts.Key == nil:
	case opts.Passphrase != "":
		key, err := r.OpenKey(opts.Passphrase)
		if err != nil || !bytes.Equal(key, opts.Key) {
			return nil, fmt.Errorf("backup: verify the written file: the sealed key does not open to the server key (%v)", err)
		}
	default:
		if err := secret.WriteKey(KeyPath(path), opts.Key); err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return m, syncDir(filepath.Dir(path))
}

// sealKey seals the key file's text with passphrase.
func sealKey(keyText []byte, passphrase string, workFactor int) ([]byte, error) {
	rcpt, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return nil, fmt.Errorf("backup: seal the server key: %w", err)
	}
	if workFactor > 0 {
		rcpt.SetWorkFactor(workFactor)
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, rcpt)
	if err != nil {
		return nil, fmt.Errorf("backup: seal the server key: %w", err)
	}
	if _, err := w.Write(keyText); err != nil {
		return nil, fmt.Errorf("backup: seal the server key: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("backup: seal the server key: %w", err)
	}
	return buf.Bytes(), nil
}

// writeArchive writes the manifest, the database and the sealed key (if
// any) to path, durably.
func writeArchive(path string, m *Manifest, dbPath string, sealed []byte) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("backup: %w", cerr)
		}
	}()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	add := func(name string, size int64, body io.Reader) error {
		hdr := &tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: m.Created, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := io.Copy(tw, body)
		return err
	}
	if err := add(manifestMember, int64(len(manifest)), bytes.NewReader(manifest)); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	db, err := os.Open(dbPath)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer db.Close()
	fi, err := db.Stat()
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := add(dbMember, fi.Size(), db); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	if sealed != nil {
		if err := add(keyMember, int64(len(sealed)), bytes.NewReader(sealed)); err != nil {
			return fmt.Errorf("backup: write: %w", err)
		}
	}
	if err := errors.Join(tw.Close(), zw.Close(), f.Sync()); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	return nil
}

// Backup is a backup file read and checked against its manifest's
// checksums, its database unpacked into a private directory. Close
// removes that directory.
type Backup struct {
	Manifest *Manifest
	path     string
	emb      Embedded
	dir      string
	sealed   []byte
}

// Read unpacks the backup at path and checks every member against the
// manifest. A damaged, truncated or foreign file is ErrCorrupt.
func Read(ctx context.Context, path string, emb Embedded) (*Backup, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	dir, err := os.MkdirTemp(filepath.Dir(path), ".koyomi-restore-*")
	if err != nil {
		// A read-only directory (a backup on a mounted medium): unpack
		// where temporary files go instead.
		if dir, err = os.MkdirTemp("", "koyomi-restore-*"); err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
	}
	b := &Backup{path: path, emb: emb, dir: dir}
	if err := b.unpack(ctx, f); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

func (b *Backup) unpack(ctx context.Context, f io.Reader) error {
	zr, err := gzip.NewReader(f)
	if err != nil {
		return corrupt("not a gzip file: %v", err)
	}
	tr := tar.NewReader(zr)
	got := map[string]string{}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return corrupt("%v", err)
		}
		if _, seen := got[hdr.Name]; seen || (hdr.Name == manifestMember) != (b.Manifest == nil) {
			return corrupt("member %q out of place (the manifest comes first, every member once)", hdr.Name)
		}
		if hdr.Typeflag != tar.TypeReg {
			return corrupt("member %q is not a regular file", hdr.Name)
		}
		h := sha256.New()
		switch hdr.Name {
		case manifestMember:
			data, err := readLimited(tr, maxManifest, hdr.Name)
			if err != nil {
				return err
			}
			var m Manifest
			if err := json.Unmarshal(data, &m); err != nil {
				return corrupt("manifest: %v", err)
			}
			if m.Format != Format {
				return fmt.Errorf("backup: file format %d, this program reads %d", m.Format, Format)
			}
			b.Manifest = &m
			got[hdr.Name] = ""
			continue
		case dbMember:
			out, err := os.OpenFile(filepath.Join(b.dir, b.emb.File), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("backup: %w", err)
			}
			_, err = io.Copy(io.MultiWriter(out, h), tr)
			if cerr := out.Close(); err == nil && cerr != nil {
				return fmt.Errorf("backup: %w", cerr)
			}
			if err != nil {
				return corrupt("%s: %v", hdr.Name, err)
			}
		case keyMember:
			if b.sealed, err = readLimited(tr, maxKey, hdr.Name); err != nil {
				return err
			}
			h.Write(b.sealed)
		default:
			return corrupt("unknown member %q", hdr.Name)
		}
		got[hdr.Name] = hex.EncodeToString(h.Sum(nil))
	}
	// Reading to the end checks gzip's own checksum and length.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return corrupt("%v", err)
	}
	if b.Manifest == nil {
		return corrupt("no manifest")
	}
	for name, want := range b.Manifest.Members {
		if got[name] == "" {
			return corrupt("member %s is missing", name)
		}
		if got[name] != want {
			return corrupt("member %s does not match its checksum", name)
		}
	}
	for name := range got {
		if _, ok := b.Manifest.Members[name]; !ok && name != manifestMember {
			return corrupt("member %s is not in the manifest", name)
		}
	}
	if _, ok := b.Manifest.Members[dbMember]; !ok {
		return corrupt("the manifest names no database")
	}
	switch b.Manifest.Key {
	case KeySealed:
		if b.sealed == nil {
			return corrupt("the manifest says the key is sealed inside, and it is not")
		}
	case KeyBeside, KeyNone:
		if b.sealed != nil {
			return corrupt("the manifest says the key is not sealed inside, and it is")
		}
	default:
		return corrupt("unknown key form %q", b.Manifest.Key)
	}
	return nil
}

func readLimited(r io.Reader, limit int64, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, corrupt("%s: %v", name, err)
	}
	if int64(len(data)) > limit {
		return nil, corrupt("%s is larger than %d bytes", name, limit)
	}
	return data, nil
}

// Close removes the unpacked files.
func (b *Backup) Close() error { return os.RemoveAll(b.dir) }

// open opens the unpacked database. A schema newer than this program's is
// refused with the versions named.
func (b *Backup) open(ctx context.Context) (store.Store, error) {
	if b.Manifest.SchemaVersion > b.emb.SchemaVersion {
		return nil, fmt.Errorf("backup: written with schema version %d, newer than this program's %d; restore with Koyomi %s or later",
			b.Manifest.SchemaVersion, b.emb.SchemaVersion, b.Manifest.KoyomiVersion)
	}
	st, err := b.emb.Open(ctx, b.dir)
	if err != nil {
		return nil, corrupt("open the database: %v", err)
	}
	return st, nil
}

// Verify summarises the backup's data and compares the counts and the
// checksum with the manifest's; it returns the summary.
func (b *Backup) Verify(ctx context.Context) (storecopy.Summary, error) {
	st, err := b.open(ctx)
	if err != nil {
		return storecopy.Summary{}, err
	}
	defer st.Close()
	sum, err := storecopy.Summarize(ctx, st)
	if err != nil {
		return sum, corrupt("read the database: %v", err)
	}
	return sum, b.matches(sum)
}

func (b *Backup) matches(sum storecopy.Summary) error {
	for kind, n := range sum.Counts() {
		if b.Manifest.Counts[kind] != n {
			return corrupt("%d %s, the manifest says %d", n, kind, b.Manifest.Counts[kind])
		}
	}
	if sum.Checksum != b.Manifest.Checksum {
		return corrupt("the data does not match the manifest's checksum")
	}
	return nil
}

// OpenKey returns the server key sealed in the backup.
func (b *Backup) OpenKey(passphrase string) ([]byte, error) {
	if b.Manifest.Key != KeySealed {
		return nil, errors.New("backup: the server key is not sealed in this backup")
	}
	if passphrase == "" {
		return nil, ErrWrongPassphrase // Create seals with none
	}
	id, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	r, err := age.Decrypt(bytes.NewReader(b.sealed), id)
	var noMatch *age.NoIdentityMatchError
	if errors.As(err, &noMatch) {
		return nil, ErrWrongPassphrase
	}
	if err != nil {
		return nil, corrupt("sealed key: %v", err)
	}
	text, err := io.ReadAll(r)
	if err != nil {
		return nil, corrupt("sealed key: %v", err)
	}
	return parseKey(text)
}

// KeyBesideFile returns the server key from the file beside the backup
// (or at path, when not empty), checked against the manifest.
func (b *Backup) KeyBesideFile(path string) ([]byte, error) {
	if b.Manifest.Key != KeyBeside {
		return nil, errors.New("backup: the server key is not beside this backup")
	}
	if path == "" {
		path = KeyPath(b.path)
	}
	text, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: the server key of this backup was written to %s, which is missing", ErrKeyMissing, path)
	}
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if sha256Hex(text) != b.Manifest.KeyFileSHA256 {
		return nil, fmt.Errorf("%w: %s is not the key file written with this backup", ErrKeyMismatch, path)
	}
	return parseKey(text)
}

func parseKey(text []byte) ([]byte, error) {
	key, err := hex.DecodeString(string(bytes.TrimSpace(text)))
	if err != nil || len(key) != secret.KeySize {
		return nil, corrupt("the server key is not %d hexadecimal digits", 2*secret.KeySize)
	}
	return key, nil
}

// RestoreOptions set how Restore writes the server key and reports.
type RestoreOptions struct {
	// ReplaceKey lets Restore replace a different key at the key path.
	ReplaceKey bool
	// Progress, when not nil, is called as users are copied.
	Progress func(done, total int)
}

// Restore copies the backup's data into dst, which must be empty
// (ErrNotEmpty), and writes key to keyPath. A backup without a key
// (KeyNone) is restored with key nil, and keyPath is left alone: the
// server makes a key on first use. A key file already at keyPath
// is kept when it holds key, replaced with opts.ReplaceKey, and otherwise
// refused with ErrKeyMismatch before anything is written. Collections get
// new IDs (see storecopy), so clients synchronise again.
func (b *Backup) Restore(ctx context.Context, dst store.Store, key []byte, keyPath string, opts RestoreOptions) (storecopy.Summary, error) {
	if b.Manifest.Key == KeyNone {
		if key != nil {
			return storecopy.Summary{}, errors.New("backup: this backup holds no server key, and one was given")
		}
	} else if len(key) != secret.KeySize {
		return storecopy.Summary{}, fmt.Errorf("backup: server key is %d bytes, want %d", len(key), secret.KeySize)
	}
	existing, err := secret.LoadKey(keyPath, false)
	writeKey := key != nil
	switch {
	case key == nil:
	case err == nil && bytes.Equal(existing, key):
		writeKey = false
	case err == nil && !opts.ReplaceKey:
		return storecopy.Summary{}, fmt.Errorf("%w: %s holds another server key; keep it away (it seals nothing in an empty store) or let the restore replace it", ErrKeyMismatch, keyPath)
	case err != nil && !errors.Is(err, fs.ErrNotExist) && !opts.ReplaceKey:
		return storecopy.Summary{}, fmt.Errorf("backup: %w", err)
	}
	src, err := b.open(ctx)
	if err != nil {
		return storecopy.Summary{}, err
	}
	defer src.Close()
	sum, err := storecopy.Options{Progress: opts.Progress}.Copy(ctx, src, dst)
	if err != nil {
		return sum, fmt.Errorf("backup: restore: %w", err)
	}
	// The copy verified the destination against the unpacked database;
	// this ties both to what was backed up.
	if err := b.matches(sum); err != nil {
		return sum, err
	}
	if writeKey {
		if err := secret.WriteKey(keyPath, key); err != nil {
			return sum, fmt.Errorf("backup: %w", err)
		}
	}
	return sum, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}
