package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// discardWriter is a ResponseWriter that keeps nothing of the body, so
// that an export's allocations are the server's own.
type discardWriter struct {
	header http.Header
	status int
	n      int64
}

func (d *discardWriter) Header() http.Header { return d.header }
func (d *discardWriter) WriteHeader(code int) {
	if d.status == 0 {
		d.status = code
	}
}
func (d *discardWriter) Write(p []byte) (int, error) {
	d.WriteHeader(http.StatusOK)
	d.n += int64(len(p))
	return len(p), nil
}

// BenchmarkExport is a GET of a 10,000-event calendar: one iCalendar file,
// streamed to the client.
func BenchmarkExport(b *testing.B) {
	env := newBenchEnv(b, 10000)
	req := httptest.NewRequest(http.MethodGet, benchCal, nil)
	req.SetBasicAuth("alice", "alice-password")
	var size int64
	b.ReportAllocs()
	for b.Loop() {
		w := &discardWriter{header: http.Header{}}
		env.srv.ServeHTTP(w, req)
		if w.status != http.StatusOK || w.n == 0 {
			b.Fatalf("GET: %d, %d bytes", w.status, w.n)
		}
		size = w.n
	}
	b.ReportMetric(float64(size), "bytes/file")
}
