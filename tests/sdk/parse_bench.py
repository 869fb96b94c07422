#!/usr/bin/env python3
"""How fast the official Genesys Python SDK turns aggregate query pages into its models.

usage:
  parse_bench.py DIR                         measure every DIR/*.json page
  parse_bench.py DIR --record API_BASE CLIENT_ID CLIENT_SECRET [--day 2024-05-01]
                                             first record one day, PT15M, by queueId and mediaType
                                             from a running emulator (or any Genesys org) into DIR

Each page goes through the SDK's own deserializer (`ApiClient.deserialize`, which every API
method calls on the HTTP response), json.loads included. Prints MB/s and rows/s, where a row
is one (group, interval) bucket and a stat is one metric of it; json.loads alone is shown too,
so the model-building share is visible. The Rust side of the comparison reads the same pages.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from PureCloudPlatformClientV2 import ApiClient

from sdk_support import RawClient, roundtrip_mismatches

MIN_ROUNDS = 3
MIN_SECONDS = 2.0
METRICS = ["nOffered", "tAnswered", "tAbandon", "tHandle", "oServiceLevel"]


class RecordedResponse:
    """What `ApiClient.deserialize` reads from an HTTP response: a content type and the text."""

    def __init__(self, text: str):
        self.data = text

    def getheader(self, name: str, default=None):
        return "application/json" if name.lower() == "content-type" else default


def model_for(page: dict) -> str:
    return "ConversationAsyncAggregateQueryResponse" if "cursor" in page else "ConversationAggregateQueryResponse"


def count_rows(page: dict) -> tuple[int, int]:
    rows = stats = 0
    for container in page.get("results") or []:
        for bucket in container.get("data") or []:
            rows += 1
            stats += len(bucket.get("metrics") or [])
    return rows, stats


def timed(fn, *args) -> float:
    """Best-of-several wall time of fn(*args) in seconds (at least MIN_ROUNDS, about MIN_SECONDS)."""
    times = []
    started = time.perf_counter()
    while len(times) < MIN_ROUNDS or time.perf_counter() - started < MIN_SECONDS:
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times), len(times)


def bench_page(client: ApiClient, path: Path) -> None:
    text = path.read_text()
    page = json.loads(text)
    model = model_for(page)
    parsed = client.deserialize(RecordedResponse(text), model)
    problems = roundtrip_mismatches(page, parsed)
    if problems:
        raise SystemExit(f"{path.name}: the SDK model loses data, the figures would be meaningless: {problems[:3]}")
    rows, stats = count_rows(page)
    megabytes = len(text.encode()) / 1e6
    best, median, rounds = timed(client.deserialize, RecordedResponse(text), model)
    json_best, _, _ = timed(json.loads, text)
    print(f"{path.name}: {megabytes:.2f} MB, {rows} rows, {stats} stats, model {model}")
    print(f"  SDK deserialize: best {best * 1e3:.1f} ms (median {median * 1e3:.1f} ms, {rounds} rounds)"
          f" = {megabytes / best:.2f} MB/s, {rows / best:,.0f} rows/s, {stats / best:,.0f} stats/s")
    print(f"  json.loads alone: best {json_best * 1e3:.1f} ms = {megabytes / json_best:.1f} MB/s"
          f" ({json_best / best:.0%} of the SDK time)")


def record(out_dir: Path, api_base: str, client_id: str, secret: str, day: str) -> None:
    """One day, PT15M, by queueId and mediaType, as the raw JSON the API returned."""
    from sdk_support import sdk_client  # the SDK's login, so recording uses the same path as the test

    client = sdk_client(api_base, api_base)
    client.get_client_credentials_token(client_id, secret)
    raw = RawClient(api_base, client.access_token)
    query = {"interval": f"{day}T00:00:00.000Z/{next_day(day)}T00:00:00.000Z", "granularity": "PT15M",
             "groupBy": ["queueId", "mediaType"], "metrics": METRICS}
    _, page = raw.post("/api/v2/analytics/conversations/aggregates/query", query)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"aggregates-{day}-PT15M-queue-media.json"
    target.write_text(json.dumps(page, separators=(",", ":")))
    print(f"recorded {target} ({target.stat().st_size / 1e6:.2f} MB)")


def next_day(day: str) -> str:
    import datetime as dt

    return (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--record", nargs=3, metavar=("API_BASE", "CLIENT_ID", "CLIENT_SECRET"))
    parser.add_argument("--day", default="2024-05-01")
    args = parser.parse_args(argv)
    if args.record:
        record(args.dir, *args.record, args.day)
    pages = sorted(args.dir.glob("*.json"))
    if not pages:
        print(f"no *.json pages in {args.dir}", file=sys.stderr)
        return 1
    client = ApiClient()
    for path in pages:
        bench_page(client, path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
