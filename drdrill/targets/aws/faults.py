"""Failing a region on purpose, and undoing it, by the profile's ``failure_method``.

- ``scale-nodegroups``: the region's nodegroup scaled to zero (its capacity gone);
  restore puts back the scaling config it had.
- ``stop-instances``: the region's EC2 instances stopped (the configured ids, or every
  running instance tagged ``eks:cluster-name=<cluster>``), waited until stopped;
  restore starts them and waits until running.
- ``fis``: an AWS FIS experiment started from the region's template (AZ power
  interruption, cross-region connectivity...), waited until running; restore
  stops it and waits until it is stopped.

Why boto3 here and not chaostoolkit-aws's ``fis`` actions (which the plain Chaos
Toolkit experiment ``aws-region-failure.json`` does use): inside a drill every
change must pass the ``Guard`` (``--confirm``, the allow-listed account, the dry-run
plan, the audit trail with exactly the parameters sent), and chaostoolkit-aws's
actions make their calls themselves, out of its reach. Their client comes from
``chaosaws.aws_client``: boto3's default session (set up once per process), none of
the profile's settings — its ``endpoint_url``, ``max_attempts`` and connect/read
timeouts are ignored (botocore's standard retry mode and 60 s timeouts, unless
``AWS_RETRY_MODE``/``AWS_MAX_ATTEMPTS``/``AWS_ENDPOINT_URL`` say otherwise in the
environment). Every error becomes a ``FailedActivity`` string (no error code, so no
"throttled" diagnosis, no region or resource); ``start_experiment`` returns before
the experiment runs (the fault's moment would be a guess); ``stop_experiments_by_tags``
also stops ``completed`` experiments.
"""

from __future__ import annotations

from typing import Any

from drdrill.errors import ConfigError, TargetError
from drdrill.support.wait import poll
from drdrill.targets.aws.clients import Clients, waiter_config
from drdrill.targets.aws.compute import Compute
from drdrill.targets.aws.profile import AwsProfile, AwsRegion, Scaling
from drdrill.targets.aws.safety import Guard

__all__ = ["Faults"]


class Faults:
    """Region failures of one target, remembered so that restore can undo them."""

    def __init__(
        self, profile: AwsProfile, clients: Clients, guard: Guard, compute: Compute, name: str
    ) -> None:
        self.profile = profile
        self.clients = clients
        self.guard = guard
        self.compute = compute
        self.name = name
        self._scaling: dict[str, Scaling] = {}
        self._stopped: dict[str, list[str]] = {}
        self._experiments: dict[str, str] = {}

    def fail(self, side: AwsRegion, mode: str) -> None:
        """Inject the configured failure into ``side``; returns once it is in force."""
        method = self.profile.failure_method
        if method == "fis":
            self._start_experiment(side, mode)
        elif method == "stop-instances":
            self._stop_instances(side)
        else:
            if not self.guard.dry_run:
                self._scaling[side.name] = self._current_scaling(side)
            zero = Scaling(min_size=0, max_size=side.scaling.max_size, desired_size=0)
            self.compute.scale_nodegroup(side, zero)

    def failed(self, side: AwsRegion) -> str | None:
        """How this target failed ``side`` and has not restored it yet (None: it did not,
        or restored it)."""
        if side.name in self._experiments:
            return f"FIS experiment {self._experiments[side.name]} running"
        if self._stopped.get(side.name):
            return f"instances {self._stopped[side.name]} stopped"
        if side.name in self._scaling:
            return f"nodegroup {side.nodegroup} scaled to 0"
        return None

    def restore(self, side: AwsRegion) -> None:
        """Undo ``fail`` (in the dry-run plan: what undoing it would call)."""
        method = self.profile.failure_method
        if method == "fis":
            self._stop_experiment(side)
        elif method == "stop-instances":
            self._start_instances(side)
        else:
            scaling = self._scaling.pop(side.name, None) or side.standby_scaling or side.scaling
            self.compute.scale_nodegroup(side, scaling)

    # -- nodegroups ------------------------------------------------------------

    def _current_scaling(self, side: AwsRegion) -> Scaling:
        eks = self.clients.aws("eks", side.name)
        found = self.guard.read(
            "eks",
            "describe_nodegroup",
            side.name,
            f"{side.eks_cluster}/{side.nodegroup}",
            lambda: eks.describe_nodegroup(
                clusterName=side.eks_cluster, nodegroupName=side.nodegroup
            ),
        )
        config = found["nodegroup"]["scalingConfig"]
        return Scaling(
            min_size=config["minSize"],
            max_size=config["maxSize"],
            desired_size=config["desiredSize"],
        )

    # -- instances -------------------------------------------------------------

    def _instances(self, side: AwsRegion) -> list[str] | str:
        """The instances to stop: the configured ids, or those running in the cluster
        (in dry-run, which ones is not looked up: a placeholder says how they would be)."""
        if side.instance_ids:
            return list(side.instance_ids)
        filters = [
            {"Name": "tag:eks:cluster-name", "Values": [side.eks_cluster]},
            {"Name": "instance-state-name", "Values": ["running"]},
        ]
        if self.guard.dry_run:
            return f"<running instances with {filters}>"
        ec2 = self.clients.aws("ec2", side.name)
        found = self.guard.read(
            "ec2",
            "describe_instances",
            side.name,
            side.eks_cluster,
            lambda: ec2.describe_instances(Filters=filters),
        )
        ids = [i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]]
        if not ids:
            raise TargetError(
                f"no running instance tagged eks:cluster-name={side.eks_cluster}: nothing to stop",
                region=side.name,
                resource=side.eks_cluster,
            )
        return ids

    def _stop_instances(self, side: AwsRegion) -> None:
        ids = self._instances(side)
        ec2 = self.clients.aws("ec2", side.name)
        resource = ",".join(ids) if isinstance(ids, list) else side.eks_cluster
        self.guard.call(ec2, "stop_instances", side.name, resource, InstanceIds=ids, Force=True)
        if isinstance(ids, list):
            self._stopped[side.name] = ids
            self._wait_instances(side, ids, "instance_stopped")

    def _start_instances(self, side: AwsRegion) -> None:
        ids = self._stopped.pop(side.name, None) or list(side.instance_ids)
        if not ids and not self.guard.dry_run:
            return
        ec2 = self.clients.aws("ec2", side.name)
        self.guard.call(
            ec2,
            "start_instances",
            side.name,
            ",".join(ids) or side.eks_cluster,
            InstanceIds=ids or "<the instances stopped by fail_region>",  # (dry-run only)
        )
        self._wait_instances(side, ids, "instance_running")

    def _wait_instances(self, side: AwsRegion, ids: list[str], waiter: str) -> None:
        if self.guard.dry_run:
            return
        ec2 = self.clients.aws("ec2", side.name)
        waiters = self.profile.waiters
        self.guard.read(
            "ec2",
            f"wait {waiter}",
            side.name,
            ",".join(ids),
            lambda: ec2.get_waiter(waiter).wait(
                InstanceIds=ids,
                WaiterConfig=waiter_config(waiters.experiment_s, waiters.poll_s),
            ),
        )

    # -- FIS -------------------------------------------------------------------

    def _template(self, side: AwsRegion) -> str:
        if side.fis_template_id is None:
            raise ConfigError(
                f"failure_method fis needs a fis_template_id for region {side.name}",
                key=f"targets.{self.name}.regions",
            )
        return side.fis_template_id

    def _start_experiment(self, side: AwsRegion, mode: str) -> None:
        template = self._template(side)
        fis = self.clients.aws("fis", side.name)
        tags = {"drdrill": self.name, "drdrill-mode": mode}
        started = self.guard.call(
            fis,
            "start_experiment",
            side.name,
            template,
            experimentTemplateId=template,
            tags=tags,
        )
        if started is None:
            return
        experiment = str(started["experiment"]["id"])
        self._experiments[side.name] = experiment
        self._wait_experiment(side, experiment, {"running", "completed"})

    def _stop_experiment(self, side: AwsRegion) -> None:
        experiment = self._experiments.pop(side.name, None)
        if experiment is None and not self.guard.dry_run:
            return
        fis = self.clients.aws("fis", side.name)
        self.guard.call(
            fis,
            "stop_experiment",
            side.name,
            experiment or self._template(side),
            id=experiment or "<the experiment started by fail_region>",  # (dry-run only)
        )
        if experiment is not None and not self.guard.dry_run:
            self._wait_experiment(side, experiment, {"stopped", "completed"})

    def _wait_experiment(self, side: AwsRegion, experiment: str, done: set[str]) -> None:
        fis = self.clients.aws("fis", side.name)
        waiters = self.profile.waiters
        last: dict[str, Any] = {}

        def settled() -> bool | None:
            found = self.guard.read(
                "fis",
                "get_experiment",
                side.name,
                experiment,
                lambda: fis.get_experiment(id=experiment),
            )
            last.update(found["experiment"]["state"])
            if last["status"] in done:
                return True
            if last["status"] in ("failed", "stopped", "completed"):
                raise TargetError(
                    f"FIS experiment {experiment} is {last['status']}: {last.get('reason')}",
                    region=side.name,
                    resource=experiment,
                )
            return None

        if poll(settled, waiters.experiment_s, interval_s=min(waiters.poll_s, 5.0)) is None:
            raise TargetError(
                f"FIS experiment {experiment} still {last.get('status')} after "
                f"{waiters.experiment_s:g}s",
                region=side.name,
                resource=experiment,
            )
