#!/usr/bin/env bash
# pg-start.sh: start a throwaway PostgreSQL for the tests, on a free loopback
# port, in a new temporary directory, and print on stdout the shell lines
# that point the tests at it:
#
#   export SLUICE_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable
#   export SLUICE_TEST_PG_DIR=/tmp/sluice-pg.XXXXXX
#
# so that `eval "$(scripts/pg-start.sh)"` sets both. Progress goes to
# stderr. scripts/pg-stop.sh "$SLUICE_TEST_PG_DIR" stops the server and
# removes the directory; scripts/with-postgres.sh does both around a command.
#
# PostgreSQL comes from Debian: nothing is installed when an initdb exists
# under /usr/lib/postgresql/*/bin; otherwise, as root, the postgresql
# package is installed with apt-get. initdb refuses to run as root, so as
# root the server runs as the postgres user (runuser) in a directory that
# user owns; as anyone else it runs as the current user.
#
# The server is for tests only: trust authentication, fsync off, listening
# on 127.0.0.1 and on a socket inside its own directory.
set -euo pipefail

log() { echo "pg-start: $*" >&2; }

find_bin() {
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

bin=$(find_bin || true)
if [ -z "$bin" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		log "no PostgreSQL server found under /usr/lib/postgresql/*/bin; install it (Debian: sudo apt-get install postgresql) and run again"
		exit 1
	fi
	log "installing PostgreSQL (apt-get install postgresql)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update >&2
	apt-get install -y --no-install-recommends postgresql >&2
	bin=$(find_bin) || { log "postgresql installed but no initdb found under /usr/lib/postgresql/*/bin"; exit 1; }
fi

# as runs a command as the server's user.
if [ "$(id -u)" -eq 0 ]; then
	if ! id postgres >/dev/null 2>&1; then
		log "running as root needs the postgres user (created by Debian's postgresql package)"
		exit 1
	fi
	as() { runuser -u postgres -- "$@"; }
else
	as() { "$@"; }
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/sluice-pg.XXXXXX")
chmod 700 "$dir"
if [ "$(id -u)" -eq 0 ]; then
	chown postgres: "$dir"
fi
cleanup_on_failure() {
	as "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup_on_failure ERR

log "initdb in $dir/data ($bin)"
as "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 || {
	cat "$dir/initdb.log" >&2
	false
}

# A free port: pick one at random and let the server tell whether it can
# bind it; try again on another when it cannot.
started=""
for attempt in 1 2 3 4 5 6 7 8; do
	port=$(( 20000 + RANDOM % 40000 ))
	if as "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
		-o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" \
		start >&2; then
		started=1
		break
	fi
	log "could not start on port $port (attempt $attempt); trying another"
	tail -n 5 "$dir/log" >&2 || true
done
if [ -z "$started" ]; then
	log "could not start PostgreSQL; see $dir/log"
	false
fi

for _ in $(seq 1 100); do
	if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; then
		break
	fi
	sleep 0.1
done
"$bin/pg_isready" -h 127.0.0.1 -p "$port" -U postgres >&2

trap - ERR
log "PostgreSQL listening on 127.0.0.1:$port (data in $dir)"
echo "export SLUICE_TEST_DATABASE_URL='postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable'"
echo "export SLUICE_TEST_PG_DIR='$dir'"
