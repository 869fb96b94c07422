"""The async job pattern shared by aggregates and details jobs: poll, page by cursor, delete."""

from __future__ import annotations

import time
from typing import Callable

from PureCloudPlatformClientV2.rest import ApiException

from checks.context import JOB_TIMEOUT_S, MAX_PAGES, POLL_S, Context
from sdk_support import Report, roundtrip_mismatches


def wait_for_job(report: Report, ctx: Context, label: str, get_status: Callable) -> None:
    """Polls the status until the job leaves QUEUED/PENDING (or JOB_TIMEOUT_S passes)."""
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


def fetch_cursor_pages(report: Report, ctx: Context, label: str, fetch: Callable) -> list[dict]:
    """Every page of a job's results, following `cursor` until a page has none."""
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
