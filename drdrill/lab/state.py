"""``lab.json``: what the lab runs and how, as a validated, immutable ``LabState``.

Written atomically (a temporary file renamed over it), so a reader sees the old
state or the new one, never half of one. A ``lab.json`` that exists but cannot be
read as a lab state is *corrupted*: ``load_state`` raises ``LabError`` naming the
file rather than guessing. Treating it as "no lab" would show a running lab as
down, and the next ``up`` would start a second lab over the first one's ports.

The state holds the lab's id (``lab_id``), the one its directory's marker holds
(``drdrill.lab.state_dir``): ``drdrill lab down`` reads nothing else of the state
(``recorded_lab_id``), so it still clears a lab whose state is otherwise corrupted, as
long as the file still names that id.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from drdrill.errors import LabError
from drdrill.lab.topology import FAILURE_MODES, MAX_WORKERS, REGIONS

__all__ = ["LAB_ID", "LabState", "load_state", "recorded_lab_id", "save_state"]

Phase = Literal["starting", "up"]
LAB_ID = re.compile(r"[0-9a-f]{32}")
"""A lab's id: the hex of a random UUID, drawn when the lab claims its directory."""


def _regions(name: str, value: object) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) != set(REGIONS):
        raise ValueError(f"{name}: expected one entry per region {list(REGIONS)}, got {value!r}")
    return value


@dataclass(frozen=True)
class LabState:
    """What ``up`` started and every action since changed (failures, scale, promotions)."""

    phase: Phase
    base_port: int
    pg_bin: str
    """The PostgreSQL binaries the lab's databases run."""
    pg_version: str
    pg_user: str | None
    """The OS user PostgreSQL runs as (None: drdrill's own user)."""
    workers: dict[str, int]
    """Order-service workers per region."""
    database_of: dict[str, str]
    """The database each region's workers use: a region, or a restored instance."""
    failures: dict[str, str | None]
    """The failure mode injected in each region, None while healthy."""
    lab_id: str
    """The id in the state dir's marker: the two together make the directory this lab's."""
    promoted: tuple[str, ...] = ()
    """Regions whose standby was promoted (their old primary must not come back)."""
    up_seconds: float | None = None
    promoted_ns: int | None = None
    """When the last promotion was seen taking writes (wall clock, ns): a write the old
    primary commits after it is divergent (split brain)."""

    def __post_init__(self) -> None:
        if self.phase not in ("starting", "up"):
            raise ValueError(f"phase: expected 'starting' or 'up', got {self.phase!r}")
        if not isinstance(self.lab_id, str) or not LAB_ID.fullmatch(self.lab_id):
            raise ValueError(f"lab_id: expected 32 hex digits, got {self.lab_id!r}")
        if not isinstance(self.base_port, int) or isinstance(self.base_port, bool):
            raise ValueError(f"base_port: expected a port number, got {self.base_port!r}")
        for region, count in _regions("workers", self.workers).items():
            if not isinstance(count, int) or not 0 <= count <= MAX_WORKERS:
                raise ValueError(f"workers.{region}: expected 0..{MAX_WORKERS}, got {count!r}")
        for region, db in _regions("database_of", self.database_of).items():
            if not isinstance(db, str) or not db:
                raise ValueError(f"database_of.{region}: expected a database name, got {db!r}")
        for region, mode in _regions("failures", self.failures).items():
            if mode is not None and mode not in FAILURE_MODES:
                raise ValueError(f"failures.{region}: unknown failure mode {mode!r}")
        if self.promoted_ns is not None and (
            not isinstance(self.promoted_ns, int) or isinstance(self.promoted_ns, bool)
        ):
            raise ValueError(f"promoted_ns: expected ns since the epoch, got {self.promoted_ns!r}")
        if not set(self.promoted) <= set(REGIONS):
            raise ValueError(f"promoted: expected regions, got {list(self.promoted)!r}")

    # -- changes (each returns a new state) ----------------------------------

    def with_failure(self, region: str, mode: str | None) -> LabState:
        return dataclasses.replace(self, failures={**self.failures, region: mode})

    def with_workers(self, region: str, workers: int) -> LabState:
        return dataclasses.replace(self, workers={**self.workers, region: workers})

    def with_database(self, region: str, database: str) -> LabState:
        return dataclasses.replace(self, database_of={**self.database_of, region: database})

    def with_promoted(self, region: str, at_ns: int | None = None) -> LabState:
        return dataclasses.replace(
            self, promoted=tuple(sorted({*self.promoted, region})), promoted_ns=at_ns
        )

    def replace(self, **changes: Any) -> LabState:
        return dataclasses.replace(self, **changes)

    # -- JSON ----------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        raw = dataclasses.asdict(self)
        raw["promoted"] = list(self.promoted)
        return raw

    @classmethod
    def from_json(cls, raw: object) -> LabState:
        """The state in ``raw`` (a parsed ``lab.json``); ``ValueError`` if it is not one."""
        if not isinstance(raw, dict):
            raise ValueError(f"expected a JSON object, got {type(raw).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(raw) - names
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        try:
            return cls(**{**raw, "promoted": tuple(raw.get("promoted", ()))})
        except TypeError as exc:  # a required key is missing
            raise ValueError(str(exc)) from exc


def load_state(path: Path) -> LabState | None:
    """The lab's state; None when there is no ``lab.json`` (no lab was brought up).

    ``LabError`` naming ``path`` when the file exists but is not a valid lab state.
    """
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LabError(f"cannot read the lab state file {path}: {exc}") from exc
    try:
        return LabState.from_json(json.loads(text))
    except ValueError as exc:
        raise LabError(
            f"the lab state file {path} is corrupted ({exc}); the lab's processes may "
            "still run: `drdrill lab down` ends them and clears the state dir (if the file "
            "still names the lab's id; if not, it refuses, touching nothing)"
        ) from exc


def recorded_lab_id(path: Path) -> str | None:
    """The lab id the state file at ``path`` records; None when there is no file, or no
    id can be read from it. Read on its own: the rest of the state may be corrupted."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    found = raw.get("lab_id") if isinstance(raw, dict) else None
    return found if isinstance(found, str) and LAB_ID.fullmatch(found) else None


def save_state(path: Path, state: LabState) -> None:
    """Replace ``lab.json`` with ``state`` in one rename (readers never see a partial file)."""
    fd, tmp = tempfile.mkstemp(prefix=".lab-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(state.to_json(), out, indent=2)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
