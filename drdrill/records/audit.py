"""The audit trail: every DR action, who did it, against what, and how it ended.

The plan's "Audit Trail" list: activation timestamp, actions taken and by whom,
RTO/RPO achieved, issues encountered, resolution steps. Each record is one JSON
line appended (and flushed) as it happens. Parameters and details pass through
``drdrill.support.redaction.redact`` first: a secret never reaches the trail.

The trail is hash-chained (``jsonl.append_chained``): every line carries ``seq`` and
``prev``, the sha256 of the line before it, so ``drdrill report --verify`` detects a line
edited, inserted, deleted or moved after the fact.

A record that cannot be written (a full disk) raises, so a drill that cannot audit stops;
inside ``best_effort()`` (a rollback, which must run whatever else fails) it is kept in
memory and the lost write said on stderr instead.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from drdrill.records.timeline import iso, now_ns
from drdrill.support import jsonl
from drdrill.support.redaction import redact

__all__ = ["AuditTrail", "actor", "as_json"]


def actor() -> str:
    """Who is acting: the CI identity when in CI, else user@host."""
    for variable in ("GITHUB_ACTOR", "GITLAB_USER_LOGIN", "BUILD_USER_ID"):
        if ci_user := os.environ.get(variable):
            return f"ci:{ci_user}"
    if os.environ.get("CI"):
        return f"ci@{socket.gethostname()}"
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def as_json(value: Any) -> Any:
    """``value`` with what JSON cannot hold rendered as text: datetimes as ISO 8601
    (``2026-11-24T15:06:08+00:00``), anything else unknown by ``str``."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [as_json(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


class AuditTrail:
    """Append-only, hash-chained JSONL audit records of one drill (thread-safe)."""

    def __init__(self, path: Path | None, *, who: str | None = None) -> None:
        self.path = path
        self.actor = who or actor()
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = []
        self._best_effort = 0
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def record(
        self,
        action: str,
        *,
        target: str,
        outcome: str,
        parameters: Mapping[str, Any] | None = None,
        **detail: Any,
    ) -> dict[str, Any]:
        """Append one record; ``outcome`` is e.g. started/succeeded/failed/dry-run/refused."""
        t_ns = now_ns()
        entry: dict[str, Any] = {
            "time": iso(t_ns),
            "t_ns": t_ns,
            "actor": self.actor,
            "action": action,
            "target": target,
            "parameters": redact(as_json(dict(parameters or {}))),
            "outcome": outcome,
        }
        entry.update(redact(as_json(detail)))
        with self._lock:
            if self.path is not None:
                try:
                    entry = jsonl.append_chained(self.path, entry)
                except OSError as exc:
                    if not self._best_effort:
                        raise
                    print(
                        f"drdrill: audit record {action!r} not written to {self.path}: {exc}",
                        file=sys.stderr,
                        flush=True,
                    )
            self._records.append(entry)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(entry)
        return entry

    def listen(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Call ``listener`` with every record once it is appended (the drill's journal
        keeps the target calls made so far)."""
        with self._lock:
            self._listeners.append(listener)

    @contextlib.contextmanager
    def best_effort(self) -> Iterator[None]:
        """Inside, a record that cannot be written is kept in memory and said on stderr
        instead of raising (module docstring)."""
        with self._lock:
            self._best_effort += 1
        try:
            yield
        finally:
            with self._lock:
                self._best_effort -= 1

    def records(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._records)
