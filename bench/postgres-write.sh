#!/usr/bin/env bash
# The store's write rate into PostgreSQL against PostgreSQL's own ingest (not a timed test):
# a year of PT15M rows (365 windows of 12,000 rows) written by the store window by window as
# the sync writes them (binary COPY, day rollups, window log, watermark), then the same rows
# exported to CSV and loaded by `psql \copy` into an identical table (same columns, key index
# and identity). Prints both rates and their ratio (goal: ≥ 0.8). On a throwaway server
# (scripts/postgres.sh). GENESYS_BI_BENCH_DAYS=30 for a quicker look.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${GENESYS_BI_TEST_POSTGRES:-}" ]; then
    exec scripts/postgres.sh "$0" "$@"
fi
URL="$GENESYS_BI_TEST_POSTGRES"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"

psql -q "$URL" -c "DROP SCHEMA IF EXISTS bench_write CASCADE; DROP SCHEMA IF EXISTS bench_copy CASCADE;"
GENESYS_BI_BENCH_POSTGRES="$URL" GENESYS_BI_BENCH_SCHEMA=bench_write \
    cargo bench -q -p warehouse --bench postgres_write | tee "$WORK/store.txt"
read -r ROWS STORE_SECONDS < <(sed -n 's/^rows=\([0-9]*\) seconds=\([0-9.]*\)$/\1 \2/p' "$WORK/store.txt")

# The same rows and columns (not the identity), as CSV; an identical, empty table to load.
COLUMNS="$(psql -At "$URL" -c "SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position)
    FROM information_schema.columns
    WHERE table_schema = 'bench_write' AND table_name = 'queue_performance' AND column_name <> 'rowid'")"
psql -q "$URL" -c "\\copy (SELECT $COLUMNS FROM bench_write.queue_performance) TO '$WORK/rows.csv' WITH CSV"
psql -q "$URL" -c "CREATE SCHEMA bench_copy;
    CREATE TABLE bench_copy.queue_performance (LIKE bench_write.queue_performance INCLUDING ALL);"
STARTED="$(date +%s.%N)"
psql -q "$URL" -c "\\copy bench_copy.queue_performance ($COLUMNS) FROM '$WORK/rows.csv' WITH CSV"
COPY_SECONDS="$(echo "$(date +%s.%N) - $STARTED" | bc -l)"
LOADED="$(psql -At "$URL" -c "SELECT count(*) FROM bench_copy.queue_performance")"
[ "$LOADED" = "$ROWS" ] || { echo "psql loaded $LOADED rows, the store wrote $ROWS" >&2; exit 1; }

python3 - "$ROWS" "$STORE_SECONDS" "$COPY_SECONDS" <<'PY'
import sys
rows, store, copy = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
print(f"store (window by window, with day rollups): {rows / store:,.0f} rows/s ({store:.2f} s)")
print(f"psql \\copy from CSV, same rows and table:   {rows / copy:,.0f} rows/s ({copy:.2f} s)")
print(f"ratio store / psql: {copy / store:.2f} (goal >= 0.8)")
PY
