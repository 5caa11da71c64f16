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

// Add writes the components of one calendar object resource, leaving out
// VTIMEZONEs of a TZID already written.
func (m *Merger) Add(data []byte) error {
	var out bytes.Buffer
	lines := mergeSplitLines(data)
	depth := 0
	var block []string
	var tzid string
	for _, l := range lines {
		upper := strings.ToUpper(mergeFirstLine(l))
		if strings.HasPrefix(upper, "BEGIN:") {
			depth++
		}
		if depth >= 2 {
			block = append(block, l)
			if depth == 2 && strings.HasPrefix(upper, "TZID") {
				if _, v, ok := strings.Cut(l, ":"); ok {
					tzid = strings.TrimSpace(v)
				}
			}
		}
		if strings.HasPrefix(upper, "END:") {
			depth--
			if depth == 1 && len(block) > 0 {
				isTZ := strings.EqualFold(strings.TrimSpace(mergeFirstLine(block[0])), "BEGIN:VTIMEZONE")
				if !isTZ || (tzid != "" && !m.seenTZ[tzid]) {
					if isTZ {
						m.seenTZ[tzid] = true
					}
					for _, b := range block {
						out.WriteString(b)
						out.WriteString("\r\n")
					}
				}
				block, tzid = nil, ""
			}
		}
	}
	_, err := m.w.Write(out.Bytes())
	return err
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
