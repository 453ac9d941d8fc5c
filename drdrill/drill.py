"""One DR drill, start to finish: observe, inject, activate, measure, judge, report, roll back.

Steps and ``drdrill run`` drive a ``Drill``; everything it learns lands in
``reports/<drill-id>/``: the timeline (as it grows), the audit trail, the Chaos
Toolkit journals, Locust's records, the summary and the timeline picture.
``close()`` always puts the platform back (``fail_back``), also after a failure,
Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from drdrill import stock
from drdrill.audit import AuditTrail
from drdrill.chaos import runner
from drdrill.chaos.context import ChaosContext
from drdrill.config import DrillConfig
from drdrill.errors import DrillError
from drdrill.ledger import reconcile
from drdrill.load import LoadRun
from drdrill.measure import measure
from drdrill.observe import Observation
from drdrill.report.chart import draw_timeline
from drdrill.report.summary import DrillSummary, append_history, write_summary
from drdrill.results import Measurements
from drdrill.targets import open_target
from drdrill.timeline import (
    FAULT_INJECTED,
    NOTE,
    PHASE_END,
    PHASE_START,
    RESTORED,
    ROLLBACK,
    Timeline,
)
from drdrill.verdict import judge

__all__ = ["EXPERIMENTS", "Drill"]

EXPERIMENTS = stock.EXPERIMENTS


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


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
    ) -> None:
        config.objective_for(scenario)  # unknown scenario: error before anything runs
        self.config = config
        self.kind = kind
        self.scenario = scenario
        self.target_name = target_name
        self.experiments = experiments
        self.started_ns = time.time_ns()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.drill_id = f"{stamp}-{kind}-{secrets.token_hex(2)}"
        self.report_dir = config.reports_dir / self.drill_id
        self.timeline = Timeline(self.report_dir / "timeline.jsonl")
        self.audit = AuditTrail(self.report_dir / "audit.jsonl")
        self.target = open_target(
            config, target_name, confirm=confirm, dry_run=dry_run, audit=self.audit
        )
        self.failure_mode: str | None = None
        self.serving_region = "primary"
        self.observation: Observation | None = None
        self.load: LoadRun | None = None
        self.summary: DrillSummary | None = None
        self._closed = False
        self._old_sigterm = signal.signal(signal.SIGTERM, _interrupt)
        self.audit.record(
            "drill_started",
            target=target_name,
            outcome="started",
            parameters={"drill_id": self.drill_id, "kind": kind, "scenario": scenario},
        )

    # -- before the disaster -------------------------------------------------

    def prepare(self, timeout_s: float = 30.0) -> None:
        """Bring the platform to its steady state: up, healthy through the global endpoint."""
        ensure_up = getattr(self.target, "ensure_up", None)
        if ensure_up is not None:
            ensure_up()
        deadline = time.monotonic() + timeout_s
        while not self.target.verify_services().ok:
            if time.monotonic() > deadline:
                raise DrillError(
                    f"the platform is not in its steady state after {timeout_s}s: "
                    "the global endpoint fails its health or critical flows"
                )
            time.sleep(0.2)
        self.timeline.record(NOTE, "steady_state")

    def observe(self, with_load: bool = True, warmup_s: float = 1.0) -> None:
        """Start probes, the canary and (optionally) Locust through the global endpoint."""
        endpoint = self.target.endpoint()
        self.observation = Observation(
            endpoint,
            self.config.measurement,
            standby_dsn=self.target.database_dsn("dr"),
            alarms=self.config.alarms,
        ).start()
        if with_load:
            self.load = LoadRun(
                endpoint, self.config.load, self.report_dir, max_seconds=300
            ).start()
        time.sleep(warmup_s)

    # -- the disaster and the recovery ---------------------------------------

    def _run_experiment(self, name: str, **variables: Any) -> dict[str, Any]:
        context = ChaosContext(self.target, self.config, self.timeline)
        journal = runner.run(
            self.experiments / f"{name}.json",
            context,
            variables=variables,
            journal_path=self.report_dir / f"journal-{name}.json",
            steady_state="before-method-only" if name == "region-failure" else "default",
            rollbacks="never" if name == "region-failure" else "default",
        )
        if journal["status"] == "interrupted":
            raise KeyboardInterrupt(f"experiment {name} interrupted")
        return journal

    def inject(self, region: str = "primary", mode: str = "power-off") -> int:
        """Fail ``region`` through the region-failure experiment; returns t_fault."""
        self.failure_mode = mode
        journal = self._run_experiment("region-failure", failed_region=region, failure_mode=mode)
        fault = self.timeline.first(FAULT_INJECTED)
        if journal["status"] != "completed" or fault is None:
            raise DrillError(
                f"the region failure was not injected (experiment {journal['status']}, "
                f"steady state met: {journal.get('steady_states', {}).get('before', {})})"
            )
        return fault.t_ns

    def activate(self, failed_region: str = "primary", dr_region: str = "dr") -> dict[str, Any]:
        """Run the DR activation experiment (phases 1..6); its journal."""
        journal = self._run_experiment(
            "dr-activation", failed_region=failed_region, dr_region=dr_region
        )
        self.serving_region = dr_region
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

    def wait_restored(self, timeout_s: float = 120.0) -> int | None:
        """Block until the critical flow is stable again after the fault (or after the
        recovery declared itself done, for data disasters); t_restored."""
        fault = self.timeline.first(FAULT_INJECTED)
        if self.observation is None or fault is None:
            return None
        declared = [e.t_ns for e in self.timeline.events(RESTORED) if e.t_ns >= fault.t_ns]
        return self.observation.wait_restored(max([fault.t_ns, *declared]), timeout_s)

    # -- afterwards ----------------------------------------------------------

    def _stop_observing(self) -> None:
        if self.load is not None:
            self.load.stop()
        if self.observation is not None:
            self.observation.stop()

    def finish(self) -> DrillSummary:
        """Stop observing, check the ledger against the surviving database, measure, judge,
        and write the report. Idempotent: the second call returns the first summary."""
        if self.summary is not None:
            return self.summary
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
                self.target.database_dsn(self.serving_region),
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
        self._write_report(measurements, samples, requests, reconciliation)
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
        return self.summary

    def _write_report(
        self,
        measurements: Measurements,
        samples: list[Any],
        requests: list[Any],
        reconciliation: Any,
    ) -> None:
        assert self.summary is not None
        write_summary(self.summary, self.report_dir)
        append_history(self.summary, self.config.reports_dir)
        (self.report_dir / "measurements.json").write_text(
            json.dumps(measurements.to_json(), indent=2, default=str)
        )
        if reconciliation is not None:
            summary = reconciliation.summary()
            (self.report_dir / "ledger.json").write_text(
                json.dumps(
                    {
                        "acked": summary.acked,
                        "lost": summary.lost,
                        "in_doubt": summary.in_doubt,
                        "never_acked": summary.never_acked,
                        "lost_after_fault": summary.lost_after_fault,
                        "lost_ids": list(summary.lost_ids),
                        "in_doubt_ids": list(summary.in_doubt_ids),
                        "checked_against": self.target.database_dsn(self.serving_region),
                    },
                    indent=2,
                )
            )
        if samples:
            draw_timeline(
                self.report_dir / "timeline.png",
                samples,
                measurements,
                requests,
                title=f"{self.drill_id} ({self.failure_mode or self.kind})",
            )

    def close(self) -> None:
        """Always: stop observing and put the platform back in its steady state."""
        if self._closed:
            return
        self._closed = True
        try:
            self._stop_observing()
            self.timeline.record(ROLLBACK, "fail_back")
            self.target.fail_back()
        finally:
            signal.signal(signal.SIGTERM, self._old_sigterm)
            self.audit.record(
                "drill_finished",
                target=self.target_name,
                outcome="rolled back",
                parameters={"drill_id": self.drill_id, "pid": os.getpid()},
            )
