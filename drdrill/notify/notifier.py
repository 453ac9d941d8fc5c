"""Deliver notifications in the background: a drill never waits for Slack.

``Notifier.emit`` routes a notification to its channels and returns at once. Each
channel has its own queue and worker thread, so a channel that hangs delays only
itself; a delivery is retried with backoff and bounded in total time
(``retry.total``); a full queue drops the new notification and counts it. Every
delivery, delivered or not, lands in the delivery log (:class:`Delivery`), which
names channels and shows addresses without their secrets, for the report.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

from drdrill.notify.channels import Attempt, destination, send
from drdrill.notify.events import Notification
from drdrill.notify.settings import Channel, NotificationSettings, RetrySettings
from drdrill.support.wait import Deadline

__all__ = ["Delivery", "Notifier"]


@dataclass(frozen=True)
class Delivery:
    """One notification over one channel: what was sent where, and how it went."""

    event: str
    drill_id: str
    channel: str
    """The channel's name in the settings (never its URL)."""
    kind: str
    destination: str
    """Scheme and host only, e.g. ``https://hooks.slack.com/…``."""
    recipients: tuple[str, ...]
    ok: bool
    attempts: int
    """Attempts that ended (0 for one cut short or never started by ``close``)."""
    detail: str = ""
    """Why it failed (secrets scrubbed); empty when delivered."""
    took_s: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "event": self.event,
            "drill_id": self.drill_id,
            "channel": self.channel,
            "kind": self.kind,
            "destination": self.destination,
            "recipients": list(self.recipients),
            "ok": self.ok,
            "attempts": self.attempts,
            "detail": self.detail,
            "took_s": round(self.took_s, 3),
        }


@dataclass(frozen=True)
class _Job:
    notification: Notification
    recipients: tuple[str, ...]


class _Closing:
    """Set by ``close``: from then on a delivery may not outlive the close deadline."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.deadline: Deadline | None = None


class _ChannelWorker:
    """One channel's queue and the thread that empties it."""

    def __init__(
        self,
        name: str,
        channel: Channel,
        retry: RetrySettings,
        queue_size: int,
        record: _Recorder,
        closing: _Closing,
    ) -> None:
        self.name = name
        self.channel = channel
        self.retry = retry
        self.queue: queue.Queue[_Job] = queue.Queue(maxsize=queue_size)
        self.record = record
        self.closing = closing
        self._lock = threading.Lock()
        self._current: _Job | None = None
        self._given_up: _Job | None = None
        self.thread = threading.Thread(target=self._run, name=f"notify-{name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                job = self.queue.get(timeout=0.05)
            except queue.Empty:
                if self.closing.event.is_set():
                    return
                continue
            with self._lock:
                self._current = job
            delivery = self._deliver(job)
            with self._lock:
                self._current = None
                if self._given_up is job:  # close() logged it as undelivered already
                    return
                self.record(delivery)

    def _deliver(self, job: _Job) -> Delivery:
        """Attempts until one succeeds, one says retrying is useless, or time is up."""
        started = time.monotonic()
        deadline = Deadline(self.retry.total)
        attempts, attempt, wait = 0, Attempt(False, "not attempted"), self.retry.backoff
        while attempts < self.retry.attempts:
            left = self._left(deadline)
            if left <= 0:
                attempt = Attempt(False, f"{attempt.detail} (out of time)", False)
                break
            attempts += 1
            attempt = self._attempt(job, min(self.retry.attempt_timeout, left))
            if attempt.ok or not attempt.retry or attempts == self.retry.attempts:
                break
            self._pause(min(wait, self._left(deadline)), deadline)
            wait *= 2
        return Delivery(
            event=job.notification.event,
            drill_id=job.notification.drill_id,
            channel=self.name,
            kind=self.channel.kind,
            destination=destination(self.channel),
            recipients=job.recipients,
            ok=attempt.ok,
            attempts=attempts,
            detail="" if attempt.ok else attempt.detail,
            took_s=time.monotonic() - started,
        )

    def _attempt(self, job: _Job, timeout_s: float) -> Attempt:
        try:
            return send(self.channel, job.notification, timeout_s)
        except Exception as exc:
            # a sender bug must cost one delivery (logged as failed), never the worker:
            # a dead worker would silently drop every later alert of the drill
            return Attempt(False, f"{type(exc).__name__} in the {self.channel.kind} sender", False)

    def _pause(self, seconds: float, deadline: Deadline) -> None:
        """Back off for ``seconds``, but never past the close deadline once close() is called."""
        end = time.monotonic() + seconds
        if self.closing.event.wait(seconds):
            time.sleep(max(0.0, min(end - time.monotonic(), self._left(deadline))))

    def _left(self, deadline: Deadline) -> float:
        left = deadline.remaining()
        closing = self.closing.deadline
        return min(left, closing.remaining()) if closing is not None else left

    def abandon(self, timeout_s: float) -> list[tuple[_Job, str]]:
        """Give up on what is still in flight or queued when the notifier closed, each with
        why it was not delivered (a late result of the one in flight is not logged)."""
        given_up = []
        with self._lock:
            if self._current is not None and self._current is not self._given_up:
                self._given_up = self._current
                why = f"no answer before the notifier closed after {timeout_s:g} s"
                given_up.append((self._current, why))
        while True:
            try:
                job = self.queue.get_nowait()
            except queue.Empty:
                return given_up
            given_up.append((job, f"not sent: the notifier closed after {timeout_s:g} s"))


class _Recorder:
    """The delivery log, shared by the workers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._log: list[Delivery] = []

    def __call__(self, delivery: Delivery) -> None:
        with self._lock:
            self._log.append(delivery)

    def log(self) -> tuple[Delivery, ...]:
        with self._lock:
            return tuple(self._log)


class Notifier:
    """Sends a drill's notifications where the settings route them, never in its way."""

    def __init__(self, settings: NotificationSettings) -> None:
        self.settings = settings
        self._record = _Recorder()
        self._closing = _Closing()
        self._lock = threading.Lock()
        self._workers: dict[str, _ChannelWorker] = {}
        self._dropped = 0

    def emit(self, notification: Notification) -> int:
        """Queue ``notification`` for each channel its event is routed to; returns at once
        with how many channels it was queued for (0 when nothing is configured for it).
        Never raises: a full queue or a closed notifier drops it and counts it."""
        routed = self.settings.channels_for(notification.event)
        queued = 0
        for name, recipients in routed.items():
            worker = self._worker(name)
            try:
                if worker is None:
                    raise queue.Full
                worker.queue.put_nowait(_Job(notification, recipients))
                queued += 1
            except queue.Full:
                with self._lock:
                    self._dropped += 1
        return queued

    def _worker(self, name: str) -> _ChannelWorker | None:
        with self._lock:
            if self._closing.event.is_set():
                return None
            worker = self._workers.get(name)
            if worker is None:  # threads only for channels something was routed to
                worker = self._workers[name] = _ChannelWorker(
                    name,
                    self.settings.channels[name],
                    self.settings.retry,
                    self.settings.queue_size,
                    self._record,
                    self._closing,
                )
            return worker

    @property
    def active(self) -> bool:
        """Whether anything can be sent at all (channels and recipients configured)."""
        return bool(self.settings.channels and self.settings.recipients)

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(self.settings.retry.total)

    @property
    def dropped(self) -> int:
        """Notifications not queued: a channel's queue was full or the notifier closed."""
        with self._lock:
            return self._dropped

    def deliveries(self) -> tuple[Delivery, ...]:
        """The delivery log so far, in the order deliveries ended."""
        return self._record.log()

    def close(self, timeout_s: float = 10.0) -> tuple[Delivery, ...]:
        """Deliver what is queued, for at most ``timeout_s``; what could not be sent by then
        is logged as not delivered. Returns the delivery log. Safe to call twice."""
        with self._lock:
            self._closing.deadline = Deadline(timeout_s)
            self._closing.event.set()
            workers = list(self._workers.values())
        deadline = self._closing.deadline
        for worker in workers:
            worker.thread.join(deadline.remaining())
        for worker in workers:
            for job, why in worker.abandon(timeout_s):
                self._record(
                    Delivery(
                        event=job.notification.event,
                        drill_id=job.notification.drill_id,
                        channel=worker.name,
                        kind=worker.channel.kind,
                        destination=destination(worker.channel),
                        recipients=job.recipients,
                        ok=False,
                        attempts=0,
                        detail=why,
                    )
                )
        return self.deliveries()
