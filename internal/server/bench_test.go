package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

// The benchmarks here run requests end to end through the HTTP handler, over
// a SQLite store seeded directly (parsed and indexed as the domain would, then
// inserted in large transactions) so that a 10,000-event calendar is ready in
// about a second. BenchmarkFloorWeek writes the bytes of the recorded
// one-week calendar-query answer from a trivial handler: the ratio of the two
// is the cost of Koyomi's work over the cost of just answering.

// benchHorizon is how far occurrences are indexed past fixedClock, the
// domain's default.
const benchHorizon = 3 * 365 * 24 * time.Hour

// berlinTZ is the VTIMEZONE calendar clients attach to zoned events.
const berlinTZ = "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n" +
	"BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n" +
	"BEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n" +
	"END:VTIMEZONE\r\n"

// benchEvent returns the i-th event of a synthetic calendar: 80% single
// events spread over 2025 and 2026, 20% recurring (mostly weekly, open-ended
// or until a date; the rest daily with a count, a few of them open-ended).
// Half carry a VTIMEZONE, as Apple clients send them; one in ten is all-day.
func benchEvent(i int, rng *rand.Rand) []byte {
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	day := base.AddDate(0, 0, rng.IntN(730))
	hour := 7 + rng.IntN(12)
	zoned := i%2 == 0
	allDay := i%10 == 3
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Apple Inc.//macOS 15.3//EN\r\nCALSCALE:GREGORIAN\r\n")
	if zoned && !allDay {
		b.WriteString(berlinTZ)
	}
	b.WriteString("BEGIN:VEVENT\r\n")
	fmt.Fprintf(&b, "UID:%08d-7d2c-4a8e-9f3b-bench%06d@example.org\r\n", i, i)
	b.WriteString("DTSTAMP:20241201T101500Z\r\nCREATED:20241201T101500Z\r\nLAST-MODIFIED:20241202T081000Z\r\nSEQUENCE:1\r\n")
	fmt.Fprintf(&b, "SUMMARY:Meeting %d with the team about the quarterly plan\r\n", i)
	b.WriteString("DESCRIPTION:Agenda: review last quarter\\, agree on priorities\\, assign owners. Bring\r\n  the figures from the shared folder.\r\n")
	fmt.Fprintf(&b, "LOCATION:Room %d\\, second floor\r\n", rng.IntN(40))
	switch {
	case allDay:
		fmt.Fprintf(&b, "DTSTART;VALUE=DATE:%s\r\nDTEND;VALUE=DATE:%s\r\n", day.Format("20060102"), day.AddDate(0, 0, 1).Format("20060102"))
	case zoned:
		st := day.Add(time.Duration(hour) * time.Hour)
		fmt.Fprintf(&b, "DTSTART;TZID=Europe/Berlin:%s\r\nDTEND;TZID=Europe/Berlin:%s\r\n",
			st.Format("20060102T150405"), st.Add(time.Hour).Format("20060102T150405"))
	default:
		st := day.Add(time.Duration(hour) * time.Hour)
		fmt.Fprintf(&b, "DTSTART:%s\r\nDTEND:%s\r\n", st.Format("20060102T150405Z"), st.Add(45*time.Minute).Format("20060102T150405Z"))
	}
	if i%5 == 0 { // 20% recurring
		switch k := (i / 5) % 8; {
		case k < 3:
			b.WriteString("RRULE:FREQ=WEEKLY\r\n")
		case k < 6:
			fmt.Fprintf(&b, "RRULE:FREQ=WEEKLY;UNTIL=%s\r\n", day.AddDate(0, 3+rng.IntN(9), 0).Format("20060102T150405Z"))
		case k < 7 && i%3 != 0:
			fmt.Fprintf(&b, "RRULE:FREQ=DAILY;COUNT=%d\r\n", 3+rng.IntN(20))
		default:
			b.WriteString("RRULE:FREQ=DAILY\r\n")
		}
	}
	b.WriteString("TRANSP:OPAQUE\r\nSTATUS:CONFIRMED\r\n")
	b.WriteString("BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\nTRIGGER:-PT15M\r\n")
	fmt.Fprintf(&b, "UID:alarm-%d\r\nEND:VALARM\r\n", i)
	b.WriteString("END:VEVENT\r\nEND:VCALENDAR\r\n")
	return []byte(b.String())
}

// benchEnv is a server over a seeded calendar alice/default.
type benchEnv struct {
	srv   *Server
	st    store.Store
	coll  *store.Collection
	names []string
}

const benchCal = "/dav/calendars/alice/default/"

// newBenchServer returns a server on a fresh SQLite store with the user
// alice, and her collection called name, which the first request to path
// provisions.
func newBenchServer(b *testing.B, path, name string) (*Server, store.Store, *store.Collection) {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, b.TempDir(), sqlite.Options{Now: fixedClock})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	srv, err := New(st, Options{Clock: fixedClock, PasswordParams: cheapParams, MaxResourceSize: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Service().CreateUser(ctx, "alice", "alice-password", "alice@example.org"); err != nil {
		b.Fatal(err)
	}
	if rec := serve(srv, "PROPFIND", path, "0", ""); rec.Code != http.StatusMultiStatus {
		b.Fatalf("provisioning PROPFIND: %d %s", rec.Code, rec.Body)
	}
	var coll *store.Collection
	err = st.View(ctx, func(tx store.Tx) error {
		coll, err = tx.GetCollection(ctx, "alice", name)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return srv, st, coll
}

// putObjects stores objs in one transaction.
func putObjects(b *testing.B, st store.Store, objs []*store.Object) {
	b.Helper()
	ctx := context.Background()
	err := st.Update(ctx, func(tx store.Tx) error {
		for _, o := range objs {
			if _, err := tx.PutObject(ctx, o, store.PutOptions{}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// newBenchEnv returns a server whose calendar holds n synthetic events.
func newBenchEnv(b *testing.B, n int) *benchEnv {
	b.Helper()
	srv, st, coll := newBenchServer(b, benchCal, "default")
	env := &benchEnv{srv: srv, st: st, coll: coll}
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	horizon := fixedClock().Add(benchHorizon)
	const batch = 2000
	for lo := 0; lo < n; lo += batch {
		var objs []*store.Object
		for i := lo; i < min(lo+batch, n); i++ {
			data := benchEvent(i, rng)
			p, err := ical.Parse(data)
			if err != nil {
				b.Fatalf("event %d: %v", i, err)
			}
			o := &store.Object{CollectionID: env.coll.ID, Name: fmt.Sprintf("ev-%06d.ics", i), Data: data,
				ContentType: "text/calendar; charset=utf-8; component=vevent"}
			p.Index(o, horizon)
			objs = append(objs, o)
			env.names = append(env.names, o.Name)
		}
		putObjects(b, st, objs)
	}
	return env
}

// serve runs one request as alice and returns the recorded response.
func serve(h http.Handler, method, target, depth, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.SetBasicAuth("alice", "alice-password")
	if depth != "" {
		req.Header.Set("Depth", depth)
	}
	if strings.HasPrefix(body, "BEGIN:") {
		req.Header.Set("Content-Type", "text/calendar")
	} else if body != "" {
		req.Header.Set("Content-Type", "application/xml; charset=utf-8")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// weekQuery asks for the events of one week with their ETags and data, as
// calendar clients do when they show a week.
var weekQuery = calendarQueryBody("20260112T000000Z", "20260119T000000Z", false)

// calendarQueryBody is a calendar-query for the VEVENTs in [start, end)
// with their ETags and data, expanded into instances when expand is set.
func calendarQueryBody(start, end string, expand bool) string {
	data := `<C:calendar-data/>`
	if expand {
		data = `<C:calendar-data><C:expand start="` + start + `" end="` + end + `"/></C:calendar-data>`
	}
	return `<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
 <D:prop><D:getetag/>` + data + `</D:prop>
 <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
  <C:time-range start="` + start + `" end="` + end + `"/>
 </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>`
}

// benchSizes are the collection sizes the end-to-end benchmarks run at;
// KOYOMI_BENCH_SIZES (e.g. "1000,100000") overrides them for growth
// measurements.
var benchSizes = sizesFromEnv("KOYOMI_BENCH_SIZES", []int{1000, 10000})

func sizesFromEnv(name string, def []int) []int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	var sizes []int
	for field := range strings.SplitSeq(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || n <= 0 {
			panic(fmt.Sprintf("%s: %q is not a positive size", name, field))
		}
		sizes = append(sizes, n)
	}
	return sizes
}

func BenchmarkCalendarQueryWeek(b *testing.B) {
	for _, n := range benchSizes {
		b.Run("N="+strconv.Itoa(n), func(b *testing.B) {
			env := newBenchEnv(b, n)
			rec := serve(env.srv, "REPORT", benchCal, "1", weekQuery)
			if rec.Code != http.StatusMultiStatus {
				b.Fatalf("REPORT: %d %s", rec.Code, rec.Body)
			}
			matches := strings.Count(rec.Body.String(), "<D:response>")
			if matches == 0 {
				b.Fatal("the week matched nothing")
			}
			b.SetBytes(int64(rec.Body.Len()))
			for b.Loop() {
				if rec := serve(env.srv, "REPORT", benchCal, "1", weekQuery); rec.Code != http.StatusMultiStatus {
					b.Fatalf("REPORT: %d", rec.Code)
				}
			}
			b.ReportMetric(float64(matches), "events/op")
		})
	}
}

// BenchmarkFloorWeek is the floor for BenchmarkCalendarQueryWeek: a handler
// that writes the recorded answer's exact bytes, run the same way.
func BenchmarkFloorWeek(b *testing.B) {
	for _, n := range benchSizes {
		b.Run("N="+strconv.Itoa(n), func(b *testing.B) {
			env := newBenchEnv(b, n)
			rec := serve(env.srv, "REPORT", benchCal, "1", weekQuery)
			if rec.Code != http.StatusMultiStatus {
				b.Fatalf("REPORT: %d %s", rec.Code, rec.Body)
			}
			body := rec.Body.Bytes()
			floor := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/xml; charset=utf-8")
				w.WriteHeader(http.StatusMultiStatus)
				w.Write(body)
			})
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if rec := serve(floor, "REPORT", benchCal, "1", weekQuery); rec.Body.Len() != len(body) {
					b.Fatal("short answer")
				}
			}
		})
	}
}

var syncTokenRE = regexp.MustCompile(`<D:sync-token>([^<]+)</D:sync-token>`)

// BenchmarkSyncIncremental asks for the changes since a token after ten
// objects changed, as a client polling a large calendar does.
func BenchmarkSyncIncremental(b *testing.B) {
	for _, n := range benchSizes {
		b.Run("N="+strconv.Itoa(n), func(b *testing.B) {
			env := newBenchEnv(b, n)
			const initial = `<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`
			rec := serve(env.srv, "REPORT", benchCal, "", initial)
			m := syncTokenRE.FindStringSubmatch(rec.Body.String())
			if rec.Code != http.StatusMultiStatus || m == nil {
				b.Fatalf("initial sync: %d", rec.Code)
			}
			for i := range 10 {
				k := i * len(env.names) / 10
				body := strings.Replace(string(benchEvent(k, rand.New(rand.NewPCG(2, 2)))), "SEQUENCE:1", "SEQUENCE:2", 1)
				name := env.names[k]
				if rec := serve(env.srv, "PUT", benchCal+name, "", body); rec.Code != http.StatusNoContent && rec.Code != http.StatusCreated {
					b.Fatalf("PUT %s: %d %s", name, rec.Code, rec.Body)
				}
			}
			query := `<D:sync-collection xmlns:D="DAV:"><D:sync-token>` + m[1] + `</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`
			for b.Loop() {
				rec := serve(env.srv, "REPORT", benchCal, "", query)
				if rec.Code != http.StatusMultiStatus || strings.Count(rec.Body.String(), "<D:response>") != 10 {
					b.Fatalf("sync: %d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

func BenchmarkGET(b *testing.B) {
	env := newBenchEnv(b, 10000)
	target := benchCal + env.names[4321]
	for b.Loop() {
		if rec := serve(env.srv, "GET", target, "", ""); rec.Code != http.StatusOK || rec.Body.Len() < 500 {
			b.Fatalf("GET: %d", rec.Code)
		}
	}
}

// BenchmarkPUT replaces existing events (the common edit), each a commit.
func BenchmarkPUT(b *testing.B) {
	env := newBenchEnv(b, 10000)
	rng := rand.New(rand.NewPCG(3, 3))
	bodies := make([]string, 100)
	for i := range bodies {
		bodies[i] = strings.Replace(string(benchEvent(i, rng)), "SEQUENCE:1", "SEQUENCE:2", 1)
	}
	for i := 0; b.Loop(); i++ {
		k := i % len(bodies)
		if rec := serve(env.srv, "PUT", benchCal+env.names[k], "", bodies[k]); rec.Code != http.StatusNoContent {
			b.Fatalf("PUT: %d %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkPropfindDepth1 lists a calendar's members with their ETags, as
// clients without sync-collection do.
func BenchmarkPropfindDepth1(b *testing.B) {
	const body = `<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:getcontenttype/><D:resourcetype/></D:prop></D:propfind>`
	for _, n := range benchSizes {
		b.Run("N="+strconv.Itoa(n), func(b *testing.B) {
			env := newBenchEnv(b, n)
			for b.Loop() {
				rec := serve(env.srv, "PROPFIND", benchCal, "1", body)
				if rec.Code != http.StatusMultiStatus || strings.Count(rec.Body.String(), "<D:response>") != n+1 {
					b.Fatalf("PROPFIND: %d", rec.Code)
				}
			}
		})
	}
}
