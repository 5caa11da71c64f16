package domain

import (
	"context"
	"errors"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/auth"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

func TestCheckLabelAndURL(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string // "" for accepted
	}{
		{"label", CheckLabel("name", "Team Kalender ☕"), ""},
		{"label of 200 characters", CheckLabel("name", strings.Repeat("日", 200)), ""},
		{"label of 201 characters", CheckLabel("name", strings.Repeat("x", 201)), "name: 201 characters, at most 200"},
		{"label with a control", CheckLabel("label", "a\x01b"), "label: control characters"},
		{"label with DEL", CheckLabel("label", "a\x7f"), "label: control characters"},
		{"label with C1", CheckLabel("label", "a\u0085"), "label: control characters"},
		{"label with a noncharacter", CheckLabel("label", "\uFFFE"), "label: control characters"},
		{"label not UTF-8", CheckLabel("label", "\xff"), "label: control characters"},
		{"URL", CheckURL("url", "https://example.org/cal/"), ""},
		{"long URL", CheckURL("url", "https://example.org/"+strings.Repeat("a", 2048)), "url: 2068 bytes, at most 2048"},
		{"URL with a space", CheckURL("url", "https://example.org/a b"), "url: spaces and control characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == "" {
				if tt.err != nil {
					t.Fatalf("refused: %v", tt.err)
				}
				return
			}
			if !errors.Is(tt.err, ErrInvalidName) || tt.err.Error() == "" || !strings.Contains(tt.err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalidName saying %q", tt.err, tt.want)
			}
		})
	}
}

// Only fields that change are checked: a name stored before the bounds does
// not block a change of colour.
func TestCheckCollectionText(t *testing.T) {
	old := &store.Collection{DisplayName: "old\x01name", Description: "x"}
	c := *old
	c.Color = "#FF0000FF"
	if err := CheckCollectionText(old, &c); err != nil {
		t.Errorf("unchanged old name refused: %v", err)
	}
	c.Description = "two\nlines\tand a tab"
	if err := CheckCollectionText(old, &c); err != nil {
		t.Errorf("multi-line description refused: %v", err)
	}
	c.DisplayName = "new\nname"
	if err := CheckCollectionText(old, &c); err == nil || !strings.Contains(err.Error(), "displayname") {
		t.Errorf("display name with a line feed: err = %v", err)
	}
	if err := CheckCollectionText(nil, &store.Collection{Color: strings.Repeat("f", 33)}); err == nil || !strings.Contains(err.Error(), "color") {
		t.Errorf("long colour of a new collection: err = %v", err)
	}
}

// App password labels, group names and users' email addresses given
// through the CLI or the API are bounded like other labels.
func TestLabelsAreBounded(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := New(st, Options{PasswordParams: auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 16}})
	if err := s.CreateUser(ctx, "alice", "password1", "alice@example.org"); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 201)
	for what, err := range map[string]error{
		"app password label": func() error { _, _, err := s.CreateAppPassword(ctx, "alice", long); return err }(),
		"control in a label": func() error { _, _, err := s.CreateAppPassword(ctx, "alice", "phone\x1b[2J"); return err }(),
		"email":              s.CreateUser(ctx, "bob", "password1", long+"@example.org"),
		"group display name": s.CreateGroup(ctx, "team", long, false),
		"group renamed":      func() error { _, err := s.UpdateGroup(ctx, "team", GroupChange{DisplayName: &long}); return err }(),
	} {
		if !errors.Is(err, ErrInvalidName) {
			t.Errorf("%s: err = %v, want ErrInvalidName", what, err)
		}
	}
}
