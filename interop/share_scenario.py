#!/usr/bin/python3
"""Sharing and delegation scenario, driven by Debian's python3-caldav.

Koyomi only (run.sh skips it for Radicale, which shares nothing). Three
users: alice and bob (made by run.sh) and carol, made here with the koyomi
command line on the server's own data directory, with an e-mail address and
a display name. Shares are made as Apple Calendar makes them, by a POST of
CalendarServer's CS:share to the owner's calendar; a free-busy share, which
CS:share cannot express, with `koyomi share add`. Sharees use python-caldav
the way a client does (principal, home, calendars by display name, search
with and without expand, fetch, write, sync, properties); requests whose
exact status or body matters (a refusal's precondition, a sync report,
Apple's PROPFINDs and REPORTs) are made raw with python3-requests.

The parts, in order; each states what it leaves for the next:
  1. alice shares a calendar with bob to read (CS:share): he finds it in
     his own home, searches, fetches alice's bytes, and is refused writes
     (403 DAV:need-privileges);
  2. alice makes bob read-write: he creates, edits and deletes through his
     mount; alice sees each change, and her sync-collection reports it;
  3. carol gets a free-busy share: times without titles, descriptions or
     locations, whatever the request, and a text search finds nothing;
  4. carol becomes alice's calendar-proxy-write delegate (PROPPATCH of
     group-member-set), writes through her mount, and is back to free-busy
     when alice takes the delegation back;
  5. bob names, colours and orders his mount for himself: alice's and
     carol's names stay;
  6. alice revokes bob's share: his old sync token no longer syncs, the
     calendar leaves his list and his home;
  7. Apple Calendar's discovery replayed as carol, a sharee of two
     calendars (free-busy and read-write): every answer well-formed, each
     share with its privileges, its owner's URL and its invite;
  8. principal-property-search as Apple's autocomplete sends it (display
     name starts-with, e-mail), and principal-search-property-set;
  9. the directory address book: in bob's own home, read-only, carol found
     by name and e-mail with the phone her profile gives;
 10. a public link of alice's plan: read without signing in, with a strong
     ETag and 304, a guessed token 404, revoked at once.

A new part is a new section of steps appended before main(); steps run in
order and share the state S.

Events are placed next week (relative to the server's clock, the same
machine's), far enough from today that "now" plays no part.

Environment (set by run.sh): DAV_BASE_URL DAV_URL DAV_USER DAV_PASS
DAV_USER2 DAV_PASS2 INTEROP_KOYOMI_BIN INTEROP_KOYOMI_DATA INTEROP_SERVER.
"""

import re
import sys
import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import unquote, urlsplit

import caldav
from caldav.elements import dav, ical
from caldav.lib import error as caldav_error

import scenario_lib
from scenario_lib import (ALICE, BASE, BOB, DAV_URL, MONDAY, RUN, SERVER, SYNC_BODY, TODAY, WEEK_END, WEEK_START,
                          Scenario, caldav_version, calendars_by_name, client, components, day, events_in,
                          exchange, expect_commands, ics_time, koyomi, prop, stamp, text_of, unfold)
from scenario_lib import http_as as http

scenario_lib.SHOWN_BODY = 2500

CAROL = ("carol", "carol-secret-3")
# Neither the e-mail address nor the display name starts like the user
# name, so that a search can only find carol by the property it names.
CAROL_EMAIL = "c.danvers@example.org"
CAROL_DISPLAY = "Caroline Danvers"

D = "{DAV:}"
C = "{urn:ietf:params:xml:ns:caldav}"
CS = "{http://calendarserver.org/ns/}"
ICAL = "{http://apple.com/ns/ical/}"

# ------------------------------------------------------------ iCalendar data
# The plan's week is next week, Monday to Sunday (scenario_lib's MONDAY,
# WEEK_START, WEEK_END, day).


class Ev:
    """An event with a title, a description and a location that only a
    reader may see."""

    def __init__(self, key, start, end, rrule=None):
        self.key, self.start, self.end, self.rrule = key, start, end, rrule
        self.uid = f"share-{key}-{RUN}"
        self.title = f"Title-{key}-{RUN}"
        self.desc = f"SECRET-DESC-{key}-{RUN}"
        self.loc = f"SECRET-LOC-{key}-{RUN}"

    def secrets(self):
        return [self.title, self.desc, self.loc]

    def ics(self, title=None):
        lines = [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Koyomi interop//share scenario//EN",
            "BEGIN:VEVENT",
            f"UID:{self.uid}",
            "DTSTAMP:20250101T000000Z",
            f"DTSTART:{ics_time(self.start)}",
            f"DTEND:{ics_time(self.end)}",
            f"SUMMARY:{title or self.title}",
            f"DESCRIPTION:{self.desc}",
            f"LOCATION:{self.loc}",
        ]
        if self.rrule:
            lines.append(f"RRULE:{self.rrule}")
        lines += ["END:VEVENT", "END:VCALENDAR"]
        return "\r\n".join(lines) + "\r\n"

    def instances(self):
        """The starts of its occurrences (a daily rule's count of them)."""
        n = int(re.search(r"COUNT=(\d+)", self.rrule).group(1)) if self.rrule else 1
        return [ics_time(self.start + timedelta(days=i)) for i in range(n)]


PLAN_EVENTS = {
    "standup": Ev("standup", stamp(day(0), 9), stamp(day(0), 9, 30)),
    # Wednesday to Friday: one object, three instances when expanded.
    "review": Ev("review", stamp(day(2), 14), stamp(day(2), 15), rrule="FREQ=DAILY;COUNT=3"),
}

# ------------------------------------------------------------------ helpers


def path_of(url):
    return unquote(urlsplit(str(url)).path)


def find_calendar(user, displayname, path):
    """The one calendar called displayname in user's list, which must be at
    path."""
    _, cals = calendars_by_name(user)
    found = cals.get(displayname, [])
    assert len(found) == 1 and path_of(found[0].url) == path, (
        f"{user[0]}: expected one calendar named {displayname!r} at {path}; the list is "
        f"{ {k: [path_of(c.url) for c in v] for k, v in cals.items()} }"
    )
    return found[0]


def calendar_paths(user):
    return {path_of(c.url) for cs in calendars_by_name(user)[1].values() for c in cs}


def instance_starts(texts):
    """uid -> sorted DTSTARTs of the VEVENTs in texts."""
    return {uid: sorted(prop(c, "DTSTART") for c in comps) for uid, comps in events_in(texts).items()}


XML = {"Content-Type": "application/xml; charset=utf-8"}
ICS = {"Content-Type": "text/calendar; charset=utf-8"}


def xml_of(r, what):
    """The parsed body of r, which must be well-formed XML."""
    ctype = r.headers.get("Content-Type", "")
    assert "xml" in ctype, f"{what}: Content-Type {ctype!r}, want XML" + exchange(r)
    try:
        return ET.fromstring(r.content)
    except ET.ParseError as e:
        raise AssertionError(f"{what}: the body is not well-formed XML ({e})" + exchange(r)) from None


STATUS_LINE = re.compile(r"^HTTP/1\.[01] (\d{3})( .*)?$")


def multistatus(r, what):
    """A 207 answer checked for form (RFC 4918 13 and 14.16): one href per
    response, a status line in each propstat, each property named once.
    Returns href path -> {property tag: (status, element)}; a response
    without properties maps to {None: (status, None)}."""
    assert r.status_code == 207, f"{what}: want 207 Multi-Status" + exchange(r)
    root = xml_of(r, what)
    assert root.tag == D + "multistatus", f"{what}: root element {root.tag}" + exchange(r)
    out = {}
    for resp in root.findall(D + "response"):
        hrefs = resp.findall(D + "href")
        assert len(hrefs) == 1, f"{what}: a response with {len(hrefs)} hrefs" + exchange(r)
        href = path_of(hrefs[0].text.strip())
        assert href not in out, f"{what}: {href} answered twice" + exchange(r)
        props = {}
        propstats = resp.findall(D + "propstat")
        if not propstats:
            m = STATUS_LINE.match((resp.findtext(D + "status") or "").strip())
            assert m, f"{what}: {href} has neither propstat nor status" + exchange(r)
            props[None] = (int(m.group(1)), None)
        for ps in propstats:
            m = STATUS_LINE.match((ps.findtext(D + "status") or "").strip())
            assert m, f"{what}: {href}: a propstat without a status line" + exchange(r)
            container = ps.find(D + "prop")
            assert container is not None, f"{what}: {href}: a propstat without prop" + exchange(r)
            for p in container:
                assert p.tag not in props, f"{what}: {href}: {p.tag} answered twice" + exchange(r)
                props[p.tag] = (int(m.group(1)), p)
        out[href] = props
    return out


def found(props, tag):
    """The element of a property answered 200, else None."""
    status, el = props.get(tag, (None, None))
    return el if status == 200 else None


def hrefs_in(el):
    """The hrefs below el: paths for URLs, other URIs (mailto:) as they are."""
    out = []
    for h in el.iter(D + "href") if el is not None else []:
        t = (h.text or "").strip()
        out.append(path_of(t) if t.startswith(("/", "http:", "https:")) else t)
    return out


def privilege_names(el):
    """The local names of the privileges in a current-user-privilege-set."""
    if el is None:
        return set()
    return {child.tag.split("}", 1)[1] for priv in el.iter(D + "privilege") for child in priv}


def propfind(user, url, body, depth="0", headers=None):
    return http(user, "PROPFIND", url, body, {"Depth": depth, **XML, **(headers or {})})


def prop_elements(*tags):
    """Empty elements of the given properties, each prefix declared where
    used, as Apple Calendar writes them."""
    out = []
    for t in tags:
        ns, local = t[1:].split("}", 1)
        out.append(f'<X:{local} xmlns:X="{ns}"/>')
    return "".join(out)


def propfind_body(*tags):
    return (
        '<?xml version="1.0" encoding="UTF-8"?><A:propfind xmlns:A="DAV:"><A:prop>'
        + prop_elements(*tags)
        + "</A:prop></A:propfind>"
    )


def privileges(user, url):
    r = propfind(user, url, propfind_body(D + "current-user-privilege-set"))
    props = multistatus(r, f"{user[0]}: PROPFIND current-user-privilege-set of {url}")[path_of(url)]
    return privilege_names(found(props, D + "current-user-privilege-set"))


def refused(r, what):
    """Asserts a 403 that names DAV:need-privileges (RFC 3744 7.1.1)."""
    assert r.status_code == 403, f"{what} must be refused with 403 DAV:need-privileges" + exchange(r)
    root = xml_of(r, what)
    assert root.find(D + "need-privileges") is not None, (
        f"{what}: 403 without DAV:need-privileges" + exchange(r)
    )


WRITES = {"write", "write-content", "bind", "unbind", "all"}


def raw_sync(user, url, token):
    return http(user, "REPORT", str(url), SYNC_BODY.format(token), {"Depth": "0", **XML})


def sync_report(user, url, token):
    """href path -> status of each response of a sync-collection from token
    (200 changed, 404 removed), and the new token."""
    r = raw_sync(user, url, token)
    assert r.status_code == 207, f"{user[0]}: sync-collection of {url}" + exchange(r)
    root = xml_of(r, "sync-collection")
    out = {}
    for resp in root.iter(D + "response"):
        href = path_of(resp.findtext(D + "href").strip())
        status = resp.findtext(D + "status") or resp.findtext(f"{D}propstat/{D}status") or ""
        out[href] = int(status.split()[1])
    return out, (root.findtext(D + "sync-token") or "").strip()


def sync_token(user, url):
    r = propfind(user, url, propfind_body(D + "sync-token"))
    el = found(multistatus(r, f"{user[0]}: sync-token of {url}")[path_of(url)], D + "sync-token")
    assert el is not None and el.text, f"{user[0]}: {url} has no sync-token" + exchange(r)
    return el.text.strip()


def cs_share(*changes):
    """A CS:share body as Apple Calendar posts it. Each change is
    ("set", href, "read"|"read-write", common name) or ("remove", href)."""
    out = []
    for ch in changes:
        if ch[0] == "set":
            _, href, access, cn = ch
            out.append(f"<CS:set><D:href>{href}</D:href><CS:common-name>{cn}</CS:common-name>"
                       f"<CS:summary>Plans {RUN}</CS:summary><CS:{access}/></CS:set>")
        else:
            out.append(f"<CS:remove><D:href>{ch[1]}</D:href></CS:remove>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<CS:share xmlns:D="DAV:" '
            'xmlns:CS="http://calendarserver.org/ns/">' + "".join(out) + "</CS:share>")


def post_share(user, url, *changes):
    r = http(user, "POST", str(url), cs_share(*changes), XML)
    assert r.status_code in (200, 204), f"{user[0]}: CS:share on {url}" + exchange(r)
    return r


def invitees(user, url):
    """The CS:invite of url as user sees it: organizer href and
    {user href: access local name}."""
    r = propfind(user, url, propfind_body(CS + "invite"))
    el = found(multistatus(r, f"{user[0]}: CS:invite of {url}")[path_of(url)], CS + "invite")
    assert el is not None, f"{user[0]}: no CS:invite on {url}" + exchange(r)
    org = el.find(CS + "organizer")
    users = {}
    for u in el.findall(CS + "user"):
        access = u.find(CS + "access")
        users[hrefs_in(u)[0]] = next(iter(access)).tag.split("}", 1)[1] if access is not None and len(access) else None
    return (hrefs_in(org)[0] if org is not None else None), users


def principal(name):
    return f"/dav/principals/{name}/"


def home(name):
    return f"/dav/calendars/{name}/"


def mount(sharee, owner, cal):
    return f"/dav/calendars/{sharee}/{cal}_shared_by_{owner}/"


def proxy_group(owner, kind="write"):
    return f"/dav/principals/{owner}/calendar-proxy-{kind}/"


def set_proxies(owner, *delegates, kind="write"):
    """PROPPATCH of group-member-set on owner's proxy group, as Apple's
    delegation panel sends it."""
    members = "".join(f"<A:href>{principal(d)}</A:href>" for d in delegates)
    body = ('<?xml version="1.0" encoding="UTF-8"?><A:propertyupdate xmlns:A="DAV:"><A:set><A:prop>'
            f"<A:group-member-set>{members}</A:group-member-set></A:prop></A:set></A:propertyupdate>")
    r = http(owner, "PROPPATCH", proxy_group(owner[0], kind), body, XML)
    statuses = multistatus(r, f"{owner[0]}: PROPPATCH group-member-set")
    for href, props in statuses.items():
        for tag, (status, _) in props.items():
            assert status == 200, f"{owner[0]}: PROPPATCH group-member-set: {tag} answered {status}" + exchange(r)


def check_busy_only(texts, where, keys=None):
    """Every event of the plan (or those named by keys) is there with its
    times, and nothing of its title, description or location anywhere in
    the answer."""
    seen = events_in(texts)
    blob = "\n".join(texts)
    for ev in (PLAN_EVENTS[k] for k in keys or PLAN_EVENTS):
        what = f"carol ({where}), {ev.key}"
        assert ev.uid in seen, f"{what}: missing; saw {sorted(seen)}"
        for comp in seen[ev.uid]:
            assert prop(comp, "DTSTART") in ev.instances(), f"{what}: DTSTART {prop(comp, 'DTSTART')}\n{comp}"
            assert prop(comp, "DTEND") is not None or prop(comp, "DURATION") is not None, f"{what}: no end\n{comp}"
            assert prop(comp, "SUMMARY") in (None, "Busy"), f"{what}: SUMMARY {prop(comp, 'SUMMARY')!r}"
            for field in ("DESCRIPTION", "LOCATION"):
                assert prop(comp, field) is None, f"{what}: {field} {prop(comp, field)!r}"
        leaked = [s for s in ev.secrets() if s in blob]
        assert not leaked, f"{what}: the answer carries {leaked}"


# -------------------------------------------------------------------- steps

SCENARIO = Scenario("share")
step = SCENARIO.step


class State:
    pass


S = State()


@step("the command line has user add --email/--display and share add")
def _():
    expect_commands("user add NAME [--email ADDR] [--display TEXT]", "share add", "share del")


@step("carol is created with the CLI (e-mail, display name); alice, bob and carol log in")
def _():
    r = koyomi("user", "add", CAROL[0], "--email", CAROL_EMAIL, "--display", CAROL_DISPLAY,
               stdin=CAROL[1] + "\n", check=False)
    assert r.returncode == 0 or "already exists" in r.stderr, f"user add {CAROL[0]}: {r.stderr}"
    listed = koyomi("user", "list").stdout
    assert re.search(rf"^{CAROL[0]}\s+{re.escape(CAROL_EMAIL)}\s.*{CAROL_DISPLAY}$", listed, re.M), listed
    for u in (ALICE, BOB, CAROL):
        # The first authenticated request provisions the default calendar.
        _, cals = calendars_by_name(u)
        assert cals, f"{u[0]} has no calendar after discovery"


@step("alice's plan: a calendar with a standup and a daily review (python-caldav), her name and colour")
def _():
    p = client(ALICE).principal()
    S.plan_name, S.plan_display = f"plans-{RUN}", f"Plans {RUN}"
    cal = p.make_calendar(name=S.plan_display, cal_id=S.plan_name)
    S.plan_path = path_of(cal.url)
    assert S.plan_path == f"{home(ALICE[0])}{S.plan_name}/", cal.url
    S.alice_color = "#3366CCFF"
    cal.set_properties([ical.CalendarColor(S.alice_color), ical.CalendarOrder("1")])
    for ev in PLAN_EVENTS.values():
        cal.save_event(ev.ics())
    S.alice_plan = cal
    got = sorted(prop(c, "UID") for o in cal.events() for c in components(text_of(o), "VEVENT"))
    assert got == sorted(e.uid for e in PLAN_EVENTS.values()), f"{cal.url}: {got}"


def alice_plan():
    return caldav.Calendar(client=client(ALICE), url=BASE + S.plan_path)


# ------------------------------------------------- part 1: a read share
# Leaves: S.bob_mount (path), bob sharing alice's plan at read.


@step("alice shares her plan with bob to read: a POST of CS:share, as Apple Calendar sends it")
def _():
    S.bob_mount = mount(BOB[0], ALICE[0], S.plan_name)
    post_share(ALICE, S.plan_path, ("set", principal(BOB[0]), "read", "Bob"))
    org, users = invitees(ALICE, S.plan_path)
    assert org == principal(ALICE[0]), f"alice's invite names {org} as organizer"
    assert users == {principal(BOB[0]): "read"}, f"alice's invite: {users}"
    r = propfind(ALICE, S.plan_path, propfind_body(D + "acl"))
    acl = found(multistatus(r, "alice: DAV:acl of her plan")[S.plan_path], D + "acl")
    assert acl is not None, "alice's plan has no DAV:acl" + exchange(r)
    bob_aces = [ace for ace in acl.findall(D + "ace") if principal(BOB[0]) in hrefs_in(ace.find(D + "principal"))]
    assert bob_aces, "alice's DAV:acl has no ace for bob" + exchange(r)
    granted = set().union(*(privilege_names(ace.find(D + "grant")) for ace in bob_aces))
    assert "read" in granted and not granted & WRITES, f"bob's ace grants {sorted(granted)}" + exchange(r)


@step("bob discovers it with python-caldav (principal, calendars) by alice's name, in his own home")
def _():
    cal = find_calendar(BOB, S.plan_display, S.bob_mount)
    assert S.bob_mount.startswith(home(BOB[0])), S.bob_mount
    got = privileges(BOB, S.bob_mount)
    assert "read" in got and not got & WRITES, f"bob, who may read, is told {sorted(got)}"
    S.bob_cal = cal


@step("bob searches the week without and with expand, and fetches by UID: alice's events, whole")
def _():
    cal = S.bob_cal
    plain = [text_of(o) for o in cal.search(start=WEEK_START, end=WEEK_END, event=True, expand=False)]
    seen = events_in(plain)
    assert sorted(seen) == sorted(e.uid for e in PLAN_EVENTS.values()), f"bob's search: {sorted(seen)}"
    review = seen[PLAN_EVENTS["review"].uid]
    assert len(review) == 1 and prop(review[0], "RRULE") == PLAN_EVENTS["review"].rrule, review
    for ev in PLAN_EVENTS.values():
        comp = seen[ev.uid][0]
        fields = (prop(comp, "SUMMARY"), prop(comp, "DESCRIPTION"), prop(comp, "LOCATION"))
        assert fields == (ev.title, ev.desc, ev.loc), comp
    expanded = [text_of(o) for o in cal.search(start=WEEK_START, end=WEEK_END, event=True, expand=True)]
    got = instance_starts(expanded)
    want = {e.uid: e.instances() for e in PLAN_EVENTS.values()}
    assert got == want, f"bob's expanded search: {got}, expected {want}"
    for t in expanded:
        for comp in components(t, "VEVENT"):
            assert prop(comp, "RRULE") is None, f"an expanded instance keeps its RRULE: {comp}"
    obj = cal.event_by_uid(PLAN_EVENTS["standup"].uid)
    assert PLAN_EVENTS["standup"].desc in unfold(text_of(obj)), text_of(obj)


@step("bob's GET through his mount is alice's bytes")
def _():
    for o in S.alice_plan.events():
        name = path_of(o.url).rsplit("/", 1)[1]
        mine = http(ALICE, "GET", f"{S.plan_path}{name}")
        his = http(BOB, "GET", f"{S.bob_mount}{name}")
        assert mine.status_code == 200 and his.status_code == 200, exchange(mine) + exchange(his)
        assert his.content == mine.content, f"bob's GET of {name} differs from alice's" + exchange(his) + exchange(mine)


@step("bob's write through python-caldav fails; raw PUT and DELETE are 403 DAV:need-privileges")
def _():
    intruder = Ev("bob-reader-adds", stamp(day(1), 12), stamp(day(1), 13))
    try:
        S.bob_cal.save_event(intruder.ics())
    except caldav_error.DAVError:
        pass
    else:
        raise AssertionError("python-caldav saved an event through a read-only share")
    refused(http(BOB, "PUT", f"{S.bob_mount}{intruder.uid}.ics", intruder.ics(), ICS), "bob's PUT through a read share")
    standup = S.alice_plan.event_by_uid(PLAN_EVENTS["standup"].uid)
    name = path_of(standup.url).rsplit("/", 1)[1]
    refused(http(BOB, "DELETE", f"{S.bob_mount}{name}"), "bob's DELETE through a read share")
    before = text_of(standup)
    edited = PLAN_EVENTS["standup"].ics(title="overwritten by bob")
    refused(http(BOB, "PUT", f"{S.bob_mount}{name}", edited, ICS), "bob's PUT over alice's event")
    after = alice_plan().event_by_uid(PLAN_EVENTS["standup"].uid)
    assert text_of(after) == before, f"a refused write changed alice's event: {text_of(after)}"
    try:
        alice_plan().event_by_uid(intruder.uid)
    except caldav_error.NotFoundError:
        pass
    else:
        raise AssertionError("bob's refused PUT landed in alice's plan")


# --------------------------------------------- part 2: read-write
# Leaves: S.bob_token, a sync token of bob's mount; bob at read-write.


@step("alice makes bob read-write (CS:share again): his privileges now include writing")
def _():
    post_share(ALICE, S.plan_path, ("set", principal(BOB[0]), "read-write", "Bob"))
    _, users = invitees(ALICE, S.plan_path)
    assert users == {principal(BOB[0]): "read-write"}, f"alice's invite: {users}"
    got = privileges(BOB, S.bob_mount)
    assert {"read", "write-content", "bind", "unbind"} <= got, f"bob, read-write, is told {sorted(got)}"


@step("bob creates an event through his mount (python-caldav); alice sees it; her sync reports it")
def _():
    S.alice_token = sync_token(ALICE, S.plan_path)
    ev = Ev("bob-adds", stamp(day(1), 12), stamp(day(1), 13))
    S.bob_adds = ev
    saved = S.bob_cal.save_event(ev.ics())
    S.bob_adds_name = path_of(saved.url).rsplit("/", 1)[1]
    assert path_of(saved.url) == S.bob_mount + S.bob_adds_name, saved.url
    got = unfold(text_of(alice_plan().event_by_uid(ev.uid)))
    assert f"SUMMARY:{ev.title}" in got and ev.desc in got, f"alice's plan holds: {got}"
    mine = http(ALICE, "GET", S.plan_path + S.bob_adds_name)
    his = http(BOB, "GET", S.bob_mount + S.bob_adds_name)
    assert mine.status_code == 200 and mine.content == his.content, exchange(mine) + exchange(his)
    changes, S.alice_token_next = sync_report(ALICE, S.plan_path, S.alice_token)
    assert changes == {S.plan_path + S.bob_adds_name: 200}, f"alice's sync after bob's create: {changes}"
    # python-caldav's incremental sync, from the same token, agrees.
    objs = alice_plan().objects_by_sync_token(S.alice_token, load_objects=True)
    uids = [prop(c, "UID") for o in objs for c in components(text_of(o), "VEVENT")]
    assert uids == [ev.uid], f"alice's objects_by_sync_token: {uids}"
    S.alice_token = S.alice_token_next


@step("bob edits it through his mount (python-caldav): alice has the edit, her sync reports it")
def _():
    ev = S.bob_adds
    obj = S.bob_cal.event_by_uid(ev.uid)
    obj.vobject_instance.vevent.summary.value = ev.title + " (edited)"
    obj.save()
    got = unfold(text_of(alice_plan().event_by_uid(ev.uid)))
    assert f"SUMMARY:{ev.title} (edited)" in got, f"the edit did not reach alice's plan: {got}"
    assert ev.desc in got and ev.loc in got, f"the edit lost fields: {got}"
    changes, S.alice_token = sync_report(ALICE, S.plan_path, S.alice_token)
    assert changes == {S.plan_path + S.bob_adds_name: 200}, f"alice's sync after bob's edit: {changes}"


@step("bob deletes it through his mount (python-caldav): gone for alice, her sync reports the removal")
def _():
    S.bob_cal.event_by_uid(S.bob_adds.uid).delete()
    try:
        alice_plan().event_by_uid(S.bob_adds.uid)
    except caldav_error.NotFoundError:
        pass
    else:
        raise AssertionError("bob's deleted event is still in alice's plan")
    changes, S.alice_token = sync_report(ALICE, S.plan_path, S.alice_token)
    assert changes == {S.plan_path + S.bob_adds_name: 404}, f"alice's sync after bob's delete: {changes}"
    # bob's own sync of the mount is complete and current: his token for part 6.
    full = S.bob_cal.objects_by_sync_token(load_objects=True)
    uids = sorted(prop(c, "UID") for o in full for c in components(text_of(o), "VEVENT"))
    assert uids == sorted(e.uid for e in PLAN_EVENTS.values()), f"bob's full sync of his mount: {uids}"
    S.bob_token = full.sync_token
    changes, _ = sync_report(BOB, S.bob_mount, S.bob_token)
    assert changes == {}, f"bob's sync from his current token reports {changes}"


# ----------------------------------------------- part 3: free-busy
# Leaves: S.carol_mount; carol sharing alice's plan at free-busy.


@step("alice's plan is shared with carol at free-busy (koyomi share add; CS:share has no such level)")
def _():
    koyomi("share", "add", ALICE[0], S.plan_name, f"user:{CAROL[0]}", "--level", "free-busy")
    S.carol_mount = mount(CAROL[0], ALICE[0], S.plan_name)
    S.carol_cal = find_calendar(CAROL, S.plan_display, S.carol_mount)
    # DAV:read may be there too: the busy blocks are what she reads.
    got = privileges(CAROL, S.carol_mount)
    assert "read-free-busy" in got and not got & WRITES, f"carol, free-busy, is told {sorted(got)}"
    _, users = invitees(ALICE, S.plan_path)
    assert users.get(principal(BOB[0])) == "read-write", f"alice's invite: {users}"


@step("carol's search without and with expand: busy times, no title, description or location")
def _():
    plain = [text_of(o) for o in S.carol_cal.search(start=WEEK_START, end=WEEK_END, event=True, expand=False)]
    check_busy_only(plain, "calendar-query")
    expanded = [text_of(o) for o in S.carol_cal.search(start=WEEK_START, end=WEEK_END, event=True, expand=True)]
    check_busy_only(expanded, "calendar-query with expand")
    want = {e.uid: e.instances() for e in PLAN_EVENTS.values()}
    got = instance_starts(expanded)
    assert got == want, f"carol's expanded busy times: {got}, expected {want}"


@step("carol's fetch, sync and export: busy blocks too")
def _():
    check_busy_only([text_of(S.carol_cal.event_by_uid(e.uid)) for e in PLAN_EVENTS.values()], "fetch by UID")
    synced = [text_of(o) for o in S.carol_cal.objects_by_sync_token(load_objects=True)]
    check_busy_only(synced, "sync-collection + GET")
    r = http(CAROL, "GET", S.carol_mount)
    assert r.status_code == 200, "carol's GET of the calendar (export)" + exchange(r)
    check_busy_only([r.text], "export")


@step("carol's text search for a secret finds nothing (python-caldav and raw calendar-query)")
def _():
    ev = PLAN_EVENTS["standup"]
    for field, secret in (("summary", ev.title), ("description", ev.desc), ("location", ev.loc)):
        hits = S.carol_cal.search(event=True, **{field: secret})
        assert not hits, f"carol's search for the {field} finds {[str(o.url) for o in hits]}"
        # The same owner's search finds it: the query is right.
        assert alice_plan().search(event=True, **{field: secret}), f"alice's search for the {field} finds nothing"
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        "<D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name=\"VCALENDAR\">"
        '<C:comp-filter name="VEVENT"><C:prop-filter name="DESCRIPTION"><C:text-match>'
        f"{ev.desc}</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
    )
    r = http(CAROL, "REPORT", S.carol_mount, body, {"Depth": "1", **XML})
    answers = multistatus(r, "carol's text-match calendar-query")
    assert not answers and ev.desc not in r.text, f"carol's text-match finds {sorted(answers)}" + exchange(r)


@step("carol's writes through a free-busy share: python-caldav fails, raw PUT is 403 DAV:need-privileges")
def _():
    ev = Ev("carol-fb-adds", stamp(day(3), 8), stamp(day(3), 9))
    try:
        S.carol_cal.save_event(ev.ics())
    except caldav_error.DAVError:
        pass
    else:
        raise AssertionError("python-caldav saved an event through a free-busy share")
    refused(http(CAROL, "PUT", f"{S.carol_mount}{ev.uid}.ics", ev.ics(), ICS), "carol's PUT through a free-busy share")


# ----------------------------------------------- part 4: delegation
# Leaves: no delegates; carol back at free-busy on the plan.


@step("alice makes carol her calendar-proxy-write delegate (PROPPATCH of group-member-set)")
def _():
    set_proxies(ALICE, CAROL[0])
    r = propfind(ALICE, proxy_group(ALICE[0]), propfind_body(D + "group-member-set"))
    members = found(multistatus(r, "alice's calendar-proxy-write")[proxy_group(ALICE[0])], D + "group-member-set")
    assert hrefs_in(members) == [principal(CAROL[0])], f"alice's write proxies: {hrefs_in(members)}" + exchange(r)


@step("carol's principal shows calendar-proxy-write-for alice and her membership of alice's group")
def _():
    body = propfind_body(CS + "calendar-proxy-read-for", CS + "calendar-proxy-write-for", D + "group-membership")
    r = propfind(CAROL, principal(CAROL[0]), body)
    props = multistatus(r, "carol's principal")[principal(CAROL[0])]
    assert hrefs_in(found(props, CS + "calendar-proxy-write-for")) == [principal(ALICE[0])], exchange(r)
    assert hrefs_in(found(props, CS + "calendar-proxy-read-for")) == [], exchange(r)
    assert proxy_group(ALICE[0]) in hrefs_in(found(props, D + "group-membership")), exchange(r)


@step("carol, a write delegate, sees alice's calendars mounted and the plan in full")
def _():
    paths = calendar_paths(CAROL)
    want = {S.carol_mount, mount(CAROL[0], ALICE[0], "default")}
    assert want <= paths, f"carol's calendar list {sorted(paths)} lacks {sorted(want - paths)}"
    got = privileges(CAROL, S.carol_mount)
    assert {"read", "write-content", "bind", "unbind"} <= got, f"carol, a write delegate, is told {sorted(got)}"
    comp = events_in([text_of(S.carol_cal.event_by_uid(PLAN_EVENTS["standup"].uid))])[PLAN_EVENTS["standup"].uid][0]
    assert prop(comp, "SUMMARY") == PLAN_EVENTS["standup"].title, f"carol as a delegate sees {comp}"


@step("carol writes to alice's plan through her mount (python-caldav); alice sees it; carol deletes it")
def _():
    ev = Ev("carol-delegate-adds", stamp(day(4), 8), stamp(day(4), 9))
    saved = S.carol_cal.save_event(ev.ics())
    name = path_of(saved.url).rsplit("/", 1)[1]
    got = unfold(text_of(alice_plan().event_by_uid(ev.uid)))
    assert f"SUMMARY:{ev.title}" in got, f"alice's plan holds: {got}"
    changes, S.alice_token = sync_report(ALICE, S.plan_path, S.alice_token)
    assert changes == {S.plan_path + name: 200}, f"alice's sync after carol's write: {changes}"
    S.carol_cal.event_by_uid(ev.uid).delete()
    try:
        alice_plan().event_by_uid(ev.uid)
    except caldav_error.NotFoundError:
        pass
    else:
        raise AssertionError("carol's deleted event is still in alice's plan")


@step("alice takes the delegation back: carol is at free-busy again, alice's default leaves her home")
def _():
    set_proxies(ALICE)
    r = propfind(CAROL, principal(CAROL[0]), propfind_body(CS + "calendar-proxy-write-for"))
    props = multistatus(r, "carol's principal")[principal(CAROL[0])]
    assert hrefs_in(found(props, CS + "calendar-proxy-write-for")) == [], exchange(r)
    paths = calendar_paths(CAROL)
    assert S.carol_mount in paths and mount(CAROL[0], ALICE[0], "default") not in paths, sorted(paths)
    got = privileges(CAROL, S.carol_mount)
    assert "read-free-busy" in got and not got & WRITES, f"carol, no longer a delegate, is told {sorted(got)}"
    check_busy_only([text_of(S.carol_cal.event_by_uid(PLAN_EVENTS["standup"].uid))], "fetch after the delegation",
                    keys=["standup"])


# --------------------------------------- part 5: a sharee's own settings
# Leaves: bob's own name, colour and order on his mount.

BOB_NAME = f"Alice's plans, as bob calls them {RUN}"
BOB_COLOR = "#FF8800FF"
BOB_ORDER = "7"
SETTINGS = [dav.DisplayName(), ical.CalendarColor(), ical.CalendarOrder()]


@step("bob names, colours and orders his mount (PROPPATCH through python-caldav); he sees his")
def _():
    S.bob_cal.set_properties([dav.DisplayName(BOB_NAME), ical.CalendarColor(BOB_COLOR), ical.CalendarOrder(BOB_ORDER)])
    cal = find_calendar(BOB, BOB_NAME, S.bob_mount)
    got = cal.get_properties(SETTINGS)
    assert got.get(dav.DisplayName.tag) == BOB_NAME, got
    assert (got.get(ical.CalendarColor.tag) or "").upper().startswith(BOB_COLOR[:7]), got
    assert got.get(ical.CalendarOrder.tag) == BOB_ORDER, got
    S.bob_cal = cal


@step("alice sees her own name, colour and order; carol, who set none, sees alice's")
def _():
    for user, cal in ((ALICE, alice_plan()), (CAROL, find_calendar(CAROL, S.plan_display, S.carol_mount))):
        got = cal.get_properties(SETTINGS)
        assert got.get(dav.DisplayName.tag) == S.plan_display, f"{user[0]}: {got}"
        assert (got.get(ical.CalendarColor.tag) or "").upper().startswith(S.alice_color[:7]), f"{user[0]}: {got}"
        assert got.get(ical.CalendarOrder.tag) == "1", f"{user[0]}: {got}"


# ------------------------------------------------------ part 6: revoking
# Leaves: bob without a share of the plan.


@step("alice revokes bob's share (CS:share remove): her invite no longer names him")
def _():
    post_share(ALICE, S.plan_path, ("remove", principal(BOB[0])))
    _, users = invitees(ALICE, S.plan_path)
    assert principal(BOB[0]) not in users, f"alice's invite after the revocation: {users}"


@step("bob's next sync with his old token on the mount fails; the calendar left his list and home")
def _():
    r = raw_sync(BOB, S.bob_mount, S.bob_token)
    assert r.status_code in (403, 404), "bob's sync of a revoked share" + exchange(r)
    try:
        S.bob_cal.objects_by_sync_token(S.bob_token, load_objects=True)
    except caldav_error.DAVError:
        pass
    else:
        raise AssertionError("python-caldav still syncs bob's revoked share")
    paths = calendar_paths(BOB)
    assert S.bob_mount not in paths, f"bob still lists {S.bob_mount}: {sorted(paths)}"
    r = propfind(BOB, home(BOB[0]), propfind_body(D + "resourcetype"), depth="1")
    listed = multistatus(r, "bob's home after the revocation")
    assert S.bob_mount not in listed, f"bob's home still shows {S.bob_mount}" + exchange(r)
    r = http(BOB, "GET", S.bob_mount + "anything.ics")
    assert r.status_code == 404, "bob's GET below a revoked share" + exchange(r)
    r = http(BOB, "PROPFIND", S.bob_mount, None, {"Depth": "0"})
    assert r.status_code == 404, "bob's PROPFIND of a revoked share" + exchange(r)


@step("carol's share is untouched by bob's revocation")
def _():
    find_calendar(CAROL, S.plan_display, S.carol_mount)
    synced = [text_of(o) for o in S.carol_cal.objects_by_sync_token(load_objects=True)]
    check_busy_only(synced, "sync after bob's revocation")


# ------------------------------------ part 7: Apple Calendar's discovery
# Leaves: alice's trips calendar shared with carol at read-write.

APPLE = {"User-Agent": "macOS/14.4 (23E214) CalendarAgent/988.5.1", "Accept": "*/*"}

APPLE_ROOT = propfind_body(D + "current-user-principal", D + "principal-URL", D + "resourcetype")

APPLE_PRINCIPAL = propfind_body(
    C + "calendar-home-set", C + "calendar-user-address-set", D + "current-user-principal", D + "displayname",
    CS + "dropbox-home-URL", CS + "email-address-set", CS + "notification-URL", D + "principal-collection-set",
    D + "principal-URL", D + "resource-id", C + "schedule-inbox-URL", C + "schedule-outbox-URL",
    D + "supported-report-set",
)

APPLE_DELEGATION = propfind_body(
    CS + "calendar-proxy-read-for", CS + "calendar-proxy-write-for", D + "group-membership"
)

APPLE_HOME = propfind_body(
    D + "add-member", CS + "allowed-sharing-modes", ICAL + "autoprovisioned",
    "{http://me.com/_namespace/}bulk-requests",
    C + "calendar-alarm", ICAL + "calendar-color", C + "calendar-description", C + "calendar-free-busy-set",
    ICAL + "calendar-order", C + "calendar-timezone", D + "current-user-privilege-set",
    C + "default-alarm-vevent-date", C + "default-alarm-vevent-datetime", D + "displayname", CS + "getctag",
    CS + "invite", ICAL + "language-code", ICAL + "location-code", D + "owner", CS + "pre-publish-url",
    CS + "publish-url", CS + "push-transports", CS + "pushkey", D + "quota-available-bytes", D + "quota-used-bytes",
    ICAL + "refreshrate", D + "resource-id", D + "resourcetype", C + "schedule-calendar-transp",
    C + "schedule-default-calendar-URL", CS + "shared-url", CS + "source", CS + "subscribed-strip-alarms",
    CS + "subscribed-strip-attachments", CS + "subscribed-strip-todos", C + "supported-calendar-component-set",
    C + "supported-calendar-component-sets", D + "supported-report-set", D + "sync-token",
)


def apple(user, url, body, depth):
    """Apple's PROPFIND, whose answer must name every property asked, for
    every resource (RFC 4918 9.1: each in a propstat of its status)."""
    what = f"{user[0]}: Apple's PROPFIND (Depth {depth}) of {url}"
    r = propfind(user, url, body, depth, APPLE)
    answers = multistatus(r, what)
    asked = {el.tag for el in ET.fromstring(body).find(D + "prop")}
    for href, props in answers.items():
        missing = sorted(asked - set(props))
        assert not missing, f"{what}: {href} does not answer {missing}" + exchange(r)
    return answers


@step("alice shares a second calendar, trips, with carol to read and write: CS:share to her mailto address")
def _():
    S.trips_name, S.trips_display = f"trips-{RUN}", f"Trips {RUN}"
    cal = client(ALICE).principal().make_calendar(name=S.trips_display, cal_id=S.trips_name)
    S.trips_path = path_of(cal.url)
    S.trip = Ev("trip", stamp(day(5), 8), stamp(day(5), 18))
    cal.save_event(S.trip.ics())
    post_share(ALICE, S.trips_path, ("set", f"mailto:{CAROL_EMAIL}", "read-write", CAROL_DISPLAY))
    _, users = invitees(ALICE, S.trips_path)
    assert users == {principal(CAROL[0]): "read-write"}, f"alice's invite of trips: {users}"
    S.carol_trips = mount(CAROL[0], ALICE[0], S.trips_name)


@step("Apple: PROPFIND / for current-user-principal, then carol's principal (home, addresses, notifications)")
def _():
    props = apple(CAROL, "/", APPLE_ROOT, "0")
    # Koyomi answers for the DAV root, which "/" stands for.
    assert len(props) == 1 and list(props)[0] in ("/", "/dav/"), f"PROPFIND / answers for {list(props)}"
    cup = found(next(iter(props.values())), D + "current-user-principal")
    assert hrefs_in(cup) == [principal(CAROL[0])], f"current-user-principal on /: {hrefs_in(cup)}"
    props = apple(CAROL, principal(CAROL[0]), APPLE_PRINCIPAL, "0")[principal(CAROL[0])]
    assert hrefs_in(found(props, C + "calendar-home-set")) == [home(CAROL[0])], props
    addresses = hrefs_in(found(props, C + "calendar-user-address-set"))
    assert f"mailto:{CAROL_EMAIL}" in addresses, f"calendar-user-address-set: {addresses}"
    el = found(props, CS + "email-address-set")
    emails = [e.text for e in el] if el is not None else []
    assert emails == [CAROL_EMAIL], f"CS:email-address-set: {emails}"
    assert (found(props, D + "displayname").text or "") == CAROL_DISPLAY, "displayname"
    notif = hrefs_in(found(props, CS + "notification-URL"))
    assert len(notif) == 1 and notif[0].startswith("/dav/"), f"CS:notification-URL: {notif}"
    assert hrefs_in(found(props, D + "principal-URL")) == [principal(CAROL[0])], "principal-URL"
    for tag, (status, _) in props.items():
        assert status in (200, 404), f"{tag} answered {status}"


@step("Apple: carol's delegation properties (group-membership, calendar-proxy-write-for/read-for)")
def _():
    props = apple(CAROL, principal(CAROL[0]), APPLE_DELEGATION, "0")[principal(CAROL[0])]
    for tag in (CS + "calendar-proxy-read-for", CS + "calendar-proxy-write-for", D + "group-membership"):
        assert found(props, tag) is not None, f"{tag} not answered 200: {props.get(tag)}"
    assert hrefs_in(found(props, CS + "calendar-proxy-write-for")) == [], "carol is no longer alice's delegate"


@step("Apple: Depth 1 PROPFIND of carol's home: her calendar, the free-busy and the read-write share")
def _():
    listed = apple(CAROL, home(CAROL[0]), APPLE_HOME, "1")
    own, fb, rw = f"{home(CAROL[0])}default/", S.carol_mount, S.carol_trips
    missing = [p for p in (home(CAROL[0]), own, fb, rw) if p not in listed]
    assert not missing, f"carol's home lacks {missing}; it lists {sorted(listed)}"
    for href, props in listed.items():
        for tag, (status, _) in props.items():
            assert status in (200, 404), f"{href}: {tag} answered {status}"
    for p in (own, fb, rw):
        props = listed[p]
        rt = found(props, D + "resourcetype")
        assert rt is not None and rt.find(C + "calendar") is not None, f"{p}: resourcetype"
        for tag in (D + "displayname", CS + "getctag", D + "sync-token",
                    D + "current-user-privilege-set", C + "supported-calendar-component-set"):
            assert found(props, tag) is not None, f"{p}: {tag} not answered 200 ({props.get(tag)})"
        comps = {c.get("name") for c in found(props, C + "supported-calendar-component-set").findall(C + "comp")}
        assert "VEVENT" in comps, f"{p}: supported-calendar-component-set {comps}"
    # carol's own calendar: all hers, shareable, not a share.
    mine = privilege_names(found(listed[own], D + "current-user-privilege-set"))
    assert {"read", "write-content"} <= mine or "all" in mine, f"{own}: {sorted(mine)}"
    modes = found(listed[own], CS + "allowed-sharing-modes")
    assert modes is not None and modes.find(CS + "can-be-shared") is not None, f"{own}: allowed-sharing-modes"
    assert found(listed[own], CS + "shared-url") is None, f"{own} claims to be a share"
    # The shares: alice's URL, alice as organizer, each with its privileges.
    for p, path, display in ((fb, S.plan_path, S.plan_display), (rw, S.trips_path, S.trips_display)):
        props = listed[p]
        assert hrefs_in(found(props, CS + "shared-url")) == [path], f"{p}: CS:shared-url"
        invite = found(props, CS + "invite")
        assert invite is not None, f"{p}: no CS:invite"
        assert hrefs_in(invite.find(CS + "organizer")) == [principal(ALICE[0])], f"{p}: organizer"
        assert found(props, D + "displayname").text == display, f"{p}: displayname"
        modes = found(props, CS + "allowed-sharing-modes")
        assert modes is None or modes.find(CS + "can-be-shared") is None, f"{p}: carol may share alice's calendar on"
    color = found(listed[fb], ICAL + "calendar-color")
    assert color is not None and color.text == S.alice_color, f"{fb}: carol does not see alice's colour"
    got = privilege_names(found(listed[fb], D + "current-user-privilege-set"))
    assert "read-free-busy" in got and not got & WRITES, f"{fb}: {sorted(got)}"
    got = privilege_names(found(listed[rw], D + "current-user-privilege-set"))
    assert {"read", "write-content", "bind", "unbind"} <= got, f"{rw}: {sorted(got)}"
    assert not got & {"share", "all", "write-acl"}, f"{rw}: a read-write sharee is told {sorted(got)}"


APPLE_SHARING = propfind_body(
    D + "resourcetype", D + "displayname", D + "current-user-privilege-set", ICAL + "calendar-color", CS + "invite",
    CS + "shared-url", CS + "allowed-sharing-modes", D + "acl",
)


@step("Apple: the sharing properties of each mount; DAV:acl, the owner's, is refused naming the mount")
def _():
    for p in (S.carol_mount, S.carol_trips):
        r = propfind(CAROL, p, APPLE_SHARING, "0", APPLE)
        props = multistatus(r, f"carol: Apple's sharing PROPFIND of {p}")[p]
        status, el = props.get(D + "acl", (None, None))
        assert status == 403, f"{p}: DAV:acl answered {status} to a sharee" + exchange(r)
        resp = next(x for x in xml_of(r, "sharing PROPFIND").iter(D + "response"))
        refusal = next(ps for ps in resp.findall(D + "propstat") if ps.find(f"{D}prop/{D}acl") is not None)
        need = refusal.find(f"{D}error/{D}need-privileges")
        assert need is not None, f"{p}: the refused DAV:acl names no need-privileges" + exchange(r)
        named = [path_of(h.text or "") for h in need.iter(D + "href")]
        assert named == [p], f"{p}: need-privileges names {named}" + exchange(r)
        for tag in (D + "displayname", D + "current-user-privilege-set", CS + "invite", CS + "shared-url"):
            assert found(props, tag) is not None, f"{p}: {tag} not answered 200" + exchange(r)


@step("Apple: carol writes to trips through her mount and alice reads it; the ctag moves")
def _():
    def ctag():
        props = apple(CAROL, S.carol_trips, propfind_body(CS + "getctag"), "0")[S.carol_trips]
        return found(props, CS + "getctag").text

    before = ctag()
    ev = Ev("carol-trip", stamp(day(6), 8), stamp(day(6), 12))
    r = http(CAROL, "PUT", f"{S.carol_trips}{ev.uid}.ics", ev.ics(), {**ICS, **APPLE, "If-None-Match": "*"})
    assert r.status_code == 201, "carol's PUT into trips" + exchange(r)
    r = http(ALICE, "GET", f"{S.trips_path}{ev.uid}.ics")
    assert r.status_code == 200 and r.text == ev.ics(), "alice's GET of carol's trip" + exchange(r)
    assert ctag() != before, "the ctag of carol's mount did not move"


# ----------------------------------------- part 8: finding people
# Leaves: nothing.


def ppsearch(*searches, test="anyof"):
    """principal-property-search as Apple's autocomplete sends it: each
    search is (property tags, text, match-type)."""
    parts = []
    for tags, text, match in searches:
        mt = f' match-type="{match}"' if match else ""
        parts.append(
            f"<A:property-search><A:prop>{prop_elements(*tags)}</A:prop>"
            f"<A:match{mt}>{text}</A:match></A:property-search>"
        )
    wanted = prop_elements(
        C + "calendar-user-address-set", C + "calendar-user-type", D + "displayname", CS + "email-address-set",
        CS + "first-name", CS + "last-name", CS + "record-type", D + "principal-URL",
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><A:principal-property-search xmlns:A="DAV:" test="{test}">'
        + "".join(parts)
        + f"<A:prop>{wanted}</A:prop></A:principal-property-search>"
    )


NAME_PROPS = (D + "displayname", CS + "first-name", CS + "last-name")
MAIL_PROPS = (CS + "email-address-set", C + "calendar-user-address-set")


def search_principals(user, body):
    r = http(user, "REPORT", "/dav/principals/", body, {"Depth": "0", **XML, **APPLE})
    return multistatus(r, f"{user[0]}: principal-property-search"), r


@step("principal-property-search on display name, starts-with (Apple's autocomplete): bob finds carol")
def _():
    searches = [(tuple([t]), "Carolin", "starts-with") for t in NAME_PROPS + MAIL_PROPS]
    got, r = search_principals(BOB, ppsearch(*searches))
    assert list(got) == [principal(CAROL[0])], f"'Carolin' finds {list(got)}" + exchange(r)
    props = got[principal(CAROL[0])]
    assert found(props, D + "displayname").text == CAROL_DISPLAY, exchange(r)
    assert f"mailto:{CAROL_EMAIL}" in hrefs_in(found(props, C + "calendar-user-address-set")), exchange(r)
    assert hrefs_in(found(props, D + "principal-URL")) == [principal(CAROL[0])], exchange(r)
    # starts-with means the start: the family name alone, on displayname
    # only, finds nobody.
    got, r = search_principals(BOB, ppsearch(((D + "displayname",), "Danvers", "starts-with")))
    assert not got, f"displayname starts-with 'Danvers' finds {list(got)}" + exchange(r)


@step("principal-property-search on e-mail: bob finds carol by address, starts-with and contains")
def _():
    got, r = search_principals(BOB, ppsearch(*[((t,), "c.danv", "starts-with") for t in MAIL_PROPS]))
    assert list(got) == [principal(CAROL[0])], f"e-mail starting 'c.danv' finds {list(got)}" + exchange(r)
    got, r = search_principals(BOB, ppsearch(((C + "calendar-user-address-set",), "danvers@example", None)))
    assert list(got) == [principal(CAROL[0])], f"address containing 'danvers@example' finds {list(got)}" + exchange(r)
    nobody = [((t,), f"nobody-{RUN}", "starts-with") for t in NAME_PROPS + MAIL_PROPS]
    got, r = search_principals(BOB, ppsearch(*nobody))
    assert not got, f"a search matching nobody finds {list(got)}" + exchange(r)


@step("principal-search-property-set lists what can be searched; bob reads carol's principal")
def _():
    body = '<?xml version="1.0" encoding="UTF-8"?><A:principal-search-property-set xmlns:A="DAV:"/>'
    r = http(BOB, "REPORT", "/dav/principals/", body, {"Depth": "0", **XML, **APPLE})
    assert r.status_code == 200, "principal-search-property-set" + exchange(r)
    root = xml_of(r, "principal-search-property-set")
    assert root.tag == D + "principal-search-property-set", root.tag
    names = {p.tag for sp in root.findall(D + "principal-search-property") for p in sp.findall(D + "prop/*")}
    want = {D + "displayname", C + "calendar-user-address-set", CS + "email-address-set"}
    assert want <= names, f"searchable: {sorted(names)}" + exchange(r)
    props = apple(BOB, principal(CAROL[0]), APPLE_PRINCIPAL, "0")[principal(CAROL[0])]
    assert found(props, D + "displayname").text == CAROL_DISPLAY, props


# ------------------------------------ part 9: the directory address book
# Leaves: carol's profile with a phone number.

CARDDAV = "{urn:ietf:params:xml:ns:carddav}"


def directory(user):
    return f"/dav/addressbooks/{user[0]}/directory/"


def card_query(match_prop, text):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<CR:addressbook-query xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav">'
        "<D:prop><D:getetag/><CR:address-data/></D:prop>"
        f'<CR:filter><CR:prop-filter name="{match_prop}"><CR:text-match match-type="contains">{text}</CR:text-match>'
        "</CR:prop-filter></CR:filter></CR:addressbook-query>"
    )


@step("the directory address book is in bob's own address-book home, read-only")
def _():
    r = http(BOB, "PROPFIND", f"/dav/addressbooks/{BOB[0]}/", propfind_body(D + "resourcetype", D + "current-user-privilege-set"),
             {"Depth": "1", **XML})
    props = multistatus(r, "bob's address-book home").get(directory(BOB))
    assert props is not None, "no directory in bob's address-book home" + exchange(r)
    types = {t.tag for t in found(props, D + "resourcetype")}
    assert CARDDAV + "addressbook" in types, types
    privs = {p.tag for p in found(props, D + "current-user-privilege-set").iter() if p.tag != D + "privilege"}
    assert D + "read" in privs and D + "write" not in privs and D + "write-content" not in privs, privs


@step("bob finds carol in the directory by name and by e-mail (addressbook-query); her phone is there")
def _():
    koyomi("user", "set", CAROL[0], "--phone", "+81 3 1234 5678")
    for prop_name, text in (("FN", "Danvers"), ("EMAIL", CAROL_EMAIL.split("@")[0])):
        r = http(BOB, "REPORT", directory(BOB), card_query(prop_name, text), {"Depth": "1", **XML})
        answers = multistatus(r, f"directory query on {prop_name}")
        cards = [el.text for p in answers.values() if (el := found(p, CARDDAV + "address-data")) is not None]
        assert len(cards) == 1, f"{prop_name} contains {text!r}: {len(cards)} cards" + exchange(r)
        card = unfold(cards[0])
        assert f"FN:{CAROL_DISPLAY}" in card and CAROL_EMAIL in card and "+81 3 1234 5678" in card, card


@step("the directory refuses bob's PUT and DELETE with need-privileges")
def _():
    vcard = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:intruder\r\nFN:Intruder\r\nEND:VCARD\r\n"
    r = http(BOB, "PUT", directory(BOB) + "intruder.vcf", vcard, {"Content-Type": "text/vcard"})
    assert r.status_code == 403 and "need-privileges" in r.text, "PUT into the directory" + exchange(r)
    r = http(BOB, "DELETE", directory(BOB))
    assert r.status_code == 403, "DELETE of the directory" + exchange(r)


# ---------------------------------------------------- part 10: public links
# Leaves: nothing (the link is revoked).


@step("alice publishes her plan: anyone reads it without signing in, conditionally")
def _():
    out = koyomi("link", "add", ALICE[0], S.plan_name).stdout
    m = re.search(r"/public/([A-Za-z0-9_-]+)\.ics", out)
    assert m, f"no link in: {out}"
    S.link = f"/public/{m.group(1)}.ics"
    r = scenario_lib.send("GET", BASE + S.link, None, None, None)
    assert r.status_code == 200 and r.headers.get("Content-Type", "").startswith("text/calendar"), "GET of the link" + exchange(r)
    assert PLAN_EVENTS["standup"].title in r.text, "the link does not show alice's plan" + exchange(r)
    etag = r.headers.get("ETag")
    assert etag, "no ETag on the link" + exchange(r)
    again = scenario_lib.send("GET", BASE + S.link, None, None, {"If-None-Match": etag})
    assert again.status_code == 304, "conditional GET of the link" + exchange(again)
    wrong = scenario_lib.send("GET", BASE + S.link.replace(m.group(1), m.group(1)[:-2] + "xx"), None, None, None)
    assert wrong.status_code == 404, "a guessed link" + exchange(wrong)


@step("alice revokes the link: the next request answers 404")
def _():
    koyomi("link", "del", S.link.rsplit("/", 1)[1][: -len(".ics")])
    r = scenario_lib.send("GET", BASE + S.link, None, None, None)
    assert r.status_code == 404, "GET of a revoked link" + exchange(r)


# --------------------------------------------------------------------- main


def main():
    return SCENARIO.run(
        f"share scenario against {SERVER}: {DAV_URL} (python-caldav {caldav_version()})",
        f"share scenario: today is {TODAY} (UTC); the plan's week starts {MONDAY}",
    )


if __name__ == "__main__":
    sys.exit(main())
