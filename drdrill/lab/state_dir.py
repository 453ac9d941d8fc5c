"""The lab's state directory: drdrill deletes only what it created, and PostgreSQL can reach it.

A lab marks its directory with ``.drdrill-lab`` when it makes it (or takes an empty
one). ``lab up`` and ``lab down`` refuse a directory that exists, is not empty and is
neither marked nor a lab made before the marker existed (``lab.json``, ``pids/``):
pointing ``lab.state_dir`` at a project or a home directory never deletes it.

As root, PostgreSQL runs as an unprivileged user that must reach its data: a checkout in
``/root`` (mode 700) or in a ``mktemp -d`` directory cannot hold it. When the state
directory was not set explicitly, the default then lives under the system's temporary
directory, one per project (``default_state_dir``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from drdrill.errors import LabError

__all__ = ["MARKER", "claim", "default_state_dir", "is_ours", "reachable_by_others"]

MARKER = ".drdrill-lab"
_LEGACY = ("lab.json", "pids")


def is_ours(directory: Path) -> bool:
    """True when ``directory`` is missing, empty, marked, or an unmarked older lab."""
    if not directory.exists():
        return True
    if not directory.is_dir():
        return False
    entries = {p.name for p in directory.iterdir()}
    return not entries or MARKER in entries or bool(entries & set(_LEGACY))


def claim(directory: Path) -> None:
    """Create (or take) ``directory`` for a lab and mark it; refuse anything else."""
    refuse_unless_ours(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text("a drdrill lab lives here; `drdrill lab down` removes it\n")


def refuse_unless_ours(directory: Path) -> None:
    """``LabError`` naming ``directory`` when it holds something that is not a lab."""
    if not is_ours(directory):
        raise LabError(
            f"lab.state_dir {directory} exists, is not empty and is not a drdrill lab "
            f"(no {MARKER} marker): refusing to use or delete it; expected a new or empty "
            "directory for lab.state_dir"
        )


def reachable_by_others(directory: Path) -> bool:
    """True when every existing ancestor of ``directory`` lets other users through."""
    return all(
        parent.stat().st_mode & 0o001
        for parent in [directory, *directory.parents]
        if parent.exists()
    )


def default_state_dir(project: Path) -> Path:
    """Where a lab lives when ``lab.state_dir`` is not set: ``.drdrill/lab`` in the project,
    or — as root, where PostgreSQL (never root) could not reach that — a directory of this
    project's own under the system's temporary directory."""
    inside = project / ".drdrill" / "lab"
    if os.geteuid() != 0 or reachable_by_others(inside):
        return inside
    digest = hashlib.sha256(str(project.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"drdrill-lab-{digest}" / "lab"
