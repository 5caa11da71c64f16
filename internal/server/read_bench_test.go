package server

import (
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// weekExpandQuery is weekQuery with the instances expanded, as the load
// tool's expand-week phase asks.
var weekExpandQuery = calendarQueryBody("20260112T000000Z", "20260119T000000Z", true)

// monthQuery asks for the events of one month with their data.
var monthQuery = calendarQueryBody("20260101T000000Z", "20260201T000000Z", false)

// monthExpandQuery is monthQuery with the instances expanded, as clients
// without recurrence support ask.
var monthExpandQuery = calendarQueryBody("20260101T000000Z", "20260201T000000Z", true)

// syncInitialBody is a first sync-collection asking for ETags, as clients
// start a calendar's synchronisation.
const syncInitialBody = `<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`

// multigetBody asks for 100 events spread over the calendar by name.
func multigetBody(names []string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>`)
	for i := range 100 {
		fmt.Fprintf(&b, "<D:href>%s%s</D:href>", benchCal, names[i*len(names)/100])
	}
	b.WriteString(`</C:calendar-multiget>`)
	return b.String()
}

// BenchmarkReads runs the read requests of the load tool end to end over a
// 10,000-event calendar, each next to its floor: a handler writing the
// recorded answer's bytes, run the same way. Each also reports the CPU
// time it used per request (cpu-ns/op).
func BenchmarkReads(b *testing.B) {
	env := newBenchEnv(b, 10000)
	type read struct {
		name, method, target, depth, body string
		status                            int
	}
	reads := func() []read {
		return []read{
			{"week", "REPORT", benchCal, "1", weekQuery, http.StatusMultiStatus},
			{"week-expand", "REPORT", benchCal, "1", weekExpandQuery, http.StatusMultiStatus},
			{"month", "REPORT", benchCal, "1", monthQuery, http.StatusMultiStatus},
			{"month-expand", "REPORT", benchCal, "1", monthExpandQuery, http.StatusMultiStatus},
			{"multiget-100", "REPORT", benchCal, "", multigetBody(env.names), http.StatusMultiStatus},
			{"get", "GET", benchCal + env.names[4321], "", "", http.StatusOK},
			{"sync-initial", "REPORT", benchCal, "", syncInitialBody, http.StatusMultiStatus},
		}
	}
	for _, name := range []string{"week", "week-expand", "month", "month-expand", "multiget-100", "get", "sync-initial"} {
		b.Run(name, func(b *testing.B) {
			var r read
			for _, x := range reads() {
				if x.name == name {
					r = x
				}
			}
			rec := serve(env.srv, r.method, r.target, r.depth, r.body)
			if rec.Code != r.status || rec.Body.Len() < 500 {
				b.Fatalf("%s: %d %.300s", name, rec.Code, rec.Body)
			}
			body := rec.Body.Bytes()
			ctype := rec.Header().Get("Content-Type")
			b.Run("koyomi", func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				cpu := processCPU()
				for b.Loop() {
					if rec := serve(env.srv, r.method, r.target, r.depth, r.body); rec.Code != r.status {
						b.Fatalf("%s: %d", name, rec.Code)
					}
				}
				b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
			})
			b.Run("floor", func(b *testing.B) {
				floor := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Content-Type", ctype)
					w.WriteHeader(r.status)
					w.Write(body)
				})
				b.SetBytes(int64(len(body)))
				cpu := processCPU()
				for b.Loop() {
					if rec := serve(floor, r.method, r.target, r.depth, r.body); rec.Body.Len() != len(body) {
						b.Fatal("short answer")
					}
				}
				b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
			})
		})
	}
}

// processCPU is the CPU time the process has used (user and system, all
// threads, the garbage collector's included). On a machine shared with
// other work it varies less than elapsed time, so the benchmarks report it
// per operation beside ns/op.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
