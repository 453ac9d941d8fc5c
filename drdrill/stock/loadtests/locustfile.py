"""Customers of the e-commerce platform: browsers and buyers.

Plain ``locust -f loadtests/locustfile.py --host http://127.0.0.1:PORT`` works, and so does
Locust's distributed mode (``--master`` plus any number of ``--worker`` processes, on this
machine or others). Inside a drill, environment variables make it write JSON lines (unset:
nothing is written):

- ``DRDRILL_REQUESTS_JSONL``: one line per request
  ``{"t_ns", "name", "ok", "latency_s", "status"}`` (``t_ns`` = send time, UTC ns;
  ``status`` 0 = no response) — the drill's user-observed outage at 100 ms resolution;
- ``DRDRILL_LEDGER_JSONL``: one line per checkout
  ``{"id", "client": "locust", "seq", "send_ns", "ack_ns" | null, "status"}`` —
  Locust's writes count towards the measured RPO.

Distributed, only the master needs them: it tells every worker (``--drdrill-collect``, which
Locust hands to workers with the other custom options) to send its lines to the master over
Locust's own master/worker connection, and the master alone appends them to the two files.
A worker on another machine needs nothing but ``--master-host``: the request timeout and
product range come from the master too. Before the master quits it stops every worker's
users and waits (``DRDRILL_COLLECT_WAIT``, default 5 s) until each has sent its last lines.

Optional: ``DRDRILL_BROWSE_WEIGHT`` / ``DRDRILL_CHECKOUT_WEIGHT`` (user mix, default 3:1),
``DRDRILL_REQUEST_TIMEOUT`` (seconds, default 1.0), ``DRDRILL_PRODUCTS`` (ids 1..N, default 50),
``DRDRILL_PARENT_PID``: the drill that started this run; Locust quits within a second once
that process is gone (a drill killed with ``kill -9`` leaves no load running behind it).

This file imports nothing from drdrill: Locust monkey-patches gevent on import.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import random
import time
import uuid
from collections.abc import Callable
from typing import Any

import gevent  # type: ignore[import-untyped]
from locust import FastHttpUser, between, events, task
from locust.runners import MasterRunner, WorkerRunner

RUN = uuid.uuid4().hex[:8]
_SEQ = itertools.count()
PRODUCTS = int(os.environ.get("DRDRILL_PRODUCTS", "50"))
COLLECT_WAIT_S = float(os.environ.get("DRDRILL_COLLECT_WAIT", "5"))


class _JsonLines:
    """Buffered JSON-lines appender: one ``write(2)`` per flush (O_APPEND keeps lines of
    several Locust processes whole), flushed every 500 lines or second and at exit;
    each flush starts on a fresh line (drdrill.support.jsonl's rule, not imported: see above).

    On a worker told to collect, a flush sends the lines to the master instead (``ship``)."""

    def __init__(
        self, kind: str, path: str | None, max_lines: int = 500, max_age_s: float = 1.0
    ) -> None:
        self.kind = kind
        self.path = path or None
        self.ship: Callable[[str, str], None] | None = None
        self.max_lines = max_lines
        self.max_age_s = max_age_s
        self._buffer: list[str] = []
        self._since = time.monotonic()

    def write(self, record: dict[str, object]) -> None:
        if self.path is None and self.ship is None:
            return
        self._buffer.append(json.dumps(record, separators=(",", ":")))
        if len(self._buffer) >= self.max_lines or time.monotonic() - self._since > self.max_age_s:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        lines = "\n".join(self._buffer) + "\n"
        self._buffer.clear()
        self._since = time.monotonic()
        if self.ship is not None:
            self.ship(self.kind, lines)
        else:
            self.append(lines)

    def append(self, lines: str) -> None:
        """Append whole lines to the file (the master does this with what workers send)."""
        if self.path is None:
            return
        data = lines.encode()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            # a process killed mid-write leaves a torn last line: start on a fresh one so
            # the torn line stays one bad line instead of swallowing the first record here
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data
            os.write(fd, data)
        finally:
            os.close(fd)


REQUESTS = _JsonLines("requests", os.environ.get("DRDRILL_REQUESTS_JSONL"))
LEDGER = _JsonLines("ledger", os.environ.get("DRDRILL_LEDGER_JSONL"))
_FILES = {"requests": REQUESTS, "ledger": LEDGER}


@events.request.add_listener
def _record_request(  # type: ignore[no-untyped-def]
    request_type, name, response_time, response_length, exception, start_time=None, **kw
):
    response = kw.get("response")
    sent_s = start_time if start_time is not None else time.time() - response_time / 1000
    REQUESTS.write(
        {
            "t_ns": int(sent_s * 1e9),
            "name": name,
            "ok": exception is None,
            "latency_s": round(response_time / 1000, 6),
            "status": int(getattr(response, "status_code", 0) or 0),
        }
    )


def _flush(**kw: object) -> None:
    REQUESTS.flush()
    LEDGER.flush()


# quitting fires before the users stop, quit after: requests finishing between them count
events.quitting.add_listener(_flush)
events.quit.add_listener(_flush)
events.test_stop.add_listener(_flush)
atexit.register(_flush)


# -- distributed: workers send their lines to the master -----------------------------------


def _options(parser: Any) -> None:
    # custom options travel from the master to every worker with each spawn message
    parser.add_argument(
        "--drdrill-collect",
        action="store_true",
        default=bool(REQUESTS.path or LEDGER.path),
        include_in_web_ui=False,
        help="workers send their request and checkout lines to the master (set by drdrill)",
    )
    parser.add_argument(
        "--drdrill-request-timeout",
        type=float,
        default=float(os.environ.get("DRDRILL_REQUEST_TIMEOUT", "1.0")),
        include_in_web_ui=False,
        help="seconds a customer waits for an answer",
    )
    parser.add_argument(
        "--drdrill-products",
        type=int,
        default=PRODUCTS,
        include_in_web_ui=False,
        help="product ids 1..N",
    )


events.init_command_line_parser.add_listener(_options)


def _setup_distribution(environment: Any, **kwargs: Any) -> None:
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        flushed: set[str] = set()

        def receive(environment: Any, msg: Any) -> None:
            target = _FILES.get(str(msg.data.get("kind")))
            if target is not None:
                target.append(str(msg.data["lines"]))

        def worker_flushed(environment: Any, msg: Any) -> None:
            flushed.add(msg.node_id)

        def collect_last_lines(environment: Any, **kw: Any) -> None:
            """Before the master quits: every worker stops its users and sends what it holds.
            Without this, quitting ends the master 0.5 s after telling the workers, and the
            lines they flush while stopping would arrive at a master that no longer listens."""
            options = environment.parsed_options
            workers = {c.id for c in runner.clients.all}
            if not (options and options.drdrill_collect) or not workers:
                return
            flushed.clear()
            runner.send_message("drdrill_flush")
            deadline = time.monotonic() + COLLECT_WAIT_S
            while not workers <= flushed and time.monotonic() < deadline:
                gevent.sleep(0.05)

        runner.register_message("drdrill_lines", receive)
        runner.register_message("drdrill_flushed", worker_flushed)
        environment.events.test_stopping.add_listener(collect_last_lines)
    elif isinstance(runner, WorkerRunner):

        def ship(kind: str, lines: str) -> None:
            runner.send_message("drdrill_lines", {"kind": kind, "lines": lines})

        def flush_for_master(environment: Any, msg: Any) -> None:
            runner.stop()  # the users end first: no line is written after the last flush
            _flush()
            # Locust's own totals too, before the master writes them (it would otherwise
            # get them only with this worker's goodbye, which it may no longer read)
            send_stats = getattr(runner, "_send_stats", None)
            if callable(send_stats):
                send_stats()
            runner.send_message("drdrill_flushed")

        def ship_when_asked(environment: Any, **kw: Any) -> None:
            # fired after the spawn message updated the options with the master's
            if getattr(environment.parsed_options, "drdrill_collect", False):
                REQUESTS.ship = LEDGER.ship = ship

        runner.register_message("drdrill_flush", flush_for_master)
        environment.events.test_start.add_listener(ship_when_asked)


def _apply_options(environment: Any, **kw: Any) -> None:
    options = environment.parsed_options
    if options is not None and hasattr(options, "drdrill_request_timeout"):
        _configure(options.drdrill_request_timeout, options.drdrill_products)


events.init.add_listener(_setup_distribution)
events.test_start.add_listener(_apply_options)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _quit_with_the_drill(environment: Any, **kwargs: Any) -> None:
    parent = int(os.environ.get("DRDRILL_PARENT_PID") or 0)
    if not parent:
        return
    # a --processes worker's parent is Locust's master: each watches the one it started under
    started_under = os.getppid()

    def watch() -> None:
        while _alive(parent) and os.getppid() == started_under:
            gevent.sleep(0.5)
        _flush()
        if environment.runner is not None:
            environment.runner.quit()
        os._exit(0)

    gevent.spawn(watch)


events.init.add_listener(_quit_with_the_drill)


# A customer gives up after a second, like the drill's probes: a blackholed region
# shows up as failed requests at their send time, not as silence.
TIMEOUT_S = float(os.environ.get("DRDRILL_REQUEST_TIMEOUT", "1.0"))


def _expect(response, ok: tuple[int, ...], what: str) -> bool:  # type: ignore[no-untyped-def]
    """Mark ``response`` failed unless its status is in ``ok``; True when it succeeded."""
    if response.status_code in ok:
        response.success()
        return True
    detail = f"{response.status_code}" if response.status_code else str(response.error)
    response.failure(f"{what} failed: {detail}")
    return False


class Browser(FastHttpUser):
    """Looks at the catalogue and at products."""

    network_timeout = TIMEOUT_S
    connection_timeout = TIMEOUT_S
    weight = int(os.environ.get("DRDRILL_BROWSE_WEIGHT", "3"))
    wait_time = between(0.01, 0.05)

    @task(3)
    def catalogue(self) -> None:
        with self.client.get("/products", name="/products", catch_response=True) as response:
            _expect(response, (200,), "catalogue")

    @task(5)
    def product(self) -> None:
        product_id = random.randint(1, PRODUCTS)
        with self.client.get(
            f"/products/{product_id}", name="/products/[id]", catch_response=True
        ) as response:
            _expect(response, (200,), "product page")


class Buyer(FastHttpUser):
    """Places an order with its own order id (ledgered) and reads it back."""

    network_timeout = TIMEOUT_S
    connection_timeout = TIMEOUT_S
    weight = int(os.environ.get("DRDRILL_CHECKOUT_WEIGHT", "1"))
    wait_time = between(0.02, 0.1)

    @task
    def checkout(self) -> None:
        seq = next(_SEQ)
        order_id = f"locust-{RUN}-{os.getpid()}-{seq}"
        sent = time.time_ns()
        with self.client.post(
            "/orders",
            json={
                "id": order_id,
                "client": "locust",
                "seq": seq,
                "product_id": random.randint(1, PRODUCTS),
                "quantity": 1,
            },
            name="/orders",
            catch_response=True,
        ) as response:
            acked = _expect(response, (200, 201), "checkout")
            LEDGER.write(
                {
                    "id": order_id,
                    "client": "locust",
                    "seq": seq,
                    "send_ns": sent,
                    "ack_ns": time.time_ns() if acked else None,
                    "status": int(response.status_code or 0),
                }
            )
        if acked:
            with self.client.get(
                f"/orders/{order_id}", name="/orders/[id]", catch_response=True
            ) as response:
                _expect(response, (200,), "order lookup")


def _configure(request_timeout_s: float, products: int) -> None:
    """Apply the master's request timeout and product range (a worker started elsewhere
    has neither in its environment); users spawned from now on use them."""
    global PRODUCTS
    PRODUCTS = products
    for user in (Browser, Buyer):
        user.network_timeout = user.connection_timeout = request_timeout_s
