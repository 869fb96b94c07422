#!/usr/bin/env bash
# Parse benchmark on the same recorded bytes, printing:
#  1. our typed parse of an aggregate page (MB/s, rows/s), serde alone, a raw serde_json::Value
#     parse and a scan-only floor (cargo bench -p genesys --bench parse);
#  2. the official Genesys Python SDK deserializing the same page (tests/sdk/parse_bench.py, in
#     the test venv), and the ratio of the two.
# The page is one day of PT15M conversation aggregates by queueId and mediaType, recorded from the
# emulator through the SDK's own HTTP client. Goals: typed >= 0.8 x raw, >= 250 MB/s, >= 150 x SDK.
# Usage: bench/parse.sh          (needs the venv: scripts/setup-test-env.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
python=".venv/bin/python"
[[ -x "$python" ]] || { echo "no $python: run scripts/setup-test-env.sh first" >&2; exit 1; }
cargo build --release --locked --quiet -p genesys-bi
bin="${CARGO_TARGET_DIR:-target}/release/genesys-bi"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

"$bin" emulator --port 0 --clock 2024-06-01T00:00:00Z --clock-rate 0 >"$work/emulator.out" 2>/dev/null &
for _ in $(seq 100); do grep -q '^GENESYS_EMULATOR_ADMIN=' "$work/emulator.out" 2>/dev/null && break; sleep 0.1; done
base="$(sed -n 's/^GENESYS_API_BASE=//p' "$work/emulator.out")"
[[ -n "$base" ]] || { echo "the emulator did not start" >&2; exit 1; }
mkdir "$work/pages"
(cd tests/sdk && "../../$python" parse_bench.py "$work/pages" --record "$base" genesys-bi-emulator emulator-secret) | tail -1

echo
echo "== Rust (typed = what the client decodes pages with)"
PARSE_BENCH_PAGE="$(ls "$work"/pages/*.json | head -1)" \
    cargo bench --locked --quiet -p genesys --bench parse 2>/dev/null | tee "$work/rust.txt"
echo
echo "== Python SDK"
(cd tests/sdk && "../../$python" parse_bench.py "$work/pages") | tee "$work/python.txt"

rust_mb=$(sed -n 's/^typed AggregateQueryResponse.*cpu [0-9.]* ms\/page *\([0-9.]*\) MB\/s.*/\1/p' "$work/rust.txt")
sdk_mb=$(sed -n 's/.*SDK deserialize: .*= *\([0-9.]*\) MB\/s.*/\1/p' "$work/python.txt" | head -1)
echo
if [[ -n "$rust_mb" && -n "$sdk_mb" ]]; then
    awk -v r="$rust_mb" -v p="$sdk_mb" 'BEGIN { printf "typed %.1f MB/s (cpu) vs SDK %.2f MB/s: %.0f x\n", r, p, r / p }'
else
    echo "(could not read both figures for the ratio; see above)"
fi
