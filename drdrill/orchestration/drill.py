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
import dataclasses
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from drdrill import stock
from drdrill.chaos import runner
from drdrill.chaos.context import ChaosContext
from drdrill.config import DrillConfig
from drdrill.errors import DrillError
from drdrill.measurement.failback import failback_figures
from drdrill.measurement.measure import declared_restore, measure, restoration_search_start
from drdrill.measurement.verdict import judge, restore_wait_s
from drdrill.observation.load import LoadRun
from drdrill.observation.observe import Observation
from drdrill.observation.split_brain_watch import SplitBrainWatch
from drdrill.observation.write_ledger import reconcile
from drdrill.orchestration import journal as drill_journal
from drdrill.orchestration.alerts import DrillAlerts
from drdrill.orchestration.approval import approver, needs_approval, refusal
from drdrill.orchestration.journal import DrillJournal, Injection, JournaledProcess
from drdrill.orchestration.outcome import DRILL_STATES, describe, ending_error, outcome_of, shielded
from drdrill.orchestration.recovery import end_processes
from drdrill.orchestration.stop_conditions import StopConditionWatch, StopRules
from drdrill.orchestration.stopping import StopButton
from drdrill.records.audit import AuditTrail
from drdrill.records.timeline import (
    FAULT_INJECTED,
    NOTE,
    PHASE_END,
    PHASE_START,
    RESTORED,
    ROLLBACK,
    Timeline,
)
from drdrill.report.findings import Rollback
from drdrill.report.space import check_report_space
from drdrill.report.summary import DrillSummary
from drdrill.report.target_calls import calls_by_phase
from drdrill.report.writer import DrillReport, UnmeasuredDrill
from drdrill.support.wait import wait_until
from drdrill.targets import open_target
from drdrill.targets.base import (
    REGIONS,
    Releasable,
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
        self._journal_path = drill_journal.journal_path(config, target_name)
        self._refuse_unfinished()  # before anything is created
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
        self.split_brain_watch: SplitBrainWatch | None = None
        self.load: LoadRun | None = None
        self.summary: DrillSummary | None = None
        self.rollback: Rollback | None = None
        """What the rollback (the target's fail back) did, once the drill closed."""
        self.outcome: str | None = None
        self.stop = stop or StopButton()
        self.reached = "created"
        self.ended_in = ""
        """The state the drill had reached when it ended (set by ``close``)."""
        self._closed = False
        self._journal: DrillJournal | None = None
        self._journal_lock = threading.Lock()
        self._injected: Injection | None = None
        self._started: list[JournaledProcess] = []
        """Processes this drill started that outlive it unless ended (Locust, the fault's)."""
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
        self._advance("steady")

    def observe(self, with_load: bool = True, warmup_s: float = 1.0) -> None:
        """Start probes, the canary and (optionally) Locust through the global endpoint."""
        endpoint = self.target.endpoint()
        self.observation = Observation(
            endpoint,
            self.config.measurement,
            standby_dsn=self.target.database_dsn("dr"),
            alarms=self.config.alarms,
            write_probes={region: self.target.database_dsn(region) for region in REGIONS},
        ).start()
        rules = StopRules.for_drill(self.config, self.scenario)
        observation = self.observation
        self.stop_watch = StopConditionWatch(
            lambda: observation.samples(), self.timeline, rules, self.stop
        ).start()
        self.split_brain_watch = SplitBrainWatch(
            lambda: observation.samples(), self.timeline
        ).start()
        if with_load:
            marker = (
                self.target.process_marker() if isinstance(self.target, SelfProvisioning) else {}
            )
            self.load = LoadRun(
                endpoint, self.config.load, self.report_dir, max_seconds=300, marker_env=marker
            ).start()
            self._journal_processes(
                [(self.load.pid, "locust"), *((w, "locust worker") for w in self.load.worker_pids)]
            )
            if self.config.load.distributed:
                # no fault before every worker (local and remote) is connected and sending
                self.load.wait_sending()
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
        self._injected = Injection(region, mode)
        self._write_journal()
        before = _children()
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
                [(pid, role) for pid, role in _children().items() if pid not in before]
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
        self.alerts.activation_initiated(failed_region, dr_region, self.failure_mode, self.scenario)
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
        check_report_space(self.config.reports_dir, self.config.reports_min_free_mb)
        self._scenario, self._failure_mode = scenario, mode
        self._injected = Injection(region, mode)
        self._write_journal()
        t_fault = self.timeline.record(FAULT_INJECTED, region, mode=mode).t_ns
        self._advance("fault_injected")
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
                self.timeline.record(
                    NOTE,
                    "divergent_writes",
                    region=region,
                    count=len(writes),
                    writes=[
                        {"id": w.id, "ack_ns": w.ack_ns, "committed_ns": w.committed_ns}
                        for w in writes
                    ],
                )

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

    def _stop_observing(self) -> None:
        """Stop every watcher and the load, each whatever the others do (a full disk, a
        failed watcher); the first error, once all are stopped."""
        stoppers = [
            self.stop_watch.stop if self.stop_watch is not None else None,
            self.load.stop if self.load is not None else None,
            self.observation.stop if self.observation is not None else None,
            # last: it takes a final look at every sample
            self.split_brain_watch.stop if self.split_brain_watch is not None else None,
        ]
        first: BaseException | None = None
        for stop in stoppers:
            if stop is None:
                continue
            try:
                stop()
            except BaseException as exc:  # the others still stop; the first is re-raised
                first = first or exc
        if first is not None:
            raise first

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
                declared_restore(self.timeline, fault.t_ns) if fault else None,
            )
        measurements = measure(
            self.timeline, samples, self.config.measurement, reconciliation, requests
        )
        verdicts = judge(measurements, self.config, self.scenario)
        load_stats = self.load.stats().to_json() if self.load else {}
        failback = failback_figures(
            self.timeline,
            samples,
            requests,
            measurements.phases,
            verdicts,
            measurements.ledger,
            switchover_target_s=self.switchover_goal_s,
            max_step_error_rate=self.config.failback.max_step_error_rate,
        )
        self.summary = DrillSummary(
            **self._identity(),
            measurements=measurements,
            verdicts=verdicts,
            load=load_stats,
            actor=self.audit.actor,
            failback=failback,
            calls=calls_by_phase(self.timeline, self.audit.records()),
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
            # the plan's "issues encountered", in short (the summary has them in full)
            findings=[f"{f.severity}: {f.what}" for f in self.summary.findings],
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
        ended_by = describe(error) or (
            f"rollback failed: {describe(rollback_error)}" if rollback_error else None
        )
        ending = UnmeasuredDrill(
            **self._identity(),
            outcome=self.outcome,
            reached=reached,
            error=ended_by,
            rollback=self.rollback,
        )
        if self.summary is not None:  # with the fail back's calls too
            calls = calls_by_phase(self.timeline, self.audit.records())
            self.summary = dataclasses.replace(self.summary, calls=calls)
        self.report.conclude(self.summary, ending)

    def _identity(self) -> dict[str, Any]:
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

    def _advance(self, state: str) -> None:
        """Move to ``state`` (never back: ``reached`` is the furthest state); journaled from
        ``steady`` on (``done`` only once the drill is recorded: ``close``)."""
        if DRILL_STATES.index(state) > DRILL_STATES.index(self.reached):
            self.reached = state
            if state != "done":
                self._write_journal()
            self.timeline.record(NOTE, "drill_state", state=state)

    # -- the journal: what recovers a drill whose process died -----------------

    def _refuse_unfinished(self) -> None:
        """``DrillAbandoned`` when the target's journal holds a drill that did not finish:
        abandoned, or an earlier one of this very process whose close did not complete
        (overwriting its journal would lose it)."""
        found = drill_journal.read(self._journal_path)
        if found is None or found.done:
            return
        if drill_journal.is_abandoned(found) or found.holder.pid == os.getpid():
            raise drill_journal.abandoned_error(found)

    def _write_journal(self, state: str | None = None) -> None:
        """Journal where the drill is now (from ``steady`` on; ``state`` overrides)."""
        state = state or self.reached
        if DRILL_STATES.index(state) < DRILL_STATES.index("steady"):
            return
        with self._journal_lock:
            if self._journal is None and state in ("failing_back", "done"):
                return  # closed before its steady state: nothing to recover
            if self._journal is None:
                holder = JournaledProcess.of(os.getpid(), "drill")
                assert holder is not None  # this very process runs
                self._journal = DrillJournal(
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
            self._journal = drill_journal.write(
                self._journal_path,
                dataclasses.replace(
                    self._journal,
                    state=state,
                    scenario=self.scenario,
                    injected=self._injected,
                    changes=_changes(self.audit.records()),
                    processes=tuple(self._started),
                ),
            )

    def _on_audit(self, record: dict[str, Any]) -> None:
        """A target call is starting: the journal lists it before it changes anything (once
        the drill journals; a journal that cannot be written then is said, the call goes on)."""
        if self._journal is None or self.reached == "done" or not _changes([record]):
            return
        self._note("the drill journal", self._write_journal)

    def _journal_processes(self, started: list[tuple[int | None, str]]) -> None:
        """Journal processes this drill just started (pid, role)."""
        found = [JournaledProcess.of(pid, role) for pid, role in started if pid is not None]
        self._started += [p for p in found if p is not None]
        if found:
            self._write_journal()

    def _note(self, what: str, write: Callable[[], object]) -> None:
        """Bookkeeping during the rollback: a write that fails (a full disk) is said on
        stderr, never allowed to stop the rollback."""
        try:
            write()
        except Exception as exc:
            print(f"drdrill: {what} not written: {describe(exc)}", file=sys.stderr, flush=True)

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
        error = ending_error(error, self.stop.reason)
        reached = self.ended_in = self.reached
        rollback_error: BaseException | None = None
        with shielded(f"rolling back drill {self.drill_id} (fail back of {self.target_name})"):
            # every step runs whatever the one before it did: a full disk or a broken
            # watcher never keeps the platform from being put back
            self._note("the drill's state", lambda: self._advance("failing_back"))
            try:
                self._stop_observing()
            except BaseException as exc:  # recorded, then re-raised below
                rollback_error = exc
            self._note(
                "the rollback's timeline event", lambda: self.timeline.record(ROLLBACK, "fail_back")
            )
            try:
                with self.audit.best_effort():
                    self.target.fail_back()
            except BaseException as exc:  # recorded, then re-raised below
                rollback_error = rollback_error or exc
            finally:
                end_processes(self._started)  # what the fail back did not end (Locust: stopped)
                if isinstance(self.target, Releasable):
                    self.target.release()
            self.rollback = Rollback.of(
                self.audit.records(), None if rollback_error is None else str(rollback_error)
            )
            self.outcome = outcome_of(
                error,
                self.summary,
                rollback_error,
                measurable=self.observation is not None
                and self.timeline.first(FAULT_INJECTED) is not None,
            )
            self._note("the drill's state", lambda: self._advance("done"))
            try:
                self._conclude(reached, error, rollback_error)
            finally:
                self._record_finished(reached, error, rollback_error)
            # recorded: nobody needs to recover it (a record that failed leaves the journal
            # as it was, and ``drdrill recover`` records it once the process is gone)
            self._note("the drill journal", lambda: self._write_journal("done"))
        try:
            self._notify_finished(reached, error, rollback_error)
        finally:
            self.report.seal(self.drill_id)  # the last write to the report directory
        if rollback_error is not None and error is None:
            raise rollback_error
        return self.outcome

    def _notify_finished(
        self, reached: str, error: BaseException | None, rollback_error: BaseException | None
    ) -> None:
        """Tell people how the drill ended; the delivery log goes into the report."""
        measured = self.summary.measurements if self.summary is not None else None
        self.alerts.finished(
            f"{self.kind} drill of the {self.scenario} scenario: {self.outcome}",
            {
                "outcome": self.outcome,
                "reached": reached,
                "rto_s": measured.rto_s if measured else None,
                "rpo_s": measured.rpo_s if measured else None,
                "lost_writes": measured.ledger.lost if measured else None,
                "rolled_back": rollback_error is None,
                "error": describe(error),
            },
            self.report_dir,
        )

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
            error=describe(error),
            rollback=None if self.rollback is None else self.rollback.text,
        )


def _children() -> dict[int, str]:
    """This process's children now: pid → what runs (its command line, shortened)."""
    found = {}
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            argv = child.cmdline()
            words = argv[2:5] if argv[1:2] == ["-m"] else argv[:3]
            found[child.pid] = " ".join(words)[:80] or child.name()
    return found


def _changes(audit: list[dict[str, Any]]) -> tuple[str, ...]:
    """The target calls of an audit trail so far, one ``action key=value ...`` each."""
    return tuple(
        " ".join([str(r["action"]), *(f"{k}={v}" for k, v in (r.get("parameters") or {}).items())])
        for r in audit
        if r.get("outcome") == "started" and not str(r.get("action", "")).startswith("drill_")
    )
