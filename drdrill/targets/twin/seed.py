"""The twin's control plane, seeded to mirror the lab: what an AWS account running the
lab's platform would hold.

Route 53: a hosted zone with the global name's failover records (PRIMARY: the primary
region's load balancer, SECONDARY: dr's), each with a health check on its region's
gateway. EKS: a cluster and nodegroup per region, sized like the lab's workers (dr at
its warm-standby size). RDS: the primary instance and its cross-region read replica,
the replica in a DB parameter group of its own (the planned failback's write fence),
and the parameter groups of the failback's new instances (``<instance>-new``: the new
primary, a cross-region read replica of DR, and DR's new replica of it). FIS: an
experiment template per region. Kubernetes: the ``order-service`` deployment
per region, its replicas the lab's workers and its ``DATABASE_URL`` the database the
region's workers use now. S3: the lab's own object store (its versioned buckets and
the lab's replication between them) is the profile's S3 endpoint. The result is the
``AwsProfile`` the aws target drills.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from drdrill.config import DrillConfig
from drdrill.lab import Lab
from drdrill.lab.objects import BUCKETS
from drdrill.targets.aws.profile import AwsProfile
from drdrill.targets.twin.emulators import ACCOUNT, ControlPlane
from drdrill.targets.twin.profile import AwsTwinProfile

__all__ = [
    "AWS_REGIONS",
    "DEPLOYMENT",
    "NAMESPACE",
    "database_url",
    "instance_of_url",
    "planned_profile",
    "profile_of",
    "seed",
]

AWS_REGIONS = {"primary": "us-east-1", "dr": "us-west-2"}
NAMESPACE = "production"
DEPLOYMENT = "order-service"
ZONE = "shop.twin.drdrill.internal"
RECORD = f"www.{ZONE}"


def rds_instance(region: str) -> str:
    return f"shop-{region}-db"


def new_instance(region: str) -> str:
    """The region's instance that the planned failback creates."""
    return f"{rds_instance(region)}-new"


def parameter_group(instance: str) -> str:
    """The DB parameter group of ``instance`` (DR's is the failback's write fence)."""
    return f"{instance}-params"


def database_url(instance: str) -> str:
    """What ``DATABASE_URL`` holds when the applications use RDS instance ``instance``."""
    return f"postgresql://app@{instance}.twin.rds.internal:5432/drdrill"


def instance_of_url(url: str) -> str:
    """The RDS instance a ``DATABASE_URL`` names (its host's first label)."""
    host = urlsplit(url.removeprefix("jdbc:")).hostname or ""
    return host.split(".", 1)[0]


def _alb(region: str) -> str:
    return f"{region}-alb.{ZONE}"


def seed(plane: ControlPlane, lab: Lab, config: DrillConfig, twin: AwsTwinProfile) -> AwsProfile:
    """Create the lab's mirror in the emulators (after wiping them); its AWS profile."""
    import contextlib
    import urllib.request

    from kubernetes import client
    from kubernetes import config as kube_config
    from kubernetes.client.exceptions import ApiException

    with urllib.request.urlopen(
        urllib.request.Request(f"{plane.aws_url}/moto-api/reset", method="POST"), timeout=10
    ):
        pass
    session = plane.session()

    def aws(service: str, region: str = "us-east-1") -> Any:
        return session.client(
            service,  # type: ignore[call-overload]
            region_name=region,
            endpoint_url=plane.aws_url,
        )

    settings = config.lab
    state = lab.require_up()
    topology = lab.topology
    route53 = aws("route53")
    zone = route53.create_hosted_zone(Name=ZONE, CallerReference=f"twin-{lab.dir}")
    zone_id = zone["HostedZone"]["Id"].split("/")[-1]
    checks: dict[str, str] = {}
    for region in AWS_REGIONS:
        port = int(urlsplit(topology.gateway_url(region, 0)).port or 80)
        checks[region] = route53.create_health_check(
            CallerReference=f"twin-{region}",
            HealthCheckConfig={
                "Type": "HTTP",
                "IPAddress": "127.0.0.1",
                "Port": port,
                "ResourcePath": "/health",
                "RequestInterval": 10,
                "FailureThreshold": settings.health_check_failure_threshold,
            },
        )["HealthCheck"]["Id"]
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": RECORD,
                        "Type": "CNAME",
                        "SetIdentifier": role.title(),
                        "Failover": role,
                        "TTL": 1,
                        "HealthCheckId": checks[region],
                        "ResourceRecords": [{"Value": _alb(region)}],
                    },
                }
                for role, region in (("PRIMARY", "primary"), ("SECONDARY", "dr"))
            ]
        },
    )
    templates: dict[str, str] = {}
    source_arn = ""
    for region, aws_region in AWS_REGIONS.items():
        cluster = f"shop-{region}"
        standby = state.workers[region]
        eks = aws("eks", aws_region)
        eks.create_cluster(
            name=cluster,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/eks",
            resourcesVpcConfig={"subnetIds": ["subnet-twin"]},
        )
        eks.create_nodegroup(
            clusterName=cluster,
            nodegroupName="application-nodes",
            scalingConfig={"minSize": 1, "maxSize": 8, "desiredSize": standby},
            subnets=["subnet-twin"],
            nodeRole=f"arn:aws:iam::{ACCOUNT}:role/node",
        )
        template = aws("fis", aws_region).create_experiment_template(
            clientToken=f"twin-{region}",
            description=f"{region} region power interruption",
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
        rds = aws("rds", aws_region)
        for instance in (rds_instance(region), new_instance(region)):
            rds.create_db_parameter_group(
                DBParameterGroupName=parameter_group(instance),
                DBParameterGroupFamily="postgres16",
                Description=f"the parameters of {instance}",
            )
        if region == "primary":
            rds.create_db_instance(
                DBInstanceIdentifier=rds_instance(region),
                DBInstanceClass="db.t3.micro",
                Engine="postgres",
                MasterUsername="app",
                MasterUserPassword="twin-placeholder",
                AllocatedStorage=20,
                BackupRetentionPeriod=7,
                DBParameterGroupName=parameter_group(rds_instance(region)),
            )
            source_arn = rds.describe_db_instances(DBInstanceIdentifier=rds_instance(region))[
                "DBInstances"
            ][0]["DBInstanceArn"]
        else:
            rds.create_db_instance_read_replica(
                DBInstanceIdentifier=rds_instance(region),
                SourceDBInstanceIdentifier=source_arn,
                DBParameterGroupName=parameter_group(rds_instance(region)),
            )
        api = client.AppsV1Api(
            kube_config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=str(plane.kubeconfig), context=plane.contexts[region]
            )
        )
        body: dict[str, Any] = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": DEPLOYMENT, "namespace": NAMESPACE},
            "spec": {
                "replicas": standby,
                "selector": {"matchLabels": {"app": DEPLOYMENT}},
                "template": {
                    "metadata": {"labels": {"app": DEPLOYMENT}},
                    "spec": {
                        "containers": [
                            {
                                "name": "app",
                                "image": f"{DEPLOYMENT}:lab",
                                "env": [
                                    {
                                        "name": "DATABASE_URL",
                                        "value": database_url(
                                            rds_instance(state.database_of[region])
                                        ),
                                    }
                                ],
                            }
                        ]
                    },
                },
            },
        }
        with contextlib.suppress(ApiException):
            api.delete_namespaced_deployment(DEPLOYMENT, NAMESPACE)
        api.create_namespaced_deployment(NAMESPACE, body)  # type: ignore[arg-type]
        api.patch_namespaced_deployment_status(
            DEPLOYMENT,
            NAMESPACE,
            {
                "metadata": {"namespace": NAMESPACE},
                "status": {
                    "replicas": standby,
                    "readyReplicas": standby,
                    "updatedReplicas": standby,
                    "observedGeneration": 0,
                },
            },
        )
        templates[region] = template
    return profile_of(lab, config, twin, plane, zone_id, checks, templates)


def profile_of(
    lab: Lab,
    config: DrillConfig,
    twin: AwsTwinProfile,
    plane: ControlPlane,
    zone_id: str,
    checks: dict[str, str],
    templates: dict[str, str],
) -> AwsProfile:
    """The aws profile of the twin whose emulators hold ``zone_id``, ``checks`` and
    ``templates`` (placeholders for ``drdrill plan``: they are made at the drill's start)."""
    settings = config.lab
    topology = lab.topology
    workers = {"primary": settings.primary_workers, "dr": settings.dr_scaled_workers}
    regions: dict[str, Any] = {}
    for region, aws_region in AWS_REGIONS.items():
        cluster = f"shop-{region}"
        template = templates[region]
        scaling = {"min_size": 1, "max_size": 8, "desired_size": workers[region]}
        regions[region] = {
            "name": aws_region,
            "endpoint": topology.gateway_url(region, 0),
            "eks_cluster": cluster,
            "nodegroup": "application-nodes",
            "scaling": scaling,
            "standby_scaling": (
                {"min_size": 1, "max_size": 8, "desired_size": settings.dr_workers}
                if region == "dr"
                else None
            ),
            "kube_context": plane.contexts[region],
            "namespace": NAMESPACE,
            "deployments": [DEPLOYMENT],
            "replicas": workers[region],
            "standby_replicas": lab.standby_size(region),
            "rds_instance": rds_instance(region),
            "database_url": database_url(rds_instance(region)),
            "reader_dsn": lab.db_dsn(region),
            "fis_template_id": template,
            "s3_buckets": [BUCKETS[region]],
        }
    return AwsProfile.model_validate(
        {
            "kind": "aws",
            "allowed_account_ids": [ACCOUNT],
            "global_endpoint": lab.edge_url,
            "dns": {
                "hosted_zone_id": zone_id,
                "record_name": RECORD,
                "record_type": "CNAME",
                "ttl": 1,
                "targets": {
                    r: {"value": _alb(r), "health_check_id": checks[r]} for r in AWS_REGIONS
                },
            },
            "regions": regions,
            "failure_method": twin.failure_method,
            # the lab's rebuild of the old primary as a standby of DR streams every write:
            # a cross-region read replica, not a snapshot
            "failback": {
                "method": "read-replica",
                "fence_parameter_group": parameter_group(rds_instance("dr")),
                "primary_instance": new_instance("primary"),
                "dr_replica_instance": new_instance("dr"),
                "primary_parameter_group": parameter_group(new_instance("primary")),
                "standby_parameter_group": parameter_group(new_instance("dr")),
            },
            "kubeconfig": str(plane.kubeconfig),
            "endpoint_url": plane.aws_url,
            # S3 is the lab's object store (moto too, with the lab's replication behind it):
            # the aws target restores object versions where customers' documents are
            "service_endpoints": {"s3": f"http://127.0.0.1:{topology.ports.objects}"},
            # the emulators answer at once: poll them often, and give up soon
            "waiters": {
                "poll_s": 0.1,
                "kube_poll_s": 0.1,
                "nodegroup_s": 30,
                "database_s": 30,
                "snapshot_s": 30,
                "rollout_s": float(twin.follow_timeout),
                "experiment_s": 30,
            },
            "max_attempts": 3,
        }
    )


def planned_profile(config: DrillConfig, twin: AwsTwinProfile) -> AwsProfile:
    """The twin's aws profile as ``drdrill plan`` shows it: ids made at the drill's start
    are placeholders; nothing is started or called."""
    lab = Lab.from_config(config)
    later = "<made at the drill's start>"
    both = dict.fromkeys(AWS_REGIONS, later)
    return profile_of(lab, config, twin, ControlPlane.of(lab, twin), later, both, both)
