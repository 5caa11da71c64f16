"""What the Python interop scenarios share: the environment run.sh sets, the
step runner and its report, raw HTTP with a transcript for failures,
multistatus parsing, iCalendar text helpers and the koyomi command line.

The scenarios import it from their own directory (Python puts a script's
directory first on sys.path), so it works however run.sh starts them.
"""

import os
import re
import subprocess
import time
import traceback
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import requests

ENV = os.environ
SERVER = ENV.get("INTEROP_SERVER", "koyomi")
BASE = ENV["DAV_BASE_URL"].rstrip("/")
DAV_URL = ENV["DAV_URL"]
USER, PASS = ENV["DAV_USER"], ENV["DAV_PASS"]
USER2, PASS2 = ENV["DAV_USER2"], ENV["DAV_PASS2"]
ALICE = (USER, PASS)
BOB = (USER2, PASS2)
KOYOMI = ENV.get("INTEROP_KOYOMI_BIN", "")
DATA = ENV.get("INTEROP_KOYOMI_DATA", "")
TIMEOUT = 20

UTC = timezone.utc
RUN = uuid.uuid4().hex[:8]  # keeps names unique if a data dir is reused
NOW = datetime.now(UTC)
TODAY = NOW.date()

XML_CONTENT_TYPE = "application/xml; charset=utf-8"

# How much of a response body a failure's transcript shows. A scenario may
# set its own (scenario_lib.SHOWN_BODY = n) before its steps run.
SHOWN_BODY = 1500


# -------------------------------------------------------------------- steps


class Scenario:
    """The steps of one scenario, run in order by run().

    A step passes, fails, or - only when the scenario takes expected
    failures and INTEROP_SERVER names a server listed in the step's xfail -
    is an expected failure (a feature that server is known not to
    implement). One step's failure does not stop the others."""

    def __init__(self, name, expected_failures=False):
        self.name = name
        self.expected_failures = expected_failures
        self.steps = []

    def step(self, name, xfail=()):
        assert self.expected_failures or not xfail, f"{self.name} scenario takes no expected failures"

        def deco(fn):
            self.steps.append((name, fn, set(xfail)))
            return fn

        return deco

    def run(self, *intro):
        """Prints intro, runs every step with its verdict and a summary;
        returns the exit status."""
        for line in intro:
            print(line)
        counts = {"PASS": 0, "FAIL": 0, "XFAIL": 0, "XPASS": 0}
        failures = []
        for i, (name, fn, xfail) in enumerate(self.steps, 1):
            expected = SERVER in xfail
            t0 = time.monotonic()
            try:
                fn()
            except Exception as e:  # one step's failure must not stop the others
                if isinstance(e, AssertionError):
                    msg = str(e) or traceback.format_exc(limit=2)
                else:
                    msg = f"{type(e).__name__}: {e}\n" + traceback.format_exc(limit=4)
                verdict = "XFAIL" if expected else "FAIL"
                counts[verdict] += 1
                print(f"[{verdict}] {i:2}. {name} ({time.monotonic() - t0:.1f}s)")
                print("        " + msg.strip().replace("\n", "\n        "))
                if not expected:
                    failures.append(name)
            else:
                verdict = "XPASS" if expected else "PASS"
                counts[verdict] += 1
                print(f"[{verdict}] {i:2}. {name} ({time.monotonic() - t0:.1f}s)")
        summary = f"{self.name} scenario: {counts['PASS']} passed, {counts['FAIL']} failed"
        if self.expected_failures:
            summary += f", {counts['XFAIL']} expected failures, {counts['XPASS']} unexpectedly passed"
        print(summary)
        for f in failures:
            print(f"{self.name} scenario: FAILED: {f}")
        return 1 if failures else 0


def caldav_version():
    try:
        from importlib.metadata import version

        return version("caldav")
    except Exception:  # the version is only informative
        return "unknown"


# --------------------------------------------------------------- raw HTTP


def send(method, url, auth=None, body=None, headers=None, redirects=True):
    if isinstance(body, str):
        body = body.encode()
    return requests.request(
        method,
        url,
        data=body,
        headers=headers or {},
        auth=auth,
        allow_redirects=redirects,
        timeout=TIMEOUT,
    )


def http(method, url, user=USER, password=PASS, body=None, headers=None, redirects=False):
    """One request as user (the first user unless named; None for none), a
    body taken for XML unless the headers say otherwise, redirects not
    followed."""
    h = dict(headers or {})
    if body is not None and "Content-Type" not in h:
        h["Content-Type"] = XML_CONTENT_TYPE
    return send(method, url, (user, password) if user else None, body, h, redirects)


def http_as(user, method, url, body=None, headers=None):
    """One raw request as user, a (name, password) pair, when the exact
    status and body matter (the library turns refusals into exceptions
    without them). A url that is a path is on the server's base URL."""
    if url.startswith("/"):
        url = BASE + url
    return send(method, url, user, body, headers)


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
        + f"\n  < {r.text[:SHOWN_BODY]}"
    )


def expect_status(r, allowed, what):
    assert r.status_code in allowed, f"{what}: expected HTTP {allowed}, got {r.status_code}{exchange(r)}"


def multistatus(r):
    expect_status(r, (207,), "multistatus")
    try:
        return ET.fromstring(r.content)
    except ET.ParseError as e:
        raise AssertionError(f"response is not XML: {e}{exchange(r)}")


def report(url, body, depth="1", user=USER, password=PASS):
    return http("REPORT", url, user=user, password=password, body=body, headers={"Depth": depth})


def path_of(url):
    return urlsplit(str(url)).path


def same_path(a, b):
    return path_of(a).rstrip("/") == path_of(b).rstrip("/")


SYNC_BODY = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<d:sync-collection xmlns:d="DAV:"><d:sync-token>{}</d:sync-token>'
    "<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"
)


def sync_collection(url, token):
    """A sync-collection from token as the first user: ({href path:
    "changed" or "deleted"}, the new token, the response)."""
    r = report(url, SYNC_BODY.format(token), depth="0")
    root = multistatus(r)
    out = {}
    for resp in root.findall("{DAV:}response"):
        href = path_of(resp.findtext("{DAV:}href") or "")
        status = " ".join(s.text or "" for s in resp.iter("{DAV:}status"))
        out[href] = "deleted" if "404" in status else "changed"
    return out, root.findtext("{DAV:}sync-token"), r


# ------------------------------------------------------------ python-caldav


def client(user):
    # Imported here: the CardDAV scenario speaks raw HTTP and needs no
    # python3-caldav.
    import caldav

    return caldav.DAVClient(DAV_URL, username=user[0], password=user[1], timeout=TIMEOUT)


def calendars_by_name(user):
    """Discovery as user: principal, home, calendars, keyed by display name."""
    p = client(user).principal()
    out = {}
    for c in p.calendars():
        out.setdefault(c.get_display_name(), []).append(c)
    return p, out


def text_of(obj):
    d = obj.data
    return d.decode() if isinstance(d, bytes) else str(d)


# ---------------------------------------------------------- iCalendar text


def vcal(*components, prodid):
    body = "\r\n".join(c.strip("\n").replace("\n", "\r\n") for c in components)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:{prodid}\r\n{body}\r\nEND:VCALENDAR\r\n"


def unfold(text):
    if isinstance(text, bytes):
        text = text.decode()
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


def events_in(texts):
    """uid -> list of VEVENT property lists, across many calendar texts."""
    out = {}
    for t in texts:
        for ev in components(t, "VEVENT"):
            out.setdefault(prop(ev, "UID"), []).append(ev)
    return out


def stamp(d, hh, mm=0):
    return datetime(d.year, d.month, d.day, hh, mm, tzinfo=UTC)


def ics_time(t):
    return t.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


# Next week, Monday to Sunday, far enough from today that "now" plays no part.
MONDAY = TODAY + timedelta(days=7 - TODAY.weekday() + 7)
WEEK_START = stamp(MONDAY, 0)
WEEK_END = WEEK_START + timedelta(days=7)


def day(n):
    return MONDAY + timedelta(days=n)


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


def help_text():
    r = subprocess.run([KOYOMI, "help"], capture_output=True, text=True, timeout=TIMEOUT)
    return r.stdout + r.stderr


def expect_commands(*commands):
    """The koyomi binary and data directory are given, and `koyomi help`
    names each command."""
    assert KOYOMI and DATA, "INTEROP_KOYOMI_BIN and INTEROP_KOYOMI_DATA must be set (run.sh does)"
    h = help_text()
    for cmd in commands:
        assert cmd in h, f"`koyomi help` lacks {cmd!r}:\n{h}"
