#!/usr/bin/env bash
# with-postgres.sh CMD...: run CMD with a throwaway PostgreSQL
# (pg-start.sh) and SLUICE_TEST_DATABASE_URL pointing at it, then stop the
# server and remove its directory, whether CMD passed or failed (or the
# script was interrupted). Exits with CMD's status.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

env_lines=$("$here/pg-start.sh")
eval "$env_lines"
trap '"$here/pg-stop.sh" "$SLUICE_TEST_PG_DIR"' EXIT
trap 'exit 130' INT TERM
set +e
"$@"
status=$?
set -e
exit $status
