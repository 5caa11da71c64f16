#!/usr/bin/python3
"""Virtual calendar scenario, driven by Debian's python3-caldav.

Koyomi only (run.sh skips it for Radicale, which has no virtual calendars).
Setup - users, groups, memberships, virtual calendar definitions - goes
through the koyomi command line on the server's own data directory: the
server is told nothing, the store is shared. Every CalDAV request is made by
python-caldav, as each viewer: discover the principal, list the calendars,
find the view by its display name, then search (with and without expand),
fetch and sync.

Three parts, after PRODUCT.md section 2:
  1. one person, three audiences (family, colleagues, friends), and one rule
     edit that invalidates the family's sync token;
  2. a group calendar three members contribute to, written through;
  3. a member leaving a group under each policy (keep the past or not).

Events are placed relative to the server's clock (the same machine's):
next week for the audiences, a month ago and next month for the groups.

Environment (set by run.sh): DAV_BASE_URL DAV_URL DAV_USER DAV_PASS
DAV_USER2 DAV_PASS2 INTEROP_KOYOMI_BIN INTEROP_KOYOMI_DATA INTEROP_SERVER.
"""

import json
import os
import re
import subprocess
import sys
import time
import traceback
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import caldav
from caldav.lib import error as caldav_error

ENV = os.environ
SERVER = ENV.get("INTEROP_SERVER", "koyomi")
DAV_URL = ENV["DAV_URL"]
ALICE = (ENV["DAV_USER"], ENV["DAV_PASS"])
BOB = (ENV["DAV_USER2"], ENV["DAV_PASS2"])
KOYOMI = ENV.get("INTEROP_KOYOMI_BIN", "")
DATA = ENV.get("INTEROP_KOYOMI_DATA", "")
TIMEOUT = 20

UTC = timezone.utc
RUN = uuid.uuid4().hex[:8]  # keeps names unique if a data dir is reused
NOW = datetime.now(UTC)
TODAY = NOW.date()

FAMILY = ("family1", "family1-secret")
COLLEAGUE = ("colleague1", "colleague1-secret")
FRIEND = ("friend1", "friend1-secret")

# ------------------------------------------------------------ command line


def koyomi(*args, stdin=None, check=True):
    """Runs the koyomi binary on the server's data directory."""
    cmd = [KOYOMI, *args, "--data", DATA]
    r = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=TIMEOUT)
    if check and r.returncode != 0:
        raise AssertionError(
            f"$ {' '.join(cmd)}\n  exit {r.returncode}\n  stdout: {r.stdout.strip()}\n"
            f"  stderr: {r.stderr.strip()}"
        )
    return r


def add_user(user, password):
    r = koyomi("user", "add", user, stdin=password + "\n", check=False)
    assert r.returncode == 0 or "already exists" in r.stderr, f"user add {user}: {r.stderr}"


def help_text():
    r = subprocess.run([KOYOMI, "help"], capture_output=True, text=True, timeout=TIMEOUT)
    return r.stdout + r.stderr


# ------------------------------------------------------------ iCalendar data


def stamp(d, hh, mm=0):
    return datetime(d.year, d.month, d.day, hh, mm, tzinfo=UTC)


def ics_time(t):
    return t.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def vcal(*components):
    body = "\r\n".join(c.strip("\n").replace("\n", "\r\n") for c in components)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Koyomi interop//vc scenario//EN\r\n"
        f"{body}\r\nEND:VCALENDAR\r\n"
    )


class Ev:
    """An event planted in a calendar, with secrets for every field that a
    level below full must strip."""

    def __init__(self, key, start, end, rrule=None, private=False):
        self.key, self.start, self.end, self.rrule, self.private = key, start, end, rrule, private
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


def unfold(text):
    return re.sub(r"\r?\n[ \t]", "", text).replace("\r\n", "\n")


def components(text, name):
    """The property lines of each component called name (sub-components'
    lines are included in their parent's list)."""
    out, stack = [], []
    for line in unfold(text).split("\n"):
        if line == f"BEGIN:{name}":
            stack.append([])
        elif line == f"END:{name}" and stack:
            out.append(stack.pop())
        elif stack:
            stack[-1].append(line)
    return out


def props(lines, name):
    out = []
    for line in lines:
        key = line.split(":", 1)[0].split(";", 1)[0]
        if key.upper() == name and ":" in line:
            out.append(line.split(":", 1)[1])
    return out


def prop(lines, name):
    p = props(lines, name)
    return p[0] if p else None


def path_of(url):
    return urlsplit(str(url)).path


def text_of(obj):
    d = obj.data
    return d.decode() if isinstance(d, bytes) else str(d)


def client(user):
    return caldav.DAVClient(DAV_URL, username=user[0], password=user[1], timeout=TIMEOUT)


def calendars_by_name(user):
    """Discovery as user: principal, home, calendars, keyed by display name."""
    p = client(user).principal()
    out = {}
    for c in p.calendars():
        out.setdefault(c.get_display_name(), []).append(c)
    return p, out


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


def events_in(texts):
    """uid -> list of VEVENT property lists, across many calendar texts."""
    out = {}
    for t in texts:
        for ev in components(t, "VEVENT"):
            out.setdefault(prop(ev, "UID"), []).append(ev)
    return out


SYNC_BODY = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<d:sync-collection xmlns:d="DAV:"><d:sync-token>{}</d:sync-token>'
    "<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"
)


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


def exchange(r):
    """A short transcript of a response and its request for failure messages."""
    req = r.request
    body = req.body.decode(errors="replace") if isinstance(req.body, bytes) else (req.body or "")
    return (
        f"\n  > {req.method} {req.url}\n  > "
        + "\n  > ".join(f"{k}: {v}" for k, v in req.headers.items() if k.lower() != "authorization")
        + (f"\n  > {body[:1500]}" if body else "")
        + f"\n  < {r.status_code} {r.reason}\n  < "
        + "\n  < ".join(f"{k}: {v}" for k, v in r.headers.items())
        + f"\n  < {r.text[:1500]}"
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


# -------------------------------------------------------------------- steps

STEPS = []


def step(name):
    def deco(fn):
        STEPS.append((name, fn))
        return fn

    return deco


class State:
    pass


S = State()


@step("the command line has the group and vc commands")
def _():
    assert KOYOMI and DATA, "INTEROP_KOYOMI_BIN and INTEROP_KOYOMI_DATA must be set (run.sh does)"
    h = help_text()
    for cmd in ("group add", "group member add", "group member del", "vc add", "vc set"):
        assert cmd in h, f"`koyomi help` lacks {cmd!r}:\n{h}"


@step("users family1, colleague1, friend1 are created with the CLI and can log in")
def _():
    for u in (FAMILY, COLLEAGUE, FRIEND):
        add_user(*u)
    for u in (ALICE, BOB, FAMILY, COLLEAGUE, FRIEND):
        # The first authenticated request provisions the default calendar.
        _, cals = calendars_by_name(u)
        assert cals, f"{u[0]} has no calendar after discovery"


# ------------------------------------------------- part 1: three audiences

# Next week, Monday to Sunday, far enough from today that "now" plays no part.
MONDAY = TODAY + timedelta(days=7 - TODAY.weekday() + 7)
WEEK_START = stamp(MONDAY, 0)
WEEK_END = WEEK_START + timedelta(days=7)


def day(n):
    return MONDAY + timedelta(days=n)


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


def audience_defs(family_evening_from="17:00"):
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
                "rules": [{"level": "hidden", "weekdays": WEEKDAYS, "from": "00:00", "to": "17:00"}],
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


@step("one rule edit: family's evening starts at 18:00; the old token is refused, a resync shows it")
def _():
    family_token = S.family_sync.sync_token
    colleague_token = S.colleague_sync.sync_token
    update_vc(
        ALICE[0],
        S.view_names["family"],
        audience_defs(family_evening_from="18:00")["family"],
    )
    cal = find_view(FAMILY, view_displayname("family"))
    r = raw_sync(cal, family_token)
    assert r.status_code == 403 and "valid-sync-token" in r.text, (
        "a sync token from before the edit must get 403 DAV:valid-sync-token" + exchange(r)
    )
    refused, full = sync_with_fallback(cal, family_token)
    assert refused, "python-caldav's incremental sync with the stale token was accepted"
    after = dict(EXPECTED["family"], **{"early-wed": "summary"})
    check_audience("family", [text_of(o) for o in full], "resync after the edit", after)
    audience_reads("family", after, " after the edit")
    # Friends' and colleagues' views did not change: their tokens still work
    # and report nothing new.
    cal = find_view(COLLEAGUE, view_displayname("colleagues"))
    refused, changes = sync_with_fallback(cal, colleague_token)
    assert not refused, "the colleagues' token was refused though their view did not change"
    assert not list(changes), f"colleagues' sync reports changes: {[str(o.url) for o in changes]}"


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


# ------------------------------------------------ part 3: leaving a group


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
            got = instances(cal)
            evs = S.gev[g]
            want = {e.uid: [ics_time(e.start)] for e in evs["alice"][:2] + evs["alice"][3:] + evs["bob"]}
            want[evs["alice"][2].uid] = weekly_starts(evs["alice"][2], 10)
            assert got == want, f"{user} in {g} before leaving: {got}, expected {want}"


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


def caldav_version():
    try:
        from importlib.metadata import version

        return version("caldav")
    except Exception:  # the version is only informative
        return "unknown"


def main():
    print(f"vc scenario against {SERVER}: {DAV_URL} (python-caldav {caldav_version()})")
    print(f"vc scenario: today is {TODAY} (UTC); audience week starts {MONDAY}")
    counts = {"PASS": 0, "FAIL": 0}
    failures = []
    for i, (name, fn) in enumerate(STEPS, 1):
        t0 = time.monotonic()
        try:
            fn()
        except Exception as e:  # one step's failure must not stop the others
            if isinstance(e, AssertionError):
                msg = str(e) or traceback.format_exc(limit=2)
            else:
                msg = f"{type(e).__name__}: {e}\n" + traceback.format_exc(limit=4)
            counts["FAIL"] += 1
            failures.append(name)
            print(f"[FAIL] {i:2}. {name} ({time.monotonic() - t0:.1f}s)")
            print("        " + msg.strip().replace("\n", "\n        "))
        else:
            counts["PASS"] += 1
            print(f"[PASS] {i:2}. {name} ({time.monotonic() - t0:.1f}s)")
    print(f"vc scenario: {counts['PASS']} passed, {counts['FAIL']} failed")
    for f in failures:
        print(f"vc scenario: FAILED: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
