"""Steps of the backup drills: snapshots, restores, and the data disasters they repair.

They speak the target protocol (snapshot, copy, restore, repoint), so the same
feature runs wherever a target implements ``drdrill.targets.base.BackupTarget``.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from pytest_bdd import given, parsers, then, when

from drdrill.observation.integrity import Census, census, compare
from drdrill.orchestration.drill import Drill
from drdrill.records.timeline import FAULT_INJECTED, NOTE
from drdrill.report.metrics_table import human_duration
from drdrill.steps.capabilities import needs
from drdrill.support.http import call
from drdrill.targets.base import (
    BackupTarget,
    DataDisasterTarget,
    ObjectReplicationTarget,
    ObjectStoreTarget,
    RestoredDatabase,
)


def backups(drill: Drill) -> BackupTarget:
    return needs(drill, BackupTarget, "restore backups")


def snapshot_id(drill: Drill, name: str) -> str:
    """The snapshot the feature calls ``name``, as this drill takes it: the name and the
    drill's start, so the drills of one session never take two snapshots of one name
    (RDS refuses a snapshot identifier that exists; the lab's backup store too)."""
    return f"{name}-{drill.started_ns}"


@given(parsers.parse("{count:d} orders have been placed"))
def orders_placed(drill: Drill, count: int) -> None:
    for i in range(count):
        reply = call(
            "POST",
            f"{drill.target.endpoint()}/orders",
            {"id": f"{drill.drill_id}-{time.time_ns()}-{i}"},
        )
        assert reply.status == 201, reply


@given(
    parsers.parse('a snapshot "{name}" is taken and the order census recorded'),
    target_fixture="recorded",
)
def snapshot_taken(drill: Drill, name: str) -> Census:
    recorded = census(drill.target.database_dsn("primary"))
    backups(drill).snapshot(snapshot_id(drill, name))
    return recorded


@given("the order census is recorded at a point in time", target_fixture="recorded")
def census_at_point(drill: Drill) -> Census:
    time.sleep(0.05)
    point = datetime.now(UTC)
    recorded = census(drill.target.database_dsn("primary"), point)
    time.sleep(0.05)
    return recorded


@given(parsers.parse('the snapshot "{name}" is copied to the DR region'))
def snapshot_copied(drill: Drill, name: str) -> None:
    backups(drill).copy_snapshot(snapshot_id(drill, name), "dr")


@when(
    parsers.parse('the latest snapshot is restored into the scratch instance "{instance}"'),
    target_fixture="restored",
)
def restore_latest(drill: Drill, instance: str) -> list[RestoredDatabase]:
    latest = backups(drill).list_snapshots("primary")[-1]
    return [backups(drill).restore_snapshot(latest.name, instance)]


@when(
    parsers.parse('the database is restored to that point in time into "{instance}"'),
    target_fixture="restored",
)
def restore_pitr(drill: Drill, recorded: Census, instance: str) -> list[RestoredDatabase]:
    assert recorded.as_of is not None
    return [backups(drill).restore_to_point_in_time(recorded.as_of, instance)]


@when(
    parsers.parse('the snapshot "{name}" is restored from the {region} region into "{instance}"'),
    target_fixture="restored",
)
def restore_snapshot(
    drill: Drill, name: str, region: str, instance: str, request: pytest.FixtureRequest
) -> list[RestoredDatabase]:
    earlier: list[RestoredDatabase] = (
        request.getfixturevalue("restored") if "restored" in request.fixturenames else []
    )
    return [*earlier, backups(drill).restore_snapshot(snapshot_id(drill, name), instance, region)]


@then(parsers.parse("the restored database matches the census recorded at {moment}"))
@then(parsers.parse("every restored database matches the census recorded at {moment}"))
def restored_matches(restored: list[RestoredDatabase], recorded: Census, moment: str) -> None:
    assert restored
    for database in restored:
        problems = compare(recorded, census(database.dsn))
        assert not problems, f"restore {database.instance} does not match: {problems}"


@then(parsers.parse('the restore finishes within the RTO of the "{scenario}" scenario'))
def restore_within_rto(drill: Drill, restored: list[RestoredDatabase], scenario: str) -> None:
    target = drill.config.objective_for(scenario).rto
    took = max(r.restore_duration_s for r in restored)
    assert took <= target, (
        f"RTO breach: restore took {human_duration(took)} > {human_duration(target)}"
    )


# -- data disasters -------------------------------------------------------------


@when("a bad change deletes and rewrites orders", target_fixture="before_bad_change")
def bad_change(drill: Drill) -> Census:
    time.sleep(1.0)  # writes on record before the bad change
    point = datetime.now(UTC)
    # a commit stamped before ``point`` can become visible a moment later: let them land
    time.sleep(0.3)
    good = census(drill.target.database_dsn("primary"), point)
    needs(drill, DataDisasterTarget, "stage a data corruption").corrupt_orders("primary")
    drill.declare_fault("primary", "data-corruption", scenario="data_corruption")
    return good


@when("the corruption is detected by the order census")
def corruption_detected(drill: Drill, before_bad_change: Census) -> None:
    now = census(drill.target.database_dsn("primary"), before_bad_change.as_of)
    problems = compare(before_bad_change, now)
    assert problems, "the bad change left the recorded orders intact: nothing to repair"
    drill.timeline.record(NOTE, "corruption_detected", problems=problems)


@when("the database is restored to just before the bad change and the applications use it")
def repair_corruption(drill: Drill, before_bad_change: Census) -> None:
    target = backups(drill)
    assert before_bad_change.as_of is not None
    with drill.phase("database_restore"):
        restored = target.restore_to_point_in_time(before_bad_change.as_of, "before-corruption")
    problems = compare(before_bad_change, census(restored.dsn, before_bad_change.as_of))
    assert not problems, f"the point-in-time restore does not hold the good data: {problems}"
    with drill.phase("repoint_applications"):
        drill.target.repoint_applications("primary", restored.instance)
        drill.target.repoint_applications("dr", restored.instance)
    drill.declare_restored(restored.instance)


@when("ransomware destroys the primary database and its local backups")
def ransomware(drill: Drill) -> None:
    needs(drill, DataDisasterTarget, "simulate ransomware").destroy_primary_data()
    drill.declare_fault("primary", "ransomware", scenario="ransomware")


@when(
    parsers.parse(
        'the isolated cross-region copy "{name}" is restored and the DR region serves from it'
    )
)
def recover_from_copy(drill: Drill, name: str) -> None:
    target = backups(drill)
    with drill.phase("database_restore"):
        restored = target.restore_snapshot(snapshot_id(drill, name), "from-isolated-copy", "dr")
    with drill.phase("repoint_applications"):
        drill.target.repoint_applications("dr", restored.instance)
    with drill.phase("dns_failover"):
        drill.target.fail_over_dns("dr")
    with drill.phase("scale_dr"):
        drill.target.scale_region("dr")
    drill.declare_restored(restored.instance)


# -- object data ------------------------------------------------------------------


def object_store(drill: Drill) -> ObjectStoreTarget:
    return needs(drill, ObjectStoreTarget, "store and restore versioned objects")


def replication(drill: Drill) -> ObjectReplicationTarget:
    return needs(drill, ObjectReplicationTarget, "watch and stop object replication")


def missing_in_dr(store: ObjectStoreTarget, documents: dict[str, bytes]) -> list[str]:
    """Keys whose recorded body the DR bucket does not hold."""
    dr = store.bucket("dr")
    return sorted(k for k, body in documents.items() if store.get_object(dr, k) != body)


@given(
    parsers.parse("{count:d} order documents are stored and replicated to the DR region"),
    target_fixture="documents",
)
def documents_stored(drill: Drill, count: int) -> dict[str, bytes]:
    store = object_store(drill)
    documents = {
        f"orders/{drill.drill_id}/{i}.json": json.dumps({"order": i, "qty": 1 + i}).encode()
        for i in range(count)
    }
    for key, body in documents.items():
        store.put_object(store.bucket("primary"), key, body)
    lag = replication(drill).wait_objects_replicated(list(documents))
    drill.timeline.record(NOTE, "objects_replicated", seconds=round(lag, 3), count=count)
    return documents


@when(parsers.parse("a bad deploy overwrites {overwrite:d} order documents and deletes {delete:d}"))
def bad_deploy(drill: Drill, documents: dict[str, bytes], overwrite: int, delete: int) -> None:
    store = object_store(drill)
    primary = store.bucket("primary")
    keys = sorted(documents)
    for key in keys[:overwrite]:
        store.put_object(primary, key, b'{"corrupted": true}')
    for key in keys[overwrite : overwrite + delete]:
        store.delete_object(primary, key)
    intact = sum(store.get_object(primary, k) == documents[k] for k in keys)
    assert intact == len(keys) - overwrite - delete


@then("every overwritten document is restored from its earlier version")
def restore_overwritten(drill: Drill, documents: dict[str, bytes]) -> None:
    store = object_store(drill)
    primary = store.bucket("primary")
    for key, body in documents.items():
        current = store.get_object(primary, key)
        if current is None or current == body:
            continue
        versions = [v for v in store.list_object_versions(primary, key) if v.key == key]
        earlier = [v for v in versions if not v.is_latest and not v.is_delete_marker]
        assert earlier, f"{key}: no earlier version to restore"
        store.restore_object_version(primary, key, earlier[-1].version_id)


@then("every deleted document is restored from the DR bucket's copy")
def restore_deleted(drill: Drill, documents: dict[str, bytes]) -> None:
    store = object_store(drill)
    primary, dr = store.bucket("primary"), store.bucket("dr")
    for key in documents:
        if store.get_object(primary, key) is not None:
            continue
        versions = store.list_object_versions(dr, key)
        copies = [v for v in versions if v.key == key and not v.is_delete_marker]
        assert copies, f"{key}: the DR bucket holds no copy"
        store.restore_object_version(primary, key, copies[0].version_id, source_bucket=dr)


@then("every order document reads as it was recorded")
def documents_intact(drill: Drill, documents: dict[str, bytes]) -> None:
    store = object_store(drill)
    primary = store.bucket("primary")
    wrong = [k for k, body in documents.items() if store.get_object(primary, k) != body]
    assert not wrong, f"documents not restored: {wrong}"


@when(
    parsers.parse("{count:d} more order documents are stored and the primary region fails at once"),
    target_fixture="late_documents",
)
def store_then_fail(drill: Drill, count: int) -> dict[str, tuple[bytes, int]]:
    """Store documents, then fail the region: each with the time it was stored."""
    store = object_store(drill)
    replicating = replication(drill)
    late: dict[str, tuple[bytes, int]] = {}
    for i in range(count):
        key, body = f"orders/{drill.drill_id}/late-{i}.json", json.dumps({"late": i}).encode()
        store.put_object(store.bucket("primary"), key, body)
        late[key] = (body, time.time_ns())
    replicating.stop_object_replication()
    drill.declare_fault("primary", "object-replication-stopped", scenario=drill.scenario)
    return late


@then("the DR bucket holds every document replicated before the failure")
def replicated_survive(drill: Drill, documents: dict[str, bytes]) -> None:
    assert missing_in_dr(object_store(drill), documents) == []


@then(
    parsers.parse(
        "the documents lost to the DR region are counted and stay within the RPO of the "
        '"{scenario}" scenario'
    )
)
def objects_lost_counted(
    drill: Drill, late_documents: dict[str, tuple[bytes, int]], scenario: str
) -> None:
    store = object_store(drill)
    delay = replication(drill).object_replication_delay_s
    time.sleep(delay + 0.5)  # nothing more may arrive after the failure
    fault = drill.timeline.first(FAULT_INJECTED)
    assert fault is not None
    lost = missing_in_dr(store, {k: body for k, (body, _) in late_documents.items()})
    age = {k: (fault.t_ns - stored) / 1e9 for k, (_, stored) in late_documents.items()}
    # younger than the replication delay at the failure: lost; older by a poll or more: kept
    assert {k for k in age if age[k] < delay - 0.3} <= set(lost)
    assert set(lost) <= {k for k in age if age[k] < delay + 0.5}
    window = max((age[k] for k in lost), default=0.0)
    drill.timeline.record(NOTE, "objects_lost", count=len(lost), oldest_lost_s=round(window, 3))
    objective = drill.config.objective_for(scenario).rpo
    assert window <= objective, f"RPO breach: objects up to {window:.1f} s old lost"
