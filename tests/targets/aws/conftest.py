"""The AWS seam: moto in server mode over HTTP (``AWS_ENDPOINT_URL`` points at it, fake
credentials), and a kmock Kubernetes API emulator per region over HTTP (own thread and
event loop, ``load_bundled``), which this suite drives as the controller: it fills
deployment status itself. Ports 23000-23999 only: below the kernel's ephemeral range
(32768+), where any client socket could take them.

What these doubles cannot prove: moto records state and times nothing (a promotion's
status never changes, nothing replicates, Route 53 answers no DNS query, health checks
always report Success, CloudWatch holds only the metrics a test puts there);
kmock runs no controllers and sets no generation, so readiness and rollouts here
are what the test's controller thread says they are.

``DRDRILL_TEST_AWS_PORT`` moves the whole block (moto, the throttling server, the
stand-in shop, the emulators: base .. base+32) so that two checkouts can run these
tests side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

import boto3
import kmock
import pytest
import yaml
from kubernetes.client.exceptions import ApiException
from moto.server import ThreadedMotoServer

from drdrill.targets.aws.profile import AwsProfile
from tests.ports import port_block

_BASE_PORT = port_block()
MOTO_PORT = _BASE_PORT
KUBE_PORTS = {"primary": _BASE_PORT + 31, "dr": _BASE_PORT + 32}
SHOP_PORT = _BASE_PORT + 20
THROTTLING_PORT = _BASE_PORT + 10
ACCOUNT = "123456789012"  # moto's account id
DEPLOYMENTS = ("order-service", "product-service")


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    url = f"http://127.0.0.1:{MOTO_PORT}"
    fake = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_ENDPOINT_URL": url,
    }
    saved = {k: os.environ.get(k) for k in (*fake, "AWS_PROFILE")}
    os.environ.pop("AWS_PROFILE", None)
    os.environ.update(fake)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=MOTO_PORT, verbose=False)
    server.start()
    yield url
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


class _Player:
    """A part of the platform the emulators lack, played every 0.2 s in a thread while
    the ``with`` block runs (``tick``)."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.tick()

    def tick(self) -> None:
        raise NotImplementedError


class Controller(_Player):
    """Plays the Kubernetes controller the emulator lacks: every deployment becomes ready
    with its spec's replicas, a little later."""

    def __init__(self, kubeconfig: Path) -> None:
        super().__init__()
        self.kubeconfig = kubeconfig
        self._clients: dict[str, Any] = {}

    def tick(self) -> None:
        if not self._clients:
            self._clients = {r: apps(self.kubeconfig, r) for r in KUBE_PORTS}
        for api in self._clients.values():
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


def client(service: str, region: str = "us-east-1") -> Any:
    """A plain boto3 client of the moto server (through ``AWS_ENDPOINT_URL``)."""
    return boto3.client(service, region_name=region)


def make_platform(
    kubeconfig: Path,
    suffix: str,
    *,
    failure_method: str = "scale-nodegroups",
    failback: dict[str, Any] | None = None,
) -> AwsProfile:
    """Create the plan's platform in moto + the emulators; its AWS profile.

    Route 53 zone with failover records and a health check per region, an EKS cluster
    and nodegroup, RDS primary + cross-region read replica (in its own parameter group:
    the failback's fence), a versioned S3 bucket, two EC2 nodes and an FIS template
    per region, and the deployments in kmock. ``failback``: the profile's failback
    settings (default: read-replica, fenced through the DR replica's parameter group).
    """
    r53 = client("route53")
    zone = r53.create_hosted_zone(Name=f"shop-{suffix}.example.com", CallerReference=suffix)
    zone_id = zone["HostedZone"]["Id"].split("/")[-1]
    record = f"www.shop-{suffix}.example.com"
    checks = {}
    for region in ("primary", "dr"):
        checks[region] = r53.create_health_check(
            CallerReference=f"{suffix}-{region}",
            HealthCheckConfig={
                "Type": "HTTPS",
                "FullyQualifiedDomainName": f"{region}-alb.example.com",
                "ResourcePath": "/health",
            },
        )["HealthCheck"]["Id"]
    for role, region in (("PRIMARY", "primary"), ("SECONDARY", "dr")):
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
                            "HealthCheckId": checks[region],
                            "ResourceRecords": [{"Value": f"{region}-alb.example.com"}],
                        },
                    }
                ]
            },
        )
    regions: dict[str, Any] = {}
    source_arn = ""
    fence_group = f"shop-{suffix}-dr-params"
    for region, aws_region in (("primary", "us-east-1"), ("dr", "us-west-2")):
        cluster = f"shop-{suffix}-{region}"
        eks = client("eks", aws_region)
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
        client("ec2", aws_region).run_instances(
            ImageId="ami-12c6146b",
            MinCount=2,
            MaxCount=2,
            TagSpecifications=[
                {
                    "ResourceType": "instance",
                    "Tags": [{"Key": "eks:cluster-name", "Value": cluster}],
                }
            ],
        )
        template = client("fis", aws_region).create_experiment_template(
            clientToken=f"{suffix}-{region}",
            description="AZ power interruption",
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/fis",
            stopConditions=[{"source": "none"}],
            actions={
                "stop": {"actionId": "aws:ec2:stop-instances", "targets": {"Instances": "nodes"}}
            },
            targets={
                "nodes": {
                    "resourceType": "aws:ec2:instance",
                    "resourceTags": {"eks:cluster-name": cluster},
                    "selectionMode": "ALL",
                }
            },
        )["experimentTemplate"]["id"]
        bucket = f"orders-{suffix}-{region}"
        s3 = client("s3", aws_region)
        if aws_region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            location = {"LocationConstraint": aws_region}
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration=location)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        rds = client("rds", aws_region)
        db = f"shop-{suffix}-{region}"
        rds.create_db_parameter_group(
            DBParameterGroupName=f"shop-{suffix}-{region}-new-params",
            DBParameterGroupFamily="postgres16",
            Description="the failback's new instance in this region",
        )
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
            rds.create_db_parameter_group(
                DBParameterGroupName=fence_group,
                DBParameterGroupFamily="postgres16",
                Description="the DR instance's own parameters (the failback's fence)",
            )
            rds.create_db_instance_read_replica(
                DBInstanceIdentifier=db,
                SourceDBInstanceIdentifier=source_arn,
                DBParameterGroupName=fence_group,
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
                                            "value": "postgresql://app:pw@primary-db:5432/shop",
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
            "database_url": f"postgresql://app:pw@{region}-db:5432/shop",
            "s3_buckets": [bucket],
            "fis_template_id": template,
        }
    return AwsProfile.model_validate(
        {
            "kind": "aws",
            "allowed_account_ids": [ACCOUNT],
            "global_endpoint": "http://127.0.0.1:9",
            "dns": {
                "hosted_zone_id": zone_id,
                "record_name": record,
                "targets": {
                    r: {"value": f"{r}-alb.example.com", "health_check_id": checks[r]}
                    for r in ("primary", "dr")
                },
            },
            "regions": regions,
            "failure_method": failure_method,
            "failback": {
                "method": "read-replica",
                "fence_parameter_group": fence_group,
                "primary_parameter_group": f"shop-{suffix}-primary-new-params",
                "standby_parameter_group": f"shop-{suffix}-dr-new-params",
                **(failback or {}),
            },
            "kubeconfig": str(kubeconfig),
            "waiters": {
                "poll_s": 1,
                "kube_poll_s": 0.2,
                "nodegroup_s": 10,
                "rollout_s": 15,
                "database_s": 10,
            },
            "max_attempts": 3,
        }
    )


class ReplicaLag(_Player):
    """Plays CloudWatch's RDS ``ReplicaLag`` publisher (moto publishes nothing): every
    0.2 s a datapoint of ``seconds`` for each instance of ``instances`` (region, id)."""

    def __init__(self, instances: list[tuple[str, str]], seconds: float = 0.0) -> None:
        super().__init__()
        self.instances = instances
        self.seconds = seconds

    def tick(self) -> None:
        for region, instance in self.instances:
            client("cloudwatch", region).put_metric_data(
                Namespace="AWS/RDS",
                MetricData=[
                    {
                        "MetricName": "ReplicaLag",
                        "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": instance}],
                        "Value": self.seconds,
                        "Unit": "Seconds",
                    }
                ],
            )


def platform_state(profile: AwsProfile) -> dict[str, Any]:
    """Everything a drill may change, as read straight from moto and the emulators."""
    state: dict[str, Any] = {}
    r53 = client("route53")
    state["records"] = sorted(
        json.dumps(r, sort_keys=True)
        for r in r53.list_resource_record_sets(HostedZoneId=profile.dns.hosted_zone_id)[
            "ResourceRecordSets"
        ]
    )
    for logical, side in profile.regions.items():
        eks = client("eks", side.name)
        ng = eks.describe_nodegroup(clusterName=side.eks_cluster, nodegroupName=side.nodegroup)
        rds = client("rds", side.name)
        ec2 = client("ec2", side.name)
        reservations = ec2.describe_instances(
            Filters=[{"Name": "tag:eks:cluster-name", "Values": [side.eks_cluster]}]
        )["Reservations"]
        api = apps(profile.kubeconfig, logical)  # type: ignore[arg-type]
        state[logical] = {
            "scaling": ng["nodegroup"]["scalingConfig"],
            "instances": sorted(
                (i["InstanceId"], i["State"]["Name"]) for r in reservations for i in r["Instances"]
            ),
            "db_instances": sorted(
                d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]
            ),
            "snapshots": sorted(
                s["DBSnapshotIdentifier"]
                for s in rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
            ),
            "deployments": {
                d.metadata.name: (
                    d.spec.replicas,
                    [(e.name, e.value) for e in d.spec.template.spec.containers[0].env],
                )
                for d in api.list_namespaced_deployment("production").items
            },
            "experiments": sorted(
                e["id"] for e in client("fis", side.name).list_experiments()["experiments"]
            ),
            "objects": sorted(
                (v["Key"], v["VersionId"], v["IsLatest"])
                for bucket in side.s3_buckets
                for v in client("s3", side.name)
                .list_object_versions(Bucket=bucket)
                .get("Versions", [])
            ),
        }
    return state


class Shop:
    """A stand-in HTTP shop behind the global endpoint (the emulated EKS runs no pods):
    it answers health and the critical flows, so verification runs its real HTTP checks."""

    def __init__(self, port: int) -> None:
        from aiohttp import web

        self.url = f"http://127.0.0.1:{port}"
        self._port = port
        self._orders: dict[str, object] = {}
        app = web.Application()
        app.add_routes(
            [
                web.get("/health", self._health),
                web.post("/orders", self._create),
                web.get("/orders/{id}", self._read),
                web.get("/products", self._products),
            ]
        )
        self._runner = web.AppRunner(app)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    async def _health(self, request: Any) -> Any:
        from aiohttp import web

        return web.json_response({"status": "ok"})

    async def _create(self, request: Any) -> Any:
        from aiohttp import web

        body = await request.json()
        self._orders[body["id"]] = body
        return web.json_response(body, status=201)

    async def _read(self, request: Any) -> Any:
        from aiohttp import web

        order = self._orders.get(request.match_info["id"])
        return web.json_response(order, status=200 if order else 404)

    async def _products(self, request: Any) -> Any:
        from aiohttp import web

        return web.json_response([{"id": 1}])

    def _serve(self) -> None:
        from aiohttp import web

        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self._port)
        self._loop.run_until_complete(site.start())
        self._started.set()
        self._loop.run_forever()

    def __enter__(self) -> Shop:
        self._started = threading.Event()
        self._thread.start()
        assert self._started.wait(10), "the stand-in shop did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


@pytest.fixture
def shop() -> Iterator[str]:
    with Shop(SHOP_PORT) as running:
        yield running.url
