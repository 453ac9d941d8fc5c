"""The CLI: bad input is one clear line on stderr and a non-zero exit, nothing started."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.ports import port_block


def drdrill(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "drdrill", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "full", "--target", "aws-prod"], "unknown target 'aws-prod'"),
        (["report", "--latest"], "no drill report"),
        (["watch", "--duration", "5"], "lab is not up"),
        (["watch", "--duration", "-1", "--endpoint", "http://127.0.0.1:9"], "--duration -1"),
    ],
)
def test_bad_requests_fail_with_one_clear_line(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    (tmp_path / "drdrill.yaml").write_text(
        f"lab: {{base_port: {port_block()}, state_dir: {tmp_path}/lab}}\n"
    )
    done = drdrill(*args, cwd=tmp_path)

    assert done.returncode == 2
    assert expected in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "lab").exists()


def test_a_malformed_config_names_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("measurement: {probe_interval: -5}\n")
    done = drdrill("--drill-config", str(config), "lab", "up", cwd=tmp_path)

    assert done.returncode == 2
    assert "bad.yaml" in done.stderr and "measurement.probe_interval" in done.stderr
