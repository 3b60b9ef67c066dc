#!/usr/bin/env bash
# need-chromium.sh: make sure Debian's chromium is there for the web UI's
# browser tests (internal/ui). As root, install it with apt-get when it is
# missing; otherwise say how. Nothing is downloaded at run time by the tests
# themselves.
set -euo pipefail
if [ -n "${SLUICE_TEST_SKIP_BROWSER:-}" ] || command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "need-chromium: chromium is missing; install it (Debian: sudo apt-get install chromium), or set SLUICE_TEST_SKIP_BROWSER=1 to skip the browser tests" >&2
	exit 1
fi
echo "need-chromium: installing chromium (apt-get install chromium)" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
