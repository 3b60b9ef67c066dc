#!/usr/bin/env bash
# need-chromium.sh: make sure Debian's chromium is there for the web UI's
# browser tests (internal/ui), and python3 for the test that runs the Python
# example of docs/integrations.md (internal/cli). As root, install what is
# missing with apt-get; otherwise say how. Nothing is downloaded at run time
# by the tests themselves.
set -euo pipefail
if ! command -v python3 >/dev/null 2>&1; then
	if [ "$(id -u)" != 0 ]; then
		echo "need-chromium: python3 is missing; install it (Debian: sudo apt-get install python3)" >&2
		exit 1
	fi
	echo "need-chromium: installing python3 (apt-get install python3)" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 >/dev/null
fi
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
