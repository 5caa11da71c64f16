package remote_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"koyomi.dev/koyomi/internal/connector/remote"
	"koyomi.dev/koyomi/internal/connector/remotetest"
)

// fixedNow is the client's clock in tests of Retry-After dates.
var fixedNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// TestClassify injects failures between the client and a real Koyomi and
// checks what each becomes.
func TestClassify(t *testing.T) {
	r := remotetest.StartKoyomi(t)
	proxy := remotetest.NewFaultProxy(t, r.BaseURL)
	calURL := proxy.Rebase(r.CalendarURL)
	googleRateLimit := `{"error": {"errors": [{"domain": "usageLimits", "reason": "rateLimitExceeded",` +
		` "message": "Rate Limit Exceeded"}], "code": 403, "message": "Rate Limit Exceeded"}}`
	cases := []struct {
		name       string
		fault      remotetest.Fault
		want       remote.Kind
		retryAfter time.Duration
		message    string // in the error text
	}{
		{name: "401", fault: remotetest.Fault{Status: 401}, want: remote.KindPermission,
			message: "CalDAV server error: Unauthorized (PROPFIND " + calURL + ": 401)"},
		{name: "403 plain", fault: remotetest.Fault{Status: 403, Body: "<html><body><h1>Forbidden</h1>\n<p>You may not.</p></body></html>"},
			want: remote.KindPermission, message: "CalDAV server error: Forbidden: Forbidden You may not. (PROPFIND " + calURL + ": 403)"},
		{name: "403 DAV error", fault: remotetest.Fault{Status: 403, Body: `<?xml version="1.0"?><D:error xmlns:D="DAV:"><D:need-privileges/></D:error>`},
			want: remote.KindPermission, message: "Forbidden: need-privileges"},
		{name: "403 Google rate limit", fault: remotetest.Fault{Status: 403, Body: googleRateLimit,
			Header: http.Header{"Content-Type": {"application/json"}}}, want: remote.KindRateLimit, message: "rateLimitExceeded"},
		{name: "403 quota", fault: remotetest.Fault{Status: 403, Body: `{"error":{"errors":[{"domain":"usageLimits","reason":"quotaExceeded"}]}}`},
			want: remote.KindRateLimit},
		{name: "403 Retry-After", fault: remotetest.Fault{Status: 403, Header: http.Header{"Retry-After": {"30"}}},
			want: remote.KindRateLimit, retryAfter: 30 * time.Second},
		{name: "429 seconds", fault: remotetest.Fault{Status: 429, Header: http.Header{"Retry-After": {"120"}}},
			want: remote.KindRateLimit, retryAfter: 2 * time.Minute},
		{name: "429 date", fault: remotetest.Fault{Status: 429,
			Header: http.Header{"Retry-After": {fixedNow.Add(90 * time.Second).Format(http.TimeFormat)}}},
			want: remote.KindRateLimit, retryAfter: 90 * time.Second},
		{name: "412", fault: remotetest.Fault{Status: 412}, want: remote.KindConflict},
		{name: "404", fault: remotetest.Fault{Status: 404}, want: remote.KindNotFound},
		{name: "410", fault: remotetest.Fault{Status: 410}, want: remote.KindNotFound},
		{name: "500", fault: remotetest.Fault{Status: 500, Body: "Internal error\n\ttraceback..."}, want: remote.KindTransient,
			message: "Internal Server Error: Internal error traceback..."},
		{name: "502", fault: remotetest.Fault{Status: 502}, want: remote.KindTransient},
		{name: "503 Retry-After", fault: remotetest.Fault{Status: 503, Header: http.Header{"Retry-After": {"5"}}},
			want: remote.KindTransient, retryAfter: 5 * time.Second},
		{name: "connection dropped", fault: remotetest.Fault{Drop: true}, want: remote.KindTransient},
		{name: "400", fault: remotetest.Fault{Status: 400}, want: remote.KindOther},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			proxy.Reset()
			proxy.Fail(tc.fault)
			defer proxy.Heal()
			c := r.Client()
			c.Clock = func() time.Time { return fixedNow }
			_, err := c.Info(context.Background(), calURL)
			if err == nil {
				t.Fatal("no error")
			}
			if k := remote.Classify(err); k != tc.want {
				t.Errorf("Classify(%v) = %v, want %v", err, k, tc.want)
			}
			var re *remote.Error
			if !errors.As(err, &re) {
				t.Fatalf("%T is not a *remote.Error", err)
			}
			if re.RetryAfter != tc.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", re.RetryAfter, tc.retryAfter)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not contain %q", err, tc.message)
			}
			if strings.ContainsAny(err.Error(), "\n\r\t") {
				t.Errorf("error %q spans lines", err)
			}
			if tc.fault.Status != 0 && re.Status != tc.fault.Status {
				t.Errorf("Status = %d, want %d", re.Status, tc.fault.Status)
			}
		})
	}
	// After the faults, the same proxy passes requests through.
	if _, err := r.Client().Info(context.Background(), calURL); err != nil {
		t.Errorf("healed proxy: %v", err)
	}
}

// TestClassifyTransport covers failures with no HTTP answer at all.
func TestClassifyTransport(t *testing.T) {
	r := remotetest.StartKoyomi(t)
	ctx := context.Background()

	t.Run("slow response", func(t *testing.T) {
		proxy := remotetest.NewFaultProxy(t, r.BaseURL)
		proxy.Delay(5 * time.Second)
		c := remote.New(&http.Client{Timeout: 200 * time.Millisecond}, remote.Auth{Username: r.Username, Password: r.Password})
		_, err := c.List(ctx, proxy.Rebase(r.CalendarURL))
		if k := remote.Classify(err); k != remote.KindTransient {
			t.Errorf("timed out request: %v (kind %v), want transient", err, k)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		_, err = r.Client().Info(ctx, "http://"+addr+"/dav/")
		if k := remote.Classify(err); k != remote.KindTransient {
			t.Errorf("refused connection: %v (kind %v), want transient", err, k)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "CalDAV server request failed: ") {
			t.Errorf("error text %q", err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		proxy := remotetest.NewFaultProxy(t, r.BaseURL)
		proxy.Delay(5 * time.Second)
		ctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := r.Client().List(ctx, proxy.Rebase(r.CalendarURL))
		if !errors.Is(err, context.Canceled) || remote.Classify(err) != remote.KindOther {
			t.Errorf("canceled request: %v (kind %v), want context.Canceled, other", err, remote.Classify(err))
		}
	})
	t.Run("invalid URL", func(t *testing.T) {
		_, err := r.Client().Info(ctx, "ftp://example.org/cal/")
		if err == nil || remote.Classify(err) != remote.KindOther {
			t.Errorf("ftp URL: %v", err)
		}
	})
}

// TestNoSecretsInErrors makes servers echo credentials back and checks no
// error text repeats them.
func TestNoSecretsInErrors(t *testing.T) {
	r := remotetest.StartKoyomi(t)
	proxy := remotetest.NewFaultProxy(t, r.BaseURL)
	ctx := context.Background()
	const token = "ya29.bearer-TOKEN-value-42"
	basic := base64.StdEncoding.EncodeToString([]byte(r.Username + ":" + r.Password))
	clients := []struct {
		name    string
		c       *remote.Client
		secrets []string
	}{
		{"basic", r.Client(), []string{r.Password, basic}},
		{"bearer", remote.New(nil, remote.Auth{Bearer: token}), []string{token}},
	}
	for _, cl := range clients {
		for _, status := range []int{401, 403, 500} {
			proxy.Reset()
			// The server echoes the request's credentials.
			echo := "you sent Authorization: Basic " + basic + " password=" + r.Password + " and Bearer " + token
			proxy.Fail(remotetest.Fault{Status: status, Body: echo})
			_, err := cl.c.Info(ctx, proxy.Rebase(r.CalendarURL))
			if err == nil {
				t.Fatalf("%s %d: no error", cl.name, status)
			}
			for _, secret := range cl.secrets {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("%s %d: error %q contains a secret", cl.name, status, err)
				}
			}
		}
	}
	proxy.Heal()
	// Credentials given in the URL stay out of errors too.
	withUser := strings.Replace(proxy.URL, "http://", "http://"+r.Username+":"+r.Password+"@", 1) + "/dav/calendars/remote/no-such/"
	_, err := remote.New(nil, remote.Auth{}).Info(ctx, withUser)
	if err == nil || strings.Contains(err.Error(), r.Password) {
		t.Errorf("error for a URL with credentials: %v", err)
	}
	if remote.Classify(err) != remote.KindNotFound {
		t.Errorf("credentials in the URL were not used: %v", err)
	}
	_, err = remote.New(nil, remote.Auth{}).Info(ctx, "http://remote:"+r.Password+"@[::1")
	if err == nil || strings.Contains(err.Error(), r.Password) {
		t.Errorf("error for a malformed URL with credentials: %v", err)
	}
}

// TestRedirects checks that PROPFIND and REPORT keep their method, body
// and credentials through redirects on the same host, and that
// credentials never follow a redirect to another host.
func TestRedirects(t *testing.T) {
	r := remotetest.StartKoyomi(t)
	ctx := context.Background()
	target := remotetest.NewFaultProxy(t, r.BaseURL)
	calPath := strings.TrimPrefix(r.CalendarURL, r.BaseURL)
	koyomi, _ := url.Parse(r.BaseURL)
	pass := httputil.NewSingleHostReverseProxy(koyomi)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch {
		case strings.HasPrefix(req.URL.Path, "/moved/"):
			// /moved/CODE/rest redirects to /rest on this server.
			rest := strings.TrimPrefix(req.URL.Path, "/moved/")
			code, path, _ := strings.Cut(rest, "/")
			status := map[string]int{"301": 301, "302": 302, "307": 307, "308": 308}[code]
			http.Redirect(w, req, "/"+path, status)
		case strings.HasPrefix(req.URL.Path, "/loop/"):
			http.Redirect(w, req, req.URL.Path, http.StatusFound)
		case strings.HasPrefix(req.URL.Path, "/elsewhere/"):
			http.Redirect(w, req, target.URL+strings.TrimPrefix(req.URL.Path, "/elsewhere"), http.StatusTemporaryRedirect)
		default:
			pass.ServeHTTP(w, req)
		}
	}))
	defer front.Close()
	c := r.Client()
	r.Put(t, "redirected.ics", remotetest.Event("redirected", "redirected"))
	for _, code := range []string{"301", "302", "307", "308"} {
		info, err := c.Info(ctx, front.URL+"/moved/"+code+calPath)
		if err != nil {
			t.Errorf("Info through a %s: %v", code, err)
			continue
		}
		if info.URL != front.URL+calPath || info.DisplayName != "Sync test" {
			t.Errorf("Info through a %s: %+v", code, info)
		}
		changed, _, _, err := c.SyncCollection(ctx, front.URL+"/moved/"+code+calPath, "")
		if err != nil || len(changed) == 0 || !strings.HasPrefix(changed[0].Href, front.URL+calPath) {
			t.Errorf("SyncCollection through a %s: %v, %v", code, changed, err)
		}
	}
	if _, err := c.Info(ctx, front.URL+"/loop/x/"); err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Errorf("redirect loop: %v", err)
	}
	// To another host (another port), credentials are not sent: the
	// target sees no Authorization and answers 401.
	_, err := c.Info(ctx, front.URL+"/elsewhere"+calPath)
	if k := remote.Classify(err); k != remote.KindPermission {
		t.Errorf("cross-host redirect: %v (kind %v), want permission (credentials withheld)", err, k)
	}
	if target.Count("PROPFIND") == 0 {
		t.Error("the cross-host redirect was not followed")
	}
}
