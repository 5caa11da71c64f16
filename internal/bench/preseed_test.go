package bench

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExportWritesWhatSeedingPuts(t *testing.T) {
	dir := t.TempDir()
	cfg := &Config{Events: 40, Contacts: 30, RandSeed: 9, Duration: 1, Concurrency: []int{1}, PhaseConcurrency: 1,
		ExportCalendar: filepath.Join(dir, "cal"), ExportAddressBook: filepath.Join(dir, "ab")}
	var log bytes.Buffer
	if err := Export(cfg, &log); err != nil {
		t.Fatal(err)
	}
	ds, err := generate(cfg.RandSeed, cfg.Events, cfg.Contacts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, ev := range ds.events {
		want["cal/"+ev.Name] = ev.ics(0)
	}
	for _, c := range ds.contacts {
		want["ab/"+c.Name] = c.vcf(ds.photo)
	}
	got := map[string]string{}
	for _, sub := range []string{"cal", "ab"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, sub, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			got[sub+"/"+e.Name()] = string(b)
		}
	}
	if len(got) != len(want) {
		t.Errorf("wrote %d files, want %d", len(got), len(want))
	}
	for name, body := range want {
		if got[name] != body {
			t.Errorf("%s: got %q, want the bytes seeding PUTs", name, got[name])
		}
	}
	if !strings.Contains(log.String(), "wrote 40 events") || !strings.Contains(log.String(), "wrote 30 contacts") {
		t.Errorf("log: %s", log.String())
	}
}

func TestSameObject(t *testing.T) {
	ds, err := generate(3, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	var photo string
	for _, c := range ds.contacts {
		if c.photo {
			photo = c.vcf(ds.photo)
		}
	}
	if photo == "" {
		t.Fatal("no contact with a photo in the sample")
	}
	ics := ds.events[0].ics(0)
	for _, tc := range []struct {
		name      string
		got, want string
		same      bool
	}{
		{"identical", ics, ics, true},
		{"LF line endings", strings.ReplaceAll(ics, "\r\n", "\n"), ics, true},
		{"unfolded photo", strings.ReplaceAll(photo, "\r\n ", ""), photo, true},
		{"other revision", ds.events[0].ics(1), ics, false},
		{"line missing", strings.Replace(ics, "VERSION:2.0\r\n", "", 1), ics, false},
		{"lines in another order", strings.Replace(ics, "VERSION:2.0\r\nPRODID:-//Koyomi//bench//EN\r\n",
			"PRODID:-//Koyomi//bench//EN\r\nVERSION:2.0\r\n", 1), ics, true},
		{"line changed", strings.Replace(ics, "VERSION:2.0", "VERSION:2.1", 1), ics, false},
		{"line added", strings.Replace(ics, "VERSION:2.0\r\n", "VERSION:2.0\r\nX-A:1\r\n", 1), ics, false},
	} {
		if got := sameObject(tc.got, tc.want); got != tc.same {
			t.Errorf("%s: sameObject = %v", tc.name, got)
		}
	}
	if rev, ok := sequenceOf(ds.events[0].ics(7)); !ok || rev != 7 {
		t.Errorf("sequenceOf = %d, %v", rev, ok)
	}
}

// TestPreseededAgainstKoyomi seeds Koyomi by PUT and runs, then runs again
// on the same collections with --preseeded: the second run must find the
// objects (some at later revisions) right, and must refuse collections that
// hold anything else.
func TestPreseededAgainstKoyomi(t *testing.T) {
	ts := newKoyomi(t)
	ctx := context.Background()
	cfg := smallConfig(ts.URL)
	cfg.Phases = []string{"put-ifmatch", "get", "sync-incremental", "query-month"}
	if _, err := Run(ctx, cfg, &bytes.Buffer{}); err != nil {
		t.Fatalf("seeding run: %v", err)
	}

	pre := *cfg
	pre.Create, pre.Preseeded = false, true
	var log bytes.Buffer
	rep, err := Run(ctx, &pre, &log)
	if err != nil {
		t.Fatalf("preseeded run: %v\n%s", err, log.String())
	}
	if rep.Seeding != SeedingPreseeded || rep.SeedSeconds != 0 || rep.CheckSeconds <= 0 {
		t.Errorf("report says seeding %q, %v s seeding, %v s checking", rep.Seeding, rep.SeedSeconds, rep.CheckSeconds)
	}
	if errs, wrong := rep.Failures(); errs+wrong > 0 || len(rep.Results) != len(pre.Phases) {
		t.Errorf("%d errors, %d wrong, %d results\n%s", errs, wrong, len(rep.Results), log.String())
	}

	calURL, abURL, err := cfg.collectionURLs()
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse(ts.URL)
	c := newClient(base, cfg.User, cfg.Password, 1)
	defer c.close()
	do := func(method, p, ctype, body string) {
		t.Helper()
		resp, _, err := c.do(ctx, "test", method, p, map[string]string{"Content-Type": ctype}, body)
		if err != nil || resp.status >= 300 {
			t.Fatalf("%s %s: %v %+v", method, p, err, resp)
		}
	}
	ds, err := generate(cfg.RandSeed, cfg.Events, cfg.Contacts)
	if err != nil {
		t.Fatal(err)
	}
	ev, ct := ds.events[5], ds.contacts[3]
	for _, tc := range []struct {
		name, want  string
		spoil, undo func()
	}{
		{"changed event", ev.Name,
			func() {
				do(http.MethodPut, calURL.Path+ev.Name, "text/calendar", strings.Replace(ev.ics(0), "DTEND", "X-OTHER:1\r\nDTEND", 1))
			},
			func() { do(http.MethodPut, calURL.Path+ev.Name, "text/calendar", ev.ics(0)) }},
		{"changed contact", ct.Name,
			func() {
				do(http.MethodPut, abURL.Path+ct.Name, "text/vcard", strings.Replace(ct.vcf(ds.photo), "FN:", "FN:X", 1))
			},
			func() { do(http.MethodPut, abURL.Path+ct.Name, "text/vcard", ct.vcf(ds.photo)) }},
		{"foreign object", "other.ics",
			func() {
				do(http.MethodPut, calURL.Path+"other.ics", "text/calendar", strings.ReplaceAll(ev.ics(0), ev.UID, "other"))
			},
			func() { do(http.MethodDelete, calURL.Path+"other.ics", "", "") }},
		{"missing object", ct.Name,
			func() { do(http.MethodDelete, abURL.Path+ct.Name, "", "") },
			func() { do(http.MethodPut, abURL.Path+ct.Name, "text/vcard", ct.vcf(ds.photo)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.spoil()
			defer tc.undo()
			rep, err := Run(ctx, &pre, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run = %v, want an error naming %s", err, tc.want)
			}
			if rep != nil && len(rep.Results) > 0 {
				t.Errorf("phases ran on a collection that holds something else")
			}
		})
	}
	if _, err := Run(ctx, &pre, &bytes.Buffer{}); err != nil {
		t.Errorf("after undoing every change: %v", err)
	}

	// A server that cannot answer the query for every object is checked
	// by multigets, just as strictly.
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(kindHeader) == "check-query" {
			http.Error(w, "no such report", http.StatusNotImplemented)
			return
		}
		ts.Config.Handler.ServeHTTP(w, r)
	}))
	defer refuse.Close()
	viaMultiget := pre
	viaMultiget.URL = refuse.URL
	log.Reset()
	if _, err := Run(ctx, &viaMultiget, &log); err != nil || !strings.Contains(log.String(), "fetching them by multiget") {
		t.Errorf("without the query: %v\n%s", err, log.String())
	}
	do(http.MethodPut, calURL.Path+ev.Name, "text/calendar", strings.Replace(ev.ics(0), "DTEND", "X-OTHER:1\r\nDTEND", 1))
	if _, err := Run(ctx, &viaMultiget, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), ev.Name) {
		t.Errorf("without the query, a changed event: Run = %v, want an error naming %s", err, ev.Name)
	}
}

func TestPreseededFlags(t *testing.T) {
	cfg, err := parseFlags(strings.Fields("--export-calendar c --export-addressbook a --seed 5"), &bytes.Buffer{})
	if err != nil {
		t.Fatalf("export without a server: %v", err)
	}
	if cfg.ExportCalendar != "c" || cfg.ExportAddressBook != "a" || cfg.Events != 5 {
		t.Errorf("parsed %+v", cfg)
	}
	if cfg, err := parseFlags(strings.Fields("--user bob --preseeded"), &bytes.Buffer{}); err != nil || !cfg.Preseeded {
		t.Errorf("--preseeded: %v %+v", err, cfg)
	}
	for _, args := range []string{
		"--user bob --preseeded --create",
		"--export-calendar c --create",
		"--export-calendar c --preseeded",
		"--export-addressbook a --floor",
	} {
		if _, err := parseFlags(strings.Fields(args), &bytes.Buffer{}); err == nil {
			t.Errorf("%q was accepted", args)
		}
	}
}
