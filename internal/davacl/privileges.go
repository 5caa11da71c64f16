package davacl

import (
	"context"
	"strings"

	"koyomi.dev/koyomi/internal/dav"
	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/tree"
)

// privilegeXML renders privileges as current-user-privilege-set lists
// them (read-free-busy is CalDAV's, the rest RFC 3744's).
func privilegeXML(privs []domain.Privilege) []byte {
	var b strings.Builder
	for _, p := range privs {
		ns := "D"
		if p == domain.PrivReadFreeBusy {
			ns = "C"
		}
		b.WriteString("<D:privilege><" + ns + ":" + string(p) + "/></D:privilege>")
	}
	return []byte(b.String())
}

// registerPrivileges adds current-user-privilege-set (RFC 3744 5.4):
// what the requesting user may do with a resource, as the domain decided:
// the owner everything, on a container and its members what its target
// grants, elsewhere reading.
func (a *acl) registerPrivileges() {
	a.h.RegisterProperty(dav.Property{Name: dav.Name("current-user-privilege-set"), Protected: true,
		Get: func(ctx context.Context, r *dav.Resource) ([]byte, error) {
			if o := tree.OwnerOf(r); o != "" && o == domain.Principal(ctx) {
				return privilegeXML(domain.OwnerPrivileges), nil
			}
			switch d := r.Data.(type) {
			case tree.Container:
				return privilegeXML(d.Target().Privileges()), nil
			case *tree.Object:
				return privilegeXML(d.Parent.Target().ItemPrivileges(d.Item)), nil
			}
			return privilegeXML(domain.ReaderPrivileges), nil
		}})
}
