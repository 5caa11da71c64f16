package ical

import (
	"bytes"
	"io"
	"strings"
)

// Merge joins calendar object resources into one VCALENDAR stream (for an
// export of a whole calendar): each object's components are copied as sent,
// VTIMEZONEs once per TZID. name, when set, becomes X-WR-CALNAME.
func Merge(objects [][]byte, name string) ([]byte, error) {
	var out bytes.Buffer
	m, err := NewMerger(&out, name)
	if err != nil {
		return nil, err
	}
	for _, data := range objects {
		if err := m.Add(data); err != nil {
			return nil, err
		}
	}
	if err := m.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// Merger writes the merge of calendar objects to w as they are added, so
// that an export of a large calendar is never held whole in memory.
type Merger struct {
	w      io.Writer
	seenTZ map[string]bool
	buf    []byte // one object's output, reused
}

// NewMerger starts the VCALENDAR on w; Close ends it.
func NewMerger(w io.Writer, name string) (*Merger, error) {
	head := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Koyomi//Koyomi//EN\r\n"
	if name != "" {
		head += mergeFoldLine("X-WR-CALNAME:" + mergeEscapeText(name))
	}
	if _, err := io.WriteString(w, head); err != nil {
		return nil, err
	}
	return &Merger{w: w, seenTZ: map[string]bool{}}, nil
}

// Add writes the components of one calendar object resource, line by line
// as sent (each ended with CRLF), leaving out VTIMEZONEs of a TZID already
// written. It works on the bytes without building strings of them: an
// export adds every object of a calendar.
func (m *Merger) Add(data []byte) error {
	buf := m.buf[:0]
	depth := 0
	blockStart := -1 // where the current component began in buf
	isTZ, inTZID := false, false
	var tzid []byte
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			continue
		}
		folded := line[0] == ' ' || line[0] == '\t'
		if !folded && hasPrefixFold(line, "BEGIN:") {
			depth++
			if depth == 2 {
				blockStart = len(buf)
				isTZ = bytes.EqualFold(bytes.TrimSpace(line[len("BEGIN:"):]), []byte("VTIMEZONE"))
				tzid = tzid[:0]
			}
		}
		if depth >= 2 {
			buf = append(buf, line...)
			buf = append(buf, '\r', '\n')
			switch {
			case folded && inTZID:
				tzid = append(tzid, "\r\n"...)
				tzid = append(tzid, line...)
			case !folded:
				inTZID = depth == 2 && hasPrefixFold(line, "TZID")
				if inTZID {
					if i := bytes.IndexByte(line, ':'); i >= 0 {
						tzid = append(tzid[:0], line[i+1:]...)
					}
				}
			}
		}
		if !folded && hasPrefixFold(line, "END:") {
			depth--
			if depth == 1 && blockStart >= 0 {
				if isTZ {
					name := string(bytes.TrimSpace(tzid))
					if name == "" || m.seenTZ[name] {
						buf = buf[:blockStart]
					} else {
						m.seenTZ[name] = true
					}
				}
				blockStart = -1
			}
		}
	}
	m.buf = buf
	_, err := m.w.Write(buf)
	return err
}

// hasPrefixFold reports whether line starts with prefix, ignoring case.
func hasPrefixFold(line []byte, prefix string) bool {
	return len(line) >= len(prefix) && bytes.EqualFold(line[:len(prefix)], []byte(prefix))
}

// Close ends the VCALENDAR.
func (m *Merger) Close() error {
	_, err := io.WriteString(m.w, "END:VCALENDAR\r\n")
	return err
}

// mergeSplitLines splits data into content lines, each keeping its
// folded continuation lines (joined with CRLF) so bytes are preserved.
func mergeSplitLines(data []byte) []string {
	raw := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	var lines []string
	for _, l := range raw {
		if len(l) > 0 && (l[0] == ' ' || l[0] == '\t') && len(lines) > 0 {
			lines[len(lines)-1] += "\r\n" + l
			continue
		}
		if l == "" {
			continue
		}
		lines = append(lines, l)
	}
	return lines
}

func mergeFirstLine(l string) string {
	if i := strings.Index(l, "\r\n"); i >= 0 {
		return l[:i]
	}
	return l
}

func mergeEscapeText(s string) string {
	r := strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`)
	return r.Replace(s)
}

// mergeFoldLine folds a content line at 75 octets without splitting UTF-8
// sequences, and terminates it with CRLF.
func mergeFoldLine(l string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(l); {
		size := 1
		for i+size < len(l) && l[i+size]&0xC0 == 0x80 {
			size++
		}
		if n+size > 75 {
			b.WriteString("\r\n ")
			n = 1
		}
		b.WriteString(l[i : i+size])
		n += size
		i += size
	}
	b.WriteString("\r\n")
	return b.String()
}
