"""The aws target against moto (server mode, over HTTP) and kmock emulators over HTTP.

The test plays the Kubernetes controller (``Controller`` fills deployment status:
kmock runs none). What this proves: the calls are well-formed, go to the right region
and resource, in the plan's order, pass the interlocks, are audited, and leave the
state they should (records, scaling configs, instances, experiments, deployments,
env, RDS instances and snapshots, object versions). What it cannot prove: any timing
(moto times nothing), that a promotion completes (moto never changes its status and
the source still lists the replica), replication, DNS answers, pod readiness.
"""

from __future__ import annotations

import http.server
import itertools
import json
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from drdrill.config import load_config
from drdrill.errors import SafetyError, TargetError, UnknownRegionError
from drdrill.records.audit import AuditTrail
from drdrill.targets import open_target
from drdrill.targets.aws import AwsTarget
from drdrill.targets.aws.profile import AwsProfile

from .conftest import (
    ACCOUNT,
    THROTTLING_PORT,
    Controller,
    Emulators,
    ReplicaLag,
    apps,
    client,
    make_platform,
    platform_state,
)

pytestmark = pytest.mark.aws
_suffix = itertools.count()


@pytest.fixture
def platform(moto_url: str, kube: Emulators) -> AwsProfile:
    return make_platform(kube.kubeconfig, f"t{next(_suffix)}")


def records(profile: AwsProfile) -> dict[str, dict[str, Any]]:
    found = client("route53").list_resource_record_sets(HostedZoneId=profile.dns.hosted_zone_id)
    return {r["SetIdentifier"]: r for r in found["ResourceRecordSets"] if "SetIdentifier" in r}


def desired(profile: AwsProfile, region: str) -> int:
    side = profile.region(region)
    ng = client("eks", side.name).describe_nodegroup(
        clusterName=side.eks_cluster, nodegroupName=side.nodegroup
    )
    return int(ng["nodegroup"]["scalingConfig"]["desiredSize"])


def env_of(profile: AwsProfile, region: str) -> dict[str, tuple[int, dict[str, str]]]:
    api = apps(profile.kubeconfig, region)  # type: ignore[arg-type]
    found = {}
    for d in api.list_namespaced_deployment("production").items:
        env = {e.name: e.value for e in d.spec.template.spec.containers[0].env}
        found[d.metadata.name] = (d.spec.replicas, env)
    return found


def write_config(profile: AwsProfile, path: Path) -> Path:
    path.write_text(
        yaml.safe_dump({"targets": {"aws-test": json.loads(profile.model_dump_json())}})
    )
    return path


def test_a_drill_runs_every_phase_end_to_end(
    platform: AwsProfile, shop: str, tmp_path: Path
) -> None:
    profile = platform.model_copy(update={"global_endpoint": shop})
    audit = AuditTrail(tmp_path / "audit.jsonl")
    target = AwsTarget(profile, "aws-test", confirm=True, audit=audit)
    s3_primary, s3_dr = client("s3", "us-east-1"), client("s3", "us-west-2")
    bucket, dr_bucket = (
        profile.regions["primary"].s3_buckets[0],
        profile.regions["dr"].s3_buckets[0],
    )
    good = s3_primary.put_object(Bucket=bucket, Key="orders/1.json", Body=b'{"qty": 1}')
    s3_primary.put_object(Bucket=bucket, Key="orders/1.json", Body=b'{"qty": 0, "bad": 1}')
    copy = s3_dr.put_object(Bucket=dr_bucket, Key="orders/2.json", Body=b'{"qty": 2}')

    new_primary = f"{profile.regions['primary'].rds_instance}-new"
    with (
        Controller(profile.kubeconfig),  # type: ignore[arg-type]
        ReplicaLag([("us-east-1", new_primary)]),
    ):
        target.fail_region("primary", "power-off")
        assert desired(profile, "primary") == 0
        target.fail_over_dns("dr")
        after_failover = records(profile)
        target.scale_region("dr", 0)
        target.promote_database("dr")
        target.repoint_applications("dr", "dr")
        verified = target.verify_services()
        snapshot = target.snapshot("pre-migration")
        target.copy_snapshot("pre-migration", "dr")
        from_copy = target.restore_snapshot("pre-migration", "from-dr-copy", region="dr")
        pitr = target.restore_to_point_in_time(datetime.now(UTC), "before-corruption")
        target.repoint_applications("primary", "before-corruption")
        on_pitr = env_of(profile, "primary")
        versions = target.list_object_versions(bucket, "orders/")
        older = [v for v in versions if not v.is_latest]
        target.restore_object_version(bucket, "orders/1.json", older[0].version_id)
        target.restore_object_version(bucket, "orders/2.json", copy["VersionId"], dr_bucket)
        target.fail_back()

    assert verified.ok, verified.checks
    # DNS: after failover dr was PRIMARY; fail_back made primary PRIMARY again
    trail = audit.records()
    batches = [
        r["parameters"]["ChangeBatch"]["Changes"]
        for r in trail
        if r["action"] == "route53:change_resource_record_sets" and r["outcome"] == "succeeded"
    ]
    assert [c["ResourceRecordSet"]["ResourceRecords"][0]["Value"] for c in batches[0]] == [
        "dr-alb.example.com",
        "primary-alb.example.com",
    ]
    assert after_failover["Primary"]["Failover"] == "PRIMARY"
    assert after_failover["Primary"]["ResourceRecords"] == [{"Value": "dr-alb.example.com"}]
    assert after_failover["Primary"]["HealthCheckId"] == profile.dns.targets["dr"].health_check_id
    assert after_failover["Secondary"]["ResourceRecords"] == [{"Value": "primary-alb.example.com"}]
    now = records(profile)
    assert now["Primary"]["Failover"] == "PRIMARY"
    assert now["Primary"]["ResourceRecords"] == [{"Value": "primary-alb.example.com"}]
    assert now["Primary"]["HealthCheckId"] == profile.dns.targets["primary"].health_check_id
    # compute: primary's capacity came back as it was (9), dr went 3 -> 9 -> standby 3
    assert desired(profile, "primary") == 9
    assert desired(profile, "dr") == 3
    scalings = [
        (r["region"], r["parameters"]["scalingConfig"]["desiredSize"])
        for r in trail
        if r["action"] == "eks:update_nodegroup_config" and r["outcome"] == "succeeded"
    ]
    assert scalings == [("us-east-1", 0), ("us-west-2", 9), ("us-east-1", 9), ("us-west-2", 3)]
    # fail_back carried the data home: dr at warm standby, everyone on the new primary (a
    # cross-region replica of dr, promoted after the fence); dr its new replica
    new_url = f"postgresql://app:pw@{new_primary}.aaaaaaaaaa.us-east-1.rds.amazonaws.com:5432/shop"
    for region, size in (("dr", 1), ("primary", 3)):
        for replicas, env in env_of(profile, region).values():
            assert (replicas, env) == (size, {"DATABASE_URL": new_url, "LOG_LEVEL": "info"})
    restored_host = "before-corruption.aaaaaaaaaa.us-east-1.rds.amazonaws.com:5432"
    for _, env in on_pitr.values():
        assert env["DATABASE_URL"] == f"postgresql://app:pw@{restored_host}/shop"
    # database: promotion called on the replica; snapshot, copy, restores exist in moto
    promoted = [r for r in trail if r["action"] == "rds:promote_read_replica"]
    assert [r["outcome"] for r in promoted] == ["started", "succeeded"] * 2
    assert [r["parameters"]["DBInstanceIdentifier"] for r in promoted[::2]] == [
        profile.regions["dr"].rds_instance,
        new_primary,
    ]
    east, west = platform_state(profile)["primary"], platform_state(profile)["dr"]
    assert snapshot.name in east["snapshots"] and "pre-migration" in west["snapshots"]
    assert "from-dr-copy" in west["db_instances"] and "before-corruption" in east["db_instances"]
    assert from_copy.dsn.startswith("postgresql://app@from-dr-copy.")  # no password
    assert pitr.source == "pitr"
    # objects: the good version is current again; the DR copy was brought back
    assert s3_primary.get_object(Bucket=bucket, Key="orders/1.json")["Body"].read() == (
        b'{"qty": 1}'
    )
    assert good["VersionId"] == older[0].version_id
    assert s3_primary.get_object(Bucket=bucket, Key="orders/2.json")["Body"].read() == (
        b'{"qty": 2}'
    )
    # the audit trail: the account checked once, before the first change; every change
    # before and after; every read after it, with its region and resource
    changes = [r for r in trail if r["outcome"] not in ("read", "read-failed")]
    assert (changes[0]["action"], changes[0]["outcome"]) == ("sts:get_caller_identity", "succeeded")
    started = [r["action"] for r in trail if r["outcome"] == "started"]
    succeeded = [r["action"] for r in trail if r["outcome"] == "succeeded"][1:]
    assert started == succeeded and len(started) == 31
    reads = [r for r in trail if r["outcome"] == "read"]
    assert all(r["region"] and r["resource"] and r["duration_s"] >= 0 for r in reads)
    read_actions = {r["action"] for r in reads}
    assert {
        "eks:describe_nodegroup",
        "route53:wait resource_record_sets_changed",
        "eks:wait nodegroup_active",
        "rds:wait db_instance_available",
        "s3:list_object_versions",
        "kubernetes:read_namespaced_deployment_status",
    } <= read_actions, read_actions
    insync = [r for r in reads if r["action"] == "route53:wait resource_record_sets_changed"]
    assert len(insync) == len([r for r in trail if r["action"].startswith("route53:change")]) // 2
    assert "hunter2" not in (tmp_path / "audit.jsonl").read_text()
    assert ":pw@" not in (tmp_path / "audit.jsonl").read_text()


def test_stop_instances_fails_a_region_and_restore_starts_them_again(
    kube: Emulators, moto_url: str
) -> None:
    profile = make_platform(kube.kubeconfig, f"t{next(_suffix)}", failure_method="stop-instances")
    target = AwsTarget(profile, "aws-test", confirm=True)

    target.fail_region("primary", "power-off")
    stopped = platform_state(profile)["primary"]["instances"]
    target.restore_region("primary")
    started = platform_state(profile)["primary"]["instances"]

    assert [state for _, state in stopped] == ["stopped", "stopped"]
    assert [state for _, state in started] == ["running", "running"]
    assert platform_state(profile)["dr"]["instances"][0][1] == "running"


def test_an_fis_experiment_fails_a_region_and_restore_stops_it(
    kube: Emulators, moto_url: str, tmp_path: Path
) -> None:
    profile = make_platform(kube.kubeconfig, f"t{next(_suffix)}", failure_method="fis")
    audit = AuditTrail(None)
    target = AwsTarget(profile, "aws-test", confirm=True, audit=audit)

    target.fail_region("primary", "power-off")
    target.restore_region("primary")

    fis = client("fis", "us-east-1")
    experiments = fis.list_experiments()["experiments"]
    mine = [e for e in experiments if e["tags"].get("drdrill") == "aws-test"]
    template = profile.regions["primary"].fis_template_id
    assert [e["experimentTemplateId"] for e in mine][-1] == template
    done = [(r["action"], r["outcome"]) for r in audit.records() if r["outcome"] == "succeeded"]
    assert done[1:] == [("fis:start_experiment", "succeeded"), ("fis:stop_experiment", "succeeded")]


def test_weighted_records_shift_traffic_gradually(platform: AwsProfile) -> None:
    dns = platform.dns.model_copy(
        update={"routing": "weighted", "set_identifiers": {"primary": "east", "dr": "west"}}
    )
    target = AwsTarget(platform.model_copy(update={"dns": dns}), "aws-test", confirm=True)

    target.fail_over_dns("dr")
    after_failover = {k: r["Weight"] for k, r in records(platform).items() if "Weight" in r}
    target.shift_traffic("primary", 10)
    after_shift = {k: r["Weight"] for k, r in records(platform).items() if "Weight" in r}

    assert after_failover == {"east": 0, "west": 100}
    assert after_shift == {"east": 10, "west": 90}


def test_a_wrong_account_is_refused_and_nothing_is_mutated(
    platform: AwsProfile, tmp_path: Path
) -> None:
    before = platform_state(platform)
    other = platform.model_copy(update={"allowed_account_ids": ("999999999999",)})
    audit = AuditTrail(tmp_path / "audit.jsonl")
    target = AwsTarget(other, "aws-prod", confirm=True, audit=audit)

    with pytest.raises(SafetyError, match=rf"{ACCOUNT} is not in targets\.aws-prod"):
        target.fail_region("primary", "power-off")
    with pytest.raises(SafetyError, match=r"not in targets\.aws-prod"):
        target.fail_over_dns("dr")
    with pytest.raises(SafetyError):
        target.promote_database("dr")

    assert platform_state(platform) == before
    # nothing but refusals, and the reads fail_region made first (the scaling to restore)
    assert {r["outcome"] for r in audit.records() if r["outcome"] != "read"} == {"refused"}
    assert {r["action"] for r in audit.records() if r["outcome"] == "read"} == {
        "eks:describe_nodegroup"
    }


def test_without_confirm_nothing_is_mutated(platform: AwsProfile, tmp_path: Path) -> None:
    before = platform_state(platform)
    config = load_config(write_config(platform, tmp_path / "drdrill.yaml"))
    audit = AuditTrail(None)

    with pytest.raises(SafetyError, match="--confirm"):
        open_target(config, "aws-test", audit=audit)
    unconfirmed = AwsTarget(platform, "aws-test", audit=audit)
    with pytest.raises(SafetyError, match="needs --confirm"):
        unconfirmed.promote_database("dr")
    with pytest.raises(SafetyError, match="needs --confirm"):
        unconfirmed.fail_region("primary", "power-off")

    assert platform_state(platform) == before
    changes = [r["outcome"] for r in audit.records() if r["outcome"] != "read"]
    assert changes == ["refused", "refused"]


@pytest.mark.parametrize(
    ("broken", "call", "named"),
    [
        ("nodegroup", lambda t: t.scale_region("dr", 9), "no-such-nodegroup"),
        ("rds_instance", lambda t: t.snapshot("s1", "dr"), "no-such-db"),
        ("deployments", lambda t: t.scale_region("dr", 9), "no-such-deployment"),
    ],
)
def test_an_unknown_resource_is_named_in_the_error(
    platform: AwsProfile, broken: str, call: Any, named: str
) -> None:
    before = platform_state(platform)
    value: Any = (named,) if broken == "deployments" else named
    dr = platform.regions["dr"].model_copy(update={broken: value})
    target = AwsTarget(
        platform.model_copy(update={"regions": {**platform.regions, "dr": dr}}),
        "aws-test",
        confirm=True,
    )

    with pytest.raises(TargetError, match=named) as caught:
        call(target)

    assert caught.value.region == "us-west-2"
    after = platform_state(platform)
    if broken != "deployments":  # (the nodegroup is scaled before the deployments)
        assert after == before
    assert after["dr"]["deployments"] == before["dr"]["deployments"]


def test_an_unknown_hosted_zone_and_region_are_named(platform: AwsProfile) -> None:
    dns = platform.dns.model_copy(update={"hosted_zone_id": "ZNOSUCHZONE"})
    target = AwsTarget(platform.model_copy(update={"dns": dns}), "aws-test", confirm=True)

    with pytest.raises(TargetError, match="ZNOSUCHZONE"):
        target.fail_over_dns("dr")
    with pytest.raises(UnknownRegionError, match="'eu-west-1'"):
        target.promote_database("eu-west-1")


def test_a_deployment_that_never_becomes_ready_times_out(platform: AwsProfile) -> None:
    waiters = platform.waiters.model_copy(update={"rollout_s": 1.0})
    target = AwsTarget(platform.model_copy(update={"waiters": waiters}), "aws-test", confirm=True)

    # no controller runs: the emulator never reports the pods ready
    with pytest.raises(TargetError, match=r"not rolled out and ready after 1s: \['order-service'"):
        target.scale_region("dr", 9)


class _ThrottlingAws(http.server.BaseHTTPRequestHandler):
    """Answers STS GetCallerIdentity (the allow-listed account), and Throttling to
    everything else — the seam for what moto cannot do."""

    calls: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        if "Action=GetCallerIdentity" in body:
            status, reply = (
                200,
                (
                    "<GetCallerIdentityResponse><GetCallerIdentityResult>"
                    f"<Arn>arn:aws:iam::{ACCOUNT}:user/drill</Arn><UserId>X</UserId>"
                    f"<Account>{ACCOUNT}</Account></GetCallerIdentityResult>"
                    "</GetCallerIdentityResponse>"
                ),
            )
        else:
            _ThrottlingAws.calls.append(body.split("&")[0])
            status, reply = (
                400,
                (
                    "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
                    "<Message>Rate exceeded</Message></Error></ErrorResponse>"
                ),
            )
        data = reply.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def throttling_endpoint() -> Iterator[str]:
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    server = socketserver.ThreadingTCPServer(("127.0.0.1", THROTTLING_PORT), _ThrottlingAws)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{THROTTLING_PORT}"
    server.shutdown()
    server.server_close()


def test_throttling_is_retried_adaptively_then_a_clear_error(
    platform: AwsProfile, throttling_endpoint: str
) -> None:
    """An endpoint that always answers Throttling (a local HTTP server, since moto cannot
    throttle). It proves the retry budget is spent through botocore's real retry path
    and that the error is clear; not how AWS throttles, nor adaptive mode's rate
    limiting (which only slows the attempts)."""
    before = platform_state(platform)
    throttled = platform.model_copy(update={"endpoint_url": throttling_endpoint})
    target = AwsTarget(throttled, "aws-test", confirm=True)
    _ThrottlingAws.calls.clear()

    with pytest.raises(TargetError, match="throttled by AWS") as caught:
        target.promote_database("dr")

    assert "3 attempts in adaptive retry mode" in str(caught.value)
    assert caught.value.resource == platform.regions["dr"].rds_instance
    assert _ThrottlingAws.calls == ["Action=PromoteReadReplica"] * platform.max_attempts
    assert platform_state(platform) == before


def plan(config: Path, kind: str) -> str:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "drdrill", "--drill-config", str(config), "plan", kind),
            *("--target", "aws-test", "--time", "2026-11-24T10:30:00Z"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_plan_prints_every_call_and_mutates_nothing(platform: AwsProfile, tmp_path: Path) -> None:
    before = platform_state(platform)
    config = write_config(platform, tmp_path / "drdrill.yaml")

    full = plan(config, "full")
    partial = plan(config, "partial")
    backups = plan(config, "backup_restore")

    dr = platform.regions["dr"]
    calls = [line.strip() for line in full.splitlines() if "would call:" in line]
    assert [c.split()[2:4] for c in calls] == [
        ["eks", "update_nodegroup_config"],
        ["route53", "change_resource_record_sets"],
        ["eks", "update_nodegroup_config"],
        *[["kubernetes", "patch_namespaced_deployment_scale"]] * 2,
        ["rds", "promote_read_replica"],
        *[["kubernetes", "patch_namespaced_deployment"]] * 2,
        # fail back: the fault undone, the data carried home (read-replica), DNS, standby
        ["eks", "update_nodegroup_config"],
        ["rds", "create_db_instance_read_replica"],
        *[["kubernetes", "patch_namespaced_deployment"]] * 2,
        ["rds", "modify_db_parameter_group"],
        ["rds", "promote_read_replica"],
        *[["kubernetes", "patch_namespaced_deployment"]] * 4,
        ["rds", "create_db_instance_read_replica"],
        ["route53", "change_resource_record_sets"],
        *[["kubernetes", "patch_namespaced_deployment_scale"]] * 2,
        ["eks", "update_nodegroup_config"],
    ]
    assert f"rds promote_read_replica [us-west-2] DBInstanceIdentifier={dr.rds_instance}" in full
    assert "'desiredSize': 0" in calls[0] and "'desiredSize': 9" in calls[2]
    assert "{'name': 'DATABASE_URL', 'value': 'postgresql://app:***@dr-db:5432/shop'}" in full
    assert "2. DNS Failover" in full and "6. Service Verification" in full
    assert "23 mutating calls would be made; none was." in full
    assert "3. Scale DR Infrastructure" not in partial
    assert "rds promote_read_replica" in partial
    for operation in (
        "create_db_snapshot",
        "copy_db_snapshot",
        "restore_db_instance_from_db_snapshot",
        "restore_db_instance_to_point_in_time",
        "s3 copy_object",
    ):
        assert operation in backups
    assert "RestoreTime=2026-11-24T10:30:00+00:00" in backups
    assert platform_state(platform) == before
