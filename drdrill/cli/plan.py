"""``drdrill plan full|partial|backup_restore|failback --target PROFILE``: the runbook,
executed nowhere.

Every call a drill would make, resolved against the real configuration, with its
parameters, phase by phase (``drdrill.measurement.phases``) — the plan's tabletop exercise.
Nothing is mutated and nothing is called: an AWS target runs in dry-run mode,
which records each mutating call ("would call") instead of making it, with
clients that refuse every call — no AWS client is created (creating one already
looks for credentials, on the network too) and no Kubernetes configuration is
read, so a plan works on a laptop without credentials or kubeconfig. For the lab
it prints the lab's steps.

``failback`` is the plan's Failback Procedures: each phase with its target, the calls
it would make, the expected floor, and — for the snapshot method — the data-loss
warning. A failback the profile would refuse (the snapshot method without its write
freeze, no fence parameter group) is still shown in full, its refusal said first.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from drdrill.errors import DrillError, TargetError
from drdrill.measurement.phases import ACTIVATION_PHASES, FAILBACK_PHASES, RESTORE_PHASES

# The AWS modules (boto3, pydantic profiles) load only when a plan is for an AWS target.
if TYPE_CHECKING:
    from drdrill.config import DrillConfig
    from drdrill.targets.aws.clients import Clients
    from drdrill.targets.aws.profile import AwsProfile
    from drdrill.targets.aws.target import AwsTarget

__all__ = ["register"]

Section = tuple[str, Callable[[], object]]
PARTIAL = ("dns_failover", "database_promotion", "service_verification")

_LAB_STEPS = {
    "assessment": "confirm region primary is down (3 checks through its gateway)",
    "dns_failover": "edge UPSERT: PRIMARY -> dr, SECONDARY -> primary",
    "scale_dr": "dr order-service workers {dr_workers} -> {dr_scaled_workers}",
    "database_promotion": "pg_promote() on the dr standby",
    "repoint_applications": "POST /_admin/database on every dr worker (dr database)",
    "service_verification": "health + place/read order + browse through the edge",
}
_LAB_BACKUP_STEPS = (
    "base backup of the primary (snapshot) into the primary's backup store",
    "copy of the snapshot into the dr backup store (cross-region copy)",
    "restore of the snapshot into a scratch PostgreSQL instance",
    "point-in-time restore: base backup + WAL archive up to the chosen time",
    "object store: list versions, copy an earlier version over the current one",
)


_LAB_FAILBACK_STEPS = {
    "prepare_primary": "pg_rewind of the old primary (else a fresh base backup) as dr's standby",
    "verify_primary": "primary's gateway checks; order census + acknowledged writes on both",
    "traffic_shift": "edge WEIGHTED records: {steps} % to primary",
    "switchover": "fence dr, wait for replay, promote primary, repoint, re-attach dr",
    "scale_down_dr": "dr order-service workers back to {dr_workers}",
    "validate_dr": "dr streams from primary, lag under the alarm",
}


def _lab(config: DrillConfig, kind: str) -> int:
    lab = config.lab
    if kind == "failback":
        steps = " -> ".join(str(p) for p in config.failback.traffic_steps)
        for phase in FAILBACK_PHASES:
            step = _LAB_FAILBACK_STEPS[phase.name].format(steps=steps, dr_workers=lab.dr_workers)
            print(f"{phase.number}. {phase.title}: {step}")
        return 0
    if kind == "backup_restore":
        for number, step in enumerate(_LAB_BACKUP_STEPS, 1):
            print(f"{number}. {step}")
        return 0
    for phase in ACTIVATION_PHASES:
        if kind == "partial" and phase.name not in PARTIAL:
            continue
        step = _LAB_STEPS[phase.name].format(
            dr_workers=lab.dr_workers, dr_scaled_workers=lab.dr_scaled_workers
        )
        print(f"{phase.number}. {phase.title}: {step}")
    return 0


def _activation(target: AwsTarget, kind: str) -> list[Section]:
    profile = target.profile
    primary, dr = profile.regions["primary"], profile.regions["dr"]
    checks = list(profile.dns.all_health_check_ids()) or "none configured"
    actions: dict[str, Callable[[], object]] = {
        "assessment": lambda: _note(
            f"Route 53 health-check status ({checks}); HTTP health and critical flows "
            f"through {primary.endpoint or profile.global_endpoint}"
        ),
        "dns_failover": lambda: target.fail_over_dns("dr"),
        "scale_dr": lambda: target.scale_region("dr", dr.replicas),
        "database_promotion": lambda: target.promote_database("dr"),
        "repoint_applications": lambda: target.repoint_applications("dr", "dr"),
        "service_verification": lambda: _note(
            f"HTTP health and critical flows through {profile.global_endpoint}"
        ),
    }
    sections: list[Section] = []
    if kind == "full":
        sections.append(
            (
                f"0. Fault injection (the drill's disaster, by {profile.failure_method})",
                lambda: target.fail_region("primary", "power-off"),
            )
        )
    for phase in ACTIVATION_PHASES:
        if kind == "partial" and phase.name not in PARTIAL:
            continue
        sections.append((f"{phase.number}. {phase.title}", actions[phase.name]))
    sections.append(("Fail back to the steady state (always runs)", target.fail_back))
    return sections


def _failback(target: AwsTarget, config: DrillConfig) -> list[Section]:
    from drdrill.report.metrics_table import human_duration

    profile = target.profile
    primary, dr = profile.regions["primary"], profile.regions["dr"]
    failback = target.failback

    actions: dict[str, Callable[[], object]] = {
        "prepare_primary": lambda: target.rebuild_database("primary"),
        "verify_primary": lambda: _note(
            f"HTTP health and critical flows through {primary.endpoint or '<primary endpoint>'}"
            f"; order census and acknowledged writes of {dr.rds_instance} (dr reader_dsn) "
            f"against {failback.primary_instance} (primary reader_dsn) at one moment"
        ),
        "switchover": lambda: target.switchover("primary"),
        "scale_down_dr": lambda: target.scale_down_region("dr"),
        "validate_dr": lambda: _note(
            f"rds describe_db_instances: {failback.dr_replica_instance} replicates from "
            f"{failback.primary_instance}; cloudwatch ReplicaLag under the alarm "
            f"({human_duration(config.alarms.replica_lag)})"
        ),
    }
    sections: list[Section] = []
    dwell = human_duration(config.failback.step_dwell)
    for phase in FAILBACK_PHASES:
        goal = human_duration(config.phases.target_for(phase.name))
        title = f"{phase.number}. {phase.title} (target {goal})"
        if phase.name != "traffic_shift":
            sections.append((title, actions[phase.name]))
            continue
        for percent in config.failback.traffic_steps:
            step = f"{title}: {percent} % to primary, held {dwell} (failback.step_dwell)"
            sections.append((step, partial(target.shift_traffic, "primary", percent)))
    return sections


def _plannable(profile: AwsProfile) -> tuple[AwsProfile, list[str]]:
    """``profile`` with what a failback would refuse for filled in (so its runbook is
    shown whole), and the refusals to say first."""
    settings = profile.failback
    refusals = []
    update: dict[str, Any] = {}
    if settings.fence_parameter_group is None:
        refusals.append(
            "failback.fence_parameter_group is not set: the failback refuses (it fences "
            "writes on the DR database through its parameter group)"
        )
        update["fence_parameter_group"] = "<failback.fence_parameter_group>"
    if settings.method == "snapshot" and not settings.freeze_writes:
        refusals.append(
            "failback.method snapshot without failback.freeze_writes: true: the failback "
            "refuses (every write after the snapshot would be lost); set freeze_writes: "
            "true or method: read-replica"
        )
        update["freeze_writes"] = True
    return profile.model_copy(update={"failback": settings.model_copy(update=update)}), refusals


def _backups(target: AwsTarget, when: datetime) -> list[Section]:
    profile = target.profile
    restore = RESTORE_PHASES[0]
    buckets = [b for side in profile.regions.values() for b in side.s3_buckets]

    def objects() -> None:
        if not buckets:
            _note("no S3 buckets configured (regions.*.s3_buckets)")
        else:
            _note(f"s3 list_object_versions of {buckets}, then per object to recover:")
        for bucket in buckets:
            target.restore_object_version(bucket, "<key>", "<version id chosen by the drill>")

    def restores() -> None:
        target.restore_snapshot("drdrill-plan", "drdrill-plan-primary", "primary")
        target.restore_snapshot("drdrill-plan", "drdrill-plan-dr", "dr")

    def point_in_time() -> None:
        target.restore_to_point_in_time(when, "drdrill-plan-pitr")
        target.repoint_applications("primary", "drdrill-plan-pitr")

    return [
        ("Snapshot", lambda: target.snapshot("drdrill-plan", "primary")),
        ("Cross-region copy", lambda: target.copy_snapshot("drdrill-plan", "dr")),
        ("Restore the snapshot (primary, then its dr copy)", restores),
        (f"{restore.number}. {restore.title} (to {when.isoformat()}) and repoint", point_in_time),
        ("S3 object versions", objects),
    ]


class _Refused:
    """Stands for an AWS or Kubernetes client in a plan: any call is an error, not a
    request (a dry run builds its calls but makes none)."""

    def __init__(self, what: str, service: str | None = None) -> None:
        self._what = what
        if service is not None:  # named like a boto3 client, so the plan says "rds:..."
            self.meta = SimpleNamespace(service_model=SimpleNamespace(service_name=service))

    def __getattr__(self, operation: str) -> Any:
        def refuse(*args: object, **kwargs: object) -> None:
            raise TargetError(f"a plan makes no calls: {self._what}.{operation} was attempted")

        return refuse


def _no_calls(profile: AwsProfile) -> Clients:
    """The target's client factory for a plan: hands out clients that refuse every call
    (so no AWS client looks for credentials and no kubeconfig is read)."""
    from drdrill.targets.aws.clients import Clients

    class NoCalls(Clients):
        def aws(self, service: str, region: str) -> Any:
            return _Refused(f"{service} [{region}]", service)

        def apps(self, context: str) -> Any:
            return _Refused(f"kubernetes [{context}]")

    return NoCalls(profile)


def _note(text: str) -> None:
    print(f"   read-only: {text}")


def _plan(args: argparse.Namespace) -> int:
    from drdrill.config import load_config

    return print_plan(load_config(args.drill_config), args.kind, args.target, args.time)


def print_plan(config: DrillConfig, kind: str, target: str, time: datetime | None = None) -> int:
    """Print the runbook of a ``kind`` drill on ``target``; nothing is executed, no call
    is made (also what ``drdrill run --dry-run`` prints)."""
    profile = config.target(target)
    print(f"DR runbook: {kind} drill on target {target} ({profile.kind}); nothing is executed")
    if profile.kind == "lab":
        return _lab(config, kind)
    from drdrill.targets.aws.profile import AwsProfile
    from drdrill.targets.aws.target import AwsTarget
    from drdrill.targets.twin.profile import AwsTwinProfile

    twin = isinstance(profile, AwsTwinProfile)
    if isinstance(profile, AwsTwinProfile):
        from drdrill.targets.twin.seed import planned_profile

        profile = planned_profile(config, profile)
        print(
            "   the aws target's calls, to the twin's own emulators on 127.0.0.1 (moto, a "
            "Kubernetes API per cluster); the lab follows them. safety: STS "
            f"get_caller_identity must return {list(profile.allowed_account_ids)} (moto's)"
        )
    assert isinstance(profile, AwsProfile)
    plannable, refusals = _plannable(profile)
    aws = AwsTarget(plannable, target, dry_run=True, clients=_no_calls(plannable))
    if not twin:
        print(
            f"   safety: needs --confirm; STS get_caller_identity must return one of "
            f"{list(aws.profile.allowed_account_ids)} before the first change"
        )
        if kind in ("full", "failback"):
            _print_failback_terms(profile, refusals)
    when = time or datetime.now(UTC)
    if kind == "backup_restore":
        sections = _backups(aws, when)
    elif kind == "failback":
        sections = _failback(aws, config)
    else:
        sections = _activation(aws, kind)
    for title, action in sections:
        before = len(aws.plan)
        print(title)
        try:
            action()
        except DrillError as exc:
            print(f"   refuses: {exc}")
        for call in aws.plan[before:]:
            print(f"   would call: {call}")
    print(f"{len(aws.plan)} mutating calls would be made; none was.")
    if kind == "failback":
        _print_failback_floor(config, profile)
    elif kind != "backup_restore":
        _print_floor(config, profile, kind)
    return 0


def _print_failback_terms(profile: AwsProfile, refusals: list[str]) -> None:
    """How the failback carries the data home, its data-loss warning, its refusals."""
    from drdrill.targets.aws.failback import SNAPSHOT_LOSS

    settings = profile.failback
    print(f"   failback: method {settings.method} (failback.method)")
    if settings.method == "snapshot":
        print(f"   WARNING data loss: {SNAPSHOT_LOSS}")
    else:
        print("   failback: the new primary streams from DR; writes stop only for the switchover")
    for refusal in refusals:
        print(f"   REFUSES as configured: {refusal}")
    primary, dr = profile.regions["primary"], profile.regions["dr"]
    new_primary = settings.primary_instance or f"{primary.rds_instance}-new"
    new_dr = settings.dr_replica_instance or f"{dr.rds_instance}-new"
    print(
        f"   afterwards: {new_primary} is the primary and {new_dr} its DR replica; "
        f"{primary.rds_instance} is left untouched (never deleted) and {dr.rds_instance} "
        "fenced; point regions.*.rds_instance and database_url at the new instances"
    )


def _print_failback_floor(config: DrillConfig, profile: AwsProfile) -> None:
    """Each failback phase's floor next to its target, and the switchover's outage floor
    next to ``failback.switchover_outage``."""
    from drdrill.report.metrics_table import human_duration as format_duration
    from drdrill.targets.aws.floor import failback_floor, switchover_outage_floor

    print("Expected floor on AWS (profile timings; the least each phase can take):")
    for floor in failback_floor(profile, config.failback.traffic_steps):
        target = config.phases.target_for(floor.phase)
        verdict = "reachable" if floor.seconds <= target else "NOT reachable"
        print(
            f"   {floor.phase}: >= {format_duration(floor.seconds)} "
            f"(target {format_duration(target)}: {verdict}) - {floor.why}"
        )
    outage, why = switchover_outage_floor(profile)
    goal = config.failback.switchover_outage
    verdict = "reachable" if outage <= goal else "NOT reachable"
    print(
        f"   switchover outage of writes: >= {format_duration(outage)} "
        f"(failback.switchover_outage {format_duration(goal)}: {verdict}) - {why}"
    )


def _print_floor(config: DrillConfig, profile: AwsProfile, kind: str) -> None:
    """The least each phase can take on this platform next to its target: whether a
    target is reachable at all, known before the drill (``drdrill.targets.aws.floor``)."""
    from drdrill.report.metrics_table import human_duration as format_duration
    from drdrill.targets.aws.floor import activation_floor

    floors = [f for f in activation_floor(profile) if kind != "partial" or f.phase in PARTIAL]
    print("Expected floor on AWS (profile timings; the least each phase can take):")
    for floor in floors:
        target = config.phases.target_for(floor.phase)
        verdict = "reachable" if floor.seconds <= target else "NOT reachable"
        print(
            f"   {floor.phase}: >= {format_duration(floor.seconds)} "
            f"(target {format_duration(target)}: {verdict}) - {floor.why}"
        )
    total = sum(f.seconds for f in floors)
    objective = config.objective_for("region_failure")
    verdict = "reachable" if total <= objective.rto else "NOT reachable"
    print(
        f"   RTO floor: >= {format_duration(total)} (target {format_duration(objective.rto)} "
        f"from {objective.rto_source}: {verdict})"
    )


def _when(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def register(sub: Any) -> None:
    """Add ``drdrill plan``."""
    parser = sub.add_parser("plan", help="print the resolved DR runbook; execute nothing")
    parser.add_argument("kind", choices=["full", "partial", "backup_restore", "failback"])
    parser.add_argument("--target", default="lab", help="target profile (default: lab)")
    parser.add_argument(
        "--time",
        type=_when,
        default=None,
        help="point-in-time restore target for backup_restore (ISO 8601; default: now)",
    )
    parser.set_defaults(func=_plan)
