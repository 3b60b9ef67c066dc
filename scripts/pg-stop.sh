#!/usr/bin/env bash
# pg-stop.sh DIR: stop the PostgreSQL that pg-start.sh started in DIR (by
# default $SLUICE_TEST_PG_DIR) and remove DIR. Stopping a server that is not
# running is no error.
set -euo pipefail

dir=${1:-${SLUICE_TEST_PG_DIR:-}}
if [ -z "$dir" ]; then
	echo "pg-stop: usage: pg-stop.sh DIR (or set SLUICE_TEST_PG_DIR)" >&2
	exit 2
fi
case "$(basename "$dir")" in
sluice-pg.*) ;;
*)
	echo "pg-stop: $dir is not a directory made by pg-start.sh" >&2
	exit 2
	;;
esac
if [ -f "$dir/data/postmaster.pid" ]; then
	bin=""
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		[ -x "$d/pg_ctl" ] && { bin=$d; break; }
	done
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
	else
		"$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
	fi
fi
rm -rf "$dir"
echo "pg-stop: stopped and removed $dir" >&2
