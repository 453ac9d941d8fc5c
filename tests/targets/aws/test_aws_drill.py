"""The DR activation experiment, phase by phase, on the aws target (moto + kmock).

The same experiment file the lab drill runs, through the same Chaos Toolkit runner
and timeline control, against moto in server mode and kmock emulators over HTTP; the
test plays the Kubernetes controller (it fills deployment status). The application
behind the global endpoint is a stand-in HTTP shop (the emulated EKS runs no pods).
What this cannot prove: any phase timing (moto and kmock time nothing; the durations
in the timeline are not AWS timings), that the promotion completes, DNS answers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drdrill.chaos import runner
from drdrill.chaos.context import ChaosContext
from drdrill.config import DrillConfig
from drdrill.measurement.phases import ACTIVATION_PHASES
from drdrill.orchestration.drill import EXPERIMENTS
from drdrill.records.audit import AuditTrail
from drdrill.records.timeline import PHASE_END, Timeline
from drdrill.targets.aws import AwsTarget
from drdrill.targets.aws.profile import AwsProfile

from .conftest import Controller, Emulators, client, make_platform

pytestmark = pytest.mark.aws


def test_the_activation_experiment_runs_every_phase_on_aws(
    moto_url: str, kube: Emulators, shop: str, tmp_path: Path
) -> None:
    base = make_platform(kube.kubeconfig, "drill")
    # the failed region's load balancer is a closed port; dr's and the global one the shop
    regions = {
        "primary": base.regions["primary"].model_copy(update={"endpoint": "http://127.0.0.1:9"}),
        "dr": base.regions["dr"].model_copy(update={"endpoint": shop}),
    }
    profile: AwsProfile = base.model_copy(update={"global_endpoint": shop, "regions": regions})
    audit = AuditTrail(tmp_path / "audit.jsonl")
    target = AwsTarget(profile, "aws-test", confirm=True, audit=audit)
    timeline = Timeline(tmp_path / "timeline.jsonl")

    with Controller(kube.kubeconfig):
        journal = runner.run(
            EXPERIMENTS / "dr-activation.json",
            ChaosContext(target, DrillConfig(), timeline),
            journal_path=tmp_path / "journal.json",
        )

    assert journal["status"] == "completed", json.dumps(journal["run"], default=str)[:2000]
    assert [r["status"] for r in journal["run"]] == ["succeeded"] * 6
    ended = [(e.name, e.detail["ok"]) for e in timeline.events(PHASE_END)]
    assert ended == [(p.name, True) for p in ACTIVATION_PHASES]
    sets = client("route53").list_resource_record_sets(HostedZoneId=profile.dns.hosted_zone_id)
    primary = [r for r in sets["ResourceRecordSets"] if r.get("Failover") == "PRIMARY"]
    assert primary[0]["ResourceRecords"][0]["Value"] == "dr-alb.example.com"
    actions = [r["action"] for r in audit.records() if r["outcome"] == "succeeded"]
    assert "rds:promote_read_replica" in actions
    assert actions.count("kubernetes:patch_namespaced_deployment") == 2
    # the experiment names no replica count: dr scales to the profile's serving size,
    # not to the lab's dr_scaled_workers
    scaled = [
        r["parameters"]["body"]["spec"]["replicas"]
        for r in audit.records()
        if r["action"] == "kubernetes:patch_namespaced_deployment_scale"
        and r["outcome"] == "succeeded"
    ]
    assert scaled and set(scaled) == {profile.regions["dr"].replicas}
