#!/usr/bin/env bash
# Koyomi behind a real reverse proxy, configured with the files in dist/:
#
#   interop/proxy.sh nginx|caddy
#
# Starts Koyomi from dist/koyomi.toml and nginx from dist/nginx/koyomi.conf or
# Caddy from dist/caddy/Caddyfile, each changed only where a test must be
# (loopback addresses on free ports, a self-signed certificate made with
# openssl, the work directory), then sends requests through the proxy over
# HTTPS and checks every status: the HTTP/2 the proxy offers, discovery
# (/.well-known/caldav, current-user-principal, calendar-home-set), PUT, GET
# and a conditional PUT of an event, MOVE (Koyomi compares its Destination
# with the Host the proxy passed), a body just under max_resource_size and one
# just over it, a login refused without credentials, and that Koyomi counts
# failed logins against the client's address from X-Forwarded-For, which a
# client cannot forge. Clients connect from other loopback addresses
# (127.0.0.2, 127.0.0.3) than the proxy's (127.0.0.1), the only one in
# trusted_proxies.
#
# Environment:
#   KOYOMI_BIN      koyomi binary to use (default: built into a temp dir)
#   PROXY_KEEP=1    keep the temp dir (configurations, logs) for inspection
set -euo pipefail

PROXY=${1:-}
case $PROXY in
nginx | caddy) ;;
*)
	echo "usage: $0 nginx|caddy" >&2
	exit 2
	;;
esac

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PY=/usr/bin/python3
WORK=$(mktemp -d "${TMPDIR:-/tmp}/koyomi-proxy.XXXXXX")
KOYOMI_PID= PROXY_PID=

# stop PID: SIGTERM, then SIGKILL after five seconds.
stop() {
	local pid=$1
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	stop "$PROXY_PID"
	stop "$KOYOMI_PID"
	if [[ ${PROXY_KEEP:-} == 1 ]]; then
		echo "proxy: kept $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "proxy: $*" >&2
	exit 1
}

show_logs() {
	local f
	for f in "$WORK"/koyomi.log "$WORK"/$PROXY/*.log; do
		[[ -f $f ]] || continue
		echo "---- ${f#"$WORK"/} (last 50 lines) ----"
		tail -n 50 "$f"
	done
}

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# subst FILE OUT [sed expressions...]: writes FILE edited to OUT, and fails
# when an expression changed nothing, so a test never silently runs against
# something other than the shipped file.
subst() {
	local in=$1 out=$2 expr
	shift 2
	cp "$in" "$out"
	for expr in "$@"; do
		local before
		before=$(cat "$out")
		sed -i -e "$expr" "$out"
		[[ $(cat "$out") != "$before" ]] || die "$in: '$expr' matched nothing; was the file changed?"
	done
}

KPORT=$(free_port)
PPORT=$(free_port)
HPORT=$(free_port)
BASE=https://127.0.0.1:$PPORT
USER1=alice PASS1=alice-secret-1

# A certificate for 127.0.0.1, trusted by curl through --cacert.
mkdir -p "$WORK/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=localhost -addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
	-keyout "$WORK/tls/key.pem" -out "$WORK/tls/cert.pem" 2>"$WORK/tls/openssl.log" ||
	die "openssl: $(cat "$WORK/tls/openssl.log")"
CERT=$WORK/tls/cert.pem KEY=$WORK/tls/key.pem

start_koyomi() {
	local bin=${KOYOMI_BIN:-}
	if [[ -z $bin ]]; then
		bin=$WORK/bin/koyomi
		echo "proxy: building koyomi"
		(cd "$ROOT" && go build -o "$bin" ./cmd/koyomi)
	fi
	subst "$ROOT/dist/koyomi.toml" "$WORK/koyomi.toml" \
		"s|^listen = \"127.0.0.1:8008\"|listen = \"127.0.0.1:$KPORT\"|" \
		"s|^data = \"/var/lib/koyomi\"|data = \"$WORK/data\"|" \
		's|^trusted_proxies = .*|trusted_proxies = ["127.0.0.1/32"]|'
	LIMIT=$(sed -n 's/^max_resource_size = \([0-9]*\)$/\1/p' "$WORK/koyomi.toml")
	[[ -n $LIMIT ]] || die "dist/koyomi.toml sets no max_resource_size"
	"$bin" init --config "$WORK/koyomi.toml" >/dev/null 2>&1 || die "koyomi init failed"
	printf '%s\n' "$PASS1" | "$bin" user add "$USER1" --config "$WORK/koyomi.toml" >/dev/null
	# Two wrong passwords lock an address, so the check below is quick.
	KOYOMI_LOGIN_MAX_FAILURES_PER_IP=2 "$bin" serve --config "$WORK/koyomi.toml" >"$WORK/koyomi.log" 2>&1 &
	KOYOMI_PID=$!
}

start_nginx() {
	local dir=$WORK/nginx
	mkdir -p "$dir/tmp"
	subst "$ROOT/dist/nginx/koyomi.conf" "$dir/koyomi.conf" \
		"s|^    listen 80;|    listen 127.0.0.1:$HPORT;|" \
		'/^    listen \[::\]:80;/d' \
		"s|^    listen 443 ssl http2;|    listen 127.0.0.1:$PPORT ssl http2;|" \
		'/^    listen \[::\]:443 ssl http2;/d' \
		"s|/etc/letsencrypt/live/cal.example.org/fullchain.pem|$CERT|" \
		"s|/etc/letsencrypt/live/cal.example.org/privkey.pem|$KEY|" \
		"s|proxy_pass http://127.0.0.1:8008;|proxy_pass http://127.0.0.1:$KPORT;|"
	local user=
	# Workers would otherwise run as nobody, who cannot write the temp dir.
	((EUID == 0)) && user='user root root;'
	cat >"$dir/nginx.conf" <<EOF
$user
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log info;
events { worker_connections 128; }
http {
    access_log $dir/access.log;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    include $dir/koyomi.conf;
}
EOF
	nginx -t -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" 2>"$dir/test.log" || {
		cat "$dir/test.log"
		die "nginx -t refused the configuration"
	}
	nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" >"$dir/stdout.log" 2>&1 &
	PROXY_PID=$!
}

start_caddy() {
	local dir=$WORK/caddy
	mkdir -p "$dir"
	subst "$ROOT/dist/caddy/Caddyfile" "$dir/site" \
		"s|^cal.example.org {|https://127.0.0.1:$PPORT {\n\ttls $CERT $KEY\n|" \
		"s|reverse_proxy 127.0.0.1:8008|reverse_proxy 127.0.0.1:$KPORT|"
	# No admin endpoint (it would take port 2019), no redirect listener on
	# port 80, state kept in the work dir.
	{
		printf '{\n\tadmin off\n\tauto_https disable_redirects\n\tstorage file_system %s\n}\n\n' "$dir/data"
		cat "$dir/site"
	} >"$dir/Caddyfile"
	HOME=$dir XDG_DATA_HOME=$dir/data XDG_CONFIG_HOME=$dir/config \
		caddy run --config "$dir/Caddyfile" --adapter caddyfile >"$dir/caddy.log" 2>&1 &
	PROXY_PID=$!
}

# wait_for PID URL CURLARGS...: polls URL until it answers 200, for at most
# 30s, failing early when PID exits.
wait_for() {
	local pid=$1 url=$2
	shift 2
	for _ in $(seq 150); do
		kill -0 "$pid" 2>/dev/null || return 1
		[[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@" "$url") == 200 ]] && return 0
		sleep 0.2
	done
	return 1
}

# ics UID SIZE: an event of exactly SIZE bytes (at least 300), its
# description filling the rest in folded lines.
ics() {
	"$PY" - "$1" "$2" <<'EOF'
import sys
uid, size = sys.argv[1], int(sys.argv[2])
head = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Koyomi//proxy test//EN\r\n"
        "BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART:20260310T090000Z\r\nDTEND:20260310T100000Z\r\nSUMMARY:Proxy test\r\n" % uid)
tail = "END:VEVENT\r\nEND:VCALENDAR\r\n"
room = size - len(head) - len(tail) - len("DESCRIPTION:") - 2
assert room > 0
# Fold at 75 octets: the first line holds 63 characters after the name,
# each continuation line a space and 74 characters, each line ends in CRLF.
text, first = [], min(room, 63)
text.append("x" * first)
room -= first
while room > 0:
    n = min(room - 3, 74) if room > 3 else 0
    if n <= 0:
        text[-1] += "x" * room
        break
    text.append(" " + "x" * n)
    room -= n + 3
body = head + "DESCRIPTION:" + "\r\n".join(text) + "\r\n" + tail
assert len(body.encode()) == size, (len(body), size)
sys.stdout.write(body)
EOF
}

failures=0
checks=0
# expect NAME CODE CURLARGS...: runs curl through the proxy, keeping the
# headers and body in $HDR and $BODY, and checks the status. A failed check
# is counted and the run goes on (expect and assert return 0), so one run
# shows every failure.
HDR=$WORK/last.headers BODY=$WORK/last.body
expect() {
	local name=$1 want=$2 got
	shift 2
	checks=$((checks + 1))
	local rc=0
	got=$(curl -sS --cacert "$CERT" --max-time 60 -D "$HDR" -o "$BODY" -w '%{http_code}' "$@") || rc=$?
	# A server refusing an upload (413) answers before reading it and
	# closes the stream; the proxy may then cut the answer's body short
	# (curl 18, or 92 for an HTTP/2 stream reset). The status was received.
	if ((rc != 0)) && ! [[ $want == 413 && $got == 413 && ($rc == 18 || $rc == 92 || $rc == 56) ]]; then
		got="curl failed ($rc)"
	fi
	if [[ $got == "$want" ]]; then
		echo "ok   $name: $got"
		return 0
	fi
	failures=$((failures + 1))
	echo "FAIL $name: want $want, got $got"
	sed 's/^/     < /' "$HDR" 2>/dev/null | head -n 20
	head -c 600 "$BODY" 2>/dev/null | sed 's/^/     | /'
	echo
}

# assert NAME COMMAND...: a check of something other than a status.
assert() {
	local name=$1
	shift
	checks=$((checks + 1))
	if "$@"; then
		echo "ok   $name"
	else
		failures=$((failures + 1))
		echo "FAIL $name"
	fi
}

header() { tr -d '\r' <"$HDR" | sed -n "s/^$1: //Ip" | tail -n 1; }
body_has() { grep -q -- "$1" "$BODY"; }

echo "== proxy: koyomi on 127.0.0.1:$KPORT behind $PROXY on $BASE (work dir $WORK)"
start_koyomi
wait_for "$KOYOMI_PID" "http://127.0.0.1:$KPORT/healthz" || {
	show_logs
	die "koyomi did not start"
}
"start_$PROXY"
wait_for "$PROXY_PID" "$BASE/healthz" --cacert "$CERT" || {
	show_logs
	die "$PROXY did not start"
}

AUTH=(-u "$USER1:$PASS1")
CAL=$BASE/dav/calendars/$USER1/default
FROM2=(--interface 127.0.0.2)
FROM3=(--interface 127.0.0.3)

expect "GET /healthz over HTTP/2" 200 --http2 "$BASE/healthz"
assert "the proxy speaks HTTP/2" grep -q '^HTTP/2 200' "$HDR"
assert "/healthz answers ok" body_has ok

if [[ $PROXY == nginx ]]; then
	expect "plain HTTP is redirected" 308 -X PROPFIND "http://127.0.0.1:$HPORT/dav/"
	assert "to https, same path" test "$(header Location)" = "https://127.0.0.1/dav/"
fi

expect "PROPFIND /.well-known/caldav" 307 -X PROPFIND -H 'Depth: 0' "$BASE/.well-known/caldav"
assert "redirects to /dav/" test "$(header Location)" = /dav/

expect "PROPFIND without credentials" 401 -X PROPFIND -H 'Depth: 0' "$BASE/dav/"
assert "asks for Basic credentials" bash -c "grep -qi '^WWW-Authenticate: Basic' '$HDR'"

expect "PROPFIND current-user-principal" 207 "${AUTH[@]}" -X PROPFIND -H 'Depth: 0' \
	-H 'Content-Type: application/xml' --data-binary \
	'<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>' \
	"$BASE/dav/"
assert "names alice's principal" body_has "/dav/principals/$USER1/"

expect "PROPFIND calendar-home-set" 207 "${AUTH[@]}" -X PROPFIND -H 'Depth: 0' \
	-H 'Content-Type: application/xml' --data-binary \
	'<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><c:calendar-home-set/></d:prop></d:propfind>' \
	"$BASE/dav/principals/$USER1/"
assert "names alice's calendar home" body_has "/dav/calendars/$USER1/"

ics proxy-1 600 >"$WORK/event.ics"
expect "PUT an event" 201 "${AUTH[@]}" -X PUT -H 'If-None-Match: *' -H 'Content-Type: text/calendar' \
	--data-binary "@$WORK/event.ics" "$CAL/proxy-1.ics"
etag=$(header ETag)
assert "PUT gives an ETag" test -n "$etag"
expect "GET the event" 200 "${AUTH[@]}" "$CAL/proxy-1.ics"
assert "GET gives the bytes sent" cmp -s "$WORK/event.ics" "$BODY"
assert "GET gives the same ETag" test "$(header ETag)" = "$etag"
expect "PUT If-None-Match: * again" 412 "${AUTH[@]}" -X PUT -H 'If-None-Match: *' \
	-H 'Content-Type: text/calendar' --data-binary "@$WORK/event.ics" "$CAL/proxy-1.ics"

expect "MOVE with a Destination on the proxy's host and port" 201 "${AUTH[@]}" -X MOVE \
	-H "Destination: $CAL/proxy-2.ics" "$CAL/proxy-1.ics"
expect "GET the moved event" 200 "${AUTH[@]}" "$CAL/proxy-2.ics"
expect "GET where it was" 404 "${AUTH[@]}" "$CAL/proxy-1.ics"

ics big "$((LIMIT - 512))" >"$WORK/big.ics"
expect "PUT $((LIMIT - 512)) bytes (limit $LIMIT)" 201 "${AUTH[@]}" -X PUT -H 'Content-Type: text/calendar' \
	--data-binary "@$WORK/big.ics" "$CAL/big.ics"
expect "GET it" 200 "${AUTH[@]}" "$CAL/big.ics"
assert "GET gives the large event whole" cmp -s "$WORK/big.ics" "$BODY"
ics bigger "$((LIMIT + 1))" >"$WORK/bigger.ics"
expect "PUT $((LIMIT + 1)) bytes" 413 "${AUTH[@]}" -X PUT -H 'Content-Type: text/calendar' \
	--data-binary "@$WORK/bigger.ics" "$CAL/bigger.ics"
expect "nothing was stored" 404 "${AUTH[@]}" "$CAL/bigger.ics"

# Lock 127.0.0.2 with wrong passwords (for names that do not exist, so no
# name is locked), waiting out each short lock until one lasts eight seconds.
# Koyomi sees 127.0.0.2 only if the proxy passes it in X-Forwarded-For: the
# TCP peer is always the proxy.
lock=0
for n in $(seq 12); do
	code=$(curl -sS --cacert "$CERT" --max-time 10 "${FROM2[@]}" -u "nobody$n:wrong" -D "$HDR" -o /dev/null \
		-w '%{http_code}' -X PROPFIND -H 'Depth: 0' "$BASE/dav/") || code=error
	case $code in
	401) ;;
	429)
		lock=$(header Retry-After)
		[[ $lock =~ ^[0-9]+$ ]] || {
			echo "proxy: 429 without a Retry-After in seconds: '$lock'"
			lock=0
			break
		}
		((lock >= 8)) && break
		sleep "$lock"
		;;
	*)
		echo "proxy: a wrong password answered $code"
		break
		;;
	esac
done
assert "127.0.0.2 is locked out for a while (Retry-After $lock)" test "${lock:-0}" -ge 8
expect "alice from 127.0.0.2, the locked address" 429 "${FROM2[@]}" "${AUTH[@]}" -X PROPFIND -H 'Depth: 0' "$BASE/dav/"
expect "alice from 127.0.0.3, forging X-Forwarded-For: 127.0.0.2" 207 "${FROM3[@]}" "${AUTH[@]}" \
	-H 'X-Forwarded-For: 127.0.0.2' -X PROPFIND -H 'Depth: 0' "$BASE/dav/"
expect "anyone from 127.0.0.2 forging X-Forwarded-For: 127.0.0.3" 429 "${FROM2[@]}" "${AUTH[@]}" \
	-H 'X-Forwarded-For: 127.0.0.3' -X PROPFIND -H 'Depth: 0' "$BASE/dav/"

kill -0 "$KOYOMI_PID" 2>/dev/null || {
	failures=$((failures + 1))
	echo "FAIL koyomi died during the run"
}
kill -0 "$PROXY_PID" 2>/dev/null || {
	failures=$((failures + 1))
	echo "FAIL $PROXY died during the run"
}
((failures == 0)) || show_logs
echo "== proxy ($PROXY): $((checks - failures)) of $checks checks passed"
((failures == 0))
