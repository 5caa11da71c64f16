package server

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/store"
)

// newVCBenchEnv seeds sources calendars of n events each for alice and
// defines a virtual calendar over all of them (each through a filter that
// shows working hours as summary and evenings in full), returning its
// path in alice's home.
func newVCBenchEnv(b *testing.B, sources, n int) (*benchEnv, string) {
	b.Helper()
	ctx := context.Background()
	env := newBenchEnv(b, 0)
	horizon := fixedClock().Add(benchHorizon)
	union := domain.VCNode{}
	for s := range sources {
		name := fmt.Sprintf("src%d", s)
		c := &store.Collection{Owner: "alice", Name: name, Kind: store.KindCalendar}
		if err := env.srv.Service().CreateCollection(ctx, c, nil); err != nil {
			b.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(uint64(s), uint64(n)))
		for lo := 0; lo < n; lo += 2000 {
			err := env.st.Update(ctx, func(tx store.Tx) error {
				for i := lo; i < min(lo+2000, n); i++ {
					data := sourceEvent(s, i, rng)
					p, err := ical.Parse(data)
					if err != nil {
						return err
					}
					o := &store.Object{CollectionID: c.ID, Name: fmt.Sprintf("s%d-%06d.ics", s, i), Data: data,
						ContentType: "text/calendar; charset=utf-8; component=vevent"}
					p.Index(o, horizon)
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
		union.Union = append(union.Union, domain.VCNode{
			Filter: &domain.FilterDef{Default: "summary", Zone: "Europe/Berlin",
				Rules: []domain.RuleDef{{Level: "full", From: "17:00", To: "24:00"}}},
			Of: &domain.VCNode{Calendar: name}})
	}
	vc, err := env.srv.Service().CreateVC(ctx, "alice", domain.VCSpec{Name: "all", Definition: union})
	if err != nil {
		b.Fatal(err)
	}
	return env, "/dav/calendars/alice/vc-" + strconv.FormatInt(vc.ID, 10) + "/"
}

// sourceEvent is benchEvent i of source calendar s, with a UID of its own:
// a view shows an event held by several sources (one UID) once, and these
// are distinct events.
func sourceEvent(s, i int, rng *rand.Rand) []byte {
	return bytes.Replace(benchEvent(i, rng), []byte("-bench"), []byte(fmt.Sprintf("-src%d-bench", s)), 1)
}

// BenchmarkVirtualWeek is BenchmarkCalendarQueryWeek on a virtual calendar
// over five filtered calendars of n events each.
func BenchmarkVirtualWeek(b *testing.B) {
	for _, n := range []int{2000, 10000} {
		b.Run("5x"+strconv.Itoa(n), func(b *testing.B) {
			env, path := newVCBenchEnv(b, 5, n)
			rec := serve(env.srv, "REPORT", path, "1", weekQuery)
			if rec.Code != http.StatusMultiStatus || !strings.Contains(rec.Body.String(), "<D:response>") {
				b.Fatalf("REPORT: %d %.300s", rec.Code, rec.Body)
			}
			matches := strings.Count(rec.Body.String(), "<D:response>")
			b.SetBytes(int64(rec.Body.Len()))
			for b.Loop() {
				if rec := serve(env.srv, "REPORT", path, "1", weekQuery); rec.Code != http.StatusMultiStatus {
					b.Fatalf("REPORT: %d", rec.Code)
				}
			}
			b.ReportMetric(float64(matches), "events/op")
		})
	}
}

// BenchmarkVirtualSyncIncremental asks a virtual calendar over five
// calendars of n events for the changes after ten source edits.
func BenchmarkVirtualSyncIncremental(b *testing.B) {
	for _, n := range []int{2000, 10000} {
		b.Run("5x"+strconv.Itoa(n), func(b *testing.B) {
			env, path := newVCBenchEnv(b, 5, n)
			const initial = `<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`
			rec := serve(env.srv, "REPORT", path, "", initial)
			m := syncTokenRE.FindStringSubmatch(rec.Body.String())
			if rec.Code != http.StatusMultiStatus || m == nil {
				b.Fatalf("initial sync: %d", rec.Code)
			}
			for i := range 10 {
				k := i * n / 10
				body := strings.Replace(string(sourceEvent(i%5, k, rand.New(rand.NewPCG(2, 2)))), "SEQUENCE:1", "SEQUENCE:2", 1)
				name := fmt.Sprintf("/dav/calendars/alice/src%d/s%d-%06d.ics", i%5, i%5, k)
				if rec := serve(env.srv, "PUT", name, "", body); rec.Code != http.StatusNoContent {
					b.Fatalf("PUT %s: %d %s", name, rec.Code, rec.Body)
				}
			}
			query := `<D:sync-collection xmlns:D="DAV:"><D:sync-token>` + m[1] + `</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`
			for b.Loop() {
				rec := serve(env.srv, "REPORT", path, "", query)
				if rec.Code != http.StatusMultiStatus || strings.Count(rec.Body.String(), "<D:response>") != 10 {
					b.Fatalf("sync: %d %.500s", rec.Code, rec.Body)
				}
			}
		})
	}
}
