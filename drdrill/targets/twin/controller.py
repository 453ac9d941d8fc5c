"""The twin's controller: the lab follows what the emulated control plane was told.

Each pass reads the control plane (``desired``) and makes the lab match it:

- a region's nodegroup at zero, or an FIS experiment running on it → the lab region
  fails (by the mode the drill asked for); capacity back, experiment stopped → restored;
- the PRIMARY failover record's value → the edge's failover records; WEIGHTED records
  (a failback's traffic step) → the edge's weighted records with the primary's weight;
  failover records back after weighted ones → the edge's failover records back;
- ``PromoteReadReplica`` of a region's seeded replica → that region's lab standby
  promoted (the activation);
- the planned failback's and the backups' RDS calls, in trail order → the lab's
  failback steps and backups (``rds_calls``);
- the deployments' rollouts → the region's workers and their database, and the
  deployments' status back (``rollouts``); a rollout made after an RDS call not
  followed yet waits for it (trail order);
- what only the lab knows is reported back, as CloudWatch would: the ``ReplicaLag`` of
  every replica the failback created (``replica_lag``).

Route 53 health checks are not followed: the lab's edge checks its regions itself,
as Route 53's checkers would. Every lab action taken is audited (``twin_follow``,
``lab_actions``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

from drdrill.errors import TargetError
from drdrill.lab import Lab
from drdrill.records.audit import AuditTrail
from drdrill.targets.aws.profile import AwsProfile
from drdrill.targets.twin.desired import ControlPlaneReader, Desired, ordered
from drdrill.targets.twin.emulators import ControlPlane
from drdrill.targets.twin.lab_actions import LabActions
from drdrill.targets.twin.rds_calls import REGIONS, RdsFollower
from drdrill.targets.twin.replica_lag import ReplicaLagPublisher
from drdrill.targets.twin.rollouts import RolloutFollower

__all__ = ["Controller", "Desired"]

TRAIL_POLL_S = 0.02
"""How often the following thread looks at the trail between passes."""


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
        self.interval_s = interval_s
        self.failure_mode = failure_mode
        self._lock = threading.RLock()
        self._actions = LabActions(lab, audit, target_name)
        self._plane = ControlPlaneReader(plane, profile)
        self._rds = RdsFollower(lab, profile, self._actions)
        self._rollouts = RolloutFollower(
            lab,
            profile,
            self._actions,
            apps_of=self._plane.apps_of,
            database_of=self._rds.database_of,
        )
        self._lag = ReplicaLagPublisher(lab, profile, self._actions, self._rds, aws=self._plane.aws)
        self._serving = "primary"
        self._weights: dict[str, int] = {}
        """The weighted records last followed (empty: failover routing)."""

    @property
    def errors(self) -> list[str]:
        """What the lab failed to follow, oldest first."""
        return self._actions.errors

    @property
    def restored(self) -> set[str]:
        """Instances the lab restored as it followed RDS restores (named as RDS's)."""
        return self._rds.restored

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
                if self._lag.second_due():
                    with self._lock:
                        self._lag.publish_on_the_second()
                if time.monotonic() < due and not self._told():
                    continue
                self.follow_now()
            except Exception as exc:  # noted; the step's own follow_now raises it
                self._actions.note_error(f"{type(exc).__name__}: {exc}")
            due = time.monotonic() + self.interval_s

    def _told(self) -> bool:
        """Whether the trail holds a new request that changes the control plane (kept for
        the next pass to follow)."""
        with self._lock:
            return self._plane.told()

    def follow_now(self) -> None:
        """One pass now: read the control plane, make the lab match it. ``TargetError``
        when a lab action failed (since the last call)."""
        with self._lock:
            seen = len(self.errors)
            for _ in range(3):  # again while a pass left RDS calls for the next (trail order)
                desired = self.read()
                self._apply(desired)
                if not ordered(self._plane.unread):
                    break
            new = self.errors[seen:]
        if new:
            raise TargetError(f"the lab did not follow the control plane: {'; '.join(new)}")

    def read(self) -> Desired:
        """The control plane's state, as this pass sees it (``desired``)."""
        return self._plane.read()

    # -- making the lab match --------------------------------------------------

    def _apply(self, desired: Desired) -> None:
        do = self._actions.do
        state = self._actions.state()
        for region in REGIONS:
            failed = desired.failed.get(region, False)
            if failed and state.failures[region] is None:
                mode = self.failure_mode(region)
                do("nodegroup scaled to zero", self.lab.fail_region, region, mode=mode)
            elif not failed and state.failures[region] is not None:
                do("capacity restored", self.lab.restore_region, region)
        self._follow_records(desired)
        state = self._actions.state()
        for region in sorted(desired.promoted):
            if region not in state.promoted:
                do("read replica promoted", self.lab.promote_database, region)
            else:
                self._actions.record(
                    {"signal": "read replica promoted", "region": region}, "already"
                )
        for call in desired.failback:
            # the rollouts made meanwhile at once: the aws target moves on while the lab
            # works (the emulator's rollouts are ready at once), and the applications must
            # move to a promoted database before a later call (DR re-attached: a rebuild
            # of seconds) is followed
            if self._rds.follow(call):
                self._follow_rollouts(desired)
        # the rollouts made since, unless an RDS call not followed yet came before them
        # (trail order: the next pass follows it first)
        if not ordered(self._plane.read_newer()):
            self._follow_rollouts(desired)
        self._lag.publish(desired.read_at)

    def _follow_rollouts(self, desired: Desired) -> None:
        desired.deployments = self._plane.deployments()
        for region, deployments in desired.deployments.items():
            self._rollouts.follow(region, deployments)

    def _follow_records(self, desired: Desired) -> None:
        """Route 53's records of the global name → the edge's."""
        do = self._actions.do
        if desired.weights:
            if desired.weights != self._weights and do(
                "weighted records changed",
                self.lab.set_traffic_weight,
                "primary",
                desired.weights.get("primary", 0),
            ):
                self._weights = dict(desired.weights)
            return
        if desired.serving is None or (desired.serving == self._serving and not self._weights):
            return
        if self._weights:  # weighted records replaced by failover ones: the last step
            done = do("failover records back", self.lab.set_traffic_weight, desired.serving, 100)
        else:
            done = do("failover record UPSERTed", self.lab.fail_over_dns, desired.serving)
        if done:
            self._serving, self._weights = desired.serving, {}
