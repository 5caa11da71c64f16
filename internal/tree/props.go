package tree

import (
	"context"
	"encoding/xml"
	"errors"
	"strconv"
	"strings"

	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/domain"
)

func href(p string) []byte { return []byte("<D:href>" + dav.Href(p) + "</D:href>") }

// Register adds the namespace's properties to the engine.
func (t *Tree) Register(h *dav.Handler) {
	h.MapError = MapError
	h.Principal = func(ctx context.Context) string {
		if u := domain.Principal(ctx); u != "" {
			return PrincipalPath(u)
		}
		return ""
	}
	h.RegisterProperty(dav.Property{Name: dav.Name("current-user-principal"), Protected: true,
		Get: func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			if u := domain.Principal(ctx); u != "" {
				return href(PrincipalPath(u)), nil
			}
			return []byte("<D:unauthenticated/>"), nil
		}})
	h.RegisterProperty(dav.Property{Name: dav.Name("principal-URL"), Protected: true,
		Get: func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			if p, ok := r.Data.(*Principal); ok {
				return href(PrincipalPath(p.User.Name)), nil
			}
			return nil, dav.ErrNoProperty
		}})
	h.RegisterProperty(dav.Property{Name: dav.Name("principal-collection-set"), Protected: true,
		Get: func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			return href(principalsPath), nil
		}})
	h.RegisterProperty(dav.Property{Name: dav.Name("displayname"), AllProp: true,
		Get: func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			switch d := r.Data.(type) {
			case *Principal:
				name := d.User.DisplayName
				if name == "" {
					name = d.User.Name
				}
				return []byte(dav.EscapeText(name)), nil
			case *Collection:
				if d.DisplayName == "" {
					return nil, dav.ErrNoProperty
				}
				return []byte(dav.EscapeText(d.DisplayName)), nil
			case *Virtual:
				return []byte(dav.EscapeText(d.View.DisplayName())), nil
			case *Directory:
				return []byte(dav.EscapeText(domain.DirectoryDisplayName)), nil
			}
			return nil, dav.ErrNoProperty
		}})
	h.RegisterProperty(dav.Property{Name: dav.Name("owner"), Protected: true,
		Get: func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			if o := ownerOf(r); o != "" {
				return href(PrincipalPath(o)), nil
			}
			if v, ok := r.Data.(*Virtual); ok && !strings.HasPrefix(v.View.VC.Owner, "group:") {
				return href(PrincipalPath(v.View.VC.Owner)), nil
			}
			return nil, dav.ErrNoProperty
		}})
	h.RegisterProperty(dav.Property{Name: dav.Name("creationdate"), Protected: true,
		Get: func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			if d, ok := r.Data.(*Collection); ok && !d.Created.IsZero() {
				return []byte(d.Created.UTC().Format("2006-01-02T15:04:05Z")), nil
			}
			return nil, dav.ErrNoProperty
		}})
	// A container's sync-token and getctag are its target's; the
	// directory has a ctag but no sync token (see directory.go).
	tag := func(get func(domain.Target, context.Context) (string, error)) func(context.Context, *dav.Resource) ([]byte, error) {
		return func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			c, ok := r.Data.(Container)
			if !ok {
				return nil, dav.ErrNoProperty
			}
			v, err := get(c.Target(), ctx)
			if errors.Is(err, domain.ErrNoChangeLog) {
				return nil, dav.ErrNoProperty
			}
			if err != nil {
				return nil, err
			}
			return []byte(dav.EscapeText(v)), nil
		}
	}
	h.RegisterProperty(dav.Property{Name: dav.Name("sync-token"), Protected: true, Get: tag(domain.Target.SyncToken)})
	h.RegisterProperty(dav.Property{Name: xmlName(dav.NSCalServer, "getctag"), Protected: true, Get: tag(domain.Target.CTag)})
	h.RegisterProperty(dav.Property{Name: dav.Name("quota-used-bytes"), Protected: true,
		Get: func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			d, ok := r.Data.(*Collection)
			if !ok {
				return nil, dav.ErrNoProperty
			}
			objs, err := t.svc.ListObjects(ctx, d.Collection, false)
			if err != nil {
				return nil, err
			}
			var n int64
			for _, o := range objs {
				n += o.Size
			}
			return []byte(strconv.FormatInt(n, 10)), nil
		}})
	// Principal properties of CalDAV (RFC 4791 6.2, RFC 6638 2.4.1) live
	// here because they describe the namespace's layout.
	h.RegisterProperty(dav.Property{Name: xmlName(dav.NSCalDAV, "calendar-home-set"), Protected: true,
		Get: func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			if p, ok := r.Data.(*Principal); ok {
				return href(HomePath(p.User.Name)), nil
			}
			return nil, dav.ErrNoProperty
		}})
	h.RegisterProperty(dav.Property{Name: xmlName(dav.NSCalDAV, "calendar-user-address-set"), Protected: true,
		Get: func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			p, ok := r.Data.(*Principal)
			if !ok {
				return nil, dav.ErrNoProperty
			}
			var b []byte
			if p.User.Email != "" {
				b = append(b, "<D:href>mailto:"+dav.EscapeText(p.User.Email)+"</D:href>"...)
			}
			return append(b, href(PrincipalPath(p.User.Name))...), nil
		}})
	h.RegisterProperty(dav.Property{Name: xmlName(dav.NSCalDAV, "calendar-user-type"), Protected: true,
		Get: func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			if _, ok := r.Data.(*Principal); ok {
				return []byte("INDIVIDUAL"), nil
			}
			return nil, dav.ErrNoProperty
		}})
	h.RegisterProperty(dav.Property{Name: xmlName(dav.NSCalServer, "email-address-set"), Protected: true,
		Get: func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			if p, ok := r.Data.(*Principal); ok && p.User.Email != "" {
				return []byte("<CS:email-address>" + dav.EscapeText(p.User.Email) + "</CS:email-address>"), nil
			}
			return nil, dav.ErrNoProperty
		}})
	h.RegisterProperty(dav.Property{Name: dav.Name("email"), Protected: true,
		Get: func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			if p, ok := r.Data.(*Principal); ok && p.User.Email != "" {
				return []byte(dav.EscapeText(p.User.Email)), nil
			}
			return nil, dav.ErrNoProperty
		}})
}

func xmlName(space, local string) xml.Name { return xml.Name{Space: space, Local: local} }
