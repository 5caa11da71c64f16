package cli

import (
	"testing"
	"time"
)

func TestGroupCommands(t *testing.T) {
	data, _ := seed(t)
	runCLISteps(t, data, []cliStep{
		{name: "add", args: []string{"group", "add", "club", "--display", "Chess club", "--keep-past"},
			stdout: []string{"group club created", "keep read access"}},
		{name: "add strict", args: []string{"group", "add", "team"}, stdout: []string{"lose access"}},
		{name: "add twice", args: []string{"group", "add", "club"}, code: 1, stderr: []string{"group club already exists"}},
		{name: "bad name", args: []string{"group", "add", "-x"}, code: 1},
		{name: "list", args: []string{"group", "list"}, stdout: []string{"club", "Chess club", "keep the past", "team", "lose access"}},

		{name: "member add", args: []string{"group", "member", "add", "club", "alice", "--contribute", "default:busy"},
			stdout: []string{"alice is a member of club, contributing default:busy"}},
		// bob never logged in: his default calendar is made for him.
		{name: "member add before first login", args: []string{"group", "member", "add", "club", "bob",
			"--contribute", "default:summary", "--contribute", "default:hidden"},
			stdout: []string{"default:summary,default:hidden"}},
		{name: "member add without contributions", args: []string{"group", "member", "add", "team", "carol"},
			stdout: []string{"contributing nothing"}},
		{name: "member bad level", args: []string{"group", "member", "add", "club", "carol", "--contribute", "default:most"},
			code: 1, stderr: []string{`level "most"`}},
		{name: "member bad contribution", args: []string{"group", "member", "add", "club", "carol", "--contribute", "default"},
			code: 1, stderr: []string{"CALENDAR:LEVEL"}},
		{name: "member unknown calendar", args: []string{"group", "member", "add", "club", "carol", "--contribute", "work:busy"},
			code: 1, stderr: []string{`no calendar "work"`}},
		{name: "member unknown user", args: []string{"group", "member", "add", "club", "nobody"}, code: 1, stderr: []string{"no user nobody"}},
		{name: "member unknown group", args: []string{"group", "member", "add", "nope", "carol"}, code: 1, stderr: []string{"not found"}},
		{name: "member list", args: []string{"group", "member", "list", "club"},
			stdout: []string{"USER", "alice", "default:busy", "bob"}, noStdout: []string{"carol"}},
		{name: "club calendar exists", args: []string{"vc", "list", "group:club"}, stdout: []string{"calendar", "group:club"}},

		{name: "member del", args: []string{"group", "member", "del", "club", "bob"}, stdout: []string{"bob left club"}},
		{name: "member del again", args: []string{"group", "member", "del", "club", "bob"}, code: 1,
			stderr: []string{"bob is not a member of club"}},
		{name: "left is recorded", args: []string{"group", "member", "list", "club"}, stdout: []string{time.Now().UTC().Format("2006-01-02")}},
		{name: "list shows current members", args: []string{"group", "list"}, stdout: []string{"alice"}, noStdout: []string{"bob"}},
		{name: "member list unknown", args: []string{"group", "member", "list", "nope"}, code: 1, stderr: []string{"no group nope"}},
		{name: "member unknown subcommand", args: []string{"group", "member", "rename"}, code: 1, stderr: []string{"unknown subcommand"}},

		{name: "del", args: []string{"group", "del", "club"}, stdout: []string{"group club deleted"}},
		{name: "del again", args: []string{"group", "del", "club"}, code: 1, stderr: []string{"no group club"}},
		{name: "calendar gone with it", args: []string{"vc", "list", "group:club"}, noStdout: []string{"calendar"}},
	})
}

func TestGroupAdministrationCommands(t *testing.T) {
	data, _ := seed(t)
	runCLISteps(t, data, []cliStep{
		{name: "add with an administrator", args: []string{"group", "add", "club", "--admin", "alice"},
			stdout: []string{"group club created", "lose access", "administered by alice"}},
		{name: "add with an unknown administrator", args: []string{"group", "add", "ghosts", "--admin", "nobody"}, code: 1,
			stderr: []string{"no such user"}},
		{name: "not created", args: []string{"group", "list"}, noStdout: []string{"ghosts"}},
		{name: "member add admin", args: []string{"group", "member", "add", "club", "bob", "--admin"},
			stdout: []string{"bob is an administrator of club, contributing nothing"}},
		{name: "member add", args: []string{"group", "member", "add", "club", "carol"}, stdout: []string{"carol is a member of club"}},
		{name: "member add twice", args: []string{"group", "member", "add", "club", "carol"}, code: 1,
			stderr: []string{"carol is already a member of club", "group member set"}},
		{name: "list shows administrators", args: []string{"group", "list"},
			stdout: []string{"ADMINS", "alice,bob,carol  alice,bob"}},
		{name: "member list shows roles", args: []string{"group", "member", "list", "club"},
			stdout: []string{"ROLE", "alice  admin", "carol  member"}},

		{name: "make admin", args: []string{"group", "member", "set", "club", "carol", "--admin"}, stdout: []string{"carol administers club"}},
		{name: "unmake admin", args: []string{"group", "member", "set", "club", "carol", "--admin=false"},
			stdout: []string{"carol no longer administers club"}},
		{name: "set contribution", args: []string{"group", "member", "set", "club", "carol", "--contribute", "default:busy"},
			stdout: []string{"carol contributes default:busy to club"}},
		{name: "clear contribution", args: []string{"group", "member", "set", "club", "carol", "--contribute", ""},
			stdout: []string{"carol contributes nothing to club"}},
		{name: "set nothing", args: []string{"group", "member", "set", "club", "carol"}, code: 1,
			stderr: []string{"give --admin or --contribute"}},
		{name: "set a non-member", args: []string{"group", "member", "set", "club", "dave", "--admin"}, code: 1},

		{name: "policy and name", args: []string{"group", "set", "club", "--keep-past", "--display", "Chess"},
			stdout: []string{`group club is called "Chess"; members who leave keep read access`}},
		{name: "policy only", args: []string{"group", "set", "club", "--keep-past=false"},
			stdout: []string{`group club is called "Chess"; members who leave lose access`}},
		{name: "listed", args: []string{"group", "list"}, stdout: []string{"Chess", "lose access"}},
		{name: "set nothing on the group", args: []string{"group", "set", "club"}, code: 1,
			stderr: []string{"give --display or --keep-past"}},
		{name: "set an unknown group", args: []string{"group", "set", "nope", "--keep-past"}, code: 1,
			stderr: []string{"no group nope"}},

		{name: "alice steps down", args: []string{"group", "member", "set", "club", "alice", "--admin=false"},
			stdout: []string{"alice no longer administers club"}},
		{name: "the last administrator stays", args: []string{"group", "member", "del", "club", "bob"}, code: 1,
			stderr: []string{"bob is the last administrator of club; make another member an administrator first"}},
		{name: "others leave", args: []string{"group", "member", "del", "club", "alice"}, stdout: []string{"alice left club"}},
	})
}
