"""What the emulated control plane says the platform should be, read pass by pass.

A pass reads Route 53's failover or weighted records, the EKS nodegroups' scaling, the
running FIS experiments, and the control-plane trail (``trail``) for the RDS calls whose
effect moto's state does not show (a promotion leaves ``describe_db_instances``
unchanged). AWS state is read again only while the trail shows a change to its service,
so a pass during a step's wait is the trail and the deployments, which keeps it short.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from drdrill.targets.aws.profile import AwsProfile
from drdrill.targets.twin.emulators import ControlPlane
from drdrill.targets.twin.trail import Call, Trail

__all__ = [
    "BACKUP_CALLS",
    "FAILBACK_CALLS",
    "ORDERED_CALLS",
    "ControlPlaneReader",
    "Desired",
    "ordered",
]

FAILBACK_CALLS = ("CreateDBInstanceReadReplica", "ModifyDBParameterGroup", "PromoteReadReplica")
BACKUP_CALLS = (
    "CreateDBSnapshot",
    "CopyDBSnapshot",
    "RestoreDBInstanceFromDBSnapshot",
    "RestoreDBInstanceToPointInTime",
)
ORDERED_CALLS = FAILBACK_CALLS + BACKUP_CALLS
"""RDS calls followed one by one in trail order, before the rollouts made after them."""
STALE_S = 2.0
"""How long after a change shows in the trail its service's state is read every pass."""


@dataclass
class Desired:
    """What the control plane says the platform should be, as of one pass."""

    failed: dict[str, bool] = field(default_factory=dict)
    serving: str | None = None
    """The region the PRIMARY failover record points at."""
    weights: dict[str, int] = field(default_factory=dict)
    """Each region's WEIGHTED record's weight (empty: failover routing)."""
    promoted: set[str] = field(default_factory=set)
    """Regions whose seeded replica a ``PromoteReadReplica`` promoted since the last pass
    (an event in the trail: followed once, so a later switchover is not undone)."""
    failback: list[Call] = field(default_factory=list)
    """The planned failback's and the backups' RDS calls since the last pass, in trail
    order (events)."""
    deployments: dict[str, list[Any]] = field(default_factory=dict)
    read_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    """When this pass read the trail: what it follows was asked before then."""


def ordered(calls: list[Call]) -> bool:
    """Whether ``calls`` hold an RDS call followed in trail order."""
    return any(c.service == "rds" and c.action in ORDERED_CALLS for c in calls)


class ControlPlaneReader:
    """Reads the control plane for the controller: its clients, the trail, and what of
    AWS's state it read last."""

    def __init__(self, plane: ControlPlane, profile: AwsProfile) -> None:
        self.plane = plane
        self.profile = profile
        self._session = plane.session()
        self._clients: dict[tuple[str, str], Any] = {}
        self._apps: dict[str, Any] = {}
        self._trail = Trail(plane.trail)
        self._read_once: set[str] = set()
        self._changed: dict[str, float] = {}
        """Service → until when its state is read every pass (a change in the trail)."""
        self._records: tuple[str | None, dict[str, int]] = (None, {})
        self._scaled_to_zero: dict[str, bool] = {}
        self._experiment_runs: dict[str, bool] = {}
        self.unread: list[Call] = []
        """Trail requests read between passes, for the next pass."""
        self._seeded: dict[str, str] = {
            side.rds_instance: str(r) for r, side in profile.regions.items()
        }

    def aws(self, service: str, region: str) -> Any:
        """The boto3 client of ``service`` in the AWS region ``region``, on the emulator."""
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self._session.client(
                service,  # type: ignore[call-overload]
                region_name=region,
                endpoint_url=self.plane.aws_url,
            )
        return self._clients[key]

    def apps_of(self, region: str) -> Any:
        """The Kubernetes apps API of the lab region ``region``'s cluster."""
        if region not in self._apps:
            from kubernetes import client, config

            self._apps[region] = client.AppsV1Api(
                config.new_client_from_config(  # type: ignore[no-untyped-call]
                    config_file=str(self.plane.kubeconfig), context=self.plane.contexts[region]
                )
            )
        return self._apps[region]

    def read(self) -> Desired:
        """The control plane's state, as this pass sees it (module docstring)."""
        desired = Desired()
        self._read_trail(desired)
        if self._due("route53"):
            self._read_records()
        desired.serving, desired.weights = self._records
        for region, side in self.profile.regions.items():
            if self._due("eks"):
                group = self.aws("eks", side.name).describe_nodegroup(
                    clusterName=side.eks_cluster, nodegroupName=side.nodegroup
                )["nodegroup"]
                self._scaled_to_zero[region] = group["scalingConfig"]["desiredSize"] == 0
            if side.fis_template_id is not None and self._due("fis"):
                experiments = self.aws("fis", side.name).list_experiments()["experiments"]
                self._experiment_runs[region] = any(
                    e.get("experimentTemplateId") == side.fis_template_id
                    and e.get("state", {}).get("status") in ("initiating", "pending", "running")
                    for e in experiments
                )
            desired.failed[region] = self._scaled_to_zero[region] or self._experiment_runs.get(
                region, False
            )
        self._read_once.update(("route53", "eks", "fis"))
        return desired

    def told(self) -> bool:
        """Whether the trail holds a new request that changes the control plane (kept for
        the next pass to follow)."""
        calls = self.read_newer()
        return any(c.changes and c.service != "monitoring" for c in calls)  # (not ours)

    def read_newer(self) -> list[Call]:
        """The trail's requests since it was last read, kept for the next pass too."""
        calls = self._trail.read() or []
        self.unread.extend(calls)
        return calls

    def deployments(self) -> dict[str, list[Any]]:
        """Each region's deployments, as the cluster has them now."""
        return {
            region: list(self.apps_of(region).list_namespaced_deployment(side.namespace).items)
            for region, side in self.profile.regions.items()
        }

    def _due(self, service: str) -> bool:
        """Whether this pass reads ``service``'s state: the first pass, and every pass
        for ``STALE_S`` after the trail showed a request that changes it (moto records a
        request before it applies it)."""
        return service not in self._read_once or time.monotonic() < self._changed.get(service, 0.0)

    def _read_records(self) -> None:
        """Route 53's records of the global name: the PRIMARY failover record's region
        and the WEIGHTED records' weights."""
        dns = self.profile.dns
        records = self.aws("route53", "us-east-1").list_resource_record_sets(
            HostedZoneId=dns.hosted_zone_id
        )["ResourceRecordSets"]
        values: dict[str, str] = {t.value: r for r, t in dns.targets.items()}
        serving: str | None = None
        weights: dict[str, int] = {}
        for record in records:
            if record["Name"].rstrip(".") != dns.record_name.rstrip("."):
                continue
            region = values.get(record.get("ResourceRecords", [{}])[0].get("Value"))
            if record.get("Failover") == "PRIMARY":
                serving = region
            elif "Weight" in record and region is not None:
                weights[region] = int(record["Weight"])
        self._records = (serving, weights)

    def _read_trail(self, desired: Desired) -> None:
        """The trail since the last pass: which services were changed, the promotions of
        the seeded replicas (by region), and the planned failback's RDS calls (in order)."""
        desired.read_at = datetime.now(UTC)
        read = self._trail.read()
        if read is None:  # no trail: every service's state is read every pass
            self._read_once.clear()
        calls, self.unread = [*self.unread, *(read or [])], []
        for call in calls:
            if call.changes:
                self._changed[call.service] = time.monotonic() + STALE_S
            instance = call.param("DBInstanceIdentifier")
            if call.service != "rds":
                continue
            if call.action == "PromoteReadReplica" and instance in self._seeded:
                desired.promoted.add(self._seeded[instance])
            elif call.action in ORDERED_CALLS:
                desired.failback.append(call)
