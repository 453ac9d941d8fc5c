"""``drdrill run``'s live progress: timeline lines shown once each, bad lines never fatal."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from drdrill.cli.run import Progress
from drdrill.records.timeline import FAULT_INJECTED, PHASE_END, PHASE_START, Timeline


def test_progress_shows_each_event_once_past_torn_and_foreign_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    path = reports / "d-1" / "timeline.jsonl"
    timeline = Timeline(path)
    timeline.record(FAULT_INJECTED, "primary", t_ns=1_000_000_000, mode="power-off")
    with path.open("ab") as out:
        out.write(b'\xff\n[1]\n{"kind": "phase_end"}\n{"t_ns": 5, "ki')  # torn: no newline
    progress = Progress(reports, since=time.time() - 60).start()
    timeline.record(PHASE_START, "dns_failover", t_ns=2_000_000_000)
    timeline.record(PHASE_END, "dns_failover", t_ns=3_500_000_000, ok=True)
    progress.stop()
    Progress(reports, since=time.time() - 60).start().stop()  # a new reader starts afresh

    out = capsys.readouterr().out.splitlines()
    assert out.count("[d-1] 💥 region primary failed (power-off)") == 2
    assert sum("✓ dns_failover" in line for line in out) == 2
    assert "(t_fault +2.50 s)" in out[1]
    assert len(out) == 4
