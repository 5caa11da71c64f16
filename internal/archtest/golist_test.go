package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path"
	"strings"
	"sync"
	"testing"
)

// pkg is one package of the module as `go list` describes it. Rel is its
// import path relative to the module ("internal/dav", "cmd/koyomi") and
// Koyomi its imports of other packages of the module, relative too.
type pkg struct {
	ImportPath string
	Name       string
	Dir        string
	GoFiles    []string
	CgoFiles   []string
	Imports    []string

	Rel    string   `json:"-"`
	Koyomi []string `json:"-"`
}

// testSupport reports whether p is a helper for tests (storetest,
// remotetest ...): non-test code that imports package testing.
func (p *pkg) testSupport() bool {
	for _, imp := range p.Imports {
		if imp == "testing" {
			return true
		}
	}
	return false
}

var (
	listOnce sync.Once
	listed   []*pkg
	listErr  error
)

// modulePackages lists every package of the module once per test binary.
// Test files are left out: tests may import whatever they need.
func modulePackages(t *testing.T) []*pkg {
	t.Helper()
	listOnce.Do(func() { listed, listErr = goList() })
	if listErr != nil {
		t.Fatal(listErr)
	}
	return listed
}

func goList() ([]*pkg, error) {
	// The module root, so that ./... is the whole module whichever package
	// directory the test runs in.
	out, err := run("", "go", "list", "-m", "-f", "{{.Path}}\t{{.Dir}}")
	if err != nil {
		return nil, err
	}
	module, root, ok := strings.Cut(strings.TrimSpace(string(out)), "\t")
	if !ok || strings.Contains(root, "\n") {
		return nil, fmt.Errorf("go list -m: want one module, got %q", out)
	}
	out, err = run(root, "go", "list", "-json=ImportPath,Name,Dir,GoFiles,CgoFiles,Imports", "./...")
	if err != nil {
		return nil, err
	}
	var pkgs []*pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := new(pkg)
		if err := dec.Decode(p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list: %w", err)
		}
		p.Rel = rel(module, p.ImportPath)
		for _, imp := range p.Imports {
			if r := rel(module, imp); r != "" {
				p.Koyomi = append(p.Koyomi, r)
			}
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		return nil, errors.New("go list ./... found no packages")
	}
	return pkgs, nil
}

// rel returns importPath relative to module, or "" when it lies outside.
func rel(module, importPath string) string {
	if r, ok := strings.CutPrefix(importPath, module+"/"); ok {
		return path.Clean(r)
	}
	return ""
}

func run(dir, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	return out, nil
}
