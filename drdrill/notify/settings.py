"""The ``notifications:`` block of drdrill.yaml: channels, recipients, routes, retries.

::

    notifications:
      channels:
        slack-ops:   {kind: slack, url: https://hooks.slack.com/services/T000/B000/XXXX}
        pager-ops:   {kind: pagerduty, routing_key: R0UT1NGKEY}
        mail-lead:   {kind: email, host: smtp.example.com, port: 25,
                      from: drdrill@example.com, to: [cto@example.com]}
      recipients:
        leadership: [mail-lead]
        ops-team:   [slack-ops, pager-ops]
      routes:                      # optional: the plan's routing is the default
        drill_finished: [leadership, ops-team]
        phase_breached: {recipients: [ops-team], via: [slack]}
      retry: {attempts: 3, backoff: 500ms, attempt_timeout: 3s, total: 10s}

A route sends an event to each channel of its recipients whose kind is in ``via``
(all kinds when omitted). The default routes are the plan's "DR Activation Alerts"
(activation initiated: leadership, ops-team, dev-team by email, Slack and PagerDuty;
DNS failover completed: ops-team by Slack; DR services verified: leadership and
ops-team by email and Slack) plus drdrill's own events. With no channels
configured, nothing is ever sent.

Channel URLs (a Slack webhook's path is its token), routing keys and SMTP passwords
are secrets: they are kept as ``SecretStr`` so they never show in a ``repr``, a log
or a report.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    model_validator,
)

from drdrill.notify.events import (
    ACTIVATION_INITIATED,
    DNS_FAILOVER_COMPLETED,
    DRILL_FINISHED,
    DRILL_STARTED,
    PHASE_BREACHED,
    SERVICES_VERIFIED,
    STOP_CONDITION_FIRED,
    Event,
)

__all__ = [
    "PAGERDUTY_EVENTS_URL",
    "Channel",
    "ChannelKind",
    "EmailChannel",
    "NotificationSettings",
    "PagerDutyChannel",
    "RetrySettings",
    "Route",
    "SlackChannel",
    "WebhookChannel",
]

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"

ChannelKind = Literal["slack", "pagerduty", "webhook", "email"]
_ALL_KINDS: tuple[ChannelKind, ...] = ("slack", "pagerduty", "webhook", "email")


def _duration(value: object) -> float:
    # drdrill.config imports this module for its ``notifications`` field: import at call time
    from drdrill.config import parse_duration

    return parse_duration(value)


_Seconds = Annotated[float, BeforeValidator(_duration)]


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # the value itself may hold a token: the message must not repeat it
        raise ValueError("expected an http:// or https:// URL with a host")
    return value


def _secret_http_url(value: SecretStr) -> SecretStr:
    _http_url(value.get_secret_value())
    return value


_Url = Annotated[str, AfterValidator(_http_url)]


def _conceal(value: object) -> object:
    return SecretStr(value) if isinstance(value, str) else value


# concealed first, so an error about the URL shows ``**********``, not the token in it
_SecretUrl = Annotated[SecretStr, AfterValidator(_secret_http_url), BeforeValidator(_conceal)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SlackChannel(_Model):
    """A Slack-compatible incoming webhook: receives ``{"text": ...}``."""

    kind: Literal["slack"] = "slack"
    url: _SecretUrl
    """The webhook URL; its path is the token, hence secret."""


class PagerDutyChannel(_Model):
    """A PagerDuty service through the Events API v2 (one ``trigger`` per notification)."""

    kind: Literal["pagerduty"] = "pagerduty"
    routing_key: SecretStr
    url: _Url = PAGERDUTY_EVENTS_URL
    severity: Literal["critical", "error", "warning", "info"] = "critical"
    source: str = "drdrill"


class WebhookChannel(_Model):
    """Any HTTP endpoint: receives the notification as a JSON object."""

    kind: Literal["webhook"] = "webhook"
    url: _SecretUrl


class EmailChannel(_Model):
    """Plain SMTP to ``host:port`` (STARTTLS and login when asked)."""

    kind: Literal["email"] = "email"
    host: str = "localhost"
    port: int = Field(25, ge=1, le=65535)
    sender: str = Field(alias="from")
    to: tuple[str, ...] = Field(min_length=1)
    starttls: bool = False
    username: str | None = None
    password: SecretStr | None = None


Channel = Annotated[
    SlackChannel | PagerDutyChannel | WebhookChannel | EmailChannel,
    Field(discriminator="kind"),
]


def _recipients_list(value: object) -> object:
    """``[ops-team, leadership]`` is shorthand for ``{recipients: [...]}`` (every kind)."""
    return {"recipients": value} if isinstance(value, list | tuple) else value


class Route(_Model):
    """Who hears about one event, and over which kinds of channel."""

    recipients: tuple[str, ...]
    via: tuple[ChannelKind, ...] = _ALL_KINDS


RouteSpec = Annotated[Route, BeforeValidator(_recipients_list)]


def _plan_routes() -> dict[Event, Route]:
    """The plan's "DR Activation Alerts", then drdrill's own events.

    A drill's own events go to chat and machine webhooks, never to PagerDuty: a planned
    drill must not page anyone for its routine news; its activation does, as the plan says.
    """
    chat: tuple[ChannelKind, ...] = ("slack", "webhook")
    return {
        ACTIVATION_INITIATED: Route(
            recipients=("leadership", "ops-team", "dev-team"),
            via=("email", "slack", "pagerduty", "webhook"),
        ),
        DNS_FAILOVER_COMPLETED: Route(recipients=("ops-team",), via=("slack", "webhook")),
        SERVICES_VERIFIED: Route(
            recipients=("leadership", "ops-team"), via=("email", "slack", "webhook")
        ),
        DRILL_STARTED: Route(recipients=("ops-team",), via=chat),
        PHASE_BREACHED: Route(recipients=("ops-team",), via=chat),
        STOP_CONDITION_FIRED: Route(recipients=("ops-team", "dev-team"), via=chat),
        DRILL_FINISHED: Route(
            recipients=("leadership", "ops-team"), via=("email", "slack", "webhook")
        ),
    }


class RetrySettings(_Model):
    """How hard one delivery tries before it is logged as failed."""

    attempts: int = Field(3, ge=1, le=10)
    backoff: _Seconds = 0.5
    """Wait before the second attempt; doubled before each later one."""
    attempt_timeout: _Seconds = Field(3.0, gt=0)
    total: _Seconds = Field(10.0, gt=0)
    """Hard bound on one delivery, every attempt and wait included."""


class NotificationSettings(_Model):
    """Where each drill event goes; empty (nothing sent) unless channels are configured."""

    channels: dict[str, Channel] = Field(default_factory=dict)
    recipients: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    routes: dict[Event, RouteSpec] = Field(default_factory=_plan_routes)
    retry: RetrySettings = RetrySettings()
    queue_size: int = Field(100, ge=1)
    """Notifications waiting per channel; beyond it new ones are dropped and counted."""

    @model_validator(mode="before")
    @classmethod
    def _routes_over_the_plans(cls, data: object) -> object:
        """Routes given in the file replace the plan's route of the same event only
        (``drill_started: []`` silences one event)."""
        if isinstance(data, dict) and isinstance(data.get("routes"), dict):
            return {**data, "routes": {**_plan_routes(), **data["routes"]}}
        return data

    @model_validator(mode="after")
    def _names_are_known(self) -> NotificationSettings:
        for recipient, channels in self.recipients.items():
            unknown = [name for name in channels if name not in self.channels]
            if unknown:
                raise ValueError(
                    f"recipient {recipient!r} names unknown channels {unknown}; "
                    f"expected names from channels: {sorted(self.channels)}"
                )
        plan = _plan_routes()
        for event, route in self.routes.items():
            if route != plan.get(event):  # the plan's own names need not all be configured
                unknown = [name for name in route.recipients if name not in self.recipients]
                if unknown:
                    raise ValueError(
                        f"route {event!r} names unknown recipients {unknown}; "
                        f"expected names from recipients: {sorted(self.recipients)}"
                    )
        return self

    def channels_for(self, event: Event) -> dict[str, tuple[str, ...]]:
        """The channels ``event`` goes to, each with the recipients it reaches there
        (a channel shared by two recipients gets the notification once)."""
        route = self.routes.get(event)
        if route is None:
            return {}
        reached: dict[str, list[str]] = {}
        for recipient in route.recipients:
            for name in self.recipients.get(recipient, ()):
                if self.channels[name].kind in route.via:
                    reached.setdefault(name, []).append(recipient)
        return {name: tuple(who) for name, who in reached.items()}
