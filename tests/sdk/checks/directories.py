"""Routing queues, users and wrap-up codes, walked page by page through the SDK."""

from __future__ import annotations

from typing import Callable

import PureCloudPlatformClientV2 as sdk

from checks.context import MAX_PAGES, Context
from sdk_support import Report, roundtrip_mismatches


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
