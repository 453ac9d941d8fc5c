"""The aws target against moto (server mode, over HTTP) and kmock emulators.

What this proves: the calls are well-formed, go to the right region and resource, in
the plan's order, pass the interlocks, and leave the state they should (records, scaling
configs, deployments, env). What it cannot prove: any timing (moto times nothing), that
a promotion completes (moto never changes its status), replication, DNS answers, or
pod readiness (the test's controller thread declares deployments ready).
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

import boto3
import pytest
import yaml

from drdrill.audit import AuditTrail
from drdrill.config import load_config
from drdrill.errors import SafetyError, TargetError
from drdrill.targets import open_target
from drdrill.targets.aws.profile import AwsProfile
from drdrill.targets.aws.target import AwsTarget

from .conftest import Controller, Emulators, apps, make_platform

pytestmark = pytest.mark.aws
_suffix = itertools.count()


@pytest.fixture
def platform(moto_url: str, kube: Emulators) -> AwsProfile:
    return make_platform(moto_url, kube.kubeconfig, f"t{next(_suffix)}")


def records(profile: AwsProfile) -> dict[str, str]:
    r53 = boto3.client("route53", region_name="us-east-1", endpoint_url=profile.endpoint_url)
    found = r53.list_resource_record_sets(HostedZoneId=profile.dns.hosted_zone_id)
    return {
        r["Failover"]: r["ResourceRecords"][0]["Value"]
        for r in found["ResourceRecordSets"]
        if "Failover" in r
    }


def nodegroup_desired(profile: AwsProfile, region: str) -> int:
    side = profile.regions[region]  # type: ignore[index]
    eks = boto3.client("eks", region_name=side.name, endpoint_url=profile.endpoint_url)
    ng = eks.describe_nodegroup(clusterName=side.eks_cluster, nodegroupName=side.nodegroup)
    return int(ng["nodegroup"]["scalingConfig"]["desiredSize"])


def test_every_activation_phase_runs_end_to_end(platform: AwsProfile, tmp_path: Path) -> None:
    audit = AuditTrail(tmp_path / "audit.jsonl")
    target = AwsTarget(platform, "aws-test", confirm=True, audit=audit)
    with Controller(platform.kubeconfig):  # type: ignore[arg-type]
        target.fail_region("primary", "power-off")
        target.fail_over_dns("dr")
        target.scale_region("dr", 9)
        target.promote_database("dr")
        target.repoint_applications("dr", "dr")

    assert nodegroup_desired(platform, "primary") == 0
    assert records(platform) == {
        "PRIMARY": "dr-alb.example.com",
        "SECONDARY": "primary-alb.example.com",
    }
    assert nodegroup_desired(platform, "dr") == 9
    dr_apps = apps(platform.kubeconfig, "dr")  # type: ignore[arg-type]
    for name in ("order-service", "product-service"):
        d = dr_apps.read_namespaced_deployment(name, "production")
        env = {e.name: e.value for e in d.spec.template.spec.containers[0].env}
        assert d.spec.replicas == 9
        assert env == {"DATABASE_URL": "postgresql://dr-db/shop", "LOG_LEVEL": "info"}
    trail = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    succeeded = [r["action"] for r in trail if r["outcome"] == "succeeded"]
    assert succeeded == [
        "eks:update_nodegroup_config",
        "route53:change_resource_record_sets",
        "eks:update_nodegroup_config",
        "kubernetes:patch_namespaced_deployment_scale",
        "kubernetes:patch_namespaced_deployment_scale",
        "rds:promote_read_replica",
        "kubernetes:patch_namespaced_deployment",
        "kubernetes:patch_namespaced_deployment",
    ]
    assert "hunter2" not in (tmp_path / "audit.jsonl").read_text()


def test_backups_snapshot_copy_restore_and_pitr(platform: AwsProfile) -> None:
    target = AwsTarget(platform, "aws-test", confirm=True)
    target.snapshot("pre-migration")
    target.copy_snapshot("pre-migration", "dr")
    target.restore_snapshot("pre-migration", "restored-from-dr", region="dr")
    target.restore_to_point_in_time(datetime.now(UTC), "restored-pitr")

    east = boto3.client("rds", region_name="us-east-1", endpoint_url=platform.endpoint_url)
    west = boto3.client("rds", region_name="us-west-2", endpoint_url=platform.endpoint_url)
    assert "pre-migration" in [s.name for s in target.list_snapshots("primary")]
    assert "pre-migration" in [
        s["DBSnapshotIdentifier"] for s in west.describe_db_snapshots()["DBSnapshots"]
    ]
    assert west.describe_db_instances(DBInstanceIdentifier="restored-from-dr")["DBInstances"]
    assert east.describe_db_instances(DBInstanceIdentifier="restored-pitr")["DBInstances"]


def test_object_versions_are_listed_and_an_older_one_restored(platform: AwsProfile) -> None:
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=platform.endpoint_url)
    bucket = f"orders-{platform.dns.hosted_zone_id.lower()}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="orders/1.json", Body=b'{"qty": 1}')["VersionId"]
    s3.put_object(Bucket=bucket, Key="orders/1.json", Body=b'{"qty": 0, "corrupted": true}')
    target = AwsTarget(platform, "aws-test", confirm=True)

    versions = target.list_object_versions(bucket, "orders/")
    target.restore_object_version(bucket, "orders/1.json", first)

    assert len(versions) == 2
    assert s3.get_object(Bucket=bucket, Key="orders/1.json")["Body"].read() == b'{"qty": 1}'


def test_a_wrong_account_is_refused_and_nothing_is_mutated(
    platform: AwsProfile, tmp_path: Path
) -> None:
    other = platform.model_copy(update={"allowed_account_ids": ("999999999999",)})
    audit = AuditTrail(tmp_path / "audit.jsonl")
    target = AwsTarget(other, "aws-prod", confirm=True, audit=audit)

    with pytest.raises(SafetyError, match=r"123456789012 is not in targets\.aws-prod"):
        target.fail_over_dns("dr")

    assert records(platform)["PRIMARY"] == "primary-alb.example.com"
    assert [r["outcome"] for r in audit.records()] == ["refused"]


def test_without_confirm_nothing_is_mutated(platform: AwsProfile, tmp_path: Path) -> None:
    config_file = tmp_path / "drdrill.yaml"
    config_file.write_text(
        yaml.safe_dump({"targets": {"aws-test": json.loads(platform.model_dump_json())}})
    )
    config = load_config(config_file)

    with pytest.raises(SafetyError, match="--confirm"):
        open_target(config, "aws-test")
    with pytest.raises(SafetyError, match="needs --confirm"):
        AwsTarget(platform, "aws-test").promote_database("dr")
    assert nodegroup_desired(platform, "primary") == 9


def test_an_unknown_resource_is_named_in_the_error(platform: AwsProfile) -> None:
    dr = platform.regions["dr"].model_copy(update={"nodegroup": "no-such-nodegroup"})  # type: ignore[index]
    broken = platform.model_copy(update={"regions": {**platform.regions, "dr": dr}})
    with pytest.raises(TargetError, match="no-such-nodegroup") as caught:
        AwsTarget(broken, "aws-test", confirm=True).scale_region("dr", 9)
    assert caught.value.region == "us-west-2"
    assert nodegroup_desired(platform, "dr") == 3


class _Throttling(http.server.BaseHTTPRequestHandler):
    calls = 0

    def do_POST(self) -> None:
        _Throttling.calls += 1
        body = (
            b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
            b"<Message>Rate exceeded</Message></Error></ErrorResponse>"
        )
        self.send_response(400)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def throttling_endpoint() -> Iterator[str]:
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 29100), _Throttling)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:29100"
    server.shutdown()
    server.server_close()


def test_throttling_is_retried_then_a_clear_error(
    platform: AwsProfile, throttling_endpoint: str
) -> None:
    """An endpoint that always answers Throttling: botocore's adaptive retries try
    max_attempts times, then the error names the call. (It proves the retry budget and
    the message, not AWS's real throttling behaviour.)"""
    target = AwsTarget(platform, "aws-test", confirm=True)
    target.guard._account_checked = True  # the STS check is covered above; this is about RDS
    target.clients = type(target.clients)(
        platform.model_copy(update={"endpoint_url": throttling_endpoint})
    )
    _Throttling.calls = 0

    with pytest.raises(TargetError, match="Throttling"):
        target.promote_database("dr")
    assert _Throttling.calls == platform.max_attempts


def test_plan_prints_every_call_and_mutates_nothing(platform: AwsProfile, tmp_path: Path) -> None:
    config_file = tmp_path / "drdrill.yaml"
    config_file.write_text(
        yaml.safe_dump({"targets": {"aws-test": json.loads(platform.model_dump_json())}})
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "drdrill",
            "--drill-config",
            str(config_file),
            "plan",
            "full",
            "--target",
            "aws-test",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "route53 change_resource_record_sets [global]" in out
    assert "eks update_nodegroup_config [us-west-2]" in out
    assert "rds promote_read_replica [us-west-2] DBInstanceIdentifier=" in out
    assert out.count("kubernetes patch_namespaced_deployment ") == 2
    assert records(platform)["PRIMARY"] == "primary-alb.example.com"
    assert nodegroup_desired(platform, "dr") == 3
