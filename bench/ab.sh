#!/usr/bin/env bash
# bench/ab.sh: compare sluice binaries under the load harness on a noisy
# machine. It runs the closed loop only, in short rounds, alternating the
# binaries (A B C A B C ...), so that a slow minute of the machine falls on
# every binary alike, and prints each binary's median runs/s and sluice
# CPU per run over the rounds, with their min-max.
#
#   go build -o /tmp/a ./cmd/sluice   # at the commit before
#   go build -o /tmp/b ./cmd/sluice   # at the commit after
#   ROUNDS=7 DURATION=5s bench/ab.sh /tmp/a /tmp/b
#
# DATABASE_URL=postgres://... runs every round on PostgreSQL instead
# (bench/load -database-url: a fresh database per round, dropped after),
# with one serve process, or PROCESSES of them; the per-run PostgreSQL
# backends' CPU is then in each round's line in bench/out/ab.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-5}"
DURATION="${DURATION:-5s}"
CLIENTS="${CLIENTS:-16}"
db=()
[[ -z "${DATABASE_URL:-}" ]] || db=(-database-url "$DATABASE_URL" -processes "${PROCESSES:-1}")
[[ $# -ge 1 ]] || { echo "usage: bench/ab.sh BINARY..." >&2; exit 2; }
out=bench/out
mkdir -p "$out"
go build -o "$out/load" ./bench/load
res="$out/ab.txt"
: > "$res"
for round in $(seq "$ROUNDS"); do
	for bin in "$@"; do
		line=$("$out/load" -sluice "$bin" "${db[@]}" -phases closed -duration "$DURATION" -clients "$CLIENTS" 2>/dev/null | grep '^closed loop' || true)
		echo "$bin round $round: ${line:-no result}" >> "$res"
	done
done
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $ROUNDS rounds of $DURATION, closed loop $CLIENTS clients"
for bin in "$@"; do
	grep -F "$bin round" "$res" | awk -v bin="$bin" 'BEGIN { n = 0 }
		{ m = 0; for (i = 1; i <= NF; i++) { if ($i == "runs/s,") r[n] = $(i-1); if ($i ~ /^ms\/run/) { if (m++ == 0) c[n] = $(i-1); else p[n] = $(i-1) } } n++ }
		function med(a, n,   i, j, t) { for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } return a[int((n-1)/2)] " (" a[0] "-" a[n-1] ")" }
		END { pg = ""; if (length(p) == n) pg = ", postgres backends CPU " med(p, n) " ms/run"
			printf "%s: %s runs/s, sluice CPU %s ms/run%s, median (min-max) of %d rounds\n", bin, med(r, n), med(c, n), pg, n }'
done
echo "every round: $res"
