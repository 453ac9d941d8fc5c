"""Safety interlocks: nothing mutates an AWS account without an allow-listed id and --confirm.

Every mutating call goes through ``Guard.mutate``: in dry-run it is written to the
plan and the audit trail and not made; otherwise the caller identity is checked
against the allow-list (once, before the first mutation), the call is audited
before and after, and a botocore/kubernetes error becomes a ``TargetError``
naming the region and resource.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from drdrill.audit import AuditTrail, redact
from drdrill.errors import SafetyError, TargetError
from drdrill.targets.aws.clients import Clients
from drdrill.targets.aws.profile import AwsProfile

__all__ = ["Guard", "PlannedCall"]

T = TypeVar("T")


@dataclass(frozen=True)
class PlannedCall:
    """A call a dry run would have made."""

    service: str
    operation: str
    region: str
    parameters: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        args = " ".join(f"{k}={v}" for k, v in redact(self.parameters).items())
        return f"{self.service} {self.operation} [{self.region}] {args}"


class Guard:
    """The interlocks of one AWS target."""

    def __init__(
        self,
        profile: AwsProfile,
        clients: Clients,
        name: str,
        *,
        confirm: bool,
        dry_run: bool,
        audit: AuditTrail | None,
    ) -> None:
        self.profile = profile
        self.clients = clients
        self.name = name
        self.confirm = confirm
        self.dry_run = dry_run
        self.audit = audit
        self.plan: list[PlannedCall] = []
        self._account_checked = False

    def check_account(self) -> str:
        """The caller's account id, refused unless it is on the profile's allow-list."""
        region = self.profile.regions["primary"].name
        try:
            identity = self.clients.aws("sts", region).get_caller_identity()
        except (ClientError, BotoCoreError) as exc:
            raise SafetyError(f"cannot confirm the AWS account: {exc}", region=region) from exc
        account = str(identity["Account"])
        if account not in self.profile.allowed_account_ids:
            self._audit("check_account", {"account": account}, "refused")
            raise SafetyError(
                f"AWS account {account} is not in targets.{self.name}.allowed_account_ids "
                f"{list(self.profile.allowed_account_ids)}: refusing to touch it"
            )
        self._account_checked = True
        return account

    def _audit(self, action: str, parameters: dict[str, Any], outcome: str, **detail: Any) -> None:
        if self.audit is not None:
            self.audit.record(
                action, target=self.name, outcome=outcome, parameters=parameters, **detail
            )

    def mutate(
        self,
        service: str,
        operation: str,
        region: str,
        resource: str,
        call: Callable[[], T],
        **parameters: Any,
    ) -> T | None:
        """Make one mutating call under the interlocks; None in dry-run."""
        planned = PlannedCall(service, operation, region, parameters)
        action = f"{service}:{operation}"
        if self.dry_run:
            self.plan.append(planned)
            self._audit(action, {"region": region, **parameters}, "dry-run")
            return None
        if not self.confirm:
            self._audit(action, {"region": region, **parameters}, "refused")
            raise SafetyError(
                f"{action} on {resource} needs --confirm: target {self.name} is not the lab",
                region=region,
                resource=resource,
            )
        if not self._account_checked:
            self.check_account()
        self._audit(action, {"region": region, **parameters}, "started")
        started = time.monotonic()
        try:
            result = call()
        except (ClientError, BotoCoreError) as exc:
            self._audit(action, {"region": region, **parameters}, "failed", error=str(exc))
            raise TargetError(f"{action} failed: {exc}", region=region, resource=resource) from exc
        except Exception as exc:
            if type(exc).__module__.startswith("kubernetes"):
                self._audit(action, {"region": region, **parameters}, "failed", error=str(exc))
                raise TargetError(
                    f"{action} failed: {exc}", region=region, resource=resource
                ) from exc
            raise
        self._audit(
            action,
            {"region": region, **parameters},
            "succeeded",
            duration_s=round(time.monotonic() - started, 3),
        )
        return result

    def read(
        self, service: str, operation: str, region: str, resource: str, call: Callable[[], T]
    ) -> T:
        """A read-only call: no interlock, errors wrapped once."""
        try:
            return call()
        except (ClientError, BotoCoreError) as exc:
            raise TargetError(
                f"{service}:{operation} failed: {exc}", region=region, resource=resource
            ) from exc
