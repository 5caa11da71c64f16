package domain

import (
	"context"
	"errors"
	"testing"

	"koyomi.dev/koyomi/internal/store"
)

func TestPublicTokens(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok := newPublicToken()
		if !ValidPublicToken(tok) || len(tok) != 32 {
			t.Fatalf("token %q: not of the form it is checked for", tok)
		}
		if seen[tok] {
			t.Fatalf("token %q drawn twice", tok)
		}
		seen[tok] = true
	}
	for _, bad := range []string{"", "short", "../../../../../../../../etc/pass", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		if ValidPublicToken(bad) {
			t.Errorf("ValidPublicToken(%q) = true", bad)
		}
	}
}

// Who may publish a calendar, list its links and revoke them: its owner
// and its admins; a reader is refused, anyone else finds nothing. A link
// belongs to the calendar's owner whoever made it.
func TestPublicLinkAccess(t *testing.T) {
	ctx := context.Background()
	s, _ := newGroupService(t)
	as := func(u string) context.Context { return WithPrincipal(ctx, u) }
	cal := &store.Collection{Owner: "alice", Name: "work", Kind: store.KindCalendar}
	book := &store.Collection{Owner: "alice", Name: "people", Kind: store.KindAddressBook}
	for _, c := range []*store.Collection{cal, book} {
		if err := s.CreateCollection(ctx, c, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Share(as("alice"), cal, "user:bob", LevelAdmin); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Share(as("alice"), cal, "user:carol", LevelRead); err != nil {
		t.Fatal(err)
	}

	own, err := s.CreatePublicLink(as("alice"), cal)
	if err != nil {
		t.Fatal(err)
	}
	byAdmin, err := s.CreatePublicLink(as("bob"), cal)
	if err != nil {
		t.Fatal(err)
	}
	if own.Owner != "alice" || byAdmin.Owner != "alice" || byAdmin.Calendar != "work" || own.Token == byAdmin.Token {
		t.Errorf("links %+v and %+v: want both alice's, of work, with distinct tokens", own, byAdmin)
	}
	if _, err := s.CreatePublicLink(as("carol"), cal); !errors.Is(err, ErrForbidden) {
		t.Errorf("a reader publishes: %v, want forbidden", err)
	}
	if _, err := s.CreatePublicLink(as("dave"), cal); !errors.Is(err, ErrNotFound) {
		t.Errorf("a stranger publishes: %v, want not found", err)
	}
	var invalid *InvalidError
	if _, err := s.CreatePublicLink(as("alice"), book); !errors.As(err, &invalid) || invalid.Field != "collection" {
		t.Errorf("publishing an address book: %v, want invalid collection", err)
	}

	if links, err := s.PublicLinks(as("alice"), "alice"); err != nil || len(links) != 2 {
		t.Errorf("alice's links: %d, %v; want both, her admin's included", len(links), err)
	}
	if links, err := s.CollectionPublicLinks(as("bob"), cal); err != nil || len(links) != 2 {
		t.Errorf("the admin lists the calendar's links: %d, %v; want 2", len(links), err)
	}
	if _, err := s.PublicLinks(as("bob"), "alice"); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob lists alice's links: %v, want not found", err)
	}
	if _, err := s.CollectionPublicLinks(as("carol"), cal); !errors.Is(err, ErrForbidden) {
		t.Errorf("a reader lists the calendar's links: %v, want forbidden", err)
	}

	for _, tc := range []struct {
		who  string
		want error
	}{{"dave", ErrNotFound}, {"carol", ErrForbidden}} {
		if err := s.RevokePublicLink(as(tc.who), own.Token); !errors.Is(err, tc.want) {
			t.Errorf("%s revokes: %v, want %v", tc.who, err, tc.want)
		}
	}
	if _, err := s.OpenPublicLink(ctx, own.Token); err != nil {
		t.Fatalf("the link after refused revocations: %v", err)
	}
	if err := s.RevokePublicLink(as("bob"), own.Token); err != nil {
		t.Errorf("the admin revokes the owner's link: %v", err)
	}
	if _, err := s.OpenPublicLink(ctx, own.Token); !errors.Is(err, ErrNotFound) {
		t.Errorf("a revoked link opens: %v", err)
	}
	if err := s.RevokePublicLink(as("alice"), byAdmin.Token); err != nil {
		t.Errorf("the owner revokes the admin's link: %v", err)
	}
	if err := s.RevokePublicLink(as("alice"), byAdmin.Token); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoking twice: %v, want not found", err)
	}
}

// A virtual calendar's link is made by its owner only, and is not found
// once the view is gone.
func TestVCPublicLinkAccess(t *testing.T) {
	ctx := context.Background()
	s, _ := newGroupService(t)
	as := func(u string) context.Context { return WithPrincipal(ctx, u) }
	if err := s.CreateCollection(ctx, &store.Collection{Owner: "alice", Name: "default", Kind: store.KindCalendar}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateVC(as("alice"), "alice", VCSpec{Name: "family", SharedWith: []string{"user:bob"},
		Definition: VCNode{Filter: &FilterDef{Default: "busy"}, Of: &VCNode{Calendar: "default"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateVCPublicLink(as("bob"), "alice", "family"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a viewer publishes the view: %v, want not found", err)
	}
	l, err := s.CreateVCPublicLink(as("alice"), "alice", "family")
	if err != nil {
		t.Fatal(err)
	}
	if l.VC != "family" || l.VCID == 0 || l.CollectionID != 0 {
		t.Errorf("link %+v: want one of the view family", l)
	}
	if _, err := s.OpenPublicLink(ctx, l.Token); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokePublicLink(as("bob"), l.Token); !errors.Is(err, ErrNotFound) {
		t.Errorf("a viewer revokes the view's link: %v, want not found", err)
	}
	if err := s.DeleteVC(as("alice"), "alice", "family"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenPublicLink(ctx, l.Token); !errors.Is(err, ErrNotFound) {
		t.Errorf("the link of a deleted view: %v, want not found", err)
	}
}

// A token is given on command lines, where a leading '-' reads as a flag.
func TestPublicTokenNeverLooksLikeAFlag(t *testing.T) {
	for range 5000 {
		if tok := newPublicToken(); tok[0] == '-' || len(tok) != publicTokenLength || !ValidPublicToken(tok) {
			t.Fatalf("token %q", tok)
		}
	}
}
