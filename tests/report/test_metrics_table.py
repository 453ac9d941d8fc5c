"""The plan's "Test Metrics" table with this drill's numbers and the right statuses."""

from __future__ import annotations

from pathlib import Path

from drdrill.report.metrics_table import as_html, as_markdown

from .drill_data import summary


def test_markdown_table_has_a_row_per_figure_with_target_measured_and_status(
    tmp_path: Path,
) -> None:
    table = as_markdown(summary(tmp_path).verdicts)

    assert table.splitlines() == [
        "| Metric | Target | This drill | Status |",
        "|--------|--------|-----------|--------|",
        "| **RTO** | 30 min | 2.50 s | ✅ Pass |",
        "| **RPO** | 5 min | 0.00 s | ✅ Pass |",
        "| **Assessment** | 5 min | 400 ms | ✅ Pass |",
        "| **DNS Failover** | 5 min | 500 ms | ✅ Pass |",
        "| **Scale DR Infrastructure** | 10 min | 700 ms | ✅ Pass |",
        "| **Database Promotion** | 10 min | 150 ms | ✅ Pass |",
        "| **Update Application Configuration** | 5 min | 250 ms | ✅ Pass |",
        "| **Service Verification** | 5 min | 300 ms | ✅ Pass |",
    ]


def test_breaches_and_failed_phases_are_marked_failed(tmp_path: Path) -> None:
    table = as_markdown(summary(tmp_path, rto=2000, lost=3, phase_ok=False).verdicts)

    assert "| **RTO** | 30 min | 33.3 min | ❌ Fail |" in table
    assert "| **RPO** | 5 min | 150 ms | ✅ Pass |" in table
    assert "| **Database Promotion** | 10 min | 150 ms | ❌ Fail |" in table


def test_html_table_carries_the_same_cells_with_badges_not_emoji(tmp_path: Path) -> None:
    from .test_page import badges, parse

    page = as_html(summary(tmp_path, rto=2000, phase_ok=False).verdicts)
    table = parse(page).all("table")[0]

    assert [th.text for th in table.all("th")] == ["Metric", "Target", "This drill", "Status"]
    assert len(table.all("tr")) == 1 + 8
    rto = [td.text for td in table.all("tr")[1].all("td")]
    assert rto == ["RTO", "30 min", "33.3 min", "Fail"]
    assert badges(table)["DNS Failover"] == ("pass", "Pass")
    assert badges(table)["Database Promotion"] == ("fail", "Fail")
    assert "background:#c62828" in page
    assert "✅" not in page and "❌" not in page
