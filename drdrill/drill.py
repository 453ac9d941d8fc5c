"""One DR drill, start to finish: observe, inject, activate, measure, judge, report, roll back.

Steps and ``drdrill run`` drive a ``Drill``; everything it learns lands in
``reports/<drill-id>/`` (``drdrill.report.writer`` writes the final artifacts).
``close()`` always puts the platform back (``fail_back``), also after a failure or
Ctrl-C; whoever runs the drill installs the stop button (``drdrill.stopping``) that
turns SIGINT, SIGTERM, ``drdrill abort`` and stop conditions into that Ctrl-C.

What a drill is about changes only through declared transitions: ``inject`` /
``declare_fault`` (the disaster, its mode and the scenario judged), ``declare_restored``
(the recovery says it is done and which database now serves), ``finish(scenario)``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from drdrill import jsonl, stock
from drdrill.audit import AuditTrail
from drdrill.chaos import runner
from drdrill.chaos.context import ChaosContext
from drdrill.config import DrillConfig
from drdrill.errors import ActivationFailed, CapabilityMissing, DrillAborted, DrillError
from drdrill.ledger import reconcile
from drdrill.load import LoadRun
from drdrill.measure import measure, restoration_search_start
from drdrill.notify import Notification, Notifier
from drdrill.notify.events import ACTIVATION_INITIATED, DRILL_FINISHED, DRILL_STARTED
from drdrill.notify.timeline_alerts import AlertRules, TimelineAlerts
from drdrill.observe import Observation
from drdrill.report.summary import DrillSummary
from drdrill.report.writer import DrillReport, UnmeasuredDrill
from drdrill.stop_conditions import StopConditionWatch, StopRules
from drdrill.stopping import StopButton
from drdrill.targets import open_target
from drdrill.targets.base import SelfProvisioning
from drdrill.timeline import (
    ACTIVITY_END,
    FAULT_INJECTED,
    NOTE,
    PHASE_END,
    PHASE_START,
    RESTORED,
    ROLLBACK,
    Timeline,
)
from drdrill.verdict import judge, restore_wait_s
from drdrill.wait import wait_until

__all__ = ["DRILL_STATES", "EXPERIMENTS", "Drill", "outcome_of"]

DRILL_STATES = (
    "created",
    "steady",
    "observing",
    "fault_injected",
    "activating",
    "activated",
    "measured",
    "failing_back",
    "done",
)
"""The states a drill moves through; ``reached`` is the furthest before it ended."""

EXPERIMENTS = stock.EXPERIMENTS


class Drill:
    """A drill of one scenario against one target."""

    def __init__(
        self,
        config: DrillConfig,
        *,
        target_name: str = "lab",
        kind: str = "full",
        scenario: str = "region_failure",
        confirm: bool = False,
        dry_run: bool = False,
        experiments: Path = EXPERIMENTS,
        stop: StopButton | None = None,
    ) -> None:
        config.objective_for(scenario)  # unknown scenario: error before anything runs
        self.config = config
        self.kind = kind
        self._scenario = scenario
        self.target_name = target_name
        self.experiments = experiments
        self.started_ns = time.time_ns()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.drill_id = f"{stamp}-{kind}-{secrets.token_hex(2)}"
        self.report_dir = config.reports_dir / self.drill_id
        self.report = DrillReport(self.report_dir, config.reports_dir)
        self.timeline = Timeline(self.report_dir / "timeline.jsonl")
        self.audit = AuditTrail(self.report_dir / "audit.jsonl")
        self.target = open_target(
            config, target_name, confirm=confirm, dry_run=dry_run, audit=self.audit
        )
        self._failure_mode: str | None = None
        self._serving = "primary"
        self.observation: Observation | None = None
        self.stop_watch: StopConditionWatch | None = None
        self.load: LoadRun | None = None
        self.summary: DrillSummary | None = None
        self.outcome: str | None = None
        self.stop = stop or StopButton()
        self.reached = "created"
        self._closed = False
        self.audit.record(
            "drill_started",
            target=target_name,
            outcome="started",
            parameters={"drill_id": self.drill_id, "kind": kind, "scenario": scenario},
        )
        self.notifier = Notifier(config.notifications)
        self.alerts = TimelineAlerts(
            self.timeline, self.notifier, AlertRules(self.drill_id, target_name, config.phases)
        ).start()
        self.notifier.emit(
            Notification(
                DRILL_STARTED,
                self.drill_id,
                target_name,
                f"{kind} drill of the {scenario} scenario started",
                {"kind": kind, "scenario": scenario, "dry_run": dry_run},
            )
        )

    # -- what the drill is about (read-only; changed by declared transitions) --

    @property
    def scenario(self) -> str:
        """The plan scenario whose targets judge this drill."""
        return self._scenario

    @property
    def failure_mode(self) -> str | None:
        """How the disaster was staged (power-off, blackhole, ransomware...), once it was."""
        return self._failure_mode

    @property
    def serving_database(self) -> str:
        """The database the applications use now: a region, or a restored instance."""
        return self._serving

    # -- before the disaster -------------------------------------------------

    def prepare(self, timeout_s: float = 30.0) -> None:
        """Bring the platform to its steady state: up, healthy through the global endpoint."""
        if isinstance(self.target, SelfProvisioning):
            self.target.ensure_up()
        wait_until(
            lambda: self.target.verify_services().ok,
            timeout_s,
            "the steady state: the global endpoint passing its health and critical flows",
            interval_s=0.2,
        )
        self.timeline.record(NOTE, "steady_state")
        self._advance("steady")

    def observe(self, with_load: bool = True, warmup_s: float = 1.0) -> None:
        """Start probes, the canary and (optionally) Locust through the global endpoint."""
        endpoint = self.target.endpoint()
        self.observation = Observation(
            endpoint,
            self.config.measurement,
            standby_dsn=self.target.database_dsn("dr"),
            alarms=self.config.alarms,
        ).start()
        objective = self.config.objective_for(self.scenario)
        guards = self.config.stop_conditions
        rules = StopRules(
            max_error_rate=guards.max_error_rate,
            error_window_s=guards.error_window,
            outage_factor=guards.outage_factor,
            replica_lag_before_fault=guards.replica_lag_before_fault,
            rto_target_s=objective.rto,
            stable_for_s=self.config.measurement.stable_for,
            slow_after_s=self.config.measurement.slow_after,
        )
        observation = self.observation
        self.stop_watch = StopConditionWatch(
            lambda: observation.samples(), self.timeline, rules, self.stop
        ).start()
        if with_load:
            marker = (
                self.target.process_marker() if isinstance(self.target, SelfProvisioning) else {}
            )
            self.load = LoadRun(
                endpoint, self.config.load, self.report_dir, max_seconds=300, marker_env=marker
            ).start()
        self._advance("observing")
        time.sleep(warmup_s)

    # -- the disaster and the recovery ---------------------------------------

    def _run_experiment(
        self,
        name: str,
        *,
        steady_state: str = "default",
        rollbacks: str = "default",
        **variables: Any,
    ) -> dict[str, Any]:
        context = ChaosContext(self.target, self.config, self.timeline, self.stop)
        started_ns = time.time_ns()
        journal = runner.run(
            self.experiments / f"{name}.json",
            context,
            variables=variables,
            journal_path=self.report_dir / f"journal-{name}.json",
            steady_state=steady_state,
            rollbacks=rollbacks,
        )
        if journal["status"] == "interrupted":
            failed = [
                e
                for e in self.timeline.events()
                if e.kind in (PHASE_END, ACTIVITY_END)
                and e.t_ns >= started_ns
                and e.detail.get("failed") is True
            ]
            if failed:  # a failed phase ended the experiment: the drill fails with it
                raise ActivationFailed(
                    f"{name}: phase {failed[-1].name} failed, nothing after it ran: "
                    f"{failed[-1].detail.get('error') or 'no detail'}"
                )
            raise KeyboardInterrupt(f"experiment {name} interrupted")
        return journal

    def inject(self, region: str = "primary", mode: str = "power-off") -> int:
        """Fail ``region`` through the region-failure experiment; returns t_fault.

        The experiment's steady state is checked before the fault only (after it, the
        region is down by design), and its rollback is the drill's fail back, not the
        experiment's own."""
        self._failure_mode = mode
        journal = self._run_experiment(
            "region-failure",
            steady_state="before-method-only",
            rollbacks="never",
            failed_region=region,
            failure_mode=mode,
        )
        fault = self.timeline.first(FAULT_INJECTED)
        if journal["status"] != "completed" or fault is None:
            raise DrillError(
                f"the region failure was not injected (experiment {journal['status']}, "
                f"steady state met: {journal.get('steady_states', {}).get('before', {})})"
            )
        self._advance("fault_injected")
        return fault.t_ns

    def activate(self, failed_region: str = "primary", dr_region: str = "dr") -> dict[str, Any]:
        """Run the DR activation experiment (phases 1..6); its journal."""
        self._advance("activating")
        self.notifier.emit(
            Notification(
                ACTIVATION_INITIATED,
                self.drill_id,
                self.target_name,
                f"region {failed_region} is down; activating the DR region {dr_region}",
                {
                    "failed_region": failed_region,
                    "dr_region": dr_region,
                    "failure_mode": self.failure_mode,
                    "scenario": self.scenario,
                },
            )
        )
        journal = self._run_experiment(
            "dr-activation", failed_region=failed_region, dr_region=dr_region
        )
        self._advance("activated")
        self._serving = dr_region
        return journal

    def declare_fault(self, region: str, mode: str, scenario: str) -> int:
        """A disaster staged by a step, not by the region-failure experiment (a bad change,
        ransomware): it is the drill's t_fault, judged as ``scenario``; returns t_fault."""
        self.config.objective_for(scenario)
        self._scenario, self._failure_mode = scenario, mode
        t_fault = self.timeline.record(FAULT_INJECTED, region, mode=mode).t_ns
        self._advance("fault_injected")
        return t_fault

    def declare_restored(self, serving_database: str) -> int:
        """The recovery says it is done and ``serving_database`` (a region or a restored
        instance) now serves: the ledger is checked against it, and ``t_restored`` is looked
        for from here on (the flows may have "worked" on bad data before)."""
        self._serving = serving_database
        return self.timeline.record(RESTORED, serving_database).t_ns

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time a phase run by a step (partial drills) into the timeline."""
        self.timeline.record(PHASE_START, name)
        ok = False
        try:
            yield
            ok = True
        finally:
            self.timeline.record(PHASE_END, name, ok=ok)

    def wait_restored(self, timeout_s: float | None = None) -> int | None:
        """Block until the critical flow is stable again after the fault (or after the
        recovery declared itself done, for data disasters); t_restored. The wait is
        ``measurement.restore_wait`` unless given, never the RTO target."""
        fault = self.timeline.first(FAULT_INJECTED)
        if self.observation is None or fault is None:
            return None
        start = restoration_search_start(self.timeline, fault.t_ns)
        wait = restore_wait_s(self.config) if timeout_s is None else timeout_s
        return self.observation.wait_restored(start, wait)

    # -- afterwards ----------------------------------------------------------

    def _stop_observing(self) -> None:
        if self.stop_watch is not None:
            self.stop_watch.stop()
        if self.load is not None:
            self.load.stop()
        if self.observation is not None:
            self.observation.stop()

    def finish(self, scenario: str | None = None) -> DrillSummary:
        """Stop observing, check the ledger against the surviving database, measure, judge
        (against ``scenario``'s targets when given), and write the report. Idempotent: the
        second call returns the first summary."""
        if self.summary is not None:
            return self.summary
        if scenario is not None:
            self.config.objective_for(scenario)
            self._scenario = scenario
        self._stop_observing()
        fault = self.timeline.first(FAULT_INJECTED)
        samples = self.observation.samples() if self.observation else []
        requests = self.load.requests() if self.load else []
        reconciliation = None
        if self.observation is not None:
            if self.load is not None:
                self.load.add_writes_to(self.observation.ledger)
            reconciliation = reconcile(
                self.observation.ledger.writes(),
                self.target.database_dsn(self._serving),
                fault.t_ns if fault else None,
            )
        measurements = measure(
            self.timeline, samples, self.config.measurement, reconciliation, requests
        )
        verdicts = judge(measurements, self.config, self.scenario)
        load_stats = self.load.stats().to_json() if self.load else {}
        self.summary = DrillSummary(
            drill_id=self.drill_id,
            scenario=self.scenario,
            kind=self.kind,
            target=self.target_name,
            started_ns=self.started_ns,
            failure_mode=self.failure_mode,
            measurements=measurements,
            verdicts=verdicts,
            load=load_stats,
            actor=self.audit.actor,
        )
        self.report.write(
            self.summary,
            ledger=None
            if reconciliation is None
            else reconciliation.to_json(self.target.database_dsn(self._serving)),
            samples=samples,
            requests=requests,
        )
        self.audit.record(
            "drill_measured",
            target=self.target_name,
            outcome="passed" if verdicts.passed else "failed",
            parameters={"drill_id": self.drill_id},
            rto_s=measurements.rto_s,
            rpo_s=measurements.rpo_s,
            lost_writes=measurements.ledger.lost,
            verdicts=verdicts.to_json(),
        )
        self._advance("measured")
        return self.summary

    def _conclude(
        self,
        reached: str,
        error: BaseException | None,
        rollback_error: BaseException | None,
    ) -> None:
        """The drill's one history line and its final summary, whatever ended it."""
        assert self.outcome is not None
        ended_by = _describe(error) or (
            f"rollback failed: {_describe(rollback_error)}" if rollback_error else None
        )
        if self.summary is not None:
            self.summary = dataclasses.replace(
                self.summary, outcome=self.outcome, reached=reached, error=ended_by
            )
            self.report.conclude(self.summary)
        else:
            self.report.conclude_unmeasured(
                UnmeasuredDrill(
                    drill_id=self.drill_id,
                    scenario=self.scenario,
                    kind=self.kind,
                    target=self.target_name,
                    started_ns=self.started_ns,
                    failure_mode=self.failure_mode,
                    outcome=self.outcome,
                    reached=reached,
                    error=ended_by,
                )
            )

    def _advance(self, state: str) -> None:
        """Move to ``state`` (never back: ``reached`` is the furthest state)."""
        if DRILL_STATES.index(state) > DRILL_STATES.index(self.reached):
            self.reached = state
            self.timeline.record(NOTE, "drill_state", state=state)

    def close(self, error: BaseException | None = None) -> str:
        """Always: stop observing, put the platform back in its steady state, and say how
        the drill ended: ``passed``, ``failed`` (a breach, a failed check or phase, a
        rollback that did not complete), ``aborted`` (Ctrl-C, SIGTERM, ``drdrill abort``,
        a stop condition), ``error`` (the harness or the set-up failed) or ``skipped``
        (the target lacks a capability the drill needs), given the
        ``error`` that ended the drill, if any. The rollback runs to completion: a second
        Ctrl-C or SIGTERM only says what is still being rolled back."""
        if self._closed:
            return self.outcome or "error"
        self._closed = True
        if self.stop.pressed and (error is None or isinstance(error, KeyboardInterrupt)):
            error = DrillAborted(f"stopped: {self.stop.reason}")
        reached = self.reached
        rollback_error: BaseException | None = None
        with _shielded(f"rolling back drill {self.drill_id} (fail back of {self.target_name})"):
            self._advance("failing_back")
            try:
                self._stop_observing()
                self.timeline.record(ROLLBACK, "fail_back")
                self.target.fail_back()
            except BaseException as exc:  # recorded, then re-raised below
                rollback_error = exc
            self.outcome = outcome_of(error, self.summary, rollback_error)
            self._advance("done")
            try:
                self._conclude(reached, error, rollback_error)
            finally:
                self._record_finished(reached, error, rollback_error)
        self._notify_finished(reached, error, rollback_error)
        if rollback_error is not None and error is None:
            raise rollback_error
        return self.outcome

    def _notify_finished(
        self, reached: str, error: BaseException | None, rollback_error: BaseException | None
    ) -> None:
        """Tell people how the drill ended; the delivery log goes into the report."""
        self.alerts.stop()
        measured = self.summary.measurements if self.summary is not None else None
        self.notifier.emit(
            Notification(
                DRILL_FINISHED,
                self.drill_id,
                self.target_name,
                f"{self.kind} drill of the {self.scenario} scenario: {self.outcome}",
                {
                    "outcome": self.outcome,
                    "reached": reached,
                    "rto_s": measured.rto_s if measured else None,
                    "rpo_s": measured.rpo_s if measured else None,
                    "lost_writes": measured.ledger.lost if measured else None,
                    "rolled_back": rollback_error is None,
                    "error": _describe(error),
                },
            )
        )
        for delivery in self.notifier.close(self.config.notifications.retry.total):
            jsonl.append(self.report_dir / "notifications.jsonl", delivery.to_json())

    def _record_finished(
        self,
        reached: str,
        error: BaseException | None,
        rollback_error: BaseException | None,
    ) -> None:
        self.audit.record(
            "drill_finished",
            target=self.target_name,
            outcome="rolled back"
            if rollback_error is None
            else f"rollback failed: {type(rollback_error).__name__}: {rollback_error}",
            parameters={"drill_id": self.drill_id, "pid": os.getpid()},
            drill_outcome=self.outcome,
            reached=reached,
            error=_describe(error),
        )


def _describe(error: BaseException | None) -> str | None:
    if error is None:
        return None
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def outcome_of(
    error: BaseException | None,
    summary: DrillSummary | None,
    rollback_error: BaseException | None = None,
) -> str:
    """How a drill ended (see ``Drill.close``): the same truth pytest reports, and more."""
    if isinstance(error, KeyboardInterrupt | DrillAborted):
        return "aborted"
    if isinstance(error, CapabilityMissing):
        return "skipped"
    if error is not None and not isinstance(error, AssertionError | ActivationFailed):
        return "error"
    if error is not None or rollback_error is not None:
        return "failed"
    if summary is None:
        return "error"  # nothing judged: no verdict to trust
    lost_after = summary.measurements.ledger.lost_after_fault
    return "passed" if summary.verdicts.passed and lost_after == 0 else "failed"


@contextlib.contextmanager
def _shielded(what: str) -> Iterator[None]:
    """Inside: SIGINT and SIGTERM say what is still running instead of cutting it short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def refuse(signum: int, frame: FrameType | None) -> None:
        print(
            f"drdrill: still {what}; it runs to completion (usually under 15 s), not interrupting",
            file=sys.stderr,
            flush=True,
        )

    previous = {sig: signal.signal(sig, refuse) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
