#!/usr/bin/env python3
"""Reads the server's OData feed with python-odata, as a Python analyst would.

    GENESYS_BI_KEY=<api key> read_odata.py <service-root-url> <page-size>

python-odata reflects `$metadata` into entity classes (properties, keys, navigation properties
with their foreign keys), then every entity set is read whole through its paging (the client
follows @odata.nextLink; `Prefer: odata.maxpagesize` makes the pages small). Fact sets with a
relationship per local day (the `_daily_kpi` sets) are read again with `$expand` on it. Prints one JSON document on stdout; the Rust
test crates/server/tests/server/odata_python.rs checks it against the store and /v1/report.

The key travels in the environment (never on a command line) and as Basic auth's password,
as Power BI and Excel send it.
"""

import datetime
import json
import os
import sys

import requests
from odata import ODataService
from odata.navproperty import NavigationProperty
from odata.property import PropertyBase


def plain(value):
    """A value python-odata decoded, as JSON."""
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return value


def properties(cls):
    return sorted(
        (name, prop) for name, prop in vars_of(cls).items() if isinstance(prop, PropertyBase)
    )


def navigations(cls):
    return sorted(
        (name, prop) for name, prop in vars_of(cls).items() if isinstance(prop, NavigationProperty)
    )


def vars_of(cls):
    found = {}
    for klass in reversed(cls.__mro__):
        found.update(vars(klass))
    return found


def row(entity, props):
    return {prop.name: plain(getattr(entity, name)) for name, prop in props}


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: GENESYS_BI_KEY=<key> read_odata.py <service-root-url> <page-size>")
    root, page_size = sys.argv[1], sys.argv[2]
    session = requests.Session()
    session.auth = ("genesys-bi", os.environ["GENESYS_BI_KEY"])
    service = ODataService(
        root,
        reflect_entities=True,
        session=session,
        extra_headers={"Prefer": f"odata.maxpagesize={page_size}"},
        quiet_progress=True,
    )
    out = {"sets": {}}
    for set_name, cls in sorted(service.entities.items()):
        props = properties(cls)
        keys = [prop.name for _, prop in props if prop.primary_key]
        rows = [row(entity, props) for entity in service.query(cls)]
        entry = {
            "key": keys,
            "properties": [prop.name for _, prop in props],
            "navigation": [
                {
                    "name": nav.name,
                    "target": nav.entitycls.__odata_schema__["type"],
                    "foreign_key": nav.foreign_key,
                }
                for _, nav in navigations(cls)
            ],
            "rows": rows,
        }
        # Expanded: each related entity as the client populated it from the same response.
        expanded = []
        for _, nav in navigations(cls) if set_name.endswith("_daily_kpi") else []:
            key_prop = getattr(cls, nav.foreign_key)
            query = service.query(cls).filter(key_prop != None).expand(getattr(cls, nav.name))  # noqa: E711
            for entity in query:
                related = getattr(entity, nav.name)
                expanded.append(
                    {
                        "navigation": nav.name,
                        "foreign_key": getattr(entity, nav.foreign_key),
                        "related_id": related.id if related is not None else None,
                        "related_name": related.name if related is not None else None,
                    }
                )
        entry["expanded"] = expanded
        out["sets"][set_name] = entry
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
