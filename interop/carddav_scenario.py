#!/usr/bin/python3
"""CardDAV interoperability scenario, spoken as raw HTTP with python3-requests.

No CardDAV client library ships in Debian, so each request is written out the
way address book clients (Apple Contacts, DAVx5, Thunderbird) send it. Each
step is named and printed with its verdict: it passes, fails, or - only when
INTEROP_SERVER names a server listed in the step's `xfail` - is an expected
failure (a feature that server is known not to implement). Steps share state
in order, so one failure can make later steps fail too; the first failure's
message is the one to read. A failure prints the HTTP exchange.

Environment (set by run.sh): DAV_BASE_URL DAV_URL DAV_PRINCIPAL_URL
DAV_AB_HOME_URL DAV_AB_HOME2_URL DAV_AB_DEFAULT DAV_USER DAV_PASS DAV_USER2
DAV_PASS2 INTEROP_SERVER.
"""

import base64
import re
import struct
import sys
import uuid
import xml.etree.ElementTree as ET
import zlib
from urllib.parse import urljoin

import requests

from scenario_lib import (BASE, DAV_URL, ENV, PASS, PASS2, RUN, SERVER, USER, USER2, Scenario, exchange,
                          expect_status, http, multistatus, path_of, report, same_path, sync_collection,
                          unfold)

PRINCIPAL_URL = ENV["DAV_PRINCIPAL_URL"]
AB_HOME_URL = ENV["DAV_AB_HOME_URL"]
AB_HOME2_URL = ENV["DAV_AB_HOME2_URL"]
DEFAULT_BOOK = ENV.get("DAV_AB_DEFAULT", "contacts")

D, CR, CS = "DAV:", "urn:ietf:params:xml:ns:carddav", "http://calendarserver.org/ns/"
NS = {"d": D, "cr": CR, "cs": CS}
XMLNS = f'xmlns:d="{D}" xmlns:cr="{CR}" xmlns:cs="{CS}"'
VCARD_CT = {"Content-Type": "text/vcard; charset=utf-8"}


# ----------------------------------------------------------------- vCard data


def fold(line):
    """Folds one content line at 75 octets without splitting a UTF-8 sequence."""
    out, cur, limit = [], b"", 75
    for ch in line:
        b = ch.encode()
        if len(cur) + len(b) > limit:
            out.append(cur)
            cur, limit = b" ", 75
        cur += b
    out.append(cur)
    return b"\r\n".join(out).decode()


def vcard(version, uid, fn, *lines):
    body = ["BEGIN:VCARD", f"VERSION:{version}", f"UID:{uid}", f"FN:{fn}", *lines, "END:VCARD"]
    return "".join(fold(x) + "\r\n" for x in body).encode()


def tiny_png():
    """A valid 2x2 RGB PNG, built here so the scenario ships no binary."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes([200, 30, 40]) * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


# JPEG markers around enough bytes that the base64 spans many folded lines.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 3 + b"\xff\xd9"
PNG = tiny_png()
# No "," or ";" (they would need escaping in a TEXT value, and a server that
# re-serialises may escape them differently); long enough to fold many times.
LONG_NOTE = (
    "Met at the Koyomi meetup in Zürich — prefers e-mail over phone calls "
    "and speaks Deutsch and Français and 日本語 and asked for a copy of the slides "
    "— this note is long enough to be folded several times over."
)


def uid_for(key):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"koyomi-interop-{RUN}-{key}"))


CARDS = {
    # vCard 3.0, non-ASCII name, a long note folded mid-character-run.
    "anna": lambda: vcard(
        "3.0",
        uid_for("anna"),
        "Anna Müller",
        "N:Müller;Anna;;;",
        "EMAIL;TYPE=INTERNET,WORK:anna.mueller@example.com",
        "TEL;TYPE=CELL:+49 170 1234567",
        "ORG:Koyomi Gesellschaft für Kalender",
        f"NOTE:{LONG_NOTE}",
    ),
    # vCard 4.0, non-ASCII (Latin and CJK), multi-valued TYPE.
    "zoe": lambda: vcard(
        "4.0",
        uid_for("zoe"),
        "Zoë Çelik 山田",
        "N:Çelik;Zoë;;;",
        "EMAIL;TYPE=home:zoe@example.org",
        'TEL;VALUE=uri;TYPE="home,voice":tel:+1-555-0100',
        f"NOTE:{LONG_NOTE} — 四",
    ),
    # vCard 3.0 with an inline base64 JPEG; no EMAIL.
    "peter": lambda: vcard(
        "3.0",
        uid_for("peter"),
        "Peter Photo",
        "N:Photo;Peter;;;",
        "TEL;TYPE=WORK:+44 20 7946 0000",
        "PHOTO;ENCODING=b;TYPE=JPEG:" + base64.b64encode(JPEG).decode(),
    ),
    # vCard 4.0 with a data: URI PNG.
    "paula": lambda: vcard(
        "4.0",
        uid_for("paula"),
        "Paula Png",
        "N:Png;Paula;;;",
        "EMAIL:paula@example.org",
        "PHOTO:data:image/png;base64," + base64.b64encode(PNG).decode(),
    ),
    # vCard 4.0 group.
    "team4": lambda: vcard(
        "4.0",
        uid_for("team4"),
        "Team Four",
        "KIND:group",
        f"MEMBER:urn:uuid:{uid_for('anna')}",
        f"MEMBER:urn:uuid:{uid_for('zoe')}",
    ),
    # Apple's vCard 3.0 group.
    "team3": lambda: vcard(
        "3.0",
        uid_for("team3"),
        "Team Three",
        "N:Team Three;;;;",
        "X-ADDRESSBOOKSERVER-KIND:group",
        f"X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:{uid_for('peter')}",
        f"X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:{uid_for('paula')}",
    ),
}


# ------------------------------------------------------------------ helpers


def props(text, name):
    """Returns (params, value) of every property NAME of a vCard text."""
    out = []
    for line in unfold(text).split("\n"):
        if ":" not in line:
            continue
        head, value = line.split(":", 1)
        # A quoted parameter value may hold ":"; re-split past the quotes.
        if head.count('"') % 2:
            m = re.match(r'^((?:[^":]|"[^"]*")*):(.*)$', line)
            head, value = m.group(1), m.group(2)
        key = head.split(";", 1)[0]
        if "." in key:  # group prefix, e.g. item1.EMAIL
            key = key.split(".", 1)[1]
        if key.upper() == name:
            out.append((head.split(";")[1:], value))
    return out


def value(text, name):
    p = props(text, name)
    return p[0][1] if p else None


def propfind(url, prop_xml, depth="0", user=USER, password=PASS):
    body = f'<?xml version="1.0" encoding="utf-8"?><d:propfind {XMLNS}><d:prop>{prop_xml}</d:prop></d:propfind>'
    return http("PROPFIND", url, user=user, password=password, body=body, headers={"Depth": depth})


def responses(root):
    """Maps each DAV:response's href path to (status text, element)."""
    out = {}
    for resp in root.findall("d:response", NS):
        href = path_of(resp.findtext("d:href", namespaces=NS) or "")
        status = " ".join(s.text or "" for s in resp.iter(f"{{{D}}}status"))
        out[href] = (status, resp)
    return out


def found_prop(resp, tag):
    """The element for a property reported with 200 in a DAV:response, or None."""
    for ps in resp.findall("d:propstat", NS):
        if "200" in (ps.findtext("d:status", namespaces=NS) or ""):
            el = ps.find(f"d:prop/{tag}", NS)
            if el is not None:
                return el
    return None


def query(filter_xml, test=None, limit=None, data="<cr:address-data/>", url=None):
    """Runs an addressbook-query on the work address book.

    Returns ({key or href: address-data text}, {href: status}, response)."""
    t = f' test="{test}"' if test else ""
    lim = f"<cr:limit><cr:nresults>{limit}</cr:nresults></cr:limit>" if limit else ""
    body = (
        f'<?xml version="1.0" encoding="utf-8"?><cr:addressbook-query {XMLNS}>'
        f"<d:prop><d:getetag/>{data}</d:prop><cr:filter{t}>{filter_xml}</cr:filter>{lim}"
        "</cr:addressbook-query>"
    )
    r = report(url or S.book, body)
    root = multistatus(r)
    found, statuses = {}, {}
    for href, (status, resp) in responses(root).items():
        statuses[href] = status
        ad = found_prop(resp, "cr:address-data")
        if ad is not None:
            found[S.key_of.get(href, href)] = ad.text or ""
    return found, statuses, r


def text_match(text, match="contains", negate=False, collation=None):
    a = f' match-type="{match}"'
    if negate:
        a += ' negate-condition="yes"'
    if collation:
        a += f' collation="{collation}"'
    return f"<cr:text-match{a}>{text}</cr:text-match>"


def prop_filter(name, *children, test=None):
    t = f' test="{test}"' if test else ""
    return f'<cr:prop-filter name="{name}"{t}>{"".join(children)}</cr:prop-filter>'


def expect_keys(found, want, what, r):
    got = sorted(found)
    assert got == sorted(want), f"{what}: matched {got}, expected {sorted(want)}{exchange(r)}"


def card_url(key, book=None):
    return f"{book or S.book}{key}-{RUN}.vcf"


def decode_data_uri(v):
    m = re.fullmatch(r"data:([^;,]*)(;base64)?,(.*)", v, re.S)
    assert m and m.group(2), f"not a base64 data: URI: {v[:80]}..."
    return m.group(1), base64.b64decode(m.group(3))


# -------------------------------------------------------------------- steps

SCENARIO = Scenario("carddav", expected_failures=True)
step = SCENARIO.step


class State:
    key_of = {}  # href path -> card key


S = State()


@step("OPTIONS on the address book home advertises addressbook")
def _():
    # The first authenticated request also makes Koyomi's default address book.
    r = http("OPTIONS", AB_HOME_URL)
    expect_status(r, (200, 204), "OPTIONS on the address book home")
    classes = [c.strip() for c in r.headers.get("DAV", "").split(",")]
    assert "1" in classes and "addressbook" in classes, f"DAV header: {classes}{exchange(r)}"


@step("/.well-known/carddav redirects to the DAV root")
def _():
    r = http("GET", BASE + "/.well-known/carddav", user=None)
    expect_status(r, (301, 302, 303, 307, 308), "GET /.well-known/carddav")
    loc = urljoin(BASE + "/.well-known/carddav", r.headers.get("Location", ""))
    assert same_path(loc, DAV_URL), f"redirect goes to {loc}, expected {DAV_URL}{exchange(r)}"
    r = http("PROPFIND", BASE + "/.well-known/carddav", headers={"Depth": "0"})
    expect_status(r, (301, 302, 303, 307, 308), "PROPFIND /.well-known/carddav")


@step("discovery: well-known -> current-user-principal -> addressbook-home-set -> address books")
def _():
    r = propfind(BASE + "/.well-known/carddav", "<d:current-user-principal/>")
    url = BASE + "/.well-known/carddav"
    for _ in range(5):  # follow redirects by hand, as clients re-send PROPFIND
        if r.status_code not in (301, 302, 303, 307, 308):
            break
        url = urljoin(url, r.headers["Location"])
        r = propfind(url, "<d:current-user-principal/>")
    root = multistatus(r)
    el = root.find(".//d:current-user-principal/d:href", NS)
    assert el is not None, f"no current-user-principal{exchange(r)}"
    principal = urljoin(url, el.text.strip())
    assert same_path(principal, PRINCIPAL_URL), f"principal {principal}, expected {PRINCIPAL_URL}"

    r = propfind(principal, "<cr:addressbook-home-set/><d:displayname/>")
    el = multistatus(r).find(".//cr:addressbook-home-set/d:href", NS)
    assert el is not None, f"no addressbook-home-set{exchange(r)}"
    home = urljoin(principal, el.text.strip())
    assert same_path(home, AB_HOME_URL), f"addressbook-home-set {home}, expected {AB_HOME_URL}"

    r = propfind(home, "<d:resourcetype/><d:displayname/><cr:supported-address-data/><d:sync-token/>", depth="1")
    books = []
    for resp in multistatus(r).findall("d:response", NS):
        rt = found_prop(resp, "d:resourcetype")
        if rt is not None and rt.find("cr:addressbook", NS) is not None:
            books.append(urljoin(home, resp.findtext("d:href", namespaces=NS)))
    want = home.rstrip("/") + f"/{DEFAULT_BOOK}/"
    assert books, f"no address book in the home{exchange(r)}"
    assert same_path(books[0], want), f"address books {books}, expected the default {want} first"
    S.home, S.default = home, want


@step("extended MKCOL creates an address book with a name and description")
def _():
    S.book = S.home.rstrip("/") + f"/work-{RUN}/"
    body = f"""<?xml version="1.0" encoding="utf-8"?>
<d:mkcol {XMLNS}><d:set><d:prop>
  <d:resourcetype><d:collection/><cr:addressbook/></d:resourcetype>
  <d:displayname>Work {RUN} — Büro</d:displayname>
  <cr:addressbook-description>Colleagues and partners</cr:addressbook-description>
</d:prop></d:set></d:mkcol>"""
    r = http("MKCOL", S.book, body=body)
    expect_status(r, (201,), "extended MKCOL")
    r = propfind(S.book, "<d:resourcetype/><d:displayname/><cr:addressbook-description/>")
    resp = multistatus(r).find("d:response", NS)
    rt = found_prop(resp, "d:resourcetype")
    assert rt is not None and rt.find("cr:addressbook", NS) is not None, f"not an address book{exchange(r)}"
    dn = found_prop(resp, "d:displayname")
    assert dn is not None and dn.text == f"Work {RUN} — Büro", f"displayname{exchange(r)}"
    desc = found_prop(resp, "cr:addressbook-description")
    assert desc is not None and desc.text == "Colleagues and partners", f"description{exchange(r)}"
    r = propfind(S.home, "<d:resourcetype/>", depth="1")
    assert any(same_path(h, S.book) for h in responses(multistatus(r))), f"new book not listed{exchange(r)}"


@step("PUT vCard 3.0 and 4.0 contacts (non-ASCII, folded lines, photos, groups)")
def _():
    S.etag = {}
    for key, make in CARDS.items():
        url = card_url(key)
        r = http("PUT", url, body=make(), headers={**VCARD_CT, "If-None-Match": "*"})
        expect_status(r, (201, 204), f"PUT {key}")
        S.key_of[path_of(url)] = key
        S.etag[key] = r.headers.get("ETag")
    # One contact in the default address book too.
    url = card_url("default", S.default)
    r = http("PUT", url, body=vcard("4.0", uid_for("default"), "Default Person"), headers=VCARD_CT)
    expect_status(r, (201, 204), "PUT into the default address book")


@step("GET returns every contact byte for byte", xfail={"radicale"})
def _():
    for key, make in CARDS.items():
        r = http("GET", card_url(key))
        expect_status(r, (200,), f"GET {key}")
        assert r.content == make(), f"{key}: stored bytes differ{exchange(r)}"
        ct = r.headers.get("Content-Type", "")
        assert ct.startswith("text/vcard"), f"{key}: Content-Type {ct}"
        if S.etag.get(key):
            assert r.headers.get("ETag") == S.etag[key], f"{key}: ETag {r.headers.get('ETag')} != PUT's {S.etag[key]}"


@step("GET returns every contact with its content")
def _():
    for key, make in CARDS.items():
        r = http("GET", card_url(key))
        expect_status(r, (200,), f"GET {key}")
        want = make()
        for name in ("UID", "FN", "NOTE", "EMAIL", "MEMBER", "X-ADDRESSBOOKSERVER-MEMBER"):
            assert [v for _, v in props(r.content, name)] == [v for _, v in props(want, name)], (
                f"{key}: {name} differs{exchange(r)}"
            )
    r = http("GET", card_url("peter"))
    (_, v), = props(r.content, "PHOTO")
    assert base64.b64decode(v) == JPEG, "3.0 photo bytes differ"


# Radicale's vobject treats a 4.0 PHOTO as TEXT: it escapes the ";" of the
# data: URI and drops everything after its ",".
@step("a 4.0 data: URI photo keeps its bytes", xfail={"radicale"})
def _():
    r = http("GET", card_url("paula"))
    photos = props(r.content, "PHOTO")
    assert len(photos) == 1, f"PHOTO lines: {photos}{exchange(r)}"
    assert decode_data_uri(photos[0][1]) == ("image/png", PNG), f"4.0 photo differs{exchange(r)}"


@step("GET with Accept version=4.0 converts a 3.0 contact and its photo", xfail={"radicale"})
def _():
    for key in ("peter", "anna"):
        r = http("GET", card_url(key), headers={"Accept": "text/vcard; version=4.0"})
        expect_status(r, (200,), f"GET {key} as 4.0")
        assert value(r.content, "VERSION") == "4.0", f"{key}: not converted to 4.0{exchange(r)}"
        assert value(r.content, "UID") == uid_for(key), f"{key}: UID lost{exchange(r)}"
        assert value(r.content, "FN") == value(CARDS[key](), "FN"), f"{key}: FN changed{exchange(r)}"
        assert "version=4.0" in r.headers.get("Content-Type", "").replace(" ", ""), (
            f"{key}: Content-Type {r.headers.get('Content-Type')}"
        )
    r = http("GET", card_url("peter"), headers={"Accept": "text/vcard; version=4.0"})
    photos = props(r.content, "PHOTO")
    assert len(photos) == 1, f"PHOTO lines: {photos}{exchange(r)}"
    mt, data = decode_data_uri(photos[0][1])
    assert mt == "image/jpeg", f"media type {mt}"
    assert data == JPEG, "converted photo decodes to different bytes"


@step("GET with Accept version=3.0 converts a 4.0 contact and its photo", xfail={"radicale"})
def _():
    for key in ("paula", "zoe"):
        r = http("GET", card_url(key), headers={"Accept": "text/vcard; version=3.0"})
        expect_status(r, (200,), f"GET {key} as 3.0")
        assert value(r.content, "VERSION") == "3.0", f"{key}: not converted to 3.0{exchange(r)}"
        assert value(r.content, "FN") == value(CARDS[key](), "FN"), f"{key}: FN changed{exchange(r)}"
    r = http("GET", card_url("paula"), headers={"Accept": "text/vcard; version=3.0"})
    photos = props(r.content, "PHOTO")
    assert len(photos) == 1, f"PHOTO lines: {photos}{exchange(r)}"
    params, v = photos[0]
    up = [p.upper() for p in params]
    assert "ENCODING=B" in up, f"3.0 photo params {params}{exchange(r)}"
    assert any(p in ("TYPE=PNG", "TYPE=IMAGE/PNG") for p in up), f"3.0 photo params {params}"
    assert base64.b64decode(v) == PNG, "converted photo decodes to different bytes"
    # And the stored original is untouched.
    r = http("GET", card_url("paula"))
    assert value(r.content, "VERSION") == "4.0", "a converting GET changed the stored contact"


@step("groups: 4.0 KIND:group and Apple X-ADDRESSBOOKSERVER-KIND are stored and queryable")
def _():
    found, _, r = query(prop_filter("KIND", text_match("group", "equals")))
    expect_keys(found, ["team4"], "KIND equals group", r)
    members = sorted(v for _, v in props(found["team4"], "MEMBER"))
    assert members == sorted(f"urn:uuid:{uid_for(k)}" for k in ("anna", "zoe")), members
    found, _, r = query(prop_filter("X-ADDRESSBOOKSERVER-KIND", text_match("group", "equals")))
    expect_keys(found, ["team3"], "X-ADDRESSBOOKSERVER-KIND equals group", r)
    members = sorted(v for _, v in props(found["team3"], "X-ADDRESSBOOKSERVER-MEMBER"))
    assert members == sorted(f"urn:uuid:{uid_for(k)}" for k in ("peter", "paula")), members
    found, _, r = query(prop_filter("MEMBER", text_match(uid_for("zoe"), "ends-with")))
    expect_keys(found, ["team4"], "MEMBER ends-with zoe's UID", r)


@step("addressbook-query: text-match contains/equals/starts-with/ends-with on FN and EMAIL")
def _():
    cases = [
        (prop_filter("FN", text_match("müll")), ["anna"]),
        (prop_filter("FN", text_match("MÜLLER")), ["anna"]),
        (prop_filter("FN", text_match("Anna Müller", "equals")), ["anna"]),
        (prop_filter("FN", text_match("Anna", "equals")), []),
        (prop_filter("FN", text_match("Pa", "starts-with")), ["paula"]),
        (prop_filter("FN", text_match("photo", "ends-with")), ["peter"]),
        (prop_filter("FN", text_match("山田")), ["zoe"]),
        (prop_filter("EMAIL", text_match("@example.org", "ends-with")), ["zoe", "paula"]),
        (prop_filter("EMAIL", text_match("anna.mueller@example.com", "equals")), ["anna"]),
        (prop_filter("EMAIL", text_match("zoe@", "starts-with")), ["zoe"]),
        (prop_filter("EMAIL", text_match("example")), ["anna", "zoe", "paula"]),
        (prop_filter("FN", text_match("ANNA", collation="i;ascii-casemap")), ["anna"]),
    ]
    for f, want in cases:
        found, _, r = query(f)
        expect_keys(found, want, f, r)


@step("addressbook-query: negate-condition")
def _():
    found, _, r = query(prop_filter("FN", text_match("photo", negate=True)))
    expect_keys(found, ["anna", "zoe", "paula", "team4", "team3"], "FN not containing photo", r)
    found, _, r = query(prop_filter("EMAIL", text_match("example.org", negate=True)))
    expect_keys(found, ["anna"], "EMAIL not containing example.org", r)


@step("addressbook-query: param-filter on TEL TYPE")
def _():
    f = prop_filter("TEL", '<cr:param-filter name="TYPE">' + text_match("cell", "equals") + "</cr:param-filter>")
    found, _, r = query(f)
    expect_keys(found, ["anna"], "TEL TYPE equals cell", r)
    f = prop_filter("TEL", '<cr:param-filter name="TYPE">' + text_match("home") + "</cr:param-filter>")
    found, _, r = query(f)
    expect_keys(found, ["zoe"], "TEL TYPE contains home", r)
    f = prop_filter("EMAIL", '<cr:param-filter name="TYPE"><cr:is-not-defined/></cr:param-filter>')
    found, _, r = query(f)
    expect_keys(found, ["paula"], "EMAIL without a TYPE", r)


@step("addressbook-query: is-not-defined")
def _():
    found, _, r = query(prop_filter("EMAIL", "<cr:is-not-defined/>"))
    expect_keys(found, ["peter", "team4", "team3"], "no EMAIL", r)
    found, _, r = query(prop_filter("PHOTO", "<cr:is-not-defined/>"))
    expect_keys(found, ["anna", "zoe", "team4", "team3"], "no PHOTO", r)


@step("addressbook-query: filter test=anyof vs allof")
def _():
    two = prop_filter("FN", text_match("anna")) + prop_filter("FN", text_match("zoë"))
    found, _, r = query(two, test="anyof")
    expect_keys(found, ["anna", "zoe"], "anyof FN anna / FN zoë", r)
    found, _, r = query(two, test="allof")
    expect_keys(found, [], "allof FN anna / FN zoë", r)
    found, _, r = query(two)
    expect_keys(found, ["anna", "zoe"], "default test (anyof)", r)
    both = prop_filter("FN", text_match("a")) + prop_filter("EMAIL", text_match("example.org"))
    found, _, r = query(both, test="allof")
    expect_keys(found, ["paula"], "allof FN a / EMAIL example.org", r)


@step("addressbook-query: prop-filter test=anyof vs allof over several text-matches", xfail={"radicale"})
def _():
    f = prop_filter("FN", text_match("anna"), text_match("paula"), test="anyof")
    found, _, r = query(f)
    expect_keys(found, ["anna", "paula"], "prop-filter anyof", r)
    f = prop_filter("FN", text_match("anna"), text_match("müller"), test="allof")
    found, _, r = query(f)
    expect_keys(found, ["anna"], "prop-filter allof", r)
    f = prop_filter("FN", text_match("anna"), text_match("paula"), test="allof")
    found, _, r = query(f)
    expect_keys(found, [], "prop-filter allof, disjoint", r)


@step("addressbook-query: CR:limit/nresults truncates with a 507 response", xfail={"radicale"})
def _():
    f = prop_filter("UID")
    found, statuses, r = query(f, limit=2)
    assert len(found) == 2, f"limit 2 returned {sorted(found)}{exchange(r)}"
    trunc = [h for h, s in statuses.items() if "507" in s]
    assert trunc and all(same_path(h, S.book) for h in trunc), f"no 507 response for the collection{exchange(r)}"
    found, statuses, r = query(f, limit=50)
    assert len(found) == len(CARDS) and not any("507" in s for s in statuses.values()), (
        f"limit 50 returned {sorted(found)}{exchange(r)}"
    )


@step("addressbook-query: partial address-data returns only FN and EMAIL", xfail={"radicale"})
def _():
    data = '<cr:address-data><cr:prop name="FN"/><cr:prop name="EMAIL"/></cr:address-data>'
    found, _, r = query(prop_filter("FN", text_match("anna")), data=data)
    expect_keys(found, ["anna"], "FN anna", r)
    card = found["anna"]
    names = {line.split(":", 1)[0].split(";", 1)[0].upper() for line in unfold(card).split("\n") if line}
    assert names >= {"BEGIN", "END", "VERSION", "FN", "EMAIL"}, f"partial card: {card}"
    extra = names - {"BEGIN", "END", "VERSION", "FN", "EMAIL", "UID"}
    assert not extra, f"partial card has {sorted(extra)}:\n{card}"


@step("addressbook-query: address-data version=4.0 converts in a REPORT", xfail={"radicale"})
def _():
    data = '<cr:address-data content-type="text/vcard" version="4.0"/>'
    found, _, r = query(prop_filter("FN", text_match("Peter Photo", "equals")), data=data)
    expect_keys(found, ["peter"], "FN Peter Photo", r)
    assert value(found["peter"], "VERSION") == "4.0", f"not converted{exchange(r)}"
    (_, v), = props(found["peter"], "PHOTO")
    assert decode_data_uri(v) == ("image/jpeg", JPEG), "converted photo differs"


@step("addressbook-multiget with a missing href")
def _():
    keys = ("anna", "zoe")
    missing = path_of(S.book) + f"missing-{RUN}.vcf"
    body = (
        f'<?xml version="1.0" encoding="utf-8"?><cr:addressbook-multiget {XMLNS}>'
        "<d:prop><d:getetag/><cr:address-data/></d:prop>"
        + "".join(f"<d:href>{path_of(card_url(k))}</d:href>" for k in keys)
        + f"<d:href>{missing}</d:href></cr:addressbook-multiget>"
    )
    r = report(S.book, body)
    got = responses(multistatus(r))
    for k in keys:
        h = path_of(card_url(k))
        assert h in got, f"multiget lacks {h}{exchange(r)}"
        ad = found_prop(got[h][1], "cr:address-data")
        assert ad is not None and value(ad.text, "UID") == uid_for(k), f"multiget {k}{exchange(r)}"
        assert value(ad.text, "FN") == value(CARDS[k](), "FN"), f"multiget {k}: FN{exchange(r)}"
    assert missing in got and "404" in got[missing][0], f"missing href: {got.get(missing)}{exchange(r)}"


@step("precondition: an invalid vCard gets 403 CR:valid-address-data", xfail={"radicale"})
def _():
    url = S.book + f"broken-{RUN}.vcf"
    bad = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Broken\r\nthis is not a content line\r\n"
    r = http("PUT", url, body=bad, headers=VCARD_CT)
    expect_status(r, (403,), "PUT of an invalid vCard")
    root = ET.fromstring(r.content)
    assert root.find("cr:valid-address-data", NS) is not None, f"no CR:valid-address-data{exchange(r)}"
    expect_status(http("GET", url), (404,), "the invalid vCard must not be stored")


@step("precondition: invalid vCard is refused")
def _():
    url = S.book + f"broken2-{RUN}.vcf"
    r = http("PUT", url, body=b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Broken\r\n", headers=VCARD_CT)
    expect_status(r, (400, 403, 415), "PUT of an unterminated vCard")
    expect_status(http("GET", url), (404,), "the invalid vCard must not be stored")


def put_duplicate_uid():
    url = S.book + f"dup-{RUN}.vcf"
    dup = vcard("3.0", uid_for("anna"), "Anna Duplicate")
    r = http("PUT", url, body=dup, headers=VCARD_CT)
    expect_status(r, (403, 409), "PUT of a duplicate UID")
    root = ET.fromstring(r.content)
    el = root.find("cr:no-uid-conflict", NS)
    assert el is not None, f"no CR:no-uid-conflict{exchange(r)}"
    expect_status(http("GET", url), (404,), "the duplicate must not be stored")
    return el, r


@step("precondition: a duplicate UID under another name gets CR:no-uid-conflict")
def _():
    put_duplicate_uid()


# RFC 6352 5.3.2.1: the element holds the href of the resource that has the UID.
@step("precondition: CR:no-uid-conflict names the existing resource", xfail={"radicale"})
def _():
    el, r = put_duplicate_uid()
    href = el.findtext("d:href", namespaces=NS)
    assert href and same_path(href, card_url("anna")), f"conflict href {href}{exchange(r)}"


@step("supported-address-data lists 3.0 and 4.0; other media types are refused", xfail={"radicale"})
def _():
    r = propfind(S.book, "<cr:supported-address-data/>")
    el = multistatus(r).find(".//cr:supported-address-data", NS)
    assert el is not None, f"no supported-address-data{exchange(r)}"
    types = {(t.get("content-type"), t.get("version")) for t in el.findall("cr:address-data-type", NS)}
    assert {("text/vcard", "3.0"), ("text/vcard", "4.0")} <= types, f"address-data-types {types}{exchange(r)}"
    url = S.book + f"json-{RUN}.vcf"
    r = http("PUT", url, body='["vcard",[["version",{},"text","4.0"],["fn",{},"text","J"]]]',
             headers={"Content-Type": "application/vcard+json"})
    expect_status(r, (403, 415), "PUT of an unsupported media type")
    if r.status_code == 403:
        assert ET.fromstring(r.content).find("cr:supported-address-data", NS) is not None, (
            f"no CR:supported-address-data{exchange(r)}"
        )
    expect_status(http("GET", url), (404,), "the refused resource must not exist")


@step("max-resource-size is announced and enforced", xfail={"radicale"})
def _():
    r = propfind(S.book, "<cr:max-resource-size/>")
    el = multistatus(r).find(".//cr:max-resource-size", NS)
    assert el is not None and (el.text or "").strip().isdigit(), f"no max-resource-size{exchange(r)}"
    limit = int(el.text)
    assert 0 < limit <= 64 << 20, f"max-resource-size {limit}"
    url = S.book + f"huge-{RUN}.vcf"
    note = "x" * (limit + 1)
    r = http("PUT", url, body=vcard("4.0", uid_for("huge"), "Huge", f"NOTE:{note}"), headers=VCARD_CT)
    assert r.status_code in (403, 413), f"PUT over max-resource-size ({limit}): HTTP {r.status_code}"
    if r.status_code == 403:
        assert ET.fromstring(r.content).find("cr:max-resource-size", NS) is not None, (
            f"403 without CR:max-resource-size: {r.text[:500]}"
        )
    expect_status(http("GET", url), (404,), "the oversized contact must not exist")


@step("sync-collection: initial, then exactly an edit, an add and a delete")
def _():
    book = S.home.rstrip("/") + f"/sync-{RUN}/"
    body = (
        f'<?xml version="1.0" encoding="utf-8"?><d:mkcol {XMLNS}><d:set><d:prop>'
        "<d:resourcetype><d:collection/><cr:addressbook/></d:resourcetype>"
        "</d:prop></d:set></d:mkcol>"
    )
    expect_status(http("MKCOL", book, body=body), (201,), "MKCOL sync book")
    urls = {}
    for k in "abc":
        urls[k] = f"{book}s{k}.vcf"
        r = http("PUT", urls[k], body=vcard("4.0", uid_for("sync" + k), f"Sync {k}"), headers=VCARD_CT)
        expect_status(r, (201, 204), f"PUT s{k}")
    first, token, r = sync_collection(book, "")
    assert token, f"no sync-token{exchange(r)}"
    assert first == {path_of(u): "changed" for u in urls.values()}, f"initial sync {first}{exchange(r)}"

    r = http("PUT", urls["b"], body=vcard("4.0", uid_for("syncb"), "Sync b (edited)"), headers=VCARD_CT)
    expect_status(r, (200, 201, 204), "edit sb")
    expect_status(http("DELETE", urls["c"]), (200, 204), "DELETE sc")
    urls["d"] = f"{book}sd.vcf"
    r = http("PUT", urls["d"], body=vcard("3.0", uid_for("syncd"), "Sync d"), headers=VCARD_CT)
    expect_status(r, (201, 204), "PUT sd")

    changes, token2, r = sync_collection(book, token)
    want = {path_of(urls["b"]): "changed", path_of(urls["c"]): "deleted", path_of(urls["d"]): "changed"}
    assert changes == want, f"incremental sync {changes}, expected {want}{exchange(r)}"
    assert token2 and token2 != token, "sync-token did not move"
    again, _, r = sync_collection(book, token2)
    assert again == {}, f"sync with the newest token is not empty: {again}{exchange(r)}"
    r = propfind(book, "<d:sync-token/>")
    el = multistatus(r).find(".//d:sync-token", NS)
    assert el is not None and el.text == token2, f"PROPFIND sync-token {el.text if el is not None else None} != {token2}"


# Radicale keeps only the text of a dead property, so the DAV:href is lost.
@step("CS:me-card PROPPATCH on the address book home persists", xfail={"radicale"})
def _():
    href = path_of(card_url("anna"))
    body = (
        f'<?xml version="1.0" encoding="utf-8"?><d:propertyupdate {XMLNS}><d:set><d:prop>'
        f"<cs:me-card><d:href>{href}</d:href></cs:me-card></d:prop></d:set></d:propertyupdate>"
    )
    r = http("PROPPATCH", S.home, body=body)
    st = responses(multistatus(r))
    assert st and all("200" in s for s, _ in st.values()), f"PROPPATCH me-card{exchange(r)}"
    r = propfind(S.home, "<cs:me-card/>")
    el = multistatus(r).find(".//cs:me-card/d:href", NS)
    assert el is not None and same_path(el.text.strip(), href), f"me-card not returned{exchange(r)}"


def me_card_xml(r):
    el = multistatus(r).find(".//cs:me-card", NS)
    return ET.tostring(el) if el is not None else b""


@step("a second user can neither read nor write the first user's address books")
def _():
    denied = (401, 403, 404)
    u2 = {"user": USER2, "password": PASS2}
    r = propfind(S.home, "<cs:me-card/>")
    me_before = me_card_xml(r)
    anna = card_url("anna")
    expect_status(http("GET", anna, **u2), denied, "other user's GET of a contact")
    expect_status(propfind(S.book, "<d:getetag/>", depth="1", **u2), denied, "other user's PROPFIND of a book")
    expect_status(propfind(S.home, "<d:resourcetype/>", depth="1", **u2), denied, "other user's PROPFIND of the home")
    body = (
        f'<?xml version="1.0"?><cr:addressbook-query {XMLNS}><d:prop><cr:address-data/></d:prop>'
        '<cr:filter><cr:prop-filter name="FN"/></cr:filter></cr:addressbook-query>'
    )
    expect_status(report(S.book, body, **u2), denied, "other user's addressbook-query")
    body = (
        f'<?xml version="1.0"?><cr:addressbook-multiget {XMLNS}><d:prop><cr:address-data/></d:prop>'
        f"<d:href>{path_of(anna)}</d:href></cr:addressbook-multiget>"
    )
    r = report(S.book, body, **u2)
    assert r.status_code in denied or uid_for("anna") not in r.text, f"multiget leaks a contact{exchange(r)}"
    intruder = S.book + f"intruder-{RUN}.vcf"
    card = vcard("4.0", uid_for("intruder"), "Intruder")
    # 409 is what a PUT into a missing collection gets: a server that hides
    # the other user's book entirely answers as if it did not exist.
    expect_status(http("PUT", intruder, body=card, headers=VCARD_CT, **u2), denied + (409,), "other user's PUT")
    expect_status(http("PUT", anna, body=card, headers=VCARD_CT, **u2), denied + (409,), "other user's overwrite")
    expect_status(http("DELETE", anna, **u2), denied, "other user's DELETE")
    body = (
        f'<?xml version="1.0"?><d:mkcol {XMLNS}><d:set><d:prop><d:resourcetype>'
        "<d:collection/><cr:addressbook/></d:resourcetype></d:prop></d:set></d:mkcol>"
    )
    expect_status(http("MKCOL", S.home.rstrip("/") + f"/intruded-{RUN}/", body=body, **u2), denied + (409,),
                  "other user's MKCOL in the first user's home")
    body = (
        f'<?xml version="1.0"?><d:propertyupdate {XMLNS}><d:set><d:prop>'
        "<cs:me-card><d:href>/nowhere</d:href></cs:me-card></d:prop></d:set></d:propertyupdate>"
    )
    r = http("PROPPATCH", S.home, body=body, **u2)
    assert r.status_code in denied or "200" not in r.text, f"other user's PROPPATCH succeeded{exchange(r)}"
    expect_status(http("GET", intruder), (404,), "the intruder's contact must not exist")
    r = http("GET", anna)
    expect_status(r, (200,), "the contact must survive")
    assert value(r.content, "FN") == "Anna Müller", f"the contact was changed{exchange(r)}"
    expect_status(http("GET", S.home.rstrip("/") + f"/intruded-{RUN}/"), (404,), "no intruded book")
    r = propfind(S.home, "<cs:me-card/>")
    me_after = me_card_xml(r)
    assert me_after == me_before, f"me-card changed: {me_before} -> {me_after}{exchange(r)}"
    # The second user's own principal points at their own home.
    r = propfind(PRINCIPAL_URL.replace(f"/{USER}/", f"/{USER2}/"), "<cr:addressbook-home-set/>", **u2)
    el = multistatus(r).find(".//cr:addressbook-home-set/d:href", NS)
    assert el is not None and same_path(el.text.strip(), AB_HOME2_URL), f"bob's home{exchange(r)}"


@step("DELETE an address book")
def _():
    expect_status(http("DELETE", S.book), (200, 204), "DELETE the work address book")
    expect_status(propfind(S.book, "<d:resourcetype/>"), (404,), "PROPFIND of a deleted book")
    expect_status(http("GET", card_url("anna")), (404,), "GET of a contact in a deleted book")


# --------------------------------------------------------------------- main


def main():
    return SCENARIO.run(f"carddav scenario against {SERVER}: {DAV_URL} as {USER} (requests {requests.__version__})")


if __name__ == "__main__":
    sys.exit(main())
