"""What every check shares: the fixed instant and interval, the queries, the session state."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import PureCloudPlatformClientV2 as sdk

from sdk_support import RawClient

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
    data_availability: Any = None
    presence_ids: set[str] = field(default_factory=set)
    users_results: list[dict] | None = None

    def analytics(self) -> sdk.AnalyticsApi:
        return sdk.AnalyticsApi(self.api_client)

    def last_json(self) -> Any:
        """The raw body of the SDK's last response (what the SDK object was built from)."""
        return json.loads(self.api_client.last_response.data)


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
