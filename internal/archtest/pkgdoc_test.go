package archtest

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackageDocs requires every package of the module to have a doc
// comment in one of its non-test files, in the form go doc expects:
// "Package NAME ..." for a library, "Command NAME ..." for a program, NAME
// being its directory's.
func TestPackageDocs(t *testing.T) {
	fset := token.NewFileSet()
	for _, p := range modulePackages(t) {
		files := append(append([]string(nil), p.GoFiles...), p.CgoFiles...)
		if len(files) == 0 {
			continue // tests only: nothing for go doc to show
		}
		want := "Package " + p.Name + " "
		if p.Name == "main" {
			want = "Command " + filepath.Base(p.Dir) + " "
		}
		var docs []string
		for _, name := range files {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if f.Doc == nil {
				continue
			}
			doc := f.Doc.Text()
			docs = append(docs, doc)
			if !strings.HasPrefix(strings.Join(strings.Fields(doc), " "), want) {
				t.Errorf("%s: package doc in %s should begin %q, begins %q", p.Rel, name, want, firstLine(doc))
			}
		}
		if len(docs) == 0 {
			t.Errorf("%s: no package doc comment; add one (e.g. in doc.go) beginning %q that says what the package is for and what it must not know about", p.Rel, want)
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
