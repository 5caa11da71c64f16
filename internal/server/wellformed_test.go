package server

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/xmltest"
)

// storedText holds characters XML cannot carry that older versions
// accepted in iCalendar data and names (NUL and bytes that are not UTF-8
// were always refused, and PostgreSQL cannot store them as text: the
// writers' fuzz test in package dav covers those), storedCardText what
// they accepted in vCards.
const (
	storedText     = "bell\a esc\x1b \x01 \uFFFE \uFFFF end"
	storedCardText = "non-characters \uFFFE \uFFFF end"
)

// Whatever the store holds (data stored before input was checked, or put
// there by hand), every XML answer built from it is well-formed: object
// data, collection and user names, dead properties (also those stored with
// a prefix declared for xml:lang).
func TestStoredDataAnswersAreWellFormed(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testStoredDataWellFormed(t, newTestServerOn(t, b)) })
	}
}

func testStoredDataWellFormed(t *testing.T, srv *Server) {
	ctx := context.Background()
	const cal, book = "/dav/calendars/alice/default/", "/dav/addressbooks/alice/contacts/"
	for _, put := range []struct{ path, body, ct string }{
		{cal + "ev.ics", event("ev", "plain"), "text/calendar"},
		{book + "card.vcf", "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:card\r\nFN:Plain\r\nEND:VCARD\r\n", "text/vcard"},
	} {
		if rec := request(t, srv, http.MethodPut, put.path, put.body, "Content-Type", put.ct); rec.Code != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", put.path, rec.Code, rec.Body)
		}
	}
	err := srv.store.Update(ctx, func(tx store.Tx) error {
		for _, o := range []struct{ coll, name, data string }{
			{"default", "ev.ics", event("ev", storedText)},
			{"contacts", "card.vcf", "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:card\r\nFN:" + storedCardText + "\r\nEND:VCARD\r\n"},
		} {
			c, err := tx.GetCollection(ctx, "alice", o.coll)
			if err != nil {
				return err
			}
			c.DisplayName, c.Description = storedText, storedText
			if err := tx.UpdateCollection(ctx, c); err != nil {
				return err
			}
			obj, err := tx.GetObject(ctx, c.ID, o.name)
			if err != nil {
				return err
			}
			obj.Data = []byte(o.data)
			if _, err := tx.PutObject(ctx, obj, store.PutOptions{}); err != nil {
				return err
			}
		}
		u, err := tx.GetUser(ctx, "alice")
		if err != nil {
			return err
		}
		u.DisplayName = storedText
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		calendar, err := tx.GetCollection(ctx, "alice", "default")
		if err != nil {
			return err
		}
		key := domain.CollectionKey(calendar).String()
		if err := tx.SetProperty(ctx, key, "urn:example:x", "note",
			[]byte(`<note xmlns="urn:example:x">`+storedText+`</note>`)); err != nil {
			return err
		}
		// xml:lang as dead properties were stored before it kept its prefix.
		return tx.SetProperty(ctx, key, "urn:example:x", "greeting",
			[]byte(`<greeting xmlns="urn:example:x" xmlns:a0="http://www.w3.org/XML/1998/namespace" a0:lang="fr">Bonjour</greeting>`))
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ name, method, path, depth, body string }{
		{"home allprop", "PROPFIND", "/dav/calendars/alice/", "1", ""},
		{"calendar props", "PROPFIND", cal, "0", `<propfind xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><prop>` +
			`<displayname/><C:calendar-description/><note xmlns="urn:example:x"/><greeting xmlns="urn:example:x"/></prop></propfind>`},
		{"principal", "PROPFIND", "/dav/principals/alice/", "0", `<propfind xmlns="DAV:"><prop><displayname/></prop></propfind>`},
		{"book home", "PROPFIND", "/dav/addressbooks/alice/", "1", `<propfind xmlns="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><prop>` +
			`<displayname/><CR:addressbook-description/></prop></propfind>`},
		{"calendar-query", "REPORT", cal, "1", `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">` +
			`<D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>`},
		{"calendar-query partial", "REPORT", cal, "1", `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">` +
			`<D:prop><C:calendar-data><C:comp name="VCALENDAR"><C:comp name="VEVENT"><C:prop name="SUMMARY"/></C:comp></C:comp></C:calendar-data></D:prop>` +
			`<C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>`},
		{"calendar-multiget", "REPORT", cal, "1", `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">` +
			`<D:prop><C:calendar-data/></D:prop><D:href>` + cal + `ev.ics</D:href></C:calendar-multiget>`},
		{"addressbook-query", "REPORT", book, "1", `<CR:addressbook-query xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav">` +
			`<D:prop><CR:address-data/></D:prop></CR:addressbook-query>`},
	} {
		t.Run(r.name, func(t *testing.T) {
			header := []string{"Content-Type", "application/xml"}
			if r.depth != "" {
				header = append(header, "Depth", r.depth)
			}
			rec := request(t, srv, r.method, r.path, r.body, header...)
			if rec.Code != http.StatusMultiStatus {
				t.Fatalf("%s %s: %d %s", r.method, r.path, rec.Code, rec.Body)
			}
			xmltest.CheckWellFormed(t, r.name, rec.Body.Bytes())
			if strings.HasSuffix(r.name, "props") && !strings.Contains(rec.Body.String(), `<greeting xmlns="urn:example:x" xml:lang="fr">Bonjour</greeting>`) {
				t.Errorf("%s: the stored xml:lang is not written as xml:lang:\n%s", r.name, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), "\uFFFD") {
				t.Errorf("%s: the stored characters were not replaced by U+FFFD:\n%s", r.name, rec.Body)
			}
		})
	}
}
