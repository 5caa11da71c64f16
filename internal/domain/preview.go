package domain

import (
	"context"
	"fmt"
	"time"

	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/store"
)

// PreviewVC evaluates owner's virtual calendar name as viewer would see it,
// for the objects that may have occurrences in tr. Only the owner (or the
// system) may preview: it lets them check what each audience gets before
// relying on it, without acting as that audience. A viewer who cannot see
// the calendar at all is an ErrInvalidName that says so, rather than an
// empty preview that could be mistaken for "nothing to show this week".
func (s *Service) PreviewVC(ctx context.Context, owner, name, viewer string, tr ical.TimeRange) ([]*VCObject, error) {
	if err := authorize(ctx, owner); err != nil {
		return nil, err
	}
	if viewer == "" {
		viewer = owner
	}
	var v *VCView
	err := s.store.View(ctx, func(tx store.Tx) error {
		vc, err := tx.GetVirtualCalendar(ctx, owner, name)
		if err != nil {
			return err
		}
		ok, _, err := vcAccess(ctx, tx, vc, viewer)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: %s cannot see virtual calendar %s (it is not shared with them or a group they are in)",
				ErrInvalidName, viewer, name)
		}
		v, err = s.loadView(ctx, tx, vc, viewer)
		return err
	})
	if err != nil {
		return nil, mapStoreErr(err)
	}
	return s.VCObjects(ctx, v, &tr)
}

// PreviewRange reads the start and end dates of a preview (YYYY-MM-DD,
// both inclusive, read in UTC). Missing both, it is the week (Monday to
// Sunday) holding now; missing one, the week starting or ending on the
// other.
func PreviewRange(start, end string, now time.Time) (ical.TimeRange, error) {
	parse := func(what, s string) (time.Time, error) {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return t, fmt.Errorf("%w: %s %q is not a date in YYYY-MM-DD form", ErrInvalidName, what, s)
		}
		return t, nil
	}
	var tr ical.TimeRange
	switch {
	case start == "" && end == "":
		day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		monday := day.AddDate(0, 0, -(int(day.Weekday())+6)%7)
		return ical.TimeRange{Start: monday, End: monday.AddDate(0, 0, 7)}, nil
	case end == "":
		s, err := parse("start", start)
		if err != nil {
			return tr, err
		}
		return ical.TimeRange{Start: s, End: s.AddDate(0, 0, 7)}, nil
	case start == "":
		e, err := parse("end", end)
		if err != nil {
			return tr, err
		}
		return ical.TimeRange{Start: e.AddDate(0, 0, -6), End: e.AddDate(0, 0, 1)}, nil
	}
	s, err := parse("start", start)
	if err != nil {
		return tr, err
	}
	e, err := parse("end", end)
	if err != nil {
		return tr, err
	}
	if e.Before(s) {
		return tr, fmt.Errorf("%w: end %s is before start %s", ErrInvalidName, end, start)
	}
	return ical.TimeRange{Start: s, End: e.AddDate(0, 0, 1)}, nil
}
