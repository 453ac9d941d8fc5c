"""The planned failback on the aws target, against moto (server mode) and kmock over HTTP.

After the plan's activation (dr promoted, its deployments on the dr database), the
failback's phases run one after another, and after each the state moto and the
emulators hold is read back: the new primary instance (a cross-region replica of DR,
or restored from a snapshot copied into the primary region), the fence in the DR
instance's parameter group, the Route 53 records (WEIGHTED at each step with its
weights, failover records back at 100 %), the promotion, the database variable rolled
out to both regions' deployments, DR's nodegroup and deployments at warm standby, DR's
new replica of the new primary — and the audit trail of every change.

The test plays the controllers the doubles lack: deployment status (``Controller``) and
CloudWatch's ``ReplicaLag`` (``ReplicaLag``). What this cannot prove: any timing (moto
and kmock time nothing: the switchover's measured seconds here are the emulators'), that
a promotion or restore really completes, that the fence really stops writes (moto
stores the parameter; RDS applies ``default_transaction_read_only`` to new
transactions after a reload), replication and its lag (the lag is what the test
publishes), DNS answers and resolvers' caches, that Route 53 accepts the DELETE+CREATE
batches that change the routing policy (moto applies them without Route 53's checks),
and the data comparison of ``check_consistency`` (it needs real databases).
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from drdrill.chaos import runner
from drdrill.chaos.context import ChaosContext
from drdrill.config import DrillConfig
from drdrill.errors import ConfigError, SafetyError, TargetError
from drdrill.orchestration.drill import EXPERIMENTS
from drdrill.records.audit import AuditTrail
from drdrill.records.timeline import NOTE, Timeline
from drdrill.targets.aws import AwsTarget
from drdrill.targets.aws.profile import AwsProfile

from .conftest import Controller, Emulators, ReplicaLag, apps, client, make_platform, platform_state

pytestmark = pytest.mark.aws
_suffix = itertools.count()
TARGET = "aws-test"
PLAN = ("plan", "failback", "--target", TARGET)


def activated(kube: Emulators, failback: dict[str, Any] | None = None) -> tuple[AwsProfile, str]:
    """A fresh platform, its profile, and the suffix of its names."""
    suffix = f"fb{next(_suffix)}"
    return make_platform(kube.kubeconfig, suffix, failback=failback), suffix


def activate(target: AwsTarget) -> None:
    """The plan's DR activation (phases 2-5) after the primary region failed."""
    target.fail_region("primary", "power-off")
    target.fail_over_dns("dr")
    target.scale_region("dr")
    target.promote_database("dr")
    target.repoint_applications("dr", "dr")


def routing(profile: AwsProfile) -> dict[str, tuple[str, Any, str]]:
    """The global name's records by set identifier: (routing, weight or role, value)."""
    found = client("route53").list_resource_record_sets(HostedZoneId=profile.dns.hosted_zone_id)
    records = {}
    for r in found["ResourceRecordSets"]:
        if "SetIdentifier" not in r:
            continue
        kind = "weight" if "Weight" in r else "failover"
        records[r["SetIdentifier"]] = (
            kind,
            r.get("Weight", r.get("Failover")),
            r["ResourceRecords"][0]["Value"],
        )
    return records


def instance(region: str, name: str) -> dict[str, Any] | None:
    found = client("rds", region).describe_db_instances(
        Filters=[{"Name": "db-instance-id", "Values": [name]}]
    )["DBInstances"]
    return found[0] if found else None


def read_only(profile: AwsProfile) -> str | None:
    """The fence parameter's value in the DR instance's parameter group, as moto holds it."""
    group = profile.failback.fence_parameter_group
    rds = client("rds", profile.regions["dr"].name)
    params = rds.describe_db_parameters(DBParameterGroupName=group)["Parameters"]
    values = [p.get("ParameterValue") for p in params if p["ParameterName"] == READ_ONLY]
    return values[0] if values else None


READ_ONLY = "default_transaction_read_only"


def published(where: tuple[str, str], seconds: float, timeout_s: float = 20.0) -> None:
    """Until moto holds a ``ReplicaLag`` datapoint of ``seconds`` for the instance (the
    publisher thread may lag behind on a busy machine)."""
    region, name = where
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = datetime.now(UTC)
        found = client("cloudwatch", region).get_metric_statistics(
            Namespace="AWS/RDS",
            MetricName="ReplicaLag",
            Dimensions=[{"Name": "DBInstanceIdentifier", "Value": name}],
            StartTime=now - timedelta(minutes=10),
            EndTime=now + timedelta(minutes=1),
            Period=60,
            Statistics=["Maximum"],
        )["Datapoints"]
        if any(p["Maximum"] == seconds for p in found):
            return
        time.sleep(0.1)
    raise AssertionError(f"no ReplicaLag datapoint of {seconds} s for {name} published")


def deployments(profile: AwsProfile, region: str) -> dict[str, tuple[int, str]]:
    """Each deployment's replicas and database variable."""
    api = apps(profile.kubeconfig, region)  # type: ignore[arg-type]
    found = {}
    for d in api.list_namespaced_deployment("production").items:
        env = {e.name: e.value for e in d.spec.template.spec.containers[0].env}
        found[d.metadata.name] = (d.spec.replicas, env["DATABASE_URL"])
    return found


def mutations(trail: AuditTrail, outcome: str = "started") -> list[tuple[str, str, str]]:
    return [
        (r["action"], r.get("region", ""), r.get("resource", ""))
        for r in trail.records()
        if r["outcome"] == outcome
    ]


def test_the_failback_carries_the_platform_home_through_a_cross_region_replica(
    moto_url: str, kube: Emulators, tmp_path: Path
) -> None:
    base, _ = activated(kube)
    regions = {
        r: side.model_copy(update={"reader_dsn": f"postgresql://reader:pw@{r}-db:5432/shop"})
        for r, side in base.regions.items()
    }
    profile = base.model_copy(update={"regions": regions})
    audit = AuditTrail(tmp_path / "audit.jsonl")
    target = AwsTarget(profile, TARGET, confirm=True, audit=audit, replica_lag_alarm_s=300)
    primary, dr = profile.regions["primary"], profile.regions["dr"]
    new_primary, new_dr = f"{primary.rds_instance}-new", f"{dr.rds_instance}-new"

    with Controller(kube.kubeconfig), ReplicaLag([("us-east-1", new_primary)]) as lag:
        activate(target)
        assert target.serving_region() == "dr"
        before = platform_state(profile)
        with pytest.raises(TargetError, match="primary region is still down"):
            target.rebuild_database("primary")
        with pytest.raises(TargetError, match="cannot shift traffic to primary: it is still"):
            target.shift_traffic("primary", 10)
        assert platform_state(profile) == before
        target.restore_region("primary")
        audit_mark = len(audit.records())

        prepared = target.rebuild_database("primary")
        replica = instance("us-east-1", new_primary)
        primary_apps = deployments(profile, "primary")

        steps = {}
        for percent in (10, 50, 100):
            target.shift_traffic("primary", percent)
            steps[percent] = routing(profile)

        ledger_before = target.database_dsn("primary")
        fenced_s = target.switchover("primary")
        ledger_after = target.database_dsn("primary")
        promoted = instance("us-east-1", new_primary)
        dr_replica = instance("us-west-2", new_dr)
        fence = read_only(profile)

        target.scale_down_region("dr")
        lag.instances.append(("us-west-2", new_dr))
        validated = target.validate_standby("dr")
        lag.seconds = 400.0
        published(("us-west-2", new_dr), 400.0)
        with pytest.raises(TargetError, match="ReplicaLag 400s is over the alarm's 300s"):
            target.validate_standby("dr")
        again = target.rebuild_database("primary")

    # prepare: a cross-region read replica of the promoted DR instance; the primary's
    # applications write to the serving dr database meanwhile
    assert prepared["method"] == "read-replica" and prepared["instance"] == new_primary
    assert "write_freeze" not in prepared
    assert replica is not None
    assert replica["ReadReplicaSourceDBInstanceIdentifier"].endswith(f":db:{dr.rds_instance}")
    assert {url for _, url in primary_apps.values()} == {dr.database_url}
    # traffic: WEIGHTED at 10 % and 50 % (the failover records gone), failover back at 100 %
    assert steps[10] == {
        "Primary": ("weight", 10, "primary-alb.example.com"),
        "Secondary": ("weight", 90, "dr-alb.example.com"),
    }
    assert steps[50] == {
        "Primary": ("weight", 50, "primary-alb.example.com"),
        "Secondary": ("weight", 50, "dr-alb.example.com"),
    }
    assert steps[100] == {
        "Primary": ("failover", "PRIMARY", "primary-alb.example.com"),
        "Secondary": ("failover", "SECONDARY", "dr-alb.example.com"),
    }
    # switchover: DR fenced, the new primary promoted, both regions rolled onto it, DR
    # re-attached as its cross-region replica
    assert fence == "1"
    assert promoted is not None  # (moto lists a replica's source after its promotion too)
    promotions = [r for r in audit.records() if r["action"] == "rds:promote_read_replica"]
    assert [(r["parameters"]["DBInstanceIdentifier"], r["outcome"]) for r in promotions[-2:]] == [
        (new_primary, "started"),
        (new_primary, "succeeded"),
    ]
    host = f"{promoted['Endpoint']['Address']}:{promoted['Endpoint']['Port']}"
    new_url = f"postgresql://app:pw@{host}/shop"
    assert 0 < fenced_s < 60
    # the write ledger is checked against the new primary, not the old instance
    assert ledger_before == "postgresql://reader:pw@primary-db:5432/shop"
    assert ledger_after == f"postgresql://reader:pw@{host}/shop"
    assert target.serving_region() == "primary"
    assert dr_replica is not None
    assert dr_replica["ReadReplicaSourceDBInstanceIdentifier"].endswith(f":db:{new_primary}")
    # scale down and validate: DR at warm standby, its new replica under the alarm
    assert deployments(profile, "primary") == {
        name: (3, new_url) for name in deployments(profile, "primary")
    }
    assert deployments(profile, "dr") == {
        name: (dr.standby_replicas, new_url) for name in deployments(profile, "dr")
    }
    scaling = client("eks", "us-west-2").describe_nodegroup(
        clusterName=dr.eks_cluster, nodegroupName=dr.nodegroup
    )["nodegroup"]["scalingConfig"]
    assert scaling["desiredSize"] == dr.standby_scaling.desired_size  # type: ignore[union-attr]
    assert validated == 0.0
    assert again["method"] == "already"
    # the audit trail: every change of the failback, in order, region and resource named
    failback = [
        (r["action"], r["region"], r["resource"])
        for r in audit.records()[audit_mark:]
        if r["outcome"] == "started"
    ]
    zone = f"{profile.dns.hosted_zone_id}/{profile.dns.record_name}"
    group = profile.failback.fence_parameter_group
    patches = [
        ("kubernetes:patch_namespaced_deployment", region, f"ctx-{logical}/production/{name}")
        for logical, region in (("primary", "us-east-1"), ("dr", "us-west-2"))
        for name in ("order-service", "product-service")
    ]
    assert failback == [
        ("rds:create_db_instance_read_replica", "us-east-1", new_primary),
        *patches[:2],
        *[("route53:change_resource_record_sets", "global", zone)] * 3,
        ("rds:modify_db_parameter_group", "us-west-2", group),
        ("rds:promote_read_replica", "us-east-1", new_primary),
        *patches,
        ("rds:create_db_instance_read_replica", "us-west-2", new_dr),
        *[
            ("kubernetes:patch_namespaced_deployment_scale", "us-west-2", f"ctx-dr/production/{n}")
            for n in ("order-service", "product-service")
        ],
        ("eks:update_nodegroup_config", "us-west-2", f"{dr.eks_cluster}/{dr.nodegroup}"),
    ]
    assert mutations(audit, "succeeded")[-len(failback) :] == failback
    measured = [r for r in audit.records() if r["action"] == "switchover_measured"]
    assert measured[0]["fenced_s"] == fenced_s
    text = (tmp_path / "audit.jsonl").read_text()
    assert "hunter2" not in text and ":pw@" not in text


def test_a_switchover_whose_replica_never_catches_up_promotes_nothing_and_lifts_the_fence(
    moto_url: str, kube: Emulators
) -> None:
    profile, _ = activated(kube)
    target = AwsTarget(profile, TARGET, confirm=True)
    new_primary = f"{profile.regions['primary'].rds_instance}-new"

    with Controller(kube.kubeconfig), ReplicaLag([("us-east-1", new_primary)], seconds=30):
        activate(target)
        target.restore_region("primary")
        target.rebuild_database("primary")
        with pytest.raises(TargetError, match="no ReplicaLag of 0 after the fence"):
            target.switchover("primary")

    still = instance("us-east-1", new_primary)
    assert still is not None and "ReadReplicaSourceDBInstanceIdentifier" in still
    assert read_only(profile) == "0"
    assert target.serving_region() == "dr"
    assert instance("us-west-2", f"{profile.regions['dr'].rds_instance}-new") is None


def test_without_confirm_or_in_another_account_the_failback_changes_nothing(
    moto_url: str, kube: Emulators, tmp_path: Path
) -> None:
    profile, _ = activated(kube)
    with Controller(kube.kubeconfig):
        activate(AwsTarget(profile, TARGET, confirm=True))
    before = platform_state(profile)
    audit = AuditTrail(tmp_path / "audit.jsonl")
    elsewhere = profile.model_copy(update={"allowed_account_ids": ("000000000000",)})

    for target in (
        AwsTarget(profile, TARGET, confirm=False, audit=audit),
        AwsTarget(elsewhere, TARGET, confirm=True, audit=audit),
    ):
        with pytest.raises(SafetyError):
            target.rebuild_database("primary")
        with pytest.raises(SafetyError):
            target.shift_traffic("primary", 10)
        with pytest.raises(SafetyError):
            target.scale_down_region("dr")

    assert platform_state(profile) == before
    assert read_only(profile) in (None, "0")
    assert mutations(audit, "succeeded") == []
    refused = [r["action"] for r in audit.records() if r["outcome"] == "refused"]
    assert "rds:create_db_instance_read_replica" in refused  # no --confirm
    assert "sts:get_caller_identity" in refused  # another account


def test_the_snapshot_method_refuses_without_a_write_freeze_and_changes_nothing(
    moto_url: str, kube: Emulators, tmp_path: Path
) -> None:
    profile, _ = activated(kube, {"method": "snapshot"})
    audit = AuditTrail(tmp_path / "audit.jsonl")
    target = AwsTarget(profile, TARGET, confirm=True, audit=audit)
    with Controller(kube.kubeconfig):
        activate(target)
        target.restore_region("primary")
    before, changes = platform_state(profile), len(mutations(audit))

    with pytest.raises(ConfigError) as refused:
        target.rebuild_database("primary")

    assert f"targets.{TARGET}.failback.freeze_writes" in str(refused.value)
    assert "loses every write" in str(refused.value)
    assert platform_state(profile) == before
    assert len(mutations(audit)) == changes


def test_the_snapshot_method_freezes_writes_before_the_snapshot_and_says_so(
    moto_url: str, kube: Emulators, tmp_path: Path
) -> None:
    profile, _ = activated(kube, {"method": "snapshot", "freeze_writes": True})
    audit = AuditTrail(tmp_path / "audit.jsonl")
    target = AwsTarget(profile, TARGET, confirm=True, audit=audit)
    new_primary = f"{profile.regions['primary'].rds_instance}-new"

    with Controller(kube.kubeconfig):
        activate(target)
        target.restore_region("primary")
        prepared = target.rebuild_database("primary")
        fence_after_prepare = read_only(profile)
        target.switchover("primary")

    snapshot = prepared["snapshot"]
    assert prepared["method"] == "snapshot"
    assert "every write after the snapshot would be lost" in prepared["write_freeze"]
    assert fence_after_prepare == "1"
    state = platform_state(profile)
    assert snapshot in state["dr"]["snapshots"] and snapshot in state["primary"]["snapshots"]
    restored = instance("us-east-1", new_primary)
    assert restored is not None
    order = [a for a, _, _ in mutations(audit) if a.startswith("rds:")]
    assert order[-6:] == [
        "rds:promote_read_replica",  # the activation's
        "rds:modify_db_parameter_group",  # the freeze, before the snapshot
        "rds:create_db_snapshot",
        "rds:copy_db_snapshot",
        "rds:restore_db_instance_from_db_snapshot",
        "rds:create_db_instance_read_replica",  # DR re-attached; nothing to promote
    ]
    noted = [r for r in audit.records() if r["action"] == "failback_write_freeze"]
    assert noted and "refused" in noted[0]["warning"]
    url_host = restored["Endpoint"]["Address"]
    for region in ("primary", "dr"):
        assert {url_host in url for _, url in deployments(profile, region).values()} == {True}


def test_the_failback_plan_prints_the_runbook_and_mutates_nothing(
    moto_url: str, kube: Emulators, tmp_path: Path
) -> None:
    profile, _ = activated(kube, {"method": "snapshot"})
    config = tmp_path / "drdrill.yaml"
    settings = {"failback": {"traffic_steps": [25, 100]}, "targets": {}}
    settings["targets"][TARGET] = json.loads(profile.model_dump_json())
    config.write_text(yaml.safe_dump(settings))
    before = platform_state(profile)

    done = subprocess.run(
        [sys.executable, "-m", "drdrill", "--drill-config", str(config), *PLAN],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "WARNING data loss: snapshot method: every write after the snapshot" in out
    assert "REFUSES as configured: failback.method snapshot without failback.freeze_writes" in out
    titles = [line for line in out.splitlines() if line[:2] in {f"{n}." for n in range(1, 7)}]
    assert titles == [
        "1. Prepare Primary Region (target 24 h)",
        "2. Verify Primary Region (target 24 h)",
        "3. Gradual Traffic Shift (target 72 h): 25 % to primary, held 500 ms "
        "(failback.step_dwell)",
        "3. Gradual Traffic Shift (target 72 h): 100 % to primary, held 500 ms "
        "(failback.step_dwell)",
        "4. Database Switchover (target 24 h)",
        "5. Scale Down DR Region (target 24 h)",
        "6. Validate DR Readiness (target 24 h)",
    ]
    calls = [line.split()[2:4] for line in out.splitlines() if "would call:" in line]
    assert calls[:4] == [
        ["rds", "modify_db_parameter_group"],
        ["rds", "create_db_snapshot"],
        ["rds", "copy_db_snapshot"],
        ["rds", "restore_db_instance_from_db_snapshot"],
    ]
    assert "'Weight': 25" in out and "'Weight': 75" in out
    assert "prepare_primary: >= 66 min (target 24 h: reachable)" in out
    assert "switchover outage of writes: >= 1 min" in out
    assert f"{len(calls)} mutating calls would be made; none was." in out
    assert platform_state(profile) == before


def test_the_failback_experiment_prepares_then_stops_before_traffic_when_it_cannot_compare(
    moto_url: str, kube: Emulators, shop: str, tmp_path: Path
) -> None:
    """The experiment file the lab runs, through the same runner, on aws: the primary is
    prepared, then verification cannot compare the databases (no reader DSNs: moto runs
    no database) — the failback stops there and no traffic moves."""
    base, _ = activated(kube)
    regions = {r: side.model_copy(update={"endpoint": shop}) for r, side in base.regions.items()}
    profile = base.model_copy(update={"global_endpoint": shop, "regions": regions})
    target = AwsTarget(profile, TARGET, confirm=True)
    timeline = Timeline(tmp_path / "timeline.jsonl")
    with Controller(kube.kubeconfig):
        activate(target)
        target.restore_region("primary")
        before_traffic = routing(profile)
        journal = runner.run(
            EXPERIMENTS / "failback.json",
            ChaosContext(target, DrillConfig(), timeline),
            journal_path=tmp_path / "journal.json",
        )

    ran = {r["activity"]["name"]: r["status"] for r in journal["run"]}
    assert ran == {"prepare_primary": "succeeded", "verify_primary": "failed"}, ran
    assert "reader_dsn is not set" in json.dumps(journal["run"][1], default=str)
    assert instance("us-east-1", f"{profile.regions['primary'].rds_instance}-new") is not None
    rebuilt = [e.detail for e in timeline.events(NOTE) if e.name == "database_rebuilt"]
    assert rebuilt and rebuilt[0]["method"] == "read-replica"
    assert routing(profile) == before_traffic  # still failover, dr PRIMARY
    assert before_traffic["Primary"] == ("failover", "PRIMARY", "dr-alb.example.com")
