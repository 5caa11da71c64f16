package tree

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/domain"
)

// domainErrors are the domain's errors by name, each with the status DAV
// answers it with.
var domainErrors = map[string]struct {
	err    error
	status int
}{
	"ErrNotFound":             {domain.ErrNotFound, 404},
	"ErrExists":               {domain.ErrExists, 405},
	"ErrForbidden":            {domain.ErrForbidden, 403},
	"ErrPrecondition":         {domain.ErrPrecondition, 412},
	"ErrInvalidName":          {domain.ErrInvalidName, 403},
	"ErrPasswordTooShort":     {domain.ErrPasswordTooShort, 403},
	"ErrTooLarge":             {domain.ErrTooLarge, 413},
	"ErrUnsupportedComponent": {domain.ErrUnsupportedComponent, 403},
	"ErrUnsupportedMediaType": {domain.ErrUnsupportedMediaType, 415},
	"ErrMalformed":            {domain.ErrMalformed, 400},
	"ErrConflict":             {domain.ErrConflict, 409},
	"ErrUIDChanged":           {domain.ErrUIDChanged, 409},
	"ErrInvalidSyncToken":     {domain.ErrInvalidSyncToken, 403},
	"ErrNoChangeLog":          {domain.ErrNoChangeLog, 403},
	"ForbiddenError":          {&domain.ForbiddenError{Action: domain.ActWrite}, 403},
	"InvalidError":            {&domain.InvalidError{Field: "level", Err: domain.ErrInvalidName}, 403},
	"TrashConflictError":      {&domain.TrashConflictError{ID: 1, Reason: "its collection is gone"}, 409},
	"UserInTrashError":        {&domain.UserInTrashError{Name: "bob"}, 405},
}

// Every error the domain declares has its answer in the one table
// (davError), wrapped or not: none reaches a client as a 500. A new error
// in the domain fails this test until it is given one.
func TestEveryDomainErrorHasAnAnswer(t *testing.T) {
	files, err := filepath.Glob("../domain/*.go")
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, spec := range gd.Specs {
				switch s := spec.(type) {
				case *ast.ValueSpec:
					for _, n := range s.Names {
						if n.IsExported() && strings.HasPrefix(n.Name, "Err") {
							declared[n.Name] = true
						}
					}
				case *ast.TypeSpec:
					if s.Name.IsExported() && strings.HasSuffix(s.Name.Name, "Error") {
						declared[s.Name.Name] = true
					}
				}
			}
		}
	}
	if len(declared) < 10 {
		t.Fatalf("found only %d domain errors: %v", len(declared), declared)
	}
	for name := range declared {
		want, ok := domainErrors[name]
		if !ok {
			t.Errorf("domain.%s has no answer in this test's table: give it one in davError and here", name)
			continue
		}
		for _, err := range []error{want.err, fmt.Errorf("wrapped: %w", want.err)} {
			got := MapError(err, "/x")
			if got == nil || got.Status != want.status {
				t.Errorf("domain.%s (%v) is answered %+v, want status %d", name, err, got, want.status)
			}
		}
	}
	if MapError(errors.New("disk on fire"), "/x") != nil {
		t.Error("an error the domain does not name is answered as if it were one")
	}
}
