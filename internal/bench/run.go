package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Result is the measurement of one phase at one concurrency on one target.
type Result struct {
	Phase       string   `json:"phase"`
	Target      string   `json:"target"` // "server", or "floor" for the replay handler
	Concurrency int      `json:"concurrency"`
	Count       int      `json:"count"`
	Errors      int      `json:"errors"`
	Wrong       int      `json:"wrong"`
	Seconds     float64  `json:"seconds"`
	RPS         float64  `json:"rps"`
	P50ms       float64  `json:"p50_ms"`
	P95ms       float64  `json:"p95_ms"`
	P99ms       float64  `json:"p99_ms"`
	PeakRSSKiB  int64    `json:"peak_rss_kib,omitempty"` // highest VmRSS seen during the phase (--pid)
	WrongSample []string `json:"wrong_sample,omitempty"`
	ErrorSample []string `json:"error_sample,omitempty"`
}

// Report is everything one run measured.
type Report struct {
	CalendarURL    string    `json:"calendar_url"`
	AddressBookURL string    `json:"addressbook_url"`
	Events         int       `json:"events"`
	Contacts       int       `json:"contacts"`
	RandSeed       uint64    `json:"rand_seed"`
	Seeding        string    `json:"seeding"`                 // SeedingPUT or SeedingPreseeded
	SeedSeconds    float64   `json:"seed_seconds"`            // PUT seeding; 0 when preseeded
	CheckSeconds   float64   `json:"check_seconds,omitempty"` // checking preseeded collections
	HWMKiB         int64     `json:"vm_hwm_kib,omitempty"`    // the server's VmHWM at the end (--pid)
	Results        []Result  `json:"results"`
	Started        time.Time `json:"started"`
}

// How the collections came to hold the data, in Report.Seeding.
const (
	SeedingPUT       = "put"       // the tool PUT every object (and timed it)
	SeedingPreseeded = "preseeded" // they held it already; the tool checked every object
)

// Failures counts errors and wrong answers over all results, floor excluded.
func (rep *Report) Failures() (errors, wrong int) {
	for _, r := range rep.Results {
		if r.Target == "server" {
			errors += r.Errors
			wrong += r.Wrong
		}
	}
	return errors, wrong
}

// samplesKept is how many wrong answers and errors a result keeps as text.
const samplesKept = 5

// runPhase runs o with conc workers until the request budget or the
// duration is spent.
func runPhase(ctx context.Context, cfg *Config, t *target, name string, conc int, o op, rss *rssSampler, seed uint64) Result {
	res := Result{Phase: name, Target: t.name, Concurrency: conc}
	var (
		mu     sync.Mutex
		lats   []time.Duration
		issued atomic.Int64
		wg     sync.WaitGroup
	)
	deadline := time.Now().Add(cfg.Duration)
	rss.reset()
	t0 := time.Now()
	for w := range conc {
		rng := rand.New(rand.NewPCG(seed, uint64(w)))
		wg.Go(func() {
			for ctx.Err() == nil {
				if cfg.Requests > 0 {
					if issued.Add(1) > int64(cfg.Requests) {
						return
					}
				} else if time.Now().After(deadline) {
					return
				}
				out := o(ctx, t, rng)
				mu.Lock()
				res.Count++
				if out.lat > 0 {
					lats = append(lats, out.lat)
				}
				switch {
				case out.err != nil:
					res.Errors++
					if len(res.ErrorSample) < samplesKept {
						res.ErrorSample = append(res.ErrorSample, out.err.Error())
					}
				case out.wrong != "" && t.verify:
					res.Wrong++
					if len(res.WrongSample) < samplesKept {
						res.WrongSample = append(res.WrongSample, out.wrong)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.Seconds = time.Since(t0).Seconds()
	if res.Seconds > 0 {
		res.RPS = float64(res.Count) / res.Seconds
	}
	slices.Sort(lats)
	res.P50ms, res.P95ms, res.P99ms = percentile(lats, 50), percentile(lats, 95), percentile(lats, 99)
	res.PeakRSSKiB = rss.peak()
	return res
}

// percentile is the nearest-rank percentile of sorted, in milliseconds.
func percentile(sorted []time.Duration, p int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100
	return float64(sorted[max(rank, 1)-1]) / float64(time.Millisecond)
}

// seed prepares the collections and PUTs the generated data with eight
// workers, learning every ETag.
func seed(ctx context.Context, cfg *Config, t *target, r *runner, log io.Writer) error {
	if cfg.Create {
		if err := createCollections(ctx, t); err != nil {
			return err
		}
	}
	for _, c := range []struct {
		dir, prefix string
		known       func(string) bool
	}{
		{t.calDir, "ev-", func(n string) bool { return r.eventIndex(n) >= 0 }},
		{t.abDir, "ct-", func(n string) bool { return r.contactIndex(n) >= 0 }},
	} {
		if err := clearForeign(ctx, t, c.dir, c.prefix, c.known, log); err != nil {
			return err
		}
	}
	type job struct {
		path, body, ctype string
		st                *objState
	}
	jobs := make(chan job)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for j := range jobs {
				resp, _, err := t.c.do(ctx, "seed", http.MethodPut, j.path, map[string]string{"Content-Type": j.ctype}, j.body)
				if err == nil && (resp.status < 200 || resp.status > 299) {
					err = fmt.Errorf("seeding %s: %w", j.path, statusErr("PUT", resp))
				}
				etag := ""
				if err == nil {
					if etag = resp.etag; etag == "" {
						etag, err = r.headETag(ctx, t, j.path)
					}
				}
				if err != nil {
					select {
					case errc <- err:
					default:
					}
					continue
				}
				j.st.etag, j.st.rev = etag, 0
			}
		})
	}
	send := func(j job) bool {
		select {
		case jobs <- j:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for i, ev := range r.ds.events {
		if !send(job{t.calDir + ev.Name, ev.ics(0), "text/calendar; charset=utf-8", r.events[i]}) {
			break
		}
	}
	for i, c := range r.ds.contacts {
		if !send(job{t.abDir + c.Name, c.vcf(r.ds.photo), "text/vcard; charset=utf-8", r.contacts[i]}) {
			break
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
	}
	return ctx.Err()
}

func (r *runner) eventIndex(name string) int {
	if i, ok := r.eventByName[name]; ok {
		return i
	}
	return -1
}

func (r *runner) contactIndex(name string) int {
	if i, ok := r.contactByName[name]; ok {
		return i
	}
	return -1
}

// createCollections makes the calendar and the address book; one that
// already exists is fine.
func createCollections(ctx context.Context, t *target) error {
	mk := []struct{ method, dir, body string }{
		{"MKCALENDAR", t.calDir, xmlHeader + `<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">` +
			`<D:set><D:prop><D:displayname>bench</D:displayname><C:supported-calendar-component-set>` +
			`<C:comp name="VEVENT"/></C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>`},
		{"MKCOL", t.abDir, xmlHeader + `<D:mkcol xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav">` +
			`<D:set><D:prop><D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype>` +
			`<D:displayname>bench</D:displayname></D:prop></D:set></D:mkcol>`},
	}
	for _, m := range mk {
		resp, _, err := t.c.do(ctx, "create", m.method, m.dir, map[string]string{"Content-Type": "application/xml; charset=utf-8"}, m.body)
		if err != nil {
			return err
		}
		// 405 is how RFC 4918 and 4791 say "exists"; some servers use 409.
		if resp.status != http.StatusCreated && resp.status != http.StatusMethodNotAllowed && resp.status != http.StatusConflict {
			return fmt.Errorf("bench: %s %s: %w", m.method, m.dir, statusErr(m.method, resp))
		}
	}
	return nil
}

// clearForeign makes sure the collection holds nothing but the generated
// objects, or the expected answers would be wrong: leftovers of an earlier
// run (named with the tool's prefix) are deleted, anything else is an error.
func clearForeign(ctx context.Context, t *target, dir, prefix string, known func(string) bool, log io.Writer) error {
	body := xmlHeader + `<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/></D:prop></D:propfind>`
	ms, _, err := report(ctx, t, "list", "PROPFIND", dir, body)
	if err != nil {
		return fmt.Errorf("bench: listing %s (does it exist? --create makes it): %w", dir, err)
	}
	members, foreign := ms.members(dir)
	if len(foreign) > 0 {
		return fmt.Errorf("bench: %s lists hrefs outside itself: %s", dir, firstFew(foreign))
	}
	var stale []string
	for _, m := range members {
		if known(m.name) {
			continue
		}
		if !strings.HasPrefix(m.name, prefix) {
			return fmt.Errorf("bench: %s holds %s, which the tool did not make: use an empty collection", dir, m.name)
		}
		stale = append(stale, m.name)
	}
	if len(stale) > 0 {
		fmt.Fprintf(log, "deleting %d objects left in %s by an earlier run\n", len(stale), dir)
	}
	for _, name := range stale {
		resp, _, err := t.c.do(ctx, "delete", http.MethodDelete, dir+name, nil, "")
		if err != nil {
			return err
		}
		if resp.status >= 300 && resp.status != http.StatusNotFound {
			return fmt.Errorf("bench: deleting %s: %w", dir+name, statusErr("DELETE", resp))
		}
	}
	return nil
}
