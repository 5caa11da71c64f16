#!/usr/bin/python3
"""Virtual calendar scenario, driven by Debian's python3-caldav.

Koyomi only (run.sh skips it for Radicale, which has no virtual calendars).
Setup - users, groups, memberships, virtual calendar definitions - goes
through the koyomi command line on the server's own data directory: the
server is told nothing, the store is shared. CalDAV requests are made by
python-caldav, as each viewer: discover the principal, list the calendars,
find the view by its display name, then search (with and without expand),
fetch, sync, write and set properties. Requests whose exact status or body is
checked (a refusal's precondition, a sync report, an export, the JSON API)
are made raw with python3-requests.

Five parts, after PRODUCT.md section 2 and issue 12:
  1. one person, three audiences (family, colleagues, friends): what each
     sees, an event added where one audience sees nothing (its sync does not
     name it), rule edits whose old sync tokens report what changed, the
     owner's own views kept out of the owner's home, GET as an export;
  2. a group calendar three members contribute to, written through, and a
     group where the same event from two members appears once and busy
     blocks say whose they are;
  3. a view with a write target shared with a writer and a reader: the
     writer creates, edits and deletes through it into the owner's calendar,
     is refused what he sees reduced or what is not the target's, the reader
     is refused everything;
  4. a viewer's own name, colour and order on that view, unsubscribing by
     DELETE and resubscribing through the JSON API;
  5. a member leaving a group under each policy (keep the past or not), also
     through a view the member defined on the group.

Events are placed relative to the server's clock (the same machine's):
next week for the audiences, the board and the shared plan, a month ago
and next month for the groups whose members leave.

Environment (set by run.sh): DAV_BASE_URL DAV_URL DAV_USER DAV_PASS
DAV_USER2 DAV_PASS2 INTEROP_KOYOMI_BIN INTEROP_KOYOMI_DATA INTEROP_SERVER.
"""

import functools
import json
import re
import sys
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from urllib.parse import unquote

import caldav
from caldav.elements import dav, ical
from caldav.lib import error as caldav_error

import scenario_lib
from scenario_lib import (ALICE, BASE, BOB, DAV_URL, MONDAY, NOW, RUN, SERVER, SYNC_BODY, TIMEOUT, TODAY, UTC,
                          WEEK_END, WEEK_START, Scenario, caldav_version, calendars_by_name, client, components, day,
                          events_in, exchange, expect_commands, ics_time, koyomi, path_of, prop, stamp, text_of,
                          unfold)
from scenario_lib import http_as as http

FAMILY = ("family1", "family1-secret")
COLLEAGUE = ("colleague1", "colleague1-secret")
FRIEND = ("friend1", "friend1-secret")

# ------------------------------------------------------------ command line


def add_user(user, password):
    r = koyomi("user", "add", user, stdin=password + "\n", check=False)
    assert r.returncode == 0 or "already exists" in r.stderr, f"user add {user}: {r.stderr}"


# ------------------------------------------------------------ iCalendar data

vcal = functools.partial(scenario_lib.vcal, prodid="-//Koyomi interop//vc scenario//EN")


class Ev:
    """An event planted in a calendar, with secrets for every field that a
    level below full must strip."""

    def __init__(self, key, start, end, rrule=None, private=False, category=None):
        self.key, self.start, self.end, self.rrule, self.private = key, start, end, rrule, private
        self.category = category
        self.uid = f"vc-{key}-{RUN}"
        self.title = f"Title-{key}-{RUN}"
        self.desc = f"SECRET-DESC-{key}-{RUN}"
        self.loc = f"SECRET-LOC-{key}-{RUN}"
        self.att = f"secret-att-{key}-{RUN}@example.org"
        self.cn = f"SECRET-CN-{key}-{RUN}"
        self.xprop = f"SECRET-X-{key}-{RUN}"
        self.alarm = f"SECRET-ALARM-{key}-{RUN}"

    def secrets_below_full(self):
        return [self.desc, self.loc, self.att, self.cn, self.xprop, self.alarm]

    def ics(self):
        lines = [
            "BEGIN:VEVENT",
            f"UID:{self.uid}",
            "DTSTAMP:20250101T000000Z",
            f"DTSTART:{ics_time(self.start)}",
            f"DTEND:{ics_time(self.end)}",
            f"SUMMARY:{self.title}",
            f"DESCRIPTION:{self.desc}",
            f"LOCATION:{self.loc}",
            f"ATTENDEE;CN={self.cn}:mailto:{self.att}",
            f"X-KOYOMI-NOTE:{self.xprop}",
        ]
        if self.rrule:
            lines.append(f"RRULE:{self.rrule}")
        if self.private:
            lines.append("CLASS:PRIVATE")
        if self.category:
            lines.append(f"CATEGORIES:{self.category}")
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            "TRIGGER:-PT15M",
            f"DESCRIPTION:{self.alarm}",
            "END:VALARM",
            "END:VEVENT",
        ]
        return vcal("\n".join(lines))


# ------------------------------------------------------------------ helpers


def find_view(user, displayname):
    """The view called displayname in user's home (a vc-ID collection)."""
    _, cals = calendars_by_name(user)
    found = [c for c in cals.get(displayname, []) if re.search(r"/vc-\d+/$", path_of(c.url))]
    assert len(found) == 1, (
        f"{user[0]}: expected one vc-ID calendar named {displayname!r}; has "
        f"{ {k: [path_of(c.url) for c in v] for k, v in cals.items()} }"
    )
    return found[0]


def week_search(cal, start, end, expand):
    return cal.search(start=start, end=end, event=True, expand=expand)


def raw_sync(cal, token):
    """A sync-collection on python-caldav's own session and credentials, but
    keeping the whole response: the library raises on a 403 and drops the
    body, which is what must be checked (and reported) here."""
    c = cal.client
    return c.session.request(
        "REPORT",
        str(cal.url),
        data=SYNC_BODY.format(token).encode(),
        headers={"Depth": "0", "Content-Type": "application/xml; charset=utf-8"},
        auth=c.auth,
        timeout=TIMEOUT,
    )


def sync_with_fallback(cal, token):
    """Incremental sync from token; when the server refuses it (403
    DAV:valid-sync-token, RFC 6578 3.2), a full sync, as a client must do.
    python-caldav 0.11 raises on the refusal instead of resynchronising, so
    the fallback is done here. Returns (refused, collection)."""
    try:
        return False, cal.objects_by_sync_token(token, load_objects=True)
    except caldav_error.DAVError:
        return True, cal.objects_by_sync_token(load_objects=True)


def current_token(cal):
    """The view's sync token now, as a client gets it from a full sync."""
    return cal.objects_by_sync_token(load_objects=False).sync_token


DAV_NS = "{DAV:}"


def sync_report(r):
    """href path -> status code of each response in a sync-collection
    answer (200 for a changed object, 404 for a removed one)."""
    assert r.status_code == 207, "sync-collection must answer 207" + exchange(r)
    out = {}
    for resp in ET.fromstring(r.content).iter(DAV_NS + "response"):
        href = unquote(path_of(resp.findtext(DAV_NS + "href")))
        status = resp.findtext(DAV_NS + "status") or resp.findtext(f"{DAV_NS}propstat/{DAV_NS}status") or ""
        out[href] = int(status.split()[1])
    return out


PRIVILEGES_BODY = (
    '<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:">'
    "<d:prop><d:current-user-privilege-set/></d:prop></d:propfind>"
)


def privileges(user, url, depth="0"):
    """href path -> the local names of user's current-user-privilege-set."""
    r = http(user, "PROPFIND", str(url), PRIVILEGES_BODY,
             {"Depth": depth, "Content-Type": "application/xml; charset=utf-8"})
    assert r.status_code == 207, "PROPFIND current-user-privilege-set" + exchange(r)
    out = {}
    for resp in ET.fromstring(r.content).iter(DAV_NS + "response"):
        href = unquote(path_of(resp.findtext(DAV_NS + "href")))
        out[href] = {
            child.tag.split("}", 1)[1]
            for priv in resp.iter(DAV_NS + "privilege")
            for child in priv
        }
    return out


def refused(r, what):
    """Asserts a 403 that names DAV:need-privileges (RFC 3744 7.1.1)."""
    assert r.status_code == 403 and "need-privileges" in r.text, (
        f"{what} must be refused with 403 DAV:need-privileges" + exchange(r)
    )


def view_id(cal):
    return int(re.search(r"/vc-(\d+)/$", path_of(cal.url)).group(1))


def api(user, method, path, payload=None):
    """The JSON API, with Basic auth."""
    r = http(user, method, f"/api/v1/{path}",
             json.dumps(payload) if payload is not None else None,
             {"Content-Type": "application/json"} if payload is not None else {})
    assert r.status_code == 200, f"{method} /api/v1/{path}" + exchange(r)
    return r.json()


def views_listed(user):
    """Paths of the vc-ID collections in user's calendar list."""
    _, cals = calendars_by_name(user)
    return {
        path_of(c.url): name
        for name, cs in cals.items()
        for c in cs
        if re.search(r"/vc-\d+/$", path_of(c.url))
    }


def vc_show(owner, name):
    return json.loads(koyomi("vc", "show", owner, name).stdout)


# -------------------------------------------------------------------- steps

SCENARIO = Scenario("vc")
step = SCENARIO.step


class State:
    pass


S = State()


@step("the command line has the group and vc commands")
def _():
    expect_commands("group add", "group member add", "group member del", "vc add", "vc set")


@step("users family1, colleague1, friend1 are created with the CLI and can log in")
def _():
    for u in (FAMILY, COLLEAGUE, FRIEND):
        add_user(*u)
    for u in (ALICE, BOB, FAMILY, COLLEAGUE, FRIEND):
        # The first authenticated request provisions the default calendar.
        _, cals = calendars_by_name(u)
        assert cals, f"{u[0]} has no calendar after discovery"


# ------------------------------------------------- part 1: three audiences

# Next week, Monday to Sunday (scenario_lib's MONDAY, WEEK_START, WEEK_END, day).

AUDIENCE_EVENTS = {
    # Working hours, in alice's work calendar.
    "meet-mon": Ev("meet-mon", stamp(day(0), 10), stamp(day(0), 11)),
    "meet-thu": Ev("meet-thu", stamp(day(3), 14), stamp(day(3), 15, 30)),
    # Evenings, a straddling weekly event, the weekend and a private event,
    # in alice's personal calendar.
    "dinner-tue": Ev("dinner-tue", stamp(day(1), 19), stamp(day(1), 20, 30)),
    "early-wed": Ev("early-wed", stamp(day(2), 17, 15), stamp(day(2), 17, 45)),
    "choir": Ev("choir", stamp(day(3), 16, 30), stamp(day(3), 17, 30), rrule="FREQ=WEEKLY;COUNT=4"),
    "hike-sat": Ev("hike-sat", stamp(day(5), 9), stamp(day(5), 13)),
    "private-fri": Ev("private-fri", stamp(day(4), 20), stamp(day(4), 21), private=True),
}
WORK_KEYS = ("meet-mon", "meet-thu")

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def audience_defs(family_evening_from="17:00", friends_hidden_to="17:00"):
    """The three filters over the union of alice's two calendars. The level of
    an occurrence is the most restrictive among matching rules, else the
    default."""

    def over(flt):
        return {
            "filter": {"zone": "UTC", **flt},
            "of": {"union": [{"calendar": S.work_name}, {"calendar": S.life_name}]},
        }

    return {
        # Full after 17:00 and at weekends, summary during weekday days.
        "family": over(
            {
                "default": "full",
                "rules": [
                    {
                        "level": "summary",
                        "weekdays": WEEKDAYS,
                        "from": "00:00",
                        "to": family_evening_from,
                    }
                ],
            }
        ),
        # Full during weekday days, summary in the evening, hidden at weekends.
        "colleagues": over(
            {
                "default": "full",
                "rules": [
                    {"level": "summary", "weekdays": WEEKDAYS, "from": "17:00", "to": "24:00"},
                    {"level": "hidden", "weekdays": ["sat", "sun"]},
                ],
            }
        ),
        # Nothing before 17:00 on weekdays, busy blocks otherwise.
        "friends": over(
            {
                "default": "busy",
                "rules": [
                    {"level": "hidden", "weekdays": WEEKDAYS, "from": "00:00", "to": friends_hidden_to}
                ],
            }
        ),
    }


AUDIENCE_VIEWERS = {"family": FAMILY, "colleagues": COLLEAGUE, "friends": FRIEND}

# What each audience sees of each event (the private event is capped at busy;
# the straddling event gets the stricter of its two windows).
EXPECTED = {
    "family": {
        "meet-mon": "summary",
        "meet-thu": "summary",
        "dinner-tue": "full",
        "early-wed": "full",
        "choir": "summary",
        "hike-sat": "full",
        "private-fri": "busy",
    },
    "colleagues": {
        "meet-mon": "full",
        "meet-thu": "full",
        "dinner-tue": "summary",
        "early-wed": "summary",
        "choir": "summary",
        "hike-sat": "hidden",
        "private-fri": "busy",
    },
    "friends": {
        "meet-mon": "hidden",
        "meet-thu": "hidden",
        "dinner-tue": "busy",
        "early-wed": "busy",
        "choir": "hidden",
        "hike-sat": "busy",
        "private-fri": "busy",
    },
}


def vc_add(owner, name, definition, shares, display):
    args = ["vc", "add", owner, name, "--definition", json.dumps(definition), "--display", display]
    for s in shares:
        args += ["--share", s]
    return koyomi(*args)


@step("alice's calendars: working hours, evenings, a straddling weekly event, weekend, private")
def _():
    p = client(ALICE).principal()
    S.work_name, S.life_name = f"work-{RUN}", f"life-{RUN}"
    work = p.make_calendar(name=f"Work {RUN}", cal_id=S.work_name)
    life = p.make_calendar(name=f"Life {RUN}", cal_id=S.life_name)
    S.work_url, S.life_url = str(work.url), str(life.url)
    for key, ev in AUDIENCE_EVENTS.items():
        (work if key in WORK_KEYS else life).save_event(ev.ics())
    for cal, keys in ((work, WORK_KEYS), (life, [k for k in AUDIENCE_EVENTS if k not in WORK_KEYS])):
        got = sorted(prop(c, "UID") for o in cal.events() for c in components(text_of(o), "VEVENT"))
        want = sorted(AUDIENCE_EVENTS[k].uid for k in keys)
        assert got == want, f"{cal.url}: {got}, expected {want}"


@step("three views of alice's calendars, each shared with one audience (koyomi vc add)")
def _():
    S.view_names = {}
    for audience, definition in audience_defs().items():
        name = f"{audience}-{RUN}"
        vc_add(ALICE[0], name, definition, [f"user:{AUDIENCE_VIEWERS[audience][0]}"],
               view_displayname(audience))
        S.view_names[audience] = name


def view_displayname(audience):
    return f"Alice for {audience} {RUN}"


@step("alice's own views are not in her own calendar list until she subscribes (JSON API)")
def _():
    mine = {view_displayname(a) for a in S.view_names}
    listed = views_listed(ALICE)
    assert not mine & set(listed.values()), f"alice's home lists her own views: {listed}"
    vid = view_id(find_view(FAMILY, view_displayname("family")))
    got = api(ALICE, "PATCH", f"visible/{vid}", {"subscribed": True})
    assert got["subscribed"] is True, got
    cal = find_view(ALICE, view_displayname("family"))
    assert view_id(cal) == vid, f"alice's subscription is {cal.url}, not view {vid}"
    api(ALICE, "PATCH", f"visible/{vid}", {"subscribed": False})
    listed = views_listed(ALICE)
    assert view_displayname("family") not in listed.values(), f"unsubscribed, alice still lists {listed}"


def check_audience(audience, texts, where, expected=None):
    """Asserts each event's level in texts (every calendar-data a viewer got
    from one kind of request)."""
    expected = expected or EXPECTED[audience]
    seen = events_in(texts)
    blob = "\n".join(texts)
    for key, level in expected.items():
        ev = AUDIENCE_EVENTS[key]
        what = f"{audience} ({where}), {key} expected {level}"
        if level == "hidden":
            assert ev.uid not in blob, f"{what}: its UID is in the response"
            assert ev.title not in blob, f"{what}: its title is in the response"
        else:
            assert ev.uid in seen, f"{what}: missing; saw UIDs {sorted(seen)}"
            for comp in seen[ev.uid]:
                summary = prop(comp, "SUMMARY")
                has = {f: prop(comp, f) is not None for f in ("DESCRIPTION", "LOCATION", "ATTENDEE")}
                if level == "full":
                    assert summary == ev.title, f"{what}: SUMMARY {summary!r}"
                    assert all(has.values()), f"{what}: fields present {has}\n{comp}"
                    assert prop(comp, "DESCRIPTION") == ev.desc, f"{what}: {comp}"
                elif level == "summary":
                    assert summary == ev.title, f"{what}: SUMMARY {summary!r}"
                    assert not any(has.values()), f"{what}: fields present {has}\n{comp}"
                else:
                    assert summary == "Busy", f"{what}: SUMMARY {summary!r}\n{comp}"
                    assert not any(has.values()), f"{what}: fields present {has}\n{comp}"
            if level != "full":
                # Checked on the whole response, not one component: no
                # override, alarm or parameter may carry a stripped value.
                leaked = [s for s in ev.secrets_below_full() if s in blob]
                if level == "busy":
                    leaked += [ev.title] if ev.title in blob else []
                assert not leaked, f"{what}: the response carries {leaked}"


def expected_instances(audience, expected=None):
    """uid -> instance start in the week, for every event not hidden."""
    expected = expected or EXPECTED[audience]
    return {
        AUDIENCE_EVENTS[k].uid: ics_time(AUDIENCE_EVENTS[k].start)
        for k, lvl in expected.items()
        if lvl != "hidden"
    }


def audience_reads(audience, expected=None, where=""):
    user = AUDIENCE_VIEWERS[audience]
    cal = find_view(user, view_displayname(audience))
    # A week without expand: whole objects, masters with their RRULE.
    plain = [text_of(o) for o in week_search(cal, WEEK_START, WEEK_END, expand=False)]
    check_audience(audience, plain, "calendar-query" + where, expected)
    # The same week expanded by the server: one instance per visible event.
    expanded = [text_of(o) for o in week_search(cal, WEEK_START, WEEK_END, expand=True)]
    check_audience(audience, expanded, "calendar-query with expand" + where, expected)
    got = {}
    for t in expanded:
        for c in components(t, "VEVENT"):
            assert prop(c, "RRULE") is None, f"{audience}: expanded instance keeps an RRULE: {c}"
            got.setdefault(prop(c, "UID"), []).append(prop(c, "DTSTART"))
    want = {u: [s] for u, s in expected_instances(audience, expected).items()}
    assert got == want, f"{audience}{where}: expanded instances {got}, expected {want}"
    # A full sync: every object of the view, loaded one by one (GET).
    full = cal.objects_by_sync_token(load_objects=True)
    synced = [text_of(o) for o in full]
    check_audience(audience, synced, "sync-collection + GET" + where, expected)
    uids = sorted({prop(c, "UID") for t in synced for c in components(t, "VEVENT")})
    assert uids == sorted(expected_instances(audience, expected)), (
        f"{audience}{where}: sync lists {uids}"
    )
    # A hidden event cannot be reached by UID either.
    for k, lvl in (expected or EXPECTED[audience]).items():
        if lvl == "hidden":
            try:
                cal.event_by_uid(AUDIENCE_EVENTS[k].uid)
            except caldav_error.NotFoundError:
                pass
            else:
                raise AssertionError(f"{audience}: hidden {k} found by UID")
    return cal, full


@step("family: evenings and weekend in full, working hours as summary, private busy")
def _():
    S.family_cal, S.family_sync = audience_reads("family")


@step("colleagues: working hours in full, evenings as summary, weekend hidden, private busy")
def _():
    S.colleague_cal, S.colleague_sync = audience_reads("colleagues")


@step("friends: nothing before 17:00, busy blocks after and at weekends, private busy")
def _():
    S.friend_cal, S.friend_sync = audience_reads("friends")


@step("a viewer without a share does not see the views; the views are read-only")
def _():
    _, cals = calendars_by_name(BOB)
    for audience in S.view_names:
        assert view_displayname(audience) not in cals, f"bob sees {view_displayname(audience)}"
        assert not any(re.search(r"/vc-\d+/$", path_of(c.url)) for v in cals.values() for c in v), (
            f"bob, shared nothing yet, lists views: {cals}"
        )
    ev = Ev("intruder", stamp(day(1), 12), stamp(day(1), 13))
    try:
        S.friend_cal.save_event(ev.ics())
    except caldav_error.DAVError:
        pass
    else:
        raise AssertionError("a PUT into a read-only view was accepted")
    p = client(ALICE).principal()
    for c in p.calendars():
        if c.get_display_name() in (f"Work {RUN}", f"Life {RUN}"):
            try:
                c.event_by_uid(ev.uid)
            except caldav_error.NotFoundError:
                continue
            raise AssertionError(f"the refused PUT landed in {c.url}")


def update_vc(owner, name, definition):
    """One edit of a view's definition; its shares stay as they are."""
    return koyomi("vc", "set", owner, name, "--definition", json.dumps(definition))


def audience_views():
    return {a: find_view(u, view_displayname(a)) for a, u in AUDIENCE_VIEWERS.items()}


def href_of(cal, ev):
    """The path under which a view shows an event python-caldav saved (as
    UID.ics) in a source calendar."""
    return path_of(cal.url) + f"{ev.uid}.ics"


@step("alice adds an event where friends see nothing: their sync never names it, nor its removal")
def _():
    views = audience_views()
    before = {a: current_token(c) for a, c in views.items()}
    ev = Ev("dentist", stamp(day(2), 10), stamp(day(2), 11))
    life = caldav.Calendar(client=client(ALICE), url=S.life_url)
    saved = life.save_event(ev.ics())
    for audience, want in (("family", {200}), ("colleagues", {200}), ("friends", set())):
        r = raw_sync(views[audience], before[audience])
        got = sync_report(r)
        if want:
            assert got == {href_of(views[audience], ev): 200}, (
                f"{audience}: the sync after alice's add must report {ev.key} only" + exchange(r)
            )
        else:
            assert not got and ev.uid not in r.text and ev.title not in r.text, (
                f"{audience}: the sync names an event hidden from them" + exchange(r)
            )
    after_add = {a: current_token(c) for a, c in views.items()}
    saved.delete()
    for token in (before["friends"], after_add["friends"]):
        r = raw_sync(views["friends"], token)
        assert not sync_report(r) and ev.uid not in r.text, (
            "friends: the sync after the removal names an event they never saw" + exchange(r)
        )
    r = raw_sync(views["family"], after_add["family"])
    assert sync_report(r) == {href_of(views["family"], ev): 404}, (
        "family: the sync after the removal must report it removed" + exchange(r)
    )
    r = raw_sync(views["family"], before["family"])
    assert sync_report(r) == {}, (
        "family: from before the add, an added and removed event is nothing to report" + exchange(r)
    )


@step("one rule edit: family's evening starts at 18:00; the old token reports what changed")
def _():
    views = audience_views()
    tokens = {a: current_token(c) for a, c in views.items()}
    update_vc(
        ALICE[0],
        S.view_names["family"],
        audience_defs(family_evening_from="18:00")["family"],
    )
    cal = find_view(FAMILY, view_displayname("family"))
    r = raw_sync(cal, tokens["family"])
    early = AUDIENCE_EVENTS["early-wed"]
    assert sync_report(r) == {href_of(cal, early): 200}, (
        "the family's token from before the edit must report early-wed (now a summary) and nothing else"
        + exchange(r)
    )
    after = dict(EXPECTED["family"], **{"early-wed": "summary"})
    refused, changes = sync_with_fallback(cal, tokens["family"])
    assert not refused, "python-caldav's incremental sync after the edit was refused"
    texts = [text_of(o) for o in changes]
    check_audience("family", texts, "incremental sync after the edit", {"early-wed": "summary"})
    assert list(events_in(texts)) == [early.uid], f"family: sync after the edit brought {list(events_in(texts))}"
    audience_reads("family", after, " after the edit")
    # The other views did not change: their tokens report nothing.
    for audience in ("colleagues", "friends"):
        r = raw_sync(views[audience], tokens[audience])
        assert sync_report(r) == {}, f"{audience}: sync reports changes after the family's edit" + exchange(r)


@step("friends' hidden window grows to 19:30: their old token reports the two events gone, nothing else")
def _():
    cal = find_view(FRIEND, view_displayname("friends"))
    token = current_token(cal)
    update_vc(ALICE[0], S.view_names["friends"], audience_defs(friends_hidden_to="19:30")["friends"])
    r = raw_sync(cal, token)
    gone = {href_of(cal, AUDIENCE_EVENTS[k]): 404 for k in ("dinner-tue", "early-wed")}
    assert sync_report(r) == gone, "friends: the edit hides dinner-tue and early-wed" + exchange(r)
    after = dict(EXPECTED["friends"], **{"dinner-tue": "hidden", "early-wed": "hidden"})
    audience_reads("friends", after, " after the edit")


@step("GET of a view exports what its viewer sees as one iCalendar file")
def _():
    expected = {
        "colleagues": EXPECTED["colleagues"],
        "friends": dict(EXPECTED["friends"], **{"dinner-tue": "hidden", "early-wed": "hidden"}),
    }
    for audience, levels in expected.items():
        cal = find_view(AUDIENCE_VIEWERS[audience], view_displayname(audience))
        r = http(AUDIENCE_VIEWERS[audience], "GET", str(cal.url))
        assert r.status_code == 200 and r.headers.get("Content-Type", "").startswith("text/calendar"), (
            f"{audience}: GET of the view must answer text/calendar" + exchange(r)
        )
        assert r.text.startswith("BEGIN:VCALENDAR") and len(components(r.text, "VCALENDAR")) == 1, (
            f"{audience}: the export is not one VCALENDAR" + exchange(r)
        )
        check_audience(audience, [r.text], "GET export", levels)
        got = sorted(events_in([r.text]))
        assert got == sorted(expected_instances(audience, levels)), f"{audience}: export has {got}"


# -------------------------------------------------- part 2: group calendar


def group_member_add(group, user, contribution):
    koyomi("group", "member", "add", group, user, "--contribute", contribution)


@step("group team: alice, bob and colleague1 contribute their default calendars as summary")
def _():
    S.team = f"team-{RUN}"
    koyomi("group", "add", S.team)
    for u in (ALICE, BOB, COLLEAGUE):
        group_member_add(S.team, u[0], "default:summary")
    S.team_cals = {u[0]: find_view(u, S.team) for u in (ALICE, BOB, COLLEAGUE)}
    S.team_tokens = {
        u: c.objects_by_sync_token(load_objects=False) for u, c in S.team_cals.items()
    }


@step("bob adds an event through the group calendar: the others see it on their next sync")
def _():
    ev = Ev("offsite", stamp(day(2), 9), stamp(day(2), 16))
    S.offsite = ev
    # python-caldav re-serialises the event before its PUT: record the bytes
    # it really sends, which the server must keep.
    cal = S.team_cals[BOB[0]]
    sent, put = [], cal.client.put

    def recording_put(url, body, headers=None):
        sent.append(body)
        return put(url, body, headers or {})

    cal.client.put = recording_put
    try:
        saved = cal.save_event(ev.ics())
    finally:
        cal.client.put = put
    assert len(sent) == 1, f"python-caldav sent {len(sent)} PUTs"
    S.offsite_ics = sent[0] if isinstance(sent[0], str) else sent[0].decode()
    S.offsite_name = path_of(saved.url).rsplit("/", 1)[1]
    for user in (ALICE[0], COLLEAGUE[0]):
        coll = S.team_tokens[user]
        updated, deleted = coll.sync()
        texts = [text_of(o) for o in updated]
        assert not deleted, f"{user}: sync reports deletions {[str(o.url) for o in deleted]}"
        got = events_in(texts)
        assert list(got) == [ev.uid], f"{user}: the sync after bob's PUT brought {list(got)}"
        comp = got[ev.uid][0]
        assert prop(comp, "SUMMARY") == ev.title, f"{user}: {comp}"
        leaked = [s for s in ev.secrets_below_full() if s in "\n".join(texts)]
        assert not leaked, f"{user}: bob contributes at summary, but {user} sees {leaked}"
        # Nothing was sent to them to import: their own calendars lack it.
        p = client(ALICE if user == ALICE[0] else COLLEAGUE).principal()
        for c in p.calendars():
            if re.search(r"/vc-\d+/$", path_of(c.url)):
                continue
            try:
                c.event_by_uid(ev.uid)
            except caldav_error.NotFoundError:
                continue
            raise AssertionError(f"{user}: the group event was copied into {c.url}")


@step("bob's event landed unchanged in his own default calendar")
def _():
    p, cals = calendars_by_name(BOB)
    default = [c for c in p.calendars() if path_of(c.url).endswith("/default/")]
    assert default, f"bob has no default calendar: {cals}"
    obj = default[0].event_by_uid(S.offsite.uid)
    assert path_of(obj.url).rsplit("/", 1)[1] == S.offsite_name, obj.url
    r = default[0].client.request(str(obj.url), "GET")
    raw = r.raw if isinstance(r.raw, str) else r.raw.decode()
    assert raw == S.offsite_ics, f"stored bytes differ:\n{raw!r}\nsent:\n{S.offsite_ics!r}"


@step("bob edits his event through the group calendar: nothing of it is lost")
def _():
    # What a client does: fetch the event from the calendar it shows, change
    # the title, PUT it back there. The PUT lands in bob's own calendar, so
    # whatever the group view withheld from him would be erased.
    cal = S.team_cals[BOB[0]]
    obj = cal.event_by_uid(S.offsite.uid)
    shown = text_of(obj)
    obj.vobject_instance.vevent.summary.value = S.offsite.title + " (moved)"
    obj.save()
    p = client(BOB).principal()
    default = [c for c in p.calendars() if path_of(c.url).endswith("/default/")][0]
    stored = text_of(default.event_by_uid(S.offsite.uid))
    assert S.offsite.title + " (moved)" in stored, f"the edit did not land: {stored}"
    lost = [x for x in S.offsite.secrets_below_full() if x not in unfold(stored)]
    assert not lost, (
        f"editing his own event through the group calendar erased {lost} from bob's "
        f"calendar; the group view showed him:\n{shown}\nstored now:\n{stored}"
    )


def member_add(group, user, *contributions):
    args = ["group", "member", "add", group, user]
    for c in contributions:
        args += ["--contribute", c]
    koyomi(*args)


def own_calendar(user, cal_id, display, events):
    """A new calendar of user's, made with python-caldav, holding events."""
    cal = client(user).principal().make_calendar(name=display, cal_id=cal_id)
    for ev in events:
        cal.save_event(ev.ics())
    return cal


@step("group board: one meeting (one UID) in alice's and colleague1's calendars, and each one's busy blocks")
def _():
    S.board = f"board-{RUN}"
    S.col_display = f"Colleague One {RUN}"
    koyomi("user", "set", COLLEAGUE[0], "--display", S.col_display)
    S.meeting = Ev("board-meeting", stamp(day(1), 15), stamp(day(1), 16))
    # Alice has no display name: her user name stands in.
    S.busy = [
        (Ev("board-a-busy", stamp(day(2), 8), stamp(day(2), 9)), "Busy (alice)"),
        (Ev("board-c-busy", stamp(day(3), 8), stamp(day(3), 9)), f"Busy ({S.col_display})"),
        (Ev("board-c-private", stamp(day(4), 8), stamp(day(4), 9), category="Private"),
         f"Private ({S.col_display})"),
    ]
    koyomi("group", "add", S.board)
    own_calendar(ALICE, f"{S.board}-a", f"Board alice {RUN}", [S.meeting])
    own_calendar(ALICE, f"{S.board}-a-busy", f"Board alice busy {RUN}", [S.busy[0][0]])
    own_calendar(COLLEAGUE, f"{S.board}-c", f"Board colleague {RUN}", [S.meeting])
    own_calendar(COLLEAGUE, f"{S.board}-c-busy", f"Board colleague busy {RUN}", [b[0] for b in S.busy[1:]])
    member_add(S.board, ALICE[0], f"{S.board}-a:full", f"{S.board}-a-busy:busy")
    member_add(S.board, COLLEAGUE[0], f"{S.board}-c:full", f"{S.board}-c-busy:busy")
    member_add(S.board, BOB[0])  # contributes nothing: a viewer


def count_uid(texts, uid):
    """(objects carrying uid, VEVENTs with that UID) across texts."""
    return (
        sum(1 for t in texts if uid in t),
        sum(1 for t in texts for c in components(t, "VEVENT") if prop(c, "UID") == uid),
    )


@step("the board's meeting appears once for bob, wherever he looks; busy blocks say whose they are")
def _():
    cal = find_view(BOB, S.board)
    m = S.meeting
    plain = [text_of(o) for o in week_search(cal, WEEK_START, WEEK_END, expand=False)]
    expanded = [text_of(o) for o in week_search(cal, WEEK_START, WEEK_END, expand=True)]
    synced = [text_of(o) for o in cal.objects_by_sync_token(load_objects=True)]
    r = http(BOB, "GET", str(cal.url))
    assert r.status_code == 200, "GET of the group calendar" + exchange(r)
    for where, texts, objects in (
        ("calendar-query", plain, 1),
        ("calendar-query with expand", expanded, 1),
        ("sync-collection + GET", synced, 1),
        ("GET export", [r.text], None),
    ):
        n_obj, n_ev = count_uid(texts, m.uid)
        assert n_ev == 1 and (objects is None or n_obj == objects), (
            f"bob ({where}): the meeting alice and colleague1 both contribute comes as {n_obj} objects, "
            f"{n_ev} VEVENTs; expected once"
        )
        comp = events_in(texts)[m.uid][0]
        assert prop(comp, "SUMMARY") == m.title and prop(comp, "DESCRIPTION") == m.desc, f"{where}: {comp}"
        blob = "\n".join(texts)
        for ev, label in S.busy:
            got = events_in(texts).get(ev.uid)
            assert got, f"bob ({where}): {ev.key} missing"
            assert prop(got[0], "SUMMARY") == label, (
                f"bob ({where}): {ev.key} is titled {prop(got[0], 'SUMMARY')!r}, expected {label!r}"
            )
            leaked = [x for x in ev.secrets_below_full() + [ev.title] if x in blob]
            assert not leaked, f"bob ({where}): busy {ev.key} carries {leaked}"
    # colleague1 too sees the meeting once, and alice's busy block by name.
    texts = [text_of(o) for o in week_search(find_view(COLLEAGUE, S.board), WEEK_START, WEEK_END, expand=False)]
    assert count_uid(texts, m.uid)[1] == 1, f"colleague1: the meeting comes {count_uid(texts, m.uid)} times"
    ev, label = S.busy[0]
    assert prop(events_in(texts)[ev.uid][0], "SUMMARY") == label, f"colleague1: {events_in(texts)[ev.uid]}"


# ------------------------------------------- part 3: a write-through share


def alice_plan():
    return caldav.Calendar(client=client(ALICE), url=S.plan_url)


ICS_HEADERS = {"Content-Type": "text/calendar; charset=utf-8"}


@step("a write-through share of alice's plan and work: bob may write into plan, friend1 only reads")
def _():
    S.plan = f"plan-{RUN}"
    S.plan_events = {
        "lunch": Ev("plan-lunch", stamp(day(1), 12), stamp(day(1), 13)),
        "private": Ev("plan-private", stamp(day(2), 12), stamp(day(2), 13), private=True),
        "secret": Ev("plan-secret", stamp(day(3), 12), stamp(day(3), 13), category="Secret"),
    }
    S.plan_url = str(own_calendar(ALICE, S.plan, f"Plan {RUN}", S.plan_events.values()).url)
    # bob has a calendar of the same name: nothing written through the view
    # may land there.
    S.bob_plan_url = str(own_calendar(BOB, S.plan, f"Bob's plan {RUN}", []).url)
    definition = {
        "union": [
            {
                "filter": {"default": "full", "rules": [{"level": "hidden", "categories": ["Secret"]}]},
                "of": {"calendar": S.plan},
            },
            {"calendar": S.work_name},
        ]
    }
    S.share, S.share_display = f"share-{RUN}", f"Alice's plan {RUN}"
    r = koyomi("vc", "add", ALICE[0], f"{S.share}-bad", "--definition", json.dumps(definition),
               "--share", f"user:{BOB[0]}", "--write-target", S.life_name, check=False)
    assert r.returncode != 0, f"a write target the view does not show was accepted: {r.stdout}{r.stderr}"
    koyomi("vc", "add", ALICE[0], S.share, "--definition", json.dumps(definition), "--display", S.share_display,
           "--share", f"user:{BOB[0]}", "--share", f"user:{FRIEND[0]}",
           "--write-target", S.plan, "--writer", f"user:{BOB[0]}")
    S.share_spec = vc_show(ALICE[0], S.share)
    S.share_bob = find_view(BOB, S.share_display)
    S.share_friend = find_view(FRIEND, S.share_display)
    texts = [text_of(o) for o in S.share_bob.objects_by_sync_token(load_objects=True)]
    seen = events_in(texts)
    lunch, private, secret = (S.plan_events[k] for k in ("lunch", "private", "secret"))
    assert prop(seen[lunch.uid][0], "DESCRIPTION") == lunch.desc, f"bob: lunch {seen.get(lunch.uid)}"
    assert prop(seen[private.uid][0], "SUMMARY") == "Busy", f"bob: private {seen.get(private.uid)}"
    assert secret.uid not in "\n".join(texts), "bob sees the event the view hides"


@step("current-user-privilege-set: bob may add and remove through the view, friend1 may only read")
def _():
    for user, cal, writer in ((BOB, S.share_bob, True), (FRIEND, S.share_friend, False)):
        got = privileges(user, cal.url)[path_of(cal.url)]
        assert "read" in got, f"{user[0]}: {sorted(got)}"
        writes = {"write-content", "bind", "unbind"}
        if writer:
            assert writes <= got, f"bob, a writer, is told only {sorted(got)}"
        else:
            assert not got & (writes | {"write", "all"}), f"friend1, a reader, is told {sorted(got)}"


@step("bob creates an event through the view (python-caldav): in alice's plan and the view, not his own plan")
def _():
    ev = Ev("bob-adds", stamp(day(4), 12), stamp(day(4), 13))
    S.bob_adds = ev
    saved = S.share_bob.save_event(ev.ics())
    S.bob_adds_name = path_of(saved.url).rsplit("/", 1)[1]
    stored = unfold(text_of(alice_plan().event_by_uid(ev.uid)))
    assert ev.title in stored and ev.desc in stored, f"alice's plan holds: {stored}"
    own = caldav.Calendar(client=client(BOB), url=S.bob_plan_url)
    assert not own.events(), f"bob's own {S.plan} got {[str(o.url) for o in own.events()]}"
    for user, cal in ((BOB, S.share_bob), (FRIEND, S.share_friend)):
        comp = events_in([text_of(cal.event_by_uid(ev.uid))])[ev.uid][0]
        assert prop(comp, "SUMMARY") == ev.title and prop(comp, "DESCRIPTION") == ev.desc, f"{user[0]}: {comp}"


@step("bob edits his event through the view: alice's plan has the edit and loses nothing")
def _():
    ev = S.bob_adds
    obj = S.share_bob.event_by_uid(ev.uid)
    obj.vobject_instance.vevent.summary.value = ev.title + " (edited)"
    obj.save()
    stored = unfold(text_of(alice_plan().event_by_uid(ev.uid)))
    assert f"SUMMARY:{ev.title} (edited)" in stored, f"the edit did not land in alice's plan: {stored}"
    lost = [x for x in ev.secrets_below_full() if x not in stored]
    assert not lost, f"the edit through the view lost {lost}: {stored}"
    comp = events_in([text_of(S.share_friend.event_by_uid(ev.uid))])[ev.uid][0]
    assert prop(comp, "SUMMARY") == ev.title + " (edited)", f"friend1 sees {comp}"


def plan_state():
    return {k: text_of(alice_plan().event_by_uid(e.uid)) for k, e in S.plan_events.items()}


@step("bob may not overwrite or delete what he sees reduced, what he does not see, or what is not the plan's")
def _():
    before = plan_state()
    meet = AUDIENCE_EVENTS["meet-mon"]
    work = caldav.Calendar(client=client(ALICE), url=S.work_url)
    work_before = text_of(work.event_by_uid(meet.uid))
    base = path_of(S.share_bob.url)
    for key, ev in (("private", S.plan_events["private"]), ("secret", S.plan_events["secret"]), ("work", meet)):
        body = ev.ics().replace(ev.title, ev.title + " overwritten")
        refused(http(BOB, "PUT", base + f"{ev.uid}.ics", body, ICS_HEADERS), f"bob's PUT over {key}")
    refused(http(BOB, "DELETE", base + f"{S.plan_events['private'].uid}.ics"), "bob's DELETE of a busy block")
    refused(http(BOB, "DELETE", base + f"{meet.uid}.ics"), "bob's DELETE of an event of alice's work")
    r = http(BOB, "DELETE", base + f"{S.plan_events['secret'].uid}.ics")
    assert r.status_code in (403, 404), "bob's DELETE of an event he does not see" + exchange(r)
    assert plan_state() == before, "a refused write changed alice's plan"
    assert text_of(work.event_by_uid(meet.uid)) == work_before, "a refused write changed alice's work"


@step("friend1, who only reads, is refused a PUT and a DELETE through the same view")
def _():
    ev = Ev("friend-adds", stamp(day(4), 14), stamp(day(4), 15))
    try:
        S.share_friend.save_event(ev.ics())
    except caldav_error.DAVError:
        pass
    else:
        raise AssertionError("friend1's PUT through a view he may only read was accepted")
    base = path_of(S.share_friend.url)
    refused(http(FRIEND, "PUT", base + f"{ev.uid}.ics", ev.ics(), ICS_HEADERS), "friend1's PUT")
    refused(http(FRIEND, "DELETE", base + S.bob_adds_name), "friend1's DELETE of bob's event")
    try:
        alice_plan().event_by_uid(ev.uid)
    except caldav_error.NotFoundError:
        pass
    else:
        raise AssertionError("friend1's refused PUT landed in alice's plan")
    alice_plan().event_by_uid(S.bob_adds.uid)  # still there


@step("bob deletes his event through the view: it leaves alice's plan and the view")
def _():
    S.share_bob.event_by_uid(S.bob_adds.uid).delete()
    for where, cal in (("alice's plan", alice_plan()), ("friend1's view", S.share_friend)):
        try:
            cal.event_by_uid(S.bob_adds.uid)
        except caldav_error.NotFoundError:
            continue
        raise AssertionError(f"bob's deleted event is still in {where}")


# --------------------------------------- part 4: a viewer's own settings

FRIEND_NAME = f"Alice's plan, as I call it {RUN}"
FRIEND_COLOR = "#FF8800FF"
FRIEND_ORDER = "7"
SETTINGS = [dav.DisplayName(), ical.CalendarColor(), ical.CalendarOrder()]


@step("friend1 renames, recolours and reorders the shared view (PROPPATCH); a PROPFIND shows them")
def _():
    S.share_friend.set_properties(
        [dav.DisplayName(FRIEND_NAME), ical.CalendarColor(FRIEND_COLOR), ical.CalendarOrder(FRIEND_ORDER)]
    )
    cal = find_view(FRIEND, FRIEND_NAME)
    assert view_id(cal) == view_id(S.share_friend), f"{cal.url} is not {S.share_friend.url}"
    got = cal.get_properties(SETTINGS)
    assert got.get(dav.DisplayName.tag) == FRIEND_NAME, got
    assert (got.get(ical.CalendarColor.tag) or "").upper().startswith(FRIEND_COLOR[:7]), got
    assert got.get(ical.CalendarOrder.tag) == FRIEND_ORDER, got
    seen = api(FRIEND, "GET", f"visible/{view_id(cal)}")
    assert seen["displayname"] == FRIEND_NAME and seen["order"] == int(FRIEND_ORDER), seen


@step("friend1's settings are his: bob still sees alice's name and colour; `vc show` is unchanged")
def _():
    cal = find_view(BOB, S.share_display)
    got = cal.get_properties(SETTINGS)
    assert got.get(dav.DisplayName.tag) == S.share_display, got
    assert not (got.get(ical.CalendarColor.tag) or "").upper().startswith(FRIEND_COLOR[:7]), got
    assert vc_show(ALICE[0], S.share) == S.share_spec, (
        f"alice's definition changed:\n{vc_show(ALICE[0], S.share)}\nwas:\n{S.share_spec}"
    )


@step("friend1 deletes the view: it leaves his list only; the API resubscribes him with his settings")
def _():
    vid = view_id(S.share_friend)
    r = http(FRIEND, "DELETE", str(S.share_friend.url))
    assert r.status_code in (200, 204), "DELETE of a view shared with friend1" + exchange(r)
    listed = views_listed(FRIEND)
    assert path_of(S.share_friend.url) not in listed, f"unsubscribed, friend1 still lists {listed}"
    assert api(FRIEND, "GET", f"visible/{vid}")["subscribed"] is False
    assert vc_show(ALICE[0], S.share) == S.share_spec, "friend1's unsubscribing changed alice's view"
    find_view(BOB, S.share_display)  # bob keeps it
    got = api(FRIEND, "PATCH", f"visible/{vid}", {"subscribed": True})
    assert got["subscribed"] is True, got
    cal = find_view(FRIEND, FRIEND_NAME)
    assert view_id(cal) == vid, cal.url
    props_ = cal.get_properties(SETTINGS)
    assert (props_.get(ical.CalendarColor.tag) or "").upper().startswith(FRIEND_COLOR[:7]), props_
    uids = events_in([text_of(o) for o in cal.objects_by_sync_token(load_objects=True)])
    assert S.plan_events["lunch"].uid in uids, f"resubscribed, friend1's view shows {sorted(uids)}"


# ------------------------------------------------ part 5: leaving a group


def group_events(prefix):
    """alice's and bob's contributions to one group: a past and a future
    event each, a weekly series of alice's across the leaving day, and two
    events of alice's close to the moment bob leaves: one that ended twenty
    minutes before, one that started before and ends after."""
    minute = NOW.replace(second=0, microsecond=0)
    return {
        "alice": [
            Ev(f"{prefix}-a-past", stamp(TODAY - timedelta(days=30), 10), stamp(TODAY - timedelta(days=30), 11)),
            Ev(f"{prefix}-a-future", stamp(TODAY + timedelta(days=30), 10), stamp(TODAY + timedelta(days=30), 11)),
            Ev(
                f"{prefix}-a-weekly",
                stamp(TODAY - timedelta(days=38), 12),
                stamp(TODAY - timedelta(days=38), 13),
                rrule="FREQ=WEEKLY;COUNT=10",
            ),
            Ev(f"{prefix}-a-ended", minute - timedelta(minutes=40), minute - timedelta(minutes=20)),
            Ev(f"{prefix}-a-ongoing", minute - timedelta(minutes=20), minute + timedelta(minutes=40)),
        ],
        "bob": [
            Ev(f"{prefix}-b-past", stamp(TODAY - timedelta(days=29), 15), stamp(TODAY - timedelta(days=29), 16)),
            Ev(f"{prefix}-b-future", stamp(TODAY + timedelta(days=31), 15), stamp(TODAY + timedelta(days=31), 16)),
        ],
    }


SPAN_START = stamp(TODAY - timedelta(days=60), 0)
SPAN_END = stamp(TODAY + timedelta(days=60), 0)
WEEKLY_PAST = 6  # occurrences at -38, -31, -24, -17, -10 and -3 days


def instances(cal):
    got = {}
    for o in cal.search(start=SPAN_START, end=SPAN_END, event=True, expand=True):
        for c in components(text_of(o), "VEVENT"):
            got.setdefault(prop(c, "UID"), []).append(prop(c, "DTSTART"))
    return {u: sorted(v) for u, v in got.items()}


def weekly_starts(ev, n):
    return sorted(ics_time(ev.start + timedelta(weeks=i)) for i in range(n))


@step("two groups, one keeping the past of who leaves, one not; alice and bob contribute")
def _():
    S.keep, S.drop = f"keep-{RUN}", f"drop-{RUN}"
    koyomi("group", "add", S.keep, "--keep-past")
    koyomi("group", "add", S.drop)
    S.gev = {}
    for g in (S.keep, S.drop):
        S.gev[g] = group_events(g)
        for user, cred in (("alice", ALICE), ("bob", BOB)):
            p = client(cred).principal()
            cal = p.make_calendar(name=f"{g} {user}", cal_id=f"{g}-{user}")
            for ev in S.gev[g][user]:
                cal.save_event(ev.ics())
            group_member_add(g, cred[0], f"{g}-{user}:full")
    S.gcal = {}
    for g in (S.keep, S.drop):
        for user, cred in (("alice", ALICE), ("bob", BOB)):
            cal = find_view(cred, g)
            S.gcal[(g, user)] = cal
            got, want = instances(cal), all_group_instances(g)
            assert got == want, f"{user} in {g} before leaving: {got}, expected {want}"


def all_group_instances(g):
    evs = S.gev[g]
    want = {e.uid: [ics_time(e.start)] for e in evs["alice"][:2] + evs["alice"][3:] + evs["bob"]}
    want[evs["alice"][2].uid] = weekly_starts(evs["alice"][2], 10)
    return want


def bob_view_display(g):
    return f"Bob's view of {g}"


@step("bob defines a view on each group, shares it with friend1 and subscribes to it himself")
def _():
    for g in (S.keep, S.drop):
        koyomi("vc", "add", BOB[0], f"mine-{g}", "--definition", json.dumps({"group": g}),
               "--share", f"user:{FRIEND[0]}", "--display", bob_view_display(g))
        friends = find_view(FRIEND, bob_view_display(g))
        api(BOB, "PATCH", f"visible/{view_id(friends)}", {"subscribed": True})
        for user in (FRIEND, BOB):
            got, want = instances(find_view(user, bob_view_display(g))), all_group_instances(g)
            assert got == want, f"{user[0]} through bob's view of {g}: {got}, expected {want}"


@step("bob leaves both groups (koyomi group member del)")
def _():
    S.before_leaving = datetime.now(UTC)
    koyomi("group", "member", "del", S.keep, BOB[0])
    koyomi("group", "member", "del", S.drop, BOB[0])


@step("keep-past: bob still sees what ended before he left, nothing after")
def _():
    evs = S.gev[S.keep]
    cal = find_view(BOB, S.keep)
    got = instances(cal)
    want = {
        evs["alice"][0].uid: [ics_time(evs["alice"][0].start)],
        evs["bob"][0].uid: [ics_time(evs["bob"][0].start)],
        evs["alice"][2].uid: weekly_starts(evs["alice"][2], WEEKLY_PAST),
    }
    # The events of the leaving day itself are the next step's.
    got.pop(evs["alice"][3].uid, None)
    S.keep_got = got
    assert got == want, f"bob in {S.keep} after leaving: {got}, expected {want}"
    blob = "\n".join(text_of(o) for o in cal.objects_by_sync_token(load_objects=True))
    for ev in (evs["alice"][1], evs["alice"][4], evs["bob"][1]):
        assert ev.uid not in blob, f"bob still gets {ev.key} (not ended when he left) after leaving"
    S.keep_cal = cal
    # The group calendar is read-only for him now.
    try:
        cal.save_event(Ev(f"{S.keep}-late", stamp(TODAY + timedelta(days=3), 9),
                          stamp(TODAY + timedelta(days=3), 10)).ics())
    except caldav_error.DAVError:
        pass
    else:
        raise AssertionError("bob wrote into a group calendar after leaving it")


@step("keep-past to the minute: an event that ended 20 minutes before he left stays visible")
def _():
    ended = S.gev[S.keep]["alice"][3]
    got = instances(S.keep_cal)
    assert got.get(ended.uid) == [ics_time(ended.start)], (
        f"{ended.key} ({ics_time(ended.start)}-{ics_time(ended.end)}) ended before bob left "
        f"(at about {ics_time(S.before_leaving)}) but is not in his keep-past view; he sees {sorted(got)}"
    )


@step("no keep-past: bob no longer sees the group calendar at all")
def _():
    _, cals = calendars_by_name(BOB)
    assert S.drop not in cals, f"bob still lists {S.drop}: {[path_of(c.url) for c in cals[S.drop]]}"
    old = S.gcal[(S.drop, "bob")]
    try:
        old.objects_by_sync_token(load_objects=True)
    except caldav_error.DAVError:
        pass
    else:
        raise AssertionError(f"bob can still sync {old.url} after leaving {S.drop}")


@step("keep-past through the view bob defined on the group: what he sees there, no more")
def _():
    future = [e.uid for e in (S.gev[S.keep]["alice"][1], S.gev[S.keep]["alice"][4], S.gev[S.keep]["bob"][1])]
    want = instances(find_view(BOB, S.keep))
    assert want, "bob's keep-past group calendar is empty"
    for user in (FRIEND, BOB):
        cal = find_view(user, bob_view_display(S.keep))
        got = instances(cal)
        assert got == want, f"{user[0]} through bob's view of {S.keep}: {got}, expected {want}"
        blob = "\n".join(text_of(o) for o in cal.objects_by_sync_token(load_objects=True))
        leaked = [u for u in future if u in blob]
        assert not leaked, f"{user[0]} gets {leaked} (not ended when bob left) through bob's view"
    # A view he makes after leaving is bound by the same policy.
    koyomi("vc", "add", BOB[0], f"late-{S.keep}", "--definition", json.dumps({"group": S.keep}),
           "--share", f"user:{FRIEND[0]}", "--display", f"Bob's late view of {S.keep}")
    got = instances(find_view(FRIEND, f"Bob's late view of {S.keep}"))
    assert got == want, f"friend1 through bob's view made after leaving: {got}, expected {want}"


@step("no keep-past: nothing of the group through the view bob defined on it; he cannot make another")
def _():
    uids = [e.uid for evs in S.gev[S.drop].values() for e in evs]
    for user in (FRIEND, BOB):
        listed = views_listed(user)
        paths = [p for p, name in listed.items() if name == bob_view_display(S.drop)]
        for p in paths:
            cal = caldav.Calendar(client=client(user), url=BASE + p)
            got = instances(cal)
            assert not got, f"{user[0]} still gets {sorted(got)} through bob's view of {S.drop}"
            blob = "\n".join(text_of(o) for o in cal.objects_by_sync_token(load_objects=True))
            r = http(user, "GET", BASE + p)
            blob += r.text
            leaked = [u for u in uids if u in blob]
            assert not leaked, f"{user[0]} gets {leaked} through bob's view of {S.drop}"
    r = koyomi("vc", "add", BOB[0], f"late-{S.drop}", "--definition", json.dumps({"group": S.drop}), check=False)
    assert r.returncode != 0, (
        f"bob, who left {S.drop} (no keep-past), could define a view on it: {r.stdout}{r.stderr}"
    )


@step("the others see bob's past contributions only under keep-past; his events stay his")
def _():
    for g, keeps in ((S.keep, True), (S.drop, False)):
        evs = S.gev[g]
        got = instances(find_view(ALICE, g))
        want = {e.uid: [ics_time(e.start)] for e in evs["alice"][:2] + evs["alice"][3:]}
        want[evs["alice"][2].uid] = weekly_starts(evs["alice"][2], 10)
        if keeps:
            want[evs["bob"][0].uid] = [ics_time(evs["bob"][0].start)]
        assert got == want, f"alice in {g} after bob left: {got}, expected {want}"
        # bob's own calendar is untouched.
        p = client(BOB).principal()
        mine = [c for c in p.calendars() if path_of(c.url).endswith(f"/{g}-bob/")]
        assert mine, f"bob's calendar {g}-bob is gone"
        uids = sorted(prop(c, "UID") for o in mine[0].events() for c in components(text_of(o), "VEVENT"))
        assert uids == sorted(e.uid for e in evs["bob"]), f"bob's own {g}-bob: {uids}"


# --------------------------------------------------------------------- main


def main():
    return SCENARIO.run(
        f"vc scenario against {SERVER}: {DAV_URL} (python-caldav {caldav_version()})",
        f"vc scenario: today is {TODAY} (UTC); audience week starts {MONDAY}",
    )


if __name__ == "__main__":
    sys.exit(main())
