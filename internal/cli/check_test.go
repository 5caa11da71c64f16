package cli

import (
	"context"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

func TestCheckCommand(t *testing.T) {
	data := initStore(t)
	if code, _, stderr := runCmd(t, "password1\n", "user", "add", "alice", "--data", data); code != 0 {
		t.Fatalf("user add: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := runCmd(t, "", "check", "--data", data)
	if code != 0 || !strings.Contains(stdout, ": 0 problems") {
		t.Fatalf("clean store: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	// An object whose index names another UID than its data.
	ctx := context.Background()
	st, err := sqlite.Open(ctx, data, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(ctx, func(tx store.Tx) error {
		c := &store.Collection{Owner: "alice", Name: "book", Kind: store.KindAddressBook}
		if err := tx.CreateCollection(ctx, c); err != nil {
			return err
		}
		_, err := tx.PutObject(ctx, &store.Object{CollectionID: c.ID, Name: "a.vcf", UID: "wrong", Component: "VCARD",
			Data: []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nUID:right\r\nEND:VCARD\r\n")}, store.PutOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCmd(t, "", "check", "--data", data)
	if code != 1 || !strings.Contains(stdout, `alice/book/a.vcf: index UID is "wrong"`) || !strings.Contains(stderr, "1 problems found") {
		t.Fatalf("damaged store: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}
