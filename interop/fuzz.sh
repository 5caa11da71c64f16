#!/usr/bin/env bash
# fuzz.sh runs every parser's native fuzz target on top of its seed corpus
# (which go test already runs on every change). Random fuzzing finds new
# inputs from run to run, so it is a tool for developers and not a CI gate;
# a crasher it finds is saved under the package's testdata/fuzz and then
# runs in go test like any other seed.
#
#   interop/fuzz.sh            # 30s per target
#   FUZZTIME=5m interop/fuzz.sh FuzzParseCompFilter
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

targets=(
	"./internal/ical FuzzParse"
	"./internal/vcard FuzzParse"
	"./internal/dav FuzzParsePropfind"
	"./internal/dav FuzzParsePropertyUpdate"
	"./internal/dav FuzzCapture"
	"./internal/davlock FuzzParseIf"
	"./internal/caldav FuzzParseCompFilter"
	"./internal/recur FuzzExpand"
	"./internal/recur/rrule FuzzIter"
	"./internal/tz FuzzLocation"
	"./internal/vcal FuzzPrivacy"
	"./internal/auth FuzzVerifyPassword"
	"./internal/domain FuzzVCDefinition"
	"./internal/caldav FuzzCalendarQuery"
	"./internal/bench FuzzParseFreeBusy"
)
only=${1:-}
rc=0
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	[[ -z $only || $only == "$name" ]] || continue
	echo "fuzz $pkg $name for ${FUZZTIME:-30s}"
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "${FUZZTIME:-30s}" "$pkg" || rc=1
done
exit $rc
