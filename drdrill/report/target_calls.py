"""The target's calls, phase by phase: what a drill asked of the platform's control plane.

Read from the audit trail (every mutating call of the aws target is written there as
``service:operation`` before and after it runs) and placed on the drill's timeline: a
call belongs to the phase or activity running when it ended (the fault injection, each
activation phase, the fail back), else to ``(between phases)``. Pure: the drill passes
its timeline events and audit records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from drdrill.records.timeline import (
    ACTIVITY_END,
    ACTIVITY_START,
    PHASE_END,
    PHASE_START,
    ROLLBACK,
    Event,
)

__all__ = ["BETWEEN", "FAIL_BACK", "PhaseCalls", "as_markdown", "calls_by_phase"]

BETWEEN = "(between phases)"
FAIL_BACK = "fail back"
_ENDED = frozenset({"succeeded", "failed", "refused", "dry-run"})


@dataclass(frozen=True)
class PhaseCalls:
    """The calls made during one phase: ``(service:operation, count)`` in first-seen order."""

    phase: str
    calls: tuple[tuple[str, int], ...]
    failed: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"phase": self.phase, "calls": dict(self.calls), "failed": self.failed}


def _label_at(events: list[Event], t_ns: int) -> str:
    """The phase or activity running at ``t_ns``."""
    running: list[str] = []
    rolled_back = False
    for event in events:
        if event.t_ns > t_ns:
            break
        if event.kind in (PHASE_START, ACTIVITY_START):
            running.append(event.name)
        elif event.kind in (PHASE_END, ACTIVITY_END) and event.name in running:
            running.remove(event.name)
        elif event.kind == ROLLBACK:
            rolled_back, running = True, []
    if running:
        return running[-1]
    return FAIL_BACK if rolled_back else BETWEEN


def calls_by_phase(
    events: Iterable[Event], records: Iterable[Mapping[str, Any]]
) -> tuple[PhaseCalls, ...]:
    """Every ended ``service:operation`` call of ``records``, grouped by the phase of
    ``events`` it ended in; phases in the order their first call was made."""
    timeline = sorted(events, key=lambda e: e.t_ns)
    counts: dict[str, dict[str, int]] = {}
    failed: dict[str, int] = {}
    for record in records:
        action = str(record.get("action", ""))
        if ":" not in action or record.get("outcome") not in _ENDED:
            continue
        phase = _label_at(timeline, int(record.get("t_ns", 0)))
        calls = counts.setdefault(phase, {})
        calls[action] = calls.get(action, 0) + 1
        if record.get("outcome") != "succeeded":
            failed[phase] = failed.get(phase, 0) + 1
    return tuple(
        PhaseCalls(phase, tuple(calls.items()), failed.get(phase, 0))
        for phase, calls in counts.items()
    )


def as_markdown(phases: Iterable[PhaseCalls]) -> list[str]:
    """The "Target calls per phase" section of ``summary.md`` (nothing without calls)."""
    rows = [
        f"| {p.phase} | {', '.join(f'{a} ×{n}' if n > 1 else a for a, n in p.calls)} | {p.failed} |"
        for p in phases
    ]
    if not rows:
        return []
    return [
        "## Target calls per phase",
        "",
        "| Phase | Calls | Failed |",
        "|---|---|---|",
        *rows,
        "",
    ]
