"""Reads a Parquet file with pyarrow and prints what a reader sees, as one JSON document:
{"schema": [{"name", "type"}], "row_groups": [rows per group], "rows": [{column: value}]}.
Types are pyarrow's names (int64, double, string, timestamp[ms, tz=UTC]); timestamps are
printed as epoch milliseconds. Used by crates/server/tests/parquet.rs:
    .venv/bin/python tests/parquet/read_parquet.py FILE
"""

import json
import sys

import pyarrow as pa
import pyarrow.parquet as pq


def main(path):
    file = pq.ParquetFile(path)
    table = file.read()
    columns = {}
    for field, column in zip(table.schema, table.columns):
        if pa.types.is_timestamp(field.type):
            column = column.cast(pa.int64())
        columns[field.name] = column.to_pylist()
    rows = [
        {name: values[i] for name, values in columns.items()}
        for i in range(table.num_rows)
    ]
    json.dump(
        {
            "schema": [{"name": f.name, "type": str(f.type)} for f in table.schema],
            "row_groups": [
                file.metadata.row_group(i).num_rows
                for i in range(file.metadata.num_row_groups)
            ],
            "rows": rows,
        },
        sys.stdout,
        allow_nan=False,
    )


if __name__ == "__main__":
    main(sys.argv[1])
