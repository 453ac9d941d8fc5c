"""S3 object versions: list them, and make an earlier one current again (``copy-object``).

A bucket's region is the region whose ``s3_buckets`` lists it (default: the
primary's), so a DR bucket is read through a client of the DR region.
"""

from __future__ import annotations

from drdrill.targets.aws.clients import Clients
from drdrill.targets.aws.profile import AwsProfile
from drdrill.targets.aws.safety import Guard
from drdrill.targets.base import ObjectVersion, object_versions

__all__ = ["Objects"]


class Objects:
    """The versioned buckets of a target."""

    def __init__(self, profile: AwsProfile, clients: Clients, guard: Guard) -> None:
        self.profile = profile
        self.clients = clients
        self.guard = guard

    def region_of(self, bucket: str) -> str:
        """The AWS region holding ``bucket`` according to the profile."""
        for side in self.profile.regions.values():
            if bucket in side.s3_buckets:
                return side.name
        return self.profile.regions["primary"].name

    def list_versions(self, bucket: str, prefix: str = "") -> list[ObjectVersion]:
        """Every version and delete marker under ``prefix`` (all pages), by key and age."""
        region = self.region_of(bucket)
        s3 = self.clients.aws("s3", region)
        listing: dict[str, list[dict[str, object]]] = {"Versions": [], "DeleteMarkers": []}

        def pages() -> None:
            for page in s3.get_paginator("list_object_versions").paginate(
                Bucket=bucket, Prefix=prefix
            ):
                listing["Versions"] += page.get("Versions", [])
                listing["DeleteMarkers"] += page.get("DeleteMarkers", [])

        self.guard.read("s3", "list_object_versions", region, f"{bucket}/{prefix}", pages)
        return object_versions(bucket, listing)

    def restore_version(
        self, bucket: str, key: str, version_id: str, source_bucket: str | None = None
    ) -> None:
        """Copy ``version_id`` of ``key`` (from ``source_bucket``, default ``bucket``)
        over the current version of ``key`` in ``bucket``."""
        region = self.region_of(bucket)
        s3 = self.clients.aws("s3", region)
        source = {"Bucket": source_bucket or bucket, "Key": key, "VersionId": version_id}
        self.guard.call(
            s3,
            "copy_object",
            region,
            f"{bucket}/{key}",
            Bucket=bucket,
            Key=key,
            CopySource=source,
        )
