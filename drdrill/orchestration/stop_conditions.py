"""Stop conditions, like AWS FIS's: guards checked while a drill runs that abort it.

Three guards, each off when its setting is None:

- **customer errors outside the expected outage** — the critical-flow error rate over the
  last ``error_window`` seconds above ``max_error_rate``, before the fault (the platform
  was not healthy to begin with) or after restoration (a secondary outage);
- **an outage far longer than planned** — still not restored ``outage_factor`` × the
  scenario's RTO target after the fault (plus ``stable_for``: a restoration is only
  confirmed once it has held that long);
- **a replica already behind** — the replication-lag probe failing its alarm before the
  fault (the drill would start from a state the plan does not allow).

``fired`` is pure (samples and times in, a reason or None out); ``StopConditionWatch``
evaluates it every half second in a thread and presses the drill's stop button, after
recording the firing in the timeline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from drdrill.config import DrillConfig
from drdrill.measurement.measure import find_restored
from drdrill.measurement.samples import CRITICAL_FLOW, REPLICATION_LAG, Sample
from drdrill.orchestration.stopping import StopButton
from drdrill.records.timeline import FAULT_INJECTED, STOP_CONDITION, Timeline
from drdrill.support.periodic import Periodic

__all__ = ["StopConditionWatch", "StopRules", "fired"]


@dataclass(frozen=True)
class StopRules:
    """The guards of one drill (None: that guard is off)."""

    max_error_rate: float | None = 0.5
    error_window_s: float = 30.0
    outage_factor: float | None = 2.0
    rto_target_s: float = 1800.0
    replica_lag_before_fault: bool = True
    stable_for_s: float = 5.0
    slow_after_s: float | None = 0.1

    @classmethod
    def for_drill(cls, config: DrillConfig, scenario: str) -> StopRules:
        """The guards ``drdrill.yaml`` sets, against ``scenario``'s RTO target."""
        guards = config.stop_conditions
        return cls(
            max_error_rate=guards.max_error_rate,
            error_window_s=guards.error_window,
            outage_factor=guards.outage_factor,
            rto_target_s=config.objective_for(scenario).rto,
            replica_lag_before_fault=guards.replica_lag_before_fault,
            stable_for_s=config.measurement.stable_for,
            slow_after_s=config.measurement.slow_after,
        )


def fired(
    samples: Sequence[Sample], t_fault_ns: int | None, now_ns: int, rules: StopRules
) -> str | None:
    """The first guard that fires at ``now_ns`` (a sentence saying which and why), or None."""
    t_restored = None
    if t_fault_ns is not None:
        t_restored = find_restored(samples, t_fault_ns, rules.stable_for_s, rules.slow_after_s)
        if rules.outage_factor is not None and t_restored is None:
            limit = rules.outage_factor * rules.rto_target_s
            if (now_ns - t_fault_ns) / 1e9 > limit + rules.stable_for_s:
                return (
                    f"outage longer than {rules.outage_factor:g} × the RTO target "
                    f"({limit:g} s) and still not restored"
                )
    elif rules.replica_lag_before_fault:
        lag = [s for s in samples if s.probe == REPLICATION_LAG]
        if lag and not lag[-1].ok:
            return f"replica lag over its alarm before the fault: {lag[-1].detail}"
    if rules.max_error_rate is not None:
        start = now_ns - int(rules.error_window_s * 1e9)
        if t_fault_ns is not None:
            if t_restored is None:
                return None  # the expected outage: the outage guard watches it
            start = max(start, t_restored)
        window = [s for s in samples if s.probe == CRITICAL_FLOW and start <= s.t_ns <= now_ns]
        covered = window and (now_ns - window[0].t_ns) / 1e9 >= rules.error_window_s * 0.9
        if covered:
            rate = sum(not s.ok for s in window) / len(window)
            if rate > rules.max_error_rate:
                when = "after restoration" if t_fault_ns is not None else "before the fault"
                return (
                    f"customer error rate {rate:.0%} over {rules.error_window_s:g} s "
                    f"{when} (limit {rules.max_error_rate:.0%})"
                )
    return None


class StopConditionWatch:
    """Checks the rules every ``interval_s`` in a thread; on a firing, records it in the
    timeline and presses the stop button (once)."""

    def __init__(
        self,
        samples: Callable[[], Sequence[Sample]],
        timeline: Timeline,
        rules: StopRules,
        button: StopButton,
        interval_s: float = 0.5,
    ) -> None:
        self._samples = samples
        self._timeline = timeline
        self._rules = rules
        self._button = button
        self._periodic = Periodic(self._check, interval_s, "stop-conditions")

    def start(self) -> StopConditionWatch:
        self._periodic.start()
        return self

    def stop(self) -> None:
        self._periodic.stop()

    def _check(self) -> bool:
        """True (done) once a rule fired: recorded, and the stop button pressed."""
        fault = self._timeline.first(FAULT_INJECTED)
        reason = fired(self._samples(), fault.t_ns if fault else None, time.time_ns(), self._rules)
        if reason is None:
            return False
        self._timeline.record(STOP_CONDITION, "stop_condition", reason=reason)
        self._button.press(f"stop condition: {reason}")
        return True
