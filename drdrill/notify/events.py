"""What a drill tells people: the DR plan's activation alerts and drdrill's own events.

The plan's "DR Activation Alerts" name three moments (activation initiated, DNS
failover completed, DR services verified); a drill adds its own: started, a phase
over its target, a stop condition fired, finished with its verdict. A
:class:`Notification` is one such moment of one drill, frozen, with the facts a
reader needs (the phase and its time, the outcome, the RTO...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, get_args

__all__ = [
    "ACTIVATION_INITIATED",
    "DNS_FAILOVER_COMPLETED",
    "DRILL_FINISHED",
    "DRILL_STARTED",
    "EVENTS",
    "PHASE_BREACHED",
    "SERVICES_VERIFIED",
    "STOP_CONDITION_FIRED",
    "Event",
    "Fact",
    "Notification",
]

Event = Literal[
    "activation_initiated",
    "dns_failover_completed",
    "services_verified",
    "drill_started",
    "phase_breached",
    "stop_condition_fired",
    "drill_finished",
]
"""Every event a notification can be about."""

ACTIVATION_INITIATED: Event = "activation_initiated"
"""The plan's "DR activation initiated": the activation experiment starts."""
DNS_FAILOVER_COMPLETED: Event = "dns_failover_completed"
"""The plan's "DNS failover completed": phase 2 ended well."""
SERVICES_VERIFIED: Event = "services_verified"
"""The plan's "DR services verified": phase 6 ended well."""
DRILL_STARTED: Event = "drill_started"
PHASE_BREACHED: Event = "phase_breached"
"""A phase took longer than its target (facts: phase, took_s, target_s, status)."""
STOP_CONDITION_FIRED: Event = "stop_condition_fired"
"""A stop condition pressed the stop button (facts: reason)."""
DRILL_FINISHED: Event = "drill_finished"
"""The drill ended (facts: outcome passed / failed / aborted / error / skipped, RTO, RPO)."""

EVENTS: tuple[Event, ...] = get_args(Event)

_TITLES: dict[str, str] = {
    ACTIVATION_INITIATED: "DR activation initiated",
    DNS_FAILOVER_COMPLETED: "DNS failover completed",
    SERVICES_VERIFIED: "DR services verified",
    DRILL_STARTED: "drill started",
    PHASE_BREACHED: "phase over its target",
    STOP_CONDITION_FIRED: "stop condition fired",
    DRILL_FINISHED: "drill finished",
}

Fact = str | int | float | bool | None
"""A fact is a plain JSON scalar, so every channel can show it as it is."""


@dataclass(frozen=True)
class Notification:
    """One moment of one drill, as people are told about it."""

    event: Event
    drill_id: str
    target: str
    summary: str
    """One human sentence: what happened."""
    facts: Mapping[str, Fact] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.event not in EVENTS:
            raise ValueError(f"unknown event {self.event!r}; expected one of {list(EVENTS)}")
        # frozen means frozen: the caller's dict may change after emit, this must not
        object.__setattr__(self, "facts", MappingProxyType(dict(self.facts)))

    @property
    def title(self) -> str:
        """The event in words, as the plan says it."""
        return _TITLES[self.event]

    @property
    def headline(self) -> str:
        """One line that says it is a drill, so nobody mistakes it for a real disaster."""
        return f"[DR drill {self.drill_id} on {self.target}] {self.title}: {self.summary}"

    def text(self) -> str:
        """The headline and one line per fact: the body of a chat message or an email."""
        lines = [self.headline]
        lines += [f"• {key}: {value}" for key, value in self.facts.items()]
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        """The notification as a plain JSON object (what a webhook receives)."""
        return {
            "event": self.event,
            "title": self.title,
            "drill_id": self.drill_id,
            "target": self.target,
            "summary": self.summary,
            "facts": dict(self.facts),
        }
