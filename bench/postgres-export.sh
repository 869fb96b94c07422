#!/usr/bin/env bash
# Export benchmark, PostgreSQL against SQLite and against psql, on loopback (release builds):
# the synthetic `queue_performance` dataset of bench/serve.sh (50 queues x voice/chat, PT15M)
# is copied into PostgreSQL with `genesys-bi store copy`, then `format=csv` of every row is
# read from a server on each backend, and the same rows are read by
# `psql -c "\copy (SELECT …) TO STDOUT WITH CSV"`. Prints rows/s of each, the servers' peak
# RSS (VmHWM), and the ratios. Goals (#12): PostgreSQL export >= 0.8 x psql's own and
# >= 1.0 x the SQLite export of the same rows; server RSS < 64 MB whatever the size. Also
# prints what the PostgreSQL server alone makes of the same rows with no client at all
# (`COPY (SELECT …) TO '/dev/null'`, binary, instants unformatted, as the export reads them;
# one backend, then two at once on halves of the rows): the ceiling of any client's export
# on this machine. That needs a superuser, as scripts/postgres.sh's is.
#
# Usage: bench/postgres-export.sh [days]   (default 1042, i.e. 10,003,200 rows; the SQLite
#        store is bench/serve.sh's, kept in $GENESYS_BI_BENCH_DIR, default
#        /var/tmp/genesys-bi-bench, and reused when it exists)
# The PostgreSQL server is scripts/postgres.sh's throwaway one unless GENESYS_BI_TEST_POSTGRES
# names one. PROFILE=debug measures a debug build (a quick check of the script, not figures);
# GENESYS_BI_BIN measures a binary built elsewhere (its fill_store example beside it).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${GENESYS_BI_TEST_POSTGRES:-}" ]]; then
    exec scripts/postgres.sh "$0" "$@"
fi
days="${1:-1042}"
queues=50
media=2
profile="${PROFILE:-release}"
dir="${GENESYS_BI_BENCH_DIR:-/var/tmp/genesys-bi-bench}"
store="$dir/serve2-$days-$queues-$media.db"
[[ "$profile" == release ]] || store="$dir/serve2-$days-$queues-$media-$profile.db"

flags=(--locked --quiet)
[[ "$profile" == release ]] && flags+=(--release)
if [[ -z "${GENESYS_BI_BIN:-}" ]]; then
    cargo build "${flags[@]}" -p genesys-bi
    cargo build "${flags[@]}" -p server --example fill_store
fi
bin="${GENESYS_BI_BIN:-${CARGO_TARGET_DIR:-target}/$profile/genesys-bi}"
target="$(dirname "$bin")"
mkdir -p "$dir"
if [[ ! -f "$store" ]]; then
    echo "filling $store ($days days x 96 x $queues queues x $media media)"
    "$target/examples/fill_store" "$store.tmp" "$days" "$queues" "$media" >/dev/null
    mv "$store.tmp" "$store"
    for suffix in -wal -shm; do [[ -f "$store.tmp$suffix" ]] && mv "$store.tmp$suffix" "$store$suffix"; done
fi
rows=$(( days * 96 * queues * media ))

work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
schema="bench_export"
url="$GENESYS_BI_TEST_POSTGRES"
# shellcheck source=bench/postgres-both.sh
source bench/postgres-both.sh
copy_into_postgres bench-export
serve "$work/sqlite.toml" sqlite
serve "$work/postgres.toml" postgres
rss_mib() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status" | awk '{ print int($1 / 1024) }'; }

seconds_of() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { print b - a }'; }
export_csv() { # base -> seconds
    local started lines
    started=$(date +%s.%N)
    lines=$(curl -sS --fail -H "Authorization: Bearer $key" \
        "$1/v1/datasets/queue_performance/rows?format=csv" | wc -l)
    [[ "$lines" -eq $(( rows + 1 )) ]] || { echo "$1: $lines lines, expected $(( rows + 1 ))" >&2; exit 1; }
    seconds_of "$started"
}

echo
echo "== format=csv of $rows rows ($profile, $(nproc) cores, loopback)"
sqlite_s=$(export_csv "$base_sqlite")
postgres_s=$(export_csv "$base_postgres")
# psql's own export of the same rows, in the same order, instants as the API writes them.
instant="'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'"
columns=$(psql "$url" -Atc "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum)
    FROM pg_attribute WHERE attrelid = '$schema.queue_performance'::regclass AND attnum > 2
      AND NOT attisdropped AND attname <> 'rowid'")
select="SELECT to_char(interval_start AT TIME ZONE 'UTC', $instant),
    to_char(interval_end AT TIME ZONE 'UTC', $instant), $columns
    FROM $schema.queue_performance
    ORDER BY interval_start, coalesce(queue_id, ''), coalesce(media_type, '')"
started=$(date +%s.%N)
psql_lines=$(psql "$url" -Atc "\\copy ($select) TO STDOUT WITH CSV" | wc -l)
psql_s=$(seconds_of "$started")
[[ "$psql_lines" -eq "$rows" ]] || { echo "psql: $psql_lines lines, expected $rows" >&2; exit 1; }

# The server alone: the rows as the export reads them (instants as timestamptz, binary), to
# nowhere; one backend, then two at once on the two halves of the time range.
raw="SELECT interval_start, interval_end, $columns FROM $schema.queue_performance"
order="ORDER BY interval_start, coalesce(queue_id, ''), coalesce(media_type, '')"
middle=$(psql "$url" -Atc "SELECT min(interval_start) + (max(interval_start) - min(interval_start)) / 2
    FROM $schema.queue_performance")
to_null() { psql "$url" -qc "COPY ($raw $1 $order) TO '/dev/null' (FORMAT binary)"; }
started=$(date +%s.%N)
to_null ""
alone_s=$(seconds_of "$started")
started=$(date +%s.%N)
to_null "WHERE interval_start < '$middle'" & first=$!
to_null "WHERE interval_start >= '$middle'"
wait "$first"
alone2_s=$(seconds_of "$started")

line() { awk -v n="$1" -v s="$2" -v r="$rows" 'BEGIN { printf "%-30s %7.2f s = %9.0f rows/s\n", n, s, r / s }'; }
line "SQLite export (server)" "$sqlite_s"
line "PostgreSQL export (server)" "$postgres_s"
line "psql \\copy (SELECT …) CSV" "$psql_s"
line "PostgreSQL alone, 1 backend" "$alone_s"
line "PostgreSQL alone, 2 backends" "$alone2_s"
echo "server peak RSS (VmHWM): SQLite $(rss_mib "$pid_sqlite" VmHWM) MiB, PostgreSQL $(rss_mib "$pid_postgres" VmHWM) MiB"
awk -v p="$postgres_s" -v q="$psql_s" -v s="$sqlite_s" -v a="$alone2_s" 'BEGIN {
    printf "PostgreSQL export / psql:   %.2f x  (goal >= 0.8)\n", q / p
    printf "PostgreSQL export / SQLite: %.2f x  (goal >= 1.0)\n", s / p
    printf "PostgreSQL alone, 2 backends, no client / SQLite export: %.2f x  (the ceiling)\n", s / a
}'
