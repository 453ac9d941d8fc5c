"""The DR plan's "Test Metrics" table, with this drill's real numbers."""

from __future__ import annotations

import html

from drdrill.measurement.results import Verdicts

__all__ = [
    "BADGE_COLOUR",
    "STATUS_LABEL",
    "STATUS_MARK",
    "as_html",
    "as_markdown",
    "badge",
    "human_duration",
]

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


STATUS_LABEL = {"pass": "Pass", "warn": "Needs improvement", "fail": "Fail"}
"""The plan's words for a status, as the HTML badges say them (no emoji: they do not
render without an emoji font)."""

BADGE_COLOUR = {"pass": "#2e7d32", "warn": "#a05a00", "fail": "#c62828"}

_CELL = "padding:4px 10px;border-bottom:1px solid #d1d9e0;text-align:left"


def badge(status: str) -> str:
    """A pass/warn/fail badge styled inline (it reads the same in an Allure attachment,
    a mail or a page without a style sheet)."""
    return (
        f'<span class="badge {html.escape(status)}" style="background:'
        f"{BADGE_COLOUR.get(status, '#546e7a')};color:#fff;padding:1px 9px;"
        f'border-radius:10px;font-weight:600;white-space:nowrap">'
        f"{html.escape(STATUS_LABEL.get(status, status))}</span>"
    )


def as_html(verdicts: Verdicts) -> str:
    """The metrics table as HTML, its statuses as styled badges."""
    cells = "".join(
        f'<tr><td style="{_CELL}"><strong>{html.escape(v.title)}</strong></td>'
        f'<td style="{_CELL}">{html.escape(human_duration(v.target_s))}</td>'
        f'<td style="{_CELL}">{html.escape(human_duration(v.measured_s))}</td>'
        f'<td style="{_CELL}">{badge(v.status)}</td></tr>'
        for v in verdicts.items
    )
    head = "".join(
        f'<th style="{_CELL}">{h}</th>' for h in ("Metric", "Target", "This drill", "Status")
    )
    return (
        '<table style="border-collapse:collapse;font-family:system-ui,sans-serif">'
        f"<thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>"
    )
