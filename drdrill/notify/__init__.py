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
"""

from __future__ import annotations

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
