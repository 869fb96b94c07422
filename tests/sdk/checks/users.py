"""Presence definitions and users aggregates (query and job) through the SDK: every reply keeps
every field and value in the SDK's models, the job's pages equal the sync answer, and the ids
agree across endpoints (users from /users, presence ids from /presencedefinitions)."""

from __future__ import annotations

import PureCloudPlatformClientV2 as sdk

from checks.context import FROZEN_NOW, INTERVAL, Context
from checks.jobs import check_deleted, fetch_cursor_pages, wait_for_job
from sdk_support import Report, deserialize, roundtrip_mismatches

USERS_METRICS = ["tSystemPresence", "tOrganizationPresence", "tAgentRoutingStatus"]
SYSTEM_PRESENCES = {"AVAILABLE", "AWAY", "BUSY", "OFFLINE", "IDLE", "ON_QUEUE", "MEAL", "TRAINING", "MEETING", "BREAK"}
ROUTING_STATUSES = {"OFF_QUEUE", "IDLE", "INTERACTING", "NOT_RESPONDING", "COMMUNICATING"}
USERS_JOB_PAGE_SIZE = 7


def users_query_json(**extra) -> dict:
    return {"interval": INTERVAL, "granularity": "PT1H", "timeZone": "UTC", "groupBy": ["userId"],
            "metrics": USERS_METRICS, **extra}


def presence_definitions(report: Report, ctx: Context) -> None:
    listing = sdk.PresenceApi(ctx.api_client).get_presencedefinitions(page_size=25)
    raw = ctx.last_json()
    report.faithful("presence definitions", raw, listing)
    entities = raw.get("entities") or []
    ctx.presence_ids = {e["id"] for e in entities}
    report.check("presence definitions: ids are distinct", len(ctx.presence_ids) == len(entities))
    report.check("presence definitions: the legacy spelling `On Queue` is listed",
                 any(e["systemPresence"] == "On Queue" and e["primary"] for e in entities))


def users_aggregates_query(report: Report, ctx: Context) -> None:
    body = deserialize(users_query_json(), "UserAggregationQuery")
    response = ctx.analytics().post_analytics_users_aggregates_query(body)
    raw = ctx.last_json()
    report.faithful("users aggregates query", raw, response)
    results = raw.get("results") or []
    report.check("users aggregates query: there is data", bool(results))
    problems: list[str] = []
    users = {r["group"].get("userId") for r in results}
    if ctx.user_ids and not users <= ctx.user_ids:
        problems.append(f"{len(users - ctx.user_ids)} userIds not in /users")
    mapped = {i for ids in (raw.get("systemToOrganizationMappings") or {}).values() for i in ids}
    for container in results:
        for bucket in container["data"]:
            for m in bucket["metrics"]:
                q, stats = m.get("qualifier"), m["stats"]
                if set(stats) != {"sum"} or not isinstance(stats["sum"], int) or stats["sum"] <= 0:
                    problems.append(f"{m['metric']} stats {stats}")
                if m["metric"] == "tSystemPresence" and q not in SYSTEM_PRESENCES:
                    problems.append(f"system presence {q}")
                if m["metric"] == "tAgentRoutingStatus" and q not in ROUTING_STATUSES:
                    problems.append(f"routing status {q}")
                if m["metric"] == "tOrganizationPresence" and (q not in mapped or q not in ctx.presence_ids):
                    problems.append(f"organization presence {q} unmapped or undefined")
    report.check("users aggregates query: sum-only stats, known qualifiers, known ids", not problems, "; ".join(problems[:10]))
    ctx.users_results = results


def by_user(results: list[dict]) -> list[dict]:
    return sorted(results, key=lambda r: r["group"].get("userId", ""))


def users_aggregates_job(report: Report, ctx: Context) -> None:
    analytics = ctx.analytics()
    body = deserialize(users_query_json(pageSize=USERS_JOB_PAGE_SIZE), "UserAsyncAggregationQuery")
    job_id = analytics.post_analytics_users_aggregates_jobs(body).job_id
    wait_for_job(report, ctx, "users aggregates job", lambda: analytics.get_analytics_users_aggregates_job(job_id))
    pages = fetch_cursor_pages(report, ctx, "users aggregates job results",
                               lambda cursor: analytics.get_analytics_users_aggregates_job_results(job_id, cursor=cursor))
    paged = [c for page in pages for c in page.get("results") or []]
    sync = ctx.users_results or []
    report.check("users aggregates job: its pages equal the sync query", by_user(paged) == by_user(sync),
                 f"{len(paged)} paged groups vs {len(sync)} sync")
    analytics.delete_analytics_users_aggregates_job(job_id)
    check_deleted(report, "users aggregates job", lambda: analytics.get_analytics_users_aggregates_job(job_id))


def record_keys(details: list[dict]) -> set[tuple]:
    """(userId, kind, status, startTime, endTime) of every record listed."""
    keys = set()
    for d in details:
        for p in d.get("primaryPresence", []):
            keys.add((d["userId"], "presence", p["organizationPresenceId"], p["startTime"], p.get("endTime")))
        for r in d.get("routingStatus", []):
            keys.add((d["userId"], "routing", r["routingStatus"], r["startTime"], r.get("endTime")))
    return keys


def users_details(report: Report, ctx: Context) -> None:
    """The query page by page and the job by cursor: both keep every field in the SDK models, and
    the query's records (deduplicated) are the job's records stored on the days it reads."""
    analytics = ctx.analytics()
    available = analytics.get_analytics_users_details_jobs_availability()
    report.faithful("users details availability", ctx.last_json(), available)
    query_records: set[tuple] = set()
    problems: list[str] = []
    for page_number in range(1, 200):
        body = deserialize({"interval": INTERVAL, "order": "asc", "paging": {"pageSize": 100, "pageNumber": page_number}},
                           "UserDetailsQuery")
        response = analytics.post_analytics_users_details_query(body)
        raw = ctx.last_json()
        problems += roundtrip_mismatches(raw, response)
        if "userDetails" not in raw:
            break
        query_records |= record_keys(raw["userDetails"])
    report.check("users details query: every page keeps every field and value in the SDK model", not problems, "; ".join(problems[:5]))
    report.check("users details query: there are records", bool(query_records))
    body = deserialize({"interval": INTERVAL, "order": "asc"}, "AsyncUserDetailsQuery")
    job_id = analytics.post_analytics_users_details_jobs(body).job_id
    wait_for_job(report, ctx, "users details job", lambda: analytics.get_analytics_users_details_job(job_id))
    pages = fetch_cursor_pages(report, ctx, "users details job results",
                               lambda cursor: analytics.get_analytics_users_details_job_results(job_id, cursor=cursor, page_size=500))
    job_records = set().union(*(record_keys(p.get("userDetails", [])) for p in pages))
    report.check("users details: the query's records are all in the job", query_records <= job_records,
                 f"{len(query_records - job_records)} query records missing from the job")
    users = {k[0] for k in job_records}
    report.check("users details: every userId is in /users", not ctx.user_ids or users <= ctx.user_ids)
    analytics.delete_analytics_users_details_job(job_id)
    check_deleted(report, "users details job", lambda: analytics.get_analytics_users_details_job(job_id))


def users_details_edges(report: Report, ctx: Context) -> None:
    """The two answers a users details reader must not trip on, read by the SDK: records still in
    force at "now" have no `endTime`, and an interval with nothing in it is `{"totalHits": 0}`
    with no `userDetails` key (as recorded from a real org)."""
    analytics = ctx.analytics()
    hour_to_now = f"2024-05-02T11:00:00.000Z/{FROZEN_NOW}"
    body = deserialize({"interval": hour_to_now, "paging": {"pageSize": 100, "pageNumber": 1}}, "UserDetailsQuery")
    response = analytics.post_analytics_users_details_query(body)
    raw = ctx.last_json()
    report.faithful("users details up to now", raw, response)
    open_records = [r for d in raw.get("userDetails", []) for kind in ("primaryPresence", "routingStatus")
                    for r in d.get(kind, []) if "endTime" not in r]
    report.check("users details up to now: records in force have no endTime", bool(open_records))
    sdk_open = [r for d in response.user_details or [] for r in (d.primary_presence or []) + (d.routing_status or [])
                if r.end_time is None]
    report.check("users details up to now: the SDK reads exactly those with end_time None",
                 len(sdk_open) == len(open_records), f"{len(sdk_open)} in the SDK, {len(open_records)} in the JSON")
    after_now = "2024-05-02T13:00:00.000Z/2024-05-02T14:00:00.000Z"
    body = deserialize({"interval": after_now}, "UserDetailsQuery")
    response = analytics.post_analytics_users_details_query(body)
    raw = ctx.last_json()
    report.check("users details after now: the answer is {\"totalHits\": 0}", raw == {"totalHits": 0}, str(raw))
    report.check("users details after now: the SDK reads no records and 0 hits",
                 response.user_details is None and response.total_hits == 0,
                 f"user_details={response.user_details!r} total_hits={response.total_hits!r}")


def presence_definitions_v2(report: Report, ctx: Context) -> None:
    listing = sdk.PresenceApi(ctx.api_client).get_presence_definitions()
    raw = ctx.last_json()
    report.faithful("presence definitions (v2)", raw, listing)
    ids = {e["id"] for e in raw.get("entities") or []}
    report.check("presence definitions (v2): the same ids as the legacy listing", ids == ctx.presence_ids,
                 f"{len(ids ^ ctx.presence_ids)} ids differ")
