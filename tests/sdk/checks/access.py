"""Getting in and the ground rules: the comparator itself, login, the frozen clock, error bodies."""

from __future__ import annotations

import base64
import json
import urllib.request
from typing import Callable

from PureCloudPlatformClientV2.rest import ApiException

from checks.context import FROZEN_NOW, INTERVAL, Context, aggregate_query_json
from sdk_support import (
    OUTDATED_ENUM,
    RawClient,
    Report,
    deserialize,
    parse_instant,
    roundtrip_mismatches,
    sdk_client,
)


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
    check_token_response(report, ctx)
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


def check_token_response(report: Report, ctx: Context) -> None:
    """The SDK reads only access_token; the rest of the documented body is checked raw."""
    credentials = base64.b64encode(f"{ctx.client_id}:{ctx.client_secret}".encode()).decode()
    request = urllib.request.Request(
        ctx.login_base.rstrip("/") + "/oauth/token",
        data=b"grant_type=client_credentials",
        headers={"Authorization": f"Basic {credentials}", "Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    ok = (
        set(body) == {"access_token", "token_type", "expires_in"}
        and isinstance(body["access_token"], str) and body["access_token"]
        and body["token_type"] == "bearer"
        and isinstance(body["expires_in"], int) and body["expires_in"] > 0
    )
    shown = {k: (v if k != "access_token" else "<token>") for k, v in body.items()}
    report.check("login: token body is {access_token, token_type: bearer, expires_in: int}", bool(ok), f"{shown}")


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


def revoked_token(report: Report, ctx: Context) -> None:
    """A revoked token gets a 401 ErrorBody the SDK models; a fresh SDK login works again."""
    admin = RawClient(ctx.admin_base)
    admin.post("/revoke-tokens", {})
    api = ctx.analytics()
    try:
        api.get_analytics_conversations_details_jobs_availability()
        report.check("revoked token: refused", False, "the call succeeded")
    except ApiException as e:
        body = json.loads(e.body)
        report.check("revoked token: HTTP 401", e.status == 401, f"HTTP {e.status}")
        report.faithful("revoked token", body, deserialize(body, "ErrorBody"))
        report.check("revoked token: a Genesys 401 code",
                     body.get("code") in ("bad.credentials", "credentials.expired", "authentication.required"), f"{body}")
    ctx.api_client.get_client_credentials_token(ctx.client_id, ctx.client_secret)
    ctx.raw.token = ctx.api_client.access_token
    availability = api.get_analytics_conversations_details_jobs_availability()
    report.check("revoked token: after a new SDK login the API answers again", availability.data_availability_date is not None)
