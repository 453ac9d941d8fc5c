"""One finding: an issue a drill encountered, with its severity, figure and target.

``Finding`` is what ``drdrill.report.findings`` lists (and ``failback_findings`` adds to);
``write_ids`` names the writes a finding is about, up to ``IDS_SHOWN`` of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from drdrill.report.metrics_table import human_duration

__all__ = ["IDS_SHOWN", "SEVERITIES", "Finding", "Severity", "write_ids"]

Severity = Literal["critical", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "warning", "info")
"""Most severe first: ``critical`` fails the drill or the plan, ``warning`` needs
improvement, ``info`` is recorded for the review."""

IDS_SHOWN = 20
"""How many write ids a finding names; the rest are counted (all are in ledger.json)."""


@dataclass(frozen=True)
class Finding:
    """One issue encountered (an entry of the plan's "issues encountered" list)."""

    severity: Severity
    what: str
    actual: float | None
    """Seconds for a duration, a count for writes; None when there is no such figure."""
    target: float | None
    detail: str
    unit: Literal["s", "writes", ""] = ""
    """How ``actual``/``target`` read (for the markdown; JSON readers have ``what``)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "what": self.what,
            "actual": self.actual,
            "target": self.target,
            "detail": self.detail,
        }

    def shown(self, value: float | None) -> str:
        if value is None:
            return "—"
        return human_duration(value) if self.unit == "s" else f"{value:g}"


def write_ids(ids: Sequence[str], count: int, where: str = "ledger.json") -> str:
    if not ids:
        return "ids not recorded"
    shown = ", ".join(ids[:IDS_SHOWN])
    more = count - min(len(ids), IDS_SHOWN)
    return f"ids: {shown}" + (f" and {more} more (all in {where})" if more > 0 else "")
