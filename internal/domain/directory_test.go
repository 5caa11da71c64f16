package domain

import (
	"context"
	"errors"
	"regexp"
	"testing"

	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/vcard"
)

var uuid5RE = regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestDirectoryCards(t *testing.T) {
	ctx := context.Background()
	s, _ := newGroupService(t)
	if err := s.SetDisplayName(ctx, "carol", `Doe; Carol, "CJ" \ Jr.`); err != nil {
		t.Fatal(err)
	}
	d, err := s.Directory(WithPrincipal(ctx, "bob"))
	if err != nil {
		t.Fatal(err)
	}
	uids := map[string]bool{}
	for _, c := range d.Cards {
		card, err := vcard.Parse(c.Data)
		if err != nil {
			t.Fatalf("%s: %v\n%s", c.Name, err, c.Data)
		}
		if card.UID != c.UID || !uuid5RE.MatchString(c.UID) || uids[c.UID] {
			t.Errorf("%s: UID %q (parsed %q) is not a fresh name-based UUID", c.Name, c.UID, card.UID)
		}
		uids[c.UID] = true
		if c.UID != directoryUID(c.User) || c.Name != c.User+".vcf" {
			t.Errorf("%s: UID or name not derived from the user name %s", c.Name, c.User)
		}
		if c.User == "carol" && card.FN != `Doe; Carol, "CJ" \ Jr.` {
			t.Errorf("carol's FN %q", card.FN)
		}
	}
	if len(d.Cards) != 4 {
		t.Fatalf("%d cards, want one per user", len(d.Cards))
	}
	one, err := s.DirectoryCard(ctx, "carol.vcf")
	if err != nil || one.ETag != d.Card("carol.vcf").ETag {
		t.Fatalf("one card: %v, ETag differs from the whole directory's", err)
	}
	for _, name := range []string{"carol", "nobody.vcf", "../carol.vcf", ".vcf"} {
		if _, err := s.DirectoryCard(ctx, name); !errors.Is(err, ErrNotFound) {
			t.Errorf("card %q: %v, want not found", name, err)
		}
	}
	if _, err := s.Directory(WithPrincipal(ctx, "gone")); !errors.Is(err, ErrNotFound) {
		t.Errorf("a principal without an account reads the directory: %v", err)
	}
}

func TestDirectoryNameIsReserved(t *testing.T) {
	for _, tc := range []struct {
		kind     store.Kind
		name     string
		reserved bool
	}{
		{store.KindAddressBook, DirectoryName, true},
		{store.KindAddressBook, DirectoryName + "/x", true},
		{store.KindAddressBook, DirectoryName + "2", false},
		{store.KindAddressBook, "work/" + DirectoryName, false},
		{store.KindCalendar, DirectoryName, false},
		{store.KindPlain, DirectoryName, false},
	} {
		err := checkReservedName(tc.kind, tc.name)
		if got := errors.Is(err, ErrInvalidName); got != tc.reserved {
			t.Errorf("%s %q: %v, want reserved %v", tc.kind, tc.name, err, tc.reserved)
		}
	}
}
