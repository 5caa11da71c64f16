package dav

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

func (h *Handler) registerCoreProperties() {
	h.RegisterProperty(Property{Name: Name("resourcetype"), AllProp: true, Protected: true,
		Get: func(ctx context.Context, r *Resource) ([]byte, error) {
			var b strings.Builder
			if r.Collection {
				b.WriteString("<D:collection/>")
			}
			for _, t := range r.Types {
				b.WriteString(emptyElement(t))
			}
			return []byte(b.String()), nil
		}})
	h.RegisterProperty(Property{Name: Name("getetag"), AllProp: true, Protected: true,
		Get: func(ctx context.Context, r *Resource) ([]byte, error) {
			if r.ETag == "" {
				return nil, ErrNoProperty
			}
			return []byte(EscapeText(quoteETag(r.ETag))), nil
		}})
	h.RegisterProperty(Property{Name: Name("getlastmodified"), AllProp: true, Protected: true,
		Get: func(ctx context.Context, r *Resource) ([]byte, error) {
			if r.LastModified.IsZero() {
				return nil, ErrNoProperty
			}
			return []byte(r.LastModified.UTC().Format(http.TimeFormat)), nil
		}})
	// A collection answers GET with a body too (a calendar with all its
	// events), so it has both properties (RFC 4918 15.4, 15.5); its length
	// is known only by producing the body, which is done only when asked.
	h.RegisterProperty(Property{Name: Name("getcontenttype"), AllProp: true, Protected: true,
		Get: func(ctx context.Context, r *Resource) ([]byte, error) {
			ct := r.ContentType
			if typer, ok := h.Backend.(ContentTyper); ok && r.Collection {
				ct = typer.ContentType(r)
			}
			if ct == "" {
				return nil, ErrNoProperty
			}
			return []byte(EscapeText(ct)), nil
		}})
	h.RegisterProperty(Property{Name: Name("getcontentlength"), AllProp: true, Protected: true,
		Get: func(ctx context.Context, r *Resource) ([]byte, error) {
			if !r.Collection {
				return []byte(itoa(r.Size)), nil
			}
			body, err := h.Backend.Content(ctx, r)
			if err != nil {
				return nil, err
			}
			return []byte(itoa(int64(len(body)))), nil
		}})
	h.RegisterProperty(Property{Name: Name("supportedlock"), AllProp: true, Protected: true,
		Get: func(ctx context.Context, r *Resource) ([]byte, error) {
			if h.Locks == nil {
				return nil, ErrNoProperty
			}
			return []byte("<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>" +
				"<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>"), nil
		}})
	h.RegisterProperty(Property{Name: Name("lockdiscovery"), AllProp: true, Protected: true,
		Get: func(ctx context.Context, r *Resource) ([]byte, error) {
			if h.Locks == nil {
				return nil, ErrNoProperty
			}
			locks, err := h.Locks.Locks(ctx, r.Path)
			if err != nil {
				return nil, err
			}
			var b strings.Builder
			for _, l := range locks {
				b.WriteString(activeLockXML(l))
			}
			return []byte(b.String()), nil
		}})
	h.RegisterProperty(Property{Name: Name("supported-report-set"), Protected: true,
		Get: func(ctx context.Context, r *Resource) ([]byte, error) {
			var b strings.Builder
			for _, n := range h.ReportsFor(r) {
				b.WriteString("<D:supported-report><D:report>" + emptyElement(n) + "</D:report></D:supported-report>")
			}
			return []byte(b.String()), nil
		}})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// emptyElement renders <prefix:local/> (or with an xmlns when the namespace
// has no registered prefix).
func emptyElement(n xml.Name) string {
	if p, ok := prefixFor(n.Space); ok {
		return "<" + p + ":" + n.Local + "/>"
	}
	return "<" + n.Local + ` xmlns="` + EscapeAttr(n.Space) + `"/>`
}

// PropStats computes the propstat groups of res for a property request:
// found properties (200), missing ones (404). Custom getters (e.g. a
// REPORT's calendar-data) take precedence over the registry.
func (h *Handler) PropStats(ctx context.Context, res *Resource, pr PropRequest, custom map[xml.Name]func(*Resource) ([]byte, error)) ([]PropStat, error) {
	var found, missing []PropValue
	var failed []PropStat
	add := func(name xml.Name, explicit bool) error {
		var get func(*Resource) ([]byte, error)
		if fn, ok := custom[name]; ok {
			get = fn
		} else if p, ok := h.props[name]; ok {
			get = func(r *Resource) ([]byte, error) { return p.Get(ctx, r) }
		}
		if get == nil {
			if explicit {
				missing = append(missing, PropValue{Name: name})
			}
			return nil
		}
		v, err := get(res)
		if errors.Is(err, ErrNoProperty) {
			if explicit {
				missing = append(missing, PropValue{Name: name})
			}
			return nil
		}
		if err != nil {
			if de := h.asError(err, res.Path); de.Status != http.StatusInternalServerError {
				failed = append(failed, PropStat{Status: de.Status, Props: []PropValue{{Name: name}}, Error: de})
				return nil
			}
			return err
		}
		pv := PropValue{Name: name, Inner: v}
		if p, ok := h.props[name]; ok && p.Lang != nil && custom[name] == nil {
			pv.Lang = p.Lang(res)
		}
		found = append(found, pv)
		return nil
	}
	var dead []RawElement
	needDead := pr.AllProp || pr.PropName
	for _, n := range pr.Names {
		if _, live := h.props[n]; !live {
			if _, c := custom[n]; !c {
				needDead = true
			}
		}
	}
	if needDead {
		var err error
		dead, err = h.Backend.DeadProperties(ctx, res)
		if err != nil {
			return nil, err
		}
	}
	switch {
	case pr.PropName:
		for _, n := range h.order {
			p := h.props[n]
			if _, err := p.Get(ctx, res); err == nil {
				found = append(found, PropValue{Name: n})
			}
		}
		for _, d := range dead {
			found = append(found, PropValue{Name: d.Name})
		}
	case pr.AllProp:
		for _, n := range h.order {
			if h.props[n].AllProp {
				if err := add(n, false); err != nil {
					return nil, err
				}
			}
		}
		for _, n := range pr.Include {
			if p, ok := h.props[n]; ok && !p.AllProp {
				if err := add(n, true); err != nil {
					return nil, err
				}
			}
		}
		for _, d := range dead {
			if _, live := h.props[d.Name]; !live {
				found = append(found, PropValue{Name: d.Name, Raw: d.XML})
			}
		}
	default:
		deadByName := map[xml.Name][]byte{}
		for _, d := range dead {
			deadByName[d.Name] = d.XML
		}
		for _, n := range pr.Names {
			_, live := h.props[n]
			_, c := custom[n]
			if !live && !c {
				if raw, ok := deadByName[n]; ok {
					found = append(found, PropValue{Name: n, Raw: raw})
				} else {
					missing = append(missing, PropValue{Name: n})
				}
				continue
			}
			if err := add(n, true); err != nil {
				return nil, err
			}
		}
	}
	out := []PropStat{{Status: http.StatusOK, Props: found}}
	if len(missing) > 0 {
		out = append(out, PropStat{Status: http.StatusNotFound, Props: missing})
	}
	return append(out, failed...), nil
}

// Depth parses the Depth header for PROPFIND: 0, 1, or infinity (refused).
func propfindDepth(r *http.Request) (int, error) {
	switch strings.ToLower(strings.TrimSpace(r.Header.Get("Depth"))) {
	case "0":
		return 0, nil
	case "1":
		return 1, nil
	case "", "infinity":
		return 0, Precondition(http.StatusForbidden, Name("propfind-finite-depth"), "Depth: infinity is not supported; use 0 or 1")
	}
	return 0, Errorf(http.StatusBadRequest, "invalid Depth header")
}

func (h *Handler) propfind(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	depth, err := propfindDepth(r)
	if err != nil {
		return err
	}
	body, err := h.ReadBody(r)
	if err != nil {
		return err
	}
	pr, err := h.XMLLimits.ParsePropfind(body)
	if err != nil {
		return err
	}
	res, err := h.Backend.Resolve(ctx, CleanPath(r.URL.Path))
	if err != nil {
		return err
	}
	resources := []*Resource{res}
	if depth == 1 && res.Collection {
		children, err := h.Backend.Children(ctx, res)
		if err != nil {
			return err
		}
		resources = append(resources, children...)
	}
	ms := NewMultistatus(w)
	for _, rr := range resources {
		ps, err := h.PropStats(ctx, rr, pr, nil)
		if err != nil {
			if !ms.Started() {
				return err
			}
			h.Logger.ErrorContext(ctx, "propfind member failed", "path", rr.Path, "err", err)
			ms.StatusResponseAt(rr.URL(), http.StatusInternalServerError, nil)
			continue
		}
		ms.ResponseAt(rr.URL(), ps)
	}
	return ms.Close("")
}

func (h *Handler) proppatch(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	res, err := h.Backend.Resolve(ctx, CleanPath(r.URL.Path))
	if err != nil {
		return err
	}
	if err := h.checkLocks(r, res.Path, false); err != nil {
		return err
	}
	body, err := h.ReadBody(r)
	if err != nil {
		return err
	}
	ops, err := h.XMLLimits.ParsePropertyUpdate(body)
	if err != nil {
		return err
	}
	var refused *PropError
	for _, op := range ops {
		if p, ok := h.props[op.Prop.Name]; ok && p.Protected {
			refused = &PropError{Name: op.Prop.Name, Err: Precondition(http.StatusForbidden, Name("cannot-modify-protected-property"), "")}
			break
		}
	}
	if refused == nil {
		err = h.Backend.Patch(ctx, res, ops)
		if err != nil && !errors.As(err, &refused) {
			return err
		}
	}
	ms := NewMultistatus(w)
	if refused == nil {
		var names []PropValue
		for _, op := range ops {
			names = append(names, PropValue{Name: op.Prop.Name})
		}
		ms.ResponseAt(res.URL(), []PropStat{{Status: http.StatusOK, Props: dedupe(names)}})
		return ms.Close("")
	}
	var others []PropValue
	for _, op := range ops {
		if op.Prop.Name != refused.Name {
			others = append(others, PropValue{Name: op.Prop.Name})
		}
	}
	ms.ResponseAt(res.URL(), []PropStat{
		{Status: refused.Err.Status, Props: []PropValue{{Name: refused.Name}}, Error: refused.Err},
		{Status: http.StatusFailedDependency, Props: dedupe(others)},
	})
	return ms.Close("")
}

func dedupe(in []PropValue) []PropValue {
	seen := map[xml.Name]bool{}
	var out []PropValue
	for _, p := range in {
		if !seen[p.Name] {
			seen[p.Name] = true
			out = append(out, p)
		}
	}
	return out
}
