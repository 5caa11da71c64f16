package connector_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/auth"
	"koyomi.dev/koyomi/internal/connector"
	"koyomi.dev/koyomi/internal/connector/remote"
	"koyomi.dev/koyomi/internal/connector/remotetest"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/secret"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/postgres"
	"koyomi.dev/koyomi/internal/store/postgres/pgtest"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

// clock is a settable clock shared by the store, the domain and the
// manager, so schedules and back-off are checked exactly.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// local is the Koyomi side of a connector under test: alice's calendar
// "work" in a fresh SQLite store.
type local struct {
	st    store.Store
	svc   *domain.Service
	col   *store.Collection
	clock *clock
	box   *secret.Box
}

func newLocal(t testing.TB) *local {
	t.Helper()
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	st, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return newLocalOn(t, st, clk)
}

// newLocalOnPostgres is newLocal on a fresh PostgreSQL database (skipped
// when no test server is configured).
func newLocalOnPostgres(t *testing.T) *local {
	t.Helper()
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	st, err := postgres.Open(context.Background(), pgtest.Database(t), postgres.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return newLocalOn(t, st, clk)
}

func newLocalOn(t testing.TB, st store.Store, clk *clock) *local {
	t.Helper()
	ctx := context.Background()
	t.Cleanup(func() { st.Close() })
	svc := domain.New(st, domain.Options{Clock: clk.Now,
		PasswordParams: auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}})
	if err := svc.CreateUser(ctx, "alice", "alice-password", ""); err != nil {
		t.Fatal(err)
	}
	col := &store.Collection{Owner: "alice", Name: "work", Kind: store.KindCalendar}
	if err := svc.CreateCollection(ctx, col, nil); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, secret.KeySize)
	box, _ := secret.New(key)
	return &local{st: st, svc: svc, col: col, clock: clk, box: box}
}

func (l *local) manager(t *testing.T, hc *http.Client) *connector.Manager {
	return connector.New(connector.Options{Store: l.st, Domain: l.svc, Box: l.box, Clock: l.clock.Now,
		Node: "test", HTTPClient: hc, MinInterval: time.Minute, DefaultAllowed: true})
}

func event(uid, summary string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260310T090000Z\r\nDURATION:PT1H\r\nSUMMARY:" + summary +
		"\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
}

var summaryRE = regexp.MustCompile(`(?m)^SUMMARY:(.*?)\r?$`)
var uidRE = regexp.MustCompile(`(?m)^UID:(.*?)\r?$`)

func summaries(datas [][]byte) map[string]string {
	out := map[string]string{}
	for _, d := range datas {
		uid := uidRE.FindSubmatch(d)
		sum := summaryRE.FindSubmatch(d)
		if uid == nil || sum == nil {
			continue
		}
		if _, dup := out[string(uid[1])]; dup {
			out[string(uid[1])] = "DUPLICATE"
			continue
		}
		out[string(uid[1])] = string(sum[1])
	}
	return out
}

func (l *local) put(t *testing.T, uid, summary string) {
	t.Helper()
	ctx := context.Background()
	name := uid + ".ics"
	if _, _, err := l.svc.PutObject(ctx, l.col, name, "", []byte(event(uid, summary)), "text/calendar", store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (l *local) del(t *testing.T, uid string) {
	t.Helper()
	objs, _ := l.svc.ListObjects(context.Background(), l.col, false)
	for _, o := range objs {
		if o.UID == uid {
			if err := l.svc.DeleteObject(context.Background(), l.col, o.Name, ""); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("local %s not found", uid)
}

func (l *local) state(t *testing.T) map[string]string {
	t.Helper()
	objs, err := l.svc.ListObjects(context.Background(), l.col, true)
	if err != nil {
		t.Fatal(err)
	}
	var datas [][]byte
	for _, o := range objs {
		datas = append(datas, o.Data)
	}
	return summaries(datas)
}

// remoteSide drives the remote server directly, as another client would.
type remoteSide struct {
	r  *remotetest.Remote
	cl *remote.Client
}

func newRemoteSide(r *remotetest.Remote) *remoteSide {
	return &remoteSide{r: r, cl: remote.New(nil, remote.Auth{Username: r.Username, Password: r.Password})}
}

func (rs *remoteSide) href(uid string) string {
	u := rs.r.CalendarURL
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u + "r-" + uid + ".ics"
}

func (rs *remoteSide) find(t *testing.T, uid string) *remote.Item {
	t.Helper()
	items := rs.items(t)
	for i := range items {
		if got := uidRE.FindSubmatch(items[i].Data); got != nil && string(got[1]) == uid {
			return &items[i]
		}
	}
	return nil
}

func (rs *remoteSide) put(t *testing.T, uid, summary string) {
	t.Helper()
	ctx := context.Background()
	if it := rs.find(t, uid); it != nil {
		if _, err := rs.cl.Put(ctx, it.Href, []byte(event(uid, summary)), it.ETag); err != nil {
			t.Fatal(err)
		}
		return
	}
	if _, err := rs.cl.Put(ctx, rs.href(uid), []byte(event(uid, summary)), ""); err != nil {
		t.Fatal(err)
	}
}

func (rs *remoteSide) del(t *testing.T, uid string) {
	t.Helper()
	it := rs.find(t, uid)
	if it == nil {
		t.Fatalf("remote %s not found", uid)
	}
	if err := rs.cl.Delete(context.Background(), it.Href, it.ETag); err != nil {
		t.Fatal(err)
	}
}

func (rs *remoteSide) items(t *testing.T) []remote.Item {
	t.Helper()
	ctx := context.Background()
	list, err := rs.cl.List(ctx, rs.r.CalendarURL)
	if err != nil {
		t.Fatal(err)
	}
	var hrefs []string
	for _, it := range list {
		hrefs = append(hrefs, it.Href)
	}
	if len(hrefs) == 0 {
		return nil
	}
	got, err := rs.cl.Multiget(ctx, rs.r.CalendarURL, hrefs)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (rs *remoteSide) state(t *testing.T) map[string]string {
	var datas [][]byte
	for _, it := range rs.items(t) {
		datas = append(datas, it.Data)
	}
	return summaries(datas)
}

func ptr[T any](v T) *T { return &v }

func (l *local) connect(t *testing.T, m *connector.Manager, r *remotetest.Remote, s connector.Settings) *store.Connector {
	t.Helper()
	s.Name = ptr("remote " + r.Name)
	s.Calendar = ptr("work")
	s.URL = ptr(r.CalendarURL)
	if r.Username != "" {
		s.Username = ptr(r.Username)
		s.Password = ptr(r.Password)
	}
	c, err := m.Create(context.Background(), "alice", s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func syncNow(t *testing.T, m *connector.Manager, id int64) *store.ConnectorRun {
	t.Helper()
	run, err := m.SyncNow(context.Background(), id)
	if err != nil {
		t.Fatalf("SyncNow: %v", err)
	}
	return run
}

func wantState(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

type counts struct{ pc, pu, pd, sc, su, sd, conflicts int }

func wantCounts(t *testing.T, run *store.ConnectorRun, want counts) {
	t.Helper()
	got := counts{run.PulledCreated, run.PulledUpdated, run.PulledDeleted, run.PushedCreated, run.PushedUpdated,
		run.PushedDeleted, run.Conflicts}
	if got != want {
		t.Errorf("run counts (pulled c/u/d, pushed c/u/d, conflicts) = %+v, want %+v (status %s, error %q)",
			got, want, run.Status, run.Error)
	}
}

// remotes are the real servers a connector is tested against.
var remotes = []struct {
	name  string
	start func(testing.TB) *remotetest.Remote
}{
	{"koyomi", remotetest.StartKoyomi},
	{"radicale", remotetest.StartRadicale},
	{"xandikos", remotetest.StartXandikos},
}

// TestTwoWaySyncConverges creates, changes and deletes on both sides over
// several runs against each real server and checks both sides agree after
// every run, with the history counting what moved.
func TestTwoWaySyncConverges(t *testing.T) {
	for _, rem := range remotes {
		t.Run(rem.name, func(t *testing.T) {
			r := rem.start(t)
			l := newLocal(t)
			rs := newRemoteSide(r)
			m := l.manager(t, nil)
			c := l.connect(t, m, r, connector.Settings{})

			l.put(t, "a", "A local")
			l.put(t, "b", "B local")
			rs.put(t, "c", "C remote")
			rs.put(t, "d", "D remote")
			run := syncNow(t, m, c.ID)
			if run.Status != connector.RunOK {
				t.Fatalf("first run: %s %q", run.Status, run.Error)
			}
			wantCounts(t, run, counts{pc: 2, sc: 2})
			all := map[string]string{"a": "A local", "b": "B local", "c": "C remote", "d": "D remote"}
			wantState(t, "local after run 1", l.state(t), all)
			wantState(t, "remote after run 1", rs.state(t), all)

			// Nothing changed: a run moves nothing.
			wantCounts(t, syncNow(t, m, c.ID), counts{})

			l.put(t, "a", "A changed here")
			l.del(t, "c")
			rs.put(t, "b", "B changed there")
			rs.del(t, "d")
			rs.put(t, "e", "E remote")
			run = syncNow(t, m, c.ID)
			wantCounts(t, run, counts{pc: 1, pu: 1, pd: 1, su: 1, sd: 1})
			all = map[string]string{"a": "A changed here", "b": "B changed there", "e": "E remote"}
			wantState(t, "local after run 3", l.state(t), all)
			wantState(t, "remote after run 3", rs.state(t), all)

			// Both sides change one event: the remote wins (default
			// policy) and the local version is kept as the loser.
			l.put(t, "a", "A conflict here")
			rs.put(t, "a", "A conflict there")
			run = syncNow(t, m, c.ID)
			wantCounts(t, run, counts{pu: 1, conflicts: 1})
			all["a"] = "A conflict there"
			wantState(t, "local after conflict", l.state(t), all)
			wantState(t, "remote after conflict", rs.state(t), all)
			conflicts, err := m.Conflicts(context.Background(), c.ID)
			if err != nil || len(conflicts) != 1 || conflicts[0].Side != "local" ||
				!strings.Contains(string(conflicts[0].Data), "A conflict here") {
				t.Errorf("conflicts = %+v, %v; want the local version kept", conflicts, err)
			}
			wantCounts(t, syncNow(t, m, c.ID), counts{})
			runs, _ := m.History(context.Background(), c.ID, 0)
			if len(runs) != 5 {
				t.Errorf("history has %d runs, want 5", len(runs))
			}
		})
	}
}

// TestTwoWaySyncOnPostgres runs a create/change/delete round on a
// PostgreSQL-backed Koyomi.
func TestTwoWaySyncOnPostgres(t *testing.T) {
	l := newLocalOnPostgres(t)
	r := remotetest.StartKoyomi(t)
	rs := newRemoteSide(r)
	m := l.manager(t, nil)
	c := l.connect(t, m, r, connector.Settings{})
	l.put(t, "a", "A local")
	rs.put(t, "b", "B remote")
	wantCounts(t, syncNow(t, m, c.ID), counts{pc: 1, sc: 1})
	l.del(t, "b")
	rs.put(t, "a", "A changed there")
	wantCounts(t, syncNow(t, m, c.ID), counts{pu: 1, sd: 1})
	want := map[string]string{"a": "A changed there"}
	wantState(t, "local", l.state(t), want)
	wantState(t, "remote", rs.state(t), want)
}

// TestConflictPolicies checks the local and most-recent policies.
func TestConflictPolicies(t *testing.T) {
	r := remotetest.StartKoyomi(t)
	for _, tc := range []struct {
		policy, wantSummary, loser string
	}{
		{connector.LocalWins, "here", "remote"},
		{connector.MostRecent, "newer there", "local"},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			l := newLocal(t)
			rs := newRemoteSide(r)
			m := l.manager(t, nil)
			uid := "p-" + tc.policy
			c := l.connect(t, m, r, connector.Settings{Policy: ptr(tc.policy)})
			l.put(t, uid, "start")
			syncNow(t, m, c.ID)
			l.put(t, uid, "here")
			newer := strings.Replace(event(uid, "newer there"), "DTSTAMP:20260101T000000Z",
				"DTSTAMP:20260101T000000Z\r\nLAST-MODIFIED:20300101T000000Z", 1)
			it := rs.find(t, uid)
			want := tc.wantSummary
			if tc.policy == connector.LocalWins {
				if _, err := rs.cl.Put(context.Background(), it.Href, []byte(event(uid, "there")), it.ETag); err != nil {
					t.Fatal(err)
				}
			} else if _, err := rs.cl.Put(context.Background(), it.Href, []byte(newer), it.ETag); err != nil {
				t.Fatal(err)
			}
			run := syncNow(t, m, c.ID)
			if run.Conflicts != 1 {
				t.Errorf("conflicts = %d, want 1", run.Conflicts)
			}
			if got := l.state(t)[uid]; got != want {
				t.Errorf("local = %q, want %q", got, want)
			}
			if got := rs.state(t)[uid]; got != want {
				t.Errorf("remote = %q, want %q", got, want)
			}
			cs, _ := m.Conflicts(context.Background(), c.ID)
			if len(cs) != 1 || cs[0].Side != tc.loser {
				t.Errorf("conflicts = %+v, want one lost by %s", cs, tc.loser)
			}
		})
	}
}

// TestOneWayDirections checks that a pull-only connector never writes the
// remote and a push-only one never writes the local calendar.
func TestOneWayDirections(t *testing.T) {
	r := remotetest.StartKoyomi(t)
	t.Run("pull", func(t *testing.T) {
		l := newLocal(t)
		rs := newRemoteSide(r)
		m := l.manager(t, nil)
		rs.put(t, "pull-1", "from there")
		c := l.connect(t, m, r, connector.Settings{Direction: ptr(connector.PullOnly)})
		l.put(t, "pull-local", "only here")
		run := syncNow(t, m, c.ID)
		if run.PushedCreated+run.PushedUpdated+run.PushedDeleted != 0 {
			t.Errorf("pull-only pushed: %+v", run)
		}
		if _, ok := rs.state(t)["pull-local"]; ok {
			t.Error("pull-only connector wrote a local event to the remote")
		}
		if l.state(t)["pull-1"] != "from there" {
			t.Error("pull-only connector did not pull")
		}
		// A local deletion is undone: the local calendar mirrors.
		l.del(t, "pull-1")
		syncNow(t, m, c.ID)
		if l.state(t)["pull-1"] != "from there" {
			t.Error("pull-only connector did not restore a locally deleted event")
		}
		if _, ok := rs.state(t)["pull-1"]; !ok {
			t.Error("pull-only connector deleted on the remote")
		}
	})
	t.Run("push", func(t *testing.T) {
		l := newLocal(t)
		rs := newRemoteSide(r)
		m := l.manager(t, nil)
		rs.put(t, "push-remote", "only there")
		c := l.connect(t, m, r, connector.Settings{Direction: ptr(connector.PushOnly)})
		l.put(t, "push-1", "from here")
		run := syncNow(t, m, c.ID)
		if run.PulledCreated+run.PulledUpdated+run.PulledDeleted != 0 {
			t.Errorf("push-only pulled: %+v", run)
		}
		if _, ok := l.state(t)["push-remote"]; ok {
			t.Error("push-only connector pulled a remote event")
		}
		rs.put(t, "push-1", "edited there")
		syncNow(t, m, c.ID)
		if got := rs.state(t)["push-1"]; got != "from here" {
			t.Errorf("remote = %q, want the local version back", got)
		}
		cs, _ := m.Conflicts(context.Background(), c.ID)
		if len(cs) != 1 || !strings.Contains(string(cs[0].Data), "edited there") {
			t.Errorf("the overwritten remote edit was not kept: %+v", cs)
		}
	})
}

// feedOf is an ICS feed of events given as UID, summary pairs.
func feedOf(pairs ...string) string {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Feed//EN\r\n")
	for i := 0; i+1 < len(pairs); i += 2 {
		ev := event(pairs[i], pairs[i+1])
		b.WriteString(ev[strings.Index(ev, "BEGIN:VEVENT"):strings.Index(ev, "END:VCALENDAR")])
	}
	b.WriteString("END:VCALENDAR\r\n")
	return b.String()
}

// TestICSFeedPull pulls a feed, follows its changes, and costs one
// conditional GET when it has not changed.
func TestICSFeedPull(t *testing.T) {
	feed := remotetest.NewFeed(t)
	feed.Set(feedOf("h1", "Holiday one", "h2", "Holiday two"))
	l := newLocal(t)
	m := l.manager(t, nil)
	c, err := m.Create(context.Background(), "alice", connector.Settings{Name: ptr("holidays"), Calendar: ptr("work"),
		Kind: ptr(connector.KindICS), URL: ptr(feed.URL())})
	if err != nil {
		t.Fatal(err)
	}
	if c.Direction != connector.PullOnly {
		t.Errorf("ICS connector direction = %s, want pull", c.Direction)
	}
	wantCounts(t, syncNow(t, m, c.ID), counts{pc: 2})
	wantState(t, "local", l.state(t), map[string]string{"h1": "Holiday one", "h2": "Holiday two"})
	before := feed.Requests()
	wantCounts(t, syncNow(t, m, c.ID), counts{})
	if feed.Requests() != before+1 || feed.NotModified() == 0 {
		t.Errorf("unchanged feed: %d requests, %d answered 304; want one conditional GET", feed.Requests()-before, feed.NotModified())
	}
	feed.Set(feedOf("h2", "Holiday two moved"))
	wantCounts(t, syncNow(t, m, c.ID), counts{pu: 1, pd: 1})
	wantState(t, "local", l.state(t), map[string]string{"h2": "Holiday two moved"})
	// The local calendar mirrors the feed: an entry deleted here comes back
	// from the feed as it is, even when the feed has not changed.
	l.del(t, "h2")
	run := syncNow(t, m, c.ID)
	wantCounts(t, run, counts{pc: 1})
	if run.Status != connector.RunOK {
		t.Errorf("restoring from an unchanged feed: %s %q", run.Status, run.Error)
	}
	wantState(t, "local", l.state(t), map[string]string{"h2": "Holiday two moved"})
	if _, err := m.Update(context.Background(), c.ID, connector.Settings{Direction: ptr(connector.TwoWay)}); !errors.Is(err, connector.ErrInvalid) {
		t.Errorf("two-way ICS connector: %v, want ErrInvalid", err)
	}
}

// faultCase is one injected remote failure and what it must produce.
type faultCase struct {
	name       string
	status     int
	header     http.Header
	body       string
	wantRun    string
	wantState  string
	wantReason string
	wantDelay  time.Duration // next run after the failure (back-off)
}

// proxied puts a fault-injecting proxy in front of r and returns it with
// r as seen through it.
func proxied(t *testing.T, r *remotetest.Remote) (*remotetest.FaultProxy, *remotetest.Remote) {
	proxy := remotetest.NewFaultProxy(t, r.BaseURL)
	pr := *r
	pr.CalendarURL = proxy.URL + strings.TrimPrefix(r.CalendarURL, r.BaseURL)
	return proxy, &pr
}

func TestRemoteFailures(t *testing.T) {
	r := remotetest.StartKoyomi(t)
	cases := []faultCase{
		{name: "401", status: 401, wantRun: connector.RunStopped, wantState: connector.StateStopped, wantReason: "Unauthorized"},
		{name: "403", status: 403, body: "Forbidden", wantRun: connector.RunStopped, wantState: connector.StateStopped,
			wantReason: "CalDAV server error: Forbidden"},
		{name: "403 rate limit", status: 403, body: `{"error":{"errors":[{"reason":"rateLimitExceeded"}]}}`,
			wantRun: connector.RunRetry, wantState: connector.StateIdle, wantReason: "retrying", wantDelay: time.Minute},
		{name: "429 Retry-After", status: 429, header: http.Header{"Retry-After": {"600"}}, wantRun: connector.RunRetry,
			wantState: connector.StateIdle, wantReason: "retrying", wantDelay: 10 * time.Minute},
		{name: "500", status: 500, wantRun: connector.RunRetry, wantState: connector.StateIdle, wantReason: "retrying",
			wantDelay: time.Minute},
		{name: "503", status: 503, wantRun: connector.RunRetry, wantState: connector.StateIdle, wantReason: "retrying",
			wantDelay: time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			proxy, pr := proxied(t, r)
			l := newLocal(t)
			m := l.manager(t, nil)
			c := l.connect(t, m, pr, connector.Settings{})
			proxy.Fail(remotetest.Fault{Status: tc.status, Header: tc.header, Body: tc.body})
			run := syncNow(t, m, c.ID)
			if run.Status != tc.wantRun || run.RemoteStatus != tc.status {
				t.Errorf("run = %s (remote status %d), want %s (%d)", run.Status, run.RemoteStatus, tc.wantRun, tc.status)
			}
			if !strings.Contains(run.Error, fmt.Sprint(tc.status)) {
				t.Errorf("run error %q does not name the remote status", run.Error)
			}
			got, _ := m.Get(context.Background(), c.ID)
			if got.State != tc.wantState || !strings.Contains(got.Reason, tc.wantReason) {
				t.Errorf("state = %s (%q), want %s containing %q", got.State, got.Reason, tc.wantState, tc.wantReason)
			}
			if strings.Contains(run.Error+got.Reason, r.Password) {
				t.Error("the password appears in the history or the reason")
			}
			// The scheduler honours the state: a stopped connector never
			// runs again by itself; a backing-off one waits its delay.
			proxy.Heal()
			if tc.wantState == connector.StateStopped {
				if got.Enabled {
					t.Error("stopped connector still enabled")
				}
				l.clock.Add(time.Hour)
				before := proxy.Requests()
				m.RunDue(context.Background())
				if proxy.Requests() != before {
					t.Error("a stopped connector ran again")
				}
				return
			}
			if d := got.NextRun.Sub(l.clock.Now()); d != tc.wantDelay {
				t.Errorf("next run in %v, want %v", d, tc.wantDelay)
			}
			l.clock.Add(tc.wantDelay - time.Second)
			before := proxy.Requests()
			m.RunDue(context.Background())
			if proxy.Requests() != before {
				t.Error("ran before the back-off elapsed")
			}
			l.clock.Add(time.Second)
			m.RunDue(context.Background())
			runs, _ := m.History(context.Background(), c.ID, 1)
			if len(runs) != 1 || runs[0].Status != connector.RunOK {
				t.Errorf("after back-off, last run = %+v, want ok", runs)
			}
			if got, _ := m.Get(context.Background(), c.ID); got.Failures != 0 || got.Reason != "" {
				t.Errorf("after recovery: failures %d reason %q", got.Failures, got.Reason)
			}
		})
	}
}

// TestBackoffDoubles checks that consecutive failures wait longer.
func TestBackoffDoubles(t *testing.T) {
	r := remotetest.StartKoyomi(t)
	proxy, pr := proxied(t, r)
	l := newLocal(t)
	m := l.manager(t, nil)
	c := l.connect(t, m, pr, connector.Settings{Interval: ptr(5 * time.Minute)})
	proxy.Fail(remotetest.Fault{Status: 502})
	for i, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute} {
		syncNow(t, m, c.ID)
		got, _ := m.Get(context.Background(), c.ID)
		if d := got.NextRun.Sub(l.clock.Now()); d != want {
			t.Errorf("failure %d: next run in %v, want %v", i+1, d, want)
		}
	}
}

// TestSlowRemoteBacksOff: a remote slower than the client's timeout is a
// transient failure.
func TestSlowRemoteBacksOff(t *testing.T) {
	r := remotetest.StartKoyomi(t)
	proxy, pr := proxied(t, r)
	l := newLocal(t)
	m := l.manager(t, &http.Client{Timeout: 300 * time.Millisecond})
	c := l.connect(t, m, pr, connector.Settings{})
	proxy.Delay(2 * time.Second)
	run := syncNow(t, m, c.ID)
	if run.Status != connector.RunRetry {
		t.Errorf("slow remote: run %s %q, want retry", run.Status, run.Error)
	}
}

// TestInterruptedRunResumesWithoutDuplicates fails a run midway (the
// remote stops accepting writes after two) and checks the next run
// finishes the job with every event exactly once on each side.
func TestInterruptedRunResumesWithoutDuplicates(t *testing.T) {
	r := remotetest.StartKoyomi(t)
	proxy, pr := proxied(t, r)
	l := newLocal(t)
	rs := newRemoteSide(r)
	m := l.manager(t, nil)
	c := l.connect(t, m, pr, connector.Settings{})
	want := map[string]string{}
	for i := range 6 {
		uid := fmt.Sprintf("k%d", i)
		l.put(t, uid, "event "+uid)
		want[uid] = "event " + uid
	}
	for i := range 3 {
		uid := fmt.Sprintf("r%d", i)
		rs.put(t, uid, "remote "+uid)
		want[uid] = "remote " + uid
	}
	proxy.FailAfter(http.MethodPut, 2, remotetest.Fault{Status: 503})
	run := syncNow(t, m, c.ID)
	if run.Status != connector.RunRetry || run.PushedCreated != 2 {
		t.Fatalf("interrupted run: %s pushed %d (%q), want retry after 2 pushes", run.Status, run.PushedCreated, run.Error)
	}
	proxy.Heal()
	// A run that died without recording its end (the node was killed)
	// is marked interrupted by the next.
	l.clock.Add(time.Hour)
	run = syncNow(t, m, c.ID)
	if run.Status != connector.RunOK {
		t.Fatalf("resumed run: %s %q", run.Status, run.Error)
	}
	wantState(t, "local", l.state(t), want)
	wantState(t, "remote", rs.state(t), want)
	if n := len(rs.items(t)); n != len(want) {
		t.Errorf("remote holds %d objects, want %d (duplicates?)", n, len(want))
	}
}

// TestLeaseLetsOneRunAtATime: a second manager on the same store (another
// node) cannot run a connector while the first holds its lease.
func TestLeaseLetsOneRunAtATime(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testLease(t, newLocal(t)) })
	t.Run("postgres", func(t *testing.T) { testLease(t, newLocalOnPostgres(t)) })
}

func testLease(t *testing.T, l *local) {
	r := remotetest.StartKoyomi(t)
	proxy, pr := proxied(t, r)
	a, b := l.manager(t, nil), l.manager(t, nil)
	c := l.connect(t, a, pr, connector.Settings{})
	proxy.Delay(500 * time.Millisecond)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, m := range []*connector.Manager{a, b} {
		wg.Go(func() { _, errs[i] = m.SyncNow(context.Background(), c.ID) })
	}
	wg.Wait()
	busy := 0
	for _, err := range errs {
		if errors.Is(err, connector.ErrBusy) {
			busy++
		} else if err != nil {
			t.Errorf("SyncNow: %v", err)
		}
	}
	if busy != 1 {
		t.Errorf("%d of two simultaneous runs refused as busy, want exactly 1", busy)
	}
	runs, _ := a.History(context.Background(), c.ID, 0)
	if len(runs) != 1 {
		t.Errorf("history has %d runs, want 1", len(runs))
	}
}

// TestKilledRunIsMarkedInterrupted: a run left "running" by a node that
// died is closed as interrupted by the next run.
func TestKilledRunIsMarkedInterrupted(t *testing.T) {
	r := remotetest.StartKoyomi(t)
	l := newLocal(t)
	m := l.manager(t, nil)
	c := l.connect(t, m, r, connector.Settings{})
	ctx := context.Background()
	err := l.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.AddConnectorRun(ctx, &store.ConnectorRun{ConnectorID: c.ID, Started: l.clock.Now(), Status: connector.RunRunning}); err != nil {
			return err
		}
		cur, _ := tx.GetConnector(ctx, c.ID)
		cur.State = connector.StateRunning
		return tx.UpdateConnector(ctx, cur)
	})
	if err != nil {
		t.Fatal(err)
	}
	m.RunDue(ctx)
	runs, _ := m.History(ctx, c.ID, 0)
	var statuses []string
	for _, run := range runs {
		statuses = append(statuses, run.Status)
	}
	sort.Strings(statuses)
	if fmt.Sprint(statuses) != fmt.Sprint([]string{connector.RunInterrupted, connector.RunOK}) {
		t.Errorf("runs = %v, want one interrupted and one ok", statuses)
	}
}

// TestPermissions: an administrator forbidding connectors disables the
// user's connectors and refuses new ones; allowing again restores them.
func TestPermissions(t *testing.T) {
	r := remotetest.StartKoyomi(t)
	l := newLocal(t)
	m := l.manager(t, nil)
	ctx := context.Background()
	c := l.connect(t, m, r, connector.Settings{})
	if err := m.Permit(domain.WithPrincipal(ctx, "alice"), "user:alice", true); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("user changing permissions: %v, want ErrForbidden", err)
	}
	if err := m.Permit(ctx, "user:alice", false); err != nil {
		t.Fatal(err)
	}
	got, _ := m.Get(ctx, c.ID)
	if got.State != connector.StateDisabled || got.Reason != "disabled by an administrator" {
		t.Errorf("state = %s %q, want disabled by an administrator", got.State, got.Reason)
	}
	if _, err := m.SyncNow(ctx, c.ID); !errors.Is(err, connector.ErrNotAllowed) {
		t.Errorf("SyncNow when forbidden: %v, want ErrNotAllowed", err)
	}
	if _, err := m.Create(ctx, "alice", connector.Settings{Name: ptr("x"), Calendar: ptr("work"), URL: ptr(r.CalendarURL)}); !errors.Is(err, connector.ErrNotAllowed) {
		t.Errorf("Create when forbidden: %v, want ErrNotAllowed", err)
	}
	if err := m.Unpermit(ctx, "user:alice"); err != nil {
		t.Fatal(err)
	}
	got, _ = m.Get(ctx, c.ID)
	if got.State != connector.StateIdle {
		t.Errorf("state after allowing again = %s, want idle", got.State)
	}
	if err := m.Permit(ctx, "*", false); err != nil {
		t.Fatal(err)
	}
	if ok, _ := m.Allowed(ctx, "alice"); ok {
		t.Error("'*' forbidding does not apply to alice")
	}
	if err := m.Permit(ctx, "user:alice", true); err != nil {
		t.Fatal(err)
	}
	if ok, _ := m.Allowed(ctx, "alice"); !ok {
		t.Error("a user's own rule does not win over '*'")
	}
	if err := m.Permit(ctx, "nobody", true); !errors.Is(err, connector.ErrInvalid) {
		t.Errorf("bad subject: %v, want ErrInvalid", err)
	}
}

// TestSettingsValidation: bad settings are refused with what to fix, and
// another user's connector is not found.
func TestSettingsValidation(t *testing.T) {
	l := newLocal(t)
	m := l.manager(t, nil)
	ctx := context.Background()
	for _, s := range []connector.Settings{
		{Name: ptr("x"), Calendar: ptr("work"), URL: ptr("ftp://example.org/")},
		{Name: ptr("x"), Calendar: ptr("work"), URL: ptr("https://u:p@example.org/cal/")},
		{Name: ptr("x"), Calendar: ptr("nope"), URL: ptr("https://example.org/cal/")},
		{Name: ptr("x"), Calendar: ptr("work"), URL: ptr("https://example.org/cal/"), Interval: ptr(time.Second)},
		{Name: ptr("x"), Calendar: ptr("work"), URL: ptr("https://example.org/cal/"), Direction: ptr("sideways")},
		{Name: ptr("x"), Calendar: ptr("work"), URL: ptr("https://example.org/cal/"), Policy: ptr("coin")},
		{Calendar: ptr("work"), URL: ptr("https://example.org/cal/")},
	} {
		if _, err := m.Create(ctx, "alice", s); !errors.Is(err, connector.ErrInvalid) {
			t.Errorf("Create(%+v) = %v, want ErrInvalid", s, err)
		}
	}
	c, err := m.Create(ctx, "alice", connector.Settings{Name: ptr("x"), Calendar: ptr("work"),
		URL: ptr("https://example.org/cal/"), Password: ptr("hunter2")})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(c.Secret), "hunter2") {
		t.Error("the password is stored in clear")
	}
	if _, err := m.Get(domain.WithPrincipal(ctx, "bob"), c.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("another user's connector: %v, want not found", err)
	}
	if err := m.Delete(domain.WithPrincipal(ctx, "bob"), c.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("deleting another user's connector: %v, want not found", err)
	}
}

// TestRemoteCalendarAsVCSource: a pull connector keeps a local cache of a
// remote calendar; a virtual calendar built on it answers from the cache
// while the remote is unreachable, and the connector tells the cache's age.
func TestRemoteCalendarAsVCSource(t *testing.T) {
	r := remotetest.StartKoyomi(t)
	proxy, pr := proxied(t, r)
	l := newLocal(t)
	rs := newRemoteSide(r)
	m := l.manager(t, nil)
	ctx := context.Background()
	rs.put(t, "relay-1", "Board meeting")
	c := l.connect(t, m, pr, connector.Settings{Direction: ptr(connector.PullOnly)})
	syncNow(t, m, c.ID)
	_, err := l.svc.CreateVC(ctx, "alice", domain.VCSpec{Name: "busy-view", Definition: domain.VCNode{
		Filter: &domain.FilterDef{Default: "busy"}, Of: &domain.VCNode{Calendar: "work"}}})
	if err != nil {
		t.Fatal(err)
	}
	proxy.Fail(remotetest.Fault{Drop: true})
	l.clock.Add(90 * time.Second)
	week := ical.TimeRange{Start: time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC)}
	before := proxy.Requests()
	objs, err := l.svc.PreviewVC(ctx, "alice", "busy-view", "", week)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 {
		t.Fatalf("virtual calendar over the cache shows %d objects, want 1", len(objs))
	}
	if proxy.Requests() != before {
		t.Error("reading the virtual calendar reached the remote")
	}
	current, err := m.Get(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	views, err := m.Describe(ctx, current)
	if err != nil {
		t.Fatal(err)
	}
	if views[0].CacheAge != "1m30s" {
		t.Errorf("cache age = %q, want 1m30s", views[0].CacheAge)
	}
}

// TestBearerToken: a connector given a token (Google's CalDAV endpoint
// wants an OAuth 2 access token) sends it as a bearer credential; an
// expired one stops the connector with the remote's answer.
func TestBearerToken(t *testing.T) {
	r := remotetest.StartKoyomi(t)
	target, _ := url.Parse(r.BaseURL)
	const token = "ya29.test-access-token"
	rp := httputil.NewSingleHostReverseProxy(target)
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("WWW-Authenticate", `Bearer realm="test"`)
			http.Error(w, "Unauthorized: invalid or expired token", http.StatusUnauthorized)
			return
		}
		req.SetBasicAuth(r.Username, r.Password)
		req.Host = target.Host
		rp.ServeHTTP(w, req)
	}))
	t.Cleanup(gate.Close)
	l := newLocal(t)
	m := l.manager(t, nil)
	ctx := context.Background()
	calURL := gate.URL + strings.TrimPrefix(r.CalendarURL, r.BaseURL)
	c, err := m.Create(ctx, "alice", connector.Settings{Name: ptr("google"), Calendar: ptr("work"), URL: ptr(calURL),
		Token: ptr(token)})
	if err != nil {
		t.Fatal(err)
	}
	l.put(t, "tok-1", "sent with a token")
	if run := syncNow(t, m, c.ID); run.Status != connector.RunOK || run.PushedCreated != 1 {
		t.Fatalf("run with a valid token: %s pushed %d (%q)", run.Status, run.PushedCreated, run.Error)
	}
	if _, err := m.Update(ctx, c.ID, connector.Settings{Token: ptr("expired")}); err != nil {
		t.Fatal(err)
	}
	run := syncNow(t, m, c.ID)
	got, _ := m.Get(ctx, c.ID)
	if run.Status != connector.RunStopped || run.RemoteStatus != 401 || got.State != connector.StateStopped {
		t.Errorf("expired token: run %s (%d), state %s; want stopped after 401", run.Status, run.RemoteStatus, got.State)
	}
	if strings.Contains(run.Error+got.Reason, "expired") && strings.Contains(run.Error+got.Reason, "Bearer expired") {
		t.Error("the token appears in the history")
	}
}

// TestShutdownInterruptsCleanly: a run cancelled by the server shutting
// down is recorded as interrupted and due again at once, not as a failure.
func TestShutdownInterruptsCleanly(t *testing.T) {
	r := remotetest.StartKoyomi(t)
	proxy, pr := proxied(t, r)
	l := newLocal(t)
	m := l.manager(t, nil)
	c := l.connect(t, m, pr, connector.Settings{})
	proxy.Delay(time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer time.AfterFunc(200*time.Millisecond, cancel).Stop()
	m.RunDue(ctx)
	runs, _ := m.History(context.Background(), c.ID, 0)
	got, _ := m.Get(context.Background(), c.ID)
	if len(runs) != 1 || runs[0].Status != connector.RunInterrupted {
		t.Fatalf("runs = %+v, want one interrupted", *runs[0])
	}
	if got.Failures != 0 || got.State != connector.StateIdle || got.NextRun.After(l.clock.Now()) {
		t.Errorf("after shutdown: failures %d, state %s, next run %v (now %v); want idle and due", got.Failures,
			got.State, got.NextRun, l.clock.Now())
	}
}

// TestSlowRemoteDoesNotHoldUpOthers: connectors run side by side, so a
// remote that hangs does not delay another connector's run.
func TestSlowRemoteDoesNotHoldUpOthers(t *testing.T) {
	r := remotetest.StartKoyomi(t)
	slow := remotetest.NewFaultProxy(t, r.BaseURL)
	l := newLocal(t)
	m := l.manager(t, nil)
	ctx := context.Background()
	sr := *r
	sr.CalendarURL = slow.URL + strings.TrimPrefix(r.CalendarURL, r.BaseURL)
	hanging := l.connect(t, m, &sr, connector.Settings{})
	fast, err := m.Create(ctx, "alice", connector.Settings{Name: ptr("fast"), Calendar: ptr("work"),
		URL: ptr(r.CalendarURL), Username: ptr(r.Username), Password: ptr(r.Password)})
	if err != nil {
		t.Fatal(err)
	}
	slow.Delay(time.Hour) // answers only when the test ends the run below
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { m.RunDue(runCtx); close(done) }()
	deadline := time.After(20 * time.Second)
	for {
		runs, _ := m.History(ctx, fast.ID, 1)
		if len(runs) == 1 && runs[0].Status == connector.RunOK {
			break
		}
		select {
		case <-deadline:
			t.Fatal("the fast connector did not run while the other one hung")
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	<-done
	runs, _ := m.History(ctx, hanging.ID, 1)
	if len(runs) != 1 || runs[0].Status != connector.RunInterrupted {
		t.Errorf("hanging connector's run: %+v, want interrupted", runs)
	}
}

// TestHrefSpellings: a member whose name the remote spells differently
// (percent-encoding '@') is still recognised as the connector's own, so a
// later local edit is an update, not a conflict with itself.
func TestHrefSpellings(t *testing.T) {
	for _, rem := range remotes {
		t.Run(rem.name, func(t *testing.T) {
			r := rem.start(t)
			l := newLocal(t)
			m := l.manager(t, nil)
			c := l.connect(t, m, r, connector.Settings{})
			l.put(t, "mail@example.org", "first")
			wantCounts(t, syncNow(t, m, c.ID), counts{sc: 1})
			l.put(t, "mail@example.org", "edited here")
			wantCounts(t, syncNow(t, m, c.ID), counts{su: 1})
			wantState(t, "remote", newRemoteSide(r).state(t), map[string]string{"mail@example.org": "edited here"})
		})
	}
}

// TestRefusedObjectDoesNotStopConnector: a 403 to the write of one object
// (a read-only event, a component the remote does not take) makes the run
// partial; the connector keeps running.
func TestRefusedObjectDoesNotStopConnector(t *testing.T) {
	r := remotetest.StartKoyomi(t)
	proxy, pr := proxied(t, r)
	l := newLocal(t)
	m := l.manager(t, nil)
	c := l.connect(t, m, pr, connector.Settings{})
	l.put(t, "refused", "not allowed there")
	l.put(t, "taken", "fine")
	proxy.Fail(remotetest.Fault{Status: 403, Body: "supported-calendar-component", Methods: []string{http.MethodPut}, Times: 1})
	run := syncNow(t, m, c.ID)
	got, _ := m.Get(context.Background(), c.ID)
	if run.Status != connector.RunPartial || run.PushedCreated != 1 || !got.Enabled || got.State != connector.StateIdle {
		t.Errorf("run %s pushed %d (%q); connector %s enabled %v; want partial, 1, idle and enabled",
			run.Status, run.PushedCreated, run.Error, got.State, got.Enabled)
	}
}
