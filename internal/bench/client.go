package bench

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"
)

// kindHeader names the request kind on every request, so that the floor
// handler knows which recorded response to replay.
const kindHeader = "X-Koyomi-Bench-Kind"

// client sends DAV requests to one server with keep-alive connections.
type client struct {
	hc       *http.Client
	user     string
	password string
	base     *url.URL // scheme and host every path is resolved against

	mu       sync.Mutex
	recorder map[string]*recorded // nil unless recording for --floor
}

// recorded is one response kept for replay.
type recorded struct {
	status int
	header http.Header
	body   []byte
}

func newClient(base *url.URL, user, password string, conns int) *client {
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		MaxIdleConns:        conns + 16,
		MaxIdleConnsPerHost: conns + 16,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	return &client{hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}, user: user, password: password, base: base}
}

func (c *client) close() { c.hc.CloseIdleConnections() }

// response is what the phases look at: status, the headers they need and the
// full body (read so that the connection is reused).
type response struct {
	status int
	etag   string
	body   []byte
}

// do sends one request and reads the whole answer. A transport failure is an
// error; a status is returned for the caller to judge.
func (c *client) do(ctx context.Context, kind, method, p string, hdr map[string]string, body string) (*response, time.Duration, error) {
	u := *c.base
	u.Path, u.RawPath = p, ""
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, 0, fmt.Errorf("bench: %s %s: %w", method, p, err)
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.password)
	}
	req.Header.Set(kindHeader, kind)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	t0 := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("bench: %s %s: %w", method, p, err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	lat := time.Since(t0)
	if err != nil {
		return nil, lat, fmt.Errorf("bench: %s %s: reading the answer: %w", method, p, err)
	}
	c.record(kind, resp, data)
	return &response{status: resp.StatusCode, etag: resp.Header.Get("ETag"), body: data}, lat, nil
}

func (c *client) record(kind string, resp *http.Response, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.recorder == nil || c.recorder[kind] != nil || resp.StatusCode >= 300 {
		return
	}
	h := http.Header{}
	for _, k := range []string{"Content-Type", "ETag", "DAV"} {
		if v := resp.Header.Values(k); len(v) > 0 {
			h[k] = v
		}
	}
	c.recorder[kind] = &recorded{status: resp.StatusCode, header: h, body: body}
}

const xmlHeader = `<?xml version="1.0" encoding="utf-8"?>` + "\n"

// multistatus is the part of a 207 answer the phases verify.
type multistatus struct {
	Responses []msResponse `xml:"DAV: response"`
	SyncToken string       `xml:"DAV: sync-token"`
}

type msResponse struct {
	Hrefs     []string   `xml:"DAV: href"`
	Status    string     `xml:"DAV: status"`
	Propstats []propstat `xml:"DAV: propstat"`
}

type propstat struct {
	Status string `xml:"DAV: status"`
	Prop   struct {
		ETag         string `xml:"DAV: getetag"`
		CalendarData string `xml:"urn:ietf:params:xml:ns:caldav calendar-data"`
		AddressData  string `xml:"urn:ietf:params:xml:ns:carddav address-data"`
	} `xml:"DAV: prop"`
}

func parseMultistatus(body []byte) (*multistatus, error) {
	var ms multistatus
	if err := xml.NewDecoder(bytes.NewReader(body)).Decode(&ms); err != nil {
		return nil, fmt.Errorf("bench: multistatus: %w", err)
	}
	return &ms, nil
}

// member is one response of a multistatus reduced to what is checked.
type member struct {
	name   string // last path segment, unescaped
	ok     bool   // a 200 propstat (or no 404 at response level)
	etag   string
	data   string // calendar-data or address-data
	status string
}

// members flattens ms, keeping only children of the collection at dir and
// reporting any href outside it in foreign.
func (ms *multistatus) members(dir string) (members []member, foreign []string) {
	for _, r := range ms.Responses {
		for _, h := range r.Hrefs {
			p := hrefPath(h)
			if p == dir || p+"/" == dir {
				continue
			}
			parent, name := path.Split(p)
			if parent != dir || name == "" {
				foreign = append(foreign, h)
				continue
			}
			m := member{name: name, status: r.Status, ok: r.Status == "" || statusCode(r.Status) == 200}
			if r.Status == "" {
				m.ok = false
				for _, ps := range r.Propstats {
					if statusCode(ps.Status) == 200 {
						m.ok = true
						m.etag = ps.Prop.ETag
						m.data = ps.Prop.CalendarData + ps.Prop.AddressData
					}
				}
			}
			members = append(members, m)
		}
	}
	return members, foreign
}

// hrefPath returns the unescaped path of an href that may be absolute.
func hrefPath(h string) string {
	h = strings.TrimSpace(h)
	if u, err := url.Parse(h); err == nil {
		return u.Path
	}
	return h
}

// statusCode reads "HTTP/1.1 200 OK".
func statusCode(s string) int {
	f := strings.Fields(s)
	if len(f) < 2 {
		return 0
	}
	var n int
	fmt.Sscanf(f[1], "%d", &n)
	return n
}

// escapeXML escapes text for an element body or attribute.
func escapeXML(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
