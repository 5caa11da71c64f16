package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"golang.org/x/term"

	"koyomi.dev/koyomi/internal/backup"
	"koyomi.dev/koyomi/internal/config"
	"koyomi.dev/koyomi/internal/secret"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/sqlite"
	"koyomi.dev/koyomi/internal/storecopy"
)

// embeddedStore is the store a backup keeps its data in.
func embeddedStore() backup.Embedded {
	return backup.Embedded{
		Open: func(ctx context.Context, dir string) (store.Store, error) {
			return sqlite.Open(ctx, dir, sqlite.Options{})
		},
		File:          sqlite.FileName,
		SchemaVersion: sqlite.SchemaVersion(),
	}
}

// koyomiVersion is the version of this program: the one set when
// building, else the module's as the build recorded it.
func koyomiVersion() string {
	info, _ := debug.ReadBuildInfo()
	return release(version, info)
}

// backupCommand implements "koyomi backup FILE" and "koyomi backup verify
// FILE".
func backupCommand(ctx context.Context, env Env, args []string) error {
	if len(args) > 0 && args[0] == "verify" {
		return backupVerify(ctx, env, args[1:])
	}
	var passFile string
	var keyOut bool
	cfg, pos, err := resolve(env, "backup", args, func(fs *flag.FlagSet) {
		fs.StringVar(&passFile, "passphrase-file", "", "seal the server key in the backup with the passphrase on the first line of `FILE`")
		fs.BoolVar(&keyOut, "key-out", false, "write the server key beside the backup as FILE.key (mode 0600) instead of sealing it")
	})
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("backup: expected FILE (or verify FILE)")
	}
	// Interrupted, the backup still removes its work directory.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if passFile != "" && keyOut {
		return errors.New("backup: give --passphrase-file or --key-out, not both")
	}
	if fi, err := os.Stat(pos[0]); err == nil && fi.IsDir() {
		return fmt.Errorf("backup: %s is a directory; give the name of the backup file to write", pos[0])
	}
	st, err := openExisting(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	// A store never served has no key yet: it is made on first use, and
	// until then nothing is sealed with it.
	key, err := secret.LoadKey(cfg.SecretKeyPath(), false)
	noKey := errors.Is(err, fs.ErrNotExist)
	if noKey {
		key = nil
		fmt.Fprintf(env.Stderr, "koyomi: no server key at %s yet (the server makes one on first start); the backup holds none\n", cfg.SecretKeyPath())
	} else if err != nil {
		return fmt.Errorf("backup: the server key: %w (give the settings the server runs with: --data, --config or secret_key_file)", err)
	}
	var pass string
	if !keyOut && !noKey {
		if pass, err = readPassphrase(env, passFile, true); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
	}
	p := newProgress(env, "users backed up")
	m, err := backup.Create(ctx, st, embeddedStore(), pos[0], backup.Options{Key: key, Passphrase: pass,
		KoyomiVersion: koyomiVersion(), Progress: p.report})
	p.Done()
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "backup written to %s and verified: %s\n", pos[0], counts(m.Counts))
	switch {
	case noKey:
		fmt.Fprintln(env.Stdout, "no server key in the backup: the store had none yet")
	case keyOut:
		fmt.Fprintf(env.Stdout, "server key written to %s: keep it apart from the backup and as safe as the data\n", backup.KeyPath(pos[0]))
	default:
		fmt.Fprintln(env.Stdout, "server key sealed in the backup with the passphrase: restore asks for it")
	}
	for _, w := range m.Warnings {
		fmt.Fprintln(env.Stderr, "warning:", w)
	}
	return nil
}

// backupVerify implements "koyomi backup verify FILE": the checksums, the
// data against the manifest, and the server key when it can be opened.
func backupVerify(ctx context.Context, env Env, args []string) error {
	var passFile, keyFile string
	_, pos, err := resolve(env, "backup verify", args, func(fs *flag.FlagSet) {
		fs.StringVar(&passFile, "passphrase-file", "", "also check that the passphrase on the first line of `FILE` opens the sealed server key")
		fs.StringVar(&keyFile, "key", "", "the server key `file` written beside the backup (default FILE.key)")
	})
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("backup verify: expected FILE")
	}
	path := pos[0]
	b, err := backup.Read(ctx, path, embeddedStore())
	if err != nil {
		return err
	}
	defer b.Close()
	sum, err := b.Verify(ctx)
	if err != nil {
		return err
	}
	m := b.Manifest
	if err := keyFlagFits(m, keyFile, "backup verify"); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s: written %s by Koyomi %s (schema %d); %s\n", path, m.Created.Format("2006-01-02 15:04:05 MST"),
		m.KoyomiVersion, m.SchemaVersion, counts(sum.Counts()))
	switch {
	case m.Key == backup.KeyNone:
		fmt.Fprintln(env.Stdout, "server key: none (the store had none yet; the server makes one on first start)")
	case m.Key == backup.KeyBeside:
		if _, err := b.KeyBesideFile(keyFile); err != nil {
			return keyFileHint(err)
		}
		fmt.Fprintln(env.Stdout, "server key: beside the backup, and it matches")
	case passFile != "":
		pass, err := readPassphrase(env, passFile, false)
		if err != nil {
			return err
		}
		if _, err := b.OpenKey(pass); err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, "server key: sealed, and the passphrase opens it")
	default:
		fmt.Fprintln(env.Stdout, "server key: sealed (give --passphrase-file to check the passphrase)")
	}
	fmt.Fprintln(env.Stdout, "backup is whole")
	return nil
}

// restoreCommand implements "koyomi restore FILE".
func restoreCommand(ctx context.Context, env Env, args []string) error {
	var passFile, keyFile string
	var replaceKey, force bool
	cfg, pos, err := resolve(env, "restore", args, func(fs *flag.FlagSet) {
		fs.StringVar(&passFile, "passphrase-file", "", "the passphrase of the sealed server key, on the first line of `FILE` (default: asked for)")
		fs.StringVar(&keyFile, "key", "", "the server key `file` written beside the backup (default FILE.key)")
		fs.BoolVar(&replaceKey, "replace-key", false, "replace a different server key already at the server key file's place")
		fs.BoolVar(&force, "force", false, "restore even into a store a running server holds")
	})
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("restore: expected FILE")
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	b, err := backup.Read(ctx, pos[0], embeddedStore())
	if err != nil {
		return err
	}
	defer b.Close()
	if _, err := b.Verify(ctx); err != nil {
		return err
	}
	if err := keyFlagFits(b.Manifest, keyFile, "restore"); err != nil {
		return err
	}
	st, err := openCreating(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	// Before anything is asked for or written: a store in use or holding
	// data is refused.
	if !force {
		if err := refuseServed(ctx, st, where(cfg), "restore"); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	}
	held, err := storecopy.Holdings(ctx, st)
	if err != nil {
		return err
	}
	if len(held) > 0 {
		return fmt.Errorf("restore: %s is not empty: it holds %s; restore into a new data directory or database", where(cfg), strings.Join(held, ", "))
	}
	var key []byte
	switch b.Manifest.Key {
	case backup.KeyNone:
	case backup.KeyBeside:
		if key, err = b.KeyBesideFile(keyFile); err != nil {
			return keyFileHint(err)
		}
	default:
		var pass string
		if pass, err = readPassphrase(env, passFile, false); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		if key, err = b.OpenKey(pass); err != nil {
			return err
		}
	}
	p := newProgress(env, "users restored")
	sum, err := b.Restore(ctx, st, key, cfg.SecretKeyPath(), backup.RestoreOptions{ReplaceKey: replaceKey, Progress: p.report})
	p.Done()
	if errors.Is(err, backup.ErrNotEmpty) {
		return fmt.Errorf("restore: %s is not empty: %w; restore into a new data directory or database", where(cfg), err)
	}
	if errors.Is(err, backup.ErrKeyMismatch) {
		return fmt.Errorf("restore: %w; give --replace-key to replace it", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "restored into %s and verified: %s\n", where(cfg), counts(sum.Counts()))
	if b.Manifest.Key == backup.KeyNone {
		fmt.Fprintln(env.Stdout, "the backup holds no server key: the server makes one on first start; clients synchronise every collection again")
	} else {
		fmt.Fprintf(env.Stdout, "server key written to %s; clients synchronise every collection again\n", cfg.SecretKeyPath())
	}
	for _, w := range sum.Warnings {
		fmt.Fprintln(env.Stderr, "warning:", w)
	}
	return nil
}

// keyFlagFits refuses --key for a backup whose key is not beside it.
func keyFlagFits(m *backup.Manifest, keyFile, cmd string) error {
	switch {
	case keyFile == "" || m.Key == backup.KeyBeside:
		return nil
	case m.Key == backup.KeySealed:
		return fmt.Errorf("%s: --key names a key file written beside a backup, and this backup's key is sealed in it: drop --key (the passphrase opens it)", cmd)
	default:
		return fmt.Errorf("%s: --key names a key file written beside a backup, and this backup holds no server key: drop --key", cmd)
	}
}

// keyFileHint adds to a missing key file how to name where it is.
func keyFileHint(err error) error {
	if errors.Is(err, backup.ErrKeyMissing) {
		return fmt.Errorf("%w; if it was moved, give its place with --key FILE", err)
	}
	return err
}

// where names the configured store for a message.
func where(cfg config.Config) string { return redactStore(storeURL(cfg)) }

// counts lists the kinds of a backup that hold anything, in the order of
// storecopy.Summary.
func counts(c map[string]int) string {
	var parts []string
	for _, name := range storecopy.Kinds() {
		if c[name] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[name], name))
		}
	}
	if len(parts) == 0 {
		return "no data"
	}
	return strings.Join(parts, ", ")
}

// readPassphrase reads the passphrase from the first line of file, or
// asks for it on the terminal (twice when confirm is set).
func readPassphrase(env Env, file string, confirm bool) (string, error) {
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return "", fmt.Errorf("passphrase file: %w", err)
		}
		defer f.Close()
		line, err := bufio.NewReader(f).ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return "", fmt.Errorf("passphrase file %s: the first line is empty (%v)", file, err)
		}
		return line, nil
	}
	if !env.StdinIsTerminal {
		if confirm {
			return "", errors.New("no terminal to ask for a passphrase: give --passphrase-file FILE, or --key-out to write the server key beside the backup")
		}
		return "", errors.New("no terminal to ask for the passphrase: give --passphrase-file FILE")
	}
	fd := int(os.Stdin.Fd())
	fmt.Fprint(env.Stderr, "Passphrase for the server key: ")
	first, err := term.ReadPassword(fd)
	fmt.Fprintln(env.Stderr)
	if err != nil {
		return "", err
	}
	if len(first) == 0 {
		return "", errors.New("empty passphrase")
	}
	if confirm {
		fmt.Fprint(env.Stderr, "Repeat passphrase: ")
		second, err := term.ReadPassword(fd)
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", err
		}
		if string(first) != string(second) {
			return "", errors.New("passphrases do not match")
		}
	}
	return string(first), nil
}
