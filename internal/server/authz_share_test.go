package server

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"koyomi.dev/koyomi/internal/domain"
	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/tree"
)

// The authorization matrix of sharing and delegation: alice's calendar and
// address book, reached by one actor per way of holding access, through
// the sharee's mount and through alice's own URL, with every method and
// REPORT. Each answer has the status written in the tables below, shows no
// marker its actor may not see, and the refused requests leave alice's
// data as it was, ETags included.

// Markers planted in alice's shared collections.
const (
	markSummary     = "alicesecretsummary"
	markDescription = "alicesecretdescription"
	markLocation    = "alicesecretlocation"
	markAttendee    = "alicesecretattendee"
	markContact     = "alicesecretcontact"
	// In the names of a task and of a transparent event, which are no
	// busy time, and in a dead property of an event: details too.
	markNotBusy     = "alicesecretnotbusy"
	markObjectProp  = "alicesecretobjectprop"
	markPublicEvent = "alicepublicevent" // in the calendar every signed-in user reads
	markPublicCard  = "alicepubliccard"  // in the address book every signed-in user reads
	// Who else alice shares with, as DAV:acl and CS:invite name them: for
	// alice and the collection's admins only. confidant holds a grant on
	// both shared collections and is no actor of the matrix.
	markConfidant = "/dav/principals/confidant/"
)

var shareMarkers = []string{markSummary, markDescription, markLocation, markAttendee, markNotBusy, markObjectProp,
	markContact, markPublicEvent, markPublicCard, markConfidant}

// The actors, in the order of the columns of every expectation: a user
// with no access, the grants free-busy, read, read-write and admin, the
// read and write delegates, the owner, a member of a group granted read,
// a user reading through a grant to every signed-in user, and a client
// with no credentials ("").
var shareActors = [...]string{"nobody", "busy", "reader", "writer", "admin", "proxyread", "proxywrite", "alice", "member", "anyone", ""}

// expect holds one status per actor, in the order of shareActors.
type expect [len(shareActors)]int

// aliceOnly is the expectation of a request to alice's own URL: what
// alice gets, 404 for every other signed-in user, 401 without credentials.
func aliceOnly(status int) expect {
	return expect{404, 404, 404, 404, 404, 404, 404, status, 404, 404, 401}
}

// mayRead lists the markers each actor may be shown, and is shown by the
// rows it runs. Details of events are for those who read the calendar;
// the free-busy sharee sees busy time only. A user with no access sees
// nothing of alice's, the one who reads through the grant to everyone only
// what it covers. (alice's rows act on her shared collections, not on the
// public ones.)
var mayRead = map[string][]string{
	"nobody":     nil,
	"busy":       nil,
	"reader":     {markSummary, markDescription, markLocation, markAttendee, markNotBusy, markObjectProp, markContact},
	"writer":     {markSummary, markDescription, markLocation, markAttendee, markNotBusy, markObjectProp, markContact},
	"admin":      {markSummary, markDescription, markLocation, markAttendee, markNotBusy, markObjectProp, markContact, markConfidant},
	"proxyread":  {markSummary, markDescription, markLocation, markAttendee, markNotBusy, markObjectProp},
	"proxywrite": {markSummary, markDescription, markLocation, markAttendee, markNotBusy, markObjectProp},
	"alice":      {markSummary, markDescription, markLocation, markAttendee, markNotBusy, markObjectProp, markContact, markConfidant},
	"member":     {markSummary, markDescription, markLocation, markAttendee, markNotBusy, markObjectProp, markContact},
	"anyone":     {markPublicEvent, markPublicCard},
	"":           nil,
}

// seesDetails are the actors who read the details of the objects their
// rows act on (text-match finds by them); "busy" sees busy time only.
var seesDetails = map[string]bool{"reader": true, "writer": true, "admin": true, "proxyread": true,
	"proxywrite": true, "alice": true, "member": true, "anyone": true}

// What a 2xx answer to a step changes of alice's data.
type alteration int

const (
	altersNothing alteration = iota // a read, or a change to the actor's own data only
	altersIfAlice                   // alice's data when alice makes the request, the actor's own otherwise
	altersAlice                     // alice's data (or her sharing)
)

// shareStep is one row of the matrix. In path, body and header values,
// {c} is the collection the row acts on as the actor reaches it (their
// mount, or alice's URL), {base} the home holding it, {home} the actor's
// own home of the kind, {mine} the actor's own collection of the kind,
// {me} the actor, {uid} and {etag} the UID and ETag of the object the rows
// act on, {token} the collection's sync token and {lock} the lock token
// the actor's LOCK of the object returned.
type shareStep struct {
	name         string
	method, path string
	body         string
	header       []string
	mount, owner expect // through the actor's mount; through alice's URL
	alters       alteration
	// gone: after a 2xx the target is no longer there for the actor
	// (RFC 4918 9.6.1, 9.9).
	gone bool
	// finds names an object a 2xx answer lists for the actors who see
	// details and never for one who sees busy time only.
	finds string
	// needPrivileges: a 403 is the refusal of a privilege the actor
	// lacks, and says which (RFC 3744 7.1.1).
	needPrivileges bool
	// lands: after a 2xx, alice reads the body sent at her own URL of the
	// request's object: a sharee's write is the owner's data.
	lands bool
}

// shareKind is a kind of collection alice shares, with its rows.
type shareKind struct {
	name        string
	home        string // the prefix of every user's home of this kind
	shared      string // alice's collection granted to the actors and their delegation
	public      string // alice's collection granted to every signed-in user
	mine        string // every user's own collection of this kind
	object, uid string // the object every shared collection holds, and the UID of alice's
	steps       []shareStep
}

func (k *shareKind) target(actor string) string {
	if actor == "anyone" {
		return k.public
	}
	return k.shared
}

// collection is the URL of the actor's target: their mount, or alice's
// own URL (for alice both are hers). The anonymous client tries the
// reader's mount.
func (k *shareKind) collection(actor string, viaOwner bool) string {
	user := actor
	if user == "" {
		user = "reader"
	}
	if viaOwner || user == "alice" {
		return k.home + "alice/" + k.target(actor) + "/"
	}
	return k.home + user + "/" + domain.MountName(&store.Collection{Owner: "alice", Name: k.target(actor)}) + "/"
}

// plantedCollection is one collection of the planned world, restored
// after every request that changes it.
type plantedCollection struct {
	name, display, description string
	kind                       store.Kind
	objects                    map[string]string
	props                      map[string]string // dead properties of objects: name → XML
	grants                     map[string]domain.Level
}

func eventOf(uid, start, end, rrule, summary, description, location, attendee string) string {
	lines := []string{"BEGIN:VEVENT", "UID:" + uid, "DTSTAMP:20260101T000000Z", "DTSTART:" + start, "DTEND:" + end}
	if rrule != "" {
		lines = append(lines, "RRULE:"+rrule)
	}
	lines = append(lines, "SUMMARY:Quarterly "+summary, "DESCRIPTION:Budget "+description, "LOCATION:Boardroom "+location,
		"ATTENDEE;CN=Dana:mailto:dana-"+attendee+"@example.org", "END:VEVENT")
	return ics(lines...)
}

func cardOf(uid, mark string) string {
	return "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:" + uid + "\r\nFN:Dana " + mark + "\r\nN:" + mark + ";Dana;;;\r\nEMAIL:dana-" + mark +
		"@example.org\r\nNOTE:Harbour " + mark + "\r\nEND:VCARD\r\n"
}

func plantedCollections() []plantedCollection {
	granted := map[string]domain.Level{"user:busy": domain.LevelFreeBusy, "user:reader": domain.LevelRead,
		"user:writer": domain.LevelReadWrite, "user:admin": domain.LevelAdmin, "group:team": domain.LevelRead, "user:confidant": domain.LevelRead}
	bookGranted := map[string]domain.Level{"user:reader": domain.LevelRead, "user:writer": domain.LevelReadWrite,
		"user:admin": domain.LevelAdmin, "group:team": domain.LevelRead, "user:confidant": domain.LevelRead}
	everyone := map[string]domain.Level{domain.GranteeEveryone: domain.LevelRead}
	return []plantedCollection{
		{name: "work", display: "Work", description: "what alice does at work", kind: store.KindCalendar, grants: granted,
			objects: map[string]string{
				"event.ics": eventOf("alice-event", "20260120T090000Z", "20260120T100000Z", "", markSummary, markDescription, markLocation, markAttendee),
				"recur.ics": eventOf("alice-recur", "20260105T140000Z", "20260105T150000Z", "FREQ=WEEKLY;COUNT=10", markSummary, markDescription, markLocation, markAttendee),
				markNotBusy + "-task.ics": ics("BEGIN:VTODO", "UID:alice-task", "DTSTAMP:20260101T000000Z", "DUE:20260125T170000Z",
					"SUMMARY:"+markSummary, "END:VTODO"),
				markNotBusy + "-free.ics": ics("BEGIN:VEVENT", "UID:alice-free", "DTSTAMP:20260101T000000Z", "DTSTART:20260126T120000Z",
					"DTEND:20260126T130000Z", "TRANSP:TRANSPARENT", "SUMMARY:Lunch "+markSummary, "END:VEVENT"),
				markNotBusy + "-cancelled.ics": ics("BEGIN:VEVENT", "UID:alice-cancelled", "DTSTAMP:20260101T000000Z", "DTSTART:20260127T120000Z",
					"DTEND:20260127T130000Z", "STATUS:CANCELLED", "SUMMARY:Called off "+markSummary, "END:VEVENT"),
			},
			props: map[string]string{"event.ics": `<X:note xmlns:X="urn:example:test">` + markObjectProp + `</X:note>`}},
		{name: "public", display: "Open hours", kind: store.KindCalendar, grants: everyone,
			objects: map[string]string{
				"event.ics": eventOf("public-event", "20260120T090000Z", "20260120T100000Z", "", markPublicEvent, markPublicEvent, markPublicEvent, markPublicEvent),
				"recur.ics": eventOf("public-recur", "20260105T140000Z", "20260105T150000Z", "FREQ=WEEKLY;COUNT=10", markPublicEvent, markPublicEvent, markPublicEvent, markPublicEvent),
			}},
		{name: "people", display: "People", description: "whom alice knows", kind: store.KindAddressBook, grants: bookGranted,
			objects: map[string]string{"card.vcf": cardOf("alice-card", markContact)}},
		{name: "company", display: "Company", kind: store.KindAddressBook, grants: everyone,
			objects: map[string]string{"card.vcf": cardOf("public-card", markPublicCard)}},
	}
}

// ownCollections are every user's own collections, the sources and
// destinations of COPY and MOVE.
func ownCollections(user string) []plantedCollection {
	return []plantedCollection{
		{name: "mine", display: "Mine", kind: store.KindCalendar, objects: map[string]string{
			"in.ics":  ics("BEGIN:VEVENT", "UID:"+user+"-in", "DTSTAMP:20260101T000000Z", "DTSTART:20260121T090000Z", "SUMMARY:"+user+" copies in", "END:VEVENT"),
			"in2.ics": ics("BEGIN:VEVENT", "UID:"+user+"-in2", "DTSTAMP:20260101T000000Z", "DTSTART:20260122T090000Z", "SUMMARY:"+user+" moves in", "END:VEVENT"),
		}},
		{name: "mybook", display: "My book", kind: store.KindAddressBook, objects: map[string]string{
			"in.vcf":  "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:" + user + "-in\r\nFN:" + user + " in\r\nEND:VCARD\r\n",
			"in2.vcf": "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:" + user + "-in2\r\nFN:" + user + " in2\r\nEND:VCARD\r\n",
		}},
	}
}

func collectionURL(owner string, c plantedCollection) string {
	return tree.CollectionPath(&store.Collection{Owner: owner, Name: c.name, Kind: c.kind})
}

// plant makes the world exactly as planned: owner's collections (and no
// others), their names, descriptions, dead properties, objects and grants.
// It acts as the system, through the domain.
func plant(t *testing.T, srv *Server, owner string, plan []plantedCollection) {
	t.Helper()
	ctx := context.Background()
	svc := srv.Service()
	existing, err := svc.Collections(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*store.Collection{}
	for _, c := range existing {
		byName[c.Name] = c
	}
	planned := map[string]bool{}
	for _, p := range plan {
		planned[p.name] = true
	}
	for _, c := range existing {
		if !planned[c.Name] && !strings.Contains(c.Name, "/") {
			if err := svc.DeleteCollection(ctx, c); err != nil {
				t.Fatalf("plant: delete %s/%s: %v", owner, c.Name, err)
			}
		}
	}
	for _, p := range plan {
		path := collectionURL(owner, p)
		c := byName[p.name]
		if c == nil {
			c = &store.Collection{Owner: owner, Name: p.name, Kind: p.kind, DisplayName: p.display, Description: p.description}
			if err := svc.CreateCollection(ctx, c, nil); err != nil {
				t.Fatalf("plant: create %s: %v", path, err)
			}
			if c, err = svc.Collection(ctx, owner, p.name); err != nil {
				t.Fatal(err)
			}
		}
		dead, err := svc.CollectionProperties(ctx, c, "")
		if err != nil {
			t.Fatal(err)
		}
		var removals []domain.PropChange
		for _, d := range dead {
			removals = append(removals, domain.PropChange{Property: d, Remove: true})
		}
		if c.DisplayName != p.display || c.Description != p.description || c.DescriptionLang != "" || c.Color != "" || c.Order != 0 || len(removals) > 0 {
			fixed := *c
			fixed.DisplayName, fixed.Description, fixed.DescriptionLang, fixed.Color, fixed.Order = p.display, p.description, "", "", 0
			if err := svc.PatchCollection(ctx, &fixed, removals); err != nil {
				t.Fatalf("plant: restore %s: %v", path, err)
			}
		}
		objs, err := svc.ListObjects(ctx, c, true)
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, o := range objs {
			want, ok := p.objects[o.Name]
			if !ok {
				if err := svc.DeleteObject(ctx, c, o.Name, ""); err != nil {
					t.Fatalf("plant: delete %s%s: %v", path, o.Name, err)
				}
				continue
			}
			have[o.Name] = bytes.Equal(o.Data, []byte(want))
		}
		for name, data := range p.objects {
			if !have[name] {
				if _, _, err := svc.PutObject(ctx, c, name, "", []byte(data), "", store.PutOptions{}); err != nil {
					t.Fatalf("plant: put %s%s: %v", path, name, err)
				}
			}
			plantProperty(t, srv, c, name, p.props[name])
		}
		grants, err := svc.Grants(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		held := map[string]string{}
		for _, g := range grants {
			held[g.Grantee] = g.Level
			if _, ok := p.grants[g.Grantee]; !ok {
				if err := svc.Unshare(ctx, c, g.Grantee); err != nil {
					t.Fatal(err)
				}
			}
		}
		for grantee, level := range p.grants {
			if held[grantee] != level.String() {
				if _, err := svc.Share(ctx, c, grantee, level); err != nil {
					t.Fatalf("plant: share %s with %s: %v", path, grantee, err)
				}
			}
		}
	}
}

// plantProperty leaves c's object name with the one dead property prop
// ("" for none).
func plantProperty(t *testing.T, srv *Server, c *store.Collection, name, prop string) {
	t.Helper()
	ctx := context.Background()
	have, err := srv.Service().CollectionProperties(ctx, c, name)
	if err != nil {
		t.Fatal(err)
	}
	if len(have) == 0 && prop == "" || len(have) == 1 && string(have[0].XML) == prop {
		return
	}
	var changes []domain.PropChange
	for _, h := range have {
		changes = append(changes, domain.PropChange{Property: h, Remove: true})
	}
	if prop != "" {
		changes = append(changes, domain.PropChange{Property: store.Property{Namespace: "urn:example:test", Local: "note", XML: []byte(prop)}})
	}
	if err := srv.Service().PatchProperties(ctx, domain.ObjectKey(c, name), changes); err != nil {
		t.Fatalf("plant: properties of %s: %v", name, err)
	}
}

// shareWorld is one server with alice's shared world planted.
type shareWorld struct {
	srv *Server
	// tokens and etags of alice's collections and objects, by URL.
	tokens, etags map[string]string
}

func newShareWorld(t *testing.T, srv *Server) *shareWorld {
	t.Helper()
	ctx := context.Background()
	svc := srv.Service()
	addUsers(t, srv, "nobody", "busy", "reader", "writer", "admin", "proxyread", "proxywrite", "member", "anyone", "confidant")
	if err := svc.CreateGroup(ctx, "team", "Team", false); err != nil {
		t.Fatal(err)
	}
	if err := svc.AddMember(ctx, "team", "member", nil); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetDelegate(ctx, "alice", "proxyread", false); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetDelegate(ctx, "alice", "proxywrite", true); err != nil {
		t.Fatal(err)
	}
	w := &shareWorld{srv: srv, tokens: map[string]string{}, etags: map[string]string{}}
	w.plant(t)
	for _, c := range plantedCollections() {
		p := collectionURL("alice", c)
		_, w.tokens[p] = syncTokenOf(t, srv, "alice", p)
		for name := range c.objects {
			r := send(srv, "alice", http.MethodHead, p+name, "")
			if r.code != http.StatusOK || r.header.Get("ETag") == "" {
				t.Fatalf("setup: HEAD %s%s: %d", p, name, r.code)
			}
			w.etags[p+name] = r.header.Get("ETag")
		}
	}
	return w
}

func (w *shareWorld) plant(t *testing.T) {
	t.Helper()
	plant(t, w.srv, "alice", append(plantedCollections(), ownCollections("alice")...))
	for _, a := range shareActors {
		if a != "" && a != "alice" {
			plant(t, w.srv, a, ownCollections(a))
		}
	}
}

// snapshot renders alice's data as alice reads it: her homes, each
// collection with its members' ETags, ctag, sync token, names, locks, ACL
// and invitees, its dead properties, and her delegates.
func (w *shareWorld) snapshot(t *testing.T) string {
	t.Helper()
	const props = `<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CR="urn:ietf:params:xml:ns:carddav" xmlns:CS="http://calendarserver.org/ns/" xmlns:A="http://apple.com/ns/ical/"><D:prop>` +
		`<D:getetag/><CS:getctag/><D:sync-token/><D:displayname/><C:calendar-description/><CR:addressbook-description/><A:calendar-color/>` +
		`<D:resourcetype/><D:lockdiscovery/><D:getcontentlength/><D:acl/><CS:invite/><D:group-member-set/></D:prop></D:propfind>`
	var b strings.Builder
	paths := []string{"/dav/calendars/alice/", "/dav/addressbooks/alice/",
		"/dav/principals/alice/calendar-proxy-read/", "/dav/principals/alice/calendar-proxy-write/"}
	for _, c := range append(plantedCollections(), ownCollections("alice")...) {
		paths = append(paths, collectionURL("alice", c))
	}
	for _, p := range paths {
		for _, body := range []string{props, shareAllProp} {
			r := send(w.srv, "alice", "PROPFIND", p, body, "Depth", "1")
			if r.code != http.StatusMultiStatus {
				t.Fatalf("snapshot PROPFIND %s: %d %s", p, r.code, r.body)
			}
			b.WriteString(r.body)
		}
	}
	return b.String()
}

// Request bodies of the matrix.
const (
	shareAllProp = `<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>`
	shareProps   = `<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CR="urn:ietf:params:xml:ns:carddav" xmlns:CS="http://calendarserver.org/ns/"><D:prop>` +
		`<D:displayname/><D:getetag/><D:sync-token/><CS:getctag/><D:owner/><D:current-user-privilege-set/><D:acl/><CS:invite/><CS:shared-url/>` +
		`<C:calendar-description/><CR:addressbook-description/><D:resourcetype/><D:lockdiscovery/><D:getcontentlength/></D:prop></D:propfind>`
	shareOwnName = `<D:propertyupdate xmlns:D="DAV:" xmlns:A="http://apple.com/ns/ical/"><D:set><D:prop><D:displayname>{me}'s name for it</D:displayname>` +
		`<A:calendar-color>#00FF00FF</A:calendar-color><A:calendar-order>7</A:calendar-order></D:prop></D:set></D:propertyupdate>`
	shareCalDescription        = `<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><C:calendar-description>{me} was here</C:calendar-description></D:prop></D:set></D:propertyupdate>`
	shareNameAndCalDescription = `<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>{me}'s other name for it</D:displayname>` +
		`<C:calendar-description>{me} was here</C:calendar-description></D:prop></D:set></D:propertyupdate>`
	shareBookDescription        = `<D:propertyupdate xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><CR:addressbook-description>{me} was here</CR:addressbook-description></D:prop></D:set></D:propertyupdate>`
	shareNameAndBookDescription = `<D:propertyupdate xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:displayname>{me}'s other name for it</D:displayname>` +
		`<CR:addressbook-description>{me} was here</CR:addressbook-description></D:prop></D:set></D:propertyupdate>`
	shareDeadProp = `<D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:example:test"><D:set><D:prop><X:note>{me} was here</X:note></D:prop></D:set></D:propertyupdate>`
	shareLock     = `<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>{me}</D:owner></D:lockinfo>`
	shareWithBob  = `<CS:share xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><CS:set><D:href>mailto:bob@example.org</D:href><CS:summary>from {me}</CS:summary></CS:set></CS:share>`

	calTimeRange = `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>` +
		`<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20260101T000000Z" end="20260301T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`
	calTextMatch = `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>` +
		`<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="PROP"><C:text-match>WORD</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`
	calExpandRecur = `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data><C:expand start="20260101T000000Z" end="20260301T000000Z"/></C:calendar-data></D:prop>` +
		`<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20260101T000000Z" end="20260301T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`
	calMultiget = `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>` +
		`<D:href>{c}event.ics</D:href><D:href>{c}recur.ics</D:href><D:href>{c}none.ics</D:href><D:href>/dav/calendars/alice/work/event.ics</D:href></C:calendar-multiget>`
	calFreeBusy = `<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="20260101T000000Z" end="20260301T000000Z"/></C:free-busy-query>`
	calSync     = `<D:sync-collection xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:sync-token>TOKEN</D:sync-token><D:sync-level>1</D:sync-level>` +
		`<D:prop><D:getetag/><C:calendar-data/></D:prop></D:sync-collection>`
	bookQuery     = `<CR:addressbook-query xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><CR:address-data/></D:prop></CR:addressbook-query>`
	bookTextMatch = `<CR:addressbook-query xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><CR:address-data/></D:prop>` +
		`<CR:filter><CR:prop-filter name="NOTE"><CR:text-match>Harbour</CR:text-match></CR:prop-filter></CR:filter></CR:addressbook-query>`
	bookMultiget = `<CR:addressbook-multiget xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><CR:address-data/></D:prop>` +
		`<D:href>{c}card.vcf</D:href><D:href>{c}none.vcf</D:href><D:href>/dav/addressbooks/alice/people/card.vcf</D:href></CR:addressbook-multiget>`
	bookSync = `<D:sync-collection xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:sync-token>TOKEN</D:sync-token><D:sync-level>1</D:sync-level>` +
		`<D:prop><D:getetag/><CR:address-data/></D:prop></D:sync-collection>`
)

func textMatch(prop, word string) string {
	return strings.NewReplacer("PROP", prop, "WORD", word).Replace(calTextMatch)
}

var (
	xmlBody    = []string{"Content-Type", "application/xml; charset=utf-8"}
	depth0     = []string{"Depth", "0"}
	depth1     = []string{"Depth", "1"}
	newEvent   = ics("BEGIN:VEVENT", "UID:{me}-new", "DTSTAMP:20260101T000000Z", "DTSTART:20260123T090000Z", "SUMMARY:new from {me}", "END:VEVENT")
	sameEvent  = ics("BEGIN:VEVENT", "UID:{uid}", "DTSTAMP:20260101T000000Z", "DTSTART:20260120T090000Z", "SUMMARY:overwritten by {me}", "END:VEVENT")
	newCard    = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:{me}-new\r\nFN:new from {me}\r\nEND:VCARD\r\n"
	sameCard   = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:{uid}\r\nFN:overwritten by {me}\r\nEND:VCARD\r\n"
	calendarCT = []string{"Content-Type", "text/calendar"}
	vcardCT    = []string{"Content-Type", "text/vcard"}
)

func with(h []string, more ...string) []string { return append(slices.Clone(h), more...) }

// The calendar rows. Columns: nobody busy reader writer admin proxyread
// proxywrite alice member anyone anonymous.
var calendarSteps = []shareStep{
	{name: "PROPFIND home", method: "PROPFIND", path: "{base}", body: shareProps, header: depth1,
		mount: expect{207, 207, 207, 207, 207, 207, 207, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "PROPFIND allprop depth 0", method: "PROPFIND", path: "{c}", body: shareAllProp, header: depth0,
		mount: expect{404, 207, 207, 207, 207, 207, 207, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "PROPFIND allprop depth 1", method: "PROPFIND", path: "{c}", body: shareAllProp, header: depth1,
		mount: expect{404, 207, 207, 207, 207, 207, 207, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "PROPFIND privileges, acl, invite, owner depth 0", method: "PROPFIND", path: "{c}", body: shareProps, header: depth0,
		mount: expect{404, 207, 207, 207, 207, 207, 207, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "PROPFIND privileges, acl, invite, owner depth 1", method: "PROPFIND", path: "{c}", body: shareProps, header: depth1,
		mount: expect{404, 207, 207, 207, 207, 207, 207, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "PROPFIND object", method: "PROPFIND", path: "{c}event.ics", body: shareProps, header: depth0,
		mount: expect{404, 207, 207, 207, 207, 207, 207, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "GET collection", method: http.MethodGet, path: "{c}",
		mount: expect{404, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401}, owner: aliceOnly(200)},
	{name: "HEAD collection", method: http.MethodHead, path: "{c}",
		mount: expect{404, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401}, owner: aliceOnly(200)},
	{name: "GET object", method: http.MethodGet, path: "{c}event.ics",
		mount: expect{404, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401}, owner: aliceOnly(200)},
	{name: "HEAD object", method: http.MethodHead, path: "{c}event.ics",
		mount: expect{404, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401}, owner: aliceOnly(200)},
	{name: "GET recurring object", method: http.MethodGet, path: "{c}recur.ics",
		mount: expect{404, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401}, owner: aliceOnly(200)},
	{name: "GET object as jCal", method: http.MethodGet, path: "{c}event.ics", header: []string{"Accept", "application/calendar+json"},
		mount: expect{404, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401}, owner: aliceOnly(200)},
	{name: "PUT new", needPrivileges: true, lands: true, method: http.MethodPut, path: "{c}new.ics", body: newEvent, header: with(calendarCT, "If-None-Match", "*"), alters: altersAlice,
		mount: expect{409, 403, 403, 201, 201, 403, 201, 201, 403, 403, 401}, owner: aliceOnly(201)},
	{name: "PUT overwrite", needPrivileges: true, lands: true, method: http.MethodPut, path: "{c}event.ics", body: sameEvent, header: calendarCT, alters: altersAlice,
		mount: expect{409, 403, 403, 204, 204, 403, 204, 204, 403, 403, 401}, owner: aliceOnly(204)},
	{name: "PUT overwrite If-Match", needPrivileges: true, lands: true, method: http.MethodPut, path: "{c}event.ics", body: sameEvent, header: with(calendarCT, "If-Match", "{etag}"), alters: altersAlice,
		mount: expect{409, 403, 403, 204, 204, 403, 204, 204, 403, 403, 401}, owner: aliceOnly(204)},
	{name: "PUT overwrite If-Match stale", needPrivileges: true, method: http.MethodPut, path: "{c}event.ics", body: sameEvent, header: with(calendarCT, "If-Match", `"stale"`), alters: altersAlice,
		mount: expect{409, 403, 403, 412, 412, 403, 412, 412, 403, 403, 401}, owner: aliceOnly(412)},
	{name: "DELETE object", needPrivileges: true, method: http.MethodDelete, path: "{c}event.ics", alters: altersAlice, gone: true,
		mount: expect{404, 403, 403, 204, 204, 403, 204, 204, 403, 403, 401}, owner: aliceOnly(204)},
	{name: "DELETE object If-Match stale", needPrivileges: true, method: http.MethodDelete, path: "{c}event.ics", header: []string{"If-Match", `"stale"`}, alters: altersAlice,
		mount: expect{404, 403, 403, 412, 412, 403, 412, 412, 403, 403, 401}, owner: aliceOnly(412)},
	{name: "PROPPATCH own name, colour and order", method: "PROPPATCH", path: "{c}", body: shareOwnName, alters: altersIfAlice,
		mount: expect{404, 207, 207, 207, 207, 207, 207, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "PROPPATCH own name with calendar-description", needPrivileges: true, method: "PROPPATCH", path: "{c}", body: shareNameAndCalDescription, alters: altersAlice,
		mount: expect{404, 403, 403, 403, 403, 403, 403, 207, 403, 403, 401}, owner: aliceOnly(207)},
	{name: "PROPPATCH calendar-description", needPrivileges: true, method: "PROPPATCH", path: "{c}", body: shareCalDescription, alters: altersAlice,
		mount: expect{404, 403, 403, 403, 403, 403, 403, 207, 403, 403, 401}, owner: aliceOnly(207)},
	{name: "PROPPATCH dead property", needPrivileges: true, method: "PROPPATCH", path: "{c}", body: shareDeadProp, alters: altersAlice,
		mount: expect{404, 403, 403, 403, 403, 403, 403, 207, 403, 403, 401}, owner: aliceOnly(207)},
	{name: "PROPPATCH dead property of object", needPrivileges: true, method: "PROPPATCH", path: "{c}event.ics", body: shareDeadProp, alters: altersAlice,
		mount: expect{404, 403, 403, 403, 403, 403, 403, 207, 403, 403, 401}, owner: aliceOnly(207)},
	{name: "MKCOL inside", method: "MKCOL", path: "{c}sub/", alters: altersAlice,
		mount: expect{403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401}, owner: aliceOnly(403)},
	{name: "MKCALENDAR inside", method: "MKCALENDAR", path: "{c}sub/", alters: altersAlice,
		mount: expect{403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401}, owner: aliceOnly(403)},
	{name: "COPY object out", method: "COPY", path: "{c}event.ics", header: []string{"Destination", "{mine}out.ics"}, alters: altersIfAlice,
		mount: expect{404, 403, 201, 201, 201, 201, 201, 201, 201, 201, 401}, owner: aliceOnly(201)},
	{name: "MOVE object out", needPrivileges: true, method: "MOVE", path: "{c}event.ics", header: []string{"Destination", "{mine}moved.ics"}, alters: altersAlice, gone: true,
		mount: expect{404, 403, 403, 201, 201, 403, 201, 201, 403, 403, 401}, owner: aliceOnly(201)},
	{name: "COPY object in", needPrivileges: true, method: "COPY", path: "{mine}in.ics", header: []string{"Destination", "{c}in.ics"}, alters: altersAlice,
		mount: expect{409, 403, 403, 201, 201, 403, 201, 201, 403, 403, 401}, owner: aliceOnly(201)},
	{name: "MOVE object in", needPrivileges: true, method: "MOVE", path: "{mine}in2.ics", header: []string{"Destination", "{c}in2.ics"}, alters: altersAlice,
		mount: expect{409, 403, 403, 201, 201, 403, 201, 201, 403, 403, 401}, owner: aliceOnly(201)},
	{name: "COPY collection out", method: "COPY", path: "{c}", header: []string{"Destination", "{home}copied/"}, alters: altersIfAlice,
		mount: expect{404, 403, 403, 403, 403, 403, 403, 201, 403, 403, 401}, owner: aliceOnly(201)},
	{name: "MOVE collection", method: "MOVE", path: "{c}", header: []string{"Destination", "{home}renamed/"}, alters: altersAlice, gone: true,
		mount: expect{404, 403, 403, 403, 403, 403, 403, 201, 403, 403, 401}, owner: aliceOnly(201)},
	// A lock is a write (RFC 3744 appendix B: LOCK needs write-content);
	// locking an unmapped URL below no collection is a 409, as a PUT there.
	{name: "LOCK object", needPrivileges: true, method: "LOCK", path: "{c}event.ics", body: shareLock, alters: altersAlice,
		mount: expect{409, 403, 403, 200, 200, 403, 200, 200, 403, 403, 401}, owner: aliceOnly(200)},
	{name: "UNLOCK object", method: "UNLOCK", path: "{c}event.ics", header: []string{"Lock-Token", "<{lock}>"}, alters: altersAlice,
		mount: expect{404, 409, 409, 204, 204, 409, 204, 204, 409, 409, 401}, owner: aliceOnly(204)},
	// Locking an unmapped URL creates an empty resource (RFC 4918 7.3),
	// which is no calendar object: refused (RFC 4791 5.3.2.1) to those
	// who may write, for want of the privilege to the others.
	{name: "LOCK unmapped URL", method: "LOCK", path: "{c}locked.ics", body: shareLock, alters: altersAlice,
		mount: expect{409, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401}, owner: aliceOnly(403)},
	{name: "REPORT calendar-query time-range", method: "REPORT", path: "{c}", body: calTimeRange, header: depth1,
		mount: expect{404, 207, 207, 207, 207, 207, 207, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "REPORT calendar-query text-match SUMMARY", method: "REPORT", path: "{c}", body: textMatch("SUMMARY", "Quarterly"), header: depth1, finds: "event.ics",
		mount: expect{404, 207, 207, 207, 207, 207, 207, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "REPORT calendar-query text-match DESCRIPTION", method: "REPORT", path: "{c}", body: textMatch("DESCRIPTION", "Budget"), header: depth1, finds: "event.ics",
		mount: expect{404, 207, 207, 207, 207, 207, 207, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "REPORT calendar-query text-match LOCATION", method: "REPORT", path: "{c}", body: textMatch("LOCATION", "Boardroom"), header: depth1, finds: "event.ics",
		mount: expect{404, 207, 207, 207, 207, 207, 207, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "REPORT calendar-query text-match ATTENDEE", method: "REPORT", path: "{c}", body: textMatch("ATTENDEE", "dana-"), header: depth1, finds: "event.ics",
		mount: expect{404, 207, 207, 207, 207, 207, 207, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "REPORT calendar-query expand", method: "REPORT", path: "{c}", body: calExpandRecur, header: depth1,
		mount: expect{404, 207, 207, 207, 207, 207, 207, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "REPORT calendar-multiget", method: "REPORT", path: "{c}", body: calMultiget, header: depth1,
		mount: expect{404, 207, 207, 207, 207, 207, 207, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "REPORT free-busy-query", method: "REPORT", path: "{c}", body: calFreeBusy, header: depth1,
		mount: expect{404, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401}, owner: aliceOnly(200)},
	{name: "REPORT sync-collection initial", method: "REPORT", path: "{c}", body: strings.Replace(calSync, "TOKEN", "", 1), header: depth1,
		mount: expect{404, 207, 207, 207, 207, 207, 207, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "REPORT sync-collection with a token", method: "REPORT", path: "{c}", body: strings.Replace(calSync, "TOKEN", "{token}", 1), header: depth1,
		mount: expect{404, 207, 207, 207, 207, 207, 207, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "POST import", needPrivileges: true, method: http.MethodPost, path: "{c}", body: newEvent, header: calendarCT, alters: altersAlice,
		mount: expect{404, 403, 403, 200, 200, 403, 200, 200, 403, 403, 401}, owner: aliceOnly(200)},
	{name: "POST CS:share", needPrivileges: true, method: http.MethodPost, path: "{c}", body: shareWithBob, header: xmlBody, alters: altersAlice,
		mount: expect{404, 403, 403, 403, 200, 403, 403, 200, 403, 403, 401}, owner: aliceOnly(200)},
	// Last, as it takes the collection away: a sharee gives up the grant
	// made to them; a delegate, a group member and everyone hold no grant
	// of their own to give up, so the share is hidden for them (and
	// answers 404 to them, as gone).
	{name: "DELETE collection", method: http.MethodDelete, path: "{c}", alters: altersAlice, gone: true,
		mount: expect{404, 204, 204, 204, 204, 204, 204, 204, 204, 204, 401}, owner: aliceOnly(204)},
}

// The address book rows. Columns: nobody busy reader writer admin
// proxyread proxywrite alice member anyone anonymous. The free-busy grant
// and delegation are of calendars: busy, proxyread and proxywrite have no
// access to address books.
var addressBookSteps = []shareStep{
	{name: "PROPFIND home", method: "PROPFIND", path: "{base}", body: shareProps, header: depth1,
		mount: expect{207, 207, 207, 207, 207, 207, 207, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "PROPFIND allprop depth 0", method: "PROPFIND", path: "{c}", body: shareAllProp, header: depth0,
		mount: expect{404, 404, 207, 207, 207, 404, 404, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "PROPFIND allprop depth 1", method: "PROPFIND", path: "{c}", body: shareAllProp, header: depth1,
		mount: expect{404, 404, 207, 207, 207, 404, 404, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "PROPFIND privileges, acl, invite, owner depth 0", method: "PROPFIND", path: "{c}", body: shareProps, header: depth0,
		mount: expect{404, 404, 207, 207, 207, 404, 404, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "PROPFIND privileges, acl, invite, owner depth 1", method: "PROPFIND", path: "{c}", body: shareProps, header: depth1,
		mount: expect{404, 404, 207, 207, 207, 404, 404, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "PROPFIND object", method: "PROPFIND", path: "{c}card.vcf", body: shareProps, header: depth0,
		mount: expect{404, 404, 207, 207, 207, 404, 404, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "GET collection", method: http.MethodGet, path: "{c}",
		mount: expect{404, 404, 200, 200, 200, 404, 404, 200, 200, 200, 401}, owner: aliceOnly(200)},
	{name: "HEAD collection", method: http.MethodHead, path: "{c}",
		mount: expect{404, 404, 200, 200, 200, 404, 404, 200, 200, 200, 401}, owner: aliceOnly(200)},
	{name: "GET object", method: http.MethodGet, path: "{c}card.vcf",
		mount: expect{404, 404, 200, 200, 200, 404, 404, 200, 200, 200, 401}, owner: aliceOnly(200)},
	{name: "HEAD object", method: http.MethodHead, path: "{c}card.vcf",
		mount: expect{404, 404, 200, 200, 200, 404, 404, 200, 200, 200, 401}, owner: aliceOnly(200)},
	{name: "GET object as vCard 3", method: http.MethodGet, path: "{c}card.vcf", header: []string{"Accept", "text/vcard; version=3.0"},
		mount: expect{404, 404, 200, 200, 200, 404, 404, 200, 200, 200, 401}, owner: aliceOnly(200)},
	{name: "POST import", needPrivileges: true, method: http.MethodPost, path: "{c}", body: newCard, header: vcardCT, alters: altersAlice,
		mount: expect{404, 404, 403, 200, 200, 404, 404, 200, 403, 403, 401}, owner: aliceOnly(200)},
	{name: "PUT new", needPrivileges: true, lands: true, method: http.MethodPut, path: "{c}new.vcf", body: newCard, header: with(vcardCT, "If-None-Match", "*"), alters: altersAlice,
		mount: expect{409, 409, 403, 201, 201, 409, 409, 201, 403, 403, 401}, owner: aliceOnly(201)},
	{name: "PUT overwrite", needPrivileges: true, lands: true, method: http.MethodPut, path: "{c}card.vcf", body: sameCard, header: vcardCT, alters: altersAlice,
		mount: expect{409, 409, 403, 204, 204, 409, 409, 204, 403, 403, 401}, owner: aliceOnly(204)},
	{name: "PUT overwrite If-Match", needPrivileges: true, lands: true, method: http.MethodPut, path: "{c}card.vcf", body: sameCard, header: with(vcardCT, "If-Match", "{etag}"), alters: altersAlice,
		mount: expect{409, 409, 403, 204, 204, 409, 409, 204, 403, 403, 401}, owner: aliceOnly(204)},
	{name: "PUT overwrite If-Match stale", needPrivileges: true, method: http.MethodPut, path: "{c}card.vcf", body: sameCard, header: with(vcardCT, "If-Match", `"stale"`), alters: altersAlice,
		mount: expect{409, 409, 403, 412, 412, 409, 409, 412, 403, 403, 401}, owner: aliceOnly(412)},
	{name: "DELETE object", needPrivileges: true, method: http.MethodDelete, path: "{c}card.vcf", alters: altersAlice, gone: true,
		mount: expect{404, 404, 403, 204, 204, 404, 404, 204, 403, 403, 401}, owner: aliceOnly(204)},
	{name: "DELETE object If-Match stale", needPrivileges: true, method: http.MethodDelete, path: "{c}card.vcf", header: []string{"If-Match", `"stale"`}, alters: altersAlice,
		mount: expect{404, 404, 403, 412, 412, 404, 404, 412, 403, 403, 401}, owner: aliceOnly(412)},
	{name: "PROPPATCH own name, colour and order", method: "PROPPATCH", path: "{c}", body: shareOwnName, alters: altersIfAlice,
		mount: expect{404, 404, 207, 207, 207, 404, 404, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "PROPPATCH own name with addressbook-description", needPrivileges: true, method: "PROPPATCH", path: "{c}", body: shareNameAndBookDescription, alters: altersAlice,
		mount: expect{404, 404, 403, 403, 403, 404, 404, 207, 403, 403, 401}, owner: aliceOnly(207)},
	{name: "PROPPATCH addressbook-description", needPrivileges: true, method: "PROPPATCH", path: "{c}", body: shareBookDescription, alters: altersAlice,
		mount: expect{404, 404, 403, 403, 403, 404, 404, 207, 403, 403, 401}, owner: aliceOnly(207)},
	{name: "PROPPATCH dead property", needPrivileges: true, method: "PROPPATCH", path: "{c}", body: shareDeadProp, alters: altersAlice,
		mount: expect{404, 404, 403, 403, 403, 404, 404, 207, 403, 403, 401}, owner: aliceOnly(207)},
	{name: "PROPPATCH dead property of object", needPrivileges: true, method: "PROPPATCH", path: "{c}card.vcf", body: shareDeadProp, alters: altersAlice,
		mount: expect{404, 404, 403, 403, 403, 404, 404, 207, 403, 403, 401}, owner: aliceOnly(207)},
	{name: "MKCOL inside", method: "MKCOL", path: "{c}sub/", alters: altersAlice,
		mount: expect{403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401}, owner: aliceOnly(403)},
	{name: "COPY object out", method: "COPY", path: "{c}card.vcf", header: []string{"Destination", "{mine}out.vcf"}, alters: altersIfAlice,
		mount: expect{404, 404, 201, 201, 201, 404, 404, 201, 201, 201, 401}, owner: aliceOnly(201)},
	{name: "MOVE object out", needPrivileges: true, method: "MOVE", path: "{c}card.vcf", header: []string{"Destination", "{mine}moved.vcf"}, alters: altersAlice, gone: true,
		mount: expect{404, 404, 403, 201, 201, 404, 404, 201, 403, 403, 401}, owner: aliceOnly(201)},
	{name: "COPY object in", needPrivileges: true, method: "COPY", path: "{mine}in.vcf", header: []string{"Destination", "{c}in.vcf"}, alters: altersAlice,
		mount: expect{409, 409, 403, 201, 201, 409, 409, 201, 403, 403, 401}, owner: aliceOnly(201)},
	{name: "MOVE object in", needPrivileges: true, method: "MOVE", path: "{mine}in2.vcf", header: []string{"Destination", "{c}in2.vcf"}, alters: altersAlice,
		mount: expect{409, 409, 403, 201, 201, 409, 409, 201, 403, 403, 401}, owner: aliceOnly(201)},
	{name: "COPY collection out", method: "COPY", path: "{c}", header: []string{"Destination", "{home}copied/"}, alters: altersIfAlice,
		mount: expect{404, 404, 403, 403, 403, 404, 404, 201, 403, 403, 401}, owner: aliceOnly(201)},
	{name: "MOVE collection", method: "MOVE", path: "{c}", header: []string{"Destination", "{home}renamed/"}, alters: altersAlice, gone: true,
		mount: expect{404, 404, 403, 403, 403, 404, 404, 201, 403, 403, 401}, owner: aliceOnly(201)},
	{name: "LOCK object", needPrivileges: true, method: "LOCK", path: "{c}card.vcf", body: shareLock, alters: altersAlice,
		mount: expect{409, 409, 403, 200, 200, 409, 409, 200, 403, 403, 401}, owner: aliceOnly(200)},
	{name: "UNLOCK object", method: "UNLOCK", path: "{c}card.vcf", header: []string{"Lock-Token", "<{lock}>"}, alters: altersAlice,
		mount: expect{404, 404, 409, 204, 204, 404, 404, 204, 409, 409, 401}, owner: aliceOnly(204)},
	{name: "LOCK unmapped URL", method: "LOCK", path: "{c}locked.vcf", body: shareLock, alters: altersAlice,
		mount: expect{409, 409, 403, 403, 403, 409, 409, 403, 403, 403, 401}, owner: aliceOnly(403)},
	{name: "REPORT addressbook-query", method: "REPORT", path: "{c}", body: bookQuery, header: depth1,
		mount: expect{404, 404, 207, 207, 207, 404, 404, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "REPORT addressbook-query text-match", method: "REPORT", path: "{c}", body: bookTextMatch, header: depth1, finds: "card.vcf",
		mount: expect{404, 404, 207, 207, 207, 404, 404, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "REPORT addressbook-multiget", method: "REPORT", path: "{c}", body: bookMultiget, header: depth1,
		mount: expect{404, 404, 207, 207, 207, 404, 404, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "REPORT sync-collection initial", method: "REPORT", path: "{c}", body: strings.Replace(bookSync, "TOKEN", "", 1), header: depth1,
		mount: expect{404, 404, 207, 207, 207, 404, 404, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "REPORT sync-collection with a token", method: "REPORT", path: "{c}", body: strings.Replace(bookSync, "TOKEN", "{token}", 1), header: depth1,
		mount: expect{404, 404, 207, 207, 207, 404, 404, 207, 207, 207, 401}, owner: aliceOnly(207)},
	{name: "POST CS:share", needPrivileges: true, method: http.MethodPost, path: "{c}", body: shareWithBob, header: xmlBody, alters: altersAlice,
		mount: expect{404, 404, 403, 403, 200, 404, 404, 200, 403, 403, 401}, owner: aliceOnly(200)},
	{name: "DELETE collection", method: http.MethodDelete, path: "{c}", alters: altersAlice, gone: true,
		mount: expect{404, 404, 204, 204, 204, 404, 404, 204, 204, 204, 401}, owner: aliceOnly(204)},
}

var shareKinds = []*shareKind{
	{name: "calendar", home: "/dav/calendars/", shared: "work", public: "public", mine: "mine",
		object: "event.ics", uid: "alice-event", steps: calendarSteps},
	{name: "address book", home: "/dav/addressbooks/", shared: "people", public: "company", mine: "mybook",
		object: "card.vcf", uid: "alice-card", steps: addressBookSteps},
}

// cell is one request of the matrix: a step by an actor on a kind,
// through the mount or alice's URL.
type cell struct {
	kind     *shareKind
	step     *shareStep
	actor    string
	viaOwner bool
}

func (c cell) want() int {
	i := slices.Index(shareActors[:], c.actor)
	if c.viaOwner {
		return c.step.owner[i]
	}
	return c.step.mount[i]
}

// deferred reports whether the cell is expected to change alice's data,
// and so runs apart from the refused ones, followed by a restore.
func (c cell) deferred() bool {
	want := c.want()
	if want < 200 || want > 299 {
		return false
	}
	return c.step.alters == altersAlice || c.step.alters == altersIfAlice && c.actor == "alice"
}

func (c cell) via() string {
	if c.viaOwner {
		return "alice's URL"
	}
	return "mount"
}

func (c cell) String() string {
	who := c.actor
	if who == "" {
		who = "anonymous"
	}
	return who + " " + c.step.name + " (" + c.kind.name + ", through " + c.via() + ")"
}

// matrixRun holds what running cells learns: lock tokens and the markers
// each actor was shown.
type matrixRun struct {
	w     *shareWorld
	locks map[string]string // cell key → the token a LOCK returned
	seen  map[string]map[string]bool
	cells int
}

func (m *matrixRun) expand(c cell, s string) string {
	me := c.actor
	if me == "" {
		me = "anonymous"
	}
	home := c.kind.home + me + "/"
	if c.actor == "" {
		home = c.kind.home + "reader/"
	}
	coll := c.kind.collection(c.actor, c.viaOwner)
	base := coll[:strings.LastIndexByte(strings.TrimSuffix(coll, "/"), '/')+1]
	alicePath := c.kind.home + "alice/" + c.kind.target(c.actor) + "/"
	lock := m.locks[m.lockKey(c)]
	if lock == "" {
		lock = "urn:uuid:00000000-0000-4000-8000-000000000000"
	}
	uid := c.kind.uid
	if c.actor == "anyone" {
		uid = strings.Replace(uid, "alice-", "public-", 1)
	}
	return strings.NewReplacer("{c}", coll, "{base}", base, "{home}", home, "{mine}", home+c.kind.mine+"/", "{me}", me,
		"{uid}", uid, "{etag}", m.w.etags[alicePath+c.kind.object], "{token}", m.w.tokens[alicePath], "{lock}", lock).Replace(s)
}

func (m *matrixRun) lockKey(c cell) string {
	return c.kind.name + "|" + c.actor + "|" + c.via()
}

func (m *matrixRun) saw(actor, what string) {
	if m.seen[actor] == nil {
		m.seen[actor] = map[string]bool{}
	}
	m.seen[actor][what] = true
}

// run sends the cell's request and checks its answer.
func (m *matrixRun) run(t *testing.T, c cell) {
	t.Helper()
	m.cells++
	s := c.step
	path, body := m.expand(c, s.path), m.expand(c, s.body)
	header := make([]string, len(s.header))
	for i, h := range s.header {
		header[i] = m.expand(c, h)
	}
	r := send(m.w.srv, c.actor, s.method, path, body, header...)
	ok := r.code >= 200 && r.code < 300
	if want := c.want(); r.code != want {
		t.Errorf("%s: %s %s: got %d, want %d\n%s", c, s.method, path, r.code, want, clip(r.body))
	}
	if s.method == "PROPPATCH" && r.code == http.StatusMultiStatus && strings.Contains(r.body, "HTTP/1.1 4") {
		t.Errorf("%s: PROPPATCH %s: 207 refuses a property\n%s", c, path, clip(r.body))
	}
	if s.needPrivileges && r.code == http.StatusForbidden && !strings.Contains(r.body, "need-privileges") {
		t.Errorf("%s: %s %s: 403 without need-privileges\n%s", c, s.method, path, clip(r.body))
	}
	if s.method == "LOCK" && r.code == http.StatusOK {
		m.locks[m.lockKey(c)] = strings.Trim(r.header.Get("Lock-Token"), "<>")
	}
	for _, mark := range markersIn(r, path+body+strings.Join(header, " "), shareMarkers) {
		if !slices.Contains(mayRead[c.actor], mark) {
			t.Errorf("%s: %s %s shows %q\n%s", c, s.method, path, mark, clip(r.body))
		}
		m.saw(c.actor, mark)
	}
	if c.actor == "busy" && strings.Contains(r.body, "DTSTART:20260120T090000Z") {
		m.saw(c.actor, "busy time")
	}
	if s.finds != "" && ok {
		found := strings.Contains(r.body, s.finds)
		if seesDetails[c.actor] && !found {
			t.Errorf("%s: %s does not find %s\n%s", c, s.name, s.finds, clip(r.body))
		}
		if !seesDetails[c.actor] && found {
			t.Errorf("%s: %s finds %s by text %s may not see\n%s", c, s.name, s.finds, c.actor, clip(r.body))
		}
	}
	if s.lands && ok {
		own := c.kind.home + "alice/" + c.kind.target(c.actor) + "/" + path[strings.LastIndexByte(path, '/')+1:]
		if g := send(m.w.srv, "alice", http.MethodGet, own, ""); g.code != http.StatusOK || g.body != body {
			t.Errorf("%s: after %s %s answered %d, alice reads %s: %d %q, want the body sent", c, s.method, path, r.code, own, g.code, clip(g.body))
		}
	}
	if s.gone && ok {
		if g := send(m.w.srv, c.actor, "PROPFIND", path, "", "Depth", "0"); g.code != http.StatusNotFound {
			t.Errorf("%s: after %s %s answered %d, PROPFIND of it answers %d, want 404", c, s.method, path, r.code, g.code)
		}
	}
}

// The sharing authorization matrix, on both stores. First every request
// expected to be refused or to change nothing of alice's, then alice's
// data is compared with how it was; then each request expected to change
// alice's data, each followed by a restore of her world.
func TestAuthorizationSharingMatrix(t *testing.T) {
	onEveryStore(t, func(t *testing.T, srv *Server) {
		w := newShareWorld(t, srv)
		before := w.snapshot(t)
		if !strings.Contains(before, markConfidant) {
			t.Fatalf("the snapshot does not show alice's sharing:\n%s", before)
		}
		m := &matrixRun{w: w, locks: map[string]string{}, seen: map[string]map[string]bool{}}
		var cells []cell
		for _, k := range shareKinds {
			for _, viaOwner := range []bool{false, true} {
				for i := range k.steps {
					for _, a := range shareActors {
						cells = append(cells, cell{kind: k, step: &k.steps[i], actor: a, viaOwner: viaOwner})
					}
				}
			}
		}
		for _, c := range cells {
			if !c.deferred() {
				m.run(t, c)
			}
		}
		if after := w.snapshot(t); after != before {
			t.Errorf("alice's data changed under the refused requests\n--- before ---\n%s\n--- after ---\n%s", before, after)
		}
		w.plant(t) // the copies readers made into their own collections
		for _, c := range cells {
			if c.deferred() {
				m.run(t, c)
				w.plant(t)
			}
		}
		// The markers were there to be shown: each actor saw what it may.
		for _, a := range shareActors {
			for _, mark := range mayRead[a] {
				if !m.seen[a][mark] {
					t.Errorf("%s was never shown %q: the leak checks could not fail", a, mark)
				}
			}
		}
		if !m.seen["busy"]["busy time"] {
			t.Error("busy was never shown alice's busy time")
		}
		rows := 0
		for _, k := range shareKinds {
			rows += 2 * len(k.steps)
		}
		t.Logf("%d rows × %d actors: %d requests", rows, len(shareActors), m.cells)
	})
}
