"""The twin's controller: the lab follows what the emulated control plane was told.

Each pass reads the control plane — Route 53's failover records, the EKS nodegroups'
scaling, running FIS experiments, the deployments' replicas and ``DATABASE_URL``, and
the control-plane trail (``trail``) for read-replica promotions (moto's state does not
show them) and backups — and makes the lab match it:

- a region's nodegroup at zero, or an FIS experiment running on it → the lab region
  fails (by the mode the drill asked for); capacity back, experiment stopped → restored;
- the PRIMARY failover record's value → the edge's failover records;
- ``PromoteReadReplica`` of a region's replica → that region's lab standby promoted;
- ``CreateDBSnapshot`` / ``CopyDBSnapshot`` / ``RestoreDBInstanceFromDBSnapshot`` /
  ``RestoreDBInstanceToPointInTime`` → the lab's backups take, copy and restore the
  same (named as RDS was told; a restored instance is a real PostgreSQL of the lab);
- a deployment's replicas changed → the region's workers; its ``DATABASE_URL`` changed
  → the workers repointed, to a region's database or an instance the lab restored
  (changes, not levels: the lab's own failback steps move workers between databases
  without a rollout); then the deployment's status says what the lab runs (kmock runs
  no controllers, so without this no rollout would ever be ready).

Route 53 health checks are not followed: the lab's edge checks its regions itself,
as Route 53's checkers would. Every lab action taken is audited (``twin_follow``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from drdrill.audit import AuditTrail
from drdrill.backup_records import RestoredDatabase
from drdrill.errors import TargetError
from drdrill.lab import Lab
from drdrill.lab.topology import MAX_WORKERS
from drdrill.targets.aws.profile import AwsProfile
from drdrill.targets.twin.emulators import ControlPlane
from drdrill.targets.twin.seed import AWS_REGIONS, NAMESPACE, instance_of_url
from drdrill.targets.twin.trail import RdsCall, TrailReader

__all__ = ["Controller", "Desired"]

REGIONS = ("primary", "dr")
_BACKUP_ACTIONS = (
    "CreateDBSnapshot",
    "CopyDBSnapshot",
    "RestoreDBInstanceFromDBSnapshot",
    "RestoreDBInstanceToPointInTime",
)


@dataclass
class Desired:
    """What the control plane says the platform should be, as of one pass."""

    failed: dict[str, bool] = field(default_factory=dict)
    serving: str | None = None
    """The region the PRIMARY failover record points at."""
    promoted: set[str] = field(default_factory=set)
    """Regions whose replica a ``PromoteReadReplica`` promoted since the last pass (an
    event in the trail: followed once, so a later switchover is not undone)."""
    backups: list[RdsCall] = field(default_factory=list)
    """Snapshots taken and copied, instances restored since the last pass (events in
    the trail, followed once each, in the order RDS was asked)."""
    deployments: dict[str, list[Any]] = field(default_factory=dict)


class Controller:
    """Makes the lab follow the control plane: on demand (``follow_now``), and in a
    thread bounded by a step (``following``)."""

    def __init__(
        self,
        lab: Lab,
        plane: ControlPlane,
        profile: AwsProfile,
        *,
        interval_s: float,
        failure_mode: Callable[[str], str],
        audit: AuditTrail | None,
        target_name: str,
    ) -> None:
        self.lab = lab
        self.plane = plane
        self.profile = profile
        self.interval_s = interval_s
        self.failure_mode = failure_mode
        self.audit = audit
        self.target_name = target_name
        self.errors: list[str] = []
        self._lock = threading.RLock()
        self._session = plane.session()
        self._clients: dict[tuple[str, str], Any] = {}
        self._apps: dict[str, Any] = {}
        self._trail = TrailReader(plane.trail)
        self._serving = "primary"
        self._given_up: set[tuple[Any, ...]] = set()
        self._seen: dict[str, tuple[int | None, str | None]] = {}
        """Each region's deployment (replicas, DATABASE_URL) as last seen: a rollout is a
        change of it (the seeded state is the first)."""
        for region, side in profile.regions.items():
            found = self._apps_of(region).list_namespaced_deployment(side.namespace).items
            if found:
                d = found[0]
                self._seen[region] = (d.spec.replicas, _env(d, profile.database_env_var))
        self._database_of_instance: dict[str, str] = {
            side.rds_instance: str(r) for r, side in profile.regions.items()
        }
        """The lab database an RDS instance stands for: a region's, or an instance the lab
        restored (its name is the RDS instance's)."""
        self._region_of_aws = {aws: region for region, aws in AWS_REGIONS.items()}
        self.restored: dict[str, RestoredDatabase] = {}
        """What the lab restored, by the RDS instance it followed."""

    # -- when it runs ----------------------------------------------------------
    #
    # Only while a step is in flight (and once right after it): the controller shares the
    # drill's process with the probes, and a pass (HTTP to the emulators, parsing their
    # answers) held in the background would slow probes past ``slow_after`` and so show
    # as outages that the platform never had.

    @contextlib.contextmanager
    def following(self) -> Iterator[None]:
        """Follow the control plane every ``interval_s`` while the block runs (a step that
        waits on what only the controller provides, e.g. a rollout's readiness), then once
        more at its end."""
        stop = threading.Event()
        thread = threading.Thread(
            target=self._run, args=(stop,), name="aws-twin-controller", daemon=True
        )
        seen = len(self.errors)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(60)
        with contextlib.suppress(TargetError):  # (its errors are among those below)
            self.follow_now()
        new = self.errors[seen:]
        if new:
            raise TargetError(f"the lab did not follow the control plane: {'; '.join(new)}")

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval_s):
            try:
                self.follow_now()
            except Exception as exc:  # noted; the step's own follow_now raises it
                self._note_error(f"{type(exc).__name__}: {exc}")

    def follow_now(self) -> None:
        """One pass now: read the control plane, make the lab match it. ``TargetError``
        when a lab action failed (since the last call)."""
        with self._lock:
            seen = len(self.errors)
            desired = self.read()
            self._apply(desired)
            new = self.errors[seen:]
        if new:
            raise TargetError(f"the lab did not follow the control plane: {'; '.join(new)}")

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """No pass runs meanwhile: the twin changes the lab itself (a failback step the
        aws target has no call for) and then tells the control plane, without this
        controller undoing the first half in between."""
        with self._lock:
            yield

    def assume_serving(self, region: str) -> None:
        """The edge's failover records were set to ``region`` directly (inside ``paused``)."""
        self._serving = region

    # -- reading the control plane ---------------------------------------------

    def _aws(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self._session.client(
                service,  # type: ignore[call-overload]
                region_name=region,
                endpoint_url=self.plane.aws_url,
            )
        return self._clients[key]

    def _apps_of(self, region: str) -> Any:
        if region not in self._apps:
            from kubernetes import client, config

            self._apps[region] = client.AppsV1Api(
                config.new_client_from_config(  # type: ignore[no-untyped-call]
                    config_file=str(self.plane.kubeconfig), context=self.plane.contexts[region]
                )
            )
        return self._apps[region]

    def read(self) -> Desired:
        """The control plane's state, as this pass sees it."""
        desired = Desired()
        dns = self.profile.dns
        records = self._aws("route53", "us-east-1").list_resource_record_sets(
            HostedZoneId=dns.hosted_zone_id
        )["ResourceRecordSets"]
        values = {t.value: r for r, t in dns.targets.items()}
        for record in records:
            if record.get("Failover") == "PRIMARY" and record["Name"].rstrip(".") == (
                dns.record_name.rstrip(".")
            ):
                value = record.get("ResourceRecords", [{}])[0].get("Value")
                desired.serving = values.get(value)
        for region, side in self.profile.regions.items():
            group = self._aws("eks", side.name).describe_nodegroup(
                clusterName=side.eks_cluster, nodegroupName=side.nodegroup
            )["nodegroup"]
            failed = group["scalingConfig"]["desiredSize"] == 0
            if side.fis_template_id is not None:
                experiments = self._aws("fis", side.name).list_experiments()["experiments"]
                failed = failed or any(
                    e.get("experimentTemplateId") == side.fis_template_id
                    and e.get("state", {}).get("status") in ("initiating", "pending", "running")
                    for e in experiments
                )
            desired.failed[region] = failed
            desired.deployments[region] = list(
                self._apps_of(region).list_namespaced_deployment(side.namespace).items
            )
        self._rds_events(desired)
        return desired

    def _rds_events(self, desired: Desired) -> None:
        """The trail's RDS calls since the last pass, as promotions and backup events."""
        for call in self._trail.new_calls():
            if call.action == "PromoteReadReplica":
                region = self._database_of_instance.get(
                    call.parameters.get("DBInstanceIdentifier", "")
                )
                if region in REGIONS:
                    desired.promoted.add(region)
            elif call.action in _BACKUP_ACTIONS:
                desired.backups.append(call)

    # -- making the lab match --------------------------------------------------

    def _apply(self, desired: Desired) -> None:
        state = self.lab.require_up()
        for region in REGIONS:
            failed = desired.failed.get(region, False)
            if failed and state.failures[region] is None:
                mode = self.failure_mode(region)
                self._do("nodegroup scaled to zero", "fail_region", region, mode=mode)
            elif not failed and state.failures[region] is not None:
                self._do("capacity restored", "restore_region", region)
        if (
            desired.serving is not None
            and desired.serving != self._serving
            and self._do("failover record UPSERTed", "fail_over_dns", desired.serving)
        ):
            self._serving = desired.serving
        state = self.lab.require_up()
        for region in sorted(desired.promoted):
            if region not in state.promoted:
                self._do("read replica promoted", "promote_database", region)
            elif self.audit is not None:
                self._record({"signal": "read replica promoted", "region": region}, "already")
        for call in desired.backups:
            self._follow_backup(call)
        for region, deployments in desired.deployments.items():
            self._follow_deployments(region, deployments)

    def _follow_backup(self, call: RdsCall) -> None:
        """The lab's backups do what RDS was asked: a snapshot of the region's database,
        its copy into the other region's store, a restore into a new instance (named as
        the RDS instance, so a ``DATABASE_URL`` naming it repoints the workers to it)."""
        p = call.parameters
        region = self._region_of_aws.get(call.region)
        backups = self.lab.backups()
        if call.action == "CreateDBSnapshot":
            source = self._database_of_instance.get(p.get("DBInstanceIdentifier", ""))
            if source in REGIONS:
                self._do(
                    "DB snapshot created", "snapshot", p["DBSnapshotIdentifier"], source, on=backups
                )
        elif call.action == "CopyDBSnapshot" and region is not None:
            self._do(
                "DB snapshot copied",
                "copy_snapshot",
                p["TargetDBSnapshotIdentifier"],
                region,
                on=backups,
            )
        elif call.action == "RestoreDBInstanceFromDBSnapshot" and region is not None:
            instance = p["DBInstanceIdentifier"]
            self._restore(
                instance,
                self._do(
                    "DB instance restored from a snapshot",
                    "restore_snapshot",
                    p["DBSnapshotIdentifier"],
                    instance,
                    region,
                    on=backups,
                ),
            )
        elif call.action == "RestoreDBInstanceToPointInTime":
            source = self._database_of_instance.get(p.get("SourceDBInstanceIdentifier", ""))
            instance = p["TargetDBInstanceIdentifier"]
            if source in REGIONS:
                when = datetime.fromisoformat(p["RestoreTime"])
                self._restore(
                    instance,
                    self._do(
                        "DB instance restored to a point in time",
                        "restore_to_point_in_time",
                        when,
                        instance,
                        source,
                        on=backups,
                    ),
                )

    def _restore(self, instance: str, done: object) -> None:
        if isinstance(done, RestoredDatabase):
            self.restored[instance] = done
            self._database_of_instance[instance] = instance

    def _follow_deployments(self, region: str, deployments: list[Any]) -> None:
        """A rollout (replicas or ``DATABASE_URL`` changed since the last pass) → the lab's
        workers. Changes, not levels: the lab's own failback steps move workers between
        databases without a rollout, and must not be undone."""
        state = self.lab.require_up()
        if state.failures[region] is not None or not deployments:
            return  # (a change waits until the region is back)
        # every deployment of the region stands for its order-service workers
        d = deployments[0]
        now = (d.spec.replicas, _env(d, self.profile.database_env_var))
        before = self._seen.get(region, now)
        self._seen[region] = now
        replicas = min(max(now[0] or 0, 1), MAX_WORKERS)
        if now[0] != before[0] and replicas != state.workers[region]:
            self._do("deployment scaled", "scale_region", region, replicas)
        database = self._database_of_instance.get(instance_of_url(now[1] or ""))
        if (
            now[1] != before[1]
            and database is not None
            and database != self.lab.require_up().database_of[region]
        ):
            self._do("DATABASE_URL rolled out", "repoint_applications", region, database)
        running = self.lab.require_up().workers[region]
        for deployment in deployments:
            self._report_status(region, deployment, running)

    def _report_status(self, region: str, deployment: Any, running: int) -> None:
        status = deployment.status
        generation = deployment.metadata.generation or 0
        if (
            status is not None
            and status.ready_replicas == running
            and status.updated_replicas == running
            and (status.observed_generation or 0) == generation
        ):
            return
        self._apps_of(region).patch_namespaced_deployment_status(
            deployment.metadata.name,
            NAMESPACE,
            {
                "metadata": {"namespace": NAMESPACE},
                "status": {
                    "replicas": running,
                    "readyReplicas": running,
                    "availableReplicas": running,
                    "updatedReplicas": running,
                    "observedGeneration": generation,
                },
            },
        )

    def _do(self, signal: str, action: str, *args: Any, on: Any = None, **kwargs: Any) -> Any:
        """The lab action ``action`` (of ``on``, default the lab) that follows ``signal``,
        audited; what it returned (True when that was None), False when it failed. A
        failure is noted (``follow_now`` raises it) and that same action is not tried
        again by this controller: the drill sees the failure, not a loop."""
        key = (action, args, tuple(sorted(kwargs.items())))
        if key in self._given_up:
            return False
        started = time.monotonic()
        parameters = {
            "signal": signal,
            "lab_action": action,
            "args": [a.isoformat() if isinstance(a, datetime) else a for a in args],
            **kwargs,
        }
        try:
            done = getattr(self.lab if on is None else on, action)(*args, **kwargs)
        except Exception as exc:
            self._given_up.add(key)
            self._note_error(f"{action}{args} after {signal}: {exc}")
            self._record(parameters, "failed", error=str(exc))
            return False
        self._record(parameters, "succeeded", duration_s=round(time.monotonic() - started, 3))
        return True if done is None else done

    def _record(self, parameters: dict[str, Any], outcome: str, **detail: Any) -> None:
        if self.audit is not None:
            self.audit.record(
                "twin_follow",
                target=self.target_name,
                outcome=outcome,
                parameters=parameters,
                **detail,
            )

    def _note_error(self, message: str) -> None:
        self.errors.append(message)


def _env(deployment: Any, variable: str) -> str | None:
    for container in deployment.spec.template.spec.containers or []:
        for entry in container.env or []:
            if entry.name == variable:
                return str(entry.value)
    return None
