#!/usr/bin/env bash
# Sync benchmark against the emulator (release builds), printing:
#  1. wall time of a 90-day backfill of the default datasets at 300 requests/min, against the
#     floor (analytics requests ÷ rate), and the number of 429s (goal: wall ≤ 1.05 × floor, 0 × 429);
#  2. peak RSS of a one-year backfill of the same datasets (goal: < 150 MB), rate limit lifted.
# Usage: bench/sync-backfill.sh [days-for-the-timed-run]   (default 90)
set -euo pipefail
cd "$(dirname "$0")/.."
days="${1:-90}"
now="2024-12-31T12:00:00Z"
cargo build --release -p genesys-bi --quiet
bin="${CARGO_TARGET_DIR:-target}/release/genesys-bi"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

start_emulator() { # rate-per-minute → sets base, admin
  "$bin" emulator --port 0 --clock "$now" --clock-rate 0 --rate-limit-per-minute "$1" >"$work/emulator.out" 2>/dev/null &
  for _ in $(seq 100); do grep -q '^GENESYS_EMULATOR_ADMIN=' "$work/emulator.out" 2>/dev/null && break; sleep 0.1; done
  base="$(sed -n 's/^GENESYS_API_BASE=//p' "$work/emulator.out")"
  admin="$(sed -n 's/^GENESYS_EMULATOR_ADMIN=//p' "$work/emulator.out")"
}

write_config() { # backfill-start requests-per-minute
  cat >"$work/genesys-bi.toml" <<TOML
[genesys]
api_base = "$base"
client_id = "genesys-bi-emulator"
client_secret = "emulator-secret"
requests_per_minute = $2

[store]
sqlite = "$work/store-$1.db"
TOML
  
  # The default datasets, each with the requested history.
  python3 - "$work/genesys-bi.toml" "$1" <<'PY'
import sys
path, start = sys.argv[1], sys.argv[2]
datasets = {
  "queue_performance": (["nOffered","nConnected","tAnswered","tAbandon","tShortAbandon","tWait","tTalk","tHeld","tAcw","tHandle","nTransferred","oServiceLevel"], ["queueId","mediaType"]),
  "agent_performance": (["nConnected","tAnswered","tAlert","tTalk","tHeld","tAcw","tHandle","nTransferred"], ["userId","mediaType"]),
  "wrapup_performance": (["tHandle","tAcw","tTalk"], ["queueId","wrapUpCode"]),
}
with open(path, "a") as f:
    for name, (metrics, group_by) in datasets.items():
        f.write(f'\n[[datasets]]\nname = "{name}"\nmetrics = {metrics!r}\ngroup_by = {group_by!r}\nbackfill_start = "{start}"\n'.replace("'", '"'))
PY
}

requests_of() { curl -s "$admin/counters" | jq '[.requests["/api/v2/analytics/conversations/aggregates/query"] // {} | to_entries[].value] | add // 0'; }

echo "== ${days}-day backfill of 3 datasets at 300 requests/min"
start_emulator 300
write_config "P${days}D" 300
started=$(date +%s.%N)
(cd "$work" && "$bin" sync --now "$now" >/dev/null)
ended=$(date +%s.%N)
requests=$(requests_of)
limited=$(curl -s "$admin/counters" | jq '.rateLimited')
python3 - "$started" "$ended" "$requests" "$limited" <<'PY'
import sys
started, ended, requests, limited = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
wall = ended - started
floor = requests / 300 * 60
print(f"analytics requests: {requests}; 429s: {limited}")
print(f"wall {wall:.1f} s vs floor {floor:.1f} s = {wall / floor:.3f} x floor (goal <= 1.05)")
PY
kill %1 2>/dev/null || true; wait 2>/dev/null || true

echo "== one-year backfill of 3 datasets, rate limit lifted: peak RSS"
start_emulator 1000000
write_config "P365D" 1000000
(cd "$work" && /usr/bin/time -f "%M" -o "$work/rss" "$bin" sync --now "$now" >/dev/null)
rows=$(python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(sum(c.execute(f'select count(*) from {t}').fetchone()[0] for t in ['queue_performance','agent_performance','wrapup_performance']))" "$work/store-P365D.db")
echo "requests: $(requests_of); rows stored: $rows; peak RSS of genesys-bi sync: $(( $(cat "$work/rss") / 1024 )) MB (goal < 150 MB)"
