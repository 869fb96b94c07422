#!/usr/bin/env bash
# Memory of a backfill as the org grows (release build), printing for each org size: the rows
# stored, wall time, rows/s and peak RSS of `genesys-bi backfill --dataset agent_performance`
# (or `agent_status`, with DATASET=agent_status)
# at the default concurrency, and the emulator's own peak RSS. Goal: the backfill's peak RSS
# under 150 MB at every size, rows/s no lower than before.
#
# An org of N agents is emulated as N/10 queues and 100·N conversations a day (the demo's
# ratio: 200 agents, 20,000 conversations), the rate limit lifted.
# Usage: bench/backfill-memory.sh [days] [agents…]   (default: 3 days; 200 5000 20000 agents)
# Try a short range first (`bench/backfill-memory.sh 1 200 5000`): the 20,000-agent org is
# large for both processes. GENESYS_BI_BIN=path/to/genesys-bi measures that binary instead of
# building this tree (before/after comparisons). QUERY_MODE=job|query|auto sets the dataset's
# query_mode (default: the config's default, auto). DATASET=agent_status measures the users
# aggregates' agent_status dataset (PT15M by userId, 15 status columns) instead;
# DATASET=agent_status_intervals the users details' status intervals (one row per interval).
# CONVERSATIONS_PER_AGENT=n sets the conversations a day per agent (default 100).
set -euo pipefail
cd "$(dirname "$0")/.."
days="${1:-3}"
shift || true
sizes=("$@")
dataset="${DATASET:-agent_performance}"
[ ${#sizes[@]} -gt 0 ] || sizes=(200 5000 20000)
now="2024-12-31T12:00:00Z"
from="$(python3 -c "import datetime,sys; print((datetime.date(2024,12,31) - datetime.timedelta(days=int(sys.argv[1]))).isoformat())" "$days")"
if [ -n "${GENESYS_BI_BIN:-}" ]; then
  bin="$GENESYS_BI_BIN"
else
  cargo build --release -p genesys-bi --quiet
  bin="$(realpath "${CARGO_TARGET_DIR:-target}")/release/genesys-bi"
fi
work="$(mktemp -d)"
emulator_pid=""
trap '[ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null; rm -rf "$work"' EXIT

start_emulator() { # agents → sets base, emulator_pid
  local agents="$1"
  "$bin" emulator --port 0 --clock "$now" --clock-rate 0 --rate-limit-per-minute 1000000 \
    --agents "$agents" --queues $(( agents / 10 > 1 ? agents / 10 : 1 )) \
    --conversations-per-day $(( agents * ${CONVERSATIONS_PER_AGENT:-100} )) >"$work/emulator.out" 2>/dev/null &
  emulator_pid=$!
  for _ in $(seq 300); do grep -q '^GENESYS_EMULATOR_ADMIN=' "$work/emulator.out" 2>/dev/null && break; sleep 0.1; done
  base="$(sed -n 's/^GENESYS_API_BASE=//p' "$work/emulator.out")"
  [ -n "$base" ] || { echo "the emulator did not start for $agents agents" >&2; exit 1; }
}

write_config() { # agents
  cat >"$work/genesys-bi.toml" <<TOML
[genesys]
api_base = "$base"
client_id = "genesys-bi-emulator"
client_secret = "emulator-secret"
requests_per_minute = 1000000

[store]
sqlite = "$work/store-$1.db"

TOML
  if [ "$dataset" = agent_status_intervals ]; then
    cat >>"$work/genesys-bi.toml" <<'TOML'
[[datasets]]
name = "agent_status_intervals"
kind = "users_details"
TOML
  elif [ "$dataset" = agent_status ]; then
    cat >>"$work/genesys-bi.toml" <<'TOML'
[[datasets]]
name = "agent_status"
kind = "users"
metrics = ["tSystemPresence", "tAgentRoutingStatus"]
group_by = ["userId"]
TOML
  else
    cat >>"$work/genesys-bi.toml" <<'TOML'
[[datasets]]
name = "agent_performance"
metrics = ["nConnected", "tAnswered", "tAlert", "tTalk", "tHeld", "tAcw", "tHandle", "nTransferred"]
group_by = ["userId", "mediaType"]
TOML
  fi
  if [ -n "${QUERY_MODE:-}" ]; then echo "query_mode = \"$QUERY_MODE\"" >>"$work/genesys-bi.toml"; fi
}

printf '%-8s %10s %8s %10s %14s %14s\n' agents rows wall_s rows_per_s backfill_rss_mb emulator_rss_mb
for agents in "${sizes[@]}"; do
  start_emulator "$agents"
  write_config "$agents"
  started=$(date +%s.%N)
  (cd "$work" && /usr/bin/time -f "%M" -o "$work/rss" \
    "$bin" backfill --dataset "$dataset" --from "$from" --to "${now%%T*}" --now "$now" >/dev/null)
  ended=$(date +%s.%N)
  emulator_kb=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$emulator_pid/status")
  kill "$emulator_pid"; wait "$emulator_pid" 2>/dev/null || true; emulator_pid=""
  rows=$(sqlite3 "$work/store-$agents.db" "select count(*) from $dataset")
  python3 - "$agents" "$rows" "$started" "$ended" "$(cat "$work/rss")" "$emulator_kb" <<'PY'
import sys
agents, rows, started, ended, rss_kb, emulator_kb = sys.argv[1:]
wall = float(ended) - float(started)
print(f"{agents:<8} {int(rows):>10} {wall:>8.1f} {int(rows) / wall:>10.0f} {int(rss_kb) // 1024:>14} {int(emulator_kb) // 1024:>14}")
PY
  rm -f "$work/store-$agents.db"*
done
