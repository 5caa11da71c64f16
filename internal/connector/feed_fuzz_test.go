package connector_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"koyomi.dev/koyomi/internal/connector"
	"koyomi.dev/koyomi/internal/ical"
)

// feedTransport serves the feed it is given last to every request. It is
// a RoundTripper, not a listening server, so that the fuzzer's coverage
// signal is not the noise of a server's goroutines; TestICSFeedPull runs
// a feed over real HTTP.
type feedTransport struct {
	mu   sync.Mutex
	feed []byte
}

func (ft *feedTransport) set(feed []byte) {
	ft.mu.Lock()
	ft.feed = feed
	ft.mu.Unlock()
}

func (ft *feedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ft.mu.Lock()
	feed := ft.feed
	ft.mu.Unlock()
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Request: r, ContentLength: int64(len(feed)), Header: http.Header{"Content-Type": {"text/calendar"}},
		Body: io.NopCloser(bytes.NewReader(feed))}, nil
}

// FuzzFeedSync pulls hostile iCalendar feeds into a calendar of a real
// store, one after the other, as a connector's runs do. No feed makes a
// run panic (runs recover panics, so the log is checked); every run ends
// with a recorded status; and a run that reports success leaves the
// calendar holding exactly the feed's UIDs.
//
// Fuzz it with -fuzzminimizetime=0: a run's coverage varies from one
// execution to the next (a store, goroutines), and minimizing every input
// that looks new would leave the fuzzer no time to fuzz.
func FuzzFeedSync(f *testing.F) {
	for _, s := range []string{
		feedOf("h1", "Holiday one", "h2", "Holiday two"),
		feedOf("h1", "Holiday one", "h1", "Holiday one again"),
		"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//F//EN\r\nBEGIN:VTIMEZONE\r\nTZID:X\r\nBEGIN:STANDARD\r\n" +
			"DTSTART:19700101T000000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n" +
			"BEGIN:VEVENT\r\nUID:tz\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=X:20260310T090000\r\nEND:VEVENT\r\n" +
			"BEGIN:VEVENT\r\nUID:tz\r\nRECURRENCE-ID;TZID=X:20260311T090000\r\nDTSTAMP:20260101T000000Z\r\n" +
			"DTSTART;TZID=X:20260311T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:no UID\r\nEND:VEVENT\r\nBEGIN:VTODO\r\nUID:\r\nEND:VTODO\r\n" +
			"BEGIN:VEVENT\r\nUID:nested\r\nBEGIN:VEVENT\r\nUID:inner\r\nEND:VEVENT\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		"BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:lf\n only\nDTSTART:2026\nRRULE:FREQ=YEARLY;BYDAY=99MO\nEND:VEVENT\n",
		"\xef\xbb\xbfBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
		"BEGIN:VCALENDAR\r\nX;A=\"b\r\nEND:VCALENDAR\r\n",
		"", "<html>sign in</html>",
	} {
		f.Add(s)
	}
	l := newLocal(f)
	var logs syncBuffer
	feed := &feedTransport{}
	m := connector.New(connector.Options{Store: l.st, Domain: l.svc, Box: l.box, Clock: l.clock.Now, Node: "fuzz",
		HTTPClient: &http.Client{Transport: feed}, DefaultAllowed: true,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelError}))})
	ctx := context.Background()
	c, err := m.Create(ctx, "alice", connector.Settings{Name: ptr("feed"), Calendar: ptr("work"),
		Kind: ptr(connector.KindICS), URL: ptr("https://feed.example/f.ics")})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data string) {
		feed.set([]byte(data))
		run, err := m.SyncNow(ctx, c.ID)
		if err != nil {
			t.Fatalf("SyncNow: %v", err)
		}
		if out := logs.String(); strings.Contains(out, "panicked") {
			t.Fatalf("a run panicked on feed %q:\n%s", data, out)
		}
		switch run.Status {
		case connector.RunOK, connector.RunPartial, connector.RunError:
		default:
			t.Fatalf("run ended %s (%q)", run.Status, run.Error)
		}
		if run.Status != connector.RunOK {
			return
		}
		parts, _, err := ical.Split([]byte(data))
		if err != nil {
			t.Fatalf("a run succeeded on a feed Split refuses: %v", err)
		}
		var want, got []string
		for _, p := range parts {
			want = append(want, p.UID)
		}
		objs, err := l.svc.ListObjects(ctx, l.col, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			got = append(got, o.UID)
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("after a successful run the calendar holds %q, the feed %q", got, want)
		}
	})
}
