"""The lab follows the deployments' rollouts, and reports back what it runs.

A deployment's replicas changed → the region's workers; its ``DATABASE_URL`` changed →
the workers repointed, to a region's database or an instance the lab restored. Changes,
not levels: the lab's own failback steps move workers between databases without a
rollout, and must not be undone. Then the deployment's status says what the lab runs
(kmock runs no controllers, so without this no rollout would ever be ready).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drdrill.lab import Lab
from drdrill.lab.topology import MAX_WORKERS
from drdrill.targets.aws.profile import AwsProfile
from drdrill.targets.twin.lab_actions import LabActions
from drdrill.targets.twin.seed import NAMESPACE, instance_of_url

__all__ = ["RolloutFollower"]


class RolloutFollower:
    """Follows each region's deployments (module docstring)."""

    def __init__(
        self,
        lab: Lab,
        profile: AwsProfile,
        actions: LabActions,
        *,
        apps_of: Callable[[str], Any],
        database_of: Callable[[str], str | None],
    ) -> None:
        self.lab = lab
        self.profile = profile
        self.actions = actions
        self._apps_of = apps_of
        self._database_of = database_of
        """The lab database an RDS instance stands for."""
        self._seen: dict[str, tuple[int | None, str | None]] = {}
        """Each region's deployment (replicas, DATABASE_URL) as last seen: a rollout is a
        change of it (the seeded state is the first)."""
        for region, side in profile.regions.items():
            found = apps_of(region).list_namespaced_deployment(side.namespace).items
            if found:
                d = found[0]
                self._seen[region] = (d.spec.replicas, _env(d, profile.database_env_var))

    def follow(self, region: str, deployments: list[Any]) -> None:
        """A rollout (replicas or ``DATABASE_URL`` changed since the last pass) → the lab's
        workers; then every deployment's status says what the lab runs."""
        state = self.actions.state()
        if state.failures[region] is not None or not deployments:
            return  # (a change waits until the region is back)
        # every deployment of the region stands for its order-service workers
        d = deployments[0]
        now = (d.spec.replicas, _env(d, self.profile.database_env_var))
        before = self._seen.get(region, now)
        self._seen[region] = now
        replicas = min(max(now[0] or 0, 1), MAX_WORKERS)
        if now[0] != before[0] and replicas != state.workers[region]:
            self.actions.do("deployment scaled", self.lab.scale_region, region, replicas)
        database = self._database_of(instance_of_url(now[1] or ""))
        if (
            now[1] != before[1]
            and database is not None
            and database != self.actions.state().database_of[region]
        ):
            self.actions.do(
                "DATABASE_URL rolled out", self.lab.repoint_applications, region, database
            )
        running = self.actions.state().workers[region]
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


def _env(deployment: Any, variable: str) -> str | None:
    for container in deployment.spec.template.spec.containers or []:
        for entry in container.env or []:
            if entry.name == variable:
                return str(entry.value)
    return None
