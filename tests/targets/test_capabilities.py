"""Optional target capabilities: checked with isinstance, a missing one named in the skip."""

from __future__ import annotations

import pytest

from drdrill.config import DrillConfig
from drdrill.errors import CapabilityMissing
from drdrill.targets.base import (
    BackupTarget,
    DataDisasterTarget,
    FailbackTarget,
    ObjectReplicationTarget,
    ObjectStoreTarget,
    ReplicationMonitor,
    RoutingObserver,
    SelfProvisioning,
    Target,
    require,
)
from drdrill.targets.lab_target import LabTarget

CAPABILITIES = (
    BackupTarget,
    DataDisasterTarget,
    FailbackTarget,
    ObjectReplicationTarget,
    ObjectStoreTarget,
    ReplicationMonitor,
    RoutingObserver,
    SelfProvisioning,
)


def test_the_lab_target_has_every_capability() -> None:
    target = LabTarget.from_config(DrillConfig())
    assert isinstance(target, Target)
    for capability in CAPABILITIES:
        assert require(target, capability, "anything") is target


def test_a_missing_capability_names_the_target_and_what_it_cannot_do() -> None:
    from drdrill.targets.aws import AwsTarget

    assert not issubclass(AwsTarget, DataDisasterTarget)  # no ransomware button on AWS
    assert issubclass(AwsTarget, FailbackTarget)  # the plan's failback through boto3

    class Bare:
        name = "bare"

    with pytest.raises(CapabilityMissing, match=r"'bare' cannot simulate ransomware"):
        require(Bare(), DataDisasterTarget, "simulate ransomware")  # type: ignore[arg-type]
