"""One sender per kind of channel: Slack webhook, PagerDuty Events v2, JSON webhook, email.

A sender makes one attempt and says how it went; it never raises: retries, bounds
and logging are the notifier's job. Nothing here says a secret out loud: a
failure's detail is the exception's type and message, scrubbed of the channel's
secrets, and :func:`public_url` shows an address as its scheme and host only.
"""

from __future__ import annotations

import http.client
import json
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from urllib.parse import urlsplit

from drdrill.notify.events import Notification
from drdrill.notify.settings import (
    Channel,
    EmailChannel,
    PagerDutyChannel,
    SlackChannel,
    WebhookChannel,
)

__all__ = ["Attempt", "destination", "pagerduty_event", "public_url", "secrets_of", "send"]

_PAGERDUTY_SUMMARY_MAX = 1024  # Events API v2 rejects longer summaries


@dataclass(frozen=True)
class Attempt:
    """How one attempt went; ``retry`` False when trying again cannot help (a 4xx)."""

    ok: bool
    detail: str = ""
    retry: bool = True


def public_url(url: str) -> str:
    """``https://hooks.slack.com/…``: scheme, host and port only (the path may be a token)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme or '?'}://{host}{port}/…"


def destination(channel: Channel) -> str:
    """Where a channel delivers, safe to print: no token, no key, no password."""
    if isinstance(channel, EmailChannel):
        return f"smtp://{channel.host}:{channel.port}"
    if isinstance(channel, PagerDutyChannel):
        return public_url(channel.url)
    return public_url(channel.url.get_secret_value())


def secrets_of(channel: Channel) -> tuple[str, ...]:
    """Every secret a channel holds, to be scrubbed from anything it reports."""
    if isinstance(channel, SlackChannel | WebhookChannel):
        url = channel.url.get_secret_value()
        return (url, urlsplit(url).path)
    if isinstance(channel, PagerDutyChannel):
        return (channel.routing_key.get_secret_value(),)
    return (channel.password.get_secret_value(),) if channel.password else ()


def send(channel: Channel, notification: Notification, timeout_s: float) -> Attempt:
    """One attempt at delivering ``notification`` over ``channel``, within ``timeout_s``."""
    if isinstance(channel, SlackChannel):
        attempt = _post(channel.url.get_secret_value(), {"text": notification.text()}, timeout_s)
    elif isinstance(channel, WebhookChannel):
        attempt = _post(channel.url.get_secret_value(), notification.to_json(), timeout_s)
    elif isinstance(channel, PagerDutyChannel):
        attempt = _post(channel.url, pagerduty_event(channel, notification), timeout_s)
    else:
        attempt = _mail(channel, notification, timeout_s)
    if attempt.ok:
        return attempt
    detail = attempt.detail
    for secret in secrets_of(channel):
        if len(secret) > 1:
            detail = detail.replace(secret, "***")
    return Attempt(False, detail, attempt.retry)


def pagerduty_event(channel: PagerDutyChannel, notification: Notification) -> dict[str, object]:
    """The Events API v2 ``trigger`` for a notification; one incident per drill and event."""
    return {
        "routing_key": channel.routing_key.get_secret_value(),
        "event_action": "trigger",
        "dedup_key": f"drdrill-{notification.drill_id}-{notification.event}",
        "payload": {
            "summary": notification.headline[:_PAGERDUTY_SUMMARY_MAX],
            "source": channel.source,
            "severity": channel.severity,
            "timestamp": datetime.now(UTC).isoformat(),
            "component": notification.target,
            "group": "dr-drill",
            "class": notification.event,
            "custom_details": {"drill_id": notification.drill_id, **notification.facts},
        },
    }


def _post(url: str, body: dict[str, object], timeout_s: float) -> Attempt:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "drdrill"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        # 429 and 5xx may pass on a later attempt; another 4xx is a bad request for good
        retry = exc.code == 429 or exc.code >= 500
        return Attempt(False, f"HTTP {exc.code} {exc.reason}", retry)
    except (OSError, ValueError, http.client.HTTPException) as exc:  # refused, timeout, bad URL
        reason = getattr(exc, "reason", exc)
        return Attempt(False, f"{type(exc).__name__}: {reason}")
    return Attempt(True)


def _mail(channel: EmailChannel, notification: Notification, timeout_s: float) -> Attempt:
    message = EmailMessage()
    message["Subject"] = notification.headline
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.to)
    message.set_content(notification.text() + "\n")
    try:
        with smtplib.SMTP(channel.host, channel.port, timeout=timeout_s) as smtp:
            if channel.starttls:
                smtp.starttls()
            if channel.username and channel.password:
                smtp.login(channel.username, channel.password.get_secret_value())
            smtp.send_message(message)
    except smtplib.SMTPResponseException as exc:
        retry = exc.smtp_code >= 400 and exc.smtp_code < 500  # 4xx: try later; 5xx: refused
        return Attempt(False, f"SMTP {exc.smtp_code}", retry)
    except (OSError, smtplib.SMTPException) as exc:
        return Attempt(False, f"{type(exc).__name__}: {exc}")
    return Attempt(True)
