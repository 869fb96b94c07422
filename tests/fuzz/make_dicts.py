#!/usr/bin/env python3
"""Writes <dir>/dicts/*.dict, the schemathesis dictionaries of schemathesis.toml (which
crates/server/tests/fuzz.rs copies into <dir>, a temporary folder, next to them).

Each mixes the store's real values (so requests reach the reading, rollup and paging code)
with hostile ones for the parser behind the parameter: deep nesting, long and/or chains,
huge numbers, NULs, values past each limit and at it, repeated separators. Run it again
after changing a list below: `python3 tests/fuzz/make_dicts.py <dir>`.
"""

import sys
from pathlib import Path

# Short hostile text for any parameter.
ANY = [
    "\x00", "a\x00b", "2024-03-30\x00", "\x00\x00\x00", "ÿ", "\u202e", "\ufffd", "%FF", "%00",
    "9" * 40, "-" + "9" * 40, "1e99999", "NaN", "-0", "", " ", "=", "==", "&", ",",
    "," * 2000, "a" * 4096, "a" * 4097, "'" * 300, "\\" * 300,
]

# Hostile `$filter`s: nesting past the limit and at it, long chains, huge literals.
FILTERS = [
    "(" * 5000 + "true" + ")" * 5000,
    "(" * 64 + "n_offered ge 0" + ")" * 64,
    "(" * 65 + "n_offered ge 0" + ")" * 65,
    "(" * 3000 + "true",
    "not " * 1500 + "true",
    "not " * 64 + "true",
    " or ".join(["n_offered eq 1"] * 500),
    " or ".join(["n_offered eq 1"] * 501),
    " and ".join(["(queue_id eq 'x')"] * 300),
    "queue_id eq '" + "q" * 20000 + "'",
    "n_offered eq " + "9" * 5000,
    "n_offered eq 1e99999",
    "interval_start ge 99999-01-01T00:00:00Z",
    "interval_start ge datetimeoffset'" + "9" * 300,
    "contains(queue_id," + "(" * 2000,
    "queue_id eq '\x00'",
    "queue_id eq 'ÿ'",
]
REAL_FILTERS = [
    "n_offered gt 3", "contains(queue_id,'a') eq true", "queue_id eq null",
    "interval_start ge 2024-03-30T00:00:00Z and not (n_offered le 2)",
    "startswith(media_type,'v') or endswith(queue_id,'1')",
]

DICTS = {
    "datasets": ["queue_performance"] * 4 + ["queue_performance\x00", "q" * 5000],
    "sets": ["queue_performance"] * 4 + ["queues", "users", "wrapup_codes", "$metadata", "q" * 3000],
    "instants": [
        "2024-03-29T00:00:00Z", "2024-03-30", "2024-03-31", "2024-04-01", "2024-04-02",
        "2024-03-31T00:30:00Z", "2024-03-31T02:00:00+01:00", "2024-04-01T12:15:00Z",
        "1970-01-01T00:00:00Z", "2099-12-31", "0001-01-01", "9999-12-31",
        "-009999-01-01T00:00:00Z", "99999-01-01", "2024-02-30", "2024-03-30T25:00:00Z",
    ],
    "time_zones": [
        "Europe/London", "UTC", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu",
        "Australia/Lord_Howe", "Pacific/Chatham", "Etc/GMT+12", "Pacific/Kiritimati",
        "../../../../etc/passwd", "Europe/" + "L" * 3000, "UTC\x00",
    ],
    "granularities": [
        "PT15M", "PT30M", "PT1H", "PT2H", "PT4H", "PT12H", "P1D", "P7D", "P1M", "P1Y", "PT1M",
        "PT0S", "P99999999999999999999D", "PT" + "9" * 300 + "M", "P-1D", "PT1H" * 500,
    ],
    "group_by": [
        "queueId", "mediaType", "queueId,mediaType", "mediaType,queueId", "",
        ",".join(["queueId"] * 256), ",".join(["queueId"] * 257), "queueId," * 2000,
    ],
    "metrics": [
        "nOffered", "tAnswered,tHandle", "oServiceLevel", "tAcw,tWait,tTalk", "tAbandon",
        ",".join(["nOffered"] * 256), ",".join(["nOffered"] * 257), "nOffered\x00",
    ],
    "odata_filters": REAL_FILTERS * 3 + FILTERS,
    "odata_lists": ["id", "id desc", "n_offered,queue_id", "*", "id asc,queue_id desc",
                    ",".join(["id"] * 512), ",".join(["id"] * 513), ",".join(["id"] * 33),
                    "id " * 2000, "id,,,"],
    "skiptokens": ["eyJuIjoxfQ", "eyJuIjoxLCJrIjpbImEiXX0", "A" * 8193, "%%%", "eyJuIjo" + "5" * 300],
}


def entry(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def main() -> None:
    out = Path(sys.argv[1]) / "dicts"
    out.mkdir(parents=True, exist_ok=True)
    for name, values in DICTS.items():
        extra = [] if name == "odata_filters" else ANY
        lines = ["# Written by tests/fuzz/make_dicts.py; edit that, not this."]
        lines += [entry(v) for v in values + extra]
        (out / f"{name}.dict").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
