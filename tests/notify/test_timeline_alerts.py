"""The timeline's phases and stop conditions become the plan's alerts and the drill's own."""

from __future__ import annotations

import threading

from drdrill.config import PhaseTargets
from drdrill.notify import NotificationSettings, Notifier
from drdrill.notify.timeline_alerts import AlertRules, TimelineAlerts
from drdrill.records.timeline import PHASE_END, PHASE_START, STOP_CONDITION, Timeline
from tests.notify.receivers import HttpReceiver

S = 1_000_000_000
T0 = 1_800_000_000 * S


def phase(timeline: Timeline, name: str, start_s: float, took_s: float, ok: bool = True) -> None:
    timeline.record(PHASE_START, name, t_ns=T0 + int(start_s * S))
    timeline.record(PHASE_END, name, t_ns=T0 + int((start_s + took_s) * S), ok=ok)


def alerts(timeline: Timeline) -> list[tuple[str, dict[str, object]]]:
    rules = AlertRules("d-1", "lab", PhaseTargets())
    return [(n.event, dict(n.facts)) for e in timeline for n in rules.feed(e)]


def test_a_dns_failover_within_target_is_announced_to_ops() -> None:
    timeline = Timeline()
    phase(timeline, "dns_failover", 0, 4.0)

    assert alerts(timeline) == [
        (
            "dns_failover_completed",
            {"phase": "dns_failover", "took_s": 4.0, "target_s": 300.0},
        )
    ]


def test_a_phase_over_its_target_is_a_breach_warn_then_fail() -> None:
    timeline = Timeline()
    phase(timeline, "database_promotion", 0, 700)  # target 600, warn up to 720
    phase(timeline, "service_verification", 700, 400)  # target 300, warn up to 360

    found = alerts(timeline)

    assert [event for event, _ in found] == [
        "phase_breached",
        "services_verified",
        "phase_breached",
    ]
    assert found[0][1]["status"] == "warn"
    assert found[2][1] == {
        "phase": "service_verification",
        "took_s": 400.0,
        "target_s": 300.0,
        "status": "fail",
    }


def test_a_failed_phase_is_not_announced_as_completed() -> None:
    timeline = Timeline()
    phase(timeline, "dns_failover", 0, 2.0, ok=False)

    assert alerts(timeline) == []


def test_a_stop_condition_is_announced_with_its_reason() -> None:
    timeline = Timeline()
    timeline.record(STOP_CONDITION, "stop_condition", reason="replica lag 400 s over 300 s")

    assert alerts(timeline) == [
        ("stop_condition_fired", {"reason": "replica lag 400 s over 300 s"})
    ]


def test_alerts_follow_a_growing_timeline_to_the_receiver(http: HttpReceiver) -> None:
    settings = NotificationSettings.model_validate(
        {
            "channels": {"hook": {"kind": "webhook", "url": f"{http.url}/hook"}},
            "recipients": {"ops-team": ["hook"]},
        }
    )
    timeline = Timeline()
    with Notifier(settings) as notifier:
        watcher = TimelineAlerts(timeline, notifier, AlertRules("d-1", "lab", PhaseTargets()))
        watcher.start()
        phase(timeline, "dns_failover", 0, 3.0)
        first = http.wait_for(1, timeout_s=3)
        phase(timeline, "service_verification", 10, 2.0)
        watcher.stop()

    assert [body["event"] for _, body in first] == ["dns_failover_completed"]
    assert [body["event"] for _, body in http.received] == [
        "dns_failover_completed",
        "services_verified",
    ]


def test_nothing_configured_costs_no_watcher_thread() -> None:
    watcher = TimelineAlerts(
        Timeline(), Notifier(NotificationSettings()), AlertRules("d", "lab", PhaseTargets())
    ).start()

    assert "timeline-alerts" not in {thread.name for thread in threading.enumerate()}
    watcher.stop()
