#!/bin/sh
# test-packaging.sh checks what of the packaging can be checked without a
# container engine: the systemd unit (systemd-analyze verify, with the
# binary built into a temp dir) and the Dockerfile's build command, run
# outside Docker, giving a static binary that starts and answers /healthz.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
pid=

# The Dockerfile's build step, as written there.
CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X github.com/sluice-run/sluice/internal/cli.Version=packaging-test" \
  -o "$tmp/sluice" ./cmd/sluice
if command -v file >/dev/null && ! file "$tmp/sluice" | grep -q 'statically linked'; then
  echo "not a static binary: $(file "$tmp/sluice")"; exit 1
fi
"$tmp/sluice" version | grep -q '^sluice packaging-test' || { echo "version not stamped"; exit 1; }

# The container's environment: settings from SLUICE_* only.
SLUICE_ADDR=127.0.0.1:0 SLUICE_DATA_DIR="$tmp/data" SLUICE_LOG_FORMAT=json \
  "$tmp/sluice" serve >"$tmp/out" 2>"$tmp/err" &
pid=$!
url=
for _ in $(seq 1 100); do
  url=$(sed -n 's/^sluice listening on //p' "$tmp/out" 2>/dev/null)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "serve did not start:"; cat "$tmp/err"; exit 1; }
if command -v wget >/dev/null; then wget -qO- "$url/healthz" | grep -q '"ok":true'
else curl -fsS "$url/healthz" | grep -q '"ok":true'; fi
kill -TERM $pid; wait $pid; pid=

# The systemd unit, pointing at the binary built above.
if command -v systemd-analyze >/dev/null; then
  sed "s|/usr/local/bin/sluice|$tmp/sluice|" deploy/sluice.service >"$tmp/sluice.service"
  systemd-analyze verify "$tmp/sluice.service"
fi
echo "packaging checks passed"
