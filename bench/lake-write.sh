#!/usr/bin/env bash
# Parquet written to the lake on local disk, against what an analyst would otherwise run:
# pyarrow.parquet.write_table of the same rows read from CSV. A store is filled once by a
# backfill from the emulator (release build); then, each timed in one run with its peak RSS:
#   genesys-bi lake export  (store rows → day files of Parquet, snappy, + manifest)
#   pyarrow                 (pyarrow.csv.read_csv of the same rows, same columns, then
#                            pyarrow.parquet.write_table, snappy)
# and the ratio of their rows/s (goal ≥ 1.0×, lake RSS < 150 MB).
# Usage: bench/lake-write.sh [days] [agents]   (default: 30 days of agent_performance, 200
# agents, some 19,000 rows a day). GENESYS_BI_BIN=path/to/genesys-bi measures that binary.
set -euo pipefail
cd "$(dirname "$0")/.."
days="${1:-30}"
agents="${2:-200}"
now="2024-12-31T12:00:00Z"
from="$(python3 -c "import datetime,sys; print((datetime.date(2024,12,31) - datetime.timedelta(days=int(sys.argv[1]))).isoformat())" "$days")"
to="2024-12-31"
python=".venv/bin/python"
[ -x "$python" ] || { echo "run scripts/setup-test-env.sh first (pyarrow in .venv)" >&2; exit 1; }
if [ -n "${GENESYS_BI_BIN:-}" ]; then
  bin="$GENESYS_BI_BIN"
else
  cargo build --release -p genesys-bi --quiet
  bin="${CARGO_TARGET_DIR:-target}/release/genesys-bi"
fi
work="$(mktemp -d)"
emulator_pid=""
trap '[ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null; rm -rf "$work"' EXIT

"$bin" emulator --port 0 --clock "$now" --clock-rate 0 --rate-limit-per-minute 1000000 \
  --agents "$agents" --queues $(( agents / 10 > 1 ? agents / 10 : 1 )) \
  --conversations-per-day $(( agents * 100 )) >"$work/emulator.out" 2>/dev/null &
emulator_pid=$!
for _ in $(seq 300); do grep -q '^GENESYS_EMULATOR_ADMIN=' "$work/emulator.out" 2>/dev/null && break; sleep 0.1; done
base="$(sed -n 's/^GENESYS_API_BASE=//p' "$work/emulator.out")"
[ -n "$base" ] || { echo "the emulator did not start" >&2; exit 1; }
cat >"$work/genesys-bi.toml" <<TOML
[genesys]
api_base = "$base"
client_id = "genesys-bi-emulator"
client_secret = "emulator-secret"
requests_per_minute = 1000000

[store]
sqlite = "$work/store.db"

[[datasets]]
name = "agent_performance"
metrics = ["nConnected", "tAnswered", "tAlert", "tTalk", "tHeld", "tAcw", "tHandle", "nTransferred"]
group_by = ["userId", "mediaType"]
TOML
echo "filling the store: $days days of agent_performance for $agents agents" >&2
(cd "$work" && "$bin" backfill --dataset agent_performance --from "$from" --to "$to" --now "$now" >/dev/null)
kill "$emulator_pid"; wait "$emulator_pid" 2>/dev/null || true; emulator_pid=""
printf '\n[lake]\npath = "%s/lake"\n' "$work" >>"$work/genesys-bi.toml"

started=$(date +%s.%N)
(cd "$work" && /usr/bin/time -f "%M" -o "$work/lake.rss" \
  "$bin" lake export --dataset agent_performance --from "$from" --to "$to" >"$work/lake.out")
ended=$(date +%s.%N)

# The same rows and columns as CSV (not timed), from the lake itself.
"$python" - "$work" <<'PY'
import sys, pyarrow.csv as csv, pyarrow.dataset as ds
work = sys.argv[1]
table = ds.dataset(f"{work}/lake/agent_performance", format="parquet", partitioning="hive").to_table()
csv.write_csv(table.drop_columns(["date"]), f"{work}/rows.csv")
PY
/usr/bin/time -f "%M" -o "$work/pyarrow.rss" "$python" - "$work" >"$work/pyarrow.out" <<'PY'
import sys, time, pyarrow as pa, pyarrow.csv as csv, pyarrow.parquet as pq
work = sys.argv[1]
started = time.perf_counter()
types = {"interval_start": pa.timestamp("ms", tz="UTC"), "interval_end": pa.timestamp("ms", tz="UTC")}
table = csv.read_csv(f"{work}/rows.csv", convert_options=csv.ConvertOptions(column_types=types))
pq.write_table(table, f"{work}/pyarrow.parquet", compression="snappy")
print(table.num_rows, time.perf_counter() - started)
PY

"$python" - "$started" "$ended" "$work" <<'PY'
import json, os, sys
started, ended, work = sys.argv[1:]
lake_seconds = float(ended) - float(started)
manifest = json.load(open(f"{work}/lake/agent_performance/_genesys_bi/manifest.json"))
rows = sum(w["rows"] for w in manifest["windows"])
lake_bytes = sum(f["bytes"] for w in manifest["windows"] for f in w["files"])
pa_rows, pa_seconds = open(f"{work}/pyarrow.out").read().split()
pa_rows, pa_seconds = int(pa_rows), float(pa_seconds)
lake_rss = int(open(f"{work}/lake.rss").read().split()[-1]) // 1024
pa_rss = int(open(f"{work}/pyarrow.rss").read().split()[-1]) // 1024
assert pa_rows == rows, (pa_rows, rows)
print(f"{'writer':<28} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'MB':>7} {'peak RSS MB':>12}")
print(f"{'genesys-bi lake export':<28} {rows:>10} {lake_seconds:>8.2f} {rows / lake_seconds:>10.0f} {lake_bytes / 1e6:>7.1f} {lake_rss:>12}")
pa_bytes = os.path.getsize(f"{work}/pyarrow.parquet")
print(f"{'pyarrow csv → write_table':<28} {rows:>10} {pa_seconds:>8.2f} {rows / pa_seconds:>10.0f} {pa_bytes / 1e6:>7.1f} {pa_rss:>12}")
print(f"ratio (lake rows/s ÷ pyarrow rows/s): {(rows / lake_seconds) / (rows / pa_seconds):.2f}x")
PY
