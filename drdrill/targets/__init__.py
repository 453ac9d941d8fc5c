"""Targets: the systems a drill can run against (``lab``, ``aws``, ``aws-twin``).

``open_target`` is the one factory steps, experiments and the CLI use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drdrill.errors import SafetyError

if TYPE_CHECKING:
    from drdrill.config import DrillConfig
    from drdrill.records.audit import AuditTrail
    from drdrill.support.lock import TargetLock
    from drdrill.targets.base import Target

__all__ = ["LOCAL_KINDS", "lock_name", "open_target", "target_lock"]

LOCAL_KINDS = frozenset({"lab", "aws-twin"})
"""Target kinds that live on this machine: drilling them changes nothing real, so they
need neither ``--confirm`` nor an approver (``aws-twin`` still passes the aws target's
interlocks, against its own emulator: see ``drdrill.targets.twin``)."""


def open_target(
    config: DrillConfig,
    name: str = "lab",
    *,
    confirm: bool = False,
    dry_run: bool = False,
    audit: AuditTrail | None = None,
) -> Target:
    """The target profile ``name`` of ``config``, ready to drill.

    A non-lab target refuses to mutate anything unless ``confirm`` is given
    (``dry_run`` prints and audits what would be done instead).
    """
    profile = config.target(name)
    if profile.kind == "lab":
        from drdrill.targets.lab_target import LabTarget

        return LabTarget.from_config(config, audit=audit)
    if profile.kind == "aws-twin":
        from drdrill.targets.twin.target import AwsTwinTarget

        return AwsTwinTarget(profile, config, name=name, dry_run=dry_run, audit=audit)
    if not confirm and not dry_run:
        raise SafetyError(
            f"target {name!r} is not the lab: pass --confirm to drill it, "
            "or --dry-run to see what would be done"
        )
    from drdrill.targets.aws.target import AwsTarget

    return AwsTarget.from_profile(
        profile, config, name=name, confirm=confirm, dry_run=dry_run, audit=audit
    )


def lock_name(config: DrillConfig, name: str = "lab") -> str:
    """What the lock of target ``name`` is named for (``drdrill.support.lock``).

    A lab, and the AWS twin (which drives the lab): ``lab at <resolved state dir>``, so
    two configs naming one directory (another base port, a relative or symlinked path)
    share one lock. An AWS profile: its name and its allowed accounts (the account really
    drilled is only learned from STS after the lock is taken; a profile allows one in
    practice). Any other target: its kind and profile name."""
    from drdrill.targets.aws.profile import AwsProfile

    profile = config.target(name)
    if profile.kind in LOCAL_KINDS:
        return f"lab at {config.lab.state_dir.resolve()}"
    if isinstance(profile, AwsProfile):
        return f"{profile.kind} {name} account {'+'.join(sorted(profile.allowed_account_ids))}"
    return f"{profile.kind} {name}"


def target_lock(
    config: DrillConfig,
    name: str = "lab",
    *,
    command: str,
    drill_id: str = "",
    refuse_abandoned: bool = True,
) -> TargetLock:
    """The (not yet acquired) lock of target ``name`` for ``command``. Taking it is refused
    (``DrillAbandoned``) while a drill on the target is abandoned, unless
    ``refuse_abandoned`` is False (``drdrill recover``, which rolls that drill back)."""
    if not refuse_abandoned:
        from drdrill.support.lock import TargetLock

        return TargetLock(lock_name(config, name), command, drill_id)
    from drdrill.orchestration.journal import GuardedLock, journal_path

    return GuardedLock(lock_name(config, name), command, drill_id, journal_path(config, name))
