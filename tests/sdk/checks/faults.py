"""How the SDK meets throttling and outages: its urllib3 transport retries a 429 that carries
Retry-After (up to 10 times), and surfaces anything else as ApiException with a Genesys body.
Faults are scripted through the emulator's admin API and always cleared afterwards."""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse

from PureCloudPlatformClientV2.rest import ApiException

from checks.access import expect_error
from checks.context import AGGREGATES_QUERY, Context, aggregation_query_model
from sdk_support import RawClient, Report, deserialize

# urllib3's default Retry (the SDK's transport) gives up after this many retries.
URLLIB3_RETRIES = 10


def faults(report: Report, ctx: Context) -> None:
    admin = RawClient(ctx.admin_base)
    try:
        retried_429(report, ctx, admin)
        exhausted_429(report, ctx, admin)
        plain_503(report, ctx, admin)
        connection_survives_refusal(report, ctx, admin)
    finally:
        admin.put("/faults", {"rates": {}, "scripted": []})


def script(admin: RawClient, status: int, count: int, retry_after_secs: int | None = None) -> None:
    fault = {"path": AGGREGATES_QUERY, "status": status, "count": count}
    if retry_after_secs is not None:
        fault["retryAfterSecs"] = retry_after_secs
    admin.put("/faults", {"rates": {}, "scripted": [fault]})


def scripted_served(admin: RawClient) -> int:
    _, counters = admin.get("/counters")
    return counters.get("faultsInjected", {}).get("scripted_status", 0)


def retried_429(report: Report, ctx: Context, admin: RawClient) -> None:
    """One 429 with Retry-After: 1, and the SDK call still succeeds, about a second later."""
    script(admin, 429, 1, retry_after_secs=1)
    before = scripted_served(admin)
    started = time.monotonic()
    response = ctx.analytics().post_analytics_conversations_aggregates_query(aggregation_query_model())
    elapsed = time.monotonic() - started
    report.check("faults: a 429 with Retry-After 1 is retried by the SDK and the call succeeds",
                 bool(response.results), "no results after the retry")
    report.check("faults: the SDK waited the Retry-After second", elapsed >= 1.0, f"{elapsed:.2f} s")
    report.check("faults: the emulator served exactly that one 429", scripted_served(admin) - before == 1)


def exhausted_429(report: Report, ctx: Context, admin: RawClient) -> None:
    """More 429s than the SDK retries: it raises, with the Genesys throttling body."""
    script(admin, 429, URLLIB3_RETRIES + 1, retry_after_secs=0)
    try:
        ctx.analytics().post_analytics_conversations_aggregates_query(aggregation_query_model())
        report.check("faults: 429s beyond the SDK's retries raise", False, "the call succeeded")
        return
    except ApiException as e:
        raised = e
    # urllib3 raises MaxRetryError past its budget, which the SDK does not catch; accept the
    # ApiException path only, since that is what callers of the SDK handle.
    body = json.loads(raised.body)
    report.check("faults: 429s beyond the SDK's retries raise ApiException 429", raised.status == 429)
    report.faithful("faults: 429 body", body, deserialize(body, "ErrorBody"))
    report.check("faults: 429 code too.many.requests.retry.after with the seconds in the message",
                 body.get("code") == "too.many.requests.retry.after" and "[0]" in body.get("message", ""), f"{body}")
    report.check("faults: 429 carries Retry-After", (raised.headers or {}).get("Retry-After") == "0",
                 f"{dict(raised.headers or {})}")


def plain_503(report: Report, ctx: Context, admin: RawClient) -> None:
    script(admin, 503, 1)
    api = ctx.analytics()
    expect_error(report, ctx, "scripted 503", 503, "service.unavailable",
                 lambda: api.post_analytics_conversations_aggregates_query(aggregation_query_model()))


def connection_survives_refusal(report: Report, ctx: Context, admin: RawClient) -> None:
    """A refused POST leaves the keep-alive connection usable, as Genesys does. The body is sent
    a moment after the headers, so a server that answers without reading it (and then closes)
    is caught every time, not by chance."""
    script(admin, 429, 1, retry_after_secs=0)
    url = urllib.parse.urlsplit(ctx.api_base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        body = json.dumps({"interval": "2024-05-01T08:00:00.000Z/2024-05-01T09:00:00.000Z", "metrics": ["nOffered"]})
        connection.putrequest("POST", AGGREGATES_QUERY)
        for name, value in (("Authorization", f"Bearer {ctx.raw.token}"), ("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))):
            connection.putheader(name, value)
        connection.endheaders()
        time.sleep(0.2)
        connection.send(body.encode())
        refused = connection.getresponse()
        refused.read()
        connection.request("GET", "/api/v2/routing/queues?pageSize=1", headers={"Authorization": f"Bearer {ctx.raw.token}"})
        reused = connection.getresponse()
        reused.read()
        report.check("faults: after a refused POST (429) the same connection serves the next request",
                     refused.status == 429 and reused.status == 200, f"{refused.status} then {reused.status}")
    except (OSError, http.client.HTTPException) as e:
        report.check("faults: after a refused POST (429) the same connection serves the next request", False,
                     f"{type(e).__name__}: {e}")
    finally:
        connection.close()
