"""The lab's cross-region object replication (moto stores the config but never replicates).

Run as ``python -m drdrill.lab.replicator --endpoint URL --source B --target B --delay S``:
every new version (and delete marker) of the source bucket is applied to the target
bucket once it is ``delay`` seconds old, in the order it was written.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import Any

import boto3

__all__ = ["main"]


def main() -> None:
    parser = argparse.ArgumentParser(description="drdrill lab object replicator")
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--delay", type=float, default=1.0)
    args = parser.parse_args()
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=args.endpoint,
        aws_access_key_id="lab",
        aws_secret_access_key="lab",
    )
    done: set[str] = set()
    while True:
        pages = s3.get_paginator("list_object_versions").paginate(Bucket=args.source)
        events: list[tuple[datetime, Any, bool]] = []
        for page in pages:
            events += [(v["LastModified"], v, False) for v in page.get("Versions", [])]
            events += [(m["LastModified"], m, True) for m in page.get("DeleteMarkers", [])]
        now = datetime.now(UTC)
        for modified, item, is_marker in sorted(events, key=lambda e: e[0]):
            if item["VersionId"] in done or (now - modified).total_seconds() < args.delay:
                continue
            if is_marker:
                s3.delete_object(Bucket=args.target, Key=item["Key"])
            else:
                body = s3.get_object(
                    Bucket=args.source, Key=item["Key"], VersionId=item["VersionId"]
                )["Body"].read()
                s3.put_object(Bucket=args.target, Key=item["Key"], Body=body)
            done.add(item["VersionId"])
        time.sleep(0.2)


if __name__ == "__main__":
    main()
