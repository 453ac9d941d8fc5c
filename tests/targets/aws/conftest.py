"""The AWS seam: moto in server mode over HTTP, and a Kubernetes API emulator (kmock) per
region over HTTP, which this suite drives as the controller (it fills deployment status).

What these doubles cannot prove: moto records state and times nothing (a promotion's
status never changes, nothing replicates, Route 53 answers no DNS query); kmock runs
no controllers, so readiness here is what the test's controller thread says it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import kmock
import pytest
import yaml
from kubernetes.client.exceptions import ApiException
from moto.server import ThreadedMotoServer

from drdrill.targets.aws.profile import AwsProfile

MOTO_PORT = 29000
KUBE_PORTS = {"primary": 29501, "dr": 29502}
ACCOUNT = "123456789012"  # moto's account id
DEPLOYMENTS = ("order-service", "product-service")


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=MOTO_PORT, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{MOTO_PORT}"
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


class Emulators:
    """One kmock Kubernetes API per region, each on its own thread and event loop."""

    def __init__(self, kubeconfig: Path) -> None:
        self.kubeconfig = kubeconfig
        self._stops: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for region, port in KUBE_PORTS.items():
            ready = threading.Event()
            thread = threading.Thread(target=self._serve, args=(port, ready), daemon=True)
            thread.start()
            assert ready.wait(15), f"kube emulator for {region} did not start"
            self._threads.append(thread)
        clusters = [
            {"name": r, "cluster": {"server": f"http://127.0.0.1:{p}"}}
            for r, p in KUBE_PORTS.items()
        ]
        contexts = [
            {"name": f"ctx-{r}", "context": {"cluster": r, "user": "u"}} for r in KUBE_PORTS
        ]
        self.kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": clusters,
                    "contexts": contexts,
                    "users": [{"name": "u", "user": {"token": "test"}}],
                    "current-context": "ctx-primary",
                }
            )
        )

    def _serve(self, port: int, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)

        async def main() -> None:
            stop = asyncio.Event()
            async with kmock.KubernetesEmulator() as emu, kmock.Server(emu, port=port):
                emu.resources.load_bundled()
                self._stops.append((loop, stop))
                ready.set()
                await stop.wait()

        loop.run_until_complete(main())

    def stop(self) -> None:
        # kmock patches aiohttp's resolver per emulator: unwind in reverse order, one by one
        for (loop, stop), thread in reversed(list(zip(self._stops, self._threads, strict=True))):
            loop.call_soon_threadsafe(stop.set)
            thread.join(5)


@pytest.fixture(scope="session")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulators]:
    emulators = Emulators(tmp_path_factory.mktemp("kube") / "kubeconfig.yaml")
    emulators.start()
    yield emulators
    emulators.stop()


def apps(kubeconfig: Path, region: str) -> Any:
    from kubernetes import client, config

    return client.AppsV1Api(
        config.new_client_from_config(config_file=str(kubeconfig), context=f"ctx-{region}")
    )


class Controller:
    """Plays the Kubernetes controller the emulator lacks: every deployment becomes ready
    with its spec's replicas, a little later."""

    def __init__(self, kubeconfig: Path) -> None:
        self.kubeconfig = kubeconfig
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Controller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        clients = {r: apps(self.kubeconfig, r) for r in KUBE_PORTS}
        while not self._stop.wait(0.2):
            for api in clients.values():
                for d in api.list_namespaced_deployment("production").items:
                    want = d.spec.replicas or 0
                    if d.status is None or (d.status.ready_replicas or 0) != want:
                        api.patch_namespaced_deployment_status(
                            d.metadata.name,
                            "production",
                            {
                                "metadata": {"namespace": "production"},
                                "status": {
                                    "replicas": want,
                                    "readyReplicas": want,
                                    "updatedReplicas": want,
                                    "observedGeneration": d.metadata.generation or 0,
                                },
                            },
                        )


def make_platform(moto: str, kubeconfig: Path, suffix: str) -> AwsProfile:
    """Create the plan's platform in moto + the emulators; its AWS profile."""
    r53 = boto3.client("route53", region_name="us-east-1", endpoint_url=moto)
    zone = r53.create_hosted_zone(Name=f"shop-{suffix}.example.com", CallerReference=suffix)
    zone_id = zone["HostedZone"]["Id"].split("/")[-1]
    record = f"www.shop-{suffix}.example.com"
    for role, value in (
        ("PRIMARY", "primary-alb.example.com"),
        ("SECONDARY", "dr-alb.example.com"),
    ):
        r53.change_resource_record_sets(
            HostedZoneId=zone_id,
            ChangeBatch={
                "Changes": [
                    {
                        "Action": "UPSERT",
                        "ResourceRecordSet": {
                            "Name": record,
                            "Type": "CNAME",
                            "SetIdentifier": role.title(),
                            "Failover": role,
                            "TTL": 60,
                            "ResourceRecords": [{"Value": value}],
                        },
                    }
                ]
            },
        )
    regions: dict[str, Any] = {}
    for region, aws_region in (("primary", "us-east-1"), ("dr", "us-west-2")):
        eks = boto3.client("eks", region_name=aws_region, endpoint_url=moto)
        cluster = f"shop-{suffix}-{region}"
        eks.create_cluster(
            name=cluster,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/eks",
            resourcesVpcConfig={"subnetIds": ["subnet-1"]},
        )
        eks.create_nodegroup(
            clusterName=cluster,
            nodegroupName="application-nodes",
            scalingConfig={
                "minSize": 3,
                "maxSize": 30,
                "desiredSize": 9 if region == "primary" else 3,
            },
            subnets=["subnet-1"],
            nodeRole=f"arn:aws:iam::{ACCOUNT}:role/node",
        )
        rds = boto3.client("rds", region_name=aws_region, endpoint_url=moto)
        db = f"shop-{suffix}-{region}"
        if region == "primary":
            rds.create_db_instance(
                DBInstanceIdentifier=db,
                DBInstanceClass="db.t3.micro",
                Engine="postgres",
                MasterUsername="admin",
                MasterUserPassword="hunter2-secret",
                AllocatedStorage=20,
                BackupRetentionPeriod=7,
            )
            source_arn = rds.describe_db_instances(DBInstanceIdentifier=db)["DBInstances"][0][
                "DBInstanceArn"
            ]
        else:
            rds.create_db_instance_read_replica(
                DBInstanceIdentifier=db, SourceDBInstanceIdentifier=source_arn
            )
        api = apps(kubeconfig, region)
        for name in DEPLOYMENTS:
            body = {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": "production"},
                "spec": {
                    "replicas": 3,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {
                        "metadata": {"labels": {"app": name}},
                        "spec": {
                            "containers": [
                                {
                                    "name": "app",
                                    "image": f"{name}:1",
                                    "env": [
                                        {
                                            "name": "DATABASE_URL",
                                            "value": "postgresql://primary-db/shop",
                                        },
                                        {"name": "LOG_LEVEL", "value": "info"},
                                    ],
                                }
                            ]
                        },
                    },
                },
            }
            with contextlib.suppress(ApiException):
                api.delete_namespaced_deployment(name, "production")
            api.create_namespaced_deployment("production", body)
        regions[region] = {
            "name": aws_region,
            "eks_cluster": cluster,
            "nodegroup": "application-nodes",
            "scaling": {"min_size": 9, "max_size": 30, "desired_size": 9},
            "standby_scaling": {"min_size": 3, "max_size": 30, "desired_size": 3},
            "kube_context": f"ctx-{region}",
            "deployments": list(DEPLOYMENTS),
            "replicas": 9,
            "rds_instance": db,
            "database_url": f"postgresql://{region}-db/shop",
        }
    return AwsProfile.model_validate(
        {
            "kind": "aws",
            "allowed_account_ids": [ACCOUNT],
            "global_endpoint": "http://127.0.0.1:9",
            "dns": {
                "hosted_zone_id": zone_id,
                "record_name": record,
                "primary_target": "primary-alb.example.com",
                "dr_target": "dr-alb.example.com",
            },
            "regions": regions,
            "kubeconfig": str(kubeconfig),
            "endpoint_url": moto,
            "waiter_timeout_s": 15,
            "max_attempts": 2,
        }
    )
