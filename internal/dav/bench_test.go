package dav

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// countingWriter is a ResponseWriter that keeps only the byte count, so the
// benchmark measures the writer rather than a buffer's growth.
type countingWriter struct {
	header http.Header
	n      int
	code   int
}

func (w *countingWriter) Header() http.Header         { return w.header }
func (w *countingWriter) WriteHeader(code int)        { w.code = code }
func (w *countingWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

// BenchmarkMultistatus writes calendar-query answers: each response has a
// getetag and a calendar-data of about 1 KB, already escaped.
func BenchmarkMultistatus(b *testing.B) {
	etag := []byte(`"0123456789abcdef0123456789abcdef"`)
	data := []byte(EscapeText(strings.Repeat("DESCRIPTION:Agenda & notes <draft>\r\n", 28)))
	props := []PropValue{
		{Name: Name("getetag"), Inner: etag},
		{Name: xml.Name{Space: NSCalDAV, Local: "calendar-data"}, Inner: data},
	}
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("responses=%d", n), func(b *testing.B) {
			paths := make([]string, n)
			for i := range paths {
				paths[i] = fmt.Sprintf("/dav/calendars/alice/default/%08d-7d2c-4a8e-9f3b-%012d.ics", i, i)
			}
			var total int
			for b.Loop() {
				w := &countingWriter{header: http.Header{}}
				ms := NewMultistatus(w)
				for _, p := range paths {
					ms.Response(p, []PropStat{{Status: http.StatusOK, Props: props}})
				}
				if err := ms.Close(""); err != nil || w.code != http.StatusMultiStatus {
					b.Fatalf("Close: %v, status %d", err, w.code)
				}
				total = w.n
			}
			if total < n*len(data) {
				b.Fatalf("wrote %d bytes for %d responses", total, n)
			}
			b.SetBytes(int64(total))
		})
	}
}
