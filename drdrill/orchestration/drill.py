"""One DR drill, start to finish: observe, inject, activate, measure, judge, report, roll back.

Steps and ``drdrill run`` drive a ``Drill``; everything it learns lands in
``reports/<drill-id>/`` (``drdrill.report.writer`` writes the final artifacts).
``close()`` always puts the platform back (``fail_back``), also after a failure or
Ctrl-C; whoever runs the drill installs the stop button (``drdrill.orchestration.stopping``) that
turns SIGINT, SIGTERM, ``drdrill abort`` and stop conditions into that Ctrl-C. A drill
whose process dies outright (``kill -9``, the OOM killer) cannot close itself: from its
steady state on it keeps a journal (``drdrill.orchestration.journal``) from which ``drdrill run``
or ``drdrill recover`` puts the platform back (``drdrill.orchestration.recovery``).

What a drill is about changes only through declared transitions: ``inject`` /
``declare_fault`` (the disaster, its mode and the scenario judged), ``declare_restored``
(the recovery says it is done and which database now serves), ``finish(scenario)``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drdrill import stock
from drdrill.chaos import runner
from drdrill.chaos.context import ChaosContext
from drdrill.config import DrillConfig
from drdrill.errors import DrillError
from drdrill.measurement.measure import restoration_search_start
from drdrill.measurement.verdict import restore_wait_s
from drdrill.observation.load import LoadRun
from drdrill.observation.observe import Observation
from drdrill.orchestration import ending
from drdrill.orchestration import journal as drill_journal
from drdrill.orchestration.alerts import DrillAlerts
from drdrill.orchestration.approval import approver, needs_approval, refusal
from drdrill.orchestration.journal import DrillJournal, Injection, JournaledProcess
from drdrill.orchestration.journal_keeper import (
    JournalKeeper,
    best_effort,
    children,
    refuse_unfinished,
    target_calls,
)
from drdrill.orchestration.observers import DrillObservers
from drdrill.orchestration.outcome import DRILL_STATES, outcome_of
from drdrill.orchestration.stopping import StopButton
from drdrill.orchestration.summarising import reconcile_writes, record_measured, summarise
from drdrill.records.audit import AuditTrail
from drdrill.records.notes import DivergentWrites
from drdrill.records.timeline import (
    FAULT_INJECTED,
    NOTE,
    PHASE_END,
    PHASE_START,
    RESTORED,
    Timeline,
)
from drdrill.report.findings import Rollback
from drdrill.report.space import check_report_space
from drdrill.report.summary import DrillSummary
from drdrill.report.writer import DrillReport
from drdrill.support.wait import wait_until
from drdrill.targets import open_target
from drdrill.targets.base import (
    SelfProvisioning,
    SplitBrainWitness,
    SwitchoverGoal,
)

__all__ = ["DRILL_STATES", "EXPERIMENTS", "Drill", "outcome_of"]

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
        approved_by: str | None = None,
    ) -> None:
        config.objective_for(scenario)  # unknown scenario: error before anything runs
        check_report_space(config.reports_dir, config.reports_min_free_mb)
        if not approved_by and needs_approval(
            config, target_name, confirm=confirm, dry_run=dry_run
        ):
            raise refusal(target_name)  # before anything is created, let alone changed
        self.approved_by = approver(approved_by) if approved_by else None
        """Who approved the drill (``--approved-by``): needed on a target that is not the lab."""
        journal_path = drill_journal.journal_path(config, target_name)
        refuse_unfinished(journal_path)  # before anything is created
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
        self.observers = DrillObservers()
        self.summary: DrillSummary | None = None
        self.rollback: Rollback | None = None
        """What the rollback (the target's fail back) did, once the drill closed."""
        self.outcome: str | None = None
        self.stop = stop or StopButton()
        self.reached = "created"
        self.ended_in = ""
        """The state the drill had reached when it ended (set by ``close``)."""
        self._closed = False
        self.journal = JournalKeeper(journal_path, self.audit, self._new_journal)
        self.audit.record(
            "drill_started",
            target=target_name,
            outcome="started",
            parameters={"drill_id": self.drill_id, "kind": kind, "scenario": scenario},
        )
        if self.approved_by:
            self.audit.record(
                "drill_approved",
                target=target_name,
                outcome="approved",
                parameters={"drill_id": self.drill_id, "approved_by": self.approved_by},
            )
        self.audit.listen(self._on_audit)
        self.alerts = DrillAlerts(config, self.drill_id, target_name, self.timeline)
        self.alerts.started(kind, scenario, dry_run)

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

    @property
    def switchover_goal_s(self) -> float:
        """The switchover's customer-visible outage goal: the target's own when it has
        one (``SwitchoverGoal``), else ``failback.switchover_outage``."""
        if isinstance(self.target, SwitchoverGoal):
            return self.target.switchover_outage_goal()
        return float(self.config.failback.switchover_outage)

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
        self.advance("steady")

    def observe(self, with_load: bool = True, warmup_s: float = 1.0) -> None:
        """Start probes, the canary and (optionally) Locust through the global endpoint."""
        started = self.observers.start(
            self.target,
            self.config,
            self.scenario,
            self.timeline,
            self.stop,
            self.report_dir,
            with_load,
        )
        self._journal_processes(started)
        self.observers.wait_for_load(self.config)
        self.advance("observing")
        time.sleep(warmup_s)

    @property
    def observation(self) -> Observation | None:
        """Probes and the canary writer, once observing."""
        return self.observers.observation

    @property
    def load(self) -> LoadRun | None:
        """The customers' load (Locust), once observing with load."""
        return self.observers.load

    # -- the disaster and the recovery ---------------------------------------

    def _run_experiment(
        self,
        name: str,
        *,
        steady_state: str = "default",
        rollbacks: str = "default",
        **variables: Any,
    ) -> dict[str, Any]:
        return runner.run_for_drill(
            self.experiments / f"{name}.json",
            ChaosContext(self.target, self.config, self.timeline, self.stop),
            variables=variables,
            journal_path=self.report_dir / f"journal-{name}.json",
            steady_state=steady_state,
            rollbacks=rollbacks,
        )

    def inject(self, region: str = "primary", mode: str = "power-off") -> int:
        """Fail ``region`` through the region-failure experiment; returns t_fault.

        The experiment's steady state is checked before the fault only (after it, the
        region is down by design), and its rollback is the drill's fail back, not the
        experiment's own. Before it: room for the evidence (``ReportSpaceError``), and the
        journal says what is about to be injected; after it, the processes the injection
        started (a partition's in-region clients) are journaled as the drill's."""
        check_report_space(self.config.reports_dir, self.config.reports_min_free_mb)
        self._failure_mode = mode
        self.journal.injected = Injection(region, mode)
        self.write_journal()
        before = children()
        try:
            journal = self._run_experiment(
                "region-failure",
                steady_state="before-method-only",
                rollbacks="never",
                failed_region=region,
                failure_mode=mode,
            )
        finally:
            self._journal_processes(
                [(pid, role) for pid, role in children().items() if pid not in before]
            )
        fault = self.timeline.first(FAULT_INJECTED)
        if journal["status"] != "completed" or fault is None:
            raise DrillError(
                f"the region failure was not injected (experiment {journal['status']}, "
                f"steady state met: {journal.get('steady_states', {}).get('before', {})})"
            )
        self.advance("fault_injected")
        return fault.t_ns

    def activate(self, failed_region: str = "primary", dr_region: str = "dr") -> dict[str, Any]:
        """Run the DR activation experiment (phases 1..6); its journal."""
        self.advance("activating")
        self.alerts.activation_initiated(failed_region, dr_region, self.failure_mode, self.scenario)
        journal = self._run_experiment(
            "dr-activation", failed_region=failed_region, dr_region=dr_region
        )
        self.advance("activated")
        self._serving = dr_region
        return journal

    def declare_fault(self, region: str, mode: str, scenario: str) -> int:
        """A disaster staged by a step, not by the region-failure experiment (a bad change,
        ransomware): it is the drill's t_fault, judged as ``scenario``; returns t_fault."""
        self.config.objective_for(scenario)
        check_report_space(self.config.reports_dir, self.config.reports_min_free_mb)
        self._scenario, self._failure_mode = scenario, mode
        self.journal.injected = Injection(region, mode)
        self.write_journal()
        t_fault = self.timeline.record(FAULT_INJECTED, region, mode=mode).t_ns
        self.advance("fault_injected")
        return t_fault

    def declare_restored(self, serving_database: str) -> int:
        """The recovery restored a backup to a point before the fault and says it is done:
        ``serving_database`` (the restored instance) now serves. The ledger is checked
        against it, writes acknowledged between the fault and now are the ones the repair
        discards (``drdrill.measurement.ledger``), and ``t_restored`` is looked for from here
        on (the flows may have "worked" on bad data before)."""
        self._serving = serving_database
        return self.timeline.record(RESTORED, serving_database).t_ns

    # -- the return trip ------------------------------------------------------

    def restore_region(self, region: str = "primary") -> None:
        """The failed region is back (its infrastructure works again, its data stale): what
        a failback waits for. Nothing moves back to it yet. A target that fences a
        superseded old primary and counts what it wrote after the promotion
        (``SplitBrainWitness``) has the divergent writes noted, by id, before any
        failback can discard them."""
        self.target.restore_region(region)
        self.timeline.record(NOTE, "region_restored", region=region)
        if isinstance(self.target, SplitBrainWitness):
            writes = self.target.divergent_writes(region)
            if writes is not None:
                DivergentWrites.of(region, writes).record(self.timeline)

    def acknowledged_ids(self) -> list[str]:
        """The ids of every write customers were told succeeded so far (canary and Locust)."""
        if self.observation is None:
            return []
        ledger = self.observation.ledger
        if self.load is not None:
            self.load.add_writes_to(ledger)
        return [w.id for w in ledger.writes() if w.ack_ns is not None]

    def fail_back_planned(
        self, failed_region: str = "primary", dr_region: str = "dr"
    ) -> dict[str, Any]:
        """Run the failback experiment (prepare, verify, the configured traffic steps,
        switchover, scale down DR, validate DR); its journal. A failed phase raises
        ``ActivationFailed`` naming it, nothing after it ran. Completed: the applications
        write to ``failed_region``'s database again, and the ledger is checked against it."""
        steps = self.config.failback.traffic_steps
        journal = runner.run_for_drill(
            self.experiments / "failback.json",
            ChaosContext(self.target, self.config, self.timeline, self.stop, self.acknowledged_ids),
            variables={"failed_region": failed_region, "dr_region": dr_region},
            journal_path=self.report_dir / "journal-failback.json",
            adjust=lambda experiment: runner.with_steps(experiment, "traffic_shift", steps),
        )
        if journal["status"] == "completed":
            self._serving = failed_region
            self.timeline.record(NOTE, "failed_back", serving=failed_region)
        return journal

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

    def finish(self, scenario: str | None = None) -> DrillSummary:
        """Stop observing, check the ledger against the surviving database, measure, judge
        (against ``scenario``'s targets when given), and write the report. Idempotent: the
        second call returns the first summary."""
        if self.summary is not None:
            return self.summary
        if scenario is not None:
            self.config.objective_for(scenario)
            self._scenario = scenario
        self.observers.stop()
        samples = self.observation.samples() if self.observation else []
        requests = self.load.requests() if self.load else []
        serving_dsn = self.target.database_dsn(self._serving)
        reconciliation = reconcile_writes(self.observation, self.load, serving_dsn, self.timeline)
        self.summary = summarise(
            self.identity(),
            config=self.config,
            timeline=self.timeline,
            samples=samples,
            requests=requests,
            load_stats=self.load.stats().to_json() if self.load else {},
            reconciliation=reconciliation,
            audit_records=self.audit.records(),
            actor=self.audit.actor,
            switchover_goal_s=self.switchover_goal_s,
        )
        self.report.write(
            self.summary,
            ledger=None if reconciliation is None else reconciliation.to_json(serving_dsn),
            samples=samples,
            requests=requests,
        )
        record_measured(self.audit, self.summary, self.target_name)
        self.advance("measured")
        return self.summary

    def identity(self) -> dict[str, Any]:
        """What names this drill in its summary and its history line, measured or not."""
        return {
            "drill_id": self.drill_id,
            "scenario": self.scenario,
            "kind": self.kind,
            "target": self.target_name,
            "started_ns": self.started_ns,
            "failure_mode": self.failure_mode,
            "approved_by": self.approved_by,
        }

    def advance(self, state: str) -> None:
        """Move to ``state`` (never back: ``reached`` is the furthest state); journaled from
        ``steady`` on (``done`` only once the drill is recorded: ``close``)."""
        if DRILL_STATES.index(state) > DRILL_STATES.index(self.reached):
            self.reached = state
            if state != "done":
                self.write_journal()
            self.timeline.record(NOTE, "drill_state", state=state)

    # -- the journal: what recovers a drill whose process died -----------------

    def _new_journal(self, state: str) -> DrillJournal:
        """The journal's first record: who this drill is (``JournalKeeper``)."""
        holder = JournaledProcess.of(os.getpid(), "drill")
        assert holder is not None  # this very process runs
        return DrillJournal(
            drill_id=self.drill_id,
            target=self.target_name,
            state=state,
            holder=holder,
            report_dir=self.report_dir.resolve(),
            reports_dir=self.config.reports_dir.resolve(),
            kind=self.kind,
            scenario=self.scenario,
            started_ns=self.started_ns,
            approved_by=self.approved_by,
        )

    def write_journal(self, state: str | None = None) -> None:
        """Journal where the drill is now (from ``steady`` on; ``state`` overrides)."""
        self.journal.write(state or self.reached, self.scenario)

    def _on_audit(self, record: dict[str, Any]) -> None:
        """A target call is starting: the journal lists it before it changes anything (once
        the drill journals; a journal that cannot be written then is said, the call goes on)."""
        if not self.journal.keeping or self.reached == "done" or not target_calls([record]):
            return
        best_effort("the drill journal", self.write_journal)

    def _journal_processes(self, started: list[tuple[int | None, str]]) -> None:
        """Journal processes this drill just started (pid, role)."""
        if self.journal.add_processes(started):
            self.write_journal()

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
        return ending.close(self, error)
