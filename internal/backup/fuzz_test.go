package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead reads arbitrary bytes as a backup: anything but a whole
// archive whose members match the manifest is ErrCorrupt (or a format
// this program does not read), and Read never panics or leaves its
// unpacked files behind.
func FuzzRead(f *testing.F) {
	var manifestOnly bytes.Buffer
	zw := gzip.NewWriter(&manifestOnly)
	tw := tar.NewWriter(zw)
	m := []byte(`{"format":1,"key":"beside","members":{"koyomi.db":"00"}}`)
	tw.WriteHeader(&tar.Header{Name: manifestMember, Mode: 0o600, Size: int64(len(m)), Typeflag: tar.TypeReg})
	tw.Write(m)
	tw.Close()
	zw.Close()
	f.Add(manifestOnly.Bytes())
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	f.Add([]byte("not a backup"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "fuzz.backup")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		b, err := Read(context.Background(), path, embedded())
		if err == nil {
			b.Close()
		} else if !errors.Is(err, ErrCorrupt) && !bytes.Contains([]byte(err.Error()), []byte("file format")) {
			t.Fatalf("err = %v, want ErrCorrupt", err)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Fatalf("Read left %d entries behind", len(entries)-1)
		}
	})
}
