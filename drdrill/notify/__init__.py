"""Tell people about a drill: the DR plan's activation alerts and drdrill's own events.

``Notifier(settings).emit(Notification(...))`` routes a notification to Slack,
PagerDuty, webhooks and email as ``notifications:`` in drdrill.yaml says, in the
background, bounded, never raising into the drill; ``close()`` flushes and returns
the delivery log for the report.
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
