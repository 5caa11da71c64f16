package remote

import (
	"context"
	"net/http"
)

// Get fetches one calendar object. Its Data are the server's bytes,
// unchanged.
func (c *Client) Get(ctx context.Context, href string) (*Item, error) {
	u, creds, err := c.target(href)
	if err != nil {
		return nil, err
	}
	x := &exchange{method: http.MethodGet, url: u, creds: creds,
		header: http.Header{"Accept": {"text/calendar, */*;q=0.5"}}}
	resp, err := c.send(ctx, x)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, c.statusError(x, resp)
	}
	data, err := readBody(resp, maxDAVBody)
	if err != nil {
		return nil, x.bodyError(resp, err)
	}
	return &Item{Href: u.String(), ETag: resp.Header.Get("ETag"), Data: data}, nil
}

// Put writes a calendar object and returns its new ETag. An empty ifMatch
// creates only (If-None-Match: *); otherwise the write happens only if the
// object still has that ETag. A refused precondition is a 412 *Error
// (KindConflict). When the server's answer carries no ETag, Put asks for it
// (PROPFIND getetag), so the caller learns the ETag of what it wrote.
func (c *Client) Put(ctx context.Context, href string, data []byte, ifMatch string) (etag string, err error) {
	u, creds, err := c.target(href)
	if err != nil {
		return "", err
	}
	x := &exchange{method: http.MethodPut, url: u, creds: creds, body: data,
		header: http.Header{"Content-Type": {"text/calendar; charset=utf-8"}}}
	if ifMatch == "" {
		x.header.Set("If-None-Match", "*")
	} else {
		x.header.Set("If-Match", ifMatch)
	}
	if x.body == nil {
		x.body = []byte{}
	}
	resp, err := c.send(ctx, x)
	if err != nil {
		return "", err
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusCreated, http.StatusNoContent:
	default:
		return "", c.statusError(x, resp)
	}
	drain(resp)
	if etag := resp.Header.Get("ETag"); etag != "" {
		return etag, nil
	}
	res, err := c.propfind(ctx, u.String(), "0", `<D:getetag/>`)
	if err != nil {
		return "", err
	}
	if self := res.self(); self != nil {
		return etagOf(self), nil
	}
	return "", nil
}

// Delete removes a calendar object; a non-empty ifMatch makes it
// conditional. A missing object is a 404 *Error (KindNotFound, matching
// ErrNotFound).
func (c *Client) Delete(ctx context.Context, href, ifMatch string) error {
	u, creds, err := c.target(href)
	if err != nil {
		return err
	}
	x := &exchange{method: http.MethodDelete, url: u, creds: creds, header: http.Header{}}
	if ifMatch != "" {
		x.header.Set("If-Match", ifMatch)
	}
	resp, err := c.send(ctx, x)
	if err != nil {
		return err
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusAccepted, http.StatusNoContent:
		drain(resp)
		return nil
	}
	return c.statusError(x, resp)
}

// MakeCalendar creates a calendar collection at collURL (MKCALENDAR, or an
// extended MKCOL, RFC 5689, where MKCALENDAR is not offered).
func (c *Client) MakeCalendar(ctx context.Context, collURL, displayName string) error {
	u, creds, err := c.target(collURL)
	if err != nil {
		return err
	}
	set := `<D:set><D:prop><D:displayname>` + escapeText(displayName) + `</D:displayname></D:prop></D:set>`
	x := &exchange{method: "MKCALENDAR", url: u, creds: creds,
		header: http.Header{"Content-Type": {"application/xml; charset=utf-8"}},
		body:   []byte(xmlHeader + `<C:mkcalendar xmlns:D="DAV:" xmlns:C="` + nsCalDAV + `">` + set + `</C:mkcalendar>`)}
	resp, err := c.send(ctx, x)
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusNotImplemented {
		drain(resp)
		x.method = "MKCOL"
		x.body = []byte(xmlHeader + `<D:mkcol xmlns:D="DAV:" xmlns:C="` + nsCalDAV + `"><D:set><D:prop>` +
			`<D:resourcetype><D:collection/><C:calendar/></D:resourcetype>` +
			`<D:displayname>` + escapeText(displayName) + `</D:displayname></D:prop></D:set></D:mkcol>`)
		if resp, err = c.send(ctx, x); err != nil {
			return err
		}
	}
	if resp.StatusCode != http.StatusCreated {
		return c.statusError(x, resp)
	}
	drain(resp)
	return nil
}
