package domain

import (
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/store"
)

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
