#!/usr/bin/env bash
# BI server benchmark on loopback (release builds), printing:
#  1. export of every row of a synthetic 10-million-row PT15M dataset (50 queues x voice/chat,
#     1,042 days) as CSV and as NDJSON: rows/s, and the server's peak RSS (VmHWM) over both
#     (goals: >= 1M rows/s, RSS < 64 MB);
#  2. p50/p99 latency of /v1/datasets/queue_performance/rows for one month, daily, by queue, at
#     64 concurrent connections with wrk (goal: p99 < 50 ms), for one repeated month (what a
#     refreshing dashboard sends), twelve different months taken in turn, and a month from each
#     of 1,000 days (too many answers to cache: computed); each again with gzip; then the
#     latency of months never asked before, one at a time (the uncached cost).
# Usage: bench/serve.sh [days]   (default 1042, i.e. 10,003,200 rows; the store is kept in
#        $GENESYS_BI_BENCH_DIR, default /var/tmp/genesys-bi-bench, and reused when it exists)
#        BENCH_EXPORT_ONLY=1 bench/serve.sh [days] runs part 1 only.
# Needs wrk (Debian's package; installed with apt-get when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
days="${1:-1042}"
queues=50
media=2
dir="${GENESYS_BI_BENCH_DIR:-/var/tmp/genesys-bi-bench}"
# serve2: stores written since the per-day rollup table exists (older ones lack it until a sync
# opens them, and would measure rollups from the stored buckets).
store="$dir/serve2-$days-$queues-$media.db"

if ! command -v wrk >/dev/null; then
    echo "installing wrk (Debian package)"
    sudo_cmd=(); [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y --no-install-recommends wrk >/dev/null \
        || { "${sudo_cmd[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y --no-install-recommends wrk >/dev/null; }
fi

# Two builds: with `--example`, one `cargo build` of both packages would skip genesys-bi's binary.
cargo build --release --locked --quiet -p genesys-bi
cargo build --release --locked --quiet -p server --example fill_store
target="${CARGO_TARGET_DIR:-target}/release"
bin="$target/genesys-bi"
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
printf '[store]\nsqlite = "%s"\n' "$store" >"$work/genesys-bi.toml"
key="$("$bin" keys --config "$work/genesys-bi.toml" create --name bench 2>/dev/null)"

"$bin" serve --config "$work/genesys-bi.toml" --listen 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
for _ in $(seq 100); do grep -q '^GENESYS_BI_URL=' "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
base="$(sed -n 's/^GENESYS_BI_URL=//p' "$work/serve.out")"
[[ -n "$base" ]] || { cat "$work/serve.err"; echo "the server did not start" >&2; exit 1; }
rss_kib() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$server_pid/status"; }

echo
echo "== export of $rows rows (server: release, $(nproc) cores, loopback)"
echo "server RSS after start: $(( $(rss_kib VmRSS) / 1024 )) MiB"
rows_url="$base/v1/datasets/queue_performance/rows"
for format in csv ndjson; do
    started=$(date +%s.%N)
    read -r lines bytes < <(curl -sS --fail -H "Authorization: Bearer $key" "$rows_url?format=$format" | wc -l -c)
    seconds=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
    expected=$rows; [[ $format == csv ]] && expected=$(( rows + 1 ))  # the header
    [[ "$lines" -eq "$expected" ]] || { echo "$format: $lines lines, expected $expected" >&2; exit 1; }
    awk -v f="$format" -v s="$seconds" -v b="$bytes" -v r="$rows" \
        'BEGIN { printf "%-7s %10d rows in %6.2f s = %9.0f rows/s, %6.1f MB/s (%.0f bytes)\n", f, r, s, r / s, b / s / 1e6, b }'
done
echo "server peak RSS (VmHWM) over both exports: $(( $(rss_kib VmHWM) / 1024 )) MiB"
[[ "${BENCH_EXPORT_ONLY:-}" == 1 ]] && exit 0

echo
echo "== /rows one month, P1D, group_by=queueId (JSON), 64 connections, 2 wrk threads, 20 s"
month_query() { # first day of month offset from 2024-01 → query string
    local start end
    start=$(date -u -d "2024-01-01 +$1 month" +%Y-%m-%d)
    end=$(date -u -d "2024-01-01 +$(( $1 + 1 )) month" +%Y-%m-%d)
    echo "from=${start}T00:00:00Z&to=${end}T00:00:00Z&granularity=P1D&group_by=queueId&limit=10000"
}
curl -sS --fail -H "Authorization: Bearer $key" "$rows_url?$(month_query 0)" -o "$work/one.json"
echo "one response: $(wc -c <"$work/one.json") bytes, $(python3 -c 'import json, sys; print(len(json.load(sys.stdin)["rows"]))' <"$work/one.json") rows"

wrk_script() { # request paths on stdin, one per line -> a wrk script asking them in turn
    echo "local paths = {"
    sed 's/.*/  "&",/'
    echo "}"
    cat <<'LUA'
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1])
end
LUA
}
for i in $(seq 0 11); do echo "/v1/datasets/queue_performance/rows?$(month_query "$i")"; done \
    | wrk_script >"$work/months.lua"
# A month from each of the first 1,000 days: 1,000 different answers (2 MB each) against a
# 32 MiB response cache, so nearly every request is computed.
for i in $(seq 0 999); do
    start=$(date -u -d "2024-01-01 +$i day" +%Y-%m-%d)
    end=$(date -u -d "$start +1 month" +%Y-%m-%d)
    echo "/v1/datasets/queue_performance/rows?from=${start}T00:00:00Z&to=${end}T00:00:00Z&granularity=P1D&group_by=queueId&limit=10000"
done | wrk_script >"$work/computed.lua"

run_wrk() { # label, extra wrk args...
    local label="$1"; shift
    echo "-- $label"
    wrk -t2 -c64 -d20s --latency -H "Authorization: Bearer $key" "$@" \
        | awk '/Latency Distribution/ { on = 1; next } on && /%/ { sub(/%/, "", $1); printf "   p%-4s %s\n", $1, $2 } /Requests\/sec|Non-2xx|Socket errors/ { print "   " $0 }'
}
run_wrk "the same month, repeated" "$rows_url?$(month_query 0)"
run_wrk "the same month, repeated, four metrics (a dashboard panel)" "$rows_url?$(month_query 0)&metrics=nOffered,tAnswered,tAbandon,tHandle"
run_wrk "twelve months in turn" -s "$work/months.lua" "$base"
run_wrk "a month from each of 1,000 days in turn (computed, not cached)" -s "$work/computed.lua" "$base"
gzip=(-H "Accept-Encoding: gzip")
run_wrk "the same month, repeated, gzip (as browsers, Power BI and Grafana ask)" "${gzip[@]}" "$rows_url?$(month_query 0)"
run_wrk "twelve months in turn, gzip" "${gzip[@]}" -s "$work/months.lua" "$base"
run_wrk "a month from each of 1,000 days in turn, gzip (computed and compressed)" "${gzip[@]}" -s "$work/computed.lua" "$base"
echo "-- one request at a time, months never asked before (computed, not cached)"
for i in $(seq 12 $(( days / 31 - 1 ))); do
    curl -sS --fail -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $key" "$rows_url?$(month_query "$i")"
done | sort -n | awk '{ t[NR] = $1 * 1000 } END { if (NR) printf "   p50 %.1f ms, max %.1f ms over %d months\n", t[int((NR + 1) / 2)], t[NR], NR }'
# Pooled connections map the store file: those pages are the kernel's page cache, counted once
# per mapping in RSS, so the heap (RssAnon) is shown apart.
echo "server at the end: peak RSS (VmHWM) $(( $(rss_kib VmHWM) / 1024 )) MiB, of it now: heap (RssAnon) $(( $(rss_kib RssAnon) / 1024 )) MiB, mapped store pages (RssFile) $(( $(rss_kib RssFile) / 1024 )) MiB"
