"""Delivery: the PagerDuty v2 shape, retries with backoff, bounds that never stall a drill."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from drdrill.notify import Notification, NotificationSettings, Notifier
from tests.notify.receivers import HttpReceiver, silent_receiver


def settings_for(channels: dict[str, Any], **retry: Any) -> NotificationSettings:
    """Every channel belongs to ops-team, so it hears about the activation."""
    return NotificationSettings.model_validate(
        {
            "channels": channels,
            "recipients": {"ops-team": list(channels)},
            "retry": {"backoff": "10ms", **retry},
        }
    )


ACTIVATION = Notification(
    "activation_initiated",
    "20261130T030000Z-full-ab12",
    "lab",
    "the primary region failed; activating the DR region",
    {"failed_region": "primary", "mode": "power-off"},
)


def test_pagerduty_gets_an_events_v2_trigger(http: HttpReceiver) -> None:
    settings = settings_for(
        {"pd": {"kind": "pagerduty", "routing_key": "R0UTE", "url": f"{http.url}/v2/enqueue"}}
    )
    notifier = Notifier(settings)
    notifier.emit(ACTIVATION)
    notifier.close(timeout_s=5)

    [body] = http.bodies("/v2/enqueue")
    assert body["routing_key"] == "R0UTE"
    assert body["event_action"] == "trigger"
    assert body["dedup_key"] == "drdrill-20261130T030000Z-full-ab12-activation_initiated"
    payload = body["payload"]
    assert payload["summary"].startswith("[DR drill 20261130T030000Z-full-ab12 on lab]")
    assert len(payload["summary"]) <= 1024
    assert payload["source"] == "drdrill"
    assert payload["severity"] == "critical"
    assert datetime.fromisoformat(payload["timestamp"]).tzinfo is not None
    assert payload["custom_details"]["failed_region"] == "primary"


def test_a_webhook_gets_the_notification_as_json(http: HttpReceiver) -> None:
    notifier = Notifier(settings_for({"hook": {"kind": "webhook", "url": f"{http.url}/hook"}}))
    notifier.emit(ACTIVATION)
    notifier.close(timeout_s=5)

    [body] = http.bodies("/hook")
    assert body["event"] == "activation_initiated"
    assert body["drill_id"] == "20261130T030000Z-full-ab12"
    assert body["facts"] == {"failed_region": "primary", "mode": "power-off"}


def test_a_server_error_is_retried_until_it_succeeds(http: HttpReceiver) -> None:
    http.statuses[:] = [500, 503]
    notifier = Notifier(settings_for({"slack": {"kind": "slack", "url": f"{http.url}/s"}}))
    notifier.emit(ACTIVATION)
    [delivery] = notifier.close(timeout_s=5)

    assert len(http.received) == 3
    assert (delivery.ok, delivery.attempts, delivery.detail) == (True, 3, "")


def test_retries_stop_after_the_configured_attempts(http: HttpReceiver) -> None:
    http.statuses[:] = [500] * 10
    notifier = Notifier(
        settings_for({"slack": {"kind": "slack", "url": f"{http.url}/s"}}, attempts=2)
    )
    notifier.emit(ACTIVATION)
    [delivery] = notifier.close(timeout_s=5)

    assert len(http.received) == 2
    assert (delivery.ok, delivery.attempts) == (False, 2)
    assert delivery.detail == "HTTP 500 Internal Server Error"


def test_a_rejected_request_is_not_retried(http: HttpReceiver) -> None:
    http.statuses[:] = [400]
    notifier = Notifier(settings_for({"slack": {"kind": "slack", "url": f"{http.url}/s"}}))
    notifier.emit(ACTIVATION)
    [delivery] = notifier.close(timeout_s=5)

    assert (delivery.ok, delivery.attempts, len(http.received)) == (False, 1, 1)


def test_a_receiver_that_never_answers_stalls_neither_emit_nor_close() -> None:
    with silent_receiver() as url:
        settings = settings_for(
            {"slack": {"kind": "slack", "url": f"{url}/s"}},
            attempt_timeout="5s",
            total="10s",
        )
        notifier = Notifier(settings)
        started = time.monotonic()
        for _ in range(5):
            notifier.emit(ACTIVATION)
        emitted_in = time.monotonic() - started
        started = time.monotonic()
        log = notifier.close(timeout_s=0.5)
        closed_in = time.monotonic() - started

    assert emitted_in < 0.05
    assert closed_in < 1.0
    assert [d.detail for d in log] == [
        "no answer before the notifier closed after 0.5 s",
        *["not sent: the notifier closed after 0.5 s"] * 4,
    ]
    assert notifier.close(timeout_s=0.1) == log  # a second close logs nothing twice


def test_one_hung_channel_does_not_delay_another(http: HttpReceiver) -> None:
    with silent_receiver() as url:
        settings = settings_for(
            {
                "hung": {"kind": "webhook", "url": f"{url}/h"},
                "fine": {"kind": "webhook", "url": f"{http.url}/f"},
            },
            attempt_timeout="5s",
        )
        notifier = Notifier(settings)
        notifier.emit(ACTIVATION)
        arrived = http.wait_for(1, timeout_s=2)
        notifier.close(timeout_s=0.2)

    assert [path for path, _ in arrived] == ["/f"]


def test_a_delivery_is_bounded_in_total_time() -> None:
    with silent_receiver() as url:
        settings = settings_for(
            {"slack": {"kind": "slack", "url": f"{url}/s"}},
            attempts=10,
            attempt_timeout="200ms",
            total="500ms",
        )
        notifier = Notifier(settings)
        notifier.emit(ACTIVATION)
        time.sleep(1.0)
        [delivery] = notifier.deliveries()
        notifier.close(timeout_s=0.1)

    assert not delivery.ok
    # the 500 ms budget, not the ten attempts of 200 ms (2 s and more), ended the delivery;
    # the head-room over the budget is for a busy machine's scheduling
    assert delivery.attempts < 10
    assert delivery.took_s < 1.5


def test_a_full_queue_drops_and_counts_instead_of_waiting() -> None:
    with silent_receiver() as url:
        settings = settings_for({"slack": {"kind": "slack", "url": f"{url}/s"}})
        settings = settings.model_copy(update={"queue_size": 2})
        notifier = Notifier(settings)
        started = time.monotonic()
        queued = [notifier.emit(ACTIVATION) for _ in range(10)]
        emitted_in = time.monotonic() - started
        notifier.close(timeout_s=0.2)

    assert emitted_in < 0.05
    assert queued.count(0) >= 7  # one in flight, two waiting, the rest dropped
    assert notifier.dropped == queued.count(0)


def test_nothing_is_queued_after_close(http: HttpReceiver) -> None:
    notifier = Notifier(settings_for({"slack": {"kind": "slack", "url": f"{http.url}/s"}}))
    notifier.close(timeout_s=1)

    assert notifier.emit(ACTIVATION) == 0
    assert notifier.dropped == 1
    assert http.received == []
