package domain

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/auth"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/postgres"
	"koyomi.dev/koyomi/internal/store/postgres/pgtest"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

// importCollection returns alice's default calendar (or address book) in
// a fresh service.
func importCollection(t *testing.T, kind store.Kind) (*Service, store.Store, *store.Collection) {
	t.Helper()
	s, st := newGroupService(t)
	ctx := context.Background()
	if err := s.EnsureHome(ctx, "alice", kind); err != nil {
		t.Fatal(err)
	}
	name := "default"
	if kind == store.KindAddressBook {
		name = "contacts"
	}
	c, err := s.Collection(ctx, "alice", name)
	if err != nil {
		t.Fatal(err)
	}
	return s, st, c
}

func crlf(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }

const berlin = "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n" +
	"TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n" +
	"BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n" +
	"RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"

func objectsByUID(t *testing.T, s *Service, c *store.Collection) map[string]*store.Object {
	t.Helper()
	objs, err := s.ListObjects(context.Background(), c, true)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]*store.Object{}
	for _, o := range objs {
		m[o.UID] = o
	}
	return m
}

// A recurring event's override joins its master, in the same batch and
// when it comes batches later; an object carries the zone it names and
// no other; a file's several calendars are read one after the other.
func TestImportSplitsByUID(t *testing.T) {
	ctx := context.Background()
	s, _, c := importCollection(t, store.KindCalendar)
	file := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:PUBLISH\r\n" + berlin +
		crlf("BEGIN:VTIMEZONE", "TZID:Unused/Zone", "BEGIN:STANDARD", "DTSTART:19700101T000000", "TZOFFSETFROM:+0300",
			"TZOFFSETTO:+0300", "END:STANDARD", "END:VTIMEZONE") +
		crlf("BEGIN:VEVENT", "UID:weekly", "DTSTAMP:20260101T000000Z", "DTSTART;TZID=Europe/Berlin:20260105T090000",
			"DURATION:PT1H", "RRULE:FREQ=WEEKLY;COUNT=10", "SUMMARY:Weekly", "END:VEVENT") +
		crlf("BEGIN:VEVENT", "UID:weekly", "DTSTAMP:20260101T000000Z", "RECURRENCE-ID;TZID=Europe/Berlin:20260112T090000",
			"DTSTART;TZID=Europe/Berlin:20260112T100000", "DURATION:PT1H", "SUMMARY:Moved once", "END:VEVENT")
	for i := range 5 {
		file += crlf("BEGIN:VEVENT", fmt.Sprintf("UID:single-%d", i), "DTSTAMP:20260101T000000Z",
			fmt.Sprintf("DTSTART:202602%02dT090000Z", i+1), "SUMMARY:Single", "END:VEVENT")
	}
	file += crlf("END:VCALENDAR", "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//other//EN",
		"BEGIN:VTODO", "UID:todo", "DTSTAMP:20260101T000000Z", "SUMMARY:Task", "END:VTODO",
		"BEGIN:VEVENT", "UID:weekly", "DTSTAMP:20260101T000000Z", "RECURRENCE-ID;TZID=Europe/Berlin:20260126T090000",
		"DTSTART;TZID=Europe/Berlin:20260126T110000", "DURATION:PT1H", "SUMMARY:Moved late", "END:VEVENT", "END:VCALENDAR")
	var batches int
	res, err := s.Import(ctx, c, strings.NewReader(file), ImportOptions{BatchSize: 2, Progress: func(ImportResult) { batches++ }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 7 || res.Updated != 0 || res.Skipped != 0 || res.BadCount != 0 {
		t.Fatalf("result = %+v, want 7 imported", res)
	}
	if batches < 4 {
		t.Errorf("progress called %d times, want once a batch (4)", batches)
	}
	objs := objectsByUID(t, s, c)
	if len(objs) != 7 {
		t.Fatalf("%d objects, want 7", len(objs))
	}
	weekly := string(objs["weekly"].Data)
	for _, want := range []string{"SUMMARY:Weekly", "SUMMARY:Moved once", "SUMMARY:Moved late", "TZID:Europe/Berlin"} {
		if !strings.Contains(weekly, want) {
			t.Errorf("weekly lacks %q:\n%s", want, weekly)
		}
	}
	if n := strings.Count(weekly, "BEGIN:VTIMEZONE"); n != 1 {
		t.Errorf("weekly holds %d VTIMEZONEs, want 1:\n%s", n, weekly)
	}
	if strings.Contains(weekly, "METHOD") || strings.Contains(weekly, "Unused/Zone") {
		t.Errorf("weekly carries what it does not need:\n%s", weekly)
	}
	if strings.Contains(string(objs["single-0"].Data), "VTIMEZONE") {
		t.Errorf("a UTC event got a zone:\n%s", objs["single-0"].Data)
	}
	if objs["todo"].Component != "VTODO" || objs["weekly"].Name != "weekly.ics" {
		t.Errorf("todo component %q, weekly named %q", objs["todo"].Component, objs["weekly"].Name)
	}
}

// An existing UID is replaced with update and kept with skip, and so are
// the overrides that come with it.
func TestImportOnConflict(t *testing.T) {
	ctx := context.Background()
	s, _, c := importCollection(t, store.KindCalendar)
	old := crlf("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN", "BEGIN:VEVENT", "UID:a", "DTSTAMP:20260101T000000Z",
		"DTSTART:20260301T090000Z", "SUMMARY:Old", "END:VEVENT", "END:VCALENDAR")
	if _, _, err := s.PutObject(ctx, c, "mine.ics", "", []byte(old), "text/calendar", store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	file := crlf("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN",
		"BEGIN:VEVENT", "UID:a", "DTSTAMP:20260101T000000Z", "DTSTART:20260301T090000Z", "RRULE:FREQ=DAILY;COUNT=3", "SUMMARY:New", "END:VEVENT",
		"BEGIN:VEVENT", "UID:b", "DTSTAMP:20260101T000000Z", "DTSTART:20260302T090000Z", "SUMMARY:B", "END:VEVENT",
		"BEGIN:VEVENT", "UID:a", "DTSTAMP:20260101T000000Z", "RECURRENCE-ID:20260302T090000Z", "DTSTART:20260302T100000Z", "SUMMARY:New moved", "END:VEVENT",
		"END:VCALENDAR")

	res, err := s.Import(ctx, c, strings.NewReader(file), ImportOptions{OnConflict: ImportSkip, BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 1 || res.Skipped != 1 || res.Updated != 0 || res.BadCount != 0 {
		t.Fatalf("skip: %+v, want 1 imported, 1 skipped", res)
	}
	if o := objectsByUID(t, s, c)["a"]; o.Name != "mine.ics" || string(o.Data) != old {
		t.Fatalf("skip changed the stored object: %s %s", o.Name, o.Data)
	}

	res, err = s.Import(ctx, c, strings.NewReader(file), ImportOptions{OnConflict: ImportUpdate, BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 0 || res.Updated != 1 || res.Unchanged != 1 || res.Skipped != 0 {
		t.Fatalf("update: %+v, want 1 updated (a), 1 unchanged (b)", res)
	}
	objs := objectsByUID(t, s, c)
	a := string(objs["a"].Data)
	if objs["a"].Name != "mine.ics" || !strings.Contains(a, "SUMMARY:New") || !strings.Contains(a, "SUMMARY:New moved") || strings.Contains(a, "SUMMARY:Old") {
		t.Fatalf("update left %s:\n%s", objs["a"].Name, a)
	}
	if len(objs) != 2 {
		t.Errorf("%d objects, want 2", len(objs))
	}
}

// Broken entries are reported with the line they begin at; the others
// are imported.
func TestImportBadEntries(t *testing.T) {
	ctx := context.Background()
	s, _, c := importCollection(t, store.KindCalendar)
	file := crlf("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN", // 1-3
		"BEGIN:VEVENT", "UID:good-1", "DTSTAMP:20260101T000000Z", "DTSTART:20260301T090000Z", "END:VEVENT", // 4-8
		"BEGIN:VEVENT", "DTSTAMP:20260101T000000Z", "DTSTART:20260301T090000Z", "END:VEVENT", // 9-12: no UID
		"BEGIN:VEVENT", "UID:bad-date", "DTSTAMP:20260101T000000Z", "DTSTART:2026-03-01", "END:VEVENT", // 13-17
		"BEGIN:VEVENT", "UID:no-colon", "this is not a content line", "END:VEVENT", // 18-21
		"BEGIN:VEVENT", "UID:mismatch", "DTSTART:20260301T090000Z", "END:VTODO", // 22-25
		"BEGIN:VEVENT", "UID:good-2", "DTSTAMP:20260101T000000Z", "DTSTART:20260302T090000Z", "END:VEVENT", // 26-30
		"END:VCALENDAR")
	res, err := s.Import(ctx, c, strings.NewReader(file), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 2 || res.BadCount != 4 || len(res.Bad) != 4 {
		t.Fatalf("result = %+v, want 2 imported and 4 bad", res)
	}
	for i, want := range []struct {
		line int
		in   string
	}{{9, "without UID"}, {13, "DTSTART"}, {18, "line 20: \"this is not"}, {22, "line 25: END:VTODO"}} {
		if b := res.Bad[i]; b.Line != want.line || !strings.Contains(b.Reason, want.in) {
			t.Errorf("bad[%d] = %+v, want line %d mentioning %q", i, b, want.line, want.in)
		}
	}
	objs := objectsByUID(t, s, c)
	if len(objs) != 2 || objs["good-1"] == nil || objs["good-2"] == nil {
		t.Errorf("stored %v, want good-1 and good-2", objs)
	}

	for _, notICS := range []string{"hello\r\n", crlf("BEGIN:VCARD", "VERSION:3.0", "FN:x", "END:VCARD"), ""} {
		_, err := s.Import(ctx, c, strings.NewReader(notICS), ImportOptions{})
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("import of %q: %v, want ErrMalformed", notICS, err)
		}
	}
	_, err = s.Import(ctx, c, strings.NewReader(file), ImportOptions{ContentType: "text/vcard"})
	if !errors.Is(err, ErrUnsupportedMediaType) {
		t.Errorf("vCard type into a calendar: %v, want ErrUnsupportedMediaType", err)
	}
}

// Cards: one per UID, a card without UID gets one made from its content
// (so a second import updates it), a repeated UID is refused.
func TestImportCards(t *testing.T) {
	ctx := context.Background()
	s, _, c := importCollection(t, store.KindAddressBook)
	file := crlf("BEGIN:VCARD", "VERSION:3.0", "UID:ann", "FN:Ann", "N:;Ann;;;", "END:VCARD",
		"BEGIN:VCARD", "VERSION:4.0", "FN:No Uid", "END:VCARD",
		"BEGIN:VCARD", "VERSION:3.0", "UID:ann", "FN:Ann Again", "N:;Ann;;;", "END:VCARD",
		"BEGIN:VCARD", "VERSION:3.0", "UID:no-fn", "END:VCARD")
	res, err := s.Import(ctx, c, strings.NewReader(file), ImportOptions{ContentType: "text/vcard; charset=utf-8"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 2 || res.BadCount != 2 || res.Bad[0].Line != 11 || res.Bad[1].Line != 17 {
		t.Fatalf("result = %+v, want 2 imported, bad at lines 11 and 17", res)
	}
	objs := objectsByUID(t, s, c)
	if len(objs) != 2 || objs["ann"] == nil || !strings.Contains(string(objs["ann"].Data), "FN:Ann\r\n") {
		t.Fatalf("stored %v", objs)
	}
	var made *store.Object
	for uid, o := range objs {
		if strings.HasPrefix(uid, "urn:uuid:") {
			made = o
		}
	}
	if made == nil || !strings.HasSuffix(made.Name, ".vcf") ||
		!strings.HasPrefix(string(made.Data), "BEGIN:VCARD\r\nVERSION:4.0\r\n") {
		t.Fatalf("card without UID: %+v", made)
	}
	res, err = s.Import(ctx, c, strings.NewReader(file), ImportOptions{})
	if err != nil || res.Unchanged != 2 || res.Updated != 0 || res.Imported != 0 {
		t.Fatalf("second import: %+v %v, want 2 unchanged", res, err)
	}
	if n := len(objectsByUID(t, s, c)); n != 2 {
		t.Errorf("after a second import %d cards, want 2", n)
	}
}

// Another user finds nothing, a reader may not write, a read-write sharee
// may; refusals change nothing.
func TestImportAccess(t *testing.T) {
	ctx := context.Background()
	s, _, c := importCollection(t, store.KindCalendar)
	if _, err := s.Share(ctx, c, "user:bob", LevelRead); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Share(ctx, c, "user:carol", LevelReadWrite); err != nil {
		t.Fatal(err)
	}
	file := crlf("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN", "BEGIN:VEVENT", "UID:x", "DTSTAMP:20260101T000000Z",
		"DTSTART:20260301T090000Z", "END:VEVENT", "END:VCALENDAR")
	for user, want := range map[string]error{"dave": ErrNotFound, "bob": ErrForbidden} {
		_, err := s.Import(WithPrincipal(ctx, user), c, strings.NewReader(file), ImportOptions{})
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", user, err, want)
		}
	}
	if n := len(objectsByUID(t, s, c)); n != 0 {
		t.Fatalf("refused imports stored %d objects", n)
	}
	res, err := s.Import(WithPrincipal(ctx, "carol"), c, strings.NewReader(file), ImportOptions{})
	if err != nil || res.Imported != 1 {
		t.Fatalf("read-write sharee: %+v %v", res, err)
	}
}

// 5,000 events, some recurring with overrides placed at the end of the
// file, in batches: every UID one object, every override with its master.
func TestImportLargeFile(t *testing.T) {
	ctx := context.Background()
	s, _, c := importCollection(t, store.KindCalendar)
	var b strings.Builder
	n := writeImportCalendar(&b, 5000)
	res, err := s.Import(ctx, c, strings.NewReader(b.String()), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != n || res.BadCount != 0 {
		t.Fatalf("result = imported %d bad %d %v, want %d imported", res.Imported, res.BadCount, res.Bad, n)
	}
	objs := objectsByUID(t, s, c)
	if len(objs) != n {
		t.Fatalf("%d objects, want %d", len(objs), n)
	}
	for uid, o := range objs {
		if strings.HasPrefix(uid, "series-") && strings.Count(string(o.Data), "RECURRENCE-ID") != 1 {
			t.Fatalf("%s lost its override:\n%s", uid, o.Data)
		}
	}
}

// A new UID whose name is taken by an object of another UID gets the
// name with a hash of its UID; the other object stays.
// On both stores: the refused first write must leave a PostgreSQL
// transaction usable.
func TestImportNameTaken(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) store.Store{
		"sqlite": func(t *testing.T) store.Store {
			st, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
		"postgres": func(t *testing.T) store.Store {
			st, err := postgres.Open(context.Background(), pgtest.Database(t), postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
	} {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			t.Cleanup(func() { st.Close() })
			s := New(st, Options{PasswordParams: auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 16}})
			ctx := context.Background()
			if err := s.CreateUser(ctx, "alice", "alice-password", ""); err != nil {
				t.Fatal(err)
			}
			if err := s.EnsureHome(ctx, "alice", store.KindCalendar); err != nil {
				t.Fatal(err)
			}
			c, err := s.Collection(ctx, "alice", "default")
			if err != nil {
				t.Fatal(err)
			}
			testImportNameTaken(t, s, c)
		})
	}
}

func testImportNameTaken(t *testing.T, s *Service, c *store.Collection) {
	ctx := context.Background()
	other := crlf("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN", "BEGIN:VEVENT", "UID:other", "DTSTAMP:20260101T000000Z",
		"DTSTART:20260301T090000Z", "END:VEVENT", "END:VCALENDAR")
	if _, _, err := s.PutObject(ctx, c, "taken.ics", "", []byte(other), "text/calendar", store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	file := strings.Replace(strings.Replace(other, "UID:other", "UID:taken", 1), "END:VCALENDAR",
		"BEGIN:VEVENT\r\nUID:after\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260302T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR", 1)
	res, err := s.Import(ctx, c, strings.NewReader(file), ImportOptions{})
	if err != nil || res.Imported != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	objs := objectsByUID(t, s, c)
	if objs["other"].Name != "taken.ics" || objs["taken"] == nil || objs["taken"].Name != "taken-"+ShortHash("taken")+".ics" || objs["after"] == nil {
		t.Errorf("other %s, taken %+v", objs["other"].Name, objs["taken"])
	}
}

// A file larger than MaxImportSize is refused: at once when its length is
// announced, and where it crosses the limit when it is not (what came in
// whole batches before stays, the rest is not read).
func TestImportSizeLimit(t *testing.T) {
	ctx := context.Background()
	s, _, c := importCollection(t, store.KindCalendar)
	var b strings.Builder
	n := writeImportCalendar(&b, 2000)
	file := b.String()
	s.opts.MaxImportSize = int64(len(file) / 2)

	res, err := s.Import(ctx, c, strings.NewReader(file), ImportOptions{Size: int64(len(file))})
	if !errors.Is(err, ErrTooLarge) || res.Imported != 0 {
		t.Fatalf("announced too large: %+v, %v; want ErrTooLarge and nothing imported", res, err)
	}
	if objs := objectsByUID(t, s, c); len(objs) != 0 {
		t.Fatalf("%d objects stored from a refused file", len(objs))
	}

	res, err = s.Import(ctx, c, strings.NewReader(file), ImportOptions{BatchSize: 100})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "max_import_size") {
		t.Fatalf("unannounced too large: %v; want ErrTooLarge naming max_import_size", err)
	}
	if res.Imported == 0 || res.Imported >= n {
		t.Fatalf("imported %d of %d before the limit; want some, not all", res.Imported, n)
	}
	if res.BadCount != 0 {
		t.Fatalf("the component cut off at the limit is reported as bad: %+v", res.Bad)
	}

	s.opts.MaxImportSize = int64(len(file))
	if res, err := s.Import(ctx, c, strings.NewReader(file), ImportOptions{Size: int64(len(file))}); err != nil || res.Imported+res.Unchanged != n {
		t.Fatalf("a file of exactly the limit: %+v, %v", res, err)
	}
}

// Overrides whose master the file lacks join the stored object of their
// UID with update: one of an occurrence the object holds replaces it, the
// others are added, the master and the other overrides stay; also when
// they come batches apart. With skip the stored object is left alone.
func TestImportOverridesJoinStoredObject(t *testing.T) {
	ctx := context.Background()
	s, _, c := importCollection(t, store.KindCalendar)
	event := func(rid, summary string) string {
		lines := []string{"BEGIN:VEVENT", "UID:series", "DTSTAMP:20260101T000000Z"}
		if rid == "" {
			lines = append(lines, "DTSTART;TZID=Europe/Berlin:20260105T090000", "RRULE:FREQ=WEEKLY;COUNT=10")
		} else {
			lines = append(lines, "RECURRENCE-ID;TZID=Europe/Berlin:"+rid, "DTSTART;TZID=Europe/Berlin:"+rid)
		}
		return crlf(append(lines, "DURATION:PT1H", "SUMMARY:"+summary, "END:VEVENT")...)
	}
	stored := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n" + berlin + event("", "Master") +
		event("20260112T090000", "Old A") + event("20260119T090000", "Old B") + "END:VCALENDAR\r\n"
	if _, _, err := s.PutObject(ctx, c, "series.ics", "", []byte(stored), "text/calendar", store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	single := func(uid string) string {
		return crlf("BEGIN:VEVENT", "UID:"+uid, "DTSTAMP:20260101T000000Z", "DTSTART:20260301T090000Z", "SUMMARY:S", "END:VEVENT")
	}
	file := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n" + berlin + event("20260119T090000", "New B") +
		single("x1") + event("20260126T090000", "New C") + single("x2") + event("20260112T090000", "New A") + "END:VCALENDAR\r\n"

	res, err := s.Import(ctx, c, strings.NewReader(file), ImportOptions{OnConflict: ImportSkip, BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped != 1 || res.Imported != 2 || res.BadCount != 0 {
		t.Fatalf("skip: %+v, want 1 skipped, 2 imported", res)
	}
	if o := objectsByUID(t, s, c)["series"]; string(o.Data) != stored {
		t.Fatalf("skip changed the stored object:\n%s", o.Data)
	}

	res, err = s.Import(ctx, c, strings.NewReader(file), ImportOptions{BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Updated != 1 || res.Unchanged != 2 || res.BadCount != 0 {
		t.Fatalf("update: %+v, want series updated, x1 and x2 unchanged", res)
	}
	o := objectsByUID(t, s, c)["series"]
	got := string(o.Data)
	for _, want := range []string{"SUMMARY:Master", "RRULE:FREQ=WEEKLY", "SUMMARY:New A", "SUMMARY:New B", "SUMMARY:New C", "TZID:Europe/Berlin"} {
		if !strings.Contains(got, want) {
			t.Errorf("series lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "Old A") || strings.Contains(got, "Old B") || strings.Count(got, "BEGIN:VTIMEZONE") != 1 {
		t.Errorf("series keeps replaced overrides or doubles its zone:\n%s", got)
	}
	if o.Name != "series.ics" || strings.Count(got, "BEGIN:VEVENT") != 4 {
		t.Errorf("series is %s with %d VEVENTs, want series.ics with 4", o.Name, strings.Count(got, "BEGIN:VEVENT"))
	}
}

// Importing a file again writes nothing: every object is counted as
// unchanged and the collection's sync token stays.
func TestImportUnchanged(t *testing.T) {
	ctx := context.Background()
	s, _, c := importCollection(t, store.KindCalendar)
	var b strings.Builder
	n := writeImportCalendar(&b, 50)
	file := b.String()
	if res, err := s.Import(ctx, c, strings.NewReader(file), ImportOptions{BatchSize: 7}); err != nil || res.Imported != n {
		t.Fatalf("first import: %+v, %v", res, err)
	}
	before, err := s.Collection(ctx, "alice", "default")
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Import(ctx, c, strings.NewReader(file), ImportOptions{BatchSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	if res.Unchanged != n || res.Updated != 0 || res.Imported != 0 || res.BadCount != 0 {
		t.Fatalf("second import: %+v, want %d unchanged", res, n)
	}
	after, err := s.Collection(ctx, "alice", "default")
	if err != nil {
		t.Fatal(err)
	}
	if after.Revision != before.Revision {
		t.Fatalf("revision moved from %d to %d on an unchanged import", before.Revision, after.Revision)
	}
	changes, err := s.Changes(ctx, c, before.Revision)
	if err != nil || len(changes) != 0 {
		t.Fatalf("changes since the first import: %v, %v", changes, err)
	}
}

// A file that begins with a UTF-8 byte order mark is imported, calendar
// and address book alike.
func TestImportByteOrderMark(t *testing.T) {
	ctx := context.Background()
	s, _, c := importCollection(t, store.KindCalendar)
	file := "\uFEFF" + crlf("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN", "BEGIN:VEVENT", "UID:bom",
		"DTSTAMP:20260101T000000Z", "DTSTART:20260301T090000Z", "END:VEVENT", "END:VCALENDAR")
	if res, err := s.Import(ctx, c, strings.NewReader(file), ImportOptions{}); err != nil || res.Imported != 1 {
		t.Fatalf("calendar: %+v, %v", res, err)
	}
	s, _, c = importCollection(t, store.KindAddressBook)
	cards := "\uFEFF" + crlf("BEGIN:VCARD", "VERSION:3.0", "UID:bom", "FN:Bo", "N:;Bo;;;", "END:VCARD")
	if res, err := s.Import(ctx, c, strings.NewReader(cards), ImportOptions{}); err != nil || res.Imported != 1 {
		t.Fatalf("cards: %+v, %v", res, err)
	}
}

// A stored series whose master comes batches before its overrides is
// written once, at the end, and only if the file changes it: a changed
// late override is written, and an override the file no longer holds is
// dropped (update replaces the stored object with the file's).
func TestImportHeldSeries(t *testing.T) {
	ctx := context.Background()
	s, _, c := importCollection(t, store.KindCalendar)
	master := crlf("BEGIN:VEVENT", "UID:s", "DTSTAMP:20260101T000000Z", "DTSTART:20260105T090000Z", "RRULE:FREQ=WEEKLY;COUNT=5", "SUMMARY:M", "END:VEVENT")
	override := func(summary string) string {
		return crlf("BEGIN:VEVENT", "UID:s", "DTSTAMP:20260101T000000Z", "RECURRENCE-ID:20260112T090000Z", "DTSTART:20260112T100000Z", "SUMMARY:"+summary, "END:VEVENT")
	}
	other := crlf("BEGIN:VEVENT", "UID:o", "DTSTAMP:20260101T000000Z", "DTSTART:20260301T090000Z", "END:VEVENT")
	file := func(body string) string {
		return crlf("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN") + body + "END:VCALENDAR\r\n"
	}
	steps := []struct {
		name, file         string
		updated, unchanged int
		want, notWant      string
	}{
		{"first", file(master + other + override("Moved")), 0, 0, "SUMMARY:Moved", ""},
		{"same", file(master + other + override("Moved")), 0, 2, "SUMMARY:Moved", ""},
		{"override changed", file(master + other + override("Moved again")), 1, 1, "SUMMARY:Moved again", "SUMMARY:Moved\r\n"},
		{"override gone", file(master + other), 1, 1, "SUMMARY:M\r\n", "Moved"},
	}
	for _, st := range steps {
		before, err := s.Collection(ctx, "alice", "default")
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Import(ctx, c, strings.NewReader(st.file), ImportOptions{BatchSize: 1})
		if err != nil || res.Updated != st.updated || res.Unchanged != st.unchanged || res.BadCount != 0 {
			t.Fatalf("%s: %+v, %v; want %d updated, %d unchanged", st.name, res, err, st.updated, st.unchanged)
		}
		got := string(objectsByUID(t, s, c)["s"].Data)
		if !strings.Contains(got, st.want) || (st.notWant != "" && strings.Contains(got, st.notWant)) {
			t.Errorf("%s: series is\n%s", st.name, got)
		}
		after, err := s.Collection(ctx, "alice", "default")
		if err != nil {
			t.Fatal(err)
		}
		if moved := after.Revision - before.Revision; st.name != "first" && moved != int64(st.updated) {
			t.Errorf("%s: the revision moved by %d, want %d (the series written once)", st.name, moved, st.updated)
		}
	}
}

// An event naming a known IANA zone that the file does not define gets
// the zone's VTIMEZONE made for it; one naming an unknown zone is
// imported as it is.
func TestImportGeneratesKnownZones(t *testing.T) {
	ctx := context.Background()
	s, _, c := importCollection(t, store.KindCalendar)
	file := crlf("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN",
		"BEGIN:VEVENT", "UID:tokyo", "DTSTAMP:20260101T000000Z", "DTSTART;TZID=Asia/Tokyo:20260301T090000", "END:VEVENT",
		"BEGIN:VEVENT", "UID:nowhere", "DTSTAMP:20260101T000000Z", "DTSTART;TZID=Not/A_Zone:20260301T090000", "END:VEVENT",
		"END:VCALENDAR")
	res, err := s.Import(ctx, c, strings.NewReader(file), ImportOptions{})
	if err != nil || res.Imported != 2 || res.BadCount != 0 {
		t.Fatalf("%+v, %v", res, err)
	}
	objs := objectsByUID(t, s, c)
	tokyo := string(objs["tokyo"].Data)
	if !strings.Contains(tokyo, "BEGIN:VTIMEZONE\r\nTZID:Asia/Tokyo\r\n") || !strings.Contains(tokyo, "TZOFFSETTO:+0900") ||
		strings.Count(tokyo, "BEGIN:VCALENDAR") != 1 {
		t.Errorf("tokyo lacks its zone:\n%s", tokyo)
	}
	if strings.Contains(string(objs["nowhere"].Data), "VTIMEZONE") {
		t.Errorf("an unknown zone got a VTIMEZONE:\n%s", objs["nowhere"].Data)
	}
	res, err = s.Import(ctx, c, strings.NewReader(file), ImportOptions{})
	if err != nil || res.Unchanged != 2 {
		t.Fatalf("second import: %+v, %v; want 2 unchanged", res, err)
	}
}
