package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/vcal"
)

// The access property of virtual calendars, over random worlds of users,
// groups, memberships (some left, under either policy), shares and nested
// definitions, changed at random after the definitions were saved: what a
// viewer receives through any view is part of what the view's owner can
// read now, at no more than the level the definition allows on some path
// to it. A viewer's own events are theirs to see whole.
//
// The oracle below is written from the documented rules, independently of
// the resolver: readable(reader, node) is the set of events with the most
// revealing level any path grants.
func TestVirtualCalendarAccessProperty(t *testing.T) {
	const worlds = 12
	for seed := range worlds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { accessWorld(t, uint64(seed)) })
	}
}

type worldEvent struct {
	owner, uid string
	past       bool // ended before the test clock's now
}

type worldMember struct {
	user   string
	level  vcal.Level
	left   bool
	joined bool
}

type worldGroup struct {
	name     string
	keepPast bool
	members  map[string]*worldMember
}

type worldVC struct {
	owner, name string
	def         domain.VCNode
	shared      []string
}

type accessWorldState struct {
	users  []string
	events []worldEvent
	groups map[string]*worldGroup
	vcs    map[string]*worldVC // "owner/name"
}

func accessWorld(t *testing.T, seed uint64) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, 12))
	srv := newTestServer(t)
	svc := srv.Service()
	w := &accessWorldState{users: []string{"alice", "bob"}, groups: map[string]*worldGroup{}, vcs: map[string]*worldVC{}}
	addUsers(t, srv, "carol", "dave")
	w.users = append(w.users, "carol", "dave")
	provision(t, srv, w.users...)
	for _, u := range w.users {
		for k := range 2 {
			past := k == 0
			day := "20260220"
			if past {
				day = "20260110"
			}
			uid := fmt.Sprintf("%s-%d", u, k)
			putEvent(t, srv, u, "/dav/calendars/"+u+"/default/"+uid+".ics", ics("BEGIN:VEVENT", "UID:"+uid,
				"DTSTART:"+day+"T100000Z", "DTEND:"+day+"T110000Z", "SUMMARY:S-"+uid, "DESCRIPTION:D-"+uid, "END:VEVENT"))
			w.events = append(w.events, worldEvent{owner: u, uid: uid, past: past})
		}
	}
	levels := []string{"full", "summary", "busy", "hidden"}
	for g := range 2 {
		name := fmt.Sprintf("g%d", g)
		wg := &worldGroup{name: name, keepPast: r.IntN(2) == 0, members: map[string]*worldMember{}}
		if err := svc.CreateGroup(ctx, name, name, wg.keepPast); err != nil {
			t.Fatal(err)
		}
		for _, u := range w.users {
			if r.IntN(3) == 0 {
				continue
			}
			lvl := levels[r.IntN(4)]
			if err := svc.AddMember(ctx, name, u, []domain.Contribution{{Calendar: "default", Level: lvl}}); err != nil {
				t.Fatal(err)
			}
			l, _ := vcal.ParseLevel(lvl)
			wg.members[u] = &worldMember{user: u, level: l, joined: true}
		}
		w.groups[name] = wg
	}
	// Random definitions, saved by their owners (refusals are fine: the
	// property is about what is accepted).
	var node func(depth int) domain.VCNode
	node = func(depth int) domain.VCNode {
		switch k := r.IntN(6); {
		case k == 0 || depth > 2:
			return domain.VCNode{Calendar: "default"}
		case k == 1:
			return domain.VCNode{Group: fmt.Sprintf("g%d", r.IntN(2))}
		case k == 2 && len(w.vcs) > 0:
			keys := make([]string, 0, len(w.vcs))
			for key := range w.vcs {
				keys = append(keys, key)
			}
			slices.Sort(keys)
			return domain.VCNode{VC: keys[r.IntN(len(keys))]}
		case k == 3:
			of := node(depth + 1)
			return domain.VCNode{Filter: &domain.FilterDef{Default: levels[r.IntN(3)]}, Of: &of}
		default:
			n := domain.VCNode{}
			for range 1 + r.IntN(3) {
				n.Union = append(n.Union, node(depth+1))
			}
			return n
		}
	}
	for i := range 10 {
		owner := w.users[r.IntN(len(w.users))]
		var shared []string
		for _, u := range w.users {
			if u != owner && r.IntN(2) == 0 {
				shared = append(shared, "user:"+u)
			}
		}
		if r.IntN(3) == 0 {
			shared = append(shared, fmt.Sprintf("group:g%d", r.IntN(2)))
		}
		vc := &worldVC{owner: owner, name: fmt.Sprintf("v%d", i), def: node(0), shared: shared}
		if _, err := svc.CreateVC(ctx, owner, domain.VCSpec{Name: vc.name, Definition: vc.def, SharedWith: shared}); err == nil {
			w.vcs[owner+"/"+vc.name] = vc
		}
	}
	// The world changes after the definitions were saved: members leave,
	// shares are withdrawn.
	for _, g := range w.groups {
		for _, m := range g.members {
			if r.IntN(3) == 0 {
				if err := svc.RemoveMember(ctx, g.name, m.user); err != nil {
					t.Fatal(err)
				}
				m.left = true
			}
		}
	}
	for key, vc := range w.vcs {
		if len(vc.shared) > 0 && r.IntN(3) == 0 {
			vc.shared = vc.shared[:len(vc.shared)-1]
			if _, err := svc.UpdateVC(ctx, vc.owner, vc.name, domain.VCSpec{Definition: vc.def, SharedWith: vc.shared}); err != nil {
				t.Fatalf("unshare %s: %v", key, err)
			}
		}
	}

	checked := 0
	for _, viewer := range w.users {
		views, err := svc.VisibleVCs(domain.WithPrincipal(ctx, viewer), viewer)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range views {
			var allowed map[string]vcal.Level
			var sees bool
			var pastOnly bool
			if g, ok := strings.CutPrefix(v.VC.Owner, "group:"); ok {
				sees, pastOnly = w.memberAccess(g, viewer)
				allowed = w.groupEvents(g)
			} else {
				vc := w.vcs[v.VC.Owner+"/"+v.VC.Name]
				sees, pastOnly = w.vcAccess(vc, viewer)
				allowed = w.readable(vc.owner, vc.def, map[string]bool{})
			}
			if !sees {
				t.Errorf("%s receives %s/%s, which is not shared with them now", viewer, v.VC.Owner, v.VC.Name)
				continue
			}
			objs, err := svc.VCObjects(ctx, v, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range objs {
				checked++
				ev := w.event(o.UID)
				if ev.owner == viewer {
					continue // their own
				}
				data := string(o.Data)
				lvl, ok := allowed[o.UID]
				if !ok || lvl == vcal.Hidden || (pastOnly && !ev.past) {
					t.Errorf("%s receives %s through %s/%s, which its owner may not read (allowed %v, past only %v)", viewer, o.UID, v.VC.Owner, v.VC.Name, lvl, pastOnly)
					continue
				}
				if lvl > vcal.Full && strings.Contains(data, "D-"+o.UID) {
					t.Errorf("%s receives %s's description through %s/%s, allowed only %v", viewer, o.UID, v.VC.Owner, v.VC.Name, lvl)
				}
				if lvl > vcal.Summary && strings.Contains(data, "S-"+o.UID) {
					t.Errorf("%s receives %s's title through %s/%s, allowed only %v", viewer, o.UID, v.VC.Owner, v.VC.Name, lvl)
				}
			}
		}
	}
	t.Logf("%d served objects checked in %d views", checked, len(w.vcs))
}

func (w *accessWorldState) event(uid string) worldEvent {
	for _, e := range w.events {
		if e.uid == uid {
			return e
		}
	}
	return worldEvent{}
}

// memberAccess is what membership of group gives user: access, and
// whether only what ended before they left.
func (w *accessWorldState) memberAccess(group, user string) (ok, pastOnly bool) {
	m := w.groups[group].members[user]
	switch {
	case m == nil:
		return false, false
	case !m.left:
		return true, false
	case w.groups[group].keepPast:
		return true, true
	}
	return false, false
}

// vcAccess is whether reader may read vc now (and only its past).
func (w *accessWorldState) vcAccess(vc *worldVC, reader string) (ok, pastOnly bool) {
	if vc.owner == reader || slices.Contains(vc.shared, "user:"+reader) {
		return true, false
	}
	for _, sh := range vc.shared {
		if g, isGroup := strings.CutPrefix(sh, "group:"); isGroup {
			if in, past := w.memberAccess(g, reader); in {
				if !past {
					return true, false
				}
				ok, pastOnly = true, true
			}
		}
	}
	return ok, pastOnly
}

// groupEvents is what a group's calendar holds: each member's
// contribution at its level, only the past of members who left under the
// keep-the-past policy, nothing of the others who left.
func (w *accessWorldState) groupEvents(group string) map[string]vcal.Level {
	g := w.groups[group]
	out := map[string]vcal.Level{}
	for _, m := range g.members {
		if m.left && !g.keepPast {
			continue
		}
		for _, e := range w.events {
			if e.owner == m.user && (!m.left || e.past) {
				merge(out, e.uid, m.level)
			}
		}
	}
	return out
}

func merge(out map[string]vcal.Level, uid string, l vcal.Level) {
	if cur, ok := out[uid]; !ok || l < cur {
		out[uid] = l
	}
}

// readable is what reader may read through node now, each event at the
// most revealing level some path allows.
func (w *accessWorldState) readable(reader string, n domain.VCNode, visiting map[string]bool) map[string]vcal.Level {
	out := map[string]vcal.Level{}
	switch {
	case n.Calendar != "":
		for _, e := range w.events {
			if e.owner == reader && n.Calendar == "default" {
				out[e.uid] = vcal.Full
			}
		}
	case n.Group != "":
		in, past := w.memberAccess(n.Group, reader)
		if !in {
			return out
		}
		for uid, l := range w.groupEvents(n.Group) {
			if !past || w.event(uid).past {
				merge(out, uid, l)
			}
		}
	case n.VC != "":
		key := n.VC
		if !strings.Contains(key, "/") {
			key = reader + "/" + key
		}
		vc := w.vcs[key]
		if vc == nil || visiting[key] {
			return out
		}
		in, past := w.vcAccess(vc, reader)
		if !in {
			return out
		}
		visiting[key] = true
		for uid, l := range w.readable(vc.owner, vc.def, visiting) {
			if !past || w.event(uid).past {
				merge(out, uid, l)
			}
		}
		delete(visiting, key)
	case n.Filter != nil:
		def, _ := vcal.ParseLevel(n.Filter.Default)
		for uid, l := range w.readable(reader, *n.Of, visiting) {
			merge(out, uid, vcal.Stricter(l, def))
		}
	default:
		for _, sub := range n.Union {
			for uid, l := range w.readable(reader, sub, visiting) {
				merge(out, uid, l)
			}
		}
	}
	return out
}
