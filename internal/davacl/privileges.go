package davacl

import (
	"context"

	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/tree"
)

// privileges the owner of a resource holds (RFC 3744 5.4).
const ownerPrivileges = "<D:privilege><D:all/></D:privilege><D:privilege><D:read/></D:privilege>" +
	"<D:privilege><D:write/></D:privilege><D:privilege><D:write-properties/></D:privilege>" +
	"<D:privilege><D:write-content/></D:privilege><D:privilege><D:bind/></D:privilege>" +
	"<D:privilege><D:unbind/></D:privilege><D:privilege><D:unlock/></D:privilege>" +
	"<D:privilege><D:read-acl/></D:privilege><D:privilege><D:read-current-user-privilege-set/></D:privilege>" +
	"<D:privilege><C:read-free-busy/></D:privilege>"

// Privileges of a viewer of a virtual calendar, read-only or with a write
// target.
const (
	viewReaderPrivileges = "<D:privilege><D:read/></D:privilege><D:privilege><D:read-current-user-privilege-set/></D:privilege>" +
		"<D:privilege><C:read-free-busy/></D:privilege><D:privilege><D:write-properties/></D:privilege>"
	viewWriterPrivileges = viewReaderPrivileges + "<D:privilege><D:write-content/></D:privilege><D:privilege><D:bind/></D:privilege>" +
		"<D:privilege><D:unbind/></D:privilege>"
	viewObjectWriterPrivileges = "<D:privilege><D:read/></D:privilege><D:privilege><D:read-current-user-privilege-set/></D:privilege>" +
		"<D:privilege><D:write-content/></D:privilege>"
)

// sharePrivileges is what a sharee at level holds on a share. A free-busy
// sharee reads the busy blocks the share shows them; write-properties is
// their own name, colour and order of it.
func sharePrivileges(level domain.Level) string {
	p := "<D:privilege><D:read/></D:privilege><D:privilege><D:read-current-user-privilege-set/></D:privilege>" +
		"<D:privilege><C:read-free-busy/></D:privilege><D:privilege><D:write-properties/></D:privilege>"
	if level >= domain.LevelReadWrite {
		p += "<D:privilege><D:write/></D:privilege><D:privilege><D:write-content/></D:privilege>" +
			"<D:privilege><D:bind/></D:privilege><D:privilege><D:unbind/></D:privilege>"
	}
	if level >= domain.LevelAdmin {
		p += "<D:privilege><D:read-acl/></D:privilege>"
	}
	return p
}

// shareObjectPrivileges is what a sharee at level holds on an object of a
// share: reading it, and with read-write replacing and deleting it; the
// properties of the owner's objects stay the owner's.
func shareObjectPrivileges(level domain.Level) string {
	p := "<D:privilege><D:read/></D:privilege><D:privilege><D:read-current-user-privilege-set/></D:privilege>" +
		"<D:privilege><C:read-free-busy/></D:privilege>"
	if level >= domain.LevelReadWrite {
		p += "<D:privilege><D:write-content/></D:privilege>"
	}
	return p
}

// registerPrivileges adds current-user-privilege-set (RFC 3744 5.4):
// what the requesting user may do with a resource, as the domain decided.
func (a *acl) registerPrivileges() {
	a.h.RegisterProperty(dav.Property{Name: dav.Name("current-user-privilege-set"), Protected: true,
		Get: func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			u := domain.Principal(ctx)
			if o := tree.OwnerOf(r); o != "" && o == u {
				return []byte(ownerPrivileges), nil
			}
			switch d := r.Data.(type) {
			case *tree.Collection:
				if d.Share != nil {
					return []byte(sharePrivileges(d.Share.Level)), nil
				}
			case *tree.Object:
				if d.Parent != nil && d.Parent.Share != nil {
					return []byte(shareObjectPrivileges(d.Parent.Share.Level)), nil
				}
			case *tree.Virtual:
				if d.View.Writable() {
					return []byte(viewWriterPrivileges), nil
				}
				return []byte(viewReaderPrivileges), nil
			case *tree.VirtualObject:
				// What the viewer may replace or delete: an object of the
				// write target that they see whole.
				if t := d.View.WriteTarget(); t != nil && d.Source.ID == t.ID && d.Full {
					return []byte(viewObjectWriterPrivileges), nil
				}
			}
			return []byte("<D:privilege><D:read/></D:privilege><D:privilege><D:read-current-user-privilege-set/></D:privilege>"), nil
		}})
}
