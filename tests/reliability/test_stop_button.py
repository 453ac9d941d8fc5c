"""The stop button, mutual exclusion and orphans, tried as a skeptical SRE would: after
each, the lab is in its steady state, nothing of the drill runs on, every order an
independent writer (not drdrill's canary) got acknowledged since the fault is on the final
primary, and history and audit say what happened. On the real lab, through the ``drdrill``
command line."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from drdrill.support.lock import TargetLock
from drdrill.targets import lock_name
from tests.ports import port_block

from .harness import Bench, Writer, kind_seen, phase_started, stop

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture(scope="module")
def bench() -> Iterator[Bench]:
    bench = Bench.make(port_block())
    bench.lab.up()
    bench.first_edge = bench.edge_pid()
    try:
        yield bench
    finally:
        bench.lab.down()


def _drill(bench: Bench) -> subprocess.Popen[str]:
    bench.mark()
    return bench.drdrill("run", "full", "--mode", "power-off", "--keep-lab")


def _aborted_once(bench: Bench, before: int) -> dict[str, object]:
    """The one drill since ``before`` was aborted and rolled back in place (the lab never
    re-created: the same edge process, and the audit says what was done)."""
    assert bench.edge_pid() == bench.first_edge, "the rollback re-created the lab"
    [how] = bench.rollbacks()
    assert how.startswith(("restored primary in place", "dr had been promoted")), how
    lines = bench.history()[before:]
    assert [line["outcome"] for line in lines] == ["aborted"], [
        (line["outcome"], line.get("reached"), line.get("error")) for line in lines
    ]
    return lines[0]


def test_ctrl_c_right_after_the_fault_rolls_back_before_the_command_ends(bench: Bench) -> None:
    before = len(bench.history())
    with Writer(bench.lab, "ctrl-c") as writer:
        proc = _drill(bench)
        bench.wait_for(kind_seen("fault_injected"), 90)

        code, took, out = stop(proc, signal.SIGINT)

        assert code != 0, out
        assert bench.steady() == [], out
        bench.kept_every_write(writer)
    assert bench.orphans() == []
    line = _aborted_once(bench, before)
    assert "SIGINT" in str(line["error"]) and line["reached"] != "done"
    assert took < 30, f"the rollback took {took:.1f} s"


def test_sigterm_during_the_activation_stops_it_at_once_and_rolls_back(bench: Bench) -> None:
    before = len(bench.history())
    with Writer(bench.lab, "sigterm") as writer:
        proc = _drill(bench)
        bench.wait_for(phase_started("scale_dr"), 90)

        code, _, out = stop(proc, signal.SIGTERM)

        assert code != 0, out
        assert bench.steady() == [], out
        bench.kept_every_write(writer)
    started = [e["name"] for e in bench.events() if e["kind"] == "phase_start"]
    assert "service_verification" not in started, "the activation carried on after SIGTERM"
    assert "SIGTERM" in str(_aborted_once(bench, before)["error"])


def test_drdrill_abort_stops_the_drill_and_waits_for_its_rollback(bench: Bench) -> None:
    before = len(bench.history())
    with Writer(bench.lab, "abort") as writer:
        proc = _drill(bench)
        bench.wait_for(phase_started("dns_failover"), 90)

        abort = subprocess.run(
            [sys.executable, "-m", "drdrill", "--drill-config", str(bench.config_file), "abort"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        proc.communicate(timeout=60)

        assert abort.returncode == 0, abort.stdout + abort.stderr
        assert "aborted; target lab rolled back and free" in abort.stdout
        assert bench.steady() == []
        bench.kept_every_write(writer)
    _aborted_once(bench, before)


def test_a_second_drill_or_lab_command_is_refused_while_one_runs(bench: Bench) -> None:
    proc = _drill(bench)
    try:
        bench.wait_for(kind_seen("fault_injected"), 90)
        for args in (["run", "full", "--mode", "blackhole"], ["lab", "down"], ["lab", "up"]):
            second = bench.drdrill(*args)
            out, _ = second.communicate(timeout=60)
            assert second.returncode == 2, (args, out)
            assert "is busy: pytest drills on lab (pid " in out, out
    finally:
        out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, out  # the first drill was not disturbed
    assert bench.steady() == []


def test_kill_9_of_the_command_still_rolls_back_and_frees_the_lab(bench: Bench) -> None:
    before = len(bench.history())
    with Writer(bench.lab, "kill-9") as writer:
        proc = _drill(bench)
        bench.wait_for(phase_started("database_promotion"), 90)

        proc.kill()
        proc.wait(timeout=10)  # (its pytest keeps the output pipe open while it rolls back)
        lock = TargetLock(lock_name(bench.config), "test")
        deadline = time.monotonic() + 60
        while lock.holder() is not None and time.monotonic() < deadline:
            time.sleep(0.2)

        assert lock.holder() is None, "the drill's pytest still holds the lab a minute later"
        assert proc.stdout is not None
        proc.stdout.close()
        assert bench.steady() == []
        bench.kept_every_write(writer)
    assert bench.orphans() == []
    _aborted_once(bench, before)
