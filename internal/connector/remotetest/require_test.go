package remotetest

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that records Skipf and Fatalf instead of
// ending the test.
type recorder struct {
	testing.TB
	skipped, failed string
}

type stopped struct{}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	panic(stopped{})
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	panic(stopped{})
}

func (r *recorder) requireTool(name, path string) (found string) {
	defer func() {
		if v := recover(); v != nil && v != (stopped{}) {
			panic(v)
		}
	}()
	return requireTool(r, name, path)
}

func TestRequireTool(t *testing.T) {
	t.Setenv(RequireEnv, "")
	r := &recorder{TB: t}
	r.requireTool("no-such-caldav-server", "/nonexistent/no-such-caldav-server")
	if !strings.Contains(r.skipped, "no-such-caldav-server is not installed") || r.failed != "" {
		t.Errorf("without %s: skipped %q, failed %q", RequireEnv, r.skipped, r.failed)
	}
	t.Setenv(RequireEnv, "1")
	r = &recorder{TB: t}
	r.requireTool("no-such-caldav-server", "/nonexistent/no-such-caldav-server")
	if !strings.Contains(r.failed, RequireEnv+"=1 requires it") || r.skipped != "" {
		t.Errorf("with %s=1: skipped %q, failed %q", RequireEnv, r.skipped, r.failed)
	}
	r = &recorder{TB: t}
	if got := r.requireTool("sh", "/nonexistent/sh"); got == "" || r.failed != "" || r.skipped != "" {
		t.Errorf("a program on PATH: %q (skipped %q, failed %q)", got, r.skipped, r.failed)
	}
}
