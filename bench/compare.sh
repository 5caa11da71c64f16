#!/usr/bin/env bash
# Runs koyomi-bench side by side against Koyomi (on SQLite and on
# PostgreSQL), Radicale and Xandikos in one run, each started here on a free
# loopback port with fresh data, and renders a Markdown table of medians and
# ratios (bench/render.py).
#
#   bench/compare.sh [--events N] [--contacts M] [--duration D]
#                    [--servers "koyomi-sqlite koyomi-postgres radicale xandikos"]
#                    [--concurrency 1,8,32] [--rand-seed S] [--rev REV]
#                    [--phases a,b] [--seeding storage|put]
#                    [--out docs/performance.md] [--raw DIR]
#
# Koyomi is seeded over HTTP: koyomi-bench PUTs every object and reports the
# time. Radicale and Xandikos grow slower with every PUT (hours at ten
# thousand objects), so by default (--seeding storage) the same objects are
# written as files (koyomi-bench --export-calendar/--export-addressbook)
# into each server's own storage before it starts: Radicale's collection
# folders with their .Radicale.props, Xandikos's git repositories with one
# commit holding them all. koyomi-bench then runs with --preseeded, which
# lists and fetches every object over HTTP and stops unless the collections
# hold exactly the generated data. --seeding put seeds them by PUT as well.
# --phases passes a phase list to koyomi-bench (all by default).
#
# --rev builds Koyomi from a commit (git archive) instead of the work tree, so
# the numbers belong to a known revision. --out replaces the part of the file
# between the markers "<!-- bench:begin -->" and "<!-- bench:end -->" (the
# whole file when it has none), keeping any text around them; without --out
# the Markdown goes to standard output. --raw keeps every JSON report and log.
# The first Koyomi server is also measured against the tool's replay floor.
#
# Needs: go, curl, python3; radicale and xandikos (Debian packages) for those
# servers; psql and a PostgreSQL reachable as postgres@127.0.0.1:5432 without
# a password (override with PGURL) for koyomi-postgres.
set -euo pipefail

EVENTS=1000
CONTACTS=200
DURATION=10s
SERVERS="koyomi-sqlite koyomi-postgres radicale xandikos"
CONCURRENCY=1,8,32
RAND_SEED=1
PHASES=
SEEDING=storage
REV=
OUT=
RAW=
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
ARGS=("$@")

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

while (($#)); do
	case $1 in
	--events) EVENTS=$2 ;;
	--contacts) CONTACTS=$2 ;;
	--duration) DURATION=$2 ;;
	--servers) SERVERS=$2 ;;
	--concurrency) CONCURRENCY=$2 ;;
	--rand-seed) RAND_SEED=$2 ;;
	--phases) PHASES=$2 ;;
	--seeding) SEEDING=$2 ;;
	--rev) REV=$2 ;;
	--out) OUT=$2 ;;
	--raw) RAW=$2 ;;
	-h | --help) usage ;;
	*)
		echo "compare: unknown argument $1" >&2
		usage
		;;
	esac
	shift 2 || usage
done

for s in $SERVERS; do
	case $s in
	koyomi-sqlite | koyomi-postgres | radicale | xandikos) ;;
	*)
		echo "compare: unknown server $s" >&2
		exit 2
		;;
	esac
done

case $SEEDING in
storage | put) ;;
*)
	echo "compare: --seeding must be storage or put" >&2
	exit 2
	;;
esac

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PY=/usr/bin/python3
BENCH_USER=bench
BENCH_PASS=bench-secret-1

# Durations are whole seconds or Go durations with an s/m suffix; the bound
# on one koyomi-bench run is derived from them.
case $DURATION in
*ms) PHASE_SECONDS=1 ;;
*m) PHASE_SECONDS=$((${DURATION%m} * 60)) ;;
*s) PHASE_SECONDS=${DURATION%s} ;;
*)
	echo "compare: --duration must end in ms, s or m, e.g. 10s" >&2
	exit 2
	;;
esac
[[ $PHASE_SECONDS =~ ^[0-9]+$ ]] || {
	echo "compare: --duration must be a whole number of seconds or minutes" >&2
	exit 2
}
IFS=, read -r -a LEVELS <<<"$CONCURRENCY"
# 12 phases plus one mixed run per level, twice with the floor; a slow phase
# overruns its duration by at most one request, and seeding gets 30 minutes.
BENCH_LIMIT=$(((12 + ${#LEVELS[@]}) * 2 * (PHASE_SECONDS + 60) + 1800))

WORK=$(mktemp -d "${TMPDIR:-/tmp}/koyomi-compare.XXXXXX")
SERVER_PID=
PG_DB=

stop_server() {
	[[ -n $SERVER_PID ]] || return 0
	if kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$SERVER_PID" 2>/dev/null; then
			echo "compare: server did not stop on SIGTERM within 5s; killing it" >&2
			kill -KILL "$SERVER_PID" 2>/dev/null || true
		fi
	fi
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=
}

drop_db() {
	[[ -n $PG_DB ]] || return 0
	timeout 30 psql "$PGURL/postgres?sslmode=disable" -qAt -v ON_ERROR_STOP=1 \
		-c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 ||
		echo "compare: could not drop database $PG_DB" >&2
	PG_DB=
}

cleanup() {
	stop_server
	drop_db
	if [[ -n $RAW ]]; then
		mkdir -p "$RAW"
		cp "$WORK"/*.json "$WORK"/*.log "$RAW"/ 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_ready polls until the server answers HTTP at all, for at most 30s.
wait_ready() {
	local url=$1 log=$2
	for _ in $(seq 150); do
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			echo "compare: server exited before becoming ready; its log:" >&2
			tail -n 40 "$log" >&2
			return 1
		fi
		if curl -s -o /dev/null --max-time 2 "$url"; then
			return 0
		fi
		sleep 0.2
	done
	echo "compare: server not ready after 30s; its log:" >&2
	tail -n 40 "$log" >&2
	return 1
}

# build puts koyomi and koyomi-bench into $WORK/bin, from REV when given.
build() {
	local src=$ROOT
	# Resolved now: other commits may land while the run goes on.
	KOYOMI_REV=$(git -C "$ROOT" rev-parse --short "${REV:-HEAD}")
	if [[ -z $REV && -n $(git -C "$ROOT" status --porcelain -- cmd internal go.mod go.sum) ]]; then
		KOYOMI_REV+=" plus uncommitted changes"
	fi
	if [[ -n $REV ]]; then
		src=$WORK/src
		mkdir -p "$src"
		git -C "$ROOT" archive "${KOYOMI_REV%% *}" | tar -x -C "$src"
	fi
	echo "compare: building koyomi and koyomi-bench from ${REV:-the work tree}" >&2
	(cd "$src" && go build -o "$WORK/bin/koyomi" ./cmd/koyomi && go build -o "$WORK/bin/koyomi-bench" ./cmd/koyomi-bench)
}

# export_objects writes the generated events and contacts as files into two
# directories, named and with the bytes koyomi-bench would PUT.
export_objects() {
	timeout 600 "$WORK/bin/koyomi-bench" --seed "$EVENTS" --contacts "$CONTACTS" --rand-seed "$RAND_SEED" \
		--export-calendar "$1" --export-addressbook "$2" >&2
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# seed_radicale_storage fills Radicale's filesystem storage as MKCALENDAR,
# extended MKCOL and PUTs would: /USER/cal/ and /USER/ab/ are folders under
# collection-root holding the items, each with a .Radicale.props whose
# "tag" makes it a calendar or an address book (the principal folder
# /USER/ has no props when Radicale makes it either). Radicale builds its
# item cache on first read, which the check of --preseeded does.
seed_radicale_storage() {
	local home=$1/collection-root/$BENCH_USER
	export_objects "$home/cal" "$home/ab"
	printf '%s' '{"C:supported-calendar-component-set": "VEVENT", "D:displayname": "bench", "tag": "VCALENDAR"}' \
		>"$home/cal/.Radicale.props"
	printf '%s' '{"D:displayname": "bench", "tag": "VADDRESSBOOK"}' >"$home/ab/.Radicale.props"
}

# seed_xandikos_storage fills Xandikos's storage as `--defaults`, MKCALENDAR,
# extended MKCOL and PUTs would: every collection is a git repository with a
# work tree (Xandikos's TreeGitStore) under DIR/user/, the homes calendars/
# and contacts/ are bare of commits, and a collection's type and display
# name are the file .xandikos in its tree, committed by Xandikos's own
# store code. The objects are files in the work tree, entered in the git
# index as Xandikos enters them (the index lists a collection's members and
# gives their ETags), in one commit instead of one per PUT.
seed_xandikos_storage() {
	local user=$1/user
	"$PY" - "$user" <<'EOF'
import os, sys
from xandikos.store import STORE_TYPE_ADDRESSBOOK, STORE_TYPE_CALENDAR
from xandikos.store.git import TreeGitStore

user = sys.argv[1]
os.makedirs(user)
for home, kind in (("calendars", STORE_TYPE_CALENDAR), ("contacts", STORE_TYPE_ADDRESSBOOK)):
    TreeGitStore.create(os.path.join(user, home))
    store = TreeGitStore.create(os.path.join(user, home, "bench"))
    store.set_type(kind)
    store.set_displayname("bench")
EOF
	export_objects "$user/calendars/bench" "$user/contacts/bench"
	"$PY" - "$user/calendars/bench" "$user/contacts/bench" <<'EOF'
import os, sys
import dulwich.repo
from dulwich.index import IndexEntry, index_entry_from_stat
from dulwich.objects import Blob

for path in sys.argv[1:]:
    repo = dulwich.repo.Repo(path)
    index = repo.open_index()
    names = sorted(n for n in os.listdir(path) if n not in (".git", ".xandikos"))
    for name in names:
        p = os.path.join(path, name)
        with open(p, "rb") as f:
            blob = Blob.from_string(f.read())
        repo.object_store.add_object(blob)
        index[name.encode("utf-8")] = IndexEntry(*index_entry_from_stat(os.lstat(p), blob.id, 0))
    index.write()
    repo.do_commit(f"Add {len(names)} objects exported by koyomi-bench".encode("utf-8"),
                   tree=index.commit(repo.object_store))
EOF
}

# Each start_* sets SERVER_PID, BENCH_URLS (the koyomi-bench flags naming
# the account and the collections) and SEED_FLAGS (--create, or
# --preseeded when it filled the storage itself, which it then timed in
# STORAGE_MS).
start_koyomi() {
	local store=$1 port=$2 log=$3
	local data=$WORK/data-$store
	local flags=(--data "$data")
	mkdir -p "$data"
	if [[ $store == postgres ]]; then
		PG_DB=koyomi_compare_$$_$RANDOM
		timeout 30 psql "$PGURL/postgres?sslmode=disable" -qAt -v ON_ERROR_STOP=1 \
			-c "CREATE DATABASE \"$PG_DB\"" >/dev/null
		flags+=(--store "$PGURL/$PG_DB?sslmode=disable")
	fi
	timeout 60 "$WORK/bin/koyomi" init "${flags[@]}" >>"$log" 2>&1
	printf '%s\n' "$BENCH_PASS" | timeout 60 "$WORK/bin/koyomi" user add "$BENCH_USER" "${flags[@]}" >>"$log" 2>&1
	"$WORK/bin/koyomi" serve --listen "127.0.0.1:$port" "${flags[@]}" >>"$log" 2>&1 &
	SERVER_PID=$!
	BENCH_URLS=(--url "http://127.0.0.1:$port/" --user "$BENCH_USER" --password "$BENCH_PASS")
	SEED_FLAGS=(--create)
}

start_radicale() {
	local port=$1 log=$2 data=$WORK/radicale
	mkdir -p "$data/collections"
	printf '%s:%s\n' "$BENCH_USER" "$BENCH_PASS" >"$data/users"
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
hosts = 127.0.0.1:$port

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
level = warning
mask_passwords = True
EOF
	SEED_FLAGS=(--create)
	if [[ $SEEDING == storage ]]; then
		local t0
		t0=$(now_ms)
		seed_radicale_storage "$data/collections"
		STORAGE_MS=$(($(now_ms) - t0))
		SEED_FLAGS=(--preseeded)
	fi
	"$PY" -m radicale --config "$data/config" >>"$log" 2>&1 &
	SERVER_PID=$!
	local base=http://127.0.0.1:$port/$BENCH_USER
	BENCH_URLS=(--user "$BENCH_USER" --password "$BENCH_PASS"
		--calendar-url "$base/cal/" --addressbook-url "$base/ab/")
}

start_xandikos() {
	local port=$1 log=$2 data=$WORK/xandikos
	mkdir -p "$data"
	SEED_FLAGS=(--create)
	if [[ $SEEDING == storage ]]; then
		local t0
		t0=$(now_ms)
		seed_xandikos_storage "$data"
		STORAGE_MS=$(($(now_ms) - t0))
		SEED_FLAGS=(--preseeded)
	fi
	# Xandikos has no authentication of its own; the tool sends Basic
	# credentials that it ignores.
	"$PY" /usr/bin/xandikos --defaults -d "$data" -l 127.0.0.1 -p "$port" >>"$log" 2>&1 &
	SERVER_PID=$!
	local base=http://127.0.0.1:$port/user
	BENCH_URLS=(--user "$BENCH_USER" --password "$BENCH_PASS"
		--calendar-url "$base/calendars/bench/" --addressbook-url "$base/contacts/bench/")
}

# measure starts one server, runs koyomi-bench against it and stops it again.
measure() {
	local name=$1 floor=$2 port log=$WORK/$1.log
	port=$(free_port)
	echo "compare: == $name on 127.0.0.1:$port" >&2
	STORAGE_MS=
	case $name in
	koyomi-sqlite) start_koyomi sqlite "$port" "$log" ;;
	koyomi-postgres) start_koyomi postgres "$port" "$log" ;;
	radicale) start_radicale "$port" "$log" ;;
	xandikos) start_xandikos "$port" "$log" ;;
	esac
	if [[ -n $STORAGE_MS ]]; then
		echo "compare: $name seeded by writing $EVENTS events and $CONTACTS contacts as files into its storage before start," \
			"in $(printf '%d.%03d' $((STORAGE_MS / 1000)) $((STORAGE_MS % 1000)))s; koyomi-bench checks them over HTTP (no PUT)" >&2
	else
		echo "compare: $name seeded over HTTP: koyomi-bench PUTs every object and times it" >&2
	fi
	wait_ready "http://127.0.0.1:$port/" "$log"
	local flags=("${BENCH_URLS[@]}" "${SEED_FLAGS[@]}" --seed "$EVENTS" --contacts "$CONTACTS"
		--rand-seed "$RAND_SEED" --duration "$DURATION" --concurrency "$CONCURRENCY"
		--pid "$SERVER_PID" --json)
	[[ $floor == 1 ]] && flags+=(--floor)
	[[ -n $PHASES ]] && flags+=(--phases "$PHASES")
	local rc=0 t0=$SECONDS
	# koyomi-bench exits non-zero when answers were wrong; the report is
	# still complete, and the table shows the failures.
	timeout --kill-after=10 "$BENCH_LIMIT" "$WORK/bin/koyomi-bench" "${flags[@]}" \
		>"$WORK/$name.json" 2> >(tee -a "$WORK/$name.bench.log" | grep --line-buffered -E '^(seed|check|preseeded|floor|server|  (error|wrong)|bench:)' >&2) || rc=$?
	echo "compare: $name done in $((SECONDS - t0))s (koyomi-bench exit $rc)" >&2
	if ! kill -0 "$SERVER_PID" 2>/dev/null; then
		echo "compare: $name died during the run" >&2
		echo "died during the run" >"$WORK/$name.died"
	fi
	stop_server
	drop_db
	if ((rc == 124 || rc == 137)); then
		echo "compare: koyomi-bench against $name hit the ${BENCH_LIMIT}s limit" >&2
	fi
	if [[ ! -s $WORK/$name.json ]]; then
		echo "compare: no report from $name; last lines of its logs:" >&2
		tail -n 20 "$WORK/$name.bench.log" "$log" >&2 || true
		return 1
	fi
	if [[ -n $STORAGE_MS ]]; then
		# The report says how its collections were filled (render.py's
		# "Seeding" line): files written into the storage, and how long that took.
		"$PY" - "$WORK/$name.json" "$STORAGE_MS" <<'EOF'
import json, sys
path, ms = sys.argv[1], int(sys.argv[2])
with open(path, encoding="utf-8") as f:
    report = json.load(f)
report["storage_seeding"] = "files written into its storage before start"
report["storage_seed_seconds"] = ms / 1000
with open(path, "w", encoding="utf-8") as f:
    json.dump(report, f, indent=2)
    f.write("\n")
EOF
	fi
}

load() { cut -d' ' -f1-3 /proc/loadavg; }

build
LOAD_BEFORE=$(load)
STARTED=$(date -u +%Y-%m-%dT%H:%MZ)
render_args=()
floor_done=0
for s in $SERVERS; do
	floor=0
	if [[ $s == koyomi-* && $floor_done == 0 ]]; then
		floor=1 floor_done=1
	fi
	if measure "$s" "$floor"; then
		render_args+=(--report "$s=$WORK/$s.json")
	else
		render_args+=(--missing "$s")
	fi
done
LOAD_AFTER=$(load)

pg_version=
[[ " $SERVERS " == *" koyomi-postgres "* ]] &&
	pg_version=$(timeout 10 psql "$PGURL/postgres?sslmode=disable" -qAt -c 'SHOW server_version' 2>/dev/null | cut -d' ' -f1)
radicale_version="not run" xandikos_version="not run"
[[ " $SERVERS " == *" radicale "* ]] && radicale_version=$("$PY" -m radicale --version 2>/dev/null || echo unknown)
[[ " $SERVERS " == *" xandikos "* ]] &&
	xandikos_version=$("$PY" /usr/bin/xandikos --version 2>/dev/null | awk '{print $NF}' || echo unknown)

md=$("$PY" "$HERE/render.py" "${render_args[@]}" \
	--meta "command=bench/compare.sh $(printf '%q ' "${ARGS[@]}" | sed 's/ $//')" \
	--meta "started=$STARTED" \
	--meta "cpus=$(nproc) × $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
	--meta "memory=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)" \
	--meta "load=$LOAD_BEFORE before, $LOAD_AFTER after (1, 5, 15 min)" \
	--meta "koyomi=$KOYOMI_REV, $(go version | cut -d' ' -f3)" \
	--meta "postgres=${pg_version:-not used}" \
	--meta "radicale=$radicale_version" \
	--meta "xandikos=$xandikos_version" \
	--meta "duration=$DURATION per phase")

if [[ -z $OUT ]]; then
	printf '%s\n' "$md"
else
	"$PY" - "$OUT" "$md" <<'EOF'
import os, sys
path, md = sys.argv[1], sys.argv[2]
begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
block = f"{begin}\n{md}\n{end}\n"
old = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
if begin in old and end in old:
    head, rest = old.split(begin, 1)
    new = head + block.rstrip("\n") + rest.split(end, 1)[1]
else:
    new = block
with open(path, "w", encoding="utf-8") as f:
    f.write(new)
EOF
	echo "compare: wrote $OUT" >&2
fi
