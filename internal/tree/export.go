package tree

import (
	"bytes"
	"context"
	"io"

	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/domain"
)

// Export implements dav.Exporter: a calendar, virtual or not, answers GET
// with its objects as one iCalendar file and an address book with its
// cards, as the requester may see them (the target asks the authorizer,
// and a view renders for its viewer). The ETag follows the target's CTag,
// which changes whenever anything it shows does, and the file's name.
func (t *Tree) Export(ctx context.Context, r *dav.Resource) (*dav.Export, error) {
	d, ok := r.Data.(Container)
	if !ok {
		return nil, nil
	}
	target := d.Target()
	display, base := exportNames(d)
	ct, name, ok := domain.ExportFile(target.Kind(), display, base)
	if !ok {
		return nil, nil
	}
	ctag, err := target.CTag(ctx)
	if err != nil {
		return nil, err
	}
	return &dav.Export{ContentType: ct, ETag: domain.ExportETag(ctag, name), Filename: name,
		Write: func(w io.Writer) error { return target.Export(ctx, w) }}, nil
}

// exportNames are the names an export is offered under (see
// domain.ExportFile): the one the requester sees the collection by, and
// its own.
func exportNames(d Container) (display, name string) {
	switch d := d.(type) {
	case *Collection:
		return d.DisplayName, d.Name
	case *Virtual:
		return d.View.DisplayName(), d.View.VC.Name
	case *Directory:
		return domain.DirectoryDisplayName, ""
	}
	return "", ""
}

// exportBytes is a container's export whole, for the properties that need
// its length.
func exportBytes(ctx context.Context, d Container) ([]byte, error) {
	var b bytes.Buffer
	err := d.Target().Export(ctx, &b)
	return b.Bytes(), err
}
