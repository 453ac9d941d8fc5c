"""What a backup is and what a restore made: shared by the targets and the lab.

Plain records with no behaviour, so the simulated lab and the harness's target protocol
speak of the same snapshot without the lab importing the harness.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["RestoredDatabase", "Snapshot"]


@dataclass(frozen=True)
class Snapshot:
    """A database snapshot (a base backup in the lab, an RDS snapshot on AWS)."""

    name: str
    region: str
    created: datetime
    size_bytes: int | None = None
    source: str = ""
    """What it was taken from / copied from."""


@dataclass(frozen=True)
class RestoredDatabase:
    """A database instance created by a restore."""

    instance: str
    dsn: str
    """Connection string without password."""
    restore_duration_s: float
    restored_to: datetime | None = None
    source: str = ""
