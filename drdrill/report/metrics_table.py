"""The DR plan's "Test Metrics" table, with this drill's real numbers."""

from __future__ import annotations

import html

from drdrill.results import Verdicts

__all__ = ["STATUS_MARK", "as_html", "as_markdown", "human_duration"]

STATUS_MARK = {"pass": "✅ Pass", "warn": "⚠️ Needs improvement", "fail": "❌ Fail"}


def human_duration(seconds: float | None) -> str:
    """``30 min``, ``2 h``, ``3.42 s``, ``120 ms``; ``—`` when not measured."""
    if seconds is None:
        return "—"
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    if seconds < 1 and seconds > 0:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


def _rows(verdicts: Verdicts) -> list[tuple[str, str, str, str]]:
    return [
        (v.title, human_duration(v.target_s), human_duration(v.measured_s), STATUS_MARK[v.status])
        for v in verdicts.items
    ]


def as_markdown(verdicts: Verdicts) -> str:
    """| Metric | Target | This drill | Status | — as the plan's table."""
    lines = [
        "| Metric | Target | This drill | Status |",
        "|--------|--------|-----------|--------|",
    ]
    lines += [f"| **{m}** | {t} | {d} | {s} |" for m, t, d, s in _rows(verdicts)]
    return "\n".join(lines) + "\n"


def as_html(verdicts: Verdicts) -> str:
    cells = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
        for row in _rows(verdicts)
    )
    return (
        "<table><thead><tr><th>Metric</th><th>Target</th><th>This drill</th>"
        f"<th>Status</th></tr></thead><tbody>{cells}</tbody></table>"
    )
