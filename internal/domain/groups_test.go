package domain

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/auth"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

// newGroupService returns a service over a fresh SQLite store with users
// alice, bob, carol and dave, and a clock that advances a minute a call.
func newGroupService(t *testing.T) (*Service, store.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	s := New(st, Options{Clock: func() time.Time { clock = clock.Add(time.Minute); return clock },
		PasswordParams: auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 16}})
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		if err := s.CreateUser(ctx, u, "password1", ""); err != nil {
			t.Fatal(err)
		}
	}
	return s, st
}

// groupSnapshot describes everything stored about a group, to show that a
// refused call changed nothing.
func groupSnapshot(t *testing.T, st store.Store, name string) string {
	t.Helper()
	var b strings.Builder
	err := st.View(context.Background(), func(tx store.Tx) error {
		g, err := tx.GetGroup(context.Background(), name)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %q keep=%t;", g.Name, g.DisplayName, g.KeepPast)
		ms, err := tx.Memberships(context.Background(), name)
		if err != nil {
			return err
		}
		for _, m := range ms {
			fmt.Fprintf(&b, " %s joined=%s left=%s admin=%t %s;", m.User, m.Joined.Format(time.RFC3339),
				m.Left.Format(time.RFC3339), m.Admin, m.Contributions)
		}
		vc, err := tx.GetVirtualCalendar(context.Background(), GroupOwner(name), "calendar")
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, " calendar %q v%d", vc.DisplayName, vc.Version)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// membersOf lists a group's current members as "user" or "user*" for an
// administrator, read by the system.
func membersOf(t *testing.T, s *Service, group string) string {
	t.Helper()
	ms, err := s.Members(context.Background(), group)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		if !m.Left.IsZero() {
			continue
		}
		if m.Admin {
			out = append(out, m.User+"*")
		} else {
			out = append(out, m.User)
		}
	}
	return strings.Join(out, " ")
}

// groupCalls are every call on a group that needs at least membership,
// named, as user.
func groupCalls(s *Service, user, group string) map[string]func() error {
	ctx := WithPrincipal(context.Background(), user)
	name, keep := "Renamed", false
	return map[string]func() error{
		"Group":   func() error { _, err := s.Group(ctx, group); return err },
		"Members": func() error { _, err := s.Members(ctx, group); return err },
		"UpdateGroup": func() error {
			_, err := s.UpdateGroup(ctx, group, GroupChange{DisplayName: &name, KeepPast: &keep})
			return err
		},
		"DeleteGroup":           func() error { return s.DeleteGroup(ctx, group) },
		"AddMember self":        func() error { return s.AddMember(ctx, group, user, nil) },
		"AddGroupMember admin":  func() error { return s.AddGroupMember(ctx, group, NewMember{User: user, Admin: true}) },
		"AddGroupMember dave":   func() error { return s.AddGroupMember(ctx, group, NewMember{User: "dave"}) },
		"SetMemberAdmin self":   func() error { return s.SetMemberAdmin(ctx, group, user, true) },
		"SetMemberAdmin unmake": func() error { return s.SetMemberAdmin(ctx, group, "alice", false) },
		"RemoveMember alice":    func() error { return s.RemoveMember(ctx, group, "alice") },
	}
}

func TestGroupOutsidersGetNothing(t *testing.T) {
	s, st := newGroupService(t)
	ctx := context.Background()
	asAlice := WithPrincipal(ctx, "alice")
	if err := s.CreateGroup(asAlice, "club", "Chess club", true); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(asAlice, "club", "bob", nil); err != nil {
		t.Fatal(err)
	}
	// carol left: a former member is an outsider too.
	if err := s.AddMember(asAlice, "club", "carol", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveMember(WithPrincipal(ctx, "carol"), "club", "carol"); err != nil {
		t.Fatal(err)
	}
	before := groupSnapshot(t, st, "club")

	for _, outsider := range []string{"carol", "dave"} {
		missing := groupCalls(s, outsider, "nope")
		for name, call := range groupCalls(s, outsider, "club") {
			err := call()
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: %s: err %v, want ErrNotFound", outsider, name, err)
				continue
			}
			// Said exactly as for a group that does not exist.
			if want := missing[name]().Error(); strings.ReplaceAll(err.Error(), "club", "nope") != want {
				t.Errorf("%s: %s: %q reveals more than %q", outsider, name, err, want)
			}
		}
		if gs, err := s.Groups(WithPrincipal(ctx, outsider)); err != nil || len(gs) != 0 {
			t.Errorf("%s's groups: %v, %v", outsider, gs, err)
		}
	}
	if after := groupSnapshot(t, st, "club"); after != before {
		t.Errorf("outsiders changed the group:\n%s\n%s", before, after)
	}
}

// The hole this closes: any signed-in user could add themselves to any
// group, and so read its calendar.
func TestCannotJoinByOneself(t *testing.T) {
	s, st := newGroupService(t)
	ctx := context.Background()
	if err := s.CreateGroup(ctx, "team", "Team", false); err != nil {
		t.Fatal(err)
	}
	before := groupSnapshot(t, st, "team")
	if err := s.AddMember(WithPrincipal(ctx, "carol"), "team", "carol", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("carol adds herself: err %v, want ErrNotFound", err)
	}
	if after := groupSnapshot(t, st, "team"); after != before {
		t.Errorf("carol changed the group:\n%s\n%s", before, after)
	}
	if views, err := s.VisibleVCs(WithPrincipal(ctx, "carol"), "carol"); err != nil || len(views) != 0 {
		t.Errorf("carol sees %d views (%v), want none", len(views), err)
	}
}

func TestGroupMembersAreNotAdministrators(t *testing.T) {
	s, st := newGroupService(t)
	ctx := context.Background()
	asAlice := WithPrincipal(ctx, "alice")
	if err := s.CreateGroup(asAlice, "club", "", false); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(asAlice, "club", "bob", nil); err != nil {
		t.Fatal(err)
	}
	before := groupSnapshot(t, st, "club")
	for name, call := range groupCalls(s, "bob", "club") {
		err := call()
		switch name {
		case "Group", "Members":
			if err != nil {
				t.Errorf("bob: %s: %v", name, err)
			}
		case "AddMember self", "AddGroupMember admin":
			// Already a member: the access check comes first.
			if !errors.Is(err, ErrForbidden) {
				t.Errorf("bob: %s: err %v, want ErrForbidden", name, err)
			}
		default:
			if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "only administrators of club") {
				t.Errorf("bob: %s: err %v, want ErrForbidden", name, err)
			}
		}
	}
	if after := groupSnapshot(t, st, "club"); after != before {
		t.Errorf("a member changed the group:\n%s\n%s", before, after)
	}
	if err := s.RemoveMember(WithPrincipal(ctx, "bob"), "club", "carol"); !errors.Is(err, ErrForbidden) {
		t.Errorf("bob removes a non-member: err %v, want ErrForbidden", err)
	}
}

func TestGroupAdministration(t *testing.T) {
	s, st := newGroupService(t)
	ctx := context.Background()
	asAlice, asBob := WithPrincipal(ctx, "alice"), WithPrincipal(ctx, "bob")

	if err := s.CreateGroup(asAlice, "club", "Chess club", false); err != nil {
		t.Fatal(err)
	}
	if got := membersOf(t, s, "club"); got != "alice*" {
		t.Fatalf("after creation: members %q, want the creator as administrator", got)
	}
	ms, _ := s.Members(asAlice, "club")
	if string(ms[0].Contributions) != "[]" {
		t.Errorf("the creator contributes %s, want nothing", ms[0].Contributions)
	}
	if err := s.CreateGroup(asBob, "club", "", false); !errors.Is(err, ErrExists) {
		t.Errorf("second club: err %v, want ErrExists", err)
	}

	if err := s.AddGroupMember(asAlice, "club", NewMember{User: "bob"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddGroupMember(asAlice, "club", NewMember{User: "bob"}); !errors.Is(err, ErrExists) {
		t.Errorf("bob twice: err %v, want ErrExists", err)
	}
	if err := s.AddGroupMember(asAlice, "club", NewMember{User: "nobody"}); !errors.Is(err, ErrInvalidName) {
		t.Errorf("unknown user: err %v, want ErrInvalidName", err)
	}
	if err := s.AddGroupMember(asAlice, "club", NewMember{User: "carol",
		Contributions: []Contribution{{Calendar: "default", Level: "full"}}}); !errors.Is(err, ErrForbidden) {
		t.Errorf("alice chooses carol's contribution: err %v, want ErrForbidden", err)
	}
	if err := s.AddGroupMember(asAlice, "club", NewMember{User: "carol", Admin: true}); err != nil {
		t.Fatal(err)
	}
	if got := membersOf(t, s, "club"); got != "alice* bob carol*" {
		t.Errorf("members %q", got)
	}
	if gs, err := s.Groups(asBob); err != nil || len(gs) != 1 || gs[0].Name != "club" {
		t.Errorf("bob's groups: %v, %v", gs, err)
	}

	// Settings: the display name is the group calendar's too.
	name, keep := "Chess & Go", true
	g, err := s.UpdateGroup(asAlice, "club", GroupChange{DisplayName: &name, KeepPast: &keep})
	if err != nil || g.DisplayName != name || !g.KeepPast {
		t.Fatalf("update: %+v, %v", g, err)
	}
	if g, _ := s.Group(asBob, "club"); g.DisplayName != name || !g.KeepPast {
		t.Errorf("bob reads %+v after the update", g)
	}
	if snap := groupSnapshot(t, st, "club"); !strings.Contains(snap, `calendar "Chess & Go" v2`) {
		t.Errorf("group calendar not renamed: %s", snap)
	}
	keep = false
	if g, _ := s.UpdateGroup(asAlice, "club", GroupChange{KeepPast: &keep}); g.DisplayName != name || g.KeepPast {
		t.Errorf("changing only the policy: %+v", g)
	}

	// Administrators remove and re-add; a member leaves by themselves.
	if err := s.RemoveMember(WithPrincipal(ctx, "carol"), "club", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(asAlice, "club", "bob", nil); err != nil {
		t.Fatalf("re-adding bob: %v", err)
	}
	if err := s.RemoveMember(asBob, "club", "bob"); err != nil {
		t.Fatalf("bob leaves: %v", err)
	}
	if _, err := s.Group(asBob, "club"); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob after leaving: err %v, want ErrNotFound", err)
	}
	if err := s.RemoveMember(asAlice, "club", "bob"); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing bob again: err %v, want ErrNotFound", err)
	}
	if got := membersOf(t, s, "club"); got != "alice* carol*" {
		t.Errorf("members %q", got)
	}

	if err := s.SetMemberAdmin(asAlice, "club", "carol", false); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMemberAdmin(asAlice, "club", "bob", true); !errors.Is(err, ErrNotFound) {
		t.Errorf("making a former member an administrator: err %v, want ErrNotFound", err)
	}
	if err := s.DeleteGroup(asAlice, "club"); err != nil {
		t.Fatal(err)
	}
	if gs, _ := s.Groups(ctx); len(gs) != 0 {
		t.Errorf("groups after deletion: %v", gs)
	}
}

func TestLastAdministrator(t *testing.T) {
	s, _ := newGroupService(t)
	ctx := context.Background()
	asAlice, asBob := WithPrincipal(ctx, "alice"), WithPrincipal(ctx, "bob")
	if err := s.CreateGroup(asAlice, "club", "", false); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(asAlice, "club", "bob", nil); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"leave":                 s.RemoveMember(asAlice, "club", "alice"),
		"unmake herself":        s.SetMemberAdmin(asAlice, "club", "alice", false),
		"removed by the system": s.RemoveMember(ctx, "club", "alice"),
	} {
		if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "make another member an administrator first") {
			t.Errorf("last administrator: %s: err %v, want ErrConflict", name, err)
		}
	}
	if got := membersOf(t, s, "club"); got != "alice* bob" {
		t.Fatalf("members %q", got)
	}
	if err := s.SetMemberAdmin(asAlice, "club", "bob", true); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveMember(asAlice, "club", "alice"); err != nil {
		t.Fatalf("alice leaves after naming bob: %v", err)
	}
	// The last member leaves whatever their role.
	if err := s.RemoveMember(asBob, "club", "bob"); err != nil {
		t.Fatalf("the last member leaves: %v", err)
	}
	if got := membersOf(t, s, "club"); got != "" {
		t.Errorf("members %q, want none", got)
	}
}

func TestSystemGroups(t *testing.T) {
	s, st := newGroupService(t)
	ctx := context.Background()
	if err := s.CreateGroup(ctx, "empty", "", false); err != nil {
		t.Fatal(err)
	}
	if got := membersOf(t, s, "empty"); got != "" {
		t.Errorf("a group the system creates has members %q", got)
	}
	if err := s.CreateGroup(ctx, "team", "", false, "alice", "bob"); err != nil {
		t.Fatal(err)
	}
	if got := membersOf(t, s, "team"); got != "alice* bob*" {
		t.Errorf("members %q", got)
	}
	if err := s.CreateGroup(ctx, "ghosts", "", false, "nobody"); !errors.Is(err, ErrInvalidName) {
		t.Errorf("unknown administrator: err %v, want ErrInvalidName", err)
	}
	if _, err := s.Group(ctx, "ghosts"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the group with an unknown administrator was created: %v", err)
	}
	// A calendar already shared with a group's name goes to whoever makes
	// the group: users may not take such a name, administrators may.
	if err := st.Update(ctx, func(tx store.Tx) error {
		return tx.CreateVirtualCalendar(ctx, &store.VirtualCalendar{Owner: "alice", Name: "v",
			Definition: []byte(`{"calendar":"default"}`), SharedWith: []string{"group:family"}})
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateGroup(WithPrincipal(ctx, "carol"), "family", "", false); !errors.Is(err, ErrExists) {
		t.Errorf("carol takes a name shared with: err %v, want ErrExists", err)
	}
	if err := s.CreateGroup(ctx, "family", "", false, "alice"); err != nil {
		t.Errorf("the system creates it: %v", err)
	}
}
