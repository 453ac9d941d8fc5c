"""The rollback, state by state: wherever a drill stops — a region failed, an activation
phase done or half-done, a failback phase half-done — ``LabTarget.fail_back()`` brings the
lab back to its steady state in place, and every order an independent writer (through the
global endpoint, none of drdrill's canary code) was told succeeded is on the final primary.

Each state is put in place with the lab's own API (cheaper than a drill; the same calls a
drill's steps make, or the half of one a Ctrl-C leaves). One lab serves every state: each
test leaves it steady.

Which writes must survive (as ``tests/lab/test_failback.py`` classifies them): everything
while dr was never promoted; once dr was promoted, everything dr held at its promotion and
every write sent after the fault. A write in flight at the fault can commit on the old
primary only and be acknowledged late (a thawed worker, a healed gateway): when dr was
promoted that write is the disaster's loss (the activation's RPO), not the rollback's.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from drdrill.config import load_config
from drdrill.errors import RollbackIncomplete
from drdrill.lab import Lab
from drdrill.lab.databases import LabDatabases
from drdrill.lab.processes import signal_recorded
from drdrill.lab.state import save_state
from drdrill.lab.topology import REGIONS
from drdrill.records.audit import AuditTrail
from drdrill.targets.lab_target import LabTarget
from tests.ports import port_block

from .harness import Bench, Writer, ids_on

pytestmark = [pytest.mark.lab, pytest.mark.slow]

BASE = port_block()
"""This module's lab: BASE .. BASE+79."""


@pytest.fixture(scope="module")
def bench() -> Iterator[Bench]:
    bench = Bench.make(BASE)
    bench.lab.up()
    try:
        yield bench
    finally:
        bench.lab.down()


@dataclass
class Drill:
    """What the state's set-up saw: when the fault was in force, and, once dr was
    promoted, the writer's orders dr held then."""

    lab: Lab
    writer: Writer
    fault: float = 0.0
    held_by_dr: set[str] | None = None

    def fail(self, mode: str) -> None:
        self.lab.fail_region("primary", mode)
        self.fault = time.monotonic()
        time.sleep(0.3)

    def promoted(self) -> None:
        """dr is writable now: what it holds is what the disaster left."""
        self.held_by_dr = ids_on(self.lab, "dr", self.writer.prefix)

    def lost_to_disaster(self) -> set[str]:
        if self.held_by_dr is None:
            return set()
        return self.writer.sent_before(self.fault) - self.held_by_dr


def half_injected(d: Drill, mode: str) -> None:
    """``fail_region`` stopped half-way: the failure noted, only the database reached
    (killed, or frozen), the rest of the region still running."""
    lab = d.lab
    save_state(lab.topology.state_file, lab.require_up().with_failure("primary", mode))
    d.fault = time.monotonic()
    pg = LabDatabases.of(lab.topology, lab.require_up()).region("primary")
    if mode == "power-off":
        pg.kill()
    else:
        signal_recorded(lab.pid_dir, ["pg-primary"], signal.SIGSTOP)
    time.sleep(0.3)


def data_dirs(lab: Lab) -> dict[str, list[str]]:
    return {r: sorted(p.name for p in lab.topology.data_dir(r).iterdir()) for r in REGIONS}


def activate(d: Drill, mode: str) -> None:
    """The fault and the whole DR activation (as dr-activation.json)."""
    d.fail(mode)
    d.lab.fail_over_dns("dr")
    d.lab.scale_region("dr", d.lab.settings.dr_scaled_workers)
    d.lab.promote_database("dr")
    d.promoted()
    d.lab.repoint_applications("dr", "dr")
    time.sleep(0.3)


def request_promotion(d: Drill, *, signalled: bool) -> None:
    """``PgServer.promote`` stopped half-way, the primary region powered off: the request
    written and, if ``signalled``, sent, but the call never returned, so ``lab.json``
    never noted the promotion. A request is a promotion: dr's history wins."""
    lab = d.lab
    pg = LabDatabases.of(lab.topology, lab.require_up()).region("dr")
    d.promoted()  # (nothing reaches dr from the powered-off primary any more)
    request = pg.data_dir / "promote"
    request.touch()
    pg.run_as.chown(request)
    if signalled:
        pid = pg.pid()
        assert pid is not None
        os.kill(pid, signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while pg.role() != "primary" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert pg.role() == "primary"
        assert lab.require_up().promoted == ()  # the note the interrupted step never wrote


def failback_rebuilt(d: Drill, mode: str) -> None:
    activate(d, mode)
    d.lab.restore_region("primary")
    d.lab.rebuild_region_database("primary")


def switchover_fenced(d: Drill) -> None:
    """The failback's switchover stopped after its fence: dr refuses writes, the primary
    still its standby."""
    failback_rebuilt(d, "power-off")
    d.lab.shift_traffic((10, 50, 100))
    d.lab.fence_database("dr")


def switchover_promoted(d: Drill) -> None:
    """The switchover stopped after the primary's promotion, before ``lab.json`` said so
    and before any application moved: two writable databases, dr fenced."""
    switchover_fenced(d)
    d.lab.catch_up("primary")
    pg = LabDatabases.of(d.lab.topology, d.lab.require_up()).region("primary")
    pg.promote()
    assert d.lab.require_up().promoted == ("dr",)


def switchover_done(d: Drill) -> None:
    failback_rebuilt(d, "blackhole")
    d.lab.shift_traffic((10, 50, 100))
    d.lab.switchover("primary")  # dr still at its scaled size: scale down not done


PRIMARY_IN_PLACE = "restored primary in place"
FROM_DR = "dr had been promoted: primary rebuilt from dr"

STATES: dict[str, tuple[Callable[[Drill], None], str]] = {
    "power-off half injected": (lambda d: half_injected(d, "power-off"), PRIMARY_IN_PLACE),
    "blackhole half injected": (lambda d: half_injected(d, "blackhole"), PRIMARY_IN_PLACE),
    "power-off": (lambda d: d.fail("power-off"), PRIMARY_IN_PLACE),
    "blackhole": (lambda d: d.fail("blackhole"), PRIMARY_IN_PLACE),
    "partition": (lambda d: d.fail("partition"), PRIMARY_IN_PLACE),
    "dns failed over": (
        lambda d: (d.fail("blackhole"), d.lab.fail_over_dns("dr")),
        PRIMARY_IN_PLACE,
    ),
    "dr scaled": (
        lambda d: (
            d.fail("partition"),
            d.lab.fail_over_dns("dr"),
            d.lab.scale_region("dr", d.lab.settings.dr_scaled_workers),
        ),
        PRIMARY_IN_PLACE,
    ),
    "promotion requested, not signalled": (
        lambda d: (
            d.fail("power-off"),
            d.lab.fail_over_dns("dr"),
            request_promotion(d, signalled=False),
        ),
        FROM_DR,
    ),
    "promoted, pg_ctl promote never returned": (
        lambda d: (
            d.fail("power-off"),
            d.lab.fail_over_dns("dr"),
            request_promotion(d, signalled=True),
        ),
        FROM_DR,
    ),
    "promoted, not repointed": (
        lambda d: (
            d.fail("partition"),
            d.lab.fail_over_dns("dr"),
            d.lab.promote_database("dr"),
            d.promoted(),
        ),
        FROM_DR,
    ),
    "activated (verified, measured)": (lambda d: activate(d, "partition"), FROM_DR),
    "dr promoted beside the serving primary (the partial drill)": (
        lambda d: d.lab.promote_database("dr"),
        PRIMARY_IN_PLACE,
    ),
    "failback: region restored": (
        lambda d: (activate(d, "blackhole"), d.lab.restore_region("primary")),
        FROM_DR,
    ),
    "failback: rebuilt": (lambda d: failback_rebuilt(d, "power-off"), FROM_DR),
    "failback: traffic at 50 %": (
        lambda d: (failback_rebuilt(d, "partition"), d.lab.shift_traffic((10, 50))),
        FROM_DR,
    ),
    "failback: switchover fenced": (switchover_fenced, FROM_DR),
    "failback: switchover promoted the primary": (switchover_promoted, PRIMARY_IN_PLACE),
    "failback: switched over, not scaled down": (switchover_done, PRIMARY_IN_PLACE),
}


@pytest.mark.parametrize("state", list(STATES))
def test_the_rollback_keeps_every_acknowledged_write_and_ends_steady(
    bench: Bench, state: str, tmp_path: Path
) -> None:
    lab = bench.lab
    assert lab.steady_problems() == []
    put_in_state, expected_how = STATES[state]
    audit = AuditTrail(tmp_path / "audit.jsonl")
    target = LabTarget(lab, bench.config, audit)
    prefix = "w-" + "".join(c if c.isalnum() else "-" for c in state)
    with Writer(lab, prefix) as writer:
        time.sleep(0.3)
        d = Drill(lab, writer)
        put_in_state(d)
        before_rollback = len(writer.acked)
        target.fail_back()
        time.sleep(0.5)  # the platform takes writes again
    assert len(writer.acked) > before_rollback, "no order acknowledged after the rollback"

    assert lab.steady_problems() == []
    assert bench.steady() == []
    lost = d.lost_to_disaster()
    missing = set(writer.acked) - ids_on(lab, "primary", prefix)
    assert sorted(missing - lost) == []
    if d.held_by_dr is None:
        assert missing == set(), "dr was never promoted: the primary must hold every order"
    [started, done] = [r for r in audit.records() if r["action"] == "fail_back"]
    assert (started["outcome"], done["outcome"]) == ("started", "succeeded")
    assert done["how"].startswith(expected_how), done["how"]


def test_a_rollback_that_cannot_keep_every_write_refuses_and_leaves_the_data(
    bench: Bench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dr was promoted, then its database died and its data dir lost a file: which database
    holds the newest writes cannot be shown, so the rollback stops, saying so, with every
    data dir as it was and the lab never re-created. Put back by a human, it completes."""
    lab = bench.lab
    audit = AuditTrail(tmp_path / "audit.jsonl")
    target = LabTarget(lab, bench.config, audit)

    def no_reset(self: Lab) -> None:
        raise AssertionError("the rollback re-created the lab")

    monkeypatch.setattr(Lab, "reset", no_reset)
    monkeypatch.setattr(Lab, "down", no_reset)
    with Writer(lab, "unrollable") as writer:
        time.sleep(0.3)
        d = Drill(lab, writer)
        activate(d, "power-off")
    dr = LabDatabases.of(lab.topology, lab.require_up()).region("dr")
    dr.kill()
    version = dr.data_dir / "PG_VERSION"
    aside = dr.data_dir.parent / "PG_VERSION.aside"
    version.rename(aside)
    listing = data_dirs(lab)

    with pytest.raises(RollbackIncomplete, match=r"data dir of dr gone.*data left intact"):
        target.fail_back()

    assert data_dirs(lab) == listing
    failed = [r for r in audit.records() if r["action"] == "fail_back"][-1]
    assert failed["outcome"] == "failed" and "rollback incomplete" in failed["error"]

    aside.rename(version)  # the human's repair
    target.fail_back()
    assert lab.steady_problems() == []
    assert set(writer.acked) - ids_on(lab, "primary", "unrollable") <= d.lost_to_disaster()


def test_with_no_lab_up_there_is_nothing_to_roll_back_and_nothing_is_brought_up(
    tmp_path: Path,
) -> None:
    file = tmp_path / "drdrill.yaml"
    file.write_text(f"lab: {{base_port: {BASE + 100}, state_dir: {tmp_path / 'lab'}}}\n")
    config = load_config(file)
    lab = Lab(config.lab)

    LabTarget(lab, config, AuditTrail(tmp_path / "audit.jsonl")).fail_back()

    assert not lab.is_running() and not (tmp_path / "lab").exists()
    assert lab.fail_back() == "no lab was up: nothing to roll back"
