package archtest

import (
	"slices"
	"strings"
	"testing"
)

// Packages are named by their path below the module root; "x/..." is x and
// every package below it.
var (
	// libs are self-contained helpers that any layer may use.
	libs = []string{"internal/auth", "internal/config", "internal/davlock", "internal/secret", "internal/textmatch"}
	// content parses, validates, expands and filters iCalendar and vCard:
	// no I/O, no protocol, no rules.
	content = []string{"internal/ical", "internal/recur", "internal/recur/rrule", "internal/tz", "internal/vcal", "internal/vcard"}
	// leaves are the bottom layer: libs and content.
	leaves = join(libs, content)
	// storeImpls are the store implementations and what they share.
	storeImpls = []string{"internal/store/sqlite", "internal/store/postgres", "internal/store/sqlshared"}
	// wiring puts everything together; only it may choose a store
	// implementation.
	wiring = []string{"internal/cli", "cmd/..."}
	// nothing, as an only list, allows no import from the module.
	nothing = []string{}
)

// An importRule limits what the packages it governs import from the module,
// either to a list (only) or by a list (never). Imports from outside the
// module are not its business.
type importRule struct {
	pkgs  []string
	only  []string // set: no other import from the module is allowed
	never []string
	why   string
}

// importRules say what each layer may import. The lower layers name what
// they may use, so that a package added above them is out of their reach
// from the start; the upper layers name what they must not use.
var importRules = []importRule{
	{
		pkgs: join(libs, []string{"internal/recur", "internal/recur/rrule", "internal/tz", "internal/vcal"}),
		only: leaves,
		why:  "leaf libraries import no higher layer",
	},
	{
		// ical and vcard still import store: they fill store.Object's
		// index fields. Content should know no storage; once it does not,
		// these two join the row above.
		pkgs: []string{"internal/ical", "internal/vcard"},
		only: join(leaves, []string{"internal/store"}),
		why:  "content knows no rules, protocol or wiring",
	},
	{
		pkgs: []string{"internal/store"},
		only: nothing,
		why:  "the store contract imports no other Koyomi package",
	},
	{
		pkgs: []string{"internal/store/sqlshared"},
		only: []string{"internal/store"},
		why:  "the SQL both stores share knows only the contract",
	},
	{
		pkgs: []string{"internal/store/sqlite", "internal/store/postgres"},
		only: []string{"internal/store", "internal/store/sqlshared"},
		why:  "a store implementation knows only the contract and the shared SQL",
	},
	{
		pkgs: []string{"internal/store/storetest"},
		only: []string{"internal/store"},
		why:  "the conformance suite is the same for every implementation and knows none of them",
	},
	{
		pkgs: []string{"internal/storecopy", "internal/check"},
		only: join(leaves, []string{"internal/store"}),
		why:  "store tools work on stored data through the contract: no rules, no protocol, no particular store",
	},
	{
		pkgs: []string{"internal/backup"},
		only: join(leaves, []string{"internal/store", "internal/storecopy"}),
		why:  "a backup is a store copy in a file: through the contract, with the embedded store opened by its caller",
	},
	{
		pkgs: []string{"internal/bench", "internal/connector/remote"},
		only: nothing,
		why:  "HTTP clients of other servers know nothing of Koyomi's insides",
	},
	{
		pkgs: []string{"internal/domain"},
		only: join(leaves, []string{"internal/store"}),
		why:  "the rules know no protocol, no wiring and no particular store",
	},
	{
		pkgs: []string{"internal/dav"},
		only: libs,
		why:  "the generic WebDAV engine knows no calendars, contacts, rules, storage or namespace",
	},
	{
		pkgs:  []string{"internal/tree", "internal/caldav", "internal/carddav", "internal/davacl"},
		never: join([]string{"internal/api", "internal/server", "internal/bench", "internal/connector/..."}, storeImpls, wiring),
		why:   "the DAV protocol layer knows no other protocol, no wiring and no particular store",
	},
	{
		pkgs:  []string{"internal/api"},
		never: join([]string{"internal/dav", "internal/caldav", "internal/carddav", "internal/server", "internal/bench"}, storeImpls, wiring),
		why:   "the JSON API stands beside the DAV protocols, not on them, and knows no wiring or particular store",
	},
	{
		pkgs: []string{"internal/publiclink"},
		only: join(leaves, []string{"internal/domain", "internal/store"}),
		why:  "public links are read through the domain alone, with no login, protocol or wiring",
	},
	{
		pkgs:  []string{"internal/connector"},
		never: join([]string{"internal/dav", "internal/tree", "internal/caldav", "internal/carddav", "internal/api", "internal/server", "internal/bench"}, storeImpls, wiring),
		why:   "connectors work through the domain, not through Koyomi's own protocol layer",
	},
	{
		pkgs: []string{"internal/metrics"},
		only: []string{"internal/store"},
		why:  "metrics are counted by name: they know no URL layout, protocol, rules or particular store",
	},
	{
		pkgs:  []string{"internal/server"},
		never: join([]string{"internal/bench"}, storeImpls, wiring),
		why:   "the server serves whatever store.Store it is given; choosing one is the CLI's",
	},
	{
		pkgs: []string{"cmd/..."},
		only: []string{"internal/cli", "internal/bench"},
		why:  "commands are thin: parse, wire, run",
	},
}

// An importerRule names the only packages that may import pkgs. Test
// support packages (non-test code importing package testing, such as
// remotetest) are exempt, as tests are.
type importerRule struct {
	pkgs   []string
	onlyBy []string
	why    string
}

var importerRules = []importerRule{
	{
		pkgs:   []string{"internal/server"},
		onlyBy: wiring,
		why:    "the server is wired, not used",
	},
	{
		pkgs:   []string{"internal/store/sqlite", "internal/store/postgres"},
		onlyBy: wiring,
		why:    "which store to use is chosen in one place",
	},
	{
		pkgs:   []string{"internal/store/sqlshared"},
		onlyBy: []string{"internal/store/sqlite", "internal/store/postgres"},
		why:    "the shared SQL belongs to the two stores",
	},
	{
		pkgs:   []string{"internal/backup"},
		onlyBy: wiring,
		why:    "backing up and restoring are an operator's commands",
	},
	{
		pkgs:   []string{"internal/cli"},
		onlyBy: []string{"cmd/..."},
		why:    "the commands are the CLI's only users",
	},
	{
		pkgs:   []string{"internal/tree"},
		onlyBy: []string{"internal/caldav", "internal/carddav", "internal/davacl", "internal/server"},
		why:    "URL paths are the DAV namespace's alone: storage is keyed by IDs, so nothing else needs them",
	},
	{
		pkgs:   []string{"internal/storecopy"},
		onlyBy: join(wiring, []string{"internal/backup"}),
		why:    "copying a store is an operator's command",
	},
}

func TestImportRules(t *testing.T) {
	pkgs := modulePackages(t)
	for _, p := range pkgs {
		for _, r := range importRules {
			if !matchAny(r.pkgs, p.Rel) {
				continue
			}
			for _, imp := range p.Koyomi {
				if r.only != nil && !matchAny(r.only, imp) {
					t.Errorf("%s imports %s: %s\n\trule: %s may import only %s", p.Rel, imp, r.why, list(r.pkgs), listOrNothing(r.only))
				}
				if matchAny(r.never, imp) {
					t.Errorf("%s imports %s: %s\n\trule: %s must not import %s", p.Rel, imp, r.why, list(r.pkgs), list(r.never))
				}
			}
		}
	}
}

func TestImporterRules(t *testing.T) {
	pkgs := modulePackages(t)
	for _, p := range pkgs {
		if p.testSupport() {
			continue
		}
		for _, imp := range p.Koyomi {
			for _, r := range importerRules {
				if matchAny(r.pkgs, imp) && !matchAny(r.onlyBy, p.Rel) {
					t.Errorf("%s imports %s: %s\n\trule: %s may be imported only by %s", p.Rel, imp, r.why, list(r.pkgs), list(r.onlyBy))
				}
			}
		}
	}
}

// TestTestSupport keeps helpers for tests out of the programs.
func TestTestSupport(t *testing.T) {
	pkgs := modulePackages(t)
	support := make(map[string]bool)
	for _, p := range pkgs {
		if p.testSupport() {
			support[p.Rel] = true
		}
	}
	for _, p := range pkgs {
		if p.testSupport() {
			continue
		}
		for _, imp := range p.Koyomi {
			if support[imp] {
				t.Errorf("%s imports %s: packages that import testing are for tests only", p.Rel, imp)
			}
		}
	}
}

// TestRuleTables checks the tables themselves: every import rule has
// either an only or a never list, and every pattern names a package of the
// module, so that no rule goes quiet when a package is renamed or removed.
func TestRuleTables(t *testing.T) {
	pkgs := modulePackages(t)
	var patterns []string
	for _, r := range importRules {
		if (r.only == nil) == (r.never == nil) {
			t.Errorf("rule for %s: want exactly one of only and never", list(r.pkgs))
		}
		patterns = join(patterns, r.pkgs, r.only, r.never)
	}
	for _, r := range importerRules {
		patterns = join(patterns, r.pkgs, r.onlyBy)
	}
	for _, pat := range patterns {
		if !slices.ContainsFunc(pkgs, func(p *pkg) bool { return match(pat, p.Rel) }) {
			t.Errorf("rule names %s, which matches no package of the module", pat)
		}
	}
}

// match reports whether pattern names the package rel: "x" names x,
// "x/..." x and every package below it.
func match(pattern, rel string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return rel == base || strings.HasPrefix(rel, base+"/")
	}
	return rel == pattern
}

func matchAny(patterns []string, rel string) bool {
	return slices.ContainsFunc(patterns, func(pat string) bool { return match(pat, rel) })
}

func join(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func list(patterns []string) string { return strings.Join(patterns, ", ") }

func listOrNothing(patterns []string) string {
	if len(patterns) == 0 {
		return "nothing from the module"
	}
	return list(patterns)
}

// TestMatch pins the pattern syntax the tables use.
func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, rel string
		want         bool
	}{
		{"internal/store", "internal/store", true},
		{"internal/store", "internal/store/sqlite", false},
		{"internal/store/...", "internal/store", true},
		{"internal/store/...", "internal/store/sqlite", true},
		{"internal/store/...", "internal/storecopy", false},
		{"cmd/...", "cmd/koyomi", true},
	} {
		if got := match(tc.pattern, tc.rel); got != tc.want {
			t.Errorf("match(%q, %q) = %v, want %v", tc.pattern, tc.rel, got, tc.want)
		}
	}
}
