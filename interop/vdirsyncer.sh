#!/usr/bin/env bash
# Two-way sync through the server with vdirsyncer: two local folders of .ics
# files, A and B, are each paired with the same server calendar, so whatever
# reaches B from A went through the server (and back).
#
#   A (filesystem) <-> server calendar <-> B (filesystem)
#
# Checks: creation flows A -> B; an edit and a delete in B flow back to A; the
# same event edited on both sides resolves as configured ("a wins", so the
# local side of the pair being synced wins); a todo travels too; a further sync
# changes nothing (ETags are stable).
#
# Environment (set by run.sh): DAV_HOME_URL DAV_USER DAV_PASS INTEROP_WORK
# INTEROP_SERVER; VDIR_COLLECTION (default "default") names the calendar.
set -euo pipefail
: "${DAV_HOME_URL:?}" "${DAV_USER:?}" "${DAV_PASS:?}" "${INTEROP_WORK:?}"

COLL=${VDIR_COLLECTION:-default}
. "$(dirname "${BASH_SOURCE[0]}")/vdirsyncer_lib.sh"
vdir_init vdirsyncer caldav "$DAV_HOME_URL" .ics "$COLL"
expect_summary() { expect_prop "$1" "$2" SUMMARY "$3"; } # DIR UID SUMMARY
set_summary() { set_prop "$1" SUMMARY "$2"; }            # FILE SUMMARY

write_ics() { # FILE COMPONENT UID SUMMARY EXTRA-LINES...
	local file=$1 comp=$2 uid=$3 summary=$4
	shift 4
	{
		printf '%s\r\n' BEGIN:VCALENDAR VERSION:2.0 "PRODID:-//Koyomi interop//vdirsyncer scenario//EN" \
			"BEGIN:$comp" "UID:$uid" DTSTAMP:20300101T000000Z "SUMMARY:$summary" "$@" "END:$comp" END:VCALENDAR
	} >"$file"
}

# Make sure the server calendar exists: Koyomi creates "default" on the first
# authenticated request; Radicale's was made by run.sh.
curl -s -o /dev/null --max-time 10 -u "$DAV_USER:$DAV_PASS" -X PROPFIND -H 'Depth: 0' "$DAV_HOME_URL"

step "discover"
vds discover pa
vds discover pb

E1=vd-ev1-$RUN E2=vd-ev2-$RUN E3=vd-ev3-$RUN TD=vd-todo-$RUN
step "create three events and a todo in A; sync A, then B"
write_ics "$A/$E1.ics" VEVENT "$E1" "Planning" DTSTART:20300701T090000Z DTEND:20300701T100000Z
write_ics "$A/$E2.ics" VEVENT "$E2" "Review" DTSTART:20300702T090000Z DTEND:20300702T100000Z
write_ics "$A/$E3.ics" VEVENT "$E3" "Retrospective" "DTSTART;TZID=Europe/Berlin:20300703T090000" \
	"DTEND;TZID=Europe/Berlin:20300703T100000" "RRULE:FREQ=WEEKLY;COUNT=3"
write_ics "$A/$TD.ics" VTODO "$TD" "Book the room" DUE:20300630T170000Z STATUS:NEEDS-ACTION
vds sync pa
vds sync pb
for pair in "$E1:Planning" "$E2:Review" "$E3:Retrospective" "$TD:Book the room"; do
	expect_summary "$B" "${pair%%:*}" "${pair#*:}"
done
if [[ $SERVER == koyomi ]]; then
	# The server keeps the client's bytes, so B's copies are A's files exactly.
	for uid in "$E1" "$E2" "$E3" "$TD"; do
		cmp -s "$A/$uid.ics" "$(file_for "$B" "$uid")" ||
			fail "B's copy of $uid differs from A's:"$'\n'"$(diff "$A/$uid.ics" "$(file_for "$B" "$uid")" | cat -A)"
	done
fi
echo "   B has all four items, same UID and SUMMARY"

step "in B: edit $E1, delete $E2, complete the todo; sync B, then A"
set_summary "$(file_for "$B" "$E1")" "Planning (moved)"
rm "$(file_for "$B" "$E2")"
f=$(file_for "$B" "$TD")
sed 's/^STATUS:NEEDS-ACTION/STATUS:COMPLETED/' "$f" >"$f.edit" && mv "$f.edit" "$f"
vds sync pb
vds sync pa
expect_summary "$A" "$E1" "Planning (moved)"
expect_absent "$A" "$E2"
[[ $(prop_of "$(file_for "$A" "$TD")" STATUS) == COMPLETED ]] || fail "A's todo is not COMPLETED"
echo "   A reflects the edit, the delete and the completed todo"

step "conflict: $E3 edited in A and in B; sync B, then A (A wins), then B"
set_summary "$A/$E3.ics" "Retrospective (from A)"
set_summary "$(file_for "$B" "$E3")" "Retrospective (from B)"
vds sync pb
vds sync pa
vds sync pb
expect_summary "$A" "$E3" "Retrospective (from A)"
expect_summary "$B" "$E3" "Retrospective (from A)"
echo "   both sides hold A's version"

step "a further sync of both pairs changes nothing"
for pair in pa pb; do
	vds sync "$pair"
	if grep -E 'Copying|Deleting|conflict' "$T/last.out"; then
		fail "sync $pair changed items although nothing was edited"
	fi
done

echo "vdirsyncer: ok"
