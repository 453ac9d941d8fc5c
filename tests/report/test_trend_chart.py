"""The RTO/RPO trend picture: every measured drill of the history, with its targets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from drdrill.report.trend_chart import OUTCOME_COLOUR, draw_trend, measured_drills, trend_figure
from drdrill.report.writer import DrillReport, UnmeasuredDrill

from .drill_data import T0, history_line, requests, samples, summary
from .test_page import element, parse

PNG = b"\x89PNG\r\n\x1a\n"


def line(drill_id: str, rto: float | None, rpo: float | None, outcome: str, **more: Any) -> dict:
    return {
        "drill_id": drill_id,
        "scenario": "region_failure",
        "kind": "full",
        "started": f"2027-01-{int(drill_id[2:]):02d}T08:00:00.000000Z",
        "rto_s": rto,
        "rpo_s": rpo,
        "passed": outcome == "passed",
        "outcome": outcome,
        "targets_s": {"rto": 1800.0, "rpo": 300.0},
        **more,
    }


HISTORY = [
    line("d-1", 2.5, 0.0, "passed"),
    line("d-2", None, None, "aborted"),  # ended before its measurement
    {"kind": "readiness", "started": "2027-01-02T09:00:00Z", "passed": True, "ok": True},
    line("d-3", 4000.0, 0.15, "failed"),
    line("d-4", None, 0.04, "failed"),  # measured, never restored
    line("d-5", 3.1, 0.0, "passed", targets_s={"rto": 7200.0, "rpo": 3600.0}),
    line("d-6", 2.9, 0.0, "passed", targets_s=None),  # an older line: no targets recorded
]


def targets_drawn(rows: list[dict[str, Any]]) -> tuple[list[tuple[float, float, float]], ...]:
    """(x from, x to, target) of the dashed target segments, per panel (RTO, RPO)."""
    from matplotlib.collections import LineCollection

    fig = trend_figure(rows)
    assert fig is not None
    try:
        found = []
        for ax in fig.axes:
            segments = [
                (float(a[0]), float(b[0]), float(a[1]))
                for c in ax.collections
                if isinstance(c, LineCollection)
                for a, b in c.get_segments()
            ]
            found.append(segments)
        return tuple(found)
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def marker_colours(rows: list[dict[str, Any]]) -> list[str]:
    """The colours of the drills' markers in the RTO panel, left to right."""
    from matplotlib.collections import PathCollection
    from matplotlib.colors import to_hex

    fig = trend_figure(rows)
    assert fig is not None
    try:
        return [
            to_hex(c.get_facecolors()[0])
            for c in fig.axes[0].collections
            if isinstance(c, PathCollection)
        ]
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_only_drills_that_measured_something_are_in_the_trend() -> None:
    drills = measured_drills(HISTORY)

    assert [d.drill_id for d in drills] == ["d-1", "d-3", "d-4", "d-5", "d-6"]
    assert [(d.rto_s, d.rpo_s) for d in drills][:3] == [(2.5, 0.0), (4000.0, 0.15), (None, 0.04)]
    assert [(d.rto_target_s, d.rpo_target_s) for d in drills] == [
        (1800.0, 300.0),
        (1800.0, 300.0),
        (1800.0, 300.0),
        (7200.0, 3600.0),
        (None, None),
    ]
    assert [d.drill_id for d in measured_drills(HISTORY, last=2)] == ["d-5", "d-6"]


def test_the_picture_shows_outcomes_and_targets(tmp_path: Path) -> None:
    path = draw_trend(tmp_path / "trend.png", HISTORY)

    assert path == tmp_path / "trend.png"
    assert path.read_bytes().startswith(PNG)
    # d-1 passed, d-3 failed, d-4 failed (not restored), d-5 and d-6 passed; d-2 aborted
    # before measuring anything is not drawn
    passed, failed = OUTCOME_COLOUR["passed"], OUTCOME_COLOUR["failed"]
    assert marker_colours(HISTORY) == [passed, failed, failed, passed, passed]
    rto, rpo = targets_drawn(HISTORY)
    assert rto == [(-0.5, 0.5, 1800.0), (0.5, 1.5, 1800.0), (1.5, 2.5, 1800.0), (2.5, 3.5, 7200.0)]
    assert [t for _, _, t in rpo] == [300.0, 300.0, 300.0, 3600.0]


def test_no_targets_recorded_no_target_drawn() -> None:
    assert targets_drawn([line("d-1", 2.5, 0.0, "passed", targets_s={})]) == ([], [])


def test_a_single_drill_shows_its_targets() -> None:
    rto, rpo = targets_drawn([line("d-1", 1.85, 0.0, "passed")])

    assert rto == [(-0.5, 0.5, 1800.0)]
    assert rpo == [(-0.5, 0.5, 300.0)]


def test_nothing_measured_no_picture(tmp_path: Path) -> None:
    assert draw_trend(tmp_path / "trend.png", HISTORY[1:3]) is None
    assert not (tmp_path / "trend.png").exists()


def test_many_drills_and_odd_lines_still_draw(tmp_path: Path) -> None:
    rows = [line(f"d-{i % 28 + 1}", 2.0 + i % 5, 0.01 * (i % 3), "passed") for i in range(80)]
    rows.append({"drill_id": "x", "rto_s": "fast", "rpo_s": [], "passed": True})
    rows.append({"drill_id": "y", "rto_s": 3, "rpo_s": 0, "passed": False, "targets_s": [1]})

    assert draw_trend(tmp_path / "trend.png", rows) is not None
    assert len(measured_drills(rows)) == 30


def test_history_lines_record_the_targets_they_were_judged_against(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    report = DrillReport(reports / "d-1", reports)
    the_summary = summary(tmp_path)
    report.write(the_summary, samples=samples(), requests=requests())
    report.conclude(
        the_summary,
        UnmeasuredDrill("d-1", "region_failure", "full", "lab", T0, None, "passed", "done", None),
    )

    recorded = json.loads((reports / "history.jsonl").read_text().splitlines()[0])
    assert recorded["targets_s"]["rto"] == 1800.0
    assert recorded["targets_s"]["rpo"] == 300.0
    assert recorded == history_line(the_summary, outcome="passed", reached="done")


def test_the_trend_lands_next_to_the_summary_in_reports_and_in_the_page(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    earlier = summary(tmp_path, rto=4000)
    (reports / "history.jsonl").write_text(
        json.dumps(history_line(earlier, drill_id="d-0", outcome="failed")) + "\n"
    )
    report = DrillReport(reports / "d-1", reports)
    the_summary = summary(tmp_path)

    report.write(the_summary, samples=samples(), requests=requests())
    # before the drill ended: its own trend (for the Allure steps), not yet the reports'
    assert (reports / "d-1" / "trend.png").read_bytes().startswith(PNG)
    assert not (reports / "trend.png").exists()

    report.conclude(
        the_summary,
        UnmeasuredDrill("d-1", "region_failure", "full", "lab", T0, None, "passed", "done", None),
    )
    assert (reports / "trend.png").read_bytes() == (reports / "d-1" / "trend.png").read_bytes()
    page = parse((reports / "d-1" / "summary.html").read_text())
    assert element(page, "trend").all("img")[0].attrs["src"].startswith("data:image/png;base64,")
