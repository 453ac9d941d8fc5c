"""Typed timeline notes: what one module notes during a drill and another reads back.

A note is a ``NOTE`` event of the timeline with a name and a detail mapping. The notes
that cross module boundaries each have one frozen type here, with its ``record`` (into a
timeline) and its ``read`` (every such note of a timeline, in order, each with the time
it was noted), so the writer and the reader cannot disagree on a key:

- ``ConsistencyChecked`` — the failback compared both databases before moving traffic
  (written by the Chaos Toolkit activity, read by the failback figures);
- ``SwitchoverMeasured`` (noted as ``switchover_outage``) — the planned switchover's
  fence → writable time, as the target measured it (activity → failback figures);
- ``DivergentWrites`` — the writes a superseded old primary acknowledged after dr's
  promotion, by id, noted before any failback can discard them (drill → failback figures).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from drdrill.records.timeline import NOTE, Event, Timeline

__all__ = ["ConsistencyChecked", "DivergentWrites", "NotedWrite", "SwitchoverMeasured"]


def _noted(timeline: Timeline, name: str) -> list[Event]:
    return [e for e in timeline.events(NOTE) if e.name == name]


@dataclass(frozen=True)
class ConsistencyChecked:
    """Both databases compared at one moment ``as_of`` (ISO UTC)."""

    NAME: ClassVar[str] = "consistency_checked"

    consistent: bool
    as_of: str
    acknowledged: int
    lost_before: tuple[str, ...] = ()
    """Acknowledged writes already missing on the serving database (the disaster's loss)."""
    problems: tuple[str, ...] = ()
    t_ns: int = 0
    """When it was noted (set by ``read``)."""

    def record(self, timeline: Timeline) -> Event:
        return timeline.record(
            NOTE,
            self.NAME,
            consistent=self.consistent,
            as_of=self.as_of,
            acknowledged=self.acknowledged,
            lost_before=list(self.lost_before),
            problems=list(self.problems),
        )

    @classmethod
    def read(cls, timeline: Timeline) -> list[ConsistencyChecked]:
        return [
            cls(
                consistent=bool(e.detail.get("consistent")),
                as_of=str(e.detail.get("as_of", "")),
                acknowledged=int(e.detail.get("acknowledged", 0)),
                lost_before=tuple(str(i) for i in e.detail.get("lost_before", ())),
                problems=tuple(str(p) for p in e.detail.get("problems", ())),
                t_ns=e.t_ns,
            )
            for e in _noted(timeline, cls.NAME)
        ]


@dataclass(frozen=True)
class SwitchoverMeasured:
    """The switchover to ``to_region``: ``seconds`` from the fence to writable."""

    NAME: ClassVar[str] = "switchover_outage"

    to_region: str
    seconds: float
    t_ns: int = 0

    def record(self, timeline: Timeline) -> Event:
        return timeline.record(NOTE, self.NAME, to_region=self.to_region, seconds=self.seconds)

    @classmethod
    def read(cls, timeline: Timeline) -> list[SwitchoverMeasured]:
        return [
            cls(str(e.detail.get("to_region", "")), float(e.detail["seconds"]), e.t_ns)
            for e in _noted(timeline, cls.NAME)
        ]


@dataclass(frozen=True)
class NotedWrite:
    """One divergent write: its id, when it was acknowledged, and when it committed."""

    id: str
    ack_ns: int
    committed_ns: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "ack_ns": self.ack_ns, "committed_ns": self.committed_ns}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NotedWrite:
        committed = data.get("committed_ns")
        return cls(
            str(data["id"]), int(data["ack_ns"]), None if committed is None else int(committed)
        )


@dataclass(frozen=True)
class DivergentWrites:
    """What ``region``'s superseded database acknowledged after dr's promotion."""

    NAME: ClassVar[str] = "divergent_writes"

    region: str
    writes: tuple[NotedWrite, ...]
    t_ns: int = 0

    @classmethod
    def of(cls, region: str, writes: Iterable[Any]) -> DivergentWrites:
        """From any writes with ``id``, ``ack_ns`` and ``committed_ns`` (a target's)."""
        return cls(region, tuple(NotedWrite(w.id, w.ack_ns, w.committed_ns) for w in writes))

    def record(self, timeline: Timeline) -> Event:
        return timeline.record(
            NOTE,
            self.NAME,
            region=self.region,
            count=len(self.writes),
            writes=[w.to_json() for w in self.writes],
        )

    @classmethod
    def read(cls, timeline: Timeline) -> list[DivergentWrites]:
        return [
            cls(
                str(e.detail.get("region", "")),
                tuple(NotedWrite.from_json(w) for w in e.detail.get("writes", ())),
                e.t_ns,
            )
            for e in _noted(timeline, cls.NAME)
        ]
