package remote

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Item is a calendar object on the remote server.
type Item struct {
	// Href is an absolute URL whose path is spelled as the server sent it
	// (percent-encoding kept), so it can be sent back as is.
	Href string
	// ETag is exactly as the server sent it (quotes, W/ and all), to be
	// echoed in If-Match.
	ETag string
	// Data is the object's iCalendar text, when it was asked for.
	Data []byte
}

// List returns every member of collURL that is not a collection, with its
// ETag (PROPFIND Depth 1).
func (c *Client) List(ctx context.Context, collURL string) ([]Item, error) {
	res, err := c.propfind(ctx, collURL, "1", `<D:getetag/>`, `<D:getcontenttype/>`, `<D:resourcetype/>`)
	if err != nil {
		return nil, err
	}
	var items []Item
	for i := range res.responses {
		r := &res.responses[i]
		if res.isSelf(r.href) || !r.ok() || isCollection(r) {
			continue
		}
		items = append(items, Item{Href: res.abs(r.href), ETag: etagOf(r)})
	}
	return items, nil
}

// maxSyncPages bounds the truncated responses SyncCollection follows, in
// case a server keeps answering 507 without progress.
const maxSyncPages = 10000

// SyncCollection asks what changed in collURL since token (RFC 6578,
// sync-level 1); an empty token asks for everything. It returns the
// members changed or added (with their ETags when the server gives them,
// without data), the hrefs of members removed, and the token to pass next
// time. Truncated answers (507 DAV:number-of-matches-within-limits) are
// followed with the token they carry until the server has told all.
//
// When the server no longer accepts token the error matches
// ErrSyncTokenInvalid, and the caller starts over with an initial sync.
func (c *Client) SyncCollection(ctx context.Context, collURL, token string) (changed []Item, deleted []string, newToken string, err error) {
	// The last state reported for each href wins: a member may change in
	// one page and disappear in the next.
	type state struct {
		item    Item
		deleted bool
	}
	var order []string
	states := map[string]*state{}
	initial := token == ""
	for page := 0; ; page++ {
		res, err := c.syncPage(ctx, collURL, token)
		if err != nil {
			return nil, nil, "", err
		}
		if page == maxSyncPages {
			return nil, nil, "", &Error{Status: http.StatusMultiStatus, Method: "REPORT", URL: redact(res.base),
				Err: fmt.Errorf("more than %d truncated sync-collection answers", maxSyncPages)}
		}
		truncated := false
		for i := range res.responses {
			r := &res.responses[i]
			if res.isSelf(r.href) {
				truncated = truncated || r.status == http.StatusInsufficientStorage
				continue
			}
			if strings.HasSuffix(r.href, "/") {
				continue // a child collection, not an object
			}
			var st state
			switch {
			case r.status == http.StatusNotFound || r.status == http.StatusGone:
				st.deleted = true
			case r.ok():
				st.item.ETag = etagOf(r)
			default:
				continue
			}
			abs := res.abs(r.href)
			key := canonPath(hrefPath(abs))
			if states[key] == nil {
				order = append(order, key)
			}
			st.item.Href = abs
			states[key] = &st
		}
		if res.syncToken == "" {
			return nil, nil, "", &Error{Status: http.StatusMultiStatus, Method: "REPORT", URL: redact(res.base),
				Err: errors.New("sync-collection answer has no DAV:sync-token")}
		}
		if !truncated {
			newToken = res.syncToken
			break
		}
		if res.syncToken == token {
			return nil, nil, "", &Error{Status: http.StatusMultiStatus, Method: "REPORT", URL: redact(res.base),
				Err: errors.New("truncated sync-collection answer without a new sync token")}
		}
		token = res.syncToken
	}
	for _, key := range order {
		st := states[key]
		if st.deleted {
			// An initial sync has nothing to delete: some servers
			// (Radicale) still report the members they remember removing.
			if !initial {
				deleted = append(deleted, st.item.Href)
			}
		} else {
			changed = append(changed, st.item)
		}
	}
	return changed, deleted, newToken, nil
}

// syncPage sends one sync-collection REPORT.
func (c *Client) syncPage(ctx context.Context, collURL, token string) (*davResult, error) {
	var limit string
	if c.SyncPageSize > 0 {
		limit = `<D:limit><D:nresults>` + strconv.Itoa(c.SyncPageSize) + `</D:nresults></D:limit>`
	}
	body := xmlHeader + `<D:sync-collection xmlns:D="DAV:"><D:sync-token>` + escapeText(token) + `</D:sync-token>` +
		`<D:sync-level>1</D:sync-level>` + limit + `<D:prop><D:getetag/></D:prop></D:sync-collection>`
	res, err := c.multistatusRequest(ctx, "REPORT", collURL, "0", body)
	if err == nil || token == "" {
		return res, err
	}
	var e *Error
	if !errors.As(err, &e) {
		return nil, err
	}
	if tokenRejected(e) {
		e.Err = ErrSyncTokenInvalid
		return nil, e
	}
	if e.Status == http.StatusInternalServerError {
		// Some servers (Xandikos) fail with 500 on a token they do not
		// know. If an initial sync works, the token was the trouble.
		probe := xmlHeader + `<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level>` +
			`<D:prop><D:getetag/></D:prop></D:sync-collection>`
		if _, perr := c.multistatusRequest(ctx, "REPORT", collURL, "0", probe); perr == nil {
			e.Err = ErrSyncTokenInvalid
		}
	}
	return nil, e
}

// tokenRejected reports an answer saying the sync token is invalid: 403 or
// 409 with DAV:valid-sync-token (RFC 6578 3.2), or a 400, 403, 409 or 410
// whose text says as much.
func tokenRejected(e *Error) bool {
	switch e.Status {
	case http.StatusBadRequest, http.StatusForbidden, http.StatusConflict, http.StatusGone:
	default:
		return false
	}
	msg := strings.ToLower(e.Message)
	return strings.Contains(msg, "valid-sync-token") || strings.Contains(msg, "sync-token") ||
		strings.Contains(msg, "sync token") || strings.Contains(msg, "synctoken")
}

// Multiget fetches the objects at hrefs with their ETags
// (calendar-multiget, RFC 4791 7.9), MultigetBatch hrefs per request.
// Hrefs the server answers 404 for are left out of the result.
//
// XML parsing turns the CRLF line ends of the iCalendar data into LF; Data
// has them restored to CRLF.
func (c *Client) Multiget(ctx context.Context, collURL string, hrefs []string) ([]Item, error) {
	batch := c.MultigetBatch
	if batch <= 0 {
		batch = DefaultMultigetBatch
	}
	base, _, err := c.target(collURL)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
		base.RawPath = ""
	}
	var items []Item
	for start := 0; start < len(hrefs); start += batch {
		part := hrefs[start:min(start+batch, len(hrefs))]
		var b strings.Builder
		b.WriteString(xmlHeader + `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="` + nsCalDAV + `">`)
		b.WriteString(`<D:prop><D:getetag/><C:calendar-data/></D:prop>`)
		for _, h := range part {
			if !strings.HasPrefix(h, "/") && !strings.Contains(h, "://") {
				h = absURL(base, h) // a name relative to the collection
			}
			b.WriteString(`<D:href>` + escapeText(hrefPath(h)) + `</D:href>`)
		}
		b.WriteString(`</C:calendar-multiget>`)
		res, err := c.multistatusRequest(ctx, "REPORT", collURL, "", b.String())
		if err != nil {
			return nil, err
		}
		for i := range res.responses {
			r := &res.responses[i]
			data := r.prop(nsCalDAV, "calendar-data")
			if !r.ok() || data == nil {
				continue
			}
			items = append(items, Item{Href: res.abs(r.href), ETag: etagOf(r), Data: crlf(data.text.String())})
		}
	}
	return items, nil
}

// crlf returns iCalendar text with CRLF line ends, trimmed of the
// whitespace XML pretty-printing may add around it.
func crlf(s string) []byte {
	s = strings.TrimSpace(s)
	out := make([]byte, 0, len(s)+len(s)/40+2)
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n':
			continue // written with the LF
		case s[i] == '\n' || s[i] == '\r':
			out = append(out, '\r', '\n')
		default:
			out = append(out, s[i])
		}
	}
	if len(out) > 0 {
		out = append(out, '\r', '\n')
	}
	return out
}

// escapeText escapes s for XML character data.
func escapeText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\r':
			b.WriteString("&#13;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
