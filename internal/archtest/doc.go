// Package archtest holds the tests that keep Koyomi's structure true to its
// description: which package may import which (layers_test.go, a table of
// rules checked against `go list`), and that every package has a doc comment
// saying what it is for (pkgdoc_test.go).
//
// It has no code of its own; nothing imports it.
package archtest
