# Shared by vdirsyncer.sh (calendars) and vdirsyncer_contacts.sh (contacts):
# sourced, not run. vdir_init sets up two local folders A and B paired with
# one server collection, writes vdirsyncer's config, and defines the helpers
# the scenarios use.

# vdir_init NAME STORAGE-TYPE URL FILE-EXTENSION COLLECTION
# sets NAME T A B CONF RUN SERVER EXT.
vdir_init() {
	NAME=$1
	local type=$2 url=$3 coll=$5
	EXT=$4
	SERVER=${INTEROP_SERVER:-koyomi}
	RUN=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
	T=$INTEROP_WORK/$NAME
	A=$T/a/$coll
	B=$T/b/$coll
	CONF=$T/config
	mkdir -p "$A" "$B" "$T/status"
	cat >"$CONF" <<CONF
[general]
status_path = $(json "$T/status/")

[pair pa]
a = "local_a"
b = "server"
collections = [$(json "$coll")]
conflict_resolution = "a wins"

[pair pb]
a = "local_b"
b = "server"
collections = [$(json "$coll")]
conflict_resolution = "a wins"

[storage local_a]
type = "filesystem"
path = $(json "$T/a/")
fileext = "$EXT"

[storage local_b]
type = "filesystem"
path = $(json "$T/b/")
fileext = "$EXT"

[storage server]
type = "$type"
url = $(json "$url")
username = $(json "$DAV_USER")
password = $(json "$DAV_PASS")
CONF
}

# vdirsyncer's config format is INI with JSON values.
json() { "${PYTHON:-/usr/bin/python3}" -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$1"; }

step() { echo "-- $NAME: $*"; }
fail() {
	echo "$NAME: FAIL: $*"
	exit 1
}

# vds runs vdirsyncer with a time limit and no stdin (a prompt aborts rather
# than hangs), echoing its output and keeping it in $T/last.out.
vds() {
	local rc=0 start=$EPOCHREALTIME
	timeout --kill-after=5 60 vdirsyncer -c "$CONF" "$@" </dev/null >"$T/last.out" 2>&1 || rc=$?
	sed 's/^/   | /' "$T/last.out"
	awk -v a="$start" -v b="$EPOCHREALTIME" -v c="$*" 'BEGIN { printf "   (vdirsyncer %s: %.1fs)\n", c, b - a }'
	((rc == 0)) || fail "vdirsyncer $* exited with $rc"
}

# file_for DIR UID prints the one file in DIR holding UID.
file_for() {
	local files
	files=$(grep -l -r -E --include="*$EXT" -e "^UID:$2"$'\r''?$' "$1" || true)
	[[ -n $files ]] || return 1
	[[ $(wc -l <<<"$files") == 1 ]] || fail "UID $2 is in several files of $1: $files"
	printf '%s\n' "$files"
}
# prop_of FILE NAME prints the value of the first NAME property (unfolded).
prop_of() {
	sed -e ':a' -e '$!N' -e 's/\r\?\n[ \t]//' -e 'ta' -e 'P;D' "$1" | tr -d '\r' |
		sed -n "s/^$2[;:]//p" | head -n1 | sed 's/^[^:]*=[^:]*://'
}
expect_prop() { # DIR UID PROPERTY VALUE
	local f got
	f=$(file_for "$1" "$2") || fail "$1 has no item with UID $2"
	got=$(prop_of "$f" "$3")
	[[ $got == "$4" ]] || fail "$1: UID $2 has $3 '$got', expected '$4'"
}
expect_absent() { # DIR UID
	if f=$(file_for "$1" "$2"); then fail "$1 still has UID $2 in $f"; fi
}
# set_prop FILE PROPERTY VALUE edits a file the way an editor would (new
# inode, new mtime), so vdirsyncer sees it changed.
set_prop() {
	local tmp=$1.edit
	sed "s/^$2:.*\$/$2:$3"$'\r'"/" "$1" >"$tmp"
	mv "$tmp" "$1"
}
