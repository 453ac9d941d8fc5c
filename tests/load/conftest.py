"""A small real order-service (aiohttp) for the load tests: GET /products[/id], POST /orders,
GET /orders/{id}, as in the lab contract. It can be told to fail writes with 503."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

PORTS = range(22500, 23000)  # below the ephemeral range (32768+): no client socket takes them


@dataclass
class Shop:
    """What the fake order-service saw, and a switch to make it refuse writes."""

    url: str = ""
    orders: dict[str, dict[str, object]] = field(default_factory=dict)
    read_only: bool = False


def _free_port() -> int:
    for port in random.sample(PORTS, len(PORTS)):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 22500-22999")


def _app(shop: Shop) -> web.Application:
    products = [
        {"id": i, "name": f"p{i}", "price_cents": 100 * i, "stock": 10} for i in range(1, 51)
    ]

    async def list_products(request: web.Request) -> web.Response:
        return web.json_response(products)

    async def one_product(request: web.Request) -> web.Response:
        pid = int(request.match_info["id"])
        if not 1 <= pid <= 50:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(products[pid - 1])

    async def place_order(request: web.Request) -> web.Response:
        if shop.read_only:
            return web.json_response(
                {"error": "database is read-only", "region": "primary"}, status=503
            )
        body = await request.json()
        if not isinstance(body.get("id"), str) or not isinstance(body.get("product_id"), int):
            return web.json_response({"error": "bad body"}, status=400)
        created = body["id"] not in shop.orders
        shop.orders.setdefault(body["id"], body)
        return web.json_response(
            {"id": body["id"], "region": "primary", "created": created},
            status=201 if created else 200,
        )

    async def get_order(request: web.Request) -> web.Response:
        order = shop.orders.get(request.match_info["id"])
        if order is None:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(order)

    app = web.Application()
    app.router.add_get("/products", list_products)
    app.router.add_get("/products/{id}", one_product)
    app.router.add_post("/orders", place_order)
    app.router.add_get("/orders/{id}", get_order)
    return app


@pytest.fixture
def master_port() -> int:
    """A free port in 22500-22999 for a Locust master."""
    return _free_port()


@pytest.fixture
def shop() -> Iterator[Shop]:
    """A running order-service on 127.0.0.1 (port in 22500-22999)."""
    state = Shop()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(_app(state), access_log=None)
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        for _ in range(20):
            port = _free_port()
            site = web.TCPSite(runner, "127.0.0.1", port)
            try:
                loop.run_until_complete(site.start())
            except OSError:
                continue
            state.url = f"http://127.0.0.1:{port}"
            break
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(10) and state.url, "the test order-service did not start"
    try:
        yield state
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
