package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// FetchICS downloads an iCalendar feed. webcal:// (and webcals://) URLs are
// fetched over https; http:// ones stay http. A non-empty etag is sent as
// If-None-Match, and an unchanged feed comes back as notModified with no
// body. Bodies larger than MaxFeedSize, and bodies that are not iCalendar
// (a login page, say), are errors.
func (c *Client) FetchICS(ctx context.Context, feedURL, etag string) (body []byte, newETag string, notModified bool, err error) {
	raw := strings.TrimSpace(feedURL)
	if scheme, rest, ok := strings.Cut(raw, "://"); ok {
		switch strings.ToLower(scheme) {
		case "webcal", "webcals":
			raw = "https://" + rest
		}
	}
	u, creds, err := c.target(raw)
	if err != nil {
		return nil, "", false, err
	}
	x := &exchange{method: http.MethodGet, url: u, creds: creds, server: "calendar feed",
		header: http.Header{"Accept": {"text/calendar, */*;q=0.5"}}}
	if etag != "" {
		x.header.Set("If-None-Match", etag)
	}
	resp, err := c.send(ctx, x)
	if err != nil {
		return nil, "", false, err
	}
	switch resp.StatusCode {
	case http.StatusNotModified:
		drain(resp)
		if e := resp.Header.Get("ETag"); e != "" {
			etag = e
		}
		return nil, etag, true, nil
	case http.StatusOK:
	default:
		return nil, "", false, c.statusError(x, resp)
	}
	limit := c.MaxFeedSize
	if limit <= 0 {
		limit = DefaultMaxFeedSize
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, "", false, x.bodyError(resp, err)
	}
	if int64(len(body)) > limit {
		return nil, "", false, x.bodyError(resp, fmt.Errorf("feed is larger than the %s limit", sizeText(limit)))
	}
	if !looksLikeICalendar(body) {
		return nil, "", false, x.bodyError(resp, errors.New("not an iCalendar feed (no BEGIN:VCALENDAR)"))
	}
	return body, resp.Header.Get("ETag"), false, nil
}

// looksLikeICalendar reports a body that starts, after an optional BOM and
// blank lines, with BEGIN:VCALENDAR.
func looksLikeICalendar(body []byte) bool {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	body = bytes.TrimLeft(body, " \t\r\n")
	const begin = "BEGIN:VCALENDAR"
	return len(body) >= len(begin) && strings.EqualFold(string(body[:len(begin)]), begin)
}

func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
