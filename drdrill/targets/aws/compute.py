"""EKS nodegroups and Kubernetes deployments: scale, set the database variable, wait.

Nodegroups: ``update_nodegroup_config`` then the ``nodegroup_active`` waiter.
Deployments: the ``/scale`` subresource patched, then readiness polled until every
deployment has ``readyReplicas``, ``updatedReplicas`` and ``observedGeneration``
caught up — or the waiter's timeout passes (``TargetError`` naming the laggards).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from drdrill.errors import TargetError
from drdrill.support.wait import poll
from drdrill.targets.aws.clients import Clients, waiter_config
from drdrill.targets.aws.profile import AwsProfile, AwsRegion, Scaling
from drdrill.targets.aws.safety import Guard

__all__ = ["Compute"]


class Compute:
    """Nodegroups and deployments of the regions."""

    def __init__(self, profile: AwsProfile, clients: Clients, guard: Guard) -> None:
        self.profile = profile
        self.clients = clients
        self.guard = guard

    def scale_nodegroup(self, side: AwsRegion, scaling: Scaling) -> None:
        """Set the nodegroup's scaling config and wait until it is ACTIVE again."""
        eks = self.clients.aws("eks", side.name)
        config = {
            "minSize": scaling.min_size,
            "maxSize": scaling.max_size,
            "desiredSize": scaling.desired_size,
        }
        resource = f"{side.eks_cluster}/{side.nodegroup}"
        self.guard.call(
            eks,
            "update_nodegroup_config",
            side.name,
            resource,
            clusterName=side.eks_cluster,
            nodegroupName=side.nodegroup,
            scalingConfig=config,
        )
        if self.guard.dry_run:
            return
        waiters = self.profile.waiters
        self.guard.read(
            "eks",
            "wait nodegroup_active",
            side.name,
            resource,
            lambda: eks.get_waiter("nodegroup_active").wait(
                clusterName=side.eks_cluster,
                nodegroupName=side.nodegroup,
                WaiterConfig=waiter_config(waiters.nodegroup_s, waiters.poll_s),
            ),
        )

    def scale_deployments(self, side: AwsRegion, replicas: int) -> None:
        """Scale every deployment of the region to ``replicas`` and wait until ready."""
        apps = self.clients.kube_apps(side.kube_context)
        for deployment in side.deployments:
            self.guard.call(
                apps,
                "patch_namespaced_deployment_scale",
                side.name,
                f"{side.kube_context}/{side.namespace}/{deployment}",
                name=deployment,
                namespace=side.namespace,
                body={"spec": {"replicas": replicas}},
            )
        if not self.guard.dry_run:
            self.wait_ready(side, replicas)

    def set_database_url(self, side: AwsRegion, url: str) -> None:
        """Set the database variable on every container of every deployment (the plan's
        ``kubectl set env``), then wait for the rollout."""
        variable = self.profile.database_env_var
        apps = self.clients.kube_apps(side.kube_context)
        for deployment in side.deployments:
            resource = f"{side.kube_context}/{side.namespace}/{deployment}"
            if self.guard.dry_run:  # the deployment is not read: the plan shows the change
                patch = _template_patch(
                    side.namespace, [{"name": "<every container>", "env": [_env(variable, url)]}]
                )
            else:
                current = self.guard.read(
                    "kubernetes",
                    "read_namespaced_deployment",
                    side.name,
                    resource,
                    partial(apps.read_namespaced_deployment, deployment, side.namespace),
                )
                patch = _env_patch(apps, current, side.namespace, variable, url)
            self.guard.call(
                apps,
                "patch_namespaced_deployment",
                side.name,
                resource,
                name=deployment,
                namespace=side.namespace,
                body=patch,
            )
        if not self.guard.dry_run:
            self.wait_ready(side)

    def database_urls(self, side: AwsRegion) -> dict[str, str]:
        """The database variable of every deployment of the region, as its first container
        that sets it has it (a deployment without it is left out). Read-only."""
        variable = self.profile.database_env_var
        apps = self.clients.kube_apps(side.kube_context)
        found = {}
        for deployment in side.deployments:
            current = self.guard.read(
                "kubernetes",
                "read_namespaced_deployment",
                side.name,
                f"{side.kube_context}/{side.namespace}/{deployment}",
                partial(apps.read_namespaced_deployment, deployment, side.namespace),
            )
            for container in current.spec.template.spec.containers:
                values = [e.value for e in container.env or [] if e.name == variable]
                if values:
                    found[deployment] = str(values[0])
                    break
        return found

    def wait_ready(self, side: AwsRegion, replicas: int | None = None) -> None:
        """Poll until every deployment is rolled out and ready (``replicas``: at least
        that many; None: its spec's), or raise after the rollout timeout."""
        apps = self.clients.apps(side.kube_context)
        waiters = self.profile.waiters
        pending = list(side.deployments)

        def all_ready() -> bool | None:
            pending[:] = [d for d in pending if not self._ready(apps, side, d, replicas)]
            return True if not pending else None

        if poll(all_ready, waiters.rollout_s, interval_s=waiters.kube_poll_s) is None:
            raise TargetError(
                f"deployments not rolled out and ready after {waiters.rollout_s:g}s: {pending}",
                region=side.name,
                resource=f"{side.kube_context}/{side.namespace}",
            )

    def _ready(self, apps: Any, side: AwsRegion, deployment: str, replicas: int | None) -> bool:
        d = self.guard.read(
            "kubernetes",
            "read_namespaced_deployment_status",
            side.name,
            f"{side.kube_context}/{side.namespace}/{deployment}",
            partial(apps.read_namespaced_deployment_status, deployment, side.namespace),
        )
        want = replicas if replicas is not None else (d.spec.replicas or 0)
        status = d.status
        if status is None:
            return want == 0
        return bool(
            (status.ready_replicas or 0) >= want
            and (status.updated_replicas or 0) >= want
            and (status.observed_generation or 0) >= (d.metadata.generation or 0)
        )


def _env(variable: str, url: str) -> dict[str, str]:
    return {"name": variable, "value": url}


def _template_patch(namespace: str, containers: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "metadata": {"namespace": namespace},
        "spec": {"template": {"spec": {"containers": containers}}},
    }


def _env_patch(apps: Any, current: Any, namespace: str, variable: str, url: str) -> dict[str, Any]:
    """A patch of the pod template with ``variable=url`` on every container.

    Whole containers with their whole env are sent: a strategic merge would keep the
    rest, but a plain merge (and the emulator) replaces lists, so nothing may be lost.
    """
    containers = []
    for container in current.spec.template.spec.containers:
        body = apps.api_client.sanitize_for_serialization(container)
        env = [e for e in body.get("env") or [] if e.get("name") != variable]
        env.append(_env(variable, url))
        body["env"] = env
        containers.append(body)
    return _template_patch(namespace, containers)
