"""Alerts from the drill's timeline: the phases and stop conditions as they are recorded.

The activation's phases run inside a Chaos Toolkit experiment and a stop condition
fires in its own thread; both land on the timeline. :class:`TimelineAlerts` reads
the timeline as it grows and tells people: DNS failover completed and DR services
verified (the plan's alerts), a phase over its target, a stop condition fired.
:class:`AlertRules` is the pure part: timeline events in, notifications out.
"""

from __future__ import annotations

import threading

from drdrill.config import PhaseTargets
from drdrill.measurement.phases import ALL_PHASES
from drdrill.measurement.verdict import judge_phase
from drdrill.notify.events import (
    DNS_FAILOVER_COMPLETED,
    PHASE_BREACHED,
    SERVICES_VERIFIED,
    STOP_CONDITION_FIRED,
    Notification,
)
from drdrill.notify.events import Event as AlertEvent
from drdrill.notify.notifier import Notifier
from drdrill.records.timeline import PHASE_END, PHASE_START, STOP_CONDITION, Event, Timeline

__all__ = ["AlertRules", "TimelineAlerts"]

_TITLES = {phase.name: phase.title for phase in ALL_PHASES}
_PLAN_ALERTS: dict[str, AlertEvent] = {
    "dns_failover": DNS_FAILOVER_COMPLETED,
    "service_verification": SERVICES_VERIFIED,
}


class AlertRules:
    """Which timeline events are news, for one drill. Feed events in timeline order."""

    def __init__(self, drill_id: str, target: str, phases: PhaseTargets) -> None:
        self.drill_id = drill_id
        self.target = target
        self.phases = phases
        self._started: dict[str, int] = {}

    def feed(self, event: Event) -> list[Notification]:
        """The notifications ``event`` calls for (often none)."""
        if event.kind == PHASE_START:
            self._started[event.name] = event.t_ns
            return []
        if event.kind == STOP_CONDITION:
            reason = str(event.detail.get("reason", "unknown"))
            return [
                self._note(STOP_CONDITION_FIRED, f"stopping the drill: {reason}", reason=reason)
            ]
        if event.kind != PHASE_END or event.name not in _TITLES:
            return []
        return self._phase_ended(event)

    def _phase_ended(self, event: Event) -> list[Notification]:
        name, title = event.name, _TITLES[event.name]
        started = self._started.pop(name, None)
        took = None if started is None else round((event.t_ns - started) / 1e9, 3)
        target = self.phases.target_for(name)
        facts = {"phase": name, "took_s": took, "target_s": target}
        found = []
        if event.detail.get("ok") and name in _PLAN_ALERTS:
            found.append(self._note(_PLAN_ALERTS[name], f"{title} done in {took} s", **facts))
        status = judge_phase(took, target, self.phases.warn_margin)
        if took is not None and status != "pass":
            summary = f"{title} took {took} s, over its {target:g} s target ({status})"
            found.append(self._note(PHASE_BREACHED, summary, status=status, **facts))
        return found

    def _note(self, event: AlertEvent, summary: str, **facts: str | float | None) -> Notification:
        return Notification(event, self.drill_id, self.target, summary, facts)


class TimelineAlerts:
    """Watches a drill's timeline in a thread and emits what :class:`AlertRules` finds."""

    def __init__(self, timeline: Timeline, notifier: Notifier, rules: AlertRules) -> None:
        self.timeline = timeline
        self.notifier = notifier
        self.rules = rules
        self._seen: set[int] = set()
        """ids of the events already fed: the timeline sorts by time, and an event may be
        recorded with an earlier time than one already there, so a count would not do."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="timeline-alerts", daemon=True)

    def start(self) -> TimelineAlerts:
        """Start watching; a notifier with nowhere to send costs no thread."""
        if self.notifier.active:
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching, after emitting what the timeline holds by now."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.catch_up()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.catch_up()

    def catch_up(self) -> None:
        """Emit the notifications of every event recorded since the last call."""
        with self._lock:
            events = [e for e in self.timeline if id(e) not in self._seen]
            self._seen.update(id(e) for e in events)
            for event in events:
                for notification in self.rules.feed(event):
                    self.notifier.emit(notification)
