package cli

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

// trashIDs returns the IDs `trash list USER` prints, by name.
func trashIDs(t *testing.T, data, user string) map[string]string {
	t.Helper()
	code, out, stderr := runCmd(t, "", "trash", "list", user, "--data", data)
	if code != 0 {
		t.Fatalf("trash list %s: %s", user, stderr)
	}
	ids := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^(\d+)\s+\w+\s+(\S+)`).FindAllStringSubmatch(out, -1) {
		ids[m[2]] = m[1]
	}
	return ids
}

func TestTrashCommands(t *testing.T) {
	data, _ := seed(t)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, data, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := domain.New(st, domain.Options{})
	c, err := svc.Collection(ctx, "alice", domain.DefaultCalendarName)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := svc.ListObjects(ctx, c, false)
	if err != nil || len(objs) == 0 {
		t.Fatalf("seeded objects %v, %v", objs, err)
	}
	name := objs[0].Name
	if err := svc.DeleteObject(domain.WithPrincipal(ctx, "alice"), c, name, ""); err != nil {
		t.Fatal(err)
	}
	st.Close()

	item := domain.DefaultCalendarName + "/" + name
	runCLISteps(t, data, []cliStep{
		{name: "list", args: []string{"trash", "list", "alice"}, stdout: []string{"ID", "KIND", "object", item, "alice"}},
		{name: "bob's is empty", args: []string{"trash", "list", "bob"}, noStdout: []string{item}},
		{name: "bad id", args: []string{"trash", "restore", "alice", "x"}, code: 1, stderr: []string{`ID "x" is not a number`}},
		{name: "bob cannot restore it", args: []string{"trash", "restore", "bob", trashIDs(t, data, "alice")[item]}, code: 1,
			stderr: []string{"no item"}},
		{name: "restore", args: []string{"trash", "restore", "alice", trashIDs(t, data, "alice")[item]},
			stdout: []string{"object " + item + " of alice restored"}},
		{name: "gone from the list", args: []string{"trash", "list", "alice"}, noStdout: []string{item}},
		{name: "purge nothing", args: []string{"trash", "purge", "alice"}, stdout: []string{"0 item(s) of alice purged"}},
	})

	st, err = sqlite.Open(ctx, data, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc = domain.New(st, domain.Options{})
	if _, err := svc.Object(ctx, c, name); err != nil {
		t.Errorf("restored object: %v", err)
	}
	st.Close()

	// A user: deleted after confirming on a terminal, restored, deleted
	// again and purged, which frees the name.
	var out, errb bytes.Buffer
	env := Env{Args: []string{"user", "del", "carol", "--data", data}, Stdin: strings.NewReader("nope\n"), Stdout: &out,
		Stderr: &errb, Getenv: func(string) string { return "" }, StdinIsTerminal: true}
	if code := Main(ctx, env); code != 1 || !strings.Contains(errb.String(), "not confirmed") {
		t.Errorf("wrong confirmation: exit %d, %s", code, errb.String())
	}
	env.Stdin, env.Stdout, env.Stderr = strings.NewReader("carol\n"), &out, &errb
	if code := Main(ctx, env); code != 0 || !strings.Contains(out.String(), "user carol moved to the trash") {
		t.Fatalf("confirmed: exit %d, %s %s", code, out.String(), errb.String())
	}
	runCLISteps(t, data, []cliStep{
		{name: "listed", args: []string{"user", "list"}, noStdout: []string{"carol"}},
		{name: "in the trash", args: []string{"trash", "list", "carol"}, stdout: []string{"user", "carol"}},
		{name: "restore", args: []string{"user", "restore", "carol"}, stdout: []string{"user carol restored"}},
		{name: "back", args: []string{"user", "list"}, stdout: []string{"carol"}},
		{name: "restore again", args: []string{"user", "restore", "carol"}, code: 1, stderr: []string{"no user carol in the trash"}},
		{name: "del", args: []string{"user", "del", "carol", "--yes"}, stdout: []string{"moved to the trash"}},
		{name: "purge", args: []string{"trash", "purge", "carol"}, stdout: []string{"1 item(s) of carol purged"}},
		{name: "name free", stdin: "password1\n", args: []string{"user", "add", "carol"}, stdout: []string{"user carol created"}},
	})

	// Nothing of carol is left in the trash.
	st, err = sqlite.Open(ctx, data, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.View(ctx, func(tx store.Tx) error {
		items, size, err := tx.TrashSize(ctx)
		if items != 0 || size != 0 {
			t.Errorf("trash after purge: %d items, %d bytes", items, size)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
