package cli

import "testing"

func TestDelegateCommands(t *testing.T) {
	data, _ := seed(t)
	runCLISteps(t, data, []cliStep{
		{name: "add writer", args: []string{"delegate", "add", "alice", "bob", "--write"},
			stdout: []string{"bob reads and writes alice's calendars as a delegate"}},
		{name: "add reader", args: []string{"delegate", "add", "alice", "carol", "--read"},
			stdout: []string{"carol reads alice's calendars as a delegate"}},
		{name: "list", args: []string{"delegate", "list", "alice"},
			stdout: []string{"DELEGATE", "bob       reads and writes", "carol     reads "}},
		{name: "bob's delegated calendars", args: []string{"share", "mine", "bob"},
			stdout: []string{"alice/default", "read-write", "delegate"}},
		{name: "neither", args: []string{"delegate", "add", "alice", "bob"}, code: 1, stderr: []string{"give --write or --read"}},
		{name: "both", args: []string{"delegate", "add", "alice", "bob", "--write", "--read"}, code: 1,
			stderr: []string{"give --write or --read"}},
		{name: "oneself", args: []string{"delegate", "add", "alice", "alice", "--read"}, code: 1,
			stderr: []string{"cannot be their own delegate"}},
		{name: "unknown delegate", args: []string{"delegate", "add", "alice", "nobody", "--read"}, code: 1,
			stderr: []string{`no user "nobody"`}},
		{name: "unknown owner", args: []string{"delegate", "list", "nobody"}, code: 1, stderr: []string{"no user nobody"}},
		{name: "del", args: []string{"delegate", "del", "alice", "carol"}, stdout: []string{"carol is no longer a delegate of alice"}},
		{name: "del again", args: []string{"delegate", "del", "alice", "carol"}, code: 1,
			stderr: []string{"carol is not a delegate of alice"}},
		{name: "listed", args: []string{"delegate", "list", "alice"}, stdout: []string{"bob"}, noStdout: []string{"carol"}},
		{name: "arguments", args: []string{"delegate", "del", "alice"}, code: 1, stderr: []string{"expected OWNER DELEGATE"}},
		{name: "unknown subcommand", args: []string{"delegate", "promote"}, code: 1, stderr: []string{"unknown subcommand"}},
	})
}
