"""The RTO/RPO trend picture (PNG, matplotlib with the Agg backend) from history.jsonl.

Two panels sharing one axis of drills, oldest left, the last ``last`` drills that
measured something (readiness checks and drills that ended before their measurement
are left out; a measured drill whose service was never restored is drawn as a
"not restored" mark above the RTO panel):

1. RTO per drill, coloured by its outcome, with the RTO target it was judged against
   (dashed: the line's ``targets_s``; a drill whose line has none shows no target);
2. RPO per drill, the same, with the RPO target.

Durations go from milliseconds (a lab's RPO) to hours (a ransomware RTO target): the
y axes are linear below 1 s and logarithmic above it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drdrill.report.metrics_table import human_duration

__all__ = [
    "OUTCOME_COLOUR",
    "TARGET_COLOUR",
    "TrendSample",
    "draw_trend",
    "measured_drills",
    "trend_figure",
]

OUTCOME_COLOUR = {
    "passed": "#2e7d32",
    "failed": "#c62828",
    "aborted": "#e65100",
    "error": "#6a1b9a",
}
TARGET_COLOUR = "#455a64"
_TICKS = (0, 0.1, 0.5, 1, 5, 10, 60, 600, 3600, 6 * 3600, 86400)
_FINE = (0.1, 0.5, 5)
"""Y ticks: decades apart where the range is wide, finer below 10 s where it is not."""


def _short(seconds: float) -> str:
    """A tick label: ``0``, ``500 ms``, ``5 s``, ``10 min``, ``6 h``, ``1 d``."""
    if seconds == 0:
        return "0"
    if seconds < 1:
        return f"{seconds * 1000:g} ms"
    if seconds < 60:
        return f"{seconds:g} s"
    if seconds < 3600:
        return f"{seconds / 60:g} min"
    if seconds < 86400:
        return f"{seconds / 3600:g} h"
    return f"{seconds / 86400:g} d"


@dataclass(frozen=True)
class TrendSample:
    """One measured drill of the history, as the trend draws it."""

    drill_id: str
    started: str
    scenario: str
    outcome: str
    rto_s: float | None
    """None: the service was never restored within the drill."""
    rpo_s: float | None
    rto_target_s: float | None
    rpo_target_s: float | None


def _number(value: Any) -> float | None:
    return float(value) if type(value) in (int, float) else None


def measured_drills(rows: Sequence[Mapping[str, Any]], last: int = 30) -> list[TrendSample]:
    """The last ``last`` drills of ``rows`` (history lines, oldest first) that measured
    something: an RTO or an RPO. Readiness checks and unmeasured drills are left out."""
    picked = []
    for row in rows:
        if row.get("kind") == "readiness":
            continue
        rto, rpo = _number(row.get("rto_s")), _number(row.get("rpo_s"))
        if rto is None and rpo is None:
            continue
        targets = row.get("targets_s")
        targets = targets if isinstance(targets, Mapping) else {}
        picked.append(
            TrendSample(
                drill_id=str(row.get("drill_id", "?")),
                started=str(row.get("started", "")),
                scenario=str(row.get("scenario", "")),
                outcome=str(row.get("outcome") or ("passed" if row.get("passed") else "failed")),
                rto_s=rto,
                rpo_s=rpo,
                rto_target_s=_number(targets.get("rto")),
                rpo_target_s=_number(targets.get("rpo")),
            )
        )
    return picked[-last:] if last > 0 else picked


def _label(started: str) -> str:
    """``2027-01-15T08:00:00.1Z`` -> ``2027-01-15\\n08:00``."""
    if "T" not in started:
        return started[:16]
    day, clock = started.split("T", 1)
    return f"{day}\n{clock[:5]}"


def _panel(ax: Any, drills: Sequence[TrendSample], figure: str) -> None:
    import matplotlib.ticker as mticker

    xs = range(len(drills))
    values = [getattr(d, f"{figure}_s") for d in drills]
    targets = [getattr(d, f"{figure}_target_s") for d in drills]
    known = [v for v in values + targets if v is not None]
    top = max([*known, 1.0]) * 2.5
    measured = [(x, v) for x, v in zip(xs, values, strict=True) if v is not None]
    if measured:
        ax.plot(*zip(*measured, strict=True), color="#90a4ae", linewidth=0.8, zorder=1)
    for x, d, v in zip(xs, drills, values, strict=True):
        colour = OUTCOME_COLOUR.get(d.outcome, OUTCOME_COLOUR["error"])
        if v is None:  # measured drill, service never restored
            ax.scatter([x], [top / 1.6], marker="^", s=70, color=colour, zorder=3)
            ax.annotate(
                "not restored",
                (x, top / 1.6),
                xytext=(0, -14),
                textcoords="offset points",
                ha="center",
                fontsize=7,
                color=colour,
            )
        else:
            ax.scatter([x], [v], s=36, color=colour, zorder=3, edgecolors="white", linewidths=0.6)
    if any(t is not None for t in targets):
        # one dash per drill, a drill wide: a single drill shows its target too, and a
        # changed target (another scenario, another config) shows where it changed
        ax.hlines(
            [t for t in targets if t is not None],
            [x - 0.5 for x, t in zip(xs, targets, strict=True) if t is not None],
            [x + 0.5 for x, t in zip(xs, targets, strict=True) if t is not None],
            colors=TARGET_COLOUR,
            linestyles="--",
            linewidth=1.2,
            zorder=2,
        )
        at, first = next((x, t) for x, t in enumerate(targets) if t is not None)
        ax.annotate(
            f"target {human_duration(first)}",
            (at, first),
            xytext=(0, 3),
            textcoords="offset points",
            fontsize=8,
            color=TARGET_COLOUR,
        )
    ax.set_yscale("symlog", linthresh=1.0, linscale=0.8)
    ax.set_ylim(-0.12, top)  # a zero sits just above the axis, not on it
    ticks = [t for t in _TICKS if t <= top]
    if len(ticks) > 7:
        ticks = [t for t in ticks if t not in _FINE]
    ax.yaxis.set_major_locator(mticker.FixedLocator(ticks))
    ax.yaxis.set_minor_locator(mticker.NullLocator())
    ax.yaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: _short(v)))
    ax.set_ylabel(figure.upper())
    ax.grid(axis="y", color="#eceff1", linewidth=0.8)


def trend_figure(
    rows: Sequence[Mapping[str, Any]], *, last: int = 30, title: str = ""
) -> Any | None:
    """The trend as a matplotlib Figure (two Axes: RTO, RPO), None when no drill of
    ``rows`` measured anything; the caller saves and closes it."""
    drills = measured_drills(rows, last)
    if not drills:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    width = min(11.0, 5.5 + 0.35 * len(drills))
    fig, (rto_ax, rpo_ax) = plt.subplots(2, 1, figsize=(width, 5.2), sharex=True)
    _panel(rto_ax, drills, "rto")
    _panel(rpo_ax, drills, "rpo")
    step = max(1, -(-len(drills) // 10))  # at most ten labels
    shown = list(range(len(drills)))[::step]
    rpo_ax.set_xticks(shown, [_label(drills[i].started) for i in shown], fontsize=7)
    rpo_ax.set_xlim(-0.6, len(drills) - 0.4)
    seen = [o for o in OUTCOME_COLOUR if any(d.outcome == o for d in drills)]
    handles = [
        Line2D([], [], marker="o", linestyle="", color=OUTCOME_COLOUR[o], label=o) for o in seen
    ]
    handles.append(Line2D([], [], color=TARGET_COLOUR, linestyle="--", label="target"))
    # above the panel, right of the title: clear of the points and the "not restored" marks
    rto_ax.legend(
        handles=handles,
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        fontsize=7,
        ncol=len(handles),
        frameon=False,
    )
    rto_ax.set_title(
        title or f"RTO and RPO of the last {len(drills)} measured drill(s)",
        fontsize=10,
        loc="left",
    )
    fig.tight_layout()
    return fig


def draw_trend(
    path: Path, rows: Sequence[Mapping[str, Any]], *, last: int = 30, title: str = ""
) -> Path | None:
    """Draw RTO and RPO per measured drill of ``rows`` (history lines, oldest first) with
    their targets into ``path`` (PNG); None, and nothing written, when no drill measured
    anything yet."""
    fig = trend_figure(rows, last=last, title=title)
    if fig is None:
        return None
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
