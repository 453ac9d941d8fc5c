"""A Chaos Toolkit notification plugin: ``chaos run`` alerts go where a drill's would.

Chaos Toolkit calls the ``notify`` function of a ``type: plugin`` notification channel
with that channel's settings and the event (``run-started``, ``run-completed``,
``run-failed``, ``run-deviated``...). Declared in the Chaos Toolkit settings file
(``~/.chaostoolkit/settings.yaml`` or ``chaos --settings``)::

    notifications:
      - type: plugin
        module: drdrill.notify.chaos_plugin
        events: [run-started, run-completed, run-failed]
        drdrill:                # the same block as ``notifications:`` in drdrill.yaml
          channels: {slack-ops: {kind: slack, url: https://hooks.slack.com/services/...}}
          recipients: {ops-team: [slack-ops]}

A run start becomes ``drill_started``; its end becomes ``drill_finished`` with the
outcome ``passed`` (completed, hypothesis held), ``failed`` (deviated, failed, or the
hypothesis did not hold before the method) or ``aborted`` (aborted, interrupted).
``run-deviated`` always follows a ``run-completed`` or ``run-failed`` of the same run,
which already said so: it is not sent twice.

Chaos Toolkit calls plugins one after the other and waits for each: this one only
queues; queued deliveries are flushed, within the retry bound, when the ``chaos``
process exits.
"""

from __future__ import annotations

import atexit
import json
import threading
from collections.abc import Mapping
from typing import Any

from drdrill.notify.events import DRILL_FINISHED, DRILL_STARTED, Event, Notification
from drdrill.notify.notifier import Notifier
from drdrill.notify.settings import NotificationSettings

__all__ = ["notification_of", "notify"]

_lock = threading.Lock()
_notifiers: dict[str, Notifier] = {}
"""One notifier per distinct settings block, alive for the ``chaos`` process."""

_OUTCOMES = {"completed": "passed", "failed": "failed", "aborted": "aborted"}


def notify(settings: Mapping[str, Any], event: Mapping[str, Any]) -> None:
    """Forward one Chaos Toolkit event to drdrill's notifier (Chaos Toolkit calls this)."""
    notification = notification_of(event)
    if notification is None:
        return
    _notifier_for(settings).emit(notification)


def notification_of(event: Mapping[str, Any]) -> Notification | None:
    """The drdrill notification for a Chaos Toolkit run event; None for other events."""
    name = event.get("name")
    payload = event.get("payload") or {}
    if name == "run-started":
        experiment = payload
        kind: Event = DRILL_STARTED
        facts: dict[str, Any] = {}
        summary = f"experiment {_title(experiment)!r} started"
    elif name in ("run-completed", "run-failed"):
        experiment = payload.get("experiment") or {}
        status = str(payload.get("status", "unknown"))
        deviated = bool(payload.get("deviated", False))
        # a hypothesis that did not hold before the method still ends "completed"
        unmet = any(
            isinstance(check, dict) and check.get("steady_state_met") is False
            for check in (payload.get("steady_states") or {}).values()
        )
        outcome = "failed" if deviated or unmet else _OUTCOMES.get(status, "aborted")
        kind = DRILL_FINISHED
        facts = {"outcome": outcome, "status": status, "deviated": deviated}
        if "duration" in payload:
            facts["duration_s"] = round(float(payload["duration"]), 3)
        summary = f"experiment {_title(experiment)!r} ended: {outcome}"
    else:
        return None
    if event.get("error"):
        facts["error"] = str(event["error"])[:500]
    configuration = experiment.get("configuration") or {}
    target = configuration.get("target")
    return Notification(
        event=kind,
        drill_id=str(configuration.get("drill_id") or _title(experiment)),
        target=target if isinstance(target, str) else "chaos",
        summary=summary,
        facts={"source": "chaos run", **facts},
    )


def _title(experiment: Mapping[str, Any]) -> str:
    return str(experiment.get("title") or "untitled experiment")


def _notifier_for(settings: Mapping[str, Any]) -> Notifier:
    raw = settings.get("drdrill") or {}
    # keyed by the raw block: a dump of the parsed one hides the secrets that tell two apart
    key = json.dumps(raw, sort_keys=True, default=str)
    with _lock:
        notifier = _notifiers.get(key)
        if notifier is None:
            parsed = NotificationSettings.model_validate(raw)
            notifier = _notifiers[key] = Notifier(parsed)
            atexit.register(notifier.close, parsed.retry.total)
        return notifier
