"""The drill timeline: an append-only, thread-safe record of what happened when.

Every time is wall-clock UTC nanoseconds (``time.time_ns()``) stamped on this
machine, so probes, the ledger and Chaos Toolkit activities share one clock.
When the timeline has a path, each event is appended to it (secrets redacted) as
one JSON line the moment it is recorded: a crashed drill keeps everything that
happened before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from drdrill.support import jsonl
from drdrill.support.redaction import redact

__all__ = [
    "ACTIVITY_END",
    "ACTIVITY_START",
    "FAULT_INJECTED",
    "NOTE",
    "PHASE_END",
    "PHASE_START",
    "RESTORED",
    "ROLLBACK",
    "STOP_CONDITION",
    "Event",
    "Timeline",
    "iso",
    "now_ns",
]

FAULT_INJECTED: Final = "fault_injected"
"""The injection action returned success: this is t_fault."""
PHASE_START: Final = "phase_start"
PHASE_END: Final = "phase_end"
ACTIVITY_START: Final = "activity_start"
ACTIVITY_END: Final = "activity_end"
RESTORED: Final = "restored"
ROLLBACK: Final = "rollback"
NOTE: Final = "note"
STOP_CONDITION: Final = "stop_condition"


def now_ns() -> int:
    """Wall-clock UTC time in nanoseconds: the one clock of a drill."""
    return time.time_ns()


def iso(t_ns: int) -> str:
    """ISO-8601 UTC with microseconds, e.g. ``2026-11-24T15:06:08.123456Z``."""
    return datetime.fromtimestamp(t_ns / 1e9, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Event:
    """One thing that happened during a drill."""

    t_ns: int
    kind: str
    name: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "t_ns": self.t_ns,
            "time": iso(self.t_ns),
            "kind": self.kind,
            "name": self.name,
            "detail": dict(self.detail),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Event:
        return cls(
            t_ns=int(raw["t_ns"]),
            kind=str(raw["kind"]),
            name=str(raw.get("name", "")),
            detail=dict(raw.get("detail", {})),
        )


class Timeline:
    """Append-only events of one drill, optionally persisted as JSONL as they arrive."""

    def __init__(self, path: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self.path = path
        self.skipped = 0
        """Lines ``load`` could not read as events."""
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def record(self, kind: str, name: str = "", *, t_ns: int | None = None, **detail: Any) -> Event:
        """Append an event stamped now (or at ``t_ns``) and return it."""
        event = Event(t_ns=now_ns() if t_ns is None else t_ns, kind=kind, name=name, detail=detail)
        with self._lock:
            self._events.append(event)
            if self.path is not None:
                jsonl.append(self.path, redact(event.to_json()))
        return event

    def events(self, kind: str | None = None, name: str | None = None) -> list[Event]:
        """The events so far in time order, optionally only one kind / name."""
        with self._lock:
            selected = [
                e
                for e in self._events
                if (kind is None or e.kind == kind) and (name is None or e.name == name)
            ]
        return sorted(selected, key=lambda e: e.t_ns)

    def first(self, kind: str, name: str | None = None) -> Event | None:
        """The earliest event of that kind (and name), or None."""
        found = self.events(kind, name)
        return found[0] if found else None

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events())

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)

    @classmethod
    def load(cls, path: Path) -> Timeline:
        """Read a timeline saved as JSONL (a torn line from a crash, or a line that is no
        event, is skipped; ``skipped`` says how many)."""
        timeline = cls()
        lines = jsonl.read(path)
        timeline.skipped = lines.skipped
        for raw in lines.records:
            try:
                event = Event.from_json(raw)
            except (KeyError, TypeError, ValueError):
                timeline.skipped += 1
                continue
            timeline._events.append(event)
        return timeline
