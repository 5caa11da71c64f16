package cli

import (
	"context"
	"regexp"
	"testing"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

// addAddressBook gives owner an address book name.
func addAddressBook(t *testing.T, data, owner, name string) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), data, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := &store.Collection{Owner: owner, Name: name, Kind: store.KindAddressBook}
	if err := domain.New(st, domain.Options{}).CreateCollection(context.Background(), c, nil); err != nil {
		t.Fatal(err)
	}
}

func TestLinkCommands(t *testing.T) {
	data, _ := seed(t)
	addAddressBook(t, data, "alice", "people")
	runCLISteps(t, data, []cliStep{
		{name: "view", args: []string{"vc", "add", "alice", "family", "--definition", `{"filter":{"default":"busy"},"of":{"calendar":"default"}}`},
			stdout: []string{"family"}},
		{name: "add", args: []string{"link", "add", "alice", "default"},
			stdout: []string{"public link ", " of alice/default: /public/", ".ics"}},
		{name: "add view", args: []string{"link", "add", "alice", "--vc", "family"},
			stdout: []string{"of virtual calendar alice/family: /public/"}},
		{name: "list", args: []string{"link", "list", "alice"},
			stdout: []string{"TOKEN", "alice/default", "virtual calendar alice/family", "/public/"}},
		{name: "bob has none", args: []string{"link", "list", "bob"}, noStdout: []string{"/public/"}},
		{name: "contacts", args: []string{"link", "add", "alice", "people"}, code: 1, stderr: []string{"only calendars"}},
		{name: "unknown calendar", args: []string{"link", "add", "alice", "nope"}, code: 1, stderr: []string{`alice has no calendar "nope"`}},
		{name: "unknown view", args: []string{"link", "add", "alice", "--vc", "nope"}, code: 1,
			stderr: []string{`alice has no virtual calendar "nope"`}},
		{name: "both", args: []string{"link", "add", "alice", "default", "--vc", "family"}, code: 1, stderr: []string{"not both"}},
		{name: "neither", args: []string{"link", "add", "alice"}, code: 1, stderr: []string{"expected OWNER CALENDAR"}},
		{name: "unknown token", args: []string{"link", "del", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, code: 1,
			stderr: []string{"no public link"}},
		{name: "unknown owner", args: []string{"link", "list", "nobody"}, code: 1, stderr: []string{"no user nobody"}},
	})

	_, out, _ := runCmd(t, "", "link", "list", "alice", "--data", data)
	tokens := regexp.MustCompile(`/public/([A-Za-z0-9_-]{32})\.ics`).FindAllStringSubmatch(out, -1)
	if len(tokens) != 2 {
		t.Fatalf("tokens in %q: %v", out, tokens)
	}
	revoked := tokens[0][1]
	runCLISteps(t, data, []cliStep{
		{name: "del", args: []string{"link", "del", revoked}, stdout: []string{"public link " + revoked + " revoked"}},
		{name: "del again", args: []string{"link", "del", revoked}, code: 1, stderr: []string{"no public link " + revoked}},
		{name: "listed", args: []string{"link", "list", "alice"}, stdout: []string{tokens[1][1]}, noStdout: []string{revoked}},
	})

	// The link that is left answers; the revoked one does not.
	st, err := sqlite.Open(context.Background(), data, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := domain.New(st, domain.Options{})
	if _, err := svc.OpenPublicLink(context.Background(), tokens[1][1]); err != nil {
		t.Errorf("the link left: %v", err)
	}
	if _, err := svc.OpenPublicLink(context.Background(), revoked); err == nil {
		t.Error("the revoked link still opens")
	}
}
