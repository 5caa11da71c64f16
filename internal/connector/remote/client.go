// Package remote is the HTTP client of the connectors: it discovers
// calendars on another CalDAV server, lists, syncs, reads and writes their
// objects (RFC 4791, RFC 6578, RFC 6764), and fetches iCalendar feeds.
//
// It speaks HTTP, WebDAV and CalDAV and nothing else: it knows nothing of
// Koyomi's store, of how a sync decides what to copy, or of iCalendar
// beyond the bytes it carries. Every failure is an *Error that Classify
// sorts into what a caller should do about it; no error or message ever
// carries the credentials the client was given.
package remote

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Auth holds the credentials sent to the remote server. A non-empty Bearer
// is sent as "Authorization: Bearer"; otherwise Username and Password are
// sent as Basic credentials when Username is set. With neither, user
// information in a URL ("https://user:pw@host/") is used as Basic
// credentials (and never appears in hrefs or errors).
type Auth struct {
	Username, Password, Bearer string
}

func (a Auth) empty() bool { return a.Bearer == "" && a.Username == "" }

// Client talks to one remote account. Its fields may be set before first
// use; a Client is safe for concurrent use afterwards.
type Client struct {
	hc   *http.Client
	auth Auth

	// Clock tells the time for Retry-After dates; nil means time.Now.
	Clock func() time.Time
	// SyncPageSize, when positive, asks sync-collection for at most this
	// many results per response (RFC 6578 DAV:limit); SyncCollection
	// follows the truncated results to the end either way.
	SyncPageSize int
	// MultigetBatch is the number of hrefs per calendar-multiget; zero
	// means DefaultMultigetBatch.
	MultigetBatch int
	// MaxFeedSize bounds the body FetchICS accepts; zero means
	// DefaultMaxFeedSize.
	MaxFeedSize int64
}

const (
	// DefaultTimeout bounds each request of a Client made with a nil
	// *http.Client.
	DefaultTimeout = 60 * time.Second
	// DefaultMultigetBatch is the hrefs asked for per calendar-multiget.
	DefaultMultigetBatch = 50
	// DefaultMaxFeedSize bounds an iCalendar feed (50 MiB).
	DefaultMaxFeedSize = 50 << 20
	// maxDAVBody bounds a multistatus or a calendar object read from the
	// server.
	maxDAVBody = 64 << 20
	// maxErrorBody is how much of an error response is read to explain it.
	maxErrorBody = 64 << 10
	// maxRedirects bounds the redirects followed for one request.
	maxRedirects = 5
	// userAgent identifies the connectors to remote servers.
	userAgent = "Koyomi-connector"
)

// New returns a client that sends auth with every request through hc. A
// nil hc means a client with DefaultTimeout. hc is copied: the client
// follows redirects itself (keeping PROPFIND and REPORT methods and bodies,
// and sending credentials only to the host first asked).
func New(hc *http.Client, auth Auth) *Client {
	var own http.Client
	if hc != nil {
		own = *hc
	} else {
		own.Timeout = DefaultTimeout
	}
	own.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{hc: &own, auth: auth}
}

func (c *Client) now() time.Time {
	if c.Clock != nil {
		return c.Clock()
	}
	return time.Now()
}

// target parses a URL the client is asked to use. User information in it
// is removed and returned as credentials, to be used when the client has
// none of its own.
func (c *Client) target(raw string) (*url.URL, Auth, error) {
	raw = strings.TrimSpace(raw)
	if !strings.Contains(raw, "://") && !strings.HasPrefix(raw, "/") {
		raw = "https://" + raw // a bare host name, as people type them
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, Auth{}, fmt.Errorf("remote: invalid URL: %w", scrubURLError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, Auth{}, fmt.Errorf("remote: invalid URL %q: need http:// or https:// and a host", redact(u))
	}
	creds := c.auth
	if u.User != nil {
		if creds.empty() {
			pw, _ := u.User.Password()
			creds = Auth{Username: u.User.Username(), Password: pw}
		}
		u.User = nil
	}
	u.Fragment, u.RawFragment = "", ""
	return u, creds, nil
}

// scrubURLError drops the URL text from a url.Parse error: it may hold a
// password.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redact renders u for an error: no user information, no query (feed URLs
// often carry a secret there).
func redact(u *url.URL) string {
	v := *u
	v.User = nil
	v.Fragment, v.RawFragment = "", ""
	if v.RawQuery != "" || v.ForceQuery {
		v.RawQuery, v.ForceQuery = "…", false
	}
	return v.String()
}

// exchange is one request: the method and body are kept across redirects.
type exchange struct {
	method string
	url    *url.URL
	creds  Auth
	header http.Header
	body   []byte
	server string // what answers, for errors
}

// send performs x and returns the final response, whatever its status.
// Redirects (301, 302, 307, 308; 303 for GET) are followed up to
// maxRedirects hops keeping method, body and headers; credentials go only
// to the origin first asked (or its https upgrade).
func (c *Client) send(ctx context.Context, x *exchange) (*http.Response, error) {
	origin, cur, method := x.url, x.url, x.method
	body := x.body
	for hop := 0; ; hop++ {
		var rd io.Reader = http.NoBody
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, cur.String(), rd)
		if err != nil {
			return nil, c.transportError(x, cur, err)
		}
		for k, vs := range x.header {
			req.Header[k] = vs
		}
		req.Header.Set("User-Agent", userAgent)
		if sameOrigin(origin, cur) {
			x.creds.authorize(req)
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return nil, c.transportError(x, cur, err)
		}
		next, ok := redirectTarget(resp, method)
		if !ok {
			return resp, nil
		}
		drain(resp)
		if hop == maxRedirects {
			return nil, &Error{Method: x.method, URL: redact(x.url), server: x.server,
				Err: fmt.Errorf("more than %d redirects", maxRedirects)}
		}
		if resp.StatusCode == http.StatusSeeOther {
			method, body = http.MethodGet, nil
		}
		cur = next
	}
}

// redirectTarget returns where resp redirects the request to, if it is a
// redirect this client follows.
func redirectTarget(resp *http.Response, method string) (*url.URL, bool) {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	case http.StatusSeeOther:
		if method != http.MethodGet && method != http.MethodHead {
			return nil, false
		}
	default:
		return nil, false
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, false
	}
	next, err := resp.Request.URL.Parse(loc)
	if err != nil || next.Scheme != "http" && next.Scheme != "https" {
		return nil, false
	}
	next.User = nil
	next.Fragment, next.RawFragment = "", ""
	return next, true
}

// sameOrigin reports whether credentials meant for origin may go to u: the
// same scheme, host and port, or the same host upgraded to https.
func sameOrigin(origin, u *url.URL) bool {
	if origin.Scheme == u.Scheme {
		return strings.EqualFold(origin.Host, u.Host)
	}
	return origin.Scheme == "http" && u.Scheme == "https" && strings.EqualFold(origin.Hostname(), u.Hostname())
}

func (a Auth) authorize(req *http.Request) {
	switch {
	case a.Bearer != "":
		req.Header.Set("Authorization", "Bearer "+a.Bearer)
	case a.Username != "":
		req.SetBasicAuth(a.Username, a.Password)
	}
}

// secrets returns the strings that must never appear in an error: the
// password, the token and the encoded Basic credentials.
func (a Auth) secrets() []string {
	var s []string
	if a.Password != "" {
		s = append(s, a.Password, url.QueryEscape(a.Password), url.PathEscape(a.Password))
	}
	if a.Bearer != "" {
		s = append(s, a.Bearer)
	}
	if a.Username != "" {
		s = append(s, base64.StdEncoding.EncodeToString([]byte(a.Username+":"+a.Password)))
	}
	return s
}

// drain discards the rest of a body (a little of it, so the connection can
// be reused) and closes it.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// transportError wraps a failure to get any response.
func (c *Client) transportError(x *exchange, u *url.URL, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its text repeats the URL
	}
	return &Error{Method: x.method, URL: redact(u), Err: err, server: x.server}
}

// statusError turns a response with an unexpected status into an *Error,
// reading a little of its body to explain it. It closes the body.
func (c *Client) statusError(x *exchange, resp *http.Response) *Error {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &Error{
		Status:     resp.StatusCode,
		Method:     x.method,
		URL:        redact(resp.Request.URL),
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), c.now()),
		server:     x.server,
	}
	text := http.StatusText(resp.StatusCode)
	if text == "" {
		text = fmt.Sprintf("status %d", resp.StatusCode)
	}
	if snippet := scrub(bodySnippet(body), x.creds.secrets()); snippet != "" && !strings.EqualFold(snippet, text) {
		text += ": " + snippet
	}
	e.Message = text
	if resp.StatusCode == http.StatusForbidden {
		e.rateLimited = headersSayRateLimit(resp.Header) || saysRateLimit(string(body))
	}
	return e
}

// readBody reads a whole body of at most limit bytes and closes it.
func readBody(resp *http.Response, limit int64) ([]byte, error) {
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("response larger than %s", sizeText(limit))
	}
	return data, nil
}

// bodyError wraps a failure while reading or parsing a response body.
func (x *exchange) bodyError(resp *http.Response, err error) error {
	return &Error{Status: resp.StatusCode, Method: x.method, URL: redact(resp.Request.URL), Err: err, server: x.server}
}
