package ical

import (
	"bytes"
	"strings"
)

// Merge joins calendar object resources into one VCALENDAR stream (for an
// export of a whole calendar): each object's components are copied as sent,
// VTIMEZONEs once per TZID. name, when set, becomes X-WR-CALNAME.
func Merge(objects [][]byte, name string) ([]byte, error) {
	var out bytes.Buffer
	out.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Koyomi//Koyomi//EN\r\n")
	if name != "" {
		out.WriteString(mergeFoldLine("X-WR-CALNAME:" + mergeEscapeText(name)))
	}
	seenTZ := map[string]bool{}
	for _, data := range objects {
		lines := mergeSplitLines(data)
		depth := 0
		var block []string
		var tzid string
		for _, l := range lines {
			unfolded := l
			upper := strings.ToUpper(mergeFirstLine(unfolded))
			switch {
			case strings.HasPrefix(upper, "BEGIN:"):
				depth++
			}
			if depth >= 2 {
				block = append(block, l)
				if depth == 2 && strings.HasPrefix(upper, "TZID") {
					if _, v, ok := strings.Cut(unfolded, ":"); ok {
						tzid = strings.TrimSpace(v)
					}
				}
			}
			if strings.HasPrefix(upper, "END:") {
				depth--
				if depth == 1 && len(block) > 0 {
					isTZ := strings.EqualFold(strings.TrimSpace(mergeFirstLine(block[0])), "BEGIN:VTIMEZONE")
					if !isTZ || (tzid != "" && !seenTZ[tzid]) {
						if isTZ {
							seenTZ[tzid] = true
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
	}
	out.WriteString("END:VCALENDAR\r\n")
	return out.Bytes(), nil
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
