package cli

import (
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is the release, set when building:
//
//	go build -ldflags "-X koyomi.dev/koyomi/internal/cli.version=v1.2.0" ./cmd/koyomi
//
// It is the one variable the linker may set; nothing assigns it at run
// time. Empty, the module version from the build information stands in.
var version string

// versionCommand implements "koyomi version" (and --version).
func versionCommand(env Env, args []string) error {
	if len(args) > 0 {
		if isHelp(args[0]) {
			commandHelp(env.Stdout, "version", flag.NewFlagSet("version", flag.ContinueOnError), nil)
			return nil
		}
		return fmt.Errorf("version: unexpected argument %q", args[0])
	}
	info, _ := debug.ReadBuildInfo()
	fmt.Fprint(env.Stdout, versionText(version, info))
	return nil
}

// versionText describes a build: its version (set, else the module's),
// the revision it was built from, with its time and whether the tree was
// modified, then the Go version and the platform.
func versionText(set string, info *debug.BuildInfo) string {
	v := release(set, info)
	var revision, when string
	modified := false
	if info != nil {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	out := "koyomi " + v
	if revision != "" {
		out += " (revision " + revision
		if when != "" {
			out += ", " + when
		}
		if modified {
			out += ", modified"
		}
		out += ")"
	}
	return fmt.Sprintf("%s\n%s %s/%s\n", out, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// release is the version of a build: the one set when building, else the
// module's as the build recorded it.
func release(set string, info *debug.BuildInfo) string {
	switch {
	case set != "":
		return set
	case info != nil && info.Main.Version != "":
		return info.Main.Version
	}
	return "(unknown)"
}
