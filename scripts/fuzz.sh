#!/usr/bin/env bash
# scripts/fuzz.sh FUZZTIME PKG:FuzzName...: run each fuzz target for
# FUZZTIME (make fuzz). A target fails when the fuzzer found an input that
# fails it (it says "Failing input written to", and the input is saved
# under the package's testdata/fuzz/). Go's fuzzing coordinator also fails
# a run now and then with no input at all when -fuzztime ends while a
# worker is busy on a loaded machine ("context deadline exceeded",
# "fuzzing process hung or terminated unexpectedly"; golang/go#56238): such
# a run is retried once, after replaying the target's seed corpus without
# fuzzing, and fails only if it fails again.
#
# Each package's test binary is built once, with the coverage
# instrumentation `go test -fuzz` builds (go test -c -fuzz=.), and every
# target of the package runs from it, in the package's directory (its
# testdata/fuzz corpus) and with go test's fuzz cache
# ($GOCACHE/fuzz/<import path>), as `go test -fuzz` runs it. `go test
# -fuzz` per target linked the binary again for each target and ran them
# one after another; the binaries of all packages are built first, two
# at a time. A binary that says it was not built with coverage
# instrumentation fails the target.
#
# Minimization is off by default (FUZZMINIMIZETIME=0): on a run of a few
# seconds the workers spent most of it minimizing each new interesting
# input and overran -fuzztime by a second, which is what ended
# FuzzJSONBytes with "context deadline exceeded" in 3 runs of 5; without
# it the same 3 s make three times the executions and end on time. A
# failing input is still written, unminimized. FUZZMINIMIZETIME=60s (go
# test's default) minimizes, for longer runs by hand.
set -uo pipefail
go=${GO:-go}
fuzztime=$1
shift
bindir=$(mktemp -d "${TMPDIR:-/tmp}/sluice-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$bindir"' EXIT
cache=$("$go" env GOCACHE)/fuzz || exit 1

# The packages, each once, in the order of the targets.
pkgs=()
for t in "$@"; do
	pkg=${t%%:*}
	[[ " ${pkgs[*]} " == *" $pkg "* ]] || pkgs+=("$pkg")
done
# dir and import path of each package, and the binary's name for it.
declare -A dir imp bin
while read -r p d i; do
	dir[$p]=$d
	imp[$p]=$i
	bin[$p]=$bindir/$(tr '/.' '__' <<<"$i").test
done < <(for p in "${pkgs[@]}"; do "$go" list -f "$p {{.Dir}} {{.ImportPath}}" "$p" || exit 1; done)
if [ "${#dir[@]}" -ne "${#pkgs[@]}" ]; then
	echo "fuzz: go list failed for a package of: ${pkgs[*]}" >&2
	exit 1
fi

echo "fuzz: building ${#pkgs[@]} instrumented test binaries"
for p in "${pkgs[@]}"; do printf '%s\0%s\0' "$p" "${bin[$p]}"; done |
	xargs -0 -n2 -P2 sh -c 'out=$("$0" test -c -fuzz=. -o "$2" "$1" 2>&1) || { printf "fuzz: build %s:\n%s\n" "$1" "$out" >&2; exit 255; }' "$go" ||
	exit 1

status=0
for t in "$@"; do
	pkg=${t%%:*}
	name=${t##*:}
	b=${bin[$pkg]}
	for attempt in 1 2; do
		echo "fuzz $pkg $name for $fuzztime"
		out=$(cd "${dir[$pkg]}" && "$b" -test.run='^$' -test.fuzz="^$name\$" -test.fuzztime="$fuzztime" \
			-test.fuzzminimizetime="${FUZZMINIMIZETIME:-0}" -test.fuzzcachedir="$cache/${imp[$pkg]}" 2>&1)
		rc=$?
		printf '%s\n' "$out"
		if grep -q 'not built with coverage instrumentation' <<<"$out"; then
			echo "fuzz: $name ran without coverage guidance: its binary is not instrumented" >&2
			status=1
			break
		fi
		if [ "$rc" -eq 0 ]; then
			break
		fi
		if grep -q 'Failing input written to' <<<"$out"; then
			echo "fuzz: $name found a failing input (above)" >&2
			status=1
			break
		fi
		if ! (cd "${dir[$pkg]}" && "$b" -test.run="^$name\$"); then
			echo "fuzz: $name fails on its seed corpus" >&2
			status=1
			break
		fi
		if [ "$attempt" -eq 2 ]; then
			echo "fuzz: $name failed twice without a failing input" >&2
			status=1
			break
		fi
		echo "fuzz: $name stopped without a failing input and its seed corpus passes: the fuzzing engine's flake under load (golang/go#56238); running it again" >&2
	done
done
exit "$status"
