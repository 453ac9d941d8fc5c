"""What the audit trail says was sent is what boto3 sent (moto server, kmock emulators).

botocore's ``before-parameter-build`` event hands each handler the parameters of the
call as the client received them: the test records them there, on the target's own
clients, and compares them with the trail's ``started`` / ``succeeded`` / ``failed``
records (datetimes as ISO 8601, secrets redacted — nothing else may differ).
"""

from __future__ import annotations

import copy
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore import xform_name

from drdrill.errors import TargetError
from drdrill.records.audit import AuditTrail, as_json
from drdrill.support.redaction import redact
from drdrill.targets.aws import AwsTarget
from drdrill.targets.aws.profile import AwsProfile

from .conftest import Controller, Emulators, ReplicaLag, apps, make_platform

pytestmark = pytest.mark.aws
_suffix = itertools.count()


@pytest.fixture
def platform(moto_url: str, kube: Emulators) -> AwsProfile:
    return make_platform(kube.kubeconfig, f"audited{next(_suffix)}")


class Sent:
    """Every call's parameters as the target's boto3 clients received them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def watch(self, target: AwsTarget, service: str, region: str) -> None:
        events = target.clients.aws(service, region).meta.events
        events.register(f"before-parameter-build.{service}", self._record)

    def _record(self, params: dict[str, Any], model: Any, **kwargs: Any) -> None:
        action = f"{model.service_model.service_name}:{xform_name(model.name)}"
        self.calls.append((action, copy.deepcopy(params)))

    def of(self, action: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == action]


def audited(trail: AuditTrail, action: str, outcome: str) -> list[dict[str, Any]]:
    return [
        r["parameters"]
        for r in trail.records()
        if r["action"] == action and r["outcome"] == outcome
    ]


def test_every_audited_mutation_has_exactly_the_parameters_sent(
    platform: AwsProfile, tmp_path: Path
) -> None:
    trail = AuditTrail(tmp_path / "audit.jsonl", who="ops@host")
    target = AwsTarget(platform, "aws-test", confirm=True, audit=trail)
    primary, dr = platform.regions["primary"].name, platform.regions["dr"].name
    sent = Sent()
    for service, region in (("rds", primary), ("rds", dr), ("eks", dr), ("route53", "us-east-1")):
        sent.watch(target, service, region)
    when = datetime.now(UTC) - timedelta(minutes=5)

    target.fail_over_dns("dr")
    target.compute.scale_nodegroup(platform.regions["dr"], platform.regions["dr"].scaling)
    target.promote_database("dr")
    target.snapshot("before-audit")
    target.copy_snapshot("before-audit", "dr")
    target.restore_to_point_in_time(when, "audited-pitr")

    mutations = [
        "route53:change_resource_record_sets",
        "eks:update_nodegroup_config",
        "rds:promote_read_replica",
        "rds:create_db_snapshot",
        "rds:copy_db_snapshot",
        "rds:restore_db_instance_to_point_in_time",
    ]
    for action in mutations:
        (params,) = sent.of(action)
        assert audited(trail, action, "started") == [redact(as_json(params))], action
        assert audited(trail, action, "succeeded") == [redact(as_json(params))], action
    (pitr,) = sent.of("rds:restore_db_instance_to_point_in_time")
    assert pitr["RestoreTime"] == when  # boto3 got the datetime ...
    (started,) = audited(trail, "rds:restore_db_instance_to_point_in_time", "started")
    assert started["RestoreTime"] == when.isoformat()  # ... the trail reads it in ISO 8601
    assert pitr["TargetDBInstanceIdentifier"] == started["TargetDBInstanceIdentifier"]


def test_every_failback_mutation_is_audited_with_the_parameters_sent(
    platform: AwsProfile, tmp_path: Path
) -> None:
    trail = AuditTrail(tmp_path / "audit.jsonl")
    target = AwsTarget(platform, "aws-test", confirm=True, audit=trail)
    primary, dr = platform.regions["primary"], platform.regions["dr"]
    sent = Sent()
    for service, region in (("rds", primary.name), ("rds", dr.name), ("route53", "us-east-1")):
        sent.watch(target, service, region)
    new_primary = f"{primary.rds_instance}-new"

    with (
        Controller(platform.kubeconfig),  # type: ignore[arg-type]
        ReplicaLag([(primary.name, new_primary)]),
    ):
        target.promote_database("dr")
        target.repoint_applications("dr", "dr")
        target.rebuild_database("primary")
        target.shift_traffic("primary", 10)
        target.shift_traffic("primary", 100)
        target.switchover("primary")

    for action, count in (
        ("rds:create_db_instance_read_replica", 2),  # the new primary, then DR's replica
        ("route53:change_resource_record_sets", 2),
        ("rds:modify_db_parameter_group", 1),
        ("rds:promote_read_replica", 2),  # the activation's, then the new primary's
    ):
        expected = [redact(as_json(params)) for params in sent.of(action)]
        assert len(expected) == count, action
        assert audited(trail, action, "started") == expected, action
        assert audited(trail, action, "succeeded") == expected, action
    created = audited(trail, "rds:create_db_instance_read_replica", "started")
    assert [c["SourceRegion"] for c in created] == [dr.name, primary.name]


def test_a_failed_call_is_audited_with_what_was_sent_and_wrapped_once(
    platform: AwsProfile, tmp_path: Path
) -> None:
    trail = AuditTrail(None, who="ops@host")
    side = platform.regions["dr"].model_copy(update={"nodegroup": "no-such-nodegroup"})
    broken = platform.model_copy(update={"regions": {**platform.regions, "dr": side}})
    target = AwsTarget(broken, "aws-test", confirm=True, audit=trail)
    sent = Sent()
    sent.watch(target, "eks", side.name)

    with pytest.raises(TargetError, match="no-such-nodegroup") as caught:
        target.compute.scale_nodegroup(side, side.scaling)

    (params,) = sent.of("eks:update_nodegroup_config")
    assert audited(trail, "eks:update_nodegroup_config", "failed") == [as_json(params)]
    assert caught.value.region == side.name
    assert caught.value.resource == f"{side.eks_cluster}/no-such-nodegroup"
    assert type(caught.value.__cause__).__module__.startswith("botocore")


def test_a_kubernetes_patch_is_audited_as_sent_without_the_password(
    platform: AwsProfile, tmp_path: Path
) -> None:
    trail = AuditTrail(tmp_path / "audit.jsonl", who="ops@host")
    target = AwsTarget(platform, "aws-test", confirm=True, audit=trail)

    with Controller(platform.kubeconfig):  # type: ignore[arg-type]
        target.repoint_applications("dr", "dr")

    api = apps(platform.kubeconfig, "dr")  # type: ignore[arg-type]
    for deployment in platform.regions["dr"].deployments:
        now = api.read_namespaced_deployment(deployment, "production")
        containers = api.api_client.sanitize_for_serialization(now.spec.template.spec.containers)
        (params,) = [
            p
            for p in audited(trail, "kubernetes:patch_namespaced_deployment", "succeeded")
            if p["name"] == deployment
        ]
        assert params["namespace"] == "production"
        assert params["body"]["spec"]["template"]["spec"]["containers"] == redact(containers)
    text = (tmp_path / "audit.jsonl").read_text()
    assert "postgresql://app:***@dr-db:5432/shop" in text
    assert ":pw@" not in text
