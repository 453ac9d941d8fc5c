"""What watches a drill while it runs: probes and the canary writer through the global
endpoint (``Observation``), the stop conditions over their samples, the split-brain watch,
and the customers' load (Locust). Started together before the fault, stopped together."""

from __future__ import annotations

from pathlib import Path

from drdrill.config import DrillConfig
from drdrill.observation.load import LoadRun
from drdrill.observation.observe import Observation
from drdrill.observation.split_brain_watch import SplitBrainWatch
from drdrill.orchestration.stop_conditions import StopConditionWatch, StopRules
from drdrill.orchestration.stopping import StopButton
from drdrill.records.timeline import Timeline
from drdrill.targets.base import REGIONS, SelfProvisioning, Target

__all__ = ["DrillObservers"]


class DrillObservers:
    """The watchers of one drill; each is None until started."""

    def __init__(self) -> None:
        self.observation: Observation | None = None
        self.stop_watch: StopConditionWatch | None = None
        self.split_brain_watch: SplitBrainWatch | None = None
        self.load: LoadRun | None = None

    def start(
        self,
        target: Target,
        config: DrillConfig,
        scenario: str,
        timeline: Timeline,
        stop: StopButton,
        report_dir: Path,
        with_load: bool,
    ) -> list[tuple[int | None, str]]:
        """Start every watcher through ``target``'s global endpoint; the processes started
        (Locust's master and workers: pid, role), for the drill's journal."""
        endpoint = target.endpoint()
        observation = self.observation = Observation(
            endpoint,
            config.measurement,
            standby_dsn=target.database_dsn("dr"),
            alarms=config.alarms,
            write_probes={region: target.database_dsn(region) for region in REGIONS},
        ).start()
        rules = StopRules.for_drill(config, scenario)
        self.stop_watch = StopConditionWatch(
            lambda: observation.samples(), timeline, rules, stop
        ).start()
        self.split_brain_watch = SplitBrainWatch(lambda: observation.samples(), timeline).start()
        if not with_load:
            return []
        marker = target.process_marker() if isinstance(target, SelfProvisioning) else {}
        self.load = LoadRun(
            endpoint, config.load, report_dir, max_seconds=300, marker_env=marker
        ).start()
        return [(self.load.pid, "locust"), *((w, "locust worker") for w in self.load.worker_pids)]

    def wait_for_load(self, config: DrillConfig) -> None:
        """With distributed load: no fault before every worker (local and remote) is
        connected and sending."""
        if self.load is not None and config.load.distributed:
            self.load.wait_sending()

    def stop(self) -> None:
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
