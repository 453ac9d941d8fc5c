"""Room for a drill's evidence: checked before the fault, not discovered halfway through.

A drill writes its timeline, audit trail, Locust's records and its report into
``reports_dir`` as it goes; a disk that fills after the fault loses the record of a drill
that changed the platform. So a drill starts only when the file system holding
``reports_dir`` has ``reports_min_free_mb`` free (``drdrill.yaml``; 50 MB by default, a
full drill's evidence is a few MB).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from drdrill.errors import ReportSpaceError

__all__ = ["check_report_space", "free_bytes"]


def free_bytes(directory: Path) -> int:
    """Bytes free (to this user) on the file system that holds or will hold ``directory``."""
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return shutil.disk_usage(existing).free


def check_report_space(reports_dir: Path, needed_mb: int) -> None:
    """``ReportSpaceError`` naming ``reports_dir`` and the bytes free and needed when the
    file system holding it has less than ``needed_mb`` MB free."""
    needed = needed_mb * 1024 * 1024
    free = free_bytes(reports_dir)
    if free < needed:
        raise ReportSpaceError(
            f"reports_dir {reports_dir} has {free} bytes free, a drill needs {needed} "
            f"(reports_min_free_mb: {needed_mb}); free space or point reports_dir elsewhere. "
            "The drill was not started"
        )
