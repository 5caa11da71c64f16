package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/ical"
)

// Names and duplicates in a view depend only on what it shows, and are the
// same whichever way it is read: for random calendars sharing object names
// and UIDs, a time-range query answers each object under the name and ETag
// the whole listing gives it, a GET by that name answers the same, and no
// name or UID is served twice.
func TestViewNamesAgreeAcrossReads(t *testing.T) {
	ctx := context.Background()
	for seed := range 8 {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(seed), 7))
			srv := newTestServer(t)
			svc := srv.Service()
			provision(t, srv, "alice", "bob")
			cals := []string{"default", "c1", "c2"}
			for _, c := range cals[1:] {
				if code, body := as(t, srv, "alice", "MKCALENDAR", "/dav/calendars/alice/"+c+"/", ""); code != 201 {
					t.Fatalf("MKCALENDAR %s: %d %s", c, code, body)
				}
			}
			for _, c := range cals {
				for k := range 8 {
					name := fmt.Sprintf("n%d.ics", r.IntN(6))
					uid := fmt.Sprintf("u%d-%d", r.IntN(5), k%2)
					day := 12 + r.IntN(10)
					cat := []string{"work", "home"}[r.IntN(2)]
					// The same UID twice in one calendar is refused; that is fine.
					as(t, srv, "alice", "PUT", "/dav/calendars/alice/"+c+"/"+name, ics("BEGIN:VEVENT", "UID:"+uid,
						fmt.Sprintf("DTSTART:202601%02dT100000Z", day), fmt.Sprintf("DTEND:202601%02dT110000Z", day),
						"SUMMARY:"+c+name, "CATEGORIES:"+cat, "END:VEVENT"), "Content-Type", "text/calendar")
				}
			}
			def := domain.VCNode{}
			for _, c := range cals {
				def.Union = append(def.Union, domain.VCNode{Filter: &domain.FilterDef{Default: "full",
					Rules: []domain.RuleDef{{Level: "hidden", Categories: []string{[]string{"work", "home"}[r.IntN(2)]}}}},
					Of: &domain.VCNode{Calendar: c}})
			}
			vc, err := svc.CreateVC(ctx, "alice", domain.VCSpec{Name: "v", Definition: def, SharedWith: []string{"user:bob"}})
			if err != nil {
				t.Fatal(err)
			}
			v, err := svc.ViewVC(domain.WithPrincipal(ctx, "bob"), "bob", vc.ID)
			if err != nil {
				t.Fatal(err)
			}
			all, err := svc.VCObjects(ctx, v, nil)
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]string{}
			uids := map[string]bool{}
			for _, o := range all {
				if _, dup := byName[o.Name]; dup || uids[o.UID] {
					t.Fatalf("name %s or UID %s served twice", o.Name, o.UID)
				}
				byName[o.Name], uids[o.UID] = o.ETag, true
				got, err := svc.VCObjectByName(ctx, v, o.Name)
				if err != nil || got.ETag != o.ETag {
					t.Errorf("GET %s: %v, ETag %v; the listing has %s", o.Name, err, got, o.ETag)
				}
			}
			for start := 10; start < 24; start += 3 {
				tr := ical.TimeRange{Start: time.Date(2026, 1, start, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 1, start+3, 0, 0, 0, 0, time.UTC)}
				part, err := svc.VCObjects(ctx, v, &tr)
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range part {
					if etag, ok := byName[o.Name]; !ok || etag != o.ETag {
						t.Errorf("range %v: %s (UID %s) is not in the listing under that name", tr, o.Name, o.UID)
					}
				}
			}
		})
	}
}
