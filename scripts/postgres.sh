#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server: `scripts/postgres.sh cargo test -p warehouse`.
# Installs Debian's `postgresql` package if `initdb` is missing, makes a cluster in a temporary
# folder (owned by the `postgres` user when run as root: initdb and the server refuse root),
# starts it on a free loopback port, exports its URL as GENESYS_BI_TEST_POSTGRES, runs the
# command, and stops and removes the cluster at exit whatever happens. Password authentication
# over TCP (scram-sha-256), so tests of a wrong password are real; local socket: trust.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS…]  (runs COMMAND with GENESYS_BI_TEST_POSTGRES set)" >&2
    exit 2
fi

bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(bin_dir)" ] || [ ! -x "$(bin_dir)/initdb" ]; then
    echo "==> installing PostgreSQL (Debian's postgresql package)" >&2
    apt-get install -y -q postgresql >&2
fi
BIN="$(bin_dir)"

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

DIR="$(mktemp -d /tmp/genesys-bi-pg.XXXXXX)"
[ "$(id -u)" -eq 0 ] && chown postgres: "$DIR"
PORT="$(free_port)"
PASSWORD="test-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"

stop() {
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$DIR"
}
trap stop EXIT

printf '%s\n' "$PASSWORD" > "$DIR/pwfile"
[ "$(id -u)" -eq 0 ] && chown postgres: "$DIR/pwfile"
as_owner "$BIN/initdb" -D "$DIR/data" -U postgres --pwfile="$DIR/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 \
    || { cat "$DIR/initdb.log" >&2; exit 1; }
# Tests make many short-lived schemas and connections; fsync off: a throwaway cluster.
as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
    -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null || { cat "$DIR/server.log" >&2; exit 1; }

export GENESYS_BI_TEST_POSTGRES="postgres://postgres:$PASSWORD@127.0.0.1:$PORT/postgres"
# The server's own folder, for tests that start a second cluster of their own beside it.
export GENESYS_BI_TEST_POSTGRES_BIN="$BIN"
echo "==> PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT (removed at exit)" >&2
"$@"
