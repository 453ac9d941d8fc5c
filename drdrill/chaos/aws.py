"""Chaos Toolkit probes for plain chaostoolkit-aws experiments (``aws-region-failure.json``):
only what chaostoolkit-aws has no activity for.

- ``account_allowed``: the interlock drdrill's aws target applies to itself (``--confirm``
  and an allow-listed account), for an experiment whose faults are chaostoolkit-aws's.
  It asks STS through chaostoolkit-aws's own client factory, so it checks the very
  credentials, region and endpoint the experiment's actions will use. Refused, it ends
  the run the way ``chaoslib.exit.exit_ungracefully`` does: no method, and no rollbacks
  either (a rollback that starts instances is a change too).
- ``health_check_healthy``: a tolerance for chaostoolkit-aws's
  ``get_health_check_status``: Route 53's own rule, an endpoint is healthy when more
  than 18 % of its checkers report success.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Mapping
from typing import Any

from chaosaws import aws_client
from chaoslib.exceptions import ActivityFailed
from chaoslib.exit import exit_ungracefully
from chaoslib.types import Configuration, Secrets

__all__ = ["account_allowed", "health_check_healthy"]

logger = logging.getLogger("chaostoolkit")

HEALTHY_SHARE = 0.18
"""Route 53 calls an endpoint healthy when more than this share of its checkers do."""

_YES = frozenset({"1", "true", "yes"})


def _inside_a_run() -> bool:
    """chaoslib handles SIGUSR2 while an experiment runs; outside a run it would kill."""
    usr2 = getattr(signal, "SIGUSR2", None)
    return usr2 is not None and signal.getsignal(usr2) not in (signal.SIG_DFL, signal.SIG_IGN)


def _refuse(reason: str) -> None:
    logger.error("refusing to touch AWS: %s", reason)
    if _inside_a_run():
        exit_ungracefully()  # SIGUSR2: chaoslib ends the run, rollbacks skipped
    raise ActivityFailed(f"refusing to touch AWS: {reason}")


def account_allowed(
    allowed_account_ids: str,
    confirm: str = "false",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> bool:
    """The run may change AWS: ``confirm`` is true and STS ``get_caller_identity`` (with
    the credentials chaostoolkit-aws uses) returns an account among
    ``allowed_account_ids`` (comma-separated). Otherwise the run ends at once, before the
    method, and no rollback runs. True (logged with the account) when it may."""
    allowed = [a.strip() for a in str(allowed_account_ids).split(",") if a.strip()]
    if str(confirm).strip().lower() not in _YES:
        _refuse("not confirmed (set DRDRILL_CONFIRM=true, or the confirm configuration key)")
    if not allowed:
        _refuse("no allowed account (set DRDRILL_ALLOWED_ACCOUNT_IDS=123456789012,...)")
    try:
        identity = aws_client("sts", configuration, secrets).get_caller_identity()
    except Exception as exc:  # botocore's errors, or no credentials at all
        _refuse(f"cannot confirm the AWS account: {exc}")
        raise  # (not reached)
    account = str(identity["Account"])
    if account not in allowed:
        _refuse(f"AWS account {account} is not among the allowed accounts {allowed}")
    logger.info("AWS account %s is allowed and the run is confirmed", account)
    return True


def health_check_healthy(value: Mapping[str, Any] | None = None) -> bool:
    """Tolerance for ``chaosaws.route53.probes.get_health_check_status``: more than 18 %
    of the health checkers report ``Success`` (Route 53's rule for a healthy endpoint)."""
    observations = (value or {}).get("HealthCheckObservations") or []
    if not observations:
        return False
    ok = sum(
        1
        for o in observations
        if str(o.get("StatusReport", {}).get("Status", "")).startswith("Success")
    )
    return ok / len(observations) > HEALTHY_SHARE
