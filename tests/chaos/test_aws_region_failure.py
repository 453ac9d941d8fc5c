"""``experiments/aws-region-failure.json`` run by plain ``chaos run`` (and once by
drdrill's runner, in-process) against moto's FIS.

The experiment is chaostoolkit-aws's activities; ``AWS_ENDPOINT_URL`` sends its
clients to a moto server (over HTTP, fake credentials), the way a user sends them to
a staging endpoint. The test creates the FIS template, the Route 53 health checks and
two cluster nodes in moto, and plays FIS itself: once the experiment exists it stops
the nodes, as the template's ``aws:ec2:stop-instances`` action would.

What this proves: the experiment starts an experiment from the configured template,
tagged with its run; its rollbacks stop exactly that experiment (moto: ``stopped``)
and start the nodes left stopped, after a normal run and after Ctrl-C or SIGTERM in
the middle of the fault; without confirmation or in an account not allowed, nothing
starts and no rollback runs. What moto cannot prove: it injects nothing and times
nothing (its experiment only moves a step per ``get_experiment``), its health checks
always report Success, and it has no ``TestDNSAnswer`` (the probe of Route 53's
answer fails here, which Chaos Toolkit records without failing the run).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.ports import port_block

pytestmark = pytest.mark.aws

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = ROOT / "experiments" / "aws-region-failure.json"
CHAOS = Path(sys.executable).parent / "chaos"
MOTO_PORT = port_block()
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=MOTO_PORT, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{MOTO_PORT}"
    server.stop()


class Platform:
    """One region of the plan in moto: two cluster nodes, a health check per region,
    and the FIS template that fails the region."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.cluster = f"shop-{name}"
        ec2 = self.client("ec2")
        reservation = ec2.run_instances(
            ImageId="ami-12c6146b",
            MinCount=2,
            MaxCount=2,
            TagSpecifications=[
                {
                    "ResourceType": "instance",
                    "Tags": [{"Key": "eks:cluster-name", "Value": self.cluster}],
                }
            ],
        )
        self.nodes = [i["InstanceId"] for i in reservation["Instances"]]
        r53 = self.client("route53")
        self.checks = {
            side: r53.create_health_check(
                CallerReference=f"{name}-{side}",
                HealthCheckConfig={
                    "Type": "HTTPS",
                    "FullyQualifiedDomainName": f"{side}-alb.example.com",
                    "ResourcePath": "/health",
                },
            )["HealthCheck"]["Id"]
            for side in ("primary", "dr")
        }
        self.template = self.client("fis").create_experiment_template(
            clientToken=name,
            description="the primary region's nodes lose power",
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/fis",
            stopConditions=[{"source": "none"}],
            actions={
                "stop": {
                    "actionId": "aws:ec2:stop-instances",
                    "parameters": {"startInstancesAfterDuration": "PT30M"},
                    "targets": {"Instances": "nodes"},
                }
            },
            targets={
                "nodes": {
                    "resourceType": "aws:ec2:instance",
                    "resourceTags": {"eks:cluster-name": self.cluster},
                    "selectionMode": "ALL",
                }
            },
        )["experimentTemplate"]["id"]

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def experiments(self) -> list[dict[str, Any]]:
        """The experiments started from this platform's template."""
        found = self.client("fis").list_experiments()["experiments"]
        return [e for e in found if e["experimentTemplateId"] == self.template]

    def status(self, experiment: str) -> str:
        return str(
            self.client("fis").get_experiment(id=experiment)["experiment"]["state"]["status"]
        )

    def node_states(self) -> list[str]:
        reservations = self.client("ec2").describe_instances(InstanceIds=self.nodes)
        return sorted(
            i["State"]["Name"] for r in reservations["Reservations"] for i in r["Instances"]
        )

    def play_fis(self, timeout_s: float = 60.0) -> dict[str, Any]:
        """Wait for the experiment to be started, then do what its action would: stop the nodes."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            started = self.experiments()
            if started:
                self.client("ec2").stop_instances(InstanceIds=self.nodes)
                return started[0]
            time.sleep(0.1)
        raise AssertionError(f"no FIS experiment from template {self.template} in {timeout_s}s")

    def env(self, *, fault_duration_s: float, **overrides: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DRDRILL_"))}
        env.update(CREDENTIALS)
        env.update(
            {
                "AWS_ENDPOINT_URL": self.url,
                "AWS_REGION": REGION,
                "DRDRILL_FIS_TEMPLATE_ID": self.template,
                "DRDRILL_EKS_CLUSTER": self.cluster,
                "DRDRILL_PRIMARY_HEALTH_CHECK_ID": self.checks["primary"],
                "DRDRILL_DR_HEALTH_CHECK_ID": self.checks["dr"],
                "DRDRILL_FAULT_DURATION_S": str(fault_duration_s),
                "DRDRILL_ALLOWED_ACCOUNT_IDS": ACCOUNT,
                "DRDRILL_CONFIRM": "true",
            }
        )
        env.update(overrides)
        return env


def _ctrl_c_as_on_a_terminal() -> None:
    """In the child: SIGINT does what it does under a terminal, even when this test
    session was started in the background (where a shell makes its jobs ignore SIGINT,
    and an ignored signal stays ignored across exec)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def chaos_run(env: dict[str, str], journal: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(CHAOS), "--no-log-file", "run", "--journal-path", str(journal), str(EXPERIMENT)],
        env=env,
        cwd=journal.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_ctrl_c_as_on_a_terminal,
    )


def finished(process: subprocess.Popen[str], journal: Path) -> dict[str, Any]:
    output, _ = process.communicate(timeout=120)
    assert journal.exists(), output
    result: dict[str, Any] = json.loads(journal.read_text())
    result["_output"] = output
    return result


def rollbacks(journal: dict[str, Any]) -> dict[str, str]:
    return {r["activity"]["name"]: r["status"] for r in journal.get("rollbacks", [])}


def test_the_run_starts_the_templates_experiment_and_its_rollback_stops_it(
    moto_url: str, tmp_path: Path
) -> None:
    platform = Platform(moto_url, "complete")
    journal_path = tmp_path / "journal.json"
    process = chaos_run(platform.env(fault_duration_s=2), journal_path)
    experiment = platform.play_fis()
    nodes_during = platform.node_states()
    journal = finished(process, journal_path)

    assert journal["status"] == "completed", journal["_output"]
    assert nodes_during == ["stopped", "stopped"]
    assert experiment["tags"]["drdrill-experiment"] == "aws-region-failure"
    assert [e["id"] for e in platform.experiments()] == [experiment["id"]]
    assert rollbacks(journal) == {
        "stop-this-runs-fis-experiments": "succeeded",
        "start-cluster-nodes-left-stopped": "succeeded",
    }
    assert platform.status(experiment["id"]) == "stopped"
    assert "stopped" not in platform.node_states()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_still_stops_the_experiment_and_starts_the_nodes(
    moto_url: str, tmp_path: Path, signum: signal.Signals
) -> None:
    platform = Platform(moto_url, f"interrupted-{signum.name}")
    journal_path = tmp_path / "journal.json"
    process = chaos_run(platform.env(fault_duration_s=600), journal_path)
    experiment = platform.play_fis()
    time.sleep(0.5)  # inside the fault's hold
    process.send_signal(signum)
    journal = finished(process, journal_path)

    assert journal["status"] == "interrupted", journal["_output"]
    assert process.returncode != 0
    assert rollbacks(journal) == {
        "stop-this-runs-fis-experiments": "succeeded",
        "start-cluster-nodes-left-stopped": "succeeded",
    }
    assert platform.status(experiment["id"]) == "stopped"
    assert "stopped" not in platform.node_states()


def test_drdrills_runner_plays_it_as_chaos_run_does(
    moto_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process, through ``drdrill.chaos.runner`` (the drill's way): the same fault
    and rollbacks, the strategies read from the experiment's ``runtime`` block."""
    from drdrill.chaos.context import ChaosContext
    from drdrill.chaos.runner import run
    from drdrill.config import DrillConfig

    platform = Platform(moto_url, "runner")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for key, value in platform.env(fault_duration_s=1).items():
        if key.startswith(("AWS_", "DRDRILL_")):
            monkeypatch.setenv(key, value)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # chaostoolkit-aws sets it up
    played: dict[str, Any] = {}
    fis = threading.Thread(target=lambda: played.update(platform.play_fis()))
    fis.start()
    journal = run(EXPERIMENT, ChaosContext(target=None, config=DrillConfig()))  # type: ignore[arg-type]
    fis.join(10)

    assert journal["status"] == "completed"
    assert rollbacks(journal) == {
        "stop-this-runs-fis-experiments": "succeeded",
        "start-cluster-nodes-left-stopped": "succeeded",
    }
    assert platform.status(played["id"]) == "stopped"
    assert "stopped" not in platform.node_states()


def test_without_a_rollback_the_experiment_would_not_be_stopped(
    moto_url: str, tmp_path: Path
) -> None:
    """The discriminating check of the two tests above: an experiment nobody stops is
    never ``stopped`` in moto (it moves on towards ``completed``)."""
    platform = Platform(moto_url, "unstopped")
    started = platform.client("fis").start_experiment(experimentTemplateId=platform.template)
    experiment = started["experiment"]["id"]

    assert [platform.status(experiment) for _ in range(4)][-1] != "stopped"


@pytest.mark.parametrize(
    "overrides",
    [{"DRDRILL_CONFIRM": "false"}, {"DRDRILL_ALLOWED_ACCOUNT_IDS": "999999999999"}],
    ids=["not-confirmed", "account-not-allowed"],
)
def test_unconfirmed_or_another_account_starts_nothing_and_runs_no_rollback(
    moto_url: str, tmp_path: Path, overrides: dict[str, str]
) -> None:
    platform = Platform(moto_url, f"refused-{next(iter(overrides.values()))}")
    platform.client("ec2").stop_instances(InstanceIds=platform.nodes[:1])
    journal_path = tmp_path / "journal.json"
    journal = finished(
        chaos_run(platform.env(fault_duration_s=0, **overrides), journal_path), journal_path
    )

    assert journal["status"] == "interrupted", journal["_output"]
    assert "refusing to touch AWS" in journal["_output"]
    assert journal.get("run", []) == []
    assert rollbacks(journal) == {}
    assert platform.experiments() == []
    assert platform.node_states() == ["running", "stopped"]  # the rollback would have started it


def _observations(ok: int, total: int) -> dict[str, Any]:
    status = ["Success: HTTP Status Code 200, OK"] * ok + ["Failure: Connection timed out"] * (
        total - ok
    )
    return {"HealthCheckObservations": [{"StatusReport": {"Status": s}} for s in status]}


def test_route53s_rule_healthy_when_more_than_18_percent_of_checkers_see_success() -> None:
    from drdrill.chaos.aws import health_check_healthy

    assert health_check_healthy(_observations(2, 10))
    assert health_check_healthy(_observations(16, 16))
    assert not health_check_healthy(_observations(1, 10))
    assert not health_check_healthy(_observations(0, 16))
    assert not health_check_healthy({"HealthCheckObservations": []})
    assert not health_check_healthy(None)


def test_the_interlock_called_outside_a_run_refuses_without_ending_the_process() -> None:
    from chaoslib.exceptions import ActivityFailed

    from drdrill.chaos.aws import account_allowed

    with pytest.raises(ActivityFailed, match="not confirmed"):
        account_allowed(ACCOUNT, confirm="no")
    with pytest.raises(ActivityFailed, match="no allowed account"):
        account_allowed(" , ", confirm="true")
