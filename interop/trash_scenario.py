#!/usr/bin/python3
"""Trash scenario, driven by Debian's python3-caldav.

Koyomi only (run.sh skips it for Radicale, which keeps nothing deleted).
alice (made by run.sh) makes a calendar and an event with python-caldav,
takes a sync token, and deletes the event the way a client does. The event
is then in her trash, listed by the JSON API (GET /api/v1/trash) and by
`koyomi trash list`; bob and an anonymous client see and change nothing of
it. Restored through the API, the event reaches the client as an ordinary
change: a sync-collection from the token taken before the delete reports
it, and the ctag has moved. Restored through the command line, likewise.
An event holding its UID again makes the restore a 409. Last the whole
calendar is deleted with python-caldav and restored: it comes back under
its URL with its display name and event; it is a new collection, so the
old token is refused with DAV:valid-sync-token (RFC 6578 3.2), and the
client's full sync finds the event.

Environment (set by run.sh): DAV_BASE_URL DAV_URL DAV_USER DAV_PASS
DAV_USER2 DAV_PASS2 INTEROP_KOYOMI_BIN INTEROP_KOYOMI_DATA INTEROP_SERVER.
"""

import json
import re
import sys

import scenario_lib
from scenario_lib import (ALICE, BOB, DAV_URL, RUN, SERVER, SYNC_BODY, Scenario, caldav_version, client, exchange,
                          expect_commands, expect_status, ics_time, koyomi, multistatus, path_of, report, stamp,
                          sync_collection, day)
from scenario_lib import http_as as http

scenario_lib.SHOWN_BODY = 2000

SCENARIO = Scenario("trash")
step = SCENARIO.step

CAL_ID = f"trash-{RUN}"
CAL_NAME = f"Trash {RUN}"
UID = f"dentist-{RUN}"
CTAG_BODY = ('<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:" '
             'xmlns:cs="http://calendarserver.org/ns/"><d:prop><cs:getctag/></d:prop></d:propfind>')

S = {}


def event_ics(uid=UID, summary="Dentist"):
    start = stamp(day(1), 9)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Koyomi interop//trash scenario//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:{ics_time(start)}\r\n"
        f"DURATION:PT1H\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def trash_of(user):
    r = http(user, "GET", "/api/v1/trash")
    expect_status(r, (200,), f"GET /api/v1/trash as {user[0]}")
    return r.json()


def item_named(items, name):
    found = [it for it in items if it["name"] == name]
    assert len(found) == 1, f"trash item {name!r}: found {len(found)} in {json.dumps(items, indent=1)}"
    return found[0]


def ctag():
    r = http(ALICE, "PROPFIND", S["cal_url"], CTAG_BODY, {"Depth": "0", "Content-Type": "application/xml"})
    root = multistatus(r)
    return root.findtext(".//{http://calendarserver.org/ns/}getctag")


def event_path():
    return path_of(S["event_url"])


@step("alice makes a calendar and an event with python-caldav, and takes a sync token")
def make_calendar():
    expect_commands("trash list", "trash restore", "trash purge", "user restore")
    principal = client(ALICE).principal()
    cal = principal.make_calendar(name=CAL_NAME, cal_id=CAL_ID)
    ev = cal.save_event(event_ics())
    S["cal"], S["cal_url"], S["event_url"] = cal, str(cal.url), str(ev.url)
    changes, token, r = sync_collection(S["cal_url"], "")
    assert changes.get(event_path()) == "changed", f"initial sync lacks the event{exchange(r)}"
    S["token"], S["ctag"] = token, ctag()


@step("deleting the event (python-caldav) puts it in alice's trash, listed by the API and the command line")
def delete_event():
    S["cal"].event_by_uid(UID).delete()
    changes, _, r = sync_collection(S["cal_url"], S["token"])
    assert changes.get(event_path()) == "deleted", f"sync after the delete does not report it deleted{exchange(r)}"
    name = f"{CAL_ID}/{event_path().rsplit('/', 1)[1]}"
    it = item_named(trash_of(ALICE), name)
    assert it["kind"] == "object" and it["size"] > 0, f"trash item {it}"
    S["item"], S["item_name"] = it, name
    out = koyomi("trash", "list", ALICE[0]).stdout
    assert name in out and str(it["id"]) in out, f"`koyomi trash list` lacks {name}:\n{out}"


@step("bob and an anonymous client get nothing of alice's trash and change nothing")
def others_get_nothing():
    assert trash_of(BOB) == [], "bob's trash shows alice's items"
    iid = S["item"]["id"]
    for method, path in (("POST", f"/api/v1/trash/{iid}/restore"), ("DELETE", f"/api/v1/trash/{iid}")):
        r = http(BOB, method, path)
        expect_status(r, (404,), f"bob {method} {path}")
        r = http(None, method, path)
        expect_status(r, (401,), f"anonymous {method} {path}")
    r = http(None, "GET", "/api/v1/trash")
    expect_status(r, (401,), "anonymous GET /api/v1/trash")
    item_named(trash_of(ALICE), S["item_name"])


@step("restored through the API, the event comes back through sync from the old token, and the ctag moves")
def restore_api():
    r = http(ALICE, "POST", f"/api/v1/trash/{S['item']['id']}/restore")
    expect_status(r, (200,), "restore")
    changes, token, r = sync_collection(S["cal_url"], S["token"])
    assert changes.get(event_path()) == "changed", f"sync from the old token does not bring the event back{exchange(r)}"
    assert ctag() != S["ctag"], "the ctag did not change"
    ev = S["cal"].event_by_uid(UID)
    assert "SUMMARY:Dentist" in scenario_lib.unfold(ev.data), f"restored event:\n{ev.data}"
    S["token"] = token
    r = http(ALICE, "POST", f"/api/v1/trash/{S['item']['id']}/restore")
    expect_status(r, (404,), "second restore of the same item")


@step("restored with `koyomi trash restore`, the event comes back through sync as well")
def restore_cli():
    S["cal"].event_by_uid(UID).delete()
    out = koyomi("trash", "list", ALICE[0]).stdout
    m = re.search(rf"^(\d+)\s+object\s+{re.escape(S['item_name'])}\s", out, re.M)
    assert m, f"`koyomi trash list` lacks {S['item_name']}:\n{out}"
    out = koyomi("trash", "restore", ALICE[0], m.group(1)).stdout
    assert "restored" in out, out
    changes, token, r = sync_collection(S["cal_url"], S["token"])
    assert changes.get(event_path()) == "changed", f"sync does not bring the event back{exchange(r)}"
    S["token"] = token


@step("an event holding the UID again makes the restore a 409")
def restore_conflict():
    S["cal"].event_by_uid(UID).delete()
    iid = item_named(trash_of(ALICE), S["item_name"])["id"]
    S["cal"].save_event(event_ics(summary="Dentist, booked again"))
    r = http(ALICE, "POST", f"/api/v1/trash/{iid}/restore")
    expect_status(r, (409,), "restore over a new holder of the UID")
    assert UID in r.json().get("error", ""), f"the 409 does not name the UID{exchange(r)}"
    r = http(ALICE, "DELETE", f"/api/v1/trash/{iid}")
    expect_status(r, (204,), "purge")


@step("a whole calendar deleted with python-caldav comes back with its name and event")
def restore_calendar():
    changes, token, r = sync_collection(S["cal_url"], "")
    S["cal"].delete()
    it = item_named(trash_of(ALICE), CAL_ID)
    assert it["kind"] == "collection", it
    r = http(ALICE, "POST", f"/api/v1/trash/{it['id']}/restore")
    expect_status(r, (200,), "restore of the calendar")
    cals = {str(c.url): c for c in client(ALICE).principal().calendars()}
    cal = next((c for u, c in cals.items() if path_of(u).rstrip("/").endswith(CAL_ID)), None)
    assert cal is not None, f"the calendar is not back in alice's home: {list(cals)}"
    assert cal.get_display_name() == CAL_NAME, f"display name {cal.get_display_name()!r}, want {CAL_NAME!r}"
    assert [e for e in cal.events() if UID in scenario_lib.unfold(e.data)], "the event is not back"
    # A new collection: the old token is refused, so the client syncs
    # afresh and finds the event.
    r = report(S["cal_url"], SYNC_BODY.format(token), depth="0")
    expect_status(r, (403,), "sync from a token of the calendar before its delete")
    assert "valid-sync-token" in r.text, f"the refusal names no DAV:valid-sync-token{exchange(r)}"
    changes, _, r = sync_collection(S["cal_url"], "")
    assert any(v == "changed" for v in changes.values()), f"a full sync finds nothing{exchange(r)}"


def main():
    if SERVER != "koyomi":
        print(f"trash scenario: {SERVER} has no trash; skipped")
        return 0
    return SCENARIO.run(f"trash scenario against {SERVER}: {DAV_URL} (python-caldav {caldav_version()})")


if __name__ == "__main__":
    sys.exit(main())
