package cli

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// command is one command of the koyomi tool, or a group of them (user,
// group member ...), as help shows it.
type command struct {
	name     string // the words that name it: "user app-password add"
	synopsis string // what follows the name: arguments and main flags
	summary  string // what it does, one paragraph
}

// commands lists every command and group, in the order help shows them.
// A group is a command others' names extend by one word.
var commands = []command{
	{"init", "", "create the store (SQLite in the data directory, or the --store database) with an up-to-date schema, and say where"},
	{"serve", "", "run the CalDAV/CardDAV server (creates the store if there is none)"},
	{"user", "", "manage users"},
	{"user add", "NAME [--email ADDR] [--display TEXT] [--phone NUMBER]", "create a user (password from stdin, or prompted)"},
	{"user passwd", "NAME", "change a user's password (from stdin, or prompted)"},
	{"user set", "NAME [--display TEXT] [--email ADDR] [--phone NUMBER]",
		"change the name a user is shown by, their e-mail address, or the phone number on their card in the directory address book"},
	{"user del", "NAME [--yes]", "move a user with all their data to the trash (asks first; --yes when not on a terminal)"},
	{"user restore", "NAME", "bring a deleted user back from the trash"},
	{"user list", "", "list users"},
	{"user app-password", "", "manage a user's passwords for single devices"},
	{"user app-password add", "USER LABEL", "create a password for one device (shown once)"},
	{"user app-password list", "USER", "list a user's app passwords"},
	{"user app-password revoke", "USER ID", "revoke an app password at once"},
	{"calendar", "", "manage a user's calendars (see docs/collections.md)"},
	{"calendar add", "USER NAME [--display TEXT] [--color #RRGGBB] [--description TEXT] [--components VEVENT,VTODO] [--timezone ZONE]",
		"create a calendar (ZONE: an IANA name such as Asia/Tokyo)"},
	{"calendar set", "USER NAME [same flags as add]", "change a calendar: only the flags given"},
	{"calendar list", "USER", "list a user's calendars and how many objects each holds"},
	{"calendar show", "USER NAME", "print all of a calendar's properties"},
	{"calendar del", "USER NAME [--yes]", "move a calendar with its objects to the trash (asks first on a terminal; elsewhere --yes is required)"},
	{"calendar import", "USER NAME FILE [--on-conflict update|skip]", "import the events and tasks of an iCalendar file (see docs/import.md)"},
	{"calendar export", "USER NAME [-o FILE]", "write a calendar as one iCalendar file"},
	{"addressbook", "", "manage a user's address books (see docs/collections.md)"},
	{"addressbook add", "USER NAME [--display TEXT] [--color #RRGGBB] [--description TEXT]", "create an address book"},
	{"addressbook set", "USER NAME [same flags as add]", "change an address book: only the flags given"},
	{"addressbook list", "USER", "list a user's address books and how many cards each holds"},
	{"addressbook show", "USER NAME", "print all of an address book's properties"},
	{"addressbook del", "USER NAME [--yes]", "move an address book with its cards to the trash (asks first on a terminal; elsewhere --yes is required)"},
	{"addressbook import", "USER NAME FILE [--on-conflict update|skip]", "import the cards of a vCard file (see docs/import.md)"},
	{"addressbook export", "USER NAME [-o FILE]", "write an address book as one vCard file"},
	{"group", "", "manage groups and their members"},
	{"group add", "NAME [--display TEXT] [--keep-past] [--admin USER ...]",
		"create a group and its group calendar; with --keep-past, members who leave keep read access to what ended before they left; --admin names members who administer it"},
	{"group set", "NAME [--display TEXT] [--keep-past=true|false]", "change a group's display name or leaving policy"},
	{"group del", "NAME", "delete a group and its calendar"},
	{"group list", "", "list groups, their members and administrators"},
	{"group member", "", "manage a group's members"},
	{"group member add", "GROUP USER [--admin] [--contribute CAL:LEVEL ...]",
		"add a member, contributing their calendars at a level (full, summary, busy, hidden)"},
	{"group member set", "GROUP USER [--admin=true|false] [--contribute CAL:LEVEL ...]",
		"make a member an administrator or no longer one, or replace what they contribute (--contribute \"\" for nothing)"},
	{"group member del", "GROUP USER", "record that a member left"},
	{"group member list", "GROUP", "list members, past ones included"},
	{"share", "", "share calendars and address books"},
	{"share add", "OWNER COLLECTION GRANTEE [--level LEVEL]",
		"share a calendar or address book with user:NAME, group:NAME or '*' (every signed-in user) at a level (free-busy, read, read-write, admin; default read), as its owner would"},
	{"share del", "OWNER COLLECTION GRANTEE", "take a share back"},
	{"share list", "OWNER COLLECTION", "list who a collection is shared with"},
	{"share mine", "USER", "list what others share with USER, as USER sees it"},
	{"delegate", "", "let one user read or change all of another's calendars"},
	{"delegate add", "OWNER DELEGATE --write|--read",
		"let DELEGATE read (and with --write, change) all of OWNER's calendars, which appear in DELEGATE's home"},
	{"delegate list", "OWNER", "list OWNER's delegates"},
	{"delegate del", "OWNER DELEGATE", "take DELEGATE's access to OWNER's calendars away"},
	{"link", "", "publish calendars at secret URLs"},
	{"link add", "OWNER CALENDAR | OWNER --vc NAME",
		"publish a calendar, or a virtual calendar as it shows to nobody in particular, at a secret URL that reads it without signing in (/public/TOKEN.ics)"},
	{"link list", "OWNER", "list the public links of OWNER's calendars and views"},
	{"link del", "TOKEN", "revoke a public link at once"},
	{"vc", "", "manage virtual calendars (see docs/virtual-calendars.md)"},
	{"vc add", "OWNER NAME --definition JSON|--file FILE [--share user:X|group:G ...] [--write-target CAL [--writer user:X|group:G ...]] [--display TEXT] [--color #RRGGBB]",
		"define a virtual calendar"},
	{"vc set", "OWNER NAME [--definition JSON|--file FILE] [--share ...] [...]",
		"change a virtual calendar: each flag given replaces that part, the rest stays"},
	{"vc list", "OWNER", "list a user's virtual calendars"},
	{"vc show", "OWNER NAME", "print a virtual calendar's specification as JSON"},
	{"vc del", "OWNER NAME", "delete a virtual calendar"},
	{"vc preview", "OWNER NAME [--as VIEWER] [--start DATE --end DATE]", "print the iCalendar objects VIEWER sees in it"},
	{"vc export", "OWNER NAME [-o FILE]", "write what OWNER sees in a virtual calendar as one iCalendar file"},
	{"connector", "", "sync calendars with remote CalDAV calendars and ICS feeds"},
	{"connector add", "USER --name N --calendar CAL --url URL [--kind caldav|ics] [--username U] [--password-stdin|--token-stdin] [--direction two-way|push|pull] [--policy remote|local|recent] [--interval 15m]",
		"sync one of USER's calendars with a remote CalDAV calendar or ICS feed (the secret is read from standard input)"},
	{"connector set", "ID [same flags as add]", "change a connector: only the flags given"},
	{"connector list", "[USER]", "list connectors and their state"},
	{"connector show", "ID", "show one connector's settings and state"},
	{"connector del", "ID", "delete a connector (both calendars keep their events)"},
	{"connector start", "ID", "resume a connector"},
	{"connector stop", "ID", "pause a connector"},
	{"connector sync", "ID", "run a connector now and print the run"},
	{"connector history", "ID [--limit N]", "list its runs, newest first"},
	{"connector conflicts", "ID", "print the versions that lost conflicts"},
	{"connector discover", "URL [--username U] [--password-stdin|--token-stdin]", "list the calendars a CalDAV server offers"},
	{"connector allow", "SUBJECT", "allow connectors for user:NAME, group:NAME or '*'"},
	{"connector forbid", "SUBJECT", "forbid connectors for user:NAME, group:NAME or '*'"},
	{"connector unset", "SUBJECT", "remove the rule for user:NAME, group:NAME or '*'"},
	{"connector permissions", "", "list the rules"},
	{"trash", "", "list, restore and purge what was deleted (see docs/trash.md)"},
	{"trash list", "USER", "list what USER deleted (objects, collections, the user themself), kept for trash_retention"},
	{"trash restore", "USER ID", "bring an item back (refused when its name or UID is taken again, or the place it was in is gone)"},
	{"trash purge", "USER [ID]", "delete one item, or all of USER's, for good"},
	{"migrate", "", "bring the store's schema up to date and exit (creates the store if there is none)"},
	{"check", "", "verify the store's integrity (change log, index, ETags); exit status 1 when a problem is found"},
	{"store", "", "move a whole installation between stores"},
	{"store copy", "--from STORE --to STORE [--force]",
		"copy a whole installation into an empty store and verify it (STORE: sqlite:DIR or postgres://...); refuses an empty source and one a running server uses"},
	{"backup", "FILE [--passphrase-file F | --key-out]",
		"write a consistent, verified backup of the store (running or not) and its server key to FILE; \"backup verify FILE [--passphrase-file F] [--key KEYFILE]\" checks one (see docs/backup.md)"},
	{"restore", "FILE [--passphrase-file F] [--key KEYFILE] [--replace-key] [--force]",
		"restore a backup into an empty store (creating it) and put its server key where the server reads it"},
	{"bench", "--url URL ...", "measure a CalDAV/CardDAV server, verifying every answer (see internal/bench/README.md)"},
	{"version", "", "print the version, the Go version and the platform"},
	{"help", "[COMMAND ...]", "print help about a command"},
}

// lookupCommand returns the command named name.
func lookupCommand(name string) (command, bool) {
	i := slices.IndexFunc(commands, func(c command) bool { return c.name == name })
	if i < 0 {
		return command{}, false
	}
	return commands[i], true
}

// subcommandsOf lists the names (last word only) of the commands one word
// below group ("" for the top level), in help order.
func subcommandsOf(group string) []string {
	var subs []string
	for _, c := range commands {
		rest, ok := strings.CutPrefix(c.name, group+" ")
		if group == "" {
			rest, ok = c.name, true
		}
		if ok && !strings.Contains(rest, " ") {
			subs = append(subs, rest)
		}
	}
	return subs
}

// isGroup reports whether name has subcommands.
func isGroup(name string) bool { return name == "" || len(subcommandsOf(name)) > 0 }

// isHelp reports whether an argument asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help" || arg == "help"
}

// walkCommands follows args down the groups of commands: it returns the
// command they name and the arguments after it, answers help asked of a
// group (helped is true), and refuses a group without a subcommand or with
// an unknown one, naming the valid ones.
func walkCommands(env Env, args []string) (name string, rest []string, helped bool, err error) {
	for len(args) > 0 && isGroup(name) {
		word := args[0]
		if isHelp(word) {
			if name == "" && len(args) > 1 {
				// koyomi help user add
				return walkHelp(env, args[1:])
			}
			groupHelp(env.Stdout, name)
			return name, nil, true, nil
		}
		next := strings.TrimSpace(name + " " + word)
		if strings.HasPrefix(word, "-") && name != "" {
			break // flags before the subcommand: say which are valid
		}
		if _, ok := lookupCommand(next); !ok {
			if name == "" {
				fmt.Fprint(env.Stderr, usageText())
				return "", nil, false, fmt.Errorf("unknown command %q", word)
			}
			return "", nil, false, fmt.Errorf("%s: unknown subcommand %q; valid: %s (see koyomi %s --help)",
				name, word, strings.Join(subcommandsOf(name), ", "), name)
		}
		name, args = next, args[1:]
	}
	if isGroup(name) {
		if name == "" {
			fmt.Fprint(env.Stderr, usageText())
			return "", nil, false, fmt.Errorf("no command given")
		}
		return "", nil, false, fmt.Errorf("%s: expected %s (see koyomi %s --help)",
			name, orList(subcommandsOf(name)), name)
	}
	return name, args, false, nil
}

// walkHelp answers "koyomi help COMMAND ...": a group's help here, a
// command's by running it with --help, which shows its own flags.
func walkHelp(env Env, words []string) (string, []string, bool, error) {
	return walkCommands(env, append(slices.Clone(words), "--help"))
}

// usageText is the help of koyomi itself: every command.
func usageText() string {
	var b strings.Builder
	b.WriteString("Usage: koyomi <command> [flags]\n\nCommands:\n")
	for _, c := range commands {
		if isGroup(c.name) {
			continue
		}
		writeCommandLine(&b, c)
	}
	b.WriteString(`
Every command takes --data DIR (or KOYOMI_DATA), --store URL (or
KOYOMI_STORE; empty means SQLite in the data directory) and --config FILE
(or KOYOMI_CONFIG). Only init, serve and migrate create a store; the others
refuse a missing one. Run "koyomi COMMAND --help" for a command's flags,
"koyomi serve --help" for every setting.
`)
	return b.String()
}

// writeCommandLine writes one command of a list: its name and synopsis,
// then its summary, indented.
func writeCommandLine(w io.Writer, c command) {
	head := "  " + strings.TrimSpace(c.name+" "+c.synopsis)
	const col = 25
	lines := wrap(c.summary, 78-col)
	if len(head) < col-1 {
		fmt.Fprintf(w, "%-*s%s\n", col, head, lines[0])
		lines = lines[1:]
	} else {
		for i, l := range wrap(head[2:], 74) {
			if i > 0 {
				l = "    " + l // continued synopsis
			}
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	for _, l := range lines {
		fmt.Fprintf(w, "%*s%s\n", col, "", l)
	}
}

// wrap breaks text into lines of at most width characters, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	return append(lines, line)
}

// groupHelp writes the help of a group of commands ("" for koyomi).
func groupHelp(w io.Writer, group string) {
	if group == "" {
		fmt.Fprint(w, usageText())
		return
	}
	c, _ := lookupCommand(group)
	fmt.Fprintf(w, "Usage: koyomi %s <subcommand> [arguments] [flags]\n\n%s\n\nSubcommands:\n", group, c.summary)
	for _, sub := range commands {
		if strings.HasPrefix(sub.name, group+" ") && !isGroup(sub.name) {
			writeCommandLine(w, sub)
		}
	}
	fmt.Fprintf(w, "\nRun \"koyomi %s SUBCOMMAND --help\" for a subcommand's flags.\n", group)
}

// commandHelp writes the help of one command: its usage, what it does and
// its flags. fs holds the flags it accepts; those of the configuration
// are listed only for serve (and the few that matter to the command),
// the others stay accepted.
func commandHelp(w io.Writer, name string, fs *flag.FlagSet, configFlags map[string]bool) {
	c, ok := lookupCommand(name)
	if !ok {
		c = command{name: name}
	}
	fmt.Fprintf(w, "Usage: koyomi %s\n", strings.TrimSpace(c.name+" "+c.synopsis))
	if c.summary != "" {
		fmt.Fprintf(w, "\n%s\n", strings.Join(wrap(c.summary, 76), "\n"))
	}
	shown := func(f *flag.Flag) bool {
		return !configFlags[f.Name] || name == "serve" || f.Name == "data" || f.Name == "store" ||
			slices.Contains(commandSettings[strings.Fields(name)[0]], f.Name)
	}
	var own, common []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		switch {
		case f.Name == "config" || configFlags[f.Name] && shown(f):
			common = append(common, f)
		case !configFlags[f.Name]:
			own = append(own, f)
		}
	})
	if len(own) > 0 {
		fmt.Fprintln(w, "\nFlags:")
		writeFlags(w, own)
	}
	if name == "serve" {
		fmt.Fprintln(w, "\nSettings (also in the configuration file and KOYOMI_* variables; see README.md, Configuration):")
	} else {
		fmt.Fprintln(w, "\nStore and configuration:")
	}
	writeFlags(w, common)
	if name != "serve" {
		fmt.Fprintln(w, "\nEvery setting of \"koyomi serve --help\" is accepted too.")
	}
}

// commandSettings are the settings, beyond --config, --data and --store,
// whose flags a command's help lists because they change what it does.
var commandSettings = map[string][]string{
	"connector": {"secret-key-file", "node-name", "connectors"},
	"user":      {"min-password-length"},
	"init":      {"log-level"},
	"migrate":   {"log-level"},
}

// writeFlags lists flags as flag.PrintDefaults does, with two dashes.
func writeFlags(w io.Writer, flags []*flag.Flag) {
	for _, f := range flags {
		arg, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if arg != "" {
			line += " " + arg
		}
		fmt.Fprintf(w, "%s\n        %s", line, strings.ReplaceAll(usage, "\n", "\n        "))
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
			fmt.Fprintf(w, " (default %q)", f.DefValue)
		}
		fmt.Fprintln(w)
	}
}
