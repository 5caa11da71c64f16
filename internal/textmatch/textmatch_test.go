package textmatch

import (
	"errors"
	"testing"
)

func TestHoldsUnderCollations(t *testing.T) {
	tests := []struct {
		value, text, collation, matchType string
		want                              bool
	}{
		{"Team Sync", "team", ASCIICasemap, "contains", true},
		{"Team Sync", "team", Octet, "contains", false},
		{"Team Sync", "SYNC", ASCIICasemap, "ends-with", true},
		{"Team Sync", "Team", Octet, "starts-with", true},
		{"Team Sync", "team sync", ASCIICasemap, "equals", true},
		{"Team Sync", "team syn", ASCIICasemap, "equals", false},
		{"ÉCOLE", "école", ASCIICasemap, "equals", false}, // ASCII casemap leaves É alone
		{"ÉCOLE", "école", UnicodeCasemap, "equals", true},
		{"Straße", "STRASSE", UnicodeCasemap, "equals", false}, // simple folding only
		{"山田 花子", "花子", UnicodeCasemap, "ends-with", true},
		{"", "", ASCIICasemap, "", true},
	}
	for _, tt := range tests {
		fold := Folder(tt.collation)
		if got := Holds(fold(tt.value), fold(tt.text), tt.matchType); got != tt.want {
			t.Errorf("%q %s %q under %s = %v, want %v", tt.value, tt.matchType, tt.text, tt.collation, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	if err := Validate("i;klingon", ""); !errors.Is(err, ErrUnsupportedCollation) {
		t.Errorf("unknown collation: %v", err)
	}
	if err := Validate("", "sounds-like"); !errors.Is(err, ErrUnsupportedMatchType) {
		t.Errorf("unknown match type: %v", err)
	}
	if err := Validate(UnicodeCasemap, "ends-with"); err != nil {
		t.Errorf("valid: %v", err)
	}
}
