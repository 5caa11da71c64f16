package dav

import (
	"context"
	"encoding/xml"
	"net/http"
)

// ReadHrefs reads the body of a multiget REPORT: the DAV:href elements,
// each other child being offered to other first (which reports whether it
// consumed it, as ReadReportProps does). At least one href is required.
func ReadHrefs(d *Decoder, report string, other func(se xml.StartElement) (bool, error)) ([]string, error) {
	var hrefs []string
	err := d.Each(func(se xml.StartElement) error {
		if ok, err := other(se); ok || err != nil {
			return err
		}
		if se.Name == Name("href") {
			h, err := d.Text()
			hrefs = append(hrefs, h)
			return err
		}
		return d.Skip()
	})
	if err == nil && len(hrefs) == 0 {
		err = Errorf(http.StatusBadRequest, "%s needs at least one DAV:href", report)
	}
	return hrefs, err
}

// WriteResources answers a REPORT with one response per resource; when
// truncatedAt is set, a 507 response for it (DAV:number-of-matches-within-
// limits) tells the client that more matched than were returned.
func (h *Handler) WriteResources(ctx context.Context, w http.ResponseWriter, resources []*Resource, pr PropRequest,
	custom map[xml.Name]func(*Resource) ([]byte, error), truncatedAt string) error {
	ms := NewMultistatus(w)
	for _, res := range resources {
		ps, err := h.PropStats(ctx, res, pr, custom)
		if err != nil {
			return err
		}
		ms.ResponseAt(res.URL(), ps)
	}
	if truncatedAt != "" {
		ms.StatusResponse(truncatedAt, http.StatusInsufficientStorage, &Error{Condition: Name("number-of-matches-within-limits")})
	}
	return ms.Close("")
}
