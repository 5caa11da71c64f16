package domain

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/tz"
)

// CollectionSettings are what a user says of a calendar or address book
// outside WebDAV (the CLI, the JSON API): nil fields are left as they are
// (or, for a new collection, at their defaults).
type CollectionSettings struct {
	DisplayName *string
	Color       *string
	Description *string
	// Components are the component types a calendar accepts (VEVENT,
	// VTODO, VJOURNAL); address books have none.
	Components []string
	// TimeZone is the IANA name of a calendar's time zone; "" removes it.
	TimeZone *string
}

// calendarComponents are the component types a calendar may accept.
var calendarComponents = []string{"VEVENT", "VTODO", "VJOURNAL"}

var colorRE = regexp.MustCompile(`^#[0-9A-Fa-f]{6}([0-9A-Fa-f]{2})?$`)

// invalidField is a refusal of one setting: an InvalidError wrapping
// ErrInvalidName, in words that name the setting.
func invalidField(field, format string, args ...any) error {
	return &InvalidError{Field: field, Err: textErrorf(format, args...)}
}

// apply checks the settings for a collection of c's kind and sets them on c.
func (cs CollectionSettings) apply(c *store.Collection, now time.Time) error {
	if cs.Color != nil && *cs.Color != "" && !colorRE.MatchString(*cs.Color) {
		return invalidField("color", "%q is not a colour in #RRGGBB or #RRGGBBAA form", *cs.Color)
	}
	for _, f := range []struct {
		v   *string
		dst *string
	}{{cs.DisplayName, &c.DisplayName}, {cs.Color, &c.Color}, {cs.Description, &c.Description}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if cs.Description != nil {
		c.DescriptionLang = ""
	}
	if c.Kind != store.KindCalendar {
		if cs.Components != nil {
			return invalidField("components", "only a calendar has component types, not a %s", c.Kind)
		}
		if cs.TimeZone != nil {
			return invalidField("timezone", "only a calendar has a time zone, not a %s", c.Kind)
		}
		return nil
	}
	if cs.Components != nil {
		comps, err := checkComponents(cs.Components)
		if err != nil {
			return err
		}
		c.Components = comps
	}
	if cs.TimeZone != nil {
		c.Timezone = ""
		if *cs.TimeZone != "" {
			text, err := tz.VCalendar(*cs.TimeZone, now)
			if err != nil {
				return invalidField("timezone", "%v", err)
			}
			c.Timezone = text
		}
	}
	return nil
}

// checkComponents normalises a calendar's component types: upper case, in
// a fixed order, each once; at least one.
func checkComponents(comps []string) ([]string, error) {
	var out []string
	for _, name := range comps {
		name = strings.ToUpper(strings.TrimSpace(name))
		if !slices.Contains(calendarComponents, name) {
			return nil, invalidField("components", "%q is not a component a calendar holds (%s)", name, strings.Join(calendarComponents, ", "))
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return nil, invalidField("components", "a calendar accepts at least one of %s", strings.Join(calendarComponents, ", "))
	}
	slices.SortFunc(out, func(a, b string) int {
		return slices.Index(calendarComponents, a) - slices.Index(calendarComponents, b)
	})
	return out, nil
}

// TimeZoneName is the TZID of c's time zone, "" when it has none.
func TimeZoneName(c *store.Collection) string { return tz.TZID(c.Timezone) }

// CreateCollectionWith creates owner's calendar or address book name with
// the given settings, for the CLI and the JSON API (WebDAV clients create
// theirs with MKCALENDAR and extended MKCOL).
func (s *Service) CreateCollectionWith(ctx context.Context, owner, name string, kind store.Kind, cs CollectionSettings) (*store.Collection, error) {
	if kind != store.KindCalendar && kind != store.KindAddressBook {
		return nil, invalidField("kind", "%q is neither a calendar nor an address book", kind)
	}
	if err := authorize(ctx, owner); err != nil {
		return nil, err
	}
	c := &store.Collection{Owner: owner, Name: name, Kind: kind}
	if err := cs.apply(c, s.opts.Clock()); err != nil {
		return nil, err
	}
	if err := s.CreateCollection(ctx, c, nil); err != nil {
		return nil, err
	}
	return c, nil
}

// UpdateCollectionWith changes the settings of c (the caller's own) and
// returns it as stored. A calendar's component types may grow, and shrink
// only by types none of its objects has: a calendar does not hold what it
// refuses.
func (s *Service) UpdateCollectionWith(ctx context.Context, c *store.Collection, cs CollectionSettings) (*store.Collection, error) {
	if _, err := s.authorizeColl(ctx, c, ActManage); err != nil {
		return nil, err
	}
	updated := *c
	updated.Components = slices.Clone(c.Components)
	if err := cs.apply(&updated, s.opts.Clock()); err != nil {
		return nil, err
	}
	if err := CheckCollectionText(c, &updated); err != nil {
		return nil, err
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if cs.Components != nil {
			if err := checkHeldComponents(ctx, tx, &updated); err != nil {
				return err
			}
		}
		return tx.UpdateCollection(ctx, &updated)
	})
	if err != nil {
		return nil, mapStoreErr(err)
	}
	return s.collectionAfter(ctx, &updated)
}

// checkHeldComponents refuses component types for c that leave out one
// its objects have.
func checkHeldComponents(ctx context.Context, tx store.Tx, c *store.Collection) error {
	objs, err := tx.ListObjects(ctx, c.ID, false)
	if err != nil {
		return err
	}
	held := map[string]int{}
	for _, o := range objs {
		if o.Component != "" && !slices.Contains(c.Components, o.Component) {
			held[o.Component]++
		}
	}
	for _, comp := range calendarComponents {
		if n := held[comp]; n > 0 {
			return &InvalidError{Field: "components", Err: fmt.Errorf("%w: the calendar holds %d %s objects, which it would no longer accept",
				ErrConflict, n, comp)}
		}
	}
	return nil
}

// collectionAfter reads c back as stored, for its new revision.
func (s *Service) collectionAfter(ctx context.Context, c *store.Collection) (*store.Collection, error) {
	var out *store.Collection
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.GetCollectionByID(ctx, c.ID)
		return err
	})
	if err != nil {
		return nil, mapStoreErr(err)
	}
	return out, nil
}

// CollectionOfKind returns owner's collection name when it is of kind:
// ErrNotFound when it is not there or of another kind.
func (s *Service) CollectionOfKind(ctx context.Context, owner, name string, kind store.Kind) (*store.Collection, error) {
	c, err := s.Collection(ctx, owner, name)
	if err != nil {
		return nil, err
	}
	if c.Kind != kind {
		return nil, fmt.Errorf("%w: %s is a %s, not a %s", ErrNotFound, name, c.Kind, kind)
	}
	return c, nil
}

// OwnVCTarget is owner's virtual calendar name as owner sees it (the
// view evaluated for them, as their own clients are served it).
func (s *Service) OwnVCTarget(ctx context.Context, owner, name string) (Target, error) {
	if err := authorize(ctx, owner); err != nil {
		return nil, err
	}
	var v *VCView
	err := s.store.View(ctx, func(tx store.Tx) error {
		vc, err := tx.GetVirtualCalendar(ctx, owner, name)
		if err != nil {
			return err
		}
		v, err = s.loadView(ctx, tx, vc, owner)
		return err
	})
	if err != nil {
		return nil, mapStoreErr(err)
	}
	return s.ViewTarget(v), nil
}
