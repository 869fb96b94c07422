#!/usr/bin/env bash
# Uncached rollup latency, PostgreSQL against SQLite on the same rows, on loopback (release
# builds): bench/serve.sh's synthetic `queue_performance` store (50 queues x voice/chat, PT15M,
# 10,003,200 rows by default) is copied into PostgreSQL with `genesys-bi store copy`, a server
# is started on each backend, and one month, daily, by queue (`granularity=P1D&group_by=queueId`,
# with `Accept-Encoding: gzip`, as browsers, Power BI and Grafana ask) is requested one at a
# time, taking turns between the two servers. Each request is a month starting on a different
# day, never asked before, so no answer comes from the response cache: every one is computed
# and compressed. Prints p50/p90/max of each and the ratio of the p50s. Goal (#12):
# PostgreSQL's p50 within 2x SQLite's.
#
# Usage: bench/postgres-serve.sh [days] [requests]   (default 1042 days and 200 requests per
#        backend, at most days - 36; the SQLite store is bench/serve.sh's, kept in $GENESYS_BI_BENCH_DIR, default
#        /var/tmp/genesys-bi-bench, and reused when it exists)
# The PostgreSQL server is scripts/postgres.sh's throwaway one unless GENESYS_BI_TEST_POSTGRES
# names one.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${GENESYS_BI_TEST_POSTGRES:-}" ]]; then
    exec scripts/postgres.sh "$0" "$@"
fi
days="${1:-1042}"
requests="${2:-200}"
queues=50
media=2
dir="${GENESYS_BI_BENCH_DIR:-/var/tmp/genesys-bi-bench}"
store="$dir/serve2-$days-$queues-$media.db"

# GENESYS_BI_BIN measures a binary built elsewhere (its fill_store example beside it).
if [[ -z "${GENESYS_BI_BIN:-}" ]]; then
    cargo build --release --locked --quiet -p genesys-bi
    cargo build --release --locked --quiet -p server --example fill_store
fi
bin="${GENESYS_BI_BIN:-${CARGO_TARGET_DIR:-target}/release/genesys-bi}"
fill_store="$(dirname "$bin")/examples/fill_store"
mkdir -p "$dir"
if [[ ! -f "$store" ]]; then
    echo "filling $store ($days days x 96 x $queues queues x $media media)"
    "$fill_store" "$store.tmp" "$days" "$queues" "$media" >/dev/null
    mv "$store.tmp" "$store"
    for suffix in -wal -shm; do [[ -f "$store.tmp$suffix" ]] && mv "$store.tmp$suffix" "$store$suffix"; done
fi
rows=$(( days * 96 * queues * media ))
# Months starting on the first days, each ending inside the data (and a few left for warming).
(( requests <= days - 36 )) || requests=$(( days - 36 ))

work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
schema="bench_serve"
url="$GENESYS_BI_TEST_POSTGRES"
# shellcheck source=bench/postgres-both.sh
source bench/postgres-both.sh
copy_into_postgres bench-serve
# What a freshly loaded PostgreSQL store is like after autovacuum's first visit.
psql "$url" -qc "VACUUM ANALYZE" >/dev/null

serve "$work/sqlite.toml" sqlite
serve "$work/postgres.toml" postgres
rss_mib() { sed -n "s/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status" | awk '{ print int($1 / 1024) }'; }

month_path() { # day offset from 2024-01-01 -> the path of the month starting that day
    local start end
    start=$(date -u -d "2024-01-01 +$1 day" +%Y-%m-%d)
    end=$(date -u -d "$start +1 month" +%Y-%m-%d)
    echo "/v1/datasets/queue_performance/rows?from=${start}T00:00:00Z&to=${end}T00:00:00Z&granularity=P1D&group_by=queueId&limit=10000"
}
ask() { # base, path -> seconds (the gzip body is checked to be a whole page)
    curl -sS --fail -H "Authorization: Bearer $key" -H "Accept-Encoding: gzip" \
        -o "$work/body.gz" -w '%{time_total}\n' "$1$2"
    gzip -t "$work/body.gz"
}

echo
echo "== one month, P1D, by queue, gzip: $requests months never asked before, one request at a time, the backends in turn"
# Warm both: the first requests open pooled connections (and PostgreSQL's plan caches).
for day in $(seq "$(( days - 31 - 5 ))" "$(( days - 31 - 1 ))"); do
    ask "$base_sqlite" "$(month_path "$day")" >/dev/null
    ask "$base_postgres" "$(month_path "$day")" >/dev/null
done
: >"$work/sqlite.times"
: >"$work/postgres.times"
for day in $(seq 0 $(( requests - 1 ))); do
    path="$(month_path "$day")"
    ask "$base_sqlite" "$path" >>"$work/sqlite.times"
    ask "$base_postgres" "$path" >>"$work/postgres.times"
done
# Both servers answered the same month alike (the last one asked, decompressed).
same() {
    curl -sS --fail --compressed -H "Authorization: Bearer $key" "$base_sqlite$path" >"$work/sqlite.json"
    curl -sS --fail --compressed -H "Authorization: Bearer $key" "$base_postgres$path" >"$work/postgres.json"
    cmp -s "$work/sqlite.json" "$work/postgres.json"
}
same || { echo "the backends answered $path differently" >&2; exit 1; }

percentiles() { # times file -> "p50 p90 max" in ms
    sort -n "$1" | awk '{ t[NR] = $1 * 1000 } END { printf "%.1f %.1f %.1f\n", t[int((NR + 1) / 2)], t[int(NR * 0.9 + 0.5)], t[NR] }'
}
read -r sqlite_p50 sqlite_p90 sqlite_max < <(percentiles "$work/sqlite.times")
read -r postgres_p50 postgres_p90 postgres_max < <(percentiles "$work/postgres.times")
printf '%-12s p50 %7.1f ms, p90 %7.1f ms, max %7.1f ms over %d months\n' \
    SQLite "$sqlite_p50" "$sqlite_p90" "$sqlite_max" "$requests" \
    PostgreSQL "$postgres_p50" "$postgres_p90" "$postgres_max" "$requests"
echo "server peak RSS (VmHWM): SQLite $(rss_mib "$pid_sqlite") MiB, PostgreSQL $(rss_mib "$pid_postgres") MiB"
awk -v p="$postgres_p50" -v s="$sqlite_p50" \
    'BEGIN { printf "PostgreSQL p50 / SQLite p50: %.2f x  (goal <= 2.0)\n", p / s }'
