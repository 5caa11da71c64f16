package remote_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/connector/remote"
	"koyomi.dev/koyomi/internal/connector/remotetest"
)

// servers are the real CalDAV servers every client method is tried on.
var servers = []struct {
	name  string
	start func(testing.TB) *remotetest.Remote
}{
	{"koyomi", remotetest.StartKoyomi},
	{"radicale", remotetest.StartRadicale},
	{"xandikos", remotetest.StartXandikos},
}

// TestServers runs the client against each server; the servers run in
// parallel, the steps on one server in order.
func TestServers(t *testing.T) {
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			r := s.start(t)
			steps := []struct {
				name string
				run  func(*testing.T, *remotetest.Remote)
			}{
				{"Discover", testDiscover},
				{"Info", testInfo},
				{"PutGetDelete", testPutGetDelete},
				{"EncodedHref", testEncodedHref},
				{"List", testList},
				{"SyncCollection", testSyncCollection},
				{"SyncPaged", testSyncPaged},
				{"InvalidSyncToken", testInvalidSyncToken},
				{"Multiget", testMultiget},
				{"WrongPassword", testWrongPassword},
			}
			for _, step := range steps {
				if !t.Run(step.name, func(t *testing.T) { step.run(t, r) }) {
					return // later steps build on the server's state
				}
			}
		})
	}
}

// sameResource compares two URLs by path, ignoring percent-encoding
// differences and a trailing slash.
func sameResource(a, b string) bool { return canon(a) == canon(b) }

func canon(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return strings.TrimRight(u.Path, "/")
}

func calendarURLs(cals []remote.Calendar) []string {
	var out []string
	for _, c := range cals {
		out = append(out, c.URL)
	}
	return out
}

func testDiscover(t *testing.T, r *remotetest.Remote) {
	ctx := context.Background()
	c := r.Client()
	for _, from := range []struct{ name, url string }{
		{"root", r.BaseURL},
		{"root with slash", r.BaseURL + "/"},
		{"principal", r.PrincipalURL},
		{"home", r.HomeURL},
	} {
		cals, err := c.Discover(ctx, from.url)
		if err != nil {
			t.Errorf("Discover from %s (%s): %v", from.name, from.url, err)
			continue
		}
		i := slices.IndexFunc(cals, func(c remote.Calendar) bool { return c.URL == r.CalendarURL })
		if i < 0 {
			t.Errorf("Discover from %s: %v, want %s among them", from.name, calendarURLs(cals), r.CalendarURL)
			continue
		}
		if cals[i].DisplayName != "Sync test" {
			t.Errorf("Discover from %s: display name %q, want %q", from.name, cals[i].DisplayName, "Sync test")
		}
		for _, cal := range cals {
			if sameResource(cal.URL, r.HomeURL) {
				t.Errorf("Discover from %s lists the home %s as a calendar", from.name, cal.URL)
			}
		}
	}
	cals, err := c.Discover(ctx, r.CalendarURL)
	if err != nil {
		t.Fatal(err)
	}
	if len(cals) != 1 || cals[0].URL != r.CalendarURL || !cals[0].SupportsSync {
		t.Errorf("Discover from the calendar: %+v, want just %s", cals, r.CalendarURL)
	}
	// Credentials in the URL serve when the client has none.
	u, _ := url.Parse(r.BaseURL)
	u.User = url.UserPassword(r.Username, r.Password)
	cals, err = remote.New(nil, remote.Auth{}).Discover(ctx, u.String())
	if err != nil || !slices.ContainsFunc(cals, func(c remote.Calendar) bool { return c.URL == r.CalendarURL }) {
		t.Errorf("Discover with credentials in the URL: %v, %v", calendarURLs(cals), err)
	}
	for _, cal := range cals {
		if strings.Contains(cal.URL, r.Password) {
			t.Errorf("discovered URL %s carries the password", cal.URL)
		}
	}
}

func testInfo(t *testing.T, r *remotetest.Remote) {
	ctx := context.Background()
	c := r.Client()
	before, err := c.Info(ctx, r.CalendarURL)
	if err != nil {
		t.Fatal(err)
	}
	if before.URL != r.CalendarURL || before.DisplayName != "Sync test" || !before.SupportsSync ||
		before.SyncToken == "" || before.CTag == "" || !slices.Contains(before.Components, "VEVENT") {
		t.Errorf("Info = %+v", before)
	}
	r.Put(t, "info.ics", remotetest.Event("info", "changes the tags"))
	after, err := c.Info(ctx, r.CalendarURL)
	if err != nil {
		t.Fatal(err)
	}
	if after.CTag == before.CTag || after.SyncToken == before.SyncToken {
		t.Errorf("after a change: ctag %q -> %q, sync token %q -> %q; want both changed",
			before.CTag, after.CTag, before.SyncToken, after.SyncToken)
	}
	// Without the trailing slash, the server's spelling comes back.
	if info, err := c.Info(ctx, strings.TrimSuffix(r.CalendarURL, "/")); err != nil || !sameResource(info.URL, r.CalendarURL) {
		t.Errorf("Info without trailing slash: %+v, %v", info, err)
	}
	if _, err := c.Info(ctx, r.HomeURL); !errors.Is(err, remote.ErrNotCalendar) {
		t.Errorf("Info of the home: %v, want ErrNotCalendar", err)
	}
	if _, err := c.Info(ctx, r.HomeURL+"no-such-calendar/"); remote.Classify(err) != remote.KindNotFound {
		t.Errorf("Info of a missing collection: %v (kind %v), want not-found", err, remote.Classify(err))
	}
}

func testPutGetDelete(t *testing.T, r *remotetest.Remote) {
	ctx := context.Background()
	c := r.Client()
	href := r.URL("put.ics")
	etag1, err := c.Put(ctx, href, remotetest.Event("put", "first"), "")
	if err != nil {
		t.Fatal(err)
	}
	if etag1 == "" {
		t.Fatal("Put returned no ETag")
	}
	_, err = c.Put(ctx, href, remotetest.Event("put", "again"), "")
	if k := remote.Classify(err); k != remote.KindConflict {
		t.Errorf("second create of the same href: %v (kind %v), want conflict", err, k)
	}
	item, err := c.Get(ctx, href)
	if err != nil {
		t.Fatal(err)
	}
	if item.ETag != etag1 || item.Href != href || !bytes.Contains(item.Data, []byte("SUMMARY:first")) {
		t.Errorf("Get = %s %s %q, want ETag %s and the first summary", item.Href, item.ETag, item.Data, etag1)
	}
	etag2, err := c.Put(ctx, href, remotetest.Event("put", "second"), etag1)
	if err != nil {
		t.Fatal(err)
	}
	if etag2 == "" || etag2 == etag1 {
		t.Errorf("update ETag %q (was %q)", etag2, etag1)
	}
	if item, err := c.Get(ctx, href); err != nil || item.ETag != etag2 {
		t.Errorf("Get after update: %v; ETag %q, want %q (the one Put returned)", err, item.ETag, etag2)
	}
	_, err = c.Put(ctx, href, remotetest.Event("put", "stale"), etag1)
	if k := remote.Classify(err); k != remote.KindConflict {
		t.Errorf("Put with a stale If-Match: %v (kind %v), want conflict", err, k)
	}
	if err := c.Delete(ctx, href, etag1); remote.Classify(err) != remote.KindConflict {
		t.Errorf("Delete with a stale If-Match: %v, want conflict", err)
	}
	if err := c.Delete(ctx, href, etag2); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err = c.Get(ctx, href)
	if remote.Classify(err) != remote.KindNotFound || !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("Get after Delete: %v, want not found", err)
	}
	err = c.Delete(ctx, href, "")
	if remote.Classify(err) != remote.KindNotFound || !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("Delete of a missing object: %v, want not found", err)
	}
	var re *remote.Error
	if !errors.As(err, &re) || re.Status != 404 || re.Method != "DELETE" || re.URL != href {
		t.Errorf("Delete error = %#v", err)
	}
}

// testEncodedHref writes an object whose name needs percent-encoding and
// uses the href the server lists for it.
func testEncodedHref(t *testing.T, r *remotetest.Remote) {
	ctx := context.Background()
	c := r.Client()
	etag, err := c.Put(ctx, r.URL("with%20space%2Bplus.ics"), remotetest.Event("encoded", "encoded"), "")
	if err != nil {
		t.Fatal(err)
	}
	items, err := c.List(ctx, r.CalendarURL)
	if err != nil {
		t.Fatal(err)
	}
	var href string
	for _, it := range items {
		if strings.HasSuffix(canon(it.Href), "with space+plus.ics") {
			href = it.Href
			if it.ETag != etag {
				t.Errorf("listed ETag %s, Put returned %s", it.ETag, etag)
			}
		}
	}
	if href == "" {
		t.Fatalf("object not listed: %+v", items)
	}
	if !strings.HasPrefix(href, r.BaseURL+"/") {
		t.Errorf("href %s is not an absolute URL on %s", href, r.BaseURL)
	}
	got, err := c.Multiget(ctx, r.CalendarURL, []string{href})
	if err != nil || len(got) != 1 || got[0].Href != href {
		t.Fatalf("Multiget of %s: %+v, %v", href, got, err)
	}
	if err := c.Delete(ctx, href, etag); err != nil {
		t.Errorf("Delete of the listed href: %v", err)
	}
}

func testList(t *testing.T, r *remotetest.Remote) {
	ctx := context.Background()
	c := r.Client()
	want := map[string]string{}
	for i := range 3 {
		name := fmt.Sprintf("list-%d.ics", i)
		etag, err := c.Put(ctx, r.URL(name), remotetest.Event("list-"+fmt.Sprint(i), "listed"), "")
		if err != nil {
			t.Fatal(err)
		}
		want[r.URL(name)] = etag
	}
	items, err := c.List(ctx, r.CalendarURL)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, it := range items {
		if sameResource(it.Href, r.CalendarURL) {
			t.Errorf("List includes the collection itself")
		}
		if it.Data != nil {
			t.Errorf("List returned data for %s", it.Href)
		}
		got[it.Href] = it.ETag
	}
	for href, etag := range want {
		if got[href] != etag {
			t.Errorf("List: %s has ETag %q, want %q", href, got[href], etag)
		}
	}
}

func testSyncCollection(t *testing.T, r *remotetest.Remote) {
	ctx := context.Background()
	c := r.Client()
	keep := r.Put(t, "sync-keep.ics", remotetest.Event("sync-keep", "kept"))
	r.Put(t, "sync-change.ics", remotetest.Event("sync-change", "before"))
	r.Put(t, "sync-delete.ics", remotetest.Event("sync-delete", "deleted"))
	changed, deleted, token, err := c.SyncCollection(ctx, r.CalendarURL, "")
	if err != nil {
		t.Fatal(err)
	}
	if token == "" || len(deleted) != 0 {
		t.Errorf("initial sync: token %q, deleted %v", token, deleted)
	}
	listed, err := c.List(ctx, r.CalendarURL)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != len(listed) {
		t.Errorf("initial sync found %d objects, List %d", len(changed), len(listed))
	}
	if i := slices.IndexFunc(changed, func(it remote.Item) bool { return it.Href == r.URL("sync-keep.ics") }); i < 0 || changed[i].ETag != keep {
		t.Errorf("initial sync lacks sync-keep.ics with ETag %s: %+v", keep, changed)
	}
	for _, it := range changed {
		if sameResource(it.Href, r.CalendarURL) {
			t.Error("sync lists the collection itself")
		}
	}

	added := r.Put(t, "sync-add.ics", remotetest.Event("sync-add", "added"))
	modified := r.Put(t, "sync-change.ics", remotetest.Event("sync-change", "after"))
	r.Delete(t, "sync-delete.ics")
	changed, deleted, token2, err := c.SyncCollection(ctx, r.CalendarURL, token)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, it := range changed {
		got[it.Href] = it.ETag
	}
	want := map[string]string{r.URL("sync-add.ics"): added, r.URL("sync-change.ics"): modified}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("incremental sync changed = %v, want %v", got, want)
	}
	if len(deleted) != 1 || deleted[0] != r.URL("sync-delete.ics") {
		t.Errorf("incremental sync deleted = %v, want [%s]", deleted, r.URL("sync-delete.ics"))
	}
	if token2 == "" || token2 == token {
		t.Errorf("new token %q after changes (was %q)", token2, token)
	}
	changed, deleted, _, err = c.SyncCollection(ctx, r.CalendarURL, token2)
	if err != nil || len(changed)+len(deleted) != 0 {
		t.Errorf("sync with nothing changed: %v %v %v", changed, deleted, err)
	}
}

// testSyncPaged asks for two results per response; servers that honour
// DAV:limit answer 507-truncated pages, which the client follows.
func testSyncPaged(t *testing.T, r *remotetest.Remote) {
	ctx := context.Background()
	proxy := remotetest.NewFaultProxy(t, r.BaseURL)
	c := r.Client()
	c.SyncPageSize = 2
	listed, err := c.List(ctx, r.CalendarURL)
	if err != nil {
		t.Fatal(err)
	}
	changed, _, token, err := c.SyncCollection(ctx, proxy.Rebase(r.CalendarURL), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != len(listed) || token == "" {
		t.Errorf("paged initial sync: %d objects, token %q; List has %d", len(changed), token, len(listed))
	}
	if r.Name == "koyomi" && proxy.Count("REPORT") < len(listed)/2 {
		t.Errorf("%d REPORTs for %d objects two at a time: the limit was not used", proxy.Count("REPORT"), len(listed))
	}
}

func testInvalidSyncToken(t *testing.T, r *remotetest.Remote) {
	ctx := context.Background()
	c := r.Client()
	info, err := c.Info(ctx, r.CalendarURL)
	if err != nil {
		t.Fatal(err)
	}
	// A token of the server's own form that it never issued: a hash of
	// zeros, or a revision far ahead.
	head := strings.TrimRight(info.SyncToken, "0123456789abcdef")
	bogus := head + "999999999"
	if tail := len(info.SyncToken) - len(head); tail >= 32 {
		bogus = head + strings.Repeat("0", tail)
	}
	_, _, _, err = c.SyncCollection(ctx, r.CalendarURL, bogus)
	if !errors.Is(err, remote.ErrSyncTokenInvalid) {
		t.Errorf("sync with token %q: %v, want ErrSyncTokenInvalid", bogus, err)
	}
}

func testMultiget(t *testing.T, r *remotetest.Remote) {
	ctx := context.Background()
	c := r.Client()
	c.MultigetBatch = 2
	var hrefs []string
	etags := map[string]string{}
	for i := range 5 {
		name := fmt.Sprintf("mget-%d.ics", i)
		etags[r.URL(name)] = r.Put(t, name, remotetest.Event("mget-"+fmt.Sprint(i), "multiget "+fmt.Sprint(i)))
		hrefs = append(hrefs, r.URL(name))
	}
	missing := r.URL("mget-missing.ics")
	asked := append(slices.Clone(hrefs[:2]), missing)
	asked = append(asked, hrefs[2:]...)
	proxy := remotetest.NewFaultProxy(t, r.BaseURL)
	items, err := c.Multiget(ctx, proxy.Rebase(r.CalendarURL), asked)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != len(hrefs) {
		t.Fatalf("Multiget returned %d items, want %d", len(items), len(hrefs))
	}
	for _, it := range items {
		want, ok := etags[r.URL(strings.TrimPrefix(it.Href, proxy.URL+strings.TrimPrefix(r.CalendarURL, r.BaseURL)))]
		if !ok || it.ETag != want {
			t.Errorf("Multiget item %s ETag %s, want %s", it.Href, it.ETag, want)
		}
		if !bytes.HasPrefix(it.Data, []byte("BEGIN:VCALENDAR\r\n")) || !bytes.HasSuffix(it.Data, []byte("END:VCALENDAR\r\n")) ||
			!bytes.Contains(it.Data, []byte("\r\nSUMMARY:multiget ")) || bytes.Contains(bytes.ReplaceAll(it.Data, []byte("\r\n"), nil), []byte("\n")) {
			t.Errorf("Multiget data of %s is not CRLF iCalendar: %q", it.Href, it.Data)
		}
	}
	if n := proxy.Count("REPORT"); n != 3 {
		t.Errorf("6 hrefs in batches of 2 took %d REPORTs, want 3", n)
	}
}

func testWrongPassword(t *testing.T, r *remotetest.Remote) {
	const wrong = "not-the-password-123"
	c := remote.New(nil, remote.Auth{Username: r.Username, Password: wrong})
	_, err := c.Info(context.Background(), r.CalendarURL)
	if k := remote.Classify(err); k != remote.KindPermission {
		t.Errorf("wrong password: %v (kind %v), want permission", err, k)
	}
	if err != nil && strings.Contains(err.Error(), wrong) {
		t.Errorf("error %q contains the password", err)
	}
}
