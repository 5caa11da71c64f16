package domain

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/ical"
	"koyomi.dev/koyomi/internal/store"
)

func ptr[T any](v T) *T { return &v }

func TestCollectionSettings(t *testing.T) {
	s, _ := newGroupService(t)
	ctx := WithPrincipal(context.Background(), "alice")
	c, err := s.CreateCollectionWith(ctx, "alice", "work", store.KindCalendar, CollectionSettings{
		DisplayName: ptr("Work"), Color: ptr("#112233"), Components: []string{"vtodo", "VEVENT", "vevent"}, TimeZone: ptr("Asia/Tokyo")})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Components, ","); got != "VEVENT,VTODO" {
		t.Errorf("components %q, want VEVENT,VTODO", got)
	}
	loc, tzid, err := ical.ParseTimezone([]byte(c.Timezone))
	if err != nil || tzid != "Asia/Tokyo" || loc.String() != "Asia/Tokyo" || TimeZoneName(c) != "Asia/Tokyo" {
		t.Errorf("time zone: %v %q %v\n%s", loc, tzid, err, c.Timezone)
	}
	book, err := s.CreateCollectionWith(ctx, "alice", "people", store.KindAddressBook, CollectionSettings{DisplayName: ptr("People")})
	if err != nil || len(book.Components) != 0 {
		t.Fatalf("address book: %+v %v", book, err)
	}

	refusals := []struct {
		name  string
		kind  store.Kind
		cs    CollectionSettings
		field string
	}{
		{"x", store.KindPlain, CollectionSettings{}, "kind"},
		{"x", "calendars", CollectionSettings{}, "kind"},
		{"x", store.KindCalendar, CollectionSettings{Components: []string{"VCARD"}}, "components"},
		{"x", store.KindCalendar, CollectionSettings{Components: []string{}}, "components"},
		{"x", store.KindCalendar, CollectionSettings{TimeZone: ptr("Tokyo Standard Time")}, "timezone"},
		{"x", store.KindCalendar, CollectionSettings{TimeZone: ptr("Local")}, "timezone"},
		{"x", store.KindCalendar, CollectionSettings{Color: ptr("#12345")}, "color"},
		{"x", store.KindCalendar, CollectionSettings{Color: ptr("red")}, "color"},
		{"x", store.KindAddressBook, CollectionSettings{Components: []string{"VEVENT"}}, "components"},
		{"x", store.KindAddressBook, CollectionSettings{TimeZone: ptr("UTC")}, "timezone"},
	}
	for _, r := range refusals {
		_, err := s.CreateCollectionWith(ctx, "alice", r.name, r.kind, r.cs)
		var invalid *InvalidError
		if !errors.As(err, &invalid) || invalid.Field != r.field || !errors.Is(err, ErrInvalidName) {
			t.Errorf("%s %+v: err %v, want an InvalidError of %s", r.kind, r.cs, err, r.field)
		}
	}
	if _, err := s.CreateCollectionWith(ctx, "alice", "work", store.KindCalendar, CollectionSettings{}); !errors.Is(err, ErrExists) {
		t.Errorf("a taken name: %v", err)
	}
	if _, err := s.CreateCollectionWith(ctx, "alice", "x", store.KindCalendar, CollectionSettings{DisplayName: ptr("a\x00b")}); !errors.Is(err, ErrInvalidName) {
		t.Errorf("a control character: %v", err)
	}

	// Only what is given changes.
	c, err = s.UpdateCollectionWith(ctx, c, CollectionSettings{DisplayName: ptr("Office"), TimeZone: ptr("")})
	if err != nil {
		t.Fatal(err)
	}
	if c.DisplayName != "Office" || c.Color != "#112233" || c.Timezone != "" || strings.Join(c.Components, ",") != "VEVENT,VTODO" {
		t.Errorf("after update: %+v", c)
	}
	// Component types grow freely, and shrink only by types no object has.
	task := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VTODO\r\nUID:t1\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:t\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
	if _, _, err := s.PutObject(ctx, c, "t1.ics", "", []byte(task), "text/calendar", store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	var invalid *InvalidError
	if _, err := s.UpdateCollectionWith(ctx, c, CollectionSettings{Components: []string{"VEVENT"}}); !errors.As(err, &invalid) ||
		invalid.Field != "components" || !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "1 VTODO") {
		t.Errorf("dropping VTODO from a calendar with a task: %v", err)
	}
	if c, err = s.UpdateCollectionWith(ctx, c, CollectionSettings{Components: []string{"VTODO", "VJOURNAL"}}); err != nil ||
		strings.Join(c.Components, ",") != "VTODO,VJOURNAL" {
		t.Errorf("dropping VEVENT, which no object has: %v %v", c, err)
	}
	if _, err := s.UpdateCollectionWith(ctx, book, CollectionSettings{TimeZone: ptr("UTC")}); err == nil {
		t.Error("an address book took a time zone")
	}
}

// TestCollectionSettingsRefuseOthers: another user, and a sharee who
// administers the calendar, neither create in alice's home nor change her
// calendar, and the refusal changes nothing.
func TestCollectionSettingsRefuseOthers(t *testing.T) {
	s, _ := newGroupService(t)
	alice := WithPrincipal(context.Background(), "alice")
	c, err := s.CreateCollectionWith(alice, "alice", "work", store.KindCalendar, CollectionSettings{DisplayName: ptr("Work")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Share(alice, c, "user:carol", LevelAdmin); err != nil {
		t.Fatal(err)
	}
	state := func() string {
		colls, err := s.Collections(context.Background(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, c := range colls {
			fmt.Fprintf(&b, "%s %q %q %v %d\n", c.Name, c.DisplayName, c.Color, c.Components, c.Revision)
		}
		return b.String()
	}
	before := state()
	for _, who := range []string{"bob", "carol"} {
		ctx := WithPrincipal(context.Background(), who)
		if _, err := s.CreateCollectionWith(ctx, "alice", "intruder", store.KindCalendar, CollectionSettings{}); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s creating in alice's home: %v", who, err)
		}
		if _, err := s.UpdateCollectionWith(ctx, c, CollectionSettings{DisplayName: ptr("Mine")}); err == nil {
			t.Errorf("%s changed alice's calendar", who)
		}
		if _, err := s.OwnVCTarget(ctx, "alice", "anything"); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s reached alice's views: %v", who, err)
		}
		if _, err := s.CollectionOfKind(ctx, "alice", "work", store.KindCalendar); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s found alice's calendar by name: %v", who, err)
		}
	}
	if after := state(); after != before {
		t.Errorf("refused calls changed alice's collections:\n%s\nwas\n%s", after, before)
	}
	if _, err := s.CollectionOfKind(alice, "alice", "work", store.KindAddressBook); !errors.Is(err, ErrNotFound) {
		t.Errorf("a calendar found as an address book: %v", err)
	}
}
