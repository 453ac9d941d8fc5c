"""Alerts go where the DR plan routes them, over real HTTP and SMTP receivers."""

from __future__ import annotations

from typing import Any

from drdrill.notify import Notification, NotificationSettings, Notifier
from tests.notify.receivers import HttpReceiver, SmtpReceiver

TEAMS = ("leadership", "ops-team", "dev-team")


def plan_settings(http: HttpReceiver, smtp: SmtpReceiver) -> NotificationSettings:
    """Each team on its own Slack webhook, PagerDuty service and mailbox."""
    channels: dict[str, Any] = {}
    recipients: dict[str, list[str]] = {}
    for team in TEAMS:
        channels[f"slack-{team}"] = {"kind": "slack", "url": f"{http.url}/slack/{team}"}
        channels[f"pager-{team}"] = {
            "kind": "pagerduty",
            "routing_key": f"key-{team}",
            "url": f"{http.url}/pagerduty",
        }
        channels[f"mail-{team}"] = {
            "kind": "email",
            "host": smtp.host,
            "port": smtp.port,
            "from": "drdrill@example.com",
            "to": [f"{team}@example.com"],
        }
        recipients[team] = [f"slack-{team}", f"pager-{team}", f"mail-{team}"]
    return NotificationSettings.model_validate({"channels": channels, "recipients": recipients})


def note(event: str) -> Notification:
    return Notification(event, "d-1", "lab", "something happened", {"phase": "dns_failover"})  # type: ignore[arg-type]


def arrivals(http: HttpReceiver, smtp: SmtpReceiver) -> set[tuple[str, str]]:
    """(kind, team) of everything that arrived."""
    got = set()
    for path, body in http.received:
        if path.startswith("/slack/"):
            got.add(("slack", path.removeprefix("/slack/")))
        else:
            got.add(("pagerduty", body["routing_key"].removeprefix("key-")))
    for mail in smtp.mails:
        got.add(("email", mail.recipients[0].split("@")[0]))
    return got


def send(settings: NotificationSettings, event: str) -> None:
    notifier = Notifier(settings)
    notifier.emit(note(event))
    log = notifier.close(timeout_s=5)
    assert log and all(d.ok for d in log), log


def test_activation_initiated_reaches_leadership_ops_and_dev_by_email_slack_and_pagerduty(
    http: HttpReceiver, smtp: SmtpReceiver
) -> None:
    send(plan_settings(http, smtp), "activation_initiated")

    assert arrivals(http, smtp) == {
        (kind, team) for kind in ("slack", "pagerduty", "email") for team in TEAMS
    }


def test_dns_failover_completed_reaches_only_ops_on_slack(
    http: HttpReceiver, smtp: SmtpReceiver
) -> None:
    send(plan_settings(http, smtp), "dns_failover_completed")

    assert arrivals(http, smtp) == {("slack", "ops-team")}


def test_services_verified_reaches_leadership_and_ops_by_email_and_slack(
    http: HttpReceiver, smtp: SmtpReceiver
) -> None:
    send(plan_settings(http, smtp), "services_verified")

    assert arrivals(http, smtp) == {
        (kind, team) for kind in ("slack", "email") for team in ("leadership", "ops-team")
    }


def test_the_drills_own_events_never_page(http: HttpReceiver, smtp: SmtpReceiver) -> None:
    settings = plan_settings(http, smtp)
    notifier = Notifier(settings)
    for event in ("drill_started", "phase_breached", "stop_condition_fired", "drill_finished"):
        notifier.emit(note(event))
    notifier.close(timeout_s=5)

    kinds = {kind for kind, _ in arrivals(http, smtp)}
    assert "pagerduty" not in kinds
    assert kinds == {"slack", "email"}  # drill_finished tells leadership by email


def test_a_route_in_the_file_replaces_the_plans_route_for_that_event_only(
    http: HttpReceiver, smtp: SmtpReceiver
) -> None:
    raw = plan_settings(http, smtp)
    settings = NotificationSettings.model_validate(
        {
            "channels": raw.channels,
            "recipients": raw.recipients,
            "routes": {"dns_failover_completed": {"recipients": ["dev-team"], "via": ["email"]}},
        }
    )

    assert set(settings.channels_for("dns_failover_completed")) == {"mail-dev-team"}
    assert set(settings.channels_for("services_verified")) == {
        "slack-leadership",
        "mail-leadership",
        "slack-ops-team",
        "mail-ops-team",
    }


def test_a_message_says_it_is_a_drill_and_carries_the_facts(
    http: HttpReceiver, smtp: SmtpReceiver
) -> None:
    send(plan_settings(http, smtp), "services_verified")

    slack = http.bodies("/slack/ops-team")[0]
    assert set(slack) == {"text"}
    assert slack["text"].startswith("[DR drill d-1 on lab] DR services verified: ")
    assert "phase: dns_failover" in slack["text"]
    mail = next(m for m in smtp.mails if m.recipients == ["ops-team@example.com"])
    assert mail.message["Subject"].startswith("[DR drill d-1 on lab] DR services verified")
    assert mail.sender == "drdrill@example.com"


def test_nothing_configured_sends_nothing(http: HttpReceiver, smtp: SmtpReceiver) -> None:
    notifier = Notifier(NotificationSettings())
    queued = [notifier.emit(note(event)) for event in ("activation_initiated", "drill_finished")]

    assert queued == [0, 0]
    assert notifier.close(timeout_s=1) == ()


def test_channels_nobody_is_routed_to_receive_nothing(http: HttpReceiver) -> None:
    settings = NotificationSettings.model_validate(
        {"channels": {"slack-ops": {"kind": "slack", "url": f"{http.url}/slack/ops"}}}
    )
    notifier = Notifier(settings)

    assert notifier.emit(note("activation_initiated")) == 0
    assert notifier.close(timeout_s=1) == ()
    assert http.received == []
