"""The CLI: bad input is one clear line on stderr and a non-zero exit, nothing started."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
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


SLACK_TOKEN_PATH = "/services/T000/B000/SECRETTOKEN"
ROUTING_KEY = "R0UT1NGKEYSECRET"
SMTP_PASSWORD = "SMTP-PASSWORD-SECRET"
NOTIFICATIONS = f"""
notifications:
  channels:
    slack-ops: {{kind: slack, url: "https://hooks.slack.com{SLACK_TOKEN_PATH}"}}
    pager-ops: {{kind: pagerduty, routing_key: {ROUTING_KEY}}}
    mail-ops: {{kind: email, from: drdrill@example.com, to: [ops@example.com],
               username: drdrill, password: {SMTP_PASSWORD}}}
  recipients:
"""


@pytest.mark.parametrize(
    ("tail", "named"),
    [
        (
            "    ops-team: [slack-ops, pager-ops, mail-ops]\n"
            "  routes:\n    drill_finished: [nobody]\n",
            "route 'drill_finished' names unknown recipients ['nobody']",
        ),
        (
            "    ops-team: [slack-ops, pager-ops, mail-ops, sms-ops]\n",
            "recipient 'ops-team' names unknown channels ['sms-ops']",
        ),
    ],
    ids=["unknown-recipient-in-route", "unknown-channel-of-recipient"],
)
@pytest.mark.parametrize("before", [True, False], ids=["config-first", "command-first"])
def test_a_config_error_masks_every_secret_and_still_names_what_is_wrong(
    tmp_path: Path, tail: str, named: str, before: bool
) -> None:
    config = tmp_path / "notify.yaml"
    config.write_text(NOTIFICATIONS + tail)
    option = ["--drill-config", str(config)]
    done = drdrill(*([*option, "check"] if before else ["check", *option]), cwd=tmp_path)

    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert named in done.stderr and "notifications" in done.stderr
    assert "hooks.slack.com" in done.stderr  # the channel is still recognisable
    for secret in ("SECRETTOKEN", SLACK_TOKEN_PATH, ROUTING_KEY, SMTP_PASSWORD):
        assert secret not in done.stderr


def test_the_drill_config_option_may_follow_a_nested_command(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("measurement: {probe_interval: -5}\n")
    done = drdrill("lab", "status", "--drill-config", str(config), cwd=tmp_path)

    assert done.returncode == 2
    assert "bad.yaml" in done.stderr and "measurement.probe_interval" in done.stderr


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory nobody can write into, root included (root ignores mode bits: the
    immutable attribute stops it)."""
    folder = tmp_path / "reports"
    folder.mkdir()
    folder.chmod(0o555)
    immutable = os.geteuid() == 0
    if immutable:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
    try:
        yield folder
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


def test_a_read_only_reports_dir_is_one_line_and_exit_2(
    tmp_path: Path, read_only_dir: Path
) -> None:
    with pytest.raises(OSError):  # the directory really is read-only, for this user too
        (read_only_dir / "probe").touch()
    config = tmp_path / "drdrill.yaml"
    config.write_text(
        f"reports_dir: {read_only_dir}\n"
        f"lab: {{base_port: {port_block()}, state_dir: {tmp_path}/lab}}\n"
    )
    done = drdrill("check", "--drill-config", str(config), cwd=tmp_path)

    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert f"cannot write the history {read_only_dir / 'history.jsonl'}" in done.stderr
