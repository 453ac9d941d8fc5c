"""Backups on the real lab: every restore is verified by data (count + checksum)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drdrill.config import DrillConfig
from drdrill.errors import RestoreError
from drdrill.lab import Lab
from drdrill.observation.integrity import census, compare
from drdrill.support.http import call

pytestmark = pytest.mark.lab
MakeConfig = Callable[[int], tuple[DrillConfig, Path]]


def place(lab: Lab, prefix: str, count: int) -> None:
    for i in range(count):
        assert call("POST", f"{lab.edge_url}/orders", {"id": f"{prefix}-{i}"}).status == 201


@pytest.fixture(scope="module")
def lab(make_lab_config: MakeConfig) -> Iterator[Lab]:
    config, _ = make_lab_config(25800)
    lab = Lab.from_config(config)
    lab.up()
    yield lab
    lab.down()


def test_lab_up_took_the_base_backup_pitr_starts_from(lab: Lab) -> None:
    assert [s.name for s in lab.backups().list_snapshots()] == ["lab-up"]


def test_point_in_time_restore_holds_exactly_the_orders_committed_until_then(lab: Lab) -> None:
    place(lab, "before", 20)
    time.sleep(0.05)
    point = datetime.now(UTC)
    expected = census(lab.db_dsn("primary"), point)
    time.sleep(0.05)
    place(lab, "after", 15)

    restored = lab.backups().restore_to_point_in_time(point, "pitr-1")

    assert compare(expected, census(restored.dsn)) == []
    assert census(restored.dsn).count == expected.count
    assert census(lab.db_dsn("primary")).count == expected.count + 15
    assert restored.restore_duration_s < 30


def test_snapshot_and_its_cross_region_copy_restore_the_same_data(lab: Lab) -> None:
    backups = lab.backups()
    place(lab, "snap", 10)
    expected = census(lab.db_dsn("primary"))
    backups.snapshot("pre-change")
    backups.copy_snapshot("pre-change", "dr")
    place(lab, "later", 5)

    local = backups.restore_snapshot("pre-change", "from-local")
    remote = backups.restore_snapshot("pre-change", "from-dr", region="dr")

    assert compare(expected, census(local.dsn)) == []
    assert compare(expected, census(remote.dsn)) == []
    assert [s.name for s in backups.list_snapshots("dr")] == ["pre-change"]


def test_refusals_change_nothing(lab: Lab) -> None:
    backups = lab.backups()
    with pytest.raises(RestoreError, match="already exists"):
        backups.restore_snapshot("lab-up", "from-local")
    with pytest.raises(RestoreError, match="before the oldest backup"):
        backups.restore_to_point_in_time(datetime.now(UTC) - timedelta(days=1), "too-early")
    with pytest.raises(RestoreError, match="already exists"):
        backups.snapshot("pre-change")
    with pytest.raises(RestoreError, match="time zone"):
        backups.restore_to_point_in_time(datetime.now(), "naive")
    assert not (lab.dir / "restored" / "too-early").exists()


def test_an_empty_archive_refuses_point_in_time_recovery(lab: Lab) -> None:
    backups = lab.backups()
    moved = lab.dir / "archive-aside"
    backups.archive.rename(moved)
    backups.archive.mkdir()
    try:
        with pytest.raises(RestoreError, match="empty"):
            backups.restore_to_point_in_time(datetime.now(UTC), "no-wal")
    finally:
        backups.archive.rmdir()
        moved.rename(backups.archive)
