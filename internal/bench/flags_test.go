package bench

import (
	"bytes"
	"strings"
	"testing"
)

func TestCollectionURLs(t *testing.T) {
	for _, tc := range []struct {
		name            string
		cfg             Config
		wantCal, wantAB string
	}{
		{"server root", Config{URL: "http://h:8008", User: "alice"},
			"http://h:8008/dav/calendars/alice/bench/", "http://h:8008/dav/addressbooks/alice/bench-contacts/"},
		{"calendar home", Config{URL: "https://h/koyomi/dav/calendars/alice/", User: "alice"},
			"https://h/koyomi/dav/calendars/alice/bench/", "https://h/koyomi/dav/addressbooks/alice/bench-contacts/"},
		{"explicit", Config{CalendarURL: "http://r:5232/u/cal", AddressBookURL: "http://r:5232/u/ab/"},
			"http://r:5232/u/cal/", "http://r:5232/u/ab/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cal, ab, err := tc.cfg.collectionURLs()
			if err != nil {
				t.Fatal(err)
			}
			if cal.String() != tc.wantCal || ab.String() != tc.wantAB {
				t.Errorf("got %s %s, want %s %s", cal, ab, tc.wantCal, tc.wantAB)
			}
		})
	}
	bad := Config{CalendarURL: "http://a/cal/", AddressBookURL: "http://b/ab/"}
	if _, _, err := bad.collectionURLs(); err == nil {
		t.Error("collections on two servers were accepted")
	}
}

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags(strings.Fields("--user bob --seed 50 --contacts 5 --requests 3 --concurrency 2,16 --phases get,mixed"), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Events != 50 || cfg.Contacts != 5 || cfg.Requests != 3 || len(cfg.Concurrency) != 2 || cfg.Concurrency[1] != 16 ||
		strings.Join(cfg.Phases, ",") != "get,mixed" {
		t.Errorf("parsed %+v", cfg)
	}
	for _, args := range []string{
		"--user bob --phases nosuch",
		"--user bob --concurrency 0",
		"--user bob --concurrency x",
		"--user bob --seed 0",
		"--url http://h/ --seed 10", // no user, no explicit URLs
		"--user bob extra",
	} {
		if _, err := parseFlags(strings.Fields(args), &bytes.Buffer{}); err == nil {
			t.Errorf("%q was accepted", args)
		}
	}
}
