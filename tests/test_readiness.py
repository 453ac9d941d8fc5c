"""Readiness checks on hand-made targets: what each check decides from what the target says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from drdrill.config import DrillConfig
from drdrill.orchestration.drill import EXPERIMENTS
from drdrill.orchestration.readiness import ReadinessCheck, check_readiness
from drdrill.records.backup_records import Snapshot
from drdrill.stock import experiments_for
from drdrill.targets.base import CheckResult, ReplicaStream, ServiceCheck

HOUR = timedelta(hours=1)


class FakeTarget:
    """Snapshots and a replica stream as given; every other check has nothing to find."""

    name = "fake"

    def __init__(
        self,
        primary: list[Snapshot],
        dr: list[Snapshot],
        stream: ReplicaStream | None = None,
    ) -> None:
        self.snapshots = {"primary": primary, "dr": dr}
        self.stream = stream or ReplicaStream("streaming", 0.0, None)

    def list_snapshots(self, region: str = "primary") -> list[Snapshot]:
        return self.snapshots[region]

    def snapshot(self, name: str, region: str = "primary") -> Snapshot:
        raise AssertionError("a readiness check takes no snapshot")

    def copy_snapshot(self, name: str, to_region: str) -> Snapshot:
        raise AssertionError("a readiness check copies nothing")

    def restore_snapshot(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a readiness check restores nothing")

    def restore_to_point_in_time(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a readiness check restores nothing")

    def replication_lag_s(self) -> float | None:
        return self.stream.lag_s

    def replica_stream(self) -> ReplicaStream:
        return self.stream

    def verify_services(self, region: str | None = None, timeout_s: float = 2.0) -> ServiceCheck:
        return ServiceCheck(region, (CheckResult("health", True, 0.01),))


def snap(name: str, region: str, age: timedelta) -> Snapshot:
    return Snapshot(name, region, datetime.now(UTC) - age)


def checks(target: FakeTarget) -> dict[str, ReadinessCheck]:
    report = check_readiness(target, DrillConfig(), [])  # type: ignore[arg-type]
    return {c.name: c for c in report.checks}


def test_a_fresh_snapshot_with_a_fresh_dr_copy_is_ok(tmp_path: Path) -> None:
    target = FakeTarget([snap("nightly", "primary", HOUR)], [snap("nightly", "dr", HOUR)])

    assert checks(target)["backups"].status == "ok"


def test_no_copy_in_the_dr_region_is_a_warning_and_the_target_stays_ready() -> None:
    target = FakeTarget([snap("nightly", "primary", HOUR)], [])
    report = check_readiness(  # type: ignore[arg-type]
        target, DrillConfig(), experiments_for("lab", EXPERIMENTS)
    )
    backups = {c.name: c for c in report.checks}["backups"]

    assert backups.status == "warn"
    assert "no copy in the DR region" in backups.detail
    assert report.to_json()["checks"]["backups"]["status"] == "warn"
    assert any(line.startswith("WARN  backups") for line in report.lines())
    assert report.ready, report.lines()
    assert report.lines()[-1].startswith("fake: ready, 1 warning")


def test_a_dr_copy_older_than_the_schedule_is_a_warning(tmp_path: Path) -> None:
    target = FakeTarget([snap("today", "primary", HOUR)], [snap("last-week", "dr", 7 * 24 * HOUR)])
    backups = checks(target)["backups"]

    assert backups.status == "warn"
    assert "'last-week'" in backups.detail


def test_a_snapshot_older_than_the_schedule_fails(tmp_path: Path) -> None:
    target = FakeTarget([snap("old", "primary", 30 * HOUR)], [snap("old", "dr", 30 * HOUR)])

    assert checks(target)["backups"].status == "fail"


@pytest.mark.parametrize("lag", [0.0, 12.0])
def test_a_stalled_stream_fails_whatever_its_lag(tmp_path: Path, lag: float) -> None:
    stalled = ReplicaStream("stalled", lag, "no reply from the standby for 7.0 s")
    replication = checks(FakeTarget([], [], stalled))["replication"]

    assert replication.status == "fail"
    assert "replication stalled (stalled): no reply from the standby" in replication.detail


def test_a_flowing_stream_under_the_alarm_is_ok_and_says_its_state(tmp_path: Path) -> None:
    flowing = ReplicaStream("streaming", 1.5, None)
    replication = checks(FakeTarget([], [], flowing))["replication"]

    assert replication.status == "ok"
    assert replication.detail.startswith("streaming, lag 1.50 s")
