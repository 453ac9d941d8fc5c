"""Tell people about a drill: the DR plan's activation alerts and drdrill's own events.

``Notifier(settings).emit(Notification(...))`` routes a notification to Slack,
PagerDuty, webhooks and email as ``notifications:`` in drdrill.yaml says, in the
background, bounded, never raising into the drill; ``close()`` flushes and returns
the delivery log for the report.

Modules: ``events`` (what happens), ``settings`` (the ``notifications:`` block),
``channels`` (one sender per kind), ``notifier`` (queues, workers, retries, the log),
``timeline_alerts`` (phase and stop-condition alerts read from a drill's timeline; not
imported here, because it reads ``drdrill.config``, which imports ``settings``) and
``chaos_plugin`` (the same routing for ``chaos run``).

The names below load on first use: ``drdrill.config`` imports ``settings``, and every
command that reads the configuration must not pay for the senders as well.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from drdrill.notify.channels import public_url
    from drdrill.notify.events import EVENTS, Event, Notification
    from drdrill.notify.notifier import Delivery, Notifier
    from drdrill.notify.settings import NotificationSettings

__all__ = [
    "EVENTS",
    "Delivery",
    "Event",
    "Notification",
    "NotificationSettings",
    "Notifier",
    "public_url",
]

_HOMES = {
    "EVENTS": "drdrill.notify.events",
    "Delivery": "drdrill.notify.notifier",
    "Event": "drdrill.notify.events",
    "Notification": "drdrill.notify.events",
    "NotificationSettings": "drdrill.notify.settings",
    "Notifier": "drdrill.notify.notifier",
    "public_url": "drdrill.notify.channels",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'drdrill.notify' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
