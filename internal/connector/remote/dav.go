package remote

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// xmlHeader starts every request body.
const xmlHeader = `<?xml version="1.0" encoding="utf-8"?>` + "\n"

// davResult is a parsed multistatus and the URL that answered it, against
// which its hrefs resolve.
type davResult struct {
	*multistatus
	base *url.URL
}

// multistatusRequest sends a PROPFIND or REPORT and parses its 207 answer.
// Any other status is an *Error.
func (c *Client) multistatusRequest(ctx context.Context, method, rawURL, depth, body string) (*davResult, error) {
	u, creds, err := c.target(rawURL)
	if err != nil {
		return nil, err
	}
	x := &exchange{method: method, url: u, creds: creds, body: []byte(body), header: http.Header{
		"Content-Type": {"application/xml; charset=utf-8"},
		"Accept":       {"application/xml, text/xml"},
	}}
	if depth != "" {
		x.header.Set("Depth", depth)
	}
	resp, err := c.send(ctx, x)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusMultiStatus {
		return nil, c.statusError(x, resp)
	}
	data, err := readBody(resp, maxDAVBody)
	if err != nil {
		return nil, x.bodyError(resp, err)
	}
	ms, err := parseMultistatus(data)
	if err != nil {
		return nil, x.bodyError(resp, err)
	}
	return &davResult{multistatus: ms, base: resp.Request.URL}, nil
}

// propfind asks for props (XML elements, e.g. `<D:getetag/>`) of rawURL.
func (c *Client) propfind(ctx context.Context, rawURL, depth string, props ...string) (*davResult, error) {
	body := xmlHeader + `<D:propfind xmlns:D="DAV:" xmlns:C="` + nsCalDAV + `" xmlns:CS="` + nsCS + `"><D:prop>` +
		strings.Join(props, "") + `</D:prop></D:propfind>`
	return c.multistatusRequest(ctx, "PROPFIND", rawURL, depth, body)
}

// self returns the response about the request URL itself, or the only one,
// or nil.
func (r *davResult) self() *response {
	want := canonPath(r.base.EscapedPath())
	for i := range r.responses {
		if canonPath(hrefPath(r.responses[i].href)) == want {
			return &r.responses[i]
		}
	}
	if len(r.responses) == 1 {
		return &r.responses[0]
	}
	return nil
}

// isSelf reports whether href names the request URL.
func (r *davResult) isSelf(href string) bool {
	return canonPath(hrefPath(href)) == canonPath(r.base.EscapedPath())
}

// abs turns an href of the response into an absolute URL.
func (r *davResult) abs(href string) string { return absURL(r.base, href) }

// absURL resolves href against base. An absolute path keeps the server's
// exact spelling (percent-encoding included), prefixed with base's scheme
// and host.
func absURL(base *url.URL, href string) string {
	if strings.HasPrefix(href, "/") && !strings.HasPrefix(href, "//") {
		return base.Scheme + "://" + base.Host + href
	}
	ref, err := url.Parse(href)
	if err != nil {
		// Not a valid URL reference: keep its text beside the base's
		// directory rather than lose the item.
		dir := base.EscapedPath()
		dir = dir[:strings.LastIndex(dir, "/")+1]
		return base.Scheme + "://" + base.Host + dir + href
	}
	if ref.IsAbs() {
		if ref.User != nil {
			ref.User = nil
			return ref.String()
		}
		return href
	}
	return base.ResolveReference(ref).String()
}

// hrefPath returns the path of an href or URL, as written: what remains
// after "scheme://host", without query.
func hrefPath(href string) string {
	if i := strings.Index(href, "://"); i >= 0 && !strings.Contains(href[:i], "/") {
		rest := href[i+3:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return "/"
		}
		href = rest[j:]
	}
	if i := strings.IndexAny(href, "?#"); i >= 0 {
		href = href[:i]
	}
	return href
}

// canonPath is the form in which two spellings of one path compare equal:
// percent-decoded, without trailing slash.
// HrefKey is the form in which two hrefs naming the same member compare
// equal, whatever their spelling: the path only (scheme and host dropped),
// percent-decoded, without a trailing slash.
func HrefKey(href string) string { return canonPath(hrefPath(href)) }

func canonPath(p string) string {
	if u, err := url.PathUnescape(p); err == nil {
		p = u
	}
	return strings.TrimRight(p, "/")
}

// isCalendar reports a response whose resourcetype has C:calendar.
func isCalendar(r *response) bool {
	return r.prop(nsDAV, "resourcetype").child(nsCalDAV, "calendar") != nil
}

// isCollection reports a response whose resourcetype has D:collection.
func isCollection(r *response) bool {
	return r.prop(nsDAV, "resourcetype").child(nsDAV, "collection") != nil
}

// etagOf returns a response's DAV:getetag exactly as sent (trimmed of
// surrounding whitespace only).
func etagOf(r *response) string { return r.prop(nsDAV, "getetag").value() }

// errNotCalendar tells that rawURL is no calendar collection.
func errNotCalendar(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ErrNotCalendar
	}
	return &notCalendarError{url: redact(u)}
}

type notCalendarError struct{ url string }

func (e *notCalendarError) Error() string { return e.url + " is not a calendar collection" }
func (e *notCalendarError) Is(target error) bool {
	return target == ErrNotCalendar
}
