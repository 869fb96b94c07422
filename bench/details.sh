#!/usr/bin/env bash
# Details benchmark against the emulator (release build), on DAYS days at PER_DAY conversations a
# day (default 30 days at 20,000), printing:
#  1. the same details job results fetched with curl (their bytes) and decoded and written by
#     `genesys-bi sync` of `conversations` with the rate limit lifted: MB/s and conversations/s
#     into SQLite, and the sync's peak RSS (goal < 150 MB), and the same of `segments`;
#  2. the record datasets (agent_status_intervals, conversations, segments) synced at 300
#     requests a minute: requests against the planned minimum (per job one submit, one status,
#     one delete and its result pages), 429s, and wall time against the rate floor (requests ÷
#     300 a minute).
# Usage: bench/details.sh [DAYS] [PER_DAY]
set -euo pipefail
cd "$(dirname "$0")/.."
days="${1:-30}"
per_day="${2:-20000}"
now="2024-12-31T12:00:00Z"
cargo build --release --locked --quiet -p genesys-bi
bin="$(realpath "${CARGO_TARGET_DIR:-target}")/release/genesys-bi"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
from="$(date -u -d "${now%T*} - ${days} days" +%Y-%m-%d)"
to="${now%T*}"

start_emulator() { # rate-per-minute → sets base, login, admin
  "$bin" emulator --port 0 --clock "$now" --clock-rate 0 --rate-limit-per-minute "$1" \
    --conversations-per-day "$per_day" >"$work/emulator.out" 2>/dev/null &
  for _ in $(seq 200); do grep -q '^GENESYS_EMULATOR_ADMIN=' "$work/emulator.out" 2>/dev/null && break; sleep 0.1; done
  base="$(sed -n 's/^GENESYS_API_BASE=//p' "$work/emulator.out")"
  login="$(sed -n 's/^GENESYS_LOGIN_BASE=//p' "$work/emulator.out")"
  admin="$(sed -n 's/^GENESYS_EMULATOR_ADMIN=//p' "$work/emulator.out")"
  [[ -n "$base" ]] || { echo "the emulator did not start" >&2; exit 1; }
}

write_config() { # requests-per-minute store datasets…
  local rate="$1" store="$2"
  shift 2
  printf '[genesys]\napi_base = "%s"\nclient_id = "genesys-bi-emulator"\nclient_secret = "emulator-secret"\nrequests_per_minute = %s\n\n[store]\nsqlite = "%s"\n' \
    "$base" "$rate" "$store" >"$work/genesys-bi.toml"
  while (($#)); do
    printf '\n[[datasets]]\nname = "%s"\nkind = "%s"\nbackfill_start = "%s"\n' "$1" "$2" "$from" >>"$work/genesys-bi.toml"
    shift 2
  done
}

# One details job per local day, as the sync asks for them, its result pages saved: their bytes.
fetch_with_curl() {
  local token day next job cursor page=0
  token="$(curl -s -u genesys-bi-emulator:emulator-secret -d grant_type=client_credentials "$login/oauth/token" | jq -r .access_token)"
  day="$from"
  while [[ "$day" < "$to" || "$day" == "$to" ]]; do
    next="$(date -u -d "$day + 1 day" +%Y-%m-%d)"
    job="$(curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
      -d "{\"interval\":\"${day}T00:00:00.000Z/${next}T00:00:00.000Z\"}" \
      "$base/api/v2/analytics/conversations/details/jobs" | jq -r .jobId)"
    until [[ "$(curl -s -H "Authorization: Bearer $token" "$base/api/v2/analytics/conversations/details/jobs/$job" | jq -r .state)" == FULFILLED ]]; do sleep 0.05; done
    cursor=""
    while :; do
      page=$((page + 1))
      curl -s -H "Authorization: Bearer $token" \
        "$base/api/v2/analytics/conversations/details/jobs/$job/results?pageSize=1000${cursor:+&cursor=$cursor}" >"$work/pages/$page.json"
      cursor="$(jq -r '.cursor // empty' "$work/pages/$page.json")"
      [[ -n "$cursor" ]] || break
    done
    day="$next"
  done
}

requests() { # route-prefix → count
  curl -s "$admin/counters" | jq --arg p "$1" '[.requests | to_entries[] | select(.key | startswith($p)) | .value | to_entries[].value] | add // 0'
}

echo "== ${days} days at ${per_day} conversations a day: details job results decoded and written, rate lifted"
start_emulator 1000000
mkdir "$work/pages"
fetch_with_curl
bytes=$(cat "$work"/pages/*.json | wc -c)
write_config 1000000 "$work/lifted.db" conversations details
started=$(date +%s.%N)
(cd "$work" && /usr/bin/time -f "%M" -o "$work/rss" "$bin" sync --now "$now" >/dev/null)
ended=$(date +%s.%N)
stored=$(sqlite3 "$work/lifted.db" "select count(*) from conversations")
python3 - "$started" "$ended" "$bytes" "$stored" "$(cat "$work/rss")" <<'PY'
import sys
started, ended, size, stored, rss = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
wall = ended - started
print(f"job results {size / 1e6:.1f} MB (as curl fetched them), {stored} conversations stored in {wall:.1f} s")
print(f"{size / 1e6 / wall:.1f} MB/s, {stored / wall:,.0f} conversations/s into SQLite (jobs, decode, write)")
print(f"peak RSS of genesys-bi sync: {rss // 1024} MB (goal < 150 MB)")
PY
# The widest records: a day of segments is some ten rows a conversation.
write_config 1000000 "$work/segments.db" segments segments
(cd "$work" && /usr/bin/time -f "%M" -o "$work/rss" "$bin" sync --now "$now" >/dev/null)
echo "segments: $(sqlite3 "$work/segments.db" "select count(*) from segments") rows; peak RSS of genesys-bi sync: $(( $(cat "$work/rss") / 1024 )) MB (goal < 150 MB)"
kill %1 2>/dev/null || true; wait 2>/dev/null || true

echo
echo "== ${days} days of agent_status_intervals, conversations and segments at 300 requests a minute"
start_emulator 300
write_config 300 "$work/paced.db" agent_status_intervals users_details conversations details segments segments
started=$(date +%s.%N)
(cd "$work" && "$bin" sync --now "$now" >/dev/null)
ended=$(date +%s.%N)
counters="$(curl -s "$admin/counters")"
python3 - "$started" "$ended" "$counters" <<'PY'
import json, sys
started, ended, counters = float(sys.argv[1]), float(sys.argv[2]), json.loads(sys.argv[3])
requests = {route: sum(statuses.values()) for route, statuses in counters["requests"].items()}
analytics = {r: n for r, n in requests.items() if "/details/" in r}
def count(pred):
    return sum(n for r, n in analytics.items() if pred(r))
submits = count(lambda r: r.endswith("/details/jobs"))
pages = count(lambda r: r.endswith("/results"))
polls = count(lambda r: "{" in r and not r.endswith("/results") and not r.endswith("/availability"))
availability = count(lambda r: r.endswith("/availability"))
total = sum(analytics.values())
# Per job: its submit, one status, its delete (same route as the status: DELETE), its result pages.
minimum = 3 * submits + pages
wall = ended - started
floor = total / 300 * 60
for route, n in sorted(analytics.items()):
    print(f"  {route}: {n}")
print(f"details requests: {total} for {submits} jobs; planned minimum {minimum} (submit, status and delete per job, {pages} result pages); {total / minimum:.3f} x minimum")
print(f"429s: {counters['rateLimited']}")
print(f"wall {wall:.1f} s vs rate floor {floor:.1f} s = {wall / floor:.3f} x floor")
PY
