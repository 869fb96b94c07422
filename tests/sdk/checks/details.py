"""Conversation details: availability, the async job, the sync query, and how the records add
up to the aggregates of the same interval."""

from __future__ import annotations

import json

from checks.context import (
    AGGREGATES_QUERY,
    DETAILS_JOB_PAGE_SIZE,
    DETAILS_QUERY_PAGE_SIZE,
    FROZEN_NOW,
    INTERVAL,
    MAX_PAGES,
    Context,
    queue_segment_filter,
)
from checks.jobs import check_deleted, fetch_cursor_pages, wait_for_job
from sdk_support import Report, deserialize, parse_instant, parse_interval, roundtrip_mismatches


def details_availability(report: Report, ctx: Context) -> None:
    availability = ctx.analytics().get_analytics_conversations_details_jobs_availability()
    report.faithful("details availability", ctx.last_json(), availability)
    date = availability.data_availability_date
    ctx.data_availability = date
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
    )
    report.check("details job results: every page carries dataAvailabilityDate",
                 all(p.get("dataAvailabilityDate") for p in pages))
    dates = {parse_instant(p["dataAvailabilityDate"]) for p in pages if p.get("dataAvailabilityDate")}
    report.check("details job results: dataAvailabilityDate equals the availability endpoint's (clock frozen)",
                 ctx.data_availability is None or dates == {ctx.data_availability},
                 f"pages {sorted(map(str, dates))}, endpoint {ctx.data_availability}")
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
