"""The lab's state directory: drdrill deletes only what it created, and PostgreSQL can reach it.

A lab is recognised by two records that must agree: the marker ``.drdrill-lab`` in its
directory holds a random id drawn when the lab claimed the directory, and the lab's
state file (``lab.json``, ``drdrill.lab.state``) holds the same id. Nothing else makes a
directory a lab's: not ``pids/``, not ``lab.json`` alone, not a marker copied from
another lab (its id is not the one this directory's state records). ``lab up`` takes a
directory only when it is missing, empty or a lab's; ``lab down`` and every action on a
running lab (``lifecycle.require_up``) refuse any other, touching nothing in it, and
``lab down`` leaves an empty directory as it is. Pointing ``lab.state_dir`` at a project
or a home directory therefore never deletes it.

The marker is written first, the state a moment later: a ``kill -9`` between the two
leaves a directory holding only the marker, which drdrill then refuses like any other
(remove it by hand). A lab made by a drdrill older than the id is refused the same way.

As root, PostgreSQL runs as an unprivileged user that must reach its data: a checkout in
``/root`` (mode 700) or in a ``mktemp -d`` directory cannot hold it. When the state
directory was not set explicitly, the default then lives under the system's temporary
directory, one per project (``default_state_dir``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from pathlib import Path

from drdrill.errors import LabError
from drdrill.lab.state import LAB_ID, recorded_lab_id
from drdrill.lab.topology import STATE_FILE

__all__ = [
    "MARKER",
    "claim",
    "default_state_dir",
    "is_empty",
    "is_ours",
    "marker_id",
    "reachable_by_others",
    "refuse_unless_ours",
]

MARKER = ".drdrill-lab"
_ID_LINE = "lab-id: "


def marker_id(directory: Path) -> str | None:
    """The lab id the marker in ``directory`` holds (None: no marker, or no id in it)."""
    try:
        lines = (directory / MARKER).read_text().splitlines()
    except (OSError, ValueError):
        return None
    for line in lines:
        if line.startswith(_ID_LINE) and LAB_ID.fullmatch(line[len(_ID_LINE) :].strip()):
            return line[len(_ID_LINE) :].strip()
    return None


def _not_ours(directory: Path) -> str | None:
    """Why ``directory`` is not a lab's (None when it is one)."""
    if not directory.is_dir():
        return "it is not a directory" if directory.exists() else "it does not exist"
    marked = marker_id(directory)
    if marked is None:
        return f"no {MARKER} marker holding a lab id"
    if recorded_lab_id(directory / STATE_FILE) != marked:
        return f"its {MARKER} marker's id is not the one its {STATE_FILE} records"
    return None


def is_ours(directory: Path) -> bool:
    """True when ``directory`` is a lab's: its marker's id is the one its state records."""
    return _not_ours(directory) is None


def is_empty(directory: Path) -> bool:
    """True when ``directory`` is missing or an empty directory."""
    return not directory.exists() or (directory.is_dir() and not any(directory.iterdir()))


def claim(directory: Path) -> str:
    """Create (or take, when empty or a lab's) ``directory`` for a new lab and mark it
    with a new id, returned: the lab's state must record it at once (``LabState.lab_id``).
    ``LabError`` (nothing touched) for anything else."""
    if not is_empty(directory):
        refuse_unless_ours(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lab_id = uuid.uuid4().hex
    text = f"a drdrill lab lives here; `drdrill lab down` removes it\n{_ID_LINE}{lab_id}\n"
    partial = directory / f"{MARKER}.partial"
    partial.write_text(text)
    partial.replace(directory / MARKER)  # a reader sees no marker or a whole one
    return lab_id


def refuse_unless_ours(directory: Path) -> None:
    """``LabError`` naming ``directory`` when it is not a lab's (see the module)."""
    why = _not_ours(directory)
    if why is not None:
        raise LabError(
            f"lab.state_dir {directory} exists, is not empty and is not a drdrill lab "
            f"({why}): refusing to use or delete it; expected a new or empty directory, "
            "or one a drdrill lab made, for lab.state_dir"
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
