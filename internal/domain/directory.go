package domain

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/vcard"
)

// The directory address book: one card per user of the server, made from
// their profile (display name, e-mail, phone), which every signed-in user
// reads in their own address book home and nobody writes. Nothing of it is
// stored: the cards are built from the users on every read, so a profile
// change shows at once, with a new ETag and a new collection tag.

// DirectoryName is the name under which the directory appears in every
// address book home. No address book of a user's may take it.
const DirectoryName = "directory"

// How the directory describes itself to clients.
const (
	DirectoryDisplayName = "Directory"
	DirectoryDescription = "Everyone with an account on this server"
)

// directoryCardSuffix ends the resource name of every card: the user name
// and it.
const directoryCardSuffix = ".vcf"

// DirectoryCard is one user's card.
type DirectoryCard struct {
	User string // the user it describes
	Name string // resource name, the user name and ".vcf"
	UID  string
	// Data is a vCard 3.0. Apple Contacts reads and writes only 3.0 and
	// does not reliably read 4.0; DAVx5 and Thunderbird read both, and
	// clients that want 4.0 ask for it (Accept, address-data version) and
	// get it converted like any stored card.
	Data []byte
	ETag string // strong, from Data
}

// Directory is the directory address book at one moment.
type Directory struct {
	Cards []*DirectoryCard // by user name
	// CTag changes whenever any card does, or a user comes or goes: it is
	// a hash of every card's name and ETag.
	CTag string
}

// Directory returns every user's card. Any signed-in user and the system
// may read it.
func (s *Service) Directory(ctx context.Context) (*Directory, error) {
	var users []*store.User
	err := s.store.View(ctx, func(tx store.Tx) error {
		if err := mayReadDirectory(ctx, tx); err != nil {
			return err
		}
		var err error
		users, err = tx.ListUsers(ctx)
		return err
	})
	if err != nil {
		return nil, mapStoreErr(err)
	}
	slices.SortFunc(users, func(a, b *store.User) int { return strings.Compare(a.Name, b.Name) })
	d := &Directory{Cards: make([]*DirectoryCard, 0, len(users))}
	h := sha256.New()
	for _, u := range users {
		c := directoryCard(u)
		d.Cards = append(d.Cards, c)
		fmt.Fprintf(h, "%s\x00%s\n", c.Name, c.ETag)
	}
	d.CTag = "urn:koyomi:directory:" + hex.EncodeToString(h.Sum(nil)[:16])
	return d, nil
}

// DirectoryCard returns the card called name, reading only its user.
func (s *Service) DirectoryCard(ctx context.Context, name string) (*DirectoryCard, error) {
	user, ok := strings.CutSuffix(name, directoryCardSuffix)
	if !ok || !ValidUserName(user) {
		return nil, fmt.Errorf("%w: no card %q in the directory", ErrNotFound, name)
	}
	var u *store.User
	err := s.store.View(ctx, func(tx store.Tx) error {
		if err := mayReadDirectory(ctx, tx); err != nil {
			return err
		}
		var err error
		u, err = tx.GetUser(ctx, user)
		return err
	})
	if err != nil {
		return nil, mapStoreErr(err)
	}
	return directoryCard(u), nil
}

// mayReadDirectory lets the system and any existing user read the
// directory; a principal whose account is gone (a request authenticated
// just before it was deleted) reads nothing.
func mayReadDirectory(ctx context.Context, tx store.Tx) error {
	p := Principal(ctx)
	if p == "" {
		return nil
	}
	if _, err := tx.GetUser(ctx, p); err != nil {
		if isNotFound(err) {
			return fmt.Errorf("%w: the directory", ErrNotFound)
		}
		return err
	}
	return nil
}

// Card returns the card called name, or nil.
func (d *Directory) Card(name string) *DirectoryCard {
	for _, c := range d.Cards {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Query returns the cards matching an addressbook-query filter, as
// queryAddressBook does for stored cards.
func (d *Directory) Query(f *vcard.Filter) []*DirectoryCard {
	var out []*DirectoryCard
	for _, c := range d.Cards {
		if card, err := vcard.Parse(c.Data); err == nil && card.Match(f) {
			out = append(out, c)
		}
	}
	return out
}

// DirectoryReadOnly is the refusal of act on the directory: it is made
// from profiles and written by nobody.
func DirectoryReadOnly(act Action) error {
	return &ForbiddenError{Action: act, What: "the directory address book (it is made from user profiles and read-only)"}
}

// checkReservedName refuses an address book the directory's name, so that
// no collection of a user's hides it or is hidden by it. The first segment
// counts: an address book nested in a plain collection of that name would
// be served below the directory's URL too.
func checkReservedName(kind store.Kind, name string) error {
	first, _, _ := strings.Cut(name, "/")
	if kind == store.KindAddressBook && first == DirectoryName {
		return fmt.Errorf("%w: %q is reserved for the directory address book every user has; choose another name", ErrInvalidName, name)
	}
	return nil
}

// directoryCard builds u's card. N carries the whole display name as the
// family name: a profile has no structured name, splitting one into given
// and family names guesses wrong for many naming conventions, and Apple
// Contacts shows N rather than FN, so one component shows the name exactly
// as the profile spells it everywhere.
func directoryCard(u *store.User) *DirectoryCard {
	fn := u.DisplayName
	if fn == "" {
		fn = u.Name
	}
	uid := directoryUID(u.Name)
	w, _ := vcard.NewBuilder(vcard.Version3) // a version it builds
	w.Add("UID", nil, uid)
	w.Add("FN", nil, fn)
	w.Add("N", nil, fn, "", "", "", "")
	if u.Email != "" {
		w.Add("EMAIL", []string{"INTERNET"}, u.Email)
	}
	if u.Phone != "" {
		w.Add("TEL", []string{"VOICE"}, u.Phone)
	}
	data := w.Bytes()
	sum := sha256.Sum256(data)
	return &DirectoryCard{User: u.Name, Name: u.Name + directoryCardSuffix, UID: uid, Data: data,
		ETag: hex.EncodeToString(sum[:16])}
}

// directoryNamespace is the namespace of the name-based UUIDs of directory
// cards (a random UUID chosen once; RFC 9562 section 5.5).
const directoryNamespace = "\x8e\x2f\x5a\x61\x0b\x7d\x4c\x93\xa4\x1e\x6d\x25\xc0\x9b\x37\xf4"

// directoryUID is the UID of a user's card: a name-based (version 5) UUID
// of the user name, so that it stays the same through profile changes,
// written as the urn:uuid RFC 6350 recommends.
func directoryUID(user string) string {
	h := sha1.Sum([]byte(directoryNamespace + user))
	u := h[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	x := hex.EncodeToString(u)
	return "urn:uuid:" + x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}
