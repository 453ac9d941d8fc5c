"""The ``aws-twin`` target: the lab drilled through the aws target's calls.

Every activation step is the aws target's (``drdrill.targets.aws``): its boto3 calls go
to moto in server mode and its Kubernetes calls to an emulator per cluster, all on
127.0.0.1 (``emulators``), seeded to mirror the lab (``seed``); a controller makes the
lab follow what that control plane was told (``controller``). Customers, probes, the
write ledger and so RTO and RPO stay on the lab's data plane, where they are measured.
Each step returns once the lab has followed: a phase's time is the aws target's calls
plus the lab doing what they asked.

Safety: the inner aws target keeps every interlock. Its calls pass ``Guard.call``:
audited, and refused unless STS answers with an allow-listed account — the twin's
allow-list is moto's account only, and its clients are pinned to the twin's own
emulator (``endpoint_url``, the twin's kubeconfig) with placeholder credentials from a
session of their own, so no call and no credential can reach a real account. Like
the lab, the twin lives on this machine: no ``--confirm`` and no approver (the twin
confirms its inner target itself); a real ``kind: aws`` profile is untouched by this.

What the twin cannot prove: AWS's own timings (Route 53 propagation and health-check
intervals, node launches, RDS promotion — moto answers at once; ``drdrill plan``
prints their floor), IAM permissions, service quotas and throttling, nor that the
real controllers (EKS, Kubernetes, RDS) behave as this controller plays them.
"""

from __future__ import annotations

import threading
from typing import Any

from drdrill.audit import AuditTrail
from drdrill.config import DrillConfig
from drdrill.lab import Lab
from drdrill.targets.aws.clients import Clients
from drdrill.targets.aws.target import AwsTarget
from drdrill.targets.base import FailureMode, ServiceCheck
from drdrill.targets.lab_target import LabTarget
from drdrill.targets.twin.controller import Controller
from drdrill.targets.twin.emulators import ControlPlane
from drdrill.targets.twin.profile import AwsTwinProfile
from drdrill.targets.twin.seed import seed

__all__ = ["AwsTwinTarget"]


class AwsTwinTarget:
    """The lab behind an emulated AWS control plane, drilled by the aws target."""

    def __init__(
        self,
        profile: AwsTwinProfile,
        config: DrillConfig,
        *,
        name: str = "aws-twin",
        dry_run: bool = False,
        audit: AuditTrail | None = None,
    ) -> None:
        self.name = name
        self.twin = profile
        self.config = config
        self.dry_run = dry_run
        self.audit = audit
        self.data_plane = LabTarget(Lab.from_config(config), config, audit)
        self.lab = self.data_plane.lab
        self._aws: AwsTarget | None = None
        self._controller: Controller | None = None
        self._modes: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- the control plane ------------------------------------------------------

    @property
    def aws(self) -> AwsTarget:
        """The aws target drilling the twin (its emulators started and seeded on first use)."""
        with self._lock:
            if self._aws is None:
                self._aws = self._start()
            return self._aws

    def _start(self) -> AwsTarget:
        self.lab.require_up()
        plane = ControlPlane.start(self.lab, self.twin)
        profile = seed(plane, self.lab, self.config, self.twin)
        clients = Clients(profile, session=plane.session())
        target = AwsTarget(
            profile,
            self.name,
            confirm=True,
            dry_run=self.dry_run,
            audit=self.audit,
            clients=clients,
        )
        self._controller = Controller(
            self.lab,
            plane,
            profile,
            interval_s=float(self.twin.follow_interval),
            failure_mode=lambda region: self._modes.get(region, "power-off"),
            audit=self.audit,
            target_name=self.name,
        ).start()
        if self.audit is not None:
            self.audit.record(
                "twin_started",
                target=self.name,
                outcome="succeeded",
                parameters={
                    "aws_endpoint": plane.aws_url,
                    "kube_contexts": plane.contexts,
                    "hosted_zone_id": profile.dns.hosted_zone_id,
                },
            )
        return target

    def _follow(self) -> None:
        """Return once the lab does what the control plane was told."""
        if self._controller is not None and not self.dry_run:
            self._controller.follow_now()

    def release(self) -> None:
        """Stop the controller (the emulators stay with the lab: ``lab down`` ends them)."""
        with self._lock:
            if self._controller is not None:
                self._controller.stop()
            self._controller, self._aws = None, None

    # -- SelfProvisioning, and what the lab's data plane answers ------------------

    def ensure_up(self) -> None:
        """The lab up, then the twin's control plane started and seeded to mirror it."""
        self.data_plane.ensure_up()
        self.aws  # noqa: B018 (started on first use)

    def process_marker(self) -> dict[str, str]:
        return self.data_plane.process_marker()

    def endpoint(self) -> str:
        return self.lab.edge_url

    def database_dsn(self, region: str) -> str:
        """The lab's database: the write ledger and RPO are checked on the data plane."""
        return self.data_plane.database_dsn(region)

    def answering_region(self) -> str | None:
        return self.data_plane.answering_region()

    def replication_lag_s(self) -> float | None:
        return self.data_plane.replication_lag_s()

    def verify_services(self, region: str | None = None, timeout_s: float = 2.0) -> ServiceCheck:
        """The aws target's HTTP checks (its endpoints are the lab's edge and gateways);
        the lab's own when the control plane is not running (after ``release``)."""
        if self._aws is None:
            return self.data_plane.verify_services(region, timeout_s)
        return self._aws.verify_services(region, timeout_s)

    # -- the target protocol, through the aws target ------------------------------

    def fail_region(self, region: str, mode: FailureMode) -> None:
        """The aws target's failure method (nodegroup to zero, or FIS); the lab region
        fails by ``mode`` once the control plane shows it."""
        self._modes[region] = mode
        self.aws.fail_region(region, mode)
        self._follow()

    def restore_region(self, region: str) -> None:
        self.aws.restore_region(region)
        self._follow()

    def fail_over_dns(self, to_region: str) -> None:
        self.aws.fail_over_dns(to_region)
        self._follow()

    def scale_region(self, region: str, replicas: int | None = None) -> None:
        self.aws.scale_region(region, replicas)
        self._follow()

    def promote_database(self, region: str) -> None:
        self.aws.promote_database(region)
        self._follow()

    def repoint_applications(self, region: str, database_region: str) -> None:
        self.aws.repoint_applications(region, database_region)
        self._follow()

    def fail_back(self) -> None:
        """The aws target's fail back (fault undone, DNS to primary, dr to standby
        capacity), followed by the lab; then the data carried home on the lab (the aws
        target has no call for it yet) and the control plane seeded afresh to mirror
        the lab's steady state."""
        error: BaseException | None = None
        try:
            self.aws.fail_back()
            self._follow()
        except Exception as exc:  # the lab is put back whatever the control plane did
            error = exc
        finally:
            self.release()
            self.data_plane.fail_back()
        if error is not None:
            raise error

    def health_check_status(self) -> dict[str, Any]:
        return self.aws.health_check_status()
