#!/usr/bin/env bash
# bench/ranges.sh: print, for each benchmark of go test -bench output files,
# the range (min-max) over its samples of every figure it reports (ns/op,
# MB/s, ns/node, B/op, allocs/op and custom metrics). docs/performance.md
# quotes these ranges from the files committed under bench/results/.
#
#   bench/ranges.sh bench/results/store.txt [more files]
set -euo pipefail
awk '
/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name)
	for (i = 3; i + 1 <= NF; i += 2) {
		key = name "\t" $(i + 1); v = $i + 0
		if (!(key in lo)) { order[++n] = key; lo[key] = v; hi[key] = v; cnt[key] = 0 }
		if (v < lo[key]) lo[key] = v
		if (v > hi[key]) hi[key] = v
		cnt[key]++
	}
}
function num(v) { return v >= 1000 ? sprintf("%.0f", v) : sprintf("%g", v) }
END {
	for (j = 1; j <= n; j++) {
		k = order[j]; split(k, p, "\t")
		printf "%-60s %-18s %s-%s (%d samples)\n", p[1], p[2], num(lo[k]), num(hi[k]), cnt[k]
	}
}' "$@"
