"""Secrets stay secret; the ``notifications:`` block says clearly what is wrong with it."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from drdrill.notify import Notification, NotificationSettings, Notifier, public_url
from tests.notify.receivers import HttpReceiver, SmtpReceiver

TOKEN_PATH = "/services/T0SECRET/B0SECRET/xoxbSECRETTOKEN"
ROUTING_KEY = "R0UTINGKEYSECRET"
PASSWORD = "hunter2-SMTP-SECRET"


def secret_settings(http_url: str, smtp: SmtpReceiver | None = None) -> NotificationSettings:
    channels: dict[str, object] = {
        "slack-ops": {"kind": "slack", "url": f"{http_url}{TOKEN_PATH}"},
        "hook-ops": {"kind": "webhook", "url": f"{http_url}/hook{TOKEN_PATH}"},
        "pager-ops": {"kind": "pagerduty", "routing_key": ROUTING_KEY, "url": f"{http_url}/pd"},
    }
    if smtp is not None:
        channels["mail-ops"] = {
            "kind": "email",
            "host": smtp.host,
            "port": smtp.port,
            "from": "drdrill@example.com",
            "to": ["ops@example.com"],
            "username": "drdrill",
            "password": PASSWORD,
        }
    return NotificationSettings.model_validate(
        {"channels": channels, "recipients": {"ops-team": list(channels)}}
    )


def assert_no_secret(text: str) -> None:
    for secret in (TOKEN_PATH, "xoxbSECRETTOKEN", ROUTING_KEY, PASSWORD):
        assert secret not in text


NOTE = Notification("activation_initiated", "d-1", "lab", "activating")


def test_the_delivery_log_names_channels_and_shows_hosts_only(http: HttpReceiver) -> None:
    notifier = Notifier(secret_settings(http.url))
    notifier.emit(NOTE)
    log = notifier.close(timeout_s=5)

    assert {d.channel for d in log} == {"slack-ops", "hook-ops", "pager-ops"}
    assert all(d.ok for d in log)
    assert {d.destination for d in log} == {public_url(http.url)}
    assert_no_secret(json.dumps([d.to_json() for d in log]))
    assert_no_secret(repr(log))
    assert len(http.received) == 3  # the secrets were used where they belong


def test_a_failure_detail_is_scrubbed_of_secrets() -> None:
    # http.client's complaint about the space quotes the path, token and all
    settings = NotificationSettings.model_validate(
        {
            "channels": {"hook": {"kind": "webhook", "url": f"http://127.0.0.1:9{TOKEN_PATH} x"}},
            "recipients": {"ops-team": ["hook"]},
            "retry": {"attempts": 1},
        }
    )
    notifier = Notifier(settings)
    notifier.emit(NOTE)
    [delivery] = notifier.close(timeout_s=5)

    assert not delivery.ok
    assert "InvalidURL" in delivery.detail and "***" in delivery.detail
    assert_no_secret(repr(delivery))


def test_settings_never_show_their_secrets(http: HttpReceiver, smtp: SmtpReceiver) -> None:
    settings = secret_settings(http.url, smtp)

    assert_no_secret(repr(settings))
    assert_no_secret(str(settings))
    assert_no_secret(settings.model_dump_json())


def test_an_email_channel_with_a_password_logs_without_it(smtp: SmtpReceiver) -> None:
    # the receiver offers no AUTH: the login fails, and the failure must not say the password
    settings = secret_settings("http://127.0.0.1:9", smtp)
    notifier = Notifier(
        settings.model_copy(update={"retry": settings.retry.model_copy(update={"attempts": 1})})
    )
    notifier.emit(NOTE)
    log = notifier.close(timeout_s=5)

    mail = next(d for d in log if d.channel == "mail-ops")
    assert mail.destination == f"smtp://{smtp.host}:{smtp.port}"
    assert_no_secret(repr(log))


def test_public_url_keeps_scheme_host_and_port_only() -> None:
    assert public_url(f"https://hooks.slack.com{TOKEN_PATH}") == "https://hooks.slack.com/…"
    assert public_url("http://127.0.0.1:8080/x?token=1") == "http://127.0.0.1:8080/…"


def test_durations_read_like_the_rest_of_drdrill_yaml() -> None:
    settings = NotificationSettings.model_validate(
        {"retry": {"backoff": "250ms", "attempt_timeout": "2s", "total": "1m"}}
    )

    assert (settings.retry.backoff, settings.retry.attempt_timeout, settings.retry.total) == (
        0.25,
        2.0,
        60.0,
    )


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"recipients": {"ops-team": ["slack-ops"]}}, "unknown channels ['slack-ops']"),
        (
            {
                "channels": {"s": {"kind": "slack", "url": "http://127.0.0.1/x"}},
                "recipients": {"ops-team": ["s"]},
                "routes": {"drill_finished": ["ops"]},
            },
            "unknown recipients ['ops']",
        ),
        ({"routes": {"drill_finishd": []}}, "drill_finishd"),
        ({"channels": {"s": {"kind": "sms", "url": "x"}}}, "sms"),
        ({"channels": {"p": {"kind": "pagerduty"}}}, "routing_key"),
        ({"channels": {"s": {"kind": "slack", "url": f"hooks.slack.com{TOKEN_PATH}"}}}, "http"),
    ],
)
def test_a_bad_block_names_what_is_wrong(block: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("[", r"\[")):
        NotificationSettings.model_validate(block)


def test_a_bad_secret_url_is_not_repeated_in_the_error() -> None:
    with pytest.raises(ValidationError) as caught:
        NotificationSettings.model_validate(
            {"channels": {"s": {"kind": "slack", "url": f"hooks.slack.com{TOKEN_PATH}"}}}
        )

    assert_no_secret(str(caught.value))
    assert_no_secret(repr(caught.value.errors()))


def test_a_route_may_silence_one_event() -> None:
    settings = NotificationSettings.model_validate(
        {
            "channels": {"s": {"kind": "slack", "url": "http://127.0.0.1/x"}},
            "recipients": {"ops-team": ["s"]},
            "routes": {"drill_started": []},
        }
    )

    assert settings.channels_for("drill_started") == {}
    assert settings.channels_for("dns_failover_completed") == {"s": ("ops-team",)}
