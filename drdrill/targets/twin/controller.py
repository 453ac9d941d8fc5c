"""The twin's controller: the lab follows what the emulated control plane was told.

Each pass reads the control plane — Route 53's failover or weighted records, the EKS
nodegroups' scaling, running FIS experiments, the deployments' replicas and
``DATABASE_URL``, and the control-plane trail (``trail``) for the RDS calls whose effect
moto's state does not show (a promotion leaves ``describe_db_instances`` unchanged) —
and makes the lab match it:

- a region's nodegroup at zero, or an FIS experiment running on it → the lab region
  fails (by the mode the drill asked for); capacity back, experiment stopped → restored;
- the PRIMARY failover record's value → the edge's failover records; WEIGHTED records
  (a failback's traffic step) → the edge's weighted records with the primary's weight;
  failover records back after weighted ones → the edge's failover records back;
- ``PromoteReadReplica`` of a region's seeded replica → that region's lab standby
  promoted (the activation);
- the planned failback's RDS calls, in trail order: ``CreateDBInstanceReadReplica`` in a
  region → that region's lab database rebuilt as a standby of the serving one (the new
  instance stands for it from then on); ``ModifyDBParameterGroup`` of the fence group
  setting ``default_transaction_read_only`` → the lab's DR database fenced (and the
  standby waited for until it replayed all DR wrote) or unfenced; ``PromoteReadReplica``
  of such a new replica → the switchover's promotion of that region's standby;
- the backups' RDS calls, in trail order too: ``CreateDBSnapshot`` / ``CopyDBSnapshot`` /
  ``RestoreDBInstanceFromDBSnapshot`` / ``RestoreDBInstanceToPointInTime`` → the lab's
  backups take, copy and restore the same (named as RDS was told; a restored instance
  is a real PostgreSQL of the lab, which a ``DATABASE_URL`` naming it then points to);
- a deployment's replicas changed → the region's workers; its ``DATABASE_URL`` changed
  → the workers repointed, to a region's database or an instance the lab restored
  (changes, not levels: the lab's own failback steps move workers between databases
  without a rollout); then the deployment's status says what the lab runs (kmock runs
  no controllers, so without this no rollout would ever be ready);
- what only the lab knows is reported back, as CloudWatch would: the ``ReplicaLag`` of
  every replica the failback created (the lab's replication lag of that region's
  standby, ``put_metric_data``), stamped no later than the pass read the trail — a
  datapoint never claims a time before the lab followed a fence the trail already held.

Route 53 health checks are not followed: the lab's edge checks its regions itself,
as Route 53's checkers would. Every lab action taken is audited (``twin_follow``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from drdrill.audit import AuditTrail
from drdrill.errors import TargetError
from drdrill.lab import Lab
from drdrill.lab.replication import replication_state
from drdrill.lab.state import LabState, load_state
from drdrill.lab.topology import MAX_WORKERS, OTHER
from drdrill.targets.aws.fence import READ_ONLY
from drdrill.targets.aws.profile import AwsProfile
from drdrill.targets.twin.emulators import ControlPlane
from drdrill.targets.twin.seed import NAMESPACE, instance_of_url
from drdrill.targets.twin.trail import Call, Trail

__all__ = ["Controller", "Desired"]

REGIONS = ("primary", "dr")
FENCED = "dr"
"""The region whose database the aws target's failback fences (the DR instance's group)."""
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
TRAIL_POLL_S = 0.02
"""How often the following thread looks at the trail between passes."""
LAG_EVERY_S = 1.0
"""How often a replica's ``ReplicaLag`` is published (every pass while the lab is fenced)."""


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
        self._trail = Trail(plane.trail)
        self._serving = "primary"
        self._weights: dict[str, int] = {}
        """The weighted records last followed (empty: failover routing)."""
        self._replicas: dict[str, str] = {}
        """Read replicas the failback created (not promoted yet), their lab region."""
        self._fenced = False
        """The lab's DR database fenced (and its standby caught up) by this controller."""
        self._read_once: set[str] = set()
        self._changed: dict[str, float] = {}
        """Service → until when its state is read every pass (a change in the trail)."""
        self._records: tuple[str | None, dict[str, int]] = (None, {})
        self._scaled_to_zero: dict[str, bool] = {}
        self._experiment_runs: dict[str, bool] = {}
        self._lag_published: dict[str, float] = {}
        self._second_published = 0
        self._unread: list[Call] = []
        """Trail requests read between passes, for the next pass."""
        self._given_up: set[tuple[Any, ...]] = set()
        self._seen: dict[str, tuple[int | None, str | None]] = {}
        """Each region's deployment (replicas, DATABASE_URL) as last seen: a rollout is a
        change of it (the seeded state is the first)."""
        for region, side in profile.regions.items():
            found = self._apps_of(region).list_namespaced_deployment(side.namespace).items
            if found:
                d = found[0]
                self._seen[region] = (d.spec.replicas, _env(d, profile.database_env_var))
        self._seeded: dict[str, str] = {
            side.rds_instance: str(r) for r, side in profile.regions.items()
        }
        self._database_of_instance = dict(self._seeded)
        """The lab database each RDS instance stands for (the failback's new ones too)."""
        self._region_of: dict[str, str] = {side.name: str(r) for r, side in profile.regions.items()}
        self.restored: set[str] = set()
        """Instances the lab restored as it followed RDS restores (named as RDS's)."""

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
        """A pass every ``interval_s``, and at once when the trail shows a request that
        changes the control plane (it is looked at every ``TRAIL_POLL_S``: a file read)."""
        due = time.monotonic() + self.interval_s
        while not stop.wait(TRAIL_POLL_S):
            try:
                self._publish_on_the_second()
                if time.monotonic() < due and not self._told():
                    continue
                self.follow_now()
            except Exception as exc:  # noted; the step's own follow_now raises it
                self._note_error(f"{type(exc).__name__}: {exc}")
            due = time.monotonic() + self.interval_s

    def _publish_on_the_second(self) -> None:
        """While the lab is fenced, the replicas' ``ReplicaLag`` once more right after each
        whole second: CloudWatch times are whole seconds, so a wait for a datapoint after
        the fence takes the first one of the next second."""
        second = int(time.time())
        if not self._fenced or second <= self._second_published:
            return
        with self._lock:
            self._second_published = second
            self._publish_replica_lag(datetime.now(UTC))

    def _told(self) -> bool:
        """Whether the trail holds a new request that changes the control plane (kept for
        the next pass to follow)."""
        with self._lock:
            calls = self._trail.read() or []
            self._unread.extend(calls)
        return any(c.changes and c.service != "monitoring" for c in calls)  # (not ours)

    def follow_now(self) -> None:
        """One pass now: read the control plane, make the lab match it. ``TargetError``
        when a lab action failed (since the last call)."""
        with self._lock:
            seen = len(self.errors)
            for _ in range(3):  # again while a pass left RDS calls for the next (trail order)
                desired = self.read()
                self._apply(desired)
                if not any(c.service == "rds" and c.action in ORDERED_CALLS for c in self._unread):
                    break
            new = self.errors[seen:]
        if new:
            raise TargetError(f"the lab did not follow the control plane: {'; '.join(new)}")

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
        """The control plane's state, as this pass sees it. AWS state is read again only
        while the trail shows a change to its service (``_due``): a pass during a step's
        wait is then the trail and the deployments, which keeps it short."""
        desired = Desired()
        self._read_trail(desired)
        if self._due("route53"):
            self._read_records()
        desired.serving, desired.weights = self._records
        for region, side in self.profile.regions.items():
            if self._due("eks"):
                group = self._aws("eks", side.name).describe_nodegroup(
                    clusterName=side.eks_cluster, nodegroupName=side.nodegroup
                )["nodegroup"]
                self._scaled_to_zero[region] = group["scalingConfig"]["desiredSize"] == 0
            if side.fis_template_id is not None and self._due("fis"):
                experiments = self._aws("fis", side.name).list_experiments()["experiments"]
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

    def _due(self, service: str) -> bool:
        """Whether this pass reads ``service``'s state: the first pass, and every pass
        for ``STALE_S`` after the trail showed a request that changes it (moto records a
        request before it applies it)."""
        return service not in self._read_once or time.monotonic() < self._changed.get(service, 0.0)

    def _read_records(self) -> None:
        """Route 53's records of the global name: the PRIMARY failover record's region
        and the WEIGHTED records' weights."""
        dns = self.profile.dns
        records = self._aws("route53", "us-east-1").list_resource_record_sets(
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

    def _deployments(self) -> dict[str, list[Any]]:
        return {
            region: list(self._apps_of(region).list_namespaced_deployment(side.namespace).items)
            for region, side in self.profile.regions.items()
        }

    def _read_trail(self, desired: Desired) -> None:
        """The trail since the last pass: which services were changed, the promotions of
        the seeded replicas (by region), and the planned failback's RDS calls (in order)."""
        desired.read_at = datetime.now(UTC)
        read = self._trail.read()
        if read is None:  # no trail: every service's state is read every pass
            self._read_once.clear()
        calls, self._unread = [*self._unread, *(read or [])], []
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

    # -- making the lab match --------------------------------------------------

    def _apply(self, desired: Desired) -> None:
        state = self._state()
        for region in REGIONS:
            failed = desired.failed.get(region, False)
            if failed and state.failures[region] is None:
                mode = self.failure_mode(region)
                self._do("nodegroup scaled to zero", "fail_region", region, mode=mode)
            elif not failed and state.failures[region] is not None:
                self._do("capacity restored", "restore_region", region)
        self._follow_records(desired)
        state = self._state()
        for region in sorted(desired.promoted):
            if region not in state.promoted:
                self._do("read replica promoted", "promote_database", region)
            elif self.audit is not None:
                self._record({"signal": "read replica promoted", "region": region}, "already")
        self._follow_failback(desired)
        # the rollouts made since, unless an RDS call not followed yet came before them
        # (trail order: the next pass follows it first)
        newer = self._trail.read() or []
        self._unread.extend(newer)
        if not any(c.service == "rds" and c.action in ORDERED_CALLS for c in newer):
            desired.deployments = self._deployments()
            for region, deployments in desired.deployments.items():
                self._follow_deployments(region, deployments)
        self._publish_replica_lag(desired.read_at)

    def _state(self) -> LabState:
        """The lab's state, read from its state file (not ``Lab.require_up``, which asks
        the OS about every lab process: too slow for every pass; a lab action that finds
        the lab down says so itself)."""
        state = load_state(self.lab.topology.state_file)
        if state is None or state.phase != "up":
            raise TargetError(f"the lab is not up (state file {self.lab.topology.state_file})")
        return state

    def _follow_records(self, desired: Desired) -> None:
        """Route 53's records of the global name → the edge's."""
        if desired.weights:
            if desired.weights != self._weights and self._do(
                "weighted records changed",
                "set_traffic_weight",
                "primary",
                desired.weights.get("primary", 0),
            ):
                self._weights = dict(desired.weights)
            return
        if desired.serving is None or (desired.serving == self._serving and not self._weights):
            return
        if self._weights:  # weighted records replaced by failover ones: the last step
            done = self._do("failover records back", "set_traffic_weight", desired.serving, 100)
        else:
            done = self._do("failover record UPSERTed", "fail_over_dns", desired.serving)
        if done:
            self._serving, self._weights = desired.serving, {}

    def _follow_failback(self, desired: Desired) -> None:
        """The planned failback's RDS calls, in order (module docstring). After each lab
        action the rollouts made meanwhile are followed at once (``desired.deployments``
        read again): the aws target moves on while the lab works (the emulator's rollouts
        are ready at once), and the applications must move to a promoted database before
        a later call (DR re-attached: a rebuild of seconds) is followed."""
        for call in desired.failback:
            instance = call.param("DBInstanceIdentifier")
            if call.action == "CreateDBInstanceReadReplica":
                region = self._region_of.get(call.region)
                if region is None or not instance:
                    continue
                self._database_of_instance[instance] = region
                self._replicas[instance] = region
                self._do("read replica created", "rebuild_region_database", region)
            elif call.action == "PromoteReadReplica" and instance in self._replicas:
                region = self._replicas.pop(instance)
                self._do("read replica promoted", "promote_standby", region)
                self._fenced = False
            elif call.action in BACKUP_CALLS:
                self._follow_backup(call)
            elif call.action == "ModifyDBParameterGroup" and (
                call.param("DBParameterGroupName") == self.profile.failback.fence_parameter_group
            ):
                values = [
                    m.get("ParameterValue", "")
                    for m in call.members("Parameters.Parameter")
                    if m.get("ParameterName") == READ_ONLY
                ]
                if not values:
                    continue
                if values[-1].lower() in ("1", "on", "true"):
                    self._fenced = self._do(
                        "write fence set", "fence_database", FENCED
                    ) and self._do("write fence set", "catch_up", OTHER[FENCED])
                else:
                    self._do("write fence lifted", "unfence_database", FENCED)
                    self._fenced = False
            else:
                continue
            desired.deployments = self._deployments()
            for region, deployments in desired.deployments.items():
                self._follow_deployments(region, deployments)

    def _follow_backup(self, call: Call) -> None:
        """The lab's backups do what RDS was asked (module docstring)."""
        backups = self.lab.backups()
        region = self._region_of.get(call.region)
        if call.action == "CreateDBSnapshot":
            source = self._database_of_instance.get(call.param("DBInstanceIdentifier"))
            if source in REGIONS:
                name = call.param("DBSnapshotIdentifier")
                self._do("DB snapshot created", "snapshot", name, source, on=backups)
        elif call.action == "CopyDBSnapshot" and region is not None:
            name = call.param("TargetDBSnapshotIdentifier")
            self._do("DB snapshot copied", "copy_snapshot", name, region, on=backups)
        elif call.action == "RestoreDBInstanceFromDBSnapshot" and region is not None:
            instance = call.param("DBInstanceIdentifier")
            name = call.param("DBSnapshotIdentifier")
            signal = "DB instance restored from a snapshot"
            if self._do(signal, "restore_snapshot", name, instance, region, on=backups):
                self._restored(instance)
        elif call.action == "RestoreDBInstanceToPointInTime":
            source = self._database_of_instance.get(call.param("SourceDBInstanceIdentifier"))
            instance = call.param("TargetDBInstanceIdentifier")
            when = datetime.fromisoformat(call.param("RestoreTime"))
            signal = "DB instance restored to a point in time"
            if source in REGIONS and self._do(
                signal, "restore_to_point_in_time", when, instance, source, on=backups
            ):
                self._restored(instance)

    def _restored(self, instance: str) -> None:
        self.restored.add(instance)
        self._database_of_instance[instance] = instance

    def _publish_replica_lag(self, read_at: datetime) -> None:
        """Each replica the failback created: the lab's replication lag of its region's
        standby as its CloudWatch ``ReplicaLag`` (nothing while it does not stream, as a
        broken replica reports nothing). Stamped when this pass read the trail, or now once
        the lab followed a fence (its standby caught up since)."""
        if not self._replicas:
            return
        state = self._state()
        for instance, region in self._replicas.items():
            due = self._lag_published.get(instance, 0.0) + LAG_EVERY_S
            if state.failures[region] is not None or (not self._fenced and time.monotonic() < due):
                continue
            self._lag_published[instance] = time.monotonic()
            stamp = datetime.now(UTC) if self._fenced else read_at
            found = replication_state(self.lab.db_dsn(region), self.lab.db_dsn(OTHER[region]))
            if found.state != "streaming":
                continue
            self._aws("cloudwatch", self.profile.region(region).name).put_metric_data(
                Namespace="AWS/RDS",
                MetricData=[
                    {
                        "MetricName": "ReplicaLag",
                        "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": instance}],
                        "Timestamp": stamp,
                        "Value": found.lag_s,
                        "Unit": "Seconds",
                    }
                ],
            )

    def _follow_deployments(self, region: str, deployments: list[Any]) -> None:
        """A rollout (replicas or ``DATABASE_URL`` changed since the last pass) → the lab's
        workers. Changes, not levels: the lab's own failback steps move workers between
        databases without a rollout, and must not be undone."""
        state = self._state()
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
            and database != self._state().database_of[region]
        ):
            self._do("DATABASE_URL rolled out", "repoint_applications", region, database)
        running = self._state().workers[region]
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

    def _do(self, signal: str, action: str, *args: Any, on: Any = None, **kwargs: Any) -> bool:
        """The lab action ``action`` (of ``on``, default the lab) that follows ``signal``,
        audited; whether it was done. A failure is noted (``follow_now`` raises it) and
        that same action is not tried again by this controller: the drill sees the
        failure, not a loop."""
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
            getattr(self.lab if on is None else on, action)(*args, **kwargs)
        except Exception as exc:
            self._given_up.add(key)
            self._note_error(f"{action}{args} after {signal}: {exc}")
            self._record(parameters, "failed", error=str(exc))
            return False
        self._record(parameters, "succeeded", duration_s=round(time.monotonic() - started, 3))
        return True

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
