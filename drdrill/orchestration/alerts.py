"""The drill's alerts: what the plan's DR Activation Alerts and drdrill's own events say
about one drill, sent through its configured channels (``drdrill.notify``).

Drill started, activation initiated and drill finished come from the drill itself; DNS
failover completed, services verified, a phase over its target and a stop condition come
from its timeline as it grows (``TimelineAlerts``). Delivery never stalls the drill; what
was delivered where goes into the report as ``notifications.jsonl``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drdrill.config import DrillConfig
from drdrill.notify import Notification, Notifier
from drdrill.notify.events import (
    ACTIVATION_INITIATED,
    DRILL_FINISHED,
    DRILL_STARTED,
    Event,
)
from drdrill.notify.timeline_alerts import AlertRules, TimelineAlerts
from drdrill.records.timeline import Timeline
from drdrill.support import jsonl

__all__ = ["DrillAlerts"]


class DrillAlerts:
    """The alerts of one drill."""

    def __init__(self, config: DrillConfig, drill_id: str, target: str, timeline: Timeline) -> None:
        self.config = config
        self.drill_id = drill_id
        self.target = target
        self.notifier = Notifier(config.notifications)
        self.watch = TimelineAlerts(
            timeline, self.notifier, AlertRules(drill_id, target, config.phases)
        ).start()

    def _emit(self, event: Event, summary: str, facts: dict[str, Any]) -> None:
        self.notifier.emit(Notification(event, self.drill_id, self.target, summary, facts))

    def started(self, kind: str, scenario: str, dry_run: bool) -> None:
        self._emit(
            DRILL_STARTED,
            f"{kind} drill of the {scenario} scenario started",
            {"kind": kind, "scenario": scenario, "dry_run": dry_run},
        )

    def activation_initiated(
        self, failed_region: str, dr_region: str, failure_mode: str | None, scenario: str
    ) -> None:
        self._emit(
            ACTIVATION_INITIATED,
            f"region {failed_region} is down; activating the DR region {dr_region}",
            {
                "failed_region": failed_region,
                "dr_region": dr_region,
                "failure_mode": failure_mode,
                "scenario": scenario,
            },
        )

    def finished(self, summary: str, facts: dict[str, Any], report_dir: Path) -> None:
        """The last alert; then every delivery is flushed (bounded) into the report."""
        self.watch.stop()
        self._emit(DRILL_FINISHED, summary, facts)
        for delivery in self.notifier.close(self.config.notifications.retry.total):
            jsonl.append(report_dir / "notifications.jsonl", delivery.to_json())
