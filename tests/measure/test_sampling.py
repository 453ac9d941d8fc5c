"""Probes and the canary against a real HTTP server that can be made to hang."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator

import pytest
from aiohttp import web

from drdrill.config import MeasurementSettings
from drdrill.measurement.samples import CRITICAL_FLOW
from drdrill.observation.canary import CanaryWriter
from drdrill.observation.observe import Observation
from drdrill.observation.sampling import Sampler, critical_flow_check
from drdrill.observation.write_ledger import Ledger
from tests.ports import port_block

PORT = port_block()


class Shop:
    """A tiny order store over real HTTP; ``hang`` makes every request stall."""

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, object]] = {}
        self.hang = False

    async def _maybe_hang(self) -> None:
        while self.hang:
            await asyncio.sleep(0.01)

    async def create(self, request: web.Request) -> web.Response:
        await self._maybe_hang()
        body = await request.json()
        self.orders[body["id"]] = body
        return web.json_response({"id": body["id"]}, status=201)

    async def read(self, request: web.Request) -> web.Response:
        await self._maybe_hang()
        order = self.orders.get(request.match_info["id"])
        return web.json_response(order, status=200 if order else 404)


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    state = Shop()
    app = web.Application()
    app.add_routes([web.post("/orders", state.create), web.get("/orders/{id}", state.read)])
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", PORT).start())
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    time.sleep(0.3)
    yield state
    state.hang = False
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def test_a_hanging_endpoint_does_not_delay_the_next_sample(shop: Shop) -> None:
    sampler = Sampler(
        CRITICAL_FLOW, critical_flow_check(f"http://127.0.0.1:{PORT}"), interval=0.1, timeout=0.5
    ).start()
    time.sleep(0.5)
    shop.hang = True
    hang_ns = time.time_ns()
    time.sleep(1.0)
    shop.hang = False
    time.sleep(0.6)
    sampler.stop()

    samples = sampler.samples()
    gaps = [(b.t_ns - a.t_ns) / 1e9 for a, b in itertools.pairwise(samples)]
    failed = [s for s in samples if not s.ok]
    # started inside the hang with time to run into their 0.5 s timeout before it ended
    trapped = [s for s in samples if hang_ns + 0.05e9 <= s.t_ns <= hang_ns + 0.45e9]

    # the clock kept ticking through the hang: a sampler that waited on the hanging request
    # would leave a gap of its 0.5 s timeout; the 0.1 s interval measures 0.10-0.12 s here,
    # and 0.45 s leaves a saturated machine's scheduling room below that 0.5 s
    assert max(gaps) < 0.45, gaps
    assert trapped and all(not s.ok for s in trapped), trapped
    assert failed and all("timeout" in s.detail for s in failed)
    assert samples[0].ok and samples[-1].ok


def test_canary_ledgers_every_write_with_send_and_ack(shop: Shop) -> None:
    ledger = Ledger()
    canary = CanaryWriter(f"http://127.0.0.1:{PORT}", ledger, interval=0.05, timeout=0.3).start()
    time.sleep(0.5)
    shop.hang = True
    time.sleep(0.5)
    shop.hang = False
    time.sleep(0.5)
    canary.stop()

    writes = ledger.writes()
    acked = [w for w in writes if w.ack_ns is not None]
    unacked = [w for w in writes if w.ack_ns is None]

    # 1.5 s at one write per 50 ms: 30 on a quiet machine (26-33 seen); never more than
    # the pace allows, and at least half of it on a saturated one, hang included
    assert 15 <= len(writes) <= 33
    assert [w.seq for w in writes] == sorted(w.seq for w in writes)
    assert all(w.ack_ns is not None and w.ack_ns > w.send_ns for w in acked)
    assert unacked, "writes sent during the hang were not acknowledged in time"
    assert {w.id for w in acked} <= set(shop.orders)


def test_an_observation_stops_once_from_any_thread_and_keeps_its_samples(shop: Shop) -> None:
    observation = Observation(
        f"http://127.0.0.1:{PORT}", MeasurementSettings(probe_interval=0.05), edge_record=False
    )
    with observation:
        time.sleep(0.5)
        stoppers = [threading.Thread(target=observation.stop) for _ in range(3)]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join(timeout=5)
    assert not any(thread.is_alive() for thread in stoppers)
    seen = len(observation.samples())
    time.sleep(0.3)
    assert seen == len(observation.samples()) > 5  # nothing samples after stop
    assert observation.ledger.writes()
    assert observation.start() is observation and len(observation.samples()) == seen
