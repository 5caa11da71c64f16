package domain

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/vcal"
)

// VCNode is one node of a virtual calendar's definition: exactly one of a
// calendar of the owner's, another virtual calendar, a group's
// contributions, a filter of a node, or a union of nodes.
type VCNode struct {
	Calendar string     `json:"calendar,omitempty"`
	VC       string     `json:"vc,omitempty"` // "name" (the owner's) or "owner/name"
	Group    string     `json:"group,omitempty"`
	Filter   *FilterDef `json:"filter,omitempty"`
	Of       *VCNode    `json:"of,omitempty"`
	Union    []VCNode   `json:"union,omitempty"`
}

// FilterDef is a filter in a definition (see vcal.Filter).
type FilterDef struct {
	Default string    `json:"default"`
	Zone    string    `json:"zone,omitempty"`
	Rules   []RuleDef `json:"rules,omitempty"`
}

// RuleDef is a filter rule in a definition (see vcal.Rule). Weekdays are
// "mon" … "sun"; times "HH:MM"; dates "YYYY-MM-DD".
type RuleDef struct {
	Level         string   `json:"level"`
	Weekdays      []string `json:"weekdays,omitempty"`
	NotWeekdays   bool     `json:"not_weekdays,omitempty"`
	From          string   `json:"from,omitempty"`
	To            string   `json:"to,omitempty"`
	NotTime       bool     `json:"not_time,omitempty"`
	DateFrom      string   `json:"date_from,omitempty"`
	DateTo        string   `json:"date_to,omitempty"`
	NotDates      bool     `json:"not_dates,omitempty"`
	Zone          string   `json:"zone,omitempty"`
	Categories    []string `json:"categories,omitempty"`
	NotCategories bool     `json:"not_categories,omitempty"`
	Sources       []string `json:"sources,omitempty"`
	NotSources    bool     `json:"not_sources,omitempty"`
	Classes       []string `json:"classes,omitempty"`
	NotClasses    bool     `json:"not_classes,omitempty"`
	Transp        string   `json:"transp,omitempty"`
	NotTransp     bool     `json:"not_transp,omitempty"`
}

// VCSpec is what a user gives to create or change a virtual calendar.
type VCSpec struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"displayname,omitempty"`
	Color       string   `json:"color,omitempty"`
	Definition  VCNode   `json:"definition"`
	SharedWith  []string `json:"shared_with,omitempty"` // "user:NAME" or "group:NAME"
	// WriteTarget names one of the owner's calendars that PUTs into the
	// virtual calendar land in (empty: read-only).
	WriteTarget string `json:"write_target,omitempty"`
}

// storedDefinition is what the store keeps as a VC's Definition.
type storedDefinition struct {
	Node        VCNode `json:"node"`
	WriteTarget string `json:"write_target,omitempty"`
}

// ParseLevel reads a visibility level: full, summary, busy or hidden.
func ParseLevel(s string) (vcal.Level, error) {
	l, err := vcal.ParseLevel(s)
	if err != nil {
		return 0, fmt.Errorf("%w: level %q (use full, summary, busy or hidden)", ErrInvalidName, s)
	}
	return l, nil
}

var weekdayNames = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// compile turns a filter definition into the engine's filter.
func (f *FilterDef) compile() (*vcal.Filter, error) {
	def, err := ParseLevel(f.Default)
	if err != nil {
		return nil, err
	}
	out := &vcal.Filter{Default: def, Zone: f.Zone}
	for i, r := range f.Rules {
		lvl, err := ParseLevel(r.Level)
		if err != nil {
			return nil, fmt.Errorf("rule %d: %w", i+1, err)
		}
		vr := vcal.Rule{Level: lvl, NotWeekdays: r.NotWeekdays, NotTimeOfDay: r.NotTime, NotDates: r.NotDates,
			Zone: r.Zone, Categories: r.Categories, NotCategories: r.NotCategories, Sources: r.Sources,
			NotSources: r.NotSources, Classes: r.Classes, NotClasses: r.NotClasses, Transp: r.Transp, NotTransp: r.NotTransp}
		for _, d := range r.Weekdays {
			wd, ok := weekdayNames[strings.ToLower(d)]
			if !ok {
				return nil, fmt.Errorf("%w: rule %d: weekday %q (use mon, tue, wed, thu, fri, sat, sun)", ErrInvalidName, i+1, d)
			}
			vr.Weekdays = append(vr.Weekdays, wd)
		}
		if r.From != "" || r.To != "" {
			vr.TimeOfDay = &vcal.TimeWindow{From: r.From, To: r.To}
		}
		if r.DateFrom != "" || r.DateTo != "" {
			vr.Dates = &vcal.DateRange{From: r.DateFrom, To: r.DateTo}
		}
		out.Rules = append(out.Rules, vr)
	}
	if err := out.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidName, err)
	}
	return out, nil
}

// validate checks the shape of a node (one kind per node).
func (n *VCNode) validate() error {
	kinds := 0
	for _, set := range []bool{n.Calendar != "", n.VC != "", n.Group != "", n.Filter != nil, len(n.Union) > 0} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return fmt.Errorf("%w: each definition node needs exactly one of calendar, vc, group, filter (with of) or union", ErrInvalidName)
	}
	if n.Filter != nil {
		if n.Of == nil {
			return fmt.Errorf("%w: a filter needs \"of\": the virtual calendar it filters", ErrInvalidName)
		}
		if _, err := n.Filter.compile(); err != nil {
			return err
		}
		return n.Of.validate()
	}
	if n.Of != nil {
		return fmt.Errorf("%w: \"of\" belongs with a filter", ErrInvalidName)
	}
	for i := range n.Union {
		if err := n.Union[i].validate(); err != nil {
			return err
		}
	}
	return nil
}

// vcRef splits a vc reference relative to owner.
func vcRef(owner, ref string) (string, string) {
	if o, n, ok := strings.Cut(ref, "/"); ok {
		return o, n
	}
	return owner, ref
}

// canSee reports whether principal (a user) may see vc, and from when on
// their access ends (zero: no limit) for a group member who left.
func canSee(ctx context.Context, tx store.Tx, vc *store.VirtualCalendar, user string) (ok bool, until time.Time, err error) {
	if vc.Owner == user {
		return true, time.Time{}, nil
	}
	for _, sh := range vc.SharedWith {
		if sh == "user:"+user {
			return true, time.Time{}, nil
		}
	}
	ms, err := tx.UserMemberships(ctx, user)
	if err != nil {
		return false, time.Time{}, err
	}
	for _, m := range ms {
		if !slices.Contains(vc.SharedWith, "group:"+m.Group) {
			continue
		}
		if m.Left.IsZero() {
			return true, time.Time{}, nil
		}
		g, err := tx.GetGroup(ctx, m.Group)
		if err != nil {
			return false, time.Time{}, err
		}
		if g.KeepPast {
			ok, until = true, m.Left
		}
	}
	return ok, until, nil
}

// vcSource is one calendar feeding a virtual calendar, with the filters
// between it and the viewer.
type vcSource struct {
	coll  *store.Collection
	chain []*vcal.Filter
}

// sourceID names a source calendar in rules (Rule.Sources).
func sourceID(c *store.Collection) string { return c.Owner + "/" + c.Name }

// pastOnly is a filter hiding every occurrence that reaches instant t:
// what a member who left still shares or sees under a keep-the-past policy
// is what ended before they left.
func pastOnly(t time.Time) *vcal.Filter {
	return &vcal.Filter{Default: vcal.Full, Rules: []vcal.Rule{{Level: vcal.Hidden, Since: t}}}
}

// resolver expands definitions into sources, detecting cycles and
// checking that each owner may read what their definition names.
type resolver struct {
	ctx  context.Context
	tx   store.Tx
	path []string // VCs being expanded, for cycle detection
	// key accumulates everything the result depends on besides the
	// sources' contents, for ETags and sync tokens.
	key strings.Builder
}

func (r *resolver) node(owner string, n *VCNode, chain []*vcal.Filter) ([]vcSource, error) {
	ctx, tx := r.ctx, r.tx
	switch {
	case n.Calendar != "":
		if strings.HasPrefix(owner, "group:") {
			return nil, fmt.Errorf("%w: a group's calendar cannot name a calendar directly", ErrInvalidName)
		}
		c, err := tx.GetCollection(ctx, owner, n.Calendar)
		if err != nil || c.Kind != store.KindCalendar {
			return nil, fmt.Errorf("%w: %s has no calendar %q", ErrNotFound, owner, n.Calendar)
		}
		return []vcSource{{coll: c, chain: chain}}, nil
	case n.Filter != nil:
		f, err := n.Filter.compile()
		if err != nil {
			return nil, err
		}
		return r.node(owner, n.Of, append(slices.Clone(chain), f))
	case len(n.Union) > 0:
		var out []vcSource
		for i := range n.Union {
			srcs, err := r.node(owner, &n.Union[i], chain)
			if err != nil {
				return nil, err
			}
			out = append(out, srcs...)
		}
		return out, nil
	case n.VC != "":
		refOwner, refName := vcRef(owner, n.VC)
		vc, err := tx.GetVirtualCalendar(ctx, refOwner, refName)
		if err != nil {
			return nil, fmt.Errorf("%w: no virtual calendar %s/%s", ErrNotFound, refOwner, refName)
		}
		if !strings.HasPrefix(owner, "group:") {
			ok, until, err := canSee(ctx, tx, vc, owner)
			if err != nil {
				return nil, err
			}
			if !ok {
				// Said as for a missing one, so that definitions cannot probe
				// for other people's virtual calendars.
				return nil, fmt.Errorf("%w: no virtual calendar %s/%s", ErrNotFound, refOwner, refName)
			}
			if !until.IsZero() {
				chain = append(slices.Clone(chain), pastOnly(until))
			}
		}
		return r.vc(vc, chain)
	case n.Group != "":
		g, err := tx.GetGroup(ctx, n.Group)
		if err != nil {
			return nil, fmt.Errorf("%w: no group %q", ErrNotFound, n.Group)
		}
		ms, err := tx.Memberships(ctx, g.Name)
		if err != nil {
			return nil, err
		}
		var out []vcSource
		for _, m := range ms {
			fmt.Fprintf(&r.key, "|m:%s:%s:%d:%x", g.Name, m.User, m.Left.UnixMicro(), sha256.Sum256(m.Contributions))
			if !m.Left.IsZero() && !g.KeepPast {
				continue
			}
			var contribs []Contribution
			if err := json.Unmarshal(m.Contributions, &contribs); err != nil {
				continue
			}
			for _, cb := range contribs {
				c, err := tx.GetCollection(ctx, m.User, cb.Calendar)
				if err != nil || c.Kind != store.KindCalendar {
					continue // a contribution whose calendar is gone contributes nothing
				}
				lvl, err := ParseLevel(cb.Level)
				if err != nil {
					continue
				}
				ch := append(slices.Clone(chain), &vcal.Filter{Default: lvl})
				if !m.Left.IsZero() {
					ch = append(ch, pastOnly(m.Left))
				}
				out = append(out, vcSource{coll: c, chain: ch})
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: empty definition node", ErrInvalidName)
}

func (r *resolver) vc(vc *store.VirtualCalendar, chain []*vcal.Filter) ([]vcSource, error) {
	id := vc.Owner + "/" + vc.Name
	if i := slices.Index(r.path, id); i >= 0 {
		return nil, fmt.Errorf("%w: cycle: %s", ErrConflict, strings.Join(append(r.path[i:], id), " → "))
	}
	r.path = append(r.path, id)
	defer func() { r.path = r.path[:len(r.path)-1] }()
	fmt.Fprintf(&r.key, "|v:%d:%d", vc.ID, vc.Version)
	var def storedDefinition
	if err := json.Unmarshal(vc.Definition, &def); err != nil {
		return nil, fmt.Errorf("virtual calendar %s: stored definition: %w", id, err)
	}
	return r.node(vc.Owner, &def.Node, chain)
}

// VCView is a virtual calendar as one viewer sees it.
type VCView struct {
	VC      *store.VirtualCalendar
	Viewer  string
	sources []vcSource
	key     string // hash of what the view depends on besides source contents
	window  ical.TimeRange
	target  string // write target calendar name, "" when read-only
}

// Key identifies the definition state of the view (changes whenever the
// definitions, memberships or evaluation window it depends on change).
func (v *VCView) Key() string { return v.key }

// Writable reports whether PUTs into the view land in a calendar.
func (v *VCView) Writable() bool { return v.target != "" }

// evaluationWindow is the span whose occurrences are evaluated one by one:
// a year back to two years ahead, anchored to the month so that output
// (and ETags) stay stable between definition changes.
func evaluationWindow(now time.Time) ical.TimeRange {
	start := time.Date(now.Year()-1, now.Month(), 1, 0, 0, 0, 0, time.UTC)
	return ical.TimeRange{Start: start, End: start.AddDate(3, 0, 0)}
}

// loadView builds vc's view for viewer inside tx.
func (s *Service) loadView(ctx context.Context, tx store.Tx, vc *store.VirtualCalendar, viewer string) (*VCView, error) {
	ok, until, err := canSee(ctx, tx, vc, viewer)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: virtual calendar %d", ErrNotFound, vc.ID)
	}
	var chain []*vcal.Filter
	if !until.IsZero() {
		chain = append(chain, pastOnly(until))
	}
	r := &resolver{ctx: ctx, tx: tx}
	srcs, err := r.vc(vc, chain)
	if err != nil {
		return nil, err
	}
	v := &VCView{VC: vc, Viewer: viewer, sources: srcs, window: evaluationWindow(s.opts.Clock())}
	fmt.Fprintf(&r.key, "|w:%s|u:%s|t:%d", v.window.Start.Format("200601"), viewer, until.UnixMicro())
	var def storedDefinition
	if json.Unmarshal(vc.Definition, &def) == nil {
		v.target = def.WriteTarget
	}
	if def.Node.Group != "" {
		// A group calendar's members write into their first contribution.
		ms, _ := tx.UserMemberships(ctx, viewer)
		for _, m := range ms {
			var cs []Contribution
			if m.Group == def.Node.Group && m.Left.IsZero() && json.Unmarshal(m.Contributions, &cs) == nil && len(cs) > 0 {
				v.target = cs[0].Calendar
			}
		}
	}
	sum := sha256.Sum256([]byte(r.key.String()))
	v.key = hex.EncodeToString(sum[:8])
	return v, nil
}

// CreateVC defines a virtual calendar owned by the context's user (or by
// owner when called by the system).
func (s *Service) CreateVC(ctx context.Context, owner string, spec VCSpec) (*store.VirtualCalendar, error) {
	if err := authorize(ctx, owner); err != nil {
		return nil, err
	}
	vc := &store.VirtualCalendar{Owner: owner}
	if err := s.applySpec(vc, spec); err != nil {
		return nil, err
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateVirtualCalendar(ctx, vc); err != nil {
			return err
		}
		return s.checkVC(ctx, tx, vc)
	})
	return vc, mapStoreErr(err)
}

// UpdateVC replaces a virtual calendar's definition; old ETags and sync
// tokens of every view become invalid.
func (s *Service) UpdateVC(ctx context.Context, owner, name string, spec VCSpec) (*store.VirtualCalendar, error) {
	if err := authorize(ctx, owner); err != nil {
		return nil, err
	}
	var vc *store.VirtualCalendar
	err := s.store.Update(ctx, func(tx store.Tx) error {
		var err error
		if vc, err = tx.GetVirtualCalendar(ctx, owner, name); err != nil {
			return err
		}
		spec.Name = name
		if err := s.applySpec(vc, spec); err != nil {
			return err
		}
		if err := tx.UpdateVirtualCalendar(ctx, vc); err != nil {
			return err
		}
		return s.checkVC(ctx, tx, vc)
	})
	return vc, mapStoreErr(err)
}

// DeleteVC removes a virtual calendar (sources are untouched).
func (s *Service) DeleteVC(ctx context.Context, owner, name string) error {
	if err := authorize(ctx, owner); err != nil {
		return err
	}
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error {
		vc, err := tx.GetVirtualCalendar(ctx, owner, name)
		if err != nil {
			return err
		}
		return tx.DeleteVirtualCalendar(ctx, vc.ID)
	}))
}

// VC returns one of owner's virtual calendars with its specification.
func (s *Service) VC(ctx context.Context, owner, name string) (*store.VirtualCalendar, VCSpec, error) {
	if err := authorize(ctx, owner); err != nil {
		return nil, VCSpec{}, err
	}
	var vc *store.VirtualCalendar
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		vc, err = tx.GetVirtualCalendar(ctx, owner, name)
		return err
	})
	if err != nil {
		return nil, VCSpec{}, mapStoreErr(err)
	}
	return vc, SpecOf(vc), nil
}

// SpecOf returns the specification a stored virtual calendar was made from.
func SpecOf(vc *store.VirtualCalendar) VCSpec {
	var def storedDefinition
	_ = json.Unmarshal(vc.Definition, &def)
	return VCSpec{Name: vc.Name, DisplayName: vc.DisplayName, Color: vc.Color, Definition: def.Node,
		SharedWith: vc.SharedWith, WriteTarget: def.WriteTarget}
}

// OwnedVCs lists the virtual calendars owner defined.
func (s *Service) OwnedVCs(ctx context.Context, owner string) ([]*store.VirtualCalendar, error) {
	if err := authorize(ctx, owner); err != nil {
		return nil, err
	}
	var out []*store.VirtualCalendar
	err := s.store.View(ctx, func(tx store.Tx) error {
		all, err := tx.ListVirtualCalendars(ctx)
		for _, vc := range all {
			if vc.Owner == owner {
				out = append(out, vc)
			}
		}
		return err
	})
	return out, mapStoreErr(err)
}

func (s *Service) applySpec(vc *store.VirtualCalendar, spec VCSpec) error {
	if !ValidCollectionName(spec.Name) || strings.Contains(spec.Name, "/") {
		return fmt.Errorf("%w: virtual calendar name %q", ErrInvalidName, spec.Name)
	}
	if err := spec.Definition.validate(); err != nil {
		return err
	}
	for _, sh := range spec.SharedWith {
		kind, name, ok := strings.Cut(sh, ":")
		if !ok || (kind != "user" && kind != "group") || !ValidUserName(name) {
			return fmt.Errorf("%w: share %q (use user:NAME or group:NAME)", ErrInvalidName, sh)
		}
	}
	def, err := json.Marshal(storedDefinition{Node: spec.Definition, WriteTarget: spec.WriteTarget})
	if err != nil {
		return err
	}
	vc.Name, vc.DisplayName, vc.Color, vc.Definition = spec.Name, spec.DisplayName, spec.Color, def
	vc.SharedWith = slices.Clone(spec.SharedWith)
	if vc.DisplayName == "" {
		vc.DisplayName = spec.Name
	}
	return nil
}

// checkVC resolves a just-stored definition: names exist, the owner may
// read them, no cycles, and a write target is one of the owner's calendars.
func (s *Service) checkVC(ctx context.Context, tx store.Tx, vc *store.VirtualCalendar) error {
	r := &resolver{ctx: ctx, tx: tx}
	if _, err := r.vc(vc, nil); err != nil {
		return err
	}
	// A share with a user who does not exist would be inherited by whoever
	// takes the name later. (Groups are made by administrators, who may
	// share a calendar with a group before creating it.)
	for _, sh := range vc.SharedWith {
		if name, ok := strings.CutPrefix(sh, "user:"); ok {
			if _, err := tx.GetUser(ctx, name); err != nil {
				return fmt.Errorf("%w: cannot share with %s: no such user", ErrInvalidName, sh)
			}
		}
	}
	var def storedDefinition
	if err := json.Unmarshal(vc.Definition, &def); err != nil {
		return err
	}
	if def.WriteTarget != "" {
		c, err := tx.GetCollection(ctx, vc.Owner, def.WriteTarget)
		if err != nil || c.Kind != store.KindCalendar {
			return fmt.Errorf("%w: write target %q is not a calendar of %s", ErrInvalidName, def.WriteTarget, vc.Owner)
		}
	}
	return nil
}

// VisibleVCs lists the views of the virtual calendars viewer may see.
func (s *Service) VisibleVCs(ctx context.Context, viewer string) ([]*VCView, error) {
	if err := authorize(ctx, viewer); err != nil {
		return nil, err
	}
	var out []*VCView
	err := s.store.View(ctx, func(tx store.Tx) error {
		all, err := tx.ListVirtualCalendars(ctx)
		if err != nil {
			return err
		}
		for _, vc := range all {
			v, err := s.loadView(ctx, tx, vc, viewer)
			if err != nil {
				if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrInvalidName) {
					continue
				}
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	return out, mapStoreErr(err)
}

// ViewVC returns virtual calendar id as viewer sees it.
func (s *Service) ViewVC(ctx context.Context, viewer string, id int64) (*VCView, error) {
	if err := authorize(ctx, viewer); err != nil {
		return nil, err
	}
	var v *VCView
	err := s.store.View(ctx, func(tx store.Tx) error {
		vc, err := tx.GetVirtualCalendarByID(ctx, id)
		if err != nil {
			return err
		}
		v, err = s.loadView(ctx, tx, vc, viewer)
		return err
	})
	return v, mapStoreErr(err)
}

// VCObject is one object of a virtual calendar view: the bytes the viewer
// may see and their ETag.
type VCObject struct {
	Name     string
	Data     []byte
	ETag     string
	Modified time.Time
	Source   *store.Collection
}

// render evaluates one source object for the view; nil when hidden. In a
// view the viewer can write through (a group calendar, a write target),
// the viewer's own events are shown as stored, whatever the filters say
// about them for others, so that editing one there never writes a stripped
// copy back. Read-only views filter everyone alike, so that an owner sees
// what an audience sees.
func (v *VCView) render(src vcSource, o *store.Object, now time.Time) (*VCObject, error) {
	if v.target != "" && src.coll.Owner == v.Viewer {
		return &VCObject{Data: o.Data, ETag: o.ETag, Modified: o.Modified, Source: src.coll}, nil
	}
	parsed, err := ical.Parse(o.Data)
	if err != nil {
		return nil, err
	}
	out, err := vcal.Apply(parsed, o.Data, sourceID(src.coll), src.chain,
		vcal.Options{Window: v.window, OwnerView: src.coll.Owner == v.Viewer, Now: now})
	if err != nil || out == nil {
		return nil, err
	}
	sum := sha256.Sum256(out)
	return &VCObject{Data: out, ETag: hex.EncodeToString(sum[:16]), Modified: o.Modified, Source: src.coll}, nil
}

// names assigns each source object its name in the view: its own name,
// or "<collection id>-<name>" when an earlier source already uses it.
func viewName(taken map[string]bool, c *store.Collection, name string) string {
	if !taken[name] {
		taken[name] = true
		return name
	}
	n := strconv.FormatInt(c.ID, 10) + "-" + name
	taken[n] = true
	return n
}

// Objects evaluates the whole view (or, with inRange, the objects that may
// have occurrences in it), returning the visible objects.
func (s *Service) VCObjects(ctx context.Context, v *VCView, inRange *ical.TimeRange) ([]*VCObject, error) {
	now := s.opts.Clock()
	taken := map[string]bool{}
	var out []*VCObject
	err := s.store.View(ctx, func(tx store.Tx) error {
		for i, src := range v.sources {
			var objs []*store.Object
			var err error
			if inRange != nil {
				objs, err = tx.FindObjectsInRange(ctx, src.coll.ID, inRange.Start, inRange.End)
			} else {
				objs, err = listObjects(ctx, tx, src.coll.ID, true)
			}
			if err != nil {
				return err
			}
			slices.SortFunc(objs, func(a, b *store.Object) int { return strings.Compare(a.Name, b.Name) })
			for _, o := range objs {
				vo, err := s.renderCached(v, i, o, now)
				if err != nil {
					s.opts.Logger.WarnContext(ctx, "virtual calendar evaluation failed", "vc", v.VC.ID, "object", o.Name, "err", err)
					continue
				}
				name := viewName(taken, src.coll, o.Name)
				if vo != nil {
					vo.Name = name
					out = append(out, vo)
				}
			}
		}
		return nil
	})
	return out, mapStoreErr(err)
}

// VCObjectByName evaluates one object of the view. Names follow viewName:
// a plain name belongs to the first source (in definition order) holding
// an object of that name; "<collection id>-<name>" to a later one.
func (s *Service) VCObjectByName(ctx context.Context, v *VCView, name string) (*VCObject, error) {
	var src int
	var obj *store.Object
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		src, obj, err = lookupVCObject(ctx, tx, v, name)
		return err
	})
	if err != nil {
		return nil, mapStoreErr(err)
	}
	vo, err := s.renderCached(v, src, obj, s.opts.Clock())
	if err != nil {
		return nil, err
	}
	if vo == nil {
		return nil, fmt.Errorf("%w: %s in virtual calendar %d", ErrNotFound, name, v.VC.ID)
	}
	vo.Name = name
	return vo, nil
}

func lookupVCObject(ctx context.Context, tx store.Tx, v *VCView, name string) (int, *store.Object, error) {
	for i, src := range v.sources {
		o, err := tx.GetObject(ctx, src.coll.ID, name)
		if err == nil {
			return i, o, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return 0, nil, err
		}
	}
	if id, rest, ok := strings.Cut(name, "-"); ok {
		for i, src := range v.sources {
			if strconv.FormatInt(src.coll.ID, 10) != id {
				continue
			}
			o, err := tx.GetObject(ctx, src.coll.ID, rest)
			if err == nil {
				return i, o, nil
			}
			if !errors.Is(err, store.ErrNotFound) {
				return 0, nil, err
			}
		}
	}
	return 0, nil, fmt.Errorf("%w: %s in virtual calendar %d", store.ErrNotFound, name, v.VC.ID)
}

// VCNameOf returns the name under which the object name of source
// collection id appears in the view.
func (s *Service) VCNameOf(ctx context.Context, v *VCView, collID int64, name string) (string, error) {
	out := name
	err := s.store.View(ctx, func(tx store.Tx) error {
		for _, src := range v.sources {
			if src.coll.ID == collID {
				return nil
			}
			if _, err := tx.GetObject(ctx, src.coll.ID, name); err == nil {
				out = strconv.FormatInt(collID, 10) + "-" + name
				return nil
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return nil
	})
	return out, mapStoreErr(err)
}

// VCRevisions returns the current revision of each source collection, for
// ctags and sync tokens.
func (s *Service) VCRevisions(ctx context.Context, v *VCView) (map[int64]int64, error) {
	revs := map[int64]int64{}
	err := s.store.View(ctx, func(tx store.Tx) error {
		for _, src := range v.sources {
			c, err := tx.GetCollectionByID(ctx, src.coll.ID)
			if err != nil {
				return err
			}
			revs[c.ID] = c.Revision
		}
		return nil
	})
	return revs, mapStoreErr(err)
}

// PutThroughVC stores an object PUT into a writable view in its target
// calendar, under the same name.
func (s *Service) PutThroughVC(ctx context.Context, v *VCView, name string, data []byte, contentType string, opts store.PutOptions) (*store.Object, bool, error) {
	if v.target == "" {
		return nil, false, fmt.Errorf("%w: this virtual calendar is read-only", ErrForbidden)
	}
	c, err := s.Collection(ctx, v.Viewer, v.target)
	if err != nil {
		return nil, false, err
	}
	return s.PutObject(ctx, c, name, data, contentType, opts)
}

// VCSyncToken encodes the view's state: its key and each source's revision.
func VCSyncToken(v *VCView, revs map[int64]int64) string {
	ids := make([]int64, 0, len(revs))
	for id := range revs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var b bytes.Buffer
	fmt.Fprintf(&b, "urn:koyomi:vc:%d:%s:", v.VC.ID, v.key)
	for i, id := range ids {
		if i > 0 {
			b.WriteByte('.')
		}
		fmt.Fprintf(&b, "%d-%d", id, revs[id])
	}
	return b.String()
}

// Sources returns the distinct source calendars of the view.
func (v *VCView) Sources() []*store.Collection {
	var out []*store.Collection
	seen := map[int64]bool{}
	for _, s := range v.sources {
		if !seen[s.coll.ID] {
			seen[s.coll.ID] = true
			out = append(out, s.coll)
		}
	}
	return out
}

// VCChanges returns, for each source calendar of the view, its change log
// since the revision in since. A source missing from since, or a revision
// the log cannot answer, is ErrNotFound: the caller's token is stale.
func (s *Service) VCChanges(ctx context.Context, v *VCView, since map[int64]int64) (map[int64][]store.Change, error) {
	out := map[int64][]store.Change{}
	err := s.store.View(ctx, func(tx store.Tx) error {
		for _, c := range v.Sources() {
			rev, ok := since[c.ID]
			if !ok {
				return fmt.Errorf("%w: source %d not in token", store.ErrNotFound, c.ID)
			}
			chs, err := tx.Changes(ctx, c.ID, rev)
			if err != nil {
				return err
			}
			out[c.ID] = chs
		}
		return nil
	})
	return out, mapStoreErr(err)
}
