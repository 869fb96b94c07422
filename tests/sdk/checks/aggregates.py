"""Conversation aggregates: the sync query (its shape and internal consistency) and the async
job, whose pages together must equal the sync answer."""

from __future__ import annotations

import json
from collections import defaultdict

from checks.context import (
    AGG_JOB_PAGE_SIZE,
    AGGREGATES_QUERY,
    FILTER_MEDIA,
    INTERVAL,
    METRICS,
    Context,
    aggregate_query_json,
    aggregation_query_model,
)
from checks.jobs import check_deleted, fetch_cursor_pages, wait_for_job
from sdk_support import Report, deserialize, parse_interval


def aggregates_query(report: Report, ctx: Context) -> None:
    response = ctx.analytics().post_analytics_conversations_aggregates_query(aggregation_query_model())
    sdk_raw = ctx.last_json()
    report.faithful("aggregates query", sdk_raw, response)
    _, raw = ctx.raw.post(AGGREGATES_QUERY, aggregate_query_json())
    report.check("aggregates query: the SDK-built body and the raw JSON body give the same answer", raw == sdk_raw,
                 "the two responses differ")
    results = sdk_raw.get("results") or []
    report.check("aggregates query: there is data to compare", len(results) > 0, "no results")
    check_aggregate_shape(report, results, "aggregates query")
    buckets = sum(len(c.get("data", [])) for c in results)
    report.note(f"{len(results)} groups, {buckets} (group, hour) buckets")
    ctx.sync_results = results
    ctx.details_queue = median_queue(results)
    check_regrouping(report, ctx, results)


def check_aggregate_shape(report: Report, results: list[dict], label: str) -> None:
    start, end = parse_interval(INTERVAL)
    problems: list[str] = []
    for container in results:
        group = container.get("group", {})
        if set(group) != {"queueId", "mediaType"}:
            problems.append(f"group keys {sorted(group)}")
        if group.get("mediaType") not in FILTER_MEDIA:
            problems.append(f"mediaType {group.get('mediaType')!r} passed the filter")
        for bucket in container.get("data", []):
            problems += bucket_problems(bucket, start, end)
    report.check(f"{label}: groups, buckets and stats have the documented shape", not problems, "; ".join(problems[:10]))


def bucket_problems(bucket: dict, start, end) -> list[str]:
    problems = []
    b_start, b_end = parse_interval(bucket["interval"])
    if not (start <= b_start < b_end <= end) or (b_end - b_start).total_seconds() != 3600:
        problems.append(f"bucket {bucket['interval']} is not an hour inside {INTERVAL}")
    if not bucket["interval"].endswith(".000Z"):
        problems.append(f"bucket {bucket['interval']} not printed as UTC milliseconds")
    for metric in bucket.get("metrics", []):
        problems += stats_problems(metric["metric"], metric["stats"])
    return problems


def stats_problems(metric: str, stats: dict) -> list[str]:
    if metric not in METRICS:
        return [f"metric {metric} was not asked for"]
    if metric.startswith("n"):
        return [] if set(stats) == {"count"} and stats["count"] > 0 else [f"{metric} stats {stats}"]
    if metric.startswith("t"):
        ok = set(stats) == {"max", "min", "count", "sum"} and 0 <= stats["min"] <= stats["max"] <= stats["sum"]
        return [] if ok and stats["count"] > 0 else [f"{metric} stats {stats}"]
    keys_ok = {"ratio", "numerator", "denominator"} <= set(stats) <= {"ratio", "numerator", "denominator", "target"}
    ratio_ok = keys_ok and stats["denominator"] > 0 and abs(stats["ratio"] - stats["numerator"] / stats["denominator"]) < 1e-9
    return [] if ratio_ok else [f"{metric} stats {stats}"]


def median_queue(results: list[dict]) -> str | None:
    """The queue the details steps filter on: the median by offers keeps paging short but real."""
    offered: dict[str, int] = defaultdict(int)
    for container in results:
        for bucket in container.get("data", []):
            for metric in bucket.get("metrics", []):
                if metric["metric"] == "nOffered":
                    offered[container["group"]["queueId"]] += metric["stats"]["count"]
    ranked = sorted(offered, key=lambda q: (offered[q], q))
    return ranked[len(ranked) // 2] if ranked else None


def check_regrouping(report: Report, ctx: Context, results: list[dict]) -> None:
    """Summing the per-(queue, media) counts over media must give the per-queue query's counts."""
    _, by_queue = ctx.raw.post(AGGREGATES_QUERY, aggregate_query_json(groupBy=["queueId"]))
    summed: dict[tuple, float] = defaultdict(float)
    for container in results:
        for bucket in container.get("data", []):
            for metric in bucket.get("metrics", []):
                for stat in ("count", "sum"):
                    if stat in metric["stats"]:
                        summed[(container["group"]["queueId"], bucket["interval"], metric["metric"], stat)] += metric["stats"][stat]
    direct: dict[tuple, float] = defaultdict(float)
    for container in by_queue.get("results") or []:
        for bucket in container.get("data", []):
            for metric in bucket.get("metrics", []):
                for stat in ("count", "sum"):
                    if stat in metric["stats"]:
                        direct[(container["group"]["queueId"], bucket["interval"], metric["metric"], stat)] += metric["stats"][stat]
    differing = [k for k in summed.keys() | direct.keys() if summed.get(k) != direct.get(k)]
    report.check("aggregates query: per-queue counts equal the per-(queue, media) counts summed", not differing,
                 f"{len(differing)} differ, e.g. {differing[:3]}")
    report.check("aggregates query: queues seen are in the queue directory",
                 not ctx.queue_ids or {k[0] for k in direct} <= ctx.queue_ids,
                 f"unknown: {sorted({k[0] for k in direct} - ctx.queue_ids)[:3]}")


def aggregates_job(report: Report, ctx: Context) -> None:
    api = ctx.analytics()
    body = deserialize(aggregate_query_json(pageSize=AGG_JOB_PAGE_SIZE), "ConversationAsyncAggregationQuery")
    created = api.post_analytics_conversations_aggregates_jobs(body)
    report.faithful("aggregates job create", ctx.last_json(), created)
    report.check("aggregates job create: a jobId", bool(created.job_id))
    wait_for_job(report, ctx, "aggregates job", lambda: api.get_analytics_conversations_aggregates_job(created.job_id))
    pages = fetch_cursor_pages(
        report, ctx, "aggregates job results",
        lambda cursor: api.get_analytics_conversations_aggregates_job_results(created.job_id, cursor=cursor),
    )
    job_results = [container for page in pages for container in page.get("results") or []]
    report.note(f"{len(job_results)} groups in {len(pages)} pages")
    expected_pages = max(1, -(-len(job_results) // AGG_JOB_PAGE_SIZE))
    report.check(f"aggregates job results: pages of at most {AGG_JOB_PAGE_SIZE} groups",
                 all(len(p.get("results") or []) <= AGG_JOB_PAGE_SIZE for p in pages) and len(pages) == expected_pages,
                 f"{len(pages)} pages for {len(job_results)} groups")
    if ctx.sync_results is not None:
        same, why = same_aggregates(job_results, ctx.sync_results)
        report.check("aggregates job results equal the sync query results", same, why)
    api.delete_analytics_conversations_aggregates_job(created.job_id)
    check_deleted(report, "aggregates job", lambda: api.get_analytics_conversations_aggregates_job(created.job_id))


def same_aggregates(a: list[dict], b: list[dict]) -> tuple[bool, str]:
    keyed_a, dup_a = key_by_group(a)
    keyed_b, dup_b = key_by_group(b)
    if dup_a or dup_b:
        return False, f"groups listed twice: {dup_a[:2] or dup_b[:2]}"
    if keyed_a.keys() != keyed_b.keys():
        return False, f"groups differ: {sorted(keyed_a.keys() ^ keyed_b.keys())[:3]}"
    differing = [g for g in keyed_a if normalized_data(keyed_a[g]) != normalized_data(keyed_b[g])]
    return not differing, f"{len(differing)} groups differ, e.g. {differing[:2]}"


def key_by_group(results: list[dict]) -> tuple[dict[str, list], list[str]]:
    keyed: dict[str, list] = {}
    duplicates = []
    for container in results:
        key = json.dumps(container.get("group", {}), sort_keys=True)
        if key in keyed:
            duplicates.append(key)
        keyed[key] = container.get("data", [])
    return keyed, duplicates


def normalized_data(data: list[dict]) -> dict:
    return {
        bucket["interval"]: sorted(json.dumps(m, sort_keys=True) for m in bucket.get("metrics", []))
        for bucket in data
    }


# Europe/London springs forward on 2024-03-31: that local day is 23 hours long.
DST_INTERVAL = "2024-03-30T00:00:00.000Z/2024-04-01T00:00:00.000Z"
DST_BUCKET_STARTS = ["2024-03-30T00:00:00.000Z", "2024-03-31T00:00:00.000Z", "2024-03-31T23:00:00.000Z"]


def aggregates_time_zone(report: Report, ctx: Context) -> None:
    """P1D buckets in a query time zone follow local midnight across a DST change, on the wire
    as UTC instants the SDK keeps verbatim."""
    query = {"interval": DST_INTERVAL, "granularity": "P1D", "timeZone": "Europe/London", "metrics": ["nOffered"]}
    response = ctx.analytics().post_analytics_conversations_aggregates_query(
        deserialize(query, "ConversationAggregationQuery"))
    raw = ctx.last_json()
    report.faithful("aggregates P1D Europe/London", raw, response)
    buckets = [b["interval"] for c in raw.get("results") or [] for b in c.get("data", [])]
    starts = sorted(b.split("/")[0] for b in buckets)
    report.check("aggregates P1D Europe/London: buckets start at local midnight (23:00Z once BST begins)",
                 starts == DST_BUCKET_STARTS, f"{buckets}")
    spans = {b.split("/")[0]: (parse_interval(b)[1] - parse_interval(b)[0]).total_seconds() / 3600 for b in buckets}
    report.check("aggregates P1D Europe/London: the spring-forward day is 23 hours",
                 spans.get("2024-03-31T00:00:00.000Z") == 23.0, f"{spans}")
