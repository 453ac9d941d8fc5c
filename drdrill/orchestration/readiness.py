"""Readiness between drills: would the next DR activation work? Checked, nothing failed.

Like a standing evaluation of the plan, ``check_readiness`` asks the target for every
prerequisite of the next activation and returns one ``ReadinessCheck`` per item:

- ``replication`` — the DR replica's stream flows (not stalled, ``drdrill.lab.replication``'s
  rules, the same judgement ``lab status`` shows) and its lag is under the alarm;
- ``object_replication`` — a probe object written to the primary bucket reaches the DR
  bucket within the S3 replication alarm (the one write a check makes);
- ``backups`` — the newest snapshot is younger than the daily schedule (else it fails),
  and a copy no older than the schedule is in the DR region (else a warning: a region
  failure's activation does not need it, a restore after ransomware does);
- ``dr_capacity`` — the DR region's applications answer (warm standby is running);
- ``routing`` — the global endpoint answers from the primary region;
- ``experiments`` — the Chaos Toolkit experiments the target uses are valid;
- ``safety`` — for a non-lab target, the account is on the allow-list.

A capability the target lacks is reported as ``skipped`` with the reason, never failed.
A ``warn`` is shown and recorded but leaves the target ready.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drdrill.config import DrillConfig
from drdrill.errors import DrillError
from drdrill.targets.base import (
    BackupTarget,
    ObjectReplicationTarget,
    ObjectStoreTarget,
    ReplicationMonitor,
    RoutingObserver,
    Target,
)

__all__ = ["ReadinessCheck", "ReadinessReport", "check_readiness"]


@dataclass(frozen=True)
class ReadinessCheck:
    """One prerequisite of the next activation."""

    name: str
    status: str
    """``ok``, ``warn``, ``fail`` or ``skipped``."""
    detail: str
    seconds: float


@dataclass(frozen=True)
class ReadinessReport:
    """Every check, and how long they took together."""

    target: str
    checked_at: str
    checks: tuple[ReadinessCheck, ...]
    wall_s: float

    @property
    def ready(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "readiness",
            "target": self.target,
            "started": self.checked_at,
            "ready": self.ready,
            "passed": self.ready,
            "outcome": "passed" if self.ready else "failed",
            "wall_s": round(self.wall_s, 3),
            "checks": {c.name: {"status": c.status, "detail": c.detail} for c in self.checks},
        }

    def lines(self) -> list[str]:
        marks = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL", "skipped": "skip"}
        out = [f"{marks[c.status]}  {c.name:<19} {c.detail}" for c in self.checks]
        warnings = sum(c.status == "warn" for c in self.checks)
        verdict = "ready" if self.ready else "NOT READY: the next activation would break"
        if self.ready and warnings:
            verdict += f", {warnings} warning{'s' if warnings > 1 else ''}"
        out.append(f"{self.target}: {verdict} (checked in {self.wall_s:.2f} s)")
        return out


class _Skip(Exception):
    pass


class _Warn(Exception):
    """Not what the plan wants, but the next activation would still work."""


def _replication(target: Target, config: DrillConfig) -> str:
    if not isinstance(target, ReplicationMonitor):
        raise _Skip("the target cannot report its replica lag")
    stream = target.replica_stream()  # the reading `lab status` shows, judged once
    alarm = config.alarms.replica_lag
    lag = "unknown" if stream.lag_s is None else f"{stream.lag_s:.2f} s"
    if stream.stalled is not None:
        raise DrillError(f"replication stalled ({stream.state}): {stream.stalled}; lag {lag}")
    if stream.lag_s is None:
        raise DrillError(f"no DR replica is streaming ({stream.state})")
    if stream.lag_s >= alarm:
        raise DrillError(f"replica lag {stream.lag_s:.1f} s ≥ the alarm {alarm:g} s")
    return f"{stream.state}, lag {lag} (alarm {alarm:g} s)"


def _object_replication(target: Target, config: DrillConfig) -> str:
    if not isinstance(target, ObjectStoreTarget) or not isinstance(target, ObjectReplicationTarget):
        raise _Skip("the target has no replicated object store drdrill can watch")
    key = f"drdrill-readiness/{time.time_ns()}.json"
    target.put_object(target.bucket("primary"), key, b'{"readiness": true}')
    alarm = config.alarms.s3_replication
    lag = target.wait_objects_replicated([key], timeout_s=alarm)
    return f"a probe object reached the DR bucket in {lag:.2f} s (alarm {alarm:g} s)"


def _backups(target: Target, config: DrillConfig) -> str:
    if not isinstance(target, BackupTarget):
        raise _Skip("the target cannot list its snapshots")
    snapshots = target.list_snapshots("primary")
    if not snapshots:
        raise DrillError("no snapshot of the primary database")
    newest = snapshots[-1]
    age = (datetime.now(UTC) - newest.created).total_seconds()
    schedule = config.backups.snapshot_interval
    if age > schedule:
        raise DrillError(
            f"newest snapshot {newest.name!r} is {age / 3600:.1f} h old "
            f"(schedule: every {schedule / 3600:g} h)"
        )
    found = f"newest snapshot {newest.name!r}, {age:.0f} s old"
    copies = target.list_snapshots("dr")
    if not copies:
        raise _Warn(f"{found}; no copy in the DR region")
    copy = copies[-1]
    copy_age = (datetime.now(UTC) - copy.created).total_seconds()
    if copy_age > schedule:
        raise _Warn(
            f"{found}; the newest copy in the DR region, {copy.name!r}, is "
            f"{copy_age / 3600:.1f} h old (schedule: every {schedule / 3600:g} h)"
        )
    return f"{found}; a copy in the DR region ({copy.name!r})"


def _dr_capacity(target: Target, config: DrillConfig) -> str:
    check = target.verify_services("dr", timeout_s=1.0)
    health = next((c for c in check.checks if c.name == "health"), None)
    if health is None or not health.ok:
        detail = health.detail if health else "no health check answered"
        raise DrillError(f"the DR region's applications do not answer: {detail}")
    return "the DR region's applications answer (warm standby)"


def _routing(target: Target, config: DrillConfig) -> str:
    if not isinstance(target, RoutingObserver):
        raise _Skip("the target cannot say which region answers")
    region = target.answering_region()
    if region != "primary":
        raise DrillError(f"the global endpoint answers from {region or 'nowhere'}, not primary")
    return "the global endpoint answers from the primary region"


def _experiments(files: Sequence[Path]) -> Callable[[Target, DrillConfig], str]:
    def check(target: Target, config: DrillConfig) -> str:
        from drdrill.chaos.runner import load_experiment

        if not files:
            raise DrillError("no experiment to check")
        for file in files:
            load_experiment(file)
        return f"{len(files)} experiments valid ({', '.join(f.name for f in files)})"

    return check


def check_readiness(
    target: Target,
    config: DrillConfig,
    experiments: Sequence[Path],
    extra: dict[str, Callable[[Target, DrillConfig], str]] | None = None,
) -> ReadinessReport:
    """Run every readiness check against ``target`` (``experiments``: the experiment files
    it uses, each validated); never raises for a failed check."""
    checks: dict[str, Callable[[Target, DrillConfig], str]] = {
        "replication": _replication,
        "object_replication": _object_replication,
        "backups": _backups,
        "dr_capacity": _dr_capacity,
        "routing": _routing,
        "experiments": _experiments(experiments),
        **(extra or {}),
    }
    started = time.monotonic()
    results = []
    for name, check in checks.items():
        began = time.monotonic()
        try:
            status, detail = "ok", check(target, config)
        except _Skip as skip:
            status, detail = "skipped", str(skip)
        except _Warn as warning:
            status, detail = "warn", str(warning)
        except DrillError as exc:
            status, detail = "fail", str(exc)
        except Exception as exc:  # a check must not stop the others; say what broke
            status, detail = "fail", f"{type(exc).__name__}: {exc}"
        results.append(ReadinessCheck(name, status, detail, time.monotonic() - began))
    return ReadinessReport(
        target.name,
        datetime.now(UTC).isoformat(timespec="seconds"),
        tuple(results),
        time.monotonic() - started,
    )
