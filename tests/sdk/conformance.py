#!/usr/bin/env python3
"""Drives the genesys-bi emulator with the official Genesys Python SDK (purecloudplatformclientv2).

usage: conformance.py API_BASE CLIENT_ID CLIENT_SECRET ADMIN_BASE [--login-base URL]

Every response must deserialize into the SDK's own models without losing a key or a value
(the SDK silently drops unknown keys and turns unknown enum values into "outdated_sdk_version",
so each SDK object is compared with the raw JSON it came from), and the values must agree
across endpoints: async jobs equal the sync queries, details records add up to the aggregates.
The virtual clock is frozen first (admin API) so the data are fixed.
Prints `N passed, M failed` last; exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable

import PureCloudPlatformClientV2 as sdk
from PureCloudPlatformClientV2.rest import ApiException

from sdk_support import (
    OUTDATED_ENUM,
    RawClient,
    Report,
    deserialize,
    parse_instant,
    parse_interval,
    roundtrip_mismatches,
    sdk_client,
)

# A Wednesday morning, read a day later with the clock frozen: every conversation that touched
# the interval has ended (the emulator bounds a conversation to a few hours), so nothing moves.
FROZEN_NOW = "2024-05-02T12:00:00.000Z"
INTERVAL = "2024-05-01T08:00:00.000Z/2024-05-01T12:00:00.000Z"
METRICS = ["nOffered", "tAnswered", "tAbandon", "tHandle", "oServiceLevel"]
FILTER_MEDIA = ["voice", "chat", "callback"]
JOB_TIMEOUT_S = 120.0
POLL_S = 0.2
AGG_JOB_PAGE_SIZE = 10
DETAILS_JOB_PAGE_SIZE = 25
DETAILS_QUERY_PAGE_SIZE = 50
MAX_PAGES = 200

AGGREGATES_QUERY = "/api/v2/analytics/conversations/aggregates/query"
DETAILS_QUERY = "/api/v2/analytics/conversations/details/query"


@dataclass
class Context:
    api_base: str
    login_base: str
    admin_base: str
    client_id: str
    client_secret: str
    api_client: Any = None
    raw: RawClient | None = None
    queue_ids: set[str] = field(default_factory=set)
    user_ids: set[str] = field(default_factory=set)
    wrapup_ids: set[str] = field(default_factory=set)
    sync_results: list[dict] | None = None
    details_queue: str | None = None
    job_conversations: list[dict] | None = None

    def analytics(self) -> sdk.AnalyticsApi:
        return sdk.AnalyticsApi(self.api_client)

    def last_json(self) -> Any:
        """The raw body of the SDK's last response (what the SDK object was built from)."""
        return json.loads(self.api_client.last_response.data)


# --------------------------------------------------------------------------------------------
# Queries as plain JSON (raw requests) and as SDK models (built from that same JSON)
# --------------------------------------------------------------------------------------------


def aggregate_query_json(**extra: Any) -> dict:
    query = {
        "interval": INTERVAL,
        "granularity": "PT1H",
        "timeZone": "UTC",
        "groupBy": ["queueId", "mediaType"],
        "filter": {
            "type": "and",
            "clauses": [
                {"type": "or", "predicates": [{"dimension": "mediaType", "value": m} for m in FILTER_MEDIA]}
            ],
            "predicates": [{"type": "dimension", "dimension": "queueId", "operator": "exists"}],
        },
        "metrics": METRICS,
    }
    query.update(extra)
    return query


def aggregation_query_model() -> sdk.ConversationAggregationQuery:
    """The sync aggregates body built with the SDK's constructors (not from JSON)."""
    media = [sdk.ConversationAggregateQueryPredicate() for _ in FILTER_MEDIA]
    for predicate, value in zip(media, FILTER_MEDIA):
        predicate.dimension = "mediaType"
        predicate.value = value
    clause = sdk.ConversationAggregateQueryClause()
    clause.type = "or"
    clause.predicates = media
    has_queue = sdk.ConversationAggregateQueryPredicate()
    has_queue.type = "dimension"
    has_queue.dimension = "queueId"
    has_queue.operator = "exists"
    query_filter = sdk.ConversationAggregateQueryFilter()
    query_filter.type = "and"
    query_filter.clauses = [clause]
    query_filter.predicates = [has_queue]
    query = sdk.ConversationAggregationQuery()
    query.interval = INTERVAL
    query.granularity = "PT1H"
    query.time_zone = "UTC"
    query.group_by = ["queueId", "mediaType"]
    query.filter = query_filter
    query.metrics = METRICS
    return query


def queue_segment_filter(queue_id: str) -> list[dict]:
    return [{"type": "and", "predicates": [{"type": "dimension", "dimension": "queueId", "value": queue_id}]}]


# --------------------------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------------------------


def self_check_comparator(report: Report) -> None:
    """The comparator must see what the SDK loses, or every later check would be hollow."""
    raw = {"state": "FULFILLED", "expirationDate": "2024-05-01T00:00:00.000Z"}
    status = deserialize(raw, "AsyncQueryStatus")
    report.check("comparator: faithful object has no mismatch", not roundtrip_mismatches(raw, status))
    unknown_enum = deserialize({"state": "RUNNING"}, "AsyncQueryStatus")
    report.check(
        "comparator: unknown enum value is caught",
        unknown_enum.state == OUTDATED_ENUM and bool(roundtrip_mismatches({"state": "RUNNING"}, unknown_enum)),
    )
    extra = {"jobId": "x", "bogus": 1}
    report.check(
        "comparator: dropped key is caught",
        bool(roundtrip_mismatches(extra, deserialize(extra, "AsyncQueryResponse"))),
    )
    lossy = {"results": [{"group": {"queueId": "q"}, "data": [{"interval": INTERVAL, "metrics": [
        {"metric": "nOffered", "stats": {"count": 2.5}}]}]}]}
    report.check(
        "comparator: int field given a fraction is caught",
        bool(roundtrip_mismatches(lossy, deserialize(lossy, "ConversationAggregateQueryResponse"))),
    )


def login(report: Report, ctx: Context) -> None:
    client = sdk_client(ctx.api_base, ctx.login_base)
    client.get_client_credentials_token(ctx.client_id, ctx.client_secret)
    report.check("login: SDK client-credentials grant returns a token", bool(client.access_token))
    ctx.api_client = client
    ctx.raw = RawClient(ctx.api_base, client.access_token)
    status, _ = ctx.raw.get("/api/v2/routing/queues", {"pageSize": 1})
    report.check("login: the SDK's token is accepted by the API", status == 200, f"HTTP {status}")
    try:
        RawClient(ctx.api_base, "not-a-token").get("/api/v2/routing/queues", {"pageSize": 1})
        report.check("login: a bogus token is refused", False, "got 200")
    except Exception as e:  # noqa: BLE001 - any refusal is checked below
        report.check("login: a bogus token is refused with 401", getattr(e, "status", None) == 401, str(e))
    try:
        bad = sdk_client(ctx.api_base, ctx.login_base)
        bad.get_client_credentials_token(ctx.client_id, ctx.client_secret + "-wrong")
        report.check("login: a wrong secret is refused", False, "the SDK got a token")
    except ApiException as e:
        report.check("login: a wrong secret is refused (SDK raises ApiException 4xx)", 400 <= e.status < 500, str(e))


def freeze_clock(report: Report, ctx: Context) -> None:
    admin = RawClient(ctx.admin_base)
    admin.put("/clock", {"now": FROZEN_NOW, "rate": 0.0})
    _, clock = admin.get("/clock")
    now = parse_instant(str(clock.get("now", "")))
    report.check(
        "clock: frozen at the fixed instant",
        now == parse_instant(FROZEN_NOW) and float(clock.get("rate", -1)) == 0.0,
        f"admin clock says {clock}",
    )


def directories(report: Report, ctx: Context) -> None:
    routing, users = sdk.RoutingApi(ctx.api_client), sdk.UsersApi(ctx.api_client)
    ctx.queue_ids = walk_directory(report, ctx, "queues", routing.get_routing_queues, 10)
    ctx.user_ids = walk_directory(report, ctx, "users", users.get_users, 50)
    ctx.wrapup_ids = walk_directory(report, ctx, "wrap-up codes", routing.get_routing_wrapupcodes, 25)


def walk_directory(report: Report, ctx: Context, name: str, fetch: Callable, page_size: int) -> set[str]:
    ids: list[str] = []
    problems: list[str] = []
    page_number, listing = 1, None
    while page_number <= MAX_PAGES:
        listing = fetch(page_size=page_size, page_number=page_number)
        problems += roundtrip_mismatches(ctx.last_json(), listing)
        ids += [entity.id for entity in listing.entities or []]
        if not listing.next_uri:
            break
        page_number += 1
    report.check(f"{name}: every page keeps every field and value in the SDK model", not problems, "; ".join(problems[:10]))
    report.check(f"{name}: directory is not empty", bool(ids))
    report.check(f"{name}: each entity listed exactly once", len(ids) == len(set(ids)), f"{len(ids) - len(set(ids))} repeats")
    total = listing.total if listing else None
    report.check(f"{name}: total equals the entities listed", total == len(ids), f"total={total}, listed={len(ids)}")
    report.check(f"{name}: pageCount equals the pages walked", listing is not None and listing.page_count == page_number,
                 f"pageCount={listing and listing.page_count}, walked={page_number}")
    return set(ids)


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
        "results",
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


def wait_for_job(report: Report, ctx: Context, label: str, get_status: Callable) -> None:
    order = ["QUEUED", "PENDING", "FULFILLED"]
    states: list[str] = []
    problems: list[str] = []
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        status = get_status()
        problems += roundtrip_mismatches(ctx.last_json(), status)
        if not states or states[-1] != status.state:
            states.append(status.state)
        if status.state not in ("QUEUED", "PENDING"):
            break
        time.sleep(POLL_S)
    report.check(f"{label} status: every poll keeps every field and value in the SDK model", not problems, "; ".join(problems[:5]))
    report.check(f"{label} reaches FULFILLED", states[-1:] == ["FULFILLED"], f"states seen: {states}")
    monotonic = all(s in order for s in states) and [order.index(s) for s in states] == sorted(order.index(s) for s in states)
    report.check(f"{label} states only move forward QUEUED -> PENDING -> FULFILLED", monotonic, f"states seen: {states}")


def fetch_cursor_pages(report: Report, ctx: Context, label: str, fetch: Callable, items_key: str) -> list[dict]:
    pages: list[dict] = []
    problems: list[str] = []
    cursor, cursors = None, set()
    while len(pages) < MAX_PAGES:
        page = fetch(cursor)
        raw = ctx.last_json()
        problems += roundtrip_mismatches(raw, page)
        pages.append(raw)
        cursor = raw.get("cursor")
        if not cursor or cursor in cursors:
            break
        cursors.add(cursor)
    report.check(f"{label}: every page keeps every field and value in the SDK model", not problems, "; ".join(problems[:5]))
    report.check(f"{label}: the cursor chain ends (no repeated cursor, under {MAX_PAGES} pages)",
                 not pages[-1].get("cursor"), f"{len(pages)} pages")
    report.check(f"{label}: only the last page lacks a cursor", all(p.get("cursor") for p in pages[:-1]))
    report.check(f"{label}: more than one page (paging is exercised)", len(pages) > 1, f"{len(pages)} page(s)")
    return pages


def check_deleted(report: Report, label: str, get_status: Callable) -> None:
    try:
        state = get_status().state
        report.check(f"{label}: after DELETE the job is CANCELLED", state == "CANCELLED", f"state {state}")
    except ApiException as e:
        report.check(f"{label}: after DELETE the job is gone (404)", e.status == 404, f"status {e.status}")


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


def errors(report: Report, ctx: Context) -> None:
    """Refusals reach the SDK as ApiException whose body is a faithful SDK ErrorBody."""
    api = ctx.analytics()
    bad_metric = deserialize(aggregate_query_json(metrics=["nAnswered"]), "ConversationAggregationQuery")
    expect_error(report, ctx, "unknown metric nAnswered", 400, "bad.request",
                 lambda: api.post_analytics_conversations_aggregates_query(bad_metric))
    expect_error(report, ctx, "unknown aggregates job", 404, "not.found",
                 lambda: api.get_analytics_conversations_aggregates_job("00000000-0000-0000-0000-000000000000"))
    expect_error(report, ctx, "unknown details job results", 404, "not.found",
                 lambda: api.get_analytics_conversations_details_job_results("00000000-0000-0000-0000-000000000000"))


def expect_error(report: Report, ctx: Context, label: str, status: int, code: str, call: Callable) -> None:
    try:
        call()
        report.check(f"error {label}: refused", False, "the call succeeded")
        return
    except ApiException as e:
        raised = e
    report.check(f"error {label}: HTTP {status}", raised.status == status, f"HTTP {raised.status}: {raised.body}")
    body = json.loads(raised.body)
    error_body = deserialize(body, "ErrorBody")
    report.faithful(f"error {label}", body, error_body)
    report.check(f"error {label}: code {code}, status field {status}, a message",
                 error_body.code == code and error_body.status == status and bool(error_body.message), f"{body}")
    correlation = (raised.headers or {}).get("ININ-Correlation-Id")
    report.check(f"error {label}: carries ININ-Correlation-Id", bool(correlation))


def details_availability(report: Report, ctx: Context) -> None:
    availability = ctx.analytics().get_analytics_conversations_details_jobs_availability()
    report.faithful("details availability", ctx.last_json(), availability)
    date = availability.data_availability_date
    report.check("details availability: a date no later than the frozen now",
                 date is not None and date <= parse_instant(FROZEN_NOW), f"{date}")
    report.check("details availability: covers the test interval (else the job would miss data)",
                 date is not None and date >= parse_interval(INTERVAL)[1], f"{date}")


def details_job(report: Report, ctx: Context) -> None:
    if ctx.details_queue is None:
        raise AssertionError("no queue with offers from the aggregates query; nothing to compare with")
    api = ctx.analytics()
    body = deserialize({"interval": INTERVAL, "order": "asc", "orderBy": "conversationStart",
                        "segmentFilters": queue_segment_filter(ctx.details_queue)}, "AsyncConversationQuery")
    created = api.post_analytics_conversations_details_jobs(body)
    report.faithful("details job create", ctx.last_json(), created)
    wait_for_job(report, ctx, "details job", lambda: api.get_analytics_conversations_details_job(created.job_id))
    pages = fetch_cursor_pages(
        report, ctx, "details job results",
        lambda cursor: api.get_analytics_conversations_details_job_results(
            created.job_id, cursor=cursor, page_size=DETAILS_JOB_PAGE_SIZE),
        "conversations",
    )
    report.check("details job results: every page carries dataAvailabilityDate",
                 all(p.get("dataAvailabilityDate") for p in pages))
    report.check(f"details job results: pages of at most {DETAILS_JOB_PAGE_SIZE} conversations",
                 all(len(p.get("conversations") or []) <= DETAILS_JOB_PAGE_SIZE for p in pages))
    conversations = [c for p in pages for c in p.get("conversations") or []]
    report.note(f"{len(conversations)} conversations in {len(pages)} pages (queue {ctx.details_queue})")
    check_job_conversations(report, ctx, conversations)
    ctx.job_conversations = conversations
    api.delete_analytics_conversations_details_job(created.job_id)
    check_deleted(report, "details job", lambda: api.get_analytics_conversations_details_job(created.job_id))


def check_job_conversations(report: Report, ctx: Context, conversations: list[dict]) -> None:
    start, end = parse_interval(INTERVAL)
    ids = [c["conversationId"] for c in conversations]
    report.check("details job: there are conversations", bool(ids))
    report.check("details job: each conversation once", len(ids) == len(set(ids)), f"{len(ids) - len(set(ids))} repeats")
    outside = [c["conversationId"] for c in conversations if not had_activity(c, start, end)]
    report.check("details job: every conversation had activity in the interval", not outside, f"e.g. {outside[:3]}")
    no_queue = [c["conversationId"] for c in conversations if ctx.details_queue not in conversation_queues(c)]
    report.check("details job: every conversation passed the queue segment filter", not no_queue, f"e.g. {no_queue[:3]}")
    starts = [parse_instant(c["conversationStart"]) for c in conversations]
    report.check("details job: ordered by conversationStart ascending", starts == sorted(starts))
    check_references(report, ctx, conversations, "details job")


def had_activity(conversation: dict, start, end) -> bool:
    began = parse_instant(conversation["conversationStart"])
    ended = parse_instant(conversation["conversationEnd"]) if conversation.get("conversationEnd") else None
    return began < end and (ended is None or ended >= start)


def sessions(conversation: dict):
    for participant in conversation.get("participants", []):
        for session in participant.get("sessions", []):
            yield participant, session


def conversation_queues(conversation: dict) -> set[str]:
    return {seg["queueId"] for _, s in sessions(conversation) for seg in s.get("segments", []) if seg.get("queueId")}


def check_references(report: Report, ctx: Context, conversations: list[dict], label: str) -> None:
    """Ids in detail records point at entities of the directories."""
    users = {p["userId"] for c in conversations for p in c.get("participants", []) if p.get("userId")}
    wrapups = {seg["wrapUpCode"] for c in conversations for _, s in sessions(c) for seg in s.get("segments", [])
               if seg.get("wrapUpCode")}
    queues = set().union(*(conversation_queues(c) for c in conversations)) if conversations else set()
    for name, seen, known in (("userId", users, ctx.user_ids), ("wrapUpCode", wrapups, ctx.wrapup_ids),
                              ("queueId", queues, ctx.queue_ids)):
        report.check(f"{label}: every {name} is in its directory", not known or seen <= known,
                     f"unknown: {sorted(seen - known)[:3]}")


def details_vs_aggregates(report: Report, ctx: Context) -> None:
    """Session metrics emitted in the interval, summed per (queue, media), equal the aggregates."""
    if ctx.job_conversations is None:
        raise AssertionError("no details job conversations to compare")
    queue = ctx.details_queue
    from_details = metrics_from_details(ctx.job_conversations, ["nOffered", "tAnswered", "tAbandon", "tHandle"])
    from_details = {k: v for k, v in from_details.items() if k[0] == queue}
    query = {"interval": INTERVAL, "groupBy": ["queueId", "mediaType"],
             "metrics": ["nOffered", "tAnswered", "tAbandon", "tHandle"],
             "filter": {"type": "and", "predicates": [{"dimension": "queueId", "value": queue}]}}
    _, response = ctx.raw.post(AGGREGATES_QUERY, query)
    from_aggregates = {}
    for container in response.get("results") or []:
        for bucket in container.get("data", []):
            for metric in bucket.get("metrics", []):
                key = (container["group"].get("queueId"), container["group"].get("mediaType"), metric["metric"])
                from_aggregates[key] = {k: metric["stats"][k] for k in ("count", "sum", "min", "max") if k in metric["stats"]}
    report.check("details vs aggregates: the chosen queue has offers", any(k[2] == "nOffered" for k in from_aggregates))
    report.note(f"aggregates: {from_aggregates}")
    for key in sorted(from_details.keys() | from_aggregates.keys(), key=str):
        report.check(f"details vs aggregates: {key[2]} of queue {key[0][:8]}… {key[1]} agree",
                     from_details.get(key) == from_aggregates.get(key),
                     f"details {from_details.get(key)} vs aggregates {from_aggregates.get(key)}")


def metrics_from_details(conversations: list[dict], names: list[str]) -> dict[tuple, dict]:
    start, end = parse_interval(INTERVAL)
    stats: dict[tuple, dict] = {}
    for conversation in conversations:
        for _, session in sessions(conversation):
            for metric in session.get("metrics", []):
                emitted = parse_instant(metric["emitDate"])
                if metric["name"] not in names or not start <= emitted < end:
                    continue
                key = (queue_at(session, emitted), session.get("mediaType"), metric["name"])
                add_emission(stats.setdefault(key, {}), metric["name"], metric["value"])
    return stats


def add_emission(stats: dict, name: str, value: int) -> None:
    if name.startswith("n"):
        stats["count"] = stats.get("count", 0) + value
        return
    stats["count"] = stats.get("count", 0) + 1
    stats["sum"] = stats.get("sum", 0) + value
    stats["min"] = min(stats.get("min", value), value)
    stats["max"] = max(stats.get("max", value), value)


def queue_at(session: dict, instant) -> str | None:
    """The queue of the session's segment open at `instant`, else the session's only queue."""
    segments = [s for s in session.get("segments", []) if s.get("queueId")]
    for segment in segments:
        seg_start = parse_instant(segment["segmentStart"])
        seg_end = parse_instant(segment["segmentEnd"]) if segment.get("segmentEnd") else None
        if seg_start <= instant and (seg_end is None or instant <= seg_end):
            return segment["queueId"]
    queues = {s["queueId"] for s in segments}
    return queues.pop() if len(queues) == 1 else None


def details_query(report: Report, ctx: Context) -> None:
    if ctx.details_queue is None:
        raise AssertionError("no queue to filter on")
    api = ctx.analytics()
    pages, conversations, problems, total_hits = 0, [], [], set()
    while pages < MAX_PAGES:
        body = deserialize({"interval": INTERVAL, "order": "asc", "orderBy": "conversationStart",
                            "segmentFilters": queue_segment_filter(ctx.details_queue),
                            "paging": {"pageSize": DETAILS_QUERY_PAGE_SIZE, "pageNumber": pages + 1}}, "ConversationQuery")
        response = api.post_analytics_conversations_details_query(body)
        raw = ctx.last_json()
        problems += roundtrip_mismatches(raw, response)
        pages += 1
        total_hits.add(raw.get("totalHits"))
        if not raw.get("conversations"):
            break
        conversations += raw["conversations"]
    report.note(f"{len(conversations)} conversations in {pages} pages")
    report.check("details query: every page keeps every field and value in the SDK model", not problems, "; ".join(problems[:5]))
    report.check("details query: paging ends with a page without conversations", pages < MAX_PAGES, f"{pages} pages")
    report.check("details query: totalHits is the same on every page and counts the conversations",
                 total_hits == {len(conversations)}, f"totalHits {total_hits}, conversations {len(conversations)}")
    check_sync_conversations(report, ctx, conversations)


def check_sync_conversations(report: Report, ctx: Context, conversations: list[dict]) -> None:
    start, end = parse_interval(INTERVAL)
    ids = [c["conversationId"] for c in conversations]
    report.check("details query: each conversation once across pages", len(ids) == len(set(ids)))
    starts = [parse_instant(c["conversationStart"]) for c in conversations]
    report.check("details query: ordered by conversationStart ascending", starts == sorted(starts))
    report.check("details query: every conversation started on the UTC day the interval touches",
                 all(s.date() == start.date() for s in starts), f"{sorted({s.date() for s in starts})}")
    report.check("details query: no participant attributes (the sync endpoint has none)",
                 not any(p.get("attributes") for c in conversations for p in c.get("participants", [])))
    check_references(report, ctx, conversations, "details query")
    if ctx.job_conversations is None:
        return
    started_inside = lambda c: start <= parse_instant(c["conversationStart"]) < end  # noqa: E731
    sync_inside = {c["conversationId"]: c for c in conversations if started_inside(c)}
    job_inside = {c["conversationId"]: without_attributes(c) for c in ctx.job_conversations if started_inside(c)}
    report.check("details query vs job: the same conversations started inside the interval",
                 sync_inside.keys() == job_inside.keys(),
                 f"only sync {len(sync_inside.keys() - job_inside.keys())}, only job {len(job_inside.keys() - sync_inside.keys())}")
    differing = [i for i in sync_inside.keys() & job_inside.keys() if sync_inside[i] != job_inside[i]]
    report.note(f"{len(sync_inside)} conversations started inside the interval, compared record by record")
    report.check("details query vs job: identical records (but for participant attributes)", not differing,
                 f"{len(differing)} differ, e.g. {differing[:2]}")


def without_attributes(conversation: dict) -> dict:
    copy = json.loads(json.dumps(conversation))
    for participant in copy.get("participants", []):
        participant.pop("attributes", None)
    return copy


# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> Context:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("api_base", help="e.g. http://127.0.0.1:9000 (GENESYS_API_BASE)")
    parser.add_argument("client_id")
    parser.add_argument("client_secret")
    parser.add_argument("admin_base", help="e.g. http://127.0.0.1:9000/_emulator (GENESYS_EMULATOR_ADMIN)")
    parser.add_argument("--login-base", help="OAuth base (GENESYS_LOGIN_BASE); defaults to the API base")
    args = parser.parse_args(argv)
    return Context(api_base=args.api_base, login_base=args.login_base or args.api_base,
                   admin_base=args.admin_base.rstrip("/"), client_id=args.client_id,
                   client_secret=args.client_secret)


def main(argv: list[str]) -> int:
    ctx = parse_args(argv)
    report = Report()
    report.step("comparator self-check", lambda: self_check_comparator(report))
    report.step("login", lambda: login(report, ctx))
    if ctx.api_client is None:
        print("cannot continue without a token")
    else:
        for name, step in (
            ("freeze the virtual clock", freeze_clock),
            ("directories", directories),
            ("aggregates query", aggregates_query),
            ("aggregates job", aggregates_job),
            ("errors", errors),
            ("details availability", details_availability),
            ("details job", details_job),
            ("details vs aggregates", details_vs_aggregates),
            ("details query", details_query),
        ):
            report.step(name, lambda step=step: step(report, ctx))
    print(report.summary())
    return 0 if report.failed == 0 and report.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
