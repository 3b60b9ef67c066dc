#!/usr/bin/env bash
# bench/load-all.sh [LOAD FLAGS...]: run the load harness (bench/load) three
# times, one after the other, with the same flags: on SQLite, on PostgreSQL
# with one serve process, on PostgreSQL with two, writing each report to
# bench/out/load-{sqlite,pg1,pg2}.txt (and to stdout). The PostgreSQL server
# is the one SLUICE_TEST_DATABASE_URL names: run it through
# scripts/with-postgres.sh, as `make bench-load-all` does, for a throwaway
# cluster (fsync off: the header line of the report says so). Each
# PostgreSQL run gets a fresh database of its own, dropped after.
# SLUICE is the binary (bin/sluice). All three run even when one fails; the
# exit status is then 1.
#
#   scripts/with-postgres.sh bench/load-all.sh -duration 10s -clients 16 -rate 500
set -uo pipefail
: "${SLUICE_TEST_DATABASE_URL:?no PostgreSQL: run this through scripts/with-postgres.sh (make bench-load-all)}"
go=${GO:-go}
sluice=${SLUICE:-bin/sluice}
mkdir -p bench/out
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-load-all.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$go" build -o "$tmp/load" ./bench/load || exit 1

status=0
run() {
	local name=$1
	shift
	echo "== $name: bench/load $*" >&2
	"$tmp/load" -sluice "$sluice" "$@" 2>&1 | tee "bench/out/load-$name.txt"
	local rc=${PIPESTATUS[0]}
	if [ "$rc" -ne 0 ]; then
		echo "== $name failed (exit $rc)" >&2
		status=1
	fi
}
run sqlite "$@"
run pg1 -database-url "$SLUICE_TEST_DATABASE_URL" -processes 1 "$@"
run pg2 -database-url "$SLUICE_TEST_DATABASE_URL" -processes 2 "$@"
exit $status
