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
import sys

from checks.access import errors, freeze_clock, login, revoked_token, self_check_comparator
from checks.aggregates import aggregates_job, aggregates_query, aggregates_time_zone
from checks.context import Context
from checks.details import details_availability, details_job, details_query, details_vs_aggregates
from checks.directories import directories
from checks.faults import faults
from checks.users import (presence_definitions, presence_definitions_v2, users_aggregates_job, users_aggregates_query,
                          users_details, users_details_edges)
from sdk_support import Report


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
            ("aggregates across a DST change", aggregates_time_zone),
            ("errors", errors),
            ("faults", faults),
            ("revoked token", revoked_token),
            ("details availability", details_availability),
            ("details job", details_job),
            ("details vs aggregates", details_vs_aggregates),
            ("details query", details_query),
            ("presence definitions", presence_definitions),
            ("presence definitions (v2)", presence_definitions_v2),
            ("users aggregates query", users_aggregates_query),
            ("users aggregates job", users_aggregates_job),
            ("users details", users_details),
            ("users details: open records and the empty answer", users_details_edges),
        ):
            report.step(name, lambda step=step: step(report, ctx))
    print(report.summary())
    return 0 if report.failed == 0 and report.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
