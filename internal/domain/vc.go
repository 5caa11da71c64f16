package domain

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
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
	Calendar string `json:"calendar,omitempty"`
	// Owner, with Calendar, names a calendar someone else shares with the
	// definition's owner; empty means the owner's own.
	Owner  string     `json:"owner,omitempty"`
	VC     string     `json:"vc,omitempty"` // "name" (the owner's) or "owner/name"
	Group  string     `json:"group,omitempty"`
	Filter *FilterDef `json:"filter,omitempty"`
	Of     *VCNode    `json:"of,omitempty"`
	Union  []VCNode   `json:"union,omitempty"`
}

// FilterDef is a filter in a definition (see vcal.Filter).
type FilterDef struct {
	Default string    `json:"default"`
	Zone    string    `json:"zone,omitempty"`
	Rules   []RuleDef `json:"rules,omitempty"`
	// BusyLabel titles what the filter shows as busy, e.g.
	// "{category|予定} ({owner})" (see vcal.Filter.BusyLabel).
	BusyLabel string `json:"busy_label,omitempty"`
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
	Statuses      []string `json:"statuses,omitempty"`
	NotStatuses   bool     `json:"not_statuses,omitempty"`
}

// VCSpec is what a user gives to create or change a virtual calendar.
type VCSpec struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"displayname,omitempty"`
	Color       string   `json:"color,omitempty"`
	Definition  VCNode   `json:"definition"`
	SharedWith  []string `json:"shared_with,omitempty"` // "user:NAME" or "group:NAME"
	// WriteTarget names one of the owner's calendars, shown by the
	// virtual calendar, that PUTs into it land in (empty: read-only).
	WriteTarget string `json:"write_target,omitempty"`
	// Writers are who may write through it ("user:NAME" or "group:NAME");
	// none: everyone it is shared with.
	Writers []string `json:"writers,omitempty"`
}

// storedDefinition is what the store keeps as a VC's Definition.
type storedDefinition struct {
	Node        VCNode   `json:"node"`
	WriteTarget string   `json:"write_target,omitempty"`
	Writers     []string `json:"writers,omitempty"`
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
	if err := CheckLabel("busy_label", f.BusyLabel); err != nil {
		return nil, err
	}
	out := &vcal.Filter{Default: def, Zone: f.Zone, BusyLabel: f.BusyLabel}
	for i, r := range f.Rules {
		lvl, err := ParseLevel(r.Level)
		if err != nil {
			return nil, fmt.Errorf("rule %d: %w", i+1, err)
		}
		vr := vcal.Rule{Level: lvl, NotWeekdays: r.NotWeekdays, NotTimeOfDay: r.NotTime, NotDates: r.NotDates,
			Zone: r.Zone, Categories: r.Categories, NotCategories: r.NotCategories, Sources: r.Sources,
			NotSources: r.NotSources, Classes: r.Classes, NotClasses: r.NotClasses, Transp: r.Transp, NotTransp: r.NotTransp,
			Statuses: r.Statuses, NotStatuses: r.NotStatuses}
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

// validate checks the shape of a node (one kind per node) and counts the
// nodes of the definition into nodes.
func (n *VCNode) validate(nodes *int) error {
	if *nodes++; *nodes > maxDefinitionNodes {
		return fmt.Errorf("%w: a definition has at most %d nodes", ErrInvalidName, maxDefinitionNodes)
	}
	kinds := 0
	for _, set := range []bool{n.Calendar != "", n.VC != "", n.Group != "", n.Filter != nil, len(n.Union) > 0} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return fmt.Errorf("%w: each definition node needs exactly one of calendar, vc, group, filter (with of) or union", ErrInvalidName)
	}
	if n.Owner != "" && n.Calendar == "" {
		return fmt.Errorf("%w: \"owner\" belongs with a calendar", ErrInvalidName)
	}
	if n.Filter != nil {
		if n.Of == nil {
			return fmt.Errorf("%w: a filter needs \"of\": the virtual calendar it filters", ErrInvalidName)
		}
		if _, err := n.Filter.compile(); err != nil {
			return err
		}
		return n.Of.validate(nodes)
	}
	if n.Of != nil {
		return fmt.Errorf("%w: \"of\" belongs with a filter", ErrInvalidName)
	}
	for i := range n.Union {
		if err := n.Union[i].validate(nodes); err != nil {
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

// Bounds on a definition and on what it expands to, so that no view costs
// more than a few sources' worth to evaluate however its author nests it.
const (
	maxDefinitionNodes = 64 // nodes in one definition
	maxViewDepth       = 8  // virtual calendars nested in one another
	maxViewSources     = 64 // distinct (calendar, filters) pairs evaluated
)

// vcSource is one calendar feeding a virtual calendar, with the filters
// between it and the viewer.
type vcSource struct {
	coll  *store.Collection
	chain []*vcal.Filter
	// ownerName is the display name of the calendar's owner, for labels.
	ownerName string
}

// sourceID names a source calendar in rules (Rule.Sources).
func sourceID(c *store.Collection) string { return c.Owner + "/" + c.Name }

// sameSource reports whether a and b evaluate alike: the same calendar
// through the same filters (compiled once per node, so compared by
// identity).
func sameSource(a, b vcSource) bool {
	return a.coll.ID == b.coll.ID && slices.Equal(a.chain, b.chain)
}

// distinctSources drops sources that evaluate like an earlier one.
func distinctSources(srcs []vcSource) []vcSource {
	out := srcs[:0:0]
	for _, s := range srcs {
		if !slices.ContainsFunc(out, func(o vcSource) bool { return sameSource(o, s) }) {
			out = append(out, s)
		}
	}
	return out
}

// pastOnly is a filter hiding every occurrence that reaches instant t:
// what a member who left still shares or sees under a keep-the-past policy
// is what ended before they left.
func pastOnly(t time.Time) *vcal.Filter {
	return &vcal.Filter{Default: vcal.Full, Rules: []vcal.Rule{{Level: vcal.Hidden, Since: t}}}
}

// groupBusyLabel titles group members' busy blocks with whose they are
// (and the event's category, when it has one), as the paper's group view
// does, instead of an anonymous "Busy".
const groupBusyLabel = "{category|" + vcal.BusySummary + "} ({owner})"

// resolver expands definitions into sources, detecting cycles and asking
// vcAccess and groupReadAccess, at every evaluation, whether each owner may
// read what their definition names.
type resolver struct {
	ctx context.Context
	tx  store.Tx
	// strict: a definition being saved, where every reference must
	// resolve. Otherwise (evaluating a view) a reference its owner may no
	// longer read, or that is gone, contributes nothing.
	strict bool
	path   []string // VCs being expanded, for cycle detection
	// memo holds each virtual calendar's sources (relative to it) and each
	// group's, so that a definition naming one many times, directly or
	// through others, evaluates it once.
	memo  map[string][]vcSource
	names map[string]string // user display names
	// key accumulates everything the result depends on besides the
	// sources' contents, for ETags and sync tokens.
	key strings.Builder
}

func newResolver(ctx context.Context, tx store.Tx, strict bool) *resolver {
	return &resolver{ctx: ctx, tx: tx, strict: strict, memo: map[string][]vcSource{}, names: map[string]string{}}
}

// missing is a reference that does not resolve: an error when saving, an
// empty contribution (recorded in the key) when evaluating.
func (r *resolver) missing(err error) ([]vcSource, error) {
	if r.strict {
		return nil, err
	}
	fmt.Fprintf(&r.key, "|x:%s", err)
	return nil, nil
}

func (r *resolver) displayName(user string) string {
	if n, ok := r.names[user]; ok {
		return n
	}
	n := user
	if u, err := r.tx.GetUser(r.ctx, user); err == nil && u.DisplayName != "" {
		n = u.DisplayName
	}
	r.names[user] = n
	return n
}

// withChain returns srcs behind the filters of chain (outermost first).
func withChain(chain []*vcal.Filter, srcs []vcSource) []vcSource {
	if len(chain) == 0 {
		return srcs
	}
	out := make([]vcSource, len(srcs))
	for i, s := range srcs {
		s.chain = append(slices.Clone(chain), s.chain...)
		out[i] = s
	}
	return out
}

func (r *resolver) node(owner string, n *VCNode, chain []*vcal.Filter) ([]vcSource, error) {
	ctx, tx := r.ctx, r.tx
	switch {
	case n.Calendar != "":
		if strings.HasPrefix(owner, "group:") {
			return nil, fmt.Errorf("%w: a group's calendar cannot name a calendar directly", ErrInvalidName)
		}
		calOwner := owner
		if n.Owner != "" {
			calOwner = n.Owner
		}
		// Said as for a missing one when the owner may not read it, so
		// that definitions cannot probe for other people's calendars.
		gone := fmt.Errorf("%w: %s has no calendar %q shared with %s", ErrNotFound, calOwner, n.Calendar, owner)
		c, err := tx.GetCollection(ctx, calOwner, n.Calendar)
		if err != nil && !isNotFound(err) {
			return nil, err
		}
		if err != nil || c.Kind != store.KindCalendar {
			return r.missing(gone)
		}
		// The authorizer, asked at every evaluation: a revoked share
		// contributes nothing from the next request on; a free-busy one
		// contributes busy blocks only.
		level, err := accessOf(ctx, tx, owner, c)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&r.key, "|c:%d:%d", c.ID, level)
		switch {
		case level == LevelNone:
			return r.missing(gone)
		case level == LevelFreeBusy:
			chain = append(slices.Clone(chain), busyChain...)
		}
		return []vcSource{{coll: c, chain: chain, ownerName: r.displayName(calOwner)}}, nil
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
		return distinctSources(out), nil
	case n.VC != "":
		refOwner, refName := vcRef(owner, n.VC)
		// Said as for a missing one when the owner may not read it, so
		// that definitions cannot probe for other people's calendars.
		gone := fmt.Errorf("%w: no virtual calendar %s/%s", ErrNotFound, refOwner, refName)
		vc, err := tx.GetVirtualCalendar(ctx, refOwner, refName)
		if err != nil {
			if isNotFound(err) {
				return r.missing(gone)
			}
			return nil, err
		}
		ok, until, err := vcAccess(ctx, tx, vc, owner)
		if err != nil {
			return nil, err
		}
		if !ok {
			return r.missing(gone)
		}
		if !until.IsZero() {
			chain = append(slices.Clone(chain), pastOnly(until))
		}
		return r.vc(vc, chain)
	case n.Group != "":
		gone := fmt.Errorf("%w: no group %q", ErrNotFound, n.Group)
		ok, until, err := groupReadAccess(ctx, tx, n.Group, owner)
		if err != nil {
			return nil, err
		}
		if !ok {
			return r.missing(gone)
		}
		fmt.Fprintf(&r.key, "|g:%s:%d", n.Group, until.UnixMicro())
		srcs, err := r.group(n.Group)
		if err != nil {
			if isNotFound(err) {
				return r.missing(gone)
			}
			return nil, err
		}
		if !until.IsZero() {
			chain = append(slices.Clone(chain), pastOnly(until))
		}
		return withChain(chain, srcs), nil
	}
	return nil, fmt.Errorf("%w: empty definition node", ErrInvalidName)
}

// group returns what group's members contribute, relative to the group.
func (r *resolver) group(name string) ([]vcSource, error) {
	if srcs, ok := r.memo["g:"+name]; ok {
		return srcs, nil
	}
	g, err := r.tx.GetGroup(r.ctx, name)
	if err != nil {
		return nil, err
	}
	ms, err := r.tx.Memberships(r.ctx, g.Name)
	if err != nil {
		return nil, err
	}
	var out []vcSource
	fmt.Fprintf(&r.key, "|G:%s:%v", g.Name, g.KeepPast)
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
			c, err := r.tx.GetCollection(r.ctx, m.User, cb.Calendar)
			if err != nil || c.Kind != store.KindCalendar {
				continue // a contribution whose calendar is gone contributes nothing
			}
			lvl, err := ParseLevel(cb.Level)
			if err != nil {
				continue
			}
			label := groupBusyLabel
			if cb.BusyLabel != "" {
				label = cb.BusyLabel
			}
			ch := []*vcal.Filter{{Default: lvl, BusyLabel: label}}
			if !m.Left.IsZero() {
				ch = append(ch, pastOnly(m.Left))
			}
			out = append(out, vcSource{coll: c, chain: ch, ownerName: r.displayName(m.User)})
		}
	}
	r.memo["g:"+name] = out
	return out, nil
}

func (r *resolver) vc(vc *store.VirtualCalendar, chain []*vcal.Filter) ([]vcSource, error) {
	id := vc.Owner + "/" + vc.Name
	if i := slices.Index(r.path, id); i >= 0 {
		return nil, fmt.Errorf("%w: cycle: %s", ErrConflict, strings.Join(append(r.path[i:], id), " → "))
	}
	memoKey := "v:" + strconv.FormatInt(vc.ID, 10)
	if srcs, ok := r.memo[memoKey]; ok {
		return withChain(chain, srcs), nil
	}
	if len(r.path) >= maxViewDepth {
		return nil, fmt.Errorf("%w: virtual calendars nested more than %d deep (%s)", ErrInvalidName, maxViewDepth,
			strings.Join(append(slices.Clone(r.path), id), " → "))
	}
	r.path = append(r.path, id)
	defer func() { r.path = r.path[:len(r.path)-1] }()
	fmt.Fprintf(&r.key, "|v:%d:%d", vc.ID, vc.Version)
	var def storedDefinition
	if err := json.Unmarshal(vc.Definition, &def); err != nil {
		return nil, fmt.Errorf("virtual calendar %s: stored definition: %w", id, err)
	}
	srcs, err := r.node(vc.Owner, &def.Node, nil)
	if err != nil {
		return nil, err
	}
	srcs = distinctSources(srcs)
	if len(srcs) > maxViewSources {
		return nil, fmt.Errorf("%w: %s draws from %d calendars and filters; at most %d", ErrInvalidName, id, len(srcs), maxViewSources)
	}
	r.memo[memoKey] = srcs
	return withChain(chain, srcs), nil
}

// VCView is a virtual calendar as one viewer sees it.
type VCView struct {
	VC *store.VirtualCalendar
	// Viewer is who sees it; "" for the public, through a public link.
	Viewer  string
	sources []vcSource
	key     string // hash of what the view depends on besides source contents
	window  ical.TimeRange
	// target is the calendar PUTs and DELETEs through the view act on, nil
	// when the viewer may not write through it.
	target *store.Collection
	// sub is the viewer's own settings for the view.
	sub *store.ViewSubscription
}

// Key identifies the definition state of the view (changes whenever the
// definitions, memberships or evaluation window it depends on change).
func (v *VCView) Key() string { return v.key }

// Writable reports whether the viewer may write through the view.
func (v *VCView) Writable() bool { return v.target != nil }

// DisplayName, Color and Order are the view as its viewer named, coloured
// and placed it, else as its owner did.
func (v *VCView) DisplayName() string {
	if v.sub != nil && v.sub.DisplayName != "" {
		return v.sub.DisplayName
	}
	return v.VC.DisplayName
}

// Color is the viewer's colour for the view, else the owner's.
func (v *VCView) Color() string {
	if v.sub != nil && v.sub.Color != "" {
		return v.sub.Color
	}
	return v.VC.Color
}

// Order is the viewer's place for the view in their list (0: unset).
func (v *VCView) Order() int {
	if v.sub != nil {
		return v.sub.Order
	}
	return 0
}

// Hidden reports whether the viewer hid the view.
func (v *VCView) Hidden() bool { return v.sub != nil && v.sub.Hidden }

// Subscribed reports whether the view is listed in the viewer's home: a
// view shared with them is until they unsubscribe; their own views only
// when they subscribe to them.
func (v *VCView) Subscribed() bool {
	if v.sub != nil {
		return v.sub.Subscribed
	}
	return v.VC.Owner != v.Viewer
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// evaluationWindow is the span whose occurrences are evaluated one by one:
// a year back to two years ahead, anchored to the month so that output
// (and ETags) stay stable between definition changes.
func evaluationWindow(now time.Time) ical.TimeRange {
	start := time.Date(now.Year()-1, now.Month(), 1, 0, 0, 0, 0, time.UTC)
	return ical.TimeRange{Start: start, End: start.AddDate(3, 0, 0)}
}

// loadView builds vc's view for viewer inside tx; ErrNotFound when viewer
// may not read vc.
func (s *Service) loadView(ctx context.Context, tx store.Tx, vc *store.VirtualCalendar, viewer string) (*VCView, error) {
	ok, until, err := vcAccess(ctx, tx, vc, viewer)
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
	r := newResolver(ctx, tx, false)
	srcs, err := r.vc(vc, chain)
	if err != nil {
		return nil, err
	}
	// The viewer's own calendars come first: where several sources hold
	// one event (one UID), the viewer is shown their own copy, which
	// another's copy can never hide or stand in for.
	srcs = distinctSources(srcs)
	slices.SortStableFunc(srcs, func(a, b vcSource) int {
		return cmpBool(a.coll.Owner != viewer, b.coll.Owner != viewer)
	})
	v := &VCView{VC: vc, Viewer: viewer, sources: srcs, window: evaluationWindow(s.opts.Clock())}
	fmt.Fprintf(&r.key, "|w:%s|u:%s|t:%d", v.window.Start.Format("200601"), viewer, until.UnixMicro())
	var def storedDefinition
	if err := json.Unmarshal(vc.Definition, &def); err != nil {
		return nil, fmt.Errorf("virtual calendar %d: stored definition: %w", vc.ID, err)
	}
	switch {
	case def.Node.Group != "" && strings.HasPrefix(vc.Owner, "group:") && until.IsZero():
		if v.target, err = groupWriteTarget(ctx, tx, def.Node.Group, viewer); err != nil {
			return nil, err
		}
	case def.WriteTarget != "" && until.IsZero() && !strings.HasPrefix(vc.Owner, "group:"):
		may, err := mayWriteThrough(ctx, tx, vc, def, viewer)
		if err != nil {
			return nil, err
		}
		if may {
			c, err := tx.GetCollection(ctx, vc.Owner, def.WriteTarget)
			if err == nil && c.Kind == store.KindCalendar && slices.ContainsFunc(v.sources, func(s vcSource) bool { return s.coll.ID == c.ID }) {
				v.target = c
			} else if err != nil && !isNotFound(err) {
				return nil, err
			}
		}
	}
	if v.target != nil {
		fmt.Fprintf(&r.key, "|wt:%d", v.target.ID)
	}
	if sub, err := tx.GetViewSubscription(ctx, vc.ID, viewer); err == nil {
		v.sub = sub
	} else if !isNotFound(err) {
		return nil, err
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
		return s.checkVC(ctx, tx, vc, true)
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
		old := SpecOf(vc).Definition
		if err := s.applySpec(vc, spec); err != nil {
			return err
		}
		if err := tx.UpdateVirtualCalendar(ctx, vc); err != nil {
			return err
		}
		// A definition left as it was is not checked again for what its
		// owner may still read: what they no longer may already contributes
		// nothing, and withdrawing a share must never be refused for it.
		return s.checkVC(ctx, tx, vc, !reflect.DeepEqual(old, spec.Definition))
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
		if err := tx.DeleteVirtualCalendar(ctx, vc.ID); err != nil {
			return err
		}
		// Every viewer's own properties of it.
		return tx.DeleteProperties(ctx, store.VCKeyPrefix(vc.ID))
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
		SharedWith: vc.SharedWith, WriteTarget: def.WriteTarget, Writers: def.Writers}
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
	nodes := 0
	if err := spec.Definition.validate(&nodes); err != nil {
		return err
	}
	for _, list := range [][]string{spec.SharedWith, spec.Writers} {
		for _, sh := range list {
			kind, name, ok := strings.Cut(sh, ":")
			if !ok || (kind != "user" && kind != "group") || !ValidUserName(name) {
				return fmt.Errorf("%w: share %q (use user:NAME or group:NAME)", ErrInvalidName, sh)
			}
		}
	}
	if err := CheckLabel("display name", spec.DisplayName); err != nil {
		return err
	}
	if err := checkText("colour", spec.Color, maxColorLength, false); err != nil {
		return err
	}
	if len(spec.Writers) > 0 && spec.WriteTarget == "" {
		return fmt.Errorf("%w: writers need a write_target: the calendar their events land in", ErrInvalidName)
	}
	def, err := json.Marshal(storedDefinition{Node: spec.Definition, WriteTarget: spec.WriteTarget, Writers: spec.Writers})
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

// checkVC resolves a just-stored definition: no cycles, within the
// bounds, a write target is one of the owner's calendars that the view
// shows, and, when strict, every name exists and the owner may read it.
func (s *Service) checkVC(ctx context.Context, tx store.Tx, vc *store.VirtualCalendar, strict bool) error {
	srcs, err := newResolver(ctx, tx, strict).vc(vc, nil)
	if err != nil {
		return err
	}
	// A share with a user or group that does not exist would be inherited
	// by whoever takes the name later. Only the system (an administrator)
	// may share with a group before creating it; users cannot then create
	// a group of that name (see CreateGroup).
	for _, sh := range vc.SharedWith {
		if name, ok := strings.CutPrefix(sh, "user:"); ok {
			if _, err := tx.GetUser(ctx, name); err != nil {
				return fmt.Errorf("%w: cannot share with %s: no such user", ErrInvalidName, sh)
			}
		}
		if name, ok := strings.CutPrefix(sh, "group:"); ok && strict && Principal(ctx) != "" {
			if _, err := tx.GetGroup(ctx, name); err != nil {
				return fmt.Errorf("%w: cannot share with %s: no such group", ErrInvalidName, sh)
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
		if !slices.ContainsFunc(srcs, func(s vcSource) bool { return s.coll.ID == c.ID }) {
			return fmt.Errorf("%w: write target %q is not one of the calendars the virtual calendar shows, so what is written would never appear in it",
				ErrInvalidName, def.WriteTarget)
		}
	}
	return nil
}

// VisibleVCs lists the views of the virtual calendars viewer may see,
// those they unsubscribed from included.
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
		// Only calendars that name the viewer, or a group they are or were
		// in, can be theirs to see; loadView decides.
		audiences := map[string]bool{"user:" + viewer: true}
		ms, err := tx.UserMemberships(ctx, viewer)
		if err != nil {
			return err
		}
		for _, m := range ms {
			audiences["group:"+m.Group] = true
		}
		for _, vc := range all {
			if vc.Owner != viewer && !slices.ContainsFunc(vc.SharedWith, func(sh string) bool { return audiences[sh] }) {
				continue
			}
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

// SubscribedVCs lists the views listed in viewer's calendar home.
func (s *Service) SubscribedVCs(ctx context.Context, viewer string) ([]*VCView, error) {
	all, err := s.VisibleVCs(ctx, viewer)
	return slices.DeleteFunc(all, func(v *VCView) bool { return !v.Subscribed() }), err
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

// Subscription is what a viewer may change of a view shared with them.
// Nil fields are left as they are.
type Subscription struct {
	Personal
	Hidden     *bool `json:"hidden,omitempty"`
	Subscribed *bool `json:"subscribed,omitempty"`
}

// SetSubscription changes viewer's own settings for view id; the owner's
// definition is untouched.
func (s *Service) SetSubscription(ctx context.Context, viewer string, id int64, change Subscription) (*VCView, error) {
	if err := authorize(ctx, viewer); err != nil {
		return nil, err
	}
	if change.DisplayName != nil {
		if err := CheckLabel("display name", *change.DisplayName); err != nil {
			return nil, err
		}
	}
	if change.Color != nil {
		if err := checkText("colour", *change.Color, maxColorLength, false); err != nil {
			return nil, err
		}
	}
	var v *VCView
	err := s.store.Update(ctx, func(tx store.Tx) error {
		vc, err := tx.GetVirtualCalendarByID(ctx, id)
		if err != nil {
			return err
		}
		if v, err = s.loadView(ctx, tx, vc, viewer); err != nil {
			return err
		}
		sub := store.ViewSubscription{VC: id, Viewer: viewer, Subscribed: v.Subscribed()}
		if v.sub != nil {
			sub = *v.sub
		}
		change.apply(&sub.DisplayName, &sub.Color, &sub.Order)
		if change.Hidden != nil {
			sub.Hidden = *change.Hidden
		}
		if change.Subscribed != nil {
			sub.Subscribed = *change.Subscribed
		}
		if err := tx.PutViewSubscription(ctx, &sub); err != nil {
			return err
		}
		v.sub = &sub
		return nil
	})
	return v, mapStoreErr(err)
}

// VCObject is one object of a virtual calendar view: the bytes the viewer
// may see and their ETag.
type VCObject struct {
	Name string
	Data []byte
	ETag string
	// Modified is when the source object last changed when it is served
	// whole; zero when it is served reduced, so that nothing served tells
	// of changes to what the viewer does not see.
	Modified time.Time
	Source   *store.Collection
	// UID is the object's UID; Full reports that it is served as stored.
	UID  string
	Full bool
	// SourceName is the object's name in its source calendar.
	SourceName string
}

// render evaluates one source object for the view; nil when hidden. In a
// view the viewer can write through (a group calendar, a write target),
// the viewer's own events are shown as stored, whatever the filters say
// about them for others, so that editing one there never writes a stripped
// copy back. Read-only views filter everyone alike, so that an owner sees
// what an audience sees.
func (v *VCView) render(src vcSource, o *store.Object, now time.Time) (*VCObject, error) {
	whole := &VCObject{Data: o.Data, ETag: o.ETag, Modified: o.Modified, Source: src.coll, UID: o.UID, Full: true, SourceName: o.Name}
	if v.target != nil && src.coll.Owner == v.Viewer {
		return whole, nil
	}
	parsed, err := ical.Parse(o.Data)
	if err != nil {
		return nil, err
	}
	out, err := vcal.Apply(parsed, o.Data, sourceID(src.coll), src.chain,
		vcal.Options{Window: v.window, OwnerView: src.coll.Owner == v.Viewer, Now: now, OwnerName: src.ownerName})
	if err != nil || out == nil {
		return nil, err
	}
	if bytes.Equal(out, o.Data) {
		return whole, nil
	}
	sum := sha256.Sum256(out)
	return &VCObject{Data: out, ETag: hex.EncodeToString(sum[:16]), Source: src.coll, UID: o.UID, SourceName: o.Name}, nil
}

// Naming and deduplication. A view shows each object visible to the viewer
// under its own name, or "<collection id>-<name>" when a visible object of
// an earlier source (in definition order) already has that name; an
// object whose UID a visible object of an earlier source carries is the
// same event contributed twice and is shown once, as that one. Names and
// duplicates depend only on what the viewer sees.

// shownBy answers, within one evaluation of a view, what each source shows
// under a name or a UID, reading a source by batches of names and UIDs and
// remembering what it read.
type shownBy struct {
	s      *Service
	ctx    context.Context
	tx     store.Tx
	v      *VCView
	now    time.Time
	byName []map[string]*VCObject // per source; nil value: absent or hidden
	byUID  []map[string]*VCObject
}

func (s *Service) newShownBy(ctx context.Context, tx store.Tx, v *VCView, now time.Time) *shownBy {
	e := &shownBy{s: s, ctx: ctx, tx: tx, v: v, now: now,
		byName: make([]map[string]*VCObject, len(v.sources)), byUID: make([]map[string]*VCObject, len(v.sources))}
	for i := range v.sources {
		e.byName[i], e.byUID[i] = map[string]*VCObject{}, map[string]*VCObject{}
	}
	return e
}

// load makes what source i shows under names and uids known.
func (e *shownBy) load(i int, names, uids []string) error {
	names = slices.DeleteFunc(slices.Clone(names), func(n string) bool { _, known := e.byName[i][n]; return known })
	uids = slices.DeleteFunc(slices.Clone(uids), func(u string) bool { _, known := e.byUID[i][u]; return known || u == "" })
	if len(names) == 0 && len(uids) == 0 {
		return nil
	}
	id := e.v.sources[i].coll.ID
	var objs []*store.Object
	if len(names) > 0 {
		got, err := getObjectsData(e.ctx, e.tx, id, names)
		if err != nil {
			return err
		}
		objs = append(objs, got...)
	}
	if len(uids) > 0 {
		got, err := getObjectsByUID(e.ctx, e.tx, id, uids)
		if err != nil {
			return err
		}
		objs = append(objs, got...)
	}
	for _, n := range names {
		e.byName[i][n] = nil
	}
	for _, u := range uids {
		e.byUID[i][u] = nil
	}
	for _, o := range objs {
		vo, err := e.s.renderCached(e.v, i, o, e.now)
		if err != nil {
			e.s.opts.Logger.WarnContext(e.ctx, "virtual calendar evaluation failed", "vc", e.v.VC.ID, "object", o.Name, "err", err)
			vo = nil
		}
		e.byName[i][o.Name] = vo
		if o.UID != "" {
			e.byUID[i][o.UID] = vo
		}
	}
	return nil
}

// shadowed reports whether a source before i shows an object with uid.
// (Whether that copy is itself shadowed does not matter: an even earlier
// source then shows the UID.)
func (e *shownBy) shadowed(i int, uid string) (bool, error) {
	if uid == "" {
		return false, nil
	}
	for j := range i {
		if err := e.load(j, nil, []string{uid}); err != nil {
			return false, err
		}
		if e.byUID[j][uid] != nil {
			return true, nil
		}
	}
	return false, nil
}

// nameTaken reports whether a source before i shows, under its plain
// name, an object called name.
func (e *shownBy) nameTaken(i int, name string) (bool, error) {
	for j := range i {
		if err := e.load(j, []string{name}, nil); err != nil {
			return false, err
		}
		vo := e.byName[j][name]
		if vo == nil {
			continue
		}
		dup, err := e.shadowed(j, vo.UID)
		if err != nil || !dup {
			return err == nil, err
		}
	}
	return false, nil
}

// shown returns what source i shows of its object name, unless a source
// before it shows the same UID; nil otherwise.
func (e *shownBy) shown(i int, name string) (*VCObject, error) {
	if err := e.load(i, []string{name}, nil); err != nil {
		return nil, err
	}
	vo := e.byName[i][name]
	if vo == nil {
		return nil, nil
	}
	if dup, err := e.shadowed(i, vo.UID); err != nil || dup {
		return nil, err
	}
	c := *vo
	return &c, nil
}

// getObjectData reads one object with its data, without occurrences where
// the store can.
func getObjectData(ctx context.Context, tx store.Objects, collectionID int64, name string) (*store.Object, error) {
	if r, ok := tx.(store.DataReader); ok {
		return r.GetObjectData(ctx, collectionID, name)
	}
	return tx.GetObject(ctx, collectionID, name)
}

// getObjectsData reads named objects with data, without occurrences where
// the store can.
func getObjectsData(ctx context.Context, tx store.Objects, collectionID int64, names []string) ([]*store.Object, error) {
	if r, ok := tx.(store.DataReader); ok {
		return r.GetObjectsData(ctx, collectionID, names)
	}
	return tx.GetObjects(ctx, collectionID, names)
}

// getObjectsByUID reads the objects carrying any of uids, in one query
// where the store can.
func getObjectsByUID(ctx context.Context, tx store.Objects, collectionID int64, uids []string) ([]*store.Object, error) {
	if r, ok := tx.(store.UIDReader); ok {
		return r.GetObjectsByUID(ctx, collectionID, uids)
	}
	var names []string
	for _, u := range uids {
		name, err := tx.FindObjectByUID(ctx, collectionID, u)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return getObjectsData(ctx, tx, collectionID, names)
}

// VCObjects evaluates the whole view (or, with inRange, the objects that may
// have occurrences in it), returning the visible objects.
func (s *Service) VCObjects(ctx context.Context, v *VCView, inRange *ical.TimeRange) ([]*VCObject, error) {
	now := s.opts.Clock()
	taken := map[string]bool{}
	uids := map[string]bool{}
	var out []*VCObject
	err := s.store.View(ctx, func(tx store.Tx) error {
		earlier := s.newShownBy(ctx, tx, v, now)
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
			visible := make([]*VCObject, 0, len(objs))
			var names, ids []string
			for _, o := range objs {
				vo, err := s.renderCached(v, i, o, now)
				if err != nil {
					s.opts.Logger.WarnContext(ctx, "virtual calendar evaluation failed", "vc", v.VC.ID, "object", o.Name, "err", err)
					continue
				}
				if vo == nil || (vo.UID != "" && uids[vo.UID]) {
					continue
				}
				visible = append(visible, vo)
				names, ids = append(names, o.Name), append(ids, vo.UID)
			}
			// Within a range only some objects are listed, so whether an
			// earlier source shows an object of the same name or UID
			// outside it is asked of that source, in one batch each.
			ranged := inRange != nil && i > 0
			if ranged {
				for j := range i {
					if err := earlier.load(j, names, ids); err != nil {
						return err
					}
				}
			}
			for _, vo := range visible {
				if ranged {
					if dup, err := earlier.shadowed(i, vo.UID); err != nil {
						return err
					} else if dup {
						continue
					}
				}
				if vo.UID != "" {
					uids[vo.UID] = true
				}
				plain := vo.SourceName
				clash := taken[plain]
				if !clash && ranged {
					if clash, err = earlier.nameTaken(i, plain); err != nil {
						return err
					}
				}
				vo.Name = plain
				if clash {
					vo.Name = strconv.FormatInt(src.coll.ID, 10) + "-" + plain
				}
				taken[plain], taken[vo.Name] = true, true
				out = append(out, vo)
			}
		}
		return nil
	})
	return out, mapStoreErr(err)
}

// VCObjectByName evaluates one object of the view by its name there.
func (s *Service) VCObjectByName(ctx context.Context, v *VCView, name string) (*VCObject, error) {
	var vo *VCObject
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		vo, err = s.lookupVCObject(ctx, tx, v, name)
		return err
	})
	if err != nil {
		return nil, mapStoreErr(err)
	}
	if vo == nil {
		return nil, fmt.Errorf("%w: %s in virtual calendar %d", ErrNotFound, name, v.VC.ID)
	}
	return vo, nil
}

// vcObjectsByName evaluates the objects the view shows under names (a
// multiget), absent where it shows nothing.
func (s *Service) vcObjectsByName(ctx context.Context, v *VCView, names []string) (map[string]*VCObject, error) {
	var out map[string]*VCObject
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = s.lookupVCObjects(ctx, tx, v, names)
		return err
	})
	return out, mapStoreErr(err)
}

// lookupVCObject finds what the view shows under name, or nil.
func (s *Service) lookupVCObject(ctx context.Context, tx store.Tx, v *VCView, name string) (*VCObject, error) {
	return s.newShownBy(ctx, tx, v, s.opts.Clock()).find(name)
}

// lookupVCObjects finds what the view shows under each of names (absent
// where nothing), reading each source once for all names and once for the
// UIDs found.
func (s *Service) lookupVCObjects(ctx context.Context, tx store.Tx, v *VCView, names []string) (map[string]*VCObject, error) {
	e := s.newShownBy(ctx, tx, v, s.opts.Clock())
	want := slices.Clone(names)
	for _, n := range names {
		if _, rest, ok := strings.Cut(n, "-"); ok {
			want = append(want, rest)
		}
	}
	for i := range v.sources {
		if err := e.load(i, want, nil); err != nil {
			return nil, err
		}
	}
	var uids []string
	for i := range v.sources {
		for _, vo := range e.byName[i] {
			if vo != nil {
				uids = append(uids, vo.UID)
			}
		}
	}
	for i := range v.sources {
		if err := e.load(i, nil, uids); err != nil {
			return nil, err
		}
	}
	out := make(map[string]*VCObject, len(names))
	for _, n := range names {
		vo, err := e.find(n)
		if err != nil {
			return nil, err
		}
		if vo != nil {
			out[n] = vo
		}
	}
	return out, nil
}

// find returns what the view shows under name, or nil.
func (e *shownBy) find(name string) (*VCObject, error) {
	for i := range e.v.sources {
		vo, err := e.shown(i, name)
		if err != nil || vo != nil {
			if vo != nil {
				vo.Name = name
			}
			return vo, err
		}
	}
	id, rest, ok := strings.Cut(name, "-")
	if !ok {
		return nil, nil
	}
	for i, src := range e.v.sources {
		if strconv.FormatInt(src.coll.ID, 10) != id {
			continue
		}
		vo, err := e.shown(i, rest)
		if err != nil || vo == nil {
			return nil, err
		}
		// The prefixed name is taken only when the plain one is.
		if clash, err := e.nameTaken(i, rest); err != nil || !clash {
			return nil, err
		}
		vo.Name = name
		return vo, nil
	}
	return nil, nil
}

// WriteTarget returns the calendar writes through the view act on, or nil.
func (v *VCView) WriteTarget() *store.Collection { return v.target }

// writableObject checks that the viewer may replace or delete what the view
// shows under name: it must come from the write target and be shown whole,
// so that nothing the viewer cannot see is overwritten. It returns the
// object's name in the target, and whether it exists.
func (s *Service) writableObject(ctx context.Context, tx store.Tx, v *VCView, name string) (string, bool, error) {
	if v.target == nil {
		return "", false, &ForbiddenError{Action: ActWrite, Reason: "this virtual calendar is read-only for you"}
	}
	vo, err := s.lookupVCObject(ctx, tx, v, name)
	if err != nil {
		return "", false, err
	}
	if vo == nil {
		// Nothing visible by that name: a new object in the target, unless
		// the target holds one the viewer does not see.
		if _, err := tx.GetObject(ctx, v.target.ID, name); err == nil {
			return "", false, &ForbiddenError{Action: ActWrite, Reason: name + " cannot be written through this view"}
		} else if !isNotFound(err) {
			return "", false, err
		}
		return name, false, nil
	}
	if vo.Source.ID != v.target.ID {
		return "", false, &ForbiddenError{Action: ActWrite, Reason: name + " belongs to a calendar this view does not write into"}
	}
	if !vo.Full {
		return "", false, &ForbiddenError{Action: ActWrite, Reason: name + " is shown to you reduced; changing it would overwrite what you cannot see"}
	}
	return vo.SourceName, true, nil
}

// uidFreeInView refuses a write through v of an object with uid when the
// view shows another object with that UID (from any of its calendars, not
// only the one written into): the new object would stand in for it, for
// everyone the view is shared with. target names the object written in
// the write target, when it exists.
func (s *Service) uidFreeInView(ctx context.Context, tx store.Tx, v *VCView, uid, target string, exists bool) error {
	if uid == "" {
		return nil
	}
	e := s.newShownBy(ctx, tx, v, s.opts.Clock())
	for i, src := range v.sources {
		if err := e.load(i, nil, []string{uid}); err != nil {
			return err
		}
		vo := e.byUID[i][uid]
		if vo == nil {
			continue
		}
		// The first source showing the UID is the one the view shows it
		// from; what later ones hold under it is not shown.
		if exists && src.coll.ID == v.target.ID && vo.SourceName == target {
			return nil
		}
		return fmt.Errorf("another event this view shows has that UID: %w", &store.UIDConflictError{UID: uid})
	}
	return nil
}

// putThroughVC stores an object PUT into a writable view in its write
// target, on behalf of the viewer, exactly as if its owner had written it.
// It replaces only objects the view shows the viewer whole.
func (s *Service) putThroughVC(ctx context.Context, v *VCView, name string, data []byte, contentType string, opts store.PutOptions) (*store.Object, bool, error) {
	if err := authorize(ctx, v.Viewer); err != nil {
		return nil, false, err
	}
	if v.target == nil {
		return nil, false, &ForbiddenError{Action: ActWrite, Reason: "this virtual calendar is read-only for you"}
	}
	o, err := s.prepare(v.target, name, data, contentType)
	if err != nil {
		return nil, false, err
	}
	var created bool
	err = s.store.Update(ctx, func(tx store.Tx) error {
		target, exists, err := s.writableObject(ctx, tx, v, name)
		if err != nil {
			return err
		}
		if err := s.uidFreeInView(ctx, tx, v, o.UID, target, exists); err != nil {
			return err
		}
		o.Name = target
		if err := keepsUID(ctx, tx, o); err != nil {
			return err
		}
		created, err = tx.PutObject(ctx, o, opts)
		return err
	})
	if err != nil {
		return nil, false, mapStoreErr(err)
	}
	return o, created, nil
}

// deleteThroughVC moves what a writable view shows under name from its
// write target, with the dead properties of the target's object, into the
// trash of the target's owner.
func (s *Service) deleteThroughVC(ctx context.Context, v *VCView, name, ifMatch string) error {
	if err := authorize(ctx, v.Viewer); err != nil {
		return err
	}
	return mapStoreErr(s.store.Update(ctx, func(tx store.Tx) error {
		target, exists, err := s.writableObject(ctx, tx, v, name)
		if err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("%w: %s in virtual calendar %d", store.ErrNotFound, name, v.VC.ID)
		}
		return s.trashObjectTx(ctx, tx, v.target, target, ifMatch)
	}))
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

// queryVC answers a calendar-query on a view: the objects it shows that
// match filter, with their parsed forms. Floating times are read in the
// zone floating gives for each object's source calendar (the query's
// time zone, else the source's), exactly as a query on that calendar.
func (s *Service) queryVC(ctx context.Context, v *VCView, filter *ical.CompFilter, floating func(*store.Collection) *time.Location) ([]*VCObject, []*ical.Object, error) {
	var tr *ical.TimeRange
	if q, ok := ical.QueryRange(filter); ok {
		tr = &q
	}
	candidates, err := s.VCObjects(ctx, v, tr)
	if err != nil {
		return nil, nil, err
	}
	var objs []*VCObject
	var parsed []*ical.Object
	for _, o := range candidates {
		p, err := ical.Parse(o.Data)
		if err != nil {
			continue
		}
		ok, err := p.Match(filter, floating(o.Source))
		if err != nil {
			return nil, nil, err
		}
		if ok {
			objs, parsed = append(objs, o), append(parsed, p)
		}
	}
	return objs, parsed, nil
}
