package cli

import (
	"strings"
	"testing"
)

// The command line bounds names and labels as the API does.
func TestNamesAreBounded(t *testing.T) {
	data, _ := seed(t)
	long := strings.Repeat("x", 201)
	runCLISteps(t, data, []cliStep{
		{name: "group display name", args: []string{"group", "add", "club", "--display", long}, code: 1,
			stderr: []string{"displayname: 201 characters, at most 200"}},
		{name: "group renamed", args: []string{"group", "add", "club"}, stdout: []string{"group club created"}},
		{name: "group set display name", args: []string{"group", "set", "club", "--display", "a\x07b"}, code: 1,
			stderr: []string{"displayname: control characters"}},
		{name: "app password label", args: []string{"user", "app-password", "add", "alice", long}, code: 1,
			stderr: []string{"label: 201 characters, at most 200"}},
		{name: "user display name", args: []string{"user", "set", "alice", "--display", long}, code: 1,
			stderr: []string{"display name"}},
	})
}
