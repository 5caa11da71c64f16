package archtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The project is offered under the Apache License 2.0: LICENSE at the root
// holds its whole text, and the README says so.
func TestLicense(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("..", "..", "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Apache License", "Version 2.0, January 2004",
		"TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION", "END OF TERMS AND CONDITIONS"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("LICENSE lacks %q", want)
		}
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "Apache License 2.0") && !strings.Contains(string(readme), "Apache License, Version 2.0") {
		t.Error("README does not name the license")
	}
}
