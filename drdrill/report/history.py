"""``reports/history.jsonl``: one line per drill, and what is read from it.

The history feeds the trend (RTO/RPO over drills) and the DR readiness score (the share
of recent drills that passed). Every drill that starts leaves a line, measured or not;
``drdrill check`` leaves readiness lines, which are no drills.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drdrill.errors import ReportError
from drdrill.report.metrics_table import human_duration
from drdrill.support import jsonl
from drdrill.support.redaction import redact

if TYPE_CHECKING:
    from drdrill.report.summary import DrillSummary

__all__ = [
    "HISTORY_FIELDS",
    "History",
    "TrendPoint",
    "append_history",
    "append_history_line",
    "read_history",
    "readiness",
    "trend",
    "trend_lines",
]

HISTORY_FIELDS = (
    "drill_id",
    "scenario",
    "kind",
    "target",
    "started",
    "failure_mode",
    "rto_s",
    "rpo_s",
    "lost_writes",
    "in_doubt_writes",
    "divergent_writes",
    "switchover_outage_s",
    "phases",
    "verdicts",
    "targets_s",
    "passed",
    "outcome",
    "reached",
    "error",
)
"""The keys of one line of ``reports/history.jsonl``: every drill that starts leaves one,
measured or not (``outcome`` passed, failed, aborted, error or skipped; ``reached`` the
furthest state of the drill; ``targets_s`` the targets it was judged against, for the
trend picture; ``divergent_writes`` and ``switchover_outage_s`` the failback's, None for a
drill that did not fail back or a target that does not count divergent writes)."""

NOT_A_DRILL = frozenset({"readiness"})
"""History ``kind`` values that are not drills (``drdrill check`` lines)."""


def append_history(summary: DrillSummary, reports_dir: Path) -> Path:
    """Append one line (``HISTORY_FIELDS``) for this drill to ``reports/history.jsonl``."""
    record = summary.to_json()
    return append_history_line({k: record[k] for k in HISTORY_FIELDS}, reports_dir)


def append_history_line(line: Mapping[str, Any], reports_dir: Path) -> Path:
    """The one writer of ``reports/history.jsonl`` (drills, unmeasured drills, readiness
    checks): redacted, on a fresh line even when the last one was torn by a killed writer."""
    path = reports_dir / "history.jsonl"
    try:
        jsonl.append(path, redact(dict(line)))
    except OSError as exc:
        raise ReportError(f"cannot write the history {path}: {exc.strerror or exc}") from exc
    return path


@dataclass(frozen=True)
class History:
    """The drills of ``reports/history.jsonl``, oldest first, and how many of its lines
    could not be read (torn, not UTF-8, not a JSON object, or figures that are no
    numbers): those are skipped, never fatal."""

    rows: tuple[dict[str, Any], ...]
    skipped: int = 0

    def skipped_note(self) -> str | None:
        """What to tell the reader about skipped lines (None: there were none)."""
        if not self.skipped:
            return None
        lines = "line" if self.skipped == 1 else "lines"
        return f"{self.skipped} unreadable history {lines} skipped"


def _is_drill(row: Mapping[str, Any]) -> bool:
    figures = (row.get("rto_s"), row.get("rpo_s"))
    numbers = all(f is None or type(f) in (int, float) for f in figures)
    return isinstance(row.get("passed"), bool) and numbers


def read_history(reports_dir: Path) -> History:
    """Every drill of ``reports/history.jsonl``, oldest first; unreadable lines skipped
    and counted."""
    lines = jsonl.read(reports_dir / "history.jsonl")
    rows = tuple(row for row in lines.records if _is_drill(row))
    return History(rows, lines.skipped + len(lines.records) - len(rows))


def readiness(history: Sequence[Mapping[str, Any]], last: int = 10) -> float | None:
    """DR readiness score: the share of the last ``last`` drills that passed (0..1);
    None before the first drill."""
    drills = [r for r in history if _counts(r)]
    recent = drills[-last:]
    if not recent:
        return None
    return sum(bool(r.get("passed")) for r in recent) / len(recent)


def _counts(row: Mapping[str, Any]) -> bool:
    """A drill that tells something about readiness: not a readiness check, not skipped."""
    return row.get("kind") not in NOT_A_DRILL and row.get("outcome") != "skipped"


@dataclass(frozen=True)
class TrendPoint:
    """One drill in the trend: its figures and the readiness score after it."""

    drill_id: str
    started: str
    scenario: str
    rto_s: float | None
    rpo_s: float | None
    passed: bool
    readiness: float
    outcome: str = ""


def trend(history: Sequence[Mapping[str, Any]], last: int = 10) -> list[TrendPoint]:
    """RTO/RPO over the drills of ``history``, with the readiness score as it moved."""
    points = []
    drills = [r for r in history if r.get("kind") not in NOT_A_DRILL]
    for index, row in enumerate(drills):
        score = readiness(drills[: index + 1], last)
        points.append(
            TrendPoint(
                drill_id=str(row.get("drill_id", "?")),
                started=str(row.get("started", "")),
                scenario=str(row.get("scenario", "")),
                rto_s=row.get("rto_s"),
                rpo_s=row.get("rpo_s"),
                passed=bool(row.get("passed")),
                readiness=score if score is not None else 0.0,
                outcome=str(row.get("outcome") or ("passed" if row.get("passed") else "failed")),
            )
        )
    return points


def trend_lines(history: Sequence[Mapping[str, Any]], show: int = 10) -> list[str]:
    """The trend of the last ``show`` drills as a small markdown table."""
    lines = [
        "| Drill | Scenario | RTO | RPO | Result | Readiness |",
        "|-------|----------|-----|-----|--------|-----------|",
    ]
    for p in trend(history)[-show:]:
        lines.append(
            f"| {p.drill_id} | {p.scenario} | {human_duration(p.rto_s)} | "
            f"{human_duration(p.rpo_s) if p.rpo_s else '0 s'} | "
            f"{'✅' if p.passed else '❌'} {p.outcome} | {p.readiness:.0%} |"
        )
    return lines
