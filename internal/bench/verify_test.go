package bench

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// tamperer sits between the tool and Koyomi and spoils the answers to one
// kind of request, to prove that the verification notices.
type tamperer struct {
	next http.Handler
	mu   sync.Mutex
	kind string
	fn   func(r *http.Request, body []byte, h http.Header) []byte
}

func (tp *tamperer) set(kind string, fn func(*http.Request, []byte, http.Header) []byte) {
	tp.mu.Lock()
	tp.kind, tp.fn = kind, fn
	tp.mu.Unlock()
}

func (tp *tamperer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	tp.next.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	tp.mu.Lock()
	if tp.fn != nil && r.Header.Get(kindHeader) == tp.kind {
		body = tp.fn(r, body, rec.Header())
	}
	tp.mu.Unlock()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	w.Write(body)
}

var responseElem = regexp.MustCompile(`(?s)<(\w+:)?response>.*?</(\w+:)?response>`)

// dropOne removes the last response of a multistatus (the collection
// itself, when listed, comes first).
func dropOne(_ *http.Request, body []byte, _ http.Header) []byte {
	locs := responseElem.FindAllIndex(body, -1)
	if len(locs) == 0 {
		return body
	}
	loc := locs[len(locs)-1]
	return append(append([]byte{}, body[:loc[0]]...), body[loc[1]:]...)
}

func spoilETag(_ *http.Request, b []byte, h http.Header) []byte { h.Set("ETag", `"spoilt"`); return b }

func TestVerificationCatchesWrongAnswers(t *testing.T) {
	ts := newKoyomi(t)
	tp := &tamperer{next: ts.Config.Handler}
	proxy := httptest.NewServer(tp)
	defer proxy.Close()

	cfg := smallConfig(proxy.URL)
	cfg.Requests = 4
	calURL, abURL, err := cfg.collectionURLs()
	if err != nil {
		t.Fatal(err)
	}
	ds, err := generate(cfg.RandSeed, cfg.Events, cfg.Contacts)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse(proxy.URL)
	c := newClient(base, cfg.User, cfg.Password, 4)
	defer c.close()
	tg := &target{name: "server", c: c, calDir: calURL.Path, abDir: abURL.Path, verify: true}
	r := newRunner(ds)
	ctx := context.Background()
	if err := seed(ctx, cfg, tg, r, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		phase, kind string
		spoil       func(*http.Request, []byte, http.Header) []byte
	}{
		{"propfind-depth1", "propfind-depth1", dropOne},
		{"query-month", "query-month", dropOne},
		{"expand-month", "expand-month", func(_ *http.Request, b []byte, _ http.Header) []byte {
			return bytes.Replace(b, []byte("BEGIN:VEVENT"), []byte("BEGIN:VTODO"), 1)
		}},
		{"multiget-100", "multiget-100", dropOne},
		{"sync-initial", "sync-initial", dropOne},
		{"sync-incremental", "sync-incremental", dropOne},
		{"get", "get", spoilETag},
		{"put-ifmatch", "put-ifmatch", func(r *http.Request, b []byte, h http.Header) []byte {
			h.Set("ETag", r.Header.Get("If-Match")) // as if the PUT changed nothing
			return b
		}},
		{"addressbook-query", "addressbook-query", dropOne},
		{"freebusy", "freebusy", func(_ *http.Request, b []byte, _ http.Header) []byte {
			return regexp.MustCompile(`(?m)^FREEBUSY[^\n]*\n`).ReplaceAll(b, nil)
		}},
		{"mixed", "get", spoilETag},
	} {
		t.Run(tc.phase, func(t *testing.T) {
			o, _ := r.phaseOp(tc.phase)
			tp.set("", nil)
			if clean := runPhase(ctx, cfg, tg, tc.phase, 1, o, nil, 3); clean.Errors+clean.Wrong > 0 {
				t.Fatalf("untampered run: %d errors %v, %d wrong %v", clean.Errors, clean.ErrorSample, clean.Wrong, clean.WrongSample)
			}
			tp.set(tc.kind, tc.spoil)
			defer tp.set("", nil)
			n := cfg.Requests
			if tc.phase == "mixed" {
				cfg.Requests = 40 // enough to draw some GETs
				defer func() { cfg.Requests = n }()
			}
			res := runPhase(ctx, cfg, tg, tc.phase, 1, o, nil, 3)
			if res.Wrong == 0 {
				t.Errorf("spoilt answers went unnoticed: %+v", res)
			}
			if tc.phase == "put-ifmatch" || tc.phase == "get" || tc.phase == "mixed" {
				// The tool now believes spoilt ETags; relearn the truth.
				tp.set("", nil)
				relearn(t, ctx, tg, r)
			}
		})
	}
}

// relearn asks the server for every event's ETag.
func relearn(t *testing.T, ctx context.Context, tg *target, r *runner) {
	t.Helper()
	for i, ev := range r.ds.events {
		etag, err := r.headETag(ctx, tg, tg.calDir+ev.Name)
		if err != nil {
			t.Fatal(err)
		}
		r.events[i].etag = etag
	}
}

func TestFloorReplays(t *testing.T) {
	f, err := startFloor(map[string]*recorded{"get": {status: 200, header: http.Header{"Etag": {`"x"`}}, body: []byte("hello")}})
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	c := newClient(f.url, "", "", 1)
	defer c.close()
	for _, tc := range []struct {
		kind   string
		status int
		body   string
	}{{"get", 200, "hello"}, {"query-week", 404, "no answer"}} {
		resp, _, err := c.do(context.Background(), tc.kind, "GET", "/any/path", nil, "")
		if err != nil {
			t.Fatal(err)
		}
		if resp.status != tc.status || !strings.Contains(string(resp.body), tc.body) {
			t.Errorf("%s: %d %q", tc.kind, resp.status, resp.body)
		}
		if tc.status == 200 && resp.etag != `"x"` {
			t.Errorf("%s: ETag %q", tc.kind, resp.etag)
		}
	}
}
