"""Failback on the real lab: after a region failure and the DR activation, the planned
return home leaves the lab as ``lab up`` made it, with every write of the drill on board."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from drdrill.config import DrillConfig
from drdrill.errors import LabError
from drdrill.lab import Lab
from drdrill.observation.integrity import census
from drdrill.records.audit import AuditTrail
from drdrill.targets.lab_target import LabTarget
from tests.ports import port_block
from tests.reliability.harness import Writer

pytestmark = pytest.mark.lab
MakeConfig = Callable[[int], tuple[DrillConfig, Path]]
BASE = port_block()
"""This module uses BASE .. BASE+79 (one lab)."""


@pytest.fixture(scope="module")
def lab(make_lab_config: MakeConfig) -> Iterator[Lab]:
    config, _ = make_lab_config(BASE)
    lab = Lab.from_config(config)
    lab.up()
    yield lab
    lab.down()


def topology_of(lab: Lab) -> dict[str, Any]:
    """What must be the same after a failback as after ``lab up``."""
    status = lab.status()
    state = json.loads(lab.topology.state_file.read_text())
    return {
        "roles": {r: status.role(r) for r in ("primary", "dr")},
        "replication": (status["replication"]["state"], status["replication"]["standby"]),
        "records": sorted((r["role"], r["region"], r["weight"]) for r in status["edge_records"]),
        "workers": state["workers"],
        "database_of": state["database_of"],
        "promoted": state["promoted"],
        "failures": state["failures"],
    }


MARKS: list[tuple[float, str]] = []
"""When each lab action of the current test started (to place a missing write in time)."""


def mark(what: str) -> None:
    MARKS.append((time.monotonic(), what))


def placed(writer: Writer, ids: list[str]) -> list[str]:
    """Each id with the last lab action started before it was sent, and before it was
    acknowledged."""

    def after(at: float) -> str:
        before = [w for t, w in MARKS if t <= at]
        return f"{at:.3f} after {before[-1] if before else '-'}"

    return [
        f"{order} sent {after(writer.sent_at.get(order, 0.0))}, "
        f"acked {after(writer.acked_at.get(order, 0.0))}"
        for order in ids
    ]


def missing_on(lab: Lab, region: str, ids: list[str]) -> list[str]:
    with psycopg.connect(lab.db_dsn(region)) as conn:
        rows = conn.execute("SELECT id FROM orders WHERE id = ANY(%s)", (ids,)).fetchall()
    return sorted(set(ids) - {r[0] for r in rows})


def refuses_writes(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=3, autocommit=True) as conn:
            conn.execute("INSERT INTO orders (id, product_id) VALUES ('must-not-commit', 1)")
    except psycopg.Error:
        return True
    return False


def takes_write(dsn: str, order: str) -> bool:
    """Whether the database commits a new order ``order``."""
    try:
        with psycopg.connect(dsn, connect_timeout=3, autocommit=True) as conn:
            conn.execute("INSERT INTO orders (id, product_id) VALUES (%s, 1)", (order,))
    except psycopg.Error:
        return False
    return True


def activate(lab: Lab, mode: str) -> float:
    """The primary region fails; the DR activation's actions (as dr-activation.json).
    t_fault (monotonic): when the failure was in force (the injection returned)."""
    mark(f"fail_region {mode}")
    lab.fail_region("primary", mode)
    fault = time.monotonic()
    mark(f"{mode} in force")
    mark("fail_over_dns")
    lab.fail_over_dns("dr")
    lab.scale_region("dr", lab.settings.dr_scaled_workers)
    mark("promote")
    lab.promote_database("dr")
    lab.repoint_applications("dr", "dr")
    mark("activated")
    return fault


def lost_to_disaster(lab: Lab, writer: Writer, fault: float) -> set[str]:
    """The writer's orders the disaster may have lost, known once dr is promoted: those
    sent before t_fault (the failure in force) that dr does not hold. That is the
    activation's RPO, not the failback's: a write in flight while the region failed can
    commit on the old primary only, and be acknowledged late (a partition's gateway
    holds the answer until the network heals, a frozen worker answers when it thaws).
    Everything dr holds, and every write sent after t_fault, must come home."""
    with psycopg.connect(lab.db_dsn("dr")) as conn:
        rows = conn.execute("SELECT id FROM orders WHERE id LIKE %s", (f"{writer.prefix}-%",))
        held = {r[0] for r in rows.fetchall()}
    return writer.sent_before(fault) - held


def fail_back(lab: Lab) -> dict[str, Any]:
    """The failback, in the plan's order; what it measured."""
    mark("restore_region")
    lab.restore_region("primary")
    # superseded by dr, whatever the failure: no write can be acknowledged by it now
    # (down, or fenced after a partition: still readable for the split-brain count)
    assert refuses_writes(lab.db_dsn("primary"))
    mark("rebuild")
    rebuild = lab.rebuild_region_database("primary")
    lab.catch_up("primary")
    mark("shift_traffic")
    lab.shift_traffic((10, 50, 100))
    mark("switchover")
    switch = lab.switchover("primary")
    mark("scale_down")
    lab.scale_down_region("dr")
    lab.validate_standby("dr", max_lag_s=300)
    mark("done")
    return {"rebuild": rebuild, "switchover": switch}


def test_a_failback_while_the_primary_region_is_down_refuses_and_changes_nothing(
    lab: Lab,
) -> None:
    steady = topology_of(lab)
    activate(lab, "power-off")
    activated = topology_of(lab)
    data_dir = sorted(p.name for p in lab.topology.data_dir("primary").iterdir())

    for action, args in [
        (lab.rebuild_region_database, ("primary",)),
        (lab.switchover, ("primary",)),
        (lab.set_traffic_weight, ("primary", 10)),
    ]:
        with pytest.raises(LabError, match=r"primary region is still down \(power-off\)"):
            action(*args)  # type: ignore[operator]

    assert topology_of(lab) == activated
    assert sorted(p.name for p in lab.topology.data_dir("primary").iterdir()) == data_dir
    fail_back(lab)
    assert topology_of(lab) == steady


@pytest.mark.parametrize("mode", ["power-off", "blackhole", "partition"])
def test_the_failback_brings_every_write_of_the_drill_home(lab: Lab, mode: str) -> None:
    steady = topology_of(lab)
    assert steady["roles"] == {"primary": "primary", "dr": "standby"}
    with Writer(lab, f"{mode}-drill") as writer:
        time.sleep(0.3)
        lost = lost_to_disaster(lab, writer, activate(lab, mode))
        time.sleep(0.5)
        during_dr = len(writer.acked)
        measured = fail_back(lab)
        time.sleep(0.3)
    assert len(writer.acked) > during_dr > 0

    assert topology_of(lab) == steady
    assert placed(writer, sorted(set(missing_on(lab, "primary", writer.acked)) - lost)) == []
    lab.catch_up("dr")
    assert set(missing_on(lab, "dr", writer.acked)) <= lost
    assert measured["rebuild"].method in ("rewind", "basebackup")
    assert measured["switchover"].reattach.method in ("rewind", "basebackup")
    # fenced about 0.1 s on a quiet machine: 5 s only fails a switchover that hung
    assert 0 < measured["switchover"].fenced_s < 5


def test_the_switchover_played_step_by_step_loses_nothing_and_refuses_out_of_order(
    lab: Lab,
) -> None:
    """The switchover's steps one by one, as a control plane orders them (the AWS twin):
    the promotion refused while the serving database still takes writes, a fence given
    up and set again, then promote, repoint, DR rebuilt as its standby."""
    steady = topology_of(lab)
    with Writer(lab, "steps-drill") as writer:
        lost = lost_to_disaster(lab, writer, activate(lab, "power-off"))
        lab.restore_region("primary")
        lab.rebuild_region_database("primary")
        lab.shift_traffic((100,))
        with pytest.raises(LabError, match="fence it first"):
            lab.promote_standby("primary")
        with pytest.raises(LabError, match="does not serve"):
            lab.fence_database("primary")
        lab.fence_database("dr")
        assert refuses_writes(lab.db_dsn("dr"))
        lab.unfence_database("dr")  # given up: DR takes writes again
        assert takes_write(lab.db_dsn("dr"), "after-unfence")
        time.sleep(0.2)
        mark("fence")
        lab.fence_database("dr")
        lab.catch_up("primary")
        assert lab.promote_standby("primary") > 0
        assert lab.promote_standby("primary") == 0.0  # serving already
        for region in ("primary", "dr"):
            lab.repoint_applications(region, "primary")
        mark("rebuild dr")
        assert lab.rebuild_region_database("dr").method in ("rewind", "basebackup")
        time.sleep(0.3)
    lab.scale_down_region("dr")

    assert topology_of(lab) == steady
    assert lab.steady_problems() == []
    assert placed(writer, sorted(set(missing_on(lab, "primary", writer.acked)) - lost)) == []
    lab.catch_up("dr")
    assert set(missing_on(lab, "dr", writer.acked)) <= lost
    assert takes_write(lab.db_dsn("primary"), "after-switchover")


def test_each_failback_action_is_idempotent(lab: Lab) -> None:
    steady = topology_of(lab)
    again = lab.switchover("primary")  # already serving from primary: nothing moves
    assert (again.fenced_s, again.reattach and again.reattach.method) == (0.0, "already")
    lab.shift_traffic((100,))
    lab.scale_down_region("dr")
    with pytest.raises(LabError, match="is the one serving"):
        lab.rebuild_region_database("primary")
    assert topology_of(lab) == steady


def test_the_lab_target_fails_back_with_audited_calls_and_checks_consistency(
    lab: Lab, tmp_path: Path
) -> None:
    config = DrillConfig.model_validate({"lab": lab.settings.model_dump()})
    audit = AuditTrail(tmp_path / "audit.jsonl")
    target = LabTarget(lab, config, audit)
    steady = topology_of(lab)
    with Writer(lab, "target-drill") as writer:
        lost = lost_to_disaster(lab, writer, activate(lab, "power-off"))
        time.sleep(0.3)
        target.restore_region("primary")
        assert target.rebuild_database("primary")["method"] in ("rewind", "basebackup")
        acked = sorted(set(writer.acked) - lost)
        consistency = target.check_consistency([*acked, "never-written"])
        for percent in (10, 50, 100):
            target.shift_traffic("primary", percent)
        fenced_s = target.switchover("primary")
        target.scale_down_region("dr")
        lag = target.validate_standby("dr")

    assert consistency.consistent and consistency.lost_before == ("never-written",)
    assert consistency.missing == {"dr": (), "primary": ()}
    assert consistency.only_in == {"dr": (), "primary": ()}
    for region in ("primary", "dr"):  # the census from ids is the SQL census
        assert consistency.censuses[region] == census(lab.db_dsn(region), consistency.as_of)
    assert consistency.censuses["dr"].count > 0
    # fenced about 0.1 s on a quiet machine: 5 s only fails a switchover that hung
    assert 0 < fenced_s < 5 and 0 <= lag < config.alarms.replica_lag
    assert topology_of(lab) == steady
    assert set(missing_on(lab, "primary", writer.acked)) <= lost
    actions = [(r["action"], r["outcome"]) for r in audit.records()]
    for action in ("rebuild_database", "shift_traffic", "switchover", "scale_down_region"):
        assert (action, "succeeded") in actions, actions
    assert any(a == "switchover_measured" for a, _ in actions)


def test_the_lab_target_fails_back_in_place_and_never_re_creates_the_lab(
    lab: Lab, tmp_path: Path
) -> None:
    config = DrillConfig.model_validate({"lab": lab.settings.model_dump()})
    audit = AuditTrail(tmp_path / "audit.jsonl")
    target = LabTarget(lab, config, audit)
    steady = topology_of(lab)
    assert lab.steady_problems() == []
    up_seconds = json.loads(lab.topology.state_file.read_text())["up_seconds"]
    with Writer(lab, "in-place") as writer:
        lost = lost_to_disaster(lab, writer, activate(lab, "blackhole"))
        time.sleep(0.3)
        assert lab.steady_problems() != []
        mark("target.fail_back")
        target.fail_back()  # a drill's close after an activation: dr's data comes home
        mark("done")
    assert topology_of(lab) == steady
    assert placed(writer, sorted(set(missing_on(lab, "primary", writer.acked)) - lost)) == []
    assert lab.fail_back() == "steady already: nothing to roll back"

    lab.fail_over_dns("dr")  # a partial drill's state: not an activation, rolled back too
    target.fail_back()
    assert topology_of(lab) == steady
    assert json.loads(lab.topology.state_file.read_text())["up_seconds"] == up_seconds
    hows = [r.get("how") for r in audit.records() if r["action"] == "fail_back"]
    assert hows[0] is None and hows[2] is None  # (each started)
    assert hows[1] in (
        f"dr had been promoted: primary rebuilt from dr ({method}), switched over back"
        for method in ("rewind", "basebackup")
    )
    assert hows[3] == "restored primary in place; dr re-attached as standby"
