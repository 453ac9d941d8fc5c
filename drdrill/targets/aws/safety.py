"""Safety interlocks: nothing mutates an AWS account without an allow-listed id and --confirm.

Every mutating call goes through ``Guard.call(client, operation, region, resource,
**params)``, and its parameters are written once: the same ``params`` are audited
and sent. In dry-run the call is written to the plan ("would call") and to the
audit trail (outcome ``dry-run``) and not made; otherwise ``--confirm`` is
required, the caller identity is checked against the allow-list (once, before the
first mutation), the call is audited before (``started``) and after
(``succeeded``/``failed``) — datetimes as ISO 8601, secrets redacted — and a
botocore or kubernetes error becomes one ``TargetError`` naming the region and
the resource. Read-only calls (``Guard.read``) are audited too, once each after
the call (``read`` / ``read-failed``, region, resource, duration): every call the
target makes is in the trail.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from drdrill.errors import SafetyError, TargetError
from drdrill.records.audit import AuditTrail, as_json
from drdrill.support.redaction import redact
from drdrill.targets.aws.clients import Clients, KubeApps
from drdrill.targets.aws.profile import AwsProfile

__all__ = ["THROTTLING_CODES", "Guard", "PlannedCall", "service_of", "target_error"]

T = TypeVar("T")
_BOTO_ERRORS = (ClientError, BotoCoreError, ResponseParserError)

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        "ProvisionedThroughputExceededException",
    }
)


@dataclass(frozen=True)
class PlannedCall:
    """A call a dry run would have made."""

    service: str
    operation: str
    region: str
    parameters: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        args = " ".join(f"{k}={v}" for k, v in redact(as_json(self.parameters)).items())
        return f"{self.service} {self.operation} [{self.region}] {args}".rstrip()


def service_of(client: Any) -> str:
    """The service a client talks to: boto3's name for it (``rds``), else ``kubernetes``."""
    if isinstance(client, KubeApps):
        return "kubernetes"  # (without loading the kubeconfig)
    meta = getattr(client, "meta", None)
    service_model = getattr(meta, "service_model", None)
    if service_model is not None:
        return str(service_model.service_name)
    return "kubernetes"


def _is_kubernetes_error(exc: BaseException) -> bool:
    module = type(exc).__module__
    return module.startswith(("kubernetes", "urllib3"))


def target_error(
    exc: BaseException, action: str, region: str, resource: str, max_attempts: int
) -> TargetError:
    """One clear ``TargetError`` for a botocore/kubernetes failure of ``action``."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        attempts = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) + 1
        if code in THROTTLING_CODES:
            return TargetError(
                f"{action} was throttled by AWS ({code}): {attempts} attempts in adaptive "
                f"retry mode (max_attempts={max_attempts}) did not get through; nothing "
                "was changed by this call — retry later or raise max_attempts",
                region=region,
                resource=resource,
            )
        return TargetError(f"{action} failed: {code}: {exc}", region=region, resource=resource)
    status = getattr(exc, "status", None)
    reason = getattr(exc, "reason", None)
    if status is not None:
        return TargetError(
            f"{action} failed: HTTP {status} {reason or ''}".rstrip(),
            region=region,
            resource=resource,
        )
    return TargetError(f"{action} failed: {exc}", region=region, resource=resource)


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
        self.account: str | None = None

    def check_account(self) -> str:
        """The caller's account id, refused unless it is on the profile's allow-list."""
        region = self.profile.regions["primary"].name
        try:
            identity = self.clients.aws("sts", region).get_caller_identity()
        except _BOTO_ERRORS as exc:
            self._audit("sts:get_caller_identity", {"region": region}, "refused", error=str(exc))
            raise SafetyError(
                f"cannot confirm the AWS account, so nothing is changed: {exc}", region=region
            ) from exc
        account = str(identity["Account"])
        allowed = list(self.profile.allowed_account_ids)
        if account not in allowed:
            self._audit("sts:get_caller_identity", {"account": account}, "refused")
            raise SafetyError(
                f"AWS account {account} is not in targets.{self.name}.allowed_account_ids "
                f"{allowed}: refusing to touch it",
                region=region,
            )
        self._audit("sts:get_caller_identity", {"account": account}, "succeeded")
        self.account = account
        return account

    def _audit(self, action: str, parameters: dict[str, Any], outcome: str, **detail: Any) -> None:
        if self.audit is not None:
            self.audit.record(
                action, target=self.name, outcome=outcome, parameters=parameters, **detail
            )

    def call(self, client: Any, operation: str, region: str, resource: str, **params: Any) -> Any:
        """Make one mutating call, ``client.<operation>(**params)``, under the interlocks:
        the same ``params`` are audited and sent. Its result; None in dry-run."""
        service = service_of(client)
        action = f"{service}:{operation}"
        where = {"region": region, "resource": resource}
        if self.dry_run:
            self.plan.append(PlannedCall(service, operation, region, dict(params)))
            self._audit(action, params, "dry-run", **where)
            return None
        if not self.confirm:
            self._audit(action, params, "refused", reason="--confirm missing", **where)
            raise SafetyError(
                f"{action} on {resource} needs --confirm: target {self.name} is not the lab",
                region=region,
                resource=resource,
            )
        if self.account is None:
            self.check_account()
        self._audit(action, params, "started", **where)
        started = time.monotonic()
        try:
            result = getattr(client, operation)(**params)
        except Exception as exc:
            if not isinstance(exc, _BOTO_ERRORS) and not _is_kubernetes_error(exc):
                raise
            self._audit(action, params, "failed", error=str(exc), **where)
            raise target_error(exc, action, region, resource, self.profile.max_attempts) from exc
        took = round(time.monotonic() - started, 3)
        self._audit(action, params, "succeeded", duration_s=took, **where)
        return result

    def read(
        self, service: str, operation: str, region: str, resource: str, call: Callable[[], T]
    ) -> T:
        """A read-only call (also in dry-run): no interlock, errors wrapped once, and one
        audit record after it (outcome ``read``, or ``read-failed`` with the error), with
        its region, resource and duration. A botocore waiter is one such call."""
        action = f"{service}:{operation}"
        where = {"region": region, "resource": resource}
        started = time.monotonic()
        try:
            result = call()
        except Exception as exc:
            if not isinstance(exc, _BOTO_ERRORS) and not _is_kubernetes_error(exc):
                raise
            self._audit(action, {}, "read-failed", error=str(exc), **where)
            raise target_error(exc, action, region, resource, self.profile.max_attempts) from exc
        self._audit(action, {}, "read", duration_s=round(time.monotonic() - started, 3), **where)
        return result
