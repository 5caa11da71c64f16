package cli

import "testing"

func TestShareCommands(t *testing.T) {
	data, _ := seed(t)
	runCLISteps(t, data, []cliStep{
		{name: "free-busy", args: []string{"share", "add", "alice", "default", "user:bob", "--level", "free-busy"},
			stdout: []string{"alice/default is shared with user:bob at free-busy"}},
		{name: "read by default", args: []string{"share", "add", "alice", "default", "user:carol"},
			stdout: []string{"user:carol at read"}},
		{name: "level changed", args: []string{"share", "add", "alice", "default", "user:bob", "--level", "read-write"},
			stdout: []string{"user:bob at read-write"}},
		{name: "list", args: []string{"share", "list", "alice", "default"},
			stdout: []string{"GRANTEE", "user:bob    read-write", "user:carol  read"}},
		// bob never logged in: his default calendar is made for him.
		{name: "before the owner's first login", args: []string{"share", "add", "bob", "default", "user:alice"},
			stdout: []string{"bob/default is shared with user:alice at read"}},

		{name: "bad level", args: []string{"share", "add", "alice", "default", "user:bob", "--level", "owner"}, code: 1,
			stderr: []string{`level "owner"`}},
		{name: "unknown grantee", args: []string{"share", "add", "alice", "default", "user:nobody"}, code: 1,
			stderr: []string{`no user "nobody"`}},
		{name: "bad grantee", args: []string{"share", "add", "alice", "default", "bob"}, code: 1,
			stderr: []string{"user:NAME, group:NAME or *"}},
		{name: "the owner", args: []string{"share", "add", "alice", "default", "user:alice"}, code: 1,
			stderr: []string{"the owner holds every right already"}},
		{name: "unknown collection", args: []string{"share", "add", "alice", "work", "user:bob"}, code: 1,
			stderr: []string{`alice has no calendar or address book "work"`}},
		{name: "unknown owner", args: []string{"share", "list", "nobody", "default"}, code: 1, stderr: []string{"no user nobody"}},
		{name: "missing grantee", args: []string{"share", "add", "alice", "default"}, code: 1,
			stderr: []string{"expected OWNER COLLECTION GRANTEE"}},
		{name: "unknown subcommand", args: []string{"share", "grant"}, code: 1, stderr: []string{"unknown subcommand"}},

		{name: "del", args: []string{"share", "del", "alice", "default", "user:bob"},
			stdout: []string{"alice/default is no longer shared with user:bob"}},
		{name: "del again", args: []string{"share", "del", "alice", "default", "user:bob"}, code: 1,
			stderr: []string{"alice/default is not shared with user:bob"}},
		{name: "list after del", args: []string{"share", "list", "alice", "default"},
			stdout: []string{"user:carol"}, noStdout: []string{"user:bob"}},
	})
}

func TestShareMine(t *testing.T) {
	data, _ := seed(t)
	runCLISteps(t, data, []cliStep{
		{name: "share", args: []string{"share", "add", "alice", "default", "user:bob", "--level", "read-write"}, stdout: []string{"at read-write"}},
		{name: "everyone", args: []string{"share", "add", "alice", "default", "*", "--level", "free-busy"}, stdout: []string{"at free-busy"}},
		{name: "bob's", args: []string{"share", "mine", "bob"},
			stdout: []string{"COLLECTION", "alice/default", "calendar", "read-write", "grant", "default_shared_by_alice", "false"}},
		{name: "carol's, through everyone", args: []string{"share", "mine", "carol"}, stdout: []string{"alice/default", "free-busy"}},
		{name: "alice's own are not shared with her", args: []string{"share", "mine", "alice"}, noStdout: []string{"alice/default"}},
		{name: "nobody", args: []string{"share", "mine", "nobody"}, code: 1, stderr: []string{"no user nobody"}},
		{name: "arguments", args: []string{"share", "mine"}, code: 1, stderr: []string{"expected USER"}},
	})
}
