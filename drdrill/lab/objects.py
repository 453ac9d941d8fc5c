"""The lab's object store: versioned buckets in both regions, replicated by the lab.

An S3-compatible server (moto in server mode, as its own process) holds
``orders-primary`` and ``orders-dr``, both versioned. moto stores a replication
configuration but does not replicate (docs/lab.md), so the lab runs its own
replicator process, which copies every new version (and delete marker) from the
primary bucket to the DR bucket once it is ``object_replication_delay`` old —
the plan's S3 Cross-Region Replication with its replication time.

Started on first use (``ObjectStore.ensure_up``); ``lab down`` ends it with the rest.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from drdrill.errors import LabError
from drdrill.lab.launch import wait_listening
from drdrill.lab.processes import kill_recorded, recorded, spawn
from drdrill.lab.topology import Topology
from drdrill.support.wait import poll

__all__ = ["BUCKETS", "ObjectStore"]

BUCKETS = {"primary": "orders-primary", "dr": "orders-dr"}


class ObjectStore:
    """The object store of one running lab (the caller checks that the lab is up)."""

    def __init__(self, topology: Topology, replication_delay_s: float) -> None:
        self.topology = topology
        self.replication_delay_s = replication_delay_s
        self.port = topology.ports.objects
        self.url = f"http://127.0.0.1:{self.port}"
        self._clients: dict[str, Any] = {}
        self._failed_flag = topology.dir / "objects-primary-failed"

    def client(self, region: str = "primary") -> Any:
        if region not in self._clients:
            self._clients[region] = self._client(region)
        return self._clients[region]

    def _client(self, region: str) -> Any:
        import boto3

        return boto3.client(
            "s3",
            region_name="us-east-1" if region == "primary" else "us-west-2",
            endpoint_url=self.url,
            aws_access_key_id="lab",
            aws_secret_access_key="lab",
        )

    def ensure_up(self) -> None:
        """Start the store and the replicator unless they run; create the buckets."""
        live = recorded(self.topology.pid_dir)
        if "objects" not in live:
            spawn(
                "objects",
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                pid_dir=self.topology.pid_dir,
                log_path=self.topology.log_dir / "objects.log",
                marker=str(self.topology.dir),
            )
            wait_listening(self.port, timeout=30)
            s3 = self.client()
            for region, bucket in BUCKETS.items():
                if region == "primary":
                    s3.create_bucket(Bucket=bucket)
                else:
                    s3.create_bucket(
                        Bucket=bucket,
                        CreateBucketConfiguration={"LocationConstraint": "us-west-2"},
                    )
                s3.put_bucket_versioning(
                    Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
                )
        if "replicator" not in live and not self._failed_flag.exists():
            spawn(
                "replicator",
                [
                    sys.executable,
                    "-m",
                    "drdrill.lab.replicator",
                    "--endpoint",
                    self.url,
                    "--source",
                    BUCKETS["primary"],
                    "--target",
                    BUCKETS["dr"],
                    "--delay",
                    str(self.replication_delay_s),
                ],
                pid_dir=self.topology.pid_dir,
                log_path=self.topology.log_dir / "replicator.log",
                marker=str(self.topology.dir),
            )

    def fail_primary(self) -> None:
        """The primary region fails: its replication stops with it (what was not yet
        copied to the DR bucket is lost to the DR region)."""
        self._failed_flag.touch()  # ensure_up must not bring replication back
        kill_recorded(self.topology.pid_dir, ["replicator"])

    def missing_in_dr(self, documents: dict[str, bytes]) -> list[str]:
        """Keys whose recorded body the DR bucket does not hold."""
        return sorted(k for k, body in documents.items() if self.get(k, "dr") != body)

    def put(self, key: str, body: bytes, region: str = "primary") -> str:
        """Store an object; its version id."""
        return str(
            self.client(region).put_object(Bucket=BUCKETS[region], Key=key, Body=body)["VersionId"]
        )

    def get(self, key: str, region: str = "primary") -> bytes | None:
        """The current body of ``key`` (None when deleted or absent)."""
        s3 = self.client(region)
        try:
            body: bytes = s3.get_object(Bucket=BUCKETS[region], Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            return None
        return body

    def wait_replicated(self, keys: list[str], timeout_s: float = 30.0) -> float:
        """Block until every key's current primary body is in the DR bucket; seconds waited."""
        started = time.monotonic()
        replicated = poll(
            lambda: all(self.get(k, "dr") == self.get(k, "primary") for k in keys) or None,
            timeout_s,
            interval_s=0.1,
        )
        if replicated is None:
            raise LabError(f"objects not replicated to the DR bucket within {timeout_s}s")
        return time.monotonic() - started
