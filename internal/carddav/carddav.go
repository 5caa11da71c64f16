// Package carddav plugs CardDAV (RFC 6352) into the generic WebDAV engine:
// the addressbook resourcetype, address book properties, the principal's
// addressbook-home-set, version negotiation of vCards, and the
// addressbook-query and addressbook-multiget REPORTs.
//
// It parses and writes CardDAV XML and calls the domain service and the
// vcard content package; it knows nothing of storage or of the engine's
// internals.
package carddav

import (
	"context"
	"encoding/xml"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/tree"
	"koyomi.dev/koyomi/internal/vcard"
)

// CR returns a CardDAV element name.
func CR(local string) xml.Name { return xml.Name{Space: dav.NSCardDAV, Local: local} }

type handler struct {
	h   *dav.Handler
	t   *tree.Tree
	svc *domain.Service
}

// Register adds CardDAV to the engine h serving tree t.
func Register(h *dav.Handler, t *tree.Tree) {
	c := &handler{h: h, t: t, svc: t.Service()}
	h.DAVClasses = append(h.DAVClasses, "addressbook")
	t.RegisterKind(store.KindAddressBook, CR("addressbook"))
	t.RegisterObjectErrors(store.KindAddressBook, objectErrors)
	t.RegisterNegotiator(store.KindAddressBook, negotiate)
	c.registerProperties()
	isBook := func(r *dav.Resource) bool {
		switch d := r.Data.(type) {
		case tree.Container:
			return d.Target().Kind() == store.KindAddressBook
		case *tree.Object:
			return d.Kind() == store.KindAddressBook
		}
		return false
	}
	h.RegisterReport(dav.Report{Name: CR("addressbook-query"), Applies: isBook, Serve: c.addressbookQuery})
	h.RegisterReport(dav.Report{Name: CR("addressbook-multiget"), Applies: func(r *dav.Resource) bool {
		if isBook(r) {
			return true
		}
		home, ok := r.Data.(*tree.Home)
		return ok && home.Books
	}, Serve: c.addressbookMultiget})
}

// bookOf tells whether r is an address book, stored or the directory,
// and its description and the description's language.
func bookOf(r *dav.Resource) (description, lang string, ok bool) {
	switch d := r.Data.(type) {
	case *tree.Collection:
		return d.Description, d.DescriptionLang, d.Kind == store.KindAddressBook
	case *tree.Directory:
		return domain.DirectoryDescription, "", true
	}
	return "", "", false
}

func (c *handler) registerProperties() {
	h, t := c.h, c.t
	h.RegisterProperty(dav.Property{Name: CR("addressbook-home-set"), Protected: true,
		Get: func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			if p, ok := r.Data.(*tree.Principal); ok {
				return []byte("<D:href>" + dav.Href(tree.BookHomePath(p.User.Name)) + "</D:href>"), nil
			}
			return nil, dav.ErrNoProperty
		}})
	// directory-gateway (an early CardDAV draft's, kept by Apple's clients
	// and servers) names the directory every user reads.
	h.RegisterProperty(dav.Property{Name: CR("directory-gateway"), Protected: true,
		Get: func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			if p, ok := r.Data.(*tree.Principal); ok {
				return []byte("<D:href>" + dav.Href(tree.DirectoryPath(p.User.Name)) + "</D:href>"), nil
			}
			return nil, dav.ErrNoProperty
		}})
	h.RegisterProperty(dav.Property{Name: CR("addressbook-description"),
		Get: func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			desc, _, ok := bookOf(r)
			if !ok || desc == "" {
				return nil, dav.ErrNoProperty
			}
			return []byte(dav.EscapeText(desc)), nil
		},
		Lang: func(r *dav.Resource) string {
			_, lang, _ := bookOf(r)
			return lang
		}})
	t.RegisterSetter(CR("addressbook-description"), func(col *store.Collection, op dav.PropOp) error {
		if op.Remove {
			col.Description, col.DescriptionLang = "", ""
			return nil
		}
		v, err := op.Prop.Text()
		if err != nil {
			return dav.Errorf(http.StatusConflict, "%v", err)
		}
		col.Description, col.DescriptionLang = v, op.Prop.Lang()
		return nil
	})
	static := func(v string) func(context.Context, *dav.Resource) ([]byte, error) {
		return func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			if _, _, ok := bookOf(r); !ok {
				return nil, dav.ErrNoProperty
			}
			return []byte(v), nil
		}
	}
	h.RegisterProperty(dav.Property{Name: CR("supported-address-data"), Protected: true,
		Get: static(`<CR:address-data-type content-type="text/vcard" version="3.0"/><CR:address-data-type content-type="text/vcard" version="4.0"/>`)})
	h.RegisterProperty(dav.Property{Name: CR("max-resource-size"), Protected: true,
		Get: static(strconv.FormatInt(c.svc.MaxResourceSize(), 10))})
	h.RegisterProperty(dav.Property{Name: CR("supported-collation-set"), Protected: true,
		Get: static(`<CR:supported-collation>i;ascii-casemap</CR:supported-collation><CR:supported-collation>i;octet</CR:supported-collation><CR:supported-collation>i;unicode-casemap</CR:supported-collation>`)})
}

// wantedVersion reads the vCard version asked for by an Accept header or
// an address-data element ("" when any will do).
func wantedVersion(accept string) string {
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || (mt != "text/vcard" && mt != "text/x-vcard") {
			continue
		}
		if v := params["version"]; v == "3.0" || v == "4.0" {
			return v
		}
	}
	return ""
}

// negotiate converts a stored vCard to the version an Accept header asks
// for; the stored bytes are served when no version is asked or it matches.
func negotiate(ctx context.Context, r *dav.Resource, body []byte, accept string) ([]byte, string, error) {
	want := wantedVersion(accept)
	if want == "" {
		return body, r.ContentType, nil
	}
	card, err := vcard.Parse(body)
	if err != nil || card.Version == want {
		return body, r.ContentType, nil
	}
	out, err := vcard.Convert(body, card, want)
	if err != nil {
		return nil, "", err
	}
	return out, "text/vcard; charset=utf-8; version=" + want, nil
}

// addressData is an address-data request (RFC 6352 10.4).
type addressData struct {
	version string
	props   []string // empty: all
}

type reportProps struct {
	pr   dav.PropRequest
	data *addressData
}

// read handles the property part of a REPORT body (see
// dav.ReadReportProps), collecting address-data's specification.
func (rp *reportProps) read(d *dav.Decoder, se xml.StartElement) (bool, error) {
	return dav.ReadReportProps(d, se, &rp.pr, CR("address-data"), func(ae xml.StartElement) error {
		ad := &addressData{}
		if ct, ok := dav.Attr(ae, "content-type"); ok && ct != "text/vcard" {
			return dav.Precondition(http.StatusForbidden, CR("supported-address-data"), "only text/vcard is supported")
		}
		if v, ok := dav.Attr(ae, "version"); ok {
			if v != "3.0" && v != "4.0" {
				return dav.Precondition(http.StatusForbidden, CR("supported-address-data-conversion"), "vCard versions 3.0 and 4.0 are supported")
			}
			ad.version = v
		}
		rp.data = ad
		return d.Each(func(pe xml.StartElement) error {
			if pe.Name == CR("prop") {
				if n, ok := dav.Attr(pe, "name"); ok {
					ad.props = append(ad.props, strings.ToUpper(n))
				}
			}
			return d.Skip()
		})
	})
}

// addressDataGetter renders address-data for object resources.
func (rp *reportProps) getter() map[xml.Name]func(*dav.Resource) ([]byte, error) {
	if rp.data == nil {
		return nil
	}
	ad := rp.data
	return map[xml.Name]func(*dav.Resource) ([]byte, error){
		CR("address-data"): func(r *dav.Resource) ([]byte, error) {
			out, ok := cardData(r)
			if !ok {
				return nil, dav.ErrNoProperty
			}
			if ad.version != "" || len(ad.props) > 0 {
				card, err := vcard.Parse(out)
				if err != nil {
					return nil, err
				}
				// Convert first: the properties named are those of the
				// version asked for, and Convert works from a whole card.
				if ad.version != "" && ad.version != card.Version {
					if out, err = vcard.Convert(out, card, ad.version); err != nil {
						return nil, err
					}
					if card, err = vcard.Parse(out); err != nil {
						return nil, err
					}
				}
				if len(ad.props) > 0 {
					if out, err = vcard.Select(out, card, ad.props); err != nil {
						return nil, err
					}
				}
			}
			return []byte(dav.EscapeText(string(out))), nil
		},
	}
}

// cardData returns the vCard of an address object resource, stored or of
// the directory.
func cardData(r *dav.Resource) ([]byte, bool) {
	if d, ok := r.Data.(*tree.Object); ok && d.Kind() == store.KindAddressBook {
		return d.Data, true
	}
	return nil, false
}

func supportedFilter(msg string) error {
	return dav.Precondition(http.StatusForbidden, CR("supported-filter"), msg)
}

func parseTextMatch(d *dav.Decoder, se xml.StartElement) (vcard.TextMatch, error) {
	tm := vcard.TextMatch{Collation: "i;unicode-casemap", MatchType: "contains"}
	if v, ok := dav.Attr(se, "collation"); ok {
		tm.Collation = v
	}
	if v, ok := dav.Attr(se, "match-type"); ok {
		tm.MatchType = v
	}
	if v, ok := dav.Attr(se, "negate-condition"); ok {
		tm.Negate = v == "yes"
	}
	text, err := d.Text()
	tm.Text = text
	return tm, err
}

func parseFilter(d *dav.Decoder, se xml.StartElement) (*vcard.Filter, error) {
	f := &vcard.Filter{Test: "anyof"}
	if v, ok := dav.Attr(se, "test"); ok {
		f.Test = v
	}
	for {
		pe, ok, err := d.Next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return f, nil
		}
		if pe.Name != CR("prop-filter") {
			if err := d.Skip(); err != nil {
				return nil, err
			}
			continue
		}
		name, _ := dav.Attr(pe, "name")
		if name == "" {
			return nil, supportedFilter("prop-filter needs a name")
		}
		pf := vcard.PropFilter{Name: strings.ToUpper(name), Test: "anyof"}
		if v, ok := dav.Attr(pe, "test"); ok {
			pf.Test = v
		}
		for {
			ce, ok, err := d.Next()
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			switch ce.Name {
			case CR("is-not-defined"):
				pf.IsNotDefined = true
				err = d.Skip()
			case CR("text-match"):
				var tm vcard.TextMatch
				tm, err = parseTextMatch(d, ce)
				pf.TextMatches = append(pf.TextMatches, tm)
			case CR("param-filter"):
				pname, _ := dav.Attr(ce, "name")
				pa := vcard.ParamFilter{Name: strings.ToUpper(pname)}
				for {
					x, ok, perr := d.Next()
					if perr != nil {
						return nil, perr
					}
					if !ok {
						break
					}
					switch x.Name {
					case CR("is-not-defined"):
						pa.IsNotDefined = true
						perr = d.Skip()
					case CR("text-match"):
						var tm vcard.TextMatch
						tm, perr = parseTextMatch(d, x)
						pa.TextMatch = &tm
					default:
						perr = d.Skip()
					}
					if perr != nil {
						return nil, perr
					}
				}
				pf.Params = append(pf.Params, pa)
			default:
				err = d.Skip()
			}
			if err != nil {
				return nil, err
			}
		}
		f.Props = append(f.Props, pf)
	}
}

func (c *handler) addressbookQuery(ctx context.Context, w http.ResponseWriter, req *http.Request, r *dav.Resource, d *dav.Decoder, depth int) error {
	var rp reportProps
	var filter *vcard.Filter
	limit := 0
	err := d.Each(func(se xml.StartElement) error {
		if ok, err := rp.read(d, se); ok || err != nil {
			return err
		}
		switch se.Name {
		case CR("filter"):
			var err error
			filter, err = parseFilter(d, se)
			return err
		case CR("limit"):
			return d.Each(func(le xml.StartElement) error {
				if le.Name != CR("nresults") {
					return d.Skip()
				}
				txt, err := d.Text()
				if err != nil {
					return err
				}
				n, err := strconv.Atoi(strings.TrimSpace(txt))
				if err != nil || n < 1 {
					return dav.Errorf(http.StatusBadRequest, "invalid CR:nresults")
				}
				limit = n
				return nil
			})
		}
		return d.Skip()
	})
	if err != nil {
		return err
	}
	if filter == nil {
		filter = &vcard.Filter{Test: "anyof"}
	}
	if err := filter.Validate(); err != nil {
		if errors.Is(err, vcard.ErrUnsupportedCollation) {
			return dav.Precondition(http.StatusForbidden, CR("supported-collation"), err.Error())
		}
		return supportedFilter(err.Error())
	}
	var resources []*dav.Resource
	truncated := false
	switch data := r.Data.(type) {
	case tree.Container:
		if depth == 0 {
			break
		}
		items, err := data.Target().QueryCards(ctx, filter)
		if err != nil {
			return err
		}
		if limit > 0 && len(items) > limit {
			items, truncated = items[:limit], true
		}
		for _, it := range items {
			resources = append(resources, tree.ItemResource(data, it))
		}
	case *tree.Object:
		body, _ := cardData(r)
		card, err := vcard.Parse(body)
		if err == nil && card.Match(filter) {
			resources = append(resources, r)
		}
	}
	truncatedAt := ""
	if truncated {
		truncatedAt = r.Path
	}
	return c.h.WriteResources(ctx, w, resources, rp.pr, rp.getter(), truncatedAt)
}

func (c *handler) addressbookMultiget(ctx context.Context, w http.ResponseWriter, req *http.Request, r *dav.Resource, d *dav.Decoder, _ int) error {
	var rp reportProps
	hrefs, err := dav.ReadHrefs(d, "addressbook-multiget", func(se xml.StartElement) (bool, error) { return rp.read(d, se) })
	if err != nil {
		return err
	}
	return c.t.Multiget(ctx, w, c.h, r, store.KindAddressBook, hrefs, rp.pr, rp.getter())
}
