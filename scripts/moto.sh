# Sourced by scripts/test.sh: starts moto's S3 server (from .venv, tests/lake/requirements.txt)
# once for the whole test run, on a free port of 127.0.0.1, exports its URL as
# GENESYS_BI_TEST_S3_ENDPOINT for the lake tests, and stops it when the script exits (chained
# onto any EXIT trap already set). A test run alone without it starts its own.

moto_start() {
    local repo port started
    repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    port="$("$repo/.venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    "$repo/.venv/bin/moto_server" -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
    moto_pid=$!
    local previous
    previous="$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")"
    # shellcheck disable=SC2064 # expanded now on purpose: this pid, the trap already set
    trap "kill $moto_pid 2>/dev/null || true; ${previous:-:}" EXIT
    started=$SECONDS
    until "$repo/.venv/bin/python" -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; do
        if (( SECONDS - started > 60 )) || ! kill -0 "$moto_pid" 2>/dev/null; then
            echo "moto: the S3 server did not start on port $port" >&2
            return 1
        fi
        sleep 0.2
    done
    export GENESYS_BI_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
    printf 'moto: S3 server at %s (pid %s), up in %s s\n' "$GENESYS_BI_TEST_S3_ENDPOINT" "$moto_pid" "$((SECONDS - started))"
}

moto_start
