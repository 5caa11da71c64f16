#!/usr/bin/env bash
# Runs the interoperability scenarios (litmus, python3-caldav, vdirsyncer,
# CardDAV over raw HTTP, vdirsyncer with contacts, virtual calendars and
# sharing with python3-caldav, the trash with python3-caldav)
# against a freshly started server on a free loopback port.
#
#   interop/run.sh [koyomi|radicale]
#
# "koyomi" (the default) builds and serves this repository; every check must
# pass. "radicale" serves Debian's Radicale instead: it exists to prove that the
# scenarios themselves are right, so the failures Radicale is known to have
# (features it does not implement) are reported as expected, not fatal.
#
# Environment:
#   KOYOMI_BIN      koyomi binary to use (default: built into a temp dir)
#   INTEROP_ONLY    space-separated subset of: litmus caldav vdirsyncer
#                   carddav vdirsyncer-contacts vc share trash
#   INTEROP_KEEP=1  keep the temp dir (data, logs) for inspection
set -euo pipefail

SERVER=${1:-koyomi}
case $SERVER in
koyomi | radicale) ;;
*)
	echo "usage: $0 [koyomi|radicale]" >&2
	exit 2
	;;
esac

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# Debian's python3-caldav and vdirsyncer live in the system interpreter; a
# python3 earlier in PATH (pyenv, venv) would not see them.
PY=/usr/bin/python3

WORK=$(mktemp -d "${TMPDIR:-/tmp}/koyomi-interop.XXXXXX")
SERVER_PID=
SERVER_LOG=$WORK/server.log

stop_server() {
	[[ -n $SERVER_PID ]] || return 0
	if kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$SERVER_PID" 2>/dev/null; then
			echo "interop: server did not stop on SIGTERM within 5s; killing it" >&2
			kill -KILL "$SERVER_PID" 2>/dev/null || true
		fi
	fi
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=
}

cleanup() {
	stop_server
	if [[ ${INTEROP_KEEP:-} == 1 ]]; then
		echo "interop: kept $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

show_server_log() {
	echo "---- server log ($SERVER, last 200 lines) ----"
	tail -n 200 "$SERVER_LOG" 2>/dev/null || true
	echo "---- end of server log ----"
}

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_ready polls until the server answers HTTP at all, for at most 30s.
wait_ready() {
	local url=$1
	for _ in $(seq 150); do
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			echo "interop: server exited before becoming ready" >&2
			return 1
		fi
		if curl -s -o /dev/null --max-time 2 "$url"; then
			return 0
		fi
		sleep 0.2
	done
	echo "interop: server not ready after 30s" >&2
	return 1
}

USER1=alice PASS1=alice-secret-1
USER2=bob PASS2=bob-secret-2
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT

start_koyomi() {
	local bin=${KOYOMI_BIN:-}
	if [[ -z $bin ]]; then
		bin=$WORK/bin/koyomi
		echo "interop: building koyomi"
		(cd "$ROOT" && go build -o "$bin" ./cmd/koyomi)
	fi
	local data=$WORK/data
	"$bin" init --data "$data"
	printf '%s\n' "$PASS1" | "$bin" user add "$USER1" --data "$data"
	printf '%s\n' "$PASS2" | "$bin" user add "$USER2" --data "$data"
	"$bin" serve --listen "127.0.0.1:$PORT" --data "$data" >"$SERVER_LOG" 2>&1 &
	SERVER_PID=$!
	# The vc and share scenarios set up users, groups, virtual calendars
	# and shares with the command line on the same data directory; the
	# server is told nothing.
	export INTEROP_KOYOMI_BIN=$bin INTEROP_KOYOMI_DATA=$data
	export DAV_URL=$BASE/dav/
	export DAV_PRINCIPAL_URL=$BASE/dav/principals/$USER1/
	export DAV_HOME_URL=$BASE/dav/calendars/$USER1/
	export DAV_HOME2_URL=$BASE/dav/calendars/$USER2/
	export DAV_AB_HOME_URL=$BASE/dav/addressbooks/$USER1/
	export DAV_AB_HOME2_URL=$BASE/dav/addressbooks/$USER2/
}

start_radicale() {
	local data=$WORK/radicale
	mkdir -p "$data/collections"
	printf '%s:%s\n%s:%s\n' "$USER1" "$PASS1" "$USER2" "$PASS2" >"$data/users"
	# Owners may create plain collections anywhere in their home (litmus needs
	# MKCOL there); nobody may touch another user's tree.
	cat >"$data/rights" <<'EOF'
[root]
user: .+
collection:
permissions: R

[principal]
user: .+
collection: {user}
permissions: RW

[home]
user: .+
collection: {user}/.+
permissions: RWrw
EOF
	cat >"$data/config" <<EOF
[server]
hosts = 127.0.0.1:$PORT

[auth]
type = htpasswd
htpasswd_filename = $data/users
htpasswd_encryption = plain
delay = 0

[rights]
type = from_file
file = $data/rights

[storage]
filesystem_folder = $data/collections

[logging]
level = info
mask_passwords = True
EOF
	"$PY" -m radicale --config "$data/config" >"$SERVER_LOG" 2>&1 &
	SERVER_PID=$!
	export DAV_URL=$BASE/
	export DAV_PRINCIPAL_URL=$BASE/$USER1/
	export DAV_HOME_URL=$BASE/$USER1/
	export DAV_HOME2_URL=$BASE/$USER2/
	# Radicale keeps calendars and address books side by side in one home.
	export DAV_AB_HOME_URL=$BASE/$USER1/
	export DAV_AB_HOME2_URL=$BASE/$USER2/
}

# Radicale has no calendar until a client makes one; Koyomi makes "default"
# on the first authenticated request. Give Radicale the same starting point.
radicale_default_calendar() {
	local user=$1 pass=$2 home=$3 code
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -u "$user:$pass" \
		-X MKCALENDAR "${home}default/")
	[[ $code == 201 ]] || {
		echo "interop: MKCALENDAR ${home}default/ answered $code" >&2
		return 1
	}
}

# Likewise Koyomi makes the address book "contacts" on the first authenticated
# request; Radicale gets one by extended MKCOL.
radicale_default_addressbook() {
	local user=$1 pass=$2 home=$3 code
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -u "$user:$pass" \
		-X MKCOL -H 'Content-Type: application/xml; charset=utf-8' --data-binary \
		'<?xml version="1.0"?><d:mkcol xmlns:d="DAV:" xmlns:cr="urn:ietf:params:xml:ns:carddav"><d:set><d:prop><d:resourcetype><d:collection/><cr:addressbook/></d:resourcetype></d:prop></d:set></d:mkcol>' \
		"${home}contacts/")
	[[ $code == 201 ]] || {
		echo "interop: MKCOL ${home}contacts/ answered $code" >&2
		return 1
	}
}

echo "== interop: starting $SERVER on $BASE (work dir $WORK)"
"start_$SERVER"
if ! wait_ready "$BASE/"; then
	show_server_log
	exit 1
fi
if [[ $SERVER == radicale ]]; then
	radicale_default_calendar "$USER1" "$PASS1" "$DAV_HOME_URL"
	radicale_default_calendar "$USER2" "$PASS2" "$DAV_HOME2_URL"
	radicale_default_addressbook "$USER1" "$PASS1" "$DAV_AB_HOME_URL"
	radicale_default_addressbook "$USER2" "$PASS2" "$DAV_AB_HOME2_URL"
fi

export INTEROP_SERVER=$SERVER
export DAV_BASE_URL=$BASE
export DAV_USER=$USER1 DAV_PASS=$PASS1
export DAV_USER2=$USER2 DAV_PASS2=$PASS2
export DAV_AB_DEFAULT=contacts
export INTEROP_WORK=$WORK
export PYTHON=$PY

read -r -a scenarios <<<"${INTEROP_ONLY:-litmus caldav vdirsyncer carddav vdirsyncer-contacts vc share trash}"
passed=() failed=()
run_scenario() {
	local name=$1
	shift
	echo
	echo "== interop: $name ($SERVER)"
	local start=$SECONDS rc=0
	timeout --kill-after=5 150 "$@" || rc=$?
	if ((rc == 0)); then
		echo "== interop: $name PASSED in $((SECONDS - start))s"
		passed+=("$name")
	else
		((rc == 124)) && echo "interop: $name timed out"
		echo "== interop: $name FAILED (exit $rc) in $((SECONDS - start))s"
		failed+=("$name")
	fi
}

for s in "${scenarios[@]}"; do
	case $s in
	litmus) run_scenario litmus "$HERE/litmus.sh" ;;
	caldav) run_scenario caldav "$PY" "$HERE/caldav_scenario.py" ;;
	vdirsyncer) run_scenario vdirsyncer "$HERE/vdirsyncer.sh" ;;
	carddav) run_scenario carddav "$PY" "$HERE/carddav_scenario.py" ;;
	vdirsyncer-contacts) run_scenario vdirsyncer-contacts "$HERE/vdirsyncer_contacts.sh" ;;
	vc)
		# Virtual calendars are Koyomi's own: Radicale has nothing to compare.
		if [[ $SERVER == koyomi ]]; then
			run_scenario vc "$PY" "$HERE/vc_scenario.py"
		else
			echo
			echo "== interop: vc skipped ($SERVER has no virtual calendars)"
		fi
		;;
	share)
		# Sharing and delegation as Apple Calendar does them: Radicale has
		# neither.
		if [[ $SERVER == koyomi ]]; then
			run_scenario share "$PY" "$HERE/share_scenario.py"
		else
			echo
			echo "== interop: share skipped ($SERVER has no sharing)"
		fi
		;;
	trash)
		# Deleted objects, calendars and users kept to be restored:
		# Radicale deletes for good.
		if [[ $SERVER == koyomi ]]; then
			run_scenario trash "$PY" "$HERE/trash_scenario.py"
		else
			echo
			echo "== interop: trash skipped ($SERVER has no trash)"
		fi
		;;
	*)
		echo "interop: unknown scenario $s" >&2
		exit 2
		;;
	esac
done

if ! kill -0 "$SERVER_PID" 2>/dev/null; then
	echo "interop: the server died during the run"
	failed+=("server-alive")
fi
if ((${#failed[@]})); then
	show_server_log
fi
stop_server

echo
echo "== interop summary ($SERVER): passed: ${passed[*]:-none}; failed: ${failed[*]:-none}"
echo "interop: ${#passed[@]} passed, ${#failed[@]} failed"
((${#failed[@]} == 0))
