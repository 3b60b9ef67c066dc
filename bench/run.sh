#!/usr/bin/env bash
# bench/run.sh: run every benchmark that docs/performance.md reports, each
# next to its baseline in the same run, and print ns/op (and MB/s or
# ns/node where the benchmark reports them). Results go to bench/out/; copy
# the files a doc quotes to bench/results/ and commit them with the doc.
#
#   bench/run.sh            # default: -count 5
#   COUNT=10 bench/run.sh   # more samples (feed bench/out/*.txt to benchstat)
#   ONLY="store redact" bench/run.sh   # only those groups
#   bench/ranges.sh bench/results/store.txt   # the min-max of each figure
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT="${COUNT:-5}"
out=bench/out
mkdir -p "$out"

run() { # name package pattern [benchtime]
	local name=$1 pkg=$2 pattern=$3 bt=${4:-1s}
	# ONLY="store redact" runs only those groups.
	if [[ -n "${ONLY:-}" && " $ONLY " != *" $name "* ]]; then return 0; fi
	echo "== $name ($pkg $pattern)"
	go test -run '^$' -bench "$pattern" -benchmem -benchtime "$bt" -count "$COUNT" "$pkg" | tee "$out/$name.txt" | grep -E '^Benchmark' || true
}

uname -srm > "$out/machine.txt"
cat /proc/loadavg >> "$out/machine.txt" || true
grep -m1 'model name' /proc/cpuinfo >> "$out/machine.txt" || true
nproc >> "$out/machine.txt"
go version >> "$out/machine.txt"

run tmpl     ./internal/tmpl            'RenderWebhookConfig|RenderOutputsScaling'
run engine   ./internal/engine          'EngineRun|BaselineRawCommits' 300x
run store    ./internal/store/sqlite    'Apply$|ApplyParallel|RawInsert' 1000x
run redact   ./internal/redact          'Redact$|RedactClean' 5x
run webhook  ./internal/node/webhook    'Execute|RawNetHTTP'
run secret   ./internal/secret          'Resolve3'
run api      ./internal/api             'Runs$' 200x
run api-listruns ./internal/api         'MemberRunList' 20x
run api-getrun ./internal/api           'GetRun' 2000x
run catalog-write ./internal/autostart   'CatalogWrite' 500x
run waiting-memory ./internal/engine     'WaitingRunMemory' 10000x
run view-logs ./internal/view           'Load$|Encode$|LogMarshalJSON' 200x
echo "results in $out/; machine: $(tr '\n' ' ' < "$out/machine.txt")"
