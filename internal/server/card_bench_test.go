package server

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/vcard"
)

// The address book benchmarks run the load tool's addressbook-query phase
// (a text-match on FN for one surname, getetag only) end to end over a
// SQLite store seeded directly with contacts shaped like the load tool's:
// vCard 3.0 with FN, N, EMAIL and TEL, one in ten carrying a 10 KB PHOTO.
// The floor writes the recorded answer's bytes from a trivial handler; the
// scan sub-benchmarks time the parts of the query on the seeded data.

const benchBook = "/dav/addressbooks/alice/contacts/"

var (
	benchGiven = []string{"Anna", "Boris", "Chiara", "Daniel", "Emma", "Felix", "Greta", "Hugo", "Ines", "Jonas",
		"Klara", "Lukas", "Marta", "Noah", "Olga", "Paul", "Quentin", "Rosa", "Sven", "Tilda", "Umar", "Vera",
		"Walter", "Xenia", "Yusuf", "Zoe"}
	benchSurnames = []string{"Abbott", "Becker", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia", "Hoffmann",
		"Ivanova", "Jensen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov", "Quinn", "Rossi",
		"Schmidt", "Tanaka", "Usman", "Varga", "Weber", "Xu", "Yilmaz", "Zimmermann"}
)

// benchSurname is the surname the query looks for.
const benchSurname = "Nakamura"

// benchCardQuery is the load tool's addressbook-query for benchSurname.
const benchCardQuery = `<?xml version="1.0" encoding="utf-8"?>
<CR:addressbook-query xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav">` +
	`<D:prop><D:getetag/></D:prop><CR:filter><CR:prop-filter name="FN">` +
	`<CR:text-match match-type="contains">` + benchSurname + `</CR:text-match>` +
	`</CR:prop-filter></CR:filter></CR:addressbook-query>`

// benchCardFilter is the filter benchCardQuery decodes to.
var benchCardFilter = &vcard.Filter{Test: "anyof", Props: []vcard.PropFilter{{
	Name:        "FN",
	TextMatches: []vcard.TextMatch{{Text: benchSurname, MatchType: "contains"}},
}}}

// benchContact returns the i-th contact as the load tool renders it.
func benchContact(i int, rng *rand.Rand, photo []byte) []byte {
	given, sur := benchGiven[rng.IntN(len(benchGiven))], benchSurnames[rng.IntN(len(benchSurnames))]
	uid := fmt.Sprintf("bench-1-ct-%d", i)
	var b strings.Builder
	b.WriteString("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\n")
	b.WriteString("FN:" + given + " " + sur + "\r\nN:" + sur + ";" + given + ";;;\r\n")
	b.WriteString("EMAIL;TYPE=INTERNET:" + strings.ToLower(given+"."+sur) + "@example.org\r\n")
	b.WriteString("TEL;TYPE=CELL:+49 30 5550" + uid[len(uid)-1:] + "\r\n")
	if rng.IntN(10) == 0 {
		line := "PHOTO;ENCODING=b;TYPE=JPEG:" + base64.StdEncoding.EncodeToString(photo)
		b.WriteString(line[:75])
		for rest := line[75:]; rest != ""; {
			n := min(74, len(rest))
			b.WriteString("\r\n " + rest[:n])
			rest = rest[n:]
		}
		b.WriteString("\r\n")
	}
	b.WriteString("END:VCARD\r\n")
	return []byte(b.String())
}

// cardBenchEnv is a server over a seeded address book alice/contacts.
type cardBenchEnv struct {
	srv   *Server
	st    store.Store
	coll  *store.Collection
	cards [][]byte // the seeded vCards, in name order
}

// newCardBenchEnv returns a server whose address book holds n contacts.
func newCardBenchEnv(b *testing.B, n int) *cardBenchEnv {
	b.Helper()
	srv, st, coll := newBenchServer(b, benchBook, "contacts")
	env := &cardBenchEnv{srv: srv, st: st, coll: coll}
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	photo := make([]byte, 10*1024)
	for i := range photo {
		photo[i] = byte(rng.UintN(256))
	}
	const batch = 2000
	for lo := 0; lo < n; lo += batch {
		var objs []*store.Object
		for i := lo; i < min(lo+batch, n); i++ {
			data := benchContact(i, rng, photo)
			card, err := vcard.Parse(data)
			if err != nil {
				b.Fatalf("contact %d: %v", i, err)
			}
			o := &store.Object{CollectionID: env.coll.ID, Name: fmt.Sprintf("ct-%06d.vcf", i), Data: data,
				ContentType: "text/vcard; charset=utf-8"}
			card.Index(o)
			objs = append(objs, o)
			env.cards = append(env.cards, data)
		}
		putObjects(b, st, objs)
	}
	return env
}

// cardBenchSizes are the address book sizes; KOYOMI_BENCH_CARD_SIZES
// overrides them.
var cardBenchSizes = sizesFromEnv("KOYOMI_BENCH_CARD_SIZES", []int{1000, 5000})

// BenchmarkAddressBookQuery runs benchCardQuery end to end ("koyomi") next
// to its floor, and times the parts of the query over the same data, each
// reporting ns/card: "list" reads every card with its data from the store
// as the domain's address book query does ("list-without-data" leaves the data out, for
// comparison), "parse-match" is vcard.Parse and Card.Match on every card,
// what that query does after listing, and "prefilter-parse-match" the
// same behind a vcard.Prefilter, which parses only the cards that may
// match.
func BenchmarkAddressBookQuery(b *testing.B) {
	for _, n := range cardBenchSizes {
		b.Run("N="+strconv.Itoa(n), func(b *testing.B) {
			env := newCardBenchEnv(b, n)
			rec := serve(env.srv, "REPORT", benchBook, "1", benchCardQuery)
			if rec.Code != http.StatusMultiStatus {
				b.Fatalf("REPORT: %d %s", rec.Code, rec.Body)
			}
			body := rec.Body.Bytes()
			matches := strings.Count(rec.Body.String(), "<D:response>")
			want := 0
			for _, data := range env.cards {
				if strings.Contains(string(data), "FN:") && strings.Contains(string(data), " "+benchSurname+"\r\n") {
					want++
				}
			}
			if matches == 0 || matches != want {
				b.Fatalf("REPORT answered %d cards, want %d", matches, want)
			}
			b.Run("koyomi", func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				cpu := processCPU()
				for b.Loop() {
					if rec := serve(env.srv, "REPORT", benchBook, "1", benchCardQuery); rec.Code != http.StatusMultiStatus {
						b.Fatalf("REPORT: %d", rec.Code)
					}
				}
				b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
			})
			b.Run("floor", func(b *testing.B) {
				floor := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Content-Type", "application/xml; charset=utf-8")
					w.WriteHeader(http.StatusMultiStatus)
					w.Write(body)
				})
				b.SetBytes(int64(len(body)))
				cpu := processCPU()
				for b.Loop() {
					if rec := serve(floor, "REPORT", benchBook, "1", benchCardQuery); rec.Body.Len() != len(body) {
						b.Fatal("short answer")
					}
				}
				b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
			})
			for _, withData := range []bool{true, false} {
				name := "list"
				if !withData {
					name = "list-without-data"
				}
				b.Run(name, func(b *testing.B) {
					ctx := context.Background()
					for b.Loop() {
						err := env.st.View(ctx, func(tx store.Tx) error {
							objs, err := tx.ListObjects(ctx, env.coll.ID, withData)
							if err == nil && len(objs) != n {
								err = fmt.Errorf("listed %d cards, want %d", len(objs), n)
							}
							return err
						})
						if err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/card")
				})
			}
			b.Run("parse-match", func(b *testing.B) {
				for b.Loop() {
					got := 0
					for _, data := range env.cards {
						card, err := vcard.Parse(data)
						if err != nil {
							b.Fatal(err)
						}
						if card.Match(benchCardFilter) {
							got++
						}
					}
					if got != want {
						b.Fatalf("matched %d cards, want %d", got, want)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/card")
			})
			b.Run("prefilter-parse-match", func(b *testing.B) {
				for b.Loop() {
					got := 0
					pre := vcard.NewPrefilter(benchCardFilter)
					for _, data := range env.cards {
						if !pre.MayMatch(data) {
							continue
						}
						card, err := vcard.Parse(data)
						if err != nil {
							b.Fatal(err)
						}
						if card.Match(benchCardFilter) {
							got++
						}
					}
					if got != want {
						b.Fatalf("matched %d cards, want %d", got, want)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/card")
			})
		})
	}
}
