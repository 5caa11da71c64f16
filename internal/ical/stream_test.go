package ical

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

func splitAll(t testing.TB, data string, opts SplitOptions) ([]*Chunk, error) {
	t.Helper()
	sp := NewSplitter(strings.NewReader(data), opts)
	var out []*Chunk
	for {
		c, err := sp.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
}

// Components come out one by one with their bytes as sent (folding
// kept), the line they begin at, and what decides where they belong; the
// container's own properties are dropped; bare LF line ends are read.
func TestSplitterComponents(t *testing.T) {
	in := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:PUBLISH\r\n" +
		"BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nTZID:not-mine\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n" +
		"BEGIN:VEVENT\r\nUID:long-\r\n uid\r\nDTSTART;TZID=Europe/Berlin:20260101T090000\r\n" +
		"EXDATE;VALUE=DATE-TIME;TZID=\"America/New_York\":20260102T090000\r\n" +
		"BEGIN:VALARM\r\nUID:alarm\r\nEND:VALARM\r\nEND:VEVENT\r\n" +
		"\r\n" +
		"BEGIN:VEVENT\nUID:override\nRECURRENCE-ID:20260101T090000Z\nEND:VEVENT\n" +
		"END:VCALENDAR\r\nBEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:t\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
	chunks, err := splitAll(t, in, SplitOptions{Container: "VCALENDAR"})
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) != 4 {
		t.Fatalf("%d chunks, want 4", len(chunks))
	}
	tz, ev, ov, todo := chunks[0], chunks[1], chunks[2], chunks[3]
	if tz.Name != "VTIMEZONE" || tz.TZID != "Europe/Berlin" || tz.Line != 4 || len(tz.Zones) != 0 {
		t.Errorf("zone: %+v", tz)
	}
	if ev.Name != "VEVENT" || ev.UID != "long-uid" || ev.Line != 10 || ev.RecurrenceID != "" ||
		strings.Join(ev.Zones, ",") != "Europe/Berlin,America/New_York" {
		t.Errorf("event: %+v", ev)
	}
	if !bytes.HasPrefix(ev.Data, []byte("BEGIN:VEVENT\r\nUID:long-\r\n uid\r\n")) || !bytes.HasSuffix(ev.Data, []byte("END:VALARM\r\nEND:VEVENT\r\n")) {
		t.Errorf("event bytes:\n%s", ev.Data)
	}
	if ov.UID != "override" || ov.RecurrenceID != "20260101T090000Z" || ov.Line != 20 || string(ov.Data) != "BEGIN:VEVENT\r\nUID:override\r\nRECURRENCE-ID:20260101T090000Z\r\nEND:VEVENT\r\n" {
		t.Errorf("override: %+v %q", ov, ov.Data)
	}
	if todo.Name != "VTODO" || todo.UID != "t" || todo.Line != 26 {
		t.Errorf("todo: %+v", todo)
	}
	if got := string(Assemble(nil, [][]byte{todo.Data})); got != "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Koyomi//Koyomi//EN\r\nBEGIN:VTODO\r\nUID:t\r\nEND:VTODO\r\nEND:VCALENDAR\r\n" {
		t.Errorf("Assemble = %q", got)
	}
}

// A malformed component is a chunk with an error naming the line, and the
// stream goes on; a stream of the wrong kind is an error.
func TestSplitterErrors(t *testing.T) {
	in := "BEGIN:VCALENDAR\r\n" +
		"BEGIN:VEVENT\r\nUID:a\r\nno colon here\r\nEND:VEVENT\r\n" + // 2-5
		"BEGIN:VEVENT\r\nUID:b\r\nEND:VTODO\r\n" + // 6-8
		"BEGIN:VEVENT\r\nUID:big\r\nDESCRIPTION:" + strings.Repeat("x", 300) + "\r\nEND:VEVENT\r\n" + // 9-12
		"BEGIN:VEVENT\r\nUID:ok\r\nEND:VEVENT\r\n" + // 13-15
		"BEGIN:VEVENT\r\nUID:open\r\nEND:VCALENDAR\r\n" // 16-18
	chunks, err := splitAll(t, in, SplitOptions{Container: "VCALENDAR", MaxSize: 200})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		uid  string
		line int
		err  string
	}{{"a", 2, "line 4: \"no colon here\""}, {"b", 6, "line 8: END:VTODO closes BEGIN:VEVENT"},
		{"big", 9, "larger than 200 bytes"}, {"ok", 13, ""}, {"open", 16, "VEVENT not ended before END:VCALENDAR"}}
	if len(chunks) != len(want) {
		t.Fatalf("%d chunks, want %d", len(chunks), len(want))
	}
	for i, w := range want {
		c := chunks[i]
		if c.UID != w.uid || c.Line != w.line || (w.err == "") != (c.Err == nil) || (c.Err != nil && !strings.Contains(c.Err.Error(), w.err)) {
			t.Errorf("chunk %d: uid %q line %d err %v, want %q %d %q", i, c.UID, c.Line, c.Err, w.uid, w.line, w.err)
		}
	}
	if len(chunks[2].Data) > 200 {
		t.Errorf("the oversized component kept %d bytes", len(chunks[2].Data))
	}

	for in, want := range map[string]string{
		"":                             "no VCALENDAR",
		"hello\r\n":                    "line 1: expected BEGIN:VCALENDAR",
		"BEGIN:VCARD\r\nEND:VCARD\r\n": "line 1: expected BEGIN:VCALENDAR",
		"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\nx:y\r\n": "line 3: expected BEGIN:VCALENDAR",
	} {
		_, err := splitAll(t, in, SplitOptions{Container: "VCALENDAR"})
		if !errors.Is(err, ErrInvalidData) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want ErrInvalidData saying %q", in, err, want)
		}
	}
}

// Without a container the top-level components are cut: a vCard stream.
func TestSplitterCards(t *testing.T) {
	chunks, err := splitAll(t, "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:a\r\nEND:VCARD\r\nBEGIN:VCARD\r\nFN:b\r\nEND:VCARD\r\n", SplitOptions{})
	if err != nil || len(chunks) != 2 || chunks[0].UID != "a" || chunks[1].UID != "" || chunks[1].Line != 5 {
		t.Fatalf("cards: %v %+v", err, chunks)
	}
	if _, err := splitAll(t, "FN:b\r\n", SplitOptions{}); !errors.Is(err, ErrInvalidData) {
		t.Errorf("a property outside a card: %v", err)
	}
}

// FuzzSplitter checks that no input makes the Splitter panic or loop,
// that components come in the order of their lines, and that every line
// of a component is a line of the input.
func FuzzSplitter(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.ics"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\n b\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	f.Add([]byte("BEGIN:VCALENDAR\nBEGIN:X\nBEGIN:Y\nEND:X\nEND:VCALENDAR\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sp := NewSplitter(bytes.NewReader(data), SplitOptions{Container: "VCALENDAR", MaxSize: 1 << 12})
		lines := map[string]bool{}
		for _, l := range strings.Split(string(data), "\n") {
			lines[strings.TrimSuffix(l, "\r")] = true
		}
		last := 0
		for range len(data) + 2 {
			c, err := sp.Next()
			if err != nil {
				return
			}
			if c.Line <= last {
				t.Fatalf("component at line %d after one at line %d", c.Line, last)
			}
			last = c.Line
			if c.Err != nil {
				continue
			}
			for _, l := range strings.Split(strings.TrimSuffix(string(c.Data), "\r\n"), "\r\n") {
				if !lines[l] {
					t.Fatalf("component line %q is not a line of the input", l)
				}
			}
		}
		t.Fatal("Next did not end")
	})
}

// A line that never ends is not kept whole: the component holding it is
// refused as too large, and the rest of the stream is read.
func TestSplitterLongLine(t *testing.T) {
	in := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:long\r\nDESCRIPTION:" + strings.Repeat("x", 1<<20) +
		"\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:next\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	chunks, err := splitAll(t, in, SplitOptions{Container: "VCALENDAR", MaxSize: 1000})
	if err != nil || len(chunks) != 2 {
		t.Fatalf("%v, %d chunks", err, len(chunks))
	}
	if !errors.Is(chunks[0].Err, ErrTooLarge) || len(chunks[0].Data) > 1000 || chunks[1].UID != "next" || chunks[1].Err != nil || chunks[1].Line != 6 {
		t.Errorf("long: %v (%d bytes kept); next: %q %v line %d", chunks[0].Err, len(chunks[0].Data), chunks[1].UID, chunks[1].Err, chunks[1].Line)
	}
}

// A UTF-8 byte order mark before the first line is skipped, in a
// calendar stream and in a vCard stream.
func TestSplitterByteOrderMark(t *testing.T) {
	cal := "\uFEFFBEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	chunks, err := splitAll(t, cal, SplitOptions{Container: "VCALENDAR"})
	if err != nil || len(chunks) != 1 || chunks[0].UID != "a" || chunks[0].Err != nil {
		t.Fatalf("calendar with BOM: %v, %+v", err, chunks)
	}
	cards := "\uFEFFBEGIN:VCARD\r\nVERSION:4.0\r\nUID:c\r\nEND:VCARD\r\n"
	chunks, err = splitAll(t, cards, SplitOptions{})
	if err != nil || len(chunks) != 1 || chunks[0].UID != "c" || chunks[0].Err != nil {
		t.Fatalf("cards with BOM: %v, %+v", err, chunks)
	}
}

// A stream that breaks off within a component ends with the read error,
// not with the component's half as a malformed entry.
func TestSplitterReadErrorWithinComponent(t *testing.T) {
	broken := errors.New("connection reset")
	in := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\n"
	sp := NewSplitter(io.MultiReader(strings.NewReader(in), iotest.ErrReader(broken)), SplitOptions{Container: "VCALENDAR"})
	if c, err := sp.Next(); err != nil || c.UID != "a" {
		t.Fatalf("first: %+v, %v", c, err)
	}
	if c, err := sp.Next(); !errors.Is(err, broken) || c != nil {
		t.Fatalf("second: %+v, %v; want the read error and no chunk", c, err)
	}
}
