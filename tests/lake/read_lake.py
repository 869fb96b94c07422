"""Reads a genesys-bi lake the way an analyst's engine does, and prints what it saw as JSON.

    read_lake.py spark FOLDER DATASET
        pyspark (one JVM): partition discovery over FOLDER/DATASET, per-day sums of n_offered,
        rows, row keys seen more than once, the discovered schema.
    read_lake.py pyarrow URI DATASET [--endpoint URL]
        pyarrow's dataset API with Hive partitioning, from a folder or s3://bucket/prefix (S3
        credentials and region from the AWS_* variables): the same figures.
    read_lake.py make-bucket BUCKET --endpoint URL
        Creates BUCKET on the S3 server at URL (moto in the tests).

Output: {"day_sums": {"2024-03-30": 123, ...}, "rows": N, "duplicate_keys": N,
"types": {"column": "type", ...}}.
"""

import argparse
import json
import os
import sys

KEY = ["interval_start", "queue_id", "media_type"]


def with_pyarrow(uri, dataset, endpoint):
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    import pyarrow.fs as fs

    if uri.startswith("s3://"):
        bucket_and_prefix = uri[len("s3://"):].strip("/")
        filesystem = fs.S3FileSystem(
            access_key=os.environ["AWS_ACCESS_KEY_ID"],
            secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
            region=os.environ.get("AWS_REGION", "us-east-1"),
            endpoint_override=endpoint,
            scheme="http" if endpoint and endpoint.startswith("http://") else "https",
        )
        root = f"{bucket_and_prefix}/{dataset}"
    else:
        filesystem = fs.LocalFileSystem()
        root = os.path.join(uri, dataset)
    partitioning = ds.partitioning(pa.schema([("date", pa.date32())]), flavor="hive")
    table = ds.dataset(root, filesystem=filesystem, format="parquet", partitioning=partitioning).to_table()
    sums = table.group_by("date").aggregate([("n_offered", "sum")])
    day_sums = {
        str(day): total
        for day, total in zip(sums.column("date").to_pylist(), sums.column("n_offered_sum").to_pylist())
    }
    keys = table.group_by(KEY).aggregate([("n_offered", "count")])
    duplicates = pc.sum(pc.greater(keys.column("n_offered_count"), 1)).as_py() or 0
    types = {field.name: str(field.type) for field in table.schema}
    return {"day_sums": day_sums, "rows": table.num_rows, "duplicate_keys": duplicates, "types": types}


def with_spark(folder, dataset):
    from pyspark.sql import SparkSession, functions as F

    spark = (
        SparkSession.builder.master("local[1]")
        .appName("genesys-bi-lake-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "512m")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        frame = spark.read.parquet(os.path.join(folder, dataset))
        day_sums = {
            str(row["date"]): row["offered"]
            for row in frame.groupBy("date").agg(F.sum("n_offered").alias("offered")).collect()
        }
        duplicates = frame.groupBy(*KEY).count().where("count > 1").count()
        types = {field.name: field.dataType.simpleString() for field in frame.schema.fields}
        return {"day_sums": day_sums, "rows": frame.count(), "duplicate_keys": duplicates, "types": types}
    finally:
        spark.stop()


def make_bucket(bucket, endpoint):
    import boto3

    boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
    ).create_bucket(Bucket=bucket)
    return {"bucket": bucket}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reader", choices=["spark", "pyarrow", "make-bucket"])
    parser.add_argument("where")
    parser.add_argument("dataset", nargs="?")
    parser.add_argument("--endpoint")
    args = parser.parse_args()
    if args.reader == "spark":
        seen = with_spark(args.where, args.dataset)
    elif args.reader == "pyarrow":
        seen = with_pyarrow(args.where, args.dataset, args.endpoint)
    else:
        seen = make_bucket(args.where, args.endpoint)
    json.dump(seen, sys.stdout)
    print()


if __name__ == "__main__":
    main()
