"""Stop conditions judged on hand-made probe timelines; the stop button interrupts the drill."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest

from drdrill.measurement.samples import CRITICAL_FLOW, REPLICATION_LAG, Sample
from drdrill.orchestration.stop_conditions import StopConditionWatch, StopRules, fired
from drdrill.orchestration.stopping import StopButton, stop_button
from drdrill.records.timeline import STOP_CONDITION, Timeline

S = 1_000_000_000
T0 = 1_700_000_000 * S


def flow(start_s: float, end_s: float, ok: bool, step_s: float = 0.1) -> list[Sample]:
    n = round((end_s - start_s) / step_s)
    return [Sample(T0 + int((start_s + i * step_s) * S), CRITICAL_FLOW, ok, 0.01) for i in range(n)]


RULES = StopRules(max_error_rate=0.5, error_window_s=10, outage_factor=2, rto_target_s=20)


def test_a_healthy_platform_fires_nothing() -> None:
    assert fired(flow(0, 60, True), None, T0 + 60 * S, RULES) is None


def test_errors_before_the_fault_fire() -> None:
    samples = flow(0, 20, True) + flow(20, 40, False)
    reason = fired(samples, None, T0 + 40 * S, RULES)
    assert reason is not None and "before the fault" in reason and "100%" in reason


def test_the_expected_outage_does_not_fire_until_it_outlasts_the_factor() -> None:
    samples = flow(0, 10, True) + flow(10, 55, False)
    # 45 s < 2 × 20 s + the 5 s a restoration takes to be confirmed
    assert fired(samples, T0 + 10 * S, T0 + 55 * S, RULES) is None
    late = fired(samples + flow(55, 56, False), T0 + 10 * S, T0 + 56 * S, RULES)
    assert late is not None and "2 × the RTO target (40 s)" in late


def test_a_secondary_outage_after_restoration_fires() -> None:
    samples = flow(0, 10, True) + flow(10, 12, False) + flow(12, 20, True) + flow(20, 32, False)
    reason = fired(samples, T0 + 10 * S, T0 + 32 * S, RULES)
    assert reason is not None and "after restoration" in reason


def test_replica_lag_over_its_alarm_before_the_fault_fires() -> None:
    lagging = [Sample(T0, REPLICATION_LAG, False, 0.01, "lag 412 s > alarm 300 s")]
    reason = fired(flow(0, 5, True) + lagging, None, T0 + 5 * S, RULES)
    assert reason is not None and "lag 412 s" in reason
    off = StopRules(replica_lag_before_fault=False)
    assert fired(flow(0, 5, True) + lagging, None, T0 + 5 * S, off) is None


def test_a_firing_is_recorded_and_interrupts_the_main_thread(tmp_path: object) -> None:

    timeline = Timeline(Path(str(tmp_path)) / "timeline.jsonl")
    failing = [
        Sample(time.time_ns() - int(i * 0.1 * S), CRITICAL_FLOW, False, 0.01) for i in range(30)
    ]
    rules = StopRules(max_error_rate=0.5, error_window_s=2)
    with stop_button() as button, pytest.raises(KeyboardInterrupt):
        watch = StopConditionWatch(lambda: failing, timeline, rules, button, 0.05).start()
        time.sleep(5)  # woken by the stop button's SIGINT
    watch.stop()
    assert button.reason is not None and button.reason.startswith("stop condition: customer")
    assert [e.kind for e in timeline.events(STOP_CONDITION)] == [STOP_CONDITION]


def test_the_first_reason_wins_and_signals_press_the_button() -> None:
    button = StopButton()
    with pytest.raises(KeyboardInterrupt):
        button.press("drdrill abort")
    with pytest.raises(KeyboardInterrupt):
        button.press("SIGTERM received")
    assert button.reason == "drdrill abort"
    with stop_button() as installed, pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGTERM)
    assert installed.reason == "SIGTERM received"
    assert threading.current_thread() is threading.main_thread()
