package tree

import (
	"bytes"
	"context"
	"io"
	"path"
	"strings"

	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
)

// Types of the files calendars and address books answer GET with.
const (
	calendarExportType = "text/calendar; charset=utf-8"
	cardsExportType    = "text/vcard; charset=utf-8"
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
	ct, ext := exportType(target.Kind())
	if ct == "" {
		return nil, nil
	}
	ctag, err := target.CTag(ctx)
	if err != nil {
		return nil, err
	}
	name := exportFilename(d) + ext
	return &dav.Export{ContentType: ct, ETag: domain.ExportETag(ctag, name), Filename: name,
		Write: func(w io.Writer) error { return target.Export(ctx, w) }}, nil
}

// exportType is the type and file name extension of what a target of kind
// exports; "" for kinds that export nothing.
func exportType(kind store.Kind) (contentType, ext string) {
	switch kind {
	case store.KindCalendar:
		return calendarExportType, ".ics"
	case store.KindAddressBook:
		return cardsExportType, ".vcf"
	}
	return "", ""
}

// exportFilename is what an export is offered to be saved as: the name the
// requester sees the collection by, without characters file systems
// refuse.
func exportFilename(d Container) string {
	var name string
	switch d := d.(type) {
	case *Collection:
		name = d.DisplayName
		if name == "" {
			name = path.Base(d.Name)
		}
	case *Virtual:
		name = d.View.DisplayName()
	case *Directory:
		name = domain.DirectoryDisplayName
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`/\:*?"<>|`, r) {
			return '_'
		}
		return r
	}, strings.TrimSpace(name))
	if name == "" || name == "." || name == ".." {
		name = "export"
	}
	return name
}

// exportBytes is a container's export whole, for the properties that need
// its length.
func exportBytes(ctx context.Context, d Container) ([]byte, error) {
	var b bytes.Buffer
	err := d.Target().Export(ctx, &b)
	return b.Bytes(), err
}
