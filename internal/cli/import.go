package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
)

// importCommand runs `koyomi calendar|addressbook import USER NAME FILE
// [--on-conflict update|skip]`: it imports an .ics file into a calendar
// or a .vcf file into an address book ("-" reads standard input) and
// prints what was imported, updated, skipped and refused, and on a
// terminal how many objects were read so far. kind is "calendar" or
// "addressbook".
func importCommand(ctx context.Context, env Env, kind string, args []string) error {
	var onConflict string
	cfg, pos, err := resolve(env, kind+" import", args, func(fs *flag.FlagSet) {
		fs.StringVar(&onConflict, "on-conflict", "update", "what to do with a UID the collection holds: `update` or skip")
	})
	if err != nil {
		return err
	}
	if len(pos) != 3 {
		return fmt.Errorf("%s import: expected USER NAME FILE", kind)
	}
	policy, err := domain.ParseOnConflict(onConflict)
	if err != nil {
		return fmt.Errorf("%s import: --on-conflict %q: want update or skip", kind, onConflict)
	}
	in, size, closeIn, err := openInput(env, pos[2])
	if err != nil {
		return err
	}
	defer closeIn()
	svc, st, err := openService(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := importTarget(ctx, svc, kind, pos[0], pos[1])
	if err != nil {
		return err
	}
	// On a terminal, a count of the objects read so far, batch by batch.
	p := newProgress(env, "objects read")
	opts := domain.ImportOptions{OnConflict: policy, Size: size, Progress: func(r domain.ImportResult) {
		p.Add(r.Imported + r.Updated + r.Unchanged + r.Skipped + r.BadCount - p.done)
	}}
	res, err := svc.Import(ctx, c, in, opts)
	p.Done()
	// A file refused whole gets its error alone; one that broke off
	// midway also says what was written before.
	if err == nil || res.Imported+res.Updated+res.Unchanged+res.Skipped+res.BadCount > 0 {
		printImportSummary(env.Stdout, kind, pos[0]+"/"+pos[1], res)
	}
	return err
}

// importTarget finds owner's collection name of the kind the command
// names, giving a user a default calendar they have not yet made.
func importTarget(ctx context.Context, svc *domain.Service, kind, owner, name string) (*store.Collection, error) {
	want, noun, wanted, other := store.KindCalendar, "calendar", "a calendar", "an address book"
	if kind == "addressbook" {
		want, noun, wanted, other = store.KindAddressBook, "address book", "an address book", "a calendar"
	}
	if err := needUser(ctx, svc, owner); err != nil {
		return nil, err
	}
	if err := svc.EnsureHome(ctx, owner, want); err != nil {
		return nil, err
	}
	c, err := svc.Collection(ctx, owner, name)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, fmt.Errorf("%s has no %s %s", owner, noun, name)
	}
	if err != nil {
		return nil, err
	}
	if c.Kind != want {
		return nil, fmt.Errorf("%s/%s is %s, not %s", owner, name, other, wanted)
	}
	return c, nil
}

// openInput opens FILE, or standard input for "-", with its size when it
// is a regular file (0 otherwise): an import larger than max_import_size
// is then refused before anything is written.
func openInput(env Env, path string) (io.Reader, int64, func(), error) {
	if path == "-" {
		return env.Stdin, 0, func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, nil, err
	}
	var size int64
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	return f, size, func() { f.Close() }, nil
}

// printImportSummary prints the counts and each refused entry with its
// line.
func printImportSummary(w io.Writer, kind, target string, res domain.ImportResult) {
	noun := "events and tasks"
	if kind == "addressbook" {
		noun = "cards"
	}
	fmt.Fprintf(w, "%s into %s: %d imported, %d updated, %d unchanged, %d skipped, %d bad\n", noun, target,
		res.Imported, res.Updated, res.Unchanged, res.Skipped, res.BadCount)
	for _, b := range res.Bad {
		uid := ""
		if b.UID != "" {
			uid = " (UID " + b.UID + ")"
		}
		fmt.Fprintf(w, "  line %d%s: %s\n", b.Line, uid, strings.TrimSpace(b.Reason))
	}
	if more := res.BadCount - len(res.Bad); more > 0 {
		fmt.Fprintf(w, "  … and %d more\n", more)
	}
}
