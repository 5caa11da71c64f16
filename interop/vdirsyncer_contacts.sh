#!/usr/bin/env bash
# Two-way contact sync through the server with vdirsyncer: two local folders of
# .vcf files, A and B, are each paired with the same server address book, so
# whatever reaches B from A went through the server (and back).
#
#   A (filesystem) <-> server address book <-> B (filesystem)
#
# Checks: creation flows A -> B (a vCard 3.0 with an inline photo, a 4.0 with
# non-ASCII names and a folded line; on Koyomi byte for byte); an edit and a
# delete in B flow back to A; the same contact edited on both sides resolves
# as configured ("a wins", so the local side of the pair being synced wins); a
# further sync changes nothing (ETags are stable).
#
# Environment (set by run.sh): DAV_AB_HOME_URL DAV_USER DAV_PASS INTEROP_WORK
# INTEROP_SERVER; DAV_AB_DEFAULT (default "contacts") names the address book.
set -euo pipefail
: "${DAV_AB_HOME_URL:?}" "${DAV_USER:?}" "${DAV_PASS:?}" "${INTEROP_WORK:?}"

COLL=${DAV_AB_DEFAULT:-contacts}
. "$(dirname "${BASH_SOURCE[0]}")/vdirsyncer_lib.sh"
vdir_init vdirsyncer-contacts carddav "$DAV_AB_HOME_URL" .vcf "$COLL"
expect_fn() { expect_prop "$1" "$2" FN "$3"; } # DIR UID FN
set_fn() { set_prop "$1" FN "$2"; }            # FILE FN

# write_vcf FILE VERSION UID FN EXTRA-LINES... (lines given already folded)
write_vcf() {
	local file=$1 version=$2 uid=$3 fn=$4
	shift 4
	printf '%s\r\n' BEGIN:VCARD "VERSION:$version" "UID:$uid" "FN:$fn" "$@" END:VCARD >"$file"
}

# A 3.0 PHOTO: base64 of 600 random bytes, folded at 75 octets (a leading
# space and 74 characters on continuation lines) the way clients do.
photo_lines() {
	local line
	line="PHOTO;ENCODING=b;TYPE=JPEG:$(head -c 600 /dev/urandom | base64 -w0)"
	printf '%s\n' "${line:0:75}"
	line=${line:75}
	while [[ -n $line ]]; do
		printf ' %s\n' "${line:0:74}"
		line=${line:74}
	done
}

# Make sure the address book exists: Koyomi creates "contacts" on the first
# authenticated request; Radicale's was made by run.sh.
curl -s -o /dev/null --max-time 10 -u "$DAV_USER:$DAV_PASS" -X PROPFIND -H 'Depth: 0' "$DAV_AB_HOME_URL"

step "discover"
vds discover pa
vds discover pb

C1=vd-c1-$RUN C2=vd-c2-$RUN C3=vd-c3-$RUN
step "create three contacts in A (3.0 with a photo, 4.0 with non-ASCII); sync A, then B"
mapfile -t PHOTO < <(photo_lines)
write_vcf "$A/$C1.vcf" 3.0 "$C1" "Peter Photo" "N:Photo;Peter;;;" "EMAIL;TYPE=INTERNET:peter@example.com" "${PHOTO[@]}"
write_vcf "$A/$C2.vcf" 4.0 "$C2" "Zoë Çelik 山田" "N:Çelik;Zoë;;;" "EMAIL;TYPE=home:zoe@example.org" \
	"NOTE:Zürich — 日本語 — a note long enough that a client folds it:" \
	"  Ärger mit Übergrößen und Öffnungszeiten"
write_vcf "$A/$C3.vcf" 4.0 "$C3" "Conflict Person" "N:Person;Conflict;;;"
vds sync pa
vds sync pb
expect_fn "$B" "$C1" "Peter Photo"
expect_fn "$B" "$C2" "Zoë Çelik 山田"
expect_fn "$B" "$C3" "Conflict Person"
for uid in "$C1" "$C2" "$C3"; do
	f=$(file_for "$B" "$uid")
	if [[ $SERVER == koyomi ]]; then
		# The server keeps the client's bytes, so B's copies are A's files exactly.
		cmp -s "$A/$uid.vcf" "$f" ||
			fail "B's copy of $uid differs from A's:"$'\n'"$(diff "$A/$uid.vcf" "$f" | cat -A)"
	fi
done
# Whatever the server does to the text, the photo must come back intact.
[[ $(prop_of "$A/$C1.vcf" PHOTO) == "$(prop_of "$(file_for "$B" "$C1")" PHOTO)" ]] ||
	fail "B's photo of $C1 differs from A's"
echo "   B has all three contacts; same UID and FN; photo intact"

step "in B: edit $C1, delete $C2; sync B, then A"
set_fn "$(file_for "$B" "$C1")" "Peter Photo (edited in B)"
rm "$(file_for "$B" "$C2")"
vds sync pb
vds sync pa
expect_fn "$A" "$C1" "Peter Photo (edited in B)"
expect_absent "$A" "$C2"
[[ $(prop_of "$A/$C1.vcf" PHOTO) == "$(prop_of "$(file_for "$B" "$C1")" PHOTO)" ]] ||
	fail "the edit lost $C1's photo in A"
if [[ $SERVER == koyomi ]]; then
	cmp -s "$A/$C1.vcf" "$(file_for "$B" "$C1")" || fail "A's copy of the edited $C1 differs from B's"
fi
echo "   A reflects the edit and the delete"

step "conflict: $C3 edited in A and in B; sync B, then A (A wins), then B"
set_fn "$A/$C3.vcf" "Conflict Person (from A)"
set_fn "$(file_for "$B" "$C3")" "Conflict Person (from B)"
vds sync pb
vds sync pa
vds sync pb
expect_fn "$A" "$C3" "Conflict Person (from A)"
expect_fn "$B" "$C3" "Conflict Person (from A)"
if [[ $SERVER == koyomi ]]; then
	cmp -s "$A/$C3.vcf" "$(file_for "$B" "$C3")" || fail "A's and B's copies of $C3 differ"
fi
echo "   both sides hold A's version"

step "a further sync of both pairs changes nothing"
for pair in pa pb; do
	vds sync "$pair"
	if grep -E 'Copying|Deleting|conflict' "$T/last.out"; then
		fail "sync $pair changed items although nothing was edited"
	fi
done

echo "vdirsyncer-contacts: ok"
